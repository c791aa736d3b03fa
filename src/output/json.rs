//! The JSON documents of `run`, `whatif` and `sweep --format json`.
//!
//! Undefined numbers (no target, an undefined ROI) are `null`, never a
//! non-finite number.

use crate::analysis::Analysis;
use crate::experiment::{
    Objective, PrecisionReached, Sweep, WhatIf, best_point, crossovers, near_best,
};
use crate::scenario::Scenario;
use crate::stats::{Proportion, QUANTILES, Summary};

/// A number for JSON: `null` when undefined.
fn jnum(x: f64) -> serde_json::Value {
    if x.is_finite() {
        serde_json::Value::from(x)
    } else {
        serde_json::Value::Null
    }
}

fn summary_json(s: &Summary) -> serde_json::Value {
    let mut q = serde_json::Map::new();
    for (v, (_, name)) in s.quantiles.iter().zip(QUANTILES) {
        q.insert(name.to_string(), jnum(*v));
    }
    serde_json::json!({
        "trials": s.n,
        "mean": jnum(s.mean),
        "sd": jnum(s.sd),
        "se": jnum(s.se),
        "mean_ci": [jnum(s.ci_low), jnum(s.ci_high)],
        "quantiles": q,
        "interval": [jnum(s.interval_low), jnum(s.interval_high)],
    })
}

fn prop_json(p: &Proportion) -> serde_json::Value {
    serde_json::json!({ "p": jnum(p.p), "ci": [jnum(p.low), jnum(p.high)] })
}

/// The whole result of a run as JSON (for `run --format json`).
pub fn analysis_json(
    scn: &Scenario,
    a: &Analysis,
    precision: Option<&PrecisionReached>,
) -> serde_json::Value {
    let strategies: Vec<serde_json::Value> = a
        .strategies
        .iter()
        .map(|st| {
            let mut metrics = serde_json::Map::new();
            for ms in &st.metrics {
                let mut v = summary_json(&ms.summary);
                if let (Some((t, p)), Some(obj)) = (&ms.target, v.as_object_mut()) {
                    obj.insert("target".into(), jnum(*t));
                    obj.insert("p_target".into(), prop_json(p));
                }
                metrics.insert(ms.metric.name().to_string(), v);
            }
            let point = |p: &crate::analysis::MonthlyPoint| {
                serde_json::json!({
                    "mean": jnum(p.mean), "p5": jnum(p.p5), "p50": jnum(p.p50), "p95": jnum(p.p95),
                })
            };
            let stage = |f: &crate::analysis::FunnelStage| {
                let mut v = point(&f.point);
                if let Some(o) = v.as_object_mut() {
                    o.insert(
                        "stage".into(),
                        scn.funnel
                            .stages
                            .get(f.stage)
                            .cloned()
                            .unwrap_or_default()
                            .into(),
                    );
                }
                v
            };
            let segments: Vec<serde_json::Value> = st
                .segments
                .iter()
                .map(|g| {
                    let metrics: serde_json::Map<String, serde_json::Value> = g
                        .metrics
                        .iter()
                        .map(|ms| (ms.metric.name().to_string(), summary_json(&ms.summary)))
                        .collect();
                    serde_json::json!({
                        "name": g.name,
                        "metrics": metrics,
                        "funnel": g.funnel.iter().map(stage).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let quarters: Vec<serde_json::Value> = st
                .quarters
                .iter()
                .map(|q| {
                    let values: serde_json::Map<String, serde_json::Value> = q
                        .values
                        .iter()
                        .map(|v| {
                            let mut x = point(&v.point);
                            if let (Some((t, p)), Some(o)) = (&v.target, x.as_object_mut()) {
                                o.insert("target".into(), jnum(*t));
                                o.insert("p_target".into(), prop_json(p));
                            }
                            (v.metric.name().to_string(), x)
                        })
                        .collect();
                    serde_json::json!({
                        "label": q.label,
                        "months": q.months,
                        "quota": q.quota.map(jnum),
                        "metrics": values,
                    })
                })
                .collect();
            serde_json::json!({
                "name": st.name,
                "label": st.label,
                "cac": jnum(st.cac),
                "loaded_cac": jnum(st.loaded_cac),
                "metrics": metrics,
                "funnel": st.funnel.iter().map(stage).collect::<Vec<_>>(),
                "segments": segments,
                "quarters": quarters,
            })
        })
        .collect();
    let comparisons: Vec<serde_json::Value> = a
        .comparisons
        .iter()
        .map(|c| {
            serde_json::json!({
                "strategy": a.strategies[c.strategy].name,
                "baseline": a.strategies[c.baseline].name,
                "metric": c.metric.name(),
                "diff": summary_json(&c.diff),
                "p_beats": prop_json(&c.p_beats),
            })
        })
        .collect();
    serde_json::json!({
        "scenario": scn.name,
        "file": scn.file.display().to_string(),
        "seed": scn.seed,
        "trials": a.trials,
        "ci": a.ci,
        "interval": a.interval,
        "overrides": scn.overrides,
        "quantiles": if a.quantiles_exact { "exact" } else { "sketch" },
        "precision": precision.map(|p| serde_json::json!({
            "metric": p.metric.name(),
            "target": p.target,
            "reached": jnum(p.worst),
            "met": p.met,
        })),
        "baseline": a.strategies[a.baseline].name,
        "strategies": strategies,
        "comparisons": comparisons,
        "warnings": a.warnings,
    })
}

/// A what-if as JSON.
pub fn whatif_json(w: &WhatIf) -> serde_json::Value {
    let scn = &w.scenario;
    let rows: Vec<serde_json::Value> = w
        .rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "strategy": w.strategy_name(r.strategy),
                "metric": r.metric.name(),
                "plan_mean": jnum(r.plan_mean),
                "changed_mean": jnum(r.changed_mean),
                "change": summary_json(&r.change),
                "change_pct": jnum(r.change_pct()),
                "p_better": prop_json(&r.p_better),
                "p_worse": prop_json(&r.p_worse),
            })
        })
        .collect();
    let decisions: Vec<serde_json::Value> = w
        .decisions
        .iter()
        .map(|d| {
            serde_json::json!({
                "strategy": w.strategy_name(d.strategy),
                "baseline": w.strategy_name(d.baseline),
                "metric": d.metric.name(),
                "plan_diff": summary_json(&d.plan_diff),
                "changed_diff": summary_json(&d.changed_diff),
                "plan_p_beats": prop_json(&d.plan_beats),
                "changed_p_beats": prop_json(&d.changed_beats),
                "material": d.material(),
            })
        })
        .collect();
    let preferred: Vec<serde_json::Value> = w
        .preferred
        .iter()
        .map(|p| {
            serde_json::json!({
                "metric": p.metric.name(),
                "plan": w.strategy_name(p.plan),
                "changed": w.strategy_name(p.changed),
            })
        })
        .collect();
    serde_json::json!({
        "scenario": scn.name,
        "file": scn.file.display().to_string(),
        "seed": scn.seed,
        "trials": scn.trials,
        "ci": scn.ci,
        "changes": scn.overrides,
        "rows": rows,
        "decision": decisions,
        "preferred": preferred,
    })
}

