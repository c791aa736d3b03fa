//! Files on disk: result directories that are all-or-nothing, single files
//! written atomically, and the cleanup an interrupting signal needs.
//!
//! A result directory (`run --out DIR`, `batch --out DIR`) is checked,
//! locked and staged *before* the simulation ([`OutputDir::prepare`]): the
//! whole result set, `trials.csv` included, is written into a staging
//! directory beside `DIR` (`.DIR.pipesim-staging-XXXXXX`), synced, and
//! swapped in as a whole by [`OutputDir::commit`] — on Linux with one
//! `renameat2(RENAME_EXCHANGE)`, so `DIR` always holds either the old or
//! the new complete set, whatever moment a crash strikes. A manifest
//! ([`MANIFEST`]) inside the result records the command and the files
//! pipesim wrote, so a later run knows which files are pipesim's:
//!
//! - `DIR` missing or empty: the staging directory is renamed into place;
//! - `DIR` holding a result of the same command whose every file this run
//!   rewrites: replaced as a whole;
//! - anything else (files pipesim did not write, another command's result,
//!   pipesim files this run would not rewrite) is refused
//!   ([`OutputError::Clash`]) unless `force`; with `force` pipesim's earlier
//!   files are replaced or removed and files it did not write are left
//!   untouched (one that this run would overwrite is refused even then).
//!
//! A lock file beside `DIR` (`.DIR.pipesim-lock`, held with
//! [`File::try_lock`] and removed when done) keeps a second writer out; it
//! is held from before the simulation to the end of the swap. Staging
//! directories left by a killed run are removed by the next run into the
//! same `DIR` — only the file names pipesim writes, never anything else.
//!
//! Signals: everything a run has staged is recorded in a process-wide
//! registry; [`interrupt`] (called by the binary's signal handler) removes
//! it and blocks any commit from starting, while a commit in progress holds
//! the registry so that a signal waits for the swap to finish.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::engine::{Block, TrialSink};
use crate::metrics::Metric;
use crate::scenario::Scenario;

use super::OutputError;
use super::csv::{num, trials_header};

/// The manifest pipesim writes into every result directory.
pub const MANIFEST: &str = ".pipesim-manifest.json";

/// Every file name pipesim writes into a result directory, any command.
/// `run --out` writes them all in this order (`trials.csv` with
/// `--per-trial`).
pub const RESULT_NAMES: [&str; 8] = [
    "summary.csv",
    "comparison.csv",
    "monthly.csv",
    "funnel.csv",
    "segments.csv",
    "quarterly.csv",
    "run.csv",
    "trials.csv",
];

/// The manifest naming old and new files, staged for an in-place write.
const UNION: &str = ".pipesim-manifest.next";

/// Infix of staging directories (`.DIR.pipesim-staging-XXXXXX`).
const STAGING: &str = "pipesim-staging-";
/// Infix of an earlier result moved aside where an exchange is not
/// supported (`.DIR.pipesim-old-XXXXXX`).
const ASIDE: &str = "pipesim-old-";

// ------------------------------------------------------------ the registry

/// What a signal must remove: staging directories, temporary files and
/// lock files of the writes in progress.
static REGISTRY: Mutex<Vec<(u64, PathBuf)>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fn registry() -> MutexGuard<'static, Vec<(u64, PathBuf)>> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

fn register(paths: impl IntoIterator<Item = PathBuf>) -> u64 {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    registry().extend(paths.into_iter().map(|p| (id, p)));
    id
}

/// Remove everything the writes in progress have staged (staging
/// directories, temporary files, lock files) and keep any commit from
/// starting afterwards: for a signal handler that exits the process next.
/// A commit in progress finishes first.
pub fn interrupt() {
    let guard = registry();
    for (_, path) in guard.iter() {
        if path.is_dir() {
            let _ = fs::remove_dir_all(path);
        } else {
            let _ = fs::remove_file(path);
        }
    }
    // never released: the process is about to exit
    std::mem::forget(guard);
}

/// Wait for an [`interrupt`] in progress (it never returns then, the
/// process exits); returns at once otherwise. The binary calls it before
/// reporting an error, which an interrupt's cleanup may have caused.
pub fn wait_for_interrupt() {
    drop(registry());
}

