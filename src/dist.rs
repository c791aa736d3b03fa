//! The distribution grammar and its samplers.
//!
//! A scenario parameter is a number (fixed) or a string such as
//! `"lognormal(median=14000, p90=38000)"` or `"0.40 to 0.60"`. This module
//! parses those strings, checks them against the parameter's [`Domain`]
//! (probability, amount, positive multiplier, monthly rate) and turns them
//! into a [`Dist`] that holds a ready-built sampler, so the hot path never
//! re-parses or re-validates.
//!
//! Fits done here (all documented in the README):
//! - `lognormal(median=, p90=)`: `mu = ln(median)`, `sigma = ln(p90/median) / z(0.90)`;
//! - `lognormal(mean=, sd=)`: `sigma² = ln(1 + sd²/mean²)`, `mu = ln(mean) − sigma²/2`;
//! - `gamma(mean=, sd=)`: `shape = mean²/sd²`, `scale = sd²/mean`;
//! - `beta(mean=, n=)`: `alpha = mean·n`, `beta = (1 − mean)·n`;
//! - `pert(min=, mode=, max=)`: Beta-PERT with λ = 4;
//! - `normal(mean=, sd=)`: `N(mean, sd²)` truncated to the domain's range
//!   (see [`Domain::bounds`]); at least half of its mass must be inside;
//! - `"A to B"`: a 90% interval (P5 = A, P95 = B), fitted exactly as a
//!   lognormal for amounts, volumes, costs, durations and multipliers, as a
//!   beta for probabilities (solved numerically), and for a monthly rate
//!   that may be negative ([`Domain::Rate`]) as a normal with `mean =
//!   (A + B)/2`, `sd = (B − A)/(2·z(0.95))`, truncated to (−1, 1).
//!
//! Every form has its CDF ([`Dist::cdf`], [`Dist::sf`]) and its inverse
//! ([`Dist::quantile`], [`Dist::quantile_upper`]), accurate in both tails,
//! for inversion by a copula; [`standard_normal_quantile`] is Φ⁻¹.
//!
//! Sampling internals: besides [`Dist::sample`], [`Dist::sample_months`]
//! draws `floor(x / DAYS_PER_MONTH)` (a deal's cycle in whole months)
//! directly from a table of the distribution's CDF at whole months — one
//! 64-bit draw and an alias-table lookup instead of a beta, gamma, normal
//! or lognormal draw (see [`MonthLaw`]). The table is built on first use
//! and kept with the distribution; it is exact up to the floating-point
//! accuracy of the CDF (about 1e-14 for the regularised incomplete gamma and
//! beta functions and the normal CDF), like any inversion sampler. The
//! truncated normal's sampler (one normal draw, and one uniform for the
//! inverse CDF when it falls outside the domain) is exact without a
//! rejection loop; see [`Dist::Normal`].

mod fit;
mod grammar;
mod inverse;
#[cfg(test)]
mod inversion_tests;
mod months;
mod normal;

use std::sync::Arc;

use rand::{Rng, RngExt};
use rand_distr::{Beta, Distribution, Gamma};

use crate::calendar::DAYS_PER_MONTH;

pub use fit::fit_beta_90;
pub use grammar::parse;
pub use months::{MonthLaw, MonthTable};
pub use normal::{NormalWindow, standard_normal_quantile};

/// What values a parameter may take; a distribution whose support leaves the
/// domain is rejected when the scenario is loaded (a normal is truncated to
/// it instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// A probability in [0, 1] (conversion rates, churn, recycling).
    Probability,
    /// A non-negative amount: money, volumes, durations, head counts.
    Amount,
    /// A strictly positive quantity: multipliers, a cost per lead that divides a spend.
    Positive,
    /// A monthly rate in (−1, 1) that may be negative (expansion).
    Rate,
}

