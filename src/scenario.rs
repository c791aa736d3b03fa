//! Scenario files: the TOML format, its validation, and the validated
//! domain types the engine runs on.
//!
//! Loading is two-stage: serde deserialises the file into `Raw*` structs
//! (unknown fields rejected, paths tracked by `serde_path_to_error`), then
//! [`Scenario::from_raw`] checks every value against MODEL.md and builds
//! ready samplers ([`Param`]). Errors name the file, the field path, the value
//! and what would be valid.

use std::path::{Path, PathBuf};

pub mod overrides;
mod raw;

use crate::calendar::{self, MAX_HORIZON};
use crate::dist::{self, Dist, Domain};
use crate::error::{FieldError, ScenarioError};
use crate::metrics::Metric;

pub use raw::{
    RawChannel, RawFunnel, RawMarket, RawParam, RawRevenue, RawSales, RawScenario, RawStrategy,
    parse_raw, raw_from_table,
};

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
}

impl Param {
    fn fixed(path: impl Into<String>, x: f64, domain: Domain) -> Param {
        Param {
            path: path.into(),
            written: format!("{x}"),
            domain,
            dist: Dist::Fixed(x),
        }
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
}

/// Sales capacity: `K = floor(reps × mql_capacity_per_rep)` handoff members a month.
#[derive(Debug, Clone)]
pub struct Sales {
    pub reps: Param,
    pub mql_capacity_per_rep: Param,
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
}

#[derive(Debug, Clone)]
pub struct Strategy {
    pub name: String,
    pub label: String,
    pub fixed_cost_per_month: Param,
    /// Strategy-specific sales team, overriding the scenario's.
    pub sales: Option<Sales>,
    pub channels: Vec<Channel>,
}

/// A validated scenario, ready to simulate.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Where it was loaded from (for messages).
    pub file: PathBuf,
    pub name: String,
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
    /// Command-line overrides applied, as given (`--set sales.reps=8`).
    pub overrides: Vec<String>,
}

// ---------------------------------------------------------------- loading

