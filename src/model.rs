//! One trial of one strategy: MODEL.md turned into code.
//!
//! The trial consumes the strategy's [`StrategyParams`] (drawn by
//! [`crate::params`]) and the trial's [`SharedParams`], and runs the months
//! in four stages, each in its own file:
//!
//! 1. `funnel`: lead counts (Poisson or gamma–Poisson) and, of them, the
//!    entries into the handoff stage;
//! 2. `capacity`: when the handoff exceeds sales capacity, which members
//!    are worked (multivariate hypergeometric over channels);
//! 3. `deals`: the opportunity count (binomial), then per opportunity its
//!    size, its cycle in whole months and its outcome;
//! 4. `revenue`: MRR, revenue and ARR from the monthly bookings, and the
//!    trial's metrics.
//!
//! [`work`] estimates, from the parameters' means, how much a trial
//! simulates (opportunities, channel-months), so a run too large to finish
//! is refused before it starts.
//!
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
//! binomial, the lead-count law) is built once per trial, by the
//! parameters stage.
//!
//! # Where each draw comes from
//!
//! The parameters come first ([`crate::params`]). The months' draws come
//! from sub-streams of the trial ([`crate::sampling::streams`]), keyed so
//! that a change moves only what it touches (MODEL.md, "Aligned random
//! numbers"); within a sub-stream the order is fixed:
//!
//! 1. **counts of channel c in month m**, keyed by the channel's stream
//!    name ([`Channel::stream`](crate::scenario::Channel::stream):
//!    `channel.NAME` for a shared channel, `strategy.S.channel[i]` for a
//!    strategy's own) and the month: the gamma rate (when over-dispersed),
//!    the leads that reach the handoff stage (Poisson), the other leads
//!    (Poisson; skipped when every lead or none reaches it), then — after
//!    the capacity split — the opportunity count (one binomial of the
//!    worked members);
//! 2. **capacity split of month m**, keyed by the strategy's channel
//!    streams ([`Strategy::capacity_key`](crate::scenario::Strategy::capacity_key))
//!    and the month, only when the month's handoff total exceeds capacity:
//!    the worked members per channel (one hypergeometric per channel but
//!    the last);
//! 3. **deals of channel c's cohort of month m**, keyed like its counts
//!    (in a stream of their own), drawn in order, per opportunity: deal
//!    size, its cycle in whole months
//!    ([`Dist::sample_months`](crate::dist::Dist::sample_months): one `u64`
//!    sampling the alias table of the month law of `cycle_days`, or a draw
//!    of `cycle_days` for fixed, uniform and triangular cycles) and — for a
//!    channel whose win probability is below 1 — one uniform for its
//!    outcome (drawn also for a deal that closes after the horizon, whose
//!    outcome is then unused, so the deal loop has no data-dependent
//!    branch). The k-th deal of a cohort therefore has the same draws
//!    whatever the cohort's size.
//!
//! So two strategies buying the same shared channel at the same volume
//! see the same arrivals and deals; a what-if on one channel's spend
//! changes no other channel's lead counts, and one that only adds capacity
//! changes no lead count at all. Where two strategies draw different laws
//! from one sub-stream (the same channel at different volumes), the draws
//! are coupled through the shared uniforms, as the samplers use them: the
//! marginal laws are what MODEL.md pins, the coupling is not specified.
//!
//! A deal's cycle matters only through its closing month
//! `m + floor(cycle_days / 30.4375)`, so that whole number of months is
//! what is drawn, from its exact law.
//!
//! These keys and orders fix the numbers a seed gives (pinned by
//! `tests/it/value_stability.rs`): change them only on purpose.

mod capacity;
mod deals;
mod funnel;
mod revenue;
pub mod work;

use crate::metrics::{Metric, MonthlyMetric};
use crate::params::{self, SharedParams, StrategyParams, TrialDraws};
use crate::sampling::streams::{StreamRng, month_key};
use crate::scenario::{Scenario, Strategy};
use crate::trace::{NoTrace, Tracer};

/// Reusable buffers so a trial allocates nothing once warmed up.
#[derive(Debug, Default)]
pub struct Workspace {
    /// The strategy's parameters of the current trial.
    params: StrategyParams,
    won_by_month: Vec<f64>,
    bookings_by_month: Vec<f64>,
    /// Per channel: handoff members this month, then those worked.
    handoff: Vec<u64>,
    /// Per channel: this month's counts stream (the opportunity count is
    /// drawn from it after the capacity split).
    counts: Vec<StreamRng>,
}

