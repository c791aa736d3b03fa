//! `pipesim sensitivity`: which uncertain inputs drive a measure and the
//! decision — tornado, variance shares, swings, EVPI and EVPPI — with
//! `sensitivity.csv` and the per-trial `trials.csv`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use pipesim::experiment::{self, RunSpec, SensitivitySpec};
use pipesim::output::{OutputDir, decide};

use super::args::SimArgs;
use super::progress::Bar;

#[derive(Debug, Args)]
pub struct SensitivityArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// The measure: a metric (bookings, revenue, total_arr_end, gtm_roi,
    /// ...) or a quarterly one (coverage[0], attainment[2027-Q4], ...).
    #[arg(long, default_value = "bookings")]
    pub metric: String,
    /// Fix this many inputs (those with the widest tornado bars) at their
    /// P10 and P90 in swing runs.
    #[arg(long, default_value_t = 8)]
    pub swing_top: usize,
    /// Trials of each swing run (default: the smaller of --trials and 2,000).
    #[arg(long)]
    pub swing_trials: Option<u64>,
    /// Inputs shown in the decision's tornado.
    #[arg(long, default_value_t = 12)]
    pub rows: usize,
    #[command(flatten)]
    pub sim: SimArgs,
    /// Write sensitivity.csv (and, with --per-trial, trials.csv) into DIR.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// With --out, also write trials.csv: every input's draw and every
    /// strategy's metrics, one row per trial.
    #[arg(long, requires = "out")]
    pub per_trial: bool,
    /// With --out: replace earlier pipesim results in DIR.
    #[arg(long, requires = "out")]
    pub force: bool,
}

pub fn sensitivity(args: SensitivityArgs) -> anyhow::Result<()> {
    let changes = args.sim.changes.parse()?;
    let run = RunSpec::new(experiment::load(&args.scenario, &changes)?)
        .trials(args.sim.trials)
        .seed(args.sim.seed)
        .threads(args.sim.threads())
        .allow_large_run(args.sim.allow_large_run);
    let spec = SensitivitySpec {
        swing_top: args.swing_top,
        swing_trials: args.swing_trials,
        keep_metrics: args.per_trial,
        ..SensitivitySpec::new(run, &args.metric)
    };
    let files: &[&'static str] = if args.per_trial {
        &["sensitivity.csv", "trials.csv"]
    } else {
        &["sensitivity.csv"]
    };
    // checked, locked and staged before the simulation
    let out = match &args.out {
        Some(dir) => Some(OutputDir::prepare(
            dir,
            "sensitivity",
            files,
            args.force,
            &[&args.scenario],
        )?),
        None => None,
    };
    let s = {
        let bar = Bar::new(args.sim.quiet, "sensitivity");
        experiment::sensitivity(&spec, &bar)?
    };
    super::print_stdout(decide::render_sensitivity(&s, args.rows).as_bytes())?;
    if let (Some(out), Some(dir)) = (out, &args.out) {
        let mut written = vec![("sensitivity.csv", decide::sensitivity_csv(&s)?)];
        if args.per_trial {
            written.push(("trials.csv", decide::sensitivity_trials_csv(&s)?));
        }
        out.commit(&written, None)
            .with_context(|| format!("writing {}", dir.display()))?;
        say!("wrote {} into {}", files.join(", "), dir.display());
    }
    Ok(())
}
