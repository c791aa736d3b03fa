//! The deals stage of a month: per channel the opportunity count, then
//! per opportunity its size, its cycle in whole months and its outcome.
//!
//! A deal opened in month `m` with a cycle of `c` whole months closes in
//! month `m + c`; one won within the horizon adds to that month's won
//! deals and bookings, one still open at the end (whatever its outcome)
//! adds its size to the open pipeline.

use rand::Rng;

use crate::dist::Dist;
use crate::params::{StrategyParams, TrialDraws};
use crate::sampling::exp;
use crate::sampling::streams::{StreamRng, month_key};
use crate::sampling::ziggurat::standard_normal_by_value;
use crate::scenario::Strategy;
use crate::trace::{self, Draw, Tracer};

/// The opportunities of month `m` (of a horizon of `h` months) per channel,
/// from the `worked` handoff members (drawn from each channel's `counts`
/// stream of the month), and their deals (from the channel's deal stream
/// of the month). Returns the month's opportunities.
#[inline(always)]
pub(super) fn month<'a, T: Tracer<'a>>(
    strategy: &'a Strategy,
    params: &StrategyParams,
    (worked, counts): (&[u64], &mut [StreamRng]),
    (at, m, h): (&TrialDraws<'_>, usize, usize),
    (won_by_month, bookings_by_month): (&mut [f64], &mut [f64]),
    sums: &mut DealSums,
    trace: &mut T,
) -> u64 {
    // months left after this one: a deal closing `months` after m
    // closes within the horizon iff months < left
    let left = (h - m) as u64;
    let mut opps = 0u64;
    for (c, (((ch, d), &worked), rng)) in strategy
        .channels
        .iter()
        .zip(&params.channels)
        .zip(worked)
        .zip(counts.iter_mut())
        .enumerate()
    {
        trace.record(|| Draw::Binomial {
            slot: trace::slot(c, 1),
            n: worked,
        });
        let x = d.to_pipeline.sample(worked, rng);
        opps = opps.saturating_add(x);
        if x == 0 {
            continue;
        }
        let key = month_key(ch.deals_key, m);
        trace.record(|| Draw::Stream(key));
        let rng = at.stream(key);
        // the months m..h: a deal closing `months` after m lands at
        // index `months` (when months < left = h − m, their length)
        let tails = (&mut won_by_month[m..h], &mut bookings_by_month[m..h]);
        let dists = (&ch.deal_size.dist, &ch.cycle_days.dist);
        deals(x, dists, d.p_win, left, tails, sums, rng, trace);
    }
    opps
}

/// Running sums over a strategy's deals.
#[derive(Debug, Default)]
pub(super) struct DealSums {
    pub pipeline_value: f64,
    pub open_value: f64,
}

/// The `n` opportunities of one channel opened in a month with `left`
/// months of the horizon to go: per deal its size, its cycle in whole
/// months and its outcome uniform (draw order: see the module docs). A
/// deal won within the horizon adds to `tails` (won deals, bookings) at
/// index `months`; one still open at the end adds its size to the open
/// pipeline.
///
/// The cohort's deal stream is taken by value: a local generator whose
/// state stays in registers through the loop.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn deals<'a, R: Rng + Clone, T: Tracer<'a>>(
    n: u64,
    (size_dist, cycle_dist): (&'a Dist, &'a Dist),
    p_win: f64,
    left: u64,
    (won_tail, bookings_tail): (&mut [f64], &mut [f64]),
    sums: &mut DealSums,
    mut rng: R,
    trace: &mut T,
) {
    if n == 0 {
        return;
    }
    // for the trace (h <= MAX_HORIZON)
    let left32 = u32::try_from(left).unwrap_or(u32::MAX);
    let outcome = p_win < 1.0;
    let mut book = |size: f64, months: u64, won: bool| {
        trace.record(|| Draw::Deal {
            size: size_dist,
            cycle: cycle_dist,
            left: left32,
            outcome,
        });
        sums.pipeline_value += size;
        // closes at c >= H: still open at the end, whatever its outcome
        let closes = months < left;
        let booked = closes & won;
        // Without branches (their outcomes are random, so mispredicted
        // often): a bit mask selects the value added or +0, and adding +0
        // to a non-negative sum leaves it unchanged — the same sums as
        // adding only where it applies. (A mask, not `if`, which the
        // compiler turns back into a branch.)
        let all = |b: bool| u64::from(b).wrapping_neg();
        let (open, book) = (all(!closes), all(booked));
        sums.open_value += f64::from_bits(size.to_bits() & open);
        let i = months.min(left - 1) as usize;
        won_tail[i] += f64::from_bits(1.0f64.to_bits() & book);
        bookings_tail[i] += f64::from_bits(size.to_bits() & book);
    };
    let law = cycle_dist.month_law();
    if let (Dist::LogNormal { mu, sigma, .. }, Some(law)) = (size_dist, law) {
        let (mu, sigma) = (*mu, *sigma);
        for _ in 0..n {
            // Dist::sample of the lognormal
            let size = exp(mu + sigma * standard_normal_by_value(&mut rng));
            // floor(cycle_days / DAYS_PER_MONTH), lumped from `left` on
            let months = law.sample(left, &mut rng);
            // drawn for every deal (also one still open at the end), so the
            // loop has no data-dependent branch
            let won = !outcome || uniform(&mut rng) < p_win;
            book(size, months, won);
        }
    } else {
        for _ in 0..n {
            let size = size_dist.sample(&mut rng);
            let months = match law {
                Some(law) => law.sample(left, &mut rng),
                None => cycle_dist.sample_months(left, &mut rng),
            };
            let won = !outcome || uniform(&mut rng) < p_win;
            book(size, months, won);
        }
    }
}

/// A uniform on [0, 1) from the high 53 bits of one `u64`: rand's
/// `random::<f64>()`, written out so it surely inlines.
#[inline(always)]
fn uniform<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}
