//! Bounded time and memory on any input (issue 10, items 9–11 and 13):
//! windows sized by bytes and accumulators within a documented memory
//! bound for 150 strategies × 600 months; a linear analysis (one index
//! lookup per series); the work estimate that `validate` prints and that
//! `run`, `whatif`, `sweep` and `batch` enforce (exit 2, `--allow-large-run`);
//! and the thread cap. Structural checks only — no timing.

use std::fmt::Write as _;

use pipesim::accum::{ACCUM_LIMIT_BYTES, Accumulator, EXACT_BUDGET_BYTES, SERIES_FIXED_BYTES};
use pipesim::analysis;
use pipesim::engine::{self, Block, CHUNK, WINDOW_BYTES};
use pipesim::experiment::{self, MAX_SERIES, RunSpec};
use pipesim::model::work;
use pipesim::scenario::Scenario;

use crate::common::{self, FIXTURE, pipesim, pipesim_ok, tmp, write};
use crate::laws::load;

/// `n` strategies over `months` months, each with a spend channel and a
/// lead channel behind a shared sales team (as `tools/wide_scenario.py`).
fn wide(n: usize, months: usize, trials: u64) -> String {
    let mut t = format!(
        "name = \"wide\"\nhorizon_months = {months}\ntrials = {trials}\nseed = 7\n\
         [market]\ndemand = \"0.85 to 1.15\"\n[revenue]\nchurn_monthly = 0.01\n\
         [sales]\nreps = 6\nmql_capacity_per_rep = 60\n\
         [funnel]\nstages = [\"lead\", \"mql\", \"sql\", \"won\"]\nhandoff = \"mql\"\npipeline = \"sql\"\n"
    );
    for s in 0..n {
        let _ = write!(
            t,
            "[strategy.s{s}]\ndeal_size = \"lognormal(median=16000, p90=36000)\"\ncycle_days = \"gamma(mean=90, sd=35)\"\n\
             [[strategy.s{s}.channel]]\nname = \"search\"\nspend_per_month = {}\ncost_per_lead = \"lognormal(median=120, p90=180)\"\n\
             conversion = {{ mql = \"beta(mean=0.40, n=200)\", sql = 0.28, won = 0.2 }}\n\
             [[strategy.s{s}.channel]]\nname = \"events\"\nleads_per_month = \"{} to {}\"\ncost_per_lead = 90\n\
             conversion = {{ mql = 0.3, sql = 0.2, won = 0.2 }}\n",
            20_000 + 100 * s,
            100 + s,
            200 + s
        );
    }
    t
}

/// One channel of `leads` a month over `months` months, every conversion 1,
/// and optionally a sales team of `capacity` a month.
fn huge(leads: &str, months: usize, capacity: Option<&str>) -> String {
    let sales = capacity.map_or(String::new(), |c| {
        format!("[sales]\nreps = 1\nmql_capacity_per_rep = {c}\n")
    });
    format!(
        "name = \"huge\"\nhorizon_months = {months}\ntrials = 2\n{sales}\
         [funnel]\nstages = [\"lead\", \"mql\", \"sql\", \"won\"]\nhandoff = \"mql\"\npipeline = \"sql\"\n\
         [strategy.a]\ndeal_size = 1000\ncycle_days = 30\n\
         [[strategy.a.channel]]\nname = \"c\"\nleads_per_month = {leads}\ncost_per_lead = 1\n\
         conversion = {{ mql = 1, sql = 1, won = 1 }}\n"
    )
}

#[test]
fn windows_of_150_strategies_by_600_months_are_sized_by_bytes() {
    let scn = load(&wide(150, 600, 1000));
    let per_trial = engine::trial_bytes(&[&scn]);
    // per strategy: the metrics, 11 monthly series, the funnel's 4 stages
    // and 3 quarterly metrics per quarter
    assert_eq!(per_trial, 150 * (19 + 11 * 600 + 4 + 3 * 200) * 8);
    let window = engine::window_trials(&[&scn]);
    // before: never fewer than one chunk of 512 trials (2.2 GB a window)
    assert!(window < CHUNK, "{window}");
    assert!(window as usize * per_trial <= WINDOW_BYTES);
    assert!(engine::planned_window_bytes(&[&scn]) <= 2 * WINDOW_BYTES as u64);
    // a scenario whose trials are small still gets whole chunks
    let fixture = Scenario::load(FIXTURE.as_ref()).expect("fixture");
    assert_eq!(engine::window_trials(&[&fixture]) % CHUNK, 0);
}

