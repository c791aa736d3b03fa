//! Outputs: no maths, only presentation of results the experiments
//! computed — terminal text ([`text`]), CSV ([`csv`]), JSON ([`json`]) —
//! and the files each command writes, staged and committed atomically
//! ([`files`]).
//!
//! The functions here are the one place that decides which files a
//! command produces and what its `run.csv` says: [`run_files`] for `run
//! --out`, [`batch_files`] for `batch --out`, [`sweep_csv`] and
//! [`whatif_csv`].

pub mod csv;
pub mod files;
pub mod json;
pub mod text;

use std::path::{Path, PathBuf};

use crate::experiment::{Batch, RunResult, Sweep, WhatIf};

pub use files::{StagedFile, TrialsWriter, commit, write_atomic, write_file_atomic};

/// Errors writing output files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutputError {
    #[error("cannot create output directory {}", path.display())]
    CreateDir {
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
    #[error("cannot format CSV: {0}")]
    Csv(#[from] ::csv::Error),
}

/// A named output file and its contents.
pub type NamedFile = (&'static str, Vec<u8>);

/// The files `run --out DIR` writes (without `trials.csv`, which is
/// streamed): `summary.csv`, `comparison.csv`, `monthly.csv`, `run.csv`.
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
        ("run.csv", csv::run_csv(scn, a, &extra)?),
    ])
}

/// Write the files of a run into `dir` at once (with `trials.csv` when a
/// writer streamed it); returns the names written. A `trials.csv` left by
/// an earlier `--per-trial` run would not match these results, so it is
/// removed together with the update when there is no new one.
pub fn write_run(
    dir: &Path,
    r: &RunResult,
    trials: Option<TrialsWriter>,
) -> Result<Vec<&'static str>, OutputError> {
    let files = run_files(r)?;
    let mut names: Vec<&'static str> = files.iter().map(|(name, _)| *name).collect();
    let mut staged = files
        .iter()
        .map(|(name, bytes)| StagedFile::with_bytes(dir, name, bytes))
        .collect::<Result<Vec<_>, _>>()?;
    let per_trial = trials.is_some();
    if let Some(w) = trials {
        staged.push(w.finish()?);
        names.push("trials.csv");
    }
    let stale: &[&str] = if per_trial { &[] } else { &["trials.csv"] };
    commit(dir, staged, stale)?;
    Ok(names)
}

/// The files `batch --out DIR` writes: `summary.csv` and `comparison.csv`
/// with a `scenario` column first, and `run.csv` (settings, scenarios that
/// ran and failed).
pub fn batch_files(b: &Batch) -> Result<Vec<NamedFile>, OutputError> {
    let mut summary = Vec::new();
    let mut comparison = Vec::new();
    for r in &b.runs {
        for mut row in csv::summary_rows(&r.analysis) {
            row.insert(0, r.name.clone());
            summary.push(row);
        }
        for mut row in csv::comparison_rows(&r.analysis) {
            row.insert(0, r.name.clone());
            comparison.push(row);
        }
    }
    let with_scenario = |h: &[&'static str]| {
        let mut v = vec!["scenario"];
        v.extend_from_slice(h);
        v
    };
    Ok(vec![
        (
            "summary.csv",
            csv::csv_table(&with_scenario(&csv::SUMMARY_HEADER), summary)?,
        ),
        (
            "comparison.csv",
            csv::csv_table(&with_scenario(&csv::COMPARISON_HEADER), comparison)?,
        ),
        ("run.csv", csv::batch_run_csv(b)?),
    ])
}

/// Write the files of a batch into `dir` at once.
pub fn write_batch(dir: &Path, b: &Batch) -> Result<(), OutputError> {
    write_atomic(dir, &batch_files(b)?, &[])
}

/// The sweep CSV: one row per point, strategy and metric — `point`, one
/// column per axis, then the `summary.csv` columns.
pub fn sweep_csv(s: &Sweep) -> Result<Vec<u8>, OutputError> {
    let mut header: Vec<String> = vec!["point".to_string()];
    header.extend(s.axes.iter().map(|a| a.column()));
    header.extend(csv::SUMMARY_HEADER.iter().map(|h| h.to_string()));
    let mut rows = Vec::new();
    for (p, (idx, a)) in s.points.iter().zip(&s.runs).enumerate() {
        for r in csv::summary_rows(a) {
            let mut row = vec![p.to_string()];
            row.extend(s.axes.iter().zip(idx).map(|(ax, &i)| ax.values[i].clone()));
            row.extend(r);
            rows.push(row);
        }
    }
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    csv::csv_table(&header_refs, rows)
}

/// The what-if CSV (see [`csv::WHATIF_HEADER`]).
pub fn whatif_csv(w: &WhatIf) -> Result<Vec<u8>, OutputError> {
    csv::csv_table(&csv::WHATIF_HEADER, csv::whatif_rows(w))
}
