//! Issue 10's "wrong numbers that look right", "security" and "messages"
//! reproductions: overflowing inputs are rejected at validation (naming the
//! parameter), nothing non-finite or 300 digits long reaches an output, the
//! net monthly rate is checked, one lead-rate cap for leads and MQLs, a
//! sweep path varied twice is refused, a normal with no mass in its domain
//! is refused; identifiers are restricted and free text neutralised in CSV
//! cells, control characters escaped on the terminal; every validation error
//! of a file at once with line and column.

use std::path::PathBuf;

use crate::common::{pipesim, tmp, write};

/// A one-strategy scenario; `deal` is the TOML value of its deal size and
/// `extra` more TOML appended (e.g. a `[revenue]` table).
fn scenario(deal: &str, leads: &str, extra: &str) -> String {
    format!(
        r#"name = "hardening"
horizon_months = 12
trials = 200
seed = 7

[funnel]
stages = ["lead", "mql", "sql", "won"]
handoff = "mql"
pipeline = "sql"

[sales]
reps = 5
mql_capacity_per_rep = 100

[strategy.volume]
deal_size = {deal}
cycle_days = 60

[[strategy.volume.channel]]
leads_per_month = {leads}
cost_per_lead = 50
conversion = {{ mql = 0.3, sql = 0.3, won = 0.2 }}
{extra}"#
    )
}

fn file(dir: &tempfile::TempDir, text: &str) -> PathBuf {
    write(dir.path(), "s.toml", text)
}

