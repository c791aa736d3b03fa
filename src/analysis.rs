//! A run's analysis: the statistics of every strategy and comparison.
//!
//! Per strategy and metric: the [`Summary`] of its trials and, where the
//! scenario sets a target, P(metric ≥ target) with a Wilson interval; per
//! strategy and month the mean, P5, P50 and P95 of the monthly series; per
//! strategy against the baseline: the summary of the paired per-trial
//! difference and P(beats) with a Wilson interval. Computed from the
//! streaming [`Accumulator`] of a run (or from kept trials); every
//! reduction runs in trial order, so results do not depend on threads.

pub mod guard;
pub mod shape;

use rayon::prelude::*;

use crate::accum::{Accumulator, SeriesAcc, Source};
use crate::engine::SimResults;
use crate::metrics::{Detail, Layout, Metric, MonthlyMetric, QuarterMetric};
use crate::scenario::Scenario;
use crate::stats::{Proportion, Summary, wilson};

/// One metric of one strategy.
#[derive(Debug, Clone)]
pub struct MetricStats {
    pub metric: Metric,
    pub summary: Summary,
    /// `(target, P(metric >= target))` where the scenario sets a target.
    pub target: Option<(f64, Proportion)>,
}

/// One point of a monthly series.
#[derive(Debug, Clone, Copy)]
pub struct MonthlyPoint {
    pub mean: f64,
    pub p5: f64,
    pub p50: f64,
    pub p95: f64,
}

/// Entries into one funnel stage (per strategy, or per segment).
#[derive(Debug, Clone)]
pub struct FunnelStage {
    /// Index into the funnel's stages.
    pub stage: usize,
    pub point: MonthlyPoint,
}

/// One segment's metrics and funnel.
#[derive(Debug, Clone)]
pub struct SegmentStats {
    pub name: String,
    /// In [`Metric::SEGMENT`] order.
    pub metrics: Vec<MetricStats>,
    /// From the handoff stage on.
    pub funnel: Vec<FunnelStage>,
}

impl SegmentStats {
    pub fn get(&self, m: Metric) -> Option<&MetricStats> {
        self.metrics.iter().find(|s| s.metric == m)
    }
}

/// One quarterly metric of one quarter.
#[derive(Debug, Clone)]
pub struct QuarterValue {
    pub metric: QuarterMetric,
    pub point: MonthlyPoint,
    /// The target and P(value ≥ target), for coverage and attainment.
    pub target: Option<(f64, Proportion)>,
}

/// One quarter's metrics.
#[derive(Debug, Clone)]
pub struct QuarterStats {
    pub label: String,
    /// Months of the horizon in it (3 but for a partial last quarter).
    pub months: usize,
    /// The quarter's bookings quota, with a `[quota]`.
    pub quota: Option<f64>,
    pub values: Vec<QuarterValue>,
}

impl QuarterStats {
    pub fn get(&self, m: QuarterMetric) -> Option<&QuarterValue> {
        self.values.iter().find(|v| v.metric == m)
    }
}

/// Everything reported about one strategy.
#[derive(Debug, Clone)]
pub struct StrategyStats {
    pub name: String,
    pub label: String,
    /// In [`Metric::ALL`] order; `roi` is missing when some trial cost 0.
    pub metrics: Vec<MetricStats>,
    /// Aggregate CAC = mean(cost) / mean(won_deals).
    pub cac: f64,
    /// Fully loaded CAC: `mean(cost + sales_cost) / mean(won_deals)`.
    pub loaded_cac: f64,
    /// `monthly[mm.index()][month]`.
    pub monthly: Vec<Vec<MonthlyPoint>>,
    /// Entries per funnel stage ([`Scenario::funnel_stages`]).
    pub funnel: Vec<FunnelStage>,
    /// Per segment, in scenario order (empty without segments).
    pub segments: Vec<SegmentStats>,
    pub quarters: Vec<QuarterStats>,
}

impl StrategyStats {
    pub fn get(&self, m: Metric) -> Option<&MetricStats> {
        self.metrics.iter().find(|s| s.metric == m)
    }
}

/// One strategy against the baseline on one metric (d = strategy − baseline).
#[derive(Debug, Clone)]
pub struct Comparison {
    pub strategy: usize,
    pub baseline: usize,
    pub metric: Metric,
    pub diff: Summary,
    /// P(strategy beats baseline), strict, in the metric's direction.
    pub p_beats: Proportion,
}

/// The statistics of a whole run.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub trials: u64,
    pub ci: f64,
    pub interval: f64,
    pub baseline: usize,
    pub strategies: Vec<StrategyStats>,
    pub comparisons: Vec<Comparison>,
    /// Things the user should know (e.g. an ROI row left out).
    pub warnings: Vec<String>,
    /// Quantiles exact (all trials kept) or from the quantile sketch.
    pub quantiles_exact: bool,
}

