//! One trial of one strategy: MODEL.md turned into code.
//!
//! The trial consumes the strategy's [`StrategyParams`] (drawn by
//! [`crate::params`]) and the trial's [`SharedParams`], and runs its months
//! (`months`: one loop for the horizon and for the warm-up before month 0)
//! in stages, each in its own file:
//!
//! 1. `funnel`: lead counts (Poisson or gamma–Poisson) and, of them, the
//!    entries into the handoff stage;
//! 2. in `months`: routing of the new entrants to segments and the nurture
//!    re-entries due this month (Model v2);
//! 3. `capacity`: when the handoff exceeds a team's capacity, which members
//!    are worked (multivariate hypergeometric over the team's cells);
//! 4. in `months`, per cell (channel × segment): the opportunity count
//!    (binomial), the intermediate stages' entries, the nurture returns;
//! 5. `deals`: per opportunity its size, its cycle in whole months and its
//!    outcome, handed to a book (`OwnBook` for the strategy's trial,
//!    `WarmBook` for the warm-up's deals that reach month 0);
//! 6. `revenue`: MRR, revenue and ARR from the monthly bookings, the
//!    existing book and the warm-up deals, and the trial's metrics, funnel,
//!    segment and quarterly values.
//!
//! [`prepare_trial`] runs the warm-up once per trial, before the
//! strategies. [`work`] estimates, from the parameters' means, how much a
//! trial simulates (opportunities, channel-months), so a run too large to
//! finish is refused before it starts.
//!
//! Counts are drawn as counts, never one draw per lead, so volume costs
//! nothing; only opportunities (and returning nurture members' delays) are
//! simulated one by one.
//!
//! The stages between the first and the handoff stage, and those between
//! the handoff and the pipeline stage, are drawn composed: a binomial
//! thinning of a binomial is a binomial (`Bin(Bin(n, a), b) = Bin(n, a·b)`
//! in law). The first of them is folded into the lead count: given the
//! month's rate Λ, the leads that reach the handoff stage and the others
//! are independent Poisson(Λ·p) and Poisson(Λ·(1−p)) counts (Poisson
//! thinning), the same law as Poisson leads followed by a binomial. The
//! intermediate stages' entries are then drawn given the composed counts
//! (after them, from the same stream): of the members that do not reach
//! the end stage, those reaching stage `j` are a binomial with
//! `q_j·(1 − Q_{j+1})/(1 − Q_j)` (`Q_j` the product of the conversions from
//! `j` to the end stage), which gives every stage the law of the
//! stage-by-stage funnel. Everything that depends only on the trial's
//! parameters (the prepared binomials, the lead-count law) is built once
//! per trial, by the parameters stage.
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
//! Model v2's draws come after these in their streams, or from streams of
//! their own, so a scenario without any v2 field draws exactly these
//! numbers: per cell, after the opportunity count, the intermediate
//! stages between the handoff and the pipeline stage, then per channel
//! the stages before the handoff (counts stream); routing, keyed by
//! [`Strategy::route_key`](crate::scenario::Strategy::route_key) and the
//! month (sequential binomials, channels in order); nurture returns, keyed
//! by [`Strategy::nurture_key`](crate::scenario::Strategy::nurture_key)
//! and the month (per cell a binomial, then one delay per returner); the
//! segment teams' split from the month's capacity stream (the strategy's
//! team, then each segment's own, in order); a segment's cohort deals from
//! `Channel::segment_deals_keys`; the warm-up from the same keys on a
//! warm-up base ([`prepare_trial`]).
//!
//! These keys and orders fix the numbers a seed gives (pinned by
//! `tests/it/value_stability.rs`): change them only on purpose.

mod capacity;
mod deals;
mod funnel;
mod months;
mod revenue;
pub mod work;

use crate::metrics::{Layout, Metric};
use crate::params::{self, SharedParams, StrategyParams, TrialDraws};
use crate::sampling::streams::{self, splitmix64};
use crate::scenario::{Scenario, Strategy};
use crate::trace::{NoTrace, Tracer};

use months::{Book, Counts, Scratch, Span};

/// Reusable buffers so a trial allocates nothing once warmed up.
#[derive(Debug, Default)]
pub struct Workspace {
    /// The strategy's parameters of the current trial.
    params: StrategyParams,
    scratch: Scratch,
    counts: Counts,
    own: OwnBook,
    /// The trial's warm-up pipeline ([`prepare_trial`]).
    warm: WarmBook,
    warm_params: StrategyParams,
    warm_counts: Counts,
    layout: Layout,
    /// What `layout` was computed from ([`layout_shape`]).
    layout_shape: Option<[usize; 6]>,
}

