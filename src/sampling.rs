//! Count samplers used on the hot path: Poisson, gamma–Poisson, binomial and
//! (multivariate) hypergeometric, plus the log-pmf helpers they share.
//!
//! Counts are drawn as counts (never one draw per lead), so large volumes
//! cost no more than small ones. Every sampler here is exact: it draws from
//! the stated distribution up to floating-point rounding, with no normal or
//! other approximation of the law itself.
//!
//! - **Binomial** ([`BinomialP`], [`binomial`]): the constants that depend
//!   only on `p` are prepared once (per trial in the model), so a draw costs
//!   no construction. For `n·min(p, 1−p) < 20` it is sequential inversion of
//!   the pmf (BINV); above, Hörmann's BTRS transformed rejection with
//!   squeeze (1993), whose exact acceptance test (for proposals the squeeze
//!   does not settle) is the product of pmf ratios near the mode, or the
//!   log-pmf below farther out.
//! - **Poisson** ([`poisson`]): inversion for λ < 10, Hörmann's PTRS
//!   transformed rejection above.
//! - **Gamma–Poisson** ([`LeadSampler`], [`lead_count`]): a standard
//!   Gamma(k, 1) prepared once per trial, scaled by λ/k, then Poisson;
//!   [`LeadSampler::sample_split`] also thins the leads (Poisson thinning:
//!   two independent Poisson counts instead of a Poisson and a binomial).
//! - **Hypergeometric** ([`hypergeometric`]): our own, because rand_distr
//!   0.6.0's `Hypergeometric::new` fails with `PopulationTooLarge` in part of
//!   its range (e.g. N = 2093, K = 93, n = 100), which would bias how sales
//!   capacity is shared between channels. Ours is exact inversion over the
//!   pmf, started at the mode, whose probability is computed directly (so no
//!   first pass over the support is needed) and walked outwards by the pmf's
//!   ratio recurrences (no factorials, no overflow). Cost is proportional to
//!   the standard deviation of the count.
//!
//! Log-pmfs use Loader's saddle-point form (`stirlerr` and `bd0`, as in R's
//! nmath), which stays accurate to ~1e-14 relative for any size of count;
//! a naive `ln n!` difference would lose all precision for large counts.

use rand::{Rng, RngExt};
use rand_distr::{Distribution, Gamma};

/// Largest expected monthly count simulated as Poisson; larger means are
/// used as-is (and capped here), keeping every count sum far from overflow.
pub const MAX_MONTHLY_LAMBDA: f64 = 1e15;

/// Poisson counts with a mean below this are drawn by inversion; at or
/// above it by transformed rejection (PTRS), whose hat is valid only there.
const POISSON_INVERSION_BELOW: f64 = 10.0;

/// Binomials with `n·min(p, 1−p)` below this are drawn by inversion: BTRS
/// is valid from 10, but up to ~20 the inversion walk (≈ n·p steps) is
/// measured cheaper than BTRS, whose squeeze accepts less often there.
const BINOMIAL_INVERSION_BELOW: f64 = 20.0;

/// An inversion walk that goes this far beyond the mean of a small-mean
/// count has met only rounding residue (the mass left there is below
/// 1e-100): it starts again with a fresh uniform.
const INVERSION_MAX_STEPS: u64 = 400;

/// ln √(2π).
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;
/// ln(2π).
const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// In the exact test of BTRS, a proposal at most this far from the mode is
/// judged by the product of pmf ratios (no logarithms); farther ones by
/// the log-pmf.
const RATIO_WALK_MAX: f64 = 24.0;

/// `x.floor()` without a libm call (the default x86-64 target has no
/// rounding instruction): exact for |x| < 2⁶³; NaN gives 0 and larger
/// magnitudes saturate, which every caller rejects by a range check.
#[inline(always)]
fn floor(x: f64) -> f64 {
    let t = x as i64 as f64;
    if t > x { t - 1.0 } else { t }
}

// ------------------------------------------------------------ log-pmfs

