//! The normal distribution truncated to a parameter's domain, and the
//! standard normal quantile.
//!
//! A `normal(mean=, sd=)` is the law of `X ~ N(mean, sd²)` conditioned on
//! the domain's interval `(lo, hi)` (MODEL.md, "Distributions"). In
//! standard units the interval is `(a, b)` with `a = (lo − mean)/sd`,
//! `b = (hi − mean)/sd`, and the mass inside is `M = Φ(b) − Φ(a)` (the
//! grammar requires `M ≥ 1/2`). [`NormalWindow`] holds `a`, `b`, `Φ` at
//! both ends and their complements, and `M`, computed once.
//!
//! # Sampling
//!
//! One draw `z` of the ziggurat normal; if `x = mean + sd·z` is strictly
//! inside `(lo, hi)` it is the draw; otherwise one uniform `u` is drawn and
//! the draw is the inverse of the truncated CDF at `u`,
//! `mean + sd·Φ⁻¹(Φ(a) + u·M)` ([`NormalWindow::quantile`]). This is exactly
//! the truncated law: for any set `A` inside the interval,
//! `P(draw ∈ A) = P(X ∈ A) + P(X ∉ (lo, hi))·P(T ∈ A)` where `T` is the
//! truncated law, and `P(X ∈ A) = M·P(T ∈ A)`, so the sum is
//! `(M + 1 − M)·P(T ∈ A) = P(T ∈ A)`. There is no loop: at most one normal
//! and one uniform per draw, the second needed with probability `1 − M ≤ 1/2`.
//! (Acceptance is decided on the rounded `x`, so the two branches' split
//! differs from the exact one only on sets of probability of the order of
//! the rounding, about 1e-16.)
//!
//! Closed ends (a probability's 0 and 1, an amount's 0) are treated as
//! open: the result is always strictly inside `(lo, hi)`, which changes
//! nothing in law (a single point has probability 0) and keeps every
//! domain's open ends (a positive quantity's 0, a rate's ±1) out. When
//! rounding puts the inverse on or beyond an end, the next representable
//! number inside is returned instead (within one ulp of the end).
//!
//! # Accuracy of the inverse
//!
//! The probability `Φ(a) + u·M` is formed on the side of the nearer end
//! (lower: `Φ(a) + u·M`; upper: by reflection, `Φ(−b) + (1 − u)·M`), where
//! it is a tail probability of at most about 1/2 with full relative
//! accuracy, and inverted by [`standard_normal_quantile`] (AS 241, about
//! 1e-16). Close to a finite end, `Φ(a) + u·M` would lose the digits of
//! `u·M` below the rounding of `Φ(a)`, and `mean + sd·z` would cancel;
//! there the offset `t` from the end is solved directly from
//! `Φ(a + t) − Φ(a) = u·M` by Newton's method, the difference computed by
//! Gauss–Legendre quadrature of the density ([`normal_mass_above`]), and
//! the draw is `lo + sd·t`: the inverse keeps a relative accuracy of about
//! 1e-13 in the distance to the end, down to the smallest `u` (measured
//! against 700-digit arithmetic: within 2e-15 relative over u ∈ [1e-300,
//! 1 − 1e-12]).
//!
//! Φ is [`normal_cdf`](super::normal_cdf): fdlibm's `erfc` (below 1 ulp)
//! with the argument `−x/√2` carried in double-double, a few ulps relative
//! over the whole line. (statrs' `erfc` is not used: its offsets from
//! Boost's `float` constants are rounded to `f64` decimals, leaving relative
//! errors near 1e-10.)

use super::normal_cdf;

/// `1/√(2π)`.
const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// The standard normal density.
#[inline]
pub(super) fn std_pdf(x: f64) -> f64 {
    FRAC_1_SQRT_2PI * (-0.5 * x * x).exp()
}

