//! `*` patterns in the paths of `--set`, `--scale`, `--vary` and
//! `--vary-scale`: a pattern gives exactly the numbers of the explicit
//! changes it stands for, a parameter inherited by several channels is
//! scaled once, the command line lists what matched, and a pattern that
//! matches nothing exits 2 naming the nearest valid paths.

use std::path::Path;

use pipesim::scenario::overrides::{self, Kind, Override};

use crate::common::{parse_csv, pipesim, pipesim_ok};

const BUDGET: &str = "scenarios/budget-volume-vs-quality.toml";
const SHARED: &str = "scenarios/three-strategies.toml";

/// `run --format csv` of `file` at 600 trials with `changes`: (stdout, stderr).
fn run_csv(file: &str, changes: &[&str]) -> (String, String) {
    let mut all = vec!["run", file, "-q", "--format", "csv", "--trials", "600"];
    all.extend_from_slice(changes);
    pipesim_ok(&all)
}

fn scale(path: &str, factor: &str) -> Override {
    Override {
        kind: Kind::Scale,
        path: path.into(),
        value: factor.into(),
    }
}

fn load(file: &str, changes: &[Override]) -> pipesim::scenario::Scenario {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    overrides::load(&file, changes).unwrap_or_else(|e| panic!("{e}"))
}

/// Guards `--scale` patterns: every channel's cost per lead +25% by one
/// pattern gives the same bytes as the five explicit `--scale` flags, and
/// stderr lists the five matches.
#[test]
fn a_scale_pattern_equals_the_explicit_scales() {
    let (pattern, stderr) = run_csv(
        BUDGET,
        &["--scale", "strategy.*.channel[*].cost_per_lead=1.25"],
    );
    let explicit: Vec<String> = [
        "strategy.volume.channel[0]",
        "strategy.volume.channel[1]",
        "strategy.volume.channel[2]",
        "strategy.quality.channel[0]",
        "strategy.quality.channel[1]",
    ]
    .iter()
    .flat_map(|c| ["--scale".to_string(), format!("{c}.cost_per_lead=1.25")])
    .collect();
    let explicit: Vec<&str> = explicit.iter().map(String::as_str).collect();
    let (by_hand, _) = run_csv(BUDGET, &explicit);
    assert_eq!(pattern, by_hand);
    let (plan, _) = run_csv(BUDGET, &[]);
    assert_ne!(pattern, plan, "the pattern changed nothing");
    assert!(
        stderr.contains(
            "note: --scale strategy.*.channel[*].cost_per_lead=1.25 matched 5 parameters: strategy.volume.channel[0].cost_per_lead, strategy.volume.channel[1].cost_per_lead, strategy.volume.channel[2].cost_per_lead, strategy.quality.channel[0].cost_per_lead, strategy.quality.channel[1].cost_per_lead"
        ),
        "{stderr}"
    );
}

/// Guards owners: with shared channels, a pattern over every strategy's
/// channels scales each shared channel's cost per lead once (not once per
/// strategy that buys it): the same numbers as scaling the five owners
/// once each, and not those of scaling paid search twice.
#[test]
fn a_scale_pattern_scales_a_shared_parameter_once() {
    let pattern = "strategy.*.channel[*].cost_per_lead";
    let (by_pattern, stderr) = run_csv(SHARED, &["--scale", &format!("{pattern}=1.25")]);
    let owners = [
        "channel.content_syndication.cost_per_lead",
        "channel.paid_search.cost_per_lead",
        "channel.webinars_nurture.cost_per_lead",
        "strategy.volume.channel[2].cost_per_lead",
        "strategy.quality.channel[0].cost_per_lead",
    ];
    let args: Vec<String> = owners
        .iter()
        .flat_map(|p| ["--scale".to_string(), format!("{p}=1.25")])
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (by_owner, _) = run_csv(SHARED, &args);
    assert_eq!(by_pattern, by_owner);
    let mut twice = args.clone();
    twice.extend(["--scale", "channel.paid_search.cost_per_lead=1.25"]);
    let (scaled_twice, _) = run_csv(SHARED, &twice);
    assert_ne!(by_pattern, scaled_twice);
    assert!(
        stderr.contains("matched 8 paths, 5 parameters (each scaled once)"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "strategy.hybrid.channel[0].cost_per_lead → channel.paid_search.cost_per_lead"
        ),
        "{stderr}"
    );

    // the library: one factor on the shared parameter, in every strategy's copy
    let scn = load(SHARED, &[scale(pattern, "1.25")]);
    for (access, p) in scn.params_by_access() {
        if access.ends_with("cost_per_lead") {
            assert_eq!(
                p.written.matches("1.25 x").count(),
                1,
                "{access}: {}",
                p.written
            );
        }
    }
    let e = &scn.matched[0];
    assert_eq!(e.matches.len(), 8);
    // each owner once, in the order first matched
    assert_eq!(
        e.owners(),
        [owners[0], owners[1], owners[3], owners[4], owners[2]]
    );
    // the overrides stay as given
    assert_eq!(scn.overrides, [format!("--scale {pattern}=1.25")]);
    // the shared channels' own paths are patterns' candidates too
    let scn = load(SHARED, &[scale("channel.*.cost_per_lead", "1.25")]);
    assert_eq!(scn.matched[0].owners(), owners[..3]);
}

