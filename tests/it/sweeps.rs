//! Sweeps beyond the grid itself: points run several at a time give the
//! same bytes as points run one after another, on any thread count; the
//! sweep CSV, table and JSON carry P(target) with its Wilson interval; a
//! P(target) objective reports its crossovers and the points within the
//! best one's interval.

use std::sync::atomic::{AtomicU64, Ordering};

use pipesim::experiment::{self, Axis, Objective, Progress, SweepSpec};
use pipesim::metrics::Metric;
use pipesim::scenario::overrides::Kind;

use crate::common::{parse_csv, pipesim_ok};

const V1: &str = "scenarios/v1-volume-vs-quality.toml";

fn spec(threads: usize, parallel: Option<bool>) -> SweepSpec {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/budget-volume-vs-quality.toml"
    );
    let axis = |a: &str, k: Kind| Axis::parse(a, k).unwrap_or_else(|e| panic!("{e}"));
    SweepSpec {
        axes: vec![
            // points of different sizes: 300 trials (part of one chunk) and
            // 1,100 (three chunks, the last partial)
            axis("trials=300,1100", Kind::Set),
            axis("sales.reps=4..8:2", Kind::Set),
            axis("strategy.*.channel[*].cost_per_lead=1,1.2", Kind::Scale),
        ],
        threads,
        parallel_points: parallel,
        ..SweepSpec::new(file, Objective::PTarget(Metric::Bookings))
    }
}

/// Counts what a sweep reports to its progress observer.
#[derive(Default)]
struct Count {
    begun: AtomicU64,
    advanced: AtomicU64,
}

impl Progress for Count {
    fn begin(&self, trials: u64) {
        self.begun.fetch_add(trials, Ordering::Relaxed);
    }
    fn advance(&self, trials: u64) {
        self.advanced.fetch_add(trials, Ordering::Relaxed);
    }
}

/// Guards parallel points: the sweep CSV is the same bytes with the
/// points run several at a time or one after another, on 1 or 4 threads,
/// and the progress observer sees every trial once either way.
#[test]
fn parallel_points_give_the_same_bytes_as_sequential_ones() {
    let mut csvs = Vec::new();
    for threads in [1, 4] {
        for parallel in [Some(false), Some(true), None] {
            let count = Count::default();
            let sw = experiment::sweep(&spec(threads, parallel), &count)
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(sw.points.len(), 12);
            if let Some(p) = parallel {
                assert_eq!(sw.parallel_points, p);
            }
            let total = 6 * 300 + 6 * 1100;
            assert_eq!(count.begun.load(Ordering::Relaxed), total);
            assert_eq!(count.advanced.load(Ordering::Relaxed), total);
            let csv = pipesim::output::sweep_csv(&sw).unwrap_or_else(|e| panic!("{e}"));
            csvs.push(((threads, parallel), csv));
        }
    }
    let (first, reference) = &csvs[0];
    for (how, csv) in &csvs[1..] {
        assert!(csv == reference, "{how:?} differs from {first:?}");
    }
    // automatic: small points on several threads run in parallel, on one not
    let auto = |threads| {
        experiment::sweep(&spec(threads, None), &())
            .unwrap_or_else(|e| panic!("{e}"))
            .parallel_points
    };
    assert!(auto(4));
    assert!(!auto(1));
}

/// A sweep of quality's paid spend on P(bookings ≥ target), 5 points.
const P_TARGET_SWEEP: [&str; 9] = [
    "sweep",
    V1,
    "-q",
    "--trials",
    "600",
    "--vary-scale",
    "strategy.quality.channel[0].spend_per_month=0.4..0.8:0.1",
    "--objective",
    "p_target:bookings",
];

/// Guards P(target) in the sweep outputs: the CSV's `p_target_ci_low` and
/// `p_target_ci_high` hold the Wilson interval around `p_target` on every
/// row with a target (and are empty elsewhere), the table shows it, and the
/// JSON gives it per point and strategy.
#[test]
fn sweep_outputs_carry_p_target_with_its_interval() {
    let args = P_TARGET_SWEEP;
    let (stdout, _) = pipesim_ok(args.iter().chain(&["--format", "csv"]));
    let (header, rows) = parse_csv(&stdout);
    let n = header.len();
    assert_eq!(
        &header[n - 4..],
        ["target", "p_target", "p_target_ci_low", "p_target_ci_high"]
    );
    let mut with_target = 0;
    for r in &rows {
        if r[n - 4].is_empty() {
            assert!(r[n - 3..].iter().all(String::is_empty), "{r:?}");
            continue;
        }
        with_target += 1;
        let x: Vec<f64> = r[n - 3..]
            .iter()
            .map(|c| c.parse().unwrap_or_else(|_| panic!("{r:?}")))
            .collect();
        assert!(x[1] <= x[0] && x[0] <= x[2] && x[1] < x[2], "{r:?}");
    }
    // bookings has a target: 5 points x 2 strategies
    assert_eq!(with_target, 10);

    let (table, _) = pipesim_ok(args);
    assert!(
        table.contains("objective: P(bookings >= target), with its 95% Wilson interval"),
        "{table}"
    );
    assert!(
        table.contains("25.3% [") || table.contains("% ["),
        "{table}"
    );

    let (json, _) = pipesim_ok(args.iter().chain(&["--format", "json"]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
    let o = &v["points"][0]["objective"]["quality"];
    let (p, lo, hi) = (
        o["value"].as_f64(),
        o["ci"][0].as_f64(),
        o["ci"][1].as_f64(),
    );
    assert!(
        matches!((p, lo, hi), (Some(p), Some(lo), Some(hi)) if lo <= p && p <= hi),
        "{o}"
    );
    assert_eq!(v["best"][1]["strategy"], "quality");
    assert_eq!(v["best"][1]["point"], 4);
    assert_eq!(v["crossovers"][0]["from_point"], 2);
}

/// Guards crossovers of a P(target) objective: as quality's paid spend
/// grows, its P(bookings ≥ target) overtakes the baseline's between two
/// points; and points within the best's interval are named.
#[test]
fn p_target_sweeps_report_crossovers_and_near_best_points() {
    let (table, _) = pipesim_ok(P_TARGET_SWEEP);
    assert!(
        table.contains("crossover: quality overtakes volume at about scale(strategy.quality.channel[0].spend_per_month) = 0.6"),
        "{table}"
    );
    assert!(
        table.contains(
            "between point 2 (scale(strategy.quality.channel[0].spend_per_month)=0.6) and point 3"
        ),
        "{table}"
    );
    // volume's P does not move with quality's spend: every point ties
    assert!(
        table.contains("; points 0-4 are within its interval"),
        "{table}"
    );
}
