//! A deterministic, mergeable quantile sketch with a guaranteed relative
//! error: used in place of exact quantiles when keeping every trial's value
//! of every series would exceed the memory budget (up to 10⁷ trials × ~500
//! series).
//!
//! # What
//!
//! [`QuantileSketch`] is a DDSketch-style histogram over logarithmically
//! spaced buckets. Positive values go to one dense store of integer counts,
//! negative values to a mirrored store indexed by `|x|`, exact zeros to a
//! separate counter (and are returned as exactly `0.0`), `±∞` to two more
//! counters that sort at the ends. `NaN` is ignored (not counted). The exact
//! minimum and maximum are tracked on the side.
//!
//! The bucket index comes from the bits of the `f64`: `log₂ x` is
//! approximated by `e + P(m)`, where `x = 2ᵉ·(1 + m)` and `P` is the cubic
//! `P(m) = (6/35)m³ − (3/5)m² + (10/7)m` (monotone, `P(0) = 0`, `P(1) = 1`;
//! DDSketch's "cubically interpolated mapping"); the index is
//! `⌊(e + P(m))·M⌋` with the multiplier [`MULTIPLIER`]. No logarithm is
//! evaluated on insert: a few multiplications, one cast, one bounds check
//! and one integer increment.
//!
//! # The guarantee
//!
//! Bucket `i` holds the `x` with `e + P(m) ∈ [i/M, (i+1)/M)`. Since
//! `d ln x / d(e + P(m)) = 1/((1 + m)·P′(m)) ≤ 7/10` on `[0, 1)` (the minimum
//! `10/7` of `(1 + m)·P′(m)` is reached at `m = 0` and `m = 2/3`), every
//! bucket spans a ratio `hi/lo ≤ γ = exp(7/(10·M))`. A bucket is represented
//! by the harmonic mean `2·lo·hi/(lo + hi)` of its bounds, which is within
//! relative error `(γ − 1)/(γ + 1)` of every value in the bucket. `M` is
//! chosen so this is `3.99952·10⁻³`, leaving a margin of `4.8·10⁻⁷` below
//! [`RELATIVE_ACCURACY`] `α = 0.004` for floating-point rounding (which
//! moves bucket edges by about 10⁻¹⁰ of a bucket).
//!
//! [`QuantileSketch::quantile`] estimates the Hyndman–Fan type-7 quantile
//! (the definition of [`crate::stats::quantile_sorted`]): with `n` values,
//! `h = (n − 1)·p`, `lo = ⌊h⌋`, `hi = min(lo + 1, n − 1)`, the exact quantile
//! is `x₍lo₎ + (h − lo)·(x₍hi₎ − x₍lo₎)` over the sorted sample. The sketch
//! replaces each order statistic `x₍k₎` by its bucket's representative
//! (exactly `0.0` for a zero, the exact minimum or maximum for ranks `0` and
//! `n − 1`), clamped into `[min, max]`, and interpolates the same way. Each
//! replaced order statistic is within `α·|x₍k₎|`, so for every sample and
//! every `p ∈ [0, 1]`:
//!
//! ```text
//! |estimate − exact| ≤ α · max(|x₍lo₎|, |x₍hi₎|)        α = 0.004
//! ```
//!
//! When `x₍lo₎` and `x₍hi₎` share a sign (or one is zero) this is a relative
//! error `≤ α = 0.4 %` of the exact quantile itself; only when the two
//! neighbouring order statistics straddle zero is it relative to the larger
//! neighbour rather than to the (small) interpolated value. The bound is
//! deterministic, not statistical: the tests assert it on every `p` of a
//! fine grid for many kinds of samples. It holds for finite values of
//! magnitude ≥ 2.2·10⁻³⁰⁸ (normal floats); subnormal magnitudes are bucketed
//! but their representative may lose precision in the last bits. With `±∞`
//! present, order statistics that are infinite are returned as infinite, and
//! interpolating between `−∞` and `+∞` gives `NaN`, as for the exact
//! definition. Estimates are non-decreasing in `p` (up to the rounding of
//! the interpolation, as for the exact definition), and `p = 0` / `p = 1`
//! give the exact minimum / maximum.
//!
//! # Determinism and merging
//!
//! The state that quantiles depend on is integer counts per bucket plus the
//! exact minimum and maximum; [`QuantileSketch::merge`] adds counts and takes
//! the min / max. So any partition of a sequence into sketches, merged in any
//! order, yields the same counts, and quantiles that are identical bit for
//! bit to those of one sketch fed the whole sequence (tested), whatever the
//! thread count. (The allocated size of the stores may differ with the order;
//! only [`QuantileSketch::bytes`] sees that.)
//!
//! # Memory
//!
//! Each sign's store is sparse — sorted `(bucket, count)` pairs, 16 bytes
//! per occupied bucket — until a dense array over the occupied range (8
//! bytes per bucket, plus 32 buckets of slack on each side) is no larger;
//! a dense store that would grow to more than four times its sparse size
//! goes back to sparse. So a store never takes more than about 4 × 16
//! bytes per occupied bucket (and never more than 16 bytes per value
//! inserted, plus the `Vec`'s doubling slack, while sparse), whatever the
//! range of the values: a series of a few small integers or of a few
//! values 10⁻³⁰⁰ and 10³⁰⁰ takes a few hundred bytes. The representation
//! changes no count, hence no quantile.
//!
//! About `1/ln γ ≈ 125` buckets (up to 4 % more from the cubic mapping) per
//! factor `e` of range, ≈ 290 per decade. A lognormal sample with `σ = 1`
//! of 10⁶ values spans ~10 factors of `e`: about 13 KB (tested). Values
//! from 10⁻⁶ to 10¹³ need ~5 500 buckets (44 KB) per sign, ~57 KB with the
//! slack; both signs twice that (tested). The stores never exceed the whole
//! `f64` range: ≈ 1.47 MB per sign, reached only when ~183 000 distinct
//! buckets are occupied.
//!
//! # Speed
//!
//! `cargo bench --bench sketch` on the 2-core build machine, while shared
//! with other jobs (load ≈ 4): ~9 ns per insert (the bucket index is a
//! polynomial of the float's bits, one cast, one bounds check, one
//! increment), ~1.2 µs per quantile query on a sketch of 10⁶ lognormal values
//! (it walks the buckets once per order statistic), ~0.5 µs per merge.

