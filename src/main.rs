//! The `pipesim` command line: a thin clap layer over the library.
//!
//! Exit codes: 0 success, 2 bad input (scenario or arguments), 1 any other
//! failure (I/O, threads).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use pipesim::engine;
use pipesim::error::ScenarioError;
use pipesim::export;
use pipesim::report;
use pipesim::scenario::Scenario;
use pipesim::stats;

/// Monte Carlo revenue simulator: compare lead-volume and pipeline-quality
/// strategies as distributions of bookings, revenue, pipeline and ROI.
#[derive(Debug, Parser)]
#[command(name = "pipesim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Simulate a scenario and report every strategy against the baseline.
    Run(RunArgs),
    /// Check a scenario and describe it, without simulating.
    Validate {
        /// Scenario file (TOML).
        scenario: PathBuf,
    },
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Scenario file (TOML).
    scenario: PathBuf,
    /// Number of trials (default: the scenario's `trials`).
    #[arg(long)]
    trials: Option<u64>,
    /// Master seed (default: the scenario's `seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Worker threads, 0 to 1024; 0 = one per core. Results do not depend on it.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=1024))]
    threads: u16,
    /// Also write summary.csv, comparison.csv and monthly.csv into DIR.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// With --out, also write trials.csv (one row per trial and strategy).
    #[arg(long, requires = "out")]
    per_trial: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

/// Bad input: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct BadInput(String);

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.downcast_ref::<ScenarioError>().is_some() || e.downcast_ref::<BadInput>().is_some()
            {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Validate { scenario } => {
            let scn = Scenario::load(&scenario)?;
            print!("{}", report::describe(&scn));
            Ok(())
        }
        Command::Run(args) => run_cmd(args),
    }
}

fn progress_bar(total: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} {msg} [{bar:30}] {human_pos}/{human_len} trials, {per_sec}, eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn run_cmd(args: RunArgs) -> anyhow::Result<()> {
    let scn = Scenario::load(&args.scenario)?;
    let trials = args.trials.unwrap_or(scn.trials);
    if trials < 2 {
        return Err(BadInput(format!("--trials {trials}: expected at least 2 trials")).into());
    }
    let max = engine::max_trials(&scn);
    if trials > max {
        return Err(BadInput(format!(
            "{trials} trials: this scenario keeps every trial in memory for exact quantiles, which allows at most {max} trials ({} GiB); use --trials",
            engine::MEMORY_BUDGET_BYTES >> 30
        ))
        .into());
    }
    let seed = args.seed.unwrap_or(scn.seed);
    let pool = engine::thread_pool(usize::from(args.threads))?;
    let bar = progress_bar(trials, args.quiet);
    bar.set_message("simulating");
    let (sim, analysis) = pool.install(|| {
        let sim = engine::simulate_in_current_pool(&scn, trials, seed, &|n| bar.inc(n));
        bar.set_message("summarising");
        let analysis = stats::analyze(&scn, &sim);
        (sim, analysis)
    });
    bar.finish_and_clear();
    // The scenario's seed and trials are what the report shows; reflect overrides.
    let shown = Scenario {
        seed,
        trials,
        ..scn
    };
    print!("{}", report::render(&shown, &analysis));
    for w in &analysis.warnings {
        eprintln!("warning: {w}");
    }

    if let Some(dir) = &args.out {
        let mut files = vec![
            ("summary.csv", export::summary_csv(&analysis)?),
            ("comparison.csv", export::comparison_csv(&analysis)?),
            ("monthly.csv", export::monthly_csv(&shown, &analysis)?),
        ];
        if args.per_trial {
            files.push(("trials.csv", export::trials_csv(&shown, &sim)?));
        }
        // A trials.csv left by an earlier --per-trial run would not match
        // these results: it is removed together with the update.
        let stale: &[&str] = if args.per_trial { &[] } else { &["trials.csv"] };
        export::write_atomic(dir, &files, stale)
            .with_context(|| format!("writing results to {}", dir.display()))?;
        eprintln!(
            "wrote {} to {}",
            files.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
            dir.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Guards against clap definition mistakes (conflicting names, bad
    /// `requires`), which clap only reports at run time.
    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
