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
/// with its reason. A path that does not exist is kept as a file (its load
/// fails); [`load_batch`] refuses it up front.
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

/// `scenario` column values, all different: file stems, or paths where
/// stems repeat (or where a stem equals another's path), numbered where
/// even those repeat.
pub fn scenario_names(files: &[PathBuf]) -> Vec<String> {
    let stem = |f: &Path| {
        f.file_stem().map_or_else(
            || f.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        )
    };
    let count = |names: &[String], n: &str| names.iter().filter(|m| *m == n).count();
    let paths: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let mut names: Vec<String> = files.iter().map(|f| stem(f)).collect();
    loop {
        // each name turns into its path at most once, so this ends
        let repeated: Vec<usize> = (0..names.len())
            .filter(|&i| names[i] != paths[i] && count(&names, &names[i]) > 1)
            .collect();
        if repeated.is_empty() {
            break;
        }
        for i in repeated {
            names[i] = paths[i].clone();
        }
    }
    for i in 1..names.len() {
        if names[..i].contains(&names[i]) {
            let base = names[i].clone();
            let mut k = 2;
            while names.contains(&format!("{base} ({k})")) {
                k += 1;
            }
            names[i] = format!("{base} ({k})");
        }
    }
    names
}

/// A batch's scenarios, loaded and checked before anything runs.
#[derive(Debug, Clone)]
pub struct LoadedBatch {
    spec: BatchSpec,
    /// The runs to do: `scenario` column and spec.
    runs: Vec<(PathBuf, String, RunSpec)>,
    failures: Vec<BatchFailure>,
    /// Position of each run among the scenario files.
    run_at: Vec<usize>,
    /// Position of each failure among the scenario files (`None`: an
    /// unreadable or empty directory, listed before every file).
    failure_at: Vec<Option<usize>>,
    /// Scenario files in all (the units a batch's shards split).
    files: usize,
}

impl LoadedBatch {
    /// The scenarios that will run: `scenario` column and scenario (with
    /// its changes applied), in input order.
    pub fn scenarios(&self) -> impl Iterator<Item = (&str, &Scenario)> {
        self.runs
            .iter()
            .map(|(_, name, spec)| (name.as_str(), &spec.scenario))
    }

    /// How many scenarios loaded and will run.
    pub fn runnable(&self) -> usize {
        self.runs.len()
    }

    /// The inputs that failed so far (directories, then scenarios that did
    /// not load), in input order.
    pub fn failures(&self) -> &[BatchFailure] {
        &self.failures
    }

    /// How many scenario files the inputs name (loaded or not).
    pub fn files(&self) -> usize {
        self.files
    }

    /// Keep only the scenario files at positions `share` (a shard's), and
    /// the directory failures with the first share. Returns the batch and
    /// how many of its failures are of directories and of loading (they
    /// come first, in that order; a run's failures follow).
    pub fn share(self, share: std::ops::Range<usize>) -> (LoadedBatch, usize, usize) {
        let keep = |at: usize| share.contains(&at);
        let (mut runs, mut run_at) = (Vec::new(), Vec::new());
        for (r, at) in self.runs.into_iter().zip(self.run_at) {
            if keep(at) {
                runs.push(r);
                run_at.push(at);
            }
        }
        let (mut failures, mut failure_at) = (Vec::new(), Vec::new());
        let (mut dirs, mut loads) = (0, 0);
        for (f, at) in self.failures.into_iter().zip(self.failure_at) {
            let kept = match at {
                None => share.start == 0,
                Some(at) => keep(at),
            };
            if kept {
                if at.is_none() {
                    dirs += 1;
                } else {
                    loads += 1;
                }
                failures.push(f);
                failure_at.push(at);
            }
        }
        let loaded = LoadedBatch {
            spec: self.spec,
            runs,
            failures,
            run_at,
            failure_at,
            files: self.files,
        };
        (loaded, dirs, loads)
    }

