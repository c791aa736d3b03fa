//! Streaming accumulation of trial results, so a run's memory does not grow
//! with its trial count.
//!
//! A run is a set of *series* — one metric of one strategy, one month of one
//! monthly series, or the paired difference of two strategies (or of two
//! scenarios, for what-ifs) on one metric. Each [`SeriesAcc`] keeps, exactly
//! and in trial order: the count, the mean and sum of squared deviations
//! (per chunk, combined in a fixed tree: [`moments`]), the count at or
//! above a target, and the counts of strictly positive and negative values
//! (for P(beats)). Quantiles are exact while
//! every value of every series fits [`EXACT_BUDGET_BYTES`]; beyond that the
//! accumulator switches for good to a [`QuantileSketch`] per series, whose
//! error bound is documented in [`sketch`].
//!
//! Memory is bounded: exact values never take more than the budget (each
//! series' buffer is capped at its share of it), sketches hold at most 16
//! bytes per value inserted while sparse ([`sketch`]'s memory section), and
//! [`Accumulator::push`] fails with [`TooLarge`] once the accumulator
//! holds more than [`ACCUM_LIMIT_BYTES`] in all — checked after every
//! window, so the limit is exceeded by at most one window's growth (16
//! bytes per value of the window). [`Accumulator::get`] finds a series by
//! a hash index, so the analysis is linear in the number of series.
//!
//! Series are updated in parallel (one task per series, each task walking
//! the window's trials in order), so results are identical for any thread
//! count. In exact mode the mean and sd are computed two-pass from the kept
//! values at the end, exactly as [`crate::stats::summarize`] does.
//!
//! A shard of a run ([`Accumulator::for_shard`]) keeps the same state for
//! its trials; [`Accumulator::encode`] / [`Accumulator::decode`] carry it
//! to another process ([`wire`]) and [`Accumulator::concat`] joins the
//! shards into the state of the whole run, bit for bit.

pub mod moments;
pub mod sketch;
pub mod wire;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use crate::engine::{Block, CHUNK};
use crate::stats::{self, Summary};

use moments::ChunkedMoments;
use sketch::QuantileSketch;

const _: () = assert!(CHUNK.is_power_of_two());

/// Memory allowed for exact quantiles: every value of every series kept.
pub const EXACT_BUDGET_BYTES: u64 = 256 << 20;

/// Most memory an accumulator may hold: every series' state, its index
/// entry, and its exact values or sketch (2 GiB).
pub const ACCUM_LIMIT_BYTES: u64 = 2 << 30;

/// Bytes of one series before any value: its [`SeriesAcc`], an empty
/// sketch and its index entry (a hash table holds at most 2 × 8/7 slots of
/// one entry and a control byte per series) — the planning figure of the
/// up-front check.
pub const SERIES_FIXED_BYTES: u64 = (std::mem::size_of::<SeriesAcc>()
    + std::mem::size_of::<QuantileSketch>()
    + 3 * std::mem::size_of::<(Source, usize)>()) as u64;

/// Bytes of the index of `capacity` entries (slots of an entry and a
/// control byte, 8 slots per 7 entries).
fn index_bytes(capacity: usize) -> u64 {
    (capacity * 8 / 7 * (std::mem::size_of::<(Source, usize)>() + 1)) as u64
}

/// The accumulator outgrew [`ACCUM_LIMIT_BYTES`].
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "the statistics of {series} series need more than {limit_mib} MiB ({used_mib} MiB after {trials} trials); run fewer strategies or a shorter horizon"
)]
pub struct TooLarge {
    pub series: usize,
    pub trials: u64,
    pub used_mib: u64,
    pub limit_mib: u64,
}

/// Where a series takes its value from, in the blocks of a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// Metric `k` of strategy `s` in block `b`.
    Metric { b: usize, s: usize, k: usize },
    /// Monthly value `j = mm * horizon + month` of strategy `s` in block `b`.
    Monthly { b: usize, s: usize, j: usize },
    /// Metric `k`: strategy `s` of block `b` minus strategy `base_s` of
    /// block `base_b`.
    Diff {
        b: usize,
        s: usize,
        base_b: usize,
        base_s: usize,
        k: usize,
    },
}

