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
//! - `"A to B"`: a 90% interval (P5 = A, P95 = B), fitted exactly as a
//!   lognormal for amounts, volumes, costs, durations and multipliers and as a
//!   beta for probabilities and monthly rates (solved numerically).
//!
//! Sampling internals: besides [`Dist::sample`], [`Dist::sample_months`]
//! draws `floor(x / DAYS_PER_MONTH)` (a deal's cycle in whole months)
//! directly from a table of the distribution's CDF at whole months — one
//! 64-bit draw and an alias-table lookup instead of a beta, gamma, normal
//! or lognormal draw (see [`MonthLaw`]). The table is built on first use
//! and kept with the distribution; it is exact up to the floating-point
//! accuracy of the CDF (about 1e-14 for the regularised incomplete gamma and
//! beta functions and the normal CDF), like any inversion sampler.

use std::sync::{Arc, OnceLock};

use rand::{Rng, RngExt};
use rand_distr::{Beta, Distribution, Gamma};
use statrs::function::beta::{beta_reg, checked_beta_reg};
use statrs::function::gamma::checked_gamma_lr;

use crate::scenario::{DAYS_PER_MONTH, MAX_HORIZON};

/// z such that Φ(z) = 0.90.
const Z90: f64 = 1.281_551_565_544_600_4;
/// z such that Φ(z) = 0.95.
const Z95: f64 = 1.644_853_626_951_472_2;

