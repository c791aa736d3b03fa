//! Goal seek (`pipesim plan`): the smallest or largest value of one path
//! that makes a strategy reach a goal, e.g. `bookings>=4000000@80%` ("P
//! (bookings ≥ 4M) at least 80%") or `roi>=0.3` (on the mean).
//!
//! Every evaluation runs the same trials on the same seed, so the
//! estimated P(goal) is a smooth, nearly monotone function of the value
//! (common random numbers: the only thing that moves between two values
//! is the value). The search:
//!
//! 1. evaluates five values spread over the range (its ends and the
//!    quartiles) to see on which side the goal is met, and whether the
//!    response is monotone;
//! 2. narrows the bracket around the switch by regula falsi (Illinois)
//!    alternated with bisection, on a grid of values: the integers for an
//!    integer path (reps, months), else steps of about 1/1000 of the range
//!    rounded to a power of ten (`--resolution` sets it), so every value
//!    evaluated is one a sweep can reproduce exactly;
//! 3. finds, the same way, where the upper and where the lower end of the
//!    statistic's interval (Wilson for a probability, Student t for a mean)
//!    cross the goal: the values between are those whose interval contains
//!    the goal — the answer's Monte Carlo uncertainty.
//!
//! Only the strategy the goal is about is simulated ([`engine::run_blocks_of`]):
//! its numbers are those of a full run.

use std::path::PathBuf;

use crate::engine::{self, Block};
use crate::error::ScenarioError;
use crate::metrics::{Metric, QuarterMetric};
use crate::scenario::Scenario;
use crate::scenario::overrides::{self, Kind, Override};
use crate::stats::{self, wilson};

use super::{Error, Progress, RunSpec};

// ------------------------------------------------------------ measures

/// A per-trial value of a strategy a goal or a sensitivity can be about:
/// a metric, or a quarterly metric of one quarter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Metric(Metric),
    /// Quarter index (0 = the first) and metric.
    Quarter(usize, QuarterMetric),
}

impl Measure {
    /// Parse a metric name (`bookings`, `roi`, …) or a quarterly metric of
    /// one quarter: `coverage[0]` (by index from 0) or `coverage[2027-Q1]`
    /// (by label); quarterly names are `pipeline_created`, `bookings`,
    /// `open_pipeline_start`, `coverage`, `coverage_next`, `attainment`.
    pub fn parse(text: &str, scn: &Scenario) -> Result<Measure, Error> {
        let t = text.trim();
        let what = || format!("{t:?}");
        if let Some((name, rest)) = t.split_once('[') {
            let Some(q) = rest.strip_suffix(']') else {
                return Err(Error::invalid(
                    what(),
                    "expected METRIC[QUARTER], e.g. coverage[0]",
                ));
            };
            let qm = QuarterMetric::ALL
                .into_iter()
                .find(|m| m.name() == name.trim())
                .ok_or_else(|| {
                    Error::invalid(
                        what(),
                        format!(
                            "unknown quarterly metric '{}'; expected one of {}",
                            name.trim(),
                            QuarterMetric::ALL.map(|m| m.name()).join(", ")
                        ),
                    )
                })?;
            let nq = scn.quarters();
            let q = q.trim();
            let index = match q.parse::<usize>() {
                Ok(i) => Some(i),
                Err(_) => (0..nq).find(|&i| scn.quarter_label(i).eq_ignore_ascii_case(q)),
            };
            let labels = || {
                (0..nq)
                    .map(|i| format!("{i} ({})", scn.quarter_label(i)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let Some(index) = index.filter(|i| *i < nq) else {
                return Err(Error::invalid(
                    what(),
                    format!("no quarter '{q}'; the horizon has quarters {}", labels()),
                ));
            };
            let with_quota = qm.index() >= QuarterMetric::WITHOUT_QUOTA;
            if with_quota && scn.quota.is_none() {
                return Err(Error::invalid(
                    what(),
                    format!(
                        "{} needs a [quota] in the scenario (bookings_per_quarter, coverage_target)",
                        qm.name()
                    ),
                ));
            }
            return Ok(Measure::Quarter(index, qm));
        }
        Metric::from_name(t).map(Measure::Metric).ok_or_else(|| {
            Error::invalid(
                what(),
                format!(
                    "unknown metric '{t}'; expected one of {}, or a quarterly metric such as coverage[0]",
                    Metric::names().join(", ")
                ),
            )
        })
    }

    /// Its name as parsed (`bookings`, `coverage[2027-Q1]`).
    pub fn name(&self, scn: &Scenario) -> String {
        match self {
            Measure::Metric(m) => m.name().to_string(),
            Measure::Quarter(q, qm) => format!("{}[{}]", qm.name(), scn.quarter_label(*q)),
        }
    }

    /// Lower is better (cost and the like).
    pub fn lower_is_better(&self) -> bool {
        match self {
            Measure::Metric(m) => m.lower_is_better(),
            Measure::Quarter(..) => false,
        }
    }

    /// Where its value sits in a [`Block`] of `scn`'s trials: resolve once,
    /// then read every trial with [`Column::value`].
    pub fn column(&self, scn: &Scenario) -> Column {
        match *self {
            Measure::Metric(m) => Column::Metric(m.index()),
            Measure::Quarter(q, qm) => Column::Detail(scn.layout().quarter(q, qm)),
        }
    }
}

/// A [`Measure`] resolved against a scenario's layout: a metric index or a
/// detail index ([`crate::metrics::Layout`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Metric(usize),
    Detail(usize),
}

impl Column {
    /// The value in trial `t` (relative to the block's start) of the
    /// block's strategy `s`.
    #[inline]
    pub fn value(self, block: &Block, t: usize, s: usize) -> f64 {
        match self {
            Column::Metric(k) => block.metric(t, s, k),
            Column::Detail(j) => block.monthly(t, s, j),
        }
    }
}

// --------------------------------------------------------------- goals

/// Which way a goal compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    AtLeast,
    AtMost,
}

impl Cmp {
    fn symbol(self) -> &'static str {
        match self {
            Cmp::AtLeast => ">=",
            Cmp::AtMost => "<=",
        }
    }
}

