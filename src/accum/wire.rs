//! The binary encoding of an [`Accumulator`]'s state, for a shard's
//! partial result: every series' counts, its exact values or its sketch,
//! and its chunk-tree moments, in little-endian fixed-width fields.
//!
//! Decoding checks every length and tag and never panics on a damaged
//! input: a bad byte string gives a [`WireError`] naming what was being
//! read. (The partial-result file around it carries a checksum, so a
//! damaged file is normally caught before this.) Floats are stored as
//! their bits, so a state decodes to the same bits it was encoded from.

use super::moments::{ChunkedMoments, Moments, Node};
use super::sketch::{QuantileSketch, SketchParts};
use super::{Accumulator, SeriesAcc, Source, Store};

/// A byte string that is not a valid accumulator state.
#[derive(Debug, Clone, thiserror::Error)]
#[error("damaged accumulator state at byte {at}: {what}")]
pub struct WireError {
    pub at: usize,
    pub what: String,
}

/// Appends fixed-width little-endian fields.
#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, x: u8) {
        self.0.push(x);
    }
    fn u32(&mut self, x: u32) {
        self.0.extend_from_slice(&x.to_le_bytes());
    }
    fn u64(&mut self, x: u64) {
        self.0.extend_from_slice(&x.to_le_bytes());
    }
    fn i32(&mut self, x: i32) {
        self.0.extend_from_slice(&x.to_le_bytes());
    }
    fn f64(&mut self, x: f64) {
        self.u64(x.to_bits());
    }
    fn len(&mut self, n: usize) {
        self.u64(n as u64);
    }
    fn moments(&mut self, m: Moments) {
        self.u64(m.n);
        self.f64(m.mean);
        self.f64(m.m2);
    }
}

/// Reads what [`Writer`] wrote, checking every length.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn fail<T>(&self, what: impl Into<String>) -> Result<T, WireError> {
        Err(WireError {
            at: self.at,
            what: what.into(),
        })
    }
    fn take<const N: usize>(&mut self, what: &str) -> Result<[u8; N], WireError> {
        match self
            .bytes
            .get(self.at..self.at + N)
            .and_then(|b| <[u8; N]>::try_from(b).ok())
        {
            Some(b) => {
                self.at += N;
                Ok(b)
            }
            None => self.fail(format!("truncated in {what}")),
        }
    }
    fn u8(&mut self, what: &str) -> Result<u8, WireError> {
        Ok(self.take::<1>(what)?[0])
    }
    fn u32(&mut self, what: &str) -> Result<u32, WireError> {
        Ok(u32::from_le_bytes(self.take(what)?))
    }
    fn u64(&mut self, what: &str) -> Result<u64, WireError> {
        Ok(u64::from_le_bytes(self.take(what)?))
    }
    fn i32(&mut self, what: &str) -> Result<i32, WireError> {
        Ok(i32::from_le_bytes(self.take(what)?))
    }
    fn f64(&mut self, what: &str) -> Result<f64, WireError> {
        Ok(f64::from_bits(self.u64(what)?))
    }
    fn usize(&mut self, what: &str) -> Result<usize, WireError> {
        let x = self.u64(what)?;
        usize::try_from(x).or_else(|_| self.fail(format!("{what} {x} is too large")))
    }
    /// A count of items of `item_bytes` each, no more than the bytes left.
    fn len(&mut self, what: &str, item_bytes: usize) -> Result<usize, WireError> {
        let n = self.usize(what)?;
        let left = self.bytes.len() - self.at;
        if n.saturating_mul(item_bytes) > left {
            return self.fail(format!("{what} {n} is more than the {left} bytes left"));
        }
        Ok(n)
    }
    fn moments(&mut self, what: &str) -> Result<Moments, WireError> {
        Ok(Moments {
            n: self.u64(what)?,
            mean: self.f64(what)?,
            m2: self.f64(what)?,
        })
    }
}

const EXACT: u8 = 0;
const SKETCH: u8 = 1;