impl Source {
    #[inline]
    fn value(self, blocks: &[Block], t: usize) -> f64 {
        match self {
            Source::Metric { b, s, k } => blocks[b].metric(t, s, k),
            Source::Monthly { b, s, j } => blocks[b].monthly(t, s, j),
            Source::Diff {
                b,
                s,
                base_b,
                base_s,
                k,
            } => blocks[b].metric(t, s, k) - blocks[base_b].metric(t, base_s, k),
        }
    }
}

/// Quantile storage of one series.
#[derive(Debug, Clone)]
enum Store {
    Exact(Vec<f64>),
    Sketch(Box<QuantileSketch>),
}

/// Everything kept about one series.
#[derive(Debug, Clone)]
pub struct SeriesAcc {
    pub source: Source,
    /// The trial of the first value (a multiple of [`CHUNK`]: 0, or a
    /// shard's first trial).
    start: u64,
    n: u64,
    /// Moments of the finite values, per chunk in a fixed tree (sketch mode
    /// only; exact mode computes moments from the kept values).
    moments: ChunkedMoments,
    /// Non-finite values seen (an undefined ROI when a trial cost 0).
    non_finite: u64,
    target: Option<f64>,
    n_ge: u64,
    n_pos: u64,
    n_neg: u64,
    store: Store,
}

impl SeriesAcc {
    fn new(source: Source, target: Option<f64>, exact: bool, start: u64) -> SeriesAcc {
        SeriesAcc {
            source,
            start,
            n: 0,
            moments: ChunkedMoments::default(),
            non_finite: 0,
            target,
            n_ge: 0,
            n_pos: 0,
            n_neg: 0,
            store: if exact {
                Store::Exact(Vec::new())
            } else {
                Store::Sketch(Box::default())
            },
        }
    }

    /// A series from all its values at once (exact).
    pub fn from_values(source: Source, target: Option<f64>, values: &[f64]) -> SeriesAcc {
        let mut acc = SeriesAcc::new(source, target, true, 0);
        for &x in values {
            acc.push(x);
        }
        acc
    }

    #[inline]
    fn push(&mut self, x: f64) {
        self.n += 1;
        if let Some(t) = self.target {
            self.n_ge += u64::from(x >= t);
        }
        self.n_pos += u64::from(x > 0.0);
        self.n_neg += u64::from(x < 0.0);
        match &mut self.store {
            Store::Exact(v) => v.push(x),
            Store::Sketch(sk) => {
                if x.is_finite() {
                    self.moments.current.push(x);
                    sk.insert(x);
                } else {
                    self.non_finite += 1;
                }
                let end = self.start + self.n;
                if end & (CHUNK - 1) == 0 {
                    self.moments.close_chunk(end / CHUNK - 1);
                }
            }
        }
    }

    /// Push the `len` values of a window, in trial order (the source is
    /// looked up once, then its values walked with their stride).
    fn push_window(&mut self, blocks: &[Block], len: usize) {
        match self.source {
            Source::Monthly { b, s, j } => {
                let block = &blocks[b];
                let per = block.per_trial_monthly();
                let stride = (block.strategies * per).max(1);
                let values = block.monthly.get(s * per + j..).unwrap_or_default();
                for x in values.iter().step_by(stride).take(len) {
                    self.push(*x);
                }
            }
            Source::Metric { b, s, k } => {
                let block = &blocks[b];
                let ns = block.strategies.max(1);
                let rows = block.metrics.get(s..).unwrap_or_default();
                for row in rows.iter().step_by(ns).take(len) {
                    self.push(row[k]);
                }
            }
            Source::Diff { .. } => {
                for t in 0..len {
                    self.push(self.source.value(blocks, t));
                }
            }
        }
    }