// ---------------------------------------------------------------- the lock

/// An exclusive lock on `.DIR.pipesim-lock`, removed when dropped.
struct Lock {
    path: PathBuf,
    _file: File,
}

impl Lock {
    /// Take the lock or fail at once ([`OutputError::Busy`]). After locking,
    /// the file must still be the one at `path`: a holder removes it before
    /// unlocking, and a lock on a removed file would lock nothing.
    fn acquire(path: PathBuf, dir: &Path) -> Result<Lock, OutputError> {
        let io = |path: &Path, source| OutputError::Lock {
            path: path.to_path_buf(),
            source,
        };
        for _ in 0..100 {
            let file = fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(|e| io(&path, e))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(fs::TryLockError::WouldBlock) => break,
                Err(fs::TryLockError::Error(e)) => return Err(io(&path, e)),
            }
            let meta = file.metadata().map_err(|e| io(&path, e))?;
            if same_file(&meta, &path) {
                return Ok(Lock { path, _file: file });
            }
        }
        Err(OutputError::Busy {
            dir: dir.to_path_buf(),
            lock: path,
        })
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // removed while still locked (the file closes after this)
        let _ = fs::remove_file(&self.path);
    }
}

/// Is `path` the file `meta` describes?
fn same_file(meta: &fs::Metadata, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        fs::metadata(path).is_ok_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = (meta, path);
        true
    }
}

/// Are `a` and `b` the same existing file (hard links and symbolic links
/// included)?
pub fn same_path(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(x), Ok(y)) if x == y => true,
        _ => fs::metadata(a).is_ok_and(|m| m.is_file() && same_file(&m, b)),
    }
}

/// `path` as parent directory and file name, the parent absolute and
/// created if missing. `path` may be `.` or end in `..`.
fn split(path: &Path) -> Result<(PathBuf, String), OutputError> {
    let invalid = |message: &str| OutputError::Write {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, message.to_string()),
    };
    let full = match fs::canonicalize(path) {
        Ok(p) => p,
        Err(_) => std::path::absolute(path).map_err(|_| invalid("not a usable path"))?,
    };
    let name = full
        .file_name()
        .ok_or_else(|| invalid("no file name"))?
        .to_str()
        .ok_or_else(|| invalid("the name is not UTF-8"))?
        .to_string();
    let parent = full
        .parent()
        .ok_or_else(|| invalid("no parent directory"))?;
    fs::create_dir_all(parent).map_err(|source| OutputError::CreateDir {
        path: parent.to_path_buf(),
        source,
    })?;
    let parent = fs::canonicalize(parent).map_err(|source| OutputError::CreateDir {
        path: parent.to_path_buf(),
        source,
    })?;
    Ok((parent, name))
}

/// Refuse `out` when it is one of `inputs`.
fn check_not_input(out: &Path, inputs: &[&Path]) -> Result<(), OutputError> {
    match inputs.iter().find(|i| same_path(out, i)) {
        Some(input) => Err(OutputError::IsInput {
            out: out.to_path_buf(),
            input: input.to_path_buf(),
        }),
        None => Ok(()),
    }
}

// ---------------------------------------------------- what DIR holds now

/// The manifest's contents.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Manifest {
    pipesim: String,
    command: String,
    files: Vec<String>,
}

/// What a result directory holds.
#[derive(Debug, Default)]
struct Contents {
    exists: bool,
    /// The command of the earlier pipesim result there, if any.
    command: Option<String>,
    /// The files of that result present now (not the manifest).
    results: Vec<String>,
    /// pipesim's own leftovers: the manifest, temporary files of an
    /// interrupted older version (`.trials.csv.XXXXXX.tmp`).
    leftovers: Vec<String>,
    /// Everything else: files (and directories) pipesim did not write.
    foreign: Vec<String>,
}

