//! Rank correlation between per-trial parameters (MODEL.md, "Rank
//! correlation between per-trial parameters"): the achieved Spearman
//! correlation of the drawn parameters matches the target within its
//! standard error at 20,000 trials, for pairs of different distribution
//! forms (including one that crosses strategies and one on a shared
//! channel), unlisted pairs stay independent, marginals are unchanged, and
//! bad `[[correlation]]` input is rejected with its field path before
//! anything is written.
//!
//! The standard error of Spearman's ρ̂ under a Gaussian copula is the
//! Bonett–Wright approximation `(1 − ρ²)·√((1 + ρ²/2)/(n − 3))`, checked
//! against the empirical spread of ρ̂ over replications in
//! `src/copula.rs`'s tests.

use pipesim::metrics::Metric;
use pipesim::params::{self, StrategyParams, TrialDraws};
use pipesim::scenario::Scenario;

use super::common::{pipesim, tmp, write};
use super::laws::{Z_TOL, assert_mean, load};

const N: u64 = 20_000;

const CORRELATED: &str = r#"
horizon_months = 6
[market]
demand = "0.8 to 1.25"
[revenue]
churn_monthly = "beta(mean=0.01, n=400)"
expansion_monthly = "normal(mean=0.005, sd=0.004)"
[funnel]
stages = ["lead", "mql", "sql", "won"]
handoff = "mql"
pipeline = "sql"
[channel.search]
cost_per_lead = "gamma(mean=120, sd=30)"
conversion = { mql = 0.4, sql = 0.3, won = 0.2 }
[strategy.a]
deal_size = 10000
cycle_days = 30
fixed_cost_per_month = "uniform(min=1000, max=3000)"
[[strategy.a.channel]]
leads_per_month = "200 to 300"
cost_per_lead = "triangular(min=30, mode=45, max=80)"
conversion = { mql = "beta(mean=0.3, n=50)", sql = "pert(min=0.1, mode=0.2, max=0.4)", won = 0.25 }
[[strategy.a.channel]]
use = "search"
spend_per_month = 10000
[strategy.b]
deal_size = 10000
cycle_days = 30
[[strategy.b.channel]]
spend_per_month = 10000
cost_per_lead = "lognormal(median=90, p90=140)"
conversion = { mql = 0.3, sql = 0.3, won = 0.2 }

[[correlation]]
between = ["market.demand", "strategy.a.channel[0].conversion.mql"]
rank = 0.4
[[correlation]]
between = ["strategy.a.channel[0].cost_per_lead", "strategy.b.channel[0].cost_per_lead"]
rank = 0.7
[[correlation]]
between = ["revenue.expansion_monthly", "revenue.churn_monthly"]
rank = -0.5
[[correlation]]
between = ["channel.search.cost_per_lead", "strategy.a.fixed_cost_per_month"]
rank = 0.3
[[correlation]]
between = ["strategy.a.channel[0].conversion.sql", "strategy.a.channel[0].leads_per_month"]
rank = -0.25
"#;

/// Ranks (1-based, no ties among continuous draws) of `xs`.
fn ranks(xs: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..xs.len()).collect();
    idx.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let mut r = vec![0.0; xs.len()];
    for (k, &i) in idx.iter().enumerate() {
        r[i] = k as f64 + 1.0;
    }
    r
}

fn spearman(a: &[f64], b: &[f64]) -> f64 {
    super::laws::pearson(&ranks(a), &ranks(b))
}

fn se_spearman(rho: f64, n: f64) -> f64 {
    (1.0 - rho * rho) * ((1.0 + rho * rho / 2.0) / (n - 3.0)).sqrt()
}

/// The drawn per-trial parameters of `n` trials, by name.
fn draws(scn: &Scenario, n: u64, seed: u64) -> Vec<(&'static str, Vec<f64>)> {
    let names = [
        "demand", "net_rate", "a.cpl0", "a.mql0", "a.sql0", "a.leads0", "a.cpl1", "a.fixed",
        "b.cpl0",
    ];
    let mut cols: Vec<Vec<f64>> = vec![Vec::with_capacity(n as usize); names.len()];
    let mut uniforms = Vec::new();
    let (mut pa, mut pb) = (StrategyParams::default(), StrategyParams::default());
    for trial in 0..n {
        params::draw_uniforms(scn, seed, trial, &mut uniforms);
        let at = TrialDraws::new(seed, trial, &uniforms);
        let shared = params::draw_shared(scn, &at);
        params::draw_strategy(scn, &scn.strategies[0], &shared, &at, &mut pa);
        params::draw_strategy(scn, &scn.strategies[1], &shared, &at, &mut pb);
        let c0 = &pa.channels[0];
        let row = [
            shared.demand,
            shared.net_rate,
            c0.cost_per_lead,
            // lead -> mql is the product up to the handoff: the mql rate
            c0.to_handoff,
            c0.to_pipeline.prob(),
            c0.base_lambda / shared.demand,
            pa.channels[1].cost_per_lead,
            pa.fixed_cost,
            pb.channels[0].cost_per_lead,
        ];
        for (c, x) in cols.iter_mut().zip(row) {
            c.push(x);
        }
    }
    names.into_iter().zip(cols).collect()
}

