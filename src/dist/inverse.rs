//! Inverse CDFs of the gamma and beta laws, for [`Dist::quantile`](super::Dist::quantile).
//!
//! statrs' gamma `inverse_cdf` brackets by doubling and halving before its
//! Newton steps (tens of CDF evaluations), too slow for a per-trial copula;
//! here a safeguarded Halley iteration (Newton's with the second
//! derivative, which costs nothing more: cubic convergence) on statrs'
//! regularised incomplete gamma and beta functions starts from a close
//! approximation and keeps a bracket, falling back to bisection (or to
//! expanding the bracket) when a step would leave it or is not finite.
//!
//! Each tail is solved on its own side, so neither loses the digits of a
//! small probability: the lower half (`p ≤ 1/2`) from `P(x) = p`, the upper
//! half from `Q(x) = q` with `q = 1 − p` (for the beta, as the lower half
//! of the mirrored `Beta(β, α)`). The equations are solved in the variable
//! where they are nearly linear: `ln P` against `ln x` in the lower tail
//! (`P ≈ x^a/Γ(a+1)` there; `ln x` is also log-concave in law, so `ln P` is
//! concave and Newton's steps from below never overshoot), `ln Q` against
//! `x` in the gamma's upper tail (`ln Q ≈ −x + (a − 1)·ln x + c`). The
//! iteration stops after a Halley step below 1e-7 relative (or a
//! safeguarded step below 1e-11), the error left being of the order of the
//! step's cube (square), far below the rounding; so the accuracy
//! is the CDF's (about 1e-14 relative for statrs' series and continued
//! fractions, a little less for large shapes, whose prefix `a·ln x − x −
//! ln Γ(a)` is formed from terms of size `a·ln a`).
//!
//! Starting points: for the gamma, the larger of the Wilson–Hilferty
//! approximation `a·(1 − 1/(9a) + z/(3√a))³` and the lower bound
//! `(p·Γ(a+1))^(1/a)` in the lower tail; in the upper tail Wilson–Hilferty
//! for `a ≥ 1` and, for `a < 1`, the upper bound solving
//! `x^(a−1)·e^(−x)/Γ(a) = q` (far tail) or the lower bound from `p`. For
//! the beta, Carter's approximation for `α, β ≥ 1` and otherwise the
//! two-piece power approximation of Numerical Recipes' `invbetai`.

use statrs::function::beta::{checked_beta_reg, checked_ln_beta};
use statrs::function::gamma::{checked_gamma_lr, checked_gamma_ur, ln_gamma};

use super::normal::standard_normal_quantile;

/// Stop after a Halley step smaller than this (relative): the error left
/// is of the order of its cube.
const TOL_HALLEY: f64 = 1e-7;
/// Stop when a (safeguarded) Newton step is smaller than this: the error
/// left is of the order of its square.
const TOL_NEWTON: f64 = 1e-11;
/// Iteration cap (bisection from a wide bracket included).
const MAX_ITER: usize = 120;
/// `ln(f64::MIN_POSITIVE)`: a quantile below this (in logs) is returned
/// from its small-`x` power law, which is exact there.
const LN_TINY: f64 = -708.396_418_532_264_1;