/// A temporary file an older pipesim left in a result directory.
fn is_old_tmp(name: &str) -> bool {
    RESULT_NAMES.iter().any(|r| {
        name.strip_prefix('.')
            .and_then(|n| n.strip_prefix(r))
            .and_then(|n| n.strip_prefix('.'))
            .and_then(|n| n.strip_suffix(".tmp"))
            .is_some_and(|rand| rand.len() == 6 && rand.chars().all(|c| c.is_ascii_alphanumeric()))
    })
}

/// The command whose result `dir` holds, with its files, from the manifest;
/// or, for a result written before manifests existed, from its `run.csv`.
fn earlier_result(dir: &Path) -> Option<(String, Vec<String>)> {
    let regular = |name: &str| fs::symlink_metadata(dir.join(name)).is_ok_and(|m| m.is_file());
    if regular(MANIFEST) {
        let m: Manifest = serde_json::from_slice(&fs::read(dir.join(MANIFEST)).ok()?).ok()?;
        // only names pipesim writes: a manifest never makes pipesim remove
        // any other file
        let files = m
            .files
            .into_iter()
            .filter(|f| RESULT_NAMES.contains(&f.as_str()))
            .collect();
        return Some((m.command, files));
    }
    if !regular("run.csv") {
        return None;
    }
    let mut head = [0u8; 512];
    let n = std::io::Read::read(&mut File::open(dir.join("run.csv")).ok()?, &mut head).ok()?;
    let head = String::from_utf8_lossy(&head[..n]);
    let rest = head.strip_prefix("key,value\npipesim_version,")?;
    let command = if rest.contains("\nscenario_file,") {
        "run"
    } else {
        "batch"
    };
    let files = RESULT_NAMES.iter().map(|s| s.to_string()).collect();
    Some((command.to_string(), files))
}

fn inspect(dir: &Path) -> Result<Contents, OutputError> {
    let read = |source| OutputError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Contents::default()),
        Err(e) => return Err(read(e)),
    };
    let earlier = earlier_result(dir);
    let mut c = Contents {
        exists: true,
        command: earlier.as_ref().map(|(c, _)| c.clone()),
        ..Contents::default()
    };
    for entry in rd {
        let entry = entry.map_err(read)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        let utf8 = entry.file_name().to_str().is_some();
        if !is_file || !utf8 {
            c.foreign
                .push(if is_file { name } else { format!("{name}/") });
        } else if earlier.as_ref().is_some_and(|(_, f)| f.contains(&name)) {
            c.results.push(name);
        } else if (name == MANIFEST && earlier.is_some()) || is_old_tmp(&name) {
            c.leftovers.push(name);
        } else {
            c.foreign.push(name);
        }
    }
    c.results.sort();
    c.foreign.sort();
    Ok(c)
}

/// How a commit puts the new result in place.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Plan {
    /// Rename (or exchange) the staging directory into place.
    Swap,
    /// `force` with files pipesim did not write: move the new files in one
    /// by one and remove pipesim's earlier ones.
    InPlace,
}

/// The rules of the module docs.
fn decide(
    dir: &Path,
    c: &Contents,
    command: &str,
    files: &[&str],
    force: bool,
) -> Result<Plan, OutputError> {
    if !c.foreign.is_empty() {
        let in_the_way: Vec<String> = c
            .foreign
            .iter()
            .filter(|f| files.contains(&f.trim_end_matches('/')) || f.as_str() == MANIFEST)
            .cloned()
            .collect();
        if !force {
            return Err(OutputError::Clash {
                dir: dir.to_path_buf(),
                reason: format!("it holds files pipesim did not write: {}", list(&c.foreign)),
                force: "--force replaces the earlier pipesim results there and leaves those files untouched",
            });
        }
        if !in_the_way.is_empty() {
            return Err(OutputError::Clash {
                dir: dir.to_path_buf(),
                reason: format!(
                    "this run would overwrite files pipesim did not write: {}",
                    list(&in_the_way)
                ),
                force: "move them away or choose another --out (--force never replaces a file pipesim did not write)",
            });
        }
        return Ok(Plan::InPlace);
    }
    let same_command = c.command.as_deref() == Some(command);
    let not_rewritten: Vec<String> = c
        .results
        .iter()
        .filter(|f| !files.contains(&f.as_str()))
        .cloned()
        .collect();
    if force || c.results.is_empty() || (same_command && not_rewritten.is_empty()) {
        return Ok(Plan::Swap);
    }
    let earlier = c.command.as_deref().unwrap_or("?");
    Err(OutputError::Clash {
        dir: dir.to_path_buf(),
        reason: if same_command {
            format!(
                "it holds an earlier `pipesim {earlier}` result with files this run would not rewrite: {}",
                list(&not_rewritten)
            )
        } else {
            format!(
                "it holds the result of a `pipesim {earlier}` ({}), not of a `pipesim {command}`",
                list(&c.results)
            )
        },
        force: "--force replaces the earlier pipesim results",
    })
}