impl Domain {
    /// Human description of what is valid, used in error messages.
    pub fn describe(self) -> &'static str {
        match self {
            Domain::Probability => "a probability in [0, 1]",
            Domain::Amount => "a non-negative amount (>= 0)",
            Domain::Positive => "a positive number (> 0)",
            Domain::Rate => "a monthly rate in (-1, 1)",
        }
    }

    fn contains(self, x: f64) -> bool {
        match self {
            Domain::Probability => (0.0..=1.0).contains(&x),
            Domain::Amount => x >= 0.0 && x.is_finite(),
            Domain::Positive => x > 0.0 && x.is_finite(),
            Domain::Rate => x > -1.0 && x < 1.0,
        }
    }

    /// Does the closed interval [lo, hi] fit in the domain?
    fn contains_interval(self, lo: f64, hi: f64) -> bool {
        self.contains(lo) && self.contains(hi)
    }

    /// The ends of the domain's range, `(lo, hi)`, whether or not they
    /// belong to it: (0, 1) for a probability, (−1, 1) for a rate, (0, ∞)
    /// for an amount or a positive quantity. A normal is truncated to it.
    pub fn bounds(self) -> (f64, f64) {
        match self {
            Domain::Probability => (0.0, 1.0),
            Domain::Rate => (-1.0, 1.0),
            Domain::Amount | Domain::Positive => (0.0, f64::INFINITY),
        }
    }

    /// Does the open interval (lo, hi) fit in the domain? (Its closure
    /// must fit in the closure of the domain's range.)
    fn contains_open_interval(self, lo: f64, hi: f64) -> bool {
        let (dlo, dhi) = self.bounds();
        lo >= dlo && hi <= dhi && lo < hi
    }

    fn what_to_use(self) -> &'static str {
        match self {
            Domain::Probability => {
                "use beta(mean=, n=), beta(alpha=, beta=), \"A to B\" with 0 < A < B < 1, normal(mean=, sd=), or uniform/triangular/pert inside the range"
            }
            Domain::Rate => {
                "use normal(mean=, sd=), \"A to B\" with -1 < A < B < 1, or uniform/triangular/pert inside the range"
            }
            Domain::Amount => {
                "use lognormal, gamma, normal, \"A to B\" with 0 < A < B, or uniform/triangular/pert with a minimum >= 0"
            }
            Domain::Positive => {
                "use lognormal, gamma, normal, \"A to B\" with 0 < A < B, or uniform/triangular/pert with a minimum > 0"
            }
        }
    }
}

/// A validated parameter distribution with its sampler built.
#[derive(Debug, Clone)]
pub enum Dist {
    /// A fixed number: sampling consumes no randomness.
    Fixed(f64),
    /// Uniform on [lo, hi).
    Uniform { lo: f64, hi: f64 },
    /// Triangular by inverse CDF.
    Triangular { min: f64, mode: f64, max: f64 },
    /// `min + range · Beta(alpha, beta)` (beta and PERT).
    ScaledBeta {
        min: f64,
        range: f64,
        alpha: f64,
        beta: f64,
        sampler: Beta<f64>,
        /// Gamma(alpha, 1) and Gamma(beta, 1): a draw is X / (X + Y).
        gammas: (Gamma<f64>, Gamma<f64>),
        months: MonthTable,
    },
    /// `N(mean, sd²)` truncated to `(lo, hi)` (the parameter's domain, see
    /// [`Domain::bounds`]; for a scaled normal, the scaled range): the law
    /// of redrawing until the value is inside, drawn without a loop.
    ///
    /// A draw is `x = mean + sd·z` for one ziggurat normal `z` when `x` is
    /// strictly inside `(lo, hi)`, and otherwise the inverse of the
    /// truncated CDF at one uniform `u` ([`Dist::quantile`]). That is
    /// exactly the truncated law `T`: for `A` inside the range, `P(draw ∈
    /// A) = P(X ∈ A) + (1 − M)·P(T ∈ A) = M·P(T ∈ A) + (1 − M)·P(T ∈ A)`,
    /// `M` being the mass inside (at least 1/2, so the second branch is
    /// needed at most half the time). Draws are always strictly inside
    /// `(lo, hi)` (closed ends included, which changes nothing in law): if
    /// rounding puts the inverse on an end, the next number inside is
    /// returned, so a positive quantity never gets 0 nor a rate ±1.
    Normal {
        mean: f64,
        sd: f64,
        lo: f64,
        hi: f64,
        /// The truncation in standard units, with Φ at both ends and the
        /// mass inside (precomputed; unchanged by scaling).
        window: NormalWindow,
        months: MonthTable,
    },
    /// `exp(mu + sigma·Z)`.
    LogNormal {
        mu: f64,
        sigma: f64,
        months: MonthTable,
    },
    /// Gamma(shape, scale).
    Gamma {
        shape: f64,
        scale: f64,
        sampler: Gamma<f64>,
        months: MonthTable,
    },
}