/// Solve `g(y) = 0` for an increasing `g` whose root lies in `(lo, hi)`
/// (either end may be infinite), from `y`, by Halley's method;
/// `f(y)` returns `(g, r, c)` with `g'(y) = r` and `g''(y) = r·c`.
/// `relative`: the tolerance is relative to `|y|` (else absolute, for a
/// logarithmic variable). NaN if `g` is NaN.
///
/// Safeguards: a step whose Halley correction factor leaves [1/2, 2] is
/// clamped to it (then only Newton-like, with the stricter stop), and a
/// step leaving the bracket kept from the signs of `g` is replaced by
/// bisection (or by expanding an infinite side).
fn halley(
    mut y: f64,
    mut lo: f64,
    mut hi: f64,
    relative: bool,
    f: impl Fn(f64) -> (f64, f64, f64),
) -> f64 {
    let scale = |y: f64| if relative { y.abs() } else { 1.0 };
    for _ in 0..MAX_ITER {
        let (g, r, c) = f(y);
        if g.is_nan() {
            return f64::NAN;
        }
        if g == 0.0 {
            return y;
        }
        if g < 0.0 {
            lo = y;
        } else {
            hi = y;
        }
        let newton = g / r;
        let factor = 1.0 - 0.5 * newton * c;
        let (step, tol) = if (0.5..=2.0).contains(&factor) {
            (newton / factor, TOL_HALLEY)
        } else {
            (newton / factor.clamp(0.5, 2.0), TOL_NEWTON)
        };
        let next = y - step;
        if step.abs() <= tol * scale(y) {
            return if next >= lo && next <= hi { next } else { y };
        }
        y = if next > lo && next < hi {
            next
        } else {
            match (lo.is_finite(), hi.is_finite()) {
                (true, true) => 0.5 * (lo + hi),
                (true, false) => lo + 1.0 + lo.abs(),
                (false, true) => hi - 1.0 - hi.abs(),
                (false, false) => return f64::NAN,
            }
        };
        if hi - lo <= 4.0 * f64::EPSILON * scale(y) {
            break;
        }
    }
    y
}

/// `P(a, x)`, the regularised lower incomplete gamma function, for any
/// `x` (0 below the support, 1 at +∞); NaN if statrs refuses.
pub(super) fn gamma_p(a: f64, x: f64) -> f64 {
    if !(x > 0.0) {
        return if x.is_nan() { f64::NAN } else { 0.0 };
    }
    if x == f64::INFINITY {
        return 1.0;
    }
    checked_gamma_lr(a, x).unwrap_or(f64::NAN)
}

/// `Q(a, x) = 1 − P(a, x)`, accurate in the upper tail.
pub(super) fn gamma_q(a: f64, x: f64) -> f64 {
    if !(x > 0.0) {
        return if x.is_nan() { f64::NAN } else { 1.0 };
    }
    if x == f64::INFINITY {
        return 0.0;
    }
    checked_gamma_ur(a, x).unwrap_or(f64::NAN)
}

/// `I_x(a, b)`, the regularised incomplete beta function, for any `x`.
pub(super) fn beta_i(a: f64, b: f64, x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    checked_beta_reg(a, b, x).unwrap_or(f64::NAN)
}

/// The quantile of Gamma(`a`, 1) at lower-tail probability `p` with
/// `q = 1 − p` (the smaller carries the accuracy), `p, q ∈ (0, 1)`.
pub(super) fn gamma_quantile(a: f64, p: f64, q: f64) -> f64 {
    let lg = ln_gamma(a);
    let wilson_hilferty = |z: f64| {
        let c = 1.0 - 1.0 / (9.0 * a) + z / (3.0 * a.sqrt());
        if c > 0.0 { a * c * c * c } else { 0.0 }
    };
    // P(x) ≤ x^a/Γ(a+1): this x has P(x) ≤ p, a lower bound of the root
    // (and the root itself to a relative x/(a+1) when x is small)
    let ln_lower_bound = |p: f64| (p.ln() + ln_gamma(a + 1.0)) / a;
    let lower_bound = |p: f64| ln_lower_bound(p).exp();
    if p <= 0.5 {
        let ln_x = ln_lower_bound(p);
        if ln_x < LN_TINY {
            // below the normal numbers: the power law is exact to rounding
            return ln_x.exp();
        }
        let x0 = wilson_hilferty(standard_normal_quantile(p)).max(ln_x.exp());
        let ln_p = p.ln();
        let y = halley(x0.ln(), f64::NEG_INFINITY, f64::INFINITY, false, |y| {
            let x = y.exp();
            let ln_cdf = gamma_p(a, x).ln();
            // d ln P / d ln x = r = x·f(x)/P, and dr/dy = r·(a − x − r)
            let r = (a * y - x - lg - ln_cdf).exp();
            (ln_cdf - ln_p, r, a - x - r)
        });
        y.exp()
    } else {
        // the lower bound from p holds here too
        let floor = lower_bound(p);
        let c = -q.ln() - lg;
        let mut x0 = if a >= 1.0 {
            wilson_hilferty(-standard_normal_quantile(q))
        } else if c > 1.0 {
            // Q(x) ≤ x^(a−1)·e^(−x)/Γ(a) for a < 1: solving that for q
            // (x = c + (a − 1)·ln x, contracting for x > 1) gives an upper
            // bound of the root, close to it in the far tail
            let mut x = c;
            for _ in 0..3 {
                x = c + (a - 1.0) * x.ln().max(0.0);
            }
            x
        } else {
            floor
        };
        x0 = x0.max(floor);
        if !(x0 > 0.0 && x0.is_finite()) {
            x0 = a.max(1.0);
        }
        let ln_q = q.ln();
        halley(x0, 0.0, f64::INFINITY, true, |x| {
            let ln_sf = gamma_q(a, x).ln();
            // d(−ln Q)/dx = r = f(x)/Q, and dr/dx = r·((a − 1)/x − 1 + r)
            let r = ((a - 1.0) * x.ln() - x - lg - ln_sf).exp();
            (ln_q - ln_sf, r, (a - 1.0) / x - 1.0 + r)
        })
    }
}