/// Everything [`Scenario::layout`] depends on.
fn layout_shape(scn: &Scenario) -> [usize; 6] {
    [
        scn.horizon,
        scn.funnel.stages.len(),
        scn.funnel.handoff,
        scn.funnel.pipeline,
        scn.segments.len(),
        usize::from(scn.quota.is_some()),
    ]
}

/// Where one strategy's trial writes its results.
pub struct TrialOut<'a> {
    /// One value per [`Metric`], in [`Metric::ALL`] order.
    pub metrics: &'a mut [f64; Metric::COUNT],
    /// The detail values of [`Scenario::layout`] (the monthly series
    /// first: `monthly[mm * horizon + month]` for each
    /// [`crate::metrics::MonthlyMetric`] `mm`).
    pub monthly: &'a mut [f64],
}

impl Workspace {
    /// The trial's warm-up deals won in each horizon month: (count,
    /// bookings) per month, after [`prepare_trial`]; `None` without a
    /// warm-up. For the backtest, which compares all deals won in a month
    /// with what the CRM recorded.
    pub fn warmup_won(&self) -> Option<(&[f64], &[f64])> {
        self.warm.active.then_some((
            self.warm.won_by_month.as_slice(),
            self.warm.bookings_by_month.as_slice(),
        ))
    }
}

/// Quarter of each month `0..=h` (`h`: after the horizon, quarter `nq`).
/// Kept when it is already the table of `h` (the horizon rarely changes
/// between trials).
fn quarter_table(h: usize, out: &mut Vec<usize>) {
    if out.len() == h + 1 {
        return;
    }
    out.clear();
    out.extend((0..h).map(|m| m / 3));
    out.push(h.div_ceil(3));
}

/// The strategy's own deals of a trial: what the metrics, the monthly
/// series, the segments and the quarters need.
#[derive(Debug, Default)]
struct OwnBook {
    h: usize,
    segmented: bool,
    won_by_month: Vec<f64>,
    bookings_by_month: Vec<f64>,
    pipeline_by_month: Vec<f64>,
    pipeline_value: f64,
    open_value: f64,
    /// Quarter of month `0..=h` ([`quarter_table`]).
    quarter_of: Vec<usize>,
    /// The current month's cohorts: value by closing month `0..=h` (`h`:
    /// after the horizon), folded into `quarters` at the month's end.
    closing: Vec<f64>,
    /// `quarters[created * (nq + 1) + closes]`: value of the opportunities
    /// created in quarter `created` closing in quarter `closes` (`nq`:
    /// after the horizon), whatever their outcome.
    quarters: Vec<f64>,
    /// Per segment `g`: `[g * h + month]`.
    segment_won: Vec<f64>,
    segment_bookings: Vec<f64>,
    segment_pipeline: Vec<f64>,
    segment_open: Vec<f64>,
}

impl OwnBook {
    fn reset(&mut self, scn: &Scenario) {
        let h = scn.horizon;
        let ng = scn.segments.len();
        let nq = h.div_ceil(3);
        self.h = h;
        self.segmented = ng > 0;
        for v in [
            &mut self.won_by_month,
            &mut self.bookings_by_month,
            &mut self.pipeline_by_month,
        ] {
            v.clear();
            v.resize(h, 0.0);
        }
        self.pipeline_value = 0.0;
        self.open_value = 0.0;
        quarter_table(h, &mut self.quarter_of);
        self.closing.clear();
        self.closing.resize(h + 1, 0.0);
        self.quarters.clear();
        self.quarters.resize((nq + 1) * (nq + 1), 0.0);
        for v in [&mut self.segment_won, &mut self.segment_bookings] {
            v.clear();
            v.resize(ng * h, 0.0);
        }
        for v in [&mut self.segment_pipeline, &mut self.segment_open] {
            v.clear();
            v.resize(ng, 0.0);
        }
    }
}

impl Book for OwnBook {
    #[inline(always)]
    fn limit(&self, t: usize) -> u64 {
        (self.h - t) as u64
    }