/// `stirlerr(n) = ln n! − ((n + ½)·ln n − n + ln √(2π))` for n = 0..=15
/// (R nmath's table; n = 0 is a placeholder).
#[allow(clippy::excessive_precision)] // the published digits, rounded by the compiler
const STIRLERR_SMALL: [f64; 16] = [
    0.0,
    0.081_061_466_795_327_258_219_670_2,
    0.041_340_695_955_409_294_093_822_1,
    0.027_677_925_684_998_339_148_789_29,
    0.020_790_672_103_765_093_111_522_77,
    0.016_644_691_189_821_192_163_194_87,
    0.013_876_128_823_070_747_998_745_73,
    0.011_896_709_945_891_770_095_055_72,
    0.010_411_265_261_972_096_497_478_567,
    0.009_255_462_182_712_732_917_728_637,
    0.008_330_563_433_362_871_256_469_318,
    0.007_573_675_487_951_840_794_972_024,
    0.006_942_840_107_209_529_865_664_152,
    0.006_408_994_188_004_207_068_439_631,
    0.005_951_370_112_758_847_735_624_416,
    0.005_554_733_551_962_801_371_038_690,
];

/// Stirling-formula error of ln n! for a whole number `n ≥ 0` (Loader 2000).
#[inline]
fn stirlerr(n: f64) -> f64 {
    const S0: f64 = 1.0 / 12.0;
    const S1: f64 = 1.0 / 360.0;
    const S2: f64 = 1.0 / 1260.0;
    const S3: f64 = 1.0 / 1680.0;
    const S4: f64 = 1.0 / 1188.0;
    if n <= 15.0 {
        // whole numbers only: the index is exact
        return STIRLERR_SMALL[n as usize];
    }
    let nn = n * n;
    if n > 500.0 {
        (S0 - S1 / nn) / n
    } else if n > 80.0 {
        (S0 - (S1 - S2 / nn) / nn) / n
    } else if n > 35.0 {
        (S0 - (S1 - (S2 - S3 / nn) / nn) / nn) / n
    } else {
        (S0 - (S1 - (S2 - (S3 - S4 / nn) / nn) / nn) / nn) / n
    }
}

/// Deviance term `x·ln(x/m) + m − x`, accurate also when x ≈ m (Loader 2000).
#[inline]
fn bd0(x: f64, m: f64) -> f64 {
    if (x - m).abs() < 0.1 * (x + m) {
        let v = (x - m) / (x + m);
        let mut s = (x - m) * v;
        let mut ej = 2.0 * x * v;
        let v2 = v * v;
        let mut j = 3.0;
        loop {
            ej *= v2;
            let s1 = s + ej / j;
            if s1 == s {
                return s1;
            }
            s = s1;
            j += 2.0;
        }
    } else {
        x * (x / m).ln() + m - x
    }
}

/// ln P(X = x) for X ~ Binomial(n, p), `q = 1 − p`, whole `0 ≤ x ≤ n`,
/// 0 < p < 1.
fn ln_binomial_pmf(x: f64, n: f64, p: f64, q: f64) -> f64 {
    if x == 0.0 {
        if n == 0.0 {
            return 0.0;
        }
        return if p < 0.1 {
            -bd0(n, n * q) - n * p
        } else {
            n * q.ln()
        };
    }
    if x == n {
        return if q < 0.1 {
            -bd0(n, n * p) - n * q
        } else {
            n * p.ln()
        };
    }
    let lc = stirlerr(n) - stirlerr(x) - stirlerr(n - x) - bd0(x, n * p) - bd0(n - x, n * q);
    let lf = LN_2PI + x.ln() + (-x / n).ln_1p();
    lc - 0.5 * lf
}

/// ln P(X = x) for X ~ Poisson(λ), whole `x ≥ 0`, λ > 0.
fn ln_poisson_pmf(x: f64, lambda: f64) -> f64 {
    if x == 0.0 {
        return -lambda;
    }
    -stirlerr(x) - bd0(x, lambda) - LN_SQRT_2PI - 0.5 * x.ln()
}

/// ln P(X = x) for X ~ Hypergeometric: `x` successes among `n` draws from
/// `k` successes and `f` failures (R's `dhyper` decomposition).
fn ln_hypergeometric_pmf(x: f64, k: f64, f: f64, n: f64) -> f64 {
    let total = k + f;
    let p = n / total;
    let q = (total - n) / total;
    ln_binomial_pmf(x, k, p, q) + ln_binomial_pmf(n - x, f, p, q) - ln_binomial_pmf(n, total, p, q)
}

// ------------------------------------------------------------ binomial