impl Accumulator {
    /// The state of every series, as bytes ([`Accumulator::decode`] reads
    /// them back, to the bit).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u64(self.start);
        w.u64(self.trials);
        w.u8(u8::from(self.exact));
        w.u64(self.budget);
        w.len(self.series.len());
        for a in &self.series {
            encode_series(&mut w, a);
        }
        w.0
    }

    /// An accumulator from [`Accumulator::encode`]'s bytes.
    pub fn decode(bytes: &[u8]) -> Result<Accumulator, WireError> {
        let mut r = Reader { bytes, at: 0 };
        let start = r.u64("the first trial")?;
        let trials = r.u64("the trial count")?;
        let exact = match r.u8("the quantile mode")? {
            0 => false,
            1 => true,
            x => return r.fail(format!("quantile mode {x}")),
        };
        let budget = r.u64("the budget")?;
        if start.checked_add(trials).is_none() {
            return r.fail(format!("trials {start} + {trials} overflow"));
        }
        let n = r.len("the series count", 8)?;
        let mut series = Vec::with_capacity(n);
        for _ in 0..n {
            let a = decode_series(&mut r, start, exact)?;
            if a.n != trials {
                return r.fail(format!("a series of {} values in {trials} trials", a.n));
            }
            series.push(a);
        }
        if r.at != bytes.len() {
            return r.fail(format!(
                "{} bytes after the last series",
                bytes.len() - r.at
            ));
        }
        let mut acc = Accumulator::assemble(series, trials, exact, budget);
        acc.start = start;
        Ok(acc)
    }
}

fn encode_series(w: &mut Writer, a: &SeriesAcc) {
    match a.source {
        Source::Metric { b, s, k } => {
            w.u8(0);
            w.len(b);
            w.len(s);
            w.len(k);
        }
        Source::Monthly { b, s, j } => {
            w.u8(1);
            w.len(b);
            w.len(s);
            w.len(j);
        }
        Source::Diff {
            b,
            s,
            base_b,
            base_s,
            k,
        } => {
            w.u8(2);
            for x in [b, s, base_b, base_s, k] {
                w.len(x);
            }
        }
    }
    match a.target {
        Some(t) => {
            w.u8(1);
            w.f64(t);
        }
        None => w.u8(0),
    }
    for x in [a.n, a.non_finite, a.n_ge, a.n_pos, a.n_neg] {
        w.u64(x);
    }
    match &a.store {
        Store::Exact(v) => {
            w.u8(EXACT);
            w.len(v.len());
            for &x in v {
                w.f64(x);
            }
        }
        Store::Sketch(sk) => {
            w.u8(SKETCH);
            let p = sk.to_parts();
            for pairs in [&p.positive, &p.negative] {
                w.len(pairs.len());
                for &(i, c) in pairs {
                    w.i32(i);
                    w.u64(c);
                }
            }
            for x in [p.zeros, p.pos_inf, p.neg_inf] {
                w.u64(x);
            }
            w.f64(p.min);
            w.f64(p.max);
            // the chunk in progress (a shard's last, partial chunk), then
            // the complete nodes; Accumulator::concat closes the chunk
            w.moments(a.moments.current);
            w.len(a.moments.nodes().len());
            for node in a.moments.nodes() {
                w.u32(node.level);
                w.u64(node.index);
                w.moments(node.moments);
            }
        }
    }
}

