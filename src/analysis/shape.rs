//! Distribution shapes for charts: histograms on shared "nice" bins and
//! the quantile bands of a monthly series (a fan chart).
//!
//! These are read from a run's accumulated series after the run
//! ([`crate::experiment::run_with`]): exact counts when the trials were
//! kept, the quantile sketch beyond the exact budget. No figure a report
//! states in words or tables comes from here; those are the
//! [`Analysis`](super::Analysis)'s, so they equal `run --out`'s.

use crate::accum::{Accumulator, SeriesAcc, Source};
use crate::metrics::{Metric, MonthlyMetric};
use crate::scenario::Scenario;

/// The share of trials in each of a set of bins.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// `bins + 1` ascending edges; bin `i` is `(edges[i], edges[i + 1]]`.
    pub edges: Vec<f64>,
    /// Share of all trials in each bin.
    pub share: Vec<f64>,
    /// Share at or below the first edge, and above the last.
    pub below: f64,
    pub above: f64,
}

impl Histogram {
    /// The largest bin's share divided by the bin width (the density scale).
    pub fn peak_density(&self) -> f64 {
        self.share
            .iter()
            .zip(self.edges.windows(2))
            .map(|(s, e)| s / (e[1] - e[0]))
            .fold(0.0, f64::max)
    }
}

/// Quantile bands of a monthly series: P5, P25, P50, P75, P95 per month.
#[derive(Debug, Clone, PartialEq)]
pub struct Fan {
    /// `bands[month]` = [p5, p25, p50, p75, p95].
    pub bands: Vec<[f64; 5]>,
}

/// The probabilities of a [`Fan`]'s bands.
pub const FAN_PS: [f64; 5] = [0.05, 0.25, 0.50, 0.75, 0.95];

/// The histograms of one metric: per strategy on shared bins.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricShape {
    pub metric: Metric,
    /// In strategy order.
    pub per_strategy: Vec<Histogram>,
}

/// One challenger's paired difference to the baseline on one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffShape {
    pub strategy: usize,
    pub metric: Metric,
    pub histogram: Histogram,
}

/// Everything a report charts beyond the analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct Shapes {
    pub metrics: Vec<MetricShape>,
    pub diffs: Vec<DiffShape>,
    /// Per strategy: the monthly series charted as a fan.
    pub fans: Vec<Fan>,
    pub fan_metric: MonthlyMetric,
}

/// Bins per histogram (about; the edges are rounded to a nice width).
pub const BINS: usize = 40;

/// The tails a histogram leaves out of its bins (shown as `below`/`above`).
pub const TAIL: f64 = 0.005;

/// The shapes of `metrics` (histograms per strategy), of every
/// challenger's difference on `diff_metrics`, and the fan of `fan_metric`.
pub fn shapes(
    scn: &Scenario,
    acc: &Accumulator,
    metrics: &[Metric],
    diff_metrics: &[Metric],
    fan_metric: MonthlyMetric,
) -> Shapes {
    let ns = scn.strategies.len();
    let metric_series = |s: usize, m: Metric| {
        acc.get(Source::Metric {
            b: 0,
            s,
            k: m.index(),
        })
    };
    let metric_shapes = metrics
        .iter()
        .filter_map(|&m| {
            let series: Vec<&SeriesAcc> = (0..ns)
                .map(|s| metric_series(s, m))
                .collect::<Option<Vec<_>>>()?;
            let edges = shared_edges(&series)?;
            Some(MetricShape {
                metric: m,
                per_strategy: series.iter().map(|a| histogram(a, &edges)).collect(),
            })
        })
        .collect();
    let mut diffs = Vec::new();
    for s in (0..ns).filter(|s| *s != scn.baseline) {
        for &m in diff_metrics {
            let Some(a) = acc.get(Source::Diff {
                b: 0,
                s,
                base_b: 0,
                base_s: scn.baseline,
                k: m.index(),
            }) else {
                continue;
            };
            if let Some(edges) = shared_edges(&[a]) {
                diffs.push(DiffShape {
                    strategy: s,
                    metric: m,
                    histogram: histogram(a, &edges),
                });
            }
        }
    }
    let h = scn.horizon;
    let fans = (0..ns)
        .map(|s| Fan {
            bands: (0..h)
                .map(|month| {
                    let j = fan_metric.index() * h + month;
                    match acc.get(Source::Monthly { b: 0, s, j }) {
                        Some(a) => {
                            let q = a.quantiles(&FAN_PS);
                            [q[0], q[1], q[2], q[3], q[4]]
                        }
                        None => [f64::NAN; 5],
                    }
                })
                .collect(),
        })
        .collect();
    Shapes {
        metrics: metric_shapes,
        diffs,
        fans,
        fan_metric,
    }
}

/// Bins covering every series' middle `1 − 2·TAIL` of trials, on a nice
/// width with edges at its multiples (so 0 is an edge when it is inside).
/// `None` when the values are all equal or not finite.
fn shared_edges(series: &[&SeriesAcc]) -> Option<Vec<f64>> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for a in series {
        let q = a.quantiles(&[TAIL, 1.0 - TAIL]);
        lo = lo.min(q[0]);
        hi = hi.max(q[1]);
    }
    nice_edges(lo, hi, BINS)
}

/// Edges at multiples of a width of 1, 2 or 5 × 10^k, about `bins` of
/// them, from at or below `lo` to at or above `hi`.
pub fn nice_edges(lo: f64, hi: f64, bins: usize) -> Option<Vec<f64>> {
    if !(lo.is_finite() && hi.is_finite() && hi > lo) || bins == 0 {
        return None;
    }
    let raw = (hi - lo) / bins as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let width = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|f| f * mag)
        .find(|w| *w >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / width).floor() as i64;
    let last = (hi / width).ceil() as i64;
    if last - first > 4 * bins as i64 {
        return None;
    }
    Some((first..=last).map(|k| k as f64 * width).collect())
}

fn histogram(a: &SeriesAcc, edges: &[f64]) -> Histogram {
    let cdf = a.cdf(edges);
    let share = cdf.windows(2).map(|w| (w[1] - w[0]).max(0.0)).collect();
    Histogram {
        edges: edges.to_vec(),
        share,
        below: cdf.first().copied().unwrap_or(0.0),
        above: 1.0 - cdf.last().copied().unwrap_or(1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accum::SeriesAcc;

    #[test]
    fn nice_edges_are_multiples_of_a_round_width() {
        let e = nice_edges(-13.0, 87.0, 40).expect("edges");
        let w = e[1] - e[0];
        assert_eq!(w, 2.5);
        assert!(e[0] <= -13.0 && *e.last().expect("last") >= 87.0);
        assert!(e.contains(&0.0));
        assert!(nice_edges(1.0, 1.0, 40).is_none());
        assert!(nice_edges(f64::NAN, 1.0, 40).is_none());
    }

    #[test]
    fn histogram_counts_exactly_from_kept_values() {
        let source = Source::Metric { b: 0, s: 0, k: 0 };
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        let a = SeriesAcc::from_values(source, None, &values);
        let h = histogram(&a, &[0.0, 10.0, 50.0, 90.0]);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(
            h.share
                .iter()
                .zip([0.10, 0.40, 0.40])
                .all(|(a, b)| close(*a, b))
        );
        assert!(close(h.below, 0.0) && close(h.above, 0.1));
    }
}