/// The smallest probability [`Dist::quantile`] works with: the smallest
/// normal `f64`.
const U_MIN: f64 = f64::MIN_POSITIVE;
/// The largest probability [`Dist::quantile`] works with: the largest `f64`
/// below 1, `1 − 2⁻⁵³`.
const U_MAX: f64 = 1.0 - f64::EPSILON / 2.0;

impl Dist {
    /// Draw one value.
    #[inline(always)]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            Dist::Fixed(x) => *x,
            Dist::Uniform { lo, hi } => lo + (hi - lo) * rng.random::<f64>(),
            Dist::Triangular { min, mode, max } => {
                let u: f64 = rng.random();
                let range = max - min;
                let cut = (mode - min) / range;
                if u < cut {
                    min + (u * range * (mode - min)).sqrt()
                } else {
                    max - ((1.0 - u) * range * (max - mode)).sqrt()
                }
            }
            Dist::ScaledBeta {
                min,
                range,
                sampler,
                gammas: (ga, gb),
                ..
            } => {
                // Beta(a, b) = X / (X + Y) for independent X ~ Gamma(a, 1),
                // Y ~ Gamma(b, 1): about 3× cheaper than Cheng's algorithm
                let x = ga.sample(rng);
                let y = gb.sample(rng);
                let sum = x + y;
                let b = if sum > 0.0 && sum.is_finite() {
                    x / sum
                } else {
                    // both underflowed (tiny shapes): Cheng's sampler
                    sampler.sample(rng)
                };
                min + range * b
            }
            Dist::Normal {
                mean,
                sd,
                lo,
                hi,
                window,
                ..
            } => {
                let z = crate::sampling::ziggurat::standard_normal(rng);
                let x = mean + sd * z;
                if x > *lo && x < *hi {
                    x
                } else {
                    // outside: the truncated law by inversion (see above)
                    let u: f64 = rng.random();
                    window.quantile(*mean, *sd, *lo, *hi, u, 1.0 - u)
                }
            }
            Dist::LogNormal { mu, sigma, .. } => {
                let z = crate::sampling::ziggurat::standard_normal(rng);
                crate::sampling::exp(mu + sigma * z)
            }
            Dist::Gamma { sampler, .. } => sampler.sample(rng),
        }
    }

    /// The quantile (inverse CDF) at `u`: the `x` with `P(X ≤ x) = u`.
    ///
    /// Accurate to about 1e-13 relative or better over the whole of (0, 1)
    /// (the normal family to about 1e-15, the gamma and beta to the
    /// accuracy of their CDFs), the lower tail from `u` and the upper tail
    /// from `1 − u` (exact for `u ≥ 1/2`); for the far upper tail, where
    /// `1 − u` has lost its digits, use [`Dist::quantile_upper`].
    ///
    /// Ends: `u` is clamped to `[f64::MIN_POSITIVE, 1 − 2⁻⁵³]` (the largest
    /// `f64` below 1), so `u = 0` and `u = 1` give the quantiles at those
    /// extreme probabilities: always finite, and inside the parameter's
    /// domain (a truncated normal's quantile is strictly inside its range;
    /// a bounded form gives its ends up to rounding). Only a gamma with a
    /// small shape can then underflow to 0, as its sampler can. NaN gives
    /// NaN. A fixed value is its own quantile for every `u`.
    pub fn quantile(&self, u: f64) -> f64 {
        if u.is_nan() {
            return f64::NAN;
        }
        let p = u.clamp(U_MIN, U_MAX);
        self.inverse(p, 1.0 - p)
    }

    /// The upper-tail quantile: the `x` with `P(X > x) = q`, i.e.
    /// [`Dist::quantile`] at `1 − q` computed from `q` itself, accurate
    /// however small `q` is (e.g. `q = Φ(−z)` for a normal score `z`, where
    /// `Φ(z)` would round to 1 beyond `z ≈ 8.3`). `q` is clamped like `u`.
    pub fn quantile_upper(&self, q: f64) -> f64 {
        if q.is_nan() {
            return f64::NAN;
        }
        let q = q.clamp(U_MIN, U_MAX);
        self.inverse(1.0 - q, q)
    }

    /// The quantile given `p` and `q = 1 − p`, both in (0, 1): the lower
    /// half is computed from `p`, the upper half from `q`.
    fn inverse(&self, p: f64, q: f64) -> f64 {
        match self {
            Dist::Fixed(x) => *x,
            Dist::Uniform { lo, hi } => {
                if p <= 0.5 {
                    lo + (hi - lo) * p
                } else {
                    hi - (hi - lo) * q
                }
            }
            Dist::Triangular { min, mode, max } => triangular_quantile(*min, *mode, *max, p, q),
            Dist::ScaledBeta {
                min,
                range,
                alpha,
                beta,
                ..
            } => {
                if p <= 0.5 {
                    min + range * inverse::beta_lower_quantile(*alpha, *beta, p)
                } else {
                    (min + range) - range * inverse::beta_lower_quantile(*beta, *alpha, q)
                }
            }
            Dist::Normal {
                mean,
                sd,
                lo,
                hi,
                window,
                ..
            } => window.quantile(*mean, *sd, *lo, *hi, p, q),
            Dist::LogNormal { mu, sigma, .. } => {
                let z = if p <= 0.5 {
                    standard_normal_quantile(p)
                } else {
                    -standard_normal_quantile(q)
                };
                (mu + sigma * z).exp()
            }
            Dist::Gamma { shape, scale, .. } => scale * inverse::gamma_quantile(*shape, p, q),
        }
    }

    /// The CDF `P(X ≤ x)` (0 below the support, 1 above; NaN for NaN).
    /// Accurate relative to its value in the lower tail; in the upper tail
    /// use [`Dist::sf`].
    pub fn cdf(&self, x: f64) -> f64 {
        if x.is_nan() {
            return f64::NAN;
        }
        match self {
            Dist::Fixed(v) => {
                if x < *v {
                    0.0
                } else {
                    1.0
                }
            }
            Dist::Uniform { lo, hi } => ((x - lo) / (hi - lo)).clamp(0.0, 1.0),
            Dist::Triangular { min, mode, max } => {
                if x <= *min {
                    0.0
                } else if x >= *max {
                    1.0
                } else if x < *mode {
                    (x - min) * (x - min) / ((max - min) * (mode - min))
                } else {
                    // 1 − (max − x)²/(range·w) as a sum of positive terms
                    let (w, dx) = (max - mode, x - mode);
                    (mode - min) / (max - min) + dx * (2.0 * w - dx) / ((max - min) * w)
                }
            }
            Dist::ScaledBeta {
                min,
                range,
                alpha,
                beta,
                ..
            } => inverse::beta_i(*alpha, *beta, (x - min) / range),
            Dist::Normal {
                mean,
                sd,
                lo,
                hi,
                window,
                ..
            } => window.cdf(*mean, *sd, *lo, *hi, x),
            Dist::LogNormal { mu, sigma, .. } => {
                if x <= 0.0 {
                    0.0
                } else {
                    normal_cdf((x.ln() - mu) / sigma)
                }
            }
            Dist::Gamma { shape, scale, .. } => inverse::gamma_p(*shape, x / scale),
        }
    }

    /// The survival function `P(X > x) = 1 − cdf(x)`, accurate relative to
    /// its value in the upper tail.
    pub fn sf(&self, x: f64) -> f64 {
        if x.is_nan() {
            return f64::NAN;
        }
        match self {
            Dist::Fixed(v) => {
                if x < *v {
                    1.0
                } else {
                    0.0
                }
            }
            Dist::Uniform { lo, hi } => ((hi - x) / (hi - lo)).clamp(0.0, 1.0),
            Dist::Triangular { min, mode, max } => {
                if x <= *min {
                    1.0
                } else if x >= *max {
                    0.0
                } else if x < *mode {
                    let (l, dx) = (mode - min, mode - x);
                    (max - mode) / (max - min) + dx * (2.0 * l - dx) / ((max - min) * l)
                } else {
                    (max - x) * (max - x) / ((max - min) * (max - mode))
                }
            }
            Dist::ScaledBeta {
                min,
                range,
                alpha,
                beta,
                ..
            } => inverse::beta_i(*beta, *alpha, ((min + range) - x) / range),
            Dist::Normal {
                mean,
                sd,
                lo,
                hi,
                window,
                ..
            } => window.sf(*mean, *sd, *lo, *hi, x),
            Dist::LogNormal { mu, sigma, .. } => {
                if x <= 0.0 {
                    1.0
                } else {
                    normal_cdf(-(x.ln() - mu) / sigma)
                }
            }
            Dist::Gamma { shape, scale, .. } => inverse::gamma_q(*shape, x / scale),
        }
    }

    /// `min(floor(x / DAYS_PER_MONTH), limit)` for one draw `x`: whole months
    /// of a deal's cycle, with every value from `limit` on lumped together.
    ///
    /// Where a month table exists (beta/PERT, normal, lognormal, gamma), one
    /// `u64` samples it ([`MonthLaw::sample`]); otherwise (fixed, uniform, triangular — already
    /// one uniform or none) `x` is drawn and divided. Both give the law of
    /// `floor(x / DAYS_PER_MONTH)`; they consume the stream differently.
    #[inline]
    pub fn sample_months<R: Rng + ?Sized>(&self, limit: u64, rng: &mut R) -> u64 {
        match self.month_law() {
            Some(law) => law.sample(limit, rng),
            None => {
                // x ≥ 0 in every domain that holds a cycle; the saturating
                // conversion is the floor (and maps a negative x to 0)
                let months = (self.sample(rng) / DAYS_PER_MONTH) as u64;
                months.min(limit)
            }
        }
    }

    /// The month law of [`Dist::sample_months`], built on first use;
    /// `None` for the forms drawn directly (fixed, uniform, triangular) or
    /// when the CDF cannot be tabulated. Look it up once and use
    /// [`MonthLaw::sample`] in a loop to save the lookup per draw.
    #[inline]
    pub fn month_law(&self) -> Option<&MonthLaw> {
        match self {
            Dist::ScaledBeta { months, .. }
            | Dist::Normal { months, .. }
            | Dist::LogNormal { months, .. }
            | Dist::Gamma { months, .. } => months
                .0
                .get_or_init(|| months::month_cdf(self).map(|cdf| Arc::new(MonthLaw::new(cdf))))
                .as_deref(),
            _ => None,
        }
    }

    /// The CDF of the month law ([`Dist::month_law`]), if any.
    #[inline]
    pub fn month_table(&self) -> Option<&[f64]> {
        self.month_law().map(MonthLaw::cdf)
    }

    /// Is this a fixed number (no uncertainty)?
    pub fn is_fixed(&self) -> bool {
        matches!(self, Dist::Fixed(_))
    }

    /// The fixed value, if fixed.
    pub fn fixed_value(&self) -> Option<f64> {
        match self {
            Dist::Fixed(x) => Some(*x),
            _ => None,
        }
    }

    /// Analytic mean of the distribution; for the truncated normal, the
    /// exact mean of the truncated law, `mean + sd·(φ(a) − φ(b))/(Φ(b) −
    /// Φ(a))` in standard units.
    pub fn mean(&self) -> f64 {
        match self {
            Dist::Fixed(x) => *x,
            Dist::Uniform { lo, hi } => 0.5 * (lo + hi),
            Dist::Triangular { min, mode, max } => (min + mode + max) / 3.0,
            Dist::ScaledBeta {
                min,
                range,
                alpha,
                beta,
                ..
            } => min + range * alpha / (alpha + beta),
            Dist::Normal {
                mean, sd, window, ..
            } => window.mean(*mean, *sd),
            Dist::LogNormal { mu, sigma, .. } => (mu + 0.5 * sigma * sigma).exp(),
            Dist::Gamma { shape, scale, .. } => shape * scale,
        }
    }

    /// Multiply every draw by `factor > 0` (used by what-if scaling). A
    /// normal keeps the law of `factor·X`: `N(mean·f, (sd·f)²)` truncated
    /// to `(lo·f, hi·f)`.
    pub fn scaled(&self, factor: f64) -> Dist {
        match self {
            Dist::Fixed(x) => Dist::Fixed(x * factor),
            Dist::Uniform { lo, hi } => Dist::Uniform {
                lo: lo * factor,
                hi: hi * factor,
            },
            Dist::Triangular { min, mode, max } => Dist::Triangular {
                min: min * factor,
                mode: mode * factor,
                max: max * factor,
            },
            Dist::ScaledBeta {
                min,
                range,
                alpha,
                beta,
                sampler,
                gammas,
                ..
            } => Dist::ScaledBeta {
                min: min * factor,
                range: range * factor,
                alpha: *alpha,
                beta: *beta,
                sampler: *sampler,
                gammas: *gammas,
                months: MonthTable::default(),
            },
            Dist::Normal {
                mean,
                sd,
                lo,
                hi,
                window,
                ..
            } => Dist::Normal {
                mean: mean * factor,
                sd: sd * factor,
                lo: lo * factor,
                hi: hi * factor,
                // standard units do not change
                window: *window,
                months: MonthTable::default(),
            },
            Dist::LogNormal { mu, sigma, .. } => Dist::LogNormal {
                mu: mu + factor.ln(),
                sigma: *sigma,
                months: MonthTable::default(),
            },
            Dist::Gamma { shape, scale, .. } => {
                // valid before, and a positive factor keeps them valid
                grammar::gamma_dist(*shape, scale * factor).unwrap_or(Dist::Fixed(f64::NAN))
            }
        }
    }
}

