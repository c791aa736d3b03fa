//! Fitting distribution parameters to what a user knows: quantiles.
//!
//! The grammar's quantile forms (`lognormal(median=, p90=)`, `"A to B"` as
//! a 90% interval) use these; calibration from CRM data will add fits from
//! observed counts and amounts here.

use statrs::function::beta::beta_reg;

use super::{DistError, err};

/// z such that Φ(z) = 0.90.
pub(super) const Z90: f64 = 1.281_551_565_544_600_4;
/// z such that Φ(z) = 0.95.
pub(super) const Z95: f64 = 1.644_853_626_951_472_2;

/// Find Beta(alpha, beta) with P5 = `a` and P95 = `b` (0 < a < b < 1).
///
/// For a fixed concentration `n = alpha + beta`, the P5 rises with the mean,
/// so an inner bisection pins P5 = `a`; with P5 pinned, the P95 falls as `n`
/// grows, so an outer bisection on `ln n` pins P95 = `b`.
pub fn fit_beta_90(a: f64, b: f64) -> Result<(f64, f64), DistError> {
    // mean such that Beta(mean·n, (1−mean)·n) has CDF(a) = 0.05
    let mean_for = |n: f64| -> f64 {
        let (mut lo, mut hi) = (1e-12_f64, 1.0 - 1e-12);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            let cdf = beta_reg(mid * n, (1.0 - mid) * n, a);
            if cdf > 0.05 {
                lo = mid; // too much mass below a: move the mean up
            } else {
                hi = mid;
            }
            if hi - lo < 1e-15 {
                break;
            }
        }
        0.5 * (lo + hi)
    };
    let (mut lo, mut hi) = ((1e-3_f64).ln(), (1e9_f64).ln());
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        let n = mid.exp();
        let m = mean_for(n);
        let cdf_b = beta_reg(m * n, (1.0 - m) * n, b);
        if cdf_b < 0.95 {
            lo = mid; // P95 above b: too wide, concentrate more
        } else {
            hi = mid;
        }
        if hi - lo < 1e-13 {
            break;
        }
    }
    let n = (0.5 * (lo + hi)).exp();
    let m = mean_for(n);
    let (alpha, beta_) = (m * n, (1.0 - m) * n);
    let p5 = beta_reg(alpha, beta_, a);
    let p95 = beta_reg(alpha, beta_, b);
    if (p5 - 0.05).abs() > 1e-6 || (p95 - 0.95).abs() > 1e-6 {
        return err(format!(
            "cannot fit a beta distribution with P5 = {a} and P95 = {b}; give beta(alpha=, beta=) instead"
        ));
    }
    Ok((alpha, beta_))
}