/// A goal as written: `MEASURE>=VALUE@P%` (a probability) or
/// `MEASURE>=VALUE` (the mean); `<=` the other way.
#[derive(Debug, Clone, PartialEq)]
pub struct Goal {
    /// The measure as written (resolved against a scenario by [`Measure::parse`]).
    pub measure: String,
    pub cmp: Cmp,
    pub threshold: f64,
    /// `Some(p)`: P(measure cmp threshold) ≥ p; `None`: the mean.
    pub probability: Option<f64>,
}

/// A number with an optional `k`, `M` or `B` suffix (thousands, millions,
/// billions), `_` or `,` between digits, or a `%` (divided by 100).
pub fn parse_amount(text: &str) -> Option<f64> {
    let t: String = text
        .trim()
        .chars()
        .filter(|c| *c != '_' && *c != ',')
        .collect();
    let (body, factor) = if let Some(b) = t.strip_suffix('%') {
        (b, 0.01)
    } else if let Some(b) = t.strip_suffix(['k', 'K']) {
        (b, 1e3)
    } else if let Some(b) = t.strip_suffix('M') {
        (b, 1e6)
    } else if let Some(b) = t.strip_suffix(['B', 'G']) {
        (b, 1e9)
    } else {
        (t.as_str(), 1.0)
    };
    body.trim()
        .parse::<f64>()
        .ok()
        .map(|x| x * factor)
        .filter(|x| x.is_finite())
}

impl Goal {
    /// Parse `bookings>=4000000@80%`, `bookings>=4M@0.8`, `roi>=0.3`,
    /// `cost<=2.2M@90%`, `coverage[0]>=3@70%`.
    pub fn parse(text: &str) -> Result<Goal, Error> {
        let what = format!("--goal {text:?}");
        let example = "e.g. 'bookings>=4000000@80%' (a probability) or 'roi>=0.3' (the mean)";
        let (cmp, (measure, rest)) = if let Some(x) = text.split_once(">=") {
            (Cmp::AtLeast, x)
        } else if let Some(x) = text.split_once("<=") {
            (Cmp::AtMost, x)
        } else {
            return Err(Error::invalid(
                what,
                format!("expected MEASURE>=VALUE[@P%] or MEASURE<=VALUE[@P%], {example}"),
            ));
        };
        let (value, prob) = match rest.split_once('@') {
            Some((v, p)) => (v, Some(p)),
            None => (rest, None),
        };
        let threshold = parse_amount(value).ok_or_else(|| {
            Error::invalid(
                &what,
                format!("the value {:?} is not a number, {example}", value.trim()),
            )
        })?;
        let probability = match prob {
            None => None,
            Some(p) => {
                let t = p.trim();
                let x = match t.strip_suffix('%') {
                    Some(b) => b.trim().parse::<f64>().ok().map(|x| x / 100.0),
                    None => t.parse::<f64>().ok(),
                };
                match x {
                    Some(x) if x > 0.0 && x < 1.0 => Some(x),
                    _ => {
                        return Err(Error::invalid(
                            what,
                            format!(
                                "the probability {t:?} is not strictly between 0 and 100%, e.g. @80%"
                            ),
                        ));
                    }
                }
            }
        };
        if measure.trim().is_empty() {
            return Err(Error::invalid(what, format!("no measure named, {example}")));
        }
        Ok(Goal {
            measure: measure.trim().to_string(),
            cmp,
            threshold,
            probability,
        })
    }
}

