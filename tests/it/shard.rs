//! Sharded runs: `run/sweep/batch --shard I/N` then `merge` give exactly
//! the bytes of one process — with exact quantiles and in sketch mode, for
//! a v2 scenario with segments and quarters — whatever the thread count;
//! `--shard auto` reads the engines' variables; and merge refuses, with
//! exit 2 and nothing written, parts that do not make one whole job.

use std::path::{Path, PathBuf};

use pipesim::experiment::{self, RunSpec};
use pipesim::output;
use pipesim::shard::{self, Merged, Shard, Source};

use crate::common::{pipesim, pipesim_ok, tmp, write};

const BUDGET: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/scenarios/budget-volume-vs-quality.toml"
);
const V1: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/scenarios/v1-volume-vs-quality.toml"
);
const THREE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/scenarios/three-strategies.toml"
);

/// Every file of a result directory (the manifest too), by name.
fn files_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let e = e.expect("a directory entry");
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).expect("read a result file"))
        })
        .collect();
    out.sort();
    out
}

/// The same file names in both directories, each with the same bytes.
fn assert_same_dirs(a: &Path, b: &Path) {
    let (fa, fb) = (files_of(a), files_of(b));
    let names = |f: &[(String, Vec<u8>)]| f.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&fa), names(&fb));
    for ((name, x), (_, y)) in fa.iter().zip(&fb) {
        assert!(
            x == y,
            "{name} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

/// `run --shard i/n` for every i into `parts`, with `extra` arguments.
fn shards(scenario: &str, n: u64, parts: &Path, extra: &[&str]) {
    for i in 0..n {
        let mut args = vec![
            "run".to_string(),
            scenario.to_string(),
            "--shard".to_string(),
            format!("{i}/{n}"),
            "--out".to_string(),
            parts.display().to_string(),
            "-q".to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        pipesim_ok(&args);
    }
}

#[test]
fn four_shards_merged_are_the_single_runs_bytes() {
    let t = tmp();
    let (parts, merged, single) = (
        t.path().join("parts"),
        t.path().join("m"),
        t.path().join("s"),
    );
    // 3,000 trials: 6 chunks, the last one partial, shards of 1 or 2 chunks
    let common = ["--trials", "3000", "--seed", "11", "--set", "sales.reps=7"];
    shards(BUDGET, 4, &parts, &common);
    let (stdout, stderr) = pipesim_ok(
        [
            "merge",
            &parts.display().to_string(),
            "--out",
            &merged.display().to_string(),
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    assert!(stderr.contains("merged 4 parts (3000 trials)"), "{stderr}");
    let mut run = vec![
        "run".to_string(),
        BUDGET.to_string(),
        "--out".to_string(),
        single.display().to_string(),
        "-q".to_string(),
    ];
    run.extend(common.iter().map(|s| s.to_string()));
    let (single_stdout, _) = pipesim_ok(&run);
    assert_same_dirs(&merged, &single);
    // all seven files and the manifest; segments and quarters are there,
    // and merge prints run's report
    assert_eq!(files_of(&merged).len(), 8);
    let segments = std::fs::read_to_string(merged.join("segments.csv")).expect("segments.csv");
    let quarterly = std::fs::read_to_string(merged.join("quarterly.csv")).expect("quarterly.csv");
    assert!(segments.lines().count() > 10 && quarterly.lines().count() > 10);
    assert!(stdout.contains("Answer:"), "{stdout}");
    assert_eq!(stdout, single_stdout);
}

#[test]
fn parts_do_not_depend_on_threads_and_more_shards_than_chunks_work() {
    let t = tmp();
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    shards(V1, 3, &a, &["--trials", "1500", "--threads", "1"]);
    shards(V1, 3, &b, &["--trials", "1500", "--threads", "2"]);
    assert_same_dirs(&a, &b);
    // 1,500 trials are 3 chunks: of 5 shards, two are empty
    let (c, merged, single) = (t.path().join("c"), t.path().join("m"), t.path().join("s"));
    shards(V1, 5, &c, &["--trials", "1500"]);
    let c_arg = c.display().to_string();
    let m_arg = merged.display().to_string();
    pipesim_ok(["merge", c_arg.as_str(), "--out", m_arg.as_str()]);
    let s_arg = single.display().to_string();
    pipesim_ok(["run", V1, "--trials", "1500", "--out", s_arg.as_str(), "-q"]);
    assert_same_dirs(&merged, &single);
}

/// Sketch mode (the state of a run beyond the exact budget), through the
/// library: the shards' sketches and chunk-tree moments join into the
/// single run's, so every figure — means, sds, CIs, P(target), P(beats)
/// and even the sketch's quantiles — is the same to the bit.
#[test]
fn sketch_mode_shards_merge_to_the_same_bits() {
    let source = Source::read(Path::new(BUDGET), &[]).expect("the scenario reads");
    let spec = RunSpec::new(source.scenario().expect("the scenario loads"))
        .trials(Some(2_600))
        .seed(Some(3))
        .exact_budget(0);
    let single = experiment::run(&spec, &(), None).expect("the run");
    assert!(!single.analysis.quantiles_exact);
    for n in [2, 3, 6] {
        let parts: Vec<(PathBuf, shard::Part)> = (0..n)
            .map(|index| {
                let part = shard::run_part(&source, &spec, Shard { index, count: n }, &())
                    .expect("a shard");
                assert_eq!(part.header.quantiles.as_deref(), Some("sketch"));
                // through the file format and back
                let bytes = part.to_bytes();
                let back = shard::Part::from_bytes(&bytes, Path::new("x.part")).expect("reads");
                (PathBuf::from(format!("{index}.part")), back)
            })
            .collect();
        let Merged::Run(merged) = shard::merge(parts).expect("the parts merge") else {
            panic!("a run's parts merge into a run");
        };
        let (a, b) = (
            output::run_files(&merged).expect("files"),
            output::run_files(&single).expect("files"),
        );
        for ((name, x), (_, y)) in a.iter().zip(&b) {
            assert!(x == y, "{name} differs with {n} shards");
        }
    }
}

/// Merge with `args`: exit 2, a message saying `says`, and no `--out`.
fn refused(parts: &[&Path], out: &Path, says: &str) {
    let mut args = vec!["merge".to_string()];
    args.extend(parts.iter().map(|p| p.display().to_string()));
    args.extend(["--out".to_string(), out.display().to_string()]);
    let (code, stdout, stderr) = pipesim(&args);
    assert_eq!(code, 2, "{args:?}: {stderr}");
    assert!(
        stderr.contains(says),
        "{args:?} should say {says:?}:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(!out.exists(), "{} was written", out.display());
}

/// A copy of a part with its header's JSON edited by `edit`.
fn edited(part: &Path, to: &Path, edit: impl Fn(&str) -> String) -> PathBuf {
    let bytes = std::fs::read(part).expect("read a part");
    let magic = bytes.iter().position(|&b| b == b'\n').expect("magic line") + 1;
    let end = magic
        + bytes[magic..]
            .iter()
            .position(|&b| b == b'\n')
            .expect("header");
    let header = std::str::from_utf8(&bytes[magic..end]).expect("utf-8 header");
    let new = edit(header);
    assert_ne!(new, header, "the edit changed nothing");
    let mut out = bytes[..magic].to_vec();
    out.extend_from_slice(new.as_bytes());
    out.extend_from_slice(&bytes[end..]);
    std::fs::write(to, out).expect("write an edited part");
    to.to_path_buf()
}

#[test]
fn parts_that_are_not_one_whole_job_are_refused_and_nothing_is_written() {
    let t = tmp();
    let p = t.path().join("parts");
    shards(V1, 4, &p, &["--trials", "2048"]);
    let part = |i: u64| p.join(format!("shard-{i}-of-4.part"));
    let out = t.path().join("merged");
    let all = [part(0), part(1), part(2), part(3)];
    let all: Vec<&Path> = all.iter().map(PathBuf::as_path).collect();

    // a missing shard, a duplicate one
    refused(
        &[all[0], all[1], all[3]],
        &out,
        "shards are missing: 2/4 (trials 1024..1536)",
    );
    refused(
        &[all[0], all[1], all[2], all[3], all[2]],
        &out,
        "are both shard 2/4",
    );
    refused(&[&p, all[1]], &out, "are both shard 1/4");
    // another seed, other trials, another scenario, another split
    let other = t.path().join("other");
    let one = |extra: &[&str], name: &str| {
        let dir = other.join(name);
        let mut args = vec!["run", V1, "--out", dir.to_str().expect("utf-8"), "-q"];
        args.extend_from_slice(extra);
        pipesim_ok(&args);
        std::fs::read_dir(&dir)
            .expect("a part")
            .next()
            .expect("one part")
            .expect("entry")
            .path()
    };
    let seed = one(
        &["--shard", "1/4", "--trials", "2048", "--seed", "9"],
        "seed",
    );
    refused(&[all[0], &seed, all[2], all[3]], &out, "seeds");
    let trials = one(&["--shard", "1/4", "--trials", "4096"], "trials");
    refused(
        &[all[0], &trials, all[2], all[3]],
        &out,
        "trials 2048 and 4096",
    );
    let set = one(
        &[
            "--shard",
            "1/4",
            "--trials",
            "2048",
            "--set",
            "sales.reps=9",
        ],
        "set",
    );
    refused(&[all[0], &set, all[2], all[3]], &out, "different scenarios");
    let three = one(&["--shard", "1/3", "--trials", "2048"], "three");
    refused(&[all[0], &three], &out, "split into 4 shards and 3 shards");
    // an overlap and a gap in the trial ranges (headers edited)
    let overlap = edited(all[1], &t.path().join("overlap.part"), |h| {
        h.replace("\"start\":512,", "\"start\":256,")
    });
    refused(
        &[all[0], &overlap, all[2], all[3]],
        &out,
        "an overlap in the trials",
    );
    let gap = edited(all[1], &t.path().join("gap.part"), |h| {
        h.replace("\"end\":1024,", "\"end\":768,")
    });
    refused(
        &[all[0], &gap, all[2], all[3]],
        &out,
        "holds trials 512..768",
    );
    // a header that cannot be (no shards), and a fingerprint not ASCII
    let zero = edited(all[1], &t.path().join("zero.part"), |h| {
        h.replace("\"count\":4}", "\"count\":0}")
    });
    refused(&[all[0], &zero], &out, "is impossible");
    let odd = edited(all[1], &t.path().join("odd.part"), |h| {
        h.replace("\"fingerprint\":\"", "\"fingerprint\":\"ééééééé")
    });
    refused(&[all[0], &odd, all[2], all[3]], &out, "different scenarios");
    // another format version, another pipesim, a damaged payload, not a part
    let future = edited(all[2], &t.path().join("future.part"), |h| {
        h.replace("\"format_version\":1,", "\"format_version\":2,")
    });
    refused(
        &[all[0], all[1], &future, all[3]],
        &out,
        "written in format 2",
    );
    let version = edited(all[2], &t.path().join("version.part"), |h| {
        h.replace(
            &format!("\"pipesim_version\":\"{}\"", env!("CARGO_PKG_VERSION")),
            "\"pipesim_version\":\"0.0.1\"",
        )
    });
    refused(
        &[all[0], all[1], &version, all[3]],
        &out,
        "written by pipesim",
    );
    let mut bytes = std::fs::read(all[3]).expect("a part");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let damaged = write(t.path(), "damaged.part", "");
    std::fs::write(&damaged, bytes).expect("write");
    refused(
        &[all[0], all[1], all[2], &damaged],
        &out,
        "checksum does not match",
    );
    let csv = write(t.path(), "summary.csv", "strategy,metric\n");
    refused(&[all[0], &csv], &out, "not a pipesim partial result");
    let cut = write(t.path(), "cut.part", "pipesim partial result\n{\"format_");
    refused(&[&cut], &out, "header line is cut off");
    let empty = t.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    refused(&[&empty], &out, "holds no .part files");

    // an --out that exists is left as it was
    std::fs::create_dir(&out).expect("mkdir");
    std::fs::write(out.join("notes.txt"), "mine").expect("write");
    let args = [
        "merge".to_string(),
        all[0].display().to_string(),
        "--out".to_string(),
        out.display().to_string(),
    ];
    let (code, _, _) = pipesim(&args);
    assert_eq!(code, 2);
    assert_eq!(
        files_of(&out),
        vec![("notes.txt".to_string(), b"mine".to_vec())]
    );
}

#[test]
fn shard_auto_reads_the_engines_variables_and_says_which() {
    let t = tmp();
    let fixed = t.path().join("fixed");
    shards(V1, 4, &fixed, &["--trials", "2048"]);
    let bin = env!("CARGO_BIN_EXE_pipesim");
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: [Case; 3] = [
        (
            "auto/4",
            &[("JOB_COMPLETION_INDEX", "2")],
            "shard-2-of-4.part",
            "JOB_COMPLETION_INDEX=2 (Kubernetes Indexed Job)",
        ),
        (
            "auto",
            &[
                ("SLURM_ARRAY_TASK_ID", "1"),
                ("SLURM_ARRAY_TASK_MIN", "0"),
                ("SLURM_ARRAY_TASK_MAX", "3"),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
            ],
            "shard-1-of-4.part",
            "shard 1/4 from SLURM_ARRAY_TASK_ID=1 (Slurm job array)",
        ),
        (
            "auto",
            &[
                ("AWS_BATCH_JOB_ARRAY_INDEX", "3"),
                ("AWS_BATCH_JOB_ARRAY_SIZE", "4"),
            ],
            "shard-3-of-4.part",
            "AWS_BATCH_JOB_ARRAY_INDEX=3 (AWS Batch array job)",
        ),
    ];
    for (arg, vars, name, says) in cases {
        let dir = t.path().join(arg.replace('/', "-")).join(name);
        let out = std::process::Command::new(bin)
            .args(["run", V1, "--trials", "2048", "-q", "--shard", arg, "--out"])
            .arg(dir.parent().expect("a parent"))
            .env_remove("JOB_COMPLETION_INDEX")
            .env_remove("SLURM_ARRAY_TASK_ID")
            .env_remove("AWS_BATCH_JOB_ARRAY_INDEX")
            .envs(vars.iter().copied())
            .output()
            .expect("pipesim starts");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{arg} {vars:?}: {stderr}");
        assert!(stderr.contains(says), "{stderr}");
        let same = std::fs::read(&dir).expect("the part")
            == std::fs::read(fixed.join(name)).expect("part");
        assert!(same, "{arg} {vars:?} wrote another part than --shard I/4");
    }
    // without an engine's variable: exit 2, a clear message
    let out = std::process::Command::new(bin)
        .args(["run", V1, "--shard", "auto", "--out"])
        .arg(t.path().join("none"))
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("AWS_BATCH_JOB_ARRAY_INDEX")
        .output()
        .expect("pipesim starts");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no shard index in the environment"));
    assert!(!t.path().join("none").exists());
}

#[test]
fn sweep_and_batch_shards_merge_into_their_csvs() {
    let t = tmp();
    let d = |n: &str| t.path().join(n).display().to_string();
    let sweep = [
        "sweep",
        V1,
        "--trials",
        "600",
        "--vary",
        "sales.reps=3..7:1",
        "-q",
    ];
    for i in 0..3 {
        let mut args: Vec<String> = sweep.iter().map(|s| s.to_string()).collect();
        args.extend(["--shard".into(), format!("{i}/3"), "--out".into(), d("sp")]);
        pipesim_ok(&args);
    }
    let mut whole: Vec<String> = sweep.iter().map(|s| s.to_string()).collect();
    whole.extend(["--out".into(), d("sweep.csv")]);
    pipesim_ok(&whole);
    let (_, stderr) = pipesim_ok([
        "merge".to_string(),
        d("sp"),
        "--out".into(),
        d("merged.csv"),
    ]);
    assert!(stderr.contains("(5 points)"), "{stderr}");
    let a = std::fs::read(t.path().join("merged.csv")).expect("merged");
    assert!(a == std::fs::read(t.path().join("sweep.csv")).expect("sweep"));

    // a batch with a scenario that fails to load, in the middle
    let inputs = t.path().join("in");
    std::fs::create_dir(&inputs).expect("mkdir");
    for (name, from) in [("a.toml", V1), ("c.toml", BUDGET), ("d.toml", THREE)] {
        std::fs::copy(from, inputs.join(name)).expect("copy");
    }
    write(&inputs, "b.toml", "name = \"broken\"\nhorizon_months = 0\n");
    let batch = |extra: &[String]| {
        let mut args = vec![
            "batch".to_string(),
            inputs.display().to_string(),
            "--trials".into(),
            "600".into(),
            "-q".into(),
        ];
        args.extend_from_slice(extra);
        pipesim(&args)
    };
    let (code, _, stderr) = batch(&["--out".into(), d("batch")]);
    assert_eq!(code, 2, "{stderr}");
    for i in 0..3 {
        let (code, _, stderr) =
            batch(&["--shard".into(), format!("{i}/3"), "--out".into(), d("bp")]);
        assert_eq!(code, 0, "{stderr}");
    }
    let (code, _, stderr) = pipesim(["merge".to_string(), d("bp"), "--out".into(), d("bm")]);
    assert_eq!(code, 2, "the merged batch fails as the batch did: {stderr}");
    assert!(stderr.contains("b.toml"), "{stderr}");
    for name in ["summary.csv", "comparison.csv", "run.csv"] {
        let x = std::fs::read(t.path().join("bm").join(name)).expect("merged file");
        let y = std::fs::read(t.path().join("batch").join(name)).expect("batch file");
        assert!(x == y, "{name} differs");
    }
}
