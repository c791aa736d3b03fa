//! The board report (`pipesim report`, `run --report`): its numbers equal
//! `run --out`'s at the same seed (and its what-ifs `whatif`'s, its EVPI
//! `sensitivity`'s), it is self-contained and small, it is
//! the same bytes for any thread count and for both commands, it never
//! overwrites a file pipesim did not write, and its chart shapes are the
//! run's distributions (exactly with kept trials, within the quantile
//! sketch's bound beyond). The rendering in a real browser is checked by
//! `tests/browser/run.sh` (headless Chromium), which `.ci/run` runs.

use std::collections::HashMap;
use std::path::Path;

use pipesim::accum::sketch::RELATIVE_ACCURACY;
use pipesim::analysis::shape;
use pipesim::experiment::{self, RunSpec};
use pipesim::metrics::{Metric, MonthlyMetric};

use crate::common::{pipesim, pipesim_ok, read_csv, tmp};
use crate::laws;

const BUDGET: &str = "scenarios/budget-volume-vs-quality.toml";
const V1: &str = "scenarios/v1-volume-vs-quality.toml";

/// Write the report of `scenario` with `args` to `dir/name`; its HTML.
fn report_html(dir: &Path, name: &str, scenario: &str, args: &[&str]) -> String {
    let path = dir.join(name);
    let out = path.to_str().expect("a UTF-8 temporary path");
    let mut all = vec!["report", scenario, "-q", "--out", out];
    all.extend_from_slice(args);
    pipesim_ok(&all);
    std::fs::read_to_string(&path).expect("report written")
}

/// `pipesim report BUDGET -q ARGS... --out OUT`.
fn budget_report(out: &Path, args: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = ["report", BUDGET, "-q"].map(String::from).to_vec();
    all.extend(args.iter().map(|a| a.to_string()));
    all.extend(["--out".to_string(), out.display().to_string()]);
    all
}

/// The `data-…` attributes of every key-figure cell:
/// `(strategy, metric, stat) → value`.
fn key_cells(html: &str) -> HashMap<(String, String, String), String> {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        let end = tag[start..].find('"')? + start;
        Some(tag[start..end].to_string())
    };
    let mut out = HashMap::new();
    for piece in html.split("<td ").skip(1) {
        let tag = &piece[..piece.find('>').unwrap_or(piece.len())];
        if let (Some(s), Some(m), Some(k), Some(v)) = (
            attr(tag, "data-strategy"),
            attr(tag, "data-metric"),
            attr(tag, "data-stat"),
            attr(tag, "data-value"),
        ) {
            out.insert((s, m, k), v);
        }
    }
    out
}

#[test]
fn report_figures_equal_run_out_at_the_same_seed() {
    let dir = tmp();
    let run_dir = dir.path().join("run");
    let (stdout, _) = pipesim_ok([
        "run",
        BUDGET,
        "--trials",
        "3000",
        "-q",
        "--out",
        run_dir.to_str().unwrap(),
    ]);
    let html = report_html(dir.path(), "report.html", BUDGET, &["--trials", "3000"]);
    let cells = key_cells(&html);
    let (header, rows) = read_csv(&run_dir.join("summary.csv"));
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    let mut compared = 0;
    for row in &rows {
        for stat in ["mean", "p5", "p95", "p_target"] {
            let key = (
                row[col("strategy")].clone(),
                row[col("metric")].clone(),
                stat.to_string(),
            );
            if let Some(v) = cells.get(&key) {
                assert_eq!(v, &row[col(stat)], "{key:?}");
                compared += 1;
            }
        }
    }
    // 2 strategies × 8 metrics × mean, P5, P95, and P(target) on bookings
    assert_eq!(compared, cells.len(), "every cell has a summary.csv row");
    assert_eq!(compared, 2 * 8 * 3 + 2);
    // the answer is the run's answer sentence
    let answer = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Answer: "))
        .expect("run prints an answer");
    let rest = answer.get(1..).expect("answer text");
    assert!(
        html.contains(&format!("<p id=\"answer\" class=\"answer\">O{rest}</p>")),
        "{answer}"
    );
    assert!(html.contains("P(target)"));
}