/// Φ⁻¹(p), the standard normal quantile, by Wichura's algorithm AS 241
/// (PPND16, Applied Statistics 37, 1988), accurate to about 1e-16
/// relative over (0, 1), in the tails as well: for `p` above 1/2 it works
/// with `1 − p` (exact there), so `−standard_normal_quantile(q)` is the
/// better upper-tail quantile when `q = 1 − p` is known.
///
/// Returns `−∞` for `p ≤ 0`, `+∞` for `p ≥ 1` and NaN for NaN.
#[allow(clippy::excessive_precision)] // the published coefficients
pub fn standard_normal_quantile(p: f64) -> f64 {
    if p.is_nan() {
        return f64::NAN;
    }
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q
            * (((((((r * 2509.0809287301226727 + 33430.575583588128105) * r
                + 67265.770927008700853)
                * r
                + 45921.953931549871457)
                * r
                + 13731.693765509461125)
                * r
                + 1971.5909503065514427)
                * r
                + 133.14166789178437745)
                * r
                + 3.387132872796366608)
            / (((((((r * 5226.495278852854561 + 28729.085735721942674) * r
                + 39307.89580009271061)
                * r
                + 21213.794301586595867)
                * r
                + 5394.1960214247511077)
                * r
                + 687.1870074920579083)
                * r
                + 42.313330701600911252)
                * r
                + 1.0);
    }
    // the smaller tail probability: p itself, or 1 − p (exact for p > 1/2)
    let tail = if q < 0.0 { p } else { 1.0 - p };
    let mut r = (-tail.ln()).sqrt();
    let val = if r <= 5.0 {
        r -= 1.6;
        (((((((r * 7.7454501427834140764e-4 + 0.0227238449892691845833) * r
            + 0.24178072517745061177)
            * r
            + 1.27045825245236838258)
            * r
            + 3.64784832476320460504)
            * r
            + 5.7694972214606914055)
            * r
            + 4.6303378461565452959)
            * r
            + 1.42343711074968357734)
            / (((((((r * 1.05075007164441684324e-9 + 5.475938084995344946e-4) * r
                + 0.0151986665636164571966)
                * r
                + 0.14810397642748007459)
                * r
                + 0.68976733498510000455)
                * r
                + 1.6763848301838038494)
                * r
                + 2.05319162663775882187)
                * r
                + 1.0)
    } else {
        r -= 5.0;
        (((((((r * 2.01033439929228813265e-7 + 2.71155556874348757815e-5) * r
            + 0.0012426609473880784386)
            * r
            + 0.026532189526576123093)
            * r
            + 0.29656057182850489123)
            * r
            + 1.7848265399172913358)
            * r
            + 5.4637849111641143699)
            * r
            + 6.6579046435011037772)
            / (((((((r * 2.04426310338993978564e-15 + 1.4215117583164458887e-7) * r
                + 1.8463183175100546818e-5)
                * r
                + 7.868691311456132591e-4)
                * r
                + 0.0148753612908506148525)
                * r
                + 0.13692988092273580531)
                * r
                + 0.59983220655588793769)
                * r
                + 1.0)
    };
    if q < 0.0 { -val } else { val }
}

/// An `f64` constant from its bits (fdlibm lists its coefficients so).
const fn c(bits: u64) -> f64 {
    f64::from_bits(bits)
}

