//! Trials in parallel, with seeding that makes results independent of the
//! thread count.
//!
//! Every trial seeds its own generators from (master seed, trial index,
//! stream key) through SplitMix64: one shared stream per trial for `market`,
//! `revenue` and the scenario's sales team, and one stream per strategy keyed
//! by the strategy's name, so adding or removing a strategy changes no other
//! strategy's numbers. Trials are cut into fixed-size chunks, run on a rayon
//! pool, and reassembled in trial order, so the output is bit-identical for
//! any number of threads.

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use crate::metrics::{Metric, MonthlyMetric};
use crate::model::{self, TrialOut, Workspace};
use crate::scenario::Scenario;

/// Trials per work unit. Fixed, so chunking never depends on the thread count.
pub const CHUNK: u64 = 512;

/// The generator used for every stream (portable, named, fast).
pub type StreamRng = Xoshiro256PlusPlus;

/// SplitMix64 finaliser: a bijective 64-bit mix.
#[inline]
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a, a stable 64-bit hash for stream names.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Stream key of the shared (scenario-level) stream.
pub fn shared_key() -> u64 {
    fnv1a(b"pipesim/shared")
}

/// Stream key of a strategy's own stream.
pub fn strategy_key(name: &str) -> u64 {
    let mut bytes = b"pipesim/strategy/".to_vec();
    bytes.extend_from_slice(name.as_bytes());
    fnv1a(&bytes)
}

/// The generator of one stream of one trial.
pub fn stream_rng(seed: u64, trial: u64, key: u64) -> StreamRng {
    let s = splitmix64(splitmix64(splitmix64(seed) ^ trial) ^ key);
    StreamRng::seed_from_u64(s)
}

/// Options of a run.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    pub trials: u64,
    pub seed: u64,
    /// Worker threads; 0 = all cores.
    pub threads: usize,
}

/// All trials of one strategy, column-major.
#[derive(Debug, Clone)]
pub struct StrategyResults {
    /// `metrics[metric.index()][trial]`.
    pub metrics: Vec<Vec<f64>>,
    /// `monthly[(mm * horizon + month) * trials + trial]`.
    pub monthly: Vec<f64>,
}

impl StrategyResults {
    /// The per-trial values of one metric.
    pub fn metric(&self, m: Metric) -> &[f64] {
        &self.metrics[m.index()]
    }
}

/// The raw output of a run: every trial of every strategy.
#[derive(Debug, Clone)]
pub struct SimResults {
    pub trials: u64,
    pub seed: u64,
    pub horizon: usize,
    /// In the scenario's strategy order.
    pub strategies: Vec<StrategyResults>,
}

impl SimResults {
    /// Monthly values of one series, month and strategy, across trials.
    pub fn monthly(&self, strategy: usize, mm: MonthlyMetric, month: usize) -> &[f64] {
        let n = self.trials as usize;
        let start = (mm.index() * self.horizon + month) * n;
        &self.strategies[strategy].monthly[start..start + n]
    }
}

/// Error building the thread pool.
#[derive(Debug, thiserror::Error)]
#[error("cannot start {threads} worker threads")]
pub struct PoolError {
    threads: usize,
    #[source]
    source: rayon::ThreadPoolBuildError,
}

/// Results of one chunk of trials: per strategy, metrics then monthly values,
/// each trial-major.
struct ChunkOut {
    start: u64,
    len: usize,
    metrics: Vec<Vec<[f64; Metric::COUNT]>>,
    monthly: Vec<Vec<f64>>,
}