impl std::fmt::Display for Goal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{}{}",
            self.measure,
            self.cmp.symbol(),
            crate::dist::number_text(self.threshold)
        )?;
        if let Some(p) = self.probability {
            write!(f, "@{}%", crate::dist::number_text(p * 100.0))?;
        }
        Ok(())
    }
}

// -------------------------------------------------------------- the spec

/// Which end of the set of values meeting the goal is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Find {
    /// The boundary, whichever side of it meets the goal (the smallest
    /// value when a larger one helps, the largest when a smaller one does).
    Auto,
    Smallest,
    Largest,
}

/// What `plan` searches.
#[derive(Debug, Clone)]
pub struct PlanSpec {
    pub file: PathBuf,
    /// `--set`/`--scale` applied at every evaluation, before the varied one.
    pub changes: Vec<Override>,
    /// The strategy the goal is about (default: the baseline).
    pub strategy: Option<String>,
    pub goal: Goal,
    /// Set (`--vary`) or scale (`--vary-scale`) the path.
    pub kind: Kind,
    pub path: String,
    pub low: f64,
    pub high: f64,
    /// Search over integers (default: for `reps` and month counts).
    pub integer: Option<bool>,
    /// Grid step of the search (default: about 1/1000 of the range, a
    /// power of ten; 1 for integers).
    pub resolution: Option<f64>,
    pub find: Find,
    pub trials: Option<u64>,
    pub seed: Option<u64>,
    pub threads: usize,
    pub allow_large_run: bool,
    /// Most evaluations (each a run of `trials` trials).
    pub max_evaluations: usize,
}

impl PlanSpec {
    /// A plan of `file` for `goal`, varying `path` over `low..high` by `--set`.
    pub fn new(
        file: impl Into<PathBuf>,
        goal: Goal,
        path: impl Into<String>,
        low: f64,
        high: f64,
    ) -> PlanSpec {
        PlanSpec {
            file: file.into(),
            changes: Vec::new(),
            strategy: None,
            goal,
            kind: Kind::Set,
            path: path.into(),
            low,
            high,
            integer: None,
            resolution: None,
            find: Find::Auto,
            trials: None,
            seed: None,
            threads: 0,
            allow_large_run: false,
            max_evaluations: 60,
        }
    }
}

/// Parse `PATH=FROM..TO` of `--vary` (FROM < TO, numbers with the
/// suffixes of [`parse_amount`]).
pub fn parse_range(arg: &str, flag: &str) -> Result<(String, f64, f64), Error> {
    let what = format!("{flag} {arg:?}");
    let example = format!(
        "expected PATH=FROM..TO, e.g. {flag} 'strategy.quality.channel[0].spend_per_month=20000..200000'"
    );
    let Some((path, spec)) = arg.split_once('=') else {
        return Err(Error::invalid(what, example));
    };
    let Some((a, b)) = spec.split_once("..") else {
        return Err(Error::invalid(what, example));
    };
    let (Some(a), Some(b)) = (parse_amount(a), parse_amount(b)) else {
        return Err(Error::invalid(
            what,
            "FROM and TO must be numbers, e.g. 4..12",
        ));
    };
    if !(b > a) {
        return Err(Error::invalid(what, "TO must be greater than FROM"));
    }
    if path.trim().is_empty() {
        return Err(Error::invalid(what, example));
    }
    Ok((path.trim().to_string(), a, b))
}

/// Paths searched over integers by default: team sizes and month counts.
pub fn is_integer_path(path: &str) -> bool {
    path.ends_with(".reps") || path == "warmup.months" || path == "horizon_months"
}

// ------------------------------------------------------------ the result

