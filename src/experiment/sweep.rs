//! Parameter sweeps: a grid of `--set` values (or `--scale` factors) run on
//! one seed, so every point sees the same random numbers and differences
//! between points are the parameters' effect.
//!
//! `--vary PATH=FROM..TO:STEP` gives `FROM, FROM+STEP, ...` up to `TO`
//! (inclusive when it lands on the grid, to 1e-9 of a step), each rounded to
//! the decimals written in FROM and STEP; `--vary PATH=v1,v2,v3` lists
//! values (commas inside parentheses belong to a distribution, e.g.
//! `lognormal(median=140, p90=200)`). `--vary-scale PATH=...` varies a
//! `--scale` factor the same way. The grid is the cartesian product, the
//! first axis varying slowest; points are numbered from 0 in that order.
//!
//! Per strategy the sweep reports the point that maximises an objective
//! (the mean of bookings, revenue or roi, or P(metric ≥ target)), and for
//! each non-baseline strategy where it overtakes the baseline (or falls
//! behind it) along the first axis, with the others held at each of their
//! values. For a P(target) objective it also says which points are within
//! the best one's Wilson interval ([`near_best`]).
//!
//! An axis path may be a `*` pattern ([`crate::scenario::overrides`]); the
//! sweep records what each matched ([`Sweep::axis_matches`]), and refuses
//! two axes, or an axis and a common change, that touch the same path.
//!
//! Points run one after another, each on the whole thread pool — or, when
//! the points are small (fewer than [`POINT_PARALLEL_CHUNKS_PER_THREAD`]
//! chunks of trials per worker thread, so one point cannot keep the pool
//! busy), several at a time on the pool. Either way a point's numbers
//! depend only on its scenario, seed and trials, so the results are the
//! same bit for bit ([`SweepSpec::parallel_points`] forces either way).

use std::path::PathBuf;

use rayon::prelude::*;

use crate::analysis::Analysis;
use crate::engine::CHUNK;
use crate::error::ScenarioError;
use crate::metrics::Metric;
use crate::scenario::Scenario;
use crate::scenario::overrides::{self, Expansion, Kind, Override};
use crate::stats::Proportion;

use super::spec::check_trials;
use super::{Error, Progress, RunSpec, run_in_pool};

/// Most points a sweep accepts (a typo in a step should not start a
/// million-point run).
pub const MAX_POINTS: usize = 10_000;

/// Points run several at a time when every point has fewer than this many
/// chunks ([`CHUNK`] trials) per worker thread: below that a point's
/// windows leave workers idle, and its accumulation and analysis run on
/// one thread.
pub const POINT_PARALLEL_CHUNKS_PER_THREAD: u64 = 4;

/// One varied path and its values.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub kind: Kind,
    pub path: String,
    /// Values as given to `--set` (or the factors of `--scale`).
    pub values: Vec<String>,
}

impl Axis {
    /// Column name in the sweep CSV: the path, or `scale(PATH)` for a
    /// varied factor.
    pub fn column(&self) -> String {
        match self.kind {
            Kind::Set => self.path.clone(),
            Kind::Scale => format!("scale({})", self.path),
        }
    }

    /// Numeric value `i`, when the values are numbers.
    pub fn number(&self, i: usize) -> Option<f64> {
        self.values.get(i).and_then(|v| v.trim().parse().ok())
    }

    /// Parse `PATH=FROM..TO:STEP` or `PATH=v1,v2,...`.
    pub fn parse(arg: &str, kind: Kind) -> Result<Axis, Error> {
        let flag = match kind {
            Kind::Set => "--vary",
            Kind::Scale => "--vary-scale",
        };
        let what = format!("{flag} {arg:?}");
        let Some((path, spec)) = arg.split_once('=') else {
            return Err(Error::invalid(
                what,
                format!(
                    "expected PATH=FROM..TO:STEP or PATH=v1,v2,v3, e.g. {flag} sales.reps=4..10:2"
                ),
            ));
        };
        let (path, spec) = (path.trim(), spec.trim());
        if path.is_empty() || spec.is_empty() {
            return Err(Error::invalid(
                what,
                "expected PATH=FROM..TO:STEP or PATH=v1,v2,v3",
            ));
        }
        let values = match range(spec, &what) {
            Some(r) => r?,
            None => split_list(spec),
        };
        if values.iter().any(|v| v.is_empty()) {
            return Err(Error::invalid(what, "an empty value in the list"));
        }
        if kind == Kind::Scale {
            for v in &values {
                Override::parse_scale(&format!("{path}={v}"))
                    .map_err(|e| Error::invalid(flag, e.to_string()))?;
            }
        }
        Ok(Axis {
            kind,
            path: path.to_string(),
            values,
        })
    }
}