/// A binomial success probability with its per-`p` constants prepared, so
/// each draw costs no construction. Build once per trial, draw per month.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BinomialP {
    /// `min(p, 1 − p)`; 0 when every draw is 0 or `n`.
    p: f64,
    /// `1 − self.p`.
    q: f64,
    /// `ln q`, for `q^n` in inversion.
    ln_q: f64,
    /// `p / q`, the pmf ratio constant of inversion.
    s: f64,
    /// The draw counts failures (`p > ½` was flipped).
    flipped: bool,
    /// `p ≥ 1`: every trial succeeds.
    all: bool,
}

impl BinomialP {
    /// Prepare probability `p` (NaN or ≤ 0 gives 0 successes, ≥ 1 gives `n`).
    pub fn new(p: f64) -> BinomialP {
        let mut b = BinomialP {
            p: 0.0,
            q: 1.0,
            ln_q: 0.0,
            s: 0.0,
            flipped: false,
            all: false,
        };
        if !(p > 0.0) {
            return b;
        }
        if p >= 1.0 {
            b.all = true;
            return b;
        }
        let flipped = p > 0.5;
        let pp = if flipped { 1.0 - p } else { p };
        b.p = pp;
        b.q = 1.0 - pp;
        b.ln_q = (-pp).ln_1p();
        b.s = pp / b.q;
        b.flipped = flipped;
        b
    }

    /// The success probability this was prepared for (after clamping).
    pub fn prob(&self) -> f64 {
        if self.all {
            1.0
        } else if self.flipped {
            1.0 - self.p
        } else {
            self.p
        }
    }

    /// Draw Binomial(n, p).
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, n: u64, rng: &mut R) -> u64 {
        if self.all {
            return n;
        }
        if n == 0 || self.p == 0.0 {
            return 0;
        }
        let nf = n as f64;
        let x = if nf * self.p < BINOMIAL_INVERSION_BELOW {
            self.inversion(n, nf, rng)
        } else {
            self.btrs(nf, rng)
        };
        if self.flipped { n - x } else { x }
    }

    /// BINV: walk the pmf from 0 (expected steps ≈ n·p < 20).
    fn inversion<R: Rng + ?Sized>(&self, n: u64, nf: f64, rng: &mut R) -> u64 {
        let r0 = (nf * self.ln_q).exp();
        let a = (nf + 1.0) * self.s;
        let cap = n.min(INVERSION_MAX_STEPS);
        'draw: loop {
            let mut u: f64 = rng.random();
            let mut r = r0;
            let mut x = 0u64;
            while u >= r {
                u -= r;
                x += 1;
                if x > cap {
                    continue 'draw;
                }
                r *= a / x as f64 - self.s;
            }
            return x;
        }
    }

    /// BTRS (Hörmann 1993), valid for n·p ≥ 10 with p ≤ ½ (used from 20).
    fn btrs<R: Rng + ?Sized>(&self, nf: f64, rng: &mut R) -> u64 {
        let (p, q) = (self.p, self.q);
        let spq = (nf * p * q).sqrt();
        let b = 1.15 + 2.53 * spq;
        let a = -0.0873 + 0.0248 * b + 0.01 * p;
        let c = nf * p + 0.5;
        let v_r = 0.92 - 4.2 / b;
        let alpha = (2.83 + 5.1 / b) * spq;
        let m = floor((nf + 1.0) * p);
        // ln pmf(m), computed only if a far proposal reaches the exact test
        let mut ln_pm = f64::NAN;
        loop {
            let u = rng.random::<f64>() - 0.5;
            let v: f64 = rng.random();
            let us = 0.5 - u.abs();
            let k = floor((2.0 * a / us + b) * u + c);
            if !(k >= 0.0 && k <= nf) {
                continue;
            }
            if us >= 0.07 && v <= v_r {
                return k as u64;
            }
            // exact test: accept iff v·α/(a/us² + b) ≤ pmf(k)/pmf(m)
            let lhs = v * alpha / (a / (us * us) + b);
            if (k - m).abs() <= RATIO_WALK_MAX {
                // the pmf ratio as a product of its recurrence terms
                let mut ratio = 1.0;
                if k > m {
                    let mut i = m;
                    while i < k {
                        ratio *= (nf - i) / (i + 1.0) * self.s;
                        i += 1.0;
                    }
                } else {
                    let mut i = k;
                    while i < m {
                        ratio *= (i + 1.0) / ((nf - i) * self.s);
                        i += 1.0;
                    }
                }
                if lhs <= ratio {
                    return k as u64;
                }
            } else {
                if ln_pm.is_nan() {
                    ln_pm = ln_binomial_pmf(m, nf, p, q);
                }
                if lhs.ln() <= ln_binomial_pmf(k, nf, p, q) - ln_pm {
                    return k as u64;
                }
            }
        }
    }
}

