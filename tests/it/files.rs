//! Output files are never lost or mixed (issue 10, items 5–8 and the file
//! messages of 16): a result directory is all-or-nothing and swapped in
//! whole, a directory holding anything else is refused unless `--force`
//! (which never removes a file pipesim did not write), a concurrent writer
//! is locked out, SIGINT/SIGTERM/SIGKILL leave `--out` as it was, no input
//! is ever overwritten, a batch of bad input writes nothing, every check on
//! `--out` happens before the simulation, and an OS error is printed once.
//!
//! The signal tests start a run far too long to finish, wait until its
//! staging directory exists, and signal it; they never time anything.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{FIXTURE, pipesim, pipesim_ok, read_csv, tmp, write};

/// Trials of the runs the signal tests interrupt: far more than finish
/// before the signal (the test waits only for the staging directory).
const LONG: &str = "5000000";

/// Every entry below `dir` (recursively): relative path, size, mtime and,
/// for files, the bytes — what "exactly as it was" compares.
fn snapshot(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            let bytes = if meta.is_file() {
                std::fs::read(&path).expect("read")
            } else {
                todo.push(path.clone());
                Vec::new()
            };
            let rel = path.strip_prefix(dir).expect("below").to_path_buf();
            out.push((rel, meta.len(), meta.modified().expect("mtime"), bytes));
        }
    }
    out.sort();
    out
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// `run FIXTURE --trials N -q --out out [extra]`.
fn run_args<'a>(trials: &'a str, out: &'a Path, extra: &[&'a str]) -> Vec<&'a OsStr> {
    let mut args: Vec<&OsStr> = ["run", FIXTURE, "--trials", trials, "-q", "--out"]
        .into_iter()
        .map(OsStr::new)
        .collect();
    args.push(out.as_os_str());
    args.extend(extra.iter().map(|e| OsStr::new(*e)));
    args
}

/// A temporary directory with `out` holding a `run --per-trial` result.
fn earlier_per_trial_run() -> (tempfile::TempDir, PathBuf) {
    let dir = tmp();
    let out = dir.path().join("out");
    pipesim_ok(run_args("300", &out, &["--per-trial"]));
    (dir, out)
}

/// A temporary directory with a copy of the fixture named `name`: the
/// directory, the copy and its text.
fn fixture_copy(name: &str) -> (tempfile::TempDir, PathBuf, String) {
    let dir = tmp();
    let text = std::fs::read_to_string(FIXTURE).expect("fixture");
    let scn = write(dir.path(), name, &text);
    (dir, scn, text)
}

