//! Sharding's cost on the budget scenario: one process (the baseline)
//! against the same trials as 4 shards, each encoded to a part's bytes,
//! read back and merged — in exact mode (4,096 trials, the kept values
//! travel) and in sketch mode (the same trials with an exact budget of 0,
//! sketches and chunk-tree moments travel) — and the merge alone. The
//! shards run one after another here; on a cluster they run at once. Run:
//! `cargo bench --bench shard` (about 2 minutes).

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};

use pipesim::experiment::{self, RunSpec};
use pipesim::shard::{self, Part, Shard, Source};

const TRIALS: u64 = 4_096;

fn parts(source: &Source, spec: &RunSpec) -> Vec<(PathBuf, Part)> {
    (0..4)
        .map(|index| {
            let part =
                shard::run_part(source, spec, Shard { index, count: 4 }, &()).expect("shard");
            let bytes = part.to_bytes();
            let back = Part::from_bytes(&bytes, Path::new("p.part")).expect("part");
            (PathBuf::from(format!("{index}.part")), back)
        })
        .collect()
}

fn sharding(c: &mut Criterion) {
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/budget-volume-vs-quality.toml");
    let source = Source::read(&file, &[]).expect("budget scenario");
    let scn = source.scenario().expect("budget scenario");
    let mut g = c.benchmark_group("shard/budget-4096-trials");
    g.sample_size(10);
    for (mode, budget) in [("exact", pipesim::accum::EXACT_BUDGET_BYTES), ("sketch", 0)] {
        let spec = RunSpec::new(scn.clone())
            .trials(Some(TRIALS))
            .exact_budget(budget);
        g.bench_function(format!("{mode}: one process (baseline)"), |b| {
            b.iter(|| black_box(experiment::run(&spec, &(), None).expect("run")))
        });
        g.bench_function(format!("{mode}: 4 shards, parts, merge"), |b| {
            b.iter(|| black_box(shard::merge(parts(&source, &spec)).expect("merge")))
        });
        let made = parts(&source, &spec);
        g.bench_function(format!("{mode}: merge alone"), |b| {
            b.iter(|| black_box(shard::merge(made.clone()).expect("merge")))
        });
    }
    g.finish();
}

criterion_group!(benches, sharding);
criterion_main!(benches);
