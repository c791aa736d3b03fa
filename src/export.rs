//! Output files: `summary.csv`, `comparison.csv`, `monthly.csv` and
//! (optionally) `trials.csv`, written atomically.
//!
//! Numbers are written in plain decimal notation (never exponents) with the
//! shortest representation that round-trips to the same f64, so spreadsheets
//! read them and nothing is lost. Undefined values (no target set) are empty
//! cells. Every file is first written to a temporary file in the output
//! directory and renamed into place only when all of them are complete, so a
//! failed run never leaves a half-written CSV.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::engine::{Block, SimResults};
use crate::metrics::{Metric, MonthlyMetric};
use crate::scenario::Scenario;
use crate::stats::Analysis;
use crate::whatif::WhatIf;

/// Header of `summary.csv`.
pub const SUMMARY_HEADER: [&str; 17] = [
    "strategy",
    "metric",
    "trials",
    "mean",
    "sd",
    "se",
    "mean_ci_low",
    "mean_ci_high",
    "p5",
    "p10",
    "p25",
    "p50",
    "p75",
    "p90",
    "p95",
    "target",
    "p_target",
];

/// Header of `comparison.csv`.
pub const COMPARISON_HEADER: [&str; 12] = [
    "strategy",
    "baseline",
    "metric",
    "diff_mean",
    "diff_ci_low",
    "diff_ci_high",
    "diff_p5",
    "diff_p50",
    "diff_p95",
    "p_beats",
    "p_beats_ci_low",
    "p_beats_ci_high",
];

/// Header of `monthly.csv`.
pub const MONTHLY_HEADER: [&str; 8] = [
    "strategy", "month", "label", "metric", "mean", "p5", "p50", "p95",
];

/// A number as a CSV cell: plain decimal, round-trip precision, empty for
/// NaN, `-0` written as `0`.
pub fn num(x: f64) -> String {
    if x.is_nan() {
        String::new()
    } else if x == 0.0 {
        "0".to_string()
    } else {
        format!("{x}")
    }
}

/// Errors writing output files.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
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
    Csv(#[from] csv::Error),
}

/// Rows as CSV bytes, under a header.
pub fn csv_table(
    header: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> Result<Vec<u8>, ExportError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header)?;
    for row in rows {
        w.write_record(&row)?;
    }
    w.into_inner()
        .map_err(|e| ExportError::Csv(e.into_error().into()))
}

/// The rows of `summary.csv`: one per strategy and metric.
pub fn summary_rows(analysis: &Analysis) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for st in &analysis.strategies {
        for ms in &st.metrics {
            let s = &ms.summary;
            let mut row = vec![
                st.name.clone(),
                ms.metric.name().to_string(),
                s.n.to_string(),
                num(s.mean),
                num(s.sd),
                num(s.se),
                num(s.ci_low),
                num(s.ci_high),
            ];
            row.extend(s.quantiles.iter().map(|q| num(*q)));
            match ms.target {
                Some((t, p)) => {
                    row.push(num(t));
                    row.push(num(p.p));
                }
                None => {
                    row.push(String::new());
                    row.push(String::new());
                }
            }
            rows.push(row);
        }
    }
    rows
}

/// `summary.csv`: one row per strategy and metric.
pub fn summary_csv(analysis: &Analysis) -> Result<Vec<u8>, ExportError> {
    csv_table(&SUMMARY_HEADER, summary_rows(analysis))
}

/// The rows of `comparison.csv`: one per non-baseline strategy and metric.
pub fn comparison_rows(analysis: &Analysis) -> Vec<Vec<String>> {
    analysis
        .comparisons
        .iter()
        .map(|c| {
            let d = &c.diff;
            vec![
                analysis.strategies[c.strategy].name.clone(),
                analysis.strategies[c.baseline].name.clone(),
                c.metric.name().to_string(),
                num(d.mean),
                num(d.ci_low),
                num(d.ci_high),
                num(d.quantiles[0]),
                num(d.quantiles[3]),
                num(d.quantiles[6]),
                num(c.p_beats.p),
                num(c.p_beats.low),
                num(c.p_beats.high),
            ]
        })
        .collect()
}

/// `comparison.csv`: one row per non-baseline strategy and metric.
pub fn comparison_csv(analysis: &Analysis) -> Result<Vec<u8>, ExportError> {
    csv_table(&COMPARISON_HEADER, comparison_rows(analysis))
}

