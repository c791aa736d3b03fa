//! pipesim: a Monte Carlo revenue simulator that compares marketing
//! strategies (lead volume vs pipeline quality) as revenue distributions.
//!
//! The library is the whole engine; the `pipesim` binary is a thin CLI on
//! top. The modules follow the data flow, each using only those above it:
//!
//! ```text
//! calendar, metrics, stats          leaf facts: months, metric names, pure statistics
//! sampling, dist, copula            count samplers (binomial, Poisson, hypergeometric,
//!                                   ziggurat), keyed sub-streams; the distribution
//!                                   grammar, fits, month laws, inverse CDFs; the
//!                                   Gaussian copula of rank correlations
//! error, scenario                   the scenario file → validated Scenario (+ --set/--scale)
//! trace                             the benchmark tracer (not on the simulation's path)
//! params                            scenario → one trial's sampled parameters
//! model                             parameters → one trial of one strategy
//! engine                            many trials: seeding, chunks, windows of Blocks
//! accum                             streaming per-series accumulators, quantile sketch
//! analysis                          accumulators → a run's statistics
//! experiment                        run, whatif, sweep, batch, plan (goal seek) and
//!                                   sensitivity (EVPI, EVPPI) over a RunSpec
//! crm                               CRM exports: read, calibrate, synthesise, backtest
//! output                            text, CSV, JSON, atomic files
//! shard                             sharded runs: partial results, merged exactly
//! ```
//!
//! A typical use from Rust:
//!
//! ```
//! use pipesim::experiment::{self, RunSpec};
//! use pipesim::metrics::Metric;
//!
//! let file = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/budget-volume-vs-quality.toml");
//! let scn = experiment::load(file.as_ref(), &[])?;
//! let result = experiment::run(&RunSpec::new(scn).trials(Some(2_000)), &(), None)?;
//! let quality = result.analysis.comparison(1, Metric::Bookings).expect("compared");
//! println!("{}", pipesim::output::text::render(&result.scenario, &result.analysis));
//! assert!(quality.p_beats.p > 0.5);
//! # Ok::<(), pipesim::Error>(())
//! ```

#![forbid(unsafe_code)]
// `!(x > 0.0)` is deliberate throughout: it rejects NaN as well (as rand_distr does).
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod calendar;
pub mod metrics;
pub mod stats;

pub mod copula;
pub mod dist;
pub mod sampling;

pub mod error;
pub mod scenario;

pub mod trace;

pub mod params;

pub mod model;

pub mod engine;

pub mod accum;

pub mod analysis;

pub mod experiment;

pub mod crm;

pub mod output;

pub mod shard;

pub use experiment::{Error, RunSpec};
