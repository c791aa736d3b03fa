//! The partial-result file a shard writes, and the shard runs that make
//! one.
//!
//! # Format (version [`FORMAT_VERSION`])
//!
//! ```text
//! pipesim partial result\n        the magic line
//! {"format_version":1,...}\n       the header: one line of JSON (PartHeader)
//! <payload_bytes bytes>            the payload
//! ```
//!
//! The header says everything a merge checks and a person wants to know
//! (`head -2 shard-0-of-4.part`): the format version and the pipesim
//! version that wrote it, what kind of job it is a share of, the
//! fingerprint of the scenario after overrides, seed and trials, the shard
//! and its range of units, the quantile mode, the scenario's text and the
//! `--set`/`--scale` changes (so `merge` rebuilds a run's scenario from
//! the parts alone), and
//! the payload's length and SHA-256. The payload is, for a run, the
//! accumulators' state ([`crate::accum::wire`]); for a sweep or a batch,
//! JSON of its CSV rows.
//!
//! A reader checks the magic line and the format version before anything
//! else, so a part from another format version is refused with both
//! versions named rather than misread.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ScenarioError;
use crate::experiment::{self, BatchSpec, Error, Progress, RunSpec, SweepSpec};
use crate::output::{self, BatchTables, OutputError, OutputFile};
use crate::scenario::Scenario;
use crate::scenario::overrides::{self, Kind, Override};

use super::Shard;

/// The version of the part format this pipesim reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// The first line of every part.
const MAGIC: &[u8] = b"pipesim partial result\n";

/// What a part is a share of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartKind {
    Run,
    Sweep,
    Batch,
}

impl PartKind {
    pub fn name(self) -> &'static str {
        match self {
            PartKind::Run => "run",
            PartKind::Sweep => "sweep",
            PartKind::Batch => "batch",
        }
    }

    /// What its shards split.
    pub fn unit(self) -> &'static str {
        match self {
            PartKind::Run => "trials",
            PartKind::Sweep => "points",
            PartKind::Batch => "scenarios",
        }
    }
}

/// A `--set` or `--scale` as recorded in a part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// `set` or `scale`.
    pub kind: String,
    pub path: String,
    pub value: String,
}

impl Change {
    fn of(o: &Override) -> Change {
        Change {
            kind: match o.kind {
                Kind::Set => "set",
                Kind::Scale => "scale",
            }
            .to_string(),
            path: o.path.clone(),
            value: o.value.clone(),
        }
    }

    fn to_override(&self) -> Option<Override> {
        let kind = match self.kind.as_str() {
            "set" => Kind::Set,
            "scale" => Kind::Scale,
            _ => return None,
        };
        Some(Override {
            kind,
            path: self.path.clone(),
            value: self.value.clone(),
        })
    }
}

/// Everything a part says about itself (the JSON line after the magic).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartHeader {
    pub format_version: u32,
    pub pipesim_version: String,
    pub kind: PartKind,
    /// SHA-256 of what every shard of the job must share: the scenario
    /// after overrides ([`Scenario::fingerprint`]), and for a sweep its
    /// axes and objective, for a batch every scenario's.
    pub fingerprint: String,
    /// The scenario file as given (a batch: its inputs).
    pub scenario_file: String,
    pub scenario_name: String,
    /// The seed (a sweep or batch: `--seed`, `None` = each scenario's own).
    pub seed: Option<u64>,
    /// The trials (a sweep or batch: `--trials`, `None` = each one's own).
    pub trials: Option<u64>,
    pub shard: Shard,
    /// Units of the whole job (trials, points or scenarios) and this
    /// shard's range of them.
    pub total: u64,
    pub start: u64,
    pub end: u64,
    /// `exact` or `sketch` (a run).
    pub quantiles: Option<String>,
    /// `--set`/`--scale`, in order.
    pub changes: Vec<Change>,
    /// The scenario file's text (a run: merge rebuilds its scenario).
    pub scenario_text: Option<String>,
    pub payload_bytes: u64,
    pub payload_sha256: String,
}

impl PartHeader {
    /// `shard 1/4 (trials 5120..10240 of 20000)`.
    pub fn describe(&self) -> String {
        format!(
            "shard {} ({} {}..{} of {})",
            self.shard,
            self.kind.unit(),
            self.start,
            self.end,
            self.total
        )
    }
}