    /// The batch that nothing ran of: every input as a failure.
    pub fn failed(self) -> Batch {
        Batch {
            spec: self.spec,
            runs: Vec::new(),
            failures: self.failures,
        }
    }
}

/// Expand and load the inputs of a batch. Refuses ([`Error::Invalid`]) an
/// input path that does not exist and a scenario file given twice (also
/// once by its directory and once by name); a scenario that does not load
/// or check is recorded as a failure.
pub fn load_batch(spec: &BatchSpec) -> Result<LoadedBatch, Error> {
    let missing: Vec<String> = spec
        .inputs
        .iter()
        .filter(|p| !p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !missing.is_empty() {
        return Err(Error::invalid(
            format!("batch input {}", missing.join(", ")),
            "no such file or directory",
        ));
    }
    let mut failures = Vec::new();
    let mut failure_at = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    let mut seen: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut twice = Vec::new();
    for i in batch_files(&spec.inputs) {
        match i {
            Ok(f) => {
                let canonical = std::fs::canonicalize(&f).unwrap_or_else(|_| f.clone());
                match seen.iter().find(|(c, _)| *c == canonical) {
                    Some((_, first)) if first == &f => twice.push(format!("{}", f.display())),
                    Some((_, first)) => {
                        twice.push(format!("{} (also as {})", f.display(), first.display()))
                    }
                    None => {
                        seen.push((canonical, f.clone()));
                        files.push(f);
                    }
                }
            }
            Err((file, message)) => {
                failures.push(BatchFailure {
                    file,
                    message,
                    input: true,
                });
                failure_at.push(None);
            }
        }
    }
    if !twice.is_empty() {
        return Err(Error::invalid(
            format!("batch input {}", twice.join(", ")),
            "the same scenario file is given twice; give each scenario once",
        ));
    }
    let names = scenario_names(&files);
    let count = files.len();
    let mut runs = Vec::new();
    let mut run_at = Vec::new();
    for (at, (file, name)) in files.into_iter().zip(names).enumerate() {
        let loaded = load(&file, &spec.changes).and_then(|scn| {
            let run_spec = RunSpec::new(scn)
                .trials(spec.trials)
                .seed(spec.seed)
                .allow_large_run(spec.allow_large_run);
            run_spec.check().map(|()| run_spec)
        });
        match loaded {
            Ok(run_spec) => {
                runs.push((file, name, run_spec));
                run_at.push(at);
            }
            Err(e) => {
                failures.push(BatchFailure {
                    file,
                    message: error_chain(&e),
                    input: e.is_input(),
                });
                failure_at.push(Some(at));
            }
        }
    }
    Ok(LoadedBatch {
        spec: spec.clone(),
        runs,
        failures,
        run_at,
        failure_at,
        files: count,
    })
}

/// Run the scenarios of a loaded batch on one pool. Fails only when the
/// pool cannot start; a scenario's failure is recorded in
/// [`Batch::failures`].
pub fn run_batch(loaded: LoadedBatch, progress: &dyn Progress) -> Result<Batch, Error> {
    let LoadedBatch {
        spec,
        runs: todo,
        mut failures,
        ..
    } = loaded;
    let pool = crate::engine::thread_pool(spec.threads)?;
    let mut runs = Vec::new();
    let total = todo.len();
    for (n, (file, name, run_spec)) in todo.into_iter().enumerate() {
        progress.stage(&format!("{}/{total} {name}", n + 1));
        match pool.install(|| run_in_pool(&run_spec, progress, None)) {
            Ok(r) => runs.push(BatchRun {
                name,
                scenario: r.scenario,
                analysis: r.analysis,
            }),
            Err(e) => failures.push(BatchFailure {
                file,
                message: error_chain(&e),
                input: e.is_input(),
            }),
        }
    }
    Ok(Batch {
        spec,
        runs,
        failures,
    })
}

/// [`load_batch`] then [`run_batch`].
pub fn batch(spec: &BatchSpec, progress: &dyn Progress) -> Result<Batch, Error> {
    run_batch(load_batch(spec)?, progress)
}