/// Binomial(n, p) count (prepares `p` on every call: prefer [`BinomialP`]
/// when `p` is reused).
#[inline]
pub fn binomial<R: Rng + ?Sized>(n: u64, p: f64, rng: &mut R) -> u64 {
    BinomialP::new(p).sample(n, rng)
}

// ------------------------------------------------------------ Poisson

/// Poisson(λ) count; 0 for λ ≤ 0 (or NaN).
#[inline]
pub fn poisson<R: Rng + ?Sized>(lambda: f64, rng: &mut R) -> u64 {
    if !(lambda > 0.0) {
        return 0;
    }
    if lambda >= MAX_MONTHLY_LAMBDA {
        // beyond any realistic volume (the Poisson noise would be ~1e-7 of
        // it): use the mean, capped so monthly sums cannot overflow
        return MAX_MONTHLY_LAMBDA as u64;
    }
    if lambda < POISSON_INVERSION_BELOW {
        poisson_inversion(lambda, rng)
    } else {
        poisson_ptrs(lambda, rng)
    }
}

/// Sequential inversion from 0 (expected steps ≈ λ < 10).
fn poisson_inversion<R: Rng + ?Sized>(lambda: f64, rng: &mut R) -> u64 {
    let p0 = (-lambda).exp();
    'draw: loop {
        let mut u: f64 = rng.random();
        let mut p = p0;
        let mut x = 0u64;
        while u >= p {
            u -= p;
            x += 1;
            if x > INVERSION_MAX_STEPS {
                continue 'draw;
            }
            p *= lambda / x as f64;
        }
        return x;
    }
}

/// PTRS (Hörmann 1993), valid for λ ≥ 10.
fn poisson_ptrs<R: Rng + ?Sized>(lambda: f64, rng: &mut R) -> u64 {
    let slam = lambda.sqrt();
    let b = 0.931 + 2.53 * slam;
    let a = -0.059 + 0.02483 * b;
    let inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
    let v_r = 0.9277 - 3.6224 / (b - 2.0);
    loop {
        let u = rng.random::<f64>() - 0.5;
        let v: f64 = rng.random();
        let us = 0.5 - u.abs();
        let k = floor((2.0 * a / us + b) * u + lambda + 0.43);
        if !(k >= 0.0) {
            continue;
        }
        if us >= 0.07 && v <= v_r {
            return k as u64;
        }
        if us < 0.013 && v > us {
            continue;
        }
        let lhs = (v * inv_alpha / (a / (us * us) + b)).ln();
        if lhs <= ln_poisson_pmf(k, lambda) {
            return k as u64;
        }
    }
}

// ------------------------------------------------------------ lead counts

/// A channel's monthly lead-count law, prepared once per trial: Poisson(λ),
/// or with dispersion `k` the gamma–Poisson mixture with mean λ and
/// variance λ + λ²/k (negative binomial), drawn as Poisson(λ/k · G) with
/// G ~ Gamma(k, 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeadSampler {
    /// Standard Gamma(k, 1) and `1/k`, when over-dispersed.
    gamma: Option<(Gamma<f64>, f64)>,
}

impl LeadSampler {
    /// Prepare for `dispersion = Some(k)` (gamma–Poisson) or `None`
    /// (Poisson). An invalid `k` (≤ 0, NaN) falls back to Poisson.
    pub fn new(dispersion: Option<f64>) -> LeadSampler {
        let gamma = dispersion.and_then(|k| Gamma::new(k, 1.0).ok().map(|g| (g, 1.0 / k)));
        LeadSampler { gamma }
    }