/// One evaluation of the goal's statistic at a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub value: f64,
    /// P(goal's comparison) or the mean.
    pub statistic: f64,
    /// Its interval (Wilson, or Student t of the mean), at the scenario's `ci`.
    pub low: f64,
    pub high: f64,
    /// Does the point estimate meet the goal?
    pub met: bool,
}

/// Where the search ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The boundary was found: `value` meets the goal, its neighbour on the
    /// grid (`other`) does not.
    Found {
        value: f64,
        other: f64,
        /// Values whose interval contains the goal: `(low, high)`, and
        /// whether each end is the end of the searched range (the interval
        /// still contained the goal there).
        range: (f64, f64),
        range_open: (bool, bool),
        /// The answers the Monte Carlo error allows: `range` and the next
        /// grid value past it on the side that meets the goal (the first
        /// value whose interval is wholly past the goal), `(low, high)`.
        answer_range: (f64, f64),
    },
    /// Every value evaluated meets the goal.
    MetEverywhere { value: f64 },
    /// No value evaluated meets it; `best` is the closest.
    Unreachable { best: f64 },
}

/// A plan's result.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The scenario as evaluated at the low end (trials and seed resolved).
    pub base: Scenario,
    pub strategy: usize,
    pub goal: Goal,
    pub measure: Measure,
    pub kind: Kind,
    pub path: String,
    pub low: f64,
    pub high: f64,
    pub integer: bool,
    pub resolution: f64,
    /// In the order made.
    pub evaluations: Vec<Evaluation>,
    pub outcome: Outcome,
    /// Does a larger value make the goal easier (`Some(true)`), harder, or
    /// is it unclear?
    pub increasing: Option<bool>,
    /// The first five evaluations (the spread over the range) met the goal
    /// in more than one stretch, or moved against the trend by more than
    /// their intervals.
    pub monotone: bool,
    /// Plain-language remarks (non-monotone, range ends, caps).
    pub notes: Vec<String>,
}

impl Plan {
    /// The evaluation at `value`, if one was made.
    pub fn at(&self, value: f64) -> Option<&Evaluation> {
        self.evaluations.iter().find(|e| e.value == value)
    }

    /// The column name of the varied path (`scale(PATH)` for a factor).
    pub fn column(&self) -> String {
        match self.kind {
            Kind::Set => self.path.clone(),
            Kind::Scale => format!("scale({})", self.path),
        }
    }
}

// -------------------------------------------------------------- the search

/// The value `k` steps of `res` from 0, printed exactly as a sweep would
/// give it (`--set PATH=VALUE`).
fn value_text(x: f64, integer: bool) -> String {
    if integer {
        format!("{}", x.round() as i64)
    } else {
        format!("{x}")
    }
}

struct Search<'a> {
    spec: &'a PlanSpec,
    text: String,
    strategy: usize,
    measure: Measure,
    trials: u64,
    seed: u64,
    ci: f64,
    integer: bool,
    res: f64,
    /// Grid indices: value = k × res.
    k_low: i64,
    k_high: i64,
    done: Vec<(i64, Evaluation)>,
    progress: &'a dyn Progress,
}