    fn end_month(&mut self, t: usize) {
        let nq1 = self.quarter_of[self.h] + 1;
        let row = self.quarter_of[t] * nq1;
        let mut created = 0.0;
        for (c, v) in self.closing.iter_mut().enumerate().skip(t) {
            created += *v;
            self.quarters[row + self.quarter_of[c]] += *v;
            *v = 0.0;
        }
        self.pipeline_by_month[t] = created;
    }

    #[inline(always)]
    fn deal(&mut self, t: usize, g: usize, size: f64, months: u64, won: bool) {
        // a deal closing `months` after t closes within the horizon iff
        // months < left = h − t; branch-free book-keeping (the v1 sums)
        let left = (self.h - t) as u64;
        self.pipeline_value += size;
        let closes = months < left;
        let booked = closes & won;
        let all = |b: bool| u64::from(b).wrapping_neg();
        let (open, book) = (all(!closes), all(booked));
        let open_size = f64::from_bits(size.to_bits() & open);
        self.open_value += open_size;
        let i = t + months.min(left - 1) as usize;
        let one = f64::from_bits(1.0f64.to_bits() & book);
        let booked_size = f64::from_bits(size.to_bits() & book);
        self.won_by_month[i] += one;
        self.bookings_by_month[i] += booked_size;
        self.closing[t + months as usize] += size;
        if self.segmented {
            self.segment_pipeline[g] += size;
            self.segment_open[g] += open_size;
            self.segment_won[g * self.h + i] += one;
            self.segment_bookings[g * self.h + i] += booked_size;
        }
    }
}

/// The warm-up's deals that reach month 0: won deals and bookings per
/// horizon month, and the value of the open ones by closing quarter.
#[derive(Debug, Default)]
struct WarmBook {
    active: bool,
    h: usize,
    w: usize,
    won_by_month: Vec<f64>,
    bookings_by_month: Vec<f64>,
    quarter_of: Vec<usize>,
    /// Value of the warm-up opportunities open at month 0 by closing
    /// quarter (`nq`: after the horizon), whatever their outcome.
    by_quarter: Vec<f64>,
}

impl Book for WarmBook {
    #[inline(always)]
    fn limit(&self, t: usize) -> u64 {
        (self.h + self.w - t) as u64
    }

    fn end_month(&mut self, _t: usize) {}

    #[inline(always)]
    fn deal(&mut self, t: usize, _g: usize, size: f64, months: u64, won: bool) {
        // month t of the warm-up is month t − w; the deal closes in
        // month c = t − w + months, gone when c < 0
        let back = (self.w - t) as u64;
        if months < back {
            return;
        }
        let c = (months - back) as usize;
        if c < self.h && won {
            self.won_by_month[c] += 1.0;
            self.bookings_by_month[c] += size;
        }
        self.by_quarter[self.quarter_of[c]] += size;
    }
}

/// Key of the warm-up's streams: every strategy's trial sees the same
/// warm-up counts and deals.
fn warm_draws<'u>(at: &TrialDraws<'u>) -> TrialDraws<'u> {
    TrialDraws {
        base: splitmix64(at.base ^ streams::key("warmup", "")),
        uniforms: at.uniforms,
    }
}

/// Prepare a trial before its strategies run: the warm-up pipeline
/// (MODEL.md, "The existing book and the pipeline already open"), run
/// once with the warm-up strategy's parameters of the trial and the
/// warm-up streams, shared by every strategy of the trial. Call once per
/// trial, after [`params::draw_shared`], before [`simulate_strategy`].
pub fn prepare_trial(
    scn: &Scenario,
    shared: &SharedParams,
    at: &TrialDraws<'_>,
    ws: &mut Workspace,
) {
    let Some(w) = scn.warmup else {
        ws.warm.active = false;
        return;
    };
    let Some(strategy) = scn.strategies.get(w.strategy) else {
        ws.warm.active = false;
        return;
    };
    let h = scn.horizon;
    let nq = h.div_ceil(3);
    let warm = &mut ws.warm;
    warm.active = true;
    warm.h = h;
    warm.w = w.months;
    for v in [&mut warm.won_by_month, &mut warm.bookings_by_month] {
        v.clear();
        v.resize(h, 0.0);
    }
    quarter_table(h, &mut warm.quarter_of);
    warm.by_quarter.clear();
    warm.by_quarter.resize(nq + 1, 0.0);
    params::draw_strategy(scn, strategy, shared, at, &mut ws.warm_params);
    let span = Span {
        months: w.months,
        first: -(w.months as i64),
        monthly: None,
    };
    months::run(
        scn,
        strategy,
        &ws.warm_params,
        shared,
        &warm_draws(at),
        span,
        (&mut ws.scratch, &mut ws.warm_counts, &mut ws.warm),
        &mut NoTrace,
    );
}