    /// One month's count with mean `lambda`.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&self, lambda: f64, rng: &mut R) -> u64 {
        let rate = self.rate(lambda, rng);
        poisson(rate, rng)
    }

    /// The month's Poisson rate: `lambda` itself, or the gamma-mixed rate
    /// λ/k · G (one gamma draw) when over-dispersed.
    #[inline]
    pub fn rate<R: Rng + ?Sized>(&self, lambda: f64, rng: &mut R) -> f64 {
        match &self.gamma {
            None => lambda,
            Some((g, inv_k)) => {
                if !(lambda > 0.0) {
                    return 0.0;
                }
                g.sample(rng) * (lambda * inv_k)
            }
        }
    }

    /// One month's leads with mean `lambda` and, of them, those that pass a
    /// thinning with probability `p` (each lead independently), as
    /// `(leads, passed)`. Given the rate Λ, the passed and the other leads
    /// are independent Poisson(Λ·p) and Poisson(Λ·(1−p)) counts (Poisson
    /// thinning), so this is the same law as a lead count followed by
    /// Binomial(leads, p), for two Poisson draws instead of a Poisson and a
    /// binomial. Draw order: the rate (if over-dispersed), the passed, the
    /// others.
    #[inline]
    pub fn sample_split<R: Rng + ?Sized>(&self, lambda: f64, p: f64, rng: &mut R) -> (u64, u64) {
        let rate = self.rate(lambda, rng);
        if !(p > 0.0) {
            return (poisson(rate, rng), 0);
        }
        if p >= 1.0 {
            let x = poisson(rate, rng);
            return (x, x);
        }
        let passed = poisson(rate * p, rng);
        let others = poisson(rate * (1.0 - p), rng);
        (passed.saturating_add(others), passed)
    }
}

/// Poisson(λ), or with `dispersion = Some(k)` the gamma–Poisson mixture with
/// mean λ and variance λ + λ²/k (negative binomial). Prepares the gamma on
/// every call: prefer [`LeadSampler`] when `k` is reused.
#[inline]
pub fn lead_count<R: Rng + ?Sized>(lambda: f64, dispersion: Option<f64>, rng: &mut R) -> u64 {
    LeadSampler::new(dispersion).sample(lambda, rng)
}

// ------------------------------------------------------------ hypergeometric

/// Hypergeometric count: successes among `draws` items taken without
/// replacement from `total` items of which `successes` are successes.
///
/// Exact inversion started at the mode: P(mode) comes from the saddle-point
/// log-pmf, a uniform on [0, 1/P(mode)) is then walked outwards, alternating
/// above and below the mode, by the pmf's ratio recurrences (the weights are
/// relative to P(mode) = 1). A uniform beyond the accumulated mass (only
/// through rounding) is drawn again. Cost is proportional to the standard
/// deviation of the count.
pub fn hypergeometric<R: Rng + ?Sized>(total: u64, successes: u64, draws: u64, rng: &mut R) -> u64 {
    let successes = successes.min(total);
    let draws = draws.min(total);
    if draws == 0 || successes == 0 {
        return 0;
    }
    if successes == total {
        return draws;
    }
    if draws == total {
        return successes;
    }
    let failures = total - successes;
    let lo = draws.saturating_sub(failures);
    let hi = draws.min(successes);
    if lo == hi {
        return lo;
    }
    let (k, n, f) = (successes as f64, draws as f64, failures as f64);
    // w(x+1)/w(x) and w(x-1)/w(x) for the pmf w(x) ∝ C(K,x)·C(F,n−x)
    let up = |x: u64| {
        let x = x as f64;
        ((k - x) * (n - x)) / ((x + 1.0) * (f - n + x + 1.0))
    };
    let down = |x: u64| {
        let x = x as f64;
        (x * (f - n + x)) / ((k - x + 1.0) * (n - x + 1.0))
    };
    // whole part of a non-negative finite value: `as` truncates = floor
    let mode = (((n + 1.0) * (k + 1.0)) / (total as f64 + 2.0)) as u64;
    let mode = mode.clamp(lo, hi);
    // total mass in units of w(mode) = 1
    let mass = (-ln_hypergeometric_pmf(mode as f64, k, f, n)).exp();

    loop {
        let mut u = rng.random::<f64>() * mass - 1.0;
        if u < 0.0 {
            return mode;
        }
        let (mut wu, mut xu, mut wd, mut xd) = (1.0, mode, 1.0, mode);
        loop {
            let mut moved = false;
            if xu < hi && wu > 0.0 {
                wu *= up(xu);
                xu += 1;
                u -= wu;
                if u < 0.0 {
                    return xu;
                }
                moved = true;
            }
            if xd > lo && wd > 0.0 {
                wd *= down(xd);
                xd -= 1;
                u -= wd;
                if u < 0.0 {
                    return xd;
                }
                moved = true;
            }
            if !moved {
                // the uniform fell in the last ulps of `mass`: draw again
                break;
            }
        }
    }
}