/// Guards the copula: each listed pair's achieved Spearman correlation is
/// its target within Z_TOL standard errors (pairs of different forms:
/// lognormal–beta, triangular–lognormal across strategies, truncated
/// normal–beta, gamma on a shared channel–uniform, PERT–lognormal), and
/// unlisted pairs are independent within the same bound.
#[test]
fn achieved_rank_correlations_match_their_targets() {
    let scn = load(CORRELATED);
    assert_eq!(scn.correlated.len(), 10);
    let d = draws(&scn, N, 7);
    let col = |name: &str| &d.iter().find(|(n, _)| *n == name).expect("column").1;
    let n = N as f64;
    // net_rate = expansion − churn: its ranks are not expansion's, so the
    // revenue pair is checked separately below through its own parameters
    for (a, b, rho) in [
        ("demand", "a.mql0", 0.4),
        ("a.cpl0", "b.cpl0", 0.7),
        ("a.cpl1", "a.fixed", 0.3),
        ("a.sql0", "a.leads0", -0.25),
        ("demand", "b.cpl0", 0.0),
        ("a.mql0", "a.cpl0", 0.0),
        ("a.fixed", "a.leads0", 0.0),
    ] {
        let got = spearman(col(a), col(b));
        let se = se_spearman(rho, n);
        assert!(
            (got - rho).abs() <= Z_TOL * se,
            "{a} ~ {b}: Spearman {got:.4}, target {rho} (se {se:.4})"
        );
    }
}

/// Guards the pair on `revenue`: expansion and churn are drawn through the
/// copula with rank −0.5 (read back from the copula's own uniforms, which
/// the inverse CDFs map monotonically, so their ranks are the parameters').
#[test]
fn revenue_parameters_are_correlated_too() {
    let scn = load(CORRELATED);
    let idx = |p: &str| {
        scn.correlated
            .iter()
            .position(|q| q == p)
            .expect("correlated")
    };
    let (e, c) = (
        idx("revenue.expansion_monthly"),
        idx("revenue.churn_monthly"),
    );
    let mut u = Vec::new();
    let (mut xe, mut xc) = (Vec::new(), Vec::new());
    for trial in 0..N {
        params::draw_uniforms(&scn, 3, trial, &mut u);
        xe.push(scn.revenue.expansion_monthly.dist.quantile(u[e]));
        xc.push(scn.revenue.churn_monthly.dist.quantile(u[c]));
    }
    let got = spearman(&xe, &xc);
    let se = se_spearman(-0.5, N as f64);
    assert!((got + 0.5).abs() <= Z_TOL * se, "Spearman {got}");
}

/// Guards the marginals: a parameter drawn through the copula keeps its
/// own law (means against the analytic means, within Z_TOL SE).
#[test]
fn correlated_parameters_keep_their_marginal_laws() {
    let scn = load(CORRELATED);
    let d = draws(&scn, N, 11);
    let col = |name: &str| &d.iter().find(|(n, _)| *n == name).expect("column").1;
    let a = &scn.strategies[0].channels[0];
    assert_mean(col("demand"), scn.market.demand.dist.mean(), "demand");
    assert_mean(col("a.cpl0"), a.cost_per_lead.dist.mean(), "triangular cpl");
    assert_mean(
        col("a.mql0"),
        a.conversion[0].dist.mean(),
        "beta conversion",
    );
    assert_mean(
        col("b.cpl0"),
        scn.strategies[1].channels[0].cost_per_lead.dist.mean(),
        "lognormal cpl",
    );
    assert_mean(
        col("a.fixed"),
        scn.strategies[0].fixed_cost_per_month.dist.mean(),
        "uniform fixed cost",
    );
}

