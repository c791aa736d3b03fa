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
//! number of threads. Windows are sized by bytes ([`window_trials`]: about
//! 16 MiB of raw results, two held at once), so the engine's memory does
//! not grow with strategies × horizon beyond one trial's results.
//! [`run_blocks`] streams windows to a consumer (memory bounded by two
//! windows); [`simulate`] keeps every trial, for tests and
//! library users who want the raw values.

use rayon::prelude::*;

use crate::metrics::{Metric, MonthlyMetric};
use crate::model::{self, TrialOut, Workspace};
use crate::params::{self, TrialDraws};
use crate::scenario::Scenario;

/// Trials per work unit of a window of at least that many trials (a window
/// of fewer, for scenarios whose trials are large, is cut into single
/// trials). Never depends on the thread count; and since every trial seeds
/// its own streams, no number depends on how a window is cut either.
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
    /// `monthly[j * trials + trial]` for detail value `j` of
    /// [`crate::metrics::Layout`] (the monthly series first: `j = mm *
    /// horizon + month`).
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
        self.detail(strategy, mm.index() * self.horizon + month)
    }

    /// Detail value `j` ([`crate::metrics::Layout`]) of one strategy, across trials.
    pub fn detail(&self, strategy: usize, j: usize) -> &[f64] {
        let n = self.trials as usize;
        &self.strategies[strategy].monthly[j * n..(j + 1) * n]
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
    /// `monthly[(t * strategies + s) * per + j]`: the detail values of
    /// [`crate::metrics::Layout`] (the monthly series first, `j = mm *
    /// horizon + month`).
    pub monthly: Vec<f64>,
    /// Detail values per strategy and trial ([`crate::metrics::Layout::len`]).
    pub per: usize,
}

