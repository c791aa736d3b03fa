//! [`RunSpec`]: what to run — the scenario, trials, seed, threads,
//! precision target and quantile budget — checked in one place, with the
//! limits that bound a run's time and memory:
//!
//! - **work**: the estimated work ([`crate::model::work`]: expected
//!   opportunities plus channel-months, from the parameters' means) may be
//!   at most [`MAX_WORK_PER_TRIAL`] per trial and [`MAX_WORK`] for the run
//!   (the trials, or `--max-trials` with a precision target), unless the
//!   spec allows a large run (`--allow-large-run`);
//! - **memory**: the series a run accumulates (12 metrics, 6 × horizon
//!   monthly values and, but for the baseline, 12 paired differences per
//!   strategy) must leave half of [`ACCUM_LIMIT_BYTES`] for their values:
//!   at most [`MAX_SERIES`] (about 395 strategies at 600 months). No flag
//!   lifts this one.

use crate::accum::{ACCUM_LIMIT_BYTES, EXACT_BUDGET_BYTES, SERIES_FIXED_BYTES};
use crate::metrics::Metric;
use crate::model::work::{self, WorkEstimate};
use crate::scenario::Scenario;

use super::{Error, Precision};

/// Most worker threads a run may ask for (the engine then uses at most
/// [`crate::engine::THREADS_PER_CORE`] per available core).
pub const MAX_THREADS: usize = 1024;

/// Most estimated work units (opportunities + channel-months) per trial:
/// 10⁷, a few seconds of one core. The shipped scenarios need 1,000–3,000.
pub const MAX_WORK_PER_TRIAL: f64 = 1e7;

/// Most estimated work units of a whole run: 10¹¹, roughly half an hour on
/// two cores. The shipped scenarios at 10⁷ trials need 1.3·10¹⁰–3·10¹⁰.
pub const MAX_WORK: f64 = 1e11;

/// Most series a run may accumulate: their fixed state
/// ([`SERIES_FIXED_BYTES`] each) takes at most half of
/// [`ACCUM_LIMIT_BYTES`].
pub const MAX_SERIES: u64 = ACCUM_LIMIT_BYTES / 2 / SERIES_FIXED_BYTES;

/// The series a run of `scn` accumulates (see
/// [`crate::analysis::run_sources`]): per strategy its metrics and monthly
/// values, per non-baseline strategy its paired differences.
pub fn run_series(scn: &Scenario) -> u64 {
    let ns = scn.strategies.len() as u64;
    // the detail values but the coverage of the quarter after the last
    let layout = scn.layout();
    let unreported = usize::from(scn.quota.is_some());
    let per = (Metric::COUNT + layout.len() - unreported) as u64;
    ns * per + ns.saturating_sub(1) * Metric::COUNT as u64
}

/// A count for a message: `1.23e10`.
fn quantity(x: f64) -> String {
    format!("{x:.3e}")
}

/// Is a run of `trials` trials of this estimate within the work limits?
pub fn within_work_limits(w: &WorkEstimate, trials: u64) -> bool {
    w.per_trial() <= MAX_WORK_PER_TRIAL && w.total(trials) <= MAX_WORK
}

/// Refuse a run whose estimated work exceeds the limits.
fn check_work(w: &WorkEstimate, trials: u64) -> Result<(), Error> {
    let per = w.per_trial();
    let total = w.total(trials);
    let how = "use fewer trials (--trials) or smaller volumes, or pass --allow-large-run to run it anyway";
    // NaN (an undefined mean) counts as too much
    if !(per <= MAX_WORK_PER_TRIAL) {
        return Err(Error::TooMuchWork {
            estimate: format!(
                "about {} opportunities and {} channel-months per trial, above the limit of {} per trial",
                quantity(w.opportunities),
                quantity(w.channel_months),
                quantity(MAX_WORK_PER_TRIAL)
            ),
            how: "check the volumes and conversions, or pass --allow-large-run to run it anyway",
        });
    }
    if !(total <= MAX_WORK) {
        return Err(Error::TooMuchWork {
            estimate: format!(
                "about {} work units ({} opportunities and channel-months per trial × {} trials), above the limit of {} per run",
                quantity(total),
                quantity(per),
                quantity(trials as f64),
                quantity(MAX_WORK)
            ),
            how,
        });
    }
    Ok(())
}

