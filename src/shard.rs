//! Sharded runs: a run, sweep or batch split over processes or machines —
//! a Slurm job array, a Kubernetes Indexed Job, an AWS Batch array job, or
//! `xargs -P` on one machine — and merged afterwards into exactly the files
//! one process writes.
//!
//! A [`Shard`] `I/N` takes its share of the *units* of the job: a run's
//! chunks of [`crate::engine::CHUNK`] trials (so every trial draws the
//! numbers it draws in one process), a sweep's grid points, a batch's
//! scenario files. Each shard writes a [`Part`] ([`part`]): a versioned,
//! self-describing file with what must agree between shards (format and
//! pipesim version, the scenario's [fingerprint](crate::scenario::Scenario::fingerprint)
//! after overrides, seed, trials, the shard and its range) and the
//! mergeable state of its share — for a run, every accumulator
//! ([`crate::accum::Accumulator::encode`]); for a sweep or a batch, its CSV
//! rows. [`fn@merge`] ([`mod@merge`]) checks the parts fit together — the same
//! job, every shard once, no gap or overlap — before it computes anything.
//!
//! This module sits above [`crate::output`] because a sweep's or a batch's
//! share is carried as the rows of its CSV files.

pub mod merge;
pub mod part;

use std::fmt;
use std::ops::Range;

use crate::engine::CHUNK;
use crate::experiment::Error;

pub use merge::{Merged, merge, read_parts};
pub use part::{
    FORMAT_VERSION, Part, PartHeader, PartKind, Source, batch_part, is_part, part_file_name,
    run_part, sweep_part, write_part,
};

/// Most shards a job may be split into.
pub const MAX_SHARDS: u64 = 100_000;

/// Shard `index` of `count` (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// This shard's units out of `units`: `⌊units·I/N⌋ .. ⌊units·(I+1)/N⌋`
    /// (empty when there are more shards than units).
    pub fn share(self, units: u64) -> Range<u64> {
        let at = |i: u64| (u128::from(units) * u128::from(i) / u128::from(self.count)) as u64;
        at(self.index)..at(self.index + 1)
    }

    /// This shard's trials of a run of `trials`: whole chunks.
    pub fn trials(self, trials: u64) -> Range<u64> {
        let chunks = self.share(trials.div_ceil(CHUNK));
        (chunks.start * CHUNK).min(trials)..(chunks.end * CHUNK).min(trials)
    }
}

/// What `--shard` says: `I/N`, `auto/N` or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardArg {
    Fixed(Shard),
    /// The index from the engine's environment; the count given, or also
    /// from the environment.
    Auto {
        count: Option<u64>,
    },
}

/// A cluster engine that runs array jobs, and the variables it sets.
struct Engine {
    name: &'static str,
    index: &'static str,
    count: Option<&'static str>,
}

const ENGINES: [Engine; 3] = [
    Engine {
        name: "Kubernetes Indexed Job",
        index: "JOB_COMPLETION_INDEX",
        count: None,
    },
    Engine {
        name: "Slurm job array",
        index: "SLURM_ARRAY_TASK_ID",
        count: Some("SLURM_ARRAY_TASK_COUNT"),
    },
    Engine {
        name: "AWS Batch array job",
        index: "AWS_BATCH_JOB_ARRAY_INDEX",
        count: Some("AWS_BATCH_JOB_ARRAY_SIZE"),
    },
];

fn bad(text: &str, message: impl Into<String>) -> Error {
    Error::invalid(format!("--shard {text:?}"), message)
}

fn count_of(text: &str, n: &str) -> Result<u64, Error> {
    match n.trim().parse::<u64>() {
        Ok(n) if (1..=MAX_SHARDS).contains(&n) => Ok(n),
        _ => Err(bad(
            text,
            format!("the shard count {n:?} is not a whole number from 1 to {MAX_SHARDS}"),
        )),
    }
}

impl ShardArg {
    /// Parse `I/N` (0 ≤ I < N), `auto/N` or `auto`.
    pub fn parse(text: &str) -> Result<ShardArg, Error> {
        let t = text.trim();
        if t == "auto" {
            return Ok(ShardArg::Auto { count: None });
        }
        let Some((i, n)) = t.split_once('/') else {
            return Err(bad(
                text,
                "expected I/N (shard I of N, counted from 0, e.g. 0/4), auto/N or auto",
            ));
        };
        let count = count_of(text, n)?;
        if i.trim() == "auto" {
            return Ok(ShardArg::Auto { count: Some(count) });
        }
        match i.trim().parse::<u64>() {
            Ok(index) if index < count => Ok(ShardArg::Fixed(Shard { index, count })),
            _ => Err(bad(
                text,
                format!(
                    "the shard index {i:?} is not a whole number from 0 to {} (shards are counted from 0)",
                    count - 1
                ),
            )),
        }
    }

