//! pipesim: a Monte Carlo revenue simulator that compares marketing
//! strategies (lead volume vs pipeline quality) as revenue distributions.
//!
//! The library is the whole engine; the `pipesim` binary is a thin CLI on
//! top. A typical use from Rust:
//!
//! ```no_run
//! use pipesim::{engine, runner, scenario::Scenario};
//! let scn = Scenario::load("scenarios/budget-volume-vs-quality.toml".as_ref())?;
//! let pool = engine::thread_pool(0)?;
//! let analysis = pool.install(|| {
//!     runner::run::<std::convert::Infallible>(&scn, 10_000, 7, &|_| {}, None)
//! })?;
//! println!("{}", pipesim::report::render(&scn, &analysis));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Modules: [`scenario`] (file format and validation), [`overrides`]
//! (`--set`/`--scale`), [`dist`] (the distribution grammar), [`model`] (one
//! trial of one strategy), [`sampling`] (exact count samplers),
//! [`ziggurat`] (the standard normal), [`engine`]
//! (parallel, deterministic windows of trials), [`accum`] (streaming
//! per-series accumulators), [`sketch`] (mergeable quantile sketch),
//! [`runner`] (bounded-memory runs, adaptive precision), [`stats`]
//! (summaries, intervals, comparisons), [`whatif`], [`sweep`], [`report`]
//! (terminal text), [`export`] (CSV/JSON files, written atomically).

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
pub mod ziggurat;
