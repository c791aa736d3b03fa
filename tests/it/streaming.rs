//! Tests of bounded-memory runs: the streaming accumulators against the
//! in-memory analysis, the quantile sketch's documented bound on real
//! simulation output, determinism of sketch mode across threads, adaptive
//! precision, and the per-trial stream.
//!
//! The sketch bound is a guarantee, not a statistical claim, so it is
//! checked exactly: |estimate − exact type-7 quantile| ≤ α·max(|x_lo|,
//! |x_hi|), where x_lo and x_hi are the order statistics the exact quantile
//! interpolates between (see `pipesim::accum::sketch`).

use std::path::Path;

use pipesim::accum::sketch::RELATIVE_ACCURACY;
use pipesim::analysis::{self, Analysis};
use pipesim::engine::{self, Block, RunOptions, TrialSink};
use pipesim::experiment::{self, Precision, RunSpec};
use pipesim::metrics::{Metric, MonthlyMetric};
use pipesim::output::csv as export;
use pipesim::scenario::Scenario;
use pipesim::stats::QUANTILES;

use crate::common::FIXTURE;

fn fixture() -> Scenario {
    Scenario::load(Path::new(FIXTURE)).expect("fixture loads")
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    engine::thread_pool(threads).expect("pool").install(f)
}

fn run(scn: &Scenario, trials: u64, seed: u64, budget: u64) -> Analysis {
    let spec = RunSpec::new(scn.clone())
        .trials(Some(trials))
        .seed(Some(seed))
        .exact_budget(budget);
    experiment::run_in_pool(&spec, &(), None)
        .expect("the run succeeds")
        .analysis
}

fn csvs(scn: &Scenario, a: &Analysis) -> Vec<Vec<u8>> {
    vec![
        export::summary_csv(a).expect("csv"),
        export::comparison_csv(a).expect("csv"),
        export::monthly_csv(scn, a).expect("csv"),
    ]
}

/// The order statistics a type-7 quantile interpolates between.
fn neighbours(sorted: &[f64], p: f64) -> (f64, f64) {
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    (sorted[lo], sorted[(lo + 1).min(sorted.len() - 1)])
}

fn assert_within_bound(what: &str, values: &[f64], p: f64, estimate: f64, exact: f64) {
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let (lo, hi) = neighbours(&sorted, p);
    let bound = RELATIVE_ACCURACY * lo.abs().max(hi.abs()) * (1.0 + 1e-9) + 1e-9;
    assert!(
        (estimate - exact).abs() <= bound,
        "{what} p={p}: sketch {estimate} vs exact {exact} (bound {bound})"
    );
}

/// Guards the streaming path in exact mode: bit-identical to the
/// in-memory analysis of every trial.
#[test]
fn streaming_exact_mode_equals_in_memory_analysis() {
    let scn = fixture();
    let (a, b) = in_pool(2, || {
        let sim = engine::simulate_in_current_pool(&scn, 3000, 11, &|_| {});
        (analysis::analyze(&scn, &sim), run(&scn, 3000, 11, u64::MAX))
    });
    assert!(a.quantiles_exact && b.quantiles_exact);
    assert_eq!(csvs(&scn, &a), csvs(&scn, &b));
}

/// Guards sketch mode against the exact computation on the same trials:
/// means, sds and every count exact (to rounding), every quantile of every
/// metric, difference and monthly series within the documented bound.
#[test]
fn sketch_mode_agrees_with_exact_within_the_documented_bound() {
    let scn = fixture();
    let n = 20_000;
    let (sim, exact, sketch) = in_pool(2, || {
        let sim = engine::simulate_in_current_pool(&scn, n, 3, &|_| {});
        let exact = analysis::analyze(&scn, &sim);
        let sketch = run(&scn, n, 3, 0);
        (sim, exact, sketch)
    });
    assert!(exact.quantiles_exact && !sketch.quantiles_exact);
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()) + 1e-9;
    let mut checked = 0;
    for (s, (e, k)) in exact.strategies.iter().zip(&sketch.strategies).enumerate() {
        assert_eq!(e.metrics.len(), k.metrics.len());
        for (em, km) in e.metrics.iter().zip(&k.metrics) {
            let what = format!("{}/{}", e.name, em.metric.name());
            let (es, ks) = (&em.summary, &km.summary);
            assert!(
                close(es.mean, ks.mean),
                "{what}: mean {} vs {}",
                es.mean,
                ks.mean
            );
            assert!(close(es.sd, ks.sd), "{what}: sd {} vs {}", es.sd, ks.sd);
            assert_eq!(em.target.map(|t| t.1.p), km.target.map(|t| t.1.p), "{what}");
            let values = sim.strategies[s].metric(em.metric);
            for ((p, _), (qe, qk)) in QUANTILES.iter().zip(es.quantiles.iter().zip(&ks.quantiles)) {
                assert_within_bound(&what, values, *p, *qk, *qe);
                checked += 1;
            }
            let tail = 0.5 * (1.0 - scn.interval);
            assert_within_bound(&what, values, tail, ks.interval_low, es.interval_low);
            assert_within_bound(
                &what,
                values,
                1.0 - tail,
                ks.interval_high,
                es.interval_high,
            );
        }
        for mm in MonthlyMetric::ALL {
            for month in 0..scn.horizon {
                let (pe, pk) = (e.monthly[mm.index()][month], k.monthly[mm.index()][month]);
                let values = sim.monthly(s, mm, month);
                let what = format!("{}/{}/{month}", e.name, mm.name());
                assert!(close(pe.mean, pk.mean), "{what}");
                for (p, qe, qk) in [
                    (0.05, pe.p5, pk.p5),
                    (0.5, pe.p50, pk.p50),
                    (0.95, pe.p95, pk.p95),
                ] {
                    assert_within_bound(&what, values, p, qk, qe);
                    checked += 1;
                }
            }
        }
    }
    for (ce, ck) in exact.comparisons.iter().zip(&sketch.comparisons) {
        assert_eq!((ce.strategy, ce.metric), (ck.strategy, ck.metric));
        assert_eq!(ce.p_beats, ck.p_beats, "P(beats) must stay exact");
        assert!(close(ce.diff.mean, ck.diff.mean));
        let d: Vec<f64> = sim.strategies[ce.strategy]
            .metric(ce.metric)
            .iter()
            .zip(sim.strategies[ce.baseline].metric(ce.metric))
            .map(|(a, b)| a - b)
            .collect();
        for ((p, _), (qe, qk)) in QUANTILES
            .iter()
            .zip(ce.diff.quantiles.iter().zip(&ck.diff.quantiles))
        {
            assert_within_bound(ce.metric.name(), &d, *p, *qk, *qe);
            checked += 1;
        }
    }
    assert!(checked > 1000, "{checked}");
}