/// Start a long `run --per-trial --out out` and wait until it has staged
/// its trials.csv beside `out`.
fn start_long_run(out: &Path) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pipesim"))
        .args(run_args(LONG, out, &["--per-trial"]))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start pipesim");
    let parent = out.parent().expect("parent");
    let prefix = format!(
        ".{}.pipesim-staging-",
        out.file_name().expect("name").to_string_lossy()
    );
    // a guard against a hang, not a timing: the staging directory appears
    // as soon as the scenario is loaded
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let staged = names(parent)
            .iter()
            .any(|n| n.starts_with(&prefix) && parent.join(n).join("trials.csv").exists());
        if staged {
            return child;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the long run ended ({status}) before staging trials.csv");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("no staging directory beside {} after 60 s", out.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Send `signal` (e.g. "INT") with the `kill` command and wait for the exit.
fn signal(mut child: Child, signal: &str) -> std::process::Output {
    let status = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .expect("cannot run kill");
    assert!(status.success(), "kill -{signal} failed");
    let _ = child.try_wait();
    child.wait_with_output().expect("wait")
}

/// Guards against SIGINT during `run --per-trial` leaving a temporary
/// trials.csv (in or beside DIR), changing any earlier result, or exiting
/// other than 130: DIR must be exactly as before, byte for byte.
#[test]
fn sigint_during_per_trial_leaves_the_directory_as_it_was() {
    let (dir, out) = earlier_per_trial_run();
    let before = snapshot(dir.path());

    let output = signal(start_long_run(&out), "INT");
    assert_eq!(
        output.status.code(),
        Some(130),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(snapshot(dir.path()) == before, "the directory changed");
    assert_eq!(names(dir.path()), ["out"], "staging or lock files left");
}

/// Guards against two writers mixing their files in one DIR (the second
/// must fail at once, exit 1, naming the other writer) and against SIGTERM
/// leaving a new DIR or anything beside it, or exiting other than 143.
#[test]
fn sigterm_exits_143_and_a_second_writer_is_refused_at_once() {
    let dir = tmp();
    let out = dir.path().join("out");
    let child = start_long_run(&out);

    let (code, stdout, stderr) = pipesim(run_args("300", &out, &[]));
    assert_eq!(code, 1, "second writer: {stderr}");
    assert!(stderr.contains("another pipesim is writing"), "{stderr}");
    assert!(stdout.is_empty(), "the second writer simulated: {stdout}");

    let output = signal(child, "TERM");
    assert_eq!(output.status.code(), Some(143));
    assert!(!out.exists(), "SIGTERM left a new --out directory");
    assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
}

/// Guards against a killed run (SIGKILL: no cleanup possible) leaving a mix
/// in DIR, and its staging directory and lock never being cleaned: DIR
/// keeps the old complete set, and the next run into DIR removes what the
/// killed one left.
#[test]
fn sigkill_keeps_the_old_set_and_the_next_run_cleans_up() {
    let (dir, out) = earlier_per_trial_run();
    let before = snapshot(&out);

    let output = signal(start_long_run(&out), "KILL");
    assert_eq!(output.status.code(), None, "not killed");
    assert!(snapshot(&out) == before, "SIGKILL changed the old results");
    assert!(names(dir.path()).len() > 1, "nothing left to clean?");

    pipesim_ok(run_args("300", &out, &["--per-trial", "--seed", "9"]));
    assert_eq!(names(dir.path()), ["out"], "stale staging left");
    assert!(snapshot(&out) != before, "the next run did not write");
}

/// Guards against `run --out DIR` without `--per-trial` deleting an earlier
/// trials.csv (3.4 GB lost in the report): refused before simulating, exit
/// 2, naming the file and `--force`.
#[test]
fn run_without_per_trial_does_not_delete_trials_csv() {
    let (_dir, out) = earlier_per_trial_run();
    let before = snapshot(&out);
    let (code, stdout, stderr) = pipesim(run_args("300", &out, &[]));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("trials.csv") && stderr.contains("--force"),
        "{stderr}"
    );
    assert!(stdout.is_empty(), "it simulated before refusing: {stdout}");
    assert!(snapshot(&out) == before, "the earlier result changed");
}

/// Guards against `batch` into a run's folder leaving the run's monthly.csv
/// beside the batch's summary.csv, and against `--force` removing or
/// overwriting a file pipesim did not write.
#[test]
fn batch_into_a_run_folder_is_refused_and_force_keeps_foreign_files() {
    let dir = tmp();
    let out = dir.path().join("out");
    pipesim_ok(run_args("300", &out, &[]));
    let batch = |extra: &[&str]| {
        let mut args: Vec<&OsStr> = ["batch", FIXTURE, "--trials", "300", "-q", "--out"]
            .into_iter()
            .map(OsStr::new)
            .collect();
        args.push(out.as_os_str());
        args.extend(extra.iter().map(OsStr::new));
        pipesim(args)
    };
    let (code, _, stderr) = batch(&[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("monthly.csv") && stderr.contains("--force"),
        "{stderr}"
    );

    write(&out, "notes.txt", "mine\n");
    let (code, _, stderr) = batch(&["--force"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        names(&out),
        [
            ".pipesim-manifest.json",
            "comparison.csv",
            "notes.txt",
            "run.csv",
            "summary.csv"
        ]
    );
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).expect("notes"),
        "mine\n"
    );
    assert_eq!(read_csv(&out.join("summary.csv")).0[0], "scenario");

    // a file pipesim did not write in the way of one it writes: refused
    // even with --force, and left as it was
    let mine = dir.path().join("mine");
    std::fs::create_dir(&mine).expect("mkdir");
    write(&mine, "summary.csv", "my,own\n1,2\n");
    let before = snapshot(&mine);
    let mut args: Vec<&OsStr> = [
        "batch", FIXTURE, "--trials", "300", "-q", "--force", "--out",
    ]
    .into_iter()
    .map(OsStr::new)
    .collect();
    args.push(mine.as_os_str());
    let (code, _, stderr) = pipesim(args);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("summary.csv"), "{stderr}");
    assert!(snapshot(&mine) == before);
}