/// `FROM..TO:STEP`, if `spec` has that shape (`Err`: what is wrong with it).
fn range(spec: &str, what: &str) -> Option<Result<Vec<String>, Error>> {
    let (from, rest) = spec.split_once("..")?;
    let (to, step) = rest.split_once(':')?;
    let parse = |s: &str| s.trim().parse::<f64>().ok().filter(|x| x.is_finite());
    let (Some(a), Some(b), Some(d)) = (parse(from), parse(to), parse(step)) else {
        return Some(Err(Error::invalid(
            what,
            "FROM, TO and STEP must be numbers, e.g. 4..10:2",
        )));
    };
    if !(d > 0.0) {
        return Some(Err(Error::invalid(what, "STEP must be > 0")));
    }
    if b < a {
        return Some(Err(Error::invalid(what, "TO must be ≥ FROM")));
    }
    let count = ((b - a) / d + 1e-9).floor() + 1.0;
    if count > MAX_POINTS as f64 {
        return Some(Err(Error::invalid(
            what,
            format!("{count} values; at most {MAX_POINTS} points per sweep"),
        )));
    }
    let decimals = decimals(from.trim()).max(decimals(step.trim()));
    let values = (0..count as usize)
        .map(|i| {
            let x = a + i as f64 * d;
            let p = 10f64.powi(decimals as i32);
            let x = (x * p).round() / p;
            format!("{x}")
        })
        .collect();
    Some(Ok(values))
}

fn decimals(s: &str) -> usize {
    s.split_once('.').map_or(0, |(_, f)| {
        f.chars().take_while(char::is_ascii_digit).count()
    })
}

/// Split `v1,v2,...` on commas outside parentheses and quotes.
fn split_list(spec: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut quoted = false;
    let mut cur = String::new();
    for c in spec.chars() {
        match c {
            '"' => quoted = !quoted,
            '(' | '[' if !quoted => depth += 1,
            ')' | ']' if !quoted => depth -= 1,
            ',' if depth == 0 && !quoted => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur.trim().to_string());
    out
}

/// The grid: for each point, the index of its value on every axis (first
/// axis slowest).
pub fn grid(axes: &[Axis]) -> Result<Vec<Vec<usize>>, Error> {
    let total = axes
        .iter()
        .try_fold(1usize, |n, a| n.checked_mul(a.values.len()))
        .filter(|n| *n <= MAX_POINTS)
        .ok_or_else(|| {
            Error::invalid(
                "sweep",
                format!("the grid has more than {MAX_POINTS} points"),
            )
        })?;
    Ok((0..total)
        .map(|mut p| {
            let mut idx = vec![0; axes.len()];
            for (i, a) in axes.iter().enumerate().rev() {
                idx[i] = p % a.values.len();
                p /= a.values.len();
            }
            idx
        })
        .collect())
}

/// The overrides of one point.
pub fn point_overrides(axes: &[Axis], idx: &[usize]) -> Vec<Override> {
    axes.iter()
        .zip(idx)
        .map(|(a, &i)| Override {
            kind: a.kind,
            path: a.path.clone(),
            value: a.values[i].clone(),
        })
        .collect()
}

/// What a sweep maximises.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Objective {
    /// The mean of a metric.
    Mean(Metric),
    /// P(metric ≥ its target).
    PTarget(Metric),
}

impl Objective {
    /// Parse `bookings`, `revenue`, `roi` (any metric) or `p_target:METRIC`.
    pub fn parse(s: &str) -> Result<Objective, Error> {
        let s = s.trim();
        let metric = |name: &str| {
            Metric::from_name(name).ok_or_else(|| {
                Error::invalid(
                    format!("--objective {s:?}"),
                    format!(
                        "unknown metric '{name}'; expected one of {} or p_target:METRIC",
                        Metric::names().join(", ")
                    ),
                )
            })
        };
        match s.strip_prefix("p_target:") {
            Some(m) => Ok(Objective::PTarget(metric(m)?)),
            None => Ok(Objective::Mean(metric(s)?)),
        }
    }

