//! One trial of one strategy: MODEL.md turned into code.
//!
//! [`draw_shared`] draws the scenario-level parameters of a trial (market,
//! revenue, the scenario's sales team) from the shared stream;
//! [`simulate_strategy`] draws the strategy's own parameters from its stream
//! and runs the months: lead counts (Poisson or gamma–Poisson), stage
//! transitions (binomial), sales capacity (multivariate hypergeometric when
//! over capacity), per-deal size, cycle and outcome, and MRR/revenue.
//! Counts are drawn as counts, never one draw per lead, so volume costs
//! nothing; only opportunities are simulated one by one.
//!
//! Only the counts that are outputs are drawn. The stages between the
//! first and the handoff stage, and those between the handoff and the
//! pipeline stage, each act as one thinning with the product of their
//! conversions: a binomial thinning of a binomial is a binomial
//! (`Bin(Bin(n, a), b) = Bin(n, a·b)` in law), and no intermediate stage is
//! an output. The first of them is folded into the lead count: given the
//! month's rate Λ, the leads that reach the handoff stage and the others
//! are independent Poisson(Λ·p) and Poisson(Λ·(1−p)) counts (Poisson
//! thinning), the same law as Poisson leads followed by a binomial.
//! Everything that depends only on the trial's parameters (the prepared
//! binomial, the lead-count law) is built once per trial.
//!
//! # Draw order
//!
//! The shared stream: demand, churn, expansion, then the scenario's sales
//! team (reps, capacity per rep).
//!
//! A strategy's stream: its own sales team (if it overrides the scenario's),
//! fixed cost, then per channel: volume, cost per lead, dispersion, and the
//! conversions in stage order. Then month by month:
//! 1. per channel: the gamma rate (when over-dispersed), then the leads
//!    that reach the handoff stage (Poisson), then the other leads
//!    (Poisson; skipped when every lead or none reaches it);
//! 2. when the month's handoff total exceeds capacity: the worked members
//!    per channel (one hypergeometric per channel but the last);
//! 3. per channel: the opportunity count (one binomial), then per
//!    opportunity: deal size, its cycle in whole months
//!    ([`Dist::sample_months`]: one `u64` sampling the alias table of the
//!    month law of `cycle_days`, or a draw of `cycle_days` for fixed,
//!    uniform and triangular cycles) and — for a channel whose win
//!    probability is below 1 — one uniform for its outcome (drawn also for
//!    a deal that closes after the horizon, whose outcome is then unused,
//!    so the deal loop has no data-dependent branch).
//!
//! A deal's cycle matters only through its closing month
//! `m + floor(cycle_days / 30.4375)`, so that whole number of months is
//! what is drawn, from its exact law.
//!
//! This order is an implementation detail, but it fixes the numbers a seed
//! gives: change it only on purpose.

use rand::{Rng, RngExt};

use crate::dist::Dist;
use crate::metrics::{Metric, MonthlyMetric};
use crate::sampling::{BinomialP, LeadSampler, multivariate_hypergeometric};
use crate::scenario::{Sales, Scenario, Strategy, Volume};
use crate::ziggurat::standard_normal_by_value;

/// One random draw (or a few) of a trial, with what is needed to repeat it
/// on the sampling primitives alone (see [`replay`]). For benchmarks: the
/// "floor" of a trial is the time its draws take without the model around
/// them. Compact (24 bytes), so a replayed trace costs little memory traffic.
/// (The engine's [`NoTrace`] records nothing, so none of this is built.)
#[doc(hidden)]
#[derive(Debug, Clone)]
pub enum Draw<'a> {
    /// A value of a scenario distribution (a per-trial parameter).
    Dist(&'a Dist),
    /// One opportunity: its size, its cycle in whole months (up to
    /// `left`), and (when `outcome`) the uniform that decides whether it is
    /// won.
    Deal {
        size: &'a Dist,
        cycle: &'a Dist,
        left: u32,
        outcome: bool,
    },
    /// A strategy starts: its prepared samplers follow.
    Strategy,
    /// A sampler prepared once per trial; the `k`-th since [`Draw::Strategy`]
    /// is slot `k`.
    Prepare(Box<Prepared>),
    /// A month's leads, split by the probability `p` of reaching the
    /// handoff stage, with the sampler in `slot`.
    Leads { slot: u32, lambda: f64, p: f64 },
    /// A binomial count with the probability prepared in `slot`.
    Binomial { slot: u32, n: u64 },
    /// One channel's handoff members, before a [`Draw::Capacity`].
    Member(u64),
    /// Sharing capacity `k` among the members listed just before.
    Capacity { k: u64 },
}