impl Search<'_> {
    fn value(&self, k: i64) -> f64 {
        let x = k as f64 * self.res;
        if self.integer {
            x.round()
        } else {
            // the grid value, with the float noise of k × res rounded off
            let digits = (-self.res.log10()).ceil().max(0.0) as i32;
            let p = 10f64.powi(digits);
            (x * p).round() / p
        }
    }

    fn eval(&mut self, k: i64) -> Result<Evaluation, Error> {
        if let Some((_, e)) = self.done.iter().find(|(j, _)| *j == k) {
            return Ok(e.clone());
        }
        let spec = self.spec;
        if self.done.len() >= spec.max_evaluations {
            return Err(Error::invalid(
                "plan",
                format!(
                    "stopped after {} evaluations without settling; narrow the range or give a coarser --resolution",
                    self.done.len()
                ),
            ));
        }
        let x = self.value(k);
        let mut changes = spec.changes.clone();
        changes.push(Override {
            kind: spec.kind,
            path: spec.path.clone(),
            value: value_text(x, self.integer),
        });
        let scn = overrides::from_toml_str(&self.text, &spec.file, &changes)?;
        let run = RunSpec::new(scn)
            .trials(Some(self.trials))
            .seed(Some(self.seed))
            .allow_large_run(spec.allow_large_run);
        run.check_size().map_err(|e| {
            Error::invalid(
                format!("{}={}", spec.path, value_text(x, self.integer)),
                e.to_string(),
            )
        })?;
        let scn = &run.scenario;
        if scn.strategies.len() <= self.strategy {
            return Err(Error::invalid(
                format!("{}={}", spec.path, value_text(x, self.integer)),
                "the change removes the strategy the goal is about",
            ));
        }
        self.progress.stage(&format!(
            "evaluation {}: {}={}",
            self.done.len() + 1,
            spec.path,
            value_text(x, self.integer)
        ));
        self.progress.begin(self.trials);
        let goal = &spec.goal;
        let column = self.measure.column(scn);
        let (mut met, mut n, mut mean, mut m2) = (0u64, 0u64, 0.0f64, 0.0f64);
        let mut bad: Option<f64> = None;
        engine::run_blocks_of(
            scn,
            &[self.strategy],
            self.seed,
            0..self.trials,
            &|t| self.progress.advance(t),
            |blocks: &[Block]| -> Result<(), Error> {
                let b = &blocks[0];
                for t in 0..b.len {
                    let v = column.value(b, t, 0);
                    if !v.is_finite() {
                        bad.get_or_insert(v);
                        continue;
                    }
                    let ok = match goal.cmp {
                        Cmp::AtLeast => v >= goal.threshold,
                        Cmp::AtMost => v <= goal.threshold,
                    };
                    met += u64::from(ok);
                    n += 1;
                    let d = v - mean;
                    mean += d / n as f64;
                    m2 += d * (v - mean);
                }
                Ok(())
            },
        )?;
        if bad.is_some() || n < 2 {
            return Err(Error::invalid(
                format!("--goal {goal}"),
                format!(
                    "{} is undefined in some trials at {}={} (e.g. roi with a cost of 0)",
                    self.measure.name(scn),
                    spec.path,
                    value_text(x, self.integer)
                ),
            ));
        }
        let e = match goal.probability {
            Some(p) => {
                let w = wilson(met, n, self.ci);
                Evaluation {
                    value: x,
                    statistic: w.p,
                    low: w.low,
                    high: w.high,
                    met: w.p >= p,
                }
            }
            None => {
                let se = (m2 / (n - 1) as f64 / n as f64).sqrt();
                let h = stats::t_quantile(0.5 + 0.5 * self.ci, (n - 1) as f64) * se;
                let ok = match goal.cmp {
                    Cmp::AtLeast => mean >= goal.threshold,
                    Cmp::AtMost => mean <= goal.threshold,
                };
                Evaluation {
                    value: x,
                    statistic: mean,
                    low: mean - h,
                    high: mean + h,
                    met: ok,
                }
            }
        };
        self.done.push((k, e.clone()));
        Ok(e)
    }

    /// The goal's level: the probability, or the threshold of the mean.
    fn level(&self) -> f64 {
        self.spec
            .goal
            .probability
            .unwrap_or(self.spec.goal.threshold)
    }

    /// "Better" for the goal is higher statistic, except for a mean goal
    /// with `<=`.
    fn sign(&self) -> f64 {
        if self.spec.goal.probability.is_none() && self.spec.goal.cmp == Cmp::AtMost {
            -1.0
        } else {
            1.0
        }
    }

    /// Narrow `(out, inn)` (grid indices: `pred` false at `out`, true at
    /// `inn`) to neighbours; `margin` is ≥ 0 where `pred` holds. Returns
    /// the final `(out, inn)`.
    fn boundary(
        &mut self,
        mut out: i64,
        mut inn: i64,
        margin: &dyn Fn(&Evaluation) -> f64,
    ) -> Result<(i64, i64), Error> {
        let mut m_out = margin(&self.eval(out)?);
        let mut m_in = margin(&self.eval(inn)?);
        let mut interpolate = true;
        let mut kept = 0i32; // Illinois: which side was kept last (−1 out, +1 in)
        while (inn - out).abs() > 1 {
            let width = (inn - out).abs();
            let k = if interpolate && m_in > m_out {
                let f = (-m_out / (m_in - m_out)).clamp(0.0, 1.0);
                let k = out as f64 + (inn - out) as f64 * f;
                let lo = out.min(inn) + 1;
                let hi = out.max(inn) - 1;
                (k.round() as i64).clamp(lo, hi)
            } else {
                (out + inn).div_euclid(2)
            };
            let e = self.eval(k)?;
            let m = margin(&e);
            if m >= 0.0 {
                inn = k;
                m_in = m;
                if kept == 1 {
                    m_out *= 0.5;
                }
                kept = 1;
            } else {
                out = k;
                m_out = m;
                if kept == -1 {
                    m_in *= 0.5;
                }
                kept = -1;
            }
            // bisect next unless the step halved the bracket
            interpolate = (inn - out).abs() * 2 <= width;
        }
        Ok((out, inn))
    }
}