impl Analysis {
    /// The comparison of `strategy` against the baseline on `metric`.
    pub fn comparison(&self, strategy: usize, metric: Metric) -> Option<&Comparison> {
        self.comparisons
            .iter()
            .find(|c| c.strategy == strategy && c.metric == metric)
    }
}

/// The series a run accumulates: per strategy its metrics (with targets),
/// per strategy its monthly values, then per non-baseline strategy the
/// paired difference to the baseline on each metric.
pub fn run_sources(scn: &Scenario) -> Vec<(Source, Option<f64>)> {
    let ns = scn.strategies.len();
    let layout = scn.layout();
    let mut out = Vec::new();
    for s in 0..ns {
        for m in Metric::ALL {
            out.push((
                Source::Metric {
                    b: 0,
                    s,
                    k: m.index(),
                },
                scn.target(m),
            ));
        }
    }
    for s in 0..ns {
        out.extend((0..layout.len()).filter_map(|j| {
            detail_target(scn, &layout, j).map(|t| (Source::Monthly { b: 0, s, j }, t))
        }));
    }
    for s in (0..ns).filter(|s| *s != scn.baseline) {
        for m in Metric::ALL {
            out.push((
                Source::Diff {
                    b: 0,
                    s,
                    base_b: 0,
                    base_s: scn.baseline,
                    k: m.index(),
                },
                None,
            ));
        }
    }
    out
}

/// Compute every statistic of a run from its kept trials (exact quantiles).
/// Uses the current rayon pool.
/// Whether detail value `j` is a series of its own (`None`: not reported,
/// the coverage of the quarter after the last), and its target: the
/// coverage target for coverage, 1 for attainment.
pub fn detail_target(scn: &Scenario, layout: &Layout, j: usize) -> Option<Option<f64>> {
    match layout.describe(j) {
        Detail::Quarter(q, QuarterMetric::CoverageNext) if q + 1 >= layout.quarters => None,
        Detail::Quarter(_, QuarterMetric::Coverage | QuarterMetric::CoverageNext) => {
            Some(scn.quota.as_ref().map(|q| q.coverage_target))
        }
        Detail::Quarter(_, QuarterMetric::Attainment) => Some(Some(1.0)),
        _ => Some(None),
    }
}

pub fn analyze(scn: &Scenario, sim: &SimResults) -> Analysis {
    let n = sim.trials as usize;
    let series: Vec<SeriesAcc> = run_sources(scn)
        .into_par_iter()
        .map(|(source, target)| {
            let values: Vec<f64> = match source {
                Source::Metric { s, k, .. } => sim.strategies[s].metrics[k].clone(),
                Source::Monthly { s, j, .. } => {
                    sim.strategies[s].monthly[j * n..(j + 1) * n].to_vec()
                }
                Source::Diff { s, base_s, k, .. } => sim.strategies[s].metrics[k]
                    .iter()
                    .zip(&sim.strategies[base_s].metrics[k])
                    .map(|(a, b)| a - b)
                    .collect(),
            };
            SeriesAcc::from_values(source, target, &values)
        })
        .collect();
    analyze_acc(scn, &Accumulator::from_series(series, sim.trials))
}