/// Guaranteed relative accuracy `α` of every bucket representative; see the
/// module documentation for the resulting quantile bound.
pub const RELATIVE_ACCURACY: f64 = 0.004;

/// Buckets per unit of the approximate `log₂`: `7/(10·ln γ)` for
/// `γ = (1 + α)/(1 − α)` is 87.4995; rounded up to leave a margin for
/// floating-point rounding (checked by a test).
pub const MULTIPLIER: f64 = 87.51;

// Coefficients of P(m) = A m³ + B m² + C m.
const P_A: f64 = 6.0 / 35.0;
const P_B: f64 = -3.0 / 5.0;
const P_C: f64 = 10.0 / 7.0;

/// Added before truncating so the cast rounds down (floor) for every index:
/// `(e + P(m))·M ∈ [−1074·M, 1024·M] ⊂ (−2¹⁷, 2¹⁷)`.
const BIAS: f64 = 131_072.0;
const BIAS_I: i64 = 131_072;
/// Range of indices any finite non-zero magnitude can map to.
const MIN_INDEX: i32 = -94_000; // ⌊−1074·M⌋ = −93 986
const MAX_INDEX: i32 = 89_620; // ⌊1024·M⌋ = 89 610

const MANTISSA_MASK: u64 = (1 << 52) - 1;
const ONE_BITS: u64 = 0x3ff0_0000_0000_0000;

#[inline(always)]
fn poly(m: f64) -> f64 {
    m * (P_C + m * (P_B + P_A * m))
}

#[inline(always)]
fn poly_derivative(m: f64) -> f64 {
    P_C + m * (2.0 * P_B + 3.0 * P_A * m)
}

/// Bucket index of a finite `x > 0`.
#[inline(always)]
fn index_of(x: f64) -> i32 {
    let bits = x.to_bits();
    let biased_exp = (bits >> 52) as i32;
    if biased_exp == 0 {
        return index_of_subnormal(x);
    }
    // 1 + m exactly, then m exactly.
    let m = f64::from_bits((bits & MANTISSA_MASK) | ONE_BITS) - 1.0;
    // ⌊(e + P(m))·M⌋ with the multiplications by M folded into constants.
    let scaled = (f64::from(biased_exp) * MULTIPLIER + (BIAS - 1023.0 * MULTIPLIER))
        + m * (P_C * MULTIPLIER + m * (P_B * MULTIPLIER + P_A * MULTIPLIER * m));
    (scaled as i64 - BIAS_I) as i32
}

#[cold]
fn index_of_subnormal(x: f64) -> i32 {
    // x·2⁶⁴ is a normal float with the same mantissa bits shifted: exact.
    let y = x * f64::from_bits((1023 + 64) << 52);
    let bits = y.to_bits();
    let e = (bits >> 52) as i32 - 1023 - 64;
    let m = f64::from_bits((bits & MANTISSA_MASK) | ONE_BITS) - 1.0;
    let l = f64::from(e) + poly(m);
    ((l * MULTIPLIER + BIAS) as i64 - BIAS_I) as i32
}

/// `v · 2ᵉ` for `|e|` up to ~2100, without overflow in the intermediate.
fn ldexp(v: f64, e: i32) -> f64 {
    let pow2 = |k: i32| f64::from_bits(((k + 1023) as u64) << 52);
    let half = e / 2;
    v * pow2(half) * pow2(e - half)
}

/// Lower edge of bucket `i` as `(e, 1 + m)` with `x = 2ᵉ·(1 + m)`.
fn bucket_edge(i: i32) -> (i32, f64) {
    let l = f64::from(i) / MULTIPLIER;
    let e = l.floor();
    let t = l - e;
    // Solve P(m) = t by Newton's method from m = t. P is increasing and
    // concave on [0, 1], so after the first step the iterates approach the
    // root monotonically from below; 8 steps reach it to rounding.
    let mut m = t;
    for _ in 0..8 {
        m -= (poly(m) - t) / poly_derivative(m);
    }
    (e as i32, 1.0 + m.clamp(0.0, 1.0))
}

