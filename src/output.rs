//! Outputs: no maths, only presentation of results the experiments
//! computed — terminal text ([`text`]), CSV ([`csv`]), JSON ([`json`]) —
//! and the files each command writes, staged and committed atomically
//! ([`files`]).
//!
//! The functions here are the one place that decides which files a
//! command produces and what its `run.csv` says: [`run_files`] for `run
//! --out`, [`batch_files`] for `batch --out`, [`sweep_csv`] and
//! [`whatif_csv`]; [`run_output`] and [`batch_output`] check and lock a
//! result directory for them before the simulation.

pub mod csv;
pub mod decide;
pub mod files;
pub mod json;
pub mod report;
pub mod text;

use std::path::{Path, PathBuf};

use crate::experiment::{Batch, RunResult, Sweep, WhatIf};

pub use files::{OutputDir, OutputFile, TrialsWriter, write_file_atomic};

/// Errors writing output files. Each message says what failed; the OS
/// error is its [`source`](std::error::Error::source), printed once by
/// whoever prints the chain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutputError {
    #[error("cannot create directory {}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot put the new results in place at {}", path.display())]
    Replace {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot lock {}", path.display())]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Another process holds the lock of the result directory.
    #[error(
        "another pipesim is writing to {} (it holds {}); wait for it to finish or choose another --out",
        dir.display(),
        lock.display()
    )]
    Busy { dir: PathBuf, lock: PathBuf },
    /// The result directory holds something this run may not replace.
    #[error("refusing to write into {}: {reason}; {force}", dir.display())]
    Clash {
        dir: PathBuf,
        /// What it holds.
        reason: String,
        /// What `--force` would do, or that it would not help.
        force: &'static str,
    },
    #[error("--out {} is a file, not a directory", path.display())]
    NotADirectory { path: PathBuf },
    #[error("--out {} is a directory, not a file", path.display())]
    IsADirectory { path: PathBuf },
    /// The output would overwrite an input of the command.
    #[error(
        "--out {} is an input of this command ({}); pipesim never overwrites its input",
        out.display(),
        input.display()
    )]
    IsInput { out: PathBuf, input: PathBuf },
    #[error("cannot format CSV")]
    Csv(#[from] ::csv::Error),
}

impl OutputError {
    /// Is this the user's request (an `--out` that clashes, is an input or
    /// of the wrong kind) rather than the machine (disk, permissions, a
    /// lock held by another run)? The CLI exits 2 for these, 1 otherwise.
    pub fn is_input(&self) -> bool {
        matches!(
            self,
            OutputError::Clash { .. }
                | OutputError::NotADirectory { .. }
                | OutputError::IsADirectory { .. }
                | OutputError::IsInput { .. }
        )
    }
}

/// The files `run --out` writes (`trials.csv` last, with `per_trial`).
pub fn run_file_names(per_trial: bool) -> Vec<&'static str> {
    files::RESULT_NAMES
        .into_iter()
        .filter(|n| per_trial || *n != "trials.csv")
        .collect()
}

/// The files `batch --out` writes.
pub const BATCH_FILE_NAMES: [&str; 3] = ["summary.csv", "comparison.csv", "run.csv"];

/// Check, lock and stage `run --out dir` before the simulation (see
/// [`OutputDir::prepare`]); `scenario` is the input it may not overwrite.
pub fn run_output(
    dir: &Path,
    per_trial: bool,
    force: bool,
    scenario: &Path,
) -> Result<OutputDir, OutputError> {
    OutputDir::prepare(dir, "run", &run_file_names(per_trial), force, &[scenario])
}

/// Check, lock and stage `batch --out dir` before the simulation; `inputs`
/// are the scenario files and directories it reads.
pub fn batch_output(dir: &Path, force: bool, inputs: &[&Path]) -> Result<OutputDir, OutputError> {
    OutputDir::prepare(dir, "batch", &BATCH_FILE_NAMES, force, inputs)
}

/// A named output file and its contents.
pub type NamedFile = (&'static str, Vec<u8>);

/// The files `run --out DIR` writes (without `trials.csv`, which is
/// streamed): `summary.csv`, `comparison.csv`, `monthly.csv`,
/// `funnel.csv`, `segments.csv`, `quarterly.csv`, `run.csv`.
pub fn run_files(r: &RunResult) -> Result<Vec<NamedFile>, OutputError> {
    let (scn, a) = (&r.scenario, &r.analysis);
    let mut extra: Vec<(&str, String)> = Vec::new();
    if let Some(p) = &r.precision {
        extra.extend([
            ("precision_metric", p.metric.name().to_string()),
            ("precision_target", csv::num(p.target)),
            ("precision_reached", csv::num(p.worst)),
            ("precision_met", p.met.to_string()),
        ]);
    }
    Ok(vec![
        ("summary.csv", csv::summary_csv(a)?),
        ("comparison.csv", csv::comparison_csv(a)?),
        ("monthly.csv", csv::monthly_csv(scn, a)?),
        ("funnel.csv", csv::funnel_csv(scn, a)?),
        ("segments.csv", csv::segments_csv(a)?),
        ("quarterly.csv", csv::quarterly_csv(a)?),
        ("run.csv", csv::run_csv(scn, a, &extra)?),
    ])
}

/// Write the files of a run into `out` as one result set (with
/// `trials.csv` when a writer streamed it); returns the names written.
pub fn write_run(
    out: OutputDir,
    r: &RunResult,
    trials: Option<TrialsWriter>,
) -> Result<Vec<&'static str>, OutputError> {
    let names = out.files().to_vec();
    out.commit(&run_files(r)?, trials)?;
    Ok(names)
}