const ERX: f64 = c(0x3FEB0AC160000000);
// erfc on [0, 0.84375): 1 − x − x·P(x²)/Q(x²)
const PP: [f64; 5] = [
    c(0x3FC06EBA8214DB68),
    c(0xBFD4CD7D691CB913),
    c(0xBF9D2A51DBD7194F),
    c(0xBF77A291236668E4),
    c(0xBEF8EAD6120016AC),
];
const QQ: [f64; 5] = [
    c(0x3FD97779CDDADC09),
    c(0x3FB0A54C5536CEBA),
    c(0x3F74D022C4D36B0F),
    c(0x3F215DC9221C1A10),
    c(0xBED09C4342A26120),
];
// [0.84375, 1.25): 1 − erx − P(x − 1)/Q(x − 1)
const PA: [f64; 7] = [
    c(0xBF6359B8BEF77538),
    c(0x3FDA8D00AD92B34D),
    c(0xBFD7D240FBB8C3F1),
    c(0x3FD45FCA805120E4),
    c(0xBFBC63983D3E28EC),
    c(0x3FA22A36599795EB),
    c(0xBF61BF380A96073F),
];
const QA: [f64; 6] = [
    c(0x3FBB3E6618EEE323),
    c(0x3FE14AF092EB6F33),
    c(0x3FB2635CD99FE9A7),
    c(0x3FC02660E763351F),
    c(0x3F8BEDC26B51DD1C),
    c(0x3F888B545735151D),
];
// [1.25, 1/0.35): exp(−x² − 0.5625 + R(1/x²)/S(1/x²))/x
const RA: [f64; 8] = [
    c(0xBF843412600D6435),
    c(0xBFE63416E4BA7360),
    c(0xC0251E0441B0E726),
    c(0xC04F300AE4CBA38D),
    c(0xC0644CB184282266),
    c(0xC067135CEBCCABB2),
    c(0xC054526557E4D2F2),
    c(0xC023A0EFC69AC25C),
];
const SA: [f64; 8] = [
    c(0x4033A6B9BD707687),
    c(0x4061350C526AE721),
    c(0x407B290DD58A1A71),
    c(0x40842B1921EC2868),
    c(0x407AD02157700314),
    c(0x405B28A3EE48AE2C),
    c(0x401A47EF8E484A93),
    c(0xBFAEEFF2EE749A62),
];
// [1/0.35, 28): the same form
const RB: [f64; 7] = [
    c(0xBF84341239E86F4A),
    c(0xBFE993BA70C285DE),
    c(0xC031C209555F995A),
    c(0xC064145D43C5ED98),
    c(0xC083EC881375F228),
    c(0xC09004616A2E5992),
    c(0xC07E384E9BDC383F),
];
const SB: [f64; 7] = [
    c(0x403E568B261D5190),
    c(0x40745CAE221B9F0A),
    c(0x409802EB189D5118),
    c(0x40A8FFB7688C246A),
    c(0x40A3F219CEDF3BE6),
    c(0x407DA874E79FE763),
    c(0xC03670E242712D62),
];

/// `c[0] + c[1]·x + c[2]·x² + …` (Horner).
#[inline(always)]
fn poly(x: f64, c: &[f64]) -> f64 {
    c.iter().rev().fold(0.0, |acc, &k| acc * x + k)
}

/// `1 + x·(c[0] + c[1]·x + …)`.
#[inline(always)]
fn poly1(x: f64, c: &[f64]) -> f64 {
    1.0 + x * poly(x, c)
}

/// The complementary error function, fdlibm's `erfc` (Sun Microsystems,
/// 1993, as in FreeBSD's `s_erf.c`, musl and Go): error below 1 ulp.
///
/// statrs' `erfc` (0.19.1) is used nowhere here: its rational
/// approximations above 0.5 are offsets from Boost's `float` constants
/// written as `f64` decimals, which leaves relative errors of up to about
/// 1e-10 — far above what Φ⁻¹ round trips and truncated-normal tails need.
pub(super) fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let ax = x.abs();
    if ax < 0.84375 {
        if ax < 1.0 / (1u64 << 56) as f64 {
            return 1.0 - x;
        }
        let z = x * x;
        let y = poly(z, &PP) / poly1(z, &QQ);
        return if x < 0.25 {
            1.0 - (x + x * y)
        } else {
            0.5 - (x * y + (x - 0.5))
        };
    }
    if ax < 1.25 {
        let s = ax - 1.0;
        let pq = poly(s, &PA) / poly1(s, &QA);
        return if x >= 0.0 {
            1.0 - ERX - pq
        } else {
            1.0 + (ERX + pq)
        };
    }
    if ax < 28.0 {
        if x < -6.0 {
            return 2.0;
        }
        let s = 1.0 / (ax * ax);
        let (r, q) = if ax < 1.0 / 0.35 {
            (poly(s, &RA), poly1(s, &SA))
        } else {
            (poly(s, &RB), poly1(s, &SB))
        };
        // exp(−x²) as exp(−z²)·exp((z − x)(z + x)) with z = x cut to 20
        // bits, so that −z² is exact
        let z = f64::from_bits(ax.to_bits() & 0xffff_ffff_0000_0000);
        let e = (-z * z - 0.5625).exp() * ((z - ax) * (z + ax) + r / q).exp() / ax;
        return if x >= 0.0 { e } else { 2.0 - e };
    }
    if x > 0.0 { 0.0 } else { 2.0 }
}