    /// Switch from exact values to a sketch, replaying the values in order.
    fn switch_to_sketch(&mut self) {
        if let Store::Exact(values) = &mut self.store {
            let values = std::mem::take(values);
            let (n, n_ge, n_pos, n_neg) = (self.n, self.n_ge, self.n_pos, self.n_neg);
            *self = SeriesAcc::new(self.source, self.target, false, self.start);
            for x in values {
                self.push(x);
            }
            debug_assert_eq!(
                (n, n_ge, n_pos, n_neg),
                (self.n, self.n_ge, self.n_pos, self.n_neg)
            );
        }
    }

    pub fn n(&self) -> u64 {
        self.n
    }

    /// Add the series of the trials right after these (chunk in progress
    /// closed on both sides).
    fn append(&mut self, next: SeriesAcc) {
        self.n += next.n;
        self.non_finite += next.non_finite;
        self.n_ge += next.n_ge;
        self.n_pos += next.n_pos;
        self.n_neg += next.n_neg;
        match (&mut self.store, next.store) {
            (Store::Exact(v), Store::Exact(w)) => v.extend_from_slice(&w),
            (Store::Sketch(sk), Store::Sketch(other)) => {
                sk.merge(&other);
                for node in next.moments.nodes() {
                    self.moments.push_node(*node);
                }
            }
            // Accumulator::concat checks the modes agree
            _ => debug_assert!(false, "series of different modes appended"),
        }
    }

