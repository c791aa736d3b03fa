//! A deal's cycle in whole months: the law of `floor(x / DAYS_PER_MONTH)`
//! of a cycle distribution, tabulated once from its CDF and sampled by an
//! alias table (one `u64` per draw).

use std::sync::{Arc, OnceLock};

use rand::Rng;

use crate::calendar::{DAYS_PER_MONTH, MAX_HORIZON};

use super::Dist;

/// The law of `floor(x / DAYS_PER_MONTH)` of a distribution, built on first
/// use (see [`Dist::sample_months`]); `None` inside when it cannot be
/// computed reliably, and the months are then drawn by sampling `x`.
#[derive(Clone, Default)]
pub struct MonthTable(pub(super) OnceLock<Option<Arc<MonthLaw>>>);

/// A cache, not part of the distribution: its `Debug` is the same whether
/// it is built yet or not (so a scenario's `Debug`, and its
/// [fingerprint](crate::scenario::Scenario::fingerprint), do not depend on
/// whether it has run).
impl std::fmt::Debug for MonthTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MonthTable")
    }
}

/// The law of a deal's cycle in whole months: its CDF at whole months and
/// an alias table (Walker 1977, built by Vose's method) of the same
/// probabilities, for O(1), branch-free sampling.
///
/// Outcomes are the months `0..cdf.len()` plus one "beyond the table"
/// outcome (the mass `1 − cdf[last]`, zero unless the table stops at
/// [`MAX_HORIZON`]). The table has a power-of-two number of columns `2^b`
/// (unused columns hold no mass of their own), so one 64-bit draw gives
/// both the column (its low `b ≤ 10` bits) and a 53-bit uniform (its high
/// 53 bits) — disjoint bits, so the two are independent and exact. Column
/// `i` yields its own month when the uniform is below its cut, else its
/// alias. Each outcome's probability is reproduced up to the rounding of
/// the table's construction (a few 1e-16), the same order as the CDF's.
#[derive(Debug, Clone)]
pub struct MonthLaw {
    cdf: Box<[f64]>,
    /// Per column: (cut, month if below the cut, month otherwise); "beyond
    /// the table" is `u32::MAX`.
    pub(super) alias: Box<[(f64, u32, u32)]>,
    /// `columns − 1`.
    mask: u64,
}

impl MonthLaw {
    /// Build from a CDF at whole months (non-decreasing, in [0, 1]).
    pub(super) fn new(cdf: Box<[f64]>) -> MonthLaw {
        const BEYOND: u32 = u32::MAX;
        let outcomes = cdf.len() + 1;
        let columns = outcomes.next_power_of_two();
        let n = columns as f64;
        // mass of each outcome, times the number of columns
        let mut mass: Vec<f64> = Vec::with_capacity(columns);
        let mut last = 0.0;
        for &c in cdf.iter() {
            mass.push((c - last) * n);
            last = c;
        }
        mass.push((1.0 - last).max(0.0) * n);
        mass.resize(columns, 0.0);
        let month = |i: usize| -> u32 {
            if i < cdf.len() {
                u32::try_from(i).unwrap_or(BEYOND)
            } else {
                BEYOND
            }
        };
        let mut alias: Vec<(f64, u32, u32)> =
            (0..columns).map(|i| (1.0, month(i), month(i))).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) =
            (0..columns).partition(|&i| mass[i] < 1.0);
        while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
            small.pop();
            alias[s] = (mass[s], month(s), month(l));
            mass[l] = (mass[l] + mass[s]) - 1.0;
            if mass[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        // what is left holds mass 1 up to rounding: its own month always
        // (a column with no mass of its own never gets here: its deficit
        // of 1 is always covered, as the masses sum to `columns`)
        for i in small.into_iter().chain(large) {
            alias[i] = (1.0, month(i), month(i));
        }
        MonthLaw {
            cdf,
            alias: alias.into(),
            mask: columns as u64 - 1,
        }
    }

    /// `cdf[j] = P(months <= j)` for `j = 0, 1, …` until it reaches 1 or
    /// [`MAX_HORIZON`] entries.
    pub fn cdf(&self) -> &[f64] {
        &self.cdf
    }

    /// Whole months `min(j, limit)` for one draw `j` of the law: one
    /// `u64` from `rng`.
    #[inline(always)]
    pub fn sample<R: Rng + ?Sized>(&self, limit: u64, rng: &mut R) -> u64 {
        let bits = rng.next_u64();
        // the mask keeps the index in range; `get` just avoids a panic path
        let (cut, own, other) = match self.alias.get((bits & self.mask) as usize) {
            Some(&e) => e,
            None => (1.0, u32::MAX, u32::MAX),
        };
        // high 53 bits: a uniform on [0, 1) in steps of 2^-53
        let u = (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        let j = if u < cut { own } else { other };
        u64::from(j).min(limit)
    }
}

/// `P(floor(x / DAYS_PER_MONTH) <= j)` for `j = 0, 1, …` until it
/// reaches 1 or [`MAX_HORIZON`] entries; `None` when a CDF evaluation
/// fails or is not a non-decreasing probability.
pub(super) fn month_cdf(d: &Dist) -> Option<Box<[f64]>> {
    // P(x < t), continuous, so P(x <= t) alike; only the forms that are
    // sampled through a table
    if !matches!(
        d,
        Dist::ScaledBeta { .. } | Dist::Normal { .. } | Dist::LogNormal { .. } | Dist::Gamma { .. }
    ) {
        return None;
    }
    let cdf = |t: f64| -> Option<f64> {
        let c = d.cdf(t);
        (0.0..=1.0).contains(&c).then_some(c)
    };
    let mut table = Vec::new();
    let mut last = 0.0;
    for j in 1..=MAX_HORIZON {
        let c = cdf(j as f64 * DAYS_PER_MONTH)?;
        if c < last {
            return None;
        }
        table.push(c);
        last = c;
        if c >= 1.0 {
            break;
        }
    }
    Some(table.into())
}