/// The triangular quantile at `p` (with `q = 1 − p`). The sampler's
/// `min + √(p·range·(mode − min))` below the mode and `max − √(q·range·(max
/// − mode))` above, except on the far side of the mode, where the distance
/// from the mode is computed without cancellation: above the mode with
/// `p ≤ 1/2`, `x = mode + w·s/(1 + √(1 − s))` with `w = max − mode`,
/// `s = (p·range − (mode − min))/w` (and the mirror image below the mode
/// with `q < 1/2`), which keeps the relative accuracy of a quantile close
/// to `min` when the mode is at `min` (and close to `max` when it is at
/// `max`).
fn triangular_quantile(min: f64, mode: f64, max: f64, p: f64, q: f64) -> f64 {
    let range = max - min;
    let (left, right) = (mode - min, max - mode);
    if p < left / range {
        if q >= 0.5 {
            min + (p * range * left).sqrt()
        } else {
            let s = ((q * range - right) / left).clamp(0.0, 1.0);
            mode - left * s / (1.0 + (1.0 - s).sqrt())
        }
    } else if right == 0.0 {
        max
    } else if p > 0.5 {
        max - (q * range * right).sqrt()
    } else {
        let s = ((p * range - left) / right).clamp(0.0, 1.0);
        mode + right * s / (1.0 + (1.0 - s).sqrt())
    }
}

