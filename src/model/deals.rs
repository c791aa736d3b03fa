//! The deals of a cohort (the opportunities of one channel, segment and
//! month): per opportunity its size, its cycle in whole months and its
//! outcome, drawn in order from the cohort's deal stream.
//!
//! A deal opened in month `m` with a cycle of `c` whole months closes in
//! month `m + c`; what that means for the metrics (won in the horizon,
//! still open at its end, in which quarter) is the caller's book-keeping,
//! handed each deal in turn.

use rand::Rng;

use crate::dist::Dist;
use crate::sampling::exp;
use crate::sampling::ziggurat::standard_normal_by_value;
use crate::trace::{Draw, Tracer};

use super::months::Book;

/// What a cohort's deals are drawn from: size, cycle and (when set) the
/// lost deals' cycle, and the win probability.
#[derive(Debug, Clone, Copy)]
pub(super) struct DealLaw<'a> {
    pub size: &'a Dist,
    pub cycle: &'a Dist,
    pub lost_cycle: Option<&'a Dist>,
    pub p_win: f64,
}

/// Draw the `n` deals of one cohort from its deal stream `rng`, in order,
/// and hand each to `sink` as (size, whole months to close capped at
/// its [`Book::limit`], won), as month `t`'s deals of segment `g`. Draw order per deal: size, cycle months, then — when
/// the win probability is below 1 — one uniform for the outcome; with a
/// lost deals' cycle, size, the outcome, then the cycle of that outcome
/// (MODEL.md, "Lost deals' own cycle": the outcome first).
#[inline(always)]
pub(super) fn cohort<'a, R: Rng + Clone, B: Book, T: Tracer<'a>>(
    n: u64,
    law: DealLaw<'a>,
    (t, g): (usize, usize),
    mut rng: R,
    sink: &mut B,
    trace: &mut T,
) {
    let limit = sink.limit(t);
    if n == 0 {
        return;
    }
    let (size_dist, cycle_dist, p_win) = (law.size, law.cycle, law.p_win);
    let outcome = p_win < 1.0;
    if let Some(lost) = law.lost_cycle {
        let (won_law, lost_law) = (cycle_dist.month_law(), lost.month_law());
        for _ in 0..n {
            let size = size_dist.sample(&mut rng);
            let won = !outcome || uniform(&mut rng) < p_win;
            let months = match (won, won_law, lost_law) {
                (true, Some(l), _) | (false, _, Some(l)) => l.sample(limit, &mut rng),
                (true, None, _) => cycle_dist.sample_months(limit, &mut rng),
                (false, _, None) => lost.sample_months(limit, &mut rng),
            };
            sink.deal(t, g, size, months, won);
        }
        return;
    }
    let limit32 = u32::try_from(limit).unwrap_or(u32::MAX);
    let mut book = |size: f64, months: u64, won: bool| {
        trace.record(|| Draw::Deal {
            size: size_dist,
            cycle: cycle_dist,
            left: limit32,
            outcome,
        });
        sink.deal(t, g, size, months, won);
    };
    let month_law = cycle_dist.month_law();
    if let (Dist::LogNormal { mu, sigma, .. }, Some(month_law)) = (size_dist, month_law) {
        let (mu, sigma) = (*mu, *sigma);
        for _ in 0..n {
            let size = exp(mu + sigma * standard_normal_by_value(&mut rng));
            let months = month_law.sample(limit, &mut rng);
            let won = !outcome || uniform(&mut rng) < p_win;
            book(size, months, won);
        }
    } else {
        for _ in 0..n {
            let size = size_dist.sample(&mut rng);
            let months = match month_law {
                Some(l) => l.sample(limit, &mut rng),
                None => cycle_dist.sample_months(limit, &mut rng),
            };
            let won = !outcome || uniform(&mut rng) < p_win;
            book(size, months, won);
        }
    }
}

#[inline(always)]
fn uniform<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}
