//! Command-line changes to a scenario: `--set PATH=VALUE` and
//! `--scale PATH=FACTOR`, for board what-ifs without editing files.
//!
//! Paths use the syntax error messages use: `sales.reps`,
//! `strategy.quality.channel[0].spend_per_month`,
//! `strategy.volume.channel[1].conversion.sql`, `market.demand`.
//!
//! * `--set` edits the TOML document before validation, so a set value goes
//!   through exactly the checks a value written in the file does. The value
//!   is read as a TOML value when it is one (`8`, `0.35`, `[1, 2]`,
//!   `"0.8 to 1.1"`) and as a string otherwise, so
//!   `--set market.demand='0.8 to 1.1'` needs no inner quotes.
//! * `--scale` multiplies a validated parameter — a number, or every draw of
//!   a distribution — by a factor > 0, then checks the result against the
//!   parameter's domain again. Parameters a channel inherits from its
//!   strategy (or a strategy's sales team from `[sales]`) follow the scaled
//!   original, because they are the same parameter.
//!
//! Sets apply first, in the order given, then scales. A path that does not
//! exist is an error listing the nearest valid paths.
//!
//! A path may be a pattern: `*` stands for any run of characters within
//! one step of the path (never `.`, `[` or `]`), so
//! `strategy.*.channel[*].cost_per_lead` names every strategy's every
//! channel's cost per lead ([`matches_pattern`]).
//!
//! * A `--set` pattern is expanded against [`settable_paths`] of the
//!   document as the earlier sets left it, and the value is set at every
//!   match, in that order.
//! * A `--scale` pattern is expanded against the validated scenario's
//!   access paths ([`Scenario::params_by_access`]) and its parameters' own
//!   paths (e.g. `channel.paid_search.cost_per_lead`). Each match stands
//!   for its owner — the parameter it reads, which for a channel field
//!   inherited from a shared channel, its strategy or `[sales]` is the
//!   original — and each owner is scaled exactly once, however many
//!   matches read it.
//! * A pattern that matches nothing is an error naming the nearest valid
//!   paths. What a pattern matched is recorded on the scenario
//!   ([`Scenario::matched`], [`Expansion`]) for the command line to list.

use std::fmt;
use std::path::Path;

use toml::{Table, Value};

use crate::dist;
use crate::error::{FieldError, ScenarioError};
use crate::metrics::Metric;
use crate::scenario::{Param, Scenario, Volume};

/// What an override does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Replace the value (`--set`).
    Set,
    /// Multiply the parameter by a factor (`--scale`).
    Scale,
}

/// One `--set` or `--scale`.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    pub kind: Kind,
    pub path: String,
    /// The value as given (for `Scale`, the factor).
    pub value: String,
}

impl fmt::Display for Override {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flag = match self.kind {
            Kind::Set => "--set",
            Kind::Scale => "--scale",
        };
        write!(f, "{flag} {}={}", self.path, self.value)
    }
}

impl Override {
    /// Parse `PATH=VALUE` of a `--set`.
    pub fn parse_set(arg: &str) -> Result<Override, ScenarioError> {
        let (path, value) = split_arg(arg, "--set", "sales.reps=8")?;
        Ok(Override {
            kind: Kind::Set,
            path,
            value,
        })
    }

    /// Parse `PATH=FACTOR` of a `--scale`.
    pub fn parse_scale(arg: &str) -> Result<Override, ScenarioError> {
        let (path, value) = split_arg(
            arg,
            "--scale",
            "strategy.volume.channel[0].cost_per_lead=1.3",
        )?;
        match value.parse::<f64>() {
            Ok(f) if f > 0.0 && f.is_finite() => Ok(Override {
                kind: Kind::Scale,
                path,
                value,
            }),
            _ => Err(ScenarioError::Change {
                flag: "--scale",
                arg: arg.to_string(),
                message: format!(
                    "the factor {value:?} is not a number > 0; e.g. 1.3 for +30%, 0.8 for -20%"
                ),
            }),
        }
    }