/// Standard normal CDF Φ(x) = `erfc(−x/√2)/2`, with fdlibm's `erfc`
/// (error below 1 ulp; statrs' has about 1e-10 relative error beyond 0.5)
/// and `−x/√2` carried to double-double precision in the lower tail (its
/// rounding alone would cost a relative `x²·ε`): accurate to a few ulps
/// relative over the whole line, the lower tail included. For the upper
/// tail use `normal_cdf(−x)`. 0 below about −38.5.
pub fn normal_cdf(x: f64) -> f64 {
    normal::std_cdf(x)
}

/// Why a distribution string was rejected (without the field path, which the
/// caller adds).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct DistError(pub String);

pub(crate) fn err<T>(msg: impl Into<String>) -> Result<T, DistError> {
    Err(DistError(msg.into()))
}

/// Build a fixed parameter, checking it against the domain.
pub fn fixed(x: f64, domain: Domain) -> Result<Dist, DistError> {
    if domain == Domain::Probability && x > 1.0 && x <= 100.0 {
        return err(format!(
            "expected {}; {} would be {}% — did you mean {} (or \"{}%\")?",
            domain.describe(),
            number_text(x),
            number_text(x * 100.0),
            number_text(x / 100.0),
            number_text(x)
        ));
    }
    if !x.is_finite() || !domain.contains(x) {
        return err(format!("expected {}", domain.describe()));
    }
    Ok(Dist::Fixed(x))
}

