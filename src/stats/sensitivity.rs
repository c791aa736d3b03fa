//! Estimators of sensitivity and of the value of information, on paired
//! per-trial samples: ranks and Spearman's rank correlation, a restricted
//! cubic spline regression of an output on one input (its fitted values
//! are the estimate of `E[output | input]`), the share of variance an
//! input explains (the first-order index, from that regression), the
//! conditional means of the output in the input's lowest and highest
//! decile, and the expected value of perfect (EVPI) and partial perfect
//! information (EVPPI).
//!
//! EVPPI follows Strong & Oakley's regression method (Strong, Oakley and
//! Brennan, Medical Decision Making 34(3), 2014): regress each option's
//! net benefit against the baseline's on the input, then
//! `EVPPI = mean_i max(0, max_s ĝ_s(θ_i)) − max(0, max_s mean(ĝ_s))`.
//! The smoother here is a restricted (natural) cubic spline with knots at
//! the input's 5%, 27.5%, 50%, 72.5% and 95% quantiles (Harrell's
//! placement), linear beyond the outer knots: five coefficients, so the
//! upward bias that noise adds to the maxima is of order `σ·√(5/N)`
//! rather than a binning estimator's `σ·√(K/N)`, and a linear relation is
//! fitted exactly. Pure functions of slices, no scenario knowledge.

/// Ranks from 1 to `n`, ties sharing their average rank.
pub fn ranks(xs: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..xs.len()).collect();
    order.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let mut out = vec![0.0; xs.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && xs[order[j]] == xs[order[i]] {
            j += 1;
        }
        // positions i..j (0-based) share the average of ranks i+1..=j
        let r = (i + j + 1) as f64 / 2.0;
        for &k in &order[i..j] {
            out[k] = r;
        }
        i = j;
    }
    out
}