/// `run.csv`: what produced the files (`key,value` rows): scenario file
/// and name, seed, trials, quantile method, and every override applied.
pub fn run_csv(
    scn: &Scenario,
    analysis: &Analysis,
    extra: &[(&str, String)],
) -> Result<Vec<u8>, ExportError> {
    let mut rows = vec![
        vec![
            "pipesim_version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ],
        vec!["scenario_file".to_string(), scn.file.display().to_string()],
        vec!["scenario_name".to_string(), scn.name.clone()],
        vec!["seed".to_string(), scn.seed.to_string()],
        vec!["trials".to_string(), analysis.trials.to_string()],
        vec![
            "quantiles".to_string(),
            if analysis.quantiles_exact {
                "exact".to_string()
            } else {
                format!(
                    "sketch (relative error <= {})",
                    crate::sketch::RELATIVE_ACCURACY
                )
            },
        ],
    ];
    for o in &scn.overrides {
        rows.push(vec!["override".to_string(), o.clone()]);
    }
    for (k, v) in extra {
        rows.push(vec![k.to_string(), v.clone()]);
    }
    csv_table(&["key", "value"], rows)
}

/// `monthly.csv`: one row per strategy, month and series.
pub fn monthly_csv(scn: &Scenario, analysis: &Analysis) -> Result<Vec<u8>, ExportError> {
    let mut rows = Vec::new();
    for st in &analysis.strategies {
        for month in 0..scn.horizon {
            let label = scn.month_label(month);
            for mm in MonthlyMetric::ALL {
                let p = st.monthly[mm.index()][month];
                rows.push(vec![
                    st.name.clone(),
                    month.to_string(),
                    label.clone(),
                    mm.name().to_string(),
                    num(p.mean),
                    num(p.p5),
                    num(p.p50),
                    num(p.p95),
                ]);
            }
        }
    }
    csv_table(&MONTHLY_HEADER, rows)
}

/// Header of `trials.csv`: `trial`, `strategy`, then one column per metric.
pub fn trials_header() -> Vec<&'static str> {
    let mut header = vec!["trial", "strategy"];
    header.extend(Metric::ALL.iter().map(|m| m.name()));
    header
}

/// `trials.csv` of kept trials: one row per trial and strategy.
pub fn trials_csv(scn: &Scenario, sim: &SimResults) -> Result<Vec<u8>, ExportError> {
    let mut rows = Vec::with_capacity(sim.trials as usize * sim.strategies.len());
    for t in 0..sim.trials as usize {
        for (st, res) in scn.strategies.iter().zip(&sim.strategies) {
            let mut row = vec![t.to_string(), st.name.clone()];
            row.extend(Metric::ALL.iter().map(|m| num(res.metric(*m)[t])));
            rows.push(row);
        }
    }
    csv_table(&trials_header(), rows)
}

/// A file being written in the output directory under a temporary name;
/// [`commit`] renames it into place, dropping it deletes it.
pub struct StagedFile {
    tmp: tempfile::NamedTempFile,
    target: PathBuf,
}

impl StagedFile {
    /// Create `dir` if needed and a temporary file for `dir/name` in it.
    pub fn new(dir: &Path, name: &str) -> Result<StagedFile, ExportError> {
        std::fs::create_dir_all(dir).map_err(|source| ExportError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let target = dir.join(name);
        let mut builder = tempfile::Builder::new();
        let prefix = format!(".{name}.");
        builder.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let tmp = builder
            .tempfile_in(dir)
            .map_err(|source| ExportError::Write {
                path: target.clone(),
                source,
            })?;
        Ok(StagedFile { tmp, target })
    }

    /// A staged file with these contents.
    pub fn with_bytes(dir: &Path, name: &str, bytes: &[u8]) -> Result<StagedFile, ExportError> {
        let mut f = StagedFile::new(dir, name)?;
        f.tmp.write_all(bytes).map_err(|e| f.error(e))?;
        Ok(f)
    }

    fn error(&self, source: std::io::Error) -> ExportError {
        ExportError::Write {
            path: self.target.clone(),
            source,
        }
    }
}

/// Streams `trials.csv` rows to a staged file as windows of trials finish.
pub struct TrialsWriter {
    out: csv::Writer<std::io::BufWriter<std::fs::File>>,
    staged: StagedFile,
    names: Vec<String>,
}

impl TrialsWriter {
    pub fn new(dir: &Path, scn: &Scenario) -> Result<TrialsWriter, ExportError> {
        let staged = StagedFile::new(dir, "trials.csv")?;
        let file = staged.tmp.reopen().map_err(|e| staged.error(e))?;
        let mut out = csv::Writer::from_writer(std::io::BufWriter::with_capacity(1 << 20, file));
        out.write_record(trials_header())?;
        Ok(TrialsWriter {
            out,
            staged,
            names: scn.strategies.iter().map(|s| s.name.clone()).collect(),
        })
    }

