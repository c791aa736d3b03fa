//! Calibration and backtest speed. `calibrate` reads an opportunities
//! export and fits a scenario (the CSV pass and the fits separately, on
//! the synthetic export of `tools/crm-large.toml`, about 10⁶ opportunities,
//! written once to a temporary directory); `backtest` refits and simulates
//! 6 rolling origins of 20,000 trials over 3 months on the Maven-shaped
//! fixture. Run: `cargo bench --bench crm`.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};

use pipesim::crm::calibrate::{self, CalibrateSpec, Data, FitOptions};
use pipesim::crm::ingest::{self, ReadOptions};
use pipesim::crm::{backtest, synth};
use pipesim::scenario::Scenario;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn calibrate_1e6(c: &mut Criterion) {
    let scn = Scenario::load(&root().join("tools/crm-large.toml")).expect("tools/crm-large.toml");
    let export = synth::synth(
        &scn,
        &synth::SynthSpec {
            strategy: None,
            trial: 0,
            seed: None,
        },
    )
    .expect("synth");
    let dir = tempfile::tempdir().expect("tempdir");
    synth::write_export(&export, dir.path(), false).expect("write");
    let opps = dir.path().join(synth::OPPORTUNITIES_FILE);
    let read = ReadOptions::default();
    let mut g = c.benchmark_group("calibrate/1e6-opportunities");
    g.sample_size(10);
    g.bench_function("read", |b| {
        b.iter(|| black_box(ingest::read_opportunities(&opps, &read, None).expect("read")))
    });
    let table = ingest::read_opportunities(&opps, &read, None).expect("read");
    let data = Data {
        opps: &table.rows,
        leads: None,
        won_only: false,
    };
    let options = FitOptions {
        as_of: table.latest,
        ..FitOptions::default()
    };
    g.bench_function("fit", |b| {
        b.iter(|| black_box(calibrate::calibrate_records(&data, &options).expect("fit")))
    });
    let spec = CalibrateSpec {
        opportunities: opps.clone(),
        leads: None,
        read: read.clone(),
        options: FitOptions::default(),
    };
    g.bench_function("read+fit", |b| {
        b.iter(|| black_box(calibrate::calibrate(&spec).expect("calibrate")))
    });
    g.finish();
}

fn backtest_maven(c: &mut Criterion) {
    let mut read = ReadOptions::default();
    read.set_opp_column("segment=product").expect("column");
    let path = root().join("tests/fixtures/crm/maven-like.csv");
    let table = ingest::read_opportunities(&path, &read, None).expect("fixture");
    let as_of = table.latest.expect("dates");
    let data = Data {
        opps: &table.rows,
        leads: None,
        won_only: false,
    };
    let options = FitOptions {
        horizon: 3,
        ..FitOptions::default()
    };
    let cutoffs = backtest::rolling_cutoffs(as_of, 6, 3);
    let mut g = c.benchmark_group("backtest/maven-like");
    g.sample_size(10);
    g.bench_function("6-origins-20000-trials-3-months", |b| {
        b.iter(|| {
            black_box(
                backtest::backtest(&data, &options, as_of, &cutoffs, 20_000).expect("backtest"),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, calibrate_1e6, backtest_maven);
criterion_main!(benches);