    pub fn metric(self) -> Metric {
        match self {
            Objective::Mean(m) | Objective::PTarget(m) => m,
        }
    }

    /// Higher is better, except for the mean of cost or ignored MQLs.
    pub fn higher_is_better(self) -> bool {
        match self {
            Objective::Mean(m) => !m.lower_is_better(),
            Objective::PTarget(_) => true,
        }
    }

    /// P(metric ≥ target) with its Wilson interval, for a P(target)
    /// objective whose metric has a target (`None` for a mean).
    pub fn proportion(self, a: &Analysis, strategy: usize) -> Option<Proportion> {
        match self {
            Objective::Mean(_) => None,
            Objective::PTarget(m) => a.strategies[strategy]
                .get(m)
                .and_then(|s| s.target)
                .map(|(_, p)| p),
        }
    }

    /// The objective's value for one strategy of one point (NaN when
    /// undefined, e.g. no target set).
    pub fn value(self, a: &Analysis, strategy: usize) -> f64 {
        let st = &a.strategies[strategy];
        match self {
            Objective::Mean(m) => st.get(m).map_or(f64::NAN, |s| s.summary.mean),
            Objective::PTarget(_) => self.proportion(a, strategy).map_or(f64::NAN, |p| p.p),
        }
    }
}

impl std::fmt::Display for Objective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Objective::Mean(m) => write!(f, "mean {}", m.name()),
            Objective::PTarget(m) => write!(f, "P({} >= target)", m.name()),
        }
    }
}

/// Where a strategy's objective crosses the baseline's between two
/// neighbouring values of the first axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Crossover {
    pub strategy: usize,
    pub baseline: usize,
    /// Point indices on either side.
    pub from_point: usize,
    pub to_point: usize,
    /// Objective difference (strategy − baseline) at both.
    pub diff_from: f64,
    pub diff_to: f64,
    /// Linear interpolation of the first axis' value where the difference
    /// is 0 (when the axis is numeric).
    pub at: Option<f64>,
}

/// Index of the best point for `strategy` (ties: the first).
pub fn best_point(analyses: &[Analysis], objective: Objective, strategy: usize) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, a) in analyses.iter().enumerate() {
        let v = objective.value(a, strategy);
        if v.is_nan() {
            continue;
        }
        let better = match best {
            None => true,
            Some((_, b)) => {
                if objective.higher_is_better() {
                    v > b
                } else {
                    v < b
                }
            }
        };
        if better {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i)
}

/// Sign changes of (strategy − baseline) along the first axis.
pub fn crossovers(
    axes: &[Axis],
    points: &[Vec<usize>],
    analyses: &[Analysis],
    objective: Objective,
    baseline: usize,
    strategies: usize,
) -> Vec<Crossover> {
    let mut out = Vec::new();
    let Some(first) = axes.first() else {
        return out;
    };
    let stride = points.len() / first.values.len().max(1);
    for s in (0..strategies).filter(|s| *s != baseline) {
        for rest in 0..stride {
            // the last value along the axis where the two differ: a tie
            // (common for P(target) at 0 or 1) is no side, so a crossing
            // through a tie is found between the values on either side
            let mut last: Option<(usize, usize, f64)> = None;
            for i in 0..first.values.len() {
                let q = i * stride + rest;
                let d1 = objective.value(&analyses[q], s) - objective.value(&analyses[q], baseline);
                if d1.is_nan() {
                    last = None;
                    continue;
                }
                if d1 == 0.0 {
                    continue;
                }
                if let Some((h, p, d0)) = last
                    && d0.signum() != d1.signum()
                {
                    let at = match (first.number(h), first.number(i)) {
                        (Some(x0), Some(x1)) => Some(x0 + (x1 - x0) * d0 / (d0 - d1)),
                        _ => None,
                    };
                    out.push(Crossover {
                        strategy: s,
                        baseline,
                        from_point: p,
                        to_point: q,
                        diff_from: d0,
                        diff_to: d1,
                        at,
                    });
                }
                last = Some((i, q, d1));
            }
        }
    }
    out
}

