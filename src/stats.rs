//! Statistics over trials: summaries, intervals and paired comparisons.
//!
//! Per strategy and metric: mean, sd, se, Student-t CI of the mean (level
//! `ci`), quantiles p5..p95 (linear interpolation between order statistics,
//! "type 7", as numpy and spreadsheets compute them), the central outcome
//! interval (level `interval`), and P(metric ≥ target) with a Wilson
//! interval. Per strategy against the baseline: the same on the paired
//! per-trial difference, and P(beats) with a Wilson interval. Every
//! reduction runs in trial order, so results do not depend on threads.

use rayon::prelude::*;
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

use crate::accum::{Accumulator, SeriesAcc, Source};
use crate::engine::SimResults;
use crate::metrics::{Metric, MonthlyMetric};
use crate::scenario::Scenario;

/// Quantile levels reported everywhere, with their column names.
pub const QUANTILES: [(f64, &str); 7] = [
    (0.05, "p5"),
    (0.10, "p10"),
    (0.25, "p25"),
    (0.50, "p50"),
    (0.75, "p75"),
    (0.90, "p90"),
    (0.95, "p95"),
];

/// A proportion with its Wilson score interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Proportion {
    pub p: f64,
    pub low: f64,
    pub high: f64,
}

/// Summary of one metric's (or one difference's) trials.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub n: u64,
    pub mean: f64,
    pub sd: f64,
    pub se: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// Quantiles at [`QUANTILES`].
    pub quantiles: [f64; 7],
    /// Central outcome interval (level `interval`).
    pub interval_low: f64,
    pub interval_high: f64,
}

impl Summary {
    /// Median (p50).
    pub fn median(&self) -> f64 {
        self.quantiles[3]
    }

    /// Half-width of the CI of the mean.
    pub fn ci_half_width(&self) -> f64 {
        0.5 * (self.ci_high - self.ci_low)
    }
}

/// Standard normal quantile.
pub fn z_quantile(p: f64) -> f64 {
    Normal::standard().inverse_cdf(p)
}

/// Student-t quantile with `df` degrees of freedom.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    match StudentsT::new(0.0, 1.0, df) {
        Ok(t) => t.inverse_cdf(p),
        Err(_) => z_quantile(p),
    }
}

/// Quantile of sorted data, linear interpolation between order statistics
/// (Hyndman & Fan type 7).
pub fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let h = (n - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Wilson score interval for `k` successes in `n` trials at `level`.
pub fn wilson(k: u64, n: u64, level: f64) -> Proportion {
    if n == 0 {
        return Proportion {
            p: f64::NAN,
            low: f64::NAN,
            high: f64::NAN,
        };
    }
    let z = z_quantile(0.5 + 0.5 * level);
    let nf = n as f64;
    let p = k as f64 / nf;
    let z2 = z * z;
    let denom = 1.0 + z2 / nf;
    let center = (p + z2 / (2.0 * nf)) / denom;
    let half = z * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt() / denom;
    // exact bounds at the edges (the formula gives them up to rounding)
    Proportion {
        p,
        low: if k == 0 {
            0.0
        } else {
            (center - half).max(0.0)
        },
        high: if k >= n {
            1.0
        } else {
            (center + half).min(1.0)
        },
    }
}

/// Mean and sample standard deviation, two-pass, in order.
pub fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let ss: f64 = xs.iter().map(|x| (x - mean) * (x - mean)).sum();
    let sd = if xs.len() > 1 {
        (ss / (n - 1.0)).sqrt()
    } else {
        0.0
    };
    (mean, sd)
}

/// Summarise a sample at confidence level `ci` and outcome level `interval`.
pub fn summarize(xs: &[f64], ci: f64, interval: f64) -> Summary {
    let (mean, sd) = mean_sd(xs);
    let mut sorted = xs.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    summary_from(xs.len() as u64, mean, sd, ci, interval, |p| {
        quantile_sorted(&sorted, p)
    })
}

