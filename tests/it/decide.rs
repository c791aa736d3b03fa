//! The decision tools against closed forms: the goal seek (`plan`) on a
//! Poisson channel whose answer is known, the sensitivity analysis on a
//! measure linear in independent normal inputs (rank correlations,
//! variance shares, decile means and swings known), EVPI and EVPPI of a
//! two-strategy decision known exactly, the engine's strategy subsets,
//! and the commands' outputs. Tolerances follow `crate::laws` (4 standard
//! errors of the estimate unless exact).

use std::f64::consts::PI;

use pipesim::engine;
use pipesim::experiment::{self, Goal, Outcome, PlanSpec, RunSpec, SensitivitySpec, TargetKind};
use pipesim::metrics::Metric;
use statrs::distribution::{ContinuousCDF, Gamma, Normal};

use crate::common::{pipesim, pipesim_ok, read_csv, tmp, write};

const BUDGET: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/scenarios/budget-volume-vs-quality.toml"
);
use crate::laws::{FUNNEL, Z_TOL, load};

/// One strategy, one spend channel with fixed rates, deals closing in
/// their creation month: won deals ~ Poisson(12 · spend/100 · 0.05).
fn poisson_scenario(dir: &std::path::Path) -> std::path::PathBuf {
    write(
        dir,
        "poisson.toml",
        &format!(
            r#"
name = "poisson goal"
horizon_months = 12
trials = 10000
seed = 7
{FUNNEL}
[strategy.s]
deal_size = 10000
cycle_days = 0
[[strategy.s.channel]]
name = "paid"
spend_per_month = 5000
cost_per_lead = 100
conversion = {{ mql = 0.5, sql = 0.4, won = 0.25 }}
"#
        ),
    )
}