/// Exit 2 on both `validate` and `run`, the message naming `path`; no
/// figure on stdout.
fn rejected(args: &[&str], path: &str) -> String {
    let (code, stdout, stderr) = pipesim(args);
    assert_eq!(code, 2, "{args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.is_empty(), "{args:?} printed:\n{stdout}");
    assert!(stderr.contains(path), "{args:?}: no {path} in\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

fn no_huge_numbers(text: &str) {
    for token in text.split(|c: char| !(c.is_ascii_digit() || c == '.')) {
        let digits = token.chars().filter(char::is_ascii_digit).count();
        assert!(
            digits <= 40,
            "a {digits}-digit number in the message:\n{text}"
        );
    }
    for bad in ["inf", "NaN"] {
        assert!(
            !text.split(|c: char| !c.is_alphanumeric()).any(|w| w == bad),
            "{bad} in:\n{text}"
        );
    }
}

#[test]
fn a_deal_size_whose_tail_overflows_is_rejected_at_validation() {
    let dir = tmp();
    for deal in [
        r#""lognormal(mu=720, sigma=1)""#,
        r#""1 to 1e308""#,
        "1e300",
        "1e16",
    ] {
        let f = file(&dir, &scenario(deal, "1000", ""));
        let f = f.to_str().unwrap();
        for cmd in ["validate", "run"] {
            let err = rejected(&[cmd, f], "strategy.volume.deal_size");
            assert!(err.contains("1e15"), "{err}");
            // the value is named compactly, never as 300 digits
            for line in err.lines() {
                assert!(line.len() < 600, "{line}");
            }
        }
    }
}

#[test]
fn scaling_a_deal_size_into_overflow_is_rejected() {
    let dir = tmp();
    let f = file(&dir, &scenario("20000", "1000", ""));
    let f = f.to_str().unwrap();
    for factor in ["1e308", "1e11"] {
        let scale = format!("strategy.volume.deal_size={factor}");
        let err = rejected(&["run", f, "--scale", &scale], "strategy.volume.deal_size");
        no_huge_numbers(&err);
    }
}

#[test]
fn sums_that_overflow_are_rejected_naming_the_strategy() {
    let dir = tmp();
    // each input is below 1e15, but 12 months of 1e6 leads' pipeline at
    // 1e12 a deal is not
    let f = file(&dir, &scenario("1e12", "1e6", ""));
    let err = rejected(&["validate", f.to_str().unwrap()], "strategy.volume");
    assert!(err.contains("pipeline_created could reach"), "{err}");
    // compounding expansion: 50 years at up to +30% a month
    let text = scenario("20000", "1000", "[revenue]\nexpansion_monthly = 0.3\n")
        .replace("horizon_months = 12", "horizon_months = 600");
    let f = file(&dir, &text);
    let err = rejected(&["validate", f.to_str().unwrap()], "strategy.volume");
    assert!(err.contains("arr_end could reach"), "{err}");
}

#[test]
fn a_plausible_scenario_runs_and_prints_only_finite_compact_numbers() {
    let dir = tmp();
    let f = file(&dir, &scenario("1e9", "1000", ""));
    let out = tmp();
    let (code, stdout, stderr) = pipesim([
        "run",
        f.to_str().unwrap(),
        "--out",
        out.path().join("r").to_str().unwrap(),
        "--per-trial",
    ]);
    assert_eq!(code, 0, "{stderr}");
    no_huge_numbers(&stdout);
    assert!(stdout.contains("Answer:"), "{stdout}");
    for name in ["summary.csv", "comparison.csv", "monthly.csv", "trials.csv"] {
        let text = std::fs::read_to_string(out.path().join("r").join(name)).unwrap();
        no_huge_numbers(&text);
    }
}

#[test]
fn a_net_monthly_rate_at_or_below_minus_one_is_rejected() {
    let dir = tmp();
    let text = scenario(
        "20000",
        "1000",
        "[revenue]\nchurn_monthly = 0.9\nexpansion_monthly = -0.9\n",
    );
    let f = file(&dir, &text);
    let err = rejected(&["validate", f.to_str().unwrap()], "revenue");
    assert!(
        err.contains("expansion - churn must stay above -1"),
        "{err}"
    );
    // and through --set
    let f = file(
        &dir,
        &scenario("20000", "1000", "[revenue]\nchurn_monthly = 0.5\n"),
    );
    rejected(
        &[
            "run",
            f.to_str().unwrap(),
            "--set",
            "revenue.expansion_monthly=-0.6",
        ],
        "revenue",
    );
}

#[test]
fn a_lead_rate_beyond_the_monthly_cap_is_rejected() {
    let dir = tmp();
    let f = file(&dir, &scenario("20000", "1e300", ""));
    let err = rejected(
        &["validate", f.to_str().unwrap()],
        "strategy.volume.channel[0].leads_per_month",
    );
    no_huge_numbers(&err);
    // each amount is below 1e15, the rate with the market's demand is not
    let f = file(&dir, &scenario("20000", "9e14", "[market]\ndemand = 2\n"));
    let err = rejected(
        &["validate", f.to_str().unwrap()],
        "strategy.volume.channel[0]",
    );
    assert!(
        err.contains("at most 1e15 leads a channel a month"),
        "{err}"
    );
}

/// MODEL.md / README: the monthly rate is capped at 10¹⁵ before it is split
/// into handoff members and the others, so both come from one rate.
#[test]
fn the_lead_cap_applies_to_leads_and_handoff_members_alike() {
    use pipesim::sampling::{LeadSampler, MAX_MONTHLY_LAMBDA};
    use rand::SeedableRng;
    let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(3);
    for lambda in [1e300, 1e16, MAX_MONTHLY_LAMBDA] {
        let (leads, handoff) = LeadSampler::new(None).sample_split(lambda, 0.3, &mut rng);
        // the capped rate's Poisson count: within 10 sd of the cap
        let most = MAX_MONTHLY_LAMBDA + 10.0 * MAX_MONTHLY_LAMBDA.sqrt();
        assert!(leads as f64 <= most, "{leads}");
        // at 1e15 the Poisson noise is ~3e7: the share is 0.3 to ~1e-7
        let share = handoff as f64 / leads as f64;
        assert!((share - 0.3).abs() < 1e-6, "λ = {lambda}: share {share}");
    }
}

#[test]
fn a_sweep_path_varied_twice_is_rejected() {
    let dir = tmp();
    let f = file(&dir, &scenario("20000", "1000", ""));
    let f = f.to_str().unwrap();
    let (code, stdout, stderr) = pipesim([
        "sweep",
        f,
        "--vary",
        "sales.reps=1,2",
        "--vary",
        "sales.reps=3,4",
        "--trials",
        "20",
    ]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stderr.contains("already varied"), "{stderr}");
    let (code, _, stderr) = pipesim([
        "sweep",
        f,
        "--vary",
        "sales.reps=1,2",
        "--vary-scale",
        "sales.reps=1,2",
        "--trials",
        "20",
    ]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = pipesim([
        "sweep",
        f,
        "--vary",
        "sales.reps=1,2",
        "--set",
        "sales.reps=3",
        "--trials",
        "20",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("also a sweep axis"), "{stderr}");
}

#[test]
fn a_normal_with_almost_no_mass_in_its_domain_is_rejected() {
    let dir = tmp();
    let f = file(&dir, &scenario(r#""normal(mean=-4.7, sd=1)""#, "1000", ""));
    let err = rejected(
        &["validate", f.to_str().unwrap()],
        "strategy.volume.deal_size",
    );
    assert!(err.contains("mass"), "{err}");
}

#[test]
fn strategy_and_channel_names_are_identifiers() {
    let dir = tmp();
    let base = scenario("20000", "1000", "");
    for (from, to, path) in [
        (
            "[strategy.volume]",
            "[strategy.\"=HYPERLINK(1)\"]",
            "strategy.\"=HYPERLINK(1)\"",
        ),
        (
            "[strategy.volume]",
            "[strategy.\"+cmd\"]",
            "strategy.\"+cmd\"",
        ),
        (
            "leads_per_month = 1000",
            "name = \"@SUM(A1)\"\nleads_per_month = 1000",
            "channel[0].name",
        ),
        (
            "leads_per_month = 1000",
            "name = \"a\\u001b[2J\"\nleads_per_month = 1000",
            "channel[0].name",
        ),
    ] {
        let f = file(&dir, &base.replace(from, to));
        let (code, _, stderr) = pipesim(["validate", f.to_str().unwrap()]);
        assert_eq!(code, 2, "{to}: {stderr}");
        assert!(
            stderr.contains("a name must be") && stderr.contains(path.trim_matches('"')),
            "{to}: {stderr}"
        );
        assert!(!stderr.contains('\u{1b}'), "raw ESC in {stderr:?}");
    }
    // any script's letters are fine
    let text = base
        .replace("[strategy.volume]", "[strategy.\"qualité-2\"]")
        .replace(
            "[[strategy.volume.channel]]",
            "[[strategy.\"qualité-2\".channel]]",
        );
    let f = file(&dir, &text);
    let (code, _, stderr) = pipesim(["validate", f.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
}

/// Every cell of every CSV in `dir`: none a spreadsheet would run.
fn no_formula_cells(dir: &std::path::Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "csv") {
            continue;
        }
        let (header, rows) = crate::common::read_csv(&path);
        for cell in header.iter().chain(rows.iter().flatten()) {
            let formula = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
            assert!(
                !formula || cell.parse::<f64>().is_ok(),
                "{}: cell {cell:?}",
                path.display()
            );
            assert!(!cell.contains('\u{1b}'), "{}: {cell:?}", path.display());
        }
    }
}

#[test]
fn free_text_reaches_csv_cells_neutralised_and_the_terminal_escaped() {
    let dir = tmp();
    let text = scenario("20000", "1000", "")
        .replace(
            "name = \"hardening\"",
            "name = \"=HYPERLINK(\\\"http://x\\\")\\u001b]0;pwned\\u0007\"",
        )
        .replace(
            "[strategy.volume]",
            "[strategy.volume]\nlabel = \"-1+1 \\u001b[2J cleared\"",
        );
    let f = write(dir.path(), "@evil.toml", &text);
    let f = f.to_str().unwrap();
    for args in [
        vec!["validate", f],
        vec!["run", f, "--trials", "50"],
        vec!["run", f, "--trials", "50", "--format", "csv"],
    ] {
        let (code, stdout, stderr) = pipesim(&args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert!(
            !stdout.contains('\u{1b}') && !stdout.contains('\u{7}'),
            "{stdout:?}"
        );
        assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    }
    let (_, stdout, _) = pipesim(["validate", f]);
    assert!(stdout.contains("\\u{1b}[2J cleared"), "{stdout}");
    let out = dir.path().join("run");
    let (code, _, stderr) = pipesim(["run", f, "--trials", "50", "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    no_formula_cells(&out);
    let (_, rows) = crate::common::read_csv(&out.join("run.csv"));
    assert!(
        rows.iter().flatten().any(|c| c.starts_with("'=HYPERLINK")),
        "{rows:?}"
    );
    // a batch keyed by a file stem that starts with '@'
    let batch = dir.path().join("batch");
    let (code, _, stderr) = pipesim([
        "batch",
        f,
        "--trials",
        "50",
        "--out",
        batch.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    no_formula_cells(&batch);
}

/// `validate` exits 2 and reports every `(":line:col: ", "path")` on a line
/// of its own; returns stderr.
fn reported_at(f: &std::path::Path, expected: &[(&str, &str)]) -> String {
    let (code, _, stderr) = pipesim(["validate", f.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    for (at, path) in expected {
        assert!(
            stderr.lines().any(|l| l.contains(&format!("{at}{path}"))),
            "no {at}{path} in\n{stderr}"
        );
    }
    stderr
}

#[test]
fn every_validation_error_of_a_file_is_reported_at_once_with_line_and_column() {
    let dir = tmp();
    let text = scenario("-5", "1000", "")
        .replace("horizon_months = 12", "horizon_months = 0")
        .replace("trials = 200", "trials = 1")
        .replace(
            "mql = 0.3, sql = 0.3, won = 0.2",
            "mql = 35, sql = 0.3, won = 2",
        );
    let stderr = reported_at(
        &file(&dir, &text),
        &[
            (":2:18: ", "horizon_months = 0"),
            (":3:10: ", "trials = 1"),
            (":16:13: ", "strategy.volume.deal_size = -5"),
            (":22:22: ", "strategy.volume.channel[0].conversion.mql = 35"),
            (":22:43: ", "strategy.volume.channel[0].conversion.won = 2"),
        ],
    );
    // a failed field is not reported a second time as missing
    assert!(!stderr.contains("missing"), "{stderr}");

    // type errors and unknown fields, all of them
    let text = scenario("20000", "true", "")
        .replace("horizon_months = 12", "horizon_months = \"12\"\nbogus = 1")
        .replace("cycle_days = 60", "cycle_days = 60\ncolour = \"red\"");
    let stderr = reported_at(
        &file(&dir, &text),
        &[
            (":2:18: ", "horizon_months"),
            (":3:9: ", "bogus"),
            (":19:10: ", "strategy.volume.colour"),
            (":22:19: ", "strategy.volume.channel[0].leads_per_month"),
        ],
    );
    assert!(!stderr.contains("missing field"), "{stderr}");
}

#[test]
fn a_probability_written_in_percent_is_understood() {
    let dir = tmp();
    let f = file(&dir, &scenario("20000", "1000", ""));
    let f = f.to_str().unwrap();
    let (code, _, stderr) = pipesim([
        "validate",
        f,
        "--set",
        "strategy.volume.channel[0].conversion.mql=35",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("did you mean 0.35"), "{stderr}");
    assert!(stderr.contains("(from --set"), "{stderr}");
    let (code, stdout, stderr) = pipesim([
        "validate",
        f,
        "--set",
        "strategy.volume.channel[0].conversion.mql=\"35%\"",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("mean conversion: mql 0.35,"), "{stdout}");
    // an amount is not a percentage
    let (code, _, stderr) = pipesim(["validate", f, "--set", "sales.reps=\"35%\""]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("a percentage is for probabilities and rates"),
        "{stderr}"
    );
}

#[test]
fn a_type_error_from_set_says_it_came_from_set() {
    let dir = tmp();
    let f = file(&dir, &scenario("20000", "1000", ""));
    let (code, _, stderr) = pipesim([
        "validate",
        f.to_str().unwrap(),
        "--set",
        "sales.reps=[1, 2]",
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("sales.reps") && stderr.contains("(from --set sales.reps=[1, 2])"),
        "{stderr}"
    );
}

#[test]
fn sweep_offers_json_and_gives_it() {
    let dir = tmp();
    let f = file(&dir, &scenario("20000", "1000", ""));
    let (code, stdout, stderr) = pipesim([
        "sweep",
        f.to_str().unwrap(),
        "--vary",
        "sales.reps=2,4",
        "--trials",
        "20",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let points = v["points"].as_array().unwrap();
    assert_eq!(points.len(), 2);
    assert_eq!(points[1]["values"]["sales.reps"], "4");
    assert!(points[0]["analysis"]["strategies"][0]["metrics"]["bookings"]["mean"].is_number());
}

/// Found by `fuzz_props` (case 89): a gamma with a shape of 10^49 made
/// validation hang in the incomplete gamma function.
#[test]
fn a_gamma_too_narrow_to_compute_is_rejected_at_once() {
    let dir = tmp();
    let text = scenario("20000", "1000", "").replace(
        "cycle_days = 60",
        "cycle_days = \"gamma(mean=99999999999999999999999999, sd=30)\"",
    );
    let f = file(&dir, &text);
    let err = rejected(
        &["validate", f.to_str().unwrap()],
        "strategy.volume.cycle_days",
    );
    assert!(err.contains("shape"), "{err}");
    let text = scenario("20000", "1000", "").replace(
        "cycle_days = 60",
        "cycle_days = \"gamma(mean=100, sd=1e-20)\"",
    );
    let f = file(&dir, &text);
    rejected(&["run", f.to_str().unwrap()], "strategy.volume.cycle_days");
}