/// Guards "a strategy that is in no correlation draws exactly as before":
/// a correlation between two of strategy a's own parameters leaves
/// strategy b's results bit-identical (and changes a's).
#[test]
fn a_strategy_in_no_correlation_draws_as_before() {
    let plain_text = CORRELATED
        .split("[[correlation]]")
        .next()
        .expect("text")
        .to_string();
    let text = format!(
        "{plain_text}[[correlation]]\nbetween = [\"strategy.a.fixed_cost_per_month\", \"strategy.a.channel[0].conversion.mql\"]\nrank = 0.6\n"
    );
    let (plain, corr) = (load(&plain_text), load(&text));
    let (x, y) = (
        super::laws::run(&plain, 2_000, 5),
        super::laws::run(&corr, 2_000, 5),
    );
    for m in Metric::ALL {
        let (p, q) = (x.strategies[1].metric(m), y.strategies[1].metric(m));
        for t in 0..p.len() {
            assert!(
                p[t].to_bits() == q[t].to_bits(),
                "{}: trial {t} changed",
                m.name()
            );
        }
    }
    assert_ne!(
        x.strategies[0].metric(Metric::Cost),
        y.strategies[0].metric(Metric::Cost),
        "strategy a should change"
    );
}

/// Guards the errors: each bad `[[correlation]]` exits 2 naming the field
/// path (and what would be valid), and writes nothing.
#[test]
fn bad_correlations_exit_2_with_the_path_and_write_nothing() {
    let dir = tmp();
    let base = CORRELATED
        .split("[[correlation]]")
        .next()
        .expect("text")
        .to_string();
    let cases: [(&str, &str, &str); 9] = [
        (
            "between = [\"market.demand\", \"strategy.a.channel[7].cost_per_lead\"]\nrank = 0.3",
            "correlation[0].between[1]",
            "no such parameter",
        ),
        (
            "between = [\"market.demand\", \"strategy.b.channel[0].spend_per_month\"]\nrank = 0.3",
            "correlation[0].between[1]",
            "fixed number",
        ),
        (
            "between = [\"market.demand\", \"strategy.a.deal_size\"]\nrank = 0.3",
            "correlation[0].between[1]",
            "per deal",
        ),
        (
            "between = [\"market.demand\", \"strategy.a.channel[0].cost_per_lead\"]\nrank = 1",
            "correlation[0].rank",
            "between -1 and 1",
        ),
        (
            "between = [\"market.demand\", \"strategy.a.channel[0].cost_per_lead\"]\nrank = -1.5",
            "correlation[0].rank",
            "between -1 and 1",
        ),
        (
            "between = [\"market.demand\", \"strategy.a.channel[1].cost_per_lead\"]\nrank = 0.3",
            "correlation[0].between[1]",
            "channel.search.cost_per_lead",
        ),
        (
            "between = [\"market.demand\", \"market.demand\"]\nrank = 0.3",
            "correlation[0].between",
            "same parameter",
        ),
        (
            "between = [\"market.demand\", \"strategy.a.channel[0].cost_per_lead\"]\nrank = 0.3\n[[correlation]]\nbetween = [\"strategy.a.channel[0].cost_per_lead\", \"market.demand\"]\nrank = 0.2",
            "correlation[1]",
            "already listed",
        ),
        (
            "between = [\"market.demand\", \"strategy.a.channel[0].cost_per_lead\"]\nrank = 0.6\n[[correlation]]\nbetween = [\"strategy.a.channel[0].cost_per_lead\", \"strategy.b.channel[0].cost_per_lead\"]\nrank = 0.6\n[[correlation]]\nbetween = [\"market.demand\", \"strategy.b.channel[0].cost_per_lead\"]\nrank = -0.6",
            "correlation[0] (market.demand, strategy.a.channel[0].cost_per_lead) = 0.6; correlation[1]",
            "not positive definite",
        ),
    ];
    for (i, (entry, path, what)) in cases.iter().enumerate() {
        let file = write(
            dir.path(),
            &format!("bad{i}.toml"),
            &format!("{base}[[correlation]]\n{entry}\n"),
        );
        let out = dir.path().join(format!("out{i}"));
        let (code, stdout, stderr) = pipesim([
            "run",
            file.to_str().expect("path"),
            "--trials",
            "100",
            "--out",
            out.to_str().expect("path"),
        ]);
        assert_eq!(code, 2, "case {i}: exit code; stderr: {stderr}");
        assert!(stderr.contains(path), "case {i}: {stderr}");
        assert!(stderr.contains(what), "case {i}: {stderr}");
        assert!(
            stderr.contains(&format!("bad{i}.toml")),
            "case {i}: {stderr}"
        );
        assert!(stdout.is_empty(), "case {i}: {stdout}");
        assert!(!out.exists(), "case {i}: output written");
    }
}
