//! Scenario files: the TOML format, its validation, and the validated
//! domain types the engine runs on.
//!
//! Loading is two-stage: serde deserialises the file into `Raw*` structs
//! (unknown fields rejected, paths tracked by `serde_path_to_error`), then
//! [`Scenario::from_raw`] checks every value against MODEL.md and builds
//! ready samplers ([`Param`]). Errors name the file, the field path, the value
//! and what would be valid.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

pub mod bounds;
pub mod overrides;
mod raw;

use crate::calendar::{self, MAX_HORIZON};
use crate::copula::{self, Copula};
use crate::dist::{self, Dist, Domain};
use crate::error::{FieldError, ScenarioError};
use crate::metrics::{Layout, Metric, QuarterMetric};
use crate::sampling::streams;

pub use raw::{
    RawChannel, RawCorrelation, RawFunnel, RawMarket, RawParam, RawRevenue, RawSales, RawScenario,
    RawStrategy, locate, parse_raw, raw_from_table,
};
use raw::{RawQuota, RawQuotaValue, RawSegment, RawWarmup};

/// Defaults for fields the scenario may leave out (documented in the README).
pub const DEFAULT_TRIALS: u64 = 10_000;
pub const DEFAULT_SEED: u64 = 1;
pub const DEFAULT_CI: f64 = 0.95;
pub const DEFAULT_INTERVAL: f64 = 0.90;

// ------------------------------------------------------------ domain types

/// A validated parameter: where it was written, how, and its sampler.
#[derive(Debug, Clone)]
pub struct Param {
    /// Field path, e.g. `strategy.volume.channel[0].cost_per_lead`.
    pub path: String,
    /// The value as written in the scenario.
    pub written: String,
    pub domain: Domain,
    pub dist: Dist,
    /// Key of the sub-stream its per-trial draw comes from: a hash of
    /// `path`, so a parameter draws the same numbers whatever else the
    /// scenario holds, and a shared channel's field (path
    /// `channel.NAME.field`) the same in every strategy that inherits it.
    pub key: u64,
    /// Index of the parameter in the scenario's Gaussian copula, when a
    /// `[[correlation]]` names it: its draw is then the inverse CDF at the
    /// copula's uniform.
    pub copula: Option<usize>,
}

impl Param {
    fn new(path: impl Into<String>, written: String, domain: Domain, dist: Dist) -> Param {
        let path = path.into();
        Param {
            key: streams::key("param", &path),
            path,
            written,
            domain,
            dist,
            copula: None,
        }
    }

    fn fixed(path: impl Into<String>, x: f64, domain: Domain) -> Param {
        Param::new(path, format!("{x}"), domain, Dist::Fixed(x))
    }
}

/// Shared market parameters (drawn once per trial, common to all strategies).
#[derive(Debug, Clone)]
pub struct Market {
    pub demand: Param,
}

/// Shared revenue parameters (drawn once per trial, common to all strategies).
#[derive(Debug, Clone)]
pub struct Revenue {
    pub churn_monthly: Param,
    pub expansion_monthly: Param,
    /// ARR of today's customers at the start of month 0 (Model v2, "The
    /// existing book"); fixed 0 when not given.
    pub starting_arr: Param,
}

/// Sales capacity: `K = floor(reps × mql_capacity_per_rep)` handoff members a month.
#[derive(Debug, Clone)]
pub struct Sales {
    pub reps: Param,
    pub mql_capacity_per_rep: Param,
    /// Cost of one rep a month (Model v2, "Sales cost"); fixed 0 when
    /// neither the team nor `[sales]` gives it.
    pub cost_per_rep_month: Param,
}

/// A go-to-market segment or territory (`[[segment]]`, Model v2).
#[derive(Debug, Clone)]
pub struct Segment {
    pub name: String,
    /// Per-deal size of its deals, replacing the channel's.
    pub deal_size: Option<Param>,
    /// Per-deal cycle of its deals, replacing the channel's.
    pub cycle_days: Option<Param>,
    /// Per-deal cycle of its lost deals, replacing the channel's.
    pub lost_cycle_days: Option<Param>,
    /// Per-trial multiplier of a deal's odds of winning (fixed 1 by default).
    pub win_odds_ratio: Param,
    /// Its own team (the same size in every strategy), if any.
    pub sales: Option<Sales>,
}

/// A strategy's nurture programme (Model v2, "Nurture").
#[derive(Debug, Clone)]
pub struct Nurture {
    /// Per-trial probability that an ignored or rejected member returns.
    pub recycle: Param,
    /// Per-member delay before it re-enters the handoff stage.
    pub delay_days: Param,
}

/// `[warmup]`: the strategy whose funnel runs for `months` before month 0.
#[derive(Debug, Clone, Copy)]
pub struct Warmup {
    pub months: usize,
    /// Index into [`Scenario::strategies`].
    pub strategy: usize,
}

/// `[quota]`: the bookings quota of each quarter (a single number already
/// prorated for a partial last quarter) and the coverage target.
#[derive(Debug, Clone)]
pub struct Quota {
    pub per_quarter: Vec<f64>,
    pub coverage_target: f64,
}

/// Default `quota.coverage_target`: the "3× pipeline" rule of thumb.
pub const DEFAULT_COVERAGE_TARGET: f64 = 3.0;

/// Diminishing returns of a spend channel (Model v2): the trial's cost per
/// lead is `cost_per_lead × (spend / reference_spend)^elasticity`.
#[derive(Debug, Clone)]
pub struct Elasticity {
    pub elasticity: Param,
    pub reference_spend: Param,
}

#[derive(Debug, Clone)]
pub struct Funnel {
    pub stages: Vec<String>,
    /// Index of the handoff stage.
    pub handoff: usize,
    /// Index of the pipeline stage (> handoff).
    pub pipeline: usize,
}

/// How a channel's monthly volume is given.
#[derive(Debug, Clone)]
pub enum Volume {
    /// Mean leads a month; cost = leads × cost per lead.
    Leads(Param),
    /// Spend a month; mean leads = spend / cost per lead; cost = spend.
    Spend(Param),
}

#[derive(Debug, Clone)]
pub struct Channel {
    pub name: String,
    /// The shared channel (`[channel.NAME]`) it buys, if any.
    pub shared: Option<String>,
    /// What its monthly counts and deals are keyed by: `channel.NAME` for
    /// a shared channel (`channel.NAME#k` for the k-th further use of it in
    /// the same strategy), `strategy.S.channel[i]` for a strategy's own.
    pub stream: String,
    /// Key of its per-month count streams (leads, opportunities).
    pub counts_key: u64,
    /// Key of its per-month deal streams (one per cohort).
    pub deals_key: u64,
    pub volume: Volume,
    pub cost_per_lead: Param,
    /// Negative-binomial dispersion `k` (variance λ + λ²/k); `None` = Poisson.
    pub volume_dispersion: Option<Param>,
    /// `conversion[i]` is the probability of reaching stage `i + 1` from stage `i`.
    pub conversion: Vec<Param>,
    /// Per-deal size (ACV), resolved from the channel or its strategy.
    pub deal_size: Param,
    /// Per-deal cycle length in days, resolved from the channel or its strategy.
    pub cycle_days: Param,
    /// Per-deal cycle of lost deals (resolved from the channel, its shared
    /// channel or its strategy); `None`: lost deals use `cycle_days`.
    pub lost_cycle_days: Option<Param>,
    /// Share of its handoff members per segment, in [`Scenario::segments`]
    /// order (empty without segments).
    pub segment_mix: Vec<f64>,
    /// Diminishing returns on its spend, if set.
    pub elasticity: Option<Elasticity>,
    /// Per segment, the key of its cohorts' deal streams (empty without
    /// segments: the deals are keyed by `deals_key`).
    pub segment_deals_keys: Vec<u64>,
}

#[derive(Debug, Clone)]
pub struct Strategy {
    pub name: String,
    pub label: String,
    pub fixed_cost_per_month: Param,
    /// Strategy-specific sales team, overriding the scenario's.
    pub sales: Option<Sales>,
    pub channels: Vec<Channel>,
    /// Key of its per-month capacity-split streams: a hash of its
    /// channels' streams, so two strategies buying the same shared
    /// channels share it (and a twin strategy is identical trial by trial).
    pub capacity_key: u64,
    /// Key of its per-month segment-routing streams.
    pub route_key: u64,
    /// Key of its per-month nurture-return streams.
    pub nurture_key: u64,
    pub nurture: Option<Nurture>,
}

