//! Batch runs: many scenario files (or directories of `*.toml`), each run
//! as a plain run with the same changes, trials and seed settings; a
//! scenario that fails is reported and the others still run.

use std::path::{Path, PathBuf};

use crate::analysis::Analysis;
use crate::scenario::Scenario;
use crate::scenario::overrides::Override;

use super::{Error, Progress, RunSpec, error_chain, load, run_in_pool};

/// A batch: inputs and the settings every scenario runs with.
#[derive(Debug, Clone, Default)]
pub struct BatchSpec {
    /// Scenario files, or directories whose `*.toml` files are all run.
    pub inputs: Vec<PathBuf>,
    /// `--set`/`--scale` applied to every scenario.
    pub changes: Vec<Override>,
    /// Trials of every scenario (default: each one's own).
    pub trials: Option<u64>,
    /// Seed of every scenario (default: each one's own).
    pub seed: Option<u64>,
    /// Worker threads, 0 = one per core.
    pub threads: usize,
    /// Run scenarios even above the work limits (`--allow-large-run`).
    pub allow_large_run: bool,
}

/// One scenario of a batch that ran.
#[derive(Debug, Clone)]
pub struct BatchRun {
    /// The `scenario` column: the file stem, or the path where stems repeat.
    pub name: String,
    /// As run (seed and trials those used).
    pub scenario: Scenario,
    pub analysis: Analysis,
}

/// One input of a batch that failed.
#[derive(Debug, Clone)]
pub struct BatchFailure {
    pub file: PathBuf,
    /// The error with its causes.
    pub message: String,
    /// Bad input (rather than a machine failure).
    pub input: bool,
}

/// What a batch produced.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The settings it ran with (for `run.csv`).
    pub spec: BatchSpec,
    /// The scenarios that ran, in input order.
    pub runs: Vec<BatchRun>,
    /// The inputs that failed: unreadable directories first, then
    /// scenarios in input order.
    pub failures: Vec<BatchFailure>,
}

impl Batch {
    /// Inputs in all (ran and failed).
    pub fn total(&self) -> usize {
        self.runs.len() + self.failures.len()
    }

    /// [`Error::ScenariosFailed`] when some input failed.
    pub fn error(&self) -> Option<Error> {
        (!self.failures.is_empty()).then(|| Error::ScenariosFailed {
            failed: self.failures.len(),
            total: self.total(),
            input_only: self.failures.iter().all(|f| f.input),
        })
    }
}

/// The scenario files named by `inputs`, directories expanded to their
/// `*.toml` files (sorted); an unreadable or empty directory is an `Err`
/// with its reason.
pub fn batch_files(inputs: &[PathBuf]) -> Vec<Result<PathBuf, (PathBuf, String)>> {
    let mut out = Vec::new();
    for p in inputs {
        if p.is_dir() {
            match std::fs::read_dir(p) {
                Ok(rd) => {
                    let mut files: Vec<PathBuf> = rd
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|f| f.is_file() && f.extension().is_some_and(|e| e == "toml"))
                        .collect();
                    files.sort();
                    if files.is_empty() {
                        out.push(Err((p.clone(), "no .toml files in this directory".into())));
                    }
                    out.extend(files.into_iter().map(Ok));
                }
                Err(e) => out.push(Err((p.clone(), format!("cannot read directory: {e}")))),
            }
        } else {
            out.push(Ok(p.clone()));
        }
    }
    out
}

/// `scenario` column values: file stems, or paths where stems repeat.
pub fn scenario_names(files: &[PathBuf]) -> Vec<String> {
    let stem = |f: &Path| {
        f.file_stem().map_or_else(
            || f.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        )
    };
    files
        .iter()
        .map(|f| {
            let s = stem(f);
            if files.iter().filter(|g| stem(g) == s).count() > 1 {
                f.display().to_string()
            } else {
                s
            }
        })
        .collect()
}

/// Run every scenario of the batch on one pool. Fails only when the pool
/// cannot start; a scenario's failure is recorded in [`Batch::failures`].
pub fn batch(spec: &BatchSpec, progress: &dyn Progress) -> Result<Batch, Error> {
    let pool = crate::engine::thread_pool(spec.threads)?;
    let mut failures = Vec::new();
    let mut files = Vec::new();
    for i in batch_files(&spec.inputs) {
        match i {
            Ok(f) => files.push(f),
            Err((file, message)) => failures.push(BatchFailure {
                file,
                message,
                input: true,
            }),
        }
    }
    let names = scenario_names(&files);
    let mut runs = Vec::new();
    for (n, (file, name)) in files.iter().zip(&names).enumerate() {
        let fail = |e: Error| BatchFailure {
            file: file.clone(),
            message: error_chain(&e),
            input: e.is_input(),
        };
        let run_spec = match load(file, &spec.changes) {
            Ok(scn) => RunSpec::new(scn)
                .trials(spec.trials)
                .seed(spec.seed)
                .allow_large_run(spec.allow_large_run),
            Err(e) => {
                failures.push(fail(e));
                continue;
            }
        };
        progress.stage(&format!("{}/{} {name}", n + 1, files.len()));
        match pool.install(|| run_in_pool(&run_spec, progress, None)) {
            Ok(r) => runs.push(BatchRun {
                name: name.clone(),
                scenario: r.scenario,
                analysis: r.analysis,
            }),
            Err(e) => failures.push(fail(e)),
        }
    }
    Ok(Batch {
        spec: spec.clone(),
        runs,
        failures,
    })
}