    /// Memory of this series (its state and its values or sketch).
    pub fn bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + match &self.store {
                Store::Exact(v) => v.capacity() * std::mem::size_of::<f64>(),
                Store::Sketch(sk) => sk.bytes(),
            }
    }

    /// Are all values finite (is the metric defined in every trial)?
    pub fn all_finite(&self) -> bool {
        match &self.store {
            Store::Exact(v) => v.iter().all(|x| x.is_finite()),
            Store::Sketch(_) => self.non_finite == 0,
        }
    }

    /// Is every value finite and within ±`limit`? (One comparison per kept
    /// value; the sketch's count of non-finite values and its range.)
    pub fn all_within(&self, limit: f64) -> bool {
        match &self.store {
            Store::Exact(v) => v.iter().fold(true, |ok, x| ok & (x.abs() <= limit)),
            Store::Sketch(sk) => {
                self.non_finite == 0 && (sk.is_empty() || (sk.min() >= -limit && sk.max() <= limit))
            }
        }
    }

    /// Non-finite values seen, and the smallest and largest finite value
    /// (`+inf`, `-inf` when there is none).
    pub fn finite_range(&self) -> (u64, f64, f64) {
        match &self.store {
            Store::Exact(v) => {
                v.iter()
                    .fold((0, f64::INFINITY, f64::NEG_INFINITY), |(n, lo, hi), &x| {
                        if x.is_finite() {
                            (n, lo.min(x), hi.max(x))
                        } else {
                            (n + 1, lo, hi)
                        }
                    })
            }
            Store::Sketch(sk) if sk.is_empty() => {
                (self.non_finite, f64::INFINITY, f64::NEG_INFINITY)
            }
            Store::Sketch(sk) => (self.non_finite, sk.min(), sk.max()),
        }
    }

    /// Trials with a value ≥ the target.
    pub fn n_at_or_above_target(&self) -> u64 {
        self.n_ge
    }

    /// Trials with a value > 0 and < 0.
    pub fn n_positive(&self) -> u64 {
        self.n_pos
    }
    pub fn n_negative(&self) -> u64 {
        self.n_neg
    }

    /// Are the quantiles exact (or from the sketch)?
    pub fn exact(&self) -> bool {
        matches!(self.store, Store::Exact(_))
    }

    /// Count, mean and sample sd of the (finite) values: two-pass over the
    /// kept values in exact mode, Welford's state in sketch mode.
    fn moments(&self) -> (u64, f64, f64) {
        match &self.store {
            Store::Exact(v) => {
                let (mean, sd) = stats::mean_sd(v);
                (v.len() as u64, mean, sd)
            }
            Store::Sketch(_) => {
                let m = self.moments.total();
                debug_assert_eq!(m.n, self.n - self.non_finite);
                let sd = if m.n > 1 {
                    (m.m2 / (m.n - 1) as f64).sqrt()
                } else {
                    0.0
                };
                (m.n, m.mean, sd)
            }
        }
    }

    /// Mean and standard error of the mean (no quantiles: cheap).
    pub fn mean_se(&self) -> (f64, f64) {
        let (n, mean, sd) = self.moments();
        (mean, sd / (n as f64).sqrt())
    }

    /// Mean, sd, CI of the mean, quantiles and outcome interval.
    pub fn summary(&self, ci: f64, interval: f64) -> Summary {
        match &self.store {
            Store::Exact(v) => stats::summarize(v, ci, interval),
            Store::Sketch(sk) => {
                let (n, mean, sd) = self.moments();
                stats::summary_from(n, mean, sd, ci, interval, |p| sk.quantile(p))
            }
        }
    }

    /// The share of the finite values at or below each of `xs` (sorted
    /// ascending): exact counts from the kept values, or in sketch mode the
    /// linear interpolation of 1,001 sketch quantiles (each within the
    /// sketch's bound). For charts; no reported statistic uses it.
    pub fn cdf(&self, xs: &[f64]) -> Vec<f64> {
        match &self.store {
            Store::Exact(v) => {
                let sorted = sorted_finite(v);
                let n = sorted.len().max(1) as f64;
                xs.iter()
                    .map(|&x| sorted.partition_point(|&y| y <= x) as f64 / n)
                    .collect()
            }
            Store::Sketch(sk) => {
                const GRID: usize = 1000;
                let grid: Vec<f64> = (0..=GRID)
                    .map(|i| sk.quantile(i as f64 / GRID as f64))
                    .collect();
                xs.iter()
                    .map(|&x| stats::cdf_from_quantiles(&grid, x))
                    .collect()
            }
        }
    }

    /// Quantiles `ps` of the finite values (any number of them).
    pub fn quantiles(&self, ps: &[f64]) -> Vec<f64> {
        match &self.store {
            Store::Exact(v) => {
                let sorted = sorted_finite(v);
                ps.iter()
                    .map(|&p| stats::quantile_sorted(&sorted, p))
                    .collect()
            }
            Store::Sketch(sk) => ps.iter().map(|&p| sk.quantile(p)).collect(),
        }
    }

    /// Mean and quantiles `ps` (for monthly series, which report fewer).
    pub fn mean_and_quantiles<const N: usize>(&self, ps: [f64; N]) -> (f64, [f64; N]) {
        match &self.store {
            Store::Exact(v) => {
                let mean = v.iter().sum::<f64>() / v.len() as f64;
                let mut work = v.clone();
                (mean, stats::quantiles_by_selection(&mut work, ps))
            }
            Store::Sketch(sk) => (self.moments.total().mean, ps.map(|p| sk.quantile(p))),
        }
    }
}

/// The finite values of `v`, sorted ascending.
fn sorted_finite(v: &[f64]) -> Vec<f64> {
    let mut sorted: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    sorted
}

/// The series of a run or a what-if, fed window by window.
#[derive(Debug)]
pub struct Accumulator {
    pub series: Vec<SeriesAcc>,
    /// Position of each source in `series`.
    index: HashMap<Source, usize>,
    /// The first trial (0, or a shard's first trial).
    start: u64,
    trials: u64,
    exact: bool,
    budget: u64,
    limit: u64,
    /// Series compared by [`Accumulator::get`] so far (a measure of the
    /// analysis' work, for tests).
    probes: AtomicU64,
}

impl Clone for Accumulator {
    fn clone(&self) -> Self {
        Accumulator {
            series: self.series.clone(),
            index: self.index.clone(),
            start: self.start,
            trials: self.trials,
            exact: self.exact,
            budget: self.budget,
            limit: self.limit,
            probes: AtomicU64::new(self.probes.load(Ordering::Relaxed)),
        }
    }
}