/// Pearson's correlation (0 when either sample is constant).
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    if n < 2 {
        return 0.0;
    }
    let (ma, mb) = (mean(&a[..n]), mean(&b[..n]));
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (dx, dy) = (x - ma, y - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    if saa > 0.0 && sbb > 0.0 {
        (sab / (saa * sbb).sqrt()).clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

/// Spearman's rank correlation: Pearson's on the ranks (average ranks
/// for ties).
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    pearson(&ranks(x), &ranks(y))
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Knot levels of the restricted cubic spline (Harrell, 5 knots).
pub const KNOTS: [f64; 5] = [0.05, 0.275, 0.5, 0.725, 0.95];

/// A regression of an output on one input.
#[derive(Debug, Clone)]
pub struct Smooth {
    /// `ĝ(x_i)` for every trial, in trial order.
    pub fitted: Vec<f64>,
    /// Adjusted R² (may be slightly negative for an input that explains
    /// nothing).
    pub r2_adjusted: f64,
    /// Coefficients fitted besides the intercept.
    pub terms: usize,
}

/// Regress `y` on a restricted cubic spline of `x` ([`KNOTS`]); when `x`
/// has fewer than three distinct knots, on `x` alone; when `x` is
/// constant, on nothing (the fit is the mean).
pub fn smooth(x: &[f64], y: &[f64]) -> Smooth {
    let n = x.len().min(y.len());
    let my = mean(&y[..n]);
    let constant = Smooth {
        fitted: vec![my; n],
        r2_adjusted: 0.0,
        terms: 0,
    };
    if n < 10 {
        return constant;
    }
    let mut sorted = x[..n].to_vec();
    sorted.sort_by(f64::total_cmp);
    let (lo, hi) = (sorted[0], sorted[n - 1]);
    if !(hi > lo) {
        return constant;
    }
    let mut knots: Vec<f64> = KNOTS
        .iter()
        .map(|&p| crate::stats::quantile_sorted(&sorted, p))
        .collect();
    knots.dedup();
    // standardise so the cubes stay well scaled
    let (mx, sx) = {
        let m = mean(&x[..n]);
        let v = x[..n].iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n as f64;
        (m, v.sqrt().max(f64::MIN_POSITIVE))
    };
    let z = |v: f64| (v - mx) / sx;
    let t: Vec<f64> = knots.iter().map(|&k| z(k)).collect();
    let basis = |v: f64, row: &mut Vec<f64>| {
        row.clear();
        let u = z(v);
        row.push(u);
        let k = t.len();
        if k >= 3 {
            let (tk, tk1, t1) = (t[k - 1], t[k - 2], t[0]);
            let scale = (tk - t1) * (tk - t1);
            let cube = |a: f64| if a > 0.0 { a * a * a } else { 0.0 };
            for &tj in &t[..k - 2] {
                let c = cube(u - tj) - cube(u - tk1) * (tk - tj) / (tk - tk1)
                    + cube(u - tk) * (tk1 - tj) / (tk - tk1);
                row.push(c / scale);
            }
        }
    };
    let mut row = Vec::with_capacity(5);
    basis(x[0], &mut row);
    let p = row.len();
    // column means, then the centred normal equations
    let mut means = vec![0.0; p];
    for &v in &x[..n] {
        basis(v, &mut row);
        for (m, r) in means.iter_mut().zip(&row) {
            *m += r;
        }
    }
    for m in &mut means {
        *m /= n as f64;
    }
    let mut xtx = vec![0.0; p * p];
    let mut xty = vec![0.0; p];
    for (&v, &w) in x[..n].iter().zip(&y[..n]) {
        basis(v, &mut row);
        for r in 0..p {
            let a = row[r] - means[r];
            xty[r] += a * (w - my);
            for c in 0..=r {
                xtx[r * p + c] += a * (row[c] - means[c]);
            }
        }
    }
    let Some(beta) = solve_spd(&mut xtx, &xty, p) else {
        return constant;
    };
    let mut fitted = Vec::with_capacity(n);
    let (mut sse, mut sst) = (0.0, 0.0);
    for (&v, &w) in x[..n].iter().zip(&y[..n]) {
        basis(v, &mut row);
        let g = my
            + row
                .iter()
                .zip(&means)
                .zip(&beta)
                .map(|((r, m), b)| (r - m) * b)
                .sum::<f64>();
        sse += (w - g) * (w - g);
        sst += (w - my) * (w - my);
        fitted.push(g);
    }
    let terms = beta.iter().filter(|b| **b != 0.0).count();
    let r2_adjusted = if sst > 0.0 && n > terms + 1 {
        1.0 - (sse / (n - terms - 1) as f64) / (sst / (n - 1) as f64)
    } else {
        0.0
    };
    Smooth {
        fitted,
        r2_adjusted,
        terms,
    }
}

/// Solve `A β = b` for a symmetric positive semi-definite `A` (lower
/// triangle filled, row-major `p × p`) by Cholesky, dropping a column
/// whose pivot is negligible (a basis term collinear with earlier ones
/// gets coefficient 0). `None` when nothing is left.
fn solve_spd(a: &mut [f64], b: &[f64], p: usize) -> Option<Vec<f64>> {
    let diag_max = (0..p).map(|i| a[i * p + i]).fold(0.0, f64::max);
    if !(diag_max > 0.0) {
        return None;
    }
    let tiny = diag_max * 1e-12;
    let mut l = vec![0.0; p * p];
    let mut keep = vec![true; p];
    for j in 0..p {
        let mut d = a[j * p + j];
        for k in 0..j {
            d -= l[j * p + k] * l[j * p + k];
        }
        if !(d > tiny) {
            keep[j] = false;
            continue;
        }
        let d = d.sqrt();
        l[j * p + j] = d;
        for i in j + 1..p {
            let mut s = a[i * p + j];
            for k in 0..j {
                s -= l[i * p + k] * l[j * p + k];
            }
            l[i * p + j] = s / d;
        }
    }
    if !keep.iter().any(|k| *k) {
        return None;
    }
    // forward then back substitution over the kept columns
    let mut z = vec![0.0; p];
    for i in (0..p).filter(|&i| keep[i]) {
        let mut s = b[i];
        for k in (0..i).filter(|&k| keep[k]) {
            s -= l[i * p + k] * z[k];
        }
        z[i] = s / l[i * p + i];
    }
    let mut beta = vec![0.0; p];
    for i in (0..p).rev().filter(|&i| keep[i]) {
        let mut s = z[i];
        for k in (i + 1..p).filter(|&k| keep[k]) {
            s -= l[k * p + i] * beta[k];
        }
        beta[i] = s / l[i * p + i];
    }
    Some(beta)
}

/// Means of `y` over the trials whose `x` is in its lowest and in its
/// highest decile (by rank: the first and last `n / 10` trials when
/// sorted by `x`, ties in trial order).
pub fn decile_means(x: &[f64], y: &[f64]) -> (f64, f64) {
    let n = x.len().min(y.len());
    let k = (n / 10).max(1).min(n);
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let avg = |idx: &[usize]| idx.iter().map(|&i| y[i]).sum::<f64>() / idx.len() as f64;
    (avg(&order[..k]), avg(&order[n - k..]))
}

/// The expected value of perfect information from paired trials.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evpi {
    pub value: f64,
    /// Its standard error (that of a mean over trials).
    pub se: f64,
    /// The option chosen without information: the one with the best
    /// positive mean advantage, `None` for the baseline.
    pub chosen: Option<usize>,
}

/// EVPI from paired trials: `d[s][i]` is option `s`'s net benefit over the
/// baseline's in trial `i` (in the direction where more is better), so
/// `EVPI = mean_i max(0, max_s d[s][i]) − max(0, max_s mean(d[s]))`.
pub fn evpi(d: &[&[f64]]) -> Evpi {
    let n = d.iter().map(|s| s.len()).min().unwrap_or(0);
    if n == 0 {
        return Evpi {
            value: 0.0,
            se: 0.0,
            chosen: None,
        };
    }
    let means: Vec<f64> = d.iter().map(|s| mean(&s[..n])).collect();
    let chosen = means
        .iter()
        .enumerate()
        .filter(|(_, m)| **m > 0.0)
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(s, _)| s);
    let mut sum = 0.0;
    let mut sum2 = 0.0;
    for i in 0..n {
        let best = d.iter().map(|s| s[i]).fold(0.0, f64::max);
        let now = chosen.map_or(0.0, |s| d[s][i]);
        let regret = best - now;
        sum += regret;
        sum2 += regret * regret;
    }
    let m = sum / n as f64;
    let var = if n > 1 {
        ((sum2 - sum * m) / (n - 1) as f64).max(0.0)
    } else {
        0.0
    };
    Evpi {
        value: m,
        se: (var / n as f64).sqrt(),
        chosen,
    }
}