/// At most ten names, then how many more.
fn list(names: &[String]) -> String {
    let mut s = names
        .iter()
        .take(10)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > 10 {
        s.push_str(&format!(" and {} more", names.len() - 10));
    }
    s
}

/// Remove pipesim's files from `dir` (result names, the manifest, old
/// temporary files), then `dir` itself if that left it empty.
fn remove_ours(dir: &Path) {
    if let Ok(rd) = fs::read_dir(dir) {
        for entry in rd.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let ours = RESULT_NAMES.contains(&name)
                || [MANIFEST, UNION].contains(&name)
                || is_old_tmp(name);
            if ours && entry.file_type().is_ok_and(|t| t.is_file()) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    let _ = fs::remove_dir(dir);
}

// --------------------------------------------------- the result directory

/// A result directory being written: checked, locked and staged before
/// the simulation ([`OutputDir::prepare`]), put in place as a whole by
/// [`OutputDir::commit`]. Dropping it removes the staging directory and
/// the lock, leaving `DIR` as it was.
pub struct OutputDir {
    /// `DIR` as the user gave it (for messages).
    shown: PathBuf,
    /// `DIR`, absolute.
    target: PathBuf,
    parent: PathBuf,
    name: String,
    command: &'static str,
    files: Vec<&'static str>,
    force: bool,
    staging: Option<tempfile::TempDir>,
    id: u64,
    _lock: Lock,
}

impl OutputDir {
    /// Check `dir` for a result of `command` made of `files` (the rules of
    /// the module docs), lock it against other writers, remove what killed
    /// runs left beside it, and create the staging directory. `inputs` are
    /// the files (and directories) the command reads: `dir` may not be one.
    pub fn prepare(
        dir: &Path,
        command: &'static str,
        files: &[&'static str],
        force: bool,
        inputs: &[&Path],
    ) -> Result<OutputDir, OutputError> {
        check_not_input(dir, inputs)?;
        if fs::metadata(dir).is_ok_and(|m| !m.is_dir()) {
            return Err(OutputError::NotADirectory {
                path: dir.to_path_buf(),
            });
        }
        let (parent, name) = split(dir)?;
        let target = parent.join(&name);
        let lock = Lock::acquire(parent.join(format!(".{name}.pipesim-lock")), dir)?;
        recover(&parent, &name, &target);
        decide(dir, &inspect(&target)?, command, files, force)?;
        let staging = tempfile::Builder::new()
            .prefix(&format!(".{name}.{STAGING}"))
            .tempdir_in(&parent)
            .map_err(|source| OutputError::CreateDir {
                path: parent.clone(),
                source,
            })?;
        #[cfg(unix)]
        {
            // an ordinary directory's permissions (0777 less the umask),
            // not a temporary directory's 0700
            use std::os::unix::fs::PermissionsExt;
            let probe = staging.path().join(".mode");
            let mode = fs::DirBuilder::new()
                .create(&probe)
                .and_then(|()| fs::metadata(&probe))
                .map(|m| m.permissions().mode());
            let _ = fs::remove_dir(&probe);
            if let Ok(mode) = mode {
                let _ = fs::set_permissions(staging.path(), fs::Permissions::from_mode(mode));
            }
        }
        let id = register([staging.path().to_path_buf(), lock.path.clone()]);
        Ok(OutputDir {
            shown: dir.to_path_buf(),
            target,
            parent,
            name,
            command,
            files: files.to_vec(),
            force,
            staging: Some(staging),
            id,
            _lock: lock,
        })
    }

    /// Where the result is staged (files are written here before the swap).
    pub fn staging(&self) -> &Path {
        self.staging.as_ref().map_or(&self.parent, |s| s.path())
    }

    /// `DIR` as given.
    pub fn path(&self) -> &Path {
        &self.shown
    }

    /// The names this result is made of.
    pub fn files(&self) -> &[&'static str] {
        &self.files
    }

    /// Write `files` (name, contents) into the staging directory, with
    /// `trials.csv` from `trials`, sync them, and put the whole result in
    /// place (the rules of the module docs are checked again: `DIR` may have
    /// changed during the simulation).
    pub fn commit(
        mut self,
        files: &[(&str, Vec<u8>)],
        trials: Option<TrialsWriter>,
    ) -> Result<(), OutputError> {
        let staging = self.staging().to_path_buf();
        let mut written: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
        if trials.is_some() {
            written.push("trials.csv");
        }
        if written != self.files {
            return Err(self.write_error(
                "",
                std::io::Error::other(format!(
                    "the files written ({}) are not those prepared ({})",
                    written.join(", "),
                    self.files.join(", ")
                )),
            ));
        }
        for (name, bytes) in files {
            write_synced(&staging.join(name), &self.shown.join(name), bytes)?;
        }
        if let Some(w) = trials {
            w.finish()?;
        }
        let manifest = Manifest {
            pipesim: env!("CARGO_PKG_VERSION").to_string(),
            command: self.command.to_string(),
            files: self.files.iter().map(|f| f.to_string()).collect(),
        };
        let bytes = serde_json::to_vec_pretty(&manifest).map_err(std::io::Error::other);
        let bytes = bytes.map_err(|source| self.write_error(MANIFEST, source))?;
        write_synced(&staging.join(MANIFEST), &self.shown.join(MANIFEST), &bytes)?;
        sync_dir(&staging);

        let mut guard = registry();
        let contents = inspect(&self.target)?;
        let plan = decide(
            &self.shown,
            &contents,
            self.command,
            &self.files,
            self.force,
        )?;
        match plan {
            Plan::Swap => self.swap(contents.exists)?,
            Plan::InPlace => self.in_place(&contents)?,
        }
        sync_dir(&self.parent);
        // done: a signal from now on only removes the lock file
        let lock = &self._lock.path;
        guard.retain(|(id, p)| *id != self.id || p == lock);
        drop(guard);
        Ok(())
    }

    fn write_error(&self, name: &str, source: std::io::Error) -> OutputError {
        OutputError::Write {
            path: self.shown.join(name),
            source,
        }
    }

    /// Put the staging directory in place of `DIR` and remove the earlier
    /// result (which held only pipesim's files).
    fn swap(&mut self, exists: bool) -> Result<(), OutputError> {
        let Some(staging) = self.staging.take() else {
            return Ok(());
        };
        let staged = staging.keep();
        let failed = |source| OutputError::Replace {
            path: self.shown.clone(),
            source,
        };
        if !exists {
            return fs::rename(&staged, &self.target).map_err(|e| {
                let _ = fs::remove_dir_all(&staged);
                failed(e)
            });
        }
        if let Ok(m) = fs::metadata(&self.target) {
            let _ = fs::set_permissions(&staged, m.permissions());
        }
        match exchange(&staged, &self.target) {
            Ok(()) => {
                // the staging name now holds the earlier result
                remove_ours(&staged);
                Ok(())
            }
            Err(_) => {
                // no atomic exchange here: move the earlier result aside
                // first; a crash between the renames leaves it there, and
                // the next run puts it back ([`recover`])
                let aside = self.parent.join(format!(
                    ".{}.{ASIDE}{}",
                    self.name,
                    staged
                        .file_name()
                        .and_then(|n| n.to_str())
                        .and_then(|n| n.rsplit('-').next())
                        .unwrap_or("0")
                ));
                fs::rename(&self.target, &aside).map_err(|e| {
                    let _ = fs::remove_dir_all(&staged);
                    failed(e)
                })?;
                if let Err(e) = fs::rename(&staged, &self.target) {
                    let _ = fs::rename(&aside, &self.target);
                    let _ = fs::remove_dir_all(&staged);
                    return Err(failed(e));
                }
                remove_ours(&aside);
                Ok(())
            }
        }
    }

    /// `force` into a directory with files pipesim did not write: a
    /// manifest naming the earlier and the new files first (so that a
    /// crash leaves every pipesim file known), then the new files, then
    /// pipesim's earlier files removed and the final manifest.
    fn in_place(&mut self, c: &Contents) -> Result<(), OutputError> {
        let staging = self.staging().to_path_buf();
        let mut all: Vec<String> = self.files.iter().map(|f| f.to_string()).collect();
        all.extend(
            c.results
                .iter()
                .filter(|f| !all.contains(f))
                .cloned()
                .collect::<Vec<_>>(),
        );
        let union = Manifest {
            pipesim: env!("CARGO_PKG_VERSION").to_string(),
            command: self.command.to_string(),
            files: all,
        };
        let bytes = serde_json::to_vec_pretty(&union).map_err(std::io::Error::other);
        let bytes = bytes.map_err(|source| self.write_error(MANIFEST, source))?;
        write_synced(&staging.join(UNION), &self.shown.join(MANIFEST), &bytes)?;
        fs::rename(staging.join(UNION), self.target.join(MANIFEST))
            .map_err(|source| self.write_error(MANIFEST, source))?;
        for name in &self.files {
            fs::rename(staging.join(name), self.target.join(name))
                .map_err(|source| self.write_error(name, source))?;
        }
        for name in c.results.iter().chain(&c.leftovers) {
            if !self.files.contains(&name.as_str()) && name != MANIFEST {
                fs::remove_file(self.target.join(name))
                    .or_else(|e| match e.kind() {
                        std::io::ErrorKind::NotFound => Ok(()),
                        _ => Err(e),
                    })
                    .map_err(|source| self.write_error(name, source))?;
            }
        }
        fs::rename(staging.join(MANIFEST), self.target.join(MANIFEST))
            .map_err(|source| self.write_error(MANIFEST, source))?;
        sync_dir(&self.target);
        Ok(())
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        // blocks for good if an interrupt is removing everything
        let mut reg = registry();
        reg.retain(|(id, _)| *id != self.id);
        self.staging.take();
    }
}

/// Exchange two directories atomically.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(std::io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

/// With the lock held: put back an earlier result a crash left aside
/// (`DIR` missing), then remove staging and aside directories of killed
/// runs — only the file names pipesim writes.
fn recover(parent: &Path, name: &str, target: &Path) {
    let Ok(rd) = fs::read_dir(parent) else { return };
    let stale: Vec<(String, PathBuf)> = rd
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.to_string(), e.path())))
        .filter(|(n, p)| {
            p.is_dir()
                && n.strip_prefix(&format!(".{name}."))
                    .is_some_and(|rest| rest.starts_with(STAGING) || rest.starts_with(ASIDE))
        })
        .collect();
    for (n, path) in stale {
        let aside = n.contains(ASIDE);
        if aside && fs::symlink_metadata(target).is_err() && fs::rename(&path, target).is_ok() {
            continue;
        }
        remove_ours(&path);
    }
}