fn run_chunk(scn: &Scenario, seed: u64, start: u64, len: usize, keys: &[u64]) -> ChunkOut {
    let h = scn.horizon;
    let per_trial_monthly = MonthlyMetric::COUNT * h;
    let ns = scn.strategies.len();
    let mut metrics = vec![vec![[0.0; Metric::COUNT]; len]; ns];
    let mut monthly = vec![vec![0.0; per_trial_monthly * len]; ns];
    let mut ws = Workspace::default();
    for i in 0..len {
        let trial = start + i as u64;
        let mut shared_rng = stream_rng(seed, trial, shared_key());
        let shared = model::draw_shared(scn, &mut shared_rng);
        for (s, strategy) in scn.strategies.iter().enumerate() {
            let mut rng = stream_rng(seed, trial, keys[s]);
            let out = TrialOut {
                metrics: &mut metrics[s][i],
                monthly: &mut monthly[s][i * per_trial_monthly..(i + 1) * per_trial_monthly],
            };
            model::simulate_strategy(scn, strategy, &shared, &mut rng, &mut ws, out);
        }
    }
    ChunkOut {
        start,
        len,
        metrics,
        monthly,
    }
}

/// Memory budget for the in-memory results of one run (every trial of every
/// metric and monthly series is kept for exact quantiles).
pub const MEMORY_BUDGET_BYTES: u64 = 12 << 30;

/// Bytes a run of `trials` trials keeps in memory (results plus the chunk
/// copies made while reassembling them).
pub fn estimated_bytes(scn: &Scenario, trials: u64) -> u64 {
    let per_trial = (Metric::COUNT + MonthlyMetric::COUNT * scn.horizon) as u64 * 8;
    trials
        .saturating_mul(scn.strategies.len() as u64)
        .saturating_mul(per_trial)
        .saturating_mul(2)
}

/// The most trials that fit [`MEMORY_BUDGET_BYTES`] for this scenario.
pub fn max_trials(scn: &Scenario) -> u64 {
    let one = estimated_bytes(scn, 1).max(1);
    MEMORY_BUDGET_BYTES / one
}

/// A rayon pool with `threads` workers (0 = one per core). Run [`simulate`]
/// and the statistics inside its `install` to bound the threads used.
pub fn thread_pool(threads: usize) -> Result<rayon::ThreadPool, PoolError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|source| PoolError { threads, source })
}

/// Run `opts.trials` trials of every strategy on `opts.threads` workers.
/// `progress` is called with the number of trials just finished (from worker
/// threads).
pub fn simulate(
    scn: &Scenario,
    opts: RunOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<SimResults, PoolError> {
    let pool = thread_pool(opts.threads)?;
    Ok(pool.install(|| simulate_in_current_pool(scn, opts.trials, opts.seed, progress)))
}

/// [`simulate`] on the current rayon pool.
pub fn simulate_in_current_pool(
    scn: &Scenario,
    trials: u64,
    seed: u64,
    progress: &(dyn Fn(u64) + Sync),
) -> SimResults {
    let keys: Vec<u64> = scn
        .strategies
        .iter()
        .map(|s| strategy_key(&s.name))
        .collect();
    let chunks = trials.div_ceil(CHUNK);
    let outs: Vec<ChunkOut> = (0..chunks)
        .into_par_iter()
        .map(|c| {
            let start = c * CHUNK;
            let len = (trials - start).min(CHUNK) as usize;
            let out = run_chunk(scn, seed, start, len, &keys);
            progress(len as u64);
            out
        })
        .collect();

    // Reassemble column-major, in trial order.
    let h = scn.horizon;
    let nt = trials as usize;
    let per_trial_monthly = MonthlyMetric::COUNT * h;
    let mut strategies = Vec::with_capacity(scn.strategies.len());
    for s in 0..scn.strategies.len() {
        let mut metrics = vec![vec![0.0; nt]; Metric::COUNT];
        let mut monthly = vec![0.0; per_trial_monthly * nt];
        for out in &outs {
            let base = out.start as usize;
            for i in 0..out.len {
                let row = &out.metrics[s][i];
                for (k, col) in metrics.iter_mut().enumerate() {
                    col[base + i] = row[k];
                }
                let src = &out.monthly[s][i * per_trial_monthly..(i + 1) * per_trial_monthly];
                for (j, v) in src.iter().enumerate() {
                    monthly[j * nt + base + i] = *v;
                }
            }
        }
        strategies.push(StrategyResults { metrics, monthly });
    }
    SimResults {
        trials,
        seed,
        horizon: h,
        strategies,
    }
}