/// EVPPI from the fitted conditional means `g[s][i]` of each option's net
/// benefit over the baseline's ([`smooth`] of `d[s]` on the input):
/// `mean_i max(0, max_s g[s][i]) − max(0, max_s mean(g[s]))`, never below 0.
pub fn evppi(g: &[&[f64]]) -> f64 {
    let n = g.iter().map(|s| s.len()).min().unwrap_or(0);
    if n == 0 {
        return 0.0;
    }
    let best_mean = g.iter().map(|s| mean(&s[..n])).fold(0.0, f64::max);
    let informed = (0..n)
        .map(|i| g.iter().map(|s| s[i]).fold(0.0, f64::max))
        .sum::<f64>()
        / n as f64;
    (informed - best_mean).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_average_ties() {
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), [3.5, 1.0, 3.5, 2.0]);
    }

    #[test]
    fn spearman_of_a_monotone_map_is_one() {
        let x: Vec<f64> = (0..50).map(|i| i as f64 * 0.37).collect();
        let y: Vec<f64> = x.iter().map(|v| v.exp()).collect();
        assert!((spearman(&x, &y) - 1.0).abs() < 1e-12);
        let z: Vec<f64> = x.iter().map(|v| -v * v * v).collect();
        assert!((spearman(&x, &z) + 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_linear_relation_is_fitted_exactly() {
        let x: Vec<f64> = (0..200).map(|i| ((i * 37) % 200) as f64 / 7.0).collect();
        let y: Vec<f64> = x.iter().map(|v| 3.0 - 2.0 * v).collect();
        let s = smooth(&x, &y);
        for (f, w) in s.fitted.iter().zip(&y) {
            assert!((f - w).abs() < 1e-9, "{f} vs {w}");
        }
        assert!((s.r2_adjusted - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_smooth_curve_is_fitted_closely() {
        let x: Vec<f64> = (0..2000).map(|i| i as f64 / 2000.0).collect();
        let y: Vec<f64> = x.iter().map(|v| (3.0 * v).sin()).collect();
        let s = smooth(&x, &y);
        let worst = s
            .fitted
            .iter()
            .zip(&y)
            .map(|(f, w)| (f - w).abs())
            .fold(0.0, f64::max);
        // linear beyond the outer knots: the ends of a curved response
        // carry most of the error
        assert!(worst < 0.02, "{worst}");
        let typical = s
            .fitted
            .iter()
            .zip(&y)
            .map(|(f, w)| (f - w).abs())
            .sum::<f64>()
            / 2000.0;
        assert!(typical < 0.003, "{typical}");
    }

    #[test]
    fn constant_inputs_fit_the_mean() {
        let s = smooth(&[1.0; 50], &(0..50).map(f64::from).collect::<Vec<_>>());
        assert!(s.fitted.iter().all(|f| (f - 24.5).abs() < 1e-12));
        assert_eq!(s.terms, 0);
    }

    #[test]
    fn evpi_of_a_sure_decision_is_zero_and_of_a_coin_flip_positive() {
        let sure = [1.0, 2.0, 3.0];
        assert_eq!(evpi(&[&sure]).value, 0.0);
        assert_eq!(evpi(&[&sure]).chosen, Some(0));
        let flip = [1.0, -1.0, 1.0, -1.0];
        // mean 0: choosing either is worth 0; knowing is worth mean(max(0, d)) = 0.5
        assert!((evpi(&[&flip]).value - 0.5).abs() < 1e-12);
        assert_eq!(evpi(&[&flip]).chosen, None);
        assert!((evppi(&[&flip]) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn decile_means_split_by_rank() {
        let x: Vec<f64> = (0..100).map(f64::from).collect();
        let (lo, hi) = decile_means(&x, &x);
        assert!((lo - 4.5).abs() < 1e-12 && (hi - 94.5).abs() < 1e-12);
    }
}