impl Channel {
    /// Its parameters with their field names (`leads_per_month` or
    /// `spend_per_month`, `cost_per_lead`, `volume_dispersion`,
    /// `conversion.STAGE` for the funnel's `stages`, `deal_size`,
    /// `cycle_days`): what `strategy.S.channel[i].FIELD` names, whichever
    /// owner ([`Param::path`]) the value comes from.
    pub fn fields<'a>(&'a self, stages: &'a [String]) -> impl Iterator<Item = (String, &'a Param)> {
        let volume = match &self.volume {
            Volume::Leads(p) => ("leads_per_month".to_string(), p),
            Volume::Spend(p) => ("spend_per_month".to_string(), p),
        };
        [volume, ("cost_per_lead".to_string(), &self.cost_per_lead)]
            .into_iter()
            .chain(
                self.volume_dispersion
                    .iter()
                    .map(|p| ("volume_dispersion".to_string(), p)),
            )
            .chain(
                stages[1..]
                    .iter()
                    .zip(&self.conversion)
                    .map(|(stage, p)| (format!("conversion.{stage}"), p)),
            )
            .chain([
                ("deal_size".to_string(), &self.deal_size),
                ("cycle_days".to_string(), &self.cycle_days),
            ])
            .chain(
                self.lost_cycle_days
                    .iter()
                    .map(|p| ("lost_cycle_days".to_string(), p)),
            )
            .chain(self.elasticity.iter().flat_map(|e| {
                [
                    ("cpl_elasticity".to_string(), &e.elasticity),
                    ("reference_spend".to_string(), &e.reference_spend),
                ]
            }))
    }
}

impl Param {
    /// Is it drawn per deal or member (`deal_size`, `cycle_days`,
    /// `lost_cycle_days`, `nurture.delay_days`) rather than per trial?
    pub fn is_per_deal(&self) -> bool {
        is_per_deal(&self.path)
    }
}

/// A validated `[[correlation]]`: two per-trial parameters (by path) and
/// their Spearman rank correlation.
#[derive(Debug, Clone)]
pub struct Correlation {
    pub between: [String; 2],
    pub rank: f64,
}

/// A validated scenario, ready to simulate.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Where it was loaded from (for messages).
    pub file: PathBuf,
    pub name: String,
    /// The money unit of every amount (`currency`), empty when not given;
    /// a label for charts and reports, never converted.
    pub currency: String,
    pub horizon: usize,
    /// `(year, month)` of month 0, when `start` is given.
    pub start: Option<(i32, u32)>,
    pub trials: u64,
    pub seed: u64,
    /// Index into `strategies`.
    pub baseline: usize,
    pub ci: f64,
    pub interval: f64,
    pub seasonality: [f64; 12],
    pub targets: Vec<(Metric, f64)>,
    pub market: Market,
    pub revenue: Revenue,
    /// Scenario-wide sales team; `None` = unlimited capacity.
    pub sales: Option<Sales>,
    pub funnel: Funnel,
    pub strategies: Vec<Strategy>,
    /// The go-to-market segments (`[[segment]]`), in file order; empty:
    /// one funnel per channel, as in v1.
    pub segments: Vec<Segment>,
    /// The warm-up before month 0, if any (`[warmup]` with months > 0).
    pub warmup: Option<Warmup>,
    /// The bookings quota and coverage target, if any.
    pub quota: Option<Quota>,
    /// Names of the shared channels (`[channel.NAME]`), in file order.
    pub shared_channels: Vec<String>,
    /// The `[[correlation]]` entries, in file order.
    pub correlations: Vec<Correlation>,
    /// Paths of the correlated parameters, in copula order.
    pub correlated: Vec<String>,
    /// The Gaussian copula of the correlated parameters (`None` without
    /// correlations).
    pub copula: Option<Copula>,
    /// Command-line overrides applied, as given (`--set sales.reps=8`).
    pub overrides: Vec<String>,
    /// What each override with a `*` pattern in its path matched, in the
    /// order the overrides were applied (empty without patterns).
    pub matched: Vec<overrides::Expansion>,
}

// ---------------------------------------------------------------- loading

/// Longest `currency` label.
pub const MAX_CURRENCY_CHARS: usize = 8;