/// Draw one strategy's parameters and simulate its trial (draw order: see
/// the module docs). [`prepare_trial`] must have run for the trial when
/// the scenario has a warm-up.
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

/// [`simulate_strategy`], reporting every v1 draw to `trace`.
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
    let shape = layout_shape(scn);
    if ws.layout_shape != Some(shape) {
        ws.layout = scn.layout();
        ws.layout_shape = Some(shape);
    }
    ws.own.reset(scn);
    let monthly = out.monthly;
    monthly.fill(0.0);
    let span = Span {
        months: scn.horizon,
        first: 0,
        monthly: Some((&ws.layout, &mut *monthly)),
    };
    months::run(
        scn,
        strategy,
        params,
        shared,
        at,
        span,
        (&mut ws.scratch, &mut ws.counts, &mut ws.own),
        trace,
    );
    let warm = ws.warm.active.then_some(&ws.warm);
    revenue::finish(
        scn,
        &ws.layout,
        (shared, params),
        (&ws.counts, &ws.own, warm),
        TrialOut {
            metrics: out.metrics,
            monthly,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::QuarterMetric as Q;

    /// Guards the quarterly metrics on a hand-built deal set (9 months,
    /// quota 100 a quarter): (created month, size, months to close, won)
    /// = (0, 100, 4, won), (1, 50, 1, won), (2, 30, 10: after the horizon,
    /// lost), (4, 70, 3, lost). At the start of Q2 (month 3) the deals
    /// created before it closing in Q2 are the first (coverage 1.0), those
    /// open are the first and the third (130); at the start of Q3 the
    /// fourth closes in Q3 (0.7) and the third and fourth are open (100).
    #[test]
    fn quarterly_metrics_of_a_hand_built_deal_set() {
        let scn = Scenario::from_toml_str(
            r#"
horizon_months = 9
[quota]
bookings_per_quarter = 100
[funnel]
stages = ["lead", "mql", "sql", "won"]
handoff = "mql"
pipeline = "sql"
[strategy.s]
deal_size = 1
cycle_days = 1
[[strategy.s.channel]]
leads_per_month = 1
cost_per_lead = 1
conversion = { mql = 1, sql = 1, won = 1 }
"#,
            std::path::Path::new("hand-built.toml"),
        )
        .expect("loads");
        let layout = scn.layout();
        let mut own = OwnBook::default();
        own.reset(&scn);
        let deals = [
            (0, 100.0, 4, true),
            (1, 50.0, 1, true),
            (2, 30.0, 10, false),
            (4, 70.0, 3, false),
        ];
        for t in 0..9 {
            for &(m, size, months, won) in &deals {
                if m == t {
                    let months = u64::min(months, own.limit(t));
                    own.deal(t, 0, size, months, won);
                }
            }
            own.end_month(t);
        }
        let mut counts = Counts::default();
        counts.reset(4, 0);
        let mut metrics = [0.0; Metric::COUNT];
        let mut detail = vec![0.0; layout.len()];
        revenue::finish(
            &scn,
            &layout,
            (&SharedParams::default(), &StrategyParams::default()),
            (&counts, &own, None),
            TrialOut {
                metrics: &mut metrics,
                monthly: &mut detail,
            },
        );
        let at = |q: usize, m: Q| detail[layout.quarter(q, m)];
        let expect = [
            // pipeline_created, bookings, open_pipeline_start, coverage,
            // coverage_next, attainment
            [180.0, 50.0, 0.0, 0.0, 0.0, 0.5],
            [70.0, 100.0, 130.0, 1.0, 0.0, 1.0],
            [0.0, 0.0, 100.0, 0.7, 0.0, 0.0],
        ];
        for (q, row) in expect.iter().enumerate() {
            for (m, e) in Q::ALL.iter().zip(row) {
                assert_eq!(at(q, *m), *e, "quarter {q} {}", m.name());
            }
        }
        assert_eq!(metrics[Metric::OpenPipelineEnd.index()], 30.0);
        assert_eq!(metrics[Metric::PipelineCreated.index()], 250.0);
    }
}