/// A sampler prepared once per trial (see [`Draw::Prepare`]).
#[doc(hidden)]
#[derive(Debug, Clone)]
pub enum Prepared {
    Leads(LeadSampler),
    Binomial(BinomialP),
}

/// Receives every draw of a trial; [`NoTrace`] (the engine's) compiles to
/// nothing.
#[doc(hidden)]
pub trait Tracer<'a> {
    fn record(&mut self, draw: impl FnOnce() -> Draw<'a>);
}

/// The tracer that records nothing.
#[doc(hidden)]
pub struct NoTrace;

impl<'a> Tracer<'a> for NoTrace {
    #[inline(always)]
    fn record(&mut self, _draw: impl FnOnce() -> Draw<'a>) {}
}

impl<'a> Tracer<'a> for Vec<Draw<'a>> {
    fn record(&mut self, draw: impl FnOnce() -> Draw<'a>) {
        self.push(draw());
    }
}

/// Scratch space of [`replay`].
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct ReplayScratch {
    prepared: Vec<Prepared>,
    members: Vec<u64>,
}

/// Make the draws of `draws` again on the sampling primitives, with no
/// model logic; returns a sum of the values so nothing is optimised away.
#[doc(hidden)]
pub fn replay<R: Rng + ?Sized>(
    draws: &[Draw<'_>],
    scratch: &mut ReplayScratch,
    rng: &mut R,
) -> f64 {
    let mut acc = 0.0;
    for d in draws {
        acc += match d {
            Draw::Dist(dist) => dist.sample(rng),
            Draw::Deal {
                size,
                cycle,
                left,
                outcome,
            } => {
                let v = size.sample(rng) + cycle.sample_months(u64::from(*left), rng) as f64;
                if *outcome { v + rng.random::<f64>() } else { v }
            }
            Draw::Strategy => {
                scratch.prepared.clear();
                0.0
            }
            Draw::Prepare(p) => {
                scratch.prepared.push((**p).clone());
                0.0
            }
            Draw::Leads { slot, lambda, p } => match scratch.prepared.get(*slot as usize) {
                Some(Prepared::Leads(l)) => {
                    let (leads, passed) = l.sample_split(*lambda, *p, rng);
                    (leads + passed) as f64
                }
                _ => 0.0,
            },
            Draw::Binomial { slot, n } => match scratch.prepared.get(*slot as usize) {
                Some(Prepared::Binomial(b)) => b.sample(*n, rng) as f64,
                _ => 0.0,
            },
            Draw::Member(x) => {
                scratch.members.push(*x);
                0.0
            }
            Draw::Capacity { k } => {
                multivariate_hypergeometric(&mut scratch.members, *k, rng);
                let v = scratch.members.first().copied().unwrap_or(0);
                scratch.members.clear();
                v as f64
            }
        };
    }
    acc
}

/// `dist.sample`, recorded.
#[inline(always)]
fn sample<'a, R: Rng + ?Sized, T: Tracer<'a>>(dist: &'a Dist, rng: &mut R, trace: &mut T) -> f64 {
    trace.record(|| Draw::Dist(dist));
    dist.sample(rng)
}

/// Scenario-level draws of one trial, common to every strategy.
#[derive(Debug, Clone, Copy)]
pub struct SharedDraw {
    /// `market.demand` multiplier.
    pub demand: f64,
    /// Net monthly MRR growth `g = expansion − churn`.
    pub net_rate: f64,
    /// Monthly capacity of the scenario's sales team (`None` = unlimited).
    pub capacity: Option<u64>,
}

/// Trace slot of prepared sampler `which` (0 leads, 1 to pipeline) of
/// channel `c`.
#[inline(always)]
fn slot(c: usize, which: usize) -> u32 {
    (2 * c + which) as u32
}

/// Draw the shared parameters of one trial, in a fixed order: demand, churn,
/// expansion, then the scenario's sales team (reps, capacity per rep).
pub fn draw_shared<R: Rng + ?Sized>(scn: &Scenario, rng: &mut R) -> SharedDraw {
    draw_shared_traced(scn, rng, &mut NoTrace)
}

/// [`draw_shared`], reporting every draw to `trace`.
#[doc(hidden)]
pub fn draw_shared_traced<'a, R: Rng + ?Sized, T: Tracer<'a>>(
    scn: &'a Scenario,
    rng: &mut R,
    trace: &mut T,
) -> SharedDraw {
    let demand = sample(&scn.market.demand.dist, rng, trace);
    let churn = sample(&scn.revenue.churn_monthly.dist, rng, trace);
    let expansion = sample(&scn.revenue.expansion_monthly.dist, rng, trace);
    let capacity = scn.sales.as_ref().map(|s| draw_capacity(s, rng, trace));
    SharedDraw {
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

/// Per-trial draws of one channel, with their samplers prepared.
#[derive(Debug, Clone)]
struct ChannelDraw {
    /// Mean monthly volume × the trial's demand (× seasonality gives λ).
    base_lambda: f64,
    cost_per_lead: f64,
    /// The lead-count law (Poisson or gamma–Poisson).
    leads: LeadSampler,
    /// Lead → handoff stage: the product of the conversions up to it.
    to_handoff: f64,
    /// Handoff → pipeline stage (worked members to opportunities).
    to_pipeline: BinomialP,
    /// Product of conversions after the pipeline stage.
    p_win: f64,
    leads_based: bool,
    /// Monthly spend of a spend-based channel (0 for lead-based ones).
    spend: f64,
}

impl Default for ChannelDraw {
    fn default() -> Self {
        ChannelDraw {
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

/// Reusable buffers so a trial allocates nothing once warmed up.
#[derive(Debug, Default)]
pub struct Workspace {
    channels: Vec<ChannelDraw>,
    won_by_month: Vec<f64>,
    bookings_by_month: Vec<f64>,
    /// Per channel: handoff members this month, then those worked.
    handoff: Vec<u64>,
}

/// Where one strategy's trial writes its results.
pub struct TrialOut<'a> {
    /// One value per [`Metric`], in [`Metric::ALL`] order.
    pub metrics: &'a mut [f64; Metric::COUNT],
    /// `monthly[mm * horizon + month]` for each [`MonthlyMetric`] `mm`.
    pub monthly: &'a mut [f64],
}

/// Simulate one strategy for one trial (draw order: see the module docs).
pub fn simulate_strategy<R: Rng + Clone>(
    scn: &Scenario,
    strategy: &Strategy,
    shared: &SharedDraw,
    rng: &mut R,
    ws: &mut Workspace,
    out: TrialOut<'_>,
) {
    simulate_strategy_traced(scn, strategy, shared, rng, ws, out, &mut NoTrace);
}

/// [`simulate_strategy`], reporting every draw to `trace`.
#[doc(hidden)]
pub fn simulate_strategy_traced<'a, R: Rng + Clone, T: Tracer<'a>>(
    scn: &'a Scenario,
    strategy: &'a Strategy,
    shared: &SharedDraw,
    rng: &mut R,
    ws: &mut Workspace,
    out: TrialOut<'_>,
    trace: &mut T,
) {
    let h = scn.horizon;
    let handoff = scn.funnel.handoff;
    let pipeline = scn.funnel.pipeline;

    trace.record(|| Draw::Strategy);
    let capacity = match &strategy.sales {
        Some(s) => Some(draw_capacity(s, rng, trace)),
        None => shared.capacity,
    };
    let fixed_cost = sample(&strategy.fixed_cost_per_month.dist, rng, trace);

    ws.channels
        .resize_with(strategy.channels.len(), ChannelDraw::default);
    for (ch, d) in strategy.channels.iter().zip(ws.channels.iter_mut()) {
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
        // slots 2c and 2c + 1 of the trace (see `slot`)
        trace.record(|| Draw::Prepare(Box::new(Prepared::Leads(d.leads))));
        trace.record(|| Draw::Prepare(Box::new(Prepared::Binomial(d.to_pipeline))));
    }

    ws.won_by_month.clear();
    ws.won_by_month.resize(h, 0.0);
    ws.bookings_by_month.clear();
    ws.bookings_by_month.resize(h, 0.0);

    let monthly = out.monthly;
    monthly.fill(0.0);
    let mi = |mm: MonthlyMetric, m: usize| mm.index() * h + m;

    let (mut leads, mut mqls, mut ignored, mut opps) = (0u64, 0u64, 0u64, 0u64);
    let mut sums = DealSums::default();
    let mut cost = 0.0;

    for m in 0..h {
        let season = scn.seasonality[m % 12];
        let mut month_leads = 0u64;
        let mut month_handoff = 0u64;
        ws.handoff.clear();
        for (c, d) in ws.channels.iter().enumerate() {
            let lambda = d.base_lambda * season;
            trace.record(|| Draw::Leads {
                slot: slot(c, 0),
                lambda,
                p: d.to_handoff,
            });
            // leads and, of them, entries into the handoff stage
            let (l, x) = d.leads.sample_split(lambda, d.to_handoff, rng);
            month_leads = month_leads.saturating_add(l);
            if d.leads_based {
                cost += l as f64 * d.cost_per_lead;
            }
            ws.handoff.push(x);
            month_handoff = month_handoff.saturating_add(x);
        }
        // Sales capacity: K of the M handoff members are worked, chosen
        // uniformly at random (multivariate hypergeometric over channels).
        if let Some(k) = capacity.filter(|k| month_handoff > *k) {
            ignored = ignored.saturating_add(month_handoff - k);
            for &x in &ws.handoff {
                trace.record(|| Draw::Member(x));
            }
            trace.record(|| Draw::Capacity { k });
            multivariate_hypergeometric(&mut ws.handoff, k, rng);
        }
        // months left after this one: a deal closing `months` after m
        // closes within the horizon iff months < left
        let left = (h - m) as u64;
        let mut month_opps = 0u64;
        for (c, ((ch, d), &worked)) in strategy
            .channels
            .iter()
            .zip(&ws.channels)
            .zip(&ws.handoff)
            .enumerate()
        {
            trace.record(|| Draw::Binomial {
                slot: slot(c, 1),
                n: worked,
            });
            let x = d.to_pipeline.sample(worked, rng);
            month_opps = month_opps.saturating_add(x);
            // the months m..h: a deal closing `months` after m lands at
            // index `months` (when months < left = h − m, their length)
            let tails = (&mut ws.won_by_month[m..h], &mut ws.bookings_by_month[m..h]);
            let dists = (&ch.deal_size.dist, &ch.cycle_days.dist);
            deals(x, dists, d.p_win, left, tails, &mut sums, rng, trace);
        }
        leads = leads.saturating_add(month_leads);
        mqls = mqls.saturating_add(month_handoff);
        opps = opps.saturating_add(month_opps);
        monthly[mi(MonthlyMetric::Leads, m)] = month_leads as f64;
        monthly[mi(MonthlyMetric::Mqls, m)] = month_handoff as f64;
        monthly[mi(MonthlyMetric::Opportunities, m)] = month_opps as f64;
    }

    let monthly_spend: f64 = ws.channels.iter().map(|d| d.spend).sum();
    cost += (monthly_spend + fixed_cost) * h as f64;

    // MRR_end(k) = MRR_end(k−1)·(1+g) + (ACV won in k)/12; revenue in month k
    // is MRR_end(k−1), so month 0 recognises nothing.
    let growth = 1.0 + shared.net_rate;
    let (mut mrr, mut revenue, mut won, mut bookings) = (0.0, 0.0, 0.0, 0.0);
    for k in 0..h {
        revenue += mrr;
        mrr = mrr * growth + ws.bookings_by_month[k] / 12.0;
        won += ws.won_by_month[k];
        bookings += ws.bookings_by_month[k];
        monthly[mi(MonthlyMetric::WonDeals, k)] = ws.won_by_month[k];
        monthly[mi(MonthlyMetric::Bookings, k)] = ws.bookings_by_month[k];
        monthly[mi(MonthlyMetric::MrrEnd, k)] = mrr;
    }

    let metrics = out.metrics;
    metrics[Metric::Leads.index()] = leads as f64;
    metrics[Metric::Mqls.index()] = mqls as f64;
    metrics[Metric::MqlsIgnored.index()] = ignored as f64;
    metrics[Metric::Opportunities.index()] = opps as f64;
    metrics[Metric::PipelineCreated.index()] = sums.pipeline_value;
    metrics[Metric::WonDeals.index()] = won;
    metrics[Metric::Bookings.index()] = bookings;
    metrics[Metric::Revenue.index()] = revenue;
    metrics[Metric::ArrEnd.index()] = 12.0 * mrr;
    metrics[Metric::OpenPipelineEnd.index()] = sums.open_value;
    metrics[Metric::Cost.index()] = cost;
    metrics[Metric::Roi.index()] = if cost > 0.0 {
        (revenue - cost) / cost
    } else {
        f64::NAN
    };
}

/// Running sums over a strategy's deals.
#[derive(Debug, Default)]
struct DealSums {
    pipeline_value: f64,
    open_value: f64,
}

/// The `n` opportunities of one channel opened in a month with `left`
/// months of the horizon to go: per deal its size, its cycle in whole
/// months and its outcome uniform (draw order: see the module docs). A
/// deal won within the horizon adds to `tails` (won deals, bookings) at
/// index `months`; one still open at the end adds its size to the open
/// pipeline.
///
/// The common case — lognormal sizes, cycles with a month law — runs on a
/// local copy of the generator, whose state then stays in registers (on
/// the caller's generator, whose address other samplers take, every draw
/// would load and store it), with the same draws as the general loop.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn deals<'a, R: Rng + Clone, T: Tracer<'a>>(
    n: u64,
    (size_dist, cycle_dist): (&'a Dist, &'a Dist),
    p_win: f64,
    left: u64,
    (won_tail, bookings_tail): (&mut [f64], &mut [f64]),
    sums: &mut DealSums,
    rng: &mut R,
    trace: &mut T,
) {
    if n == 0 {
        return;
    }
    // for the trace (h <= MAX_HORIZON)
    let left32 = u32::try_from(left).unwrap_or(u32::MAX);
    let outcome = p_win < 1.0;
    let mut book = |size: f64, months: u64, won: bool| {
        trace.record(|| Draw::Deal {
            size: size_dist,
            cycle: cycle_dist,
            left: left32,
            outcome,
        });
        sums.pipeline_value += size;
        // closes at c >= H: still open at the end, whatever its outcome
        let closes = months < left;
        let booked = closes & won;
        // Without branches (their outcomes are random, so mispredicted
        // often): a bit mask selects the value added or +0, and adding +0
        // to a non-negative sum leaves it unchanged — the same sums as
        // adding only where it applies. (A mask, not `if`, which the
        // compiler turns back into a branch.)
        let all = |b: bool| u64::from(b).wrapping_neg();
        let (open, book) = (all(!closes), all(booked));
        sums.open_value += f64::from_bits(size.to_bits() & open);
        let i = months.min(left - 1) as usize;
        won_tail[i] += f64::from_bits(1.0f64.to_bits() & book);
        bookings_tail[i] += f64::from_bits(size.to_bits() & book);
    };
    let law = cycle_dist.month_law();
    if let (Dist::LogNormal { mu, sigma, .. }, Some(law)) = (size_dist, law) {
        let (mu, sigma) = (*mu, *sigma);
        let mut r = rng.clone();
        for _ in 0..n {
            // Dist::sample of the lognormal
            let size = crate::sampling::exp(mu + sigma * standard_normal_by_value(&mut r));
            // floor(cycle_days / DAYS_PER_MONTH), lumped from `left` on
            let months = law.sample(left, &mut r);
            // drawn for every deal (also one still open at the end), so the
            // loop has no data-dependent branch
            let won = !outcome || uniform(&mut r) < p_win;
            book(size, months, won);
        }
        *rng = r;
    } else {
        for _ in 0..n {
            let size = size_dist.sample(rng);
            let months = match law {
                Some(law) => law.sample(left, rng),
                None => cycle_dist.sample_months(left, rng),
            };
            let won = !outcome || uniform(rng) < p_win;
            book(size, months, won);
        }
    }
}

/// A uniform on [0, 1) from the high 53 bits of one `u64`: rand's
/// `random::<f64>()`, written out so it surely inlines.
#[inline(always)]
fn uniform<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::Draw;

    #[test]
    fn a_traced_draw_is_compact() {
        assert!(std::mem::size_of::<Draw<'_>>() <= 24);
    }
}
