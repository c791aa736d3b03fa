//! Grammar: every distribution form of MODEL.md's table (`dist_*`) against
//! its analytic law.
//!
//! Each form is parsed from its text and sampled 100,000 times on a fixed
//! stream; its sample mean, variance and empirical CDF at analytic
//! quantiles (from statrs) are compared with the exact values, within the
//! standard-error tolerances described in [`crate::laws`]. `Dist::mean` and
//! `Dist::scaled` are checked exactly (to 1e-9).

use pipesim::dist::{self, Dist, Domain};
use pipesim::engine;
use statrs::distribution::{Beta, Continuous, ContinuousCDF, Gamma, LogNormal, Normal, Triangular};

use crate::laws::{assert_ecdf, assert_mean, assert_rel, assert_variance, sample};

/// Sample mean within 4 SE of the analytic mean, and `Dist::mean` equal to it.
fn check_mean(text: &str, d: &Dist, xs: &[f64], mean: f64) {
    assert_mean(xs, mean, text);
    assert_rel(d.mean(), mean, 1e-9, &format!("{text}: Dist::mean"));
}

fn z(p: f64) -> f64 {
    Normal::standard().inverse_cdf(p)
}

/// Guards `uniform(min=, max=)`: mean (a+b)/2, variance (b−a)²/12, P30 = a + 0.3(b−a).
#[test]
fn dist_uniform() {
    let t = "uniform(min=2, max=5)";
    let (d, xs) = sample(t, Domain::Amount);
    check_mean(t, &d, &xs, 3.5);
    assert_variance(&xs, 9.0 / 12.0, t);
    assert_ecdf(&xs, 2.9, 0.3, t);
    assert!(xs.iter().all(|x| (2.0..=5.0).contains(x)));
}

/// Guards `triangular(min=, mode=, max=)` on both branches of its inverse
/// CDF: mean (a+c+b)/3, P10 left of the mode (F(mode) = 0.2) and P80 right
/// of it, from statrs' Triangular.
#[test]
fn dist_triangular() {
    let t = "triangular(min=1, mode=2, max=6)";
    let (d, xs) = sample(t, Domain::Amount);
    check_mean(t, &d, &xs, 3.0);
    let exact = Triangular::new(1.0, 6.0, 2.0).unwrap();
    assert_variance(&xs, (1.0 + 4.0 + 36.0 - 2.0 - 6.0 - 12.0) / 18.0, t);
    for p in [0.1, 0.8] {
        assert_ecdf(&xs, exact.inverse_cdf(p), p, t);
    }
}

/// Guards `pert(min=, mode=, max=)` (Beta-PERT, λ = 4): mean
/// (a + 4m + b)/6 = 190, and P10/P90 of a + (b−a)·Beta(1 + 4(m−a)/(b−a),
/// 1 + 4(b−m)/(b−a)).
#[test]
fn dist_pert() {
    let t = "pert(min=120, mode=180, max=300)";
    let (d, xs) = sample(t, Domain::Amount);
    check_mean(t, &d, &xs, (120.0 + 4.0 * 180.0 + 300.0) / 6.0);
    let b = Beta::new(1.0 + 4.0 * 60.0 / 180.0, 1.0 + 4.0 * 120.0 / 180.0).unwrap();
    for p in [0.1, 0.9] {
        assert_ecdf(&xs, 120.0 + 180.0 * b.inverse_cdf(p), p, t);
    }
}

/// Guards `normal(mean=, sd=)` where truncation is negligible (P(X<0) =
/// Φ(−6.7)): mean, variance and P90 = mean + sd·z(0.9).
#[test]
fn dist_normal() {
    let t = "normal(mean=100, sd=15)";
    let (d, xs) = sample(t, Domain::Amount);
    check_mean(t, &d, &xs, 100.0);
    assert_variance(&xs, 225.0, t);
    assert_ecdf(&xs, 100.0 + 15.0 * z(0.9), 0.9, t);
}