impl Scenario {
    /// A SHA-256 (hex) of the scenario as it runs — every parameter after
    /// `--set`/`--scale`, but not where it was read from, how the changes
    /// were spelt, its seed or its trials (which shards compare apart).
    /// Two scenarios with the same fingerprint draw the same numbers for a
    /// seed with this build of pipesim; it is not stable across versions.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut s = self.clone();
        s.file = PathBuf::new();
        s.overrides.clear();
        s.matched.clear();
        s.seed = 0;
        s.trials = 0;
        let digest = Sha256::digest(format!("{s:?}").as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Read, parse and validate a scenario file.
    pub fn load(file: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(file).map_err(|source| ScenarioError::Io {
            file: file.to_path_buf(),
            source,
        })?;
        Scenario::from_toml_str(&text, file)
    }

    /// Parse and validate scenario text; `file` is used in messages only.
    pub fn from_toml_str(text: &str, file: &Path) -> Result<Scenario, ScenarioError> {
        let raw = parse_raw(text, file)?;
        Scenario::from_raw_all(raw)
            .map_err(|e| FieldError::all_in_file(e, file, |path| locate(text, path)))
            .map(|mut s| {
                s.file = file.to_path_buf();
                s
            })
    }

    /// Validate a raw scenario: the first problem found (see
    /// [`Scenario::from_raw_all`] for all of them).
    pub fn from_raw(raw: RawScenario) -> Result<Scenario, FieldError> {
        Scenario::from_raw_all(raw).map_err(|mut errors| errors.swap_remove(0))
    }

    /// Validate a raw scenario, reporting every problem found (at least
    /// one on `Err`): each section is checked even when another failed;
    /// within a channel every field is, and the checks that need a whole
    /// valid scenario (correlations, plausibility bounds) run once the
    /// rest is valid.
    pub fn from_raw_all(raw: RawScenario) -> Result<Scenario, Vec<FieldError>> {
        let mut errs = Errs::default();
        let horizon = raw.horizon_months;
        if !(1..=MAX_HORIZON as i64).contains(&horizon) {
            errs.push(FieldError::new(
                "horizon_months",
                Some(horizon.to_string()),
                format!("expected a whole number of months from 1 to {MAX_HORIZON}"),
            ));
        }
        let horizon = horizon.clamp(1, MAX_HORIZON as i64) as usize;
        let currency = raw.currency.clone().unwrap_or_default();
        if currency.chars().count() > MAX_CURRENCY_CHARS
            || currency
                .chars()
                .any(|c| c.is_control() || c.is_whitespace())
        {
            errs.push(FieldError::new(
                "currency",
                Some(format!("{currency:?}")),
                format!(
                    "expected a currency code or symbol of at most {MAX_CURRENCY_CHARS} characters without spaces, e.g. \"USD\", \"EUR\" or \"$\""
                ),
            ));
        }
        let start = match &raw.start {
            None => None,
            Some(s) => errs.take(calendar::parse_year_month(s).ok_or_else(|| {
                FieldError::new(
                    "start",
                    Some(format!("{s:?}")),
                    "expected a month as \"YYYY-MM\", e.g. \"2027-01\"",
                )
            })),
        };
        let trials = raw.trials.unwrap_or(DEFAULT_TRIALS as i64);
        if trials < 2 {
            errs.push(FieldError::new(
                "trials",
                Some(trials.to_string()),
                "expected at least 2 trials (intervals need two)",
            ));
        }
        let ci = errs
            .take(level(raw.ci, DEFAULT_CI, "ci"))
            .unwrap_or(DEFAULT_CI);
        let interval = errs
            .take(level(raw.interval, DEFAULT_INTERVAL, "interval"))
            .unwrap_or(DEFAULT_INTERVAL);
        let seasonality = match &raw.seasonality {
            None => [1.0; 12],
            Some(v) => {
                let mut out = [1.0; 12];
                if v.len() != 12 {
                    errs.push(FieldError::new(
                        "seasonality",
                        Some(format!("{} values", v.len())),
                        "expected exactly 12 monthly multipliers (January first when start is January)",
                    ));
                }
                for (i, x) in v.iter().enumerate().take(12) {
                    if !(*x >= 0.0 && x.is_finite()) {
                        errs.push(FieldError::new(
                            format!("seasonality[{i}]"),
                            Some(dist::number_text(*x)),
                            "expected a non-negative multiplier",
                        ));
                    }
                    out[i] = *x;
                }
                out
            }
        };

        let funnel = errs.take(funnel(&raw.funnel));

        let mut targets = Vec::new();
        for (k, v) in raw.targets.iter().flatten() {
            let path = format!("targets.{k}");
            let Some(metric) = Metric::from_name(k) else {
                errs.push(FieldError::new(
                    path,
                    None,
                    format!(
                        "unknown metric '{k}'; expected one of {}",
                        Metric::names().join(", ")
                    ),
                ));
                continue;
            };
            if !v.is_finite() {
                errs.push(FieldError::new(
                    path,
                    Some(dist::number_text(*v)),
                    "expected a finite number",
                ));
                continue;
            }
            targets.push((metric, *v));
        }

        let mut opt = |raw: Option<&RawParam>, path: &str, domain: Domain, default: f64| {
            errs.take(opt_param(raw, path, domain, default))
                .unwrap_or_else(|| Param::fixed(path, default, domain))
        };
        let market = Market {
            demand: opt(
                raw.market.as_ref().and_then(|m| m.demand.as_ref()),
                "market.demand",
                Domain::Positive,
                1.0,
            ),
        };
        let revenue = Revenue {
            churn_monthly: opt(
                raw.revenue.as_ref().and_then(|r| r.churn_monthly.as_ref()),
                "revenue.churn_monthly",
                Domain::Probability,
                0.0,
            ),
            expansion_monthly: opt(
                raw.revenue
                    .as_ref()
                    .and_then(|r| r.expansion_monthly.as_ref()),
                "revenue.expansion_monthly",
                Domain::Rate,
                0.0,
            ),
            starting_arr: opt(
                raw.revenue.as_ref().and_then(|r| r.starting_arr.as_ref()),
                "revenue.starting_arr",
                Domain::Amount,
                0.0,
            ),
        };
        if errs.is_empty() {
            errs.take(bounds::net_rate(&revenue));
        }
        let sales = raw
            .sales
            .as_ref()
            .and_then(|s| errs.take(sales(s, "sales", None)));
        let segments = errs
            .take_all(segments(
                raw.segment.as_deref().unwrap_or_default(),
                sales.as_ref(),
            ))
            .unwrap_or_default();
        let segment_names: Vec<String> = segments.iter().map(|g| g.name.clone()).collect();
        let quota = raw
            .quota
            .as_ref()
            .and_then(|q| errs.take(quota(q, horizon)));
        let shared = raw.channel.as_ref();
        for (name, ch) in shared.into_iter().flatten() {
            errs.take(identifier(&format!("channel.{}", key_text(name)), name));
            if let Some(n) = &ch.name {
                errs.take(identifier(&format!("channel.{}.name", key_text(name)), n));
            }
            if ch.use_.is_some() {
                errs.push(FieldError::new(
                    format!("channel.{name}.use"),
                    ch.use_.as_ref().map(|u| format!("{u:?}")),
                    "a shared channel cannot use another; give its fields here",
                ));
            }
        }

        let Some(raw_strategies) = raw.strategy.as_ref().filter(|s| !s.is_empty()) else {
            errs.push(FieldError::new(
                "strategy",
                None,
                "the scenario has no strategy; add at least one [strategy.NAME] table with [[strategy.NAME.channel]] entries",
            ));
            return Err(errs.0);
        };
        let Some(funnel) = funnel else {
            return Err(errs.0);
        };
        let mut strategies = Vec::with_capacity(raw_strategies.len());
        for (name, rs) in raw_strategies {
            errs.take(identifier(&format!("strategy.{}", key_text(name)), name));
            for (i, ch) in rs.channel.iter().flatten().enumerate() {
                if let Some(n) = &ch.name {
                    errs.take(identifier(
                        &format!("strategy.{}.channel[{i}].name", key_text(name)),
                        n,
                    ));
                }
            }
            let ctx = Context {
                funnel: &funnel,
                sales: sales.as_ref(),
                shared,
                segments: &segment_names,
            };
            if let Some(st) = errs.take_all(strategy(name, rs, &ctx)) {
                strategies.push(st);
            }
        }
        let baseline = match &raw.baseline {
            None => Some(0),
            Some(_) if strategies.len() < raw_strategies.len() => None,
            Some(b) => errs.take(
                strategies
                    .iter()
                    .position(|s| &s.name == b)
                    .ok_or_else(|| unknown_strategy("baseline", b, &strategies)),
            ),
        };
        let warmup = match &raw.warmup {
            None => None,
            // a strategy that failed is reported already, not as unknown here
            Some(_) if strategies.len() < raw_strategies.len() => None,
            Some(w) => errs.take(warmup(w, &strategies)).flatten(),
        };
        let Some(baseline) = baseline.filter(|_| errs.is_empty()) else {
            return Err(errs.0);
        };

        let mut scn = Scenario {
            file: PathBuf::new(),
            name: raw
                .name
                .clone()
                .unwrap_or_else(|| "unnamed scenario".to_string()),
            currency,
            horizon,
            start,
            trials: trials as u64,
            seed: raw.seed.unwrap_or(DEFAULT_SEED),
            baseline,
            ci,
            interval,
            seasonality,
            targets,
            market,
            revenue,
            sales,
            funnel,
            strategies,
            segments,
            warmup,
            quota,
            shared_channels: shared
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default(),
            correlations: Vec::new(),
            correlated: Vec::new(),
            copula: None,
            overrides: Vec::new(),
            matched: Vec::new(),
        };
        correlate(&mut scn, raw.correlation.as_deref().unwrap_or_default()).map_err(|e| vec![e])?;
        let errors = bounds::check(&scn);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(scn)
    }

    /// Label of month `m`: `YYYY-MM` when `start` is set, else `M1`, `M2`, ...
    pub fn month_label(&self, m: usize) -> String {
        calendar::month_label(self.start, m)
    }

    /// Label of quarter `q` ([`calendar::quarter_label`]).
    pub fn quarter_label(&self, q: usize) -> String {
        calendar::quarter_label(self.start, q)
    }

    /// Whether the scenario has an existing book (`revenue.starting_arr`
    /// other than a fixed 0).
    pub fn has_book(&self) -> bool {
        !matches!(self.revenue.starting_arr.dist, Dist::Fixed(x) if x == 0.0)
    }

    /// Quarters of the horizon (the last may be partial).
    pub fn quarters(&self) -> usize {
        self.horizon.div_ceil(3)
    }

    /// Months of the horizon in quarter `q`.
    pub fn quarter_months(&self, q: usize) -> std::ops::Range<usize> {
        3 * q..(3 * q + 3).min(self.horizon)
    }

    /// The funnel stages reported per strategy: every stage up to the
    /// pipeline stage, and the last (won deals) when it comes after it.
    pub fn funnel_stages(&self) -> Vec<usize> {
        let f = &self.funnel;
        let last = f.stages.len() - 1;
        let mut v: Vec<usize> = (0..=f.pipeline).collect();
        if f.pipeline < last {
            v.push(last);
        }
        v
    }

    /// The stages reported per segment: from the handoff on (empty without
    /// segments).
    pub fn segment_funnel_stages(&self) -> Vec<usize> {
        if self.segments.is_empty() {
            return Vec::new();
        }
        self.funnel_stages()
            .into_iter()
            .filter(|i| *i >= self.funnel.handoff)
            .collect()
    }

    /// Where each per-trial detail value lives ([`Layout`]).
    pub fn layout(&self) -> Layout {
        Layout {
            horizon: self.horizon,
            stages: self.funnel_stages(),
            segments: self.segments.len(),
            segment_stages: self.segment_funnel_stages(),
            quarters: self.quarters(),
            quarter_metrics: if self.quota.is_some() {
                QuarterMetric::ALL.len()
            } else {
                QuarterMetric::WITHOUT_QUOTA
            },
        }
    }

    /// The target set for a metric, if any.
    pub fn target(&self, metric: Metric) -> Option<f64> {
        self.targets
            .iter()
            .find(|(m, _)| *m == metric)
            .map(|(_, t)| *t)
    }
}

/// Problems collected while validating (so every one is reported).
#[derive(Default)]
struct Errs(Vec<FieldError>);

impl Errs {
    /// Record a problem, unless one is recorded at its path already (a
    /// field that failed is then also "missing" where it is inherited, and a
    /// shared channel's field fails in every strategy that uses it).
    fn push(&mut self, e: FieldError) {
        if !self.0.iter().any(|x| x.path == e.path) {
            self.0.push(e);
        }
    }