#[test]
fn accumulators_of_150_strategies_by_600_months_fit_the_bound() {
    let scn = load(&wide(150, 600, 1000));
    let series = experiment::run_series(&scn);
    let sources = analysis::run_sources(&scn);
    assert_eq!(series, sources.len() as u64);
    assert!(series <= MAX_SERIES);
    let acc = Accumulator::new(sources, Some(1000));
    // 1000 trials of 543,588 series do not fit the exact budget: sketches
    assert!(!acc.exact());
    let fixed = acc.bytes();
    assert!(fixed <= series * SERIES_FIXED_BYTES, "{fixed}");
    assert!(fixed <= ACCUM_LIMIT_BYTES / 2, "{fixed}");
    assert!(RunSpec::new(scn).check().is_ok());
}

#[test]
fn too_many_series_are_refused_before_running() {
    let per_strategy = (12 + 6 * 600 + 12) as u64;
    let n = (MAX_SERIES / per_strategy + 1) as usize;
    let scn = load(&wide(n, 600, 10));
    match RunSpec::new(scn).check() {
        Err(e @ experiment::Error::TooManySeries { .. }) => {
            assert!(e.is_input());
            assert!(e.to_string().contains("fewer strategies"), "{e}");
        }
        other => panic!("expected TooManySeries, got {other:?}"),
    }
}

#[test]
fn the_accumulator_stops_at_its_memory_limit() {
    let scn = load(&wide(2, 24, 10));
    let mut acc = Accumulator::new(analysis::run_sources(&scn), Some(10)).with_limit(1 << 10);
    let mut block = Block::default();
    engine::simulate_block(&scn, 1, 0, 10, &mut block);
    let err = acc
        .push(std::slice::from_ref(&block))
        .expect_err("1 KiB cannot hold 10 trials");
    assert!(err.to_string().contains("fewer strategies"), "{err}");
    let mut acc = Accumulator::new(analysis::run_sources(&scn), Some(10));
    assert!(acc.push(std::slice::from_ref(&block)).is_ok());
}

/// Windows of fewer trials than a chunk, cut into single-trial units,
/// give the same numbers as one block of every trial in chunks.
#[test]
fn small_windows_change_no_number() {
    let scn = load(&wide(20, 600, 60));
    let window = engine::window_trials(&[&scn]);
    assert!(window < 60, "{window}");
    let mut whole = Block::default();
    engine::simulate_block(&scn, 3, 0, 60, &mut whole);
    let mut seen = 0usize;
    let r: Result<(), std::convert::Infallible> =
        engine::run_blocks(&[&scn], 3, 0..60, &|_| {}, |blocks| {
            let b = &blocks[0];
            let (m, per) = (b.strategies, b.per_trial_monthly());
            let at = b.start as usize;
            assert_eq!(b.metrics[..], whole.metrics[at * m..(at + b.len) * m]);
            assert_eq!(
                b.monthly[..],
                whole.monthly[at * m * per..(at + b.len) * m * per]
            );
            seen += b.len;
            Ok(())
        });
    let Ok(()) = r;
    assert_eq!(seen, 60);
    // and the whole run equals a run with exact quantiles on kept trials
    let spec = RunSpec::new(scn.clone()).trials(Some(60)).seed(Some(3));
    let streamed = experiment::run(&spec, &(), None).expect("run");
    let kept = engine::simulate(
        &scn,
        engine::RunOptions {
            trials: 60,
            seed: 3,
            threads: 2,
        },
        &|_| {},
    )
    .expect("simulate");
    let direct = analysis::analyze(&scn, &kept);
    let mean = |a: &analysis::Analysis, s: usize| a.strategies[s].metrics[0].summary.mean.to_bits();
    for s in 0..20 {
        assert_eq!(mean(&streamed.analysis, s), mean(&direct, s));
    }
}

/// The analysis looks each series up once (a hash index), not by a search
/// through every series: 80 strategies × 600 months, 2 trials.
#[test]
fn the_analysis_is_linear_in_the_series() {
    let scn = load(&wide(80, 600, 2));
    let sources = analysis::run_sources(&scn);
    let n = sources.len() as u64;
    let mut acc = Accumulator::with_budget(sources, Some(2), EXACT_BUDGET_BYTES);
    let r = engine::run_blocks(&[&scn], 1, 0..2, &|_| {}, |blocks| acc.push(blocks));
    r.expect("within the limit");
    let before = acc.probes();
    let a = analysis::analyze_acc(&scn, &acc);
    let probes = acc.probes() - before;
    assert_eq!(a.strategies.len(), 80);
    // a few lookups per series (metrics are looked up twice), each one
    // probe: a linear search would have compared ~n²/2 = 4·10¹⁰ series
    assert!(probes <= 3 * n, "{probes} probes for {n} series");
}

#[test]
fn validate_prints_the_work_estimate() {
    let (out, _) = pipesim_ok(["validate", FIXTURE]);
    assert!(out.contains("work estimate: about"), "{out}");
    assert!(out.contains("within the limits"), "{out}");
}

