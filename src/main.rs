//! The `pipesim` command line: a thin clap layer over the library.
//!
//! Commands: `run`, `whatif`, `sweep`, `batch`, `validate` (one file each
//! under `src/cli/`). Results go to stdout or to files (written
//! atomically); progress bars and messages go to stderr. Exit codes: 0
//! success, 2 bad input (scenario, changes or arguments: the library's
//! [`pipesim::Error::is_input`]), 1 any other failure (I/O, threads);
//! `batch` exits non-zero when any scenario failed, after running the others.

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
    /// Check a scenario and describe it, without simulating.
    Validate {
        /// Scenario file (TOML).
        scenario: PathBuf,
        #[command(flatten)]
        changes: Changes,
    },
}

fn main() -> ExitCode {
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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let message = format!("{e:#}");
            eprintln!(
                "error: {}",
                pipesim::output::text::escape_controls(&message)
            );
            ExitCode::from(exit_code(&e))
        }
    }
}

/// 2 when the library says the error is the user's input, else 1.
fn exit_code(e: &anyhow::Error) -> u8 {
    let input = e
        .chain()
        .find_map(|c| c.downcast_ref::<pipesim::Error>())
        .is_some_and(pipesim::Error::is_input);
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