    /// The value, or `None` with its error recorded.
    fn take<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(e);
                None
            }
        }
    }

    /// As [`Errs::take`], for a part that reports several problems.
    fn take_all<T>(&mut self, r: Result<T, Vec<FieldError>>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(errors) => {
                for e in errors {
                    self.push(e);
                }
                None
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Longest strategy or channel name.
pub const MAX_NAME_CHARS: usize = 64;

/// A strategy or channel name is an identifier: it keys CSV rows, paths
/// (`strategy.NAME.…`) and streams, so it is letters (any script), digits,
/// `_` and `-`, starting with a letter, digit or `_`, at most
/// [`MAX_NAME_CHARS`] characters — nothing a spreadsheet runs as a formula
/// or a terminal as a command. Labels (`label`, the scenario's `name`) are
/// free text.
pub fn identifier(path: &str, name: &str) -> Result<(), FieldError> {
    let ok_first = name
        .chars()
        .next()
        .is_some_and(|c| c.is_alphanumeric() || c == '_');
    let ok_rest = name
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    if ok_first && ok_rest && name.chars().count() <= MAX_NAME_CHARS {
        return Ok(());
    }
    Err(FieldError::new(
        path,
        Some(format!("{name:?}")),
        format!(
            "a name must be 1 to {MAX_NAME_CHARS} letters, digits, '_' or '-', starting with a letter, digit or '_' (e.g. \"paid_search\"); put free text in label"
        ),
    ))
}

/// A TOML key as written in a path: bare when it can be, else quoted.
fn key_text(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

fn level(v: Option<f64>, default: f64, path: &str) -> Result<f64, FieldError> {
    let x = v.unwrap_or(default);
    if !(x > 0.0 && x < 1.0) {
        return Err(FieldError::new(
            path,
            Some(format!("{x}")),
            "expected a level strictly between 0 and 1, e.g. 0.95",
        ));
    }
    Ok(x)
}

/// Validate one parameter against its domain.
pub fn param(raw: &RawParam, path: &str, domain: Domain) -> Result<Param, FieldError> {
    let dist = match raw {
        RawParam::Number(x) => dist::fixed(*x, domain),
        RawParam::Text(s) => dist::parse(s, domain),
    }
    .map_err(|e| FieldError::new(path, Some(raw.as_written()), e.0))?;
    let written = match raw {
        RawParam::Number(x) => dist::number_text(*x),
        RawParam::Text(s) => s.clone(),
    };
    Ok(Param::new(path, written, domain, dist))
}

fn opt_param(
    raw: Option<&RawParam>,
    path: &str,
    domain: Domain,
    default: f64,
) -> Result<Param, FieldError> {
    match raw {
        Some(r) => param(r, path, domain),
        None => Ok(Param::fixed(path, default, domain)),
    }
}

/// A sales team. A strategy's override may give only some fields; the others
/// come from the scenario's `[sales]` (`inherit`), so "two more reps" is one
/// line.
fn sales(raw: &RawSales, prefix: &str, inherit: Option<&Sales>) -> Result<Sales, FieldError> {
    let field = |own: &Option<RawParam>,
                 name: &str,
                 inherited: Option<&Param>|
     -> Result<Param, FieldError> {
        let path = format!("{prefix}.{name}");
        match (own, inherited) {
            (Some(p), _) => param(p, &path, Domain::Amount),
            (None, Some(p)) => Ok(p.clone()),
            (None, None) => Err(FieldError::new(
                path,
                None,
                "missing; a sales team needs reps and mql_capacity_per_rep (capacity = reps x mql_capacity_per_rep a month)",
            )),
        }
    };
    Ok(Sales {
        reps: field(&raw.reps, "reps", inherit.map(|s| &s.reps))?,
        mql_capacity_per_rep: field(
            &raw.mql_capacity_per_rep,
            "mql_capacity_per_rep",
            inherit.map(|s| &s.mql_capacity_per_rep),
        )?,
        cost_per_rep_month: match (&raw.cost_per_rep_month, inherit) {
            (Some(p), _) => param(p, &format!("{prefix}.cost_per_rep_month"), Domain::Amount)?,
            (None, Some(s)) => s.cost_per_rep_month.clone(),
            (None, None) => {
                Param::fixed(format!("{prefix}.cost_per_rep_month"), 0.0, Domain::Amount)
            }
        },
    })
}

/// The `[[segment]]` entries: distinct identifiers, their per-deal fields,
/// their odds ratio (fixed 1 by default) and their own teams, whose
/// missing fields come from `[sales]`.
fn segments(
    raw: &[RawSegment],
    scenario_sales: Option<&Sales>,
) -> Result<Vec<Segment>, Vec<FieldError>> {
    let mut errs = Errs::default();
    let mut out = Vec::with_capacity(raw.len());
    for (i, g) in raw.iter().enumerate() {
        let prefix = format!("segment[{i}]");
        errs.take(identifier(&format!("{prefix}.name"), &g.name));
        if raw[..i].iter().any(|o| o.name == g.name) {
            errs.push(FieldError::new(
                format!("{prefix}.name"),
                Some(format!("{:?}", g.name)),
                "segment names must be distinct",
            ));
        }
        let mut opt = |raw: Option<&RawParam>, field: &str, domain: Domain| {
            raw.and_then(|p| errs.take(param(p, &format!("{prefix}.{field}"), domain)))
        };
        let deal_size = opt(g.deal_size.as_ref(), "deal_size", Domain::Amount);
        let cycle_days = opt(g.cycle_days.as_ref(), "cycle_days", Domain::Amount);
        let lost_cycle_days = opt(
            g.lost_cycle_days.as_ref(),
            "lost_cycle_days",
            Domain::Amount,
        );
        let odds = opt(
            g.win_odds_ratio.as_ref(),
            "win_odds_ratio",
            Domain::Positive,
        )
        .unwrap_or_else(|| Param::fixed(format!("{prefix}.win_odds_ratio"), 1.0, Domain::Positive));
        let sales = g
            .sales
            .as_ref()
            .and_then(|s| errs.take(sales(s, &format!("{prefix}.sales"), scenario_sales)));
        out.push(Segment {
            name: g.name.clone(),
            deal_size,
            cycle_days,
            lost_cycle_days,
            win_odds_ratio: odds,
            sales,
        });
    }
    if errs.is_empty() {
        Ok(out)
    } else {
        Err(errs.0)
    }
}

/// `[quota]`: positive finite quotas, one per quarter when a list
/// (`ceil(H/3)` of them), a single number prorated for a partial last
/// quarter; a positive coverage target (default 3).
fn quota(raw: &RawQuota, horizon: usize) -> Result<Quota, FieldError> {
    let quarters = horizon.div_ceil(3);
    let positive = |x: f64, path: String| {
        if x > 0.0 && x.is_finite() {
            Ok(x)
        } else {
            Err(FieldError::new(
                path,
                Some(dist::number_text(x)),
                "expected a positive bookings quota",
            ))
        }
    };
    let per_quarter = match &raw.bookings_per_quarter {
        RawQuotaValue::One(x) => {
            let x = positive(*x, "quota.bookings_per_quarter".into())?;
            (0..quarters)
                .map(|q| {
                    let months = (horizon - 3 * q).min(3);
                    x * months as f64 / 3.0
                })
                .collect()
        }
        RawQuotaValue::PerQuarter(v) => {
            if v.len() != quarters {
                return Err(FieldError::new(
                    "quota.bookings_per_quarter",
                    Some(format!("{} values", v.len())),
                    format!(
                        "expected one quota per quarter of the horizon: {quarters} values for {horizon} months (or a single number for every quarter)"
                    ),
                ));
            }
            v.iter()
                .enumerate()
                .map(|(q, x)| positive(*x, format!("quota.bookings_per_quarter[{q}]")))
                .collect::<Result<Vec<f64>, FieldError>>()?
        }
    };
    let coverage_target = raw.coverage_target.unwrap_or(DEFAULT_COVERAGE_TARGET);
    if !(coverage_target > 0.0 && coverage_target.is_finite()) {
        return Err(FieldError::new(
            "quota.coverage_target",
            Some(dist::number_text(coverage_target)),
            "expected a positive multiple of the quota, e.g. 3 for 3x pipeline coverage",
        ));
    }
    Ok(Quota {
        per_quarter,
        coverage_target,
    })
}

/// Longest warm-up, in months.
pub const MAX_WARMUP_MONTHS: i64 = 120;

/// `[warmup]`: a strategy of the scenario and 0 to [`MAX_WARMUP_MONTHS`]
/// months (0: no warm-up).
fn warmup(raw: &RawWarmup, strategies: &[Strategy]) -> Result<Option<Warmup>, FieldError> {
    if !(0..=MAX_WARMUP_MONTHS).contains(&raw.months) {
        return Err(FieldError::new(
            "warmup.months",
            Some(raw.months.to_string()),
            format!("expected a whole number of months from 0 to {MAX_WARMUP_MONTHS}"),
        ));
    }
    let Some(strategy) = strategies.iter().position(|s| s.name == raw.strategy) else {
        return Err(unknown_strategy(
            "warmup.strategy",
            &raw.strategy,
            strategies,
        ));
    };
    Ok((raw.months > 0).then_some(Warmup {
        months: raw.months as usize,
        strategy,
    }))
}

/// `name` at `path` names no strategy: the error lists those that exist.
fn unknown_strategy(path: &str, name: &str, strategies: &[Strategy]) -> FieldError {
    FieldError::new(
        path,
        Some(format!("{name:?}")),
        format!(
            "no strategy has that name; expected one of {}",
            strategies
                .iter()
                .map(|s| format!("{:?}", s.name))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
}

/// What a strategy's validation needs from the rest of the scenario.
struct Context<'a> {
    funnel: &'a Funnel,
    sales: Option<&'a Sales>,
    shared: Option<&'a IndexMap<String, RawChannel>>,
    segments: &'a [String],
}

/// A segment mix at `path`: exactly the scenario's segments, shares in
/// [0, 1] summing to 1 (within 1e-9); the shares in segment order.
fn segment_mix(
    mix: &IndexMap<String, f64>,
    path: &str,
    segments: &[String],
) -> Result<Vec<f64>, FieldError> {
    if segments.is_empty() {
        return Err(FieldError::new(
            path,
            None,
            "a segment mix needs [[segment]] entries; add them or remove segment_mix",
        ));
    }
    for (k, x) in mix {
        if !segments.contains(k) {
            return Err(FieldError::new(
                format!("{path}.{}", key_text(k)),
                Some(dist::number_text(*x)),
                format!("not a segment; expected one of {}", segments.join(", ")),
            ));
        }
        if !(0.0..=1.0).contains(x) {
            return Err(FieldError::new(
                format!("{path}.{}", key_text(k)),
                Some(dist::number_text(*x)),
                "expected a share from 0 to 1",
            ));
        }
    }
    let mut shares = Vec::with_capacity(segments.len());
    for g in segments {
        match mix.get(g) {
            Some(x) => shares.push(*x),
            None => {
                return Err(FieldError::new(
                    format!("{path}.{g}"),
                    None,
                    format!(
                        "missing; a segment mix gives one share per segment ({}), 0 allowed",
                        segments.join(", ")
                    ),
                ));
            }
        }
    }
    let sum: f64 = shares.iter().sum();
    if (sum - 1.0).abs() > 1e-9 {
        return Err(FieldError::new(
            path,
            // rounded to 12 digits: 0.98, not 0.9799999999999999
            Some(dist::number_text((sum * 1e12).round() / 1e12)),
            "the shares must sum to 1 (this is their sum)",
        ));
    }
    Ok(shares)
}

fn funnel(raw: &RawFunnel) -> Result<Funnel, FieldError> {
    let stages = &raw.stages;
    if stages.len() < 2 {
        return Err(FieldError::new(
            "funnel.stages",
            Some(format!("{stages:?}")),
            "expected at least two stages, e.g. [\"lead\", \"mql\", \"sql\", \"won\"]",
        ));
    }
    for (i, s) in stages.iter().enumerate() {
        if s.trim().is_empty() || stages[..i].contains(s) {
            return Err(FieldError::new(
                format!("funnel.stages[{i}]"),
                Some(format!("{s:?}")),
                "stage names must be non-empty and distinct",
            ));
        }
    }
    let find = |name: &str, path: &str| {
        stages.iter().position(|s| s == name).ok_or_else(|| {
            FieldError::new(
                path,
                Some(format!("{name:?}")),
                format!("not a stage of funnel.stages; expected one of {stages:?}"),
            )
        })
    };
    let handoff = find(&raw.handoff, "funnel.handoff")?;
    let pipeline = find(&raw.pipeline, "funnel.pipeline")?;
    if handoff >= pipeline {
        return Err(FieldError::new(
            "funnel.handoff",
            Some(format!("{:?}", raw.handoff)),
            format!(
                "the handoff stage must come strictly before the pipeline stage ({:?}); stages are {stages:?}",
                raw.pipeline
            ),
        ));
    }
    Ok(Funnel {
        stages: stages.clone(),
        handoff,
        pipeline,
    })
}

fn strategy(name: &str, raw: &RawStrategy, ctx: &Context<'_>) -> Result<Strategy, Vec<FieldError>> {
    let (funnel, scenario_sales, shared) = (ctx.funnel, ctx.sales, ctx.shared);
    let mut errs = Errs::default();
    let prefix = format!("strategy.{name}");
    let lost_cycle_days = raw.lost_cycle_days.as_ref().and_then(|p| {
        errs.take(param(
            p,
            &format!("{prefix}.lost_cycle_days"),
            Domain::Amount,
        ))
    });
    let nurture = raw.nurture.as_ref().and_then(|n| {
        let recycle = errs.take(param(
            &n.recycle,
            &format!("{prefix}.nurture.recycle"),
            Domain::Probability,
        ));
        let delay_days = errs.take(param(
            &n.delay_days,
            &format!("{prefix}.nurture.delay_days"),
            Domain::Amount,
        ));
        Some(Nurture {
            recycle: recycle?,
            delay_days: delay_days?,
        })
    });
    let mix_default = match &raw.segment_mix {
        Some(m) => errs
            .take(segment_mix(
                m,
                &format!("{prefix}.segment_mix"),
                ctx.segments,
            ))
            .map(|v| (v, format!("{prefix}.segment_mix"))),
        None => None,
    };
    let deal_size = raw
        .deal_size
        .as_ref()
        .and_then(|p| errs.take(param(p, &format!("{prefix}.deal_size"), Domain::Amount)));
    let cycle_days = raw
        .cycle_days
        .as_ref()
        .and_then(|p| errs.take(param(p, &format!("{prefix}.cycle_days"), Domain::Amount)));
    let fixed_cost_per_month = errs.take(opt_param(
        raw.fixed_cost_per_month.as_ref(),
        &format!("{prefix}.fixed_cost_per_month"),
        Domain::Amount,
        0.0,
    ));
    let sales = raw
        .sales
        .as_ref()
        .and_then(|s| errs.take(sales(s, &format!("{prefix}.sales"), scenario_sales)));
    let raw_channels = raw.channel.as_deref().unwrap_or_default();
    if raw_channels.is_empty() {
        errs.push(FieldError::new(
            format!("{prefix}.channel"),
            None,
            "the strategy has no channel; add at least one [[strategy.NAME.channel]] with leads_per_month or spend_per_month (or use = \"NAME\" of a shared [channel.NAME])",
        ));
        return Err(errs.0);
    }
    let mut channels: Vec<Channel> = Vec::with_capacity(raw_channels.len());
    for (i, rc) in raw_channels.iter().enumerate() {
        let path = format!("{prefix}.channel[{i}]");
        let base = match &rc.use_ {
            None => None,
            Some(u) => {
                let found = shared.and_then(|m| m.get_key_value(u.as_str()));
                let Some((key, ch)) = found else {
                    let names: Vec<String> = shared
                        .map(|m| m.keys().map(|k| format!("{k:?}")).collect())
                        .unwrap_or_default();
                    errs.push(FieldError::new(
                        format!("{path}.use"),
                        Some(format!("{u:?}")),
                        if names.is_empty() {
                            "no shared channel has that name; define it at the top level as [channel.NAME]".to_string()
                        } else {
                            format!(
                                "no shared channel has that name; expected one of {}",
                                names.join(", ")
                            )
                        },
                    ));
                    continue;
                };
                Some((key.as_str(), ch))
            }
        };
        let stream = match base {
            None => path.clone(),
            Some((key, _)) => {
                let uses = channels
                    .iter()
                    .filter(|c| c.shared.as_deref() == Some(key))
                    .count();
                if uses == 0 {
                    format!("channel.{key}")
                } else {
                    format!("channel.{key}#{uses}")
                }
            }
        };
        let defaults = Defaults {
            deal_size: deal_size.as_ref(),
            cycle_days: cycle_days.as_ref(),
            lost_cycle_days: lost_cycle_days.as_ref(),
            segment_mix: mix_default.as_ref().map(|(v, _)| v.as_slice()),
            mix_written: raw.segment_mix.is_some(),
            segments: ctx.segments,
        };
        let built = channel(&path, rc, base, stream, funnel, &defaults, &prefix);
        if let Some(ch) = errs.take_all(built) {
            channels.push(ch);
        }
    }
    let Some(fixed_cost_per_month) = fixed_cost_per_month.filter(|_| errs.is_empty()) else {
        return Err(errs.0);
    };
    let composition: Vec<&str> = channels.iter().map(|c| c.stream.as_str()).collect();
    let composition = composition.join(",");
    Ok(Strategy {
        name: name.to_string(),
        label: raw.label.clone().unwrap_or_else(|| name.to_string()),
        fixed_cost_per_month,
        sales,
        capacity_key: streams::key("capacity", &composition),
        route_key: streams::key("route", &composition),
        nurture_key: streams::key("nurture", &composition),
        nurture,
        channels,
    })
}

/// A strategy's channel at `prefix` (`strategy.S.channel[i]`): its own
/// fields, and for the fields it leaves out those of the shared channel it
/// uses (`base`: its name and fields), then (deal size, cycle) its
/// strategy's (`defaults`). A field taken from the shared channel keeps the
/// shared path (`channel.NAME.field`), so it draws from the shared stream.
/// `stream` names its counts and deals streams ([`Channel::stream`]).
/// What a strategy's channel inherits from its strategy.
struct Defaults<'a> {
    deal_size: Option<&'a Param>,
    cycle_days: Option<&'a Param>,
    lost_cycle_days: Option<&'a Param>,
    segment_mix: Option<&'a [f64]>,
    /// The strategy gives a segment mix (valid or not).
    mix_written: bool,
    segments: &'a [String],
}

fn channel(
    prefix: &str,
    raw: &RawChannel,
    base: Option<(&str, &RawChannel)>,
    stream: String,
    funnel: &Funnel,
    defaults: &Defaults<'_>,
    strategy_prefix: &str,
) -> Result<Channel, Vec<FieldError>> {
    let (deal_size, cycle_days) = (defaults.deal_size, defaults.cycle_days);
    let mut errs = Errs::default();
    let shared_prefix = base.map(|(name, _)| format!("channel.{name}"));
    let shared = base.map(|(_, ch)| ch);
    // a field: the channel's own, else the shared channel's (with its path)
    let pick = |own: Option<&'_ RawParam>,
                from_shared: Option<&'_ RawParam>,
                field: &str|
     -> Option<(RawParam, String)> {
        match (own, from_shared, &shared_prefix) {
            (Some(p), _, _) => Some((p.clone(), format!("{prefix}.{field}"))),
            (None, Some(p), Some(sp)) => Some((p.clone(), format!("{sp}.{field}"))),
            _ => None,
        }
    };
    let where_missing = match &shared_prefix {
        None => String::new(),
        Some(sp) => format!(" (neither here nor in {sp})"),
    };

    // leads_per_month / spend_per_month count as one volume field
    let volume_of = |ch: &RawChannel, at: &str| -> Result<Option<(bool, RawParam)>, FieldError> {
        match (&ch.leads_per_month, &ch.spend_per_month) {
            (Some(l), None) => Ok(Some((true, l.clone()))),
            (None, Some(s)) => Ok(Some((false, s.clone()))),
            (Some(_), Some(_)) => Err(FieldError::new(
                at,
                None,
                "give either leads_per_month or spend_per_month, not both",
            )),
            (None, None) => Ok(None),
        }
    };
    let own_volume = volume_of(raw, prefix).map_err(|e| vec![e])?;
    let shared_volume = match (shared, &shared_prefix) {
        (Some(ch), Some(sp)) => volume_of(ch, sp)
            .map_err(|e| vec![e])?
            .map(|v| (v, sp.clone())),
        _ => None,
    };
    let (leads_based, volume_raw, volume_prefix) = match (own_volume, shared_volume) {
        (Some((l, p)), _) => (l, p, prefix.to_string()),
        (None, Some(((l, p), sp))) => (l, p, sp),
        (None, None) => {
            return Err(vec![FieldError::new(
                prefix,
                None,
                format!(
                    "the channel has no volume{where_missing}; give leads_per_month (cost = leads x cost_per_lead) or spend_per_month (leads = spend / cost_per_lead)"
                ),
            )]);
        }
    };
    let volume = if leads_based {
        errs.take(param(
            &volume_raw,
            &format!("{volume_prefix}.leads_per_month"),
            Domain::Amount,
        ))
        .map(Volume::Leads)
    } else {
        errs.take(param(
            &volume_raw,
            &format!("{volume_prefix}.spend_per_month"),
            Domain::Amount,
        ))
        .map(Volume::Spend)
    };
    // A cost per lead that divides a spend must be positive.
    let cpl_domain = if leads_based {
        Domain::Amount
    } else {
        Domain::Positive
    };
    let cost_per_lead = match pick(
        raw.cost_per_lead.as_ref(),
        shared.and_then(|c| c.cost_per_lead.as_ref()),
        "cost_per_lead",
    ) {
        Some((p, path)) => errs.take(param(&p, &path, cpl_domain)),
        None => {
            errs.push(FieldError::new(
                format!("{prefix}.cost_per_lead"),
                None,
                format!(
                    "missing{where_missing}; every channel needs a cost_per_lead (0 is allowed with leads_per_month)"
                ),
            ));
            None
        }
    };
    let volume_dispersion = pick(
        raw.volume_dispersion.as_ref(),
        shared.and_then(|c| c.volume_dispersion.as_ref()),
        "volume_dispersion",
    )
    .map(|(p, path)| errs.take(param(&p, &path, Domain::Positive)));

    let stages = &funnel.stages[1..];
    let check_stages = |map: Option<&IndexMap<String, RawParam>>, at: &str| {
        for key in map.into_iter().flat_map(|m| m.keys()) {
            if !stages.contains(key) {
                return Err(FieldError::new(
                    format!("{at}.conversion.{key}"),
                    None,
                    format!(
                        "not a stage after the first; expected one conversion per stage: {}",
                        stages.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    };
    errs.take(check_stages(raw.conversion.as_ref(), prefix));
    if let (Some(ch), Some(sp)) = (shared, &shared_prefix) {
        errs.take(check_stages(ch.conversion.as_ref(), sp));
    }
    // conversion merges stage by stage
    let mut conversion = Vec::with_capacity(stages.len());
    for stage in stages {
        let field = format!("conversion.{stage}");
        let Some((p, path)) = pick(
            raw.conversion.as_ref().and_then(|m| m.get(stage)),
            shared
                .and_then(|c| c.conversion.as_ref())
                .and_then(|m| m.get(stage)),
            &field,
        ) else {
            errs.push(FieldError::new(
                format!("{prefix}.{field}"),
                None,
                format!(
                    "missing{where_missing}; the channel needs one conversion probability per stage after the first: {}",
                    stages.join(", ")
                ),
            ));
            continue;
        };
        if let Some(c) = errs.take(param(&p, &path, Domain::Probability)) {
            conversion.push(c);
        }
    }

    // per-deal fields: the channel's own, the shared channel's, the strategy's
    let resolve = |own: Option<&RawParam>,
                   from_shared: Option<&RawParam>,
                   inherited: Option<&Param>,
                   field: &str|
     -> Result<Param, FieldError> {
        match pick(own, from_shared, field) {
            Some((p, path)) => param(&p, &path, Domain::Amount),
            None => inherited.cloned().ok_or_else(|| {
                FieldError::new(
                    format!("{strategy_prefix}.{field}"),
                    None,
                    format!(
                        "missing; set {field} on the strategy or on every one of its channels (or their shared channels)"
                    ),
                )
            }),
        }
    };
    let name = raw
        .name
        .clone()
        .or_else(|| shared.and_then(|c| c.name.clone()))
        .or_else(|| base.map(|(n, _)| n.to_string()))
        .unwrap_or_else(|| prefix.rsplit('.').next().unwrap_or(prefix).to_string());
    let deal_size = errs.take(resolve(
        raw.deal_size.as_ref(),
        shared.and_then(|c| c.deal_size.as_ref()),
        deal_size,
        "deal_size",
    ));
    let cycle_days = errs.take(resolve(
        raw.cycle_days.as_ref(),
        shared.and_then(|c| c.cycle_days.as_ref()),
        cycle_days,
        "cycle_days",
    ));
    let lost_cycle_days = match pick(
        raw.lost_cycle_days.as_ref(),
        shared.and_then(|c| c.lost_cycle_days.as_ref()),
        "lost_cycle_days",
    ) {
        Some((p, path)) => errs.take(param(&p, &path, Domain::Amount)),
        None => defaults.lost_cycle_days.cloned(),
    };
    // the segment mix: the channel's own, the shared channel's, the strategy's
    let own_mix = match (
        &raw.segment_mix,
        shared.and_then(|c| c.segment_mix.as_ref()),
    ) {
        (Some(m), _) => Some((m, format!("{prefix}.segment_mix"))),
        (None, Some(m)) => Some((
            m,
            format!("{}.segment_mix", shared_prefix.as_deref().unwrap_or(prefix)),
        )),
        (None, None) => None,
    };
    let segment_mix = match own_mix {
        Some((m, path)) => errs
            .take(segment_mix(m, &path, defaults.segments))
            .unwrap_or_default(),
        None => match defaults.segment_mix {
            Some(v) => v.to_vec(),
            // none, or the strategy's, which failed and is reported already
            None if defaults.segments.is_empty() || defaults.mix_written => Vec::new(),
            None => {
                errs.push(FieldError::new(
                    format!("{prefix}.segment_mix"),
                    None,
                    format!(
                        "missing; with [[segment]] entries every channel needs a segment_mix (its own or its strategy's) with one share per segment: {}",
                        defaults.segments.join(", ")
                    ),
                ));
                Vec::new()
            }
        },
    };
    // diminishing returns: only on a spend channel, with a reference spend
    let e_raw = pick(
        raw.cpl_elasticity.as_ref(),
        shared.and_then(|c| c.cpl_elasticity.as_ref()),
        "cpl_elasticity",
    );
    let s0_raw = pick(
        raw.reference_spend.as_ref(),
        shared.and_then(|c| c.reference_spend.as_ref()),
        "reference_spend",
    );
    let elasticity = match (e_raw, s0_raw) {
        (None, None) => None,
        (Some((_, path)), _) if leads_based => {
            errs.push(FieldError::new(
                path,
                None,
                "cpl_elasticity needs a spend channel (spend_per_month): with leads_per_month the lead volume is given, not bought",
            ));
            None
        }
        (Some((_, path)), None) => {
            errs.push(FieldError::new(
                path.replace("cpl_elasticity", "reference_spend"),
                None,
                "missing; cpl_elasticity needs reference_spend, the monthly spend at which the cost per lead is cost_per_lead",
            ));
            None
        }
        (None, Some((_, path))) => {
            errs.push(FieldError::new(
                path,
                None,
                "reference_spend without cpl_elasticity has no effect; add cpl_elasticity or remove it",
            ));
            None
        }
        (Some((e, ep)), Some((s0, sp))) => {
            let e = errs.take(param(&e, &ep, Domain::Probability));
            let s0 = errs.take(param(&s0, &sp, Domain::Positive));
            match (e, s0) {
                (Some(elasticity), Some(reference_spend)) => Some(Elasticity {
                    elasticity,
                    reference_spend,
                }),
                _ => None,
            }
        }
    };
    let (Some(volume), Some(cost_per_lead), Some(deal_size), Some(cycle_days), true) = (
        volume,
        cost_per_lead,
        deal_size,
        cycle_days,
        errs.is_empty(),
    ) else {
        return Err(errs.0);
    };
    let segment_deals_keys = defaults
        .segments
        .iter()
        .map(|g| streams::key("deals", &format!("{stream}/segment.{g}")))
        .collect();
    Ok(Channel {
        lost_cycle_days,
        segment_mix,
        elasticity,
        segment_deals_keys,
        name,
        shared: base.map(|(n, _)| n.to_string()),
        counts_key: streams::key("counts", &stream),
        deals_key: streams::key("deals", &stream),
        stream,
        volume,
        cost_per_lead,
        volume_dispersion: volume_dispersion.flatten(),
        conversion,
        deal_size,
        cycle_days,
    })
}

impl Scenario {
    /// Every parameter with the path a `--set` or a correlation names it
    /// by (`strategy.S.channel[i].field` for a strategy's channel, even
    /// when the field is inherited — the parameter's own `path` then says
    /// where it comes from).
    pub fn params_by_access(&self) -> Vec<(String, &Param)> {
        let mut v: Vec<(String, &Param)> = vec![
            ("market.demand".into(), &self.market.demand),
            ("revenue.churn_monthly".into(), &self.revenue.churn_monthly),
            (
                "revenue.expansion_monthly".into(),
                &self.revenue.expansion_monthly,
            ),
        ];
        v.push(("revenue.starting_arr".into(), &self.revenue.starting_arr));
        if let Some(s) = &self.sales {
            v.push(("sales.reps".into(), &s.reps));
            v.push(("sales.mql_capacity_per_rep".into(), &s.mql_capacity_per_rep));
            v.push(("sales.cost_per_rep_month".into(), &s.cost_per_rep_month));
        }
        for (i, g) in self.segments.iter().enumerate() {
            let gp = format!("segment[{i}]");
            for (field, p) in [
                ("deal_size", g.deal_size.as_ref()),
                ("cycle_days", g.cycle_days.as_ref()),
                ("lost_cycle_days", g.lost_cycle_days.as_ref()),
                ("win_odds_ratio", Some(&g.win_odds_ratio)),
            ] {
                if let Some(p) = p {
                    v.push((format!("{gp}.{field}"), p));
                }
            }
            if let Some(s) = &g.sales {
                v.push((format!("{gp}.sales.reps"), &s.reps));
                v.push((
                    format!("{gp}.sales.mql_capacity_per_rep"),
                    &s.mql_capacity_per_rep,
                ));
                v.push((
                    format!("{gp}.sales.cost_per_rep_month"),
                    &s.cost_per_rep_month,
                ));
            }
        }
        for st in &self.strategies {
            let sp = format!("strategy.{}", st.name);
            v.push((
                format!("{sp}.fixed_cost_per_month"),
                &st.fixed_cost_per_month,
            ));
            if let Some(s) = &st.sales {
                v.push((format!("{sp}.sales.reps"), &s.reps));
                v.push((
                    format!("{sp}.sales.mql_capacity_per_rep"),
                    &s.mql_capacity_per_rep,
                ));
                v.push((
                    format!("{sp}.sales.cost_per_rep_month"),
                    &s.cost_per_rep_month,
                ));
            }
            if let Some(n) = &st.nurture {
                v.push((format!("{sp}.nurture.recycle"), &n.recycle));
                v.push((format!("{sp}.nurture.delay_days"), &n.delay_days));
            }
            for (i, ch) in st.channels.iter().enumerate() {
                v.extend(
                    ch.fields(&self.funnel.stages)
                        .map(|(field, p)| (format!("{sp}.channel[{i}].{field}"), p)),
                );
            }
        }
        v
    }

    /// Where the parameter a `--set`/`--scale`/correlation path names comes
    /// from, when that path inherits it (a strategy's channel field from a
    /// shared channel or from its strategy, a strategy's sales field from
    /// `[sales]`): the owner's path.
    pub fn inherited_from(&self, path: &str) -> Option<&str> {
        self.params_by_access()
            .into_iter()
            .find(|(access, _)| access == path)
            .map(|(_, p)| p.path.as_str())
            .filter(|owner| *owner != path)
    }
}

/// Resolve the `[[correlation]]` entries, build the copula and mark the
/// correlated parameters (MODEL.md, "Rank correlation between per-trial
/// parameters").
fn correlate(scn: &mut Scenario, raw: &[RawCorrelation]) -> Result<(), FieldError> {
    if raw.is_empty() {
        return Ok(());
    }
    let mut correlated: Vec<String> = Vec::new();
    let mut pairs = Vec::with_capacity(raw.len());
    let mut correlations = Vec::with_capacity(raw.len());
    {
        let params = scn.params_by_access();
        for (i, c) in raw.iter().enumerate() {
            let at = format!("correlation[{i}]");
            let [a, b] = c.between.as_slice() else {
                return Err(FieldError::new(
                    format!("{at}.between"),
                    Some(format!("{} paths", c.between.len())),
                    "expected exactly two parameter paths, e.g. between = [\"market.demand\", \"strategy.volume.channel[0].conversion.mql\"]",
                ));
            };
            if !(c.rank.is_finite() && c.rank.abs() < 1.0) {
                return Err(FieldError::new(
                    format!("{at}.rank"),
                    Some(format!("{}", c.rank)),
                    "expected a Spearman rank correlation strictly between -1 and 1",
                ));
            }
            let mut idx = [0usize; 2];
            for (j, path) in [a, b].into_iter().enumerate() {
                let p = resolve_correlated(&params, path, &format!("{at}.between[{j}]"))?;
                idx[j] = match correlated.iter().position(|q| q == &p.path) {
                    Some(k) => k,
                    None => {
                        correlated.push(p.path.clone());
                        correlated.len() - 1
                    }
                };
            }
            pairs.push(copula::Pair {
                a: idx[0],
                b: idx[1],
                rank: c.rank,
            });
            correlations.push(Correlation {
                between: [a.clone(), b.clone()],
                rank: c.rank,
            });
        }
    }
    let cop = Copula::new(correlated.len(), &pairs).map_err(|e| copula_error(e, &correlations))?;
    for p in overrides::params_mut(scn) {
        p.copula = correlated.iter().position(|q| q == &p.path);
    }
    scn.correlations = correlations;
    scn.correlated = correlated;
    scn.copula = Some(cop);
    Ok(())
}

/// The parameter a correlation names by `path` (at `at` in the file).
fn resolve_correlated<'a>(
    params: &[(String, &'a Param)],
    path: &str,
    at: &str,
) -> Result<&'a Param, FieldError> {
    let value = Some(format!("{path:?}"));
    let found = params
        .iter()
        .find(|(access, _)| access == path)
        .map(|(_, p)| *p)
        .or_else(|| params.iter().find(|(_, p)| p.path == path).map(|(_, p)| *p));
    let Some(p) = found else {
        let mut valid: Vec<String> = Vec::new();
        for (access, p) in params {
            if !is_per_deal(access) && !p.dist.is_fixed() {
                for q in [access, &p.path] {
                    if !valid.contains(q) {
                        valid.push(q.clone());
                    }
                }
            }
        }
        let near = overrides::nearest(path, &valid, 5);
        return Err(FieldError::new(
            at,
            value,
            format!(
                "no such parameter; the parameters that can be correlated (per-trial distributions) nearest to it: {}",
                near.join(", ")
            ),
        ));
    };
    if is_per_deal(path) {
        return Err(FieldError::new(
            at,
            value,
            "deal_size and cycle_days are drawn per deal, not per trial, and cannot be correlated; only per-trial parameters can",
        ));
    }
    if p.path != path {
        return Err(FieldError::new(
            at,
            value,
            format!(
                "this parameter is inherited from {0}; name it by that path: between = [..., \"{0}\"] (the same unknown in every strategy that uses it)",
                p.path
            ),
        ));
    }
    if p.dist.is_fixed() {
        return Err(FieldError::new(
            at,
            value,
            format!(
                "this parameter is a fixed number ({}); only parameters given as distributions can be correlated",
                p.written
            ),
        ));
    }
    Ok(p)
}

fn is_per_deal(path: &str) -> bool {
    path.ends_with(".deal_size")
        || path.ends_with(".cycle_days")
        || path.ends_with(".lost_cycle_days")
        || path.ends_with(".delay_days")
}

fn copula_error(e: copula::CopulaError, cs: &[Correlation]) -> FieldError {
    let entry = |i: usize| {
        cs.get(i).map_or_else(String::new, |c| {
            format!(
                "correlation[{i}] ({}, {}) = {}",
                c.between[0], c.between[1], c.rank
            )
        })
    };
    match e {
        copula::CopulaError::NotPositiveDefinite { pairs } => FieldError::new(
            "correlation",
            None,
            format!(
                "these rank correlations cannot hold together (the correlation matrix is not positive definite): {}; weaken or remove one of them",
                pairs
                    .iter()
                    .map(|&i| entry(i))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ),
        copula::CopulaError::Duplicate { pair, first } => FieldError::new(
            format!("correlation[{pair}]"),
            None,
            format!("this pair is already listed as correlation[{first}]; list each pair once"),
        ),
        copula::CopulaError::SameVariable { pair } => FieldError::new(
            format!("correlation[{pair}].between"),
            None,
            "the two paths name the same parameter; a correlation needs two different parameters",
        ),
        other => FieldError::new("correlation", None, other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
horizon_months = 12
[sales]
reps = 6
mql_capacity_per_rep = "40 to 60"
[funnel]
stages = ["lead", "mql", "sql", "won"]
handoff = "mql"
pipeline = "sql"
[strategy.zeta]
deal_size = 10000
cycle_days = 60
[strategy.zeta.sales]
reps = 8
[[strategy.zeta.channel]]
leads_per_month = 100
cost_per_lead = 50
conversion = { mql = 0.5, sql = 0.2, won = 0.25 }
[strategy.alpha]
deal_size = 10000
cycle_days = 60
[[strategy.alpha.channel]]
leads_per_month = 100
cost_per_lead = 50
conversion = { mql = 0.5, sql = 0.2, won = 0.25 }
"#;

    /// Guards against strategies sorted by name: without `baseline`, the
    /// first strategy in the file is the baseline (MODEL.md).
    #[test]
    fn strategies_keep_file_order_and_first_is_baseline() {
        let scn = Scenario::from_toml_str(MINIMAL, Path::new("m.toml")).unwrap();
        let names: Vec<&str> = scn.strategies.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["zeta", "alpha"]);
        assert_eq!(scn.baseline, 0);
    }

    /// Guards against a partial sales override being rejected or ignoring
    /// the scenario's other field: "two more reps" is one line.
    #[test]
    fn partial_sales_override_inherits_the_rest() {
        let scn = Scenario::from_toml_str(MINIMAL, Path::new("m.toml")).unwrap();
        let own = scn.strategies[0].sales.as_ref().unwrap();
        assert_eq!(own.reps.dist.fixed_value(), Some(8.0));
        assert_eq!(own.mql_capacity_per_rep.written, "40 to 60");
        assert!(scn.strategies[1].sales.is_none());
        // without a scenario-level team the override must be complete
        let text = MINIMAL.replace(
            "[sales]\nreps = 6\nmql_capacity_per_rep = \"40 to 60\"\n",
            "",
        );
        let err = Scenario::from_toml_str(&text, Path::new("m.toml")).unwrap_err();
        assert_eq!(err.path(), Some("strategy.zeta.sales.mql_capacity_per_rep"));
    }
}
