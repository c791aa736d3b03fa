//! The months of one run of a strategy's funnel: the horizon of its own
//! trial, or the warm-up before month 0 (MODEL.md, Model v2).
//!
//! A month, in MODEL.md's order: new handoff entrants per channel
//! ([`super::funnel`]), their routing to segments, the nurture re-entries
//! due this month, sales capacity per team ([`super::capacity`]), then per
//! cell (channel × segment) the stages after the handoff — the opportunity
//! count, the intermediate stages, the rejected members — the nurture
//! returns of the ignored and rejected members, and the cohort's deals
//! ([`super::deals`]), handed to a [`Book`] that does the book-keeping of
//! the run (the strategy's own metrics, or the warm-up's carried deals).
//!
//! Without segments a cell is a channel, and a scenario without any v2
//! field draws exactly the v1 numbers: every v2 draw comes after the v1
//! draws of its stream, or from a stream of its own.

use crate::dist::Dist;
use crate::metrics::{Layout, MonthlyMetric};
use crate::params::{SharedParams, StrategyParams, TrialDraws};
use crate::sampling::streams::{StreamRng, month_key};
use crate::scenario::{Scenario, Strategy};
use crate::trace::{self, Draw, Tracer};

use super::funnel::{self, Arrivals};
use super::{capacity, deals};

/// Where a run's deals go.
pub(super) trait Book {
    /// Months after month `t` from which a deal of month `t`'s cohort is
    /// lumped as "later" (still open at the end of the horizon).
    fn limit(&self, t: usize) -> u64;
    /// One deal of month `t`, segment `g` (0 without segments): its size,
    /// its whole months to close (at most [`Book::limit`]) and its outcome.
    fn deal(&mut self, t: usize, g: usize, size: f64, months: u64, won: bool);
    /// Month `t`'s deals are all in.
    fn end_month(&mut self, t: usize);
}

/// A segment's counts over a run.
#[derive(Debug, Default, Clone)]
pub(super) struct SegmentCounts {
    pub mqls: u64,
    pub ignored: u64,
    pub rejected: u64,
    pub recycled: u64,
    pub opportunities: u64,
    /// Entries per funnel stage (those from the handoff on are filled).
    pub stages: Vec<u64>,
}

/// A run's counts, summed over its months.
#[derive(Debug, Default)]
pub(super) struct Counts {
    pub leads: u64,
    /// Entries into the handoff stage, re-entries included.
    pub handoff: u64,
    pub ignored: u64,
    pub rejected: u64,
    pub recycled: u64,
    pub opportunities: u64,
    /// Lead-based channels' cost of leads (summed in the v1 order).
    pub lead_cost: f64,
    /// Entries per funnel stage up to the pipeline stage.
    pub stages: Vec<u64>,
    pub segments: Vec<SegmentCounts>,
}

impl Counts {
    /// Zero for a run of a funnel of `stages` stages and `segments`
    /// segments (keeping the buffers).
    pub(super) fn reset(&mut self, stages: usize, segments: usize) {
        let zeroed = |mut v: Vec<u64>| {
            v.clear();
            v.resize(stages, 0);
            v
        };
        let mut kept = std::mem::take(&mut self.segments);
        kept.resize_with(segments, SegmentCounts::default);
        for g in &mut kept {
            *g = SegmentCounts {
                stages: zeroed(std::mem::take(&mut g.stages)),
                ..SegmentCounts::default()
            };
        }
        *self = Counts {
            stages: zeroed(std::mem::take(&mut self.stages)),
            segments: kept,
            ..Counts::default()
        };
    }
}

/// Reusable buffers of a run.
#[derive(Debug, Default)]
pub(super) struct Scratch {
    arrivals: Arrivals,
    /// Per cell: the month's handoff members, then those worked.
    cells: Vec<u64>,
    /// Per cell: the month's handoff members before capacity.
    members: Vec<u64>,
    team: Vec<u64>,
    /// `pending[cell * months + t]`: nurture re-entries due in month `t`.
    pending: Vec<u64>,
    /// Per cell: the win probability (the channel's, odds-adjusted by the
    /// segment).
    p_win: Vec<f64>,
    own_capacity: Vec<Option<u64>>,
}

