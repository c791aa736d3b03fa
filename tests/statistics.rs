//! Statistical tests of the simulation engine against MODEL.md.
//!
//! Every test runs with a fixed seed, and every tolerance on a random
//! quantity is derived from its standard error (4 SE unless stated), never
//! tuned until it passes:
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
//! Groups, in file order: funnel means and count variances (1), sales
//! capacity and its hypergeometric sharing (2), revenue, ARR and open
//! pipeline (3), coverage of the reported CI of the mean, the summary's
//! quantiles and the Wilson interval (4), common random numbers, stream
//! independence and thread-count determinism (6), and every distribution
//! form of MODEL.md's table (`dist_*`, 5).
//!
//! Each test was checked to fail on a deliberate mutation of the code it
//! guards (e.g. seasonality index shifted, rounding instead of flooring the
//! cycle, billing in the close month, first-come capacity sharing, shared
//! parameters drawn on a strategy stream, Z90/Z95 swapped, clamping instead
//! of redrawing a truncated normal, a Wald interval).

use std::path::Path;

use pipesim::dist::{self, Dist, Domain};
use pipesim::engine::{self, RunOptions, SimResults};
use pipesim::metrics::{Metric, MonthlyMetric};
use pipesim::scenario::Scenario;
use pipesim::stats;
use statrs::distribution::{Beta, Continuous, ContinuousCDF, Gamma, LogNormal, Normal, Triangular};

// ------------------------------------------------------------------ helpers

/// Number of standard errors allowed between an estimate and its expectation.
const Z_TOL: f64 = 4.0;

fn load(toml: &str) -> Scenario {
    Scenario::from_toml_str(toml, Path::new("statistics-test.toml"))
        .unwrap_or_else(|e| panic!("test scenario does not load: {e}\n{toml}"))
}

