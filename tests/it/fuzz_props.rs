//! Fuzz properties for CI (issue 10, item 17): the coverage-guided fuzz
//! targets in `fuzz/` need a nightly feature, so `.ci/run` checks the same
//! properties on scenario mutations generated from a fixed seed instead.
//!
//! Every case is a shipped scenario (or the format fixture) with one to
//! three mutations — a number or value set to an extreme (0, -1, 1e308,
//! NaN, huge integers, overflowing distributions), a line removed or
//! duplicated, a value of the wrong type, a name of odd unicode or control
//! characters, a table header dropped, or a `--set` / `--scale` with such
//! a value. The real binary's `validate` and `run --trials 10 --threads 1
//! --out DIR` must exit 0 or 2, print no panic on stderr, end within
//! [`DEADLINE`], and (once item 1 is fixed, [`ASSERT_FINITE`]) print and
//! write no `inf`/`NaN` or overflowed figure.
//!
//! A case whose run would need unbounded per-deal work (item 11) is only
//! validated, not run ([`checks::within_work`], also the fuzz targets'
//! gate). The regression tests of the fuzzer's findings are at the end.

mod checks;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use pipesim::experiment;
use pipesim::scenario::overrides::Override;

/// Assert that no non-finite or overflowed figure reaches stdout or the
/// CSVs. Off until issue 10 item 1 (non-finite figures) is fixed: the
/// cases that break it are then printed, not failed. Turn it on with
/// that fix.
const ASSERT_FINITE: bool = true;

/// Mutated cases (each runs the binary twice).
const CASES: usize = 400;

/// The generator's seed: the same cases on every run.
const SEED: u64 = 0x5eed_f022;

/// Longest a single `pipesim` call may take before the case fails as a hang.
const DEADLINE: Duration = Duration::from_secs(30);

/// Most estimated deals per trial for a mutated scenario to be run (10
/// trials of at most this many deals take well under a second).
const MAX_DEALS: f64 = 2e5;

const SOURCES: [&str; 4] = [
    "scenarios/budget-volume-vs-quality.toml",
    "scenarios/three-strategies.toml",
    "scenarios/whatif-cpl-up-30.toml",
    "tests/fixtures/scenario-format.toml",
];

/// Values a field is set to: extremes, non-finite spellings, overflowing
/// distributions and wrong types.
const EXTREMES: [&str; 40] = [
    "0",
    "2",
    "0.5",
    "1e6",
    "1e15",
    "\"0.1 to 0.9\"",
    "\"beta(mean=0.5, n=1e-3)\"",
    "-0",
    "-1",
    "1",
    "1e308",
    "-1e308",
    "1.7976931348623157e308",
    "5e-324",
    "1e-300",
    "nan",
    "inf",
    "-inf",
    "\"NaN\"",
    "\"inf\"",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "99999999999999999999999999",
    "\"1 to 1e308\"",
    "\"1e300 to 1e308\"",
    "\"lognormal(mu=720, sigma=1)\"",
    "\"lognormal(median=1e300, p90=1e308)\"",
    "\"normal(mean=1e308, sd=1e308)\"",
    "\"gamma(shape=1e-300, scale=1e300)\"",
    "\"beta(mean=0.999999999999, n=1e300)\"",
    "\"0 to 0\"",
    "\"35%\"",
    "35",
    "0.999999999999999",
    "\"\"",
    "true",
    "[]",
    "{ mql = 1 }",
    "1979-05-27T07:32:00Z",
];

/// Names and labels: control characters, escapes, bidi overrides, emoji,
/// CSV formulas, empty, long.
const NAMES: [&str; 12] = [
    "\"\\u0000\"",
    "\"\\u001b[2J\\u001b]0;title\\u0007\"",
    "\"\\u202eevil\"",
    "\"💩 ünï ç\"",
    "\"=HYPERLINK(\\\"x\\\")\"",
    "\"+1\"",
    "\"\"",
    "\" \"",
    "\"a\\nb\\r\\tc\"",
    "\"inf\"",
    "\"NaN\"",
    "\"\\ud7ff\\ue000\\U0010FFFF\"",
];

/// `--scale` factors (invalid ones are input errors).
const FACTORS: [&str; 8] = ["1e308", "1e-308", "0", "-1", "nan", "inf", "1e15", "1.5"];