/// Representative of bucket `i` (a positive magnitude): the harmonic mean of
/// its edges, within relative `(γ − 1)/(γ + 1)` of every value in it.
fn bucket_value(i: i32) -> f64 {
    let (e0, a) = bucket_edge(i);
    let (e1, b) = bucket_edge(i + 1);
    // A bucket is narrower than one binade, so e1 − e0 ∈ {0, 1}.
    let b = if e1 > e0 { 2.0 * b } else { b };
    // Only the bucket of values near f64::MAX can have a representative
    // beyond it; capping only brings it closer to every value in the bucket.
    ldexp(2.0 * a * b / (a + b), e0).min(f64::MAX)
}

/// Integer counts per bucket index: sparse (sorted `(index, count)`
/// pairs) while few buckets are occupied, dense (one count per index of a
/// contiguous range) once that is smaller. Both hold the same counts, so
/// quantiles do not depend on the representation; the sparse form bounds a
/// store's memory by the values it holds (16 bytes per occupied bucket)
/// rather than by their range (a dense store covering 10⁻³⁰⁸..10³⁰⁸ takes
/// 1.47 MB).
#[derive(Clone, Debug)]
enum Store {
    Sparse(Vec<(i32, u64)>),
    Dense {
        counts: Vec<u64>,
        /// Bucket index of `counts[0]`.
        offset: i32,
    },
}

impl Default for Store {
    fn default() -> Self {
        Store::Sparse(Vec::new())
    }
}

/// Buckets of slack a dense store keeps beyond its occupied range, at
/// least, on each side it grows towards.
const MIN_SLACK: i32 = 32;

impl Store {
    #[inline(always)]
    fn add(&mut self, index: i32, n: u64) {
        if let Store::Dense { counts, offset } = self {
            let j = index.wrapping_sub(*offset) as u32 as usize;
            if let Some(c) = counts.get_mut(j) {
                *c += n;
                return;
            }
        }
        self.add_slow(index, n);
    }

    /// A sparse store, or an index outside a dense store's range.
    #[cold]
    fn add_slow(&mut self, index: i32, n: u64) {
        match self {
            Store::Sparse(pairs) => match pairs.binary_search_by_key(&index, |&(i, _)| i) {
                Ok(k) => pairs[k].1 += n,
                Err(k) => {
                    pairs.insert(k, (index, n));
                    self.densify_if_smaller();
                }
            },
            Store::Dense { counts, offset } => {
                let (lo, hi) = (*offset, *offset + counts.len() as i32 - 1);
                let slack = (counts.len() as i32 / 4).max(MIN_SLACK);
                let new_len = if index < lo {
                    hi - (index - slack).max(MIN_INDEX) + 1
                } else {
                    (index + slack).min(MAX_INDEX) - lo + 1
                };
                let occupied = counts.iter().filter(|&&c| c != 0).count() + 1;
                // growing would make the dense store more than four times
                // the sparse one: back to sparse
                if new_len as usize * 8 > 4 * occupied * 16 {
                    let pairs = self.pairs();
                    *self = Store::Sparse(pairs);
                    self.add_slow(index, n);
                } else {
                    self.cover(index, index);
                    self.add(index, n);
                }
            }
        }
    }

    /// The occupied buckets in index order.
    fn pairs(&self) -> Vec<(i32, u64)> {
        match self {
            Store::Sparse(p) => p.clone(),
            Store::Dense { counts, offset } => counts
                .iter()
                .enumerate()
                .filter(|(_, c)| **c != 0)
                .map(|(j, &c)| (*offset + j as i32, c))
                .collect(),
        }
    }

    /// Turn a sparse store dense when that takes no more memory (with its
    /// slack on both sides).
    fn densify_if_smaller(&mut self) {
        let Store::Sparse(pairs) = self else {
            return;
        };
        let (Some(&(lo, _)), Some(&(hi, _))) = (pairs.first(), pairs.last()) else {
            return;
        };
        let dense = (hi - lo + 1 + 2 * MIN_SLACK) as usize * 8;
        if dense <= pairs.capacity() * 16 {
            let pairs = std::mem::take(pairs);
            let lo = (lo - MIN_SLACK).max(MIN_INDEX);
            let hi = (hi + MIN_SLACK).min(MAX_INDEX);
            let mut counts = vec![0; (hi - lo + 1) as usize];
            for (i, c) in pairs {
                counts[(i - lo) as usize] += c;
            }
            *self = Store::Dense { counts, offset: lo };
        }
    }

    /// Grows a dense store so indices `lo..=hi` are in range, with slack in
    /// the direction of growth (amortised O(1) inserts).
    fn cover(&mut self, lo: i32, hi: i32) {
        let Store::Dense { counts, offset } = self else {
            return;
        };
        let cur_lo = *offset;
        let cur_hi = *offset + counts.len() as i32 - 1;
        let slack = (counts.len() as i32 / 4).max(MIN_SLACK);
        let new_lo = if lo < cur_lo {
            (lo - slack).max(MIN_INDEX)
        } else {
            cur_lo
        };
        let new_hi = if hi > cur_hi {
            (hi + slack).min(MAX_INDEX)
        } else {
            cur_hi
        };
        let len = (new_hi - new_lo + 1) as usize;
        let mut grown = Vec::with_capacity(len);
        grown.resize((cur_lo - new_lo) as usize, 0);
        grown.extend_from_slice(counts);
        grown.resize(len, 0);
        *counts = grown;
        *offset = new_lo;
    }

    fn merge(&mut self, other: &Store) {
        for (i, c) in other.pairs() {
            self.add(i, c);
        }
    }

