//! Decision-tool speed on the budget scenario at 20,000 trials: a plain
//! `run` (the baseline: what one simulation of both strategies costs),
//! `sensitivity` (that run, the inputs read back, the estimators and 8
//! swings of 2,000 trials × 2), and `plan` (the goal seek "ABM spend for
//! P(bookings ≥ 4M) ≥ 80%", each evaluation simulating the quality
//! strategy alone). Run: `cargo bench --bench decide` (about 10 minutes:
//! ten samples of a plan of ~25 evaluations).

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};

use pipesim::experiment::{self, Goal, PlanSpec, RunSpec, SensitivitySpec};

fn budget() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/budget-volume-vs-quality.toml")
}

fn decide(c: &mut Criterion) {
    let scn = experiment::load(&budget(), &[]).expect("budget scenario");
    let mut g = c.benchmark_group("decide/budget-20000-trials");
    g.sample_size(10);
    g.bench_function("run (baseline)", |b| {
        b.iter(|| {
            let spec = RunSpec::new(scn.clone()).trials(Some(20_000));
            black_box(experiment::run(&spec, &(), None).expect("run"))
        })
    });
    g.bench_function("sensitivity", |b| {
        b.iter(|| {
            let spec =
                SensitivitySpec::new(RunSpec::new(scn.clone()).trials(Some(20_000)), "bookings");
            black_box(experiment::sensitivity(&spec, &()).expect("sensitivity"))
        })
    });
    let goal = Goal::parse("bookings>=4000000@80%").expect("goal");
    g.bench_function("plan", |b| {
        b.iter(|| {
            let spec = PlanSpec {
                strategy: Some("quality".into()),
                trials: Some(20_000),
                ..PlanSpec::new(
                    budget(),
                    goal.clone(),
                    "strategy.quality.channel[0].spend_per_month",
                    20_000.0,
                    200_000.0,
                )
            };
            black_box(experiment::plan(&spec, &()).expect("plan"))
        })
    });
    g.finish();
}

criterion_group!(benches, decide);
criterion_main!(benches);
