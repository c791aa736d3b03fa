//! [`RunSpec`]: what to run — the scenario, trials, seed, threads,
//! precision target and quantile budget — checked in one place.

use crate::accum::EXACT_BUDGET_BYTES;
use crate::scenario::Scenario;

use super::{Error, Precision};

/// Most worker threads a run may ask for.
pub const MAX_THREADS: usize = 1024;

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
        }
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
