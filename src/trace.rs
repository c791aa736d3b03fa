//! The benchmark tracer: a record of every random draw of a trial, and its
//! replay on the sampling primitives alone.
//!
//! The parameter and model stages are generic over a [`Tracer`]; the
//! engine passes [`NoTrace`], which records nothing and compiles away, so
//! none of this is on the simulation's path. The `floor` benchmark passes a
//! `Vec<Draw>` and then [`replay`]s it: the "floor" of a trial is the time
//! its draws take without the model around them.

use rand::{Rng, RngExt};

use crate::dist::Dist;
use crate::sampling::{BinomialP, LeadSampler, multivariate_hypergeometric};

/// One random draw (or a few) of a trial, with what is needed to repeat it
/// on the sampling primitives alone (see [`replay`]). For benchmarks: the
/// "floor" of a trial is the time its draws take without the model around
/// them. Compact (24 bytes), so a replayed trace costs little memory traffic.
/// (The engine's [`NoTrace`] records nothing, so none of this is built.)
#[doc(hidden)]
#[derive(Debug, Clone)]
pub enum Draw<'a> {
    /// A value of a scenario distribution (a per-trial parameter).
    Dist(&'a Dist),
    /// A per-trial parameter drawn through the copula: its inverse CDF at
    /// a uniform.
    Quantile(&'a Dist),
    /// A sub-stream is seeded (see [`crate::sampling::streams`]).
    Stream(u64),
    /// One opportunity: its size, its cycle in whole months (up to
    /// `left`), and (when `outcome`) the uniform that decides whether it is
    /// won.
    Deal {
        size: &'a Dist,
        cycle: &'a Dist,
        left: u32,
        outcome: bool,
    },
    /// A strategy starts: its prepared samplers follow.
    Strategy,
    /// A sampler prepared once per trial; the `k`-th since [`Draw::Strategy`]
    /// is slot `k`.
    Prepare(Box<Prepared>),
    /// A month's leads, split by the probability `p` of reaching the
    /// handoff stage, with the sampler in `slot`.
    Leads { slot: u32, lambda: f64, p: f64 },
    /// A binomial count with the probability prepared in `slot`.
    Binomial { slot: u32, n: u64 },
    /// One channel's handoff members, before a [`Draw::Capacity`].
    Member(u64),
    /// Sharing capacity `k` among the members listed just before.
    Capacity { k: u64 },
}

/// A sampler prepared once per trial (see [`Draw::Prepare`]).
#[doc(hidden)]
#[derive(Debug, Clone)]
pub enum Prepared {
    Leads(LeadSampler),
    Binomial(BinomialP),
}

/// Receives every draw of a trial; [`NoTrace`] (the engine's) compiles to
/// nothing.
#[doc(hidden)]
pub trait Tracer<'a> {
    fn record(&mut self, draw: impl FnOnce() -> Draw<'a>);
}

/// The tracer that records nothing.
#[doc(hidden)]
pub struct NoTrace;

impl<'a> Tracer<'a> for NoTrace {
    #[inline(always)]
    fn record(&mut self, _draw: impl FnOnce() -> Draw<'a>) {}
}

impl<'a> Tracer<'a> for Vec<Draw<'a>> {
    fn record(&mut self, draw: impl FnOnce() -> Draw<'a>) {
        self.push(draw());
    }
}

/// Scratch space of [`replay`].
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct ReplayScratch {
    prepared: Vec<Prepared>,
    members: Vec<u64>,
}

/// Make the draws of `draws` again on the sampling primitives, with no
/// model logic; returns a sum of the values so nothing is optimised away.
#[doc(hidden)]
pub fn replay<R: Rng + ?Sized>(
    draws: &[Draw<'_>],
    scratch: &mut ReplayScratch,
    rng: &mut R,
) -> f64 {
    let mut acc = 0.0f64;
    for d in draws {
        acc += match d {
            Draw::Dist(dist) => dist.sample(rng),
            Draw::Quantile(dist) => dist.quantile(rng.random::<f64>().max(f64::MIN_POSITIVE)),
            Draw::Stream(key) => {
                // the seeding cost of a sub-stream: build one and use it once
                let mut s = crate::sampling::streams::stream(acc.to_bits(), *key);
                (s.next_u64() >> 63) as f64
            }
            Draw::Deal {
                size,
                cycle,
                left,
                outcome,
            } => {
                let v = size.sample(rng) + cycle.sample_months(u64::from(*left), rng) as f64;
                if *outcome { v + rng.random::<f64>() } else { v }
            }
            Draw::Strategy => {
                scratch.prepared.clear();
                0.0
            }
            Draw::Prepare(p) => {
                scratch.prepared.push((**p).clone());
                0.0
            }
            Draw::Leads { slot, lambda, p } => match scratch.prepared.get(*slot as usize) {
                Some(Prepared::Leads(l)) => {
                    let (leads, passed) = l.sample_split(*lambda, *p, rng);
                    (leads + passed) as f64
                }
                _ => 0.0,
            },
            Draw::Binomial { slot, n } => match scratch.prepared.get(*slot as usize) {
                Some(Prepared::Binomial(b)) => b.sample(*n, rng) as f64,
                _ => 0.0,
            },
            Draw::Member(x) => {
                scratch.members.push(*x);
                0.0
            }
            Draw::Capacity { k } => {
                multivariate_hypergeometric(&mut scratch.members, *k, rng);
                let v = scratch.members.first().copied().unwrap_or(0);
                scratch.members.clear();
                v as f64
            }
        };
    }
    acc
}

/// Trace slot of prepared sampler `which` (0 leads, 1 to pipeline) of
/// channel `c`.
#[inline(always)]
pub fn slot(c: usize, which: usize) -> u32 {
    (2 * c + which) as u32
}

/// `dist.sample`, recorded.
#[inline(always)]
pub fn sample<'a, R: Rng + ?Sized, T: Tracer<'a>>(
    dist: &'a Dist,
    rng: &mut R,
    trace: &mut T,
) -> f64 {
    trace.record(|| Draw::Dist(dist));
    dist.sample(rng)
}

#[cfg(test)]
mod tests {
    use super::Draw;

    #[test]
    fn a_traced_draw_is_compact() {
        assert!(std::mem::size_of::<Draw<'_>>() <= 24);
    }
}