/// One mutated case: the scenario text and its command-line changes.
struct Case {
    source: &'static str,
    what: Vec<String>,
    text: String,
    changes: Vec<String>,
}

/// Is `line` a `key = value` line (not a comment, not a table header)?
fn is_assignment(line: &str) -> bool {
    let t = line.trim_start();
    !t.starts_with('#') && !t.starts_with('[') && t.contains(" = ")
}

fn pick<'a, T>(rng: &mut Xoshiro256PlusPlus, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// The index of a random line satisfying `keep`, if any.
fn pick_line(
    rng: &mut Xoshiro256PlusPlus,
    lines: &[String],
    keep: impl Fn(&str) -> bool,
) -> Option<usize> {
    let idx: Vec<usize> = (0..lines.len()).filter(|&i| keep(&lines[i])).collect();
    (!idx.is_empty()).then(|| *pick(rng, &idx))
}

/// Replace the value of an assignment line, keeping its key.
fn with_value(line: &str, value: &str) -> String {
    let key = line.split_once(" = ").map_or(line, |(k, _)| k);
    format!("{key} = {value}")
}

/// Replace one number inside `line` (in a distribution string or an
/// inline table) by `value`.
fn with_number(rng: &mut Xoshiro256PlusPlus, line: &str, value: &str) -> Option<String> {
    let (key, rest) = line.split_once(" = ")?;
    let b = rest.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let s = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.' || b[i] == b'_') {
                i += 1;
            }
            spans.push((s, i));
        } else {
            i += 1;
        }
    }
    if spans.is_empty() {
        return None;
    }
    let &(s, e) = pick(rng, &spans);
    let value = value.trim_matches('"');
    Some(format!("{key} = {}{value}{}", &rest[..s], &rest[e..]))
}

/// Apply one random mutation to `lines` or `changes`; returns what it did.
fn mutate(
    rng: &mut Xoshiro256PlusPlus,
    lines: &mut Vec<String>,
    changes: &mut Vec<String>,
    paths: &[String],
) -> String {
    match rng.random_range(0..10) {
        0 | 1 => {
            let Some(i) = pick_line(rng, lines, is_assignment) else {
                return "nothing".into();
            };
            let v = pick(rng, &EXTREMES);
            lines[i] = with_value(&lines[i], v);
            format!("line {} value {v}", i + 1)
        }
        2 | 3 => {
            let Some(i) = pick_line(rng, lines, |l| {
                is_assignment(l)
                    && l.split_once(" = ")
                        .is_some_and(|(_, v)| v.bytes().any(|c| c.is_ascii_digit()))
            }) else {
                return "nothing".into();
            };
            let v = pick(rng, &EXTREMES);
            match with_number(rng, &lines[i], v) {
                Some(l) => lines[i] = l,
                None => return "nothing".into(),
            }
            format!("line {} number {v}", i + 1)
        }
        4 | 5 => {
            let Some(i) = pick_line(rng, lines, |l| {
                !l.trim().is_empty() && !l.trim_start().starts_with('#')
            }) else {
                return "nothing".into();
            };
            if rng.random_bool(0.5) {
                lines.remove(i);
                return format!("line {} removed", i + 1);
            }
            let l = lines[i].clone();
            let at = rng.random_range(0..=lines.len());
            lines.insert(at, l);
            format!("line {} duplicated at {}", i + 1, at + 1)
        }
        6 => {
            let keys = [
                "name", "label", "baseline", "handoff", "pipeline", "use", "start",
            ];
            let Some(i) = pick_line(rng, lines, |l| {
                is_assignment(l)
                    && keys.contains(&l.split_once(" = ").map_or("", |(k, _)| k.trim()))
            }) else {
                return "nothing".into();
            };
            let v = pick(rng, &NAMES);
            lines[i] = with_value(&lines[i], v);
            format!("line {} name {v}", i + 1)
        }
        7 => {
            let Some(i) = pick_line(rng, lines, |l| l.trim_start().starts_with('[')) else {
                return "nothing".into();
            };
            if rng.random_bool(0.5) {
                lines.remove(i);
                format!("header {} removed", i + 1)
            } else {
                // a strategy or shared channel renamed to an odd key
                let name = pick(rng, &NAMES);
                lines[i] = lines[i].replacen("strategy.", &format!("strategy.{name}"), 1);
                format!("header {} renamed {name}", i + 1)
            }
        }
        8 => {
            let path = pick(rng, paths);
            let v = pick(rng, &EXTREMES).trim_matches('"');
            changes.push(format!("--set={path}={v}"));
            format!("--set {path}={v}")
        }
        _ => {
            let path = pick(rng, paths);
            let f = pick(rng, &FACTORS);
            changes.push(format!("--scale={path}={f}"));
            format!("--scale {path}={f}")
        }
    }
}