impl Accumulator {
    /// Series from `(source, target)` pairs, for a run of `planned` trials
    /// (`None` if not known in advance): exact quantiles if every value fits
    /// [`EXACT_BUDGET_BYTES`], else sketches from the start.
    pub fn new(sources: Vec<(Source, Option<f64>)>, planned: Option<u64>) -> Accumulator {
        Accumulator::with_budget(sources, planned, EXACT_BUDGET_BYTES)
    }

    /// [`Accumulator::new`] with another exact-quantile budget (0 = always
    /// sketch).
    pub fn with_budget(
        sources: Vec<(Source, Option<f64>)>,
        planned: Option<u64>,
        budget: u64,
    ) -> Accumulator {
        let exact = fits(sources.len(), planned.unwrap_or(0), budget);
        let series: Vec<SeriesAcc> = sources
            .into_iter()
            .map(|(s, t)| SeriesAcc::new(s, t, exact, 0))
            .collect();
        Accumulator::assemble(series, 0, exact, budget)
    }

    /// The accumulator of one shard of a run of `planned` trials: its
    /// trials start at `start` (a multiple of [`CHUNK`]), and it keeps
    /// exact quantiles exactly when the whole run would, so the shards
    /// [`Accumulator::concat`] into the whole run's state.
    pub fn for_shard(
        sources: Vec<(Source, Option<f64>)>,
        planned: u64,
        budget: u64,
        start: u64,
    ) -> Accumulator {
        let mut acc = Accumulator::with_budget(sources, Some(planned), budget);
        debug_assert_eq!(start % CHUNK, 0);
        acc.start = start;
        for a in &mut acc.series {
            a.start = start;
        }
        acc
    }

    /// The accumulators of consecutive shards (in trial order) as one:
    /// exact values concatenated, sketches merged, counts added and the
    /// chunk-tree moments joined — the state one process would hold after
    /// all their trials, to the bit (see [`moments`]).
    pub fn concat(parts: Vec<Accumulator>) -> Result<Accumulator, String> {
        let mut parts = parts.into_iter();
        let Some(mut whole) = parts.next() else {
            return Err("no accumulator to join".to_string());
        };
        let end = whole.start + whole.trials;
        whole.close_chunk(end);
        for mut next in parts {
            next.close_chunk(next.start + next.trials);
            let end = whole.start + whole.trials;
            if next.start != end {
                return Err(format!(
                    "trials {}..{} do not follow trials ..{end}",
                    next.start,
                    next.start + next.trials
                ));
            }
            if !end.is_multiple_of(CHUNK) {
                return Err(format!("trial {end} is not at a chunk boundary"));
            }
            if next.exact != whole.exact
                || next.budget != whole.budget
                || next.series.len() != whole.series.len()
            {
                return Err("the parts keep different statistics".to_string());
            }
            for (a, b) in whole.series.iter_mut().zip(next.series) {
                if a.source != b.source || a.target.map(f64::to_bits) != b.target.map(f64::to_bits)
                {
                    return Err(format!("series {:?} and {:?} differ", a.source, b.source));
                }
                a.append(b);
            }
            whole.trials += next.trials;
        }
        Ok(whole)
    }

    /// The first trial of these statistics (0 but for a shard's).
    pub fn start(&self) -> u64 {
        self.start
    }

    /// Close every series' chunk in progress, if `end` (one past the last
    /// trial) is inside a chunk.
    fn close_chunk(&mut self, end: u64) {
        if !end.is_multiple_of(CHUNK) {
            for a in &mut self.series {
                if !a.exact() {
                    a.moments.close_chunk(end / CHUNK);
                }
            }
        }
    }

    /// An exact accumulator over series already complete.
    pub fn from_series(series: Vec<SeriesAcc>, trials: u64) -> Accumulator {
        Accumulator::assemble(series, trials, true, EXACT_BUDGET_BYTES)
    }