    /// The shard, and for `auto` which variable of which engine gave it
    /// (read with `var`, e.g. from `std::env::var`).
    pub fn resolve(
        self,
        var: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(Shard, Option<String>), Error> {
        let given = match self {
            ShardArg::Fixed(s) => return Ok((s, None)),
            ShardArg::Auto { count } => count,
        };
        let text = match given {
            Some(n) => format!("auto/{n}"),
            None => "auto".to_string(),
        };
        let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let set: Vec<&Engine> = ENGINES.iter().filter(|e| get(e.index).is_some()).collect();
        let e = match set[..] {
            [e] => e,
            [] => {
                return Err(bad(
                    &text,
                    format!(
                        "no shard index in the environment: expected {}; outside an array job give --shard I/N",
                        ENGINES
                            .iter()
                            .map(|e| format!("{} ({})", e.index, e.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            _ => {
                return Err(bad(
                    &text,
                    format!(
                        "several engines' shard indexes are set ({}); give --shard I/N",
                        set.iter().map(|e| e.index).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        };
        let number = |name: &str| -> Result<Option<u64>, Error> {
            match get(name) {
                None => Ok(None),
                Some(v) => v.trim().parse::<u64>().map(Some).map_err(|_| {
                    bad(
                        &text,
                        format!("{name}={v:?} is not a whole number (set by the {})", e.name),
                    )
                }),
            }
        };
        let index = number(e.index)?.unwrap_or(0);
        let from = format!("{}={index}", e.index);
        let mut engine_count = match e.count {
            Some(c) => number(c)?,
            None => None,
        };
        if e.index == "SLURM_ARRAY_TASK_ID" {
            // the task id is the shard, as the other engines' 0-based
            // indexes; with auto/N a single task re-run (--array=2) is
            // shard 2 of N
            if let Some(step) = number("SLURM_ARRAY_TASK_STEP")?
                && step != 1
            {
                return Err(bad(
                    &text,
                    format!(
                        "the Slurm array has a step of {step}; give consecutive task ids from 0 (e.g. --array=0-{})",
                        engine_count.unwrap_or(2).saturating_sub(1)
                    ),
                ));
            }
            let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            if given.is_none() {
                if min != 0 {
                    return Err(bad(
                        &text,
                        format!(
                            "the Slurm array starts at task {min}; number the tasks from 0 (--array=0-{}) or give --shard auto/N",
                            engine_count.unwrap_or(min + 1).saturating_sub(1)
                        ),
                    ));
                }
                if engine_count.is_none() {
                    engine_count = number("SLURM_ARRAY_TASK_MAX")?.map(|max| max + 1);
                }
            } else {
                // a re-run of some tasks has fewer tasks than shards
                engine_count = None;
            }
        }
        let count = match (given, engine_count) {
            (Some(n), Some(m)) if n != m => {
                return Err(bad(&text, format!("the {} has {m} tasks, not {n}", e.name)));
            }
            (Some(n), _) => n,
            (None, Some(m)) => count_of(&text, &m.to_string())?,
            (None, None) => {
                return Err(bad(
                    &text,
                    format!(
                        "the {} gives the index ({}) but not the count; give --shard auto/N with N the job's completions",
                        e.name, e.index
                    ),
                ));
            }
        };
        if index >= count {
            return Err(bad(
                &text,
                format!(
                    "{from} gives shard {index}, but there are {count} shards (0 to {})",
                    count - 1
                ),
            ));
        }
        let shard = Shard { index, count };
        Ok((
            shard,
            Some(format!("shard {shard} from {from} ({})", e.name)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    fn resolve(arg: &str, pairs: &[(&str, &str)]) -> Result<(Shard, Option<String>), String> {
        ShardArg::parse(arg)
            .and_then(|a| a.resolve(&env(pairs)))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn shares_tile_the_units_in_whole_chunks() {
        for (trials, count) in [(20_000, 4), (700, 3), (512, 5), (1, 2), (1_000_000, 7)] {
            let mut next = 0;
            for index in 0..count {
                let r = Shard { index, count }.trials(trials);
                assert_eq!(r.start, next);
                assert!(r.start.is_multiple_of(CHUNK) && r.end >= r.start);
                next = r.end;
            }
            assert_eq!(next, trials);
        }
        assert_eq!(Shard { index: 1, count: 4 }.trials(20_000), 5120..10240);
        assert_eq!(Shard { index: 2, count: 3 }.share(10), 6..10);
    }

    #[test]
    fn parse_accepts_the_three_forms_and_explains_the_rest() {
        let s = |i, n| ShardArg::Fixed(Shard { index: i, count: n });
        assert_eq!(ShardArg::parse("0/4").ok(), Some(s(0, 4)));
        assert_eq!(ShardArg::parse(" 3/4 ").ok(), Some(s(3, 4)));
        assert_eq!(
            ShardArg::parse("auto/8").ok(),
            Some(ShardArg::Auto { count: Some(8) })
        );
        assert_eq!(
            ShardArg::parse("auto").ok(),
            Some(ShardArg::Auto { count: None })
        );
        for (bad, says) in [
            ("4/4", "from 0 to 3"),
            ("1/0", "from 1 to"),
            ("2", "expected I/N"),
            ("-1/4", "from 0 to 3"),
            ("a/b", "not a whole number"),
        ] {
            let e = ShardArg::parse(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn auto_reads_each_engine_and_says_which() {
        let (s, note) = resolve("auto/4", &[("JOB_COMPLETION_INDEX", "2")]).unwrap();
        assert_eq!(s, Shard { index: 2, count: 4 });
        assert!(
            note.unwrap()
                .contains("JOB_COMPLETION_INDEX=2 (Kubernetes Indexed Job)")
        );
        let slurm = [
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_MAX", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ];
        let (s, note) = resolve("auto", &slurm).unwrap();
        assert_eq!(s, Shard { index: 2, count: 4 });
        assert!(
            note.unwrap()
                .contains("SLURM_ARRAY_TASK_ID=2 (Slurm job array)")
        );
        // one task re-run (sbatch --array=2): shard 2 of the N given
        let rerun = [
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_MIN", "2"),
            ("SLURM_ARRAY_TASK_MAX", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "1"),
        ];
        assert_eq!(
            resolve("auto/4", &rerun).unwrap().0,
            Shard { index: 2, count: 4 }
        );
        let aws = [
            ("AWS_BATCH_JOB_ARRAY_INDEX", "0"),
            ("AWS_BATCH_JOB_ARRAY_SIZE", "5"),
        ];
        assert_eq!(
            resolve("auto", &aws).unwrap().0,
            Shard { index: 0, count: 5 }
        );
    }

    #[test]
    fn auto_refuses_what_it_cannot_tell() {
        for (arg, pairs, says) in [
            ("auto", &[][..], "no shard index in the environment"),
            (
                "auto",
                &[("JOB_COMPLETION_INDEX", "1")][..],
                "give --shard auto/N",
            ),
            (
                "auto/4",
                &[("JOB_COMPLETION_INDEX", "1"), ("SLURM_ARRAY_TASK_ID", "1")][..],
                "several engines",
            ),
            (
                "auto/2",
                &[
                    ("AWS_BATCH_JOB_ARRAY_INDEX", "1"),
                    ("AWS_BATCH_JOB_ARRAY_SIZE", "4"),
                ][..],
                "has 4 tasks, not 2",
            ),
            (
                "auto",
                &[
                    ("SLURM_ARRAY_TASK_ID", "2"),
                    ("SLURM_ARRAY_TASK_MIN", "1"),
                    ("SLURM_ARRAY_TASK_COUNT", "4"),
                ][..],
                "number the tasks from 0 (--array=0-3)",
            ),
            (
                "auto/4",
                &[
                    ("SLURM_ARRAY_TASK_ID", "4"),
                    ("SLURM_ARRAY_TASK_COUNT", "4"),
                ][..],
                "there are 4 shards",
            ),
            (
                "auto/2",
                &[("JOB_COMPLETION_INDEX", "2")][..],
                "there are 2 shards",
            ),
            (
                "auto",
                &[
                    ("SLURM_ARRAY_TASK_ID", "4"),
                    ("SLURM_ARRAY_TASK_STEP", "2"),
                    ("SLURM_ARRAY_TASK_COUNT", "4"),
                ][..],
                "step of 2",
            ),
            (
                "auto/4",
                &[("JOB_COMPLETION_INDEX", "x")][..],
                "not a whole number",
            ),
        ] {
            let e = resolve(arg, pairs).unwrap_err();
            assert!(e.contains(says), "{arg} {pairs:?}: {e}");
        }
    }
}