/// Create `path` with `bytes` and sync it; errors name `shown`.
fn write_synced(path: &Path, shown: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let write = || -> std::io::Result<()> {
        let mut f = File::create(path)?;
        f.write_all(bytes)?;
        f.sync_all()
    };
    write().map_err(|source| OutputError::Write {
        path: shown.to_path_buf(),
        source,
    })
}

/// Make the directory's entries durable (best effort: not every system can
/// sync a directory).
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

// -------------------------------------------------------------- trials.csv

/// Streams `trials.csv` rows into the staging directory as windows of
/// trials finish.
pub struct TrialsWriter {
    out: csv::Writer<std::io::BufWriter<File>>,
    path: PathBuf,
    names: Vec<String>,
}

impl TrialsWriter {
    /// `trials.csv` of `out`'s staging directory, for `scn`'s strategies.
    pub fn new(out: &OutputDir, scn: &Scenario) -> Result<TrialsWriter, OutputError> {
        // errors name DIR/trials.csv, where the file will be
        let path = out.path().join("trials.csv");
        let file = File::create(out.staging().join("trials.csv")).map_err(|source| {
            OutputError::Write {
                path: path.clone(),
                source,
            }
        })?;
        let mut w = TrialsWriter {
            out: csv::Writer::from_writer(std::io::BufWriter::with_capacity(1 << 20, file)),
            path,
            names: scn.strategies.iter().map(|s| s.name.clone()).collect(),
        };
        w.out
            .write_record(trials_header())
            .map_err(|e| w.csv_error(e))?;
        Ok(w)
    }