/// Guards the goal seek: P(bookings ≥ 300,000) = P(won ≥ 30) with won ~
/// Poisson(μ), μ = 0.006 · spend; P(N ≥ k) = P(Gamma(k, 1) ≤ μ), so the
/// spend giving 80% is `Gamma(30, 1).inverse_cdf(0.8) / 0.006`. The plan's
/// reported uncertainty range must contain it, and be narrow.
#[test]
fn plan_finds_the_closed_form_spend_within_its_uncertainty() {
    let dir = tmp();
    let file = poisson_scenario(dir.path());
    let goal = Goal::parse("bookings>=300000@80%").unwrap_or_else(|e| panic!("{e}"));
    let spec = PlanSpec::new(
        &file,
        goal,
        "strategy.s.channel[0].spend_per_month",
        1000.0,
        20000.0,
    );
    let plan = experiment::plan(&spec, &()).unwrap_or_else(|e| panic!("{e}"));
    let mu = Gamma::new(30.0, 1.0)
        .unwrap_or_else(|e| panic!("{e}"))
        .inverse_cdf(0.8);
    let truth = mu / 0.006;
    let Outcome::Found {
        value,
        other,
        range,
        range_open,
        answer_range,
    } = plan.outcome
    else {
        panic!("no answer: {:?}", plan.outcome)
    };
    assert!(
        value > other,
        "a larger spend helps: the smallest is wanted"
    );
    assert!(plan.monotone && plan.increasing == Some(true));
    assert!(!range_open.0 && !range_open.1);
    assert!(
        range.0 <= truth && truth <= range.1,
        "closed form {truth} outside the reported range {range:?} (answer {value})"
    );
    assert!(answer_range.0 <= value && value <= answer_range.1);
    assert!(answer_range.0 == range.0 && answer_range.1 > range.1);
    assert!(range.1 - range.0 < 0.1 * truth, "range {range:?} too wide");
    let at = plan
        .at(value)
        .unwrap_or_else(|| panic!("no evaluation at the answer"));
    assert!(at.met && at.statistic >= 0.8);
    let below = plan
        .at(other)
        .unwrap_or_else(|| panic!("no evaluation below"));
    assert!(!below.met && below.statistic < 0.8);
    assert!(
        plan.evaluations.len() < 40,
        "{} evaluations",
        plan.evaluations.len()
    );

    // the plan's evaluation is exactly what a run at that value gives
    // (same trials, same seed, the target set to the goal's threshold)
    let v = format!("{value}");
    let scn = experiment::load(
        &file,
        &[
            pipesim::scenario::overrides::Override::parse_set(&format!(
                "strategy.s.channel[0].spend_per_month={v}"
            ))
            .unwrap_or_else(|e| panic!("{e}")),
            pipesim::scenario::overrides::Override::parse_set("targets.bookings=300000")
                .unwrap_or_else(|e| panic!("{e}")),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let r = experiment::run(&RunSpec::new(scn), &(), None).unwrap_or_else(|e| panic!("{e}"));
    let p = r.analysis.strategies[0]
        .get(Metric::Bookings)
        .and_then(|m| m.target)
        .map(|(_, p)| p)
        .unwrap_or_else(|| panic!("no target"));
    assert_eq!(p.p, at.statistic);
    assert_eq!((p.low, p.high), (at.low, at.high));
}

/// A goal no value in the range reaches is reported as unreachable, and
/// an integer path is searched over integers.
#[test]
fn plan_reports_unreachable_goals_and_searches_integers() {
    let dir = tmp();
    let file = poisson_scenario(dir.path());
    let goal = Goal::parse("bookings>=300000@80%").unwrap_or_else(|e| panic!("{e}"));
    let spec = PlanSpec::new(
        &file,
        goal,
        "strategy.s.channel[0].spend_per_month",
        100.0,
        2000.0,
    );
    let plan = experiment::plan(&spec, &()).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        matches!(plan.outcome, Outcome::Unreachable { .. }),
        "{:?}",
        plan.outcome
    );
    assert!(plan.notes.iter().any(|n| n.contains("not reached")));

    // horizon in whole months: won ~ Poisson(0.006·5000/12 · H) = Poisson(2.5 H)
    let goal = Goal::parse("won_deals>=30").unwrap_or_else(|e| panic!("{e}"));
    let spec = PlanSpec::new(&file, goal, "horizon_months", 3.0, 24.0);
    let plan = experiment::plan(&spec, &()).unwrap_or_else(|e| panic!("{e}"));
    assert!(plan.integer);
    let Outcome::Found { value, other, .. } = plan.outcome else {
        panic!("{:?}", plan.outcome)
    };
    // mean 2.5·H ≥ 30 from H = 12 on; at H = 12 the mean is 30 ± noise
    assert_eq!(value - other, 1.0);
    assert!((11.0..=13.0).contains(&value), "{value}");
    assert!(plan.evaluations.iter().all(|e| e.value.fract() == 0.0));
}

/// Three independent normal inputs of one strategy's cost.
const LINEAR: &str = r#"
horizon_months = 12
trials = 20000
seed = 3
[funnel]
stages = ["lead", "mql", "sql", "won"]
handoff = "mql"
pipeline = "sql"
[strategy.s]
deal_size = 1000
cycle_days = 0
fixed_cost_per_month = "normal(mean=10000, sd=1000)"
[[strategy.s.channel]]
name = "a"
spend_per_month = "normal(mean=10000, sd=2000)"
cost_per_lead = 100
conversion = { mql = 0.5, sql = 0.2, won = 0.2 }
[[strategy.s.channel]]
name = "b"
spend_per_month = "normal(mean=8000, sd=500)"
cost_per_lead = 100
conversion = { mql = 0.5, sql = 0.2, won = 0.2 }
"#;

/// Guards the sensitivity estimators: cost = 12·(F + S₁ + S₂) with
/// independent normals of sd 1000, 2000 and 500. Each input's share of the
/// variance is σᵢ²/Σσ², its Pearson correlation ρᵢ = σᵢ/σ_Y, its Spearman
/// correlation (6/π)·asin(ρᵢ/2) (bivariate normal), its decile means
/// μ_Y ± 12·σᵢ·φ(z₀.₉)/0.1; the swing P90 − P10 is 12·(x₉₀ − x₁₀) exactly
/// (the other inputs keep their draws). The inputs read back per trial
/// are those the model used: the cost is their sum exactly.
#[test]
fn sensitivity_of_a_linear_measure_matches_the_closed_forms() {
    let scn = load(LINEAR);
    let spec = SensitivitySpec {
        swing_top: 3,
        ..SensitivitySpec::new(RunSpec::new(scn), "cost")
    };
    let s = experiment::sensitivity(&spec, &()).unwrap_or_else(|e| panic!("{e}"));
    assert!(s.value.is_none(), "one strategy: no decision");
    let paths: Vec<&str> = s.inputs.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "strategy.s.fixed_cost_per_month",
            "strategy.s.channel[0].spend_per_month",
            "strategy.s.channel[1].spend_per_month"
        ]
    );
    // per trial: cost = 12·(F + S1 + S2), exactly
    let pt = &s.per_trial;
    for i in 0..1000 {
        let sum = 12.0 * (pt.inputs[0][i] + pt.inputs[1][i] + pt.inputs[2][i]);
        assert!(
            (pt.measure[0][i] - sum).abs() <= 1e-9 * sum,
            "trial {i}: {} vs {sum}",
            pt.measure[0][i]
        );
    }
    let sds = [1000.0, 2000.0, 500.0];
    let var: f64 = sds.iter().map(|x| x * x).sum();
    let sd_y = 12.0 * var.sqrt();
    let n = 20_000.0;
    let t = &s.targets[0];
    assert_eq!(t.kind, TargetKind::Strategy(0));
    let z90 = Normal::standard().inverse_cdf(0.9);
    let tail = (-0.5 * z90 * z90).exp() / (2.0 * PI).sqrt() / 0.1;
    for (j, e) in t.effects.iter().enumerate() {
        let rho = sds[j] / var.sqrt();
        let rho_s = 6.0 / PI * (rho / 2.0).asin();
        let se_z = ((1.0 + rho_s * rho_s / 2.0) / (n - 3.0)).sqrt();
        assert!(
            (e.spearman.atanh() - rho_s.atanh()).abs() <= Z_TOL * se_z,
            "input {j}: spearman {} vs {rho_s}",
            e.spearman
        );
        let share = rho * rho;
        let se_share = 2.0 * rho * (1.0 - share) / n.sqrt();
        assert!(
            (e.share - share).abs() <= Z_TOL * se_share + 10.0 / n,
            "input {j}: share {} vs {share} (se {se_share})",
            e.share
        );
        let shift = 12.0 * sds[j] * tail;
        let se_dec = sd_y / (n / 10.0).sqrt();
        assert!(
            (e.high_decile - (t.mean + shift)).abs() <= Z_TOL * se_dec,
            "input {j}: high decile {} vs {}",
            e.high_decile,
            t.mean + shift
        );
        assert!(
            (e.low_decile - (t.mean - shift)).abs() <= Z_TOL * se_dec,
            "input {j}: low decile {}",
            e.low_decile
        );
        let (lo, hi) = e.swing.unwrap_or_else(|| panic!("input {j} not swung"));
        let input = &s.inputs[j];
        let exact = 12.0 * (input.p90 - input.p10);
        assert!(
            ((hi - lo) - exact).abs() <= 1e-9 * exact,
            "input {j}: swing {} vs {exact}",
            hi - lo
        );
        let z = Normal::standard().inverse_cdf(0.9);
        let mean = [10000.0, 10000.0, 8000.0][j];
        assert!((input.p90 - (mean + z * sds[j])).abs() < 1e-6 * mean);
    }
    // the inputs explain everything here
    assert!((t.explained() - 1.0).abs() < 0.02, "{}", t.explained());
}

