//! The CSV formats: `summary.csv`, `comparison.csv`, `monthly.csv`,
//! `run.csv`, `trials.csv` and the what-if CSV, as bytes.
//!
//! Numbers are written in plain decimal notation (never exponents) with the
//! shortest representation that round-trips to the same f64, so spreadsheets
//! read them and nothing is lost. Undefined values (no target set) are empty
//! cells. Writing the bytes to disk is [`super::files`]'s job.

use crate::accum::sketch::RELATIVE_ACCURACY;
use crate::analysis::Analysis;
use crate::engine::SimResults;
use crate::experiment::WhatIf;
use crate::metrics::{Metric, MonthlyMetric};
use crate::scenario::Scenario;

use super::OutputError;

/// Header of `summary.csv`.
pub const SUMMARY_HEADER: [&str; 17] = [
    "strategy",
    "metric",
    "trials",
    "mean",
    "sd",
    "se",
    "mean_ci_low",
    "mean_ci_high",
    "p5",
    "p10",
    "p25",
    "p50",
    "p75",
    "p90",
    "p95",
    "target",
    "p_target",
];

/// Header of `comparison.csv`.
pub const COMPARISON_HEADER: [&str; 12] = [
    "strategy",
    "baseline",
    "metric",
    "diff_mean",
    "diff_ci_low",
    "diff_ci_high",
    "diff_p5",
    "diff_p50",
    "diff_p95",
    "p_beats",
    "p_beats_ci_low",
    "p_beats_ci_high",
];

/// Header of `monthly.csv`.
pub const MONTHLY_HEADER: [&str; 8] = [
    "strategy", "month", "label", "metric", "mean", "p5", "p50", "p95",
];

/// A number as a CSV cell: plain decimal, round-trip precision, empty for
/// NaN, `-0` written as `0`.
pub fn num(x: f64) -> String {
    // never `inf`: a run's figures are checked finite (analysis::guard)
    if !x.is_finite() {
        String::new()
    } else if x == 0.0 {
        "0".to_string()
    } else {
        format!("{x}")
    }
}

/// A cell as a spreadsheet will read it safely (OWASP's advice on CSV
/// injection): text that starts with `=`, `+`, `-`, `@`, a tab or a carriage
/// return — which Excel, LibreOffice and Google Sheets would run as a
/// formula — gets a leading `'`, unless it is a plain number (`-12.5`);
/// control characters are written as visible escapes
/// ([`super::text::escape_controls`]).
pub fn safe_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && cell.parse::<f64>().is_err() {
        return format!("'{}", super::text::escape_controls(cell)).into();
    }
    super::text::escape_controls(cell)
}

/// Rows as CSV bytes, under a header.
pub fn csv_table(
    header: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> Result<Vec<u8>, OutputError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header.iter().map(|h| safe_cell(h).into_owned()))?;
    for row in rows {
        w.write_record(row.iter().map(|c| safe_cell(c).into_owned()))?;
    }
    w.into_inner()
        .map_err(|e| OutputError::Csv(e.into_error().into()))
}

/// A `summary.csv` row after the cells `first`: metric, trials, mean, sd,
/// se, CI, quantiles, target and P(≥ target).
fn metric_row(mut row: Vec<String>, ms: &crate::analysis::MetricStats) -> Vec<String> {
    let s = &ms.summary;
    row.extend([
        ms.metric.name().to_string(),
        s.n.to_string(),
        num(s.mean),
        num(s.sd),
        num(s.se),
        num(s.ci_low),
        num(s.ci_high),
    ]);
    row.extend(s.quantiles.iter().map(|q| num(*q)));
    match ms.target {
        Some((t, p)) => row.extend([num(t), num(p.p)]),
        None => row.extend([String::new(), String::new()]),
    }
    row
}

/// The rows of `summary.csv`: one per strategy and metric.
pub fn summary_rows(analysis: &Analysis) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for st in &analysis.strategies {
        for ms in &st.metrics {
            rows.push(metric_row(vec![st.name.clone()], ms));
        }
    }
    rows
}

/// `summary.csv`: one row per strategy and metric.
pub fn summary_csv(analysis: &Analysis) -> Result<Vec<u8>, OutputError> {
    csv_table(&SUMMARY_HEADER, summary_rows(analysis))
}

/// The rows of `comparison.csv`: one per non-baseline strategy and metric.
pub fn comparison_rows(analysis: &Analysis) -> Vec<Vec<String>> {
    analysis
        .comparisons
        .iter()
        .map(|c| {
            let d = &c.diff;
            vec![
                analysis.strategies[c.strategy].name.clone(),
                analysis.strategies[c.baseline].name.clone(),
                c.metric.name().to_string(),
                num(d.mean),
                num(d.ci_low),
                num(d.ci_high),
                num(d.quantiles[0]),
                num(d.quantiles[3]),
                num(d.quantiles[6]),
                num(c.p_beats.p),
                num(c.p_beats.low),
                num(c.p_beats.high),
            ]
        })
        .collect()
}