/// Guards determinism of sketch mode: identical output on 1 and 2 threads.
#[test]
fn sketch_mode_is_identical_across_thread_counts() {
    let scn = fixture();
    let one = in_pool(1, || run(&scn, 5000, 8, 0));
    let two = in_pool(2, || run(&scn, 5000, 8, 0));
    assert_eq!(csvs(&scn, &one), csvs(&scn, &two));
}

/// Guards adaptive precision: it stops with the target met, and its result
/// is exactly a plain run of the trial count it stopped at.
#[test]
fn precision_run_equals_a_plain_run_of_its_final_trials() {
    let scn = fixture();
    let precision = Precision {
        target: 0.02,
        metric: Metric::Bookings,
        max_trials: 1_000_000,
    };
    let spec = RunSpec::new(scn.clone())
        .trials(Some(500))
        .seed(Some(4))
        .threads(2)
        .precision(Some(precision));
    let r = experiment::run(&spec, &(), None).expect("the run succeeds");
    let (a, reached) = (r.analysis, r.precision.expect("a precision run"));
    assert!(reached.met && reached.worst <= 0.02, "{reached:?}");
    assert!(reached.trials > 500);
    assert_eq!(a.trials, reached.trials);
    for st in &a.strategies {
        let s = &st.get(Metric::Bookings).expect("bookings").summary;
        assert!(s.ci_half_width() / s.mean.abs() <= 0.02, "{}", st.name);
    }
    let plain = in_pool(2, || {
        run(&scn, reached.trials, 4, pipesim::accum::EXACT_BUDGET_BYTES)
    });
    assert_eq!(csvs(&scn, &a), csvs(&scn, &plain));
}

/// Guards the per-trial stream: every trial exactly once, in order, with
/// the values the in-memory simulation gives.
#[test]
fn per_trial_sink_sees_every_trial_in_order() {
    let scn = fixture();
    let n = 1500;
    struct Seen(Vec<(u64, f64)>);
    impl TrialSink for Seen {
        fn write_block(&mut self, b: &Block) -> std::io::Result<()> {
            for t in 0..b.len {
                self.0
                    .push((b.start + t as u64, b.metric(t, 1, Metric::Bookings.index())));
            }
            Ok(())
        }
    }
    let mut seen = Seen(Vec::new());
    let spec = RunSpec::new(scn.clone()).trials(Some(n)).seed(Some(21));
    let sim = in_pool(2, || {
        experiment::run_in_pool(&spec, &(), Some(&mut seen)).expect("the run succeeds");
        engine::simulate(
            &scn,
            RunOptions {
                trials: n,
                seed: 21,
                threads: 1,
            },
            &|_| {},
        )
        .expect("pool")
    });
    assert_eq!(seen.0.len() as u64, n);
    for (i, (t, v)) in seen.0.iter().enumerate() {
        assert_eq!(*t, i as u64);
        assert_eq!(*v, sim.strategies[1].metric(Metric::Bookings)[i]);
    }
}

/// Guards the switch from exact quantiles to the sketch in mid-run (what an
/// adaptive run does when its trials outgrow the budget): the result equals
/// a run that used the sketch from the start.
#[test]
fn switching_to_the_sketch_mid_run_equals_sketching_from_the_start() {
    use pipesim::accum::Accumulator;
    let scn = fixture();
    let sources = analysis::run_sources(&scn);
    let n = 3 * engine::window_trials(&[&scn]);
    // exact for the first window only
    let budget = sources.len() as u64 * engine::window_trials(&[&scn]) * 8;
    let (switched, sketched) = in_pool(2, || {
        let mut a = Accumulator::with_budget(sources.clone(), None, budget);
        let mut b = Accumulator::with_budget(sources.clone(), Some(n), 0);
        let r: Result<(), pipesim::accum::TooLarge> =
            engine::run_blocks(&[&scn], 5, 0..n, &|_| {}, |blocks| {
                a.push(blocks)?;
                b.push(blocks)
            });
        r.expect("within the memory limit");
        (a, b)
    });
    assert!(!switched.exact() && !sketched.exact());
    let (x, y) = (
        analysis::analyze_acc(&scn, &switched),
        analysis::analyze_acc(&scn, &sketched),
    );
    assert_eq!(csvs(&scn, &x), csvs(&scn, &y));
}
