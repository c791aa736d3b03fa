//! Trials in parallel, with seeding that makes results independent of the
//! thread count.
//!
//! Every trial draws from sub-streams seeded by (master seed, trial index,
//! key) through SplitMix64 ([`crate::sampling::streams`]): a per-trial
//! parameter's by its path, a channel's counts and deals of a month by the
//! channel and the month, a month's capacity split by the strategy, the
//! copula's normals by the trial (see [`crate::params`] and
//! [`crate::model`]). Adding or removing a strategy changes no other
//! strategy's numbers, and a what-if moves only what it touches. Trials are simulated window by window into
//! trial-major [`Block`]s (each window cut into chunks run on a rayon pool)
//! and handed on in trial order, so the output is bit-identical for any
//! number of threads. [`run_blocks`] streams windows to a consumer (memory
//! bounded by one window); [`simulate`] keeps every trial, for tests and
//! library users who want the raw values.

use rayon::prelude::*;

use crate::metrics::{Metric, MonthlyMetric};
use crate::model::{self, TrialOut, Workspace};
use crate::params::{self, TrialDraws};
use crate::scenario::Scenario;

/// Trials per work unit. Fixed, so chunking never depends on the thread count.
pub const CHUNK: u64 = 512;

pub use crate::sampling::streams::{StreamRng, fnv1a, splitmix64, stream_rng};

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

/// Raw results of a contiguous range of trials of one scenario, trial-major:
/// the unit the engine hands to accumulators and per-trial writers.
#[derive(Debug, Clone, Default)]
pub struct Block {
    /// Index of the first trial.
    pub start: u64,
    /// Trials in the block.
    pub len: usize,
    /// Strategies per trial.
    pub strategies: usize,
    pub horizon: usize,
    /// `metrics[t * strategies + s]`, one value per [`Metric`].
    pub metrics: Vec<[f64; Metric::COUNT]>,
    /// `monthly[(t * strategies + s) * per + mm * horizon + month]` with
    /// `per = MonthlyMetric::COUNT * horizon`.
    pub monthly: Vec<f64>,
}

impl Block {
    /// Monthly values per trial and strategy.
    pub fn per_trial_monthly(&self) -> usize {
        MonthlyMetric::COUNT * self.horizon
    }

    /// One metric of trial `t` (relative to `start`) of strategy `s`.
    #[inline]
    pub fn metric(&self, t: usize, s: usize, k: usize) -> f64 {
        self.metrics[t * self.strategies + s][k]
    }

    /// Value `j = mm * horizon + month` of the monthly series of trial `t`,
    /// strategy `s`.
    #[inline]
    pub fn monthly(&self, t: usize, s: usize, j: usize) -> f64 {
        self.monthly[(t * self.strategies + s) * self.per_trial_monthly() + j]
    }
}

/// Receives every window's raw results, in trial order (e.g. to stream
/// `trials.csv` to disk while the run goes on).
pub trait TrialSink: Send {
    /// Take one block of trials; an error stops the run.
    fn write_block(&mut self, block: &Block) -> std::io::Result<()>;
}

/// Simulate trials `start .. start + len` of `scn` into `block` (its
/// buffers are reused), in parallel on the current rayon pool. Every trial
/// seeds its own streams, so the values do not depend on how the range is
/// cut or on the thread count.
pub fn simulate_block(scn: &Scenario, seed: u64, start: u64, len: usize, block: &mut Block) {
    let ns = scn.strategies.len();
    let per = MonthlyMetric::COUNT * scn.horizon;
    block.start = start;
    block.len = len;
    block.strategies = ns;
    block.horizon = scn.horizon;
    block.metrics.clear();
    block.metrics.resize(len * ns, [0.0; Metric::COUNT]);
    block.monthly.clear();
    block.monthly.resize(len * ns * per, 0.0);
    let chunk = CHUNK as usize;
    block
        .metrics
        .par_chunks_mut(chunk * ns)
        .zip(block.monthly.par_chunks_mut((chunk * ns * per).max(1)))
        .enumerate()
        .for_each_init(
            || (Workspace::default(), Vec::new()),
            |(ws, uniforms), (c, (metrics, monthly))| {
                let first = start + (c * chunk) as u64;
                for (i, row) in metrics.chunks_mut(ns).enumerate() {
                    let trial = first + i as u64;
                    params::draw_uniforms(scn, seed, trial, uniforms);
                    let draws = TrialDraws::new(seed, trial, uniforms);
                    let shared = params::draw_shared(scn, &draws);
                    for (s, (strategy, out)) in
                        scn.strategies.iter().zip(row.iter_mut()).enumerate()
                    {
                        let at = (i * ns + s) * per;
                        let out = TrialOut {
                            metrics: out,
                            monthly: &mut monthly[at..at + per],
                        };
                        model::simulate_strategy(scn, strategy, &shared, &draws, ws, out);
                    }
                }
            },
        );
}

