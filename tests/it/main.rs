//! pipesim's integration tests, in one test binary (`cargo test --test it`)
//! so the crate and its dependencies are linked once rather than once per
//! file. Each module holds the tests of one subject:
//!
//! - [`grammar`]: every distribution form of MODEL.md's table against its
//!   analytic law;
//! - [`model_v2`]: Model v2 against closed forms (nurture recycling,
//!   routing, segment teams, the book, the stage-by-stage funnel,
//!   elasticity, the shared warm-up) and its bad inputs;
//! - [`model_laws`]: funnel means and count variances, sales capacity and
//!   its hypergeometric sharing, revenue, ARR and open pipeline against
//!   MODEL.md's closed forms;
//! - [`coverage`]: the reported CI of the mean, the summary's quantiles and
//!   the Wilson interval have their nominal coverage;
//! - [`aligned`]: shared channels and aligned random numbers — a twin
//!   strategy is identical, a spend what-if leaves the other channels'
//!   counts and deals alone, a capacity what-if changes no lead count;
//! - [`correlation`]: the Gaussian copula's achieved rank correlations,
//!   unchanged marginals, and `[[correlation]]` errors;
//! - [`determinism`]: common random numbers, stream independence by
//!   strategy name, and results that do not depend on the thread count (in
//!   the engine and on the command line);
//! - [`streaming`]: bounded-memory runs (streaming accumulators, the
//!   quantile sketch, adaptive precision, the per-trial stream) against
//!   in-memory ones;
//! - [`cli`]: the `pipesim` command line: exit codes, error messages, the
//!   CSV format, the report, `validate`, atomic output, shipped scenarios;
//! - [`commands`]: `--set` / `--scale`, `whatif`, `sweep`, `batch`,
//!   `run --format` and `run --precision`;
//! - [`files`]: output directories are all-or-nothing, locked, refused
//!   when they hold other files (unless `--force`), left as they were by
//!   SIGINT/SIGTERM/SIGKILL; no input overwritten; bad batches write nothing;
//! - [`limits`]: bounded time and memory on any input — windows sized by
//!   bytes, the accumulators' memory bound, a linear analysis, the work
//!   estimate and its limit, the thread cap;
//! - [`robustness`]: no input makes pipesim panic;
//! - [`fuzz_props`]: generated scenario mutations exit 0 or 2, never panic
//!   and never print or write a non-finite figure (CI's stand-in for the
//!   coverage-guided fuzzer in `fuzz/`);
//! - [`hardening`]: overflowing inputs rejected, nothing non-finite in any
//!   output, safe identifiers and CSV cells, escaped terminal text, every
//!   validation error at once;
//! - [`value_stability`]: the exact draws and output bytes a seed gives,
//!   pinned (fixtures in `tests/fixtures/value-stability/`,
//!   `PIPESIM_BLESS=1` rewrites them);
//! - [`crm`]: calibration from CRM exports — the closed loop synth →
//!   calibrate recovering the true parameters, a backtest's coverage on a
//!   stationary history, messy and unusable exports on the command line;
//! - [`decide`]: the decision tools against closed forms — the goal seek's
//!   answer and uncertainty, rank correlations, variance shares, decile
//!   means and swings of a linear measure, EVPI and EVPPI of a known
//!   decision — and the `plan`, `sensitivity` and `whatif` outputs;
//! - [`patterns`]: `*` patterns in `--set`/`--scale`/`--vary` paths — the
//!   same numbers as the explicit changes, shared parameters scaled once,
//!   the matches listed, no match an error;
//! - [`sweeps`]: points run in parallel give the same bytes, P(target)
//!   with its Wilson interval in the sweep outputs, P(target) crossovers;
//! - [`report`]: the board report — its figures equal `run --out`'s, it
//!   is self-contained, small and the same bytes for any thread count, it
//!   never overwrites a file pipesim did not write, its chart shapes are
//!   the run's distributions (the browser test is `tests/browser/run.sh`);
//! - [`shard`]: `--shard I/N` parts merged are the bytes of one process
//!   (exact and sketch mode, runs, sweeps and batches), `--shard auto`
//!   from the engines' variables, and parts that are not one whole job
//!   refused with nothing written (the real-cluster test is
//!   `tests/slurm/run.sh`);
//! - [`architecture`]: the module layering of `src/`.
//!
//! Shared helpers: [`common`] (the reference fixture, running the built
//! binary, temporary directories, CSV parsing) and [`laws`] (loading and
//! running scenarios, sample moments and the standard-error assertions of
//! the statistical tests; its header explains how their tolerances are
//! derived). Run one subject with e.g. `cargo test --test it grammar`.

mod common;
mod laws;

mod aligned;
mod architecture;
mod cli;
mod commands;
mod correlation;
mod coverage;
mod crm;
mod decide;
mod determinism;
mod files;
mod fuzz_props;
mod grammar;
mod hardening;
mod limits;
mod model_laws;
mod model_v2;
mod patterns;
mod report;
mod robustness;
mod shard;
mod streaming;
mod sweeps;
mod value_stability;
