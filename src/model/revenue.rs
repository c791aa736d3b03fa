//! The revenue stage: MRR, revenue and ARR from the monthly bookings, the
//! cost of the horizon, and the trial's metrics and detail values (funnel
//! stages, segments, quarters).
//!
//! `MRR_end(k) = MRR_end(k−1)·(1+g) + (ACV won in k)/12`, with `g` the net
//! monthly rate (expansion − churn); revenue recognised in month `k` is
//! `MRR_end(k−1)`, so month 0 recognises nothing of the strategy's own
//! deals. ARR at the end is 12 × the last MRR. ROI is (revenue − cost) /
//! cost, undefined (NaN) for a trial that cost nothing.
//!
//! The company totals add the existing book — `MRR_end(−1) =
//! starting_arr / 12`, compounding by `g` — and the warm-up deals won in
//! the horizon, which bill like the strategy's own. Without either the
//! totals are computed from exactly the same terms as their v1
//! counterparts, so they are equal to them bit for bit.

use crate::metrics::{Layout, Metric, MonthlyMetric, QuarterMetric};
use crate::params::{SharedParams, StrategyParams};
use crate::scenario::Scenario;

use super::months::Counts;
use super::{OwnBook, TrialOut, WarmBook};

/// Turn a trial's counts and deals into its metrics and detail values.
#[inline(always)]
pub(super) fn finish(
    scn: &Scenario,
    layout: &Layout,
    (shared, params): (&SharedParams, &StrategyParams),
    (counts, own, warm): (&Counts, &OwnBook, Option<&WarmBook>),
    out: TrialOut<'_>,
) {
    let h = scn.horizon;
    let monthly = out.monthly;
    let cost = counts.lead_cost + (params.monthly_spend() + params.fixed_cost) * h as f64;

    let growth = 1.0 + shared.net_rate;
    let (mut mrr, mut revenue, mut won, mut bookings) = (0.0, 0.0, 0.0, 0.0);
    // the company: the book, the warm-up deals, the strategy's own
    let mut book = shared.starting_arr / 12.0;
    let (mut warm_mrr, mut warm_bookings) = (0.0, 0.0);
    let (mut total_prev, mut total_revenue) = (book, 0.0);
    for k in 0..h {
        revenue += mrr;
        monthly[layout.monthly(MonthlyMetric::Revenue, k)] = mrr;
        total_revenue += total_prev;
        mrr = mrr * growth + own.bookings_by_month[k] / 12.0;
        won += own.won_by_month[k];
        bookings += own.bookings_by_month[k];
        book *= growth;
        if let Some(w) = warm {
            warm_mrr = warm_mrr * growth + w.bookings_by_month[k] / 12.0;
            warm_bookings += w.bookings_by_month[k];
        }
        total_prev = mrr + warm_mrr + book;
        monthly[layout.monthly(MonthlyMetric::WonDeals, k)] = own.won_by_month[k];
        monthly[layout.monthly(MonthlyMetric::Bookings, k)] = own.bookings_by_month[k];
        monthly[layout.monthly(MonthlyMetric::MrrEnd, k)] = mrr;
        monthly[layout.monthly(MonthlyMetric::PipelineCreated, k)] = own.pipeline_by_month[k];
        monthly[layout.monthly(MonthlyMetric::TotalMrrEnd, k)] = total_prev;
    }

    // sales cost: the strategy's team when it serves some segment (or
    // there are none), and each segment's own team
    let no_strategy_team =
        !scn.segments.is_empty() && scn.segments.iter().all(|g| g.sales.is_some());
    let mut team_cost = if no_strategy_team {
        0.0
    } else {
        params.team_cost
    };
    for g in &shared.segments {
        team_cost += g.team_cost;
    }
    let sales_cost = team_cost * h as f64;
    let loaded = cost + sales_cost;

    let metrics = out.metrics;
    let mut set = |m: Metric, x: f64| metrics[m.index()] = x;
    set(Metric::Leads, counts.leads as f64);
    set(Metric::Mqls, counts.handoff as f64);
    set(Metric::MqlsIgnored, counts.ignored as f64);
    set(Metric::Opportunities, counts.opportunities as f64);
    set(Metric::PipelineCreated, own.pipeline_value);
    set(Metric::WonDeals, won);
    set(Metric::Bookings, bookings);
    set(Metric::Revenue, revenue);
    set(Metric::ArrEnd, 12.0 * mrr);
    set(Metric::OpenPipelineEnd, own.open_value);
    set(Metric::Cost, cost);
    set(
        Metric::Roi,
        if cost > 0.0 {
            (revenue - cost) / cost
        } else {
            f64::NAN
        },
    );
    set(Metric::MqlsRejected, counts.rejected as f64);
    set(Metric::MqlsRecycled, counts.recycled as f64);
    set(Metric::SalesCost, sales_cost);
    set(
        Metric::GtmRoi,
        if loaded > 0.0 {
            (revenue - cost - sales_cost) / loaded
        } else {
            f64::NAN
        },
    );
    set(Metric::TotalBookings, bookings + warm_bookings);
    set(Metric::TotalRevenue, total_revenue);
    set(Metric::TotalArrEnd, 12.0 * total_prev);

    // the funnel, stage by stage
    let last = scn.funnel.stages.len() - 1;
    let won_stage = |s: usize| s == last && s > scn.funnel.pipeline;
    for (i, &s) in layout.stages.iter().enumerate() {
        monthly[layout.stage(i)] = if won_stage(s) {
            won
        } else {
            counts.stages[s] as f64
        };
    }

    // per segment
    for (g, seg) in counts.segments.iter().enumerate() {
        let (mut m, mut rev, mut w, mut b) = (0.0, 0.0, 0.0, 0.0);
        for k in 0..h {
            rev += m;
            m = m * growth + own.segment_bookings[g * h + k] / 12.0;
            w += own.segment_won[g * h + k];
            b += own.segment_bookings[g * h + k];
        }
        for (i, metric) in Metric::SEGMENT.iter().enumerate() {
            monthly[layout.segment(g, i)] = match metric {
                Metric::Mqls => seg.mqls as f64,
                Metric::MqlsIgnored => seg.ignored as f64,
                Metric::MqlsRejected => seg.rejected as f64,
                Metric::MqlsRecycled => seg.recycled as f64,
                Metric::Opportunities => seg.opportunities as f64,
                Metric::PipelineCreated => own.segment_pipeline[g],
                Metric::WonDeals => w,
                Metric::Bookings => b,
                Metric::Revenue => rev,
                Metric::ArrEnd => 12.0 * m,
                Metric::OpenPipelineEnd => own.segment_open[g],
                _ => 0.0,
            };
        }
        for (i, &s) in layout.segment_stages.iter().enumerate() {
            monthly[layout.segment_stage(g, i)] = if won_stage(s) {
                w
            } else {
                seg.stages[s] as f64
            };
        }
    }

    // per quarter
    let nq = layout.quarters;
    let nq1 = nq + 1;
    let cell = |created: usize, closes: usize| own.quarters[created * nq1 + closes];
    let warm_at = |closes: usize| warm.map_or(0.0, |w| w.by_quarter[closes]);
    let quota = scn.quota.as_ref();
    for q in 0..nq {
        let created: f64 = (0..nq1).map(|c| cell(q, c)).sum();
        let months = scn.quarter_months(q);
        let booked: f64 = months
            .clone()
            .map(|m| own.bookings_by_month[m] + warm.map_or(0.0, |w| w.bookings_by_month[m]))
            .sum();
        // opened before the quarter: own quarters r < q, and the warm-up
        let before = |closes: usize| (0..q).map(|r| cell(r, closes)).sum::<f64>() + warm_at(closes);
        let open_start: f64 = (q..nq1).map(before).sum();
        monthly[layout.quarter(q, QuarterMetric::PipelineCreated)] = created;
        monthly[layout.quarter(q, QuarterMetric::Bookings)] = booked;
        monthly[layout.quarter(q, QuarterMetric::OpenPipelineStart)] = open_start;
        if let Some(quota) = quota {
            let target = quota.per_quarter[q];
            monthly[layout.quarter(q, QuarterMetric::Coverage)] = before(q) / target;
            monthly[layout.quarter(q, QuarterMetric::CoverageNext)] = if q + 1 < nq {
                before(q + 1) / quota.per_quarter[q + 1]
            } else {
                0.0
            };
            monthly[layout.quarter(q, QuarterMetric::Attainment)] = booked / target;
        }
    }
}