    /// An I/O error as a write error of the file, anything else as CSV.
    fn csv_error(&self, e: csv::Error) -> OutputError {
        if !e.is_io_error() {
            return OutputError::Csv(e);
        }
        let source = match e.into_kind() {
            csv::ErrorKind::Io(source) => source,
            other => std::io::Error::other(format!("{other:?}")),
        };
        OutputError::Write {
            path: self.path.clone(),
            source,
        }
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
                if let Err(e) = self.out.write_record(&row) {
                    return Err(self.csv_error(e));
                }
            }
        }
        Ok(())
    }

    /// Flush and sync everything.
    fn finish(self) -> Result<(), OutputError> {
        let path = self.path;
        let error = |source| OutputError::Write {
            path: path.clone(),
            source,
        };
        let buf = self.out.into_inner().map_err(|e| error(e.into_error()))?;
        let file = buf.into_inner().map_err(|e| error(e.into_error()))?;
        file.sync_all().map_err(error)
    }
}

impl TrialSink for TrialsWriter {
    fn write_block(&mut self, block: &Block) -> std::io::Result<()> {
        self.write_rows(block).map_err(std::io::Error::other)
    }
}

// ------------------------------------------------------------ single files

/// One file (`sweep --out FILE`, `whatif --out FILE`) being written:
/// checked and staged as a temporary file beside it before the simulation,
/// renamed into place by [`OutputFile::commit`]; dropping it removes the
/// temporary file.
pub struct OutputFile {
    tmp: Option<tempfile::NamedTempFile>,
    target: PathBuf,
    id: u64,
}