#[test]
fn report_is_self_contained_small_and_accessible() {
    let dir = tmp();
    let html = report_html(
        dir.path(),
        "r.html",
        BUDGET,
        &["--trials", "2000", "--whatif", "sales.reps=7"],
    );
    assert!(html.len() < 400_000, "{} bytes", html.len());
    let lower = html.to_lowercase();
    for forbidden in [
        "<script", "<link", "<img", "<iframe", "@import", "url(", "src=", "https://",
    ] {
        assert!(
            !lower.contains(forbidden),
            "the report contains {forbidden}"
        );
    }
    // the only URL is the SVG namespace
    assert_eq!(
        lower.matches("http://").count(),
        lower
            .matches("xmlns=\"http://www.w3.org/2000/svg\"")
            .count()
    );
    assert!(html.contains("Content-Security-Policy"));
    let charts = html.matches("<figure class=\"chart\"").count();
    // 3 distributions, 1 difference, 2 fans, coverage, quarterly bookings,
    // funnel, tornado, EVPPI, segments
    assert_eq!(charts, 12);
    assert_eq!(html.matches("role=\"img\"").count(), charts);
    assert_eq!(html.matches("<title id=\"fig-").count(), charts);
    assert_eq!(html.matches("<desc id=\"fig-").count(), charts);
    for section in [
        "id=\"answer\"",
        "id=\"key-figures\"",
        "id=\"whatifs\"",
        "id=\"assumptions\"",
    ] {
        assert!(html.contains(section), "{section}");
    }
    assert!(html.contains("sales.reps=7"));
    assert!(
        html.contains("market.demand"),
        "the assumptions list the inputs"
    );
    assert!(html.contains(&format!("pipesim {}", env!("CARGO_PKG_VERSION"))));
    assert!(
        !html.contains("NaN") && !html.contains("inf<"),
        "no non-finite figure"
    );

    // a scenario without segments, quota or sensitivity has fewer charts
    let html = report_html(
        dir.path(),
        "v1.html",
        V1,
        &["--trials", "2000", "--no-sensitivity"],
    );
    let charts = html.matches("<figure class=\"chart\"").count();
    // 3 distributions, 1 difference, 2 fans, quarterly bookings, funnel
    assert_eq!(charts, 8);
    assert!(html.contains("none: not asked for"));
}

#[test]
fn report_bytes_do_not_depend_on_threads_or_command() {
    let dir = tmp();
    let a = dir.path().join("a.html");
    let b = dir.path().join("b.html");
    let c = dir.path().join("c.html");
    pipesim_ok(budget_report(&a, &["--trials", "1500", "--threads", "1"]));
    pipesim_ok(budget_report(&b, &["--trials", "1500", "--threads", "2"]));
    pipesim_ok([
        "run",
        BUDGET,
        "--trials",
        "1500",
        "-q",
        "--report",
        c.to_str().unwrap(),
    ]);
    let read = |p: &std::path::Path| std::fs::read(p).expect("report");
    assert!(read(&a) == read(&b), "thread count changed the report");
    assert!(read(&a) == read(&c), "run --report differs from report");
}

