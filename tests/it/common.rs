//! Helpers shared by the tests that run the command line (`cli`,
//! `commands`, `determinism`): the reference fixture, running the built
//! binary, temporary directories, reading CSV output.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The reference scenario (MODEL.md's format, by example).
pub const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/scenario-format.toml"
);

/// Run the binary with `args`; returns (exit code, stdout, stderr).
pub fn pipesim<I, S>(args: I) -> (i32, String, String)
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = Command::new(env!("CARGO_BIN_EXE_pipesim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .output()
        .expect("cannot start the pipesim binary");
    let code = out
        .status
        .code()
        .unwrap_or_else(|| panic!("pipesim was killed by a signal: {:?}", out.status));
    (
        code,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Run the binary and require exit code 0.
pub fn pipesim_ok<I, S>(args: I) -> (String, String)
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<_> = args
        .into_iter()
        .map(|a| a.as_ref().to_os_string())
        .collect();
    let (code, stdout, stderr) = pipesim(&args);
    assert_eq!(code, 0, "pipesim {args:?} failed\nstderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    (stdout, stderr)
}

/// A fresh temporary directory, removed when dropped.
pub fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("pipesim-cli-")
        .tempdir_in(std::env::temp_dir())
        .expect("cannot create a temporary directory")
}

/// Write `text` to `dir/name` and return the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("cannot write a test scenario");
    path
}

/// CSV text as its header and rows of strings; `what` names it in panics.
pub fn parse_csv_from<R: std::io::Read>(r: R, what: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_reader(r);
    let header = r
        .headers()
        .unwrap_or_else(|e| panic!("no CSV header in {what}: {e}"))
        .iter()
        .map(str::to_string)
        .collect();
    let rows = r
        .records()
        .map(|rec| {
            rec.unwrap_or_else(|e| panic!("bad record in {what}: {e}"))
                .iter()
                .map(str::to_string)
                .collect()
        })
        .collect();
    (header, rows)
}

/// CSV text (e.g. a command's stdout) as its header and rows of strings.
pub fn parse_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    parse_csv_from(text.as_bytes(), "stdout")
}

/// A CSV file as its header and rows of strings.
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let file =
        std::fs::File::open(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    parse_csv_from(file, &path.display().to_string())
}
