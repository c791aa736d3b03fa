//! `pipesim plan`: goal seek — the smallest or largest value of one path
//! that makes a strategy reach a goal, on common random numbers.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};

use pipesim::experiment::{self, Find, Goal, PlanSpec};
use pipesim::output::{OutputFile, decide};
use pipesim::scenario::overrides::Kind;

use super::args::SimArgs;
use super::progress::Bar;

/// Which end of the values that meet the goal to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FindArg {
    /// The boundary, whichever side meets the goal.
    Auto,
    /// The smallest value that meets the goal.
    Smallest,
    /// The largest value that meets the goal.
    Largest,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// The goal: MEASURE>=VALUE@P% on a probability (e.g.
    /// 'bookings>=4000000@80%', 'coverage[0]>=3@70%') or MEASURE>=VALUE
    /// on the mean (e.g. 'roi>=0.3'); <= the other way. VALUE takes k, M,
    /// B suffixes.
    #[arg(long)]
    pub goal: String,
    /// The path to search and its range, PATH=FROM..TO, set at each value
    /// (e.g. 'strategy.quality.channel[0].spend_per_month=20000..200000').
    #[arg(long, value_name = "PATH=FROM..TO", conflicts_with = "vary_scale")]
    pub vary: Option<String>,
    /// Search a --scale factor instead, PATH=FROM..TO (e.g.
    /// 'strategy.*.channel[*].cost_per_lead=0.5..2').
    #[arg(long, value_name = "PATH=FROM..TO")]
    pub vary_scale: Option<String>,
    /// The strategy the goal is about (default: the baseline).
    #[arg(long)]
    pub strategy: Option<String>,
    /// Which end of the values meeting the goal to report.
    #[arg(long, value_enum, default_value_t = FindArg::Auto)]
    pub find: FindArg,
    /// Search over whole numbers (default: for reps and month counts).
    #[arg(long)]
    pub integer: bool,
    /// Step of the search grid (default: about 1/1000 of the range, a
    /// power of ten; 1 for whole numbers).
    #[arg(long)]
    pub resolution: Option<f64>,
    /// Most evaluations to make.
    #[arg(long, default_value_t = 60)]
    pub max_evaluations: usize,
    #[command(flatten)]
    pub sim: SimArgs,
    /// Also write every evaluation as CSV to FILE.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn plan(args: PlanArgs) -> anyhow::Result<()> {
    let changes = args.sim.changes.parse()?;
    let goal = Goal::parse(&args.goal)?;
    let (kind, flag, arg) = match (&args.vary, &args.vary_scale) {
        (Some(v), _) => (Kind::Set, "--vary", v),
        (None, Some(v)) => (Kind::Scale, "--vary-scale", v),
        (None, None) => {
            return Err(pipesim::Error::invalid(
                "plan needs the path to search",
                "give --vary PATH=FROM..TO (or --vary-scale PATH=FROM..TO)",
            )
            .into());
        }
    };
    let (path, low, high) = experiment::parse_range(arg, flag)?;
    let spec = PlanSpec {
        changes,
        strategy: args.strategy.clone(),
        kind,
        integer: args.integer.then_some(true),
        resolution: args.resolution,
        find: match args.find {
            FindArg::Auto => Find::Auto,
            FindArg::Smallest => Find::Smallest,
            FindArg::Largest => Find::Largest,
        },
        trials: args.sim.trials,
        seed: args.sim.seed,
        threads: args.sim.threads(),
        allow_large_run: args.sim.allow_large_run,
        max_evaluations: args.max_evaluations,
        ..PlanSpec::new(&args.scenario, goal, path, low, high)
    };
    // checked and staged before the simulation; never the scenario itself
    let out = match &args.out {
        Some(file) => Some(OutputFile::prepare(file, &[&args.scenario])?),
        None => None,
    };
    let plan = {
        let bar = Bar::new(args.sim.quiet, "plan");
        experiment::plan(&spec, &bar)?
    };
    super::print_stdout(decide::render_plan(&plan).as_bytes())?;
    if let (Some(out), Some(file)) = (out, &args.out) {
        out.commit(&decide::plan_csv(&plan)?)
            .with_context(|| format!("writing {}", file.display()))?;
        say!(
            "wrote {} ({} evaluations)",
            file.display(),
            plan.evaluations.len()
        );
    }
    Ok(())
}