/// What values a parameter may take; a distribution whose support leaves the
/// domain is rejected when the scenario is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// A probability in [0, 1] (conversion rates).
    Probability,
    /// A non-negative amount: money, volumes, durations, head counts.
    Amount,
    /// A strictly positive quantity: multipliers, a cost per lead that divides a spend.
    Positive,
    /// A monthly rate in (−1, 1) (churn, expansion).
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

    fn what_to_use(self) -> &'static str {
        match self {
            Domain::Probability | Domain::Rate => {
                "use beta(mean=, n=), beta(alpha=, beta=), \"A to B\" with 0 < A < B < 1, or uniform/triangular/pert inside the range"
            }
            Domain::Amount | Domain::Positive => {
                "use lognormal, gamma, \"A to B\" with 0 < A < B, or uniform/triangular/pert with a non-negative minimum"
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
    /// Normal; `floor` = `Some(0.0)` truncates at 0 by redrawing (`strict`
    /// also redraws exactly 0, for positive quantities).
    Normal {
        mean: f64,
        sd: f64,
        truncate: Truncation,
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

/// The law of `floor(x / DAYS_PER_MONTH)` of a distribution, built on first
/// use (see [`Dist::sample_months`]); `None` inside when it cannot be
/// computed reliably, and the months are then drawn by sampling `x`.
#[derive(Debug, Clone, Default)]
pub struct MonthTable(OnceLock<Option<Arc<MonthLaw>>>);

/// The law of a deal's cycle in whole months: its CDF at whole months and
/// an alias table (Walker 1977, built by Vose's method) of the same
/// probabilities, for O(1), branch-free sampling.
///
/// Outcomes are the months `0..cdf.len()` plus one "beyond the table"
/// outcome (the mass `1 − cdf[last]`, zero unless the table stops at
/// [`MAX_HORIZON`]). The table has a power-of-two number of columns `2^b`
/// (unused columns hold no mass of their own), so one 64-bit draw gives
/// both the column (its low `b ≤ 10` bits) and a 53-bit uniform (its high
/// 53 bits) — disjoint bits, so the two are independent and exact. Column
/// `i` yields its own month when the uniform is below its cut, else its
/// alias. Each outcome's probability is reproduced up to the rounding of
/// the table's construction (a few 1e-16), the same order as the CDF's.
#[derive(Debug, Clone)]
pub struct MonthLaw {
    cdf: Box<[f64]>,
    /// Per column: (cut, month if below the cut, month otherwise); "beyond
    /// the table" is `u32::MAX`.
    alias: Box<[(f64, u32, u32)]>,
    /// `columns − 1`.
    mask: u64,
}

impl MonthLaw {
    /// Build from a CDF at whole months (non-decreasing, in [0, 1]).
    fn new(cdf: Box<[f64]>) -> MonthLaw {
        const BEYOND: u32 = u32::MAX;
        let outcomes = cdf.len() + 1;
        let columns = outcomes.next_power_of_two();
        let n = columns as f64;
        // mass of each outcome, times the number of columns
        let mut mass: Vec<f64> = Vec::with_capacity(columns);
        let mut last = 0.0;
        for &c in cdf.iter() {
            mass.push((c - last) * n);
            last = c;
        }
        mass.push((1.0 - last).max(0.0) * n);
        mass.resize(columns, 0.0);
        let month = |i: usize| -> u32 {
            if i < cdf.len() {
                u32::try_from(i).unwrap_or(BEYOND)
            } else {
                BEYOND
            }
        };
        let mut alias: Vec<(f64, u32, u32)> =
            (0..columns).map(|i| (1.0, month(i), month(i))).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) =
            (0..columns).partition(|&i| mass[i] < 1.0);
        while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
            small.pop();
            alias[s] = (mass[s], month(s), month(l));
            mass[l] = (mass[l] + mass[s]) - 1.0;
            if mass[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        // what is left holds mass 1 up to rounding: its own month always
        // (a column with no mass of its own never gets here: its deficit
        // of 1 is always covered, as the masses sum to `columns`)
        for i in small.into_iter().chain(large) {
            alias[i] = (1.0, month(i), month(i));
        }
        MonthLaw {
            cdf,
            alias: alias.into(),
            mask: columns as u64 - 1,
        }
    }

    /// `cdf[j] = P(months <= j)` for `j = 0, 1, …` until it reaches 1 or
    /// [`MAX_HORIZON`] entries.
    pub fn cdf(&self) -> &[f64] {
        &self.cdf
    }

    /// Whole months `min(j, limit)` for one draw `j` of the law: one
    /// `u64` from `rng`.
    #[inline(always)]
    pub fn sample<R: Rng + ?Sized>(&self, limit: u64, rng: &mut R) -> u64 {
        let bits = rng.next_u64();
        // the mask keeps the index in range; `get` just avoids a panic path
        let (cut, own, other) = match self.alias.get((bits & self.mask) as usize) {
            Some(&e) => e,
            None => (1.0, u32::MAX, u32::MAX),
        };
        // high 53 bits: a uniform on [0, 1) in steps of 2^-53
        let u = (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        let j = if u < cut { own } else { other };
        u64::from(j).min(limit)
    }
}

/// How a normal distribution is kept inside a non-negative domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truncation {
    None,
    /// Redraw negative values.
    AtZero,
    /// Redraw values <= 0.
    AboveZero,
}

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
                mean, sd, truncate, ..
            } => loop {
                let z = crate::ziggurat::standard_normal(rng);
                let x = mean + sd * z;
                let ok = match truncate {
                    Truncation::None => true,
                    Truncation::AtZero => x >= 0.0,
                    Truncation::AboveZero => x > 0.0,
                };
                if ok {
                    break x;
                }
            },
            Dist::LogNormal { mu, sigma, .. } => {
                let z = crate::ziggurat::standard_normal(rng);
                crate::sampling::exp(mu + sigma * z)
            }
            Dist::Gamma { sampler, .. } => sampler.sample(rng),
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
                .get_or_init(|| self.month_cdf().map(|cdf| Arc::new(MonthLaw::new(cdf))))
                .as_deref(),
            _ => None,
        }
    }

    /// The CDF of the month law ([`Dist::month_law`]), if any.
    #[inline]
    pub fn month_table(&self) -> Option<&[f64]> {
        self.month_law().map(MonthLaw::cdf)
    }

    /// `P(floor(x / DAYS_PER_MONTH) <= j)` for `j = 0, 1, …` until it
    /// reaches 1 or [`MAX_HORIZON`] entries; `None` when a CDF evaluation
    /// fails or is not a non-decreasing probability.
    fn month_cdf(&self) -> Option<Box<[f64]>> {
        // P(x < t), continuous, so P(x <= t) alike
        let cdf = |t: f64| -> Option<f64> {
            let c = match self {
                Dist::ScaledBeta {
                    min,
                    range,
                    alpha,
                    beta,
                    ..
                } => {
                    let y = (t - min) / range;
                    if y <= 0.0 {
                        0.0
                    } else if y >= 1.0 {
                        1.0
                    } else {
                        checked_beta_reg(*alpha, *beta, y).ok()?
                    }
                }
                Dist::Normal {
                    mean, sd, truncate, ..
                } => {
                    let phi = normal_cdf((t - mean) / sd);
                    match truncate {
                        Truncation::None => phi,
                        Truncation::AtZero | Truncation::AboveZero => {
                            if t <= 0.0 {
                                0.0
                            } else {
                                let below = normal_cdf(-mean / sd);
                                (phi - below) / (1.0 - below)
                            }
                        }
                    }
                }
                Dist::LogNormal { mu, sigma, .. } => {
                    if t <= 0.0 {
                        0.0
                    } else {
                        normal_cdf((t.ln() - mu) / sigma)
                    }
                }
                Dist::Gamma { shape, scale, .. } => {
                    if t <= 0.0 {
                        0.0
                    } else {
                        checked_gamma_lr(*shape, t / scale).ok()?
                    }
                }
                _ => return None,
            };
            (0.0..=1.0).contains(&c).then_some(c)
        };
        let mut table = Vec::new();
        let mut last = 0.0;
        for j in 1..=MAX_HORIZON {
            let c = cdf(j as f64 * DAYS_PER_MONTH)?;
            if c < last {
                return None;
            }
            table.push(c);
            last = c;
            if c >= 1.0 {
                break;
            }
        }
        Some(table.into())
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

    /// Analytic mean of the distribution (before truncation for a truncated
    /// normal, whose mean is computed exactly).
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
                mean, sd, truncate, ..
            } => match truncate {
                Truncation::None => *mean,
                _ => {
                    // mean of N(mean, sd²) truncated to [0, ∞)
                    let alpha = -mean / sd;
                    let phi = (-0.5 * alpha * alpha).exp() / (2.0 * std::f64::consts::PI).sqrt();
                    let tail = 1.0 - normal_cdf(alpha);
                    mean + sd * phi / tail
                }
            },
            Dist::LogNormal { mu, sigma, .. } => (mu + 0.5 * sigma * sigma).exp(),
            Dist::Gamma { shape, scale, .. } => shape * scale,
        }
    }

    /// Multiply every draw by `factor > 0` (used by what-if scaling).
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
                mean, sd, truncate, ..
            } => Dist::Normal {
                mean: mean * factor,
                sd: sd * factor,
                truncate: *truncate,
                months: MonthTable::default(),
            },
            Dist::LogNormal { mu, sigma, .. } => Dist::LogNormal {
                mu: mu + factor.ln(),
                sigma: *sigma,
                months: MonthTable::default(),
            },
            Dist::Gamma { shape, scale, .. } => {
                // valid before, and a positive factor keeps them valid
                gamma_dist(*shape, scale * factor).unwrap_or(Dist::Fixed(f64::NAN))
            }
        }
    }
}