    /// The factor of a `Scale` (1 for a `Set`).
    pub fn factor(&self) -> f64 {
        match self.kind {
            Kind::Scale => self.value.parse().unwrap_or(f64::NAN),
            Kind::Set => 1.0,
        }
    }
}

fn split_arg(
    arg: &str,
    flag: &'static str,
    example: &str,
) -> Result<(String, String), ScenarioError> {
    match arg.split_once('=') {
        Some((p, v)) if !p.trim().is_empty() && !v.trim().is_empty() => {
            Ok((p.trim().to_string(), v.trim().to_string()))
        }
        _ => Err(ScenarioError::Change {
            flag,
            arg: format!("{arg:?}"),
            message: format!("expected PATH=VALUE, e.g. {flag} {example}"),
        }),
    }
}

/// Load a scenario file and apply overrides to it.
pub fn load(file: &Path, overrides: &[Override]) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(file).map_err(|source| ScenarioError::Io {
        file: file.to_path_buf(),
        source,
    })?;
    from_toml_str(&text, file, overrides)
}

/// One path a `*` pattern matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// The path matched (for `--scale`, an access path such as a
    /// strategy's channel field, even when the channel inherits it).
    pub path: String,
    /// The parameter the change applies to: the owner's path for an
    /// inherited `--scale` match, else `path`.
    pub owner: String,
}

/// What one override with a `*` pattern in its path matched.
#[derive(Debug, Clone, PartialEq)]
pub struct Expansion {
    /// The override as given (its path is the pattern).
    pub change: Override,
    /// Every match, in [`settable_paths`] order for `--set` and in model
    /// order for `--scale`.
    pub matches: Vec<Match>,
}

impl Expansion {
    /// The parameters changed, each once, in the order first matched.
    pub fn owners(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for m in &self.matches {
            if !out.contains(&m.owner.as_str()) {
                out.push(&m.owner);
            }
        }
        out
    }

    /// `matched 5 parameters: a, b, ...`; for a `--scale` whose matches
    /// inherit, `matched 6 paths, 5 parameters (each scaled once): a, b →
    /// owner, ...`.
    pub fn summary(&self) -> String {
        let owners = self.owners().len();
        let list = self
            .matches
            .iter()
            .map(|m| {
                if m.owner == m.path {
                    m.path.clone()
                } else {
                    format!("{} → {}", m.path, m.owner)
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let n = self.matches.len();
        let plural = |k: usize, what: &str| format!("{k} {what}{}", if k == 1 { "" } else { "s" });
        match self.change.kind {
            Kind::Set => format!("matched {}: {list}", plural(n, "path")),
            Kind::Scale if owners == n => format!("matched {}: {list}", plural(n, "parameter")),
            Kind::Scale => format!(
                "matched {}, {} (each scaled once): {list}",
                plural(n, "path"),
                plural(owners, "parameter")
            ),
        }
    }
}

/// Does `path` contain a `*` pattern?
pub fn is_pattern(path: &str) -> bool {
    path.contains('*')
}

/// Does `path` match `pattern`? `*` matches any run of characters (also
/// none) within one step: never `.`, `[` or `]`; every other character
/// matches itself. Linear in `pattern.len() × path.len()`.
pub fn matches_pattern(pattern: &str, path: &str) -> bool {
    let p: Vec<char> = pattern.trim().chars().collect();
    let s: Vec<char> = path.chars().collect();
    let within_step = |c: char| !matches!(c, '.' | '[' | ']');
    // row[j]: does the pattern so far match s[..j]?
    let mut row = vec![false; s.len() + 1];
    row[0] = true;
    for &pc in &p {
        let mut next = vec![false; s.len() + 1];
        if pc == '*' {
            next[0] = row[0];
            for j in 1..=s.len() {
                next[j] = row[j] || (next[j - 1] && within_step(s[j - 1]));
            }
        } else {
            for j in 1..=s.len() {
                next[j] = row[j - 1] && s[j - 1] == pc;
            }
        }
        row = next;
    }
    row[s.len()]
}

/// The paths of `candidates` that `pattern` matches, in order.
fn expand_among<'a>(pattern: &str, candidates: &'a [String]) -> Vec<&'a String> {
    candidates
        .iter()
        .filter(|c| matches_pattern(pattern, c))
        .collect()
}

/// What a `--scale` pattern may match: every access path with its
/// owner's path, then the owners' paths no access path spells (shared
/// channels' fields, a strategy's `deal_size` its channels inherit).
fn scale_candidates(scn: &mut Scenario) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = scn
        .params_by_access()
        .into_iter()
        .map(|(access, p)| (access, p.path.clone()))
        .collect();
    for owner in scalable_paths(scn) {
        if !out.iter().any(|(access, _)| *access == owner) {
            out.push((owner.clone(), owner));
        }
    }
    out
}

