//! Whole runs with bounded memory: simulate window by window, accumulate
//! the statistics as the trials arrive, optionally stream every trial to a
//! [`TrialSink`], and optionally keep adding trials until a requested
//! precision is reached.
//!
//! Memory does not grow with the trial count beyond the exact-quantile
//! budget ([`crate::accum::EXACT_BUDGET_BYTES`]): a window of raw results,
//! and one accumulator per series. Results depend only on the scenario, the
//! seed and the trial count (or the precision target), never on threads.

use crate::accum::{Accumulator, Source};
use crate::analysis::{self, Analysis};
use crate::engine::{self, Block, CHUNK, TrialSink};
use crate::metrics::Metric;
use crate::scenario::Scenario;
use crate::stats;

use super::{Error, Progress, RunSpec};

/// Stop rule of an adaptive run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Precision {
    /// Wanted relative half-width of the CI of the mean (0.005 = ±0.5%).
    pub target: f64,
    /// The metric whose mean must be that precise, in every strategy.
    pub metric: Metric,
    /// Never run more trials than this (the first batch is the spec's
    /// trials, capped at this).
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

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The scenario as run: seed and trials those actually used.
    pub scenario: Scenario,
    pub analysis: Analysis,
    /// Where an adaptive run stopped (`None` without a precision target).
    pub precision: Option<PrecisionReached>,
}

/// Parse a relative precision: `0.5%` or `0.005`, strictly between 0 and 1.
pub fn parse_relative(text: &str) -> Result<f64, Error> {
    let t = text.trim();
    let x = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|x| x / 100.0),
        None => t.parse::<f64>(),
    };
    match x {
        Ok(x) if x > 0.0 && x < 1.0 => Ok(x),
        _ => Err(Error::invalid(
            format!("--precision {text:?}"),
            "expected a relative half-width between 0 and 100%, e.g. 0.5% or 0.005",
        )),
    }
}

/// Run `spec` on its own thread pool: `spec.trials` trials, or with a
/// precision target as many as it takes. `sink` sees every window's
/// trials in order.
pub fn run(
    spec: &RunSpec,
    progress: &dyn Progress,
    sink: Option<&mut dyn TrialSink>,
) -> Result<RunResult, Error> {
    spec.check()?;
    let pool = engine::thread_pool(spec.threads)?;
    pool.install(|| run_checked(spec, progress, sink))
}

/// [`run`] on the current rayon pool (sweeps and batches run many specs
/// on one pool); `spec.threads` is not used.
pub fn run_in_pool(
    spec: &RunSpec,
    progress: &dyn Progress,
    sink: Option<&mut dyn TrialSink>,
) -> Result<RunResult, Error> {
    spec.check()?;
    run_checked(spec, progress, sink)
}

/// [`run`], and `inspect` applied to the run's accumulated series before
/// they are dropped (a report reads distribution shapes from them). The
/// run's numbers are those of [`run`].
pub fn run_with<T>(
    spec: &RunSpec,
    progress: &dyn Progress,
    sink: Option<&mut dyn TrialSink>,
    inspect: impl FnOnce(&Scenario, &Accumulator) -> T + Send,
) -> Result<(RunResult, T), Error>
where
    T: Send,
{
    spec.check()?;
    let pool = engine::thread_pool(spec.threads)?;
    pool.install(|| run_checked_with(spec, progress, sink, inspect))
}

/// One share of `spec`'s run — trials `share`, whole chunks from a chunk
/// boundary — on its own thread pool: the accumulated state of those
/// trials, exact exactly when the whole run's would be, for
/// [`Accumulator::concat`] with the other shares and [`result_of`]. Every
/// trial draws the numbers it draws in the whole run.
pub fn run_share(
    spec: &RunSpec,
    share: std::ops::Range<u64>,
    progress: &dyn Progress,
) -> Result<Accumulator, Error> {
    spec.check()?;
    if spec.precision.is_some() {
        return Err(Error::invalid(
            "--precision with --shard",
            "a sharded run has a fixed number of trials; give --trials instead",
        ));
    }
    if !share.start.is_multiple_of(CHUNK) || share.end < share.start || share.end > spec.trials {
        return Err(Error::invalid(
            format!("trials {}..{}", share.start, share.end),
            format!(
                "a share starts at a multiple of {CHUNK} and ends by trial {}",
                spec.trials
            ),
        ));
    }
    let scn = &spec.scenario;
    let pool = engine::thread_pool(spec.threads)?;
    pool.install(|| {
        progress.begin(share.end - share.start);
        let mut acc = Accumulator::for_shard(
            analysis::run_sources(scn),
            spec.trials,
            spec.exact_budget,
            share.start,
        );
        feed(scn, spec.seed, share, &mut acc, progress, &mut None)?;
        Ok(acc)
    })
}

