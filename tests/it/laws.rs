//! Shared helpers of the statistical tests (`grammar`, `model_laws`,
//! `coverage`, `determinism`): loading a scenario from TOML text, running
//! the engine, sample moments, and the assertions that compare an estimate
//! with its analytic value.
//!
//! Every statistical test runs with a fixed seed, and every tolerance on a
//! random quantity is derived from its standard error (4 SE unless stated),
//! never tuned until it passes:
//!
//! - a mean: `|x̄ − μ| ≤ 4·s/√n`;
//! - a variance: `|s² − σ²| ≤ 4·se(s²)` with
//!   `Var(s²) = μ₄/n − σ⁴(n−3)/(n(n−1))`, estimated from the sample's own
//!   fourth central moment;
//! - a proportion (an empirical CDF at an analytic quantile):
//!   `|F̂(q) − p| ≤ 4·√(p(1−p)/n)`.
//!
//! Quantities that the model fixes exactly (identities between metrics,
//! closed-form revenue of a known set of deals, common random numbers) are
//! checked exactly or to a relative error of 1e-9.
//!
//! The tests using these helpers, by module: funnel means and count
//! variances, sales capacity and its hypergeometric sharing, revenue, ARR
//! and open pipeline (`model_laws`); coverage of the reported CI of the
//! mean, the summary's quantiles and the Wilson interval (`coverage`);
//! common random numbers, stream independence and thread-count determinism
//! (`determinism`); and every distribution form of MODEL.md's table
//! (`grammar`, `dist_*`).
//!
//! Each of those tests was checked to fail on a deliberate mutation of the
//! code it guards (e.g. seasonality index shifted, rounding instead of
//! flooring the cycle, billing in the close month, first-come capacity
//! sharing, shared parameters drawn on a strategy stream, Z90/Z95 swapped,
//! clamping instead of redrawing a truncated normal, a Wald interval).

use std::path::Path;

use pipesim::dist::{self, Dist, Domain};
use pipesim::engine::{self, RunOptions, SimResults};
use pipesim::scenario::Scenario;

/// Number of standard errors allowed between an estimate and its expectation.
pub const Z_TOL: f64 = 4.0;

/// A scenario from TOML text; panics with the text if it does not load.
pub fn load(toml: &str) -> Scenario {
    Scenario::from_toml_str(toml, Path::new("statistics-test.toml"))
        .unwrap_or_else(|e| panic!("test scenario does not load: {e}\n{toml}"))
}

/// Simulate `trials` trials of `scn` with `seed` on `threads` workers.
pub fn run_threads(scn: &Scenario, trials: u64, seed: u64, threads: usize) -> SimResults {
    engine::simulate(
        scn,
        RunOptions {
            trials,
            seed,
            threads,
        },
        &|_| {},
    )
    .expect("thread pool")
}

/// [`run_threads`] on the default number of workers.
pub fn run(scn: &Scenario, trials: u64, seed: u64) -> SimResults {
    run_threads(scn, trials, seed, 0)
}

/// Sample mean, unbiased variance and fourth central moment.
pub struct Moments {
    pub n: f64,
    pub mean: f64,
    pub var: f64,
    pub m4: f64,
}

pub fn moments(xs: &[f64]) -> Moments {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let (mut s2, mut s4) = (0.0, 0.0);
    for x in xs {
        let d = x - mean;
        s2 += d * d;
        s4 += d * d * d * d;
    }
    Moments {
        n,
        mean,
        var: s2 / (n - 1.0),
        m4: s4 / n,
    }
}

/// `|x̄ − expected| ≤ 4·s/√n`.
pub fn assert_mean(xs: &[f64], expected: f64, what: &str) {
    let m = moments(xs);
    let se = (m.var / m.n).sqrt();
    assert!(
        (m.mean - expected).abs() <= Z_TOL * se,
        "{what}: sample mean {} vs analytic {expected}: off by {:.2} SE (se = {se})",
        m.mean,
        (m.mean - expected) / se
    );
}

/// `|s² − expected| ≤ 4·se(s²)`, `Var(s²) = μ₄/n − σ⁴(n−3)/(n(n−1))`.
pub fn assert_variance(xs: &[f64], expected: f64, what: &str) {
    let m = moments(xs);
    let var_s2 = m.m4 / m.n - m.var * m.var * (m.n - 3.0) / (m.n * (m.n - 1.0));
    let se = var_s2.max(0.0).sqrt();
    assert!(
        (m.var - expected).abs() <= Z_TOL * se,
        "{what}: sample variance {} vs analytic {expected}: off by {:.2} SE (se = {se})",
        m.var,
        (m.var - expected) / se
    );
}

/// Empirical CDF at `q` is `p` within `4·√(p(1−p)/n)`.
pub fn assert_ecdf(xs: &[f64], q: f64, p: f64, what: &str) {
    let n = xs.len() as f64;
    let f = xs.iter().filter(|x| **x <= q).count() as f64 / n;
    let se = (p * (1.0 - p) / n).sqrt();
    assert!(
        (f - p).abs() <= Z_TOL * se,
        "{what}: empirical CDF at the analytic P{:.0} = {q} is {f}, expected {p}: off by {:.2} SE",
        p * 100.0,
        (f - p) / se
    );
}

/// `|actual − expected| ≤ rel·max(|expected|, 1)`.
pub fn assert_rel(actual: f64, expected: f64, rel: f64, what: &str) {
    let tol = rel * expected.abs().max(1.0);
    assert!(
        (actual - expected).abs() <= tol,
        "{what}: got {actual}, expected {expected} (relative tolerance {rel})"
    );
}

/// Pearson's correlation coefficient of two equally long samples.
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let (ma, mb) = (moments(a).mean, moments(b).mean);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    sab / (saa * sbb).sqrt()
}

/// The four-stage funnel most statistical scenarios use.
pub const FUNNEL: &str = r#"
[funnel]
stages = ["lead", "mql", "sql", "won"]
handoff = "mql"
pipeline = "sql"
"#;

/// Samples per distribution: 4·√(0.25/n) = 0.0063 on an empirical CDF.
const DIST_N: usize = 100_000;

/// `DIST_N` draws of the distribution written `text`, on a stream keyed by
/// the text (so every form gets its own fixed draws); used by `grammar` and
/// by `coverage`'s quantile test.
pub fn sample(text: &str, domain: Domain) -> (Dist, Vec<f64>) {
    let d = dist::parse(text, domain).unwrap_or_else(|e| panic!("{text:?} does not parse: {e}"));
    let mut rng = engine::stream_rng(20_270_101, 0, engine::fnv1a(text.as_bytes()));
    let xs = (0..DIST_N).map(|_| d.sample(&mut rng)).collect();
    (d, xs)
}