/// A [`Summary`] from the count, mean and sd of a sample and a way to get
/// its quantiles (exact or from a sketch): the Student-t CI of the mean at
/// `ci`, [`QUANTILES`] and the central outcome interval at `interval`.
pub fn summary_from(
    n: u64,
    mean: f64,
    sd: f64,
    ci: f64,
    interval: f64,
    quantile: impl Fn(f64) -> f64,
) -> Summary {
    let se = sd / (n as f64).sqrt();
    let t = t_quantile(0.5 + 0.5 * ci, (n.max(2) - 1) as f64);
    let tail = 0.5 * (1.0 - interval);
    Summary {
        n,
        mean,
        sd,
        se,
        ci_low: mean - t * se,
        ci_high: mean + t * se,
        quantiles: QUANTILES.map(|(p, _)| quantile(p)),
        interval_low: quantile(tail),
        interval_high: quantile(1.0 - tail),
    }
}

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

/// Everything reported about one strategy.
#[derive(Debug, Clone)]
pub struct StrategyStats {
    pub name: String,
    pub label: String,
    /// In [`Metric::ALL`] order; `roi` is missing when some trial cost 0.
    pub metrics: Vec<MetricStats>,
    /// Aggregate CAC = mean(cost) / mean(won_deals).
    pub cac: f64,
    /// `monthly[mm.index()][month]`.
    pub monthly: Vec<Vec<MonthlyPoint>>,
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
    let per = MonthlyMetric::COUNT * scn.horizon;
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
        out.extend((0..per).map(|j| (Source::Monthly { b: 0, s, j }, None)));
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
            let h = scn.horizon;
            let monthly = MonthlyMetric::ALL
                .iter()
                .map(|&mm| {
                    (0..h)
                        .into_par_iter()
                        .map(|month| {
                            let j = mm.index() * h + month;
                            match series(Source::Monthly { b: 0, s, j }) {
                                Some(a) => {
                                    let (mean, [p5, p50, p95]) =
                                        a.mean_and_quantiles([0.05, 0.50, 0.95]);
                                    MonthlyPoint { mean, p5, p50, p95 }
                                }
                                None => MonthlyPoint {
                                    mean: f64::NAN,
                                    p5: f64::NAN,
                                    p50: f64::NAN,
                                    p95: f64::NAN,
                                },
                            }
                        })
                        .collect()
                })
                .collect();
            StrategyStats {
                name: st.name.clone(),
                label: st.label.clone(),
                metrics,
                cac,
                monthly,
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
pub fn better_and_worse(diff: &SeriesAcc, m: Metric) -> (u64, u64) {
    if m.lower_is_better() {
        (diff.n_negative(), diff.n_positive())
    } else {
        (diff.n_positive(), diff.n_negative())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type7_quantiles_match_numpy() {
        // numpy.quantile([1, 2, 3, 4, 10], [0.05, 0.5, 0.9]) = [1.2, 3.0, 7.6]
        let xs = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert!((quantile_sorted(&xs, 0.05) - 1.2).abs() < 1e-12);
        assert_eq!(quantile_sorted(&xs, 0.5), 3.0);
        assert!((quantile_sorted(&xs, 0.9) - 7.6).abs() < 1e-12);
    }

    #[test]
    fn wilson_matches_reference_values() {
        // 95% Wilson interval for 8 of 10: (0.4902, 0.9433) (Newcombe 1998)
        let w = wilson(8, 10, 0.95);
        assert!((w.low - 0.4902).abs() < 1e-4, "{w:?}");
        assert!((w.high - 0.9433).abs() < 1e-4, "{w:?}");
        let w0 = wilson(0, 10, 0.95);
        assert_eq!(w0.low, 0.0);
        assert!((w0.high - 0.2775).abs() < 1e-4, "{w0:?}");
    }

    #[test]
    fn t_interval_uses_t_not_normal() {
        // t(0.975, 4) = 2.7764
        assert!((t_quantile(0.975, 4.0) - 2.776_445).abs() < 1e-5);
        let s = summarize(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.95, 0.9);
        assert_eq!(s.mean, 3.0);
        assert!((s.sd - 2.5f64.sqrt()).abs() < 1e-12);
        assert!((s.ci_high - (3.0 + 2.776_445 * s.se)).abs() < 1e-5);
    }
}
