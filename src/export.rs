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

use crate::engine::SimResults;
use crate::metrics::{Metric, MonthlyMetric};
use crate::scenario::Scenario;
use crate::stats::Analysis;

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

fn csv_bytes(
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

/// `summary.csv`: one row per strategy and metric.
pub fn summary_csv(analysis: &Analysis) -> Result<Vec<u8>, ExportError> {
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
    csv_bytes(&SUMMARY_HEADER, rows)
}

/// `comparison.csv`: one row per non-baseline strategy and metric.
pub fn comparison_csv(analysis: &Analysis) -> Result<Vec<u8>, ExportError> {
    let rows = analysis.comparisons.iter().map(|c| {
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
    });
    csv_bytes(&COMPARISON_HEADER, rows)
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
    csv_bytes(&MONTHLY_HEADER, rows)
}

/// `trials.csv`: one row per trial and strategy, one column per metric.
pub fn trials_csv(scn: &Scenario, sim: &SimResults) -> Result<Vec<u8>, ExportError> {
    let mut header = vec!["trial", "strategy"];
    header.extend(Metric::ALL.iter().map(|m| m.name()));
    let mut rows = Vec::with_capacity(sim.trials as usize * sim.strategies.len());
    for t in 0..sim.trials as usize {
        for (st, res) in scn.strategies.iter().zip(&sim.strategies) {
            let mut row = vec![t.to_string(), st.name.clone()];
            row.extend(Metric::ALL.iter().map(|m| num(res.metric(*m)[t])));
            rows.push(row);
        }
    }
    csv_bytes(&header, rows)
}

/// Write `files` (name, contents) into `dir` atomically and remove the files
/// named in `stale`: the directory is created if needed, every file goes to
/// a temporary file first, every target is checked to be replaceable, and
/// the renames happen only once all of that succeeded. New files get the
/// usual permissions (0666 less the umask), not the 0600 of temporary files.
pub fn write_atomic(
    dir: &Path,
    files: &[(&str, Vec<u8>)],
    stale: &[&str],
) -> Result<(), ExportError> {
    std::fs::create_dir_all(dir).map_err(|source| ExportError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut staged = Vec::with_capacity(files.len());
    for (name, bytes) in files {
        let target = dir.join(name);
        let werr = |source| ExportError::Write {
            path: target.clone(),
            source,
        };
        let mut builder = tempfile::Builder::new();
        let prefix = format!(".{name}.");
        builder.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let mut tmp = builder.tempfile_in(dir).map_err(werr)?;
        tmp.write_all(bytes).map_err(werr)?;
        tmp.as_file().sync_all().map_err(werr)?;
        staged.push((tmp, target));
    }
    // Refuse before replacing anything if some target cannot be replaced
    // (e.g. a directory in its place), so no run leaves a mix of old and new.
    let stale: Vec<PathBuf> = stale.iter().map(|name| dir.join(name)).collect();
    let blocked = staged
        .iter()
        .map(|(_, target)| target)
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
    for (tmp, target) in staged {
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