/// A sweep as JSON: its axes, then per point the axis values and the
/// point's whole analysis (as `run --format json` gives it).
pub fn sweep_json(sw: &Sweep) -> serde_json::Value {
    let axes: Vec<serde_json::Value> = sw
        .axes
        .iter()
        .map(|a| serde_json::json!({ "column": a.column(), "values": a.values }))
        .collect();
    let points: Vec<serde_json::Value> = sw
        .points
        .iter()
        .zip(&sw.runs)
        .enumerate()
        .map(|(i, (idx, run))| {
            let mut values = serde_json::Map::new();
            for (a, &k) in sw.axes.iter().zip(idx) {
                values.insert(a.column(), a.values[k].clone().into());
            }
            let mut objective = serde_json::Map::new();
            for (k, st) in sw.base.strategies.iter().enumerate() {
                objective.insert(st.name.clone(), objective_json(sw.objective, run, k));
            }
            serde_json::json!({
                "point": i,
                "values": values,
                "objective": objective,
                "analysis": analysis_json(&sw.base, run, None),
            })
        })
        .collect();
    let best: Vec<serde_json::Value> = sw
        .base
        .strategies
        .iter()
        .enumerate()
        .map(|(k, st)| {
            let point = best_point(&sw.runs, sw.objective, k);
            let mut b = serde_json::json!({
                "strategy": st.name,
                "point": point,
            });
            if let (Some(p), Some(obj)) = (point, b.as_object_mut()) {
                obj.insert(
                    "objective".into(),
                    objective_json(sw.objective, &sw.runs[p], k),
                );
                if let Objective::PTarget(_) = sw.objective {
                    obj.insert(
                        "within_interval".into(),
                        near_best(&sw.runs, sw.objective, k).into(),
                    );
                }
            }
            b
        })
        .collect();
    let name = |k: usize| sw.base.strategies.get(k).map(|s| s.name.clone());
    let crossings: Vec<serde_json::Value> = crossovers(
        &sw.axes,
        &sw.points,
        &sw.runs,
        sw.objective,
        sw.base.baseline,
        sw.base.strategies.len(),
    )
    .iter()
    .map(|c| {
        serde_json::json!({
            "strategy": name(c.strategy),
            "baseline": name(c.baseline),
            "from_point": c.from_point,
            "to_point": c.to_point,
            "diff_from": jnum(c.diff_from),
            "diff_to": jnum(c.diff_to),
            "at": c.at.map(jnum),
        })
    })
    .collect();
    serde_json::json!({
        "scenario": sw.base.name,
        "file": sw.base.file.display().to_string(),
        "seed": sw.base.seed,
        "trials": sw.base.trials,
        "objective": sw.objective.to_string(),
        "axes": axes,
        "points": points,
        "best": best,
        "crossovers": crossings,
    })
}

/// The objective of one strategy at one point: `{"value": x}`, and for a
/// P(target) objective its Wilson interval (`"ci": [low, high]`).
fn objective_json(objective: Objective, a: &Analysis, strategy: usize) -> serde_json::Value {
    match objective.proportion(a, strategy) {
        Some(p) => serde_json::json!({ "value": jnum(p.p), "ci": [jnum(p.low), jnum(p.high)] }),
        None => serde_json::json!({ "value": jnum(objective.value(a, strategy)) }),
    }
}
