//! Board-report speed on the budget scenario at its 20,000 trials: a plain
//! `run` (the baseline), the report's experiments (that run with the chart
//! shapes read from its series, then the sensitivity analysis of the same
//! trials), and rendering the HTML page (12 plotters charts and the askama
//! template) from a finished report. Run: `cargo bench --bench report`
//! (about 3 minutes).

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};

use pipesim::experiment::{self, ReportSpec, RunSpec};

fn report(c: &mut Criterion) {
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/budget-volume-vs-quality.toml");
    let scn = experiment::load(&file, &[]).expect("budget scenario");
    let mut g = c.benchmark_group("report/budget-20000-trials");
    g.sample_size(10);
    g.bench_function("run (baseline)", |b| {
        b.iter(|| {
            let spec = RunSpec::new(scn.clone());
            black_box(experiment::run(&spec, &(), None).expect("run"))
        })
    });
    g.bench_function("report experiments", |b| {
        b.iter(|| {
            let spec = ReportSpec::new(RunSpec::new(scn.clone()));
            black_box(experiment::report(&spec, &(), None).expect("report"))
        })
    });
    let done =
        experiment::report(&ReportSpec::new(RunSpec::new(scn.clone())), &(), None).expect("report");
    g.bench_function("render html", |b| {
        b.iter(|| black_box(pipesim::output::report::render(&done).expect("render")))
    });
    g.finish();
}

criterion_group!(benches, report);
criterion_main!(benches);