/// The points whose P(target) is within the best point's Wilson interval
/// for `strategy` (the P of the point lies in the best's interval, or the
/// point's interval holds the best's P), the best among them, in point
/// order; empty for a mean objective or when no point has a P.
pub fn near_best(analyses: &[Analysis], objective: Objective, strategy: usize) -> Vec<usize> {
    let Some(best) = best_point(analyses, objective, strategy) else {
        return Vec::new();
    };
    let Some(b) = objective.proportion(&analyses[best], strategy) else {
        return Vec::new();
    };
    analyses
        .iter()
        .enumerate()
        .filter(|(_, a)| {
            objective
                .proportion(a, strategy)
                .is_some_and(|p| (b.low <= p.p && p.p <= b.high) || (p.low <= b.p && b.p <= p.high))
        })
        .map(|(i, _)| i)
        .collect()
}

/// Point indices as ranges: `[6, 7, 8, 9, 12]` → `6-9, 12`.
pub fn point_ranges(points: &[usize]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < points.len() {
        let mut j = i;
        while j + 1 < points.len() && points[j + 1] == points[j] + 1 {
            j += 1;
        }
        out.push(if j > i {
            format!("{}-{}", points[i], points[j])
        } else {
            points[i].to_string()
        });
        i = j + 1;
    }
    out.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_inclusive_and_rounded() {
        let a = Axis::parse("x=0.1..0.5:0.1", Kind::Set).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.values, ["0.1", "0.2", "0.3", "0.4", "0.5"]);
        let a = Axis::parse("x=4..10:3", Kind::Set).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.values, ["4", "7", "10"]);
        let a = Axis::parse("x=4..9:2", Kind::Set).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.values, ["4", "6", "8"]);
        assert!(Axis::parse("x=4..9:0", Kind::Set).is_err());
        assert!(Axis::parse("x=9..4:1", Kind::Set).is_err());
        assert!(Axis::parse("x=1..1000000:1", Kind::Set).is_err());
        assert!(Axis::parse("x=0.5,1.5", Kind::Scale).is_ok());
        assert!(Axis::parse("x=0,1.5", Kind::Scale).is_err());
    }

    #[test]
    fn lists_keep_distributions_whole() {
        let a = Axis::parse(
            "p=lognormal(median=140, p90=200), 120, \"0.8 to 1.1\"",
            Kind::Set,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            a.values,
            ["lognormal(median=140, p90=200)", "120", "\"0.8 to 1.1\""]
        );
    }

    #[test]
    fn grid_is_cartesian_first_axis_slowest() {
        let a = Axis::parse("a=1,2", Kind::Set).unwrap_or_else(|e| panic!("{e}"));
        let b = Axis::parse("b=1..3:1", Kind::Set).unwrap_or_else(|e| panic!("{e}"));
        let g = grid(&[a, b]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(g.len(), 6);
        assert_eq!(g[0], [0, 0]);
        assert_eq!(g[1], [0, 1]);
        assert_eq!(g[3], [1, 0]);
    }

    #[test]
    fn objectives_parse() {
        assert_eq!(
            Objective::parse("p_target:bookings").ok(),
            Some(Objective::PTarget(Metric::Bookings))
        );
        assert_eq!(
            Objective::parse("roi").ok(),
            Some(Objective::Mean(Metric::Roi))
        );
        assert!(Objective::parse("nope").is_err());
    }
}

// ------------------------------------------------------------ the sweep

/// A sweep: a scenario file, the changes applied everywhere, the axes and
/// the objective; trials and seed from the command line or each point's own.
#[derive(Debug, Clone)]
pub struct SweepSpec {
    pub file: PathBuf,
    /// `--set`/`--scale` applied at every point, before the point's own.
    pub changes: Vec<Override>,
    pub axes: Vec<Axis>,
    pub objective: Objective,
    /// Trials of every point (default: each point's own `trials`).
    pub trials: Option<u64>,
    /// Seed of every point (default: each point's own `seed`).
    pub seed: Option<u64>,
    /// Worker threads, 0 = one per core.
    pub threads: usize,
    /// Run points even above the work limits (`--allow-large-run`).
    pub allow_large_run: bool,
    /// Several points at a time on the pool (`Some(true)`), one after
    /// another (`Some(false)`), or whichever is faster for the points'
    /// size (`None`, see [`POINT_PARALLEL_CHUNKS_PER_THREAD`]). The
    /// results are the same.
    pub parallel_points: Option<bool>,
    /// Run only these points of the grid (a shard's share; `None`: all).
    /// Every point is still validated first.
    pub points: Option<std::ops::Range<usize>>,
}