/// The result of `spec`'s run from the state of all its trials (its
/// shares joined): what [`run`] returns, to the bit.
pub fn result_of(spec: &RunSpec, acc: &Accumulator) -> Result<RunResult, Error> {
    if acc.start() != 0 || acc.trials() != spec.trials {
        return Err(Error::invalid(
            format!("trials {}..{}", acc.start(), acc.start() + acc.trials()),
            format!("the run has trials 0..{}", spec.trials),
        ));
    }
    let analysis = analyzed(&spec.scenario, acc)?;
    let mut scenario = spec.resolved();
    scenario.trials = analysis.trials;
    Ok(RunResult {
        scenario,
        analysis,
        precision: None,
    })
}

/// [`run_in_pool`] of a spec already checked.
fn run_checked(
    spec: &RunSpec,
    progress: &dyn Progress,
    sink: Option<&mut dyn TrialSink>,
) -> Result<RunResult, Error> {
    run_checked_with(spec, progress, sink, |_, _| ()).map(|(r, ())| r)
}

fn run_checked_with<T>(
    spec: &RunSpec,
    progress: &dyn Progress,
    sink: Option<&mut dyn TrialSink>,
    inspect: impl FnOnce(&Scenario, &Accumulator) -> T,
) -> Result<(RunResult, T), Error> {
    let scn = &spec.scenario;
    let (analysis, precision, seen) = match spec.precision {
        None => {
            progress.begin(spec.trials);
            let mut acc = Accumulator::with_budget(
                analysis::run_sources(scn),
                Some(spec.trials),
                spec.exact_budget,
            );
            let mut sink = sink;
            feed(
                scn,
                spec.seed,
                0..spec.trials,
                &mut acc,
                progress,
                &mut sink,
            )?;
            let analysis = analyzed(scn, &acc)?;
            (analysis, None, inspect(scn, &acc))
        }
        Some(p) => {
            let (acc, r) = run_to_precision(spec, p, progress, sink)?;
            let analysis = analyzed(scn, &acc)?;
            (analysis, Some(r), inspect(scn, &acc))
        }
    };
    let mut scenario = spec.resolved();
    scenario.trials = analysis.trials;
    let result = RunResult {
        scenario,
        analysis,
        precision,
    };
    Ok((result, seen))
}

fn feed(
    scn: &Scenario,
    seed: u64,
    range: std::ops::Range<u64>,
    acc: &mut Accumulator,
    progress: &dyn Progress,
    sink: &mut Option<&mut dyn TrialSink>,
) -> Result<(), Error> {
    engine::run_blocks(
        &[scn],
        seed,
        range,
        &|n| progress.advance(n),
        |blocks: &[Block]| {
            if let Some(s) = sink.as_mut() {
                s.write_block(&blocks[0]).map_err(Error::Sink)?;
            }
            acc.push(blocks)?;
            Ok(())
        },
    )
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
/// a plain run of the final trial count. Returns the accumulated series.
fn run_to_precision(
    spec: &RunSpec,
    precision: Precision,
    progress: &dyn Progress,
    mut sink: Option<&mut dyn TrialSink>,
) -> Result<(Accumulator, PrecisionReached), Error> {
    let scn = &spec.scenario;
    let mut acc = Accumulator::with_budget(analysis::run_sources(scn), None, spec.exact_budget);
    let mut done = 0;
    let mut next = spec
        .trials
        .min(precision.max_trials)
        .clamp(2, precision.max_trials.max(2));
    progress.begin(next);
    loop {
        feed(scn, spec.seed, done..next, &mut acc, progress, &mut sink)?;
        done = next;
        let reached = relative_half_widths(scn, &acc, precision.metric);
        let worst = reached.iter().copied().fold(0.0, f64::max);
        progress.precision_batch(done, worst, &precision);
        let met = worst <= precision.target;
        if met || done >= precision.max_trials {
            return Ok((
                acc,
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

/// The analysis of a finished run, once every figure is checked finite and
/// in range ([`analysis::guard`]).
fn analyzed(scn: &Scenario, acc: &Accumulator) -> Result<Analysis, Error> {
    analysis::guard::check(&[scn], acc)?;
    Ok(analysis::analyze_acc(scn, acc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_accepts_percent_and_fraction() {
        assert_eq!(parse_relative("0.5%").ok(), Some(0.005));
        assert_eq!(parse_relative("0.005").ok(), Some(0.005));
        assert!(parse_relative("0").is_err());
        assert!(parse_relative("150%").is_err());
    }
}
