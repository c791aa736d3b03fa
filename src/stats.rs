//! Pure statistics: quantiles, intervals and the summary of a sample.
//!
//! Mean, sd, se and the Student-t CI of the mean (level `ci`); quantiles
//! by linear interpolation between order statistics ("type 7", as numpy
//! and spreadsheets compute them); the central outcome interval (level
//! `interval`); the Wilson score interval of a proportion. A leaf module:
//! it knows nothing of scenarios or runs ([`crate::analysis`] applies it to
//! a run's series).

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

pub mod sensitivity;

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

/// The CDF at `x` of the distribution whose quantile function is linear
/// between the points of `grid` (quantiles at `i / (len − 1)`, ascending):
/// 0 below the first, 1 at and above the last; within a run of equal
/// quantiles (an atom) the CDF jumps to the run's top.
pub fn cdf_from_quantiles(grid: &[f64], x: f64) -> f64 {
    let k = grid.len();
    if k < 2 || x.is_nan() {
        return f64::NAN;
    }
    if x < grid[0] {
        return 0.0;
    }
    if x >= grid[k - 1] {
        return 1.0;
    }
    // the last grid point ≤ x, then the next one (> x)
    let i = grid.partition_point(|&q| q <= x) - 1;
    let (a, b) = (grid[i], grid[i + 1]);
    let step = 1.0 / (k - 1) as f64;
    (i as f64 + (x - a) / (b - a)) * step
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

/// The type-7 quantile of `xs` (reordered in place) by selection instead of
/// a full sort: the same value as [`quantile_sorted`] on the sorted
/// data, in linear time.
pub fn quantile_by_selection(xs: &mut [f64], p: f64) -> f64 {
    let n = xs.len();
    if n == 0 {
        return f64::NAN;
    }
    let h = (n - 1) as f64 * p;
    let lo = h.floor() as usize;
    let (_, x_lo, right) = xs.select_nth_unstable_by(lo, f64::total_cmp);
    let x_lo = *x_lo;
    let x_hi = right.iter().copied().min_by(f64::total_cmp).unwrap_or(x_lo);
    x_lo + (h - lo as f64) * (x_hi - x_lo)
}

/// The type-7 quantiles `ps` of `xs` (reordered in place) by selection:
/// the same values as [`quantile_by_selection`] for each `p`, with less
/// work — the middle quantile is selected first, then those below it
/// within the part below it, and those above within the part above
/// (order statistics do not depend on how the rest is arranged).
pub fn quantiles_by_selection<const N: usize>(xs: &mut [f64], ps: [f64; N]) -> [f64; N] {
    let n = xs.len();
    let mut out = [f64::NAN; N];
    if n == 0 {
        return out;
    }
    // (position in `out`, order statistic below, weight of the one above)
    let mut items: Vec<(usize, usize, f64)> = ps
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let h = (n - 1) as f64 * p;
            let lo = (h.floor() as usize).min(n - 1);
            (i, lo, h - lo as f64)
        })
        .collect();
    items.sort_by_key(|it| it.1);
    select_range(xs, 0, None, &items, &mut out);
    out
}

/// [`quantiles_by_selection`] on `xs[a..a + len]`, which holds exactly the
/// order statistics `a..a + len` of the whole, `next` being order statistic
/// `a + len` (if any); `items` are sorted by order statistic, all inside.
fn select_range(
    xs: &mut [f64],
    a: usize,
    next: Option<f64>,
    items: &[(usize, usize, f64)],
    out: &mut [f64],
) {
    if items.is_empty() || xs.is_empty() {
        return;
    }
    let lo = items[items.len() / 2].1;
    let (_, x_lo, right) = xs.select_nth_unstable_by(lo - a, f64::total_cmp);
    let x_lo = *x_lo;
    let x_hi = right
        .iter()
        .copied()
        .min_by(f64::total_cmp)
        .or(next)
        .unwrap_or(x_lo);
    for &(i, l, w) in items.iter().filter(|it| it.1 == lo) {
        debug_assert_eq!(l, lo);
        out[i] = x_lo + w * (x_hi - x_lo);
    }
    let below = items.partition_point(|it| it.1 < lo);
    let above = items.partition_point(|it| it.1 <= lo);
    let (left, rest) = xs.split_at_mut(lo - a);
    select_range(left, a, Some(x_lo), &items[..below], out);
    select_range(&mut rest[1..], lo + 1, next, &items[above..], out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdf_from_quantiles_inverts_a_piecewise_linear_quantile_function() {
        // quantiles at 0, 1/4, 1/2, 3/4, 1, with an atom at 2
        let grid = [0.0, 1.0, 2.0, 2.0, 3.0];
        assert_eq!(cdf_from_quantiles(&grid, -1.0), 0.0);
        assert_eq!(cdf_from_quantiles(&grid, 0.5), 0.125);
        assert_eq!(cdf_from_quantiles(&grid, 1.0), 0.25);
        // at the atom the CDF is the top of its run
        assert_eq!(cdf_from_quantiles(&grid, 2.0), 0.75);
        assert_eq!(cdf_from_quantiles(&grid, 2.5), 0.875);
        assert_eq!(cdf_from_quantiles(&grid, 3.0), 1.0);
        assert!(cdf_from_quantiles(&grid[..1], 0.0).is_nan());
        assert!(cdf_from_quantiles(&grid, f64::NAN).is_nan());
    }

    #[test]
    fn several_quantiles_by_selection_equal_one_at_a_time() {
        let mut state = 7u64;
        for n in [1usize, 2, 3, 10, 101, 1000] {
            let xs: Vec<f64> = (0..n)
                .map(|_| {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((state >> 33) % 50) as f64 // with ties
                })
                .collect();
            let ps = [0.05, 0.1, 0.25, 0.5, 0.5, 0.75, 0.9, 0.95, 0.0, 1.0];
            let got = quantiles_by_selection(&mut xs.clone(), ps);
            for (p, g) in ps.iter().zip(got) {
                let one = quantile_by_selection(&mut xs.clone(), *p);
                assert_eq!(g.to_bits(), one.to_bits(), "n {n} p {p}");
            }
        }
    }

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