fn no_match(pattern: &str, valid: &[String]) -> String {
    let near = nearest(pattern, valid, 5);
    format!(
        "the pattern matches no parameter path; nearest valid paths: {}",
        near.join(", ")
    )
}

/// What every `*` pattern among `overrides` matches on this scenario text,
/// without keeping the scenario (the same expansion [`from_toml_str`]
/// records in [`Scenario::matched`]).
pub fn expand(
    text: &str,
    file: &Path,
    overrides: &[Override],
) -> Result<Vec<Expansion>, ScenarioError> {
    Ok(from_toml_str(text, file, overrides)?.matched)
}

/// Parse scenario text, apply overrides and validate.
pub fn from_toml_str(
    text: &str,
    file: &Path,
    overrides: &[Override],
) -> Result<Scenario, ScenarioError> {
    let mut matched: Vec<Expansion> = Vec::new();
    let sets: Vec<&Override> = overrides.iter().filter(|o| o.kind == Kind::Set).collect();
    // every path a set wrote, with the set as given (for error messages)
    let mut applied: Vec<(String, &Override)> = Vec::new();
    let mut scn = if sets.is_empty() {
        Scenario::from_toml_str(text, file)?
    } else {
        // Syntax and type errors of the file itself keep their line numbers.
        crate::scenario::raw::parse_raw(text, file)?;
        let mut doc: Table = toml::from_str(text).map_err(|e| ScenarioError::Syntax {
            file: file.to_path_buf(),
            line: 1,
            column: 1,
            message: e.message().trim().to_string(),
        })?;
        for o in &sets {
            if !is_pattern(&o.path) {
                apply_set(&mut doc, o).map_err(|Rejected(msg)| field_error(file, o, msg))?;
                applied.push((o.path.clone(), o));
                continue;
            }
            let valid = settable_paths(&doc);
            let paths: Vec<String> = expand_among(&o.path, &valid).into_iter().cloned().collect();
            if paths.is_empty() {
                return Err(field_error(file, o, no_match(&o.path, &valid)));
            }
            for p in &paths {
                let one = Override {
                    path: p.clone(),
                    ..(*o).clone()
                };
                apply_set(&mut doc, &one).map_err(|Rejected(msg)| {
                    field_error(file, &one, format!("{msg} (from {o})"))
                })?;
                applied.push((p.clone(), o));
            }
            matched.push(Expansion {
                change: (*o).clone(),
                matches: paths
                    .into_iter()
                    .map(|p| Match {
                        owner: p.clone(),
                        path: p,
                    })
                    .collect(),
            });
        }
        let raw = crate::scenario::raw::raw_from_table(doc, file).map_err(|mut e| {
            // a type error in a value from the command line says so
            if let ScenarioError::Field { path, message, .. } = &mut e
                && let Some((_, o)) = applied.iter().find(|(p, _)| p.starts_with(path.as_str()))
            {
                message.push_str(&format!(" (from {o})"));
            }
            e
        })?;
        Scenario::from_raw_all(raw)
            .map_err(|errors| {
                // Say where a bad value came from when it came from the command line.
                let errors = errors
                    .into_iter()
                    .map(|mut e| {
                        if let Some((_, o)) =
                            applied.iter().find(|(p, _)| e.path.starts_with(p.as_str()))
                        {
                            e.message = format!("{} (from {o})", e.message);
                        }
                        e
                    })
                    .collect();
                FieldError::all_in_file(errors, file, |path| {
                    // a value set on the command line has no line in the file
                    if applied.iter().any(|(p, _)| path.starts_with(p.as_str())) {
                        None
                    } else {
                        crate::scenario::locate(text, path)
                    }
                })
            })
            .map(|mut s| {
                s.file = file.to_path_buf();
                s
            })?
    };
    for o in overrides.iter().filter(|o| o.kind == Kind::Scale) {
        if !is_pattern(&o.path) {
            apply_scale(&mut scn, o).map_err(|Rejected(msg)| field_error(file, o, msg))?;
            continue;
        }
        let candidates = scale_candidates(&mut scn);
        let matches: Vec<Match> = candidates
            .iter()
            .filter(|(access, _)| matches_pattern(&o.path, access))
            .map(|(access, owner)| Match {
                path: access.clone(),
                owner: owner.clone(),
            })
            .collect();
        if matches.is_empty() {
            let valid: Vec<String> = candidates.into_iter().map(|(access, _)| access).collect();
            return Err(field_error(file, o, no_match(&o.path, &valid)));
        }
        let e = Expansion {
            change: o.clone(),
            matches,
        };
        for owner in e.owners() {
            let one = Override {
                path: owner.to_string(),
                ..o.clone()
            };
            apply_scale(&mut scn, &one)
                .map_err(|Rejected(msg)| field_error(file, &one, format!("{msg} (from {o})")))?;
        }
        matched.push(e);
    }
    if overrides.iter().any(|o| o.kind == Kind::Scale) {
        // a scaled value must still be plausible (and the net rate valid)
        let mut errors = super::bounds::after_change(&scn);
        if !errors.is_empty() {
            let from = overrides
                .iter()
                .filter(|o| o.kind == Kind::Scale)
                .map(|o| o.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            for e in &mut errors {
                e.message = format!("{} (after {from})", e.message);
            }
            return Err(FieldError::all_in_file(errors, file, |_| None));
        }
    }
    scn.overrides = overrides.iter().map(|o| o.to_string()).collect();
    scn.matched = matched;
    Ok(scn)
}

/// Why a change cannot be applied: the message, to which the caller adds
/// the file, the path and the value ([`field_error`]).
struct Rejected(String);

fn field_error(file: &Path, o: &Override, message: String) -> ScenarioError {
    ScenarioError::Field {
        file: file.to_path_buf(),
        line: None,
        column: None,
        path: o.path.clone(),
        value: Some(o.value.clone()),
        message,
    }
}

// ------------------------------------------------------------------ --set

/// One step of a path: `key` or `key[index]`.
#[derive(Debug, PartialEq)]
struct Step<'a> {
    key: &'a str,
    index: Option<usize>,
}

