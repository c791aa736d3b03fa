//! The `pipesim` command line: a thin clap layer over the library.
//!
//! Commands: `run`, `whatif`, `sweep`, `batch`, `merge` (of `--shard`
//! parts), `plan`, `sensitivity`, `report`, `validate`, and the CRM
//! commands `calibrate`, `synth`, `backtest` (one file each under
//! `src/cli/`, the CRM ones together). Results go to stdout or to files (written
//! atomically); progress bars and messages go to stderr. Exit codes: 0
//! success, 2 bad input (scenario, changes or arguments: the library's
//! [`pipesim::Error::is_input`], or an `--out` that clashes or is an input:
//! [`pipesim::output::OutputError::is_input`]), 1 any other failure (I/O,
//! threads, an output directory locked by another run); `batch` exits
//! non-zero when any scenario failed, after running the others. SIGINT and
//! SIGTERM remove whatever output is staged, leave `--out` as it was and
//! exit 130 and 143.

/// `eprintln!` that cannot panic: when stderr is closed or full, the
/// message is lost but the run goes on and exits with its own code.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use cli::args::{BatchArgs, Changes, RunArgs, SweepArgs, WhatifArgs};

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
    /// Compare the scenario as written with a changed copy (--set/--scale),
    /// trial by trial on the same random numbers.
    Whatif(WhatifArgs),
    /// Run a grid of parameter values (--vary) and write one CSV.
    Sweep(SweepArgs),
    /// Run many scenarios (files or directories of .toml) into one summary.
    Batch(BatchArgs),
    /// Merge the partial results of `run`, `sweep` or `batch --shard I/N`
    /// into the files the whole job writes.
    Merge(cli::args::MergeArgs),
    /// Goal seek: the smallest or largest value of a path that reaches a goal.
    Plan(cli::plan::PlanArgs),
    /// Which uncertain inputs drive a metric and the decision: tornado, EVPI, EVPPI.
    Sensitivity(cli::sensitivity::SensitivityArgs),
    /// The board report: one self-contained HTML file with the answer,
    /// key figures, charts, what-ifs and assumptions.
    Report(cli::report::ReportArgs),
    /// Fit a scenario to CRM exports (opportunities, optionally leads).
    Calibrate(cli::crm::CalibrateArgs),
    /// Generate CRM-like exports (leads, opportunities) from a scenario's trial.
    Synth(cli::crm::SynthArgs),
    /// Fit on the data before a cut-off and compare the simulated months after it with what happened.
    Backtest(cli::crm::BacktestArgs),
    /// Check a scenario and describe it, without simulating.
    Validate {
        /// Scenario file (TOML).
        scenario: PathBuf,
        #[command(flatten)]
        changes: Changes,
    },
}

fn main() -> ExitCode {
    handle_signals();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Validate { scenario, changes } => cli::validate::validate(&scenario, &changes),
        Command::Run(args) => cli::run::run(args),
        Command::Whatif(args) => cli::whatif::whatif(args),
        Command::Sweep(args) => cli::sweep::sweep(args),
        Command::Batch(args) => cli::batch::batch(args),
        Command::Merge(args) => cli::shard::merge(args),
        Command::Plan(args) => cli::plan::plan(args),
        Command::Sensitivity(args) => cli::sensitivity::sensitivity(args),
        Command::Report(args) => cli::report::report(args),
        Command::Calibrate(args) => cli::crm::calibrate(args),
        Command::Synth(args) => cli::crm::synth(args),
        Command::Backtest(args) => cli::crm::backtest(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // an error an interrupt's cleanup caused is not reported: the
            // signal thread exits the process
            pipesim::output::files::wait_for_interrupt();
            let message = format!("{e:#}");
            say!(
                "error: {}",
                pipesim::output::text::escape_controls(&message)
            );
            ExitCode::from(exit_code(&e))
        }
    }
}

/// SIGINT and SIGTERM: a thread that removes the staged output
/// ([`pipesim::output::files::interrupt`]) and exits 128 + the signal. The
/// thread registers the handler itself, so where the thread or the handler
/// cannot be set up the signals keep their default. Returns once the
/// handler is in place.
#[cfg(unix)]
fn handle_signals() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let (ready, registered) = std::sync::mpsc::channel();
    let _ = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]);
            let _ = ready.send(());
            let Ok(mut signals) = signals else {
                return;
            };
            if let Some(signal) = signals.forever().next() {
                pipesim::output::files::interrupt();
                std::process::exit(128 + signal);
            }
        });
    // an error here means the thread did not start: nothing to wait for
    let _ = registered.recv();
}

#[cfg(not(unix))]
fn handle_signals() {}

/// 2 when the library says the error is the user's input, else 1.
fn exit_code(e: &anyhow::Error) -> u8 {
    let input = e.chain().any(|c| {
        c.downcast_ref::<pipesim::Error>()
            .is_some_and(pipesim::Error::is_input)
            || c.downcast_ref::<pipesim::crm::CrmError>().is_some()
            || c.downcast_ref::<pipesim::output::OutputError>()
                .is_some_and(pipesim::output::OutputError::is_input)
    });
    if input { 2 } else { 1 }
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