/// What the files of `batch --out` are made of, as text: the settings,
/// the `summary.csv` and `comparison.csv` rows (with the `scenario` column
/// first), the scenarios that ran and the inputs that failed, in the
/// batch's order. The rows of a batch's shards, concatenated, are the
/// batch's.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BatchTables {
    pub trials: Option<u64>,
    pub seed: Option<u64>,
    /// `--set`/`--scale` as given.
    pub changes: Vec<String>,
    pub summary: Vec<Vec<String>>,
    pub comparison: Vec<Vec<String>>,
    /// The `scenario` names that ran.
    pub ok: Vec<String>,
    /// Failed inputs: file and reason.
    pub failed: Vec<(String, String)>,
}

impl BatchTables {
    /// The tables of a batch that ran.
    pub fn of(b: &Batch) -> BatchTables {
        let mut t = BatchTables {
            trials: b.spec.trials,
            seed: b.spec.seed,
            changes: b.spec.changes.iter().map(|o| o.to_string()).collect(),
            ..BatchTables::default()
        };
        for r in &b.runs {
            for mut row in csv::summary_rows(&r.analysis) {
                row.insert(0, r.name.clone());
                t.summary.push(row);
            }
            for mut row in csv::comparison_rows(&r.analysis) {
                row.insert(0, r.name.clone());
                t.comparison.push(row);
            }
            t.ok.push(r.name.clone());
        }
        t.failed = b
            .failures
            .iter()
            .map(|f| (f.file.display().to_string(), f.message.clone()))
            .collect();
        t
    }
}

/// The files `batch --out DIR` writes: `summary.csv` and `comparison.csv`
/// with a `scenario` column first, and `run.csv` (settings, scenarios that
/// ran and failed).
pub fn batch_files(b: &Batch) -> Result<Vec<NamedFile>, OutputError> {
    batch_files_of(&BatchTables::of(b))
}

/// [`batch_files`] from a batch's [`BatchTables`].
pub fn batch_files_of(t: &BatchTables) -> Result<Vec<NamedFile>, OutputError> {
    let with_scenario = |h: &[&'static str]| {
        let mut v = vec!["scenario"];
        v.extend_from_slice(h);
        v
    };
    Ok(vec![
        (
            "summary.csv",
            csv::csv_table(&with_scenario(&csv::SUMMARY_HEADER), t.summary.clone())?,
        ),
        (
            "comparison.csv",
            csv::csv_table(
                &with_scenario(&csv::COMPARISON_HEADER),
                t.comparison.clone(),
            )?,
        ),
        ("run.csv", csv::batch_run_csv(t)?),
    ])
}

/// Write the files of a batch into `out` as one result set.
pub fn write_batch(out: OutputDir, b: &Batch) -> Result<(), OutputError> {
    out.commit(&batch_files(b)?, None)
}

/// The columns the sweep CSV adds after the `summary.csv` ones: the
/// Wilson interval of `p_target` (empty where the metric has no target).
pub const SWEEP_EXTRA_HEADER: [&str; 2] = ["p_target_ci_low", "p_target_ci_high"];

/// The sweep CSV: one row per point, strategy and metric — `point`, one
/// column per axis, the `summary.csv` columns, then
/// [`SWEEP_EXTRA_HEADER`].
pub fn sweep_csv(s: &Sweep) -> Result<Vec<u8>, OutputError> {
    let (header, rows) = sweep_rows(s);
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    csv::csv_table(&header_refs, rows)
}

/// The header and rows of [`sweep_csv`] (points numbered in the whole
/// grid, so the rows of a sweep's shards concatenate into the sweep's).
pub fn sweep_rows(s: &Sweep) -> (Vec<String>, Vec<Vec<String>>) {
    let mut header: Vec<String> = vec!["point".to_string()];
    header.extend(s.axes.iter().map(|a| a.column()));
    header.extend(csv::SUMMARY_HEADER.iter().map(|h| h.to_string()));
    header.extend(SWEEP_EXTRA_HEADER.iter().map(|h| h.to_string()));
    let mut rows = Vec::new();
    for (p, (idx, a)) in s.points.iter().zip(&s.runs).enumerate() {
        let metrics = a.strategies.iter().flat_map(|st| st.metrics.iter());
        for (r, ms) in csv::summary_rows(a).into_iter().zip(metrics) {
            let mut row = vec![(s.first_point + p).to_string()];
            row.extend(s.axes.iter().zip(idx).map(|(ax, &i)| ax.values[i].clone()));
            row.extend(r);
            match ms.target {
                Some((_, pt)) => row.extend([csv::num(pt.low), csv::num(pt.high)]),
                None => row.extend([String::new(), String::new()]),
            }
            rows.push(row);
        }
    }
    (header, rows)
}

/// The what-if CSV (see [`csv::WHATIF_HEADER`]).
pub fn whatif_csv(w: &WhatIf) -> Result<Vec<u8>, OutputError> {
    csv::csv_table(&csv::WHATIF_HEADER, csv::whatif_rows(w))
}