/// Guards against a clashing or unusable `--out` being found only after the
/// simulation (four minutes in the report): each is refused with no report
/// printed, i.e. before simulating.
#[test]
fn out_problems_are_found_before_the_simulation() {
    let dir = tmp();
    let foreign = dir.path().join("foreign");
    std::fs::create_dir(&foreign).expect("mkdir");
    write(&foreign, "data.xlsx", "x");
    let (code, stdout, stderr) = pipesim(run_args("2000", &foreign, &[]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("data.xlsx"), "{stderr}");
    assert!(stdout.is_empty(), "simulated first: {stdout}");

    let file = write(dir.path(), "file", "x");
    let below = file.join("sub");
    let (code, stdout, stderr) = pipesim(run_args("2000", &below, &[]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty(), "simulated first: {stdout}");

    let (code, stdout, stderr) = pipesim([
        OsStr::new("whatif"),
        OsStr::new(FIXTURE),
        OsStr::new("--set"),
        OsStr::new("sales.reps=3"),
        OsStr::new("--trials"),
        OsStr::new("2000"),
        OsStr::new("-q"),
        OsStr::new("--out"),
        foreign.as_os_str(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty(), "simulated first: {stdout}");
}

/// Guards against `whatif SCN --out SCN` (and sweep, run, batch) writing
/// over an input, also through a hard link.
#[test]
fn no_command_overwrites_its_input() {
    let (dir, scn, text) = fixture_copy("scn.toml");
    let link = dir.path().join("link.toml");
    std::fs::hard_link(&scn, &link).expect("hard link");
    let s = |p: &Path| p.as_os_str().to_os_string();
    let whatif = |out: &Path| -> Vec<std::ffi::OsString> {
        let args = [
            "whatif".into(),
            s(&scn),
            "--set".into(),
            "sales.reps=3".into(),
        ];
        args.into_iter().chain(["--out".into(), s(out)]).collect()
    };
    let cases: Vec<Vec<std::ffi::OsString>> = vec![
        whatif(&scn),
        whatif(&link),
        vec![
            "sweep".into(),
            s(&scn),
            "--vary".into(),
            "sales.reps=3,4".into(),
            "--out".into(),
            s(&scn),
        ],
        vec!["run".into(), s(&scn), "--out".into(), s(&scn)],
        vec![
            "batch".into(),
            s(dir.path()),
            "--out".into(),
            s(dir.path()),
            "--force".into(),
        ],
    ];
    for mut args in cases {
        args.extend(["--trials".into(), "300".into(), "-q".into()]);
        let (code, stdout, stderr) = pipesim(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?} simulated first");
        assert_eq!(
            std::fs::read_to_string(&scn).expect("scn"),
            text,
            "{args:?}"
        );
    }
    assert_eq!(names(dir.path()), ["link.toml", "scn.toml"]);
}

/// Guards against a batch of bad input writing (empty) CSVs: every scenario
/// bad, or an input that does not exist, exits 2 and writes nothing.
#[test]
fn a_batch_of_bad_input_writes_nothing() {
    let dir = tmp();
    let bad = write(dir.path(), "bad.toml", "name = \n");
    let missing = dir.path().join("no-such-dir");
    let out = dir.path().join("out");
    for input in [&bad, &missing] {
        let (code, stdout, stderr) = pipesim([
            OsStr::new("batch"),
            input.as_os_str(),
            OsStr::new("-q"),
            OsStr::new("--out"),
            out.as_os_str(),
        ]);
        assert_eq!(code, 2, "{stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        assert!(
            stderr.contains(&*input.file_name().expect("name").to_string_lossy()),
            "{stderr}"
        );
        assert!(
            !out.exists(),
            "batch of {} wrote {:?}",
            input.display(),
            names(&out)
        );
    }
    assert_eq!(names(dir.path()), ["bad.toml"]);
}

/// Guards against one scenario file given twice (also once through its
/// directory) giving duplicate scenario keys: one clear error, exit 2,
/// nothing written.
#[test]
fn a_batch_refuses_a_scenario_given_twice() {
    let (dir, scn, _) = fixture_copy("a.toml");
    let out = dir.path().join("out");
    for inputs in [[scn.as_path(), scn.as_path()], [dir.path(), scn.as_path()]] {
        let mut args: Vec<&OsStr> = vec![OsStr::new("batch")];
        args.extend(inputs.iter().map(|p| p.as_os_str()));
        args.extend(["--trials", "300", "-q", "--out"].map(OsStr::new));
        args.push(out.as_os_str());
        let (code, stdout, stderr) = pipesim(&args);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains("given twice"), "{stderr}");
        assert!(stdout.is_empty() && !out.exists());
    }
}

/// Guards against different files giving the same `scenario` key: same
/// stems in two directories, and a stem equal to another file's path.
#[test]
fn batch_scenario_keys_are_unique() {
    let dir = tmp();
    let text = std::fs::read_to_string(FIXTURE).expect("fixture");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    for f in ["x.toml", "sub/x.toml", "x.toml.toml"] {
        write(dir.path(), f, &text);
    }
    let status = Command::new(env!("CARGO_BIN_EXE_pipesim"))
        .args([
            "batch",
            "x.toml",
            "sub/x.toml",
            "x.toml.toml",
            "--trials",
            "300",
            "-q",
        ])
        .args(["--out", "out"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("cannot start pipesim");
    assert!(status.success());
    let (_, rows) = read_csv(&dir.path().join("out/summary.csv"));
    let mut keys: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    keys.dedup();
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert_eq!(unique.len(), 3, "duplicate scenario keys: {keys:?}");
}

/// Guards against the OS error being printed twice ("No space left on
/// device … No space left on device"): a write that fails (here: a file
/// size limit, EFBIG) names the file and gives the OS text once; nothing is
/// left behind.
#[test]
fn an_os_error_is_printed_once() {
    let dir = tmp();
    let out = dir.path().join("out");
    let output = Command::new("sh")
        .arg("-c")
        .arg(r#"trap "" XFSZ; ulimit -f 64; exec "$0" "$@""#)
        .arg(env!("CARGO_BIN_EXE_pipesim"))
        .args(run_args("20000", &out, &["--per-trial"]))
        .stdin(Stdio::null())
        .output()
        .expect("cannot start sh");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.matches("File too large").count(), 1, "{stderr}");
    assert!(stderr.contains("out/trials.csv"), "{stderr}");
    assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
}
