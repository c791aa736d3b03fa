//! The arguments of the commands (clap derive), and their conversion to
//! the library's types.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use pipesim::Error;
use pipesim::scenario::overrides::Override;

/// `--set` / `--scale`.
#[derive(Debug, Args, Clone, Default)]
pub struct Changes {
    /// Set a scenario field, e.g. --set sales.reps=8 or
    /// --set 'market.demand=0.8 to 1.1' (repeatable; same paths as error messages).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Multiply a parameter (every draw of a distribution) by a factor, e.g.
    /// --scale strategy.volume.channel[0].cost_per_lead=1.3 (repeatable).
    #[arg(long = "scale", value_name = "PATH=FACTOR")]
    pub scale: Vec<String>,
}

impl Changes {
    /// The changes, sets first (in the order given), then scales.
    pub fn parse(&self) -> Result<Vec<Override>, Error> {
        let sets = self.set.iter().map(|s| Override::parse_set(s));
        let scales = self.scale.iter().map(|s| Override::parse_scale(s));
        Ok(sets.chain(scales).collect::<Result<Vec<_>, _>>()?)
    }
}

/// Options every simulating command shares.
#[derive(Debug, Args, Clone)]
pub struct SimArgs {
    /// Number of trials (default: the scenario's `trials`).
    #[arg(long)]
    pub trials: Option<u64>,
    /// Master seed (default: the scenario's `seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads, 0 to 1024; 0 = one per core. At most 4 per available
    /// core are used (a note says so). Results do not depend on it.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=1024))]
    pub threads: u16,
    /// Run even when the estimated work is above the limits (10^7
    /// opportunities and channel-months per trial, 10^11 per run; see
    /// `validate`).
    #[arg(long)]
    pub allow_large_run: bool,
    #[command(flatten)]
    pub changes: Changes,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

impl SimArgs {
    /// `--threads`, after printing a note to stderr when the engine will
    /// use fewer ([`pipesim::engine::capped_threads`]).
    pub fn threads(&self) -> usize {
        let requested = usize::from(self.threads);
        if let (_, Some(note)) = pipesim::engine::capped_threads(requested) {
            say!("note: {note}");
        }
        requested
    }
}

/// What goes to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A report for reading.
    Table,
    /// The CSV (for run: summary.csv).
    Csv,
    /// Everything as one JSON document.
    Json,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("written").args(["out", "report"]).multiple(true)))]
pub struct RunArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    #[command(flatten)]
    pub sim: SimArgs,
    /// Also write summary.csv, comparison.csv, monthly.csv and run.csv into DIR.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// With --out, also write trials.csv (one row per trial and strategy),
    /// streamed to disk as trials finish.
    #[arg(long, requires = "out")]
    pub per_trial: bool,
    /// With --out: replace earlier pipesim results in DIR that this run
    /// would not rewrite (another command's, or a trials.csv without
    /// --per-trial); files pipesim did not write are left untouched.
    /// With --report: replace FILE even when it is not a pipesim report.
    #[arg(long, requires = "written")]
    pub force: bool,
    /// Also write the board report (one HTML file, as `pipesim report`) to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Output on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Add trials until the CI of the mean of --precision-metric has this
    /// relative half-width in every strategy, e.g. 0.5% (or 0.005).
    #[arg(long, value_name = "REL")]
    pub precision: Option<String>,
    /// Run only shard I of N (counted from 0) of the trials, in whole
    /// chunks, and write its partial result into --out DIR as
    /// shard-I-of-N.part, for `pipesim merge`. auto/N or auto read I (and
    /// N) from the array job's environment: JOB_COMPLETION_INDEX
    /// (Kubernetes), SLURM_ARRAY_TASK_ID (Slurm), AWS_BATCH_JOB_ARRAY_INDEX
    /// (AWS Batch).
    #[arg(long, value_name = "I/N", requires = "out", conflicts_with_all = ["precision", "report", "per_trial", "format"])]
    pub shard: Option<String>,
    /// The metric --precision applies to.
    #[arg(long, default_value = "bookings", requires = "precision")]
    pub precision_metric: String,
    /// Most trials --precision may run.
    #[arg(long, default_value_t = 10_000_000, requires = "precision")]
    pub max_trials: u64,
}

#[derive(Debug, Args)]
pub struct WhatifArgs {
    /// Scenario file (TOML): the plan.
    pub scenario: PathBuf,
    #[command(flatten)]
    pub sim: SimArgs,
    /// Output on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Also write the what-if CSV to FILE.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    #[command(flatten)]
    pub sim: SimArgs,
    /// A varied field: PATH=FROM..TO:STEP or PATH=v1,v2,v3 (repeatable; the
    /// grid is the cartesian product, first --vary slowest).
    #[arg(long, value_name = "PATH=VALUES")]
    pub vary: Vec<String>,
    /// A varied scale factor: PATH=FROM..TO:STEP or PATH=f1,f2 (after the --vary axes).
    #[arg(long, value_name = "PATH=FACTORS")]
    pub vary_scale: Vec<String>,
    /// What to maximise per strategy: a metric's mean (bookings, revenue,
    /// roi, ...) or p_target:METRIC.
    #[arg(long, default_value = "bookings")]
    pub objective: String,
    /// Write the sweep CSV (one row per point, strategy and metric) to FILE.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Output on stdout: the report (table), the CSV, or every point's
    /// analysis as JSON.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Run only shard I of N of the grid's points (counted from 0), and
    /// write its partial result into --out DIR (a directory here) as
    /// shard-I-of-N.part, for `pipesim merge`; auto/N or auto as for run.
    #[arg(long, value_name = "I/N", requires = "out", conflicts_with = "format")]
    pub shard: Option<String>,
    /// With --shard: replace a file of the part's name that is not a
    /// pipesim partial result.
    #[arg(long, requires = "shard")]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct BatchArgs {
    /// Scenario files, or directories whose *.toml files are all run.
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
    #[command(flatten)]
    pub sim: SimArgs,
    /// Write summary.csv and comparison.csv (a `scenario` column first) and
    /// run.csv (settings, scenarios run and failed) into DIR.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace earlier pipesim results in DIR that this batch would not
    /// rewrite (e.g. a run's monthly.csv); files pipesim did not write are
    /// left untouched.
    #[arg(long)]
    pub force: bool,
    /// Run only shard I of N of the scenario files (counted from 0), and
    /// write its partial result into --out DIR as shard-I-of-N.part, for
    /// `pipesim merge`; auto/N or auto as for run.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Partial results (.part files written by --shard), or directories
    /// whose .part files are all merged.
    #[arg(required = true)]
    pub parts: Vec<PathBuf>,
    /// Where the merged result goes: the directory `run --out` or `batch
    /// --out` would write, or the CSV file `sweep --out` would.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Replace earlier pipesim results at --out that this merge would not
    /// rewrite, or (a sweep) a file that is not pipesim's.
    #[arg(long)]
    pub force: bool,
    /// Output on stdout for a run's parts (as `run --format`).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// No progress output (as for the other commands; merge shows no bar,
    /// only what it wrote).
    #[arg(long, short)]
    pub quiet: bool,
}