/// Standard normal CDF (via statrs' erfc).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * statrs::function::erf::erfc(-x / std::f64::consts::SQRT_2)
}

/// Why a distribution string was rejected (without the field path, which the
/// caller adds).
#[derive(Debug, Clone, PartialEq)]
pub struct DistError(pub String);

impl std::fmt::Display for DistError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, DistError> {
    Err(DistError(msg.into()))
}

const FORMS: &str = "a number, \"A to B\", uniform(min=, max=), triangular(min=, mode=, max=), pert(min=, mode=, max=), normal(mean=, sd=), lognormal(median=, p90=) / (mu=, sigma=) / (mean=, sd=), gamma(mean=, sd=) / (shape=, scale=), beta(alpha=, beta=) / (mean=, n=)";

/// Build a fixed parameter, checking it against the domain.
pub fn fixed(x: f64, domain: Domain) -> Result<Dist, DistError> {
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
    // The support of the scaled distribution, as a closed interval.
    let (lo, hi) = match &scaled {
        Dist::Fixed(x) => (*x, *x),
        Dist::Uniform { lo, hi } => (*lo, *hi),
        Dist::Triangular { min, max, .. } => (*min, *max),
        Dist::ScaledBeta { min, range, .. } => (*min, min + range),
        Dist::Normal { .. } | Dist::LogNormal { .. } | Dist::Gamma { .. } => match domain {
            // unbounded above; the original already fitted a non-negative domain
            Domain::Amount | Domain::Positive => return Ok(scaled),
            Domain::Probability | Domain::Rate => (0.0, f64::INFINITY),
        },
    };
    let ok = if lo == hi {
        domain.contains(lo)
    } else {
        domain.contains_interval(lo, hi)
    };
    if !ok {
        return err(format!(
            "scaled by {factor} the values span [{lo}, {hi}], which leaves the parameter's domain; expected {}",
            domain.describe()
        ));
    }
    Ok(scaled)
}