    /// Write the rows of one block.
    pub fn write_block(&mut self, block: &Block) -> Result<(), ExportError> {
        let mut row: Vec<String> = Vec::with_capacity(2 + Metric::COUNT);
        for t in 0..block.len {
            for (s, name) in self.names.iter().enumerate() {
                row.clear();
                row.push((block.start + t as u64).to_string());
                row.push(name.clone());
                row.extend((0..Metric::COUNT).map(|k| num(block.metric(t, s, k))));
                self.out.write_record(&row)?;
            }
        }
        Ok(())
    }

    /// Flush everything; the file is ready to [`commit`].
    pub fn finish(self) -> Result<StagedFile, ExportError> {
        let staged = self.staged;
        let mut buf = self
            .out
            .into_inner()
            .map_err(|e| ExportError::Csv(e.into_error().into()))?;
        buf.flush().map_err(|e| staged.error(e))?;
        Ok(staged)
    }
}

/// Write `files` (name, contents) into `dir` atomically and remove the files
/// named in `stale`: see [`commit`].
pub fn write_atomic(
    dir: &Path,
    files: &[(&str, Vec<u8>)],
    stale: &[&str],
) -> Result<(), ExportError> {
    let staged = files
        .iter()
        .map(|(name, bytes)| StagedFile::with_bytes(dir, name, bytes))
        .collect::<Result<Vec<_>, _>>()?;
    commit(dir, staged, stale)
}

/// Put staged files in place and remove the files named in `stale`: every
/// file is synced, every target checked to be replaceable, and the renames
/// happen only once all of that succeeded, so a failed run never leaves a
/// mix of old and new files or a half-written one. New files get the usual
/// permissions (0666 less the umask), not the 0600 of temporary files.
pub fn commit(dir: &Path, staged: Vec<StagedFile>, stale: &[&str]) -> Result<(), ExportError> {
    for f in &staged {
        f.tmp.as_file().sync_all().map_err(|e| f.error(e))?;
    }
    // Refuse before replacing anything if some target cannot be replaced
    // (e.g. a directory in its place), so no run leaves a mix of old and new.
    let stale: Vec<PathBuf> = stale.iter().map(|name| dir.join(name)).collect();
    let blocked = staged
        .iter()
        .map(|f| &f.target)
        .chain(&stale)
        .find(|path| std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()));
    if let Some(path) = blocked {
        return Err(ExportError::Write {
            path: path.clone(),
            source: std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                "a directory is in the way",
            ),
        });
    }
    for StagedFile { tmp, target } in staged {
        tmp.persist(&target).map_err(|e| ExportError::Write {
            path: target.clone(),
            source: e.error,
        })?;
    }
    for path in stale {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(ExportError::Write { path, source }),
        }
    }
    Ok(())
}

/// Write one file atomically (temporary file in the same directory, then
/// rename).
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| ExportError::Write {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"),
        })?;
    let staged = StagedFile::with_bytes(dir, &name, bytes)?;
    commit(dir, vec![staged], &[])
}

/// Header of a what-if CSV.
pub const WHATIF_HEADER: [&str; 17] = [
    "strategy",
    "metric",
    "trials",
    "plan_mean",
    "changed_mean",
    "change_mean",
    "change_ci_low",
    "change_ci_high",
    "change_pct",
    "change_p5",
    "change_p50",
    "change_p95",
    "p_better",
    "p_better_ci_low",
    "p_better_ci_high",
    "p_worse",
    "changes",
];

/// What-if rows: one per strategy and metric; `changes` lists the
/// overrides (`--scale PATH=1.3; --set ...`).
pub fn whatif_rows(w: &WhatIf, changes: &[String]) -> Vec<Vec<String>> {
    let changes = changes.join("; ");
    w.rows
        .iter()
        .map(|r| {
            let c = &r.change;
            vec![
                w.strategies[r.strategy].clone(),
                r.metric.name().to_string(),
                w.trials.to_string(),
                num(r.plan_mean),
                num(r.changed_mean),
                num(c.mean),
                num(c.ci_low),
                num(c.ci_high),
                num(r.change_pct()),
                num(c.quantiles[0]),
                num(c.quantiles[3]),
                num(c.quantiles[6]),
                num(r.p_better.p),
                num(r.p_better.low),
                num(r.p_better.high),
                num(r.p_worse.p),
                changes.clone(),
            ]
        })
        .collect()
}