/// Run the goal seek of `spec` (module docs).
pub fn plan(spec: &PlanSpec, progress: &dyn Progress) -> Result<Plan, Error> {
    if !(spec.high > spec.low) || !spec.low.is_finite() || !spec.high.is_finite() {
        return Err(Error::invalid(
            format!("--vary {}={}..{}", spec.path, spec.low, spec.high),
            "TO must be a finite number greater than FROM",
        ));
    }
    if spec.changes.iter().any(|o| o.path == spec.path) {
        return Err(Error::invalid(
            format!("--vary {}", spec.path),
            "the path is also changed by --set/--scale; a path is either changed or varied",
        ));
    }
    let text = std::fs::read_to_string(&spec.file).map_err(|source| ScenarioError::Io {
        file: spec.file.clone(),
        source,
    })?;
    let integer = spec.integer.unwrap_or_else(|| is_integer_path(&spec.path));
    let res = match spec.resolution {
        Some(r) if r > 0.0 && r.is_finite() => {
            if integer {
                r.round().max(1.0)
            } else {
                r
            }
        }
        Some(r) => {
            return Err(Error::invalid(
                format!("--resolution {r}"),
                "expected a step > 0",
            ));
        }
        None if integer => 1.0,
        None => 10f64.powf(((spec.high - spec.low) / 1e3).log10().floor()),
    };
    let (k_low, k_high) = if integer {
        (
            (spec.low / res).ceil() as i64,
            (spec.high / res).floor() as i64,
        )
    } else {
        (
            (spec.low / res).round() as i64,
            (spec.high / res).round() as i64,
        )
    };
    if k_high <= k_low {
        return Err(Error::invalid(
            format!("--vary {}={}..{}", spec.path, spec.low, spec.high),
            "the range holds a single value of the search grid; widen it",
        ));
    }
    // the base: the scenario at the low end, for the strategy, the measure
    // and the settings
    let mut low_changes = spec.changes.clone();
    low_changes.push(Override {
        kind: spec.kind,
        path: spec.path.clone(),
        value: value_text(k_low as f64 * res, integer),
    });
    let base_scn = overrides::from_toml_str(&text, &spec.file, &low_changes)?;
    let base = RunSpec::new(base_scn)
        .trials(spec.trials)
        .seed(spec.seed)
        .threads(spec.threads)
        .allow_large_run(spec.allow_large_run);
    base.check()?;
    let strategy = match &spec.strategy {
        None => base.scenario.baseline,
        Some(name) => base
            .scenario
            .strategies
            .iter()
            .position(|s| &s.name == name)
            .ok_or_else(|| {
                Error::invalid(
                    format!("--strategy {name}"),
                    format!(
                        "no such strategy; the scenario has {}",
                        base.scenario
                            .strategies
                            .iter()
                            .map(|s| s.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?,
    };
    let measure = Measure::parse(&spec.goal.measure, &base.scenario)
        .map_err(|e| Error::invalid(format!("--goal {}", spec.goal), e.to_string()))?;
    let pool = engine::thread_pool(spec.threads)?;
    let mut search = Search {
        spec,
        text,
        strategy,
        measure,
        trials: base.trials,
        seed: base.seed,
        ci: base.scenario.ci,
        integer,
        res,
        k_low,
        k_high,
        done: Vec::new(),
        progress,
    };
    let (outcome, increasing, monotone, notes) = pool.install(|| seek(&mut search))?;
    let evaluations = search.done.iter().map(|(_, e)| e.clone()).collect();
    Ok(Plan {
        base: base.resolved(),
        strategy,
        goal: spec.goal.clone(),
        measure,
        kind: spec.kind,
        path: spec.path.clone(),
        low: search.value(k_low),
        high: search.value(k_high),
        integer,
        resolution: res,
        evaluations,
        outcome,
        increasing,
        monotone,
        notes,
    })
}

type Sought = (Outcome, Option<bool>, bool, Vec<String>);

fn seek(s: &mut Search<'_>) -> Result<Sought, Error> {
    let (a, b) = (s.k_low, s.k_high);
    // 1. the spread: ends and quartiles
    let mut spread: Vec<i64> = (0..5).map(|i| a + (b - a) * i / 4).collect();
    spread.dedup();
    let mut evals = Vec::with_capacity(spread.len());
    for &k in &spread {
        evals.push(s.eval(k)?);
    }
    let sign = s.sign();
    let level = s.level();
    let mut notes = Vec::new();
    // monotone? the met pattern switches at most once, and no step moves
    // against the overall trend by more than the two intervals' half-widths
    let switches = evals.windows(2).filter(|w| w[0].met != w[1].met).count();
    let first = &evals[0];
    let last = &evals[evals.len() - 1];
    let trend = (last.statistic - first.statistic) * sign;
    let against = evals.windows(2).any(|w| {
        let step = (w[1].statistic - w[0].statistic) * sign;
        let noise = 0.5 * ((w[0].high - w[0].low) + (w[1].high - w[1].low));
        step * trend.signum() < -noise
    });
    let monotone = switches <= 1 && !against;
    let increasing = if trend > 0.0 {
        Some(true)
    } else if trend < 0.0 {
        Some(false)
    } else {
        None
    };
    if !monotone {
        notes.push(format!(
            "the response is not monotone over the range: at {} the goal is {}; the answer below is the first switch in the direction asked for, check the evaluations",
            spread
                .iter()
                .zip(&evals)
                .map(|(k, e)| format!("{}={}", value_text(s.value(*k), s.integer), if e.met { "met" } else { "not met" }))
                .collect::<Vec<_>>()
                .join(", "),
            "met in more than one stretch or moves against its trend"
        ));
    }
    if evals.iter().all(|e| !e.met) {
        let best = evals
            .iter()
            .max_by(|x, y| (x.statistic * sign).total_cmp(&(y.statistic * sign)))
            .map_or(s.value(a), |e| e.value);
        notes.push(format!(
            "the goal is not reached anywhere in the range {}..{}; the closest is at {}",
            value_text(s.value(a), s.integer),
            value_text(s.value(b), s.integer),
            value_text(best, s.integer)
        ));
        return Ok((Outcome::Unreachable { best }, increasing, monotone, notes));
    }
    // 2. the switch: scan in the direction asked for
    let find = match s.spec.find {
        Find::Auto => {
            if evals[0].met && !last.met {
                Find::Largest
            } else {
                Find::Smallest
            }
        }
        f => f,
    };
    let bracket = match find {
        Find::Smallest | Find::Auto => {
            if evals[0].met {
                None
            } else {
                let i = evals.iter().position(|e| e.met).unwrap_or(0);
                Some((spread[i - 1], spread[i]))
            }
        }
        Find::Largest => {
            if last.met {
                None
            } else {
                let i = evals.iter().rposition(|e| e.met).unwrap_or(0);
                Some((spread[i + 1], spread[i]))
            }
        }
    };
    let Some((out, inn)) = bracket else {
        let end = if find == Find::Largest { b } else { a };
        notes.push(format!(
            "the goal is already met at the {} end of the range ({}); widen the range to find where it stops being met",
            if find == Find::Largest { "upper" } else { "lower" },
            value_text(s.value(end), s.integer)
        ));
        return Ok((
            Outcome::MetEverywhere {
                value: s.value(end),
            },
            increasing,
            monotone,
            notes,
        ));
    };
    let level_margin = move |e: &Evaluation| (e.statistic - level) * sign;
    let (out, inn) = s.boundary(out, inn, &level_margin)?;
    // 3. the answer's uncertainty: where each end of the interval crosses
    // the goal, on the same side of the range as the answer
    let upper = move |e: &Evaluation| {
        if sign > 0.0 {
            e.high - level
        } else {
            level - e.low
        }
    };
    let lower = move |e: &Evaluation| {
        if sign > 0.0 {
            e.low - level
        } else {
            level - e.high
        }
    };
    // the out-side end of the range and the in-side end
    let (out_end, in_end) = if out < inn { (a, b) } else { (b, a) };
    let side = |k: i64, from: i64, to: i64| (from.min(to)..=from.max(to)).contains(&k);
    let crossing = |s: &mut Search<'_>,
                    margin: &dyn Fn(&Evaluation) -> f64|
     -> Result<(i64, i64, bool), Error> {
        // the nearest evaluated point outside (margin < 0) and inside (≥ 0)
        // around the answer's bracket, on the path from out_end to in_end
        let known: Vec<(i64, f64)> = s
            .done
            .iter()
            .filter(|(k, _)| side(*k, out_end, in_end))
            .map(|(k, e)| (*k, margin(e)))
            .collect();
        let towards_in = |k: i64| if out < inn { k } else { -k };
        let outside = known
            .iter()
            .filter(|(_, m)| *m < 0.0)
            .max_by_key(|(k, _)| towards_in(*k))
            .map(|(k, _)| *k);
        let inside = known
            .iter()
            .filter(|(k, m)| *m >= 0.0 && outside.is_none_or(|o| towards_in(*k) > towards_in(o)))
            .min_by_key(|(k, _)| towards_in(*k))
            .map(|(k, _)| *k);
        match (outside, inside) {
            (None, _) => {
                // the interval contains the goal at the out end already
                let m = margin(&s.eval(out_end)?);
                if m >= 0.0 {
                    return Ok((out_end, out_end, true));
                }
                let inside = inside.unwrap_or(in_end);
                let (o, i) = s.boundary(out_end, inside, margin)?;
                Ok((o, i, false))
            }
            (Some(o), None) => {
                let m = margin(&s.eval(in_end)?);
                if m < 0.0 {
                    return Ok((in_end, in_end, true));
                }
                let (o, i) = s.boundary(o, in_end, margin)?;
                Ok((o, i, false))
            }
            (Some(o), Some(i)) => {
                let (o, i) = s.boundary(o, i, margin)?;
                Ok((o, i, false))
            }
        }
    };
    // the first value (from the out side) whose interval reaches the goal,
    // and the last one before the interval is wholly past it
    let (_, k_u, open_u) = crossing(s, &upper)?;
    let (k_l, _, open_l) = crossing(s, &lower)?;
    // k_u is on the out side of the answer, k_l on the in side
    let (lo_k, hi_k, open) = if out < inn {
        (k_u, k_l, (open_u, open_l))
    } else {
        (k_l, k_u, (open_l, open_u))
    };
    let range = (s.value(lo_k.min(hi_k)), s.value(lo_k.max(hi_k)));
    // one grid step past the in-side end (unless that end is the range's)
    let step = if out < inn { 1 } else { -1 };
    let past = if open.1 && out < inn || open.0 && out > inn {
        k_l
    } else {
        (k_l + step).clamp(a.min(b), a.max(b))
    };
    let answer_range = (s.value(k_u.min(past)), s.value(k_u.max(past)));
    if open.0 || open.1 {
        notes.push(
            "the interval of the statistic still contains the goal at an end of the range: the uncertainty extends beyond it; add trials or widen the range".to_string(),
        );
    }
    Ok((
        Outcome::Found {
            value: s.value(inn),
            other: s.value(out),
            range,
            range_open: open,
            answer_range,
        },
        increasing,
        monotone,
        notes,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goals_parse() {
        let g = Goal::parse("bookings>=4000000@80%").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(g.measure, "bookings");
        assert_eq!(g.cmp, Cmp::AtLeast);
        assert_eq!(g.threshold, 4e6);
        assert_eq!(g.probability, Some(0.8));
        let g = Goal::parse("roi >= 30%").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((g.threshold, g.probability), (0.3, None));
        let g = Goal::parse("cost<=2.2M@0.9").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (g.cmp, g.threshold, g.probability),
            (Cmp::AtMost, 2.2e6, Some(0.9))
        );
        assert_eq!(g.to_string(), "cost<=2200000@90%");
        for bad in [
            "bookings",
            "bookings>=x",
            "bookings>=1@100%",
            ">=3",
            "roi>=1@0",
        ] {
            assert!(Goal::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn amounts_parse() {
        assert_eq!(parse_amount("4_000_000"), Some(4e6));
        assert_eq!(parse_amount("4,000,000"), Some(4e6));
        assert_eq!(parse_amount("250k"), Some(250e3));
        assert_eq!(parse_amount("1.5B"), Some(1.5e9));
        assert_eq!(parse_amount("nan"), None);
    }

    #[test]
    fn ranges_parse() {
        let (p, a, b) = parse_range("sales.reps=4..12", "--vary").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((p.as_str(), a, b), ("sales.reps", 4.0, 12.0));
        assert!(parse_range("sales.reps=12..4", "--vary").is_err());
        assert!(parse_range("sales.reps=4", "--vary").is_err());
        assert!(is_integer_path("segment[2].sales.reps"));
        assert!(!is_integer_path("strategy.q.channel[0].spend_per_month"));
    }
}
