//! Integration tests of the `pipesim` command line: exit codes, error
//! messages for bad scenarios, the exact format of the CSV files, the
//! report, `validate`, atomic output and the shipped scenarios. (The
//! command line's determinism across thread counts is tested in
//! `determinism`.)
//!
//! Every test runs the real binary through [`pipesim`] and works in its own
//! temporary directory (the CSV format tests share one run, see
//! [`format_run`]). Bad scenarios are built from the reference fixture
//! `tests/fixtures/scenario-format.toml` by one small text edit, so each
//! case differs from a known-good file in exactly the way it names.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::common::{FIXTURE, pipesim, pipesim_ok, read_csv, tmp, write};

// ------------------------------------------------------------------ helpers

/// Metric names of MODEL.md's "Outputs per trial and strategy" table.
const METRICS: [&str; 19] = [
    "leads",
    "mqls",
    "mqls_ignored",
    "opportunities",
    "pipeline_created",
    "won_deals",
    "bookings",
    "revenue",
    "arr_end",
    "open_pipeline_end",
    "cost",
    "roi",
    "mqls_rejected",
    "mqls_recycled",
    "sales_cost",
    "gtm_roi",
    "total_bookings",
    "total_revenue",
    "total_arr_end",
];

/// MODEL.md's monthly series.
const MONTHLY_SERIES: [&str; 11] = [
    "leads",
    "mqls",
    "opportunities",
    "won_deals",
    "bookings",
    "mrr_end",
    "mqls_ignored",
    "pipeline_created",
    "revenue",
    "cost",
    "total_mrr_end",
];

/// The fixture's strategies, baseline first.
const STRATEGIES: [&str; 2] = ["volume", "quality"];

fn fixture_text() -> String {
    std::fs::read_to_string(FIXTURE).expect("cannot read the fixture")
}

/// The fixture with `from` replaced by `to`; `from` must occur exactly once,
/// so an edit can never silently miss or hit the wrong place.
fn edit(text: &str, from: &str, to: &str) -> String {
    let n = text.matches(from).count();
    assert_eq!(
        n, 1,
        "{from:?} occurs {n} times in the scenario, expected once"
    );
    text.replacen(from, to, 1)
}

/// A numeric cell: a plain decimal (no exponent) that parses to a finite f64.
fn number(cell: &str, what: &str) -> f64 {
    assert!(
        !cell.contains(['e', 'E']),
        "{what}: {cell:?} is not a plain decimal"
    );
    let x: f64 = cell
        .parse()
        .unwrap_or_else(|_| panic!("{what}: {cell:?} is not a number"));
    assert!(x.is_finite(), "{what}: {cell:?} is not finite");
    x
}

/// Every regular file below `dir`, recursively.
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

fn assert_no_tmp_files(dir: &Path) {
    let stray: Vec<_> = files_below(dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".tmp"))
        .collect();
    assert!(stray.is_empty(), "stray temporary files: {stray:?}");
}

// ------------------------------------------------------------ bad scenarios

/// One bad-input case of the table in [`bad_scenarios_exit_2_and_name_the_field`].
struct BadCase {
    /// Also the scenario's file name (`<name>.toml`), so messages can be
    /// checked for naming the file.
    name: &'static str,
    /// The complete scenario text.
    scenario: String,
    /// `--trials` on the command line; `None` leaves the scenario's.
    cli_trials: Option<&'static str>,
    /// Substrings stderr must contain, besides the file name.
    expect: Vec<String>,
    /// Whether `validate` must reject the file too (false when only the
    /// command line is bad).
    file_is_bad: bool,
}

