//! Mean and sum of squared deviations accumulated in a fixed tree over the
//! run's chunks, so that shards of a run, merged afterwards, give the same
//! bits as one process.
//!
//! Floating-point addition is not associative: Welford's running mean over
//! trials 0..n depends on every value before it, so a shard that starts at
//! trial 10,240 cannot continue it. Instead each chunk of
//! [`crate::engine::CHUNK`] trials gets its own Welford state (from empty,
//! in trial order), and chunks are combined with Chan's formula in a fixed
//! binary tree over the chunk indices: node `(level, i)` covers chunks
//! `i·2^level .. (i+1)·2^level` and is its two children combined, left then
//! right. The total is the right fold of the completed nodes (the tree over
//! the next power of two, an empty node being the identity).
//!
//! [`ChunkedMoments`] keeps only the completed nodes that have no completed
//! parent — O(log chunks) of them — and forms a parent as soon as both
//! children exist. A shard holding chunks `a..b` therefore ends with the
//! maximal aligned nodes inside `a..b`; pushing every shard's nodes, in
//! trial order, into one [`ChunkedMoments`] forms exactly the nodes a single
//! process forms, from the same children, so every node — and the total —
//! is the same to the bit, however the trials were split.

/// Count, mean and sum of squared deviations of some finite values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    pub n: u64,
    pub mean: f64,
    pub m2: f64,
}

impl Moments {
    /// No values.
    pub const EMPTY: Moments = Moments {
        n: 0,
        mean: 0.0,
        m2: 0.0,
    };

    /// Add one finite value (Welford).
    #[inline]
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    /// These values followed by `right`'s (Chan et al.); an empty side
    /// returns the other unchanged, bit for bit.
    pub fn then(self, right: Moments) -> Moments {
        if self.n == 0 {
            return right;
        }
        if right.n == 0 {
            return self;
        }
        let n = self.n + right.n;
        let (a, b, nf) = (self.n as f64, right.n as f64, n as f64);
        let d = right.mean - self.mean;
        Moments {
            n,
            mean: self.mean + d * (b / nf),
            m2: self.m2 + right.m2 + d * d * (a * b / nf),
        }
    }
}

/// A completed node of the chunk tree: chunks
/// `index·2^level .. (index+1)·2^level`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Node {
    pub level: u32,
    pub index: u64,
    pub moments: Moments,
}

impl Node {
    /// First chunk and one past the last chunk covered.
    pub fn chunks(&self) -> (u64, u64) {
        let size = 1u64 << self.level.min(63);
        (
            self.index.saturating_mul(size),
            (self.index + 1).saturating_mul(size),
        )
    }
}

/// The moments of a run so far: the chunk in progress and the completed
/// nodes without a completed parent, in trial order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChunkedMoments {
    /// Finite values of the chunk in progress.
    pub current: Moments,
    nodes: Vec<Node>,
}

impl Default for Moments {
    fn default() -> Self {
        Moments::EMPTY
    }
}

impl ChunkedMoments {
    /// Close the chunk in progress as chunk `chunk` (its trials done).
    pub fn close_chunk(&mut self, chunk: u64) {
        let moments = std::mem::take(&mut self.current);
        self.push_node(Node {
            level: 0,
            index: chunk,
            moments,
        });
    }

    /// Append a completed node (the next in trial order), forming every
    /// parent whose two children are now complete.
    pub fn push_node(&mut self, node: Node) {
        self.nodes.push(node);
        while let [.., left, right] = self.nodes[..] {
            let siblings = left.level == right.level
                && left.index % 2 == 0
                && left.index.checked_add(1) == Some(right.index);
            if !siblings {
                break;
            }
            self.nodes.truncate(self.nodes.len() - 2);
            self.nodes.push(Node {
                level: left.level + 1,
                index: left.index / 2,
                moments: left.moments.then(right.moments),
            });
        }
    }

    /// The completed nodes without a completed parent, in trial order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The moments of every value: the right fold of the nodes, with the
    /// chunk in progress as the last leaf.
    pub fn total(&self) -> Moments {
        self.nodes
            .iter()
            .rev()
            .fold(self.current, |acc, node| node.moments.then(acc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize) -> Vec<f64> {
        let mut x: u64 = 99;
        (0..n)
            .map(|_| {
                x = crate::engine::splitmix64(x);
                1e6 + (x % 100_003) as f64 * 0.37
            })
            .collect()
    }

    /// Moments of `v` split into chunks of `size`, chunk indices from
    /// `first`, as a shard would keep them (the last chunk closed).
    fn shard(v: &[f64], size: usize, first: u64) -> ChunkedMoments {
        let mut m = ChunkedMoments::default();
        for (c, chunk) in v.chunks(size).enumerate() {
            for &x in chunk {
                m.current.push(x);
            }
            m.close_chunk(first + c as u64);
        }
        m
    }

    #[test]
    fn any_split_into_chunk_ranges_gives_the_same_bits() {
        let v = values(37 * 8 + 5);
        let size = 8;
        let chunks = v.len().div_ceil(size);
        let whole = shard(&v, size, 0).total();
        // the mean and variance are right
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let m2: f64 = v.iter().map(|x| (x - mean) * (x - mean)).sum();
        assert_eq!(whole.n, v.len() as u64);
        assert!((whole.mean - mean).abs() <= 1e-12 * mean);
        assert!((whole.m2 - m2).abs() <= 1e-9 * m2);
        for cuts in [vec![3], vec![1, 2, 3], vec![5, 17, 30], vec![16], vec![36]] {
            let mut bounds = vec![0];
            bounds.extend(cuts.iter().copied());
            bounds.push(chunks);
            let mut merged = ChunkedMoments::default();
            for w in bounds.windows(2) {
                let lo = w[0] * size;
                let hi = (w[1] * size).min(v.len());
                for node in shard(&v[lo..hi], size, w[0] as u64).nodes() {
                    merged.push_node(*node);
                }
            }
            assert_eq!(merged.total(), whole, "cuts at chunks {cuts:?}");
            assert_eq!(merged.nodes(), shard(&v, size, 0).nodes());
        }
    }

    #[test]
    fn a_shard_keeps_only_maximal_aligned_nodes() {
        let v = values(8 * 13);
        let m = shard(&v[8 * 3..8 * 13], 8, 3);
        let covered: Vec<(u64, u64)> = m.nodes().iter().map(Node::chunks).collect();
        assert_eq!(covered, vec![(3, 4), (4, 8), (8, 12), (12, 13)]);
    }

    #[test]
    fn an_empty_side_is_the_identity() {
        let mut a = Moments::EMPTY;
        a.push(3.0);
        a.push(4.5);
        assert_eq!(a.then(Moments::EMPTY), a);
        assert_eq!(Moments::EMPTY.then(a), a);
    }
}