impl Block {
    /// Detail values (monthly series first) per trial and strategy.
    pub fn per_trial_monthly(&self) -> usize {
        self.per
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
    simulate_block_in_units(scn, seed, start, len, CHUNK as usize, None, block);
}

/// [`simulate_block`] cut into work units of `unit` trials, of every
/// strategy or of those in `only` (the block's strategy `i` is then
/// `only[i]`).
fn simulate_block_in_units(
    scn: &Scenario,
    seed: u64,
    start: u64,
    len: usize,
    unit: usize,
    only: Option<&[usize]>,
    block: &mut Block,
) {
    let all: Vec<usize>;
    let selected = match only {
        Some(s) => s,
        None => {
            all = (0..scn.strategies.len()).collect();
            &all
        }
    };
    let ns = selected.len();
    let per = scn.layout().len();
    block.per = per;
    block.start = start;
    block.len = len;
    block.strategies = ns;
    block.horizon = scn.horizon;
    block.metrics.clear();
    block.metrics.resize(len * ns, [0.0; Metric::COUNT]);
    block.monthly.clear();
    block.monthly.resize(len * ns * per, 0.0);
    let chunk = unit.max(1);
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
                    model::prepare_trial(scn, &shared, &draws, ws);
                    let strategies = selected.iter().filter_map(|&s| scn.strategies.get(s));
                    for (s, (strategy, out)) in strategies.zip(row.iter_mut()).enumerate() {
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
/// side); windows are simulated while the previous one is consumed, so two
/// are held.
pub const WINDOW_BYTES: usize = 16 << 20;
/// Most chunks in a window.
const WINDOW_MAX_CHUNKS: usize = 64;

/// Raw-result bytes of one trial of these scenarios (every strategy's
/// metrics and monthly values).
pub fn trial_bytes(scns: &[&Scenario]) -> usize {
    scns.iter()
        .map(|s| {
            s.strategies
                .len()
                .saturating_mul(Metric::COUNT + s.layout().len())
                .saturating_mul(8)
        })
        .fold(0, usize::saturating_add)
}

/// Trials per window for these scenarios, sized so that a window's raw
/// results stay within [`WINDOW_BYTES`] (16 MiB): a whole number of chunks
/// when a chunk fits (at most 64), else as many single trials as fit, and
/// at least one trial (whose results may then exceed 16 MiB: one trial of
/// 150 strategies × 600 months is 4.3 MB).
pub fn window_trials(scns: &[&Scenario]) -> u64 {
    let fit = WINDOW_BYTES / trial_bytes(scns).max(1);
    let chunk = CHUNK as usize;
    if fit >= chunk {
        ((fit / chunk).min(WINDOW_MAX_CHUNKS) * chunk) as u64
    } else {
        fit.max(1) as u64
    }
}

/// Bytes of raw results the engine holds at once for these scenarios: two
/// windows (one simulated while the other is consumed).
pub fn planned_window_bytes(scns: &[&Scenario]) -> u64 {
    2 * window_trials(scns) * trial_bytes(scns) as u64
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
    sink: impl FnMut(&[Block]) -> Result<(), E> + Send,
) -> Result<(), E> {
    run_windows(scns, None, seed, range, progress, sink)
}

/// [`run_blocks`] of one scenario, simulating only the strategies in
/// `only` (scenario indices, in the order the block holds them): a
/// strategy's numbers do not depend on which others run beside it
/// (MODEL.md, "Shared parameters"), so a goal seek or a swing that needs
/// one strategy does not pay for the rest.
pub fn run_blocks_of<E: Send>(
    scn: &Scenario,
    only: &[usize],
    seed: u64,
    range: std::ops::Range<u64>,
    progress: &(dyn Fn(u64) + Sync),
    sink: impl FnMut(&[Block]) -> Result<(), E> + Send,
) -> Result<(), E> {
    run_windows(&[scn], Some(only), seed, range, progress, sink)
}

fn run_windows<E: Send>(
    scns: &[&Scenario],
    only: Option<&[usize]>,
    seed: u64,
    range: std::ops::Range<u64>,
    progress: &(dyn Fn(u64) + Sync),
    mut sink: impl FnMut(&[Block]) -> Result<(), E> + Send,
) -> Result<(), E> {
    if range.is_empty() {
        return Ok(());
    }
    let window = window_trials(scns);
    let unit = if window >= CHUNK { CHUNK as usize } else { 1 };
    let simulate_window = |start: u64, blocks: &mut Vec<Block>| {
        let len = (range.end - start).min(window) as usize;
        blocks.resize_with(scns.len(), Block::default);
        for (scn, block) in scns.iter().zip(blocks.iter_mut()) {
            simulate_block_in_units(scn, seed, start, len, unit, only, block);
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

/// Most worker threads per available core ([`capped_threads`]).
pub const THREADS_PER_CORE: usize = 4;

/// Cores available to the process (`std::thread::available_parallelism`,
/// 1 when unknown).
pub fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// The worker threads a run uses for `requested` (0 = one per core): at
/// most [`THREADS_PER_CORE`] × the available cores, since more threads only
/// add scheduling and memory traffic (1,024 threads ran 18× slower than 2
/// on two cores). Returns the count and, when it was capped, a note saying
/// so. Results never depend on it.
pub fn capped_threads(requested: usize) -> (usize, Option<String>) {
    let cores = available_cores();
    let most = THREADS_PER_CORE.saturating_mul(cores);
    if requested > most {
        let note = format!(
            "--threads {requested}: using {most} worker threads ({THREADS_PER_CORE} per available core, {cores} cores); more only slow a run down"
        );
        (most, Some(note))
    } else {
        (requested, None)
    }
}

/// A rayon pool with `threads` workers (0 = one per core), capped by
/// [`capped_threads`]. Run [`simulate`] and the statistics inside its
/// `install` to bound the threads used.
pub fn thread_pool(threads: usize) -> Result<rayon::ThreadPool, PoolError> {
    let (threads, _) = capped_threads(threads);
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
    let per = scn.layout().len();
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