fn bad_cases() -> Vec<BadCase> {
    let fx = fixture_text();
    let case = |name: &'static str, from: &str, to: &str, expect: &[&str]| BadCase {
        name,
        scenario: edit(&fx, from, to),
        cli_trials: Some("200"),
        expect: expect.iter().map(|s| s.to_string()).collect(),
        file_is_bad: true,
    };
    // The line of `reps = 6`, for the syntax-error position.
    let reps_line = fx
        .lines()
        .position(|l| l.starts_with("reps = 6"))
        .expect("fixture sets reps = 6")
        + 1;
    vec![
        case(
            "probability-above-one",
            r#"sql = "beta(mean=0.20, n=150)""#,
            "sql = 1.3",
            &["strategy.volume.channel[1].conversion.sql", "1.3"],
        ),
        case(
            "negative-spend",
            "spend_per_month = 40000",
            "spend_per_month = -40000",
            &["strategy.volume.channel[1].spend_per_month", "-40000"],
        ),
        case(
            "unknown-field-typo",
            r#"leads_per_month = "700 to 1100""#,
            r#"leads_per_mnth = "700 to 1100""#,
            &[
                "strategy.volume.channel[0].leads_per_mnth",
                "leads_per_month",
            ],
        ),
        BadCase {
            name: "no-strategy",
            scenario: fx
                .split_once("[strategy.volume]")
                .expect("fixture has [strategy.volume]")
                .0
                .to_string(),
            cli_trials: Some("200"),
            expect: vec!["strategy".to_string()],
            file_is_bad: true,
        },
        case(
            "unknown-baseline",
            r#"baseline = "volume""#,
            r#"baseline = "volumes""#,
            &["baseline", "volumes"],
        ),
        case(
            "handoff-after-pipeline",
            r#"handoff = "mql""#,
            r#"handoff = "won""#,
            &["funnel.handoff"],
        ),
        case(
            "handoff-equals-pipeline",
            r#"handoff = "mql""#,
            r#"handoff = "sql""#,
            &["funnel.handoff"],
        ),
        case(
            "strategy-without-channel",
            "[strategy.quality]\n",
            "[strategy.empty]\nlabel = \"No channels\"\n\n[strategy.quality]\n",
            &["strategy.empty.channel"],
        ),
        case(
            "empty-channel-array",
            "[strategy.quality]\n",
            "[strategy.empty]\nlabel = \"No channels\"\nchannel = []\n\n[strategy.quality]\n",
            &["strategy.empty.channel"],
        ),
        case(
            "malformed-lognormal",
            "median=14000, p90=38000",
            "median=14000, p90=",
            &["strategy.volume.deal_size", "p90"],
        ),
        case(
            "unknown-distribution",
            r#"mql = "beta(mean=0.40, n=200)""#,
            r#"mql = "betta(mean=0.40, n=200)""#,
            &["strategy.volume.channel[0].conversion.mql", "betta"],
        ),
        case(
            "zero-trials-in-file",
            "trials = 20000",
            "trials = 0",
            &["trials"],
        ),
        BadCase {
            cli_trials: None,
            ..case(
                "zero-trials-in-file-no-override",
                "trials = 20000",
                "trials = 0",
                &["trials"],
            )
        },
        BadCase {
            name: "zero-trials-on-command-line",
            scenario: fx.clone(),
            cli_trials: Some("0"),
            // The bad value is on the command line, not in the file.
            expect: vec!["--trials".to_string()],
            file_is_bad: false,
        },
        BadCase {
            expect: vec![format!("syntax-error.toml:{reps_line}:8")],
            ..case("syntax-error", "reps = 6", "reps = = 6", &[])
        },
        case(
            "normal-mostly-outside-probability",
            r#"sql = "beta(mean=0.20, n=150)""#,
            r#"sql = "normal(mean=-0.05, sd=0.1)""#,
            &[
                "strategy.volume.channel[1].conversion.sql",
                "normal",
                "beta",
            ],
        ),
        case(
            "p90-below-median",
            "median=14000, p90=38000",
            "median=14000, p90=9000",
            &["strategy.volume.deal_size", "p90"],
        ),
        case(
            "uniform-leaves-probability-domain",
            r#"sql = "beta(mean=0.20, n=150)""#,
            r#"sql = "uniform(min=-0.1, max=0.5)""#,
            &["strategy.volume.channel[1].conversion.sql", "[0, 1]"],
        ),
        case(
            "interval-above-one-on-probability",
            r#"sal = "0.50 to 0.70""#,
            r#"sal = "0.5 to 1.5""#,
            &["strategy.volume.channel[1].conversion.sal"],
        ),
        case(
            "churn-not-a-probability",
            r#"churn_monthly = "beta(mean=0.012, n=400)""#,
            "churn_monthly = 1.2",
            &["revenue.churn_monthly", "probability"],
        ),
        case(
            "net-rate-at-minus-one",
            "churn_monthly = \"beta(mean=0.012, n=400)\"\nexpansion_monthly = 0.004",
            "churn_monthly = \"0.5 to 0.6\"\nexpansion_monthly = \"uniform(min=-0.5, max=0.1)\"",
            &["revenue", "expansion - churn", "above -1"],
        ),
        case(
            "unknown-conversion-stage",
            r#"won = "beta(mean=0.18, n=120)""#,
            r#"wonn = "beta(mean=0.18, n=120)""#,
            &["strategy.volume.channel[0].conversion.wonn"],
        ),
        case(
            "missing-conversion",
            r#", won = "beta(mean=0.18, n=120)""#,
            "",
            &["strategy.volume.channel[0].conversion.won"],
        ),
        case(
            "nan-spend",
            "spend_per_month = 40000",
            "spend_per_month = nan",
            &["strategy.volume.channel[1].spend_per_month"],
        ),
        case(
            "unknown-target-metric",
            "bookings = 3_000_000",
            "booking = 3_000_000",
            &["targets.booking", "bookings"],
        ),
    ]
}

