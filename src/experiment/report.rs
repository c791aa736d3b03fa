//! The board report's experiment: one run (the numbers every table of the
//! report states, equal to `run --out` at the same seed), the shapes its
//! charts draw, a sensitivity analysis of the decision (tornado and
//! EVPPI) and any what-ifs, gathered in one [`Report`]. The HTML is the
//! output layer's ([`crate::output::report`]).

use crate::analysis::shape::{self, Shapes};
use crate::engine::TrialSink;
use crate::metrics::{Metric, MonthlyMetric};
use crate::scenario::Scenario;

use super::{
    Error, Input, Progress, RunResult, RunSpec, Sensitivity, SensitivitySpec, WhatIf,
    distributions_of, run_with, sensitivity, whatif,
};

/// The metrics whose distributions a report draws per strategy.
pub const CHARTED: [Metric; 3] = [Metric::Bookings, Metric::Revenue, Metric::ArrEnd];

/// The metrics whose paired difference a report draws.
pub const CHARTED_DIFF: [Metric; 1] = [Metric::Bookings];

/// The monthly series of the fan chart: MRR from the deals of the
/// horizon (the existing book is the same in every strategy).
pub const FAN: MonthlyMetric = MonthlyMetric::MrrEnd;

/// Most trials the report's sensitivity analysis keeps in memory (the
/// first trials of the run).
pub const SENSITIVITY_TRIALS: u64 = 20_000;

/// A what-if of a report: the plan with changes, under a label.
#[derive(Debug, Clone)]
pub struct WhatIfChange {
    /// How the report names it (the changes as written).
    pub label: String,
    /// The report's scenario with the changes applied.
    pub scenario: Scenario,
}

/// What to put in a report.
#[derive(Debug, Clone)]
pub struct ReportSpec {
    pub run: RunSpec,
    pub whatifs: Vec<WhatIfChange>,
    /// Include the sensitivity analysis (tornado, EVPPI).
    pub sensitivity: bool,
    /// Trials of the sensitivity analysis, at most the run's.
    pub sensitivity_trials: u64,
}

impl ReportSpec {
    pub fn new(run: RunSpec) -> ReportSpec {
        ReportSpec {
            run,
            whatifs: Vec::new(),
            sensitivity: true,
            sensitivity_trials: SENSITIVITY_TRIALS,
        }
    }
}

/// Everything a report shows.
#[derive(Debug, Clone)]
pub struct Report {
    /// The run: every figure in the report's tables.
    pub run: RunResult,
    pub shapes: Shapes,
    /// Every uncertain per-trial input (the assumptions).
    pub inputs: Vec<Input>,
    /// The distributions drawn per deal (deal size, cycle length).
    pub per_deal: Vec<Input>,
    pub sensitivity: Option<Sensitivity>,
    /// Why there is no sensitivity analysis, when there is none.
    pub sensitivity_skipped: Option<String>,
    pub whatifs: Vec<(String, WhatIf)>,
}

/// Run the report's experiments: the run (streaming its trials to `sink`),
/// then the sensitivity analysis on its first trials, then each what-if
/// at the run's trial count.
pub fn report(
    spec: &ReportSpec,
    progress: &dyn Progress,
    sink: Option<&mut dyn TrialSink>,
) -> Result<Report, Error> {
    spec.run.check()?;
    for w in &spec.whatifs {
        RunSpec {
            scenario: w.scenario.clone(),
            ..spec.run.clone()
        }
        .check()?;
    }
    progress.stage("run");
    let (run, shapes) = run_with(&spec.run, progress, sink, |scn, acc| {
        shape::shapes(scn, acc, &CHARTED, &CHARTED_DIFF, FAN)
    })?;
    let trials = run.analysis.trials;
    let (inputs, per_deal) = distributions_of(&run.scenario);
    let plan = spec.run.clone().trials(Some(trials)).precision(None);
    let (sens, sensitivity_skipped) = if !spec.sensitivity {
        (None, Some("not asked for (--no-sensitivity)".to_string()))
    } else if inputs.is_empty() {
        (
            None,
            Some("the scenario has no uncertain per-trial input".to_string()),
        )
    } else {
        progress.stage("sensitivity");
        let n = trials.min(spec.sensitivity_trials.max(2));
        let mut s = SensitivitySpec::new(plan.clone().trials(Some(n)), Metric::Bookings.name());
        s.swing_top = 0;
        (Some(sensitivity(&s, progress)?), None)
    };
    let mut whatifs = Vec::new();
    for (i, w) in spec.whatifs.iter().enumerate() {
        progress.stage(&format!("what-if {}/{}", i + 1, spec.whatifs.len()));
        whatifs.push((w.label.clone(), whatif(&plan, &w.scenario, progress)?));
    }
    Ok(Report {
        run,
        shapes,
        inputs,
        per_deal,
        sensitivity: sens,
        sensitivity_skipped,
        whatifs,
    })
}
