//! The per-trial parameters: one draw of every uncertain input of a
//! scenario, as a value the model then consumes.
//!
//! [`draw_shared`] draws the scenario-level parameters of a trial (market,
//! revenue, the scenario's sales team); [`draw_strategy`] a strategy's (its
//! sales team if it has one, fixed cost, and per channel volume, cost per
//! lead, dispersion and conversions) and prepares the samplers the months
//! will use (the lead-count law, the handoff → pipeline binomial).
//! Keeping this a stage of its own is what lets a parameter be pinned, a
//! copula correlate parameters, or a backtest replay them.
//!
//! # Where each draw comes from
//!
//! Every per-trial parameter given as a distribution draws one value from
//! its own sub-stream, keyed by the seed, the trial and the parameter's
//! path ([`Param::key`]); a fixed number draws nothing. A field a strategy
//! inherits from a shared channel (`[channel.NAME]`) or from `[sales]`
//! keeps the shared path, so it has the same value in every strategy of
//! the trial, and a what-if that changes one parameter changes no other
//! parameter's draw. A parameter named by a `[[correlation]]` instead takes
//! its inverse CDF at the copula's uniform of the trial
//! ([`TrialDraws::uniforms`], drawn once per trial by the engine from the
//! correlation stream).
//!
//! These keys fix the numbers a seed gives (pinned by
//! `tests/it/value_stability.rs`): change them only on purpose.

use crate::dist::Dist;
use crate::sampling::streams::{self, StreamRng};
use crate::sampling::{BinomialP, LeadSampler};
use crate::scenario::{Param, Sales, Scenario, Strategy, Volume};
use crate::trace::{Draw, NoTrace, Prepared, Tracer, sample};

/// What a trial's draws are made from: the base of its streams
/// ([`streams::trial_base`]) and the copula's uniforms of the trial.
#[derive(Debug, Clone, Copy)]
pub struct TrialDraws<'u> {
    pub base: u64,
    /// One uniform per correlated parameter, in copula order (empty
    /// without correlations).
    pub uniforms: &'u [f64],
}

