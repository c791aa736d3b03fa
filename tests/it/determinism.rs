//! Determinism: the numbers depend on the scenario and the seed only.
//!
//! Common random numbers (strategies share each trial's market, capacity
//! and revenue draws), stream independence by strategy name (removing or
//! reordering a strategy leaves the others bit-identical), the engine's
//! independence from the thread count, and the same for the command line's
//! output files and report.

use std::ffi::OsStr;
use std::path::Path;

use pipesim::engine::{self, SimResults};
use pipesim::metrics::{Metric, MonthlyMetric};

use crate::common::{FIXTURE, pipesim_ok, tmp};
use crate::laws::{FUNNEL, assert_rel, load, moments, pearson, run, run_threads};

// ---------------------------------------------- shared parameters (CRN)

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

// ------------------------------------------------------------ command line

/// Guards against results that depend on the thread count or on anything
/// but the scenario and the seed (MODEL.md "Determinism"), and against a
/// seed that is silently ignored.
#[test]
fn results_are_bit_identical_across_threads_and_runs() {
    let dir = tmp();
    let run = |name: &str, seed: &str, threads: &str, per_trial: bool| {
        let out = dir.path().join(name);
        let mut args = vec![
            OsStr::new("run"),
            OsStr::new(FIXTURE),
            OsStr::new("--trials"),
            OsStr::new("3000"),
            OsStr::new("--seed"),
            OsStr::new(seed),
            OsStr::new("--threads"),
            OsStr::new(threads),
            OsStr::new("-q"),
            OsStr::new("--out"),
            out.as_os_str(),
        ];
        if per_trial {
            args.push(OsStr::new("--per-trial"));
        }
        let (stdout, _) = pipesim_ok(&args);
        (out, stdout)
    };
    let read = |d: &Path, f: &str| std::fs::read(d.join(f)).expect(f);

    let (d1, report1) = run("d1", "11", "1", true);
    let (d2, report2) = run("d2", "11", "2", true);
    for f in ["summary.csv", "comparison.csv", "monthly.csv", "trials.csv"] {
        assert!(
            read(&d1, f) == read(&d2, f),
            "{f} differs between --threads 1 and --threads 2"
        );
    }
    assert_eq!(report1, report2, "the report depends on the thread count");

    let (d3, _) = run("d3", "11", "2", false);
    for f in ["summary.csv", "comparison.csv", "monthly.csv"] {
        assert!(
            read(&d2, f) == read(&d3, f),
            "{f} differs between two runs with the same seed"
        );
    }
    let (d4, _) = run("d4", "12", "2", false);
    assert!(
        read(&d3, "summary.csv") != read(&d4, "summary.csv"),
        "--seed 11 and --seed 12 give the same summary.csv"
    );
}