/// `comparison.csv`: one row per non-baseline strategy and metric.
pub fn comparison_csv(analysis: &Analysis) -> Result<Vec<u8>, OutputError> {
    csv_table(&COMPARISON_HEADER, comparison_rows(analysis))
}

/// The first row of every `run.csv`.
fn version_row() -> Vec<String> {
    vec![
        "pipesim_version".to_string(),
        env!("CARGO_PKG_VERSION").to_string(),
    ]
}

/// `run.csv` of a run: what produced the files (`key,value` rows):
/// scenario file and name, seed, trials, quantile method, every override
/// applied, then `extra` (the precision reached).
pub fn run_csv(
    scn: &Scenario,
    analysis: &Analysis,
    extra: &[(&str, String)],
) -> Result<Vec<u8>, OutputError> {
    let mut rows = vec![
        version_row(),
        vec!["scenario_file".to_string(), scn.file.display().to_string()],
        vec!["scenario_name".to_string(), scn.name.clone()],
        vec!["seed".to_string(), scn.seed.to_string()],
        vec!["trials".to_string(), analysis.trials.to_string()],
        vec![
            "quantiles".to_string(),
            if analysis.quantiles_exact {
                "exact".to_string()
            } else {
                format!("sketch (relative error <= {RELATIVE_ACCURACY})")
            },
        ],
    ];
    for o in &scn.overrides {
        rows.push(vec!["override".to_string(), o.clone()]);
    }
    for (k, v) in extra {
        rows.push(vec![k.to_string(), v.clone()]);
    }
    csv_table(&["key", "value"], rows)
}

/// `run.csv` of a batch: the settings (trials, seed, overrides), then one
/// `ok` row per scenario that ran and one `failed` row per input that
/// failed, with the reason.
pub fn batch_run_csv(t: &super::BatchTables) -> Result<Vec<u8>, OutputError> {
    let own = |x: Option<u64>| x.map_or("each scenario's own".to_string(), |t| t.to_string());
    let mut rows = vec![
        version_row(),
        vec!["trials".to_string(), own(t.trials)],
        vec!["seed".to_string(), own(t.seed)],
    ];
    for o in &t.changes {
        rows.push(vec!["override".to_string(), o.clone()]);
    }
    for name in &t.ok {
        rows.push(vec!["ok".to_string(), name.clone()]);
    }
    for (file, message) in &t.failed {
        rows.push(vec!["failed".to_string(), format!("{file}: {message}")]);
    }
    csv_table(&["key", "value"], rows)
}

/// `monthly.csv`: one row per strategy, month and series.
pub fn monthly_csv(scn: &Scenario, analysis: &Analysis) -> Result<Vec<u8>, OutputError> {
    let mut rows = Vec::new();
    for st in &analysis.strategies {
        for month in 0..scn.horizon {
            let label = scn.month_label(month);
            for mm in MonthlyMetric::ALL {
                let p = st.monthly[mm.index()][month];
                rows.push(vec![
                    st.name.clone(),
                    month.to_string(),
                    label.clone(),
                    mm.name().to_string(),
                    num(p.mean),
                    num(p.p5),
                    num(p.p50),
                    num(p.p95),
                ]);
            }
        }
    }
    csv_table(&MONTHLY_HEADER, rows)
}

/// Header of `funnel.csv`.
pub const FUNNEL_HEADER: [&str; 8] = [
    "strategy", "segment", "stage", "index", "mean", "p5", "p50", "p95",
];

/// `funnel.csv`: entries per stage, per strategy (segment empty) and, from
/// the handoff stage on, per segment.
pub fn funnel_csv(scn: &Scenario, analysis: &Analysis) -> Result<Vec<u8>, OutputError> {
    let mut rows = Vec::new();
    let stage = |i: usize| scn.funnel.stages.get(i).cloned().unwrap_or_default();
    for st in &analysis.strategies {
        let mut push = |segment: &str, f: &crate::analysis::FunnelStage| {
            rows.push(vec![
                st.name.clone(),
                segment.to_string(),
                stage(f.stage),
                f.stage.to_string(),
                num(f.point.mean),
                num(f.point.p5),
                num(f.point.p50),
                num(f.point.p95),
            ]);
        };
        for f in &st.funnel {
            push("", f);
        }
        for g in &st.segments {
            for f in &g.funnel {
                push(&g.name, f);
            }
        }
    }
    csv_table(&FUNNEL_HEADER, rows)
}