fn steps(path: &str) -> Option<Vec<Step<'_>>> {
    path.split('.')
        .map(|seg| {
            let seg = seg.trim();
            match seg.split_once('[') {
                None if !seg.is_empty() => Some(Step {
                    key: seg,
                    index: None,
                }),
                Some((key, rest)) if !key.is_empty() => {
                    let idx = rest.strip_suffix(']')?.trim().parse().ok()?;
                    Some(Step {
                        key,
                        index: Some(idx),
                    })
                }
                _ => None,
            }
        })
        .collect()
}

/// Every path `--set` accepts on this document: the format's fields, with
/// the document's own strategy names, channel indices and funnel stages.
pub fn settable_paths(doc: &Table) -> Vec<String> {
    let mut out: Vec<String> = [
        "name",
        "horizon_months",
        "start",
        "trials",
        "seed",
        "baseline",
        "ci",
        "interval",
        "seasonality",
        "market.demand",
        "revenue.churn_monthly",
        "revenue.expansion_monthly",
        "revenue.starting_arr",
        "sales.reps",
        "sales.mql_capacity_per_rep",
        "sales.cost_per_rep_month",
        "warmup.months",
        "warmup.strategy",
        "quota.bookings_per_quarter",
        "quota.coverage_target",
        "funnel.stages",
        "funnel.handoff",
        "funnel.pipeline",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if let Some(Value::Array(a)) = doc.get("seasonality") {
        out.extend((0..a.len()).map(|i| format!("seasonality[{i}]")));
    }
    out.extend(Metric::ALL.iter().map(|m| format!("targets.{}", m.name())));
    let stages: Vec<String> = doc
        .get("funnel")
        .and_then(|f| f.get("stages"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .skip(1)
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    const CHANNEL_FIELDS: [&str; 10] = [
        "name",
        "leads_per_month",
        "spend_per_month",
        "cost_per_lead",
        "volume_dispersion",
        "deal_size",
        "cycle_days",
        "lost_cycle_days",
        "cpl_elasticity",
        "reference_spend",
    ];
    // segment names, for segment_mix.NAME
    let segments: Vec<String> = match doc.get("segment") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|g| g.get("name").and_then(Value::as_str).map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    if let Some(Value::Array(a)) = doc.get("segment") {
        for i in 0..a.len() {
            for f in [
                "name",
                "deal_size",
                "cycle_days",
                "lost_cycle_days",
                "win_odds_ratio",
                "sales.reps",
                "sales.mql_capacity_per_rep",
                "sales.cost_per_rep_month",
            ] {
                out.push(format!("segment[{i}].{f}"));
            }
        }
    }
    let mixes = |at: &str| -> Vec<String> {
        segments
            .iter()
            .map(|g| format!("{at}.segment_mix.{g}"))
            .collect()
    };
    if let Some(Value::Array(a)) = doc.get("quota").and_then(|q| q.get("bookings_per_quarter")) {
        out.extend((0..a.len()).map(|i| format!("quota.bookings_per_quarter[{i}]")));
    }
    if let Some(Value::Table(shared)) = doc.get("channel") {
        for name in shared.keys() {
            let c = format!("channel.{name}");
            out.extend(CHANNEL_FIELDS.iter().map(|f| format!("{c}.{f}")));
            out.extend(stages.iter().map(|s| format!("{c}.conversion.{s}")));
            out.extend(mixes(&c));
        }
    }
    if let Some(Value::Table(strategies)) = doc.get("strategy") {
        for (name, st) in strategies {
            let p = format!("strategy.{name}");
            for f in [
                "label",
                "deal_size",
                "cycle_days",
                "fixed_cost_per_month",
                "sales.reps",
                "sales.mql_capacity_per_rep",
                "sales.cost_per_rep_month",
                "lost_cycle_days",
                "nurture.recycle",
                "nurture.delay_days",
            ] {
                out.push(format!("{p}.{f}"));
            }
            out.extend(mixes(&p));
            let channels = st.get("channel").and_then(Value::as_array);
            for i in 0..channels.map_or(0, |c| c.len()) {
                let c = format!("{p}.channel[{i}]");
                out.extend(
                    CHANNEL_FIELDS
                        .iter()
                        .chain(&["use"])
                        .map(|f| format!("{c}.{f}")),
                );
                out.extend(stages.iter().map(|s| format!("{c}.conversion.{s}")));
                out.extend(mixes(&c));
            }
        }
    }
    out
}

/// The value of a `--set`: a TOML value when it parses as one, else a string.
fn set_value(text: &str) -> Value {
    match toml::from_str::<Table>(&format!("v = {text}")) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| Value::String(text.to_string())),
        Err(_) => Value::String(text.to_string()),
    }
}

fn apply_set(doc: &mut Table, o: &Override) -> Result<(), Rejected> {
    let valid = settable_paths(doc);
    if !valid.iter().any(|p| p == &o.path) {
        return Err(Rejected(no_such_path(&o.path, &valid)));
    }
    let Some(steps) = steps(&o.path) else {
        return Err(Rejected(no_such_path(&o.path, &valid)));
    };
    let value = set_value(&o.value);
    let mut table = doc;
    let last = steps.len() - 1;
    for (i, step) in steps.iter().enumerate() {
        match step.index {
            None if i == last => {
                table.insert(step.key.to_string(), value);
                return Ok(());
            }
            None => {
                let entry = table
                    .entry(step.key.to_string())
                    .or_insert_with(|| Value::Table(Table::new()));
                table = entry.as_table_mut().ok_or_else(|| {
                    Rejected(format!("'{}' is not a table in the file", step.key))
                })?;
            }
            Some(idx) => {
                let arr = table
                    .get_mut(step.key)
                    .and_then(Value::as_array_mut)
                    .ok_or_else(|| {
                        Rejected(format!("'{}' is not an array in the file", step.key))
                    })?;
                let elem = arr
                    .get_mut(idx)
                    .ok_or_else(|| Rejected(format!("'{}' has no element {idx}", step.key)))?;
                if i == last {
                    *elem = value;
                    return Ok(());
                }
                table = elem
                    .as_table_mut()
                    .ok_or_else(|| Rejected(format!("'{}[{idx}]' is not a table", step.key)))?;
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- --scale

/// Every parameter of a validated scenario, mutably, including the copies a
/// channel inherits (they carry the original's path).
pub fn params_mut(scn: &mut Scenario) -> Vec<&mut Param> {
    let mut out: Vec<&mut Param> = vec![
        &mut scn.market.demand,
        &mut scn.revenue.churn_monthly,
        &mut scn.revenue.expansion_monthly,
    ];
    out.push(&mut scn.revenue.starting_arr);
    if let Some(s) = scn.sales.as_mut() {
        out.push(&mut s.reps);
        out.push(&mut s.mql_capacity_per_rep);
        out.push(&mut s.cost_per_rep_month);
    }
    for g in &mut scn.segments {
        out.extend(g.deal_size.as_mut());
        out.extend(g.cycle_days.as_mut());
        out.extend(g.lost_cycle_days.as_mut());
        out.push(&mut g.win_odds_ratio);
        if let Some(s) = g.sales.as_mut() {
            out.push(&mut s.reps);
            out.push(&mut s.mql_capacity_per_rep);
            out.push(&mut s.cost_per_rep_month);
        }
    }
    for st in &mut scn.strategies {
        out.push(&mut st.fixed_cost_per_month);
        if let Some(s) = st.sales.as_mut() {
            out.push(&mut s.reps);
            out.push(&mut s.mql_capacity_per_rep);
            out.push(&mut s.cost_per_rep_month);
        }
        if let Some(n) = st.nurture.as_mut() {
            out.push(&mut n.recycle);
            out.push(&mut n.delay_days);
        }
        for ch in &mut st.channels {
            match &mut ch.volume {
                Volume::Leads(p) | Volume::Spend(p) => out.push(p),
            }
            out.push(&mut ch.cost_per_lead);
            if let Some(p) = ch.volume_dispersion.as_mut() {
                out.push(p);
            }
            out.extend(ch.conversion.iter_mut());
            out.push(&mut ch.deal_size);
            out.push(&mut ch.cycle_days);
            out.extend(ch.lost_cycle_days.as_mut());
            if let Some(e) = ch.elasticity.as_mut() {
                out.push(&mut e.elasticity);
                out.push(&mut e.reference_spend);
            }
        }
    }
    out
}

/// Paths `--scale` accepts: every parameter the scenario has (written or
/// defaulted), in model order, without repeats.
pub fn scalable_paths(scn: &mut Scenario) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in params_mut(scn) {
        if !out.contains(&p.path) {
            out.push(p.path.clone());
        }
    }
    out
}

fn apply_scale(scn: &mut Scenario, o: &Override) -> Result<(), Rejected> {
    let factor = o.factor();
    let mut found = false;
    for p in params_mut(scn) {
        if p.path != o.path {
            continue;
        }
        found = true;
        p.dist = dist::scaled_in_domain(&p.dist, factor, p.domain).map_err(|e| Rejected(e.0))?;
        p.written = format!("{} x ({})", dist::number_text(factor), p.written);
    }
    if found {
        return Ok(());
    }
    if let Some(from) = scn.inherited_from(&o.path) {
        return Err(Rejected(format!(
            "this path inherits the parameter from {from}; scale {from} (everywhere it is used), or --set this path to give it a value of its own"
        )));
    }
    Err(Rejected(no_such_path(&o.path, &scalable_paths(scn))))
}

// ------------------------------------------------------------ suggestions

fn no_such_path(path: &str, valid: &[String]) -> String {
    let near = nearest(path, valid, 5);
    format!(
        "no such parameter path; nearest valid paths: {}",
        near.join(", ")
    )
}

/// The `n` candidates closest to `path` (edit distance, then order).
pub fn nearest(path: &str, candidates: &[String], n: usize) -> Vec<String> {
    let mut scored: Vec<(usize, usize, &String)> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| (levenshtein(path, c), i, c))
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(n)
        .map(|(_, _, c)| c.clone())
        .collect()
}

fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_steps() {
        assert_eq!(
            steps("strategy.a.channel[2].conversion.sql"),
            Some(vec![
                Step {
                    key: "strategy",
                    index: None
                },
                Step {
                    key: "a",
                    index: None
                },
                Step {
                    key: "channel",
                    index: Some(2)
                },
                Step {
                    key: "conversion",
                    index: None
                },
                Step {
                    key: "sql",
                    index: None
                },
            ])
        );
        assert_eq!(steps("a..b"), None);
        assert_eq!(steps("channel[x]"), None);
    }

    #[test]
    fn patterns_match_within_one_step() {
        let table: &[(&str, &str, bool)] = &[
            // exact paths match themselves only
            ("sales.reps", "sales.reps", true),
            ("sales.reps", "sales.rep", false),
            ("sales.rep", "sales.reps", false),
            // a whole step
            ("strategy.*.sales.reps", "strategy.volume.sales.reps", true),
            ("strategy.*.sales.reps", "strategy.quality.sales.reps", true),
            ("strategy.*.sales.reps", "sales.reps", false),
            ("strategy.*.sales.reps", "strategy.a.b.sales.reps", false),
            // an index
            (
                "segment[*].win_odds_ratio",
                "segment[0].win_odds_ratio",
                true,
            ),
            (
                "segment[*].win_odds_ratio",
                "segment[12].win_odds_ratio",
                true,
            ),
            ("segment[*].win_odds_ratio", "segment.win_odds_ratio", false),
            (
                "strategy.*.channel[*].cost_per_lead",
                "strategy.volume.channel[1].cost_per_lead",
                true,
            ),
            (
                "strategy.*.channel[*].cost_per_lead",
                "strategy.volume.channel[1].conversion.sql",
                false,
            ),
            (
                "strategy.*.channel[*].cost_per_lead",
                "channel.paid_search.cost_per_lead",
                false,
            ),
            (
                "channel.*.cost_per_lead",
                "channel.paid_search.cost_per_lead",
                true,
            ),
            // `*` never crosses `.`, `[` or `]`
            ("*", "sales.reps", false),
            ("*", "horizon_months", true),
            ("sales*", "sales.reps", false),
            ("strategy.*", "strategy.volume.label", false),
            (
                "strategy.volume.channel*",
                "strategy.volume.channel[0]",
                false,
            ),
            (
                "strategy.volume.channel[*]",
                "strategy.volume.channel[0]",
                true,
            ),
            ("a[*]", "a[0]]", false),
            // at the start and the end of a step or path
            ("*.demand", "market.demand", true),
            ("*.demand", "market.x.demand", false),
            ("sales.*", "sales.reps", true),
            ("sales.*", "sales.mql_capacity_per_rep", true),
            ("sales.*reps", "sales.reps", true),
            ("*_months", "horizon_months", true),
            ("horizon*", "horizon_months", true),
            ("horizon_months*", "horizon_months", true),
            // several in one step
            ("sales.*_*_*", "sales.mql_capacity_per_rep", true),
            ("sales.*_*_*", "sales.reps", false),
            ("sales.*p*r*", "sales.cost_per_rep_month", true),
            ("*.*", "market.demand", true),
            ("*.*", "market", false),
            ("**", "market", true),
            ("*[*].*", "segment[0].deal_size", true),
            ("*[*].*", "segment[0].sales.reps", false),
        ];
        for &(pattern, path, want) in table {
            assert_eq!(
                matches_pattern(pattern, path),
                want,
                "{pattern} against {path}"
            );
        }
        assert!(is_pattern("strategy.*.sales.reps"));
        assert!(!is_pattern("strategy.volume.sales.reps"));
    }

    #[test]
    fn expansions_count_paths_and_parameters() {
        let e = Expansion {
            change: Override {
                kind: Kind::Scale,
                path: "strategy.*.channel[0].cost_per_lead".into(),
                value: "1.25".into(),
            },
            matches: vec![
                Match {
                    path: "strategy.a.channel[0].cost_per_lead".into(),
                    owner: "channel.s.cost_per_lead".into(),
                },
                Match {
                    path: "strategy.b.channel[0].cost_per_lead".into(),
                    owner: "channel.s.cost_per_lead".into(),
                },
            ],
        };
        assert_eq!(e.owners(), ["channel.s.cost_per_lead"]);
        assert_eq!(
            e.summary(),
            "matched 2 paths, 1 parameter (each scaled once): strategy.a.channel[0].cost_per_lead → channel.s.cost_per_lead, strategy.b.channel[0].cost_per_lead → channel.s.cost_per_lead"
        );
    }

    #[test]
    fn set_values_are_toml_or_text() {
        assert_eq!(set_value("8"), Value::Integer(8));
        assert_eq!(set_value("0.35"), Value::Float(0.35));
        assert_eq!(set_value("0.8 to 1.1"), Value::String("0.8 to 1.1".into()));
        assert_eq!(
            set_value("\"0.8 to 1.1\""),
            Value::String("0.8 to 1.1".into())
        );
        assert_eq!(
            set_value("lognormal(median=140, p90=200)"),
            Value::String("lognormal(median=140, p90=200)".into())
        );
    }

    #[test]
    fn nearest_prefers_small_edits() {
        let c: Vec<String> = ["sales.reps", "sales.mql_capacity_per_rep", "market.demand"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(nearest("sales.rep", &c, 1), vec!["sales.reps".to_string()]);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
    }

    #[test]
    fn bad_arguments_say_what_is_expected() {
        assert!(Override::parse_set("sales.reps").is_err());
        assert!(Override::parse_set("=3").is_err());
        assert!(Override::parse_scale("a.b=0").is_err());
        assert!(Override::parse_scale("a.b=x").is_err());
        assert_eq!(
            Override::parse_scale("a.b=1.3").map(|o| o.factor()).ok(),
            Some(1.3)
        );
    }
}