/// Parse a distribution string and check it against the domain.
pub fn parse(text: &str, domain: Domain) -> Result<Dist, DistError> {
    let s = text.trim();
    if let Some(x) = parse_number(s) {
        return fixed(x, domain);
    }
    if let Some((a, b)) = split_to(s) {
        return interval90(a, b, domain);
    }
    let Some(open) = s.find('(') else {
        return err(format!("not a distribution; expected {FORMS}"));
    };
    if !s.ends_with(')') {
        return err(format!("missing closing ')'; expected {FORMS}"));
    }
    let name = s[..open].trim().to_ascii_lowercase();
    let args = parse_args(&s[open + 1..s.len() - 1])?;
    let keys: Vec<&str> = args.iter().map(|(k, _)| k.as_str()).collect();
    let get = |k: &str| args.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
    let want = |names: &[&str]| -> Option<Vec<f64>> {
        if keys.len() != names.len() {
            return None;
        }
        names.iter().map(|n| get(n)).collect()
    };
    match name.as_str() {
        "uniform" => match want(&["min", "max"]) {
            Some(v) => uniform(v[0], v[1], domain),
            None => err("uniform takes min= and max=, e.g. uniform(min=35, max=65)"),
        },
        "triangular" => match want(&["min", "mode", "max"]) {
            Some(v) => triangular(v[0], v[1], v[2], domain),
            None => err(
                "triangular takes min=, mode= and max=, e.g. triangular(min=35, mode=45, max=65)",
            ),
        },
        "pert" => match want(&["min", "mode", "max"]) {
            Some(v) => pert(v[0], v[1], v[2], domain),
            None => err("pert takes min=, mode= and max=, e.g. pert(min=120, mode=180, max=300)"),
        },
        "normal" => match want(&["mean", "sd"]) {
            Some(v) => normal(v[0], v[1], domain),
            None => err("normal takes mean= and sd=, e.g. normal(mean=100, sd=15)"),
        },
        "lognormal" => {
            if let Some(v) = want(&["median", "p90"]) {
                lognormal_median_p90(v[0], v[1], domain)
            } else if let Some(v) = want(&["mu", "sigma"]) {
                lognormal(v[0], v[1], domain)
            } else if let Some(v) = want(&["mean", "sd"]) {
                lognormal_mean_sd(v[0], v[1], domain)
            } else {
                err("lognormal takes (median=, p90=), (mu=, sigma=) or (mean=, sd=)")
            }
        }
        "gamma" => {
            if let Some(v) = want(&["mean", "sd"]) {
                if !(v[0] > 0.0 && v[1] > 0.0) {
                    return err("gamma needs mean > 0 and sd > 0");
                }
                gamma(v[0] * v[0] / (v[1] * v[1]), v[1] * v[1] / v[0], domain)
            } else if let Some(v) = want(&["shape", "scale"]) {
                gamma(v[0], v[1], domain)
            } else {
                err("gamma takes (mean=, sd=) or (shape=, scale=)")
            }
        }
        "beta" => {
            if let Some(v) = want(&["alpha", "beta"]) {
                beta(v[0], v[1], domain)
            } else if let Some(v) = want(&["mean", "n"]) {
                let (m, n) = (v[0], v[1]);
                if !(m > 0.0 && m < 1.0) {
                    return err("beta(mean=, n=) needs 0 < mean < 1");
                }
                if !(n > 0.0 && n.is_finite()) {
                    return err("beta(mean=, n=) needs n > 0 (n = alpha + beta)");
                }
                beta(m * n, (1.0 - m) * n, domain)
            } else {
                err("beta takes (alpha=, beta=) or (mean=, n=)")
            }
        }
        _ => err(format!("unknown distribution '{name}'; expected {FORMS}")),
    }
}

/// Parse a plain number, accepting `_` digit separators as TOML does.
fn parse_number(s: &str) -> Option<f64> {
    let cleaned: String = s.chars().filter(|c| *c != '_').collect();
    if cleaned.is_empty() {
        return None;
    }
    cleaned.parse::<f64>().ok().filter(|x| x.is_finite())
}

