//! The capacity stage of a month: when the handoff members exceed the sales
//! team's capacity K, K of them are worked, chosen uniformly at random —
//! per channel, a multivariate hypergeometric draw — and the rest are
//! ignored.

use rand::Rng;

use crate::sampling::multivariate_hypergeometric;
use crate::trace::{Draw, Tracer};

/// Share `capacity` among the month's `members` per channel (`total` of
/// them), in place: afterwards `members` holds the worked count per
/// channel. Returns the members ignored. `stream` gives the month's
/// capacity-split stream, asked for only when capacity binds.
#[inline(always)]
pub(super) fn share<'a, R: Rng, T: Tracer<'a>>(
    capacity: Option<u64>,
    total: u64,
    members: &mut [u64],
    stream: impl FnOnce() -> R,
    trace: &mut T,
) -> u64 {
    let Some(k) = capacity.filter(|k| total > *k) else {
        return 0;
    };
    let mut rng = stream();
    for &x in members.iter() {
        trace.record(|| Draw::Member(x));
    }
    trace.record(|| Draw::Capacity { k });
    multivariate_hypergeometric(members, k, &mut rng);
    total - k
}

/// With segments: share each team's capacity among its members, in place
/// (`members[c * ng + g]` for channel `c`, segment `g` of `ng`): first the
/// strategy's team (`strategy`, `None` = unlimited) over the segments
/// without a team of their own, then each segment's own team in segment
/// order. A team whose members exceed its capacity draws its split from
/// the month's capacity stream (one stream for the month, teams in that
/// order). Returns the members ignored.
#[inline(always)]
pub(super) fn share_teams<R: Rng>(
    strategy: Option<u64>,
    own: &[Option<u64>],
    members: &mut [u64],
    buf: &mut Vec<u64>,
    stream: impl Fn() -> R,
) -> u64 {
    let ng = own.len().max(1);
    let mut rng: Option<R> = None;
    let mut ignored = 0u64;
    let teams = std::iter::once((strategy, None)).chain(
        own.iter()
            .enumerate()
            .filter_map(|(g, k)| k.map(|k| (Some(k), Some(g)))),
    );
    for (capacity, team) in teams {
        let Some(k) = capacity else { continue };
        let serves = |g: usize| match team {
            None => own.get(g).is_some_and(Option::is_none),
            Some(t) => g == t,
        };
        buf.clear();
        let mut total = 0u64;
        for (i, x) in members.iter().enumerate() {
            if serves(i % ng) {
                buf.push(*x);
                total = total.saturating_add(*x);
            }
        }
        if total <= k {
            continue;
        }
        multivariate_hypergeometric(buf, k, rng.get_or_insert_with(&stream));
        let mut worked = buf.iter();
        for (i, x) in members.iter_mut().enumerate() {
            if serves(i % ng)
                && let Some(w) = worked.next()
            {
                *x = *w;
            }
        }
        ignored += total - k;
    }
    ignored
}