/// A partial result: its header and payload.
#[derive(Debug, Clone)]
pub struct Part {
    pub header: PartHeader,
    pub payload: Vec<u8>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Part {
    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = serde_json::to_string(&self.header).unwrap_or_default();
        let mut out = Vec::with_capacity(MAGIC.len() + header.len() + 1 + self.payload.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(header.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(&self.payload);
        out
    }

    /// Read a part's bytes, checking the magic line, the format version,
    /// the header and the payload's length and checksum; `file` names it
    /// in errors.
    pub fn from_bytes(bytes: &[u8], file: &Path) -> Result<Part, Error> {
        let fail = |message: String| Error::Part {
            file: file.to_path_buf(),
            message,
        };
        let Some(rest) = bytes.strip_prefix(MAGIC) else {
            return Err(fail(
                "not a pipesim partial result (`pipesim run --shard I/N --out DIR` writes them)"
                    .to_string(),
            ));
        };
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            return Err(fail("the header line is cut off".to_string()));
        };
        let (line, payload) = (&rest[..nl], &rest[nl + 1..]);
        let value: serde_json::Value = serde_json::from_slice(line)
            .map_err(|e| fail(format!("the header is not valid JSON ({e})")))?;
        let version = value.get("format_version").and_then(|v| v.as_u64());
        if version != Some(u64::from(FORMAT_VERSION)) {
            let by = value
                .get("pipesim_version")
                .and_then(|v| v.as_str())
                .unwrap_or("an unknown version");
            let v = version.map_or("an unknown format".to_string(), |v| format!("format {v}"));
            return Err(fail(format!(
                "written in {v} by pipesim {by}; this pipesim ({}) reads part format {FORMAT_VERSION}: merge with the pipesim that wrote it",
                env!("CARGO_PKG_VERSION")
            )));
        }
        let header: PartHeader = serde_json::from_value(value)
            .map_err(|e| fail(format!("the header is not a part header ({e})")))?;
        let h = &header;
        if !(1..=super::MAX_SHARDS).contains(&h.shard.count)
            || h.shard.index >= h.shard.count
            || h.start > h.end
            || h.end > h.total
        {
            return Err(fail(format!(
                "the header's shard {} or range {}..{} of {} is impossible",
                h.shard, h.start, h.end, h.total
            )));
        }
        if payload.len() as u64 != header.payload_bytes {
            return Err(fail(format!(
                "the file is cut off or was changed: {} bytes of payload, the header says {}",
                payload.len(),
                header.payload_bytes
            )));
        }
        if sha256_hex(payload) != header.payload_sha256 {
            return Err(fail(
                "the payload's checksum does not match its header: the file was damaged or changed"
                    .to_string(),
            ));
        }
        Ok(Part {
            header,
            payload: payload.to_vec(),
        })
    }

    /// Read a part file.
    pub fn read(file: &Path) -> Result<Part, Error> {
        let bytes = std::fs::read(file).map_err(|e| Error::Part {
            file: file.to_path_buf(),
            message: format!("cannot read it: {e}"),
        })?;
        Part::from_bytes(&bytes, file)
    }
}

/// Does `path` start like a part?
pub fn is_part(path: &Path) -> bool {
    let mut head = vec![0; MAGIC.len()];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && head == MAGIC
}

/// `shard-01-of-12.part`: the index padded to the width of the count, so
/// the parts list in order.
pub fn part_file_name(shard: Shard) -> String {
    let width = shard.count.saturating_sub(1).max(1).to_string().len();
    format!(
        "shard-{:0width$}-of-{}.part",
        shard.index,
        shard.count,
        width = width
    )
}

/// Write `part` into directory `dir` (created if missing) as
/// [`part_file_name`], atomically. An earlier part of that name is
/// replaced; any other file of that name only with `force`. `inputs` (the
/// scenario files) are never overwritten.
pub fn write_part(
    dir: &Path,
    part: &Part,
    force: bool,
    inputs: &[&Path],
) -> Result<PathBuf, OutputError> {
    if std::fs::metadata(dir).is_ok_and(|m| !m.is_dir()) {
        return Err(OutputError::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    std::fs::create_dir_all(dir).map_err(|source| OutputError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let name = part_file_name(part.header.shard);
    let path = dir.join(&name);
    if !force && std::fs::symlink_metadata(&path).is_ok() && !is_part(&path) {
        return Err(OutputError::Clash {
            dir: dir.to_path_buf(),
            reason: format!("{name} exists and is not a pipesim partial result"),
            force: "--force replaces it",
        });
    }
    OutputFile::prepare(&path, inputs)?.commit(&part.to_bytes())?;
    Ok(path)
}

/// A scenario file's text and the changes applied to it: what a part
/// carries so that `merge` rebuilds the scenario without the file.
#[derive(Debug, Clone)]
pub struct Source {
    pub file: PathBuf,
    pub text: String,
    pub changes: Vec<Override>,
}

impl Source {
    /// Read `file`.
    pub fn read(file: &Path, changes: &[Override]) -> Result<Source, Error> {
        let text = std::fs::read_to_string(file).map_err(|source| ScenarioError::Io {
            file: file.to_path_buf(),
            source,
        })?;
        Ok(Source {
            file: file.to_path_buf(),
            text,
            changes: changes.to_vec(),
        })
    }

    /// The scenario with the changes applied.
    pub fn scenario(&self) -> Result<Scenario, Error> {
        Ok(overrides::from_toml_str(
            &self.text,
            &self.file,
            &self.changes,
        )?)
    }

    /// The source a part recorded.
    pub fn of(header: &PartHeader, file: &Path) -> Result<Source, Error> {
        let fail = |message: &str| Error::Part {
            file: file.to_path_buf(),
            message: message.to_string(),
        };
        let text = header
            .scenario_text
            .clone()
            .ok_or_else(|| fail("the header has no scenario text"))?;
        let changes = header
            .changes
            .iter()
            .map(|c| {
                c.to_override()
                    .ok_or_else(|| fail("a change is neither set nor scale"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Source {
            file: PathBuf::from(&header.scenario_file),
            text,
            changes,
        })
    }
}

impl PartHeader {
    /// The header of shard `shard`'s units `share` of a `kind` job of
    /// `total` units, written by this pipesim; the caller fills in what the
    /// job is, [`Part::seal`] the payload's length and checksum.
    fn new(kind: PartKind, shard: Shard, total: u64, share: std::ops::Range<u64>) -> PartHeader {
        PartHeader {
            format_version: FORMAT_VERSION,
            pipesim_version: env!("CARGO_PKG_VERSION").to_string(),
            kind,
            fingerprint: String::new(),
            scenario_file: String::new(),
            scenario_name: String::new(),
            seed: None,
            trials: None,
            shard,
            total,
            start: share.start,
            end: share.end,
            quantiles: None,
            changes: Vec::new(),
            scenario_text: None,
            payload_bytes: 0,
            payload_sha256: String::new(),
        }
    }
}

impl PartKind {
    /// Shard `shard`'s units of a job of `total`: whole chunks of a run's
    /// trials, else [`Shard::share`].
    pub fn share(self, shard: Shard, total: u64) -> std::ops::Range<u64> {
        match self {
            PartKind::Run => shard.trials(total),
            PartKind::Sweep | PartKind::Batch => shard.share(total),
        }
    }
}

impl Part {
    /// `header` with `payload`, its length and checksum recorded.
    fn seal(mut header: PartHeader, payload: Vec<u8>) -> Part {
        header.payload_bytes = payload.len() as u64;
        header.payload_sha256 = sha256_hex(&payload);
        Part { header, payload }
    }
}

/// Shard `shard` of the run of `spec`, whose scenario is `source`'s: its
/// trials (whole chunks) simulated and their accumulated state.
pub fn run_part(
    source: &Source,
    spec: &RunSpec,
    shard: Shard,
    progress: &dyn Progress,
) -> Result<Part, Error> {
    let fingerprint = spec.scenario.fingerprint();
    if source.scenario()?.fingerprint() != fingerprint {
        return Err(Error::invalid(
            format!("the scenario of {}", source.file.display()),
            "changed while the shard started; run it again",
        ));
    }
    let share = PartKind::Run.share(shard, spec.trials);
    let acc = experiment::run_share(spec, share.clone(), progress)?;
    let quantiles = if acc.exact() { "exact" } else { "sketch" };
    let header = PartHeader {
        fingerprint,
        scenario_file: source.file.display().to_string(),
        scenario_name: spec.scenario.name.clone(),
        seed: Some(spec.seed),
        trials: Some(spec.trials),
        quantiles: Some(quantiles.to_string()),
        changes: source.changes.iter().map(Change::of).collect(),
        scenario_text: Some(source.text.clone()),
        ..PartHeader::new(PartKind::Run, shard, spec.trials, share)
    };
    Ok(Part::seal(header, acc.encode()))
}

/// What a sweep's part carries: its rows of the sweep CSV.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SweepShare {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

fn digest_of(parts: &[String]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Shard `shard` of the sweep `spec`: its grid points (every point is
/// validated first, as by the whole sweep).
pub fn sweep_part(spec: &SweepSpec, shard: Shard, progress: &dyn Progress) -> Result<Part, Error> {
    let points = experiment::grid(&spec.axes)?.len() as u64;
    let share = PartKind::Sweep.share(shard, points);
    let spec = SweepSpec {
        points: Some(share.start as usize..share.end as usize),
        ..spec.clone()
    };
    let sweep = experiment::sweep(&spec, progress)?;
    let (header, rows) = output::sweep_rows(&sweep);
    let mut key = vec![
        "sweep".to_string(),
        sweep.base.fingerprint(),
        format!("{:?}", spec.trials),
        format!("{:?}", spec.seed),
        format!("{:?}", spec.objective),
    ];
    key.extend(
        spec.axes
            .iter()
            .map(|a| format!("{:?} {} {:?}", a.kind, a.path, a.values)),
    );
    let part_header = PartHeader {
        fingerprint: digest_of(&key),
        scenario_file: spec.file.display().to_string(),
        scenario_name: sweep.base.name.clone(),
        seed: spec.seed,
        trials: spec.trials,
        changes: spec.changes.iter().map(Change::of).collect(),
        ..PartHeader::new(PartKind::Sweep, shard, points, share)
    };
    let payload = serde_json::to_vec(&SweepShare { header, rows }).unwrap_or_default();
    Ok(Part::seal(part_header, payload))
}

/// What a batch's part carries: its rows of the batch files, and how its
/// failures divide into unreadable directories, scenarios that did not
/// load, and runs that failed (the batch lists them in that order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct BatchShare {
    pub tables: BatchTables,
    pub dirs: usize,
    pub loads: usize,
    /// Per failure: was it bad input (exit 2) rather than the machine?
    pub input: Vec<bool>,
}

/// Shard `shard` of the batch `spec`: its scenario files (every input is
/// loaded and checked first, as by the whole batch).
pub fn batch_part(spec: &BatchSpec, shard: Shard, progress: &dyn Progress) -> Result<Part, Error> {
    let loaded = experiment::load_batch(spec)?;
    let mut key = vec![
        "batch".to_string(),
        format!("{:?}", spec.trials),
        format!("{:?}", spec.seed),
    ];
    key.extend(spec.changes.iter().map(|o| o.to_string()));
    for (name, scn) in loaded.scenarios() {
        key.push(format!("{name} {}", scn.fingerprint()));
    }
    for f in loaded.failures() {
        key.push(format!("failed {} {}", f.file.display(), f.message));
    }
    let files = loaded.files() as u64;
    let share = PartKind::Batch.share(shard, files);
    let (mine, dirs, loads) = loaded.share(share.start as usize..share.end as usize);
    let batch = experiment::run_batch(mine, progress)?;
    let payload = BatchShare {
        tables: BatchTables::of(&batch),
        dirs,
        loads,
        input: batch.failures.iter().map(|f| f.input).collect(),
    };
    let inputs: Vec<String> = spec
        .inputs
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let header = PartHeader {
        fingerprint: digest_of(&key),
        scenario_file: inputs.join(", "),
        scenario_name: format!("batch of {files} scenario files"),
        seed: spec.seed,
        trials: spec.trials,
        changes: spec.changes.iter().map(Change::of).collect(),
        ..PartHeader::new(PartKind::Batch, shard, files, share)
    };
    Ok(Part::seal(
        header,
        serde_json::to_vec(&payload).unwrap_or_default(),
    ))
}
