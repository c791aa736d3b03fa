//! The one body of pipesim's fuzz targets: an input is a scenario file
//! whose `#!set PATH=VALUE` / `#!scale PATH=FACTOR` comment lines are
//! command-line changes; it is parsed, changed and validated, described
//! (what `validate` prints), run for 10 trials on 1 thread, and rendered
//! as the text report, every CSV of `run --out` and the JSON report.
//!
//! Any `Err` on the way is a fine answer to a bad input; a panic, an
//! abort, a hang (libFuzzer's `-timeout`) or running out of memory
//! (`-rss_limit_mb`) is a finding. With [`Checks::finite`] the outputs must
//! also hold no non-finite or overflowed figure (issue 10, item 1): a
//! separate target, so the crash fuzzing is not stopped by findings that
//! current code is known to have.
//!
//! Changes are comment lines so that every input stays a valid (or
//! invalid) TOML file exactly as pipesim reads it, the shipped scenarios
//! are seeds as they are, and a finding reproduces as
//! `pipesim run INPUT --trials 10 --threads 1 --set ... --scale ...`
//! ([`command_line`] prints it).

use std::path::Path;
use std::sync::OnceLock;

use pipesim::experiment::{self, RunSpec};
use pipesim::output::{self, json, text};
use pipesim::scenario::overrides::{self, Override};

/// The checks shared with the CI property test (`tests/it/fuzz_props.rs`).
#[path = "../../tests/it/fuzz_props/checks.rs"]
pub mod checks;

/// Trials of a fuzzed run.
pub const TRIALS: u64 = 10;

/// Most changes taken from one input (more lines are ignored).
pub const MAX_CHANGES: usize = 4;

/// Per trial, the most opportunities (deals, [`checks::deals_per_trial`])
/// a fuzzed run may need
/// before it is skipped rather than run: the per-deal work is unbounded
/// on current code (issue 10, item 11), and without this gate libFuzzer
/// would report that one known hang over and over. `PIPESIM_FUZZ_MAX_WORK`
/// replaces it (`0` = no gate).
pub const DEFAULT_MAX_WORK: f64 = 2e6;

/// What a target checks beyond "no panic".
#[derive(Debug, Clone, Copy, Default)]
pub struct Checks {
    /// No `inf`/`NaN` token or overflowed number in any output.
    pub finite: bool,
}

/// The changes an input's comment lines ask for, in file order (before
/// parsing: a malformed one is an input error, `Err`).
pub fn changes(text: &str) -> Vec<Result<Override, String>> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim_start();
            if let Some(arg) = l.strip_prefix("#!set ") {
                Some(Override::parse_set(arg).map_err(|e| e.to_string()))
            } else {
                l.strip_prefix("#!scale ")
                    .map(|arg| Override::parse_scale(arg).map_err(|e| e.to_string()))
            }
        })
        .take(MAX_CHANGES)
        .collect()
}

/// The `pipesim run` command that reproduces an input saved as `file`.
pub fn command_line(text: &str, file: &str) -> String {
    let mut cmd = format!("pipesim run {file} --trials {TRIALS} --threads 1");
    for o in changes(text).into_iter().flatten() {
        let flag = match o.kind {
            overrides::Kind::Set => "--set",
            overrides::Kind::Scale => "--scale",
        };
        cmd.push_str(&format!(" {flag} '{}={}'", o.path, o.value));
    }
    cmd
}

/// Exercise pipesim on one input. Returns normally on success and on any
/// `Err`; panics on a finding of `checks`.
pub fn exercise(data: &[u8], checks: Checks) {
    let Ok(text) = std::str::from_utf8(data) else {
        return; // pipesim reads files as UTF-8 (a non-UTF-8 file is an Io error)
    };
    let Ok(changes) = changes(text).into_iter().collect::<Result<Vec<_>, _>>() else {
        return;
    };
    let Ok(scn) = overrides::from_toml_str(text, Path::new("fuzz.toml"), &changes) else {
        return;
    };
    let described = text::describe(&scn);
    if !checks::within_work(&scn, max_work()) {
        return;
    }
    let spec = RunSpec::new(scn).trials(Some(TRIALS)).threads(1);
    let result = pool().install(|| experiment::run_in_pool(&spec, &(), None));
    let Ok(result) = result else {
        return;
    };
    let (scn, a) = (&result.scenario, &result.analysis);
    let mut outputs: Vec<(&str, String)> = vec![
        ("validate", described),
        ("report", text::render(scn, a)),
        ("answer", text::answer(scn, a)),
    ];
    if let Ok(files) = output::run_files(&result) {
        for (name, bytes) in files {
            outputs.push((name, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    if let Ok(j) = serde_json::to_string(&json::analysis_json(scn, a, None)) {
        outputs.push(("json", j));
    }
    if checks.finite {
        let own = checks::user_text(scn);
        for (name, out) in &outputs {
            if let Some(bad) = checks::non_finite(out, &own) {
                panic!("non-finite or overflowed figure {bad:?} in {name}:\n{out}");
            }
        }
    }
}

/// One single-thread pool for every input (a pool per run would start a
/// thread per input; the numbers do not depend on the pool).
fn pool() -> &'static rayon::ThreadPool {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap_or_else(|e| panic!("cannot start the fuzz thread pool: {e}"))
    })
}

/// The work gate: `PIPESIM_FUZZ_MAX_WORK` or [`DEFAULT_MAX_WORK`]
/// (`0` = no gate, every input that validates is run).
fn max_work() -> f64 {
    static MAX: OnceLock<f64> = OnceLock::new();
    *MAX.get_or_init(|| {
        match std::env::var("PIPESIM_FUZZ_MAX_WORK")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
        {
            Some(m) if m <= 0.0 => f64::INFINITY,
            Some(m) => m,
            None => DEFAULT_MAX_WORK,
        }
    })
}
