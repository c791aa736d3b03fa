//! End-to-end throughput: trials per second on the shipped scenarios and on
//! the format example, single-threaded and on all cores. Two benchmarks per
//! case: `simulate` (the engine alone: every trial of every strategy drawn
//! into blocks, nothing kept) and `run` (what `pipesim run` does: the
//! engine plus streaming statistics and the final analysis). Criterion
//! reports time per batch of `TRIALS` trials; trials/s is
//! `TRIALS / median time` (criterion prints it as "elem/s").

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::convert::Infallible;
use std::hint::black_box;

use pipesim::engine;
use pipesim::experiment::{self, RunSpec};
use pipesim::scenario::Scenario;

const TRIALS: u64 = 8_192;

fn scenarios() -> Vec<(String, Scenario)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("tests/fixtures/scenario-format.toml")];
    let mut shipped: Vec<_> = std::fs::read_dir(root.join("scenarios"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    shipped.sort();
    files.extend(
        shipped
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "toml")),
    );
    files
        .into_iter()
        .filter_map(|p| {
            let name = p.file_stem()?.to_string_lossy().into_owned();
            Scenario::load(&p).ok().map(|s| (name, s))
        })
        .collect()
}

fn end_to_end(c: &mut Criterion) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for (name, scn) in scenarios() {
        let mut group = c.benchmark_group(format!("trials/{name}"));
        group.throughput(Throughput::Elements(TRIALS));
        group.sample_size(10);
        for threads in [1, cores] {
            let pool = match engine::thread_pool(threads) {
                Ok(p) => p,
                Err(_) => continue,
            };
            group.bench_function(format!("simulate/{threads}-thread"), |b| {
                b.iter(|| {
                    pool.install(|| {
                        let r: Result<(), Infallible> =
                            engine::run_blocks(&[&scn], 42, 0..TRIALS, &|_| {}, |blocks| {
                                black_box(blocks);
                                Ok(())
                            });
                        r
                    })
                })
            });
            let spec = RunSpec::new(scn.clone())
                .trials(Some(TRIALS))
                .seed(Some(42));
            group.bench_function(format!("run/{threads}-thread"), |b| {
                b.iter(|| pool.install(|| experiment::run_in_pool(&spec, &(), None)))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, end_to_end);
criterion_main!(benches);
