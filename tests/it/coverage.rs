//! Coverage: the intervals pipesim reports have their nominal coverage.
//!
//! The Student-t CI of the mean over many independent seeds, the summary's
//! quantiles and outcome interval against analytic quantiles, and the exact
//! coverage of the Wilson interval behind P(metric ≥ target) and P(beats).
//! Tolerances are derived from standard errors as described in
//! [`crate::laws`].

use pipesim::dist::Domain;
use pipesim::metrics::Metric;
use pipesim::stats;
use statrs::distribution::{ContinuousCDF, Normal};

use crate::laws::{FUNNEL, Z_TOL, assert_mean, assert_rel, load, run_threads, sample};

/// Guards the Student-t confidence interval of the mean reported by
/// `stats::summarize` (mean, se, t quantile, level): over 400 independent
/// seeds of 150 trials each, the 95% CI of mean leads must cover the analytic
/// mean E[leads] = 100·12·E[demand] = 1200 (demand ~ Gamma(4, 0.25), mean 1,
/// skewness 1) between 92% and 98% of the time. With 400 runs the coverage
/// estimate has SE √(0.95·0.05/400) ≈ 1.1 points, so the band is ±2.7 SE.
/// Catches an se without √n, a z/t mix-up at the wrong level, or a CI built
/// from the outcome interval.
#[test]
fn ci_of_the_mean_has_nominal_coverage() {
    let scn = load(&format!(
        r#"
horizon_months = 12
{FUNNEL}
[market]
demand = "gamma(shape=4, scale=0.25)"
[strategy.s]
deal_size = 1000
cycle_days = 0
[[strategy.s.channel]]
leads_per_month = 100
cost_per_lead = 1
conversion = {{ mql = 0.5, sql = 0.5, won = 0.5 }}
"#
    ));
    let (runs, trials, truth) = (400u64, 150u64, 1200.0);
    let mut covered = 0;
    let mut misses_low = 0;
    for seed in 0..runs {
        let sim = run_threads(&scn, trials, 1000 + seed, 1);
        let s = stats::summarize(sim.strategies[0].metric(Metric::Leads), 0.95, 0.90);
        assert_eq!(s.n, trials);
        if s.ci_low <= truth && truth <= s.ci_high {
            covered += 1;
        } else if s.ci_high < truth {
            misses_low += 1;
        }
    }
    let rate = covered as f64 / runs as f64;
    assert!(
        (0.92..=0.98).contains(&rate),
        "95% CI covered the true mean in {covered}/{runs} runs ({rate}); {misses_low} misses below"
    );
}

/// Guards the quantiles and outcome interval of `stats::summarize` (type-7
/// order statistics at p5..p95 and the central `interval`): on 100 000 draws
/// of Normal(100, 15), the analytic CDF at each reported quantile q̂_p must be
/// p within 4·√(p(1−p)/n) (the asymptotic SE of F(q̂_p)), the 90% outcome
/// interval must be (p5, p95), and sd and se = sd/√n must match 15 and
/// 15/√n (sd within 4·15/√(2n), the SE of a normal sample's sd).
#[test]
fn summary_quantiles_match_analytic_quantiles() {
    let (_, xs) = sample("normal(mean=100, sd=15)", Domain::Amount);
    let n = xs.len() as f64;
    let s = stats::summarize(&xs, 0.95, 0.90);
    let exact = Normal::new(100.0, 15.0).unwrap();
    for (q, (p, name)) in s.quantiles.iter().zip(stats::QUANTILES) {
        let f = exact.cdf(*q);
        let se = (p * (1.0 - p) / n).sqrt();
        assert!(
            (f - p).abs() <= Z_TOL * se,
            "{name} = {q}: analytic CDF {f}, expected {p}"
        );
    }
    assert_eq!(s.interval_low, s.quantiles[0], "90% interval starts at p5");
    assert_eq!(s.interval_high, s.quantiles[6], "90% interval ends at p95");
    assert!(
        (s.sd - 15.0).abs() <= Z_TOL * 15.0 / (2.0 * n).sqrt(),
        "sd {}",
        s.sd
    );
    assert_rel(s.se, s.sd / n.sqrt(), 1e-12, "se = sd/√n");
    assert_mean(&xs, s.mean, "summary mean");
}

/// Guards `stats::wilson`, which reports P(metric ≥ target) and P(beats):
/// the exact coverage of its 95% interval, Σ_k P(K = k)·1[p ∈ CI(k)] for
/// K ~ Binomial(n, p) computed by enumerating k (no sampling, hence no SE),
/// must lie in [0.92, 0.98] for moderate n·p (Wilson's coverage oscillates
/// around the nominal level; Brown, Cai & DasGupta 2001), and the interval
/// must contain the point estimate k/n. Catches a Wald interval (which
/// under-covers badly at p = 0.05), a wrong z, or a missing z²/(2n) centre shift.
#[test]
fn wilson_interval_has_nominal_coverage() {
    use statrs::function::gamma::ln_gamma;
    for (n, p) in [
        (60u64, 0.15f64),
        (100, 0.3),
        (200, 0.5),
        (500, 0.05),
        (40, 0.8),
    ] {
        let nf = n as f64;
        let mut coverage = 0.0;
        for k in 0..=n {
            let kf = k as f64;
            let ln_pmf = ln_gamma(nf + 1.0) - ln_gamma(kf + 1.0) - ln_gamma(nf - kf + 1.0)
                + kf * p.ln()
                + (nf - kf) * (1.0 - p).ln();
            let w = stats::wilson(k, n, 0.95);
            assert!(w.low <= w.p && w.p <= w.high, "wilson({k}, {n}) = {w:?}");
            if w.low <= p && p <= w.high {
                coverage += ln_pmf.exp();
            }
        }
        assert!(
            (0.92..=0.98).contains(&coverage),
            "Wilson 95% interval covers p = {p} at n = {n} with probability {coverage}"
        );
    }
}