/// The quantile of Beta(`a`, `b`) at a lower-tail probability `p ≤ 1/2`
/// (for the upper half, mirror: `1 − beta_lower_quantile(b, a, 1 − p)`,
/// best computed as `max − range·y`).
pub(super) fn beta_lower_quantile(a: f64, b: f64, p: f64) -> f64 {
    let Ok(ln_b) = checked_ln_beta(a, b) else {
        return f64::NAN;
    };
    // I_x ≈ x^a/(a·B(a, b)) for small x, to a relative O(x)
    let ln_x = (p.ln() + a.ln() + ln_b) / a;
    if ln_x < LN_TINY {
        return ln_x.exp();
    }
    let x0 = if a >= 1.0 && b >= 1.0 {
        // Carter (1947), as in AS 109 and Numerical Recipes' invbetai
        let x = -standard_normal_quantile(p);
        let al = (x * x - 3.0) / 6.0;
        let h = 2.0 / (1.0 / (2.0 * a - 1.0) + 1.0 / (2.0 * b - 1.0));
        let w = x * (al + h).sqrt() / h
            - (1.0 / (2.0 * b - 1.0) - 1.0 / (2.0 * a - 1.0)) * (al + 5.0 / 6.0 - 2.0 / (3.0 * h));
        a / (a + b * (2.0 * w).exp())
    } else {
        let t = (a * (a / (a + b)).ln()).exp() / a;
        let u = (b * (b / (a + b)).ln()).exp() / b;
        let w = t + u;
        if p < t / w {
            (a * w * p).powf(1.0 / a)
        } else {
            1.0 - (b * w * (1.0 - p)).powf(1.0 / b)
        }
    };
    let x0 = if x0 > 0.0 && x0 < 1.0 {
        x0
    } else if x0 >= 1.0 {
        1.0 - f64::EPSILON
    } else {
        ln_x.exp().max(f64::MIN_POSITIVE)
    };
    let ln_p = p.ln();
    let y = halley(x0.ln(), f64::NEG_INFINITY, 0.0, false, |y| {
        let x = y.exp();
        let ln_cdf = beta_i(a, b, x).ln();
        // d ln I / d ln x = r = x·f(x)/I, and dr/dy = r·(a − (b − 1)·x/(1 − x) − r)
        let r = (a * y + (b - 1.0) * (-x).ln_1p() - ln_b - ln_cdf).exp();
        (ln_cdf - ln_p, r, a - (b - 1.0) * x / (1.0 - x) - r)
    });
    y.exp()
}