impl SweepSpec {
    /// A sweep of `file` with no axes yet, maximising `objective`.
    pub fn new(file: impl Into<PathBuf>, objective: Objective) -> SweepSpec {
        SweepSpec {
            file: file.into(),
            changes: Vec::new(),
            axes: Vec::new(),
            objective,
            trials: None,
            seed: None,
            threads: 0,
            allow_large_run: false,
            parallel_points: None,
            points: None,
        }
    }
}

/// What a sweep produced: one analysis per point of the grid.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// The scenario with the common changes (trials and seed resolved).
    pub base: Scenario,
    pub axes: Vec<Axis>,
    pub objective: Objective,
    /// Per point run, the index of its value on every axis (first axis
    /// slowest).
    pub points: Vec<Vec<usize>>,
    /// The number of the first point run in the whole grid (0 unless
    /// [`SweepSpec::points`] chose a share), and the grid's size.
    pub first_point: usize,
    pub grid_points: usize,
    /// Per point, its analysis.
    pub runs: Vec<Analysis>,
    /// Per axis, what its `*` pattern matched at point 0 (`None` for a
    /// plain path); the common changes' are in `base.matched`.
    pub axis_matches: Vec<Option<Expansion>>,
    /// Did the points run several at a time?
    pub parallel_points: bool,
}

/// Run every point of the grid. Every point is validated before any is
/// simulated; points share one seed (unless `seed` is varied), so their
/// differences are the parameters' effect.
pub fn sweep(spec: &SweepSpec, progress: &dyn Progress) -> Result<Sweep, Error> {
    if spec.axes.is_empty() {
        return Err(Error::invalid(
            "sweep needs at least one axis",
            "give --vary PATH=FROM..TO:STEP (or PATH=v1,v2) or --vary-scale",
        ));
    }
    for (i, a) in spec.axes.iter().enumerate() {
        if let Some(b) = spec.axes[..i].iter().find(|b| b.path == a.path) {
            let flag = |k: Kind| match k {
                Kind::Set => "--vary",
                Kind::Scale => "--vary-scale",
            };
            return Err(Error::invalid(
                format!("{} {}", flag(a.kind), a.path),
                format!(
                    "{} is already varied by {} {}={}; vary a path once (list every value in one axis, e.g. {}=1,2,3,4)",
                    a.path,
                    flag(b.kind),
                    b.path,
                    b.values.join(","),
                    a.path
                ),
            ));
        }
    }
    for a in &spec.axes {
        if let Some(o) = spec.changes.iter().find(|o| o.path == a.path) {
            return Err(Error::invalid(
                format!("{o}"),
                format!(
                    "{} is also a sweep axis; a path is either changed for every point or varied, not both",
                    a.path
                ),
            ));
        }
    }
    let points = grid(&spec.axes)?;
    let text = std::fs::read_to_string(&spec.file).map_err(|source| ScenarioError::Io {
        file: spec.file.clone(),
        source,
    })?;
    let base = RunSpec::new(overrides::from_toml_str(&text, &spec.file, &spec.changes)?)
        .trials(spec.trials)
        .seed(spec.seed)
        .threads(spec.threads)
        .allow_large_run(spec.allow_large_run);
    base.check()?;
    let base = base.resolved();
    if let Objective::PTarget(m) = spec.objective
        && base.target(m).is_none()
    {
        return Err(Error::invalid(
            format!("--objective p_target:{}", m.name()),
            format!(
                "the scenario sets no target for {0}; add [targets] {0} = ... or --set targets.{0}=...",
                m.name()
            ),
        ));
    }
    let pool = crate::engine::thread_pool(spec.threads)?;
    // every point's scenario, validated on the pool; errors are taken in
    // point order below, as if loaded one after another
    let loaded: Vec<(Vec<Override>, Result<Scenario, ScenarioError>)> = pool.install(|| {
        points
            .par_iter()
            .map(|idx| {
                let own = point_overrides(&spec.axes, idx);
                let mut all = spec.changes.clone();
                all.extend(own.iter().cloned());
                let scn = overrides::from_toml_str(&text, &spec.file, &all);
                (own, scn)
            })
            .collect()
    });
    let mut specs = Vec::with_capacity(points.len());
    let mut axis_matches = Vec::new();
    for (own, scn) in loaded {
        let scn = scn?;
        if specs.is_empty() {
            axis_matches = own
                .iter()
                .map(|o| scn.matched.iter().find(|e| e.change == *o).cloned())
                .collect();
            check_disjoint(spec, &own, &scn.matched)?;
        }
        // --trials/--seed win; otherwise a point keeps its own (the same
        // for every point unless `trials` or `seed` is varied).
        let s = RunSpec::new(scn)
            .trials(spec.trials)
            .seed(spec.seed)
            .allow_large_run(spec.allow_large_run);
        check_trials(s.trials)?;
        s.check_size()
            .map_err(|e| Error::invalid(format!("point {}", specs.len()), e.to_string()))?;
        specs.push(s);
    }
    let grid_points = points.len();
    let share = spec.points.clone().unwrap_or(0..grid_points);
    if share.start > share.end || share.end > grid_points {
        return Err(Error::invalid(
            format!("points {}..{}", share.start, share.end),
            format!("the grid has {grid_points} points"),
        ));
    }
    let first_point = share.start;
    let points = points[share.clone()].to_vec();
    let specs = specs.drain(share).collect::<Vec<_>>();
    let parallel = spec.parallel_points.unwrap_or_else(|| {
        let most = specs.iter().map(|s| s.trials.div_ceil(CHUNK)).max();
        let threads = pool.current_num_threads() as u64;
        threads > 1
            && specs.len() > 1
            && most.is_some_and(|c| c < POINT_PARALLEL_CHUNKS_PER_THREAD * threads)
    });
    progress.begin(specs.iter().map(|s| s.trials).sum());
    let runs = if parallel {
        progress.stage(&format!("{} points, several at a time", points.len()));
        let quiet = Quiet(progress);
        let results: Vec<Result<Analysis, Error>> = pool.install(|| {
            specs
                .par_iter()
                .map(|s| run_in_pool(s, &quiet, None).map(|r| r.analysis))
                .collect()
        });
        // the first failure in point order, whatever finished first
        results.into_iter().collect::<Result<Vec<_>, _>>()?
    } else {
        let mut runs = Vec::with_capacity(points.len());
        for (p, s) in specs.iter().enumerate() {
            progress.stage(&format!("point {}/{grid_points}", first_point + p + 1));
            let r = pool.install(|| run_in_pool(s, &Quiet(progress), None))?;
            runs.push(r.analysis);
        }
        runs
    };
    Ok(Sweep {
        base,
        axes: spec.axes.clone(),
        objective: spec.objective,
        points,
        first_point,
        grid_points,
        runs,
        axis_matches,
        parallel_points: parallel,
    })
}