fn split_to(s: &str) -> Option<(f64, f64)> {
    let lower = s.to_ascii_lowercase();
    let pos = lower.find(" to ")?;
    let a = parse_number(s[..pos].trim())?;
    let b = parse_number(s[pos + 4..].trim())?;
    Some((a, b))
}

fn parse_args(inner: &str) -> Result<Vec<(String, f64)>, DistError> {
    let mut out: Vec<(String, f64)> = Vec::new();
    if inner.trim().is_empty() {
        return Ok(out);
    }
    for part in inner.split(',') {
        let Some((k, v)) = part.split_once('=') else {
            return err(format!("argument '{}' is not name=value", part.trim()));
        };
        let key = k.trim().to_ascii_lowercase();
        let Some(value) = parse_number(v.trim()) else {
            return err(format!(
                "argument {key}= has '{}', which is not a number",
                v.trim()
            ));
        };
        if out.iter().any(|(n, _)| *n == key) {
            return err(format!("argument {key}= is given twice"));
        }
        out.push((key, value));
    }
    Ok(out)
}

fn bounded_check(min: f64, max: f64, domain: Domain, what: &str) -> Result<(), DistError> {
    if !(min < max) {
        return err(format!("{what} needs min < max"));
    }
    if !domain.contains_interval(min, max) {
        return err(format!(
            "{what} on [{min}, {max}] leaves the parameter's domain; expected {}",
            domain.describe()
        ));
    }
    Ok(())
}

fn uniform(min: f64, max: f64, domain: Domain) -> Result<Dist, DistError> {
    bounded_check(min, max, domain, "uniform")?;
    Ok(Dist::Uniform { lo: min, hi: max })
}

fn triangular(min: f64, mode: f64, max: f64, domain: Domain) -> Result<Dist, DistError> {
    bounded_check(min, max, domain, "triangular")?;
    if !(min <= mode && mode <= max) {
        return err("triangular needs min <= mode <= max");
    }
    Ok(Dist::Triangular { min, mode, max })
}

fn pert(min: f64, mode: f64, max: f64, domain: Domain) -> Result<Dist, DistError> {
    bounded_check(min, max, domain, "pert")?;
    if !(min <= mode && mode <= max) {
        return err("pert needs min <= mode <= max");
    }
    let range = max - min;
    let a = 1.0 + 4.0 * (mode - min) / range;
    let b = 1.0 + 4.0 * (max - mode) / range;
    scaled_beta(min, range, a, b)
}

fn normal(mean: f64, sd: f64, domain: Domain) -> Result<Dist, DistError> {
    if !(sd > 0.0 && sd.is_finite() && mean.is_finite()) {
        return err("normal needs a finite mean and sd > 0");
    }
    let truncate = match domain {
        Domain::Probability | Domain::Rate => {
            return err(format!(
                "a normal distribution is unbounded, but this parameter must be {}; {}",
                domain.describe(),
                domain.what_to_use()
            ));
        }
        Domain::Amount => Truncation::AtZero,
        Domain::Positive => Truncation::AboveZero,
    };
    // Truncation redraws: refuse a distribution that almost never lands in
    // the domain (it would loop for a very long time).
    if normal_cdf(mean / sd) < 1e-6 {
        return err(format!(
            "normal(mean={mean}, sd={sd}) is almost entirely below 0; expected {}",
            domain.describe()
        ));
    }
    Ok(Dist::Normal {
        mean,
        sd,
        truncate,
        months: MonthTable::default(),
    })
}

fn unbounded_positive(domain: Domain, what: &str) -> Result<(), DistError> {
    match domain {
        Domain::Amount | Domain::Positive => Ok(()),
        Domain::Probability | Domain::Rate => err(format!(
            "a {what} distribution is unbounded above, but this parameter must be {}; {}",
            domain.describe(),
            domain.what_to_use()
        )),
    }
}

fn lognormal(mu: f64, sigma: f64, domain: Domain) -> Result<Dist, DistError> {
    unbounded_positive(domain, "lognormal")?;
    if !(mu.is_finite() && sigma > 0.0 && sigma.is_finite()) {
        return err("lognormal needs a finite mu and sigma > 0");
    }
    Ok(Dist::LogNormal {
        mu,
        sigma,
        months: MonthTable::default(),
    })
}