/// Guards against bad scenarios that crash, run anyway, exit with the wrong
/// code, leave an output directory behind, or give a message that does not
/// say which file and which field (in the scenario's own syntax) is wrong.
#[test]
fn bad_scenarios_exit_2_and_name_the_field() {
    let mut failures = Vec::new();
    for case in bad_cases() {
        let dir = tmp();
        let file_name = format!("{}.toml", case.name);
        let path = write(dir.path(), &file_name, &case.scenario);
        let out_dir = dir.path().join("out");

        let mut args: Vec<&OsStr> = vec![
            OsStr::new("run"),
            path.as_os_str(),
            OsStr::new("--quiet"),
            OsStr::new("--out"),
            out_dir.as_os_str(),
        ];
        if let Some(t) = case.cli_trials {
            args.extend([OsStr::new("--trials"), OsStr::new(t)]);
        }
        let (code, stdout, stderr) = pipesim(&args);
        let mut problems = Vec::new();
        if code != 2 {
            problems.push(format!("run exited {code}, expected 2"));
        }
        if stderr.contains("panicked") {
            problems.push("run panicked".to_string());
        }
        if case.file_is_bad && !stderr.contains(&file_name) {
            problems.push(format!("stderr does not name the file {file_name}"));
        }
        for e in &case.expect {
            if !stderr.contains(e.as_str()) {
                problems.push(format!("stderr does not contain {e:?}"));
            }
        }
        if out_dir.exists() {
            problems.push("the --out directory was created".to_string());
        }
        if !stdout.is_empty() {
            problems.push(format!("run printed a report: {stdout:.200}"));
        }

        if case.file_is_bad {
            let (vcode, _, vstderr) = pipesim([OsStr::new("validate"), path.as_os_str()]);
            if vcode != 2 {
                problems.push(format!("validate exited {vcode}, expected 2"));
            }
            if vstderr.contains("panicked") {
                problems.push("validate panicked".to_string());
            }
            for e in &case.expect {
                if !vstderr.contains(e.as_str()) {
                    problems.push(format!("validate stderr does not contain {e:?}"));
                }
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "case {}:\n  - {}\n  stderr: {}",
                case.name,
                problems.join("\n  - "),
                stderr.trim_end()
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

/// Guards against command-line mistakes (not the scenario) crashing or
/// exiting with anything but 2, and against a missing scenario file being
/// reported without its name.
#[test]
fn bad_command_lines_exit_2() {
    let dir = tmp();
    let missing = dir.path().join("no-such-scenario.toml");
    let out_dir = dir.path().join("out");
    let cases: Vec<(Vec<&OsStr>, &str)> = vec![
        (
            vec![OsStr::new("run"), missing.as_os_str()],
            "no-such-scenario.toml",
        ),
        (
            vec![OsStr::new("validate"), missing.as_os_str()],
            "no-such-scenario.toml",
        ),
        (
            vec![
                OsStr::new("run"),
                OsStr::new(FIXTURE),
                OsStr::new("--trials"),
                OsStr::new("1"),
                OsStr::new("--out"),
                out_dir.as_os_str(),
            ],
            "--trials",
        ),
        (
            vec![
                OsStr::new("run"),
                OsStr::new(FIXTURE),
                OsStr::new("--trials"),
                OsStr::new("many"),
            ],
            "--trials",
        ),
        (
            vec![
                OsStr::new("run"),
                OsStr::new(FIXTURE),
                OsStr::new("--per-trial"),
            ],
            "--out",
        ),
        (
            vec![OsStr::new("simulate"), OsStr::new(FIXTURE)],
            "simulate",
        ),
    ];
    for (args, expect) in cases {
        let (code, stdout, stderr) = pipesim(&args);
        assert_eq!(code, 2, "pipesim {args:?}\nstderr:\n{stderr}");
        assert!(stderr.contains(expect), "pipesim {args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stdout.is_empty(), "pipesim {args:?} printed: {stdout}");
    }
    assert!(!out_dir.exists(), "bad input created the --out directory");
}

// ------------------------------------------------------------ output format

/// Trials of the format run shared by the `*_has_the_documented_format` tests.
const TRIALS: usize = 2000;

/// The output of one `run --per-trial` of the fixture (2000 trials, seed 5):
/// the names of the files in its `--out` directory and each checked CSV
/// file as its header and rows.
struct FormatRun {
    names: Vec<String>,
    tables: BTreeMap<&'static str, (Vec<String>, Vec<Vec<String>>)>,
}

/// The format run, done once for all the tests that check its files. The
/// files are read into memory and their temporary directory removed at
/// once, so nothing is left behind when the test binary exits.
fn format_run() -> &'static FormatRun {
    static RUN: OnceLock<FormatRun> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tmp();
        let out = dir.path().join("results");
        pipesim_ok([
            OsStr::new("run"),
            OsStr::new(FIXTURE),
            OsStr::new("--trials"),
            OsStr::new("2000"),
            OsStr::new("--seed"),
            OsStr::new("5"),
            OsStr::new("-q"),
            OsStr::new("--per-trial"),
            OsStr::new("--out"),
            out.as_os_str(),
        ]);
        let mut names: Vec<_> = std::fs::read_dir(&out)
            .expect("out dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let tables = ["summary.csv", "comparison.csv", "monthly.csv", "trials.csv"]
            .into_iter()
            .map(|f| (f, read_csv(&out.join(f))))
            .collect();
        FormatRun { names, tables }
    })
}

/// One CSV file of the format run, as its header and rows.
fn format_table(name: &str) -> (&'static [String], &'static [Vec<String>]) {
    let (header, rows) = &format_run().tables[name];
    (header, rows)
}

/// Guards against changes to the set of output files: a `--per-trial` run
/// writes exactly summary, comparison, monthly, funnel, segments,
/// quarterly, run and trials CSVs, and
/// the manifest that records them.
#[test]
fn output_directory_has_the_documented_files() {
    assert_eq!(
        format_run().names,
        [
            ".pipesim-manifest.json",
            "comparison.csv",
            "funnel.csv",
            "monthly.csv",
            "quarterly.csv",
            "run.csv",
            "segments.csv",
            "summary.csv",
            "trials.csv"
        ],
        "unexpected files in the output directory"
    );
}

/// Guards against changes to the summary.csv contract: exact header, one
/// row per strategy and metric, plain-decimal numbers, the mean inside its
/// CI, ordered quantiles, and a target only where one is set.
#[test]
fn summary_csv_has_the_documented_format() {
    let metric_set: BTreeSet<&str> = METRICS.into_iter().collect();
    let (header, rows) = format_table("summary.csv");
    assert_eq!(
        header.join(","),
        "strategy,metric,trials,mean,sd,se,mean_ci_low,mean_ci_high,p5,p10,p25,p50,p75,p90,p95,target,p_target"
    );
    assert_eq!(rows.len(), METRICS.len() * STRATEGIES.len());
    for st in STRATEGIES {
        let metrics: Vec<&str> = rows
            .iter()
            .filter(|r| r[0] == st)
            .map(|r| r[1].as_str())
            .collect();
        assert_eq!(metrics.len(), METRICS.len(), "metrics of {st}: {metrics:?}");
        assert_eq!(
            metrics.iter().copied().collect::<BTreeSet<_>>(),
            metric_set,
            "metrics of {st}"
        );
    }
    for r in rows {
        let what = |col: &str| format!("summary.csv {}/{} {col}", r[0], r[1]);
        assert_eq!(r.len(), header.len());
        assert_eq!(r[2], TRIALS.to_string(), "{}", what("trials"));
        let v: Vec<f64> = (3..15).map(|i| number(&r[i], &what(&header[i]))).collect();
        let (mean, sd, se, lo, hi) = (v[0], v[1], v[2], v[3], v[4]);
        assert!(sd >= 0.0 && se >= 0.0, "{}", what("sd/se"));
        assert!(
            lo <= mean && mean <= hi,
            "{}: {lo} <= {mean} <= {hi}",
            what("mean_ci")
        );
        let q = &v[5..12];
        assert!(
            q.windows(2).all(|w| w[0] <= w[1]),
            "{}: {q:?}",
            what("p5..p95")
        );
        if r[1] == "bookings" {
            assert_eq!(number(&r[15], &what("target")), 3_000_000.0);
            let p = number(&r[16], &what("p_target"));
            assert!((0.0..=1.0).contains(&p), "{}: {p}", what("p_target"));
        } else {
            assert_eq!(
                (r[15].as_str(), r[16].as_str()),
                ("", ""),
                "{}",
                what("target")
            );
        }
    }
}

/// Guards against changes to the comparison.csv contract: exact header, one
/// row per metric of the challenger against the baseline, plain-decimal
/// numbers, the difference inside its CI, ordered difference quantiles, and
/// P(beats) a probability inside its interval.
#[test]
fn comparison_csv_has_the_documented_format() {
    let metric_set: BTreeSet<&str> = METRICS.into_iter().collect();
    let (header, rows) = format_table("comparison.csv");
    assert_eq!(
        header.join(","),
        "strategy,baseline,metric,diff_mean,diff_ci_low,diff_ci_high,diff_p5,diff_p50,diff_p95,p_beats,p_beats_ci_low,p_beats_ci_high"
    );
    assert_eq!(rows.len(), METRICS.len());
    assert_eq!(
        rows.iter().map(|r| r[2].as_str()).collect::<BTreeSet<_>>(),
        metric_set
    );
    for r in rows {
        let what = |col: &str| format!("comparison.csv {} {col}", r[2]);
        assert_eq!(r.len(), header.len());
        assert_eq!((r[0].as_str(), r[1].as_str()), ("quality", "volume"));
        let v: Vec<f64> = (3..12).map(|i| number(&r[i], &what(&header[i]))).collect();
        assert!(v[1] <= v[0] && v[0] <= v[2], "{}: {v:?}", what("diff_ci"));
        assert!(
            v[3] <= v[4] && v[4] <= v[5],
            "{}: {v:?}",
            what("diff quantiles")
        );
        assert!(
            0.0 <= v[7] && v[7] <= v[6] && v[6] <= v[8] && v[8] <= 1.0,
            "{}: {v:?}",
            what("p_beats")
        );
    }
}

/// Guards against changes to the monthly.csv contract: exact header, one row
/// per strategy, month and series (none twice), calendar labels from
/// 2027-01 to 2028-12, plain-decimal numbers and ordered quantiles.
#[test]
fn monthly_csv_has_the_documented_format() {
    let (header, rows) = format_table("monthly.csv");
    assert_eq!(
        header.join(","),
        "strategy,month,label,metric,mean,p5,p50,p95"
    );
    assert_eq!(rows.len(), 24 * MONTHLY_SERIES.len() * STRATEGIES.len());
    let mut seen = BTreeSet::new();
    for r in rows {
        let what = |col: &str| format!("monthly.csv {}/{}/{} {col}", r[0], r[1], r[3]);
        assert_eq!(r.len(), header.len());
        assert!(STRATEGIES.contains(&r[0].as_str()), "{}", what("strategy"));
        assert!(
            MONTHLY_SERIES.contains(&r[3].as_str()),
            "{}",
            what("metric")
        );
        let month: usize = r[1].parse().unwrap_or_else(|_| panic!("{}", what("month")));
        assert!(month < 24, "{}", what("month"));
        let label = format!("{}-{:02}", 2027 + month / 12, month % 12 + 1);
        assert_eq!(r[2], label, "{}", what("label"));
        let v: Vec<f64> = (4..8).map(|i| number(&r[i], &what(&header[i]))).collect();
        assert!(v[1] <= v[2] && v[2] <= v[3], "{}: {v:?}", what("p5..p95"));
        assert!(
            seen.insert((r[0].clone(), month, r[3].clone())),
            "{} appears twice",
            what("row")
        );
    }
    assert_eq!(
        rows.first().map(|r| r[2].as_str()),
        Some("2027-01"),
        "first label"
    );
    assert_eq!(
        rows.last().map(|r| r[2].as_str()),
        Some("2028-12"),
        "last label"
    );
}

/// Guards against changes to the trials.csv contract: exact header, one row
/// per trial and strategy, plain-decimal numbers, whole non-negative counts
/// that only shrink along the funnel, and per-trial rows consistent with the
/// summary (summary.csv's means are the means of these rows).
#[test]
fn trials_csv_has_the_documented_format() {
    let (header, rows) = format_table("trials.csv");
    assert_eq!(
        header.join(","),
        "trial,strategy,leads,mqls,mqls_ignored,opportunities,pipeline_created,won_deals,bookings,revenue,arr_end,open_pipeline_end,cost,roi,mqls_rejected,mqls_recycled,sales_cost,gtm_roi,total_bookings,total_revenue,total_arr_end"
    );
    assert_eq!(rows.len(), TRIALS * STRATEGIES.len());
    let mut pairs = BTreeSet::new();
    let mut sums: BTreeMap<(String, String), f64> = BTreeMap::new();
    for r in rows {
        let what = |col: &str| format!("trials.csv trial {} {} {col}", r[0], r[1]);
        assert_eq!(r.len(), header.len());
        let trial: usize = r[0].parse().unwrap_or_else(|_| panic!("{}", what("trial")));
        assert!(trial < TRIALS, "{}", what("trial"));
        assert!(STRATEGIES.contains(&r[1].as_str()), "{}", what("strategy"));
        assert!(pairs.insert((trial, r[1].clone())), "{} twice", what("row"));
        let v: Vec<f64> = (2..2 + METRICS.len())
            .map(|i| number(&r[i], &what(&header[i])))
            .collect();
        // Counts are whole and non-negative; stages only shrink.
        for i in [0, 1, 2, 3, 5] {
            assert!(
                v[i] >= 0.0 && v[i].fract() == 0.0,
                "{}: {}",
                what(&header[i + 2]),
                v[i]
            );
        }
        let (leads, mqls, ignored, opps, won) = (v[0], v[1], v[2], v[3], v[5]);
        assert!(
            ignored <= mqls && mqls <= leads && won <= opps,
            "{}: {v:?}",
            what("counts")
        );
        for (i, m) in METRICS.iter().enumerate() {
            *sums.entry((r[1].clone(), m.to_string())).or_default() += v[i];
        }
    }
    // The summary's means are the means of these rows.
    let (summary_header, summary_rows) = format_table("summary.csv");
    let summary_means: BTreeMap<(String, String), f64> = summary_rows
        .iter()
        .map(|r| {
            let what = format!("summary.csv {}/{} {}", r[0], r[1], summary_header[3]);
            ((r[0].clone(), r[1].clone()), number(&r[3], &what))
        })
        .collect();
    for ((st, m), sum) in sums {
        let mean = sum / TRIALS as f64;
        let reported = summary_means[&(st.clone(), m.clone())];
        assert!(
            (mean - reported).abs() <= 1e-9 * mean.abs().max(1.0),
            "{st}/{m}: summary mean {reported}, trials.csv mean {mean}"
        );
    }
}

// ------------------------------------------------------------------ report

/// Guards against a report that loses a strategy, the one-line answer or
/// the target probability.
#[test]
fn report_names_strategies_answer_and_target() {
    let (stdout, _) = pipesim_ok(["run", FIXTURE, "--trials", "2000", "--seed", "3", "-q"]);
    for needle in [
        "volume",
        "quality",
        "Lead volume (MQL targets)",
        "Pipeline quality (ICP + nurture)",
        "P(bookings >= ",
    ] {
        assert!(
            stdout.contains(needle),
            "report lacks {needle:?}:\n{stdout}"
        );
    }
    assert!(
        stdout.lines().any(|l| l.starts_with("Answer:")),
        "no line starts with \"Answer:\":\n{stdout}"
    );
    assert!(
        stdout.contains("2,000") || stdout.contains("2000"),
        "report does not show the --trials override:\n{stdout}"
    );
}

// ---------------------------------------------------------------- validate

/// Guards against `validate` rejecting a good scenario, simulating instead
/// of describing, omitting strategies, channels or the uncertain parameters,
/// or accepting a bad file.
#[test]
fn validate_describes_a_good_scenario_and_rejects_a_bad_one() {
    let (stdout, _) = pipesim_ok(["validate", FIXTURE]);
    for needle in [
        "volume",
        "quality",
        "content_syndication",
        "paid_search",
        "abm_intent",
        "webinars_nurture",
    ] {
        assert!(
            stdout.contains(needle),
            "validate lacks {needle:?}:\n{stdout}"
        );
    }
    assert!(
        !stdout.contains("Answer:"),
        "validate ran a simulation:\n{stdout}"
    );
    // The uncertain parameters, grouped as "owner: path, path" lines under
    // "uncertain per trial"; rebuilt into full paths. Fixed ones are absent.
    let block: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.contains("uncertain per trial"))
        .skip(1)
        .take_while(|l| l.starts_with("    "))
        .collect();
    assert!(
        !block.is_empty(),
        "validate lists no uncertain parameters:\n{stdout}"
    );
    let mut paths = Vec::new();
    for line in &block {
        let (owner, items) = line.trim().split_once(": ").expect("owner: items");
        // "scenario (shared by every strategy)", "channel.NAME (shared by
        // ...)", "strategy.NAME (its own)"
        let owner = owner.split(" (").next().unwrap_or(owner);
        for item in items.split(", ") {
            paths.push(if owner == "scenario" {
                item.to_string()
            } else {
                format!("{owner}.{item}")
            });
        }
    }
    let uncertain = paths.join(" ");
    for path in [
        "market.demand",
        "revenue.churn_monthly",
        "strategy.volume.channel[0].leads_per_month",
        "strategy.volume.channel[1].cost_per_lead",
        "strategy.quality.channel[0].conversion.sql",
        "strategy.quality.channel[1].conversion.won",
    ] {
        assert!(
            uncertain.contains(path),
            "{path} not listed as uncertain: {uncertain}"
        );
    }
    for fixed in [
        "revenue.expansion_monthly",
        "strategy.volume.channel[1].spend_per_month",
        "strategy.quality.channel[0].spend_per_month",
        "strategy.quality.fixed_cost_per_month",
    ] {
        assert!(
            !uncertain.contains(fixed),
            "{fixed} is fixed but listed as uncertain: {uncertain}"
        );
    }

    let dir = tmp();
    let bad = write(
        dir.path(),
        "bad.toml",
        &edit(
            &fixture_text(),
            r#"sql = "beta(mean=0.20, n=150)""#,
            "sql = 1.3",
        ),
    );
    let (code, stdout, stderr) = pipesim([OsStr::new("validate"), bad.as_os_str()]);
    assert_eq!(code, 2, "stderr:\n{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("bad.toml") && stderr.contains("strategy.volume.channel[1].conversion.sql"),
        "{stderr}"
    );
}

// ----------------------------------------------------------- atomic output

/// Guards against an `--out` that is a file exiting 0 or 1 instead of 2 (it
/// is refused before the simulation), a path below a file exiting other
/// than 1 (the OS refuses it), clobbering the file in the way, or leaving
/// temporary files behind.
#[test]
fn out_path_that_is_a_file_fails_and_leaves_no_tmp_files() {
    let dir = tmp();
    let blocker = write(dir.path(), "results", "not a directory\n");
    let (code, _, stderr) = pipesim([
        OsStr::new("run"),
        OsStr::new(FIXTURE),
        OsStr::new("--trials"),
        OsStr::new("500"),
        OsStr::new("-q"),
        OsStr::new("--per-trial"),
        OsStr::new("--out"),
        blocker.as_os_str(),
    ]);
    assert_eq!(code, 2, "stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("results"),
        "error does not name the path:\n{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&blocker).expect("blocker"),
        "not a directory\n",
        "the file in the way was modified"
    );
    assert_no_tmp_files(dir.path());
    assert_eq!(files_below(dir.path()), vec![blocker], "stray files");

    // A path *below* a regular file cannot be created either.
    let below = dir.path().join("results").join("sub");
    let (code, _, stderr) = pipesim([
        OsStr::new("run"),
        OsStr::new(FIXTURE),
        OsStr::new("--trials"),
        OsStr::new("500"),
        OsStr::new("-q"),
        OsStr::new("--out"),
        below.as_os_str(),
    ]);
    assert_eq!(code, 1, "stderr:\n{stderr}");
    assert_no_tmp_files(dir.path());
}

/// Guards against `--out` failing on a directory that does not exist yet
/// (including its parents) or on one that holds an earlier run, and against
/// temporary files left after a successful write.
#[test]
fn out_creates_nested_dirs_and_replaces_earlier_results() {
    let dir = tmp();
    let out = dir.path().join("a").join("b");
    let run = |seed: &str| {
        pipesim_ok([
            OsStr::new("run"),
            OsStr::new(FIXTURE),
            OsStr::new("--trials"),
            OsStr::new("500"),
            OsStr::new("--seed"),
            OsStr::new(seed),
            OsStr::new("-q"),
            OsStr::new("--out"),
            out.as_os_str(),
        ]);
        std::fs::read(out.join("summary.csv")).expect("summary.csv")
    };
    let first = run("1");
    let second = run("2");
    assert!(
        first != second,
        "the second run did not replace summary.csv"
    );
    assert_eq!(
        run("1"),
        first,
        "rewriting over earlier results changed them"
    );
    assert_no_tmp_files(dir.path());
}

/// Guards against a stale or lost trials.csv: a run without --per-trial
/// into a directory that holds an earlier run's trials.csv is refused (the
/// trials.csv kept), and with --force removes it, so every file in the
/// directory comes from the same run.
#[test]
fn rerun_without_per_trial_keeps_or_with_force_removes_trials_csv() {
    let dir = tmp();
    let out = dir.path().join("out");
    let run = |per_trial: bool, force: bool| {
        let mut args = vec![
            OsStr::new("run"),
            OsStr::new(FIXTURE),
            OsStr::new("--trials"),
            OsStr::new("300"),
            OsStr::new("-q"),
            OsStr::new("--out"),
            out.as_os_str(),
        ];
        if per_trial {
            args.push(OsStr::new("--per-trial"));
        }
        if force {
            args.push(OsStr::new("--force"));
        }
        pipesim(args)
    };
    assert_eq!(run(true, false).0, 0);
    assert!(
        out.join("trials.csv").is_file(),
        "--per-trial wrote no trials.csv"
    );
    let (code, _, stderr) = run(false, false);
    assert_eq!(code, 2, "stderr:\n{stderr}");
    assert!(out.join("trials.csv").is_file(), "trials.csv was lost");
    assert_eq!(run(false, true).0, 0);
    assert!(
        !out.join("trials.csv").exists(),
        "stale trials.csv left next to new results"
    );
    assert!(out.join("summary.csv").is_file());
}

/// Guards against a partially replaced result set: when one file cannot be
/// put in place (a directory pipesim did not make is in its way: refused,
/// exit 2, before the simulation), none of the earlier run's files may have
/// been replaced by the new run's, so summary.csv and monthly.csv always
/// come from the same run.
#[test]
fn failed_write_replaces_no_file() {
    let dir = tmp();
    let out = dir.path().join("out");
    let run = |seed: &str| {
        pipesim([
            OsStr::new("run"),
            OsStr::new(FIXTURE),
            OsStr::new("--trials"),
            OsStr::new("300"),
            OsStr::new("--seed"),
            OsStr::new(seed),
            OsStr::new("-q"),
            OsStr::new("--out"),
            out.as_os_str(),
        ])
    };
    assert_eq!(run("1").0, 0);
    let old_summary = std::fs::read(out.join("summary.csv")).expect("summary.csv");
    let old_comparison = std::fs::read(out.join("comparison.csv")).expect("comparison.csv");
    // monthly.csv cannot be replaced: a directory is in its place.
    std::fs::remove_file(out.join("monthly.csv")).expect("rm monthly.csv");
    std::fs::create_dir(out.join("monthly.csv")).expect("mkdir monthly.csv");

    let (code, _, stderr) = run("2");
    assert_eq!(code, 2, "stderr:\n{stderr}");
    assert_no_tmp_files(dir.path());
    assert!(
        std::fs::read(out.join("summary.csv")).expect("summary.csv") == old_summary,
        "the failed run replaced summary.csv"
    );
    assert!(
        std::fs::read(out.join("comparison.csv")).expect("comparison.csv") == old_comparison,
        "the failed run replaced comparison.csv"
    );
}

/// Guards against output files readable only by their owner: the CSVs must
/// get the same permissions as any file the user creates (the umask), like
/// a plain `File::create` would.
#[cfg(unix)]
#[test]
fn output_files_honour_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tmp();
    let out = dir.path().join("out");
    pipesim_ok([
        OsStr::new("run"),
        OsStr::new(FIXTURE),
        OsStr::new("--trials"),
        OsStr::new("300"),
        OsStr::new("-q"),
        OsStr::new("--out"),
        out.as_os_str(),
    ]);
    let reference = write(&out, "reference.txt", "x");
    let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    let expected = mode(&reference);
    for f in ["summary.csv", "comparison.csv", "monthly.csv"] {
        assert_eq!(
            format!("{:o}", mode(&out.join(f))),
            format!("{expected:o}"),
            "mode of {f}"
        );
    }
}

// ------------------------------------------------------------- robustness

/// Guards against an absurd `--threads` value hanging the run: it must
/// finish (or be rejected with exit 2) within seconds, not spend minutes
/// spawning threads.
#[test]
fn absurd_thread_count_does_not_hang() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pipesim"))
        .args([
            "run",
            FIXTURE,
            "--trials",
            "200",
            "-q",
            "--threads",
            "100000",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn pipesim");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break Some(status);
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let status = status.expect("pipesim --threads 100000 still running after 30 s");
    assert!(
        matches!(status.code(), Some(0 | 2)),
        "unexpected exit: {status:?}"
    );
}

/// Guards against syntax-error columns counted in bytes: with non-ASCII
/// text on the line (a label with an em dash or umlauts) the column must
/// point at the character an editor shows there.
#[test]
fn syntax_error_column_counts_characters() {
    let dir = tmp();
    let text = edit(
        &fixture_text(),
        r#"label = "Lead volume (MQL targets)""#,
        r#"label = "Lead volume — Größe" oops"#,
    );
    let line = text
        .lines()
        .position(|l| l.contains("oops"))
        .expect("edited line")
        + 1;
    let col = text.lines().nth(line - 1).expect("line")[..]
        .split("oops")
        .next()
        .expect("prefix")
        .chars()
        .count()
        + 1;
    let path = write(dir.path(), "utf8.toml", &text);
    let (code, _, stderr) = pipesim([OsStr::new("validate"), path.as_os_str()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!("utf8.toml:{line}:{col}:")),
        "expected utf8.toml:{line}:{col}, got:\n{stderr}"
    );
}

// ------------------------------------------------------- shipped scenarios

/// Guards against shipping an example scenario that no longer validates or
/// runs after a format or engine change.
#[test]
fn shipped_scenarios_validate_and_run() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut scenarios: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension() == Some(OsStr::new("toml")))
        .collect();
    scenarios.sort();
    assert!(!scenarios.is_empty(), "no scenarios/*.toml");
    for s in &scenarios {
        let (stdout, _) = pipesim_ok([OsStr::new("validate"), s.as_os_str()]);
        assert!(
            !stdout.is_empty(),
            "validate {} printed nothing",
            s.display()
        );
        let (stdout, _) = pipesim_ok([
            OsStr::new("run"),
            s.as_os_str(),
            OsStr::new("--trials"),
            OsStr::new("500"),
            OsStr::new("-q"),
        ]);
        assert!(
            stdout.lines().any(|l| l.starts_with("Answer:")),
            "{}: report without an answer:\n{stdout}",
            s.display()
        );
    }
}