/// The paths an override touches: a pattern's matches and their owners,
/// or its own path.
fn touched(o: &Override, matched: &[Expansion]) -> Vec<String> {
    match matched.iter().find(|e| e.change == *o) {
        Some(e) => e
            .matches
            .iter()
            .flat_map(|m| [m.path.clone(), m.owner.clone()])
            .collect(),
        None => vec![o.path.clone()],
    }
}

/// Refuse two axes, or an axis and a common change, that touch the same
/// path (through `*` patterns; equal paths are refused before).
fn check_disjoint(spec: &SweepSpec, own: &[Override], matched: &[Expansion]) -> Result<(), Error> {
    let flag = |k: Kind| match k {
        Kind::Set => "--vary",
        Kind::Scale => "--vary-scale",
    };
    for (i, (a, o)) in spec.axes.iter().zip(own).enumerate() {
        let mine = touched(o, matched);
        let others = own[..i]
            .iter()
            .zip(&spec.axes)
            .map(|(p, b)| (p, format!("{} {}", flag(b.kind), b.path)))
            .chain(spec.changes.iter().map(|c| (c, c.to_string())));
        for (other, name) in others {
            if let Some(both) = touched(other, matched).iter().find(|p| mine.contains(p)) {
                return Err(Error::invalid(
                    format!("{} {}", flag(a.kind), a.path),
                    format!(
                        "it and {name} both change {both}; a path is varied by one axis, or changed for every point, not both"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Passes trials on, but not the start of each point's run (the sweep
/// announced the whole grid).
struct Quiet<'a>(&'a dyn Progress);

impl Progress for Quiet<'_> {
    fn advance(&self, trials: u64) {
        self.0.advance(trials);
    }
}