    /// Number of values in the store (summed on demand: keeping a running
    /// total costs a memory update per insert).
    fn total(&self) -> u64 {
        match self {
            Store::Sparse(p) => p.iter().map(|&(_, c)| c).sum(),
            Store::Dense { counts, .. } => counts.iter().sum(),
        }
    }

    /// Bucket index holding the value of rank `k` (0-based, `k < total`),
    /// ranks counted from the lowest index up.
    fn index_at_rank_ascending(&self, k: u64) -> i32 {
        let mut seen = 0u64;
        match self {
            Store::Sparse(p) => {
                for &(i, c) in p {
                    seen += c;
                    if seen > k {
                        return i;
                    }
                }
            }
            Store::Dense { counts, offset } => {
                for (j, &c) in counts.iter().enumerate() {
                    seen += c;
                    if seen > k {
                        return *offset + j as i32;
                    }
                }
            }
        }
        unreachable!("rank beyond the store's total")
    }

    /// As [`Store::index_at_rank_ascending`], from the highest index down.
    fn index_at_rank_descending(&self, k: u64) -> i32 {
        let mut seen = 0u64;
        match self {
            Store::Sparse(p) => {
                for &(i, c) in p.iter().rev() {
                    seen += c;
                    if seen > k {
                        return i;
                    }
                }
            }
            Store::Dense { counts, offset } => {
                for (j, &c) in counts.iter().enumerate().rev() {
                    seen += c;
                    if seen > k {
                        return *offset + j as i32;
                    }
                }
            }
        }
        unreachable!("rank beyond the store's total")
    }

    fn bytes(&self) -> usize {
        match self {
            Store::Sparse(p) => p.capacity() * std::mem::size_of::<(i32, u64)>(),
            Store::Dense { counts, .. } => counts.capacity() * std::mem::size_of::<u64>(),
        }
    }
}

/// A [`QuantileSketch`]'s state as plain data: the occupied buckets of
/// each sign in index order, the special counts and the exact extremes.
#[derive(Clone, Debug, PartialEq)]
pub struct SketchParts {
    pub positive: Vec<(i32, u64)>,
    pub negative: Vec<(i32, u64)>,
    pub zeros: u64,
    pub pos_inf: u64,
    pub neg_inf: u64,
    pub min: f64,
    pub max: f64,
}

/// A mergeable quantile sketch with relative accuracy [`RELATIVE_ACCURACY`];
/// see the [module documentation](self) for the exact guarantee.
#[derive(Clone, Debug)]
pub struct QuantileSketch {
    positive: Store,
    /// Indexed by the bucket of `|x|`.
    negative: Store,
    zeros: u64,
    pos_inf: u64,
    neg_inf: u64,
    count: u64,
    /// `+∞` / `−∞` while empty; `−0.0` is stored as `0.0`.
    min: f64,
    max: f64,
}

impl Default for QuantileSketch {
    fn default() -> Self {
        Self::new()
    }
}