    fn assemble(series: Vec<SeriesAcc>, trials: u64, exact: bool, budget: u64) -> Accumulator {
        let index = series
            .iter()
            .enumerate()
            .map(|(i, a)| (a.source, i))
            .collect();
        Accumulator {
            series,
            index,
            start: 0,
            trials,
            exact,
            budget,
            limit: ACCUM_LIMIT_BYTES,
            probes: AtomicU64::new(0),
        }
    }

    /// Another memory limit than [`ACCUM_LIMIT_BYTES`] (for tests).
    pub fn with_limit(mut self, bytes: u64) -> Accumulator {
        self.limit = bytes;
        self
    }

    pub fn trials(&self) -> u64 {
        self.trials
    }

    /// Are quantiles exact?
    pub fn exact(&self) -> bool {
        self.exact
    }

    /// Memory held: every series and the index.
    pub fn bytes(&self) -> u64 {
        let series: usize = self.series.par_iter().map(SeriesAcc::bytes).sum();
        series as u64 + index_bytes(self.index.capacity())
    }

    /// Prepare for `more` trials: switch to sketches if exact storage would
    /// exceed the budget.
    pub fn reserve(&mut self, more: u64) {
        if self.exact && !fits(self.series.len(), self.trials + more, self.budget) {
            self.series
                .par_iter_mut()
                .for_each(SeriesAcc::switch_to_sketch);
            self.exact = false;
        }
    }

    /// Add one window (one block per scenario, same trials). Fails once the
    /// accumulator holds more than its limit ([`ACCUM_LIMIT_BYTES`]).
    pub fn push(&mut self, blocks: &[Block]) -> Result<(), TooLarge> {
        let len = blocks.first().map_or(0, |b| b.len);
        self.reserve(len as u64);
        // an exact series never holds more than its share of the budget
        let cap = (self.budget / 8 / self.series.len().max(1) as u64) as usize;
        let bytes: usize = self
            .series
            .par_iter_mut()
            .map(|acc| {
                if let Store::Exact(v) = &mut acc.store {
                    let need = v.len() + len;
                    if need > v.capacity() {
                        let target = need.max((2 * v.capacity()).min(cap));
                        v.reserve_exact(target - v.len());
                    }
                }
                acc.push_window(blocks, len);
                acc.bytes()
            })
            .sum();
        self.trials += len as u64;
        let used = bytes as u64 + index_bytes(self.index.capacity());
        if used > self.limit {
            return Err(TooLarge {
                series: self.series.len(),
                trials: self.trials,
                used_mib: used >> 20,
                limit_mib: self.limit >> 20,
            });
        }
        Ok(())
    }

    /// The series with this source (a hash lookup).
    pub fn get(&self, source: Source) -> Option<&SeriesAcc> {
        self.probes.fetch_add(1, Ordering::Relaxed);
        self.index.get(&source).map(|&i| &self.series[i])
    }

    /// Series compared by [`Accumulator::get`] so far: one per call (a
    /// linear search compared up to every series per call).
    pub fn probes(&self) -> u64 {
        self.probes.load(Ordering::Relaxed)
    }
}

fn fits(series: usize, trials: u64, budget: u64) -> bool {
    (series as u64).saturating_mul(trials).saturating_mul(8) <= budget
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_quantiles_equal_sorted_quantiles() {
        let mut x: u64 = 12345;
        let mut values: Vec<f64> = (0..1001)
            .map(|_| {
                x = crate::engine::splitmix64(x);
                (x % 997) as f64 - 300.0
            })
            .collect();
        let mut sorted = values.clone();
        sorted.sort_unstable_by(f64::total_cmp);
        for p in [0.0, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 1.0] {
            assert_eq!(
                stats::quantile_by_selection(&mut values, p),
                stats::quantile_sorted(&sorted, p),
                "p = {p}"
            );
        }
        assert_eq!(stats::quantile_by_selection(&mut [4.0], 0.3), 4.0);
        assert!(stats::quantile_by_selection(&mut [], 0.3).is_nan());
    }
}