/// Guards the normal truncated at 0 by redrawing, for an amount (P(X<0) =
/// Φ(−0.5) ≈ 31% before truncation): no negative draw, mean
/// μ + σ·φ(α)/(1 − Φ(α)) with α = −μ/σ, and quantiles
/// q_p = μ + σ·Φ⁻¹(Φ(α) + p(1 − Φ(α))). Catches clamping at 0 (a point
/// mass at 0) instead of redrawing, or no truncation. For a positive
/// quantity (Domain::Positive) every draw must be > 0.
#[test]
fn dist_normal_truncated_at_zero() {
    let t = "normal(mean=1, sd=2)";
    let (d, xs) = sample(t, Domain::Amount);
    let std = Normal::standard();
    let alpha: f64 = -0.5;
    let tail = 1.0 - std.cdf(alpha);
    check_mean(t, &d, &xs, 1.0 + 2.0 * std.pdf(alpha) / tail);
    assert!(xs.iter().all(|x| *x >= 0.0), "a negative draw");
    for p in [0.05, 0.25, 0.75] {
        let q = 1.0 + 2.0 * z(std.cdf(alpha) + p * tail);
        assert_ecdf(&xs, q, p, t);
    }
    let (_, pos) = sample(t, Domain::Positive);
    assert!(
        pos.iter().all(|x| *x > 0.0),
        "a non-positive draw for a positive quantity"
    );
    assert_mean(
        &pos,
        1.0 + 2.0 * std.pdf(alpha) / tail,
        "normal(mean=1, sd=2) positive",
    );
}

/// N(mean, sd) truncated to [lo, hi]: its CDF at `x` and its mean.
fn truncated_normal(mean: f64, sd: f64, lo: f64, hi: f64) -> (impl Fn(f64) -> f64, f64) {
    let n = Normal::new(0.0, 1.0).unwrap();
    let (a, b) = ((lo - mean) / sd, (hi - mean) / sd);
    let mass = n.cdf(b) - n.cdf(a);
    let m = mean + sd * (n.pdf(a) - n.pdf(b)) / mass;
    let cdf = move |x: f64| (n.cdf((x.clamp(lo, hi) - mean) / sd) - n.cdf(a)) / mass;
    (cdf, m)
}

/// Guards MODEL.md's normal rule on a probability and on a rate: the law
/// is the normal truncated to the domain on both sides (the law of
/// redrawing until inside), sampled exactly. Empirical CDF at three points
/// and the mean against the truncated law's; every draw inside the domain.
#[test]
fn dist_normal_truncated_to_probability_and_rate() {
    for (t, domain, mean, sd, lo, hi) in [
        (
            "normal(mean=0.9, sd=0.2)",
            Domain::Probability,
            0.9,
            0.2,
            0.0,
            1.0,
        ),
        (
            "normal(mean=0.05, sd=0.06)",
            Domain::Probability,
            0.05,
            0.06,
            0.0,
            1.0,
        ),
        (
            "normal(mean=-0.7, sd=0.4)",
            Domain::Rate,
            -0.7,
            0.4,
            -1.0,
            1.0,
        ),
    ] {
        let (_, xs) = sample(t, domain);
        assert!(
            xs.iter().all(|x| *x >= lo && *x <= hi),
            "{t}: a draw left [{lo}, {hi}]"
        );
        let (cdf, m) = truncated_normal(mean, sd, lo, hi);
        assert_mean(&xs, m, t);
        for q in [mean - sd, mean, mean + 0.5 * sd] {
            if q > lo && q < hi {
                assert_ecdf(&xs, q, cdf(q), t);
            }
        }
    }
}

/// Guards `"A to B"` on `expansion_monthly` (a rate that may be
/// negative): a normal with P5 = A and P95 = B, truncated to (−1, 1) —
/// the draws have P5 = A and P95 = B (truncation is negligible here), and
/// negative values occur.
#[test]
fn dist_a_to_b_on_a_rate_is_a_normal() {
    let t = "-0.01 to 0.02";
    let (d, xs) = sample(t, Domain::Rate);
    assert!(matches!(d, Dist::Normal { .. }), "{t}: got {d:?}");
    assert_ecdf(&xs, -0.01, 0.05, t);
    assert_ecdf(&xs, 0.02, 0.95, t);
    assert_mean(&xs, 0.005, t);
    assert!(xs.iter().any(|x| *x < 0.0));
}

/// Guards `lognormal(median=, p90=)`: the median and P90 written are the
/// distribution's P50 and P90 (σ = ln(p90/median)/z(0.9)), and the mean is
/// exp(μ + σ²/2).
#[test]
fn dist_lognormal_median_p90() {
    let t = "lognormal(median=10, p90=20)";
    let (d, xs) = sample(t, Domain::Amount);
    let sigma = 2f64.ln() / z(0.9);
    check_mean(t, &d, &xs, (10f64.ln() + 0.5 * sigma * sigma).exp());
    assert_ecdf(&xs, 10.0, 0.5, t);
    assert_ecdf(&xs, 20.0, 0.9, t);
}

