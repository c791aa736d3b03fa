//! The revenue stage: MRR, revenue and ARR from the monthly bookings, the
//! cost of the horizon, and the trial's metrics.
//!
//! `MRR_end(k) = MRR_end(k−1)·(1+g) + (ACV won in k)/12`, with `g` the net
//! monthly rate (expansion − churn); revenue recognised in month `k` is
//! `MRR_end(k−1)`, so month 0 recognises nothing. ARR at the end is
//! 12 × the last MRR. ROI is (revenue − cost) / cost, undefined (NaN) for a
//! trial that cost nothing.

use crate::metrics::{Metric, MonthlyMetric};
use crate::params::{SharedParams, StrategyParams};

use super::{Totals, TrialOut, monthly_at};

/// Turn a trial's monthly won deals and bookings (and its funnel
/// `totals`) into its metrics and the monthly won, bookings and MRR series.
#[inline(always)]
pub(super) fn finish(
    h: usize,
    shared: &SharedParams,
    params: &StrategyParams,
    totals: &Totals,
    (won_by_month, bookings_by_month): (&[f64], &[f64]),
    out: TrialOut<'_>,
) {
    let monthly = out.monthly;
    let mi = |mm: MonthlyMetric, m: usize| monthly_at(mm, h, m);
    let cost = totals.lead_cost + (params.monthly_spend() + params.fixed_cost) * h as f64;

    let growth = 1.0 + shared.net_rate;
    let (mut mrr, mut revenue, mut won, mut bookings) = (0.0, 0.0, 0.0, 0.0);
    for k in 0..h {
        revenue += mrr;
        mrr = mrr * growth + bookings_by_month[k] / 12.0;
        won += won_by_month[k];
        bookings += bookings_by_month[k];
        monthly[mi(MonthlyMetric::WonDeals, k)] = won_by_month[k];
        monthly[mi(MonthlyMetric::Bookings, k)] = bookings_by_month[k];
        monthly[mi(MonthlyMetric::MrrEnd, k)] = mrr;
    }

    let metrics = out.metrics;
    metrics[Metric::Leads.index()] = totals.leads as f64;
    metrics[Metric::Mqls.index()] = totals.handoff as f64;
    metrics[Metric::MqlsIgnored.index()] = totals.ignored as f64;
    metrics[Metric::Opportunities.index()] = totals.opportunities as f64;
    metrics[Metric::PipelineCreated.index()] = totals.deals.pipeline_value;
    metrics[Metric::WonDeals.index()] = won;
    metrics[Metric::Bookings.index()] = bookings;
    metrics[Metric::Revenue.index()] = revenue;
    metrics[Metric::ArrEnd.index()] = 12.0 * mrr;
    metrics[Metric::OpenPipelineEnd.index()] = totals.deals.open_value;
    metrics[Metric::Cost.index()] = cost;
    metrics[Metric::Roi.index()] = if cost > 0.0 {
        (revenue - cost) / cost
    } else {
        f64::NAN
    };
}