fn run_threads(scn: &Scenario, trials: u64, seed: u64, threads: usize) -> SimResults {
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

fn run(scn: &Scenario, trials: u64, seed: u64) -> SimResults {
    run_threads(scn, trials, seed, 0)
}

/// Sample mean, unbiased variance and fourth central moment.
struct Moments {
    n: f64,
    mean: f64,
    var: f64,
    m4: f64,
}

fn moments(xs: &[f64]) -> Moments {
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
fn assert_mean(xs: &[f64], expected: f64, what: &str) {
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
fn assert_variance(xs: &[f64], expected: f64, what: &str) {
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
fn assert_ecdf(xs: &[f64], q: f64, p: f64, what: &str) {
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

fn assert_rel(actual: f64, expected: f64, rel: f64, what: &str) {
    let tol = rel * expected.abs().max(1.0);
    assert!(
        (actual - expected).abs() <= tol,
        "{what}: got {actual}, expected {expected} (relative tolerance {rel})"
    );
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let (ma, mb) = (moments(a).mean, moments(b).mean);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    sab / (saa * sbb).sqrt()
}

/// Monthly series of one trial: `series[k]` for `k = 0..H`.
fn monthly_of_trial(sim: &SimResults, s: usize, mm: MonthlyMetric, trial: usize) -> Vec<f64> {
    (0..sim.horizon)
        .map(|k| sim.monthly(s, mm, k)[trial])
        .collect()
}

const FUNNEL: &str = r#"
[funnel]
stages = ["lead", "mql", "sql", "won"]
handoff = "mql"
pipeline = "sql"
"#;

// ------------------------------------------------------- 1. funnel means

/// Guards the core funnel arithmetic: with fixed rates, unlimited capacity,
/// one Poisson channel and deals closing in their creation month, every
/// count is a thinned Poisson, so the means *and* variances of leads, mqls,
/// opportunities and won deals have closed forms; bookings and pipeline are
/// counts × the fixed deal size, cost is leads × cost per lead, and nothing
/// is left open. Catches a wrong stage mapping, a conversion applied twice or
/// skipped, a wrong λ, extra noise (overdispersion), or a cycle off by a month.
#[test]
fn funnel_means_match_closed_form() {
    let scn = load(&format!(
        r#"
horizon_months = 12
trials = 20000
seed = 11
{FUNNEL}
[strategy.s]
deal_size = 10000
cycle_days = 0
[[strategy.s.channel]]
name = "inbound"
leads_per_month = 50
cost_per_lead = 20
conversion = {{ mql = 0.4, sql = 0.25, won = 0.3 }}
"#
    ));
    let sim = run(&scn, 20_000, 11);
    let r = &sim.strategies[0];
    // λ = 50 leads/month (demand 1, seasonality 1), H = 12. Poisson(λ) per
    // month, binomially thinned at each stage, summed over independent
    // months, is Poisson with the product mean:
    //   leads ~ Poisson(λH)            = Poisson(600)
    //   mqls  ~ Poisson(λH·0.4)        = Poisson(240)
    //   opps  ~ Poisson(λH·0.4·0.25)   = Poisson(60)
    //   won   ~ Poisson(λH·0.4·0.25·0.3) = Poisson(18)   (cycle 0: c = m ≤ H−1)
    // so each mean equals its variance.
    let (lambda, h) = (50.0, 12.0);
    let expected = [
        (Metric::Leads, lambda * h),
        (Metric::Mqls, lambda * h * 0.4),
        (Metric::Opportunities, lambda * h * 0.4 * 0.25),
        (Metric::WonDeals, lambda * h * 0.4 * 0.25 * 0.3),
    ];
    for (m, mu) in expected {
        assert_mean(r.metric(m), mu, m.name());
        assert_variance(r.metric(m), mu, m.name());
    }
    // bookings = 10000 · won, E = 10000 · 18; pipeline = 10000 · opps.
    assert_mean(r.metric(Metric::Bookings), 10_000.0 * 18.0, "bookings");
    assert_mean(
        r.metric(Metric::PipelineCreated),
        10_000.0 * 60.0,
        "pipeline_created",
    );
    for t in 0..20_000 {
        let g = |m: Metric| r.metric(m)[t];
        assert_eq!(
            g(Metric::Bookings),
            10_000.0 * g(Metric::WonDeals),
            "trial {t}"
        );
        assert_eq!(
            g(Metric::PipelineCreated),
            10_000.0 * g(Metric::Opportunities),
            "trial {t}"
        );
        assert_eq!(
            g(Metric::Cost),
            20.0 * g(Metric::Leads),
            "trial {t}: cost = leads × cpl"
        );
        assert_eq!(
            g(Metric::OpenPipelineEnd),
            0.0,
            "trial {t}: cycle 0 leaves nothing open"
        );
        assert_eq!(g(Metric::MqlsIgnored), 0.0, "trial {t}: unlimited capacity");
    }
    // Month by month: leads ~ Poisson(λ) in every month, won ~ Poisson(λ·0.03).
    for m in 0..12 {
        let leads = sim.monthly(0, MonthlyMetric::Leads, m);
        assert_mean(leads, lambda, &format!("monthly leads[{m}]"));
        assert_variance(leads, lambda, &format!("monthly leads[{m}]"));
        let won = sim.monthly(0, MonthlyMetric::WonDeals, m);
        assert_mean(won, lambda * 0.03, &format!("monthly won_deals[{m}]"));
    }
}

/// Guards λ = spend / cost_per_lead × market.demand × seasonality[m mod 12]:
/// a spend-based channel over 24 months (so the seasonality index wraps) with
/// a fixed demand of 1.25. Each month's mean leads, opportunities and won
/// deals must follow the seasonal λ, and cost must be exactly spend × H.
/// Catches an unused or mis-indexed seasonality, demand left out, or a
/// spend channel read as leads.
#[test]
fn seasonal_spend_channel_means_follow_lambda() {
    let season = [0.5, 0.8, 1.0, 1.2, 1.5, 1.0, 0.7, 0.9, 1.1, 1.3, 1.0, 1.6];
    let season_toml = season.map(|s| s.to_string()).join(", ");
    let scn = load(&format!(
        r#"
horizon_months = 24
seasonality = [{season_toml}]
{FUNNEL}
[market]
demand = 1.25
[strategy.s]
deal_size = 5000
cycle_days = 0
[[strategy.s.channel]]
spend_per_month = 3000
cost_per_lead = 60
conversion = {{ mql = 0.5, sql = 0.2, won = 0.5 }}
"#
    ));
    let n = 10_000;
    let sim = run(&scn, n, 12);
    let r = &sim.strategies[0];
    // mean volume = 3000 / 60 = 50; λ_m = 50 · 1.25 · season[m mod 12].
    let lam = |m: usize| 50.0 * 1.25 * season[m % 12];
    for m in 0..24 {
        assert_mean(
            sim.monthly(0, MonthlyMetric::Leads, m),
            lam(m),
            &format!("leads[{m}]"),
        );
        assert_mean(
            sim.monthly(0, MonthlyMetric::Opportunities, m),
            lam(m) * 0.5 * 0.2,
            &format!("opportunities[{m}]"),
        );
        assert_mean(
            sim.monthly(0, MonthlyMetric::WonDeals, m),
            lam(m) * 0.5 * 0.2 * 0.5,
            &format!("won_deals[{m}]"),
        );
    }
    // Totals: leads ~ Poisson(Σ_m λ_m), bookings = 5000 · won.
    let total: f64 = (0..24).map(lam).sum();
    assert_mean(r.metric(Metric::Leads), total, "leads");
    assert_variance(r.metric(Metric::Leads), total, "leads");
    assert_mean(
        r.metric(Metric::Bookings),
        5000.0 * total * 0.05,
        "bookings",
    );
    for t in 0..n as usize {
        // a spend channel costs its spend, whatever the lead count
        assert_eq!(r.metric(Metric::Cost)[t], 3000.0 * 24.0, "trial {t}: cost");
    }
}

/// Guards the negative-binomial volume: with `volume_dispersion = k` the
/// monthly lead count has mean λ and variance λ + λ²/k (gamma–Poisson
/// mixture with a fresh gamma draw every month), and its binomial thinning
/// into MQLs is again negative binomial with mean λp and variance
/// λp + (λp)²/k. Catches a dispersion ignored (Poisson variance λ), a gamma
/// with the wrong scale, or one gamma draw held for the whole horizon (which
/// would make the 12-month total's variance 12λ + (12λ)²/k instead of
/// 12(λ + λ²/k)).
#[test]
fn volume_dispersion_gives_negative_binomial_variance() {
    let scn = load(&format!(
        r#"
horizon_months = 12
{FUNNEL}
[strategy.s]
deal_size = 1000
cycle_days = 0
[[strategy.s.channel]]
leads_per_month = 40
volume_dispersion = 5
cost_per_lead = 10
conversion = {{ mql = 0.5, sql = 0.2, won = 0.5 }}
"#
    ));
    let sim = run(&scn, 20_000, 13);
    let (lambda, k, p) = (40.0, 5.0, 0.5);
    // Var = λ + λ²/k = 40 + 1600/5 = 360.
    let var_leads = lambda + lambda * lambda / k;
    // Thinning NB(mean λ, size k) by p gives NB(mean λp, size k):
    // Var = 20 + 400/5 = 100.
    let var_mqls = lambda * p + (lambda * p) * (lambda * p) / k;
    for m in 0..12 {
        let leads = sim.monthly(0, MonthlyMetric::Leads, m);
        assert_mean(leads, lambda, &format!("leads[{m}]"));
        assert_variance(leads, var_leads, &format!("leads[{m}]"));
        let mqls = sim.monthly(0, MonthlyMetric::Mqls, m);
        assert_mean(mqls, lambda * p, &format!("mqls[{m}]"));
        assert_variance(mqls, var_mqls, &format!("mqls[{m}]"));
    }
    // Months are independent given the (fixed) parameters: Var(total) = 12·360.
    let total = sim.strategies[0].metric(Metric::Leads);
    assert_mean(total, 12.0 * lambda, "leads");
    assert_variance(total, 12.0 * var_leads, "leads");
}

// ------------------------------------------------------ 2. sales capacity

/// Guards the capacity rule when it binds in every month (handoff count M ≫
/// K = 4 × 25 = 100): exactly M − K members are ignored each month, so per
/// trial `mqls_ignored == mqls − K·H` exactly; and the K worked members are a
/// uniform sample across channels (multivariate hypergeometric), so each
/// channel's expected worked share is its share of the handoff count.
/// Catches channels worked in listed order (first come, first served), an
/// equal split between channels, or capacity applied to leads or opportunities.
#[test]
fn capacity_binding_ignores_excess_and_samples_channels_proportionally() {
    let scn = load(&format!(
        r#"
horizon_months = 6
{FUNNEL}
[sales]
reps = 4
mql_capacity_per_rep = 25
[strategy.s]
deal_size = 1000
cycle_days = 0
[[strategy.s.channel]]
name = "a"
leads_per_month = 1200
cost_per_lead = 1
conversion = {{ mql = 0.9, sql = 0.5, won = 1.0 }}
[[strategy.s.channel]]
name = "b"
leads_per_month = 800
cost_per_lead = 1
conversion = {{ mql = 1.0, sql = 0.1, won = 1.0 }}
"#
    ));
    let n = 20_000;
    let sim = run(&scn, n, 21);
    let r = &sim.strategies[0];
    let (k, h) = (100.0, 6.0);
    // Precondition of the test design: every month is over capacity.
    for m in 0..6 {
        let min = sim
            .monthly(0, MonthlyMetric::Mqls, m)
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        assert!(
            min > k,
            "month {m}: a month with only {min} MQLs; the test needs M > K"
        );
    }
    for t in 0..n as usize {
        assert_eq!(
            r.metric(Metric::MqlsIgnored)[t],
            r.metric(Metric::Mqls)[t] - k * h,
            "trial {t}: mqls_ignored must be mqls − K·H"
        );
    }
    // Handoff counts per month: M_a ~ Poisson(1200·0.9 = 1080) and
    // M_b ~ Poisson(800) independently, so given M = M_a + M_b,
    // M_a ~ Binomial(M, q) with q = 1080/1880. The worked count of channel a
    // is hypergeometric, W_a | M_a, M ~ HG(M, M_a, K), with
    // E[W_a | M_a, M] = K·M_a/M, hence E[W_a] = K·q exactly (M > K always).
    // Opportunities per month: E = 0.5·E[W_a] + 0.1·E[K − W_a]
    //                            = K·(0.5·1080 + 0.1·800)/1880.
    let per_month = k * (0.5 * 1080.0 + 0.1 * 800.0) / 1880.0;
    assert_mean(
        r.metric(Metric::Opportunities),
        h * per_month,
        "opportunities",
    );
    for m in 0..6 {
        assert_mean(
            sim.monthly(0, MonthlyMetric::Opportunities, m),
            per_month,
            &format!("opportunities[{m}]"),
        );
    }
}

/// Guards the multivariate hypergeometric draw itself, for the first, a
/// middle and the last channel (the sampler treats them differently): with
/// three channels whose handoff counts are Poisson with shares (0.5, 0.3,
/// 0.2) and only channel j converting (sql = 1, others 0), the month's
/// opportunities are channel j's worked count W_j. Mixing HG(M, M_j, K) over
/// M_j ~ Binomial(M, q_j) gives exactly W_j ~ Binomial(K, q_j): mean K·q_j,
/// variance K·q_j(1 − q_j), as long as M > K in every month. Four regimes
/// of the sampler: K = 100 of M ≈ 2000 (ratio-of-uniforms), K = 10 of
/// M ≈ 2000 (small mode: inversion), K = 250 of M ≈ 400 (more than half the
/// population sampled: the complement is drawn), and K = 100 of M ≈ 2100
/// with a small first channel (≈ 100 members), where rand_distr 0.6.0's
/// `Hypergeometric::new` returns `PopulationTooLarge` (e.g. N = 2093,
/// K = 93, n = 100); M ≤ K has probability < 1e-12 per month in each. Catches a biased or
/// mis-parameterised hypergeometric, channels worked first come first
/// served, or the remainder always handed to the last channel.
#[test]
fn capacity_worked_count_per_channel_is_binomial_k_q() {
    let regimes: [([f64; 3], u32, u32); 4] = [
        ([1000.0, 600.0, 400.0], 5, 20),
        ([1000.0, 600.0, 400.0], 2, 5),
        ([200.0, 120.0, 80.0], 10, 25),
        ([100.0, 150.0, 1850.0], 4, 25),
    ];
    let runs = regimes
        .iter()
        .flat_map(|regime| (0..3).map(move |j| (*regime, j)));
    for (r, ((leads, reps, per_rep), j)) in runs.enumerate() {
        let k = f64::from(reps * per_rep);
        let channels: String = leads
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let sql = if i == j { 1.0 } else { 0.0 };
                format!(
                    "[[strategy.s.channel]]\nname = \"c{i}\"\nleads_per_month = {l}\ncost_per_lead = 1\nconversion = {{ mql = 1.0, sql = {sql} }}\n"
                )
            })
            .collect();
        let scn = load(&format!(
            r#"
horizon_months = 6
[funnel]
stages = ["lead", "mql", "sql"]
handoff = "mql"
pipeline = "sql"
[sales]
reps = {reps}
mql_capacity_per_rep = {per_rep}
[strategy.s]
deal_size = 1000
cycle_days = 0
{channels}"#
        ));
        let sim = run(&scn, 20_000, 22 + r as u64);
        let q = leads[j] / leads.iter().sum::<f64>();
        for m in 0..6 {
            let mqls = sim.monthly(0, MonthlyMetric::Mqls, m);
            assert!(mqls.iter().all(|x| *x > k), "K = {k}: a month with M <= K");
            let opps = sim.monthly(0, MonthlyMetric::Opportunities, m);
            let what = format!("K = {k}: channel {j} worked in month {m}");
            assert_mean(opps, k * q, &what);
            assert_variance(opps, k * q * (1.0 - q), &what);
        }
        // Months independent: the 6-month total is Binomial(6K, q).
        let total = sim.strategies[0].metric(Metric::Opportunities);
        let what = format!("K = {k}: channel {j} total worked");
        assert_mean(total, 6.0 * k * q, &what);
        assert_variance(total, 6.0 * k * q * (1.0 - q), &what);
    }
}

/// Guards K = floor(reps × mql_capacity_per_rep) drawn once per trial and
/// held for the whole horizon: with reps ~ Uniform(2, 6) and 25 per rep,
/// K = floor(25·U) is uniform on the integers 50..=149 (mean 99.5), and
/// since every month is over capacity, the worked total mqls − mqls_ignored
/// is exactly H·K: a multiple of H in [50H, 149H]. Catches capacity redrawn
/// every month, rounding instead of flooring, or per-rep capacity ignored.
#[test]
fn uncertain_capacity_is_floored_and_held_for_the_horizon() {
    let scn = load(&format!(
        r#"
horizon_months = 6
{FUNNEL}
[sales]
reps = "uniform(min=2, max=6)"
mql_capacity_per_rep = 25
[strategy.s]
deal_size = 1000
cycle_days = 0
[[strategy.s.channel]]
leads_per_month = 2000
cost_per_lead = 1
conversion = {{ mql = 1.0, sql = 0.1, won = 0.5 }}
"#
    ));
    let n = 20_000;
    let sim = run(&scn, n, 23);
    let r = &sim.strategies[0];
    let h = 6.0;
    let ks: Vec<f64> = (0..n as usize)
        .map(|t| {
            let worked = r.metric(Metric::Mqls)[t] - r.metric(Metric::MqlsIgnored)[t];
            let kk = worked / h;
            assert_eq!(kk, kk.floor(), "trial {t}: worked {worked} is not H·K");
            assert!(
                (50.0..=149.0).contains(&kk),
                "trial {t}: K = {kk} outside 50..=149"
            );
            kk
        })
        .collect();
    // K uniform on {50, ..., 149}: mean 99.5, variance (100² − 1)/12.
    assert_mean(&ks, 99.5, "K");
    assert_variance(&ks, (100.0 * 100.0 - 1.0) / 12.0, "K");
}

/// Guards the "at most K: all are worked" branch: with M ~ Poisson(20) a
/// month and K = 100, nothing is ever ignored and the opportunity mean is the
/// unlimited-capacity one. Catches capacity that removes members even when
/// it does not bind.
#[test]
fn capacity_not_binding_ignores_nothing() {
    let scn = load(&format!(
        r#"
horizon_months = 12
{FUNNEL}
[sales]
reps = 4
mql_capacity_per_rep = 25
[strategy.s]
deal_size = 1000
cycle_days = 0
[[strategy.s.channel]]
leads_per_month = 40
cost_per_lead = 1
conversion = {{ mql = 0.5, sql = 0.5, won = 0.5 }}
"#
    ));
    let sim = run(&scn, 10_000, 24);
    let r = &sim.strategies[0];
    // P(Poisson(20) > 100) < 1e-30: the capacity never binds.
    assert!(r.metric(Metric::MqlsIgnored).iter().all(|x| *x == 0.0));
    // opps ~ Poisson(40·12·0.5·0.5 = 120)
    assert_mean(r.metric(Metric::Opportunities), 120.0, "opportunities");
    assert_variance(r.metric(Metric::Opportunities), 120.0, "opportunities");
}

// ------------------------------------------------------------- 3. revenue

/// Revenue and ARR of one trial from its monthly bookings, by the closed form
/// of MODEL.md (not by the recursion the engine uses):
/// `MRR_end(k) = Σ_{c ≤ k} (b_c/12)·(1+g)^(k−c)`,
/// `revenue = Σ_{k=1}^{H−1} MRR_end(k−1) = Σ_c (b_c/12)·Σ_{k=c+1}^{H−1} (1+g)^(k−1−c)`,
/// `arr_end = 12·MRR_end(H−1)`.
fn closed_form_revenue(bookings: &[f64], g: f64) -> (f64, f64, Vec<f64>) {
    let h = bookings.len();
    let mut revenue = 0.0;
    let mut arr = 0.0;
    for (c, b) in bookings.iter().enumerate() {
        let mrr = b / 12.0;
        revenue += mrr
            * (c + 1..h)
                .map(|k| (1.0 + g).powi((k - 1 - c) as i32))
                .sum::<f64>();
        arr += 12.0 * mrr * (1.0 + g).powi((h - 1 - c) as i32);
    }
    let mrr_end = (0..h)
        .map(|k| {
            (0..=k)
                .map(|c| bookings[c] / 12.0 * (1.0 + g).powi((k - c) as i32))
                .sum()
        })
        .collect();
    (revenue, arr, mrr_end)
}

/// Guards the revenue formula on single deals: in every trial with exactly
/// one won deal (fixed ACV = 24000, closing in month c found from the
/// monthly won_deals series), with g = 0.005 − 0.02 = −0.015,
/// revenue = ACV/12 · Σ_{k=c+1}^{H−1} (1+g)^(k−1−c) and
/// arr_end = ACV·(1+g)^(H−1−c), and MRR_end(k) = ACV/12·(1+g)^(k−c) from
/// month c on. Catches billing in the close month, compounding from the wrong
/// month, churn/expansion sign errors, or ARR not being 12 × the last MRR.
#[test]
fn revenue_of_a_single_won_deal_matches_closed_form() {
    let scn = load(&format!(
        r#"
horizon_months = 12
{FUNNEL}
[revenue]
churn_monthly = 0.02
expansion_monthly = 0.005
[strategy.s]
deal_size = 24000
cycle_days = 45
[[strategy.s.channel]]
leads_per_month = 0.2
cost_per_lead = 0
conversion = {{ mql = 1.0, sql = 1.0, won = 0.5 }}
"#
    ));
    let n = 5000;
    let sim = run(&scn, n, 31);
    let r = &sim.strategies[0];
    let (acv, g, h): (f64, f64, usize) = (24_000.0, 0.005 - 0.02, 12);
    let mut closes_seen = [0usize; 12];
    for t in 0..n as usize {
        if r.metric(Metric::WonDeals)[t] != 1.0 {
            continue;
        }
        let won = monthly_of_trial(&sim, 0, MonthlyMetric::WonDeals, t);
        let c = won
            .iter()
            .position(|w| *w == 1.0)
            .expect("the won deal's month");
        closes_seen[c] += 1;
        let revenue: f64 = acv / 12.0
            * (c + 1..h)
                .map(|k| (1.0 + g).powi((k - 1 - c) as i32))
                .sum::<f64>();
        let arr = acv * (1.0 + g).powi((h - 1 - c) as i32);
        assert_rel(
            r.metric(Metric::Revenue)[t],
            revenue,
            1e-9,
            &format!("trial {t} (c = {c}) revenue"),
        );
        assert_rel(
            r.metric(Metric::ArrEnd)[t],
            arr,
            1e-9,
            &format!("trial {t} (c = {c}) arr_end"),
        );
        assert_eq!(r.metric(Metric::Bookings)[t], acv, "trial {t} bookings");
        let mrr = monthly_of_trial(&sim, 0, MonthlyMetric::MrrEnd, t);
        for (k, v) in mrr.iter().enumerate() {
            let want = if k < c {
                0.0
            } else {
                acv / 12.0 * (1.0 + g).powi((k - c) as i32)
            };
            assert_rel(*v, want, 1e-9, &format!("trial {t} (c = {c}) mrr_end[{k}]"));
        }
    }
    // cycle_days = 45 → floor(45 / 30.4375) = 1: a deal created in month m
    // closes in m + 1, so no deal closes in month 0, and closes in months
    // 1..=11 (including the last month, whose revenue is 0) are all covered.
    assert_eq!(closes_seen[0], 0, "a 45-day deal cannot close in month 0");
    for (c, seen) in closes_seen.iter().enumerate().skip(1) {
        assert!(
            *seen > 0,
            "no single-deal trial closes in month {c}: the test did not exercise it"
        );
    }
}

/// Guards the consistency of revenue, ARR and the monthly series on general
/// trials (random deal sizes and cycles, many deals): per trial, revenue,
/// arr_end and every mrr_end[k] equal MODEL.md's closed form applied to the
/// monthly bookings series; the monthly won_deals and bookings sum to the
/// trial's totals; bookings never exceed pipeline_created.
#[test]
fn revenue_and_arr_follow_the_mrr_formula_on_monthly_bookings() {
    let scn = load(&format!(
        r#"
horizon_months = 18
{FUNNEL}
[revenue]
churn_monthly = 0.015
expansion_monthly = 0.006
[strategy.s]
deal_size = "lognormal(median=14000, p90=38000)"
cycle_days = "gamma(mean=85, sd=35)"
[[strategy.s.channel]]
leads_per_month = 300
cost_per_lead = 40
conversion = {{ mql = 0.4, sql = 0.15, won = "beta(mean=0.2, n=100)" }}
"#
    ));
    let n = 2000;
    let sim = run(&scn, n, 32);
    let r = &sim.strategies[0];
    let g = 0.006 - 0.015;
    for t in 0..n as usize {
        let b = monthly_of_trial(&sim, 0, MonthlyMetric::Bookings, t);
        let w = monthly_of_trial(&sim, 0, MonthlyMetric::WonDeals, t);
        let (revenue, arr, mrr_end) = closed_form_revenue(&b, g);
        assert_rel(
            r.metric(Metric::Revenue)[t],
            revenue,
            1e-9,
            &format!("trial {t} revenue"),
        );
        assert_rel(
            r.metric(Metric::ArrEnd)[t],
            arr,
            1e-9,
            &format!("trial {t} arr_end"),
        );
        let mrr = monthly_of_trial(&sim, 0, MonthlyMetric::MrrEnd, t);
        for (k, (got, want)) in mrr.iter().zip(&mrr_end).enumerate() {
            assert_rel(*got, *want, 1e-9, &format!("trial {t} mrr_end[{k}]"));
        }
        assert_rel(
            r.metric(Metric::Bookings)[t],
            b.iter().sum(),
            1e-12,
            &format!("trial {t} Σ bookings"),
        );
        assert_eq!(
            r.metric(Metric::WonDeals)[t],
            w.iter().sum::<f64>(),
            "trial {t} Σ won_deals"
        );
        assert!(r.metric(Metric::Bookings)[t] <= r.metric(Metric::PipelineCreated)[t]);
    }
    // The test must have exercised real revenue.
    assert!(moments(r.metric(Metric::Revenue)).mean > 0.0);
}

/// Guards the close month c = m + floor(cycle_days / 30.4375) and the
/// open-pipeline rule: with a fixed 121-day cycle, floor(121 / 30.4375) = 3
/// (rounding would give 4), so deals created in months H−3..H−1 close at
/// c ≥ H and are still open at the end, whatever their outcome; the others
/// close three months after creation. Per trial:
/// open_pipeline_end = ACV × (opportunities of months 9, 10, 11) exactly,
/// no deal is won in months 0..2, and the deals won in month k never exceed
/// the opportunities of month k − 3. In distribution, with
/// μ = 30·0.5·0.4 = 6 opportunities a month and p_win = 0.25:
/// E[open_pipeline_end] = 3·μ·ACV and won_deals ~ Poisson(9·μ·0.25 = 13.5).
#[test]
fn deals_beyond_the_horizon_stay_open() {
    let scn = load(&format!(
        r#"
horizon_months = 12
{FUNNEL}
[strategy.s]
deal_size = 8000
cycle_days = 121
[[strategy.s.channel]]
leads_per_month = 30
cost_per_lead = 5
conversion = {{ mql = 0.5, sql = 0.4, won = 0.25 }}
"#
    ));
    let n = 20_000;
    let sim = run(&scn, n, 33);
    let r = &sim.strategies[0];
    let (acv, h, lag) = (8000.0, 12usize, 3usize);
    for t in 0..n as usize {
        let opps = monthly_of_trial(&sim, 0, MonthlyMetric::Opportunities, t);
        let won = monthly_of_trial(&sim, 0, MonthlyMetric::WonDeals, t);
        let late: f64 = opps[h - lag..].iter().sum();
        assert_eq!(
            r.metric(Metric::OpenPipelineEnd)[t],
            acv * late,
            "trial {t}: open pipeline"
        );
        assert_eq!(
            r.metric(Metric::PipelineCreated)[t],
            acv * r.metric(Metric::Opportunities)[t]
        );
        for k in 0..h {
            if k < lag {
                assert_eq!(won[k], 0.0, "trial {t}: a deal won in month {k} < 3");
            } else {
                assert!(
                    won[k] <= opps[k - lag],
                    "trial {t}: month {k} wins more than month {} created",
                    k - lag
                );
            }
        }
    }
    let mu = 30.0 * 0.5 * 0.4;
    assert_mean(
        r.metric(Metric::OpenPipelineEnd),
        3.0 * mu * acv,
        "open_pipeline_end",
    );
    assert_mean(r.metric(Metric::WonDeals), 9.0 * mu * 0.25, "won_deals");
    assert_variance(r.metric(Metric::WonDeals), 9.0 * mu * 0.25, "won_deals");
    assert_mean(
        r.metric(Metric::Bookings),
        acv * 9.0 * mu * 0.25,
        "bookings",
    );
}

// ------------------------------------------------------------ 4. coverage

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

// ---------------------------------------------- 6. shared parameters (CRN)

/// Guards common random numbers: two identical strategies under different
/// names share each trial's market.demand, sales capacity and revenue rates
/// (drawn from the shared stream), but have their own count noise.
/// With demand ~ Uniform(0.5, 3) the demand spread (sd of 12-month leads
/// ≈ 24000·0.72) dwarfs the Poisson noise (≈ √24000), so their lead counts
/// must correlate > 0.9; with every month over capacity, their worked
/// totals mqls − mqls_ignored = 9·K must be equal trial by trial; and the
/// net rate 1 + g = MRR_end(10)/MRR_end(9) (no bookings after month 8, as
/// seasonality is 0 there) must be equal trial by trial. Catches shared
/// parameters drawn on the strategy streams (independent per strategy).
#[test]
fn strategies_share_market_capacity_and_revenue_draws() {
    let strategy = |name: &str| {
        format!(
            r#"
[strategy.{name}]
deal_size = "lognormal(median=10000, p90=20000)"
cycle_days = 0
[[strategy.{name}.channel]]
leads_per_month = 2000
cost_per_lead = 1
conversion = {{ mql = 1.0, sql = 0.2, won = 0.5 }}
"#
        )
    };
    let scn = load(&format!(
        r#"
horizon_months = 12
seasonality = [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]
{FUNNEL}
[market]
demand = "uniform(min=0.5, max=3)"
[revenue]
churn_monthly = "beta(mean=0.03, n=50)"
expansion_monthly = "uniform(min=0, max=0.02)"
[sales]
reps = "uniform(min=3, max=6)"
mql_capacity_per_rep = 40
{}{}"#,
        strategy("alpha"),
        strategy("beta")
    ));
    let n = 4000;
    let sim = run(&scn, n, 41);
    let (a, b) = (&sim.strategies[0], &sim.strategies[1]);
    let rho = pearson(a.metric(Metric::Leads), b.metric(Metric::Leads));
    assert!(
        rho > 0.9,
        "lead counts of identical strategies correlate only {rho}"
    );
    assert_ne!(
        a.metric(Metric::Leads),
        b.metric(Metric::Leads),
        "two strategies must have their own streams (keyed by name)"
    );
    let mut net_rates = Vec::new();
    for t in 0..n as usize {
        let worked = |r: &engine::StrategyResults| {
            r.metric(Metric::Mqls)[t] - r.metric(Metric::MqlsIgnored)[t]
        };
        assert_eq!(
            worked(a),
            worked(b),
            "trial {t}: capacity K differs between strategies"
        );
        assert_eq!(worked(a) % 9.0, 0.0, "trial {t}: worked is not 9·K");
        let rate = |s: usize| {
            let m9 = sim.monthly(s, MonthlyMetric::MrrEnd, 9)[t];
            let m10 = sim.monthly(s, MonthlyMetric::MrrEnd, 10)[t];
            assert!(m9 > 0.0, "trial {t}: strategy {s} has no MRR to compound");
            m10 / m9
        };
        assert_rel(
            rate(0),
            rate(1),
            1e-12,
            &format!("trial {t}: 1 + g differs between strategies"),
        );
        net_rates.push(rate(0));
    }
    // And the shared draws do vary from trial to trial.
    assert!(moments(&net_rates).var > 0.0);
}

/// Guards stream independence by strategy name: removing a strategy, or
/// listing the strategies in another order, leaves the remaining strategy's
/// per-trial metrics and monthly series bit-identical (MODEL.md: "adding or
/// removing a strategy changes no other strategy's numbers").
#[test]
fn removing_or_reordering_a_strategy_leaves_the_other_bit_identical() {
    let header = format!(
        r#"
horizon_months = 9
{FUNNEL}
[market]
demand = "0.8 to 1.3"
[revenue]
churn_monthly = "beta(mean=0.02, n=200)"
[sales]
reps = "uniform(min=2, max=4)"
mql_capacity_per_rep = 30
"#
    );
    let alpha = r#"
[strategy.alpha]
deal_size = "lognormal(median=9000, p90=20000)"
cycle_days = "gamma(mean=60, sd=30)"
[[strategy.alpha.channel]]
leads_per_month = "300 to 500"
volume_dispersion = 10
cost_per_lead = "uniform(min=20, max=40)"
conversion = { mql = "beta(mean=0.3, n=100)", sql = "0.2 to 0.4", won = "beta(mean=0.25, n=80)" }
"#;
    let beta = r#"
[strategy.beta]
deal_size = "gamma(mean=15000, sd=5000)"
cycle_days = "pert(min=20, mode=50, max=150)"
fixed_cost_per_month = 1000
[[strategy.beta.channel]]
spend_per_month = 20000
cost_per_lead = "triangular(min=60, mode=80, max=120)"
conversion = { mql = "0.3 to 0.5", sql = "beta(alpha=4, beta=12)", won = 0.3 }
[[strategy.beta.channel]]
leads_per_month = 80
cost_per_lead = 50
conversion = { mql = 0.6, sql = 0.3, won = "0.2 to 0.35" }
"#;
    let both = load(&format!("{header}{alpha}{beta}"));
    let only_beta = load(&format!("{header}{beta}"));
    let reordered = load(&format!("{header}{beta}{alpha}"));
    let (n, seed) = (1500, 42);
    let s_both = run(&both, n, seed);
    let s_only = run(&only_beta, n, seed);
    let s_reord = run(&reordered, n, seed);
    let bits = |xs: &[f64]| xs.iter().map(|x| x.to_bits()).collect::<Vec<u64>>();
    let capacity_binds = s_both.strategies[1]
        .metric(Metric::MqlsIgnored)
        .iter()
        .any(|x| *x > 0.0);
    assert!(
        capacity_binds,
        "the test should exercise the shared capacity"
    );
    for m in Metric::ALL {
        let want = bits(s_both.strategies[1].metric(m));
        assert_eq!(
            bits(s_only.strategies[0].metric(m)),
            want,
            "{} changed when alpha was removed",
            m.name()
        );
        assert_eq!(
            bits(s_reord.strategies[0].metric(m)),
            want,
            "{} changed when reordered",
            m.name()
        );
        assert_eq!(
            bits(s_reord.strategies[1].metric(m)),
            bits(s_both.strategies[0].metric(m)),
            "alpha's {} changed when reordered",
            m.name()
        );
    }
    for mm in MonthlyMetric::ALL {
        for k in 0..9 {
            let want = bits(s_both.monthly(1, mm, k));
            assert_eq!(
                bits(s_only.monthly(0, mm, k)),
                want,
                "monthly {}[{k}] changed",
                mm.name()
            );
        }
    }
}

/// Guards MODEL.md's determinism: the same scenario and seed give the same
/// numbers bit for bit on 1 and 2 worker threads, over several 512-trial
/// chunks (and a partial last one); a different seed gives different numbers.
#[test]
fn results_do_not_depend_on_thread_count() {
    let scn = load(&format!(
        r#"
horizon_months = 6
{FUNNEL}
[market]
demand = "0.8 to 1.2"
[strategy.s]
deal_size = "lognormal(median=10000, p90=20000)"
cycle_days = "gamma(mean=40, sd=20)"
[[strategy.s.channel]]
leads_per_month = 100
volume_dispersion = 8
cost_per_lead = 10
conversion = {{ mql = 0.3, sql = 0.3, won = 0.3 }}
"#
    ));
    let one = run_threads(&scn, 1300, 5, 1);
    let two = run_threads(&scn, 1300, 5, 2);
    let other = run_threads(&scn, 1300, 6, 2);
    for m in Metric::ALL {
        let bits = |s: &SimResults| {
            s.strategies[0]
                .metric(m)
                .iter()
                .map(|x| x.to_bits())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            bits(&one),
            bits(&two),
            "{} depends on the thread count",
            m.name()
        );
    }
    assert_eq!(one.strategies[0].monthly, two.strategies[0].monthly);
    assert_ne!(
        one.strategies[0].metric(Metric::Leads),
        other.strategies[0].metric(Metric::Leads)
    );
}

// ---------------------------------------------------- 5. distributions

/// Samples per distribution: 4·√(0.25/n) = 0.0063 on an empirical CDF.
const DIST_N: usize = 100_000;

fn sample(text: &str, domain: Domain) -> (Dist, Vec<f64>) {
    let d = dist::parse(text, domain).unwrap_or_else(|e| panic!("{text:?} does not parse: {e}"));
    let mut rng = engine::stream_rng(20_270_101, 0, engine::fnv1a(text.as_bytes()));
    let xs = (0..DIST_N).map(|_| d.sample(&mut rng)).collect();
    (d, xs)
}

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
        ("0.01 to 0.03", 0.01, 0.03, Domain::Rate),
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