/// Guards `lognormal(mu=, sigma=)`: mean exp(μ + σ²/2), P25 and P95 from
/// statrs' LogNormal(μ, σ).
#[test]
fn dist_lognormal_mu_sigma() {
    let t = "lognormal(mu=1, sigma=0.5)";
    let (d, xs) = sample(t, Domain::Amount);
    check_mean(t, &d, &xs, (1.0f64 + 0.125).exp());
    let exact = LogNormal::new(1.0, 0.5).unwrap();
    for p in [0.25, 0.95] {
        assert_ecdf(&xs, exact.inverse_cdf(p), p, t);
    }
}

/// Guards `lognormal(mean=, sd=)`: the sample mean and variance are the ones
/// written (50 and 20²), and P75 matches the moment-matched lognormal
/// (σ² = ln(1 + sd²/mean²), μ = ln(mean) − σ²/2).
#[test]
fn dist_lognormal_mean_sd() {
    let t = "lognormal(mean=50, sd=20)";
    let (d, xs) = sample(t, Domain::Amount);
    check_mean(t, &d, &xs, 50.0);
    assert_variance(&xs, 400.0, t);
    let s2 = (1.0f64 + 0.16).ln();
    let exact = LogNormal::new(50f64.ln() - 0.5 * s2, s2.sqrt()).unwrap();
    assert_ecdf(&xs, exact.inverse_cdf(0.75), 0.75, t);
}

/// Guards `gamma(mean=, sd=)`: the sample mean and variance are the ones
/// written, and P90 matches Gamma(shape = mean²/sd², rate = mean/sd²).
#[test]
fn dist_gamma_mean_sd() {
    let t = "gamma(mean=85, sd=35)";
    let (d, xs) = sample(t, Domain::Amount);
    check_mean(t, &d, &xs, 85.0);
    assert_variance(&xs, 35.0 * 35.0, t);
    let exact = Gamma::new(85.0 * 85.0 / (35.0 * 35.0), 85.0 / (35.0 * 35.0)).unwrap();
    assert_ecdf(&xs, exact.inverse_cdf(0.9), 0.9, t);
}

/// Guards `gamma(shape=, scale=)` (scale, not rate): mean k·θ = 10,
/// variance k·θ² = 40, P10 from statrs' Gamma(k, rate 1/θ).
#[test]
fn dist_gamma_shape_scale() {
    let t = "gamma(shape=2.5, scale=4)";
    let (d, xs) = sample(t, Domain::Amount);
    check_mean(t, &d, &xs, 10.0);
    assert_variance(&xs, 40.0, t);
    let exact = Gamma::new(2.5, 0.25).unwrap();
    assert_ecdf(&xs, exact.inverse_cdf(0.1), 0.1, t);
}

/// Guards `beta(alpha=, beta=)`: mean α/(α+β), variance αβ/((α+β)²(α+β+1)),
/// median from statrs' Beta.
#[test]
fn dist_beta_alpha_beta() {
    let t = "beta(alpha=2, beta=5)";
    let (d, xs) = sample(t, Domain::Probability);
    check_mean(t, &d, &xs, 2.0 / 7.0);
    assert_variance(&xs, 10.0 / (49.0 * 8.0), t);
    let exact = Beta::new(2.0, 5.0).unwrap();
    assert_ecdf(&xs, exact.inverse_cdf(0.5), 0.5, t);
}

/// Guards `beta(mean=, n=)` with n = α + β: mean m, variance m(1−m)/(n+1),
/// P10 and P90 from Beta(m·n, (1−m)·n). A realistic n = 50 and a small
/// n = 4, where confusing n with n + 1 or with α would show in the spread.
#[test]
fn dist_beta_mean_n() {
    for (t, m, n) in [
        ("beta(mean=0.2, n=50)", 0.2, 50.0),
        ("beta(mean=0.3, n=4)", 0.3, 4.0),
    ] {
        let (d, xs) = sample(t, Domain::Probability);
        check_mean(t, &d, &xs, m);
        assert_variance(&xs, m * (1.0 - m) / (n + 1.0), t);
        let exact = Beta::new(m * n, (1.0 - m) * n).unwrap();
        for p in [0.1, 0.9] {
            assert_ecdf(&xs, exact.inverse_cdf(p), p, t);
        }
    }
}