/// The [`CASES`] mutated cases, the same on every run.
fn cases() -> Vec<Case> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(SEED);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sources: Vec<(&'static str, String, Vec<String>)> = SOURCES
        .iter()
        .map(|&s| {
            let file = root.join(s);
            let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{s}: {e}"));
            let scn = experiment::load(&file, &[]).unwrap_or_else(|e| panic!("{s}: {e}"));
            let paths = scn.params_by_access().into_iter().map(|(p, _)| p).collect();
            (s, text, paths)
        })
        .collect();
    (0..CASES)
        .map(|_| {
            let (source, text, paths) = pick(&mut rng, &sources);
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            let mut changes = Vec::new();
            // mostly one mutation, so that many cases still validate and run
            let n = *pick(&mut rng, &[1, 1, 1, 1, 2, 2, 3]);
            let what = (0..n)
                .map(|_| mutate(&mut rng, &mut lines, &mut changes, paths))
                .collect();
            Case {
                source,
                what,
                text: lines.join("\n") + "\n",
                changes,
            }
        })
        .collect()
}

/// Run the binary with a [`DEADLINE`]: (exit code, stdout, stderr), or a
/// failure message for a hang or a death by signal.
fn pipesim(args: &[String]) -> Result<(i32, String, String), String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pipesim"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start pipesim: {e}"))?;
    // read both pipes on threads so a full pipe cannot stall the child
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let read = |p: Option<&mut dyn std::io::Read>| {
        let mut s = Vec::new();
        if let Some(p) = p {
            let _ = p.read_to_end(&mut s);
        }
        String::from_utf8_lossy(&s).into_owned()
    };
    let (out, err, status) = std::thread::scope(|sc| {
        let o = sc.spawn(|| read(stdout.as_mut().map(|p| p as &mut dyn std::io::Read)));
        let e = sc.spawn(|| read(stderr.as_mut().map(|p| p as &mut dyn std::io::Read)));
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break Ok(s),
                Ok(None) if start.elapsed() > DEADLINE => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break Err(format!("no answer within {DEADLINE:?} (a hang)"));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(2)),
                Err(e) => break Err(format!("waiting for pipesim: {e}")),
            }
        };
        (
            o.join().unwrap_or_default(),
            e.join().unwrap_or_default(),
            status,
        )
    });
    let status = status?;
    match status.code() {
        Some(code) => Ok((code, out, err)),
        None => Err(format!("killed by a signal ({status:?})\nstderr:\n{err}")),
    }
}

/// What a call did wrong, if anything: an exit code other than 0 or 2,
/// panic text on stderr.
fn misbehaviour(code: i32, stderr: &str) -> Option<String> {
    if code != 0 && code != 2 {
        return Some(format!("exit code {code}"));
    }
    ["panicked", "RUST_BACKTRACE"]
        .iter()
        .find(|p| stderr.contains(*p))
        .map(|p| format!("{p:?} on stderr"))
}

/// The files of `dir` and their text.
fn files_in(dir: &Path) -> Vec<(PathBuf, String)> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .map(|p| {
            let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap_or_default()).into_owned();
            (p, text)
        })
        .collect()
}