#[test]
fn report_never_overwrites_what_pipesim_did_not_write() {
    let dir = tmp();
    let mine = dir.path().join("notes.html");
    std::fs::write(&mine, "<html>my notes</html>").expect("write");
    let (code, _, stderr) = pipesim(budget_report(&mine, &["--trials", "200"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("not a pipesim report") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&mine).expect("kept"),
        "<html>my notes</html>"
    );
    // an earlier report is replaced; --force replaces anything
    let earlier = dir.path().join("r.html");
    pipesim_ok(budget_report(&earlier, &["--trials", "200"]));
    pipesim_ok(budget_report(&earlier, &["--trials", "300"]));
    pipesim_ok(budget_report(&mine, &["--trials", "200", "--force"]));
    // the scenario itself is never the output
    let (code, _, stderr) = pipesim([
        "report", BUDGET, "--trials", "200", "-q", "--force", "--out", BUDGET,
    ]);
    assert_eq!(code, 2, "{stderr}");
    // no stray temporary files
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
}

#[test]
fn bad_whatif_exits_2_and_writes_nothing() {
    let dir = tmp();
    let out = dir.path().join("r.html");
    for bad in ["", "sales.reps", "sales.nope=3", "market.demand*=x"] {
        let (code, _, stderr) = pipesim(budget_report(&out, &["--trials", "200", "--whatif", bad]));
        assert_eq!(code, 2, "--whatif {bad:?}: {stderr}");
        assert!(stderr.starts_with("error:"), "{stderr}");
        assert!(!out.exists());
    }
}

#[test]
fn chart_shapes_are_the_runs_distribution() {
    let scn = experiment::load(BUDGET.as_ref(), &[]).expect("scenario");
    let n = 4000u64;
    let seed = scn.seed;
    let values = laws::run(&scn, n, seed);
    let take = |spec: RunSpec| {
        experiment::run_with(&spec, &(), None, |scn, acc| {
            shape::shapes(scn, acc, &[Metric::Bookings], &[], MonthlyMetric::MrrEnd)
        })
        .expect("run")
        .1
    };
    let exact = take(RunSpec::new(scn.clone()).trials(Some(n)));
    let sketch = take(RunSpec::new(scn.clone()).trials(Some(n)).exact_budget(0));
    for s in 0..scn.strategies.len() {
        let xs = &values.strategies[s].metrics[Metric::Bookings.index()];
        let h = &exact.metrics[0].per_strategy[s];
        // exact: the share of trials in each bin, counted
        for (share, e) in h.share.iter().zip(h.edges.windows(2)) {
            let count = xs.iter().filter(|&&x| x > e[0] && x <= e[1]).count();
            assert!((share - count as f64 / n as f64).abs() < 1e-12, "bin {e:?}");
        }
        let total: f64 = h.share.iter().sum::<f64>() + h.below + h.above;
        assert!((total - 1.0).abs() < 1e-12);
        assert!(h.below <= 0.005 + 1.0 / n as f64 && h.above <= 0.005 + 1.0 / n as f64);
        // sketch: each edge's CDF is the exact CDF at a point within the
        // sketch's relative error (α of the two order statistics around a
        // quantile, so at most 2α·|x| away), plus the 1/1000 of the quantile
        // grid it interpolates and 1/n of type-7 interpolation
        let hs = &sketch.metrics[0].per_strategy[s];
        let ecdf = |x: f64| xs.iter().filter(|&&v| v <= x).count() as f64 / n as f64;
        let slack = 1.0 / 1000.0 + 1.0 / n as f64;
        let mut cum = hs.below;
        for (share, e) in hs.share.iter().zip(hs.edges.windows(2)) {
            cum += share;
            let x = e[1];
            let d = 2.0 * RELATIVE_ACCURACY * x.abs();
            assert!(
                cum >= ecdf(x - d) - slack && cum <= ecdf(x + d) + slack,
                "sketch CDF {cum} at {x} outside [{}, {}]",
                ecdf(x - d),
                ecdf(x + d)
            );
        }
    }
    // the fan's bands are the monthly series' quantiles, in order
    for fan in &exact.fans {
        for b in &fan.bands {
            assert!(b.windows(2).all(|w| w[0] <= w[1]), "{b:?}");
        }
    }
}

#[test]
fn whatif_table_equals_the_whatif_command() {
    let dir = tmp();
    let html = report_html(
        dir.path(),
        "r.html",
        BUDGET,
        &[
            "--trials",
            "1500",
            "--no-sensitivity",
            "--whatif",
            "sales.reps=7",
        ],
    );
    let (json, _) = pipesim_ok([
        "whatif",
        BUDGET,
        "--trials",
        "1500",
        "-q",
        "--set",
        "sales.reps=7",
        "--format",
        "json",
    ]);
    let w: serde_json::Value = serde_json::from_str(&json).expect("whatif json");
    let d = w["decision"]
        .as_array()
        .expect("decision")
        .iter()
        .find(|d| d["metric"] == "bookings")
        .expect("bookings decision");
    let pct = |v: &serde_json::Value| format!("{:.1}%", 100.0 * v.as_f64().expect("p"));
    let beats = format!(
        "{} → {}",
        pct(&d["plan_p_beats"]["p"]),
        pct(&d["changed_p_beats"]["p"])
    );
    let row = format!(
        "<td class=\"num\">{beats}</td><td>{}</td>",
        if d["material"] == true { "yes" } else { "no" }
    );
    assert!(html.contains(&row), "no what-if row with {row}");
    let mean = |v: &serde_json::Value| {
        let x = v.as_f64().expect("mean");
        format!(
            "{}{}",
            if x > 0.0 { "+" } else { "" },
            pipesim::metrics::thousands(x)
        )
    };
    let diff = format!(
        "{} → {}",
        mean(&d["plan_diff"]["mean"]),
        mean(&d["changed_diff"]["mean"])
    );
    assert!(html.contains(&diff), "no what-if row with {diff}");
}

#[test]
fn value_of_information_equals_the_sensitivity_command() {
    let dir = tmp();
    let html = report_html(dir.path(), "r.html", BUDGET, &["--trials", "1500"]);
    let (text, _) = pipesim_ok([
        "sensitivity",
        BUDGET,
        "--trials",
        "1500",
        "-q",
        "--swing-top",
        "0",
    ]);
    let line = text
        .lines()
        .find(|l| l.starts_with("Expected value of perfect information (EVPI): "))
        .expect("EVPI line");
    let figures = line
        .trim_start_matches("Expected value of perfect information (EVPI): ")
        .split(" (standard error)")
        .next()
        .expect("figures");
    let (evpi, se) = figures.split_once(" ± ").expect("EVPI ± SE");
    assert!(html.contains(&format!("EVPI {evpi})")), "EVPI {evpi}");
    assert!(
        html.contains(&format!("be worth {evpi} (EVPI, ± {se} standard error)")),
        "{se}"
    );
}