impl QuantileSketch {
    /// An empty sketch (allocates nothing until the first insert).
    pub fn new() -> Self {
        QuantileSketch {
            positive: Store::default(),
            negative: Store::default(),
            zeros: 0,
            pos_inf: 0,
            neg_inf: 0,
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    /// Adds one value. `NaN` is ignored; `±∞` are counted and sort at the
    /// ends; `±0.0` count as an exact zero.
    #[inline]
    pub fn insert(&mut self, x: f64) {
        self.insert_n(x, 1);
    }

    /// Adds `n` copies of `x` (same rules as [`QuantileSketch::insert`]).
    #[inline]
    pub fn insert_n(&mut self, x: f64, n: u64) {
        if n == 0 || x.is_nan() {
            return;
        }
        self.count += n;
        if x > 0.0 {
            if x < f64::INFINITY {
                self.positive.add(index_of(x), n);
            } else {
                self.pos_inf += n;
            }
        } else if x < 0.0 {
            if x > f64::NEG_INFINITY {
                self.negative.add(index_of(-x), n);
            } else {
                self.neg_inf += n;
            }
        } else {
            self.zeros += n;
            // Normalise −0.0 so min/max do not depend on the order of inserts.
            let x = 0.0;
            self.min = self.min.min(x);
            self.max = self.max.max(x);
            return;
        }
        if x < self.min {
            self.min = x;
        }
        if x > self.max {
            self.max = x;
        }
    }

    /// Adds all of `other`'s values. Counts add exactly, so the result does
    /// not depend on how values were split between sketches or on the order
    /// of merges.
    pub fn merge(&mut self, other: &Self) {
        if other.count == 0 {
            return;
        }
        self.positive.merge(&other.positive);
        self.negative.merge(&other.negative);
        self.zeros += other.zeros;
        self.pos_inf += other.pos_inf;
        self.neg_inf += other.neg_inf;
        self.count += other.count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// The sketch's state as plain data (for a shard's partial result):
    /// what [`QuantileSketch::from_parts`] rebuilds, with the same counts.
    pub fn to_parts(&self) -> SketchParts {
        SketchParts {
            positive: self.positive.pairs(),
            negative: self.negative.pairs(),
            zeros: self.zeros,
            pos_inf: self.pos_inf,
            neg_inf: self.neg_inf,
            min: self.min,
            max: self.max,
        }
    }

    /// A sketch from [`QuantileSketch::to_parts`]'s state, checked: bucket
    /// indices in range and strictly increasing, counts positive, and the
    /// minimum and maximum consistent with the counts.
    pub fn from_parts(p: &SketchParts) -> Result<Self, String> {
        let mut sk = QuantileSketch::new();
        for (name, pairs, store) in [
            ("positive", &p.positive, &mut sk.positive),
            ("negative", &p.negative, &mut sk.negative),
        ] {
            let mut last = None;
            for &(i, c) in pairs {
                if !(MIN_INDEX..=MAX_INDEX).contains(&i) || c == 0 || last.is_some_and(|l| l >= i) {
                    return Err(format!("bad {name} bucket ({i}, {c})"));
                }
                last = Some(i);
                store.add(i, c);
            }
        }
        let total = [p.zeros, p.pos_inf, p.neg_inf]
            .into_iter()
            .chain(p.positive.iter().chain(&p.negative).map(|&(_, c)| c))
            .try_fold(0u64, u64::checked_add)
            .ok_or("bucket counts overflow")?;
        let consistent = if total == 0 {
            p.min == f64::INFINITY && p.max == f64::NEG_INFINITY
        } else {
            !p.min.is_nan() && !p.max.is_nan() && p.min <= p.max
        };
        if !consistent {
            return Err(format!(
                "minimum {} and maximum {} do not fit {total} values",
                p.min, p.max
            ));
        }
        sk.zeros = p.zeros;
        sk.pos_inf = p.pos_inf;
        sk.neg_inf = p.neg_inf;
        sk.count = total;
        sk.min = p.min;
        sk.max = p.max;
        Ok(sk)
    }

    /// Number of values inserted (NaN excluded).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Whether nothing has been inserted.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Exact minimum (NaN if empty).
    pub fn min(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { self.min }
    }

    /// Exact maximum (NaN if empty).
    pub fn max(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { self.max }
    }

    /// Estimate of the type-7 quantile at `p ∈ [0, 1]`, within
    /// `α·max(|x₍lo₎|, |x₍hi₎|)` of the exact value (module documentation).
    /// NaN if the sketch is empty or `p` is outside `[0, 1]` or NaN.
    pub fn quantile(&self, p: f64) -> f64 {
        if self.count == 0 || !(0.0..=1.0).contains(&p) {
            return f64::NAN;
        }
        let n = self.count;
        // Same arithmetic as `stats::quantile_sorted`.
        let h = (n - 1) as f64 * p;
        let lo = (h.floor() as u64).min(n - 1);
        let hi = (lo + 1).min(n - 1);
        let frac = h - lo as f64;
        let v_lo = self.value_at_rank(lo);
        if frac == 0.0 || hi == lo {
            return v_lo;
        }
        let v_hi = self.value_at_rank(hi);
        if v_lo == v_hi {
            return v_lo;
        }
        v_lo + frac * (v_hi - v_lo)
    }

    /// Estimate of the `k`-th smallest value (0-based, `k < count`): exact
    /// for the minimum, maximum, zeros and infinities; otherwise the bucket
    /// representative clamped into `[min, max]`.
    fn value_at_rank(&self, k: u64) -> f64 {
        if k == 0 {
            return self.min;
        }
        if k + 1 >= self.count {
            return self.max;
        }
        let mut k = k;
        if k < self.neg_inf {
            return f64::NEG_INFINITY;
        }
        k -= self.neg_inf;
        let negative_total = self.negative.total();
        let v = if k < negative_total {
            -bucket_value(self.negative.index_at_rank_descending(k))
        } else {
            k -= negative_total;
            if k < self.zeros {
                return 0.0;
            }
            k -= self.zeros;
            let positive_total =
                self.count - self.neg_inf - negative_total - self.zeros - self.pos_inf;
            if k < positive_total {
                bucket_value(self.positive.index_at_rank_ascending(k))
            } else {
                return f64::INFINITY;
            }
        };
        v.max(self.min).min(self.max)
    }

    /// Heap and inline memory of the sketch, in bytes.
    pub fn bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.positive.bytes() + self.negative.bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::quantile_sorted;
    use rand::{RngExt, SeedableRng};
    use rand_distr::{Distribution, Gamma, LogNormal, Normal, Poisson};
    use rand_xoshiro::Xoshiro256PlusPlus;

    const REPORTED_PS: [f64; 7] = [0.05, 0.10, 0.25, 0.5, 0.75, 0.9, 0.95];

    fn rng(seed: u64) -> Xoshiro256PlusPlus {
        Xoshiro256PlusPlus::seed_from_u64(seed)
    }

    fn sketch_of(xs: &[f64]) -> QuantileSketch {
        let mut s = QuantileSketch::new();
        for &x in xs {
            s.insert(x);
        }
        s
    }

    /// Asserts the documented bound at the reported probabilities and on a
    /// grid of 1001 probabilities; returns the largest relative error seen
    /// where neighbours share a sign.
    fn check_bound(xs: &[f64]) -> f64 {
        let s = sketch_of(xs);
        let mut sorted = xs.to_vec();
        sorted.sort_by(f64::total_cmp);
        assert_eq!(s.count(), xs.len() as u64);
        assert_eq!(s.min().to_bits(), (sorted[0] + 0.0).to_bits());
        assert_eq!(
            s.max().to_bits(),
            (sorted[sorted.len() - 1] + 0.0).to_bits()
        );
        let n = sorted.len();
        let grid = (0..=1000).map(|i| f64::from(i) / 1000.0);
        let mut worst: f64 = 0.0;
        let mut previous = f64::NEG_INFINITY;
        for (i, p) in REPORTED_PS.into_iter().chain(grid).enumerate() {
            let exact = quantile_sorted(&sorted, p);
            let est = s.quantile(p);
            let h = (n - 1) as f64 * p;
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            let scale = sorted[lo].abs().max(sorted[hi].abs());
            let bound = RELATIVE_ACCURACY * scale + 1e-12 * scale;
            assert!(
                (est - exact).abs() <= bound,
                "p={p}: estimate {est} exact {exact} bound {bound} (n={n})"
            );
            if sorted[lo] * sorted[hi] > 0.0 {
                worst = worst.max((est - exact).abs() / exact.abs());
            }
            if i >= REPORTED_PS.len() {
                assert!(est >= previous, "not monotone at p={p}");
                previous = est;
            }
        }
        assert_eq!(s.quantile(0.0).to_bits(), s.min().to_bits());
        assert_eq!(s.quantile(1.0).to_bits(), s.max().to_bits());
        worst
    }

    fn sample<D: Distribution<f64>>(d: D, n: usize, seed: u64) -> Vec<f64> {
        let mut r = rng(seed);
        (0..n).map(|_| d.sample(&mut r)).collect()
    }

    #[test]
    fn multiplier_guarantees_the_accuracy_with_margin() {
        let needed = 7.0 / (10.0 * ((1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY)).ln());
        assert!(MULTIPLIER > needed * (1.0 + 1e-4));
        let gamma = (7.0 / (10.0 * MULTIPLIER)).exp();
        let alpha = (gamma - 1.0) / (gamma + 1.0);
        assert!(alpha < RELATIVE_ACCURACY - 4e-7, "{alpha}");
        assert!(index_of(f64::MIN_POSITIVE * f64::EPSILON) >= MIN_INDEX);
        assert!(index_of(f64::MAX) <= MAX_INDEX);
        // (1 + m)·P'(m) >= 10/7 on [0, 1].
        for i in 0..=10_000 {
            let m = f64::from(i) / 10_000.0;
            assert!((1.0 + m) * poly_derivative(m) >= P_C - 1e-12);
        }
    }

    #[test]
    fn every_value_is_within_alpha_of_its_bucket_representative() {
        let mut r = rng(1);
        let check = |x: f64| {
            let rep = bucket_value(index_of(x));
            assert!(
                (rep - x).abs() <= RELATIVE_ACCURACY * x,
                "x={x:e} rep={rep:e} index={}",
                index_of(x)
            );
        };
        // Uniform in bits over all positive normal floats.
        for _ in 0..200_000 {
            let bits = r.random_range(f64::MIN_POSITIVE.to_bits()..=f64::MAX.to_bits());
            check(f64::from_bits(bits));
        }
        // Every bucket edge between 1e-7 and 1e14, and its float neighbours.
        for i in index_of(1e-7)..=index_of(1e14) {
            let (e, a) = bucket_edge(i);
            let edge = ldexp(a, e);
            for x in [
                edge,
                f64::from_bits(edge.to_bits() - 1),
                f64::from_bits(edge.to_bits() + 1),
            ] {
                check(x);
            }
        }
        for x in [f64::MIN_POSITIVE, f64::MAX, 1.0, 2.0, 0.5, 3.0, 1e-6, 1e13] {
            check(x);
        }
    }

    #[test]
    fn bucket_edges_round_trip() {
        for i in [-90_000, -5000, -1, 0, 1, 87, 88, 1000, 89_000] {
            let (e, a) = bucket_edge(i);
            let x = ldexp(a, e);
            // The edge maps to its bucket or, by rounding, the one below.
            let j = index_of(x * (1.0 + 1e-12));
            assert_eq!(j, i, "edge of {i}");
            assert_eq!(index_of(x * (1.0 - 1e-12)), i - 1, "below edge of {i}");
        }
    }

    #[test]
    fn lognormal_heavy_tail() {
        let xs = sample(LogNormal::new(10.0, 1.5).unwrap(), 200_000, 2);
        let worst = check_bound(&xs);
        eprintln!("lognormal: worst relative error {worst:.2e}");
        assert!(worst <= RELATIVE_ACCURACY);
    }

    #[test]
    fn many_exact_zeros_and_gamma() {
        let mut r = rng(3);
        let g = Gamma::new(2.0, 5000.0).unwrap();
        let xs: Vec<f64> = (0..100_000)
            .map(|_| {
                if r.random::<f64>() < 0.4 {
                    0.0
                } else {
                    g.sample(&mut r)
                }
            })
            .collect();
        check_bound(&xs);
        let s = sketch_of(&xs);
        assert_eq!(s.quantile(0.05), 0.0);
        assert_eq!(s.quantile(0.25).to_bits(), 0.0f64.to_bits());
    }

    #[test]
    fn integer_counts() {
        for (lambda, seed) in [(0.7, 4), (3.0, 5), (40.0, 6), (2500.0, 7)] {
            let xs = sample(Poisson::new(lambda).unwrap(), 50_000, seed);
            check_bound(&xs);
        }
    }

    #[test]
    fn mixed_signs() {
        check_bound(&sample(Normal::new(0.0, 1.0).unwrap(), 100_000, 8));
        check_bound(&sample(Normal::new(3e5, 1e6).unwrap(), 100_000, 9));
        let mut r = rng(10);
        let a = LogNormal::new(11.0, 0.8).unwrap();
        let b = LogNormal::new(11.2, 0.6).unwrap();
        let diffs: Vec<f64> = (0..100_000)
            .map(|_| a.sample(&mut r) - b.sample(&mut r))
            .collect();
        check_bound(&diffs);
        // Negative only, and integers of both signs with zeros.
        check_bound(
            &sample(LogNormal::new(0.0, 2.0).unwrap(), 20_000, 11)
                .iter()
                .map(|x| -x)
                .collect::<Vec<_>>(),
        );
        let ints: Vec<f64> = (0..20_000)
            .map(|_| f64::from(r.random_range(-5i32..=5)))
            .collect();
        check_bound(&ints);
    }

    #[test]
    fn tiny_and_large_scales() {
        check_bound(&sample(Gamma::new(3.0, 1e-6).unwrap(), 50_000, 12));
        check_bound(&sample(LogNormal::new(27.6, 0.3).unwrap(), 50_000, 13)); // ~1e12
        check_bound(&sample(Normal::new(0.0, 1e12).unwrap(), 50_000, 14));
        // Spread over 1e-6..1e13 in one sample.
        let mut r = rng(15);
        let wide: Vec<f64> = (0..50_000)
            .map(|_| 10f64.powf(r.random_range(-6.0..13.0)))
            .collect();
        check_bound(&wide);
    }

    #[test]
    fn constant_and_tiny_samples() {
        for c in [0.0, 1.0, -3.5, 1e-6, 7.25e12, 123_456.789] {
            let xs = vec![c; 1000];
            check_bound(&xs);
            let s = sketch_of(&xs);
            for p in REPORTED_PS {
                assert_eq!(s.quantile(p), c);
            }
        }
        check_bound(&[42.0]);
        check_bound(&[-1.0]);
        check_bound(&[0.0]);
        check_bound(&[3.0, 5.0]);
        check_bound(&[-2.0, 1e9]);
        check_bound(&[5.0, 3.0, 4.0]);
        // n = 1 and n = 2 are exact: only the min and max are used.
        let s = sketch_of(&[3.0, 5.0]);
        assert_eq!(s.quantile(0.25), 3.5);
        assert_eq!(sketch_of(&[42.0]).quantile(0.3), 42.0);
    }

    #[test]
    fn empty_nan_and_infinities() {
        let mut s = QuantileSketch::new();
        assert!(s.quantile(0.5).is_nan());
        assert!(s.min().is_nan() && s.max().is_nan());
        assert_eq!(s.count(), 0);
        s.insert(f64::NAN);
        assert_eq!(s.count(), 0);
        s.insert(1.0);
        assert!(s.quantile(-0.1).is_nan());
        assert!(s.quantile(1.1).is_nan());
        assert!(s.quantile(f64::NAN).is_nan());
        s.insert(f64::INFINITY);
        s.insert(f64::NEG_INFINITY);
        s.insert(-0.0);
        assert_eq!(s.count(), 4);
        assert_eq!(s.min(), f64::NEG_INFINITY);
        assert_eq!(s.max(), f64::INFINITY);
        // Sorted: −∞, 0, 1, +∞.
        assert_eq!(s.quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(s.quantile(1.0 / 3.0).to_bits(), 0.0f64.to_bits());
        // Rank 2 (the 1.0) is neither min nor max: a bucket representative.
        assert!((s.quantile(0.5) - 0.5).abs() <= 0.5 * RELATIVE_ACCURACY);
        assert!((s.quantile(2.0 / 3.0) - 1.0).abs() <= RELATIVE_ACCURACY);
        assert_eq!(s.quantile(0.9), f64::INFINITY);
        // Subnormals and extremes do not panic.
        for x in [5e-324, 1e-310, f64::MAX, -f64::MAX, f64::MIN_POSITIVE] {
            s.insert(x);
        }
        assert_eq!(s.count(), 9);
        for i in 0..=10 {
            let _ = s.quantile(f64::from(i) / 10.0);
        }
    }

    #[test]
    fn negative_zero_counts_as_zero() {
        let s = sketch_of(&[-0.0, -0.0]);
        assert_eq!(s.min().to_bits(), 0.0f64.to_bits());
        assert_eq!(s.quantile(0.5).to_bits(), 0.0f64.to_bits());
    }

    #[test]
    fn insert_n_equals_repeated_insert() {
        let mut a = QuantileSketch::new();
        let mut b = QuantileSketch::new();
        for (i, x) in [1.5, -2.0, 0.0, 1e6].into_iter().enumerate() {
            a.insert_n(x, i as u64 + 1);
            for _ in 0..=i {
                b.insert(x);
            }
        }
        a.insert_n(9.0, 0);
        for i in 0..=20 {
            let p = f64::from(i) / 20.0;
            assert_eq!(a.quantile(p).to_bits(), b.quantile(p).to_bits());
        }
    }

    #[test]
    fn merge_is_order_and_partition_independent() {
        let mut r = rng(16);
        let a = LogNormal::new(9.0, 1.2).unwrap();
        let xs: Vec<f64> = (0..60_000)
            .map(|i| match i % 5 {
                0 => 0.0,
                1 => -a.sample(&mut r),
                _ => a.sample(&mut r) * 1e-3,
            })
            .collect();
        let whole = sketch_of(&xs);

        // Partition 1: contiguous chunks of 7000, merged left to right.
        let mut left = QuantileSketch::new();
        for chunk in xs.chunks(7000) {
            left.merge(&sketch_of(chunk));
        }
        // Partition 2: interleaved thirds, merged as a tree in another order,
        // through an empty sketch too.
        let parts: Vec<QuantileSketch> = (0..3)
            .map(|k| sketch_of(&xs.iter().skip(k).step_by(3).copied().collect::<Vec<_>>()))
            .collect();
        let mut tree = QuantileSketch::new();
        let mut inner = parts[2].clone();
        inner.merge(&QuantileSketch::new());
        inner.merge(&parts[0]);
        tree.merge(&parts[1]);
        tree.merge(&inner);

        for s in [&left, &tree] {
            assert_eq!(s.count(), whole.count());
            assert_eq!(s.min().to_bits(), whole.min().to_bits());
            assert_eq!(s.max().to_bits(), whole.max().to_bits());
            for i in 0..=1000 {
                let p = f64::from(i) / 1000.0;
                assert_eq!(
                    s.quantile(p).to_bits(),
                    whole.quantile(p).to_bits(),
                    "p={p}"
                );
            }
        }
        check_bound(&xs);
    }

    #[test]
    fn parts_rebuild_the_same_sketch_and_bad_parts_are_refused() {
        let mut xs = sample(Normal::new(1.0, 3.0).unwrap(), 5_000, 19);
        xs.extend([0.0, f64::INFINITY, f64::NEG_INFINITY]);
        let s = sketch_of(&xs);
        let back = QuantileSketch::from_parts(&s.to_parts()).unwrap();
        assert_eq!(back.to_parts(), s.to_parts());
        assert_eq!(back.count(), s.count());
        for i in 0..=100 {
            let p = f64::from(i) / 100.0;
            assert_eq!(back.quantile(p).to_bits(), s.quantile(p).to_bits());
        }
        let empty = QuantileSketch::new().to_parts();
        assert!(QuantileSketch::from_parts(&empty).unwrap().is_empty());
        let mut bad = s.to_parts();
        bad.positive.swap(0, 1);
        assert!(QuantileSketch::from_parts(&bad).is_err());
        let mut bad = s.to_parts();
        bad.positive[0].1 = 0;
        assert!(QuantileSketch::from_parts(&bad).is_err());
        let mut bad = s.to_parts();
        bad.min = f64::NAN;
        assert!(QuantileSketch::from_parts(&bad).is_err());
        let mut bad = empty;
        bad.max = 1.0;
        assert!(QuantileSketch::from_parts(&bad).is_err());
    }

    #[test]
    fn min_and_max_are_exact() {
        let xs = sample(Normal::new(1.0, 3.0).unwrap(), 10_000, 17);
        let s = sketch_of(&xs);
        let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(s.min().to_bits(), min.to_bits());
        assert_eq!(s.max().to_bits(), max.to_bits());
    }

    #[test]
    fn memory_stays_modest() {
        let s = sketch_of(&sample(LogNormal::new(10.0, 1.0).unwrap(), 1_000_000, 18));
        let bytes = s.bytes();
        eprintln!("lognormal(10, 1), 10^6 values: {bytes} bytes");
        assert!(bytes < 16 * 1024, "{bytes}");
        let mut r = rng(19);
        let mut wide = QuantileSketch::new();
        for _ in 0..100_000 {
            let x = 10f64.powf(r.random_range(-6.0..13.0));
            wide.insert(x);
            wide.insert(-x);
        }
        eprintln!("1e-6..1e13, both signs: {} bytes", wide.bytes());
        assert!(wide.bytes() < 2 * 64 * 1024, "{}", wide.bytes());
    }

    #[test]
    fn sparse_and_dense_stores_give_the_same_quantiles() {
        // a few values over the whole range stay sparse and small
        let mut far = QuantileSketch::new();
        for x in [1e-300, 3.0, 1e300, -1e-250, -1e250, 7.0, 1e300] {
            far.insert(x);
        }
        assert!(far.bytes() < 512, "{}", far.bytes());
        // the same values through a dense store: identical quantiles
        let xs = sample(LogNormal::new(0.0, 1.0).unwrap(), 5_000, 20);
        let mut mixed = xs.clone();
        mixed.extend([1e-300, 1e300]);
        let dense = sketch_of(&mixed);
        let mut sparse_first = QuantileSketch::new();
        for &x in mixed.iter().rev() {
            sparse_first.insert(x);
        }
        for i in 0..=200 {
            let p = f64::from(i) / 200.0;
            assert_eq!(
                dense.quantile(p).to_bits(),
                sparse_first.quantile(p).to_bits()
            );
        }
        check_bound(&mixed);
        // small integers (won deals per month) stay sparse
        let ints: Vec<f64> = (0..10_000).map(|i| f64::from(i % 30)).collect();
        let s = sketch_of(&ints);
        assert!(s.bytes() < 1024, "{}", s.bytes());
        check_bound(&ints);
    }
}