/// Guards the fuzz properties on [`CASES`] deterministic mutations of the
/// shipped scenarios: exit 0 or 2, no panic, no hang; non-finite output
/// is asserted with [`ASSERT_FINITE`], else listed.
#[test]
fn mutated_scenarios_exit_cleanly() {
    let tmp = crate::common::tmp();
    let mut failures = Vec::new();
    let mut non_finite = Vec::new();
    let (mut valid, mut ran, mut skipped) = (0, 0, 0);
    for (k, case) in cases().iter().enumerate() {
        let file = tmp.path().join(format!("case-{k}.toml"));
        std::fs::write(&file, &case.text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let label = format!(
            "case {k} ({} with {}; changes {:?}; file {})",
            case.source,
            case.what.join(", "),
            case.changes,
            file.display()
        );
        let mut validate = vec!["validate".to_string(), file.display().to_string()];
        validate.extend(case.changes.iter().cloned());
        let code = match pipesim(&validate) {
            Err(e) => {
                failures.push(format!("{label}: validate: {e}"));
                continue;
            }
            Ok((code, _, err)) => {
                if let Some(m) = misbehaviour(code, &err) {
                    failures.push(format!("{label}: validate: {m}\nstderr:\n{err}"));
                }
                code
            }
        };
        if code != 0 {
            continue;
        }
        valid += 1;
        // the same load in the library, for the work gate and the scenario's own text
        let changes: Vec<Override> = case
            .changes
            .iter()
            .filter_map(|c| {
                let c = c.trim_start_matches('-');
                match c.split_once('=') {
                    Some(("set", a)) => Override::parse_set(a).ok(),
                    Some(("scale", a)) => Override::parse_scale(a).ok(),
                    _ => None,
                }
            })
            .collect();
        let Ok(scn) = experiment::load(&file, &changes) else {
            failures.push(format!(
                "{label}: validate exits 0 but the library rejects it"
            ));
            continue;
        };
        if !checks::within_work(&scn, MAX_DEALS) {
            skipped += 1;
            continue;
        }
        ran += 1;
        let out = tmp.path().join(format!("out-{k}"));
        let mut run = vec![
            "run".to_string(),
            file.display().to_string(),
            "--trials=10".into(),
            "--threads=1".into(),
            format!("--out={}", out.display()),
        ];
        run.extend(case.changes.iter().cloned());
        match pipesim(&run) {
            Err(e) => failures.push(format!("{label}: run: {e}")),
            Ok((code, stdout, err)) => {
                if let Some(m) = misbehaviour(code, &err) {
                    failures.push(format!("{label}: run: {m}\nstderr:\n{err}"));
                }
                let own = checks::user_text(&scn);
                let mut outputs = vec![("stdout".to_string(), stdout)];
                outputs.extend(
                    files_in(&out)
                        .into_iter()
                        .map(|(p, t)| (p.display().to_string(), t)),
                );
                for (name, text) in outputs {
                    if let Some(bad) = checks::non_finite(&text, &own) {
                        non_finite.push(format!("{label}: {bad:?} in {name}"));
                    }
                }
            }
        }
    }
    eprintln!(
        "fuzz_props: {CASES} cases, {valid} valid, {ran} run, {skipped} over the work gate, {} non-finite",
        non_finite.len()
    );
    if !ASSERT_FINITE {
        for n in &non_finite {
            eprintln!("known (issue 10 item 1, ASSERT_FINITE off): {n}");
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(
        !ASSERT_FINITE || non_finite.is_empty(),
        "non-finite figures in outputs:\n{}",
        non_finite.join("\n")
    );
    // the mutations must leave enough cases valid to exercise the run
    assert!(ran >= CASES / 10, "only {ran} of {CASES} cases ran");
}

/// Guards the non-finite search itself: it finds `inf`, `NaN` and
/// 300-digit figures, not words holding them or the scenario's own text.
#[test]
fn non_finite_search_finds_figures_not_names() {
    let own = vec!["inf".to_string(), "NaN label".to_string()];
    assert_eq!(checks::non_finite("a,-inf,b", &[]), Some("inf".into()));
    assert_eq!(checks::non_finite("mean NaN", &[]), Some("NaN".into()));
    assert_eq!(
        checks::non_finite("x = Infinity\n", &[]),
        Some("Infinity".into())
    );
    let big = format!("revenue,{}.5\n", "9".repeat(300));
    assert!(checks::non_finite(&big, &[]).is_some_and(|w| w.contains("301 digits")));
    assert_eq!(
        checks::non_finite("info, infer, 1e308, n/a, 12345", &[]),
        None
    );
    assert_eq!(checks::non_finite("strategy inf: NaN label", &own), None);
}
