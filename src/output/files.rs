//! Files on disk, written so that nothing is ever half-written or mixed.
//!
//! Every file is first written to a temporary file in its target directory
//! and renamed into place only when all the files of a result are complete
//! and synced ([`commit`]), so a failed run never leaves a half-written CSV
//! or a mix of old and new files. `trials.csv` is streamed to its staged
//! file as windows of trials finish ([`TrialsWriter`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::engine::{Block, TrialSink};
use crate::metrics::Metric;
use crate::scenario::Scenario;

use super::OutputError;
use super::csv::{num, trials_header};

/// A file being written in the output directory under a temporary name;
/// [`commit`] renames it into place, dropping it deletes it.
pub struct StagedFile {
    tmp: tempfile::NamedTempFile,
    target: PathBuf,
}

impl StagedFile {
    /// Create `dir` if needed and a temporary file for `dir/name` in it.
    pub fn new(dir: &Path, name: &str) -> Result<StagedFile, OutputError> {
        std::fs::create_dir_all(dir).map_err(|source| OutputError::CreateDir {
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
            .map_err(|source| OutputError::Write {
                path: target.clone(),
                source,
            })?;
        Ok(StagedFile { tmp, target })
    }

    /// A staged file with these contents.
    pub fn with_bytes(dir: &Path, name: &str, bytes: &[u8]) -> Result<StagedFile, OutputError> {
        let mut f = StagedFile::new(dir, name)?;
        f.tmp.write_all(bytes).map_err(|e| f.error(e))?;
        Ok(f)
    }

    fn error(&self, source: std::io::Error) -> OutputError {
        OutputError::Write {
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
    pub fn new(dir: &Path, scn: &Scenario) -> Result<TrialsWriter, OutputError> {
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
    pub fn write_rows(&mut self, block: &Block) -> Result<(), OutputError> {
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
    pub fn finish(self) -> Result<StagedFile, OutputError> {
        let staged = self.staged;
        let mut buf = self
            .out
            .into_inner()
            .map_err(|e| OutputError::Csv(e.into_error().into()))?;
        buf.flush().map_err(|e| staged.error(e))?;
        Ok(staged)
    }
}

impl TrialSink for TrialsWriter {
    fn write_block(&mut self, block: &Block) -> std::io::Result<()> {
        self.write_rows(block).map_err(std::io::Error::other)
    }
}

/// Write `files` (name, contents) into `dir` atomically and remove the files
/// named in `stale`: see [`commit`].
pub fn write_atomic(
    dir: &Path,
    files: &[(&str, Vec<u8>)],
    stale: &[&str],
) -> Result<(), OutputError> {
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
pub fn commit(dir: &Path, staged: Vec<StagedFile>, stale: &[&str]) -> Result<(), OutputError> {
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
        return Err(OutputError::Write {
            path: path.clone(),
            source: std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                "a directory is in the way",
            ),
        });
    }
    for StagedFile { tmp, target } in staged {
        tmp.persist(&target).map_err(|e| OutputError::Write {
            path: target.clone(),
            source: e.error,
        })?;
    }
    for path in stale {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(OutputError::Write { path, source }),
        }
    }
    Ok(())
}

/// Write one file atomically (temporary file in the same directory, then
/// rename).
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| OutputError::Write {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"),
        })?;
    let staged = StagedFile::with_bytes(dir, &name, bytes)?;
    commit(dir, vec![staged], &[])
}