/// Two strategies whose costs differ only by B's uncertain fixed cost.
const DECISION: &str = r#"
horizon_months = 12
trials = 20000
seed = 5
baseline = "a"
[market]
demand = "0.8 to 1.2"
[funnel]
stages = ["lead", "mql", "sql", "won"]
handoff = "mql"
pipeline = "sql"
[strategy.a]
deal_size = 1000
cycle_days = 0
fixed_cost_per_month = 10000
[[strategy.a.channel]]
name = "paid"
spend_per_month = 3000
cost_per_lead = 100
conversion = { mql = 0.5, sql = 0.2, won = 0.2 }
[strategy.b]
deal_size = 1000
cycle_days = 0
fixed_cost_per_month = "uniform(min=8000, max=13000)"
[[strategy.b.channel]]
name = "paid"
spend_per_month = 3000
cost_per_lead = 100
conversion = { mql = 0.5, sql = 0.2, won = 0.2 }
"#;

/// Guards EVPI and EVPPI: on cost (lower is better) B − A = 12·(F − 10000)
/// with F ~ U(8000, 13000), so A is chosen (mean +6000 for B) and
/// EVPI = 12·E[max(0, 10000 − F)] = 12·2000²/(2·5000) = 4800. F alone
/// decides, so EVPPI(F) equals the EVPI estimate (the spline fits a
/// linear relation exactly); demand changes no cost, so EVPPI(demand) = 0.
#[test]
fn evpi_and_evppi_of_a_known_decision() {
    let scn = load(DECISION);
    let spec = SensitivitySpec {
        swing_top: 0,
        ..SensitivitySpec::new(RunSpec::new(scn), "cost")
    };
    let s = experiment::sensitivity(&spec, &()).unwrap_or_else(|e| panic!("{e}"));
    let v = s.value.as_ref().unwrap_or_else(|| panic!("no decision"));
    assert_eq!(v.chosen, 0, "a costs less on average");
    assert!(
        (v.evpi - 4800.0).abs() <= Z_TOL * v.evpi_se,
        "EVPI {} ± {} vs 4800",
        v.evpi,
        v.evpi_se
    );
    let f = s
        .inputs
        .iter()
        .position(|i| i.path == "strategy.b.fixed_cost_per_month")
        .unwrap_or_else(|| panic!("no fixed cost input"));
    let d = s
        .inputs
        .iter()
        .position(|i| i.path == "market.demand")
        .unwrap_or_else(|| panic!("no demand input"));
    assert!(
        (v.evppi[f] - v.evpi).abs() <= 1e-6 * v.evpi,
        "EVPPI(F) {} vs EVPI {}",
        v.evppi[f],
        v.evpi
    );
    assert!(v.evppi[d] < 1.0, "EVPPI(demand) {}", v.evppi[d]);
}

