//! The per-trial parameters: one draw of every uncertain input of a
//! scenario, as a value the model then consumes.
//!
//! [`draw_shared`] draws the scenario-level parameters of a trial (market,
//! revenue, the scenario's sales team) from the trial's shared stream;
//! [`draw_strategy`] draws a strategy's own (its sales team if it has one,
//! fixed cost, and per channel volume, cost per lead, dispersion and
//! conversions) from the strategy's stream, and prepares the samplers the
//! months will use (the lead-count law, the handoff → pipeline binomial).
//! Keeping this a stage of its own is what lets a parameter be pinned, a
//! copula correlate parameters, or a backtest replay them.
//!
//! # Draw order
//!
//! The shared stream: demand, churn, expansion, then the scenario's sales
//! team (reps, capacity per rep).
//!
//! A strategy's stream: its own sales team (if it overrides the
//! scenario's), fixed cost, then per channel: volume, cost per lead,
//! dispersion, and the conversions in stage order. The model's monthly
//! draws follow on the same stream (see [`crate::model`]).
//!
//! This order is an implementation detail, but it fixes the numbers a seed
//! gives (pinned by `tests/it/value_stability.rs`): change it only on purpose.

use rand::Rng;

use crate::sampling::{BinomialP, LeadSampler};
use crate::scenario::{Sales, Scenario, Strategy, Volume};
use crate::trace::{Draw, NoTrace, Prepared, Tracer, sample};

/// Scenario-level parameters of one trial, common to every strategy.
#[derive(Debug, Clone, Copy)]
pub struct SharedParams {
    /// `market.demand` multiplier.
    pub demand: f64,
    /// Net monthly MRR growth `g = expansion − churn`.
    pub net_rate: f64,
    /// Monthly capacity of the scenario's sales team (`None` = unlimited).
    pub capacity: Option<u64>,
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
        }
    }
}

/// One strategy's parameters for one trial.
#[derive(Debug, Clone, Default)]
pub struct StrategyParams {
    /// Monthly sales capacity: the strategy's own team, else the
    /// scenario's (`None` = unlimited).
    pub capacity: Option<u64>,
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

/// Draw the shared parameters of one trial, in a fixed order: demand,
/// churn, expansion, then the scenario's sales team (reps, capacity per rep).
pub fn draw_shared<R: Rng + ?Sized>(scn: &Scenario, rng: &mut R) -> SharedParams {
    draw_shared_traced(scn, rng, &mut NoTrace)
}

/// [`draw_shared`], reporting every draw to `trace`.
#[doc(hidden)]
pub fn draw_shared_traced<'a, R: Rng + ?Sized, T: Tracer<'a>>(
    scn: &'a Scenario,
    rng: &mut R,
    trace: &mut T,
) -> SharedParams {
    let demand = sample(&scn.market.demand.dist, rng, trace);
    let churn = sample(&scn.revenue.churn_monthly.dist, rng, trace);
    let expansion = sample(&scn.revenue.expansion_monthly.dist, rng, trace);
    let capacity = scn.sales.as_ref().map(|s| draw_capacity(s, rng, trace));
    SharedParams {
        demand,
        net_rate: expansion - churn,
        capacity,
    }
}

/// `K = floor(reps × mql_capacity_per_rep)` for one trial.
fn draw_capacity<'a, R: Rng + ?Sized, T: Tracer<'a>>(
    sales: &'a Sales,
    rng: &mut R,
    trace: &mut T,
) -> u64 {
    let reps = sample(&sales.reps.dist, rng, trace);
    let per_rep = sample(&sales.mql_capacity_per_rep.dist, rng, trace);
    // both are non-negative: the saturating float-to-int conversion is the
    // floor, and a huge capacity is unlimited in practice
    (reps * per_rep) as u64
}

/// Draw a strategy's own parameters for one trial into `out` (its channel
/// buffer is reused), in the order of the module docs.
pub fn draw_strategy<R: Rng + ?Sized>(
    scn: &Scenario,
    strategy: &Strategy,
    shared: &SharedParams,
    rng: &mut R,
    out: &mut StrategyParams,
) {
    draw_strategy_traced(scn, strategy, shared, rng, out, &mut NoTrace);
}

/// [`draw_strategy`], reporting every draw to `trace`.
#[doc(hidden)]
pub fn draw_strategy_traced<'a, R: Rng + ?Sized, T: Tracer<'a>>(
    scn: &'a Scenario,
    strategy: &'a Strategy,
    shared: &SharedParams,
    rng: &mut R,
    out: &mut StrategyParams,
    trace: &mut T,
) {
    let handoff = scn.funnel.handoff;
    let pipeline = scn.funnel.pipeline;
    trace.record(|| Draw::Strategy);
    out.capacity = match &strategy.sales {
        Some(s) => Some(draw_capacity(s, rng, trace)),
        None => shared.capacity,
    };
    out.fixed_cost = sample(&strategy.fixed_cost_per_month.dist, rng, trace);

    out.channels
        .resize_with(strategy.channels.len(), ChannelParams::default);
    for (ch, d) in strategy.channels.iter().zip(out.channels.iter_mut()) {
        let (volume, leads_based) = match &ch.volume {
            Volume::Leads(p) => (sample(&p.dist, rng, trace), true),
            Volume::Spend(p) => (sample(&p.dist, rng, trace), false),
        };
        let cpl = sample(&ch.cost_per_lead.dist, rng, trace);
        d.leads_based = leads_based;
        d.cost_per_lead = cpl;
        let mean_volume = if leads_based { volume } else { volume / cpl };
        d.base_lambda = mean_volume * shared.demand;
        d.spend = if leads_based { 0.0 } else { volume };
        let dispersion = ch
            .volume_dispersion
            .as_ref()
            .map(|p| sample(&p.dist, rng, trace));
        d.leads = LeadSampler::new(dispersion);
        // conversion[i] leads into stage i + 1
        let (mut pre, mut post, mut win) = (1.0, 1.0, 1.0);
        for (i, p) in ch.conversion.iter().enumerate() {
            let x = sample(&p.dist, rng, trace);
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
        // slots 2c and 2c + 1 of the trace (see `trace::slot`)
        trace.record(|| Draw::Prepare(Box::new(Prepared::Leads(d.leads))));
        trace.record(|| Draw::Prepare(Box::new(Prepared::Binomial(d.to_pipeline))));
    }
}
