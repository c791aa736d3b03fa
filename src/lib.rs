//! pipesim: a Monte Carlo revenue simulator that compares marketing
//! strategies (lead volume vs pipeline quality) as revenue distributions.
//!
//! The library is the whole engine; the `pipesim` binary is a thin CLI on
//! top. A typical use from Rust:
//!
//! ```no_run
//! use pipesim::{engine, scenario::Scenario, stats};
//! let scn = Scenario::load("scenarios/budget-volume-vs-quality.toml".as_ref())?;
//! let sim = engine::simulate(&scn, engine::RunOptions { trials: 10_000, seed: 7, threads: 0 }, &|_| {})?;
//! let analysis = stats::analyze(&scn, &sim);
//! println!("{}", pipesim::report::render(&scn, &analysis));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Modules: [`scenario`] (file format and validation), [`dist`] (the
//! distribution grammar), [`model`] (one trial of one strategy), [`engine`]
//! (parallel, deterministic trials), [`stats`] (summaries, intervals,
//! comparisons), [`report`] (terminal text), [`export`] (CSV files).

#![forbid(unsafe_code)]
// `!(x > 0.0)` is deliberate throughout: it rejects NaN as well (as rand_distr does).
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod accum;
pub mod dist;
pub mod engine;
pub mod error;
pub mod export;
pub mod metrics;
pub mod model;
pub mod overrides;
pub mod report;
pub mod runner;
pub mod sampling;
pub mod scenario;
pub mod sketch;
pub mod stats;
pub mod sweep;
pub mod whatif;