impl Scenario {
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
        Scenario::from_raw(raw)
            .map_err(|e| e.in_file(file.to_path_buf()))
            .map(|mut s| {
                s.file = file.to_path_buf();
                s
            })
    }

    /// Validate a raw scenario.
    pub fn from_raw(raw: RawScenario) -> Result<Scenario, FieldError> {
        let horizon = raw.horizon_months;
        if !(1..=MAX_HORIZON as i64).contains(&horizon) {
            return Err(FieldError::new(
                "horizon_months",
                Some(horizon.to_string()),
                format!("expected a whole number of months from 1 to {MAX_HORIZON}"),
            ));
        }
        let horizon = horizon as usize;
        let start = match &raw.start {
            None => None,
            Some(s) => Some(calendar::parse_year_month(s).ok_or_else(|| {
                FieldError::new(
                    "start",
                    Some(format!("{s:?}")),
                    "expected a month as \"YYYY-MM\", e.g. \"2027-01\"",
                )
            })?),
        };
        let trials = raw.trials.unwrap_or(DEFAULT_TRIALS as i64);
        if trials < 2 {
            return Err(FieldError::new(
                "trials",
                Some(trials.to_string()),
                "expected at least 2 trials (intervals need two)",
            ));
        }
        let ci = level(raw.ci, DEFAULT_CI, "ci")?;
        let interval = level(raw.interval, DEFAULT_INTERVAL, "interval")?;
        let seasonality = match &raw.seasonality {
            None => [1.0; 12],
            Some(v) => {
                if v.len() != 12 {
                    return Err(FieldError::new(
                        "seasonality",
                        Some(format!("{} values", v.len())),
                        "expected exactly 12 monthly multipliers (January first when start is January)",
                    ));
                }
                let mut out = [0.0; 12];
                for (i, x) in v.iter().enumerate() {
                    if !(*x >= 0.0 && x.is_finite()) {
                        return Err(FieldError::new(
                            format!("seasonality[{i}]"),
                            Some(format!("{x}")),
                            "expected a non-negative multiplier",
                        ));
                    }
                    out[i] = *x;
                }
                out
            }
        };

        let funnel = funnel(&raw.funnel)?;

        let mut targets = Vec::new();
        for (k, v) in raw.targets.iter().flatten() {
            let path = format!("targets.{k}");
            let Some(metric) = Metric::from_name(k) else {
                return Err(FieldError::new(
                    path,
                    None,
                    format!(
                        "unknown metric '{k}'; expected one of {}",
                        Metric::names().join(", ")
                    ),
                ));
            };
            if !v.is_finite() {
                return Err(FieldError::new(
                    path,
                    Some(format!("{v}")),
                    "expected a finite number",
                ));
            }
            targets.push((metric, *v));
        }

        let market = Market {
            demand: opt_param(
                raw.market.as_ref().and_then(|m| m.demand.as_ref()),
                "market.demand",
                Domain::Positive,
                1.0,
            )?,
        };
        let revenue = Revenue {
            churn_monthly: opt_param(
                raw.revenue.as_ref().and_then(|r| r.churn_monthly.as_ref()),
                "revenue.churn_monthly",
                Domain::Rate,
                0.0,
            )?,
            expansion_monthly: opt_param(
                raw.revenue
                    .as_ref()
                    .and_then(|r| r.expansion_monthly.as_ref()),
                "revenue.expansion_monthly",
                Domain::Rate,
                0.0,
            )?,
        };
        let sales = raw
            .sales
            .as_ref()
            .map(|s| sales(s, "sales", None))
            .transpose()?;

        let Some(raw_strategies) = raw.strategy.as_ref().filter(|s| !s.is_empty()) else {
            return Err(FieldError::new(
                "strategy",
                None,
                "the scenario has no strategy; add at least one [strategy.NAME] table with [[strategy.NAME.channel]] entries",
            ));
        };
        let mut strategies = Vec::with_capacity(raw_strategies.len());
        for (name, rs) in raw_strategies {
            strategies.push(strategy(name, rs, &funnel, sales.as_ref())?);
        }
        let baseline = match &raw.baseline {
            None => 0,
            Some(b) => strategies
                .iter()
                .position(|s| &s.name == b)
                .ok_or_else(|| {
                    FieldError::new(
                        "baseline",
                        Some(format!("{b:?}")),
                        format!(
                            "no strategy has that name; expected one of {}",
                            strategies
                                .iter()
                                .map(|s| format!("{:?}", s.name))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                })?,
        };

        Ok(Scenario {
            file: PathBuf::new(),
            name: raw
                .name
                .clone()
                .unwrap_or_else(|| "unnamed scenario".to_string()),
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
            overrides: Vec::new(),
        })
    }

    /// Label of month `m`: `YYYY-MM` when `start` is set, else `M1`, `M2`, ...
    pub fn month_label(&self, m: usize) -> String {
        calendar::month_label(self.start, m)
    }

    /// The target set for a metric, if any.
    pub fn target(&self, metric: Metric) -> Option<f64> {
        self.targets
            .iter()
            .find(|(m, _)| *m == metric)
            .map(|(_, t)| *t)
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
    Ok(Param {
        path: path.to_string(),
        written: match raw {
            RawParam::Number(x) => format!("{x}"),
            RawParam::Text(s) => s.clone(),
        },
        domain,
        dist,
    })
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
    })
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

fn strategy(
    name: &str,
    raw: &RawStrategy,
    funnel: &Funnel,
    scenario_sales: Option<&Sales>,
) -> Result<Strategy, FieldError> {
    let prefix = format!("strategy.{name}");
    let deal_size = raw
        .deal_size
        .as_ref()
        .map(|p| param(p, &format!("{prefix}.deal_size"), Domain::Amount))
        .transpose()?;
    let cycle_days = raw
        .cycle_days
        .as_ref()
        .map(|p| param(p, &format!("{prefix}.cycle_days"), Domain::Amount))
        .transpose()?;
    let fixed_cost_per_month = opt_param(
        raw.fixed_cost_per_month.as_ref(),
        &format!("{prefix}.fixed_cost_per_month"),
        Domain::Amount,
        0.0,
    )?;
    let sales = raw
        .sales
        .as_ref()
        .map(|s| sales(s, &format!("{prefix}.sales"), scenario_sales))
        .transpose()?;
    let raw_channels = raw.channel.as_deref().unwrap_or_default();
    if raw_channels.is_empty() {
        return Err(FieldError::new(
            format!("{prefix}.channel"),
            None,
            "the strategy has no channel; add at least one [[strategy.NAME.channel]] with leads_per_month or spend_per_month",
        ));
    }
    let mut channels = Vec::with_capacity(raw_channels.len());
    for (i, rc) in raw_channels.iter().enumerate() {
        channels.push(channel(
            &format!("{prefix}.channel[{i}]"),
            rc,
            funnel,
            deal_size.as_ref(),
            cycle_days.as_ref(),
            &prefix,
        )?);
    }
    Ok(Strategy {
        name: name.to_string(),
        label: raw.label.clone().unwrap_or_else(|| name.to_string()),
        fixed_cost_per_month,
        sales,
        channels,
    })
}

fn channel(
    prefix: &str,
    raw: &RawChannel,
    funnel: &Funnel,
    deal_size: Option<&Param>,
    cycle_days: Option<&Param>,
    strategy_prefix: &str,
) -> Result<Channel, FieldError> {
    let volume = match (&raw.leads_per_month, &raw.spend_per_month) {
        (Some(l), None) => Volume::Leads(param(
            l,
            &format!("{prefix}.leads_per_month"),
            Domain::Amount,
        )?),
        (None, Some(s)) => Volume::Spend(param(
            s,
            &format!("{prefix}.spend_per_month"),
            Domain::Amount,
        )?),
        (Some(_), Some(_)) => {
            return Err(FieldError::new(
                prefix,
                None,
                "give either leads_per_month or spend_per_month, not both",
            ));
        }
        (None, None) => {
            return Err(FieldError::new(
                prefix,
                None,
                "the channel has no volume; give leads_per_month (cost = leads x cost_per_lead) or spend_per_month (leads = spend / cost_per_lead)",
            ));
        }
    };
    // A cost per lead that divides a spend must be positive.
    let cpl_domain = match volume {
        Volume::Spend(_) => Domain::Positive,
        Volume::Leads(_) => Domain::Amount,
    };
    let cpl_path = format!("{prefix}.cost_per_lead");
    let cost_per_lead = match &raw.cost_per_lead {
        Some(p) => param(p, &cpl_path, cpl_domain)?,
        None => {
            return Err(FieldError::new(
                cpl_path,
                None,
                "missing; every channel needs a cost_per_lead (0 is allowed with leads_per_month)",
            ));
        }
    };
    let volume_dispersion = raw
        .volume_dispersion
        .as_ref()
        .map(|p| param(p, &format!("{prefix}.volume_dispersion"), Domain::Positive))
        .transpose()?;

    let conv_prefix = format!("{prefix}.conversion");
    let raw_conv = raw.conversion.as_ref();
    if let Some(map) = raw_conv {
        for key in map.keys() {
            if !funnel.stages[1..].contains(key) {
                return Err(FieldError::new(
                    format!("{conv_prefix}.{key}"),
                    None,
                    format!(
                        "not a stage after the first; expected one conversion per stage: {}",
                        funnel.stages[1..].join(", ")
                    ),
                ));
            }
        }
    }
    let mut conversion = Vec::with_capacity(funnel.stages.len() - 1);
    for stage in &funnel.stages[1..] {
        let path = format!("{conv_prefix}.{stage}");
        let Some(p) = raw_conv.and_then(|m| m.get(stage)) else {
            return Err(FieldError::new(
                path,
                None,
                format!(
                    "missing; the channel needs one conversion probability per stage after the first: {}",
                    funnel.stages[1..].join(", ")
                ),
            ));
        };
        conversion.push(param(p, &path, Domain::Probability)?);
    }

    let resolve = |own: &Option<RawParam>,
                   inherited: Option<&Param>,
                   field: &str|
     -> Result<Param, FieldError> {
        match own {
            Some(p) => param(p, &format!("{prefix}.{field}"), Domain::Amount),
            None => inherited.cloned().ok_or_else(|| {
                FieldError::new(
                    format!("{strategy_prefix}.{field}"),
                    None,
                    format!("missing; set {field} on the strategy or on every one of its channels"),
                )
            }),
        }
    };
    Ok(Channel {
        name: raw
            .name
            .clone()
            .unwrap_or_else(|| prefix.rsplit('.').next().unwrap_or(prefix).to_string()),
        volume,
        cost_per_lead,
        volume_dispersion,
        conversion,
        deal_size: resolve(&raw.deal_size, deal_size, "deal_size")?,
        cycle_days: resolve(&raw.cycle_days, cycle_days, "cycle_days")?,
    })
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
