//! Engine time per trial against its "floor": the time the same random
//! draws take on the sampling primitives alone, with no model logic around
//! them. The ratio engine/floor is the overhead of the model and engine.
//!
//! One trial of `tests/fixtures/scenario-format.toml` (both strategies) is
//! traced with `model::simulate_strategy_traced`, which records every draw
//! (kind and parameters). Four benchmarks in the group `per-trial`, all
//! reported per trial (criterion's "thrpt" is trials/s):
//! - `floor`: the traced draws of `TRIALS` trials regrouped by kind and
//!   drawn kind by kind in tight loops (no dispatch between kinds, nothing
//!   else around them): the lower bound the ratio is taken against;
//! - `floor-in-order`: the same draws replayed in the trial's own order
//!   with `trace::replay` (pays a branch per draw to dispatch on its kind,
//!   so it is slower than the model itself: not a lower bound);
//! - `model`: `params::draw_shared` + `model::simulate_strategy` of every strategy, with
//!   the engine's per-trial stream seeding, no engine around it;
//! - `engine-1-thread`: `engine::run_blocks` (the streaming engine, results
//!   handed to a sink that keeps nothing) on one thread.
//!
//! After criterion, a short summary prints medians of its own timing and
//! the ratios model/floor and engine/floor.
//!
//! For instruction counts, `PIPESIM_PROFILE=floor|model|engine` with
//! `PIPESIM_PROFILE_TRIALS=N` runs only that workload for N trials and
//! exits (no criterion), e.g. under
//! `valgrind --tool=callgrind`; the difference between two trial counts,
//! divided by their difference, is the instruction count per trial
//! (`floor` counts include tracing the trials first).

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use criterion::{Criterion, Throughput};
use pipesim::dist::Dist;
use pipesim::engine::{self, stream_rng};
use pipesim::metrics::Metric;
use pipesim::model::{self, TrialOut, Workspace};
use pipesim::params::{self, TrialDraws};
use pipesim::sampling::streams;
use pipesim::sampling::{BinomialP, LeadSampler, multivariate_hypergeometric};
use pipesim::scenario::Scenario;
use pipesim::trace::{self, Draw, Prepared, ReplayScratch};

/// Trials per measured batch (and traced for the floor).
const TRIALS: u64 = 200;
const SEED: u64 = 42;

fn fixture() -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scenario-format.toml");
    match Scenario::load(&path) {
        Ok(s) => s,
        Err(e) => panic!("cannot load {}: {e}", path.display()),
    }
}

/// Model-only runner: the engine's per-trial work without the engine.
struct ModelRun<'a> {
    scn: &'a Scenario,
    ws: Workspace,
    metrics: [f64; Metric::COUNT],
    monthly: Vec<f64>,
}

impl<'a> ModelRun<'a> {
    fn new(scn: &'a Scenario) -> Self {
        ModelRun {
            scn,
            ws: Workspace::default(),
            metrics: [0.0; Metric::COUNT],
            monthly: vec![0.0; scn.layout().len()],
        }
    }

    /// Trials `0..n`; returns a checksum.
    fn run(&mut self, n: u64) -> f64 {
        let mut acc = 0.0;
        let mut uniforms = Vec::new();
        for trial in 0..n {
            params::draw_uniforms(self.scn, SEED, trial, &mut uniforms);
            let at = TrialDraws::new(SEED, trial, &uniforms);
            let shared = params::draw_shared(self.scn, &at);
            for st in &self.scn.strategies {
                let out = TrialOut {
                    metrics: &mut self.metrics,
                    monthly: &mut self.monthly,
                };
                model::simulate_strategy(self.scn, st, &shared, &at, &mut self.ws, out);
                acc += self.metrics[Metric::Revenue.index()];
            }
        }
        acc
    }

    /// The draws of each of trials `0..n`, every stream in the engine's order.
    fn trace(&mut self, n: u64) -> Vec<Vec<Draw<'a>>> {
        (0..n)
            .map(|trial| {
                let mut draws = Vec::new();
                let mut uniforms = Vec::new();
                params::draw_uniforms(self.scn, SEED, trial, &mut uniforms);
                let at = TrialDraws::new(SEED, trial, &uniforms);
                let shared = params::draw_shared_traced(self.scn, &at, &mut draws);
                for st in &self.scn.strategies {
                    let out = TrialOut {
                        metrics: &mut self.metrics,
                        monthly: &mut self.monthly,
                    };
                    model::simulate_strategy_traced(
                        self.scn,
                        st,
                        &shared,
                        &at,
                        &mut self.ws,
                        out,
                        &mut draws,
                    );
                }
                draws
            })
            .collect()
    }
}

/// Deals of one (size, cycle) pair: (month limit, outcome drawn) per deal.
type DealGroup<'a> = (&'a Dist, &'a Dist, Vec<(u32, bool)>);