/// A run of one scenario.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// The scenario, with any changes already applied.
    pub scenario: Scenario,
    /// Trials to run (the first batch, with a precision target).
    pub trials: u64,
    /// Master seed.
    pub seed: u64,
    /// Worker threads, 0 = one per core. Results do not depend on it.
    pub threads: usize,
    /// Add trials until this precision is reached.
    pub precision: Option<Precision>,
    /// Bytes of kept values for exact quantiles (beyond: the sketch).
    pub exact_budget: u64,
    /// Run even above the work limits ([`MAX_WORK`], [`MAX_WORK_PER_TRIAL`]).
    pub allow_large_run: bool,
}

impl RunSpec {
    /// The scenario's own trials and seed, one thread per core, no
    /// precision target, the default exact-quantile budget.
    pub fn new(scenario: Scenario) -> RunSpec {
        RunSpec {
            trials: scenario.trials,
            seed: scenario.seed,
            scenario,
            threads: 0,
            precision: None,
            exact_budget: EXACT_BUDGET_BYTES,
            allow_large_run: false,
        }
    }

    /// Run even above the work limits.
    pub fn allow_large_run(mut self, allow: bool) -> RunSpec {
        self.allow_large_run = allow;
        self
    }

    /// Another trial count, when given.
    pub fn trials(mut self, trials: Option<u64>) -> RunSpec {
        if let Some(t) = trials {
            self.trials = t;
        }
        self
    }

    /// Another seed, when given.
    pub fn seed(mut self, seed: Option<u64>) -> RunSpec {
        if let Some(s) = seed {
            self.seed = s;
        }
        self
    }

    /// Worker threads (0 = one per core).
    pub fn threads(mut self, threads: usize) -> RunSpec {
        self.threads = threads;
        self
    }

    /// Add trials until `precision` is reached.
    pub fn precision(mut self, precision: Option<Precision>) -> RunSpec {
        self.precision = precision;
        self
    }

    /// Another exact-quantile budget (0 = quantiles always from the sketch).
    pub fn exact_budget(mut self, bytes: u64) -> RunSpec {
        self.exact_budget = bytes;
        self
    }

    /// Check every setting; each experiment calls this before it starts.
    pub fn check(&self) -> Result<(), Error> {
        check_trials(self.trials)?;
        if self.threads > MAX_THREADS {
            return Err(Error::invalid(
                format!("--threads {}", self.threads),
                format!("expected 0 (one per core) to {MAX_THREADS}"),
            ));
        }
        if let Some(p) = &self.precision {
            if !(p.target > 0.0 && p.target < 1.0) {
                return Err(Error::invalid(
                    format!("--precision {}", p.target),
                    "expected a relative half-width between 0 and 100%, e.g. 0.5% or 0.005",
                ));
            }
            if p.max_trials < 2 {
                return Err(Error::invalid("--max-trials", "expected at least 2"));
            }
        }
        self.check_size()
    }

    /// The memory and work limits (module docs); a sweep checks every
    /// point with this before running any.
    pub fn check_size(&self) -> Result<(), Error> {
        let scn = &self.scenario;
        let series = run_series(scn);
        if series > MAX_SERIES {
            return Err(Error::TooManySeries {
                strategies: scn.strategies.len(),
                horizon: scn.horizon,
                series,
                limit: MAX_SERIES,
            });
        }
        if !self.allow_large_run {
            let trials = match &self.precision {
                Some(p) => p.max_trials.max(self.trials),
                None => self.trials,
            };
            check_work(&work::estimate(scn), trials)?;
        }
        Ok(())
    }

    /// The scenario as run: its `seed` and `trials` those of the spec.
    pub fn resolved(&self) -> Scenario {
        let mut scn = self.scenario.clone();
        scn.seed = self.seed;
        scn.trials = self.trials;
        scn
    }
}

/// At least 2 trials (a standard deviation needs two).
pub(super) fn check_trials(trials: u64) -> Result<(), Error> {
    if trials < 2 {
        return Err(Error::invalid(
            format!("--trials {trials}"),
            "expected at least 2 trials",
        ));
    }
    Ok(())
}