/// How a run is placed in time and what it reports.
pub(super) struct Span<'m> {
    /// Months of the run.
    pub months: usize,
    /// The calendar month index of the run's first month (0 for the
    /// horizon, −W for a warm-up of W months), for seasonality.
    pub first: i64,
    /// The layout and the detail values the own run writes its monthly
    /// counts to (`None` for the warm-up).
    pub monthly: Option<(&'m Layout, &'m mut [f64])>,
}

/// `p` with its odds multiplied by `r`: `p·r / (1 − p + p·r)`.
#[inline]
fn odds_adjusted(p: f64, r: f64) -> f64 {
    if p >= 1.0 {
        return 1.0;
    }
    let x = p * r;
    x / (1.0 - p + x)
}

/// Run the months of `span` for `strategy` with its drawn `params`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn run<'a, B: Book, T: Tracer<'a>>(
    scn: &'a Scenario,
    strategy: &'a Strategy,
    params: &StrategyParams,
    shared: &SharedParams,
    at: &TrialDraws<'_>,
    mut span: Span<'_>,
    (sc, counts, book): (&mut Scratch, &mut Counts, &mut B),
    trace: &mut T,
) {
    let months = span.months;
    let nc = strategy.channels.len();
    let segmented = !scn.segments.is_empty();
    let ng = scn.segments.len().max(1);
    let ncell = nc * ng;
    let (handoff, pipeline) = (scn.funnel.handoff, scn.funnel.pipeline);
    counts.reset(scn.funnel.stages.len(), scn.segments.len());
    let nurture = match (&params.recycle, &strategy.nurture) {
        (Some(b), Some(n)) => Some((*b, &n.delay_days.dist)),
        _ => None,
    };
    if nurture.is_some() {
        sc.pending.clear();
        sc.pending.resize(ncell * months, 0);
    }
    sc.p_win.clear();
    for d in &params.channels {
        if segmented {
            sc.p_win.extend(
                shared
                    .segments
                    .iter()
                    .map(|g| odds_adjusted(d.p_win, g.win_odds_ratio)),
            );
        } else {
            sc.p_win.push(d.p_win);
        }
    }
    sc.own_capacity.clear();
    sc.own_capacity
        .extend(shared.segments.iter().map(|g| g.capacity));
    let spend_fixed = params.monthly_spend() + params.fixed_cost;

    for t in 0..months {
        let season = scn.seasonality[(span.first + t as i64).rem_euclid(12) as usize];
        let month = funnel::month(
            strategy,
            params,
            season,
            (at, t),
            &mut sc.arrivals,
            &mut counts.lead_cost,
            trace,
        );
        let arrivals = &mut sc.arrivals;

        // new entrants, routed to segments
        sc.cells.clear();
        sc.cells.resize(ncell, 0);
        if segmented {
            let mut route: Option<StreamRng> = None;
            for (c, d) in params.channels.iter().enumerate() {
                let mut left = arrivals.fresh[c];
                for (g, b) in d.route.iter().enumerate() {
                    if left == 0 {
                        break;
                    }
                    let rng =
                        route.get_or_insert_with(|| at.stream(month_key(strategy.route_key, t)));
                    let x = b.sample(left, rng);
                    sc.cells[c * ng + g] = x;
                    left -= x;
                }
                sc.cells[c * ng + ng - 1] += left;
            }
        } else {
            sc.cells.copy_from_slice(&arrivals.fresh);
        }
        // re-entries from nurture
        let mut members = month.handoff;
        if nurture.is_some() {
            for (cell, x) in sc.cells.iter_mut().enumerate() {
                let back = sc.pending[cell * months + t];
                *x += back;
                members = members.saturating_add(back);
                counts.recycled += back;
                if segmented {
                    counts.segments[cell % ng].recycled += back;
                }
            }
        }
        sc.members.clear();
        sc.members.extend_from_slice(&sc.cells);

        // capacity
        let capacity_stream = || at.stream(month_key(strategy.capacity_key, t));
        let ignored = if segmented {
            capacity::share_teams(
                params.capacity,
                &sc.own_capacity,
                &mut sc.cells,
                &mut sc.team,
                capacity_stream,
            )
        } else {
            capacity::share(
                params.capacity,
                members,
                &mut sc.cells,
                capacity_stream,
                trace,
            )
        };

        // the stages after the handoff, nurture returns and deals, per cell
        let mut nurture_rng: Option<StreamRng> = None;
        let mut month_opps = 0u64;
        for (c, (ch, d)) in strategy.channels.iter().zip(&params.channels).enumerate() {
            let rng = &mut arrivals.counts[c];
            for g in 0..ng {
                let cell = c * ng + g;
                let worked = sc.cells[cell];
                trace.record(|| Draw::Binomial {
                    slot: trace::slot(c, 1),
                    n: worked,
                });
                let x = d.to_pipeline.sample(worked, rng);
                let mut rejected = worked - x;
                let mut failed = worked - x;
                for (j, b) in d.post_cond.iter().enumerate() {
                    failed = b.sample(failed, rng);
                    let entries = x + failed;
                    if j == 0 {
                        rejected = worked - entries;
                    }
                    counts.stages[handoff + 1 + j] += entries;
                    if segmented {
                        counts.segments[g].stages[handoff + 1 + j] += entries;
                    }
                }
                let not_worked = sc.members[cell] - worked;
                counts.rejected += rejected;
                month_opps = month_opps.saturating_add(x);
                if segmented {
                    let s = &mut counts.segments[g];
                    s.mqls += sc.members[cell];
                    s.ignored += not_worked;
                    s.rejected += rejected;
                    s.opportunities += x;
                    s.stages[handoff] += sc.members[cell];
                    s.stages[pipeline] += x;
                }
                if let Some((recycle, delay)) = nurture {
                    let lost = not_worked + rejected;
                    if lost > 0 {
                        let rng = nurture_rng
                            .get_or_insert_with(|| at.stream(month_key(strategy.nurture_key, t)));
                        let back = recycle.sample(lost, rng);
                        let limit = (months - t) as u64;
                        for _ in 0..back {
                            let wait = delay.sample_months(limit, rng).max(1);
                            let due = t + wait as usize;
                            if due < months {
                                sc.pending[cell * months + due] += 1;
                            }
                        }
                    }
                }
                if x > 0 {
                    let key = if segmented {
                        ch.segment_deals_keys[g]
                    } else {
                        ch.deals_key
                    };
                    let key = month_key(key, t);
                    trace.record(|| Draw::Stream(key));
                    let seg = scn.segments.get(g).filter(|_| segmented);
                    let pick = |own: Option<&'a crate::scenario::Param>, channel: &'a Dist| {
                        own.map_or(channel, |p| &p.dist)
                    };
                    let law = deals::DealLaw {
                        size: pick(seg.and_then(|s| s.deal_size.as_ref()), &ch.deal_size.dist),
                        cycle: pick(seg.and_then(|s| s.cycle_days.as_ref()), &ch.cycle_days.dist),
                        lost_cycle: seg
                            .and_then(|s| s.lost_cycle_days.as_ref())
                            .or(ch.lost_cycle_days.as_ref())
                            .map(|p| &p.dist),
                        p_win: sc.p_win[cell],
                    };
                    deals::cohort(x, law, (t, g), at.stream(key), book, trace);
                }
            }
            // the stages between the first and the handoff stage
            let mut failed = arrivals.rest[c];
            for (j, b) in d.pre_cond.iter().enumerate() {
                failed = b.sample(failed, rng);
                counts.stages[1 + j] += arrivals.fresh[c] + failed;
            }
        }
        book.end_month(t);
        counts.leads = counts.leads.saturating_add(month.leads);
        counts.handoff = counts.handoff.saturating_add(members);
        counts.ignored = counts.ignored.saturating_add(ignored);
        counts.opportunities = counts.opportunities.saturating_add(month_opps);
        if let Some((layout, out)) = span.monthly.as_mut() {
            out[layout.monthly(MonthlyMetric::Leads, t)] = month.leads as f64;
            out[layout.monthly(MonthlyMetric::Mqls, t)] = members as f64;
            out[layout.monthly(MonthlyMetric::Opportunities, t)] = month_opps as f64;
            out[layout.monthly(MonthlyMetric::MqlsIgnored, t)] = ignored as f64;
            out[layout.monthly(MonthlyMetric::Cost, t)] = month.lead_cost + spend_fixed;
        }
    }
    counts.stages[handoff] = counts.handoff;
    counts.stages[pipeline] = counts.opportunities;
    // the first stage's entries are the leads, even when it is the handoff
    // (re-entries count in mqls, not in leads)
    counts.stages[0] = counts.leads;
}