/// The traced draws of many trials regrouped by kind, so each kind is drawn
/// in its own tight loop (no dispatch between kinds, branch-predictable):
/// a lower bound for drawing them, whatever the model does around them.
struct Plan<'a> {
    params: Vec<&'a Dist>,
    /// Parameters drawn through the copula (an inverse CDF each).
    quantiles: Vec<&'a Dist>,
    /// Sub-streams seeded, by key.
    streams: Vec<u64>,
    /// Deals grouped by their (size, cycle) distributions, as in the model's
    /// per-channel loop: (month limit, outcome drawn) per deal.
    deals: Vec<DealGroup<'a>>,
    leads: Vec<(LeadSampler, f64, f64)>,
    binomials: Vec<(BinomialP, u64)>,
    /// (members, capacity)
    capacity: Vec<(Vec<u64>, u64)>,
}

impl<'a> Plan<'a> {
    fn new(traces: &[Vec<Draw<'a>>]) -> Self {
        let mut plan = Plan {
            params: Vec::new(),
            quantiles: Vec::new(),
            streams: Vec::new(),
            deals: Vec::new(),
            leads: Vec::new(),
            binomials: Vec::new(),
            capacity: Vec::new(),
        };
        let mut prepared: Vec<Prepared> = Vec::new();
        let mut members = Vec::new();
        for d in traces.iter().flatten() {
            match d {
                Draw::Dist(dist) => plan.params.push(dist),
                Draw::Quantile(dist) => plan.quantiles.push(dist),
                Draw::Stream(key) => plan.streams.push(*key),
                Draw::Deal {
                    size,
                    cycle,
                    left,
                    outcome,
                } => {
                    let group = plan
                        .deals
                        .iter()
                        .position(|(s, c, _)| std::ptr::eq(*s, *size) && std::ptr::eq(*c, *cycle));
                    let i = group.unwrap_or_else(|| {
                        plan.deals.push((size, cycle, Vec::new()));
                        plan.deals.len() - 1
                    });
                    plan.deals[i].2.push((*left, *outcome));
                }
                Draw::Strategy => prepared.clear(),
                Draw::Prepare(p) => prepared.push((**p).clone()),
                Draw::Leads { slot, lambda, p } => {
                    if let Some(Prepared::Leads(l)) = prepared.get(*slot as usize) {
                        plan.leads.push((*l, *lambda, *p));
                    }
                }
                Draw::Binomial { slot, n } => {
                    if let Some(Prepared::Binomial(b)) = prepared.get(*slot as usize) {
                        plan.binomials.push((*b, *n));
                    }
                }
                Draw::Member(x) => members.push(*x),
                Draw::Capacity { k } => plan.capacity.push((std::mem::take(&mut members), *k)),
            }
        }
        plan
    }

    /// Draw everything once; returns a checksum.
    fn run(&self, scratch: &mut Vec<u64>) -> f64 {
        let mut rng = stream_rng(SEED, 0, 0);
        let mut acc = 0.0;
        let base = streams::trial_base(SEED, 0);
        for &key in &self.streams {
            // the seeding cost of each sub-stream, used once
            acc += (rand::Rng::next_u64(&mut streams::stream(base, key)) >> 63) as f64;
        }
        for d in &self.params {
            acc += d.sample(&mut rng);
        }
        for d in &self.quantiles {
            acc += d.quantile(rand::RngExt::random::<f64>(&mut rng).max(f64::MIN_POSITIVE));
        }
        for (size, cycle, deals) in &self.deals {
            let law = cycle.month_law();
            for &(left, outcome) in deals {
                acc += size.sample(&mut rng);
                let left = u64::from(left);
                let months = match law {
                    Some(l) => l.sample(left, &mut rng),
                    None => cycle.sample_months(left, &mut rng),
                };
                acc += months as f64;
                if outcome {
                    acc += rand::RngExt::random::<f64>(&mut rng);
                }
            }
        }
        for (l, lambda, p) in &self.leads {
            let (a, b) = l.sample_split(*lambda, *p, &mut rng);
            acc += (a + b) as f64;
        }
        for (b, n) in &self.binomials {
            acc += b.sample(*n, &mut rng) as f64;
        }
        for (members, k) in &self.capacity {
            scratch.clear();
            scratch.extend_from_slice(members);
            multivariate_hypergeometric(scratch, *k, &mut rng);
            acc += scratch.first().copied().unwrap_or(0) as f64;
        }
        acc
    }
}

/// Replay traced trials in their own order, one generator per trial
/// (seeded as the engine seeds one stream); returns a checksum.
fn floor_in_order(traces: &[Vec<Draw<'_>>], scratch: &mut ReplayScratch) -> f64 {
    let mut acc = 0.0;
    for (trial, draws) in traces.iter().enumerate() {
        let mut rng = stream_rng(SEED, trial as u64, 0);
        acc += trace::replay(draws, scratch, &mut rng);
    }
    acc
}

fn engine_run(scn: &Scenario, pool: &rayon::ThreadPool, n: u64) -> f64 {
    let mut first = 0.0;
    let r: Result<(), std::convert::Infallible> = pool.install(|| {
        engine::run_blocks(&[scn], SEED, 0..n, &|_| {}, |blocks| {
            first += blocks[0].metric(0, 0, Metric::Revenue.index());
            Ok(())
        })
    });
    let Ok(()) = r;
    first
}

/// Draws per trial by kind, for the summary.
fn draw_counts(traces: &[Vec<Draw<'_>>]) -> String {
    let mut counts = [0usize; 7];
    for d in traces.iter().flatten() {
        match d {
            Draw::Dist(_) | Draw::Quantile(_) => counts[0] += 1,
            Draw::Stream(_) => counts[6] += 1,
            Draw::Deal { outcome, .. } => {
                counts[1] += 1;
                counts[2] += usize::from(*outcome);
            }
            Draw::Leads { .. } => counts[3] += 1,
            Draw::Binomial { .. } => counts[4] += 1,
            Draw::Capacity { .. } => counts[5] += 1,
            Draw::Strategy | Draw::Prepare(_) | Draw::Member(_) => {}
        }
    }
    let n = traces.len().max(1) as f64;
    let names = [
        "parameters",
        "deals (size + cycle)",
        "outcome uniforms",
        "lead counts",
        "binomials",
        "capacity shares",
        "sub-streams seeded",
    ];
    names
        .iter()
        .zip(counts)
        .map(|(name, c)| format!("{name} {:.1}", c as f64 / n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Median seconds per trial of `f` (which runs `TRIALS` trials) over `reps` runs.
fn median_per_trial(reps: usize, mut f: impl FnMut() -> f64) -> f64 {
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed().as_secs_f64() / TRIALS as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[reps / 2]
}

fn profile(kind: &str, n: u64) {
    let scn = fixture();
    let mut run = ModelRun::new(&scn);
    let sum = match kind {
        "model" => run.run(n),
        "floor" => {
            let traces = run.trace(n);
            Plan::new(&traces).run(&mut Vec::new())
        }
        "engine" => match engine::thread_pool(1) {
            Ok(pool) => engine_run(&scn, &pool, n),
            Err(e) => panic!("{e}"),
        },
        other => panic!("PIPESIM_PROFILE={other}: expected floor, model or engine"),
    };
    println!("{kind} {n} trials: checksum {sum}");
}

fn main() {
    if let Ok(kind) = std::env::var("PIPESIM_PROFILE") {
        let n = std::env::var("PIPESIM_PROFILE_TRIALS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1000);
        profile(&kind, n);
        return;
    }

    let scn = fixture();
    let mut run = ModelRun::new(&scn);
    let traces = run.trace(TRIALS);
    let plan = Plan::new(&traces);
    let mut scratch = ReplayScratch::default();
    let mut members = Vec::new();
    let pool = match engine::thread_pool(1) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };

    let mut c = Criterion::default().configure_from_args();
    {
        let mut group = c.benchmark_group("per-trial");
        group.throughput(Throughput::Elements(TRIALS));
        group.sample_size(20);
        group.bench_function("floor", |b| b.iter(|| plan.run(&mut members)));
        group.bench_function("floor-in-order", |b| {
            b.iter(|| floor_in_order(&traces, &mut scratch))
        });
        group.bench_function("model", |b| b.iter(|| run.run(TRIALS)));
        group.bench_function("engine-1-thread", |b| {
            b.iter(|| engine_run(&scn, &pool, TRIALS))
        });
        group.finish();
    }
    c.final_summary();

    // Own medians, interleaved so machine load hits all three alike.
    let reps = 15;
    let (mut f, mut m, mut e) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..reps {
        f.push(median_per_trial(1, || plan.run(&mut members)));
        m.push(median_per_trial(1, || run.run(TRIALS)));
        e.push(median_per_trial(1, || engine_run(&scn, &pool, TRIALS)));
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (f, m, e) = (med(&mut f), med(&mut m), med(&mut e));
    println!("\nper trial of scenario-format.toml (both strategies), median of {reps}:");
    println!("  draws per trial: {}", draw_counts(&traces));
    println!("  floor  {:8.2} µs", f * 1e6);
    println!("  model  {:8.2} µs   model/floor  = {:.2}", m * 1e6, m / f);
    println!("  engine {:8.2} µs   engine/floor = {:.2}", e * 1e6, e / f);
}