impl OutputFile {
    /// Check `path` (not a directory, not one of `inputs`, its directory
    /// writable) and stage a temporary file beside it.
    pub fn prepare(path: &Path, inputs: &[&Path]) -> Result<OutputFile, OutputError> {
        check_not_input(path, inputs)?;
        if fs::metadata(path).is_ok_and(|m| m.is_dir()) {
            return Err(OutputError::IsADirectory {
                path: path.to_path_buf(),
            });
        }
        let (parent, name) = split(path)?;
        let mut builder = tempfile::Builder::new();
        let prefix = format!(".{name}.");
        builder.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(fs::Permissions::from_mode(0o666));
        }
        let tmp = builder
            .tempfile_in(&parent)
            .map_err(|source| OutputError::Write {
                path: path.to_path_buf(),
                source,
            })?;
        let id = register([tmp.path().to_path_buf()]);
        Ok(OutputFile {
            tmp: Some(tmp),
            target: path.to_path_buf(),
            id,
        })
    }

    /// Write `bytes`, sync, and rename into place.
    pub fn commit(mut self, bytes: &[u8]) -> Result<(), OutputError> {
        let target = self.target.clone();
        let error = |source| OutputError::Write {
            path: target.clone(),
            source,
        };
        let Some(tmp) = self.tmp.take() else {
            return Ok(());
        };
        let mut f = tmp.as_file();
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(error)?;
        let _guard = registry();
        if fs::metadata(&target).is_ok_and(|m| m.is_dir()) {
            return Err(OutputError::IsADirectory { path: target });
        }
        tmp.persist(&target).map(drop).map_err(|e| error(e.error))
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        let mut reg = registry();
        reg.retain(|(id, _)| *id != self.id);
        self.tmp.take();
    }
}

/// Write one file atomically (temporary file beside it, then rename).
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    OutputFile::prepare(path, &[])?.commit(bytes)
}