/// `dist` with every draw multiplied by `factor` (> 0), checked against the
/// domain again: a probability scaled past 1 is an error, not a clamp.
pub fn scaled_in_domain(dist: &Dist, factor: f64, domain: Domain) -> Result<Dist, DistError> {
    if !(factor > 0.0 && factor.is_finite()) {
        return err("expected a finite factor > 0, e.g. 1.3 for +30%");
    }
    let scaled = dist.scaled(factor);
    // The support of the scaled distribution: its ends, and whether they
    // are attained (closed) or only approached (open: a beta's, a
    // truncated normal's, a lognormal's or gamma's 0).
    let (lo, hi, open) = match &scaled {
        Dist::Fixed(x) => (*x, *x, false),
        Dist::Uniform { lo, hi } => (*lo, *hi, false),
        Dist::Triangular { min, max, .. } => (*min, *max, false),
        Dist::ScaledBeta { min, range, .. } => (*min, min + range, true),
        Dist::Normal { lo, hi, .. } => (*lo, *hi, true),
        Dist::LogNormal { .. } | Dist::Gamma { .. } => (0.0, f64::INFINITY, true),
    };
    let ok = if open {
        domain.contains_open_interval(lo, hi)
    } else if lo == hi {
        domain.contains(lo)
    } else {
        domain.contains_interval(lo, hi)
    };
    if !ok {
        let (l, r) = if open { ("(", ")") } else { ("[", "]") };
        return err(format!(
            "scaled by {} the values span {l}{}, {}{r}, which leaves the parameter's domain; expected {}",
            number_text(factor),
            number_text(lo),
            number_text(hi),
            domain.describe()
        ));
    }
    Ok(scaled)
}

