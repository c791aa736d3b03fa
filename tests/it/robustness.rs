//! Robustness: no input may make pipesim panic.
//!
//! Every value in the reference fixture is replaced, one at a time, by each
//! of a set of hostile values (negative, zero, NaN, huge, wrong type,
//! malformed distribution strings). Each variant must either load with a
//! field error or load and simulate a few trials — a panic fails the test.
//! Volumes stay below ~1e6 a month so a variant cannot legitimately need
//! hours of per-deal work.

use std::path::Path;

use pipesim::engine::{self, RunOptions};
use pipesim::scenario::Scenario;

const FIXTURE: &str = include_str!("../fixtures/scenario-format.toml");

const HOSTILE: [&str; 22] = [
    "-1",
    "0",
    "1",
    "0.5",
    "2.5",
    "1e6",
    "nan",
    "inf",
    "\"\"",
    "\"to\"",
    "\"1 to\"",
    "\"0.9 to 0.1\"",
    "\"0.2 to 0.3\"",
    "\"5 to 9\"",
    "\"beta(mean=1, n=0)\"",
    "\"beta(alpha=0.01, beta=0.01)\"",
    "\"lognormal(median=1, p90=1)\"",
    "\"normal(mean=-1000, sd=1)\"",
    "\"gamma(shape=0.001, scale=1000)\"",
    "\"uniform(min=0, max=0)\"",
    "[1, 2]",
    "{ a = 1 }",
];

/// Lines of the fixture of the form `key = value` (not comments, not tables).
fn assignment_lines() -> Vec<usize> {
    FIXTURE
        .lines()
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim_start();
            !t.starts_with('#') && !t.starts_with('[') && t.contains(" = ")
        })
        .map(|(i, _)| i)
        .collect()
}

fn replace_value(line: &str, value: &str) -> String {
    let (key, _) = line.split_once(" = ").unwrap_or((line, ""));
    format!("{key} = {value}")
}

/// Guards against panics on any single-field edit of a valid scenario.
#[test]
fn hostile_values_never_panic() {
    let lines: Vec<&str> = FIXTURE.lines().collect();
    let mut loaded = 0;
    let mut rejected = 0;
    for i in assignment_lines() {
        // inline tables (conversion = {...}) get their values replaced whole
        for value in HOSTILE {
            let mut edited = lines.clone();
            let new_line = replace_value(lines[i], value);
            edited[i] = &new_line;
            let text = edited.join("\n");
            match Scenario::from_toml_str(&text, Path::new("hostile.toml")) {
                Ok(mut scn) => {
                    scn.horizon = scn.horizon.min(6);
                    let opts = RunOptions {
                        trials: 4,
                        seed: 1,
                        threads: 1,
                    };
                    let sim = engine::simulate(&scn, opts, &|_| {}).expect("thread pool");
                    let _ = pipesim::analysis::analyze(&scn, &sim);
                    loaded += 1;
                }
                Err(e) => {
                    let msg = e.to_string();
                    assert!(msg.contains("hostile.toml"), "no file name in: {msg}");
                    rejected += 1;
                }
            }
        }
    }
    // the edits must exercise both paths
    assert!(
        loaded > 50 && rejected > 200,
        "loaded {loaded}, rejected {rejected}"
    );
}

/// Guards against panics on truncated files: every prefix of the fixture
/// either loads or gives an error.
#[test]
fn truncated_files_never_panic() {
    let mut cut = 0;
    while cut < FIXTURE.len() {
        if FIXTURE.is_char_boundary(cut) {
            let _ = Scenario::from_toml_str(&FIXTURE[..cut], Path::new("cut.toml"));
        }
        cut += 7;
    }
}