/// Header of `segments.csv`: `summary.csv`'s with a `segment` column.
pub fn segments_header() -> Vec<&'static str> {
    let mut h = vec!["strategy", "segment"];
    h.extend_from_slice(&SUMMARY_HEADER[1..]);
    h
}

/// `segments.csv`: per strategy, segment and metric the `summary.csv`
/// statistics (no rows without segments).
pub fn segments_csv(analysis: &Analysis) -> Result<Vec<u8>, OutputError> {
    let mut rows = Vec::new();
    for st in &analysis.strategies {
        for g in &st.segments {
            for ms in &g.metrics {
                rows.push(metric_row(vec![st.name.clone(), g.name.clone()], ms));
            }
        }
    }
    csv_table(&segments_header(), rows)
}

/// Header of `quarterly.csv`.
pub const QUARTERLY_HEADER: [&str; 12] = [
    "strategy", "quarter", "label", "months", "quota", "metric", "mean", "p5", "p50", "p95",
    "target", "p_target",
];

/// `quarterly.csv`: one row per strategy, quarter and quarterly metric.
pub fn quarterly_csv(analysis: &Analysis) -> Result<Vec<u8>, OutputError> {
    let mut rows = Vec::new();
    for st in &analysis.strategies {
        for (q, qs) in st.quarters.iter().enumerate() {
            for v in &qs.values {
                let (target, p) = match v.target {
                    Some((t, p)) => (num(t), num(p.p)),
                    None => (String::new(), String::new()),
                };
                rows.push(vec![
                    st.name.clone(),
                    q.to_string(),
                    qs.label.clone(),
                    qs.months.to_string(),
                    qs.quota.map(num).unwrap_or_default(),
                    v.metric.name().to_string(),
                    num(v.point.mean),
                    num(v.point.p5),
                    num(v.point.p50),
                    num(v.point.p95),
                    target,
                    p,
                ]);
            }
        }
    }
    csv_table(&QUARTERLY_HEADER, rows)
}

/// Header of `trials.csv`: `trial`, `strategy`, then one column per metric.
pub fn trials_header() -> Vec<&'static str> {
    let mut header = vec!["trial", "strategy"];
    header.extend(Metric::ALL.iter().map(|m| m.name()));
    header
}

/// `trials.csv` of kept trials: one row per trial and strategy.
pub fn trials_csv(scn: &Scenario, sim: &SimResults) -> Result<Vec<u8>, OutputError> {
    let mut rows = Vec::with_capacity(sim.trials as usize * sim.strategies.len());
    for t in 0..sim.trials as usize {
        for (st, res) in scn.strategies.iter().zip(&sim.strategies) {
            let mut row = vec![t.to_string(), st.name.clone()];
            row.extend(Metric::ALL.iter().map(|m| num(res.metric(*m)[t])));
            rows.push(row);
        }
    }
    csv_table(&trials_header(), rows)
}

/// Header of a what-if CSV.
pub const WHATIF_HEADER: [&str; 17] = [
    "strategy",
    "metric",
    "trials",
    "plan_mean",
    "changed_mean",
    "change_mean",
    "change_ci_low",
    "change_ci_high",
    "change_pct",
    "change_p5",
    "change_p50",
    "change_p95",
    "p_better",
    "p_better_ci_low",
    "p_better_ci_high",
    "p_worse",
    "changes",
];

/// What-if rows: one per strategy and metric; `changes` lists the
/// overrides (`--scale PATH=1.3; --set ...`).
pub fn whatif_rows(w: &WhatIf) -> Vec<Vec<String>> {
    let changes = w.scenario.overrides.join("; ");
    w.rows
        .iter()
        .map(|r| {
            let c = &r.change;
            vec![
                w.strategy_name(r.strategy).to_string(),
                r.metric.name().to_string(),
                w.scenario.trials.to_string(),
                num(r.plan_mean),
                num(r.changed_mean),
                num(c.mean),
                num(c.ci_low),
                num(c.ci_high),
                num(r.change_pct()),
                num(c.quantiles[0]),
                num(c.quantiles[3]),
                num(c.quantiles[6]),
                num(r.p_better.p),
                num(r.p_better.low),
                num(r.p_better.high),
                num(r.p_worse.p),
                changes.clone(),
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_plain_decimals() {
        assert_eq!(num(1e21), "1000000000000000000000");
        assert_eq!(num(1.5e-7), "0.00000015");
        assert_eq!(num(-0.0), "0");
        assert_eq!(num(f64::NAN), "");
        assert_eq!(num(0.1 + 0.2).parse::<f64>().unwrap(), 0.1 + 0.2);
    }
}