/// `1/√2` as a double-double: `FRAC_1_SQRT_2 + FRAC_1_SQRT_2_LO`.
const FRAC_1_SQRT_2_LO: f64 = -4.833_646_656_726_457e-17;

/// Veltkamp's split of `a` into two halves of 26 bits (`|a| < 1e300`).
#[inline(always)]
fn split(a: f64) -> (f64, f64) {
    let c = 134_217_729.0 * a;
    let hi = c - (c - a);
    (hi, a - hi)
}

/// Dekker: the rounding error of `p = a·b`, exactly (`a·b = p + e`).
#[inline(always)]
fn product_error(a: f64, b: f64, p: f64) -> f64 {
    let (ah, al) = split(a);
    let (bh, bl) = split(b);
    ((ah * bh - p) + ah * bl + al * bh) + al * bl
}

/// Φ(x) (see [`normal_cdf`](super::normal_cdf)).
pub(super) fn std_cdf(x: f64) -> f64 {
    let t = -x * std::f64::consts::FRAC_1_SQRT_2;
    if !(x < -1.0 && x > -40.0) {
        return 0.5 * erfc(t);
    }
    // t + d = −x/√2 to about 1e-32; erfc(t + d) = erfc(t)·e^(−2td − d²)
    let d = product_error(-x, std::f64::consts::FRAC_1_SQRT_2, t) + (-x) * FRAC_1_SQRT_2_LO;
    0.5 * erfc(t) * (1.0 - 2.0 * t * d)
}

/// Gauss–Legendre nodes (positive half) and weights, 8 points on [−1, 1].
#[allow(clippy::excessive_precision)]
pub(super) const GL8: [(f64, f64); 4] = [
    (0.183_434_642_495_649_804_9, 0.362_683_783_378_361_983_0),
    (0.525_532_409_916_328_985_8, 0.313_706_645_877_887_287_3),
    (0.796_666_477_413_626_739_6, 0.222_381_034_453_374_470_5),
    (0.960_289_856_497_536_231_7, 0.101_228_536_290_376_259_2),
];

/// `Φ(a + h) − Φ(a)` for a finite `a` and `h ≥ 0` (`h` may be `+∞`), to a
/// few ulps relative even when the two terms nearly cancel.
///
/// With `k = max(1, |a|, |a + h|)`: for `h·k ≤ 1` the integral of the
/// density over `[a, a + h]` by 8-point Gauss–Legendre quadrature (the
/// density's 16th derivative over such an interval bounds the error far
/// below 1e-16 relative); otherwise `Φ(a + h)/Φ(a)` (or the upper-tail
/// ratio) is at least about `e`, so the difference of the two tail
/// probabilities loses at most a couple of bits.
pub(super) fn normal_mass_above(a: f64, h: f64) -> f64 {
    if !(h > 0.0) {
        return 0.0;
    }
    let z = a + h;
    let k = a.abs().max(z.abs()).max(1.0);
    if h * k <= 1.0 {
        let (m, r) = (a + 0.5 * h, 0.5 * h);
        let mut s = 0.0;
        for (x, w) in GL8 {
            s += w * (std_pdf(m - r * x) + std_pdf(m + r * x));
        }
        return r * s;
    }
    if z <= 0.0 {
        normal_cdf(z) - normal_cdf(a)
    } else if a >= 0.0 {
        normal_cdf(-a) - normal_cdf(-z)
    } else {
        (0.5 - normal_cdf(a)) + (0.5 - normal_cdf(-z))
    }
}

