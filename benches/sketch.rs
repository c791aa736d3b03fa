//! Cost of the quantile sketch: nanoseconds per insert (lognormal values,
//! as revenue series) and per quantile query on a sketch of 10⁶ values.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pipesim::accum::sketch::QuantileSketch;
use rand::SeedableRng;
use rand_distr::{Distribution, LogNormal, Normal};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::hint::black_box;

const N: usize = 10_000;

fn values<D: Distribution<f64>>(d: D) -> Vec<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    (0..N).map(|_| d.sample(&mut rng)).collect()
}

fn sketch(c: &mut Criterion) {
    let lognormal = values(LogNormal::new(10.0, 1.0).unwrap());
    let normal = values(Normal::new(0.0, 1e5).unwrap());
    let mut group = c.benchmark_group("sketch/insert");
    group.throughput(Throughput::Elements(N as u64));
    for (name, xs) in [("lognormal", &lognormal), ("mixed-sign", &normal)] {
        // Warm sketch (stores already sized), as in a long run.
        let mut s = QuantileSketch::new();
        xs.iter().for_each(|&x| s.insert(x));
        group.bench_function(name, |b| {
            b.iter(|| {
                for &x in xs.iter() {
                    s.insert(black_box(x));
                }
            })
        });
    }
    group.finish();

    let mut big = QuantileSketch::new();
    for _ in 0..100 {
        lognormal.iter().for_each(|&x| big.insert(x));
    }
    eprintln!(
        "sketch of 10^6 lognormal(10, 1) values: {} bytes",
        big.bytes()
    );
    c.bench_function("sketch/quantile", |b| {
        b.iter(|| big.quantile(black_box(0.95)))
    });
    c.bench_function("sketch/merge", |b| {
        b.iter(|| {
            let mut s = QuantileSketch::new();
            s.merge(black_box(&big));
            s
        })
    });
}

criterion_group!(benches, sketch);
criterion_main!(benches);