impl<'u> TrialDraws<'u> {
    /// The draws of trial `trial` under `seed`, with the copula's uniforms
    /// of that trial already in `uniforms`.
    pub fn new(seed: u64, trial: u64, uniforms: &'u [f64]) -> TrialDraws<'u> {
        TrialDraws {
            base: streams::trial_base(seed, trial),
            uniforms,
        }
    }

    /// The sub-stream `key` of this trial.
    #[inline]
    pub fn stream(&self, key: u64) -> StreamRng {
        streams::stream(self.base, key)
    }
}

/// Key of the trial's correlation stream (the copula's normals).
pub fn correlation_key() -> u64 {
    streams::key("correlation", "")
}

/// Fill `uniforms` with the copula's uniforms of trial `trial` (nothing to
/// do without correlations).
pub fn draw_uniforms(scn: &Scenario, seed: u64, trial: u64, uniforms: &mut Vec<f64>) {
    uniforms.clear();
    if let Some(c) = &scn.copula {
        uniforms.resize(c.len(), 0.5);
        let mut rng = streams::stream_rng(seed, trial, correlation_key());
        c.uniforms(&mut rng, uniforms);
    }
}

/// One per-trial parameter's value in the trial (see the module docs).
#[inline]
fn draw<'a, T: Tracer<'a>>(p: &'a Param, at: &TrialDraws<'_>, trace: &mut T) -> f64 {
    if let Some(u) = p.copula.and_then(|i| at.uniforms.get(i)) {
        trace.record(|| Draw::Quantile(&p.dist));
        return p.dist.quantile(*u);
    }
    match p.dist {
        Dist::Fixed(x) => x,
        _ => {
            trace.record(|| Draw::Stream(p.key));
            sample(&p.dist, &mut at.stream(p.key), trace)
        }
    }
}

/// The value parameter `p` takes in the trial `at` (what the model uses:
/// the same sub-stream or copula uniform), without simulating anything.
/// A sensitivity analysis reads the per-trial inputs this way.
pub fn value(p: &Param, at: &TrialDraws<'_>) -> f64 {
    draw(p, at, &mut NoTrace)
}

/// Every uncertain per-trial parameter of the scenario: given as a
/// distribution, drawn once per trial (not per deal or nurtured member),
/// once per owner path (a shared channel's field and `[sales]` appear
/// once, however many strategies inherit them), in the order of
/// [`Scenario::params_by_access`].
pub fn uncertain(scn: &Scenario) -> Vec<&Param> {
    let mut out: Vec<&Param> = Vec::new();
    for (_, p) in scn.params_by_access() {
        if matches!(p.dist, Dist::Fixed(_)) || p.is_per_deal() {
            continue;
        }
        if !out.iter().any(|q| q.path == p.path) {
            out.push(p);
        }
    }
    out
}

/// Scenario-level parameters of one trial, common to every strategy.
#[derive(Debug, Clone, Default)]
pub struct SharedParams {
    /// `market.demand` multiplier.
    pub demand: f64,
    /// Net monthly MRR growth `g = expansion − churn`.
    pub net_rate: f64,
    /// Monthly capacity of the scenario's sales team (`None` = unlimited).
    pub capacity: Option<u64>,
    /// The scenario team's cost a month (reps × cost per rep), 0 without one.
    pub team_cost: f64,
    /// ARR of the existing book at the start of month 0.
    pub starting_arr: f64,
    /// Per segment (scenario order): its odds ratio and own team.
    pub segments: Vec<SegmentParams>,
}

/// A segment's per-trial parameters (scenario-level, shared stream).
#[derive(Debug, Clone, Copy, Default)]
pub struct SegmentParams {
    pub win_odds_ratio: f64,
    /// Its own team's capacity a month; `None` when it has no team of its
    /// own (it shares the strategy's).
    pub capacity: Option<u64>,
    /// Its own team's cost a month.
    pub team_cost: f64,
}

/// One channel's parameters for one trial, with its samplers prepared.
#[derive(Debug, Clone)]
pub struct ChannelParams {
    /// Mean monthly volume × the trial's demand (× seasonality gives λ).
    pub base_lambda: f64,
    pub cost_per_lead: f64,
    /// The lead-count law (Poisson or gamma–Poisson).
    pub leads: LeadSampler,
    /// Lead → handoff stage: the product of the conversions up to it.
    pub to_handoff: f64,
    /// Handoff → pipeline stage (worked members to opportunities).
    pub to_pipeline: BinomialP,
    /// Product of conversions after the pipeline stage.
    pub p_win: f64,
    /// Volume given as leads per month (else as spend per month).
    pub leads_based: bool,
    /// Monthly spend of a spend-based channel (0 for lead-based ones).
    pub spend: f64,
    /// Per stage strictly between the first and the handoff stage: the
    /// probability that a lead which reached the previous stage but will
    /// not reach the handoff reaches this one (the stage-by-stage funnel,
    /// given the composed counts).
    pub pre_cond: Vec<BinomialP>,
    /// The same for the stages strictly between the handoff and the
    /// pipeline stage, for worked members that do not become opportunities.
    pub post_cond: Vec<BinomialP>,
    /// Per segment but the last: the probability of routing a handoff
    /// member to it, given it was not routed to an earlier one.
    pub route: Vec<BinomialP>,
}

impl Default for ChannelParams {
    fn default() -> Self {
        ChannelParams {
            base_lambda: 0.0,
            cost_per_lead: 0.0,
            leads: LeadSampler::new(None),
            to_handoff: 1.0,
            to_pipeline: BinomialP::new(1.0),
            p_win: 1.0,
            leads_based: true,
            spend: 0.0,
            pre_cond: Vec::new(),
            post_cond: Vec::new(),
            route: Vec::new(),
        }
    }
}

/// One strategy's parameters for one trial.
#[derive(Debug, Clone, Default)]
pub struct StrategyParams {
    /// Monthly sales capacity: the strategy's own team, else the
    /// scenario's (`None` = unlimited).
    pub capacity: Option<u64>,
    /// The strategy team's cost a month (reps × cost per rep).
    pub team_cost: f64,
    /// Nurture's per-trial return probability, when the strategy nurtures.
    pub recycle: Option<BinomialP>,
    pub fixed_cost: f64,
    /// In the strategy's channel order.
    pub channels: Vec<ChannelParams>,
}

impl StrategyParams {
    /// Spend of the spend-based channels per month.
    pub fn monthly_spend(&self) -> f64 {
        self.channels.iter().map(|d| d.spend).sum()
    }
}

/// Draw the shared parameters of one trial: demand, churn, expansion, the
/// scenario's sales team (reps, capacity per rep).
pub fn draw_shared(scn: &Scenario, at: &TrialDraws<'_>) -> SharedParams {
    draw_shared_traced(scn, at, &mut NoTrace)
}

/// [`draw_shared`], reporting every draw to `trace`.
#[doc(hidden)]
pub fn draw_shared_traced<'a, T: Tracer<'a>>(
    scn: &'a Scenario,
    at: &TrialDraws<'_>,
    trace: &mut T,
) -> SharedParams {
    let demand = draw(&scn.market.demand, at, trace);
    let churn = draw(&scn.revenue.churn_monthly, at, trace);
    let expansion = draw(&scn.revenue.expansion_monthly, at, trace);
    let team = scn.sales.as_ref().map(|s| draw_team(s, at, trace));
    let starting_arr = draw(&scn.revenue.starting_arr, at, trace);
    let segments = scn
        .segments
        .iter()
        .map(|g| {
            let team = g.sales.as_ref().map(|s| draw_team(s, at, trace));
            SegmentParams {
                win_odds_ratio: draw(&g.win_odds_ratio, at, trace),
                capacity: team.map(|t| t.0),
                team_cost: team.map_or(0.0, |t| t.1),
            }
        })
        .collect();
    SharedParams {
        demand,
        net_rate: expansion - churn,
        capacity: team.map(|t| t.0),
        team_cost: team.map_or(0.0, |t| t.1),
        starting_arr,
        segments,
    }
}

/// Per stage strictly between two marked stages: P(reach stage j | reached
/// j − 1, will not reach the end stage), for `q`, the conversions of the
/// stages after the first marked one up to and including the end stage.
/// With `Q(a) = q[a]·…·q[k−1]`, that is `q[j]·(1 − Q(j+1)) / (1 − Q(j))`.
fn conditionals(q: &[f64], out: &mut Vec<BinomialP>) {
    out.clear();
    for j in 0..q.len().saturating_sub(1) {
        let rest_after: f64 = q[j + 1..].iter().product();
        let rest_from = q[j] * rest_after;
        let r = if rest_from < 1.0 {
            q[j] * (1.0 - rest_after) / (1.0 - rest_from)
        } else {
            0.0
        };
        out.push(BinomialP::new(r));
    }
}

/// `K = floor(reps × mql_capacity_per_rep)` for one trial.
fn draw_team<'a, T: Tracer<'a>>(
    sales: &'a Sales,
    at: &TrialDraws<'_>,
    trace: &mut T,
) -> (u64, f64) {
    let reps = draw(&sales.reps, at, trace);
    let per_rep = draw(&sales.mql_capacity_per_rep, at, trace);
    let cost = match sales.cost_per_rep_month.dist {
        Dist::Fixed(0.0) => 0.0,
        _ => reps * draw(&sales.cost_per_rep_month, at, trace),
    };
    ((reps * per_rep) as u64, cost)
}

/// Draw a strategy's parameters for one trial into `out` (its channel
/// buffer is reused).
pub fn draw_strategy(
    scn: &Scenario,
    strategy: &Strategy,
    shared: &SharedParams,
    at: &TrialDraws<'_>,
    out: &mut StrategyParams,
) {
    draw_strategy_traced(scn, strategy, shared, at, out, &mut NoTrace);
}

/// [`draw_strategy`], reporting every draw to `trace`.
#[doc(hidden)]
pub fn draw_strategy_traced<'a, T: Tracer<'a>>(
    scn: &'a Scenario,
    strategy: &'a Strategy,
    shared: &SharedParams,
    at: &TrialDraws<'_>,
    out: &mut StrategyParams,
    trace: &mut T,
) {
    let handoff = scn.funnel.handoff;
    let pipeline = scn.funnel.pipeline;
    trace.record(|| Draw::Strategy);
    (out.capacity, out.team_cost) = match &strategy.sales {
        Some(s) => {
            let (k, cost) = draw_team(s, at, trace);
            (Some(k), cost)
        }
        None => (shared.capacity, shared.team_cost),
    };
    out.fixed_cost = draw(&strategy.fixed_cost_per_month, at, trace);
    out.recycle = strategy
        .nurture
        .as_ref()
        .map(|n| BinomialP::new(draw(&n.recycle, at, trace)));
    let mut q = Vec::with_capacity(scn.funnel.stages.len());

    out.channels
        .resize_with(strategy.channels.len(), ChannelParams::default);
    for (ch, d) in strategy.channels.iter().zip(out.channels.iter_mut()) {
        let (volume, leads_based) = match &ch.volume {
            Volume::Leads(p) => (draw(p, at, trace), true),
            Volume::Spend(p) => (draw(p, at, trace), false),
        };
        let mut cpl = draw(&ch.cost_per_lead, at, trace);
        if let Some(e) = &ch.elasticity {
            let elasticity = draw(&e.elasticity, at, trace);
            let reference = draw(&e.reference_spend, at, trace);
            cpl *= (volume / reference).powf(elasticity);
        }
        d.leads_based = leads_based;
        d.cost_per_lead = cpl;
        let mean_volume = if leads_based {
            volume
        } else if volume > 0.0 {
            volume / cpl
        } else {
            0.0
        };
        d.base_lambda = mean_volume * shared.demand;
        d.spend = if leads_based { 0.0 } else { volume };
        let dispersion = ch.volume_dispersion.as_ref().map(|p| draw(p, at, trace));
        d.leads = LeadSampler::new(dispersion);
        // conversion[i] leads into stage i + 1
        let (mut pre, mut post, mut win) = (1.0, 1.0, 1.0);
        q.clear();
        for (i, p) in ch.conversion.iter().enumerate() {
            let x = draw(p, at, trace);
            q.push(x);
            let stage = i + 1;
            if stage <= handoff {
                pre *= x;
            } else if stage <= pipeline {
                post *= x;
            } else {
                win *= x;
            }
        }
        d.to_handoff = pre;
        d.to_pipeline = BinomialP::new(post);
        d.p_win = win;
        conditionals(&q[..handoff], &mut d.pre_cond);
        conditionals(&q[handoff..pipeline], &mut d.post_cond);
        d.route.clear();
        let mut left = 1.0;
        let routed = ch.segment_mix.len().saturating_sub(1);
        for share in &ch.segment_mix[..routed] {
            let p = if left > 0.0 {
                (share / left).min(1.0)
            } else {
                0.0
            };
            d.route.push(BinomialP::new(p));
            left -= share;
        }
        // slots 2c and 2c + 1 of the trace (see `trace::slot`)
        trace.record(|| Draw::Prepare(Box::new(Prepared::Leads(d.leads))));
        trace.record(|| Draw::Prepare(Box::new(Prepared::Binomial(d.to_pipeline))));
    }
}