/// A normal's truncation to `(lo, hi)` in standard units, with the normal
/// CDF at both ends and the mass inside, computed once (see the module
/// documentation). Invariant under scaling, so a scaled normal keeps it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NormalWindow {
    a: f64,
    b: f64,
    /// Φ(a) and Φ(−a).
    cdf_a: f64,
    sf_a: f64,
    /// Φ(b) and Φ(−b).
    cdf_b: f64,
    sf_b: f64,
    /// Φ(b) − Φ(a).
    mass: f64,
}

impl NormalWindow {
    /// The window of `N(mean, sd²)` on `(lo, hi)`, `lo < hi` (either end
    /// may be infinite), `sd > 0`.
    pub(super) fn new(mean: f64, sd: f64, lo: f64, hi: f64) -> NormalWindow {
        let a = (lo - mean) / sd;
        let b = (hi - mean) / sd;
        let mass = if a.is_finite() {
            normal_mass_above(a, (hi - lo) / sd)
        } else if b.is_finite() {
            normal_cdf(b)
        } else {
            1.0
        };
        NormalWindow {
            a,
            b,
            cdf_a: normal_cdf(a),
            sf_a: normal_cdf(-a),
            cdf_b: normal_cdf(b),
            sf_b: normal_cdf(-b),
            mass,
        }
    }

    /// The lower end in standard units, `(lo − mean)/sd`.
    pub fn a(&self) -> f64 {
        self.a
    }

    /// The upper end in standard units, `(hi − mean)/sd`.
    pub fn b(&self) -> f64 {
        self.b
    }

    /// The normal's mass inside the window, `Φ(b) − Φ(a)`.
    pub fn mass(&self) -> f64 {
        self.mass
    }

    /// The mean of the truncated law: `mean + sd·(φ(a) − φ(b))/M`.
    pub(super) fn mean(&self, mean: f64, sd: f64) -> f64 {
        mean + sd * (std_pdf(self.a) - std_pdf(self.b)) / self.mass
    }

    /// `P(lo < X ≤ x)` before normalising, accurate near `lo`.
    fn mass_below(&self, mean: f64, sd: f64, lo: f64, x: f64) -> f64 {
        if self.a.is_finite() {
            normal_mass_above(self.a, (x - lo) / sd)
        } else {
            normal_cdf((x - mean) / sd)
        }
    }

    /// The truncated law's CDF at `x`.
    pub(super) fn cdf(&self, mean: f64, sd: f64, lo: f64, hi: f64, x: f64) -> f64 {
        if x.is_nan() {
            return f64::NAN;
        }
        if x <= lo {
            return 0.0;
        }
        if x >= hi {
            return 1.0;
        }
        let below = self.mass_below(mean, sd, lo, x) / self.mass;
        if below <= 0.5 {
            below
        } else {
            1.0 - self.reflect().mass_below(-mean, sd, -hi, -x) / self.mass
        }
    }

    /// The truncated law's survival function `P(T > x)`, accurate in the
    /// upper tail.
    pub(super) fn sf(&self, mean: f64, sd: f64, lo: f64, hi: f64, x: f64) -> f64 {
        if x.is_nan() {
            return f64::NAN;
        }
        self.reflect().cdf(-mean, sd, -hi, -lo, -x)
    }

    /// The window of the reflected law (`−X` on `(−hi, −lo)`).
    fn reflect(&self) -> NormalWindow {
        NormalWindow {
            a: -self.b,
            b: -self.a,
            cdf_a: self.sf_b,
            sf_a: self.cdf_b,
            cdf_b: self.sf_a,
            sf_b: self.cdf_a,
            mass: self.mass,
        }
    }