fn decode_series(r: &mut Reader, start: u64, exact: bool) -> Result<SeriesAcc, WireError> {
    let source = match r.u8("a series' source")? {
        0 => Source::Metric {
            b: r.usize("a source")?,
            s: r.usize("a source")?,
            k: r.usize("a source")?,
        },
        1 => Source::Monthly {
            b: r.usize("a source")?,
            s: r.usize("a source")?,
            j: r.usize("a source")?,
        },
        2 => Source::Diff {
            b: r.usize("a source")?,
            s: r.usize("a source")?,
            base_b: r.usize("a source")?,
            base_s: r.usize("a source")?,
            k: r.usize("a source")?,
        },
        x => return r.fail(format!("source kind {x}")),
    };
    let target = match r.u8("a target flag")? {
        0 => None,
        1 => Some(r.f64("a target")?),
        x => return r.fail(format!("target flag {x}")),
    };
    let mut a = SeriesAcc::new(source, target, exact, start);
    a.n = r.u64("a count")?;
    a.non_finite = r.u64("a count")?;
    a.n_ge = r.u64("a count")?;
    a.n_pos = r.u64("a count")?;
    a.n_neg = r.u64("a count")?;
    if [a.non_finite, a.n_ge, a.n_pos, a.n_neg]
        .iter()
        .any(|&c| c > a.n)
    {
        return r.fail("a count above the series' trials");
    }
    match (r.u8("a store kind")?, exact) {
        (EXACT, true) => {
            let n = r.len("the values", 8)?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(r.f64("a value")?);
            }
            if v.len() as u64 != a.n {
                return r.fail(format!("{} values for {} trials", v.len(), a.n));
            }
            a.store = Store::Exact(v);
        }
        (SKETCH, false) => {
            let mut pairs = [Vec::new(), Vec::new()];
            for p in &mut pairs {
                let n = r.len("a sketch's buckets", 12)?;
                for _ in 0..n {
                    p.push((r.i32("a bucket")?, r.u64("a bucket")?));
                }
            }
            let [positive, negative] = pairs;
            let parts = SketchParts {
                positive,
                negative,
                zeros: r.u64("a sketch")?,
                pos_inf: r.u64("a sketch")?,
                neg_inf: r.u64("a sketch")?,
                min: r.f64("a sketch")?,
                max: r.f64("a sketch")?,
            };
            let sk = match QuantileSketch::from_parts(&parts) {
                Ok(sk) => sk,
                Err(e) => return r.fail(e),
            };
            let finite = a.n - a.non_finite;
            let mut m = ChunkedMoments::default();
            m.current = r.moments("the chunk in progress")?;
            let n = r.len("the moment nodes", 36)?;
            for _ in 0..n {
                let level = r.u32("a moment node")?;
                let index = r.u64("a moment node")?;
                let moments = r.moments("a moment node")?;
                if level > 63 {
                    return r.fail(format!("moment node level {level}"));
                }
                m.push_node(Node {
                    level,
                    index,
                    moments,
                });
            }
            let sketched = sk.count() - parts.pos_inf - parts.neg_inf;
            if m.total().n != finite || sketched != finite {
                return r.fail("the moments and the sketch disagree with the counts");
            }
            a.moments = m;
            a.store = Store::Sketch(Box::new(sk));
        }
        (kind, _) => return r.fail(format!("store kind {kind} in a mode that does not use it")),
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acc() -> Accumulator {
        let source = |k| Source::Metric { b: 0, s: 1, k };
        Accumulator::from_series(
            vec![
                SeriesAcc::from_values(source(0), Some(2.5), &[1.0, 3.0, f64::INFINITY]),
                SeriesAcc::from_values(source(4), None, &[-2.0, 0.0, 7.25]),
            ],
            3,
        )
    }

    #[test]
    fn a_state_decodes_to_the_same_bits() {
        let bytes = acc().encode();
        let back = Accumulator::decode(&bytes).unwrap();
        assert_eq!(back.encode(), bytes);
        assert_eq!(back.trials(), 3);
        let s = back.get(Source::Metric { b: 0, s: 1, k: 0 }).unwrap();
        assert_eq!(s.n_at_or_above_target(), 2);
        assert!(!s.all_finite());
    }

    #[test]
    fn every_truncation_and_a_bad_tag_is_an_error() {
        let bytes = acc().encode();
        for cut in 0..bytes.len() {
            assert!(Accumulator::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Accumulator::decode(&longer).is_err());
        let mut bad = bytes;
        bad[16] = 7; // the quantile mode
        let e = Accumulator::decode(&bad).unwrap_err();
        assert!(e.to_string().contains("quantile mode 7"), "{e}");
    }
}
