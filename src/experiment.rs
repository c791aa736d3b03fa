//! Experiments: what a user runs. A plain run, a what-if, a sweep, a
//! goal seek ([`plan`]), a sensitivity analysis ([`sensitivity`]) and a
//! batch, each a library function over a [`RunSpec`] (or a spec built on
//! one) that returns a result value; the [`crate::output`] layer turns
//! those into text, CSV, JSON and files.
//!
//! ```
//! use pipesim::experiment::{self, Axis, Objective, SweepSpec};
//! use pipesim::metrics::Metric;
//! use pipesim::scenario::overrides::Kind;
//!
//! let file = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/budget-volume-vs-quality.toml");
//! let spec = SweepSpec {
//!     axes: vec![Axis::parse("sales.reps=4,6", Kind::Set)?],
//!     trials: Some(600),
//!     ..SweepSpec::new(file, Objective::Mean(Metric::Bookings))
//! };
//! let sweep = experiment::sweep(&spec, &())?;
//! assert_eq!(sweep.runs.len(), 2);
//! // the same seed at every point: with more reps, fewer MQLs go unworked
//! let ignored = |p: usize| {
//!     let volume = &sweep.runs[p].strategies[0];
//!     volume.get(Metric::MqlsIgnored).map(|m| m.summary.mean)
//! };
//! assert!(ignored(1) < ignored(0));
//! print!("{}", pipesim::output::text::render_sweep(&sweep));
//! # Ok::<(), pipesim::Error>(())
//! ```
//!
//! Every experiment is deterministic: the same spec gives the same numbers
//! for any thread count.

mod batch;
mod plan;
mod report;
mod run;
mod sensitivity;
mod spec;
mod sweep;
mod whatif;

use std::path::Path;

use crate::engine::PoolError;
use crate::error::ScenarioError;
use crate::scenario::Scenario;
use crate::scenario::overrides::{self, Override};

pub use batch::{
    Batch, BatchFailure, BatchRun, BatchSpec, LoadedBatch, batch, batch_files, load_batch,
    run_batch, scenario_names,
};
pub use plan::{
    Cmp, Column, Evaluation, Find, Goal, Measure, Outcome, Plan, PlanSpec, is_integer_path,
    parse_amount, parse_range, plan,
};
pub use report::{
    CHARTED, CHARTED_DIFF, FAN, Report, ReportSpec, SENSITIVITY_TRIALS, WhatIfChange, report,
};
pub use run::{
    Precision, PrecisionReached, RunResult, parse_relative, relative_half_widths, result_of, run,
    run_in_pool, run_share, run_with,
};
pub use sensitivity::{
    Effect, Input, PerTrial, Sensitivity, SensitivitySpec, Target, TargetKind, Value,
    distributions_of, inputs_of, sensitivity,
};
pub use spec::{
    MAX_SERIES, MAX_THREADS, MAX_WORK, MAX_WORK_PER_TRIAL, RunSpec, run_series, within_work_limits,
};
pub use sweep::{
    Axis, Crossover, MAX_POINTS, Objective, POINT_PARALLEL_CHUNKS_PER_THREAD, Sweep, SweepSpec,
    best_point, crossovers, grid, near_best, point_overrides, point_ranges, sweep,
};
pub use whatif::{DecisionRow, MATERIAL_P, Preferred, WhatIf, WhatIfRow, whatif};

/// Why an experiment could not run or did not fully succeed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A scenario could not be read, parsed, changed or validated.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// A setting of the experiment is out of range or malformed: `what`
    /// names it as the user wrote it, `message` says what is valid.
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
    /// A what-if's change altered the set of strategies.
    #[error(
        "the change alters the strategies ({plan} before, {changed} after); a what-if compares the same strategies"
    )]
    WhatIfStrategies { plan: String, changed: String },
    /// A figure of the run is non-finite or overflowed (the inputs'
    /// extreme tails): nothing is reported.
    #[error(transparent)]
    Figure(#[from] crate::analysis::guard::FigureError),
    /// The worker threads could not be started.
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// The per-trial sink (e.g. `trials.csv`) failed.
    #[error("writing trials.csv")]
    Sink(#[source] std::io::Error),
    /// The run's estimated work is above the limits
    /// ([`MAX_WORK_PER_TRIAL`], [`MAX_WORK`]).
    #[error("the run is too large: {estimate}; {how}")]
    TooMuchWork { estimate: String, how: &'static str },
    /// The scenario has more series than a run may accumulate
    /// ([`MAX_SERIES`]).
    #[error(
        "{strategies} strategies × {horizon} months make {series} series to accumulate, more than the {limit} a run can hold in bounded memory; use fewer strategies or a shorter horizon"
    )]
    TooManySeries {
        strategies: usize,
        horizon: usize,
        series: u64,
        limit: u64,
    },
    /// The accumulated statistics outgrew their memory limit.
    #[error(transparent)]
    TooLarge(#[from] crate::accum::TooLarge),
    /// A partial result of a sharded run cannot be read or does not fit
    /// the others (`pipesim merge`).
    #[error("{}: {message}", file.display())]
    Part {
        file: std::path::PathBuf,
        message: String,
    },
    /// Some scenarios of a batch failed (the others ran).
    #[error("{failed} of {total} scenarios failed")]
    ScenariosFailed {
        failed: usize,
        total: usize,
        /// Every failure was bad input (exit code 2 rather than 1).
        input_only: bool,
    },
}

impl Error {
    /// Is this the user's input (a scenario, a change, a setting) rather
    /// than the machine (threads, disk)? The CLI exits 2 for input, 1
    /// otherwise.
    pub fn is_input(&self) -> bool {
        match self {
            Error::Scenario(_)
            | Error::Invalid { .. }
            | Error::WhatIfStrategies { .. }
            | Error::Figure(_)
            | Error::TooMuchWork { .. }
            | Error::TooManySeries { .. }
            | Error::TooLarge(_)
            | Error::Part { .. } => true,
            Error::ScenariosFailed { input_only, .. } => *input_only,
            Error::Pool(_) | Error::Sink(_) => false,
        }
    }

    /// An [`Error::Invalid`].
    pub fn invalid(what: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Invalid {
            what: what.into(),
            message: message.into(),
        }
    }
}

/// Receives an experiment's progress (for a progress bar); every method
/// does nothing by default, and `()` is the observer that ignores it all.
pub trait Progress: Sync {
    /// A run of `trials` trials starts (a sweep announces all its points'
    /// trials at once).
    fn begin(&self, _trials: u64) {}
    /// What is being done now (e.g. `point 3/12`).
    fn stage(&self, _message: &str) {}
    /// `trials` more trials finished.
    fn advance(&self, _trials: u64) {}
    /// An adaptive run finished a batch: `done` trials so far, the worst
    /// relative half-width `worst` against the `precision` asked for.
    fn precision_batch(&self, _done: u64, _worst: f64, _precision: &Precision) {}
}

impl Progress for () {}

/// Load a scenario file with `changes` (`--set`/`--scale`) applied.
pub fn load(file: &Path, changes: &[Override]) -> Result<Scenario, Error> {
    Ok(overrides::load(file, changes)?)
}

/// An error and its causes, `: `-separated (what the CLI prints).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}