/// Compute every statistic of a run from its accumulated series (see
/// [`run_sources`]). Uses the current rayon pool.
pub fn analyze_acc(scn: &Scenario, acc: &Accumulator) -> Analysis {
    let (ci, interval) = (scn.ci, scn.interval);
    let n = acc.trials();
    let mut warnings = Vec::new();
    let series = |source: Source| acc.get(source);
    let metric_series = |s: usize, m: Metric| {
        series(Source::Metric {
            b: 0,
            s,
            k: m.index(),
        })
    };
    let available = |s: usize, m: Metric| metric_series(s, m).is_some_and(SeriesAcc::all_finite);

    let layout = scn.layout();
    let strategies: Vec<StrategyStats> = scn
        .strategies
        .iter()
        .enumerate()
        .map(|(s, st)| {
            let metrics: Vec<MetricStats> = Metric::ALL
                .par_iter()
                .filter(|m| available(s, **m))
                .filter_map(|&m| {
                    let a = metric_series(s, m)?;
                    let target = scn
                        .target(m)
                        .map(|t| (t, wilson(a.n_at_or_above_target(), n, ci)));
                    Some(MetricStats {
                        metric: m,
                        summary: a.summary(ci, interval),
                        target,
                    })
                })
                .collect();
            let mean_of = |m: Metric| {
                metrics
                    .iter()
                    .find(|s| s.metric == m)
                    .map(|s| s.summary.mean)
            };
            let cac = match (mean_of(Metric::Cost), mean_of(Metric::WonDeals)) {
                (Some(c), Some(w)) if w > 0.0 => c / w,
                _ => f64::NAN,
            };
            let loaded_cac = match (
                mean_of(Metric::Cost),
                mean_of(Metric::SalesCost),
                mean_of(Metric::WonDeals),
            ) {
                (Some(c), Some(sc), Some(w)) if w > 0.0 => (c + sc) / w,
                _ => f64::NAN,
            };
            let point_at = |j: usize| point(series(Source::Monthly { b: 0, s, j }));
            let funnel = layout
                .stages
                .iter()
                .enumerate()
                .map(|(i, &stage)| FunnelStage {
                    stage,
                    point: point_at(layout.stage(i)),
                })
                .collect();
            let segments = scn
                .segments
                .iter()
                .enumerate()
                .map(|(g, seg)| SegmentStats {
                    name: seg.name.clone(),
                    metrics: Metric::SEGMENT
                        .iter()
                        .enumerate()
                        .filter_map(|(i, &metric)| {
                            let a = series(Source::Monthly {
                                b: 0,
                                s,
                                j: layout.segment(g, i),
                            })?;
                            Some(MetricStats {
                                metric,
                                summary: a.summary(ci, interval),
                                target: None,
                            })
                        })
                        .collect(),
                    funnel: layout
                        .segment_stages
                        .iter()
                        .enumerate()
                        .map(|(i, &stage)| FunnelStage {
                            stage,
                            point: point_at(layout.segment_stage(g, i)),
                        })
                        .collect(),
                })
                .collect();
            let quarters = (0..layout.quarters)
                .map(|q| QuarterStats {
                    label: scn.quarter_label(q),
                    months: scn.quarter_months(q).len(),
                    quota: scn.quota.as_ref().map(|quota| quota.per_quarter[q]),
                    values: QuarterMetric::ALL[..layout.quarter_metrics]
                        .iter()
                        .filter_map(|&metric| {
                            let j = layout.quarter(q, metric);
                            let target = detail_target(scn, &layout, j)?;
                            let a = series(Source::Monthly { b: 0, s, j })?;
                            Some(QuarterValue {
                                metric,
                                point: point_of(a),
                                target: target
                                    .map(|t| (t, wilson(a.n_at_or_above_target(), n, ci))),
                            })
                        })
                        .collect(),
                })
                .collect();
            let h = scn.horizon;
            let monthly = MonthlyMetric::ALL
                .iter()
                .map(|&mm| {
                    (0..h)
                        .into_par_iter()
                        .map(|month| {
                            let j = mm.index() * h + month;
                            point_at(j)
                        })
                        .collect()
                })
                .collect();
            StrategyStats {
                name: st.name.clone(),
                label: st.label.clone(),
                metrics,
                cac,
                loaded_cac,
                monthly,
                funnel,
                segments,
                quarters,
            }
        })
        .collect();
    for (s, st) in scn.strategies.iter().enumerate() {
        if !available(s, Metric::Roi) {
            warnings.push(format!(
                "strategy '{}': some trials have zero cost, so roi is undefined and its row is left out",
                st.name
            ));
        }
        if !available(s, Metric::GtmRoi) {
            warnings.push(format!(
                "strategy '{}': some trials have zero marketing and sales cost, so gtm_roi is undefined and its row is left out",
                st.name
            ));
        }
    }

    let base = scn.baseline;
    let mut comparisons = Vec::new();
    for s in (0..scn.strategies.len()).filter(|s| *s != base) {
        let found: Vec<Comparison> = Metric::ALL
            .par_iter()
            .filter(|m| available(s, **m) && available(base, **m))
            .filter_map(|&m| {
                let d = series(Source::Diff {
                    b: 0,
                    s,
                    base_b: 0,
                    base_s: base,
                    k: m.index(),
                })?;
                Some(Comparison {
                    strategy: s,
                    baseline: base,
                    metric: m,
                    diff: d.summary(ci, interval),
                    p_beats: wilson(better_and_worse(d, m).0, n, ci),
                })
            })
            .collect();
        comparisons.extend(found);
    }

    Analysis {
        trials: n,
        ci,
        interval,
        baseline: base,
        strategies,
        comparisons,
        warnings,
        quantiles_exact: acc.exact(),
    }
}

/// Trials where a difference is strictly better, and strictly worse, in
/// the metric's direction (lower is better for cost and ignored MQLs).
/// Mean, p5, p50 and p95 of a detail series (NaN when it is missing).
fn point(a: Option<&SeriesAcc>) -> MonthlyPoint {
    match a {
        Some(a) => point_of(a),
        None => MonthlyPoint {
            mean: f64::NAN,
            p5: f64::NAN,
            p50: f64::NAN,
            p95: f64::NAN,
        },
    }
}

fn point_of(a: &SeriesAcc) -> MonthlyPoint {
    let (mean, [p5, p50, p95]) = a.mean_and_quantiles([0.05, 0.50, 0.95]);
    MonthlyPoint { mean, p5, p50, p95 }
}

pub fn better_and_worse(diff: &SeriesAcc, m: Metric) -> (u64, u64) {
    if m.lower_is_better() {
        (diff.n_negative(), diff.n_positive())
    } else {
        (diff.n_positive(), diff.n_negative())
    }
}
