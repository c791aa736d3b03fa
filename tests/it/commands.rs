//! Command-line tests of board what-ifs, sweeps, batches and adaptive
//! precision: `--set` / `--scale` on every path kind, `whatif`, `sweep`,
//! `batch`, `run --format`, `run --precision`.
//!
//! Every test runs the built binary and parses its CSV or JSON output. Exact
//! claims (an untouched strategy is byte-identical, a no-op change is
//! exactly zero, a sweep row equals a `run --set` row) are checked exactly;
//! Monte Carlo claims with tolerances of 4 standard errors computed from the
//! output's own `se` columns.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::{FIXTURE, parse_csv, pipesim, pipesim_ok, read_csv, tmp, write};

/// `(strategy, metric) -> row` of a summary CSV (header in `header`).
type Summary = BTreeMap<(String, String), Vec<String>>;

fn summary_of(header: &[String], rows: &[Vec<String>]) -> Summary {
    let si = col(header, "strategy");
    let mi = col(header, "metric");
    rows.iter()
        .map(|r| ((r[si].clone(), r[mi].clone()), r.clone()))
        .collect()
}

fn col(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

/// `run --format csv` with extra arguments, parsed.
fn run_summary(args: &[&str]) -> (Vec<String>, Summary) {
    let mut all = vec!["run", FIXTURE, "-q", "--format", "csv"];
    all.extend_from_slice(args);
    let (stdout, _) = pipesim_ok(&all);
    let (header, rows) = parse_csv(&stdout);
    let s = summary_of(&header, &rows);
    (header, s)
}

fn value(header: &[String], s: &Summary, strategy: &str, metric: &str, column: &str) -> f64 {
    let row = s
        .get(&(strategy.to_string(), metric.to_string()))
        .unwrap_or_else(|| panic!("no row {strategy}/{metric}"));
    row[col(header, column)]
        .parse()
        .unwrap_or_else(|_| panic!("{strategy}/{metric}/{column} is not a number"))
}

// ------------------------------------------------------- --set / --scale

/// Guards `--set` on a top-level field: the horizon changes the monthly file.
#[test]
fn set_top_level_field_changes_the_horizon() {
    let dir = tmp();
    let out = dir.path().join("o");
    pipesim_ok([
        "run",
        FIXTURE,
        "-q",
        "--trials",
        "200",
        "--set",
        "horizon_months=6",
        "--out",
        out.to_str().expect("utf-8 path"),
    ]);
    let (header, rows) = read_csv(&out.join("monthly.csv"));
    let mi = col(&header, "month");
    let months: std::collections::BTreeSet<&str> = rows.iter().map(|r| r[mi].as_str()).collect();
    assert_eq!(months.len(), 6, "{months:?}");
    // and the overrides are recorded next to the results
    let (_, meta) = read_csv(&out.join("run.csv"));
    assert!(
        meta.iter()
            // a cell that starts with '-' is written as text (CSV injection)
            .any(|r| r[0] == "override" && r[1] == "'--set horizon_months=6"),
        "{meta:?}"
    );
}

/// Guards `--set` on a table field: no sales reps means no capacity, so
/// every MQL is ignored and nothing reaches the pipeline.
#[test]
fn set_table_field_changes_sales_capacity() {
    let (h, s) = run_summary(&["--trials", "300", "--set", "sales.reps=0"]);
    for st in ["volume", "quality"] {
        assert_eq!(value(&h, &s, st, "opportunities", "mean"), 0.0);
        assert_eq!(value(&h, &s, st, "bookings", "mean"), 0.0);
        assert_eq!(
            value(&h, &s, st, "mqls_ignored", "mean"),
            value(&h, &s, st, "mqls", "mean")
        );
    }
}

/// Guards `--set` on channel array elements and on conversion stages: a
/// strategy without volume has no leads; one that never wins books nothing;
/// the other strategy is untouched, byte for byte.
#[test]
fn set_channel_elements_and_conversion_stages() {
    let (h0, base) = run_summary(&["--trials", "300"]);
    let (h, s) = run_summary(&[
        "--trials",
        "300",
        "--set",
        "strategy.volume.channel[0].leads_per_month=0",
        "--set",
        "strategy.volume.channel[1].spend_per_month=0",
    ]);
    assert_eq!(h, h0);
    assert_eq!(value(&h, &s, "volume", "leads", "mean"), 0.0);
    assert_eq!(value(&h, &s, "volume", "cost", "mean"), 0.0);
    for ((st, m), row) in &base {
        if st == "quality" {
            assert_eq!(
                s.get(&(st.clone(), m.clone())),
                Some(row),
                "quality/{m} changed"
            );
        }
    }

    let (h, s) = run_summary(&[
        "--trials",
        "300",
        "--set",
        "strategy.volume.channel[0].conversion.won=0",
        "--set",
        "strategy.volume.channel[1].conversion.won=0",
    ]);
    assert_eq!(value(&h, &s, "volume", "won_deals", "mean"), 0.0);
    assert_eq!(value(&h, &s, "volume", "bookings", "mean"), 0.0);
    assert!(value(&h, &s, "volume", "opportunities", "mean") > 100.0);
}

/// Guards `--set` with a distribution string (no inner quotes needed):
/// demand around 2 instead of the file's 0.85..1.15 (mean 1) doubles leads,
/// within Monte Carlo error.
#[test]
fn set_distribution_string_changes_the_draws() {
    let (h, one) = run_summary(&["--trials", "2000", "--set", "market.demand=1"]);
    let (_, two) = run_summary(&[
        "--trials",
        "2000",
        "--set",
        "market.demand=uniform(min=1.9, max=2.1)",
    ]);
    for st in ["volume", "quality"] {
        let (m1, se1) = (
            value(&h, &one, st, "leads", "mean"),
            value(&h, &one, st, "leads", "se"),
        );
        let (m2, se2) = (
            value(&h, &two, st, "leads", "mean"),
            value(&h, &two, st, "leads", "se"),
        );
        let tol = 4.0 * (se2 * se2 + 4.0 * se1 * se1).sqrt();
        assert!(
            (m2 - 2.0 * m1).abs() <= tol,
            "{st}: {m2} vs 2 x {m1} (tol {tol})"
        );
    }
    // quoted as in TOML works too, and validate shows the new value
    let (stdout, _) = pipesim_ok(["validate", FIXTURE, "--set", "market.demand=\"0.8 to 1.1\""]);
    assert!(stdout.contains("0.8 to 1.1"), "{stdout}");
}

/// Guards `--scale` of a cost: with the strategy's only cost a leads-based
/// channel, scaling its cost per lead by 1.3 raises mean cost by 30% —
/// exactly under common random numbers, and within Monte Carlo error on an
/// independent seed.
#[test]
fn scale_cost_per_lead_raises_mean_cost_by_30_percent() {
    let only_channel0 = ["--set", "strategy.volume.channel[1].spend_per_month=0"];
    let cpl = "strategy.volume.channel[0].cost_per_lead=1.3";
    let mut base_args = vec!["--trials", "2000"];
    base_args.extend_from_slice(&only_channel0);
    let (h, base) = run_summary(&base_args);
    let mut crn = base_args.clone();
    crn.extend_from_slice(&["--scale", cpl]);
    let (_, same_seed) = run_summary(&crn);
    let mut indep = crn.clone();
    indep.extend_from_slice(&["--seed", "99"]);
    let (_, other_seed) = run_summary(&indep);

    let b = value(&h, &base, "volume", "cost", "mean");
    let bse = value(&h, &base, "volume", "cost", "se");
    let c = value(&h, &same_seed, "volume", "cost", "mean");
    assert!((c / b - 1.3).abs() < 1e-9, "same seed: {c} / {b}");
    let o = value(&h, &other_seed, "volume", "cost", "mean");
    let ose = value(&h, &other_seed, "volume", "cost", "se");
    let tol = 4.0 * (ose * ose + 1.69 * bse * bse).sqrt();
    assert!((o - 1.3 * b).abs() <= tol, "{o} vs 1.3 x {b} (tol {tol})");
    // leads (and so volumes) are untouched by a cost
    assert_eq!(
        value(&h, &same_seed, "volume", "leads", "mean"),
        value(&h, &base, "volume", "leads", "mean")
    );
}

/// Guards the errors of bad paths and bad values: exit 2, the path, and the
/// nearest valid paths.
#[test]
fn bad_paths_and_values_exit_2_with_nearest_paths() {
    let cases: [(&[&str], &[&str]); 7] = [
        (
            &["--set", "sales.rep=8"],
            &["sales.rep", "nearest valid paths", "sales.reps"],
        ),
        (
            &["--scale", "strategy.volume.channel[0].cost_per_led=1.3"],
            &["strategy.volume.channel[0].cost_per_lead"],
        ),
        (
            &["--set", "strategy.volume.channel[7].cost_per_lead=3"],
            &["nearest valid paths", "strategy.volume.channel["],
        ),
        (
            &["--set", "strategy.volume.channel[0].conversion.mql=1.5"],
            &[
                "strategy.volume.channel[0].conversion.mql",
                "probability",
                "--set",
            ],
        ),
        (
            &["--scale", "strategy.volume.channel[0].conversion.mql=3"],
            &["strategy.volume.channel[0].conversion.mql", "domain"],
        ),
        (&["--set", "sales.reps=lots"], &["sales.reps", "lots"]),
        (&["--scale", "sales.reps=-1"], &["factor", "> 0"]),
    ];
    for (args, expect) in cases {
        let mut all = vec!["run", FIXTURE, "-q", "--trials", "10"];
        all.extend_from_slice(args);
        let (code, _, stderr) = pipesim(&all);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        for e in expect {
            assert!(stderr.contains(e), "{args:?}: {e:?} not in {stderr}");
        }
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// Guards the acceptance rule: a scaled parameter of one strategy leaves
/// every other strategy's rows byte-identical in `run --out` files.
#[test]
fn run_out_with_scale_leaves_other_strategies_byte_identical() {
    let dir = tmp();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let run = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "run",
            "scenarios/budget-volume-vs-quality.toml",
            "-q",
            "--trials",
            "500",
            "--out",
            out.to_str().expect("utf-8 path"),
        ];
        args.extend_from_slice(extra);
        pipesim_ok(&args);
    };
    run(&a, &[]);
    run(
        &b,
        &["--scale", "strategy.volume.channel[0].cost_per_lead=1.3"],
    );
    for file in ["summary.csv", "monthly.csv"] {
        let lines = |p: &Path| -> Vec<String> {
            std::fs::read_to_string(p.join(file))
                .expect("output file")
                .lines()
                .map(str::to_string)
                .collect()
        };
        let (la, lb) = (lines(&a), lines(&b));
        assert_eq!(la.len(), lb.len());
        let quality: Vec<(&String, &String)> = la
            .iter()
            .zip(&lb)
            .filter(|(x, _)| x.starts_with("quality,"))
            .collect();
        assert!(!quality.is_empty());
        for (x, y) in quality {
            assert_eq!(x, y, "{file}");
        }
        let volume_cost_changed = la
            .iter()
            .zip(&lb)
            .any(|(x, y)| x.starts_with("volume,cost,") && x != y);
        assert!(volume_cost_changed || file == "monthly.csv", "{file}");
    }
}

// ---------------------------------------------------------------- whatif

fn whatif_rows(args: &[&str]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut all = vec![
        "whatif",
        "scenarios/budget-volume-vs-quality.toml",
        "-q",
        "--format",
        "csv",
        "--trials",
        "1000",
    ];
    all.extend_from_slice(args);
    let (stdout, _) = pipesim_ok(&all);
    parse_csv(&stdout)
}

/// Guards the what-if pairing: a no-op change reports exactly zero change
/// and P(better) = 0 on every row.
#[test]
fn whatif_with_a_noop_change_reports_exactly_zero() {
    for noop in [
        ["--scale", "strategy.volume.channel[0].cost_per_lead=1"],
        ["--set", "sales.reps=5"],
    ] {
        let (h, rows) = whatif_rows(&noop);
        assert!(rows.len() >= 20, "{noop:?}: {} rows", rows.len());
        for r in &rows {
            for c in [
                "change_mean",
                "change_ci_low",
                "change_ci_high",
                "change_p5",
                "change_p95",
                "p_better",
                "p_worse",
            ] {
                assert_eq!(r[col(&h, c)], "0", "{noop:?} {c}: {r:?}");
            }
            assert_eq!(r[col(&h, "plan_mean")], r[col(&h, "changed_mean")]);
        }
    }
}

/// Guards the acceptance rule: CPL +30% on the volume strategy raises its
/// cost (every trial, CI above 0) and leaves the quality strategy unchanged.
#[test]
fn whatif_cpl_up_30_changes_only_the_affected_strategy() {
    let (h, rows) = whatif_rows(&["--scale", "strategy.volume.channel[0].cost_per_lead=1.3"]);
    let find = |st: &str, m: &str| {
        rows.iter()
            .find(|r| r[col(&h, "strategy")] == st && r[col(&h, "metric")] == m)
            .unwrap_or_else(|| panic!("no row {st}/{m}"))
    };
    let cost = find("volume", "cost");
    let low: f64 = cost[col(&h, "change_ci_low")].parse().expect("number");
    assert!(low > 0.0, "{cost:?}");
    assert_eq!(cost[col(&h, "p_worse")], "1", "{cost:?}");
    assert_eq!(
        cost[col(&h, "changes")],
        // written as text: a cell that starts with '-' (CSV injection)
        "'--scale strategy.volume.channel[0].cost_per_lead=1.3"
    );
    assert_eq!(find("volume", "bookings")[col(&h, "change_mean")], "0");
    for r in rows.iter().filter(|r| r[col(&h, "strategy")] == "quality") {
        assert_eq!(r[col(&h, "change_mean")], "0", "{r:?}");
        assert_eq!(r[col(&h, "change_ci_high")], "0", "{r:?}");
    }
}

/// Guards the what-if's refusal to run without a change.
#[test]
fn whatif_without_a_change_is_bad_input() {
    let (code, _, stderr) = pipesim(["whatif", FIXTURE, "-q"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--set"), "{stderr}");
}

// ----------------------------------------------------------------- sweep

/// Guards the sweep grid: every point × strategy × metric row, the varied
/// columns, bit-identical across thread counts, and each point's rows equal
/// to a `run --set` at the same seed (in the `summary.csv` columns; the
/// sweep appends the interval of `p_target`).
#[test]
fn sweep_grid_is_complete_deterministic_and_equals_runs() {
    let dir = tmp();
    let sweep = |threads: &str, name: &str| {
        let out = dir.path().join(name);
        pipesim_ok([
            "sweep",
            FIXTURE,
            "-q",
            "--trials",
            "300",
            "--threads",
            threads,
            "--vary",
            "sales.reps=4..8:2",
            "--vary",
            "strategy.quality.fixed_cost_per_month=0,30000",
            "--out",
            out.to_str().expect("utf-8 path"),
        ]);
        std::fs::read(&out).expect("sweep CSV")
    };
    let one = sweep("1", "one.csv");
    let two = sweep("2", "two.csv");
    assert_eq!(one, two, "sweep differs between 1 and 2 threads");

    let (header, rows) = read_csv(&dir.path().join("one.csv"));
    assert_eq!(header[0], "point");
    assert_eq!(header[1], "sales.reps");
    assert_eq!(header[2], "strategy.quality.fixed_cost_per_month");
    assert_eq!(&header[3..5], ["strategy", "metric"]);
    // 3 x 2 points, 2 strategies, 19 metrics (roi, gtm_roi defined: costs > 0)
    assert_eq!(rows.len(), 6 * 2 * 19);
    let points: std::collections::BTreeSet<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(points.len(), 6);

    for (point, reps, fixed) in [("0", "4", "0"), ("5", "8", "30000")] {
        let (h, run) = run_summary(&[
            "--trials",
            "300",
            "--set",
            &format!("sales.reps={reps}"),
            "--set",
            &format!("strategy.quality.fixed_cost_per_month={fixed}"),
        ]);
        // the summary.csv columns, then the interval of p_target
        let end = 3 + h.len();
        assert_eq!(&header[3..end], &h[..]);
        assert_eq!(&header[end..], ["p_target_ci_low", "p_target_ci_high"]);
        let mine: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == point).collect();
        assert_eq!(mine.len(), run.len());
        for r in mine {
            assert_eq!((r[1].as_str(), r[2].as_str()), (reps, fixed));
            let key = (r[3].clone(), r[4].clone());
            assert_eq!(
                Some(&r[3..end].to_vec()),
                run.get(&key),
                "point {point} {key:?}"
            );
        }
    }
}

/// Guards the sweep report: the best point and a crossover where the
/// baseline's cost per lead makes it overtake (or fall behind) the other.
#[test]
fn sweep_reports_best_point_and_crossover() {
    let (stdout, _) = pipesim_ok([
        "sweep",
        FIXTURE,
        "-q",
        "--trials",
        "300",
        "--vary",
        "strategy.quality.fixed_cost_per_month=0,2000000",
        "--objective",
        "roi",
    ]);
    assert!(stdout.contains("best for volume"), "{stdout}");
    assert!(stdout.contains("best for quality: point 0"), "{stdout}");
    assert!(
        stdout.contains("crossover: volume overtakes quality"),
        "{stdout}"
    );
}

/// Guards sweep argument errors: exit 2.
#[test]
fn sweep_bad_arguments_exit_2() {
    for args in [
        vec!["--vary", "sales.reps=8..4:1"],
        vec!["--vary", "sales.rep=4,6"],
        vec!["--vary", "sales.reps=4,6", "--objective", "happiness"],
        vec![
            "--vary",
            "sales.reps=4,6",
            "--objective",
            "p_target:revenue",
        ],
        vec![],
    ] {
        let mut all = vec!["sweep", FIXTURE, "-q", "--trials", "10"];
        all.extend_from_slice(&args);
        let (code, _, stderr) = pipesim(&all);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

// ----------------------------------------------------------------- batch

/// Guards batch runs: a bad scenario among good ones does not stop the
/// others, its error is listed, the exit code is non-zero, and each good
/// scenario's rows equal its own `run --out` summary.
#[test]
fn batch_runs_good_files_despite_a_bad_one() {
    let dir = tmp();
    let inputs = dir.path().join("in");
    std::fs::create_dir_all(&inputs).expect("mkdir");
    let fixture = std::fs::read_to_string(FIXTURE).expect("fixture");
    write(&inputs, "good.toml", &fixture);
    write(
        &inputs,
        "broken.toml",
        &fixture.replace("horizon_months = 24", "horizon_months = -1"),
    );
    let out = dir.path().join("out");
    let (code, stdout, stderr) = pipesim([
        "batch",
        inputs.to_str().expect("utf-8"),
        "scenarios/budget-volume-vs-quality.toml",
        "-q",
        "--trials",
        "300",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("broken.toml") && stderr.contains("horizon_months"),
        "{stderr}"
    );
    assert!(stdout.contains("good"), "{stdout}");

    let (header, rows) = read_csv(&out.join("summary.csv"));
    assert_eq!(header[0], "scenario");
    let names: std::collections::BTreeSet<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["budget-volume-vs-quality", "good"]
    );
    let (_, meta) = read_csv(&out.join("run.csv"));
    assert!(
        meta.iter()
            .any(|r| r[0] == "failed" && r[1].contains("broken.toml")),
        "{meta:?}"
    );
    assert_eq!(meta.iter().filter(|r| r[0] == "ok").count(), 2, "{meta:?}");
    let (cheader, crows) = read_csv(&out.join("comparison.csv"));
    assert_eq!(cheader[0], "scenario");
    assert!(!crows.is_empty());

    for (name, file) in [
        ("good", inputs.join("good.toml")),
        (
            "budget-volume-vs-quality",
            Path::new("scenarios/budget-volume-vs-quality.toml").to_path_buf(),
        ),
    ] {
        let own = dir.path().join(format!("own-{name}"));
        pipesim_ok([
            "run",
            file.to_str().expect("utf-8"),
            "-q",
            "--trials",
            "300",
            "--out",
            own.to_str().expect("utf-8"),
        ]);
        let (h, own_rows) = read_csv(&own.join("summary.csv"));
        assert_eq!(&header[1..], &h[..]);
        let mine: Vec<Vec<String>> = rows
            .iter()
            .filter(|r| r[0] == name)
            .map(|r| r[1..].to_vec())
            .collect();
        assert_eq!(mine, own_rows, "{name}");
    }
}

// ------------------------------------------------------- formats, precision

/// Guards `run --format json`: one JSON document with every strategy, the
/// comparisons and the overrides.
#[test]
fn run_format_json_is_complete() {
    let (stdout, _) = pipesim_ok([
        "run",
        FIXTURE,
        "-q",
        "--trials",
        "200",
        "--format",
        "json",
        "--set",
        "sales.reps=7",
    ]);
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("valid JSON");
    assert_eq!(v["trials"], 200);
    assert_eq!(v["overrides"][0], "--set sales.reps=7");
    assert_eq!(v["strategies"].as_array().map(Vec::len), Some(2));
    assert!(v["strategies"][0]["metrics"]["bookings"]["mean"].is_number());
    assert_eq!(v["comparisons"].as_array().map(Vec::len), Some(19));
}

/// Guards `--precision`: the run stops with the bookings CI half-width at
/// or below the target in every strategy (as its own output shows), says
/// so, and is deterministic.
#[test]
fn precision_stops_at_the_requested_precision() {
    let args = [
        "run",
        FIXTURE,
        "-q",
        "--trials",
        "1000",
        "--precision",
        "1.5%",
        "--format",
        "json",
    ];
    let (stdout, _) = pipesim_ok(args);
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("valid JSON");
    assert_eq!(v["precision"]["met"], true, "{}", v["precision"]);
    let trials = v["trials"].as_u64().expect("trials");
    assert!(trials > 1000, "{trials}");
    for st in v["strategies"].as_array().expect("strategies") {
        let b = &st["metrics"]["bookings"];
        let mean = b["mean"].as_f64().expect("mean");
        let (lo, hi) = (
            b["mean_ci"][0].as_f64().expect("ci"),
            b["mean_ci"][1].as_f64().expect("ci"),
        );
        assert!((hi - lo) / 2.0 / mean.abs() <= 0.015, "{st}");
    }
    let (again, _) = pipesim_ok(args);
    assert_eq!(stdout, again);

    // a cap stops it early and says so
    let (code, out, stderr) = pipesim([
        "run",
        FIXTURE,
        "-q",
        "--trials",
        "500",
        "--precision",
        "0.01%",
        "--max-trials",
        "1000",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(out.contains("NOT met"), "{out}");
    assert!(stderr.contains("--max-trials"), "{stderr}");
}