fn lognormal_median_p90(median: f64, p90: f64, domain: Domain) -> Result<Dist, DistError> {
    if !(median > 0.0 && p90 > median) {
        return err("lognormal(median=, p90=) needs 0 < median < p90");
    }
    lognormal(median.ln(), (p90 / median).ln() / Z90, domain)
}

fn lognormal_mean_sd(mean: f64, sd: f64, domain: Domain) -> Result<Dist, DistError> {
    if !(mean > 0.0 && sd > 0.0) {
        return err("lognormal(mean=, sd=) needs mean > 0 and sd > 0");
    }
    let s2 = (1.0 + (sd * sd) / (mean * mean)).ln();
    lognormal(mean.ln() - 0.5 * s2, s2.sqrt(), domain)
}

fn gamma(shape: f64, scale: f64, domain: Domain) -> Result<Dist, DistError> {
    unbounded_positive(domain, "gamma")?;
    if !(shape > 0.0 && scale > 0.0 && shape.is_finite() && scale.is_finite()) {
        return err("gamma needs shape > 0 and scale > 0");
    }
    gamma_dist(shape, scale)
}

fn gamma_dist(shape: f64, scale: f64) -> Result<Dist, DistError> {
    match Gamma::new(shape, scale) {
        Ok(sampler) => Ok(Dist::Gamma {
            shape,
            scale,
            sampler,
            months: MonthTable::default(),
        }),
        Err(e) => err(format!("invalid gamma: {e}")),
    }
}

fn scaled_beta(min: f64, range: f64, alpha: f64, beta: f64) -> Result<Dist, DistError> {
    if !(alpha > 0.0 && beta > 0.0 && alpha.is_finite() && beta.is_finite()) {
        return err("beta needs alpha > 0 and beta > 0");
    }
    let gammas = match (Gamma::new(alpha, 1.0), Gamma::new(beta, 1.0)) {
        (Ok(ga), Ok(gb)) => (ga, gb),
        (Err(e), _) | (_, Err(e)) => return err(format!("invalid beta: {e}")),
    };
    match Beta::new(alpha, beta) {
        Ok(sampler) => Ok(Dist::ScaledBeta {
            min,
            range,
            alpha,
            beta,
            sampler,
            gammas,
            months: MonthTable::default(),
        }),
        Err(e) => err(format!("invalid beta: {e}")),
    }
}

fn beta(a: f64, b: f64, _domain: Domain) -> Result<Dist, DistError> {
    // Support (0, 1) lies inside every domain.
    scaled_beta(0.0, 1.0, a, b)
}

fn interval90(a: f64, b: f64, domain: Domain) -> Result<Dist, DistError> {
    match domain {
        Domain::Amount | Domain::Positive => {
            if !(a > 0.0 && b > a) {
                return err(format!(
                    "\"A to B\" is a 90% interval fitted as a lognormal here; it needs 0 < A < B (got {a} to {b})"
                ));
            }
            let mu = 0.5 * (a.ln() + b.ln());
            let sigma = (b.ln() - a.ln()) / (2.0 * Z95);
            lognormal(mu, sigma, domain)
        }
        Domain::Probability | Domain::Rate => {
            if !(a > 0.0 && b > a && b < 1.0) {
                return err(format!(
                    "\"A to B\" is a 90% interval fitted as a beta here; it needs 0 < A < B < 1 (got {a} to {b})"
                ));
            }
            let (alpha, beta_) = fit_beta_90(a, b)?;
            beta(alpha, beta_, domain)
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

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
        for (text, domain) in [
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
        ] {
            let d = parse(text, domain).unwrap();
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
        assert!(parse("normal(mean=0.5, sd=0.1)", Domain::Probability).is_err());
        assert!(parse("lognormal(median=1, p90=2)", Domain::Rate).is_err());
        assert!(parse("uniform(min=-1, max=2)", Domain::Amount).is_err());
        assert!(parse("uniform(min=0, max=2)", Domain::Positive).is_err());
        assert!(parse("beta(mean=0.4)", Domain::Probability).is_err());
        assert!(parse("0.4 to 1.2", Domain::Probability).is_err());
        assert!(parse("foo(x=1)", Domain::Amount).is_err());
        assert!(parse("lognormal(median=1, p90=2", Domain::Amount).is_err());
    }
}
