//! Count samplers used on the hot path: Poisson, gamma–Poisson, binomial and
//! (multivariate) hypergeometric.
//!
//! Counts are drawn as counts (never one draw per lead), so large volumes
//! cost no more than small ones. The hypergeometric sampler is our own:
//! rand_distr 0.6.0's `Hypergeometric::new` fails with `PopulationTooLarge`
//! in part of its range (e.g. N = 2093, K = 93, n = 100: a factorial product
//! overflows), which would bias how sales capacity is shared between
//! channels. Ours is exact inversion over the probability mass function,
//! built from pmf ratios so it never overflows.

use rand::{Rng, RngExt};
use rand_distr::{Binomial, Distribution, Gamma, Poisson};

/// Largest expected monthly count simulated as Poisson; larger means are
/// used as-is (and capped here), keeping every count sum far from overflow.
pub const MAX_MONTHLY_LAMBDA: f64 = 1e15;

/// Binomial(n, p) count.
#[inline]
pub fn binomial<R: Rng + ?Sized>(n: u64, p: f64, rng: &mut R) -> u64 {
    if n == 0 || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return n;
    }
    match Binomial::new(n, p) {
        Ok(b) => b.sample(rng),
        Err(_) => 0, // unreachable for n > 0 and p in (0, 1)
    }
}

/// Poisson(λ) count; 0 for λ ≤ 0.
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
    match Poisson::new(lambda) {
        Ok(p) => p.sample(rng) as u64,
        Err(_) => 0,
    }
}

/// Poisson(λ), or with `dispersion = Some(k)` the gamma–Poisson mixture with
/// mean λ and variance λ + λ²/k (negative binomial).
#[inline]
pub fn lead_count<R: Rng + ?Sized>(lambda: f64, dispersion: Option<f64>, rng: &mut R) -> u64 {
    match dispersion {
        None => poisson(lambda, rng),
        Some(k) => {
            if !(lambda > 0.0) {
                return 0;
            }
            let rate = match Gamma::new(k, lambda / k) {
                Ok(g) => g.sample(rng),
                Err(_) => lambda,
            };
            poisson(rate, rng)
        }
    }
}

/// Hypergeometric count: successes among `draws` items taken without
/// replacement from `total` items of which `successes` are successes.
///
/// Exact inversion: the unnormalised pmf is walked outwards from the mode by
/// its ratio recurrences (no factorials, no overflow), first to total its
/// mass, then to invert a uniform. Cost is proportional to the standard
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
    let mode = (((n + 1.0) * (k + 1.0)) / (total as f64 + 2.0)).floor() as u64;
    let mode = mode.clamp(lo, hi);

    // Total mass relative to w(mode) = 1, stopping where terms are negligible.
    const NEGLIGIBLE: f64 = 1e-17;
    let mut sum = 1.0;
    let (mut w, mut x) = (1.0, mode);
    while x < hi {
        w *= up(x);
        x += 1;
        sum += w;
        if w < sum * NEGLIGIBLE {
            break;
        }
    }
    let (mut w, mut x) = (1.0, mode);
    while x > lo {
        w *= down(x);
        x -= 1;
        sum += w;
        if w < sum * NEGLIGIBLE {
            break;
        }
    }

    // Inversion, alternating above and below the mode.
    let mut u = rng.random::<f64>() * sum - 1.0;
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
            // only reachable through rounding in the last ulp of `sum`
            return mode;
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
