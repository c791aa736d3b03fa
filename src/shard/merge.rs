//! `merge`: the parts of a sharded run, sweep or batch back into the
//! result one process gives.
//!
//! Every check comes before any computation, and the result is all or
//! nothing: parts of another format or pipesim version, of another job
//! (scenario fingerprint, seed, trials, shard count), the same shard
//! twice, a missing shard, and ranges that leave a gap or overlap are each
//! refused with the files named. A run's accumulators are then joined in
//! trial order ([`crate::accum::Accumulator::concat`]) and analysed as one
//! run's; a sweep's and a batch's rows are concatenated in shard order.

use std::path::{Path, PathBuf};

use crate::accum::Accumulator;
use crate::experiment::{self, Error, RunResult, RunSpec};
use crate::output::{self, BatchTables};

use super::part::{BatchShare, Part, PartKind, Source, SweepShare};

/// A merged job.
#[derive(Debug)]
pub enum Merged {
    /// What `run` returns: `run --out`'s files come from it.
    Run(Box<RunResult>),
    /// The sweep CSV (`sweep --out FILE`'s bytes) and its point count.
    Sweep { csv: Vec<u8>, points: u64 },
    /// The tables of `batch --out`'s files, and the batch's error when
    /// some scenario failed (as `batch` reports it).
    Batch {
        tables: Box<BatchTables>,
        total: usize,
        error: Option<Error>,
    },
}

/// The parts named by `paths`: files, or directories whose `*.part` files
/// are all taken (in name order). Every file is read and checked.
pub fn read_parts(paths: &[PathBuf]) -> Result<Vec<(PathBuf, Part)>, Error> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let rd = std::fs::read_dir(p).map_err(|e| Error::Part {
                file: p.clone(),
                message: format!("cannot read the directory: {e}"),
            })?;
            let mut found: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file() && f.extension().is_some_and(|e| e == "part"))
                .collect();
            if found.is_empty() {
                return Err(Error::Part {
                    file: p.clone(),
                    message: "holds no .part files".to_string(),
                });
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    files
        .into_iter()
        .map(|f| Part::read(&f).map(|part| (f, part)))
        .collect()
}

fn refuse(message: String) -> Error {
    Error::invalid("merge", message)
}

/// Check that `parts` are every shard of one job, once, tiling its units;
/// returns them in shard order.
fn check(mut parts: Vec<(PathBuf, Part)>) -> Result<Vec<(PathBuf, Part)>, Error> {
    let Some((first_file, first)) = parts.first().map(|(f, p)| (f.clone(), p.header.clone()))
    else {
        return Err(refuse("no parts given".to_string()));
    };
    let show = |f: &Path| f.display().to_string();
    for (file, part) in &parts[1..] {
        let h = &part.header;
        let differs = |what: &str, a: String, b: String| {
            refuse(format!(
                "{} and {} are not parts of the same job: {what} {a} and {b}",
                show(&first_file),
                show(file)
            ))
        };
        if h.pipesim_version != first.pipesim_version {
            return Err(differs(
                "written by pipesim",
                first.pipesim_version.clone(),
                h.pipesim_version.clone(),
            ));
        }
        if h.kind != first.kind {
            return Err(differs(
                "shares of a",
                first.kind.name().to_string(),
                format!("a {}", h.kind.name()),
            ));
        }
        if h.fingerprint != first.fingerprint {
            let short = |f: &str| f.chars().take(12).collect::<String>();
            return Err(differs(
                "different scenarios (or changes, axes or inputs): fingerprints",
                short(&first.fingerprint),
                short(&h.fingerprint),
            ));
        }
        let opt = |x: Option<u64>| x.map_or("each scenario's own".to_string(), |v| v.to_string());
        if h.seed != first.seed {
            return Err(differs("seeds", opt(first.seed), opt(h.seed)));
        }
        if h.trials != first.trials {
            return Err(differs("trials", opt(first.trials), opt(h.trials)));
        }
        if h.shard.count != first.shard.count || h.total != first.total {
            return Err(differs(
                "split into",
                format!("{} shards", first.shard.count),
                format!("{} shards", h.shard.count),
            ));
        }
        if h.quantiles != first.quantiles || h.changes != first.changes {
            return Err(differs(
                "settings",
                format!("{:?}", first.changes),
                format!("{:?}", h.changes),
            ));
        }
    }
    parts.sort_by_key(|(_, p)| (p.header.shard.index, p.header.start));
    for w in parts.windows(2) {
        if w[0].1.header.shard.index == w[1].1.header.shard.index {
            return Err(refuse(format!(
                "{} and {} are both shard {}: give each shard once",
                show(&w[0].0),
                show(&w[1].0),
                w[0].1.header.shard
            )));
        }
    }
    let count = first.shard.count;
    let have: Vec<u64> = parts.iter().map(|(_, p)| p.header.shard.index).collect();
    let missing: Vec<String> = (0..count)
        .filter(|i| have.binary_search(i).is_err())
        .take(20)
        .map(|i| {
            let s = super::Shard { index: i, count };
            let r = first.kind.share(s, first.total);
            format!("{s} ({} {}..{})", first.kind.unit(), r.start, r.end)
        })
        .collect();
    if !missing.is_empty() {
        return Err(refuse(format!(
            "shards are missing: {}; run them, or give every part",
            missing.join(", ")
        )));
    }
    let mut next = 0;
    for (file, part) in &parts {
        let h = &part.header;
        let expected = h.kind.share(h.shard, h.total);
        if h.start != next || (h.start..h.end) != expected {
            let what = if h.start > next {
                "a gap"
            } else {
                "an overlap"
            };
            return Err(refuse(format!(
                "{}: {} holds {} {}..{}, where shard {} holds {}..{} — {what} in the {}",
                show(file),
                h.describe(),
                h.kind.unit(),
                h.start,
                h.end,
                h.shard,
                expected.start,
                expected.end,
                h.kind.unit()
            )));
        }
        next = h.end;
    }
    if next != first.total {
        return Err(refuse(format!(
            "the parts cover {} {next} of {}",
            first.kind.unit(),
            first.total
        )));
    }
    Ok(parts)
}