/// A number for JSON: `null` when undefined.
fn jnum(x: f64) -> serde_json::Value {
    if x.is_finite() {
        serde_json::Value::from(x)
    } else {
        serde_json::Value::Null
    }
}

fn summary_json(s: &crate::stats::Summary) -> serde_json::Value {
    let mut q = serde_json::Map::new();
    for (v, (_, name)) in s.quantiles.iter().zip(crate::stats::QUANTILES) {
        q.insert(name.to_string(), jnum(*v));
    }
    serde_json::json!({
        "trials": s.n,
        "mean": jnum(s.mean),
        "sd": jnum(s.sd),
        "se": jnum(s.se),
        "mean_ci": [jnum(s.ci_low), jnum(s.ci_high)],
        "quantiles": q,
        "interval": [jnum(s.interval_low), jnum(s.interval_high)],
    })
}

fn prop_json(p: &crate::stats::Proportion) -> serde_json::Value {
    serde_json::json!({ "p": jnum(p.p), "ci": [jnum(p.low), jnum(p.high)] })
}

/// The whole result of a run as JSON (for `run --format json`).
pub fn analysis_json(
    scn: &Scenario,
    a: &Analysis,
    precision: Option<&crate::runner::PrecisionReached>,
) -> serde_json::Value {
    let strategies: Vec<serde_json::Value> = a
        .strategies
        .iter()
        .map(|st| {
            let mut metrics = serde_json::Map::new();
            for ms in &st.metrics {
                let mut v = summary_json(&ms.summary);
                if let (Some((t, p)), Some(obj)) = (&ms.target, v.as_object_mut()) {
                    obj.insert("target".into(), jnum(*t));
                    obj.insert("p_target".into(), prop_json(p));
                }
                metrics.insert(ms.metric.name().to_string(), v);
            }
            serde_json::json!({
                "name": st.name,
                "label": st.label,
                "cac": jnum(st.cac),
                "metrics": metrics,
            })
        })
        .collect();
    let comparisons: Vec<serde_json::Value> = a
        .comparisons
        .iter()
        .map(|c| {
            serde_json::json!({
                "strategy": a.strategies[c.strategy].name,
                "baseline": a.strategies[c.baseline].name,
                "metric": c.metric.name(),
                "diff": summary_json(&c.diff),
                "p_beats": prop_json(&c.p_beats),
            })
        })
        .collect();
    serde_json::json!({
        "scenario": scn.name,
        "file": scn.file.display().to_string(),
        "seed": scn.seed,
        "trials": a.trials,
        "ci": a.ci,
        "interval": a.interval,
        "overrides": scn.overrides,
        "quantiles": if a.quantiles_exact { "exact" } else { "sketch" },
        "precision": precision.map(|p| serde_json::json!({
            "metric": p.metric.name(),
            "target": p.target,
            "reached": jnum(p.worst),
            "met": p.met,
        })),
        "baseline": a.strategies[a.baseline].name,
        "strategies": strategies,
        "comparisons": comparisons,
        "warnings": a.warnings,
    })
}

/// A what-if as JSON.
pub fn whatif_json(scn: &Scenario, w: &WhatIf) -> serde_json::Value {
    let rows: Vec<serde_json::Value> = w
        .rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "strategy": w.strategies[r.strategy],
                "metric": r.metric.name(),
                "plan_mean": jnum(r.plan_mean),
                "changed_mean": jnum(r.changed_mean),
                "change": summary_json(&r.change),
                "change_pct": jnum(r.change_pct()),
                "p_better": prop_json(&r.p_better),
                "p_worse": prop_json(&r.p_worse),
            })
        })
        .collect();
    serde_json::json!({
        "scenario": scn.name,
        "file": scn.file.display().to_string(),
        "seed": w.seed,
        "trials": w.trials,
        "ci": w.ci,
        "changes": scn.overrides,
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_plain_decimals() {
        assert_eq!(num(1e21), "1000000000000000000000");
        assert_eq!(num(1.5e-7), "0.00000015");
        assert_eq!(num(-0.0), "0");
        assert_eq!(num(f64::NAN), "");
        assert_eq!(num(0.1 + 0.2).parse::<f64>().unwrap(), 0.1 + 0.2);
    }
}