/// Guards `"A to B"` for amounts and positive multipliers: a lognormal with
/// P5 = A and P95 = B (so the median is √(AB) and the mean
/// exp(μ + σ²/2) with μ = (ln A + ln B)/2, σ = (ln B − ln A)/(2·z(0.95))).
#[test]
fn dist_a_to_b_lognormal() {
    for (t, a, b, domain) in [
        ("100 to 400", 100.0f64, 400.0f64, Domain::Amount),
        ("2 to 8", 2.0, 8.0, Domain::Positive),
    ] {
        let (d, xs) = sample(t, domain);
        let mu = 0.5 * (a.ln() + b.ln());
        let sigma = (b.ln() - a.ln()) / (2.0 * z(0.95));
        check_mean(t, &d, &xs, (mu + 0.5 * sigma * sigma).exp());
        assert_ecdf(&xs, a, 0.05, t);
        assert_ecdf(&xs, (a * b).sqrt(), 0.5, t);
        assert_ecdf(&xs, b, 0.95, t);
    }
}

/// Guards `"A to B"` for probabilities and monthly rates: a beta with
/// P5 = A and P95 = B. The fitted (α, β) must put statrs' Beta CDF at 0.05
/// and 0.95 at A and B; the samples must have P5 = A, P95 = B (empirical
/// CDF) and mean α/(α+β); and every draw must be a probability.
#[test]
fn dist_a_to_b_beta() {
    for (t, a, b, domain) in [
        ("0.4 to 0.6", 0.4, 0.6, Domain::Probability),
        ("0.05 to 0.3", 0.05, 0.3, Domain::Probability),
        ("0.001 to 0.03", 0.001, 0.03, Domain::Probability),
    ] {
        let (d, xs) = sample(t, domain);
        let Dist::ScaledBeta {
            min,
            range,
            alpha,
            beta,
            ..
        } = d
        else {
            panic!("{t}: expected a beta for {domain:?}, got {d:?}");
        };
        assert_eq!((min, range), (0.0, 1.0), "{t}: a plain beta on [0, 1]");
        let exact = Beta::new(alpha, beta).unwrap();
        assert!(
            (exact.cdf(a) - 0.05).abs() < 1e-6,
            "{t}: fitted CDF(A) = {}",
            exact.cdf(a)
        );
        assert!(
            (exact.cdf(b) - 0.95).abs() < 1e-6,
            "{t}: fitted CDF(B) = {}",
            exact.cdf(b)
        );
        check_mean(t, &d, &xs, alpha / (alpha + beta));
        assert_ecdf(&xs, a, 0.05, t);
        assert_ecdf(&xs, b, 0.95, t);
        assert!(xs.iter().all(|x| (0.0..=1.0).contains(x)));
    }
}

/// Guards `Dist::scaled` (what-if scaling), whose contract is "multiply
/// every draw by `factor`": for every form, the scaled distribution driven
/// by the same random stream gives exactly `factor ×` the original draws
/// (to rounding, relative 1e-9), and its `mean()` is `factor × mean()`.
/// Catches a scaled lognormal that multiplies σ, a scaled beta/PERT that
/// moves only the minimum, or a gamma scaled through its shape.
#[test]
fn dist_scaled_multiplies_every_draw() {
    let factor = 2.5;
    for (t, domain) in [
        ("3.5", Domain::Amount),
        ("uniform(min=2, max=5)", Domain::Amount),
        ("triangular(min=1, mode=2, max=6)", Domain::Amount),
        ("pert(min=120, mode=180, max=300)", Domain::Amount),
        ("normal(mean=1, sd=2)", Domain::Amount),
        ("lognormal(median=10, p90=20)", Domain::Amount),
        ("gamma(shape=2.5, scale=4)", Domain::Amount),
        ("beta(alpha=2, beta=5)", Domain::Amount),
        ("100 to 400", Domain::Amount),
    ] {
        let d = dist::parse(t, domain).unwrap();
        let s = d.scaled(factor);
        assert_rel(
            s.mean(),
            factor * d.mean(),
            1e-9,
            &format!("{t}: scaled mean"),
        );
        let mut a = engine::stream_rng(7, 0, 1);
        let mut b = engine::stream_rng(7, 0, 1);
        for i in 0..10_000 {
            let (x, y) = (d.sample(&mut a), s.sample(&mut b));
            assert!(
                (y - factor * x).abs() <= 1e-9 * (factor * x).abs().max(1e-300),
                "{t}: draw {i}: scaled {y} vs {factor} × {x}"
            );
        }
    }
}