/// Merge the parts of one job (see the module documentation).
pub fn merge(parts: Vec<(PathBuf, Part)>) -> Result<Merged, Error> {
    let parts = check(parts)?;
    match parts[0].1.header.kind {
        PartKind::Run => merge_run(&parts).map(|r| Merged::Run(Box::new(r))),
        PartKind::Sweep => merge_sweep(&parts),
        PartKind::Batch => merge_batch(&parts),
    }
}

fn damaged(file: &Path, e: impl std::fmt::Display) -> Error {
    Error::Part {
        file: file.to_path_buf(),
        message: format!("damaged payload: {e}"),
    }
}

fn merge_run(parts: &[(PathBuf, Part)]) -> Result<RunResult, Error> {
    let (file, first) = (&parts[0].0, &parts[0].1.header);
    let scn = Source::of(first, file)?.scenario()?;
    let spec = RunSpec::new(scn).trials(first.trials).seed(first.seed);
    if spec.scenario.fingerprint() != first.fingerprint {
        return Err(Error::Part {
            file: file.clone(),
            message: "its scenario text does not give the scenario it was run with".to_string(),
        });
    }
    let accs = parts
        .iter()
        .map(|(f, p)| Accumulator::decode(&p.payload).map_err(|e| damaged(f, e)))
        .collect::<Result<Vec<_>, _>>()?;
    let acc = Accumulator::concat(accs).map_err(|e| damaged(file, e))?;
    experiment::result_of(&spec, &acc)
}

fn merge_sweep(parts: &[(PathBuf, Part)]) -> Result<Merged, Error> {
    let mut header: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    for (f, p) in parts {
        let share: SweepShare = serde_json::from_slice(&p.payload).map_err(|e| damaged(f, e))?;
        match &header {
            None => header = Some(share.header),
            Some(h) if *h != share.header => {
                return Err(damaged(f, "its CSV columns differ from the other parts'"));
            }
            Some(_) => {}
        }
        rows.extend(share.rows);
    }
    let header = header.unwrap_or_default();
    let refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let csv = output::csv::csv_table(&refs, rows).map_err(|e| damaged(&parts[0].0, e))?;
    Ok(Merged::Sweep {
        csv,
        points: parts[0].1.header.total,
    })
}

fn merge_batch(parts: &[(PathBuf, Part)]) -> Result<Merged, Error> {
    let mut tables = BatchTables::default();
    // failures: unreadable directories, then scenarios that did not load,
    // then runs that failed, each in input order (as `batch` lists them)
    let mut failed: [Vec<((String, String), bool)>; 3] = Default::default();
    for (i, (f, p)) in parts.iter().enumerate() {
        let share: BatchShare = serde_json::from_slice(&p.payload).map_err(|e| damaged(f, e))?;
        let t = share.tables;
        if share.dirs + share.loads > t.failed.len() || share.input.len() != t.failed.len() {
            return Err(damaged(f, "its failures do not add up"));
        }
        if i == 0 {
            (tables.trials, tables.seed, tables.changes) = (t.trials, t.seed, t.changes);
        }
        tables.summary.extend(t.summary);
        tables.comparison.extend(t.comparison);
        tables.ok.extend(t.ok);
        for (k, entry) in t.failed.into_iter().zip(share.input).enumerate() {
            let group = if k < share.dirs {
                0
            } else if k < share.dirs + share.loads {
                1
            } else {
                2
            };
            failed[group].push(entry);
        }
    }
    let failures: Vec<((String, String), bool)> = failed.into_iter().flatten().collect();
    let total = tables.ok.len() + failures.len();
    let error = (!failures.is_empty()).then(|| Error::ScenariosFailed {
        failed: failures.len(),
        total,
        input_only: failures.iter().all(|(_, input)| *input),
    });
    tables.failed = failures.into_iter().map(|(f, _)| f).collect();
    Ok(Merged::Batch {
        tables: Box::new(tables),
        total,
        error,
    })
}