    /// The truncated law's quantile at `u ∈ [0, 1]`, given `p = u` and
    /// `q = 1 − u` (the smaller of the two carries the accuracy), always
    /// strictly inside `(lo, hi)`.
    pub(super) fn quantile(&self, mean: f64, sd: f64, lo: f64, hi: f64, p: f64, q: f64) -> f64 {
        let (below, above) = (p * self.mass, q * self.mass);
        let x = if below <= above {
            self.lower_side(mean, sd, lo, below)
        } else {
            -self.reflect().lower_side(-mean, sd, -hi, above)
        };
        inside(x, lo, hi)
    }

    /// The `x` with `P(lo < X ≤ x) = delta`, `delta ≤ M/2` (the lower half
    /// of the truncated law).
    fn lower_side(&self, mean: f64, sd: f64, lo: f64, delta: f64) -> f64 {
        let a = self.a;
        if !a.is_finite() {
            return mean + sd * standard_normal_quantile(delta);
        }
        // the tail probability Φ(z) (or Φ(−z)) with full relative accuracy
        let p = self.cdf_a + delta;
        let (z0, tail) = if p <= 0.5 {
            (standard_normal_quantile(p), p)
        } else {
            let tail = self.sf_a - delta;
            (-standard_normal_quantile(tail), tail)
        };
        let t0 = z0 - a;
        // Absolute error of t0: the probability's rounding (ε·tail, over
        // φ(z0), and tail/φ(z0) ≤ √(π/2) < 1.26 for a tail probability),
        // a's own rounding and the subtraction. Keep t0 when that is small
        // relative to it, and form x from the nearer of the end and the
        // mean (no cancellation in the distance to the end).
        let err = f64::EPSILON * (1.26 + 2.0 * a.abs() + z0.abs());
        if t0 > 0.0 && err <= 1e-13 * t0 && tail > 0.0 {
            return if t0 < z0.abs() {
                lo + sd * t0
            } else {
                mean + sd * z0
            };
        }
        // close to the end: solve Φ(a + t) − Φ(a) = delta for t directly
        if !(delta > 0.0) {
            return lo;
        }
        let mut t = if t0 > 0.0 { t0 } else { delta / std_pdf(a) };
        if !t.is_finite() {
            t = 1.0 / a.abs().max(1.0);
        }
        let (mut t_lo, mut t_hi) = (0.0_f64, f64::INFINITY);
        for _ in 0..40 {
            let g = normal_mass_above(a, t) - delta;
            if g == 0.0 {
                break;
            }
            if g < 0.0 {
                t_lo = t;
            } else {
                t_hi = t;
            }
            let mut next = t - g / std_pdf(a + t);
            if !(next > t_lo && next < t_hi) {
                next = if t_hi.is_finite() {
                    0.5 * (t_lo + t_hi)
                } else {
                    2.0 * t.max(f64::MIN_POSITIVE)
                };
            }
            // quadratic convergence: after a step this small the error is
            // far below the rounding of t
            let done = (next - t).abs() <= 1e-12 * next;
            t = next;
            if done {
                break;
            }
        }
        lo + sd * t
    }
}

/// `x` moved strictly inside `(lo, hi)` if rounding put it on or beyond an
/// end: the next representable number inside.
#[inline]
pub(super) fn inside(x: f64, lo: f64, hi: f64) -> f64 {
    if !(x > lo) {
        next_up(lo)
    } else if !(x < hi) {
        -next_up(-hi)
    } else {
        x
    }
}

/// The smallest `f64` above `x` (`x` finite; `f64::next_up` needs Rust 1.86).
fn next_up(x: f64) -> f64 {
    if x.is_nan() || x == f64::INFINITY {
        return x;
    }
    if x == 0.0 {
        return f64::from_bits(1);
    }
    let bits = x.to_bits();
    if x > 0.0 {
        f64::from_bits(bits + 1)
    } else {
        f64::from_bits(bits - 1)
    }
}