#[test]
fn shipped_scenarios_at_ten_million_trials_are_not_refused() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("scenarios/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.push(FIXTURE.into());
    for f in files {
        let scn = Scenario::load(&f).expect("a shipped scenario loads");
        let w = work::estimate(&scn);
        assert!(w.opportunities > 500.0, "{}: {w:?}", f.display());
        let spec = RunSpec::new(scn).trials(Some(10_000_000));
        assert!(spec.check().is_ok(), "{}: {:?}", f.display(), spec.check());
    }
}

/// 10⁹ leads a month with every conversion 1 (87 s for 2 trials before)
/// and 10¹⁵ with a large capacity (never finished): refused by every
/// simulating command, exit 2, with the estimate and how to proceed.
#[test]
fn runs_above_the_work_limit_are_refused() {
    let d = tmp();
    let big = write(d.path(), "big.toml", &huge("1e9", 12, None));
    let endless = write(d.path(), "endless.toml", &huge("1e15", 24, Some("1e18")));
    // 10^15 leads a month with a capacity of 10^18: beyond the plausibility
    // limit of 10^15 per amount (`hardening`), so refused at validation
    for args in [vec!["validate"], vec!["run", "-q"]] {
        let mut args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
        args.insert(1, endless.as_os_str());
        let (code, _, err) = pipesim(&args);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("at or below 1e15"), "{err}");
    }
    let (out, _) = pipesim_ok(["validate".as_ref(), big.as_os_str()]);
    assert!(out.contains("above the limits"), "{out}");
    let (code, _, err) = pipesim(["run".as_ref(), big.as_os_str(), "-q".as_ref()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("too large"), "{err}");
    assert!(err.contains("--allow-large-run"), "{err}");
    assert!(err.contains("per trial"), "{err}");
    let f = big.to_string_lossy().into_owned();
    let (code, _, err) = pipesim([
        "whatif",
        &f,
        "--set",
        "strategy.a.channel[0].cost_per_lead=2",
        "-q",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("too large"), "{err}");
    // a sweep refuses before running any point
    let small = write(d.path(), "small.toml", &huge("100", 12, None));
    let s = small.to_string_lossy().into_owned();
    let (code, _, err) = pipesim([
        "sweep",
        &s,
        "--vary",
        "strategy.a.channel[0].leads_per_month=100,1e9",
        "-q",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("point 1") && err.contains("too large"),
        "{err}"
    );
    let out = d.path().join("batch");
    let (code, _, err) = pipesim([
        "batch".as_ref(),
        big.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "-q".as_ref(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("too large"), "{err}");
    // too many trials of a normal scenario: the run limit
    let (code, _, err) = pipesim(["run", FIXTURE, "--trials", "100000000", "-q"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("per run") && err.contains("fewer trials"),
        "{err}"
    );
}

#[test]
fn allow_large_run_runs_above_the_limit() {
    let d = tmp();
    // 2·10⁷ opportunities a trial, in one month: above the per-trial limit
    let f = write(d.path(), "above.toml", &huge("2e7", 1, None));
    let (code, _, err) = pipesim(["run".as_ref(), f.as_os_str(), "-q".as_ref()]);
    assert_eq!(code, 2, "{err}");
    let (out, _) = pipesim_ok([
        "run".as_ref(),
        f.as_os_str(),
        "-q".as_ref(),
        "--allow-large-run".as_ref(),
        "--format".as_ref(),
        "csv".as_ref(),
    ]);
    let (_, rows) = common::parse_csv(&out);
    assert!(rows.iter().any(|r| r[1] == "won_deals"));
}

#[test]
fn threads_are_capped_at_a_multiple_of_the_cores() {
    let cores = engine::available_cores();
    let (used, note) = engine::capped_threads(1024);
    if 1024 > engine::THREADS_PER_CORE * cores {
        assert_eq!(used, engine::THREADS_PER_CORE * cores);
        assert!(note.is_some_and(|n| n.contains("--threads 1024")));
    }
    assert_eq!(engine::capped_threads(1), (1, None));
    assert_eq!(engine::capped_threads(0), (0, None));
    let pool = engine::thread_pool(1024).expect("pool");
    assert!(pool.current_num_threads() <= engine::THREADS_PER_CORE * cores);
    let (a, err) = pipesim_ok([
        "run",
        FIXTURE,
        "--trials",
        "600",
        "--threads",
        "1024",
        "-q",
        "--format",
        "csv",
    ]);
    if 1024 > engine::THREADS_PER_CORE * cores {
        assert!(err.contains("note: --threads 1024: using"), "{err}");
    }
    let (b, _) = pipesim_ok([
        "run",
        FIXTURE,
        "--trials",
        "600",
        "--threads",
        "2",
        "-q",
        "--format",
        "csv",
    ]);
    assert_eq!(a, b);
}
