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