/// Raw-result bytes of one window of trials (per scenario simulated side by
/// side); windows are simulated while the previous one is consumed.
const WINDOW_BYTES: usize = 16 << 20;
/// Most chunks in a window.
const WINDOW_MAX_CHUNKS: usize = 64;

/// Trials per window for these scenarios: a whole number of chunks, sized so
/// that a window's raw results stay near `WINDOW_BYTES` (16 MiB).
pub fn window_trials(scns: &[&Scenario]) -> u64 {
    let per_trial: usize = scns
        .iter()
        .map(|s| s.strategies.len() * (Metric::COUNT + MonthlyMetric::COUNT * s.horizon) * 8)
        .sum();
    let chunks = (WINDOW_BYTES / per_trial.max(1) / CHUNK as usize).clamp(1, WINDOW_MAX_CHUNKS);
    chunks as u64 * CHUNK
}

/// Simulate trials `range` of every scenario in `scns` (same seed, so the
/// scenarios share common random numbers trial by trial) and hand the blocks
/// of each window to `sink` in trial order: `sink(&[block of scns[0], block
/// of scns[1], ...])`. The next window is simulated while `sink` runs, on the
/// current rayon pool. `progress` receives the trials finished (per window).
/// Stops at the first error of `sink`.
pub fn run_blocks<E: Send>(
    scns: &[&Scenario],
    seed: u64,
    range: std::ops::Range<u64>,
    progress: &(dyn Fn(u64) + Sync),
    mut sink: impl FnMut(&[Block]) -> Result<(), E> + Send,
) -> Result<(), E> {
    if range.is_empty() {
        return Ok(());
    }
    let window = window_trials(scns);
    let simulate_window = |start: u64, blocks: &mut Vec<Block>| {
        let len = (range.end - start).min(window) as usize;
        blocks.resize_with(scns.len(), Block::default);
        for (scn, block) in scns.iter().zip(blocks.iter_mut()) {
            simulate_block(scn, seed, start, len, block);
        }
        len as u64
    };
    let mut current: Vec<Block> = Vec::new();
    let mut next: Vec<Block> = Vec::new();
    let mut start = range.start;
    start += simulate_window(start, &mut current);
    progress(current.first().map_or(0, |b| b.len as u64));
    loop {
        if start < range.end {
            let (done, sunk) = rayon::join(|| simulate_window(start, &mut next), || sink(&current));
            sunk?;
            start += done;
            progress(done);
            std::mem::swap(&mut current, &mut next);
        } else {
            return sink(&current);
        }
    }
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

/// [`simulate`] on the current rayon pool: every trial kept, column-major.
/// Memory grows with `trials`; [`crate::experiment::run`] streams instead.
pub fn simulate_in_current_pool(
    scn: &Scenario,
    trials: u64,
    seed: u64,
    progress: &(dyn Fn(u64) + Sync),
) -> SimResults {
    let h = scn.horizon;
    let nt = trials as usize;
    let per = MonthlyMetric::COUNT * h;
    let mut strategies: Vec<StrategyResults> = (0..scn.strategies.len())
        .map(|_| StrategyResults {
            metrics: vec![vec![0.0; nt]; Metric::COUNT],
            monthly: vec![0.0; per * nt],
        })
        .collect();
    let collected: Result<(), std::convert::Infallible> =
        run_blocks(&[scn], seed, 0..trials, progress, |blocks| {
            let b = &blocks[0];
            let base = b.start as usize;
            for (s, res) in strategies.iter_mut().enumerate() {
                for (k, col) in res.metrics.iter_mut().enumerate() {
                    for t in 0..b.len {
                        col[base + t] = b.metric(t, s, k);
                    }
                }
                for j in 0..per {
                    let col = &mut res.monthly[j * nt..(j + 1) * nt];
                    for t in 0..b.len {
                        col[base + t] = b.monthly(t, s, j);
                    }
                }
            }
            Ok(())
        });
    let Ok(()) = collected;
    SimResults {
        trials,
        seed,
        horizon: h,
        strategies,
    }
}
