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

mod fit;
mod grammar;
mod months;

use std::sync::Arc;

use rand::{Rng, RngExt};
use rand_distr::{Beta, Distribution, Gamma};

use crate::calendar::DAYS_PER_MONTH;

pub use fit::fit_beta_90;
pub use grammar::parse;
pub use months::{MonthLaw, MonthTable};

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
                let z = crate::sampling::ziggurat::standard_normal(rng);
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
                let z = crate::sampling::ziggurat::standard_normal(rng);
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
                grammar::gamma_dist(*shape, scale * factor).unwrap_or(Dist::Fixed(f64::NAN))
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
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct DistError(pub String);

pub(crate) fn err<T>(msg: impl Into<String>) -> Result<T, DistError> {
    Err(DistError(msg.into()))
}

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
