//! Cost of the statistics of a 10⁶-trial run, apart from the simulation:
//!
//! - `summarize-exact/1e6`: one series summarised exactly (mean, sd, sort,
//!   quantiles) from 10⁶ kept values;
//! - `sketch/1e6`: the same series through the quantile sketch (10⁶
//!   inserts and the quantile queries of a summary);
//! - `accumulate/<mode>`: every series of the format example (metrics,
//!   monthly values, paired differences) fed one window of trials; the
//!   time per 10⁶ trials is `10⁶ / WINDOW` × the median.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pipesim::accum::Accumulator;
use pipesim::accum::sketch::QuantileSketch;
use pipesim::analysis;
use pipesim::engine::Block;
use pipesim::metrics::Metric;
use pipesim::scenario::Scenario;
use pipesim::stats::{self, QUANTILES};
use rand::SeedableRng;
use rand_distr::{Distribution, LogNormal};
use rand_xoshiro::Xoshiro256PlusPlus;

const N: usize = 1_000_000;
const WINDOW: usize = 8_192;

fn lognormal(n: usize) -> Vec<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    match LogNormal::new(14.0, 0.5) {
        Ok(d) => (0..n).map(|_| d.sample(&mut rng)).collect(),
        Err(_) => vec![1.0; n],
    }
}

fn series(c: &mut Criterion) {
    let xs = lognormal(N);
    let mut g = c.benchmark_group("stats");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("summarize-exact/1e6", |b| {
        b.iter(|| stats::summarize(black_box(&xs), 0.95, 0.9))
    });
    g.bench_function("sketch/1e6", |b| {
        b.iter(|| {
            let mut sk = QuantileSketch::new();
            for &x in &xs {
                sk.insert(x);
            }
            QUANTILES.map(|(p, _)| sk.quantile(p))
        })
    });
    g.finish();
}

fn accumulate(c: &mut Criterion) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scenario-format.toml");
    let Ok(scn) = Scenario::load(&file) else {
        return;
    };
    let ns = scn.strategies.len();
    let per = scn.layout().len();
    let values = lognormal(WINDOW * ns * (Metric::COUNT + per));
    let (m, mo) = values.split_at(WINDOW * ns * Metric::COUNT);
    let block = Block {
        start: 0,
        len: WINDOW,
        strategies: ns,
        horizon: scn.horizon,
        metrics: m
            .chunks(Metric::COUNT)
            .map(|c| std::array::from_fn(|k| c[k]))
            .collect(),
        monthly: mo.to_vec(),
        per,
    };
    let mut g = c.benchmark_group("stats/accumulate");
    g.sample_size(10);
    g.throughput(Throughput::Elements(WINDOW as u64));
    for (mode, budget) in [("exact", u64::MAX), ("sketch", 0)] {
        g.bench_function(mode, |b| {
            b.iter(|| {
                let mut acc = Accumulator::with_budget(
                    analysis::run_sources(&scn),
                    Some(WINDOW as u64),
                    budget,
                );
                acc.push(std::slice::from_ref(&block))
                    .expect("one window is within the memory limit");
                acc
            })
        });
    }
    g.finish();
}

criterion_group!(benches, series, accumulate);
criterion_main!(benches);