/// Simulating a subset of the strategies gives each exactly the numbers
/// of a full run.
#[test]
fn a_strategy_simulated_alone_has_its_full_run_numbers() {
    let scn = experiment::load(std::path::Path::new(BUDGET), &[]).unwrap_or_else(|e| panic!("{e}"));
    let full = crate::laws::run(&scn, 700, 9);
    let mut alone: Vec<[f64; Metric::COUNT]> = Vec::new();
    let done: Result<(), std::convert::Infallible> =
        engine::run_blocks_of(&scn, &[1], 9, 0..700, &|_| {}, |blocks| {
            let b = &blocks[0];
            assert_eq!(b.strategies, 1);
            alone.extend_from_slice(&b.metrics);
            Ok(())
        });
    let Ok(()) = done;
    for (t, row) in alone.iter().enumerate() {
        for m in Metric::ALL {
            assert_eq!(
                row[m.index()],
                full.strategies[1].metric(m)[t],
                "trial {t} {m:?}"
            );
        }
    }
}

#[test]
fn the_commands_answer_and_write_their_files() {
    let dir = tmp();
    let scn = std::path::PathBuf::from(BUDGET);
    let out = dir.path().join("sens");
    let (stdout, _) = pipesim_ok([
        "sensitivity".as_ref(),
        scn.as_os_str(),
        "--trials".as_ref(),
        "1500".as_ref(),
        "--swing-top".as_ref(),
        "2".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
        "--per-trial".as_ref(),
    ]);
    assert!(
        stdout.contains("Expected value of perfect information"),
        "{stdout}"
    );
    assert!(stdout.contains("Tornado of the decision: quality - volume"));
    let (h, rows) = read_csv(&out.join("sensitivity.csv"));
    assert_eq!(h, pipesim::output::decide::SENSITIVITY_HEADER);
    assert!(rows.iter().any(|r| r[5] == "(perfect information)"));
    let (h, rows) = read_csv(&out.join("trials.csv"));
    assert_eq!(rows.len(), 1500);
    assert!(h.iter().any(|c| c == "market.demand"));
    assert!(h.iter().any(|c| c == "quality.bookings"));

    let (stdout, _) = pipesim_ok([
        "whatif".as_ref(),
        scn.as_os_str(),
        "--trials".as_ref(),
        "1000".as_ref(),
        "--set".as_ref(),
        "strategy.quality.nurture.recycle=0".as_ref(),
    ]);
    assert!(
        stdout.contains("The decision: each strategy against the baseline"),
        "{stdout}"
    );
    assert!(
        stdout.contains("On bookings, quality stays preferred"),
        "{stdout}"
    );

    // a quarterly measure works; an unknown one exits 2 naming the valid ones
    let (stdout, _) = pipesim_ok([
        "sensitivity".as_ref(),
        scn.as_os_str(),
        "--trials".as_ref(),
        "600".as_ref(),
        "--swing-top".as_ref(),
        "0".as_ref(),
        "--metric".as_ref(),
        "coverage[1]".as_ref(),
    ]);
    assert!(
        stdout.contains("sensitivity of coverage[2027-Q2]"),
        "{stdout}"
    );
    let (code, _, stderr) = pipesim([
        "sensitivity".as_ref(),
        scn.as_os_str(),
        "--trials".as_ref(),
        "600".as_ref(),
        "--metric".as_ref(),
        "bookingz".as_ref(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("unknown metric 'bookingz'"), "{stderr}");

    // bad goals and ranges: exit 2, with what is valid
    for (goal, vary, says) in [
        (
            "bookings>4M@80%",
            "sales.reps=1..9",
            "expected MEASURE>=VALUE",
        ),
        ("bookingz>=4M@80%", "sales.reps=1..9", "unknown metric"),
        (
            "bookings>=4M@180%",
            "sales.reps=1..9",
            "strictly between 0 and 100%",
        ),
        ("bookings>=4M@80%", "sales.reps=9..1", "TO must be greater"),
        ("coverage[99]>=3@80%", "sales.reps=1..9", "no quarter"),
    ] {
        let (code, _, stderr) = pipesim([
            "plan".as_ref(),
            scn.as_os_str(),
            "--goal".as_ref(),
            goal.as_ref(),
            "--vary".as_ref(),
            vary.as_ref(),
            "--trials".as_ref(),
            "200".as_ref(),
        ]);
        assert_eq!(code, 2, "{goal} {vary}: {stderr}");
        assert!(stderr.contains(says), "{goal} {vary}: {stderr}");
    }
}