/// A number as a message shows it: plain (`25000`, `0.35`) in everyday
/// ranges, scientific (`1e300`, `2.5e-9`) beyond them, so no message or
/// label ever holds a 300-digit number; `inf` where it overflowed.
pub fn number_text(x: f64) -> String {
    let a = x.abs();
    if x.is_nan() {
        "NaN".to_string()
    } else if x.is_infinite() {
        format!(
            "an overflow (beyond {}1.8e308)",
            if x < 0.0 { "-" } else { "" }
        )
    } else if a != 0.0 && !(1e-6..1e15).contains(&a) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use statrs::function::beta::beta_reg;

    #[test]
    fn beta_fit_hits_its_quantiles() {
        for (a, b) in [
            (0.4, 0.6),
            (0.65, 0.9),
            (0.1, 0.3),
            (0.01, 0.05),
            (0.05, 0.95),
        ] {
            let (al, be) = fit_beta_90(a, b).unwrap();
            assert!((beta_reg(al, be, a) - 0.05).abs() < 1e-6);
            assert!((beta_reg(al, be, b) - 0.95).abs() < 1e-6);
        }
    }

    /// `sample_months` (table inversion) and `floor(sample / month)` agree
    /// in law: two-sample chi-square over the months, for every form with
    /// a table and the fallbacks.
    #[test]
    fn sample_months_has_the_law_of_floored_draws() {
        use crate::engine::stream_rng;
        let reps = 200_000;
        let limit = 24u64;
        for (text, d) in [
            ("gamma(mean=85, sd=35)", Domain::Amount),
            ("gamma(shape=0.7, scale=60)", Domain::Amount),
            ("lognormal(median=90, p90=400)", Domain::Amount),
            ("normal(mean=40, sd=50)", Domain::Amount),
            ("normal(mean=200, sd=60)", Domain::Positive),
            ("pert(min=10, mode=60, max=400)", Domain::Amount),
            ("beta(alpha=2, beta=5)", Domain::Amount),
            ("triangular(min=0, mode=20, max=200)", Domain::Amount),
            ("uniform(min=5, max=100)", Domain::Amount),
            ("45", Domain::Amount),
        ]
        .into_iter()
        .map(|(text, domain)| (text.to_string(), parse(text, domain).unwrap()))
        .chain([
            // truncated on both sides: [0, 1] scaled to [0, 200] days
            (
                "normal(mean=0.7, sd=0.4) probability × 200".to_string(),
                parse("normal(mean=0.7, sd=0.4)", Domain::Probability)
                    .unwrap()
                    .scaled(200.0),
            ),
            (
                "normal(mean=0.3, sd=0.6) rate × 90".to_string(),
                parse("normal(mean=0.3, sd=0.6)", Domain::Rate)
                    .unwrap()
                    .scaled(90.0),
            ),
        ]) {
            let mut a = vec![0f64; limit as usize + 1];
            let mut b = vec![0f64; limit as usize + 1];
            let mut rng = stream_rng(5, 0, 9);
            for _ in 0..reps {
                a[d.sample_months(limit, &mut rng) as usize] += 1.0;
                let m = ((d.sample(&mut rng) / DAYS_PER_MONTH) as u64).min(limit);
                b[m as usize] += 1.0;
            }
            let (mut chi2, mut cells) = (0.0, 0usize);
            for (x, y) in a.iter().zip(&b) {
                if x + y > 0.0 {
                    chi2 += (x - y) * (x - y) / (x + y);
                    cells += 1;
                }
            }
            let dof = cells.saturating_sub(1).max(1) as f64;
            assert!(
                chi2 < dof + 6.0 * (2.0 * dof).sqrt(),
                "{text}: chi2 = {chi2} over {dof} degrees of freedom"
            );
        }
    }

    /// The alias table holds exactly the month law's probabilities: summing
    /// each outcome's share over the columns gives back the CDF's
    /// differences (to rounding), and a column's alias never has no mass.
    #[test]
    fn month_alias_table_reproduces_the_cdf() {
        for text in [
            "gamma(mean=85, sd=35)",
            "gamma(shape=0.7, scale=60)",
            "lognormal(median=90, p90=400)",
            "lognormal(median=3000, p90=90000)",
            "normal(mean=40, sd=50)",
            "pert(min=10, mode=60, max=400)",
            "beta(alpha=2, beta=5)",
        ] {
            let d = parse(text, Domain::Amount).unwrap();
            let law = d.month_law().unwrap();
            let cdf = law.cdf();
            let columns = law.alias.len();
            assert!(columns.is_power_of_two() && columns > cdf.len());
            let mut p = vec![0.0f64; cdf.len() + 1];
            let idx = |m: u32| (m as usize).min(cdf.len());
            for &(cut, own, other) in law.alias.iter() {
                assert!((0.0..=1.0).contains(&cut));
                p[idx(own)] += cut / columns as f64;
                p[idx(other)] += (1.0 - cut) / columns as f64;
            }
            let mut last = 0.0;
            for (j, &c) in cdf.iter().enumerate() {
                assert!((p[j] - (c - last)).abs() < 1e-14, "{text}: month {j}");
                last = c;
            }
            assert!(
                (p[cdf.len()] - (1.0 - last)).abs() < 1e-14,
                "{text}: beyond"
            );
            // limits lump the tail
            let mut rng = crate::engine::stream_rng(1, 2, 3);
            for _ in 0..1000 {
                assert!(law.sample(3, &mut rng) <= 3);
            }
        }
    }

    #[test]
    fn rejects_out_of_domain() {
        assert!(parse("1.3", Domain::Probability).is_err());
        // a normal is truncated to the domain, but needs half its mass inside
        assert!(parse("normal(mean=-0.5, sd=0.4)", Domain::Probability).is_err());
        assert!(parse("lognormal(median=1, p90=2)", Domain::Rate).is_err());
        assert!(parse("uniform(min=-1, max=2)", Domain::Amount).is_err());
        assert!(parse("uniform(min=0, max=2)", Domain::Positive).is_err());
        assert!(parse("beta(mean=0.4)", Domain::Probability).is_err());
        assert!(parse("0.4 to 1.2", Domain::Probability).is_err());
        assert!(parse("foo(x=1)", Domain::Amount).is_err());
        assert!(parse("lognormal(median=1, p90=2", Domain::Amount).is_err());
    }
}