/// Guards plain paths: an inherited path without a pattern is still refused,
/// with the owner to scale instead.
#[test]
fn a_plain_inherited_path_is_still_refused() {
    let (code, _, stderr) = pipesim([
        "run",
        SHARED,
        "-q",
        "--trials",
        "20",
        "--scale",
        "strategy.volume.channel[1].cost_per_lead=1.25",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("inherits the parameter from channel.paid_search.cost_per_lead"),
        "{stderr}"
    );
}

/// Guards `--set` patterns: one pattern sets every strategy's team size,
/// the same bytes as the explicit sets, with the matches listed.
#[test]
fn a_set_pattern_equals_the_explicit_sets() {
    let (pattern, stderr) = run_csv(BUDGET, &["--set", "strategy.*.sales.reps=3"]);
    let (by_hand, _) = run_csv(
        BUDGET,
        &[
            "--set",
            "strategy.volume.sales.reps=3",
            "--set",
            "strategy.quality.sales.reps=3",
        ],
    );
    assert_eq!(pattern, by_hand);
    assert!(
        stderr.contains(
            "note: --set strategy.*.sales.reps=3 matched 2 paths: strategy.volume.sales.reps, strategy.quality.sales.reps"
        ),
        "{stderr}"
    );
    // a bad value at a match says which --set it came from
    let (code, _, stderr) = pipesim([
        "run",
        BUDGET,
        "-q",
        "--trials",
        "20",
        "--set",
        "strategy.*.channel[*].conversion.sql=1.5",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("(from --set strategy.*.channel[*].conversion.sql=1.5)"),
        "{stderr}"
    );
}

/// Guards patterns that match nothing: exit 2, the pattern named, the
/// nearest valid paths listed — for `--set`, `--scale` and `--vary`.
#[test]
fn a_pattern_matching_nothing_exits_2_with_nearest_paths() {
    for args in [
        vec![
            "run",
            BUDGET,
            "--scale",
            "strategy.*.channel[*].cost_per_led=1.2",
        ],
        vec![
            "run",
            BUDGET,
            "--set",
            "strategy.*.channel[*].cost_per_led=50",
        ],
        vec!["whatif", BUDGET, "--scale", "segment[*].win_odds=1.1"],
        vec!["sweep", BUDGET, "--vary", "strategy.*.sale.reps=4,6"],
        vec!["sweep", BUDGET, "--vary-scale", "*.demandd=0.9,1.1"],
    ] {
        let mut all = args.clone();
        all.extend(["-q", "--trials", "20"]);
        let (code, _, stderr) = pipesim(&all);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        let pattern = args[3].split('=').next().unwrap_or_default();
        assert!(
            stderr.contains(&format!("{pattern} = "))
                && stderr.contains("the pattern matches no parameter path; nearest valid paths: "),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let (_, _, stderr) = pipesim([
        "run",
        BUDGET,
        "-q",
        "--scale",
        "strategy.*.channel[*].cost_per_led=1.2",
    ]);
    assert!(
        stderr.contains("nearest valid paths: strategy.volume.channel[0].cost_per_lead"),
        "{stderr}"
    );
}

/// Guards sweep axes with patterns: `--vary 'strategy.*.sales.reps=…'`
/// sets every strategy's team at each point (each point's rows equal the
/// run with the explicit sets), stderr lists the matches, and an axis that
/// overlaps a common change through its pattern is refused.
#[test]
fn a_vary_pattern_sets_every_match_at_each_point() {
    let (stdout, stderr) = pipesim_ok([
        "sweep",
        BUDGET,
        "-q",
        "--trials",
        "600",
        "--vary",
        "strategy.*.sales.reps=3,5",
        "--format",
        "csv",
    ]);
    assert!(
        stderr.contains("note: --vary strategy.*.sales.reps matched 2 paths: strategy.volume.sales.reps, strategy.quality.sales.reps"),
        "{stderr}"
    );
    let (header, rows) = parse_csv(&stdout);
    assert_eq!(header[1], "strategy.*.sales.reps");
    let (run, _) = run_csv(
        BUDGET,
        &[
            "--set",
            "strategy.volume.sales.reps=5",
            "--set",
            "strategy.quality.sales.reps=5",
        ],
    );
    let (run_header, run_rows) = parse_csv(&run);
    let point1: Vec<Vec<String>> = rows
        .iter()
        .filter(|r| r[0] == "1")
        .map(|r| r[2..2 + run_header.len()].to_vec())
        .collect();
    assert_eq!(point1, run_rows);

    // a scale axis with a pattern
    let (_, stderr) = pipesim_ok([
        "sweep",
        SHARED,
        "-q",
        "--trials",
        "100",
        "--vary-scale",
        "strategy.*.channel[*].cost_per_lead=1,1.25",
    ]);
    assert!(stderr.contains("matched 8 paths, 5 parameters"), "{stderr}");

    // overlapping through a pattern
    let (code, _, stderr) = pipesim([
        "sweep",
        BUDGET,
        "-q",
        "--trials",
        "20",
        "--vary",
        "strategy.*.sales.reps=3,5",
        "--set",
        "strategy.volume.sales.reps=4",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("both change strategy.volume.sales.reps"),
        "{stderr}"
    );
}
