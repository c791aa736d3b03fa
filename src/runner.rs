//! Whole runs with bounded memory: simulate window by window, accumulate
//! the statistics as the trials arrive, optionally stream every trial to a
//! writer, and optionally keep adding trials until a requested precision is
//! reached.
//!
//! Memory does not grow with the trial count beyond the exact-quantile
//! budget ([`crate::accum::EXACT_BUDGET_BYTES`]): a window of raw results,
//! and one accumulator per series. Results depend only on the scenario, the
//! seed and the trial count (or the precision target), never on threads.

use crate::accum::{Accumulator, EXACT_BUDGET_BYTES, Source};
use crate::engine::{self, Block, CHUNK};
use crate::metrics::Metric;
use crate::scenario::Scenario;
use crate::stats::{self, Analysis};

/// Called with every window's blocks, in trial order (e.g. to write
/// `trials.csv`).
pub type TrialSink<'a, E> = &'a mut (dyn FnMut(&Block) -> Result<(), E> + Send);

/// Stop rule of an adaptive run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Precision {
    /// Wanted relative half-width of the CI of the mean (0.005 = ±0.5%).
    pub target: f64,
    /// The metric whose mean must be that precise, in every strategy.
    pub metric: Metric,
    /// Trials of the first batch.
    pub initial_trials: u64,
    /// Never run more trials than this.
    pub max_trials: u64,
}

/// Where an adaptive run stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct PrecisionReached {
    pub target: f64,
    pub metric: Metric,
    /// Relative half-width reached, per strategy (scenario order).
    pub reached: Vec<f64>,
    /// The worst of `reached`.
    pub worst: f64,
    /// Was the target met (or did the trial cap stop the run)?
    pub met: bool,
    pub trials: u64,
}

/// Run `trials` trials and summarise them. `per_trial` sees every block.
/// Uses the current rayon pool.
pub fn run<E: Send>(
    scn: &Scenario,
    trials: u64,
    seed: u64,
    progress: &(dyn Fn(u64) + Sync),
    per_trial: Option<TrialSink<'_, E>>,
) -> Result<Analysis, E> {
    run_with_budget(scn, trials, seed, EXACT_BUDGET_BYTES, progress, per_trial)
}

/// [`run`] with another budget for exact quantiles (bytes of kept values;
/// 0 = quantiles always from the sketch).
pub fn run_with_budget<E: Send>(
    scn: &Scenario,
    trials: u64,
    seed: u64,
    exact_budget: u64,
    progress: &(dyn Fn(u64) + Sync),
    per_trial: Option<TrialSink<'_, E>>,
) -> Result<Analysis, E> {
    let mut acc = Accumulator::with_budget(stats::run_sources(scn), Some(trials), exact_budget);
    feed(scn, seed, 0..trials, &mut acc, progress, per_trial)?;
    Ok(stats::analyze_acc(scn, &acc))
}

fn feed<E: Send>(
    scn: &Scenario,
    seed: u64,
    range: std::ops::Range<u64>,
    acc: &mut Accumulator,
    progress: &(dyn Fn(u64) + Sync),
    mut per_trial: Option<TrialSink<'_, E>>,
) -> Result<(), E> {
    engine::run_blocks(&[scn], seed, range, progress, |blocks: &[Block]| {
        if let Some(sink) = per_trial.as_mut() {
            sink(&blocks[0])?;
        }
        acc.push(blocks);
        Ok(())
    })
}

/// Relative half-width of the CI of the mean of `metric`, per strategy
/// (infinite when the mean is 0 or the metric is undefined).
pub fn relative_half_widths(scn: &Scenario, acc: &Accumulator, metric: Metric) -> Vec<f64> {
    (0..scn.strategies.len())
        .map(|s| {
            let source = Source::Metric {
                b: 0,
                s,
                k: metric.index(),
            };
            match acc.get(source) {
                Some(a) if a.all_finite() => {
                    let (mean, se) = a.mean_se();
                    let t = stats::t_quantile(0.5 + 0.5 * scn.ci, (a.n().max(2) - 1) as f64);
                    let rel = t * se / mean.abs();
                    if rel.is_nan() { f64::INFINITY } else { rel }
                }
                _ => f64::INFINITY,
            }
        })
        .collect()
}

/// Add trials in batches until the CI of the mean of `precision.metric` has
/// a relative half-width ≤ `precision.target` in every strategy, or
/// `precision.max_trials` is reached. After each batch the next batch is
/// sized from the precision reached so far (half-width ∝ 1/√n, plus 10%),
/// at least a quarter more trials, in whole chunks — so the stopping point
/// depends only on the scenario, the seed and the target. The result equals
/// a plain run of the final trial count.
pub fn run_to_precision<E: Send>(
    scn: &Scenario,
    seed: u64,
    precision: Precision,
    progress: &(dyn Fn(u64) + Sync),
    mut per_trial: Option<TrialSink<'_, E>>,
    mut on_batch: impl FnMut(u64, f64),
) -> Result<(Analysis, PrecisionReached), E> {
    let mut acc = Accumulator::new(stats::run_sources(scn), None);
    let mut done = 0;
    let mut next = precision
        .initial_trials
        .clamp(2, precision.max_trials.max(2));
    loop {
        feed(
            scn,
            seed,
            done..next,
            &mut acc,
            progress,
            per_trial.as_mut().map(|s| &mut **s as _),
        )?;
        done = next;
        let reached = relative_half_widths(scn, &acc, precision.metric);
        let worst = reached.iter().copied().fold(0.0, f64::max);
        on_batch(done, worst);
        let met = worst <= precision.target;
        if met || done >= precision.max_trials {
            let analysis = stats::analyze_acc(scn, &acc);
            return Ok((
                analysis,
                PrecisionReached {
                    target: precision.target,
                    metric: precision.metric,
                    reached,
                    worst,
                    met,
                    trials: done,
                },
            ));
        }
        let ratio = worst / precision.target;
        let wanted = if ratio.is_finite() {
            (done as f64 * ratio * ratio * 1.1).ceil()
        } else {
            done as f64 * 2.0
        };
        let wanted = wanted
            .max(done as f64 * 1.25)
            .min(precision.max_trials as f64) as u64;
        next = wanted
            .div_ceil(CHUNK)
            .saturating_mul(CHUNK)
            .min(precision.max_trials)
            .max(done + 1);
    }
}