/// Multivariate hypergeometric: choose `draws` of the `members.len()` groups'
/// members uniformly at random; on return `members[i]` holds how many of
/// group `i` were chosen. Drawn group by group from the conditional
/// hypergeometric distributions.
pub fn multivariate_hypergeometric<R: Rng + ?Sized>(members: &mut [u64], draws: u64, rng: &mut R) {
    let mut pop_left: u64 = members.iter().sum();
    let mut draws_left = draws.min(pop_left);
    let last = members.len().saturating_sub(1);
    for (i, m) in members.iter_mut().enumerate() {
        let group = *m;
        let chosen = if draws_left == 0 {
            0
        } else if i == last || group == pop_left {
            draws_left.min(group)
        } else {
            hypergeometric(pop_left, group, draws_left, rng)
        };
        pop_left -= group;
        draws_left -= chosen;
        *m = chosen;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream_rng;

    /// Mean and variance of many hypergeometric draws match the analytic
    /// values within 4 standard errors, including the range where
    /// rand_distr 0.6.0 fails (regression: capacity shares were biased).
    #[test]
    fn hypergeometric_moments_match_analytic() {
        let cases: [(u64, u64, u64); 6] = [
            (2093, 93, 100),
            (20, 7, 12),
            (1_000_000, 400_000, 300_000),
            (5000, 4990, 30),
            (3000, 1500, 2999),
            (100, 1, 50),
        ];
        let mut rng = stream_rng(3, 0, 1);
        let reps = 40_000;
        for (nn, k, n) in cases {
            let (nf, kf, df) = (nn as f64, k as f64, n as f64);
            let mean = df * kf / nf;
            let var = df * (kf / nf) * (1.0 - kf / nf) * (nf - df) / (nf - 1.0);
            let xs: Vec<f64> = (0..reps)
                .map(|_| hypergeometric(nn, k, n, &mut rng) as f64)
                .collect();
            let m = xs.iter().sum::<f64>() / reps as f64;
            let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (reps as f64 - 1.0);
            let se_mean = (var / reps as f64).sqrt();
            assert!(
                (m - mean).abs() <= 4.0 * se_mean + 1e-12,
                "{nn},{k},{n}: mean {m} vs {mean}"
            );
            // SE of a sample variance: sqrt((μ4 − σ⁴(n−3)/(n−1)) / n), with
            // the fourth central moment estimated from the sample
            let r = reps as f64;
            let m4 = xs.iter().map(|x| (x - m).powi(4)).sum::<f64>() / r;
            let se_var = ((m4 - var * var * (r - 3.0) / (r - 1.0)) / r)
                .max(0.0)
                .sqrt();
            assert!(
                (v - var).abs() <= 4.0 * se_var + 1e-12,
                "{nn},{k},{n}: var {v} vs {var}"
            );
        }
    }

    /// Exact pmf for a small case: chi-square goodness of fit.
    #[test]
    fn hypergeometric_pmf_small_case() {
        let (nn, k, n) = (12u64, 5u64, 6u64);
        let choose = |a: u64, b: u64| -> f64 {
            if b > a {
                return 0.0;
            }
            (0..b).fold(1.0, |acc, i| acc * (a - i) as f64 / (i + 1) as f64)
        };
        let reps = 60_000;
        let mut counts = [0usize; 7];
        let mut rng = stream_rng(9, 0, 2);
        for _ in 0..reps {
            counts[hypergeometric(nn, k, n, &mut rng) as usize] += 1;
        }
        let mut chi2 = 0.0;
        for (x, c) in counts.iter().enumerate() {
            let p = choose(k, x as u64) * choose(nn - k, n - x as u64) / choose(nn, n);
            if p == 0.0 {
                assert_eq!(*c, 0, "impossible value {x} drawn");
                continue;
            }
            let e = p * reps as f64;
            chi2 += (*c as f64 - e).powi(2) / e;
        }
        // 6 possible values, 5 degrees of freedom: P(chi2 > 20.52) = 0.001
        assert!(chi2 < 20.52, "chi2 = {chi2}, counts {counts:?}");
    }

    /// ln n! by summation, for checks.
    fn ln_fact(n: u64) -> f64 {
        (2..=n).map(|i| (i as f64).ln()).sum()
    }

    #[test]
    fn stirlerr_matches_its_definition() {
        for n in 1..=40u64 {
            let nf = n as f64;
            let exact = ln_fact(n) - ((nf + 0.5) * nf.ln() - nf + LN_SQRT_2PI);
            assert!(
                (stirlerr(nf) - exact).abs() < 1e-13,
                "stirlerr({n}) = {} vs {exact}",
                stirlerr(nf)
            );
        }
    }

    #[test]
    fn log_pmfs_match_direct_formulas() {
        for (x, n, p) in [
            (0u64, 10u64, 0.3f64),
            (3, 10, 0.3),
            (10, 10, 0.3),
            (40, 200, 0.15),
        ] {
            let direct = ln_fact(n) - ln_fact(x) - ln_fact(n - x)
                + x as f64 * p.ln()
                + (n - x) as f64 * (1.0 - p).ln();
            let got = ln_binomial_pmf(x as f64, n as f64, p, 1.0 - p);
            assert!(
                (got - direct).abs() < 1e-11,
                "binomial {x},{n},{p}: {got} vs {direct}"
            );
        }
        for (x, lambda) in [(0u64, 3.5f64), (4, 3.5), (30, 25.0), (120, 100.0)] {
            let direct = -lambda + x as f64 * f64::ln(lambda) - ln_fact(x);
            let got = ln_poisson_pmf(x as f64, lambda);
            assert!(
                (got - direct).abs() < 1e-11,
                "poisson {x},{lambda}: {got} vs {direct}"
            );
        }
        let (k, f, n, x) = (93u64, 2000u64, 100u64, 5u64);
        let lc = |a: u64, b: u64| ln_fact(a) - ln_fact(b) - ln_fact(a - b);
        let direct = lc(k, x) + lc(f, n - x) - lc(k + f, n);
        let got = ln_hypergeometric_pmf(x as f64, k as f64, f as f64, n as f64);
        assert!(
            (got - direct).abs() < 1e-10,
            "hypergeometric: {got} vs {direct}"
        );
    }

    /// Chi-square goodness of fit of `draw` to the pmf `ln_pmf` over the
    /// values whose expected count is at least 5 (the rest pooled).
    fn chi_square_fits(
        what: &str,
        reps: usize,
        max: u64,
        ln_pmf: impl Fn(u64) -> f64,
        mut draw: impl FnMut() -> u64,
    ) {
        let mut counts = vec![0usize; max as usize + 2];
        for _ in 0..reps {
            let x = draw().min(max + 1);
            counts[x as usize] += 1;
        }
        let (mut chi2, mut df) = (0.0, 0usize);
        let (mut pool_e, mut pool_c) = (0.0, 0usize);
        for (x, &c) in counts.iter().enumerate().take(max as usize + 1) {
            let e = ln_pmf(x as u64).exp() * reps as f64;
            if e >= 5.0 {
                chi2 += (c as f64 - e).powi(2) / e;
                df += 1;
            } else {
                pool_e += e;
                pool_c += c;
            }
        }
        pool_c += counts[max as usize + 1];
        if pool_e > 0.0 {
            chi2 += (pool_c as f64 - pool_e).powi(2) / pool_e.max(1.0);
            df += 1;
        }
        // df − 1 degrees of freedom; mean df−1, sd √(2(df−1)): 6 sd is far
        // beyond any honest fluctuation
        let dof = (df - 1) as f64;
        assert!(
            chi2 < dof + 6.0 * (2.0 * dof).sqrt(),
            "{what}: chi2 = {chi2} with {dof} degrees of freedom"
        );
    }

    #[test]
    fn binomial_pmf_in_both_regimes() {
        let mut rng = stream_rng(11, 0, 4);
        for (n, p) in [
            (7u64, 0.3),
            (40, 0.2),
            (60, 0.9),
            (50, 0.2),
            (220, 0.06),
            (1000, 0.025),
            (200, 0.5),
            (900, 0.4),
            (300, 0.12),
            (1000, 0.97),
            (100_000, 0.01),
        ] {
            let b = BinomialP::new(p);
            chi_square_fits(
                &format!("Binomial({n}, {p})"),
                200_000,
                n,
                |x| ln_binomial_pmf(x as f64, n as f64, p, 1.0 - p),
                || b.sample(n, &mut rng),
            );
        }
        assert_eq!(binomial(10, 0.0, &mut rng), 0);
        assert_eq!(binomial(10, 1.0, &mut rng), 10);
        assert_eq!(binomial(10, f64::NAN, &mut rng), 0);
        assert_eq!(binomial(0, 0.5, &mut rng), 0);
    }

    #[test]
    fn poisson_pmf_in_both_regimes() {
        let mut rng = stream_rng(12, 0, 5);
        for lambda in [0.3f64, 4.0, 9.99, 10.0, 37.5, 900.0, 25_000.0] {
            let max = (lambda + 12.0 * lambda.sqrt() + 20.0) as u64;
            chi_square_fits(
                &format!("Poisson({lambda})"),
                200_000,
                max,
                |x| ln_poisson_pmf(x as f64, lambda),
                || poisson(lambda, &mut rng),
            );
        }
        assert_eq!(poisson(0.0, &mut rng), 0);
        assert_eq!(poisson(f64::NAN, &mut rng), 0);
    }

    /// Split lead counts have the law of a count followed by a binomial:
    /// means, variances and the covariance of (leads, passed) for the
    /// gamma–Poisson mixture (leads: λ + λ²/k; passed: λp + (λp)²/k;
    /// covariance: p·Var(leads)).
    #[test]
    fn split_lead_counts_match_thinned_moments() {
        let mut rng = stream_rng(14, 0, 7);
        let (lambda, k, p) = (400.0f64, 20.0f64, 0.35f64);
        let sampler = LeadSampler::new(Some(k));
        let reps = 100_000;
        let draws: Vec<(f64, f64)> = (0..reps)
            .map(|_| {
                let (l, x) = sampler.sample_split(lambda, p, &mut rng);
                (l as f64, x as f64)
            })
            .collect();
        let r = reps as f64;
        let ml = draws.iter().map(|d| d.0).sum::<f64>() / r;
        let mx = draws.iter().map(|d| d.1).sum::<f64>() / r;
        let vl = draws.iter().map(|d| (d.0 - ml).powi(2)).sum::<f64>() / (r - 1.0);
        let vx = draws.iter().map(|d| (d.1 - mx).powi(2)).sum::<f64>() / (r - 1.0);
        let cov = draws.iter().map(|d| (d.0 - ml) * (d.1 - mx)).sum::<f64>() / (r - 1.0);
        let var_l = lambda + lambda * lambda / k;
        let var_x = lambda * p + (lambda * p).powi(2) / k;
        assert!(
            (ml - lambda).abs() < 4.0 * (var_l / r).sqrt(),
            "mean leads {ml}"
        );
        assert!(
            (mx - lambda * p).abs() < 4.0 * (var_x / r).sqrt(),
            "mean passed {mx}"
        );
        // relative SE of a sample variance ≈ sqrt(2/(r−1)) (near-normal counts)
        let se_rel = (2.0 / (r - 1.0)).sqrt() * 1.2;
        assert!(
            (vl / var_l - 1.0).abs() < 4.0 * se_rel,
            "var leads {vl} vs {var_l}"
        );
        assert!(
            (vx / var_x - 1.0).abs() < 4.0 * se_rel,
            "var passed {vx} vs {var_x}"
        );
        assert!(
            (cov / (p * var_l) - 1.0).abs() < 4.0 * se_rel,
            "cov {cov} vs {}",
            p * var_l
        );
        assert_eq!(sampler.sample_split(0.0, p, &mut rng), (0, 0));
        let plain = LeadSampler::new(None);
        let (l, x) = plain.sample_split(50.0, 1.0, &mut rng);
        assert_eq!(l, x);
        let (_, x) = plain.sample_split(50.0, 0.0, &mut rng);
        assert_eq!(x, 0);
    }

    #[test]
    fn hypergeometric_pmf_mid_size_case() {
        let (nn, k, n) = (487u64, 360u64, 300u64);
        let mut rng = stream_rng(13, 0, 6);
        chi_square_fits(
            "Hypergeometric(487, 360, 300)",
            200_000,
            n,
            |x| {
                if x + (nn - k) < n || x > k {
                    f64::NEG_INFINITY
                } else {
                    ln_hypergeometric_pmf(x as f64, k as f64, (nn - k) as f64, n as f64)
                }
            },
            || hypergeometric(nn, k, n, &mut rng),
        );
    }

    #[test]
    fn multivariate_keeps_totals() {
        let mut rng = stream_rng(1, 2, 3);
        let mut m = [700u64, 93, 1300, 0];
        multivariate_hypergeometric(&mut m, 100, &mut rng);
        assert_eq!(m.iter().sum::<u64>(), 100);
        assert_eq!(m[3], 0);
        let mut m = [3u64, 4];
        multivariate_hypergeometric(&mut m, 10, &mut rng);
        assert_eq!(m, [3, 4]);
    }
}
