//! Random-number streams: named, keyed sub-streams of a trial.
//!
//! Every random number of a run comes from a stream seeded by (master
//! seed, trial index, key) through SplitMix64, so a trial's numbers do not
//! depend on the thread count, on how trials are cut into chunks or shards,
//! or on the other trials. Within a trial, numbers are not taken from one
//! long stream per strategy but from sub-streams keyed by what they serve —
//! a per-trial parameter by its path, a channel's counts of a month by the
//! channel and the month, a cohort's deals likewise, the capacity split of a
//! month by the strategy and the month (MODEL.md, "Aligned random
//! numbers"). A change then moves only what it touches: two strategies
//! buying the same shared channel see the same arrivals, and a what-if on
//! one channel's spend leaves the other channels' draws alone.
//!
//! Keys are 64-bit FNV-1a hashes of `pipesim/KIND/NAME` strings, computed
//! once when a scenario is validated; a month's key mixes the month into
//! the key with SplitMix64.
//!
//! A stream is a SplitMix64 generator (Steele, Lea and Flood 2014; passes
//! BigCrush; `rand_xoshiro::SplitMix64`, portable and named) whose state is
//! the mixed key: seeding one costs one mix, where a Xoshiro256++ costs
//! five, and a trial seeds a few hundred streams of a few dozen draws each
//! (so its 2⁶⁴ period is irrelevant, and two streams overlap only if their
//! random 64-bit states lie within a few dozen steps of the same Weyl
//! sequence, a chance of about 10⁻¹⁷ per pair). The exact keys fix the numbers a seed gives
//! (pinned by `tests/it/value_stability.rs`): change them only on purpose.

use rand::SeedableRng;
use rand_xoshiro::SplitMix64;

/// The generator used for every stream (portable, named, fast).
pub type StreamRng = SplitMix64;

/// SplitMix64 finaliser: a bijective 64-bit mix.
#[inline]
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a, a stable 64-bit hash for stream names.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The key of the stream `pipesim/KIND/NAME`, e.g. `key("param",
/// "market.demand")`.
pub fn key(kind: &str, name: &str) -> u64 {
    let mut bytes = Vec::with_capacity(9 + kind.len() + 1 + name.len());
    bytes.extend_from_slice(b"pipesim/");
    bytes.extend_from_slice(kind.as_bytes());
    bytes.push(b'/');
    bytes.extend_from_slice(name.as_bytes());
    fnv1a(&bytes)
}

/// The key of month `m` of a per-month stream family `key`.
#[inline]
pub fn month_key(key: u64, m: usize) -> u64 {
    splitmix64(
        key ^ (m as u64)
            .wrapping_add(1)
            .wrapping_mul(0xD6E8_FEB8_6659_FD93),
    )
}

/// The base of trial `trial`'s streams under master seed `seed`: every
/// stream of the trial is [`stream`]`(base, key)`.
#[inline]
pub fn trial_base(seed: u64, trial: u64) -> u64 {
    splitmix64(splitmix64(seed) ^ trial)
}

/// The stream `key` of the trial whose base is `base` ([`trial_base`]).
#[inline]
pub fn stream(base: u64, key: u64) -> StreamRng {
    StreamRng::seed_from_u64(splitmix64(base ^ key))
}

/// The stream `key` of one trial: `stream(trial_base(seed, trial), key)`.
#[inline]
pub fn stream_rng(seed: u64, trial: u64, key: u64) -> StreamRng {
    stream(trial_base(seed, trial), key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_differ_by_key_trial_and_seed() {
        let a = stream_rng(1, 0, key("param", "market.demand")).next_u64();
        let b = stream_rng(1, 0, key("param", "revenue.churn_monthly")).next_u64();
        let c = stream_rng(1, 1, key("param", "market.demand")).next_u64();
        let d = stream_rng(2, 0, key("param", "market.demand")).next_u64();
        assert!(a != b && a != c && a != d && b != c);
        let k = key("counts", "channel.x");
        assert_ne!(month_key(k, 0), month_key(k, 1));
        assert_eq!(
            stream_rng(1, 0, k).next_u64(),
            stream_rng(1, 0, k).next_u64()
        );
    }

    /// A stream is SplitMix64 from its state: output i is the mix of
    /// `s + (i+1)·φ` (what `splitmix64` computes).
    #[test]
    fn a_stream_is_splitmix64_from_its_state() {
        const PHI: u64 = 0x9E37_79B9_7F4A_7C15;
        for s in [0u64, 1, 42, u64::MAX, 12_345_678_901] {
            let mut r = StreamRng::seed_from_u64(s);
            for i in 0..8u64 {
                assert_eq!(
                    r.next_u64(),
                    splitmix64(s.wrapping_add(PHI.wrapping_mul(i)))
                );
            }
        }
    }
}