/// Where one strategy's trial writes its results.
pub struct TrialOut<'a> {
    /// One value per [`Metric`], in [`Metric::ALL`] order.
    pub metrics: &'a mut [f64; Metric::COUNT],
    /// `monthly[mm * horizon + month]` for each [`MonthlyMetric`] `mm`.
    pub monthly: &'a mut [f64],
}

/// Draw one strategy's parameters and simulate its trial (draw order: see
/// the module docs).
pub fn simulate_strategy(
    scn: &Scenario,
    strategy: &Strategy,
    shared: &SharedParams,
    at: &TrialDraws<'_>,
    ws: &mut Workspace,
    out: TrialOut<'_>,
) {
    simulate_strategy_traced(scn, strategy, shared, at, ws, out, &mut NoTrace);
}

/// [`simulate_strategy`], reporting every draw to `trace`.
#[doc(hidden)]
pub fn simulate_strategy_traced<'a, T: Tracer<'a>>(
    scn: &'a Scenario,
    strategy: &'a Strategy,
    shared: &SharedParams,
    at: &TrialDraws<'_>,
    ws: &mut Workspace,
    out: TrialOut<'_>,
    trace: &mut T,
) {
    let mut params = std::mem::take(&mut ws.params);
    params::draw_strategy_traced(scn, strategy, shared, at, &mut params, trace);
    run_trial(scn, strategy, shared, &params, at, ws, out, trace);
    ws.params = params;
}

/// Index of series `mm`, month `m` in a [`TrialOut::monthly`] of a
/// horizon of `h` months.
#[inline(always)]
fn monthly_at(mm: MonthlyMetric, h: usize, m: usize) -> usize {
    mm.index() * h + m
}

/// Totals of a trial's months, before revenue.
#[derive(Debug, Default)]
struct Totals {
    leads: u64,
    /// Entries into the handoff stage (MQLs with `handoff = "mql"`).
    handoff: u64,
    ignored: u64,
    opportunities: u64,
    /// Lead-based channels' cost of leads.
    lead_cost: f64,
    deals: deals::DealSums,
}

/// Run the months of one strategy's trial on its drawn `params`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn run_trial<'a, T: Tracer<'a>>(
    scn: &'a Scenario,
    strategy: &'a Strategy,
    shared: &SharedParams,
    params: &StrategyParams,
    at: &TrialDraws<'_>,
    ws: &mut Workspace,
    out: TrialOut<'_>,
    trace: &mut T,
) {
    let h = scn.horizon;
    ws.won_by_month.clear();
    ws.won_by_month.resize(h, 0.0);
    ws.bookings_by_month.clear();
    ws.bookings_by_month.resize(h, 0.0);

    let monthly = out.monthly;
    monthly.fill(0.0);
    let mi = |mm: MonthlyMetric, m: usize| monthly_at(mm, h, m);

    let mut totals = Totals::default();
    for m in 0..h {
        let season = scn.seasonality[m % 12];
        let month = funnel::month(
            strategy,
            params,
            season,
            (at, m),
            (&mut ws.handoff, &mut ws.counts),
            &mut totals.lead_cost,
            trace,
        );
        totals.ignored = totals.ignored.saturating_add(capacity::share(
            params.capacity,
            month.handoff,
            &mut ws.handoff,
            || at.stream(month_key(strategy.capacity_key, m)),
            trace,
        ));
        let month_opps = deals::month(
            strategy,
            params,
            (&ws.handoff, &mut ws.counts),
            (at, m, h),
            (&mut ws.won_by_month, &mut ws.bookings_by_month),
            &mut totals.deals,
            trace,
        );
        totals.leads = totals.leads.saturating_add(month.leads);
        totals.handoff = totals.handoff.saturating_add(month.handoff);
        totals.opportunities = totals.opportunities.saturating_add(month_opps);
        monthly[mi(MonthlyMetric::Leads, m)] = month.leads as f64;
        monthly[mi(MonthlyMetric::Mqls, m)] = month.handoff as f64;
        monthly[mi(MonthlyMetric::Opportunities, m)] = month_opps as f64;
    }
    revenue::finish(
        h,
        shared,
        params,
        &totals,
        (&ws.won_by_month, &ws.bookings_by_month),
        TrialOut {
            metrics: out.metrics,
            monthly,
        },
    );
}
