//! The scenario file as written: serde structs that mirror the TOML format
//! (unknown fields rejected), and deserialisation that maps every error to
//! the field path and line the user wrote.

use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;

use crate::error::{FieldError, ScenarioError};

/// A parameter as written: a number or a distribution string.
#[derive(Debug, Clone, PartialEq)]
pub enum RawParam {
    Number(f64),
    Text(String),
}

impl RawParam {
    pub(super) fn as_written(&self) -> String {
        match self {
            RawParam::Number(x) => crate::dist::number_text(*x),
            RawParam::Text(s) => format!("{s:?}"),
        }
    }
}

impl<'de> Deserialize<'de> for RawParam {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = RawParam;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number or a distribution string such as \"0.4 to 0.6\" or \"beta(mean=0.2, n=100)\"")
            }
            fn visit_i64<E>(self, v: i64) -> Result<RawParam, E> {
                Ok(RawParam::Number(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> Result<RawParam, E> {
                Ok(RawParam::Number(v as f64))
            }
            fn visit_f64<E>(self, v: f64) -> Result<RawParam, E> {
                Ok(RawParam::Number(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<RawParam, E> {
                Ok(RawParam::Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub name: Option<String>,
    /// The money unit of every amount (`"USD"`, `"EUR"`, `"$"`): labels
    /// only, never converted.
    pub currency: Option<String>,
    pub horizon_months: i64,
    pub start: Option<String>,
    pub trials: Option<i64>,
    pub seed: Option<u64>,
    pub baseline: Option<String>,
    pub ci: Option<f64>,
    pub interval: Option<f64>,
    pub seasonality: Option<Vec<f64>>,
    pub targets: Option<IndexMap<String, f64>>,
    pub market: Option<RawMarket>,
    pub revenue: Option<RawRevenue>,
    pub sales: Option<RawSales>,
    pub funnel: RawFunnel,
    /// Shared channels, `[channel.NAME]`: one market bought by several
    /// strategies (MODEL.md, "Shared channels").
    pub channel: Option<IndexMap<String, RawChannel>>,
    pub strategy: Option<IndexMap<String, RawStrategy>>,
    /// `[[correlation]]` entries: rank correlations between per-trial
    /// parameters.
    pub correlation: Option<Vec<RawCorrelation>>,
    pub segment: Option<Vec<RawSegment>>,
    pub warmup: Option<RawWarmup>,
    pub quota: Option<RawQuota>,
}

/// A `[[segment]]` (Model v2): a go-to-market segment or territory.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSegment {
    pub name: String,
    pub deal_size: Option<RawParam>,
    pub cycle_days: Option<RawParam>,
    pub lost_cycle_days: Option<RawParam>,
    pub win_odds_ratio: Option<RawParam>,
    pub sales: Option<RawSales>,
}

/// `[warmup]` (Model v2): months of today's strategy run before month 0.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWarmup {
    pub months: i64,
    pub strategy: String,
}

/// `[quota]` (Model v2): bookings quota per quarter and the coverage target.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawQuota {
    pub bookings_per_quarter: RawQuotaValue,
    pub coverage_target: Option<f64>,
}

/// One quota for every quarter, or one per quarter.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawQuotaValue {
    One(f64),
    PerQuarter(Vec<f64>),
}

/// A strategy's `[strategy.NAME.nurture]` (Model v2).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNurture {
    pub recycle: RawParam,
    pub delay_days: RawParam,
}

/// One `[[correlation]]`: two parameter paths and their Spearman rank
/// correlation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCorrelation {
    pub between: Vec<String>,
    pub rank: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMarket {
    pub demand: Option<RawParam>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRevenue {
    pub churn_monthly: Option<RawParam>,
    pub expansion_monthly: Option<RawParam>,
    pub starting_arr: Option<RawParam>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSales {
    pub reps: Option<RawParam>,
    pub mql_capacity_per_rep: Option<RawParam>,
    pub cost_per_rep_month: Option<RawParam>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFunnel {
    pub stages: Vec<String>,
    pub handoff: String,
    pub pipeline: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStrategy {
    pub label: Option<String>,
    pub deal_size: Option<RawParam>,
    pub cycle_days: Option<RawParam>,
    pub fixed_cost_per_month: Option<RawParam>,
    pub sales: Option<RawSales>,
    pub channel: Option<Vec<RawChannel>>,
    pub lost_cycle_days: Option<RawParam>,
    pub segment_mix: Option<IndexMap<String, f64>>,
    pub nurture: Option<RawNurture>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChannel {
    pub name: Option<String>,
    /// The shared channel (`[channel.NAME]`) this channel buys; its fields
    /// fill in what this channel leaves out.
    #[serde(rename = "use")]
    pub use_: Option<String>,
    pub leads_per_month: Option<RawParam>,
    pub spend_per_month: Option<RawParam>,
    pub cost_per_lead: Option<RawParam>,
    pub volume_dispersion: Option<RawParam>,
    pub conversion: Option<IndexMap<String, RawParam>>,
    pub deal_size: Option<RawParam>,
    pub cycle_days: Option<RawParam>,
    pub lost_cycle_days: Option<RawParam>,
    pub segment_mix: Option<IndexMap<String, f64>>,
    pub cpl_elasticity: Option<RawParam>,
    pub reference_spend: Option<RawParam>,
}

/// Deserialize TOML text into the raw format, mapping errors to paths and lines.
pub fn parse_raw(text: &str, file: &Path) -> Result<RawScenario, ScenarioError> {
    let de = toml::Deserializer::parse(text).map_err(|e| syntax_error(&e, text, file))?;
    let first = match serde_path_to_error::deserialize(de) {
        Ok(raw) => return Ok(raw),
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let at = inner.span().map(|s| line_col(text, s.start));
            (path, at, plain_serde_message(inner.message()))
        }
    };
    let errors = more_type_errors(text, first)
        .into_iter()
        .map(|(path, at, message)| {
            let path = if path == "." {
                "(top level)".to_string()
            } else {
                path
            };
            (FieldError::new(path, None, message), at)
        })
        .collect();
    Err(FieldError::located(file, errors))
}

/// A type error or unknown field, by path, line and column, and message.
type TypeError = (String, Option<(usize, usize)>, String);

/// After the first type error or unknown field, the others: serde stops at
/// the first, so the offending field is removed and the document
/// deserialised again, until it passes, a field is missing (removing more
/// would only add noise) or the path cannot be removed.
fn more_type_errors(text: &str, first: TypeError) -> Vec<TypeError> {
    let mut errors = vec![first];
    let Ok(mut doc) = toml::from_str::<toml::Table>(text) else {
        return errors;
    };
    while errors.len() <= crate::error::MAX_REPORTED {
        let Some(last) = errors.last() else { break };
        if last.2.starts_with("missing field") || !remove_path(&mut doc, &last.0) {
            break;
        }
        let e = match serde_path_to_error::deserialize::<_, RawScenario>(doc.clone()) {
            Ok(_) => break,
            Err(e) => e,
        };
        let path = e.path().to_string();
        let message = plain_serde_message(e.inner().message());
        // a missing field may be one this loop removed
        if errors.iter().any(|x| x.0 == path) || message.starts_with("missing field") {
            break;
        }
        let at = locate(text, &path);
        errors.push((path, at, message));
    }
    errors
}

/// Remove the value at `a.b[1].c` from a document; false if there is none.
fn remove_path(doc: &mut toml::Table, path: &str) -> bool {
    let segs: Vec<&str> = path.split('.').collect();
    let Some((last, init)) = segs.split_last() else {
        return false;
    };
    let mut table = doc;
    for seg in init {
        let (key, index) = split_index(seg);
        let Some(mut value) = table.get_mut(key) else {
            return false;
        };
        if let Some(i) = index {
            match value.as_array_mut().and_then(|a| a.get_mut(i)) {
                Some(v) => value = v,
                None => return false,
            }
        }
        match value.as_table_mut() {
            Some(t) => table = t,
            None => return false,
        }
    }
    let (key, index) = split_index(last);
    match index {
        None => table.remove(key).is_some(),
        Some(i) => match table.get_mut(key).and_then(|v| v.as_array_mut()) {
            Some(a) if i < a.len() => {
                a.remove(i);
                true
            }
            _ => false,
        },
    }
}

/// `key[3]` → (`key`, Some(3)); `key` → (`key`, None).
fn split_index(seg: &str) -> (&str, Option<usize>) {
    match seg.split_once('[') {
        Some((k, rest)) => (
            k,
            rest.strip_suffix(']').and_then(|i| i.parse::<usize>().ok()),
        ),
        None => (seg, None),
    }
}

/// Deserialize an already-parsed TOML document (after `--set` edits) into
/// the raw format. Paths are tracked; line numbers are not available.
pub fn raw_from_table(doc: toml::Table, file: &Path) -> Result<RawScenario, ScenarioError> {
    serde_path_to_error::deserialize(doc).map_err(|e| {
        let path = e.path().to_string();
        ScenarioError::Field {
            file: file.to_path_buf(),
            line: None,
            column: None,
            path: if path == "." {
                "(top level)".to_string()
            } else {
                path
            },
            value: None,
            message: plain_serde_message(e.inner().message()),
        }
    })
}

/// Reword serde's type names for people who write TOML, not Rust.
fn plain_serde_message(msg: &str) -> String {
    let mut out = msg.trim().to_string();
    for (rust, plain) in [
        ("expected i64", "expected a whole number"),
        ("expected u64", "expected a non-negative whole number"),
        ("expected u32", "expected a non-negative whole number"),
        ("expected f64", "expected a number"),
        ("expected a sequence", "expected an array"),
        ("expected a map", "expected a table"),
    ] {
        out = out.replace(rust, plain);
    }
    // "expected struct RawMarket" -> "expected a table"
    if let Some(pos) = out.find("expected struct Raw") {
        let rest = &out[pos + "expected struct ".len()..];
        let end = rest
            .find(|c: char| !c.is_alphanumeric())
            .unwrap_or(rest.len());
        out = format!("{}expected a table{}", &out[..pos], &rest[end..]);
    }
    out
}

fn syntax_error(e: &toml::de::Error, text: &str, file: &Path) -> ScenarioError {
    let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
    ScenarioError::Syntax {
        file: file.to_path_buf(),
        line,
        column,
        message: e.message().trim().to_string(),
    }
}

/// 1-based line and column of the value at a field path
/// (`strategy.volume.channel[1].conversion.sql`) in scenario text; for a
/// path that is not in the text (a missing field) the deepest table on it
/// that is. `None` when the text does not parse or the path names nothing.
pub fn locate(text: &str, path: &str) -> Option<(usize, usize)> {
    use toml::de::{DeTable, DeValue};
    let doc = DeTable::parse(text).ok()?;
    let mut table: &DeTable = doc.get_ref();
    let mut found: Option<usize> = None;
    for seg in path.split('.') {
        let (key, index) = split_index(seg);
        let key = key.trim_matches('"');
        let Some((_, value)) = table.iter().find(|(k, _)| k.get_ref().as_ref() == key) else {
            break;
        };
        let mut value = value;
        if let Some(i) = index {
            match value.get_ref() {
                DeValue::Array(a) => match a.get(i) {
                    Some(v) => value = v,
                    None => break,
                },
                _ => break,
            }
        }
        found = Some(value.span().start);
        match value.get_ref() {
            DeValue::Table(t) => table = t,
            _ => break,
        }
    }
    found.map(|offset| line_col(text, offset))
}

/// 1-based line and column (in characters, as an editor shows it) of a
/// byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }
}
