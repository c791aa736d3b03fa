//! The terminal report of `pipesim run` and the scenario description of
//! `pipesim validate`.
//!
//! The report is compact: per strategy the key metrics as mean ± CI of the
//! mean and the central outcome interval, then each strategy against the
//! baseline (paired difference and P(beats)), then one sentence that states
//! the answer. Numbers are rounded for reading; the CSVs carry full precision.

use std::fmt::Write as _;

use crate::analysis::{Analysis, StrategyStats};
use crate::dist::Dist;
use crate::experiment::{
    Axis, Batch, Objective, PrecisionReached, Sweep, WhatIf, best_point, crossovers, near_best,
    point_ranges,
};
use crate::metrics::Metric;
pub use crate::metrics::thousands;
use crate::scenario::{Param, Scenario, Volume};
use crate::stats::Proportion;

/// Metrics shown in the terminal report, in order.
pub const KEY_METRICS: [Metric; 9] = [
    Metric::Bookings,
    Metric::Revenue,
    Metric::ArrEnd,
    Metric::PipelineCreated,
    Metric::WonDeals,
    Metric::MqlsIgnored,
    Metric::Cost,
    Metric::Roi,
    Metric::Opportunities,
];

/// Text with its control characters (ESC, BEL, CR, … but not newline or
/// tab) and bidirectional overrides written as visible escapes (`\u{1b}`),
/// so a label or a name cannot move the cursor, clear the screen, set the
/// window title or reorder what a terminal shows.
pub fn escape_controls(s: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !s.chars().any(bad) {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if bad(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out.into()
}

/// A metric value for reading: ROI as a percentage, small counts with one
/// decimal, everything else as a whole number with separators.
pub fn fmt_value(m: Metric, x: f64) -> String {
    if !x.is_finite() {
        return "n/a".to_string();
    }
    match m {
        Metric::Roi | Metric::GtmRoi => format!("{:.1}%", 100.0 * x),
        // small counts: one decimal for means, none for whole numbers
        _ if !m.is_money() && x.abs() < 1000.0 => {
            if x.fract() != 0.0 {
                format!("{x:.1}")
            } else {
                format!("{x:.0}")
            }
        }
        _ => thousands(x),
    }
}

/// [`fmt_value`] with a `+` on positive values.
pub(crate) fn signed(m: Metric, x: f64) -> String {
    let s = fmt_value(m, x);
    if x > 0.0 && !s.starts_with('-') {
        format!("+{s}")
    } else {
        s
    }
}

pub(crate) fn pct(p: f64) -> String {
    format!("{:.1}%", 100.0 * p)
}

fn prop(p: &Proportion) -> String {
    format!("{} [{}, {}]", pct(p.p), pct(p.low), pct(p.high))
}

/// A level as a percentage: `95%`, `97.5%`.
pub(crate) fn level(x: f64) -> String {
    let p = 100.0 * x;
    if (p - p.round()).abs() < 1e-9 {
        format!("{p:.0}%")
    } else {
        format!("{p}%")
    }
}

/// Render the report of a run.
pub fn render(scn: &Scenario, a: &Analysis) -> String {
    let mut o = String::new();
    let ci = level(a.ci);
    let iv = level(a.interval);
    let _ = writeln!(o, "{}", scn.name);
    let horizon = match scn.start {
        Some(_) => format!(
            "{} months ({} to {})",
            scn.horizon,
            scn.month_label(0),
            scn.month_label(scn.horizon - 1)
        ),
        None => format!("{} months", scn.horizon),
    };
    let _ = writeln!(
        o,
        "{} trials, seed {}, horizon {horizon}",
        thousands(a.trials as f64),
        scn.seed
    );
    for ov in &scn.overrides {
        let _ = writeln!(o, "changed: {ov}");
    }
    if !a.quantiles_exact {
        let _ = writeln!(
            o,
            "quantiles and intervals from a quantile sketch (relative error <= {}%); means and CIs exact",
            100.0 * crate::accum::sketch::RELATIVE_ACCURACY
        );
    }
    let _ = writeln!(
        o,
        "mean ± half-width of the {ci} CI of the mean (Monte Carlo precision); {iv} of outcomes fall in the interval"
    );
    for (i, st) in a.strategies.iter().enumerate() {
        let tag = if i == a.baseline { ", baseline" } else { "" };
        let _ = writeln!(o, "\n{} [{}{tag}]", st.label, st.name);
        let _ = writeln!(
            o,
            "  {:<18} {:>26}   {:>29}",
            "metric",
            "mean ± CI",
            format!("{iv} outcome interval")
        );
        for m in KEY_METRICS.into_iter().chain(extra_metrics(scn, st)) {
            let Some(ms) = st.get(m) else { continue };
            let s = &ms.summary;
            let _ = writeln!(
                o,
                "  {:<18} {:>26}   {:>29}",
                m.name(),
                format!(
                    "{} ± {}",
                    fmt_value(m, s.mean),
                    fmt_value(m, s.ci_half_width())
                ),
                format!(
                    "{} to {}",
                    fmt_value(m, s.interval_low),
                    fmt_value(m, s.interval_high)
                ),
            );
        }
        let _ = writeln!(o, "  {:<18} {:>26}", "CAC (aggregate)", thousands(st.cac));
        if st
            .get(Metric::SalesCost)
            .is_some_and(|m| m.summary.mean > 0.0)
        {
            let _ = writeln!(
                o,
                "  {:<18} {:>26}",
                "CAC (fully loaded)",
                thousands(st.loaded_cac)
            );
        }
        let _ = writeln!(o, "{}", funnel_line(scn, st));
        for ms in &st.metrics {
            if let Some((t, p)) = &ms.target {
                let _ = writeln!(
                    o,
                    "  P({} >= {}) = {} ({ci} CI)",
                    ms.metric.name(),
                    fmt_value(ms.metric, *t),
                    prop(p)
                );
            }
        }
    }
    if !scn.segments.is_empty() {
        o.push_str(&segment_table(a));
    }
    if let Some(quota) = &scn.quota {
        o.push_str(&coverage_table(a, quota.coverage_target));
    }
    let base = &a.strategies[a.baseline];
    for (i, st) in a.strategies.iter().enumerate() {
        if i == a.baseline {
            continue;
        }
        let _ = writeln!(
            o,
            "\n{} vs {} (paired, {} − {})",
            st.name, base.name, st.name, base.name
        );
        let _ = writeln!(
            o,
            "  {:<18} {:>38}   {:>26}",
            "metric",
            format!("mean difference [{ci} CI]"),
            format!("P({} better) [{ci} CI]", st.name)
        );
        for m in KEY_METRICS.into_iter().chain(extra_metrics(scn, st)) {
            let Some(c) = a.comparison(i, m) else {
                continue;
            };
            let d = &c.diff;
            let _ = writeln!(
                o,
                "  {:<18} {:>38}   {:>26}",
                m.name(),
                format!(
                    "{} [{}, {}]",
                    signed(m, d.mean),
                    signed(m, d.ci_low),
                    signed(m, d.ci_high)
                ),
                prop(&c.p_beats)
            );
        }
    }
    let _ = writeln!(o, "\n{}", answer(scn, a));
    o
}

/// The v2 metrics worth a line in the report of this scenario: nurture's
/// re-entries when a strategy nurtures, the sales cost and GTM ROI when a
/// team costs something, the company totals with a book or a warm-up.
fn extra_metrics(scn: &Scenario, st: &StrategyStats) -> Vec<Metric> {
    let sales_cost = st.get(Metric::SalesCost).map_or(0.0, |m| m.summary.mean);
    v2_metrics(scn, sales_cost)
}

/// [`extra_metrics`] given the strategy's mean sales cost.
fn v2_metrics(scn: &Scenario, sales_cost: f64) -> Vec<Metric> {
    let mut v = Vec::new();
    if scn.strategies.iter().any(|s| s.nurture.is_some()) {
        v.push(Metric::MqlsRejected);
        v.push(Metric::MqlsRecycled);
    }
    if sales_cost > 0.0 {
        v.push(Metric::SalesCost);
        v.push(Metric::GtmRoi);
    }
    if scn.has_book() || scn.warmup.is_some() {
        v.extend([
            Metric::TotalBookings,
            Metric::TotalRevenue,
            Metric::TotalArrEnd,
        ]);
    }
    v
}

/// The funnel's mean entries per stage: `lead 10,450 > mql 2,100 > …`.
fn funnel_line(scn: &Scenario, st: &StrategyStats) -> String {
    let stages: Vec<String> = st
        .funnel
        .iter()
        .map(|f| {
            let name = scn.funnel.stages.get(f.stage).map_or("?", String::as_str);
            format!(
                "{} {}",
                escape_controls(name),
                fmt_value(Metric::Leads, f.point.mean)
            )
        })
        .collect();
    wrap("  funnel (mean entries): ", &stages, " > ", 100)
}

/// `items` joined by `sep` after `head`, wrapped before `width` columns.
fn wrap(head: &str, items: &[String], sep: &str, width: usize) -> String {
    let mut out = head.to_string();
    let mut line = head.chars().count();
    let indent = " ".repeat(4);
    for (i, item) in items.iter().enumerate() {
        let piece = if i == 0 {
            item.clone()
        } else {
            format!("{sep}{item}")
        };
        if i > 0 && line + piece.chars().count() > width {
            out.push_str(sep.trim_end());
            out.push('\n');
            out.push_str(&indent);
            out.push_str(item);
            line = indent.len() + item.chars().count();
        } else {
            line += piece.chars().count();
            out.push_str(&piece);
        }
    }
    out
}

/// Per strategy and segment: the mean of the segment's key metrics.
fn segment_table(a: &Analysis) -> String {
    let mut o = String::new();
    let cols = [
        Metric::Mqls,
        Metric::MqlsIgnored,
        Metric::Opportunities,
        Metric::WonDeals,
        Metric::Bookings,
        Metric::Revenue,
    ];
    let _ = writeln!(o, "\nBy segment (means)");
    let mut header = format!("  {:<22}", "strategy / segment");
    for m in cols {
        let _ = write!(header, " {:>12}", m.name());
    }
    let _ = writeln!(o, "{header}");
    for st in &a.strategies {
        for g in &st.segments {
            let mut line = format!("  {:<22}", clip(&format!("{} / {}", st.name, g.name), 22));
            for m in cols {
                let x = g.get(m).map_or(f64::NAN, |s| s.summary.mean);
                let _ = write!(line, " {:>12}", fmt_value(m, x));
            }
            let _ = writeln!(o, "{line}");
        }
    }
    o
}

/// The quarterly coverage table of each strategy: mean coverage of this
/// quarter and the next at the quarter's start, P(coverage ≥ target) for
/// both, and the mean attainment.
fn coverage_table(a: &Analysis, target: f64) -> String {
    use crate::metrics::QuarterMetric as Q;
    let mut o = String::new();
    let t = format!("{}x", trim_number(target));
    let _ = writeln!(
        o,
        "\nQuarterly pipeline coverage at the quarter's start (pipeline / quota; P = P(coverage >= {t}))"
    );
    for st in &a.strategies {
        let _ = writeln!(o, "  {}", escape_controls(&st.name));
        let _ = writeln!(
            o,
            "    {:<18} {:>12} {:>9} {:>8} {:>9} {:>8} {:>11}",
            "quarter", "quota", "coverage", "P", "next q", "P", "attainment"
        );
        for q in &st.quarters {
            let mean = |m: Q| q.get(m).map(|v| v.point.mean);
            let p = |m: Q| q.get(m).and_then(|v| v.target.map(|(_, p)| pct(p.p)));
            let cov = |m: Q| mean(m).map_or("-".to_string(), |x| format!("{x:.2}x"));
            let _ = writeln!(
                o,
                "    {:<18} {:>12} {:>9} {:>8} {:>9} {:>8} {:>11}",
                q.label,
                q.quota.map_or("-".to_string(), thousands),
                cov(Q::Coverage),
                p(Q::Coverage).unwrap_or_else(|| "-".into()),
                cov(Q::CoverageNext),
                p(Q::CoverageNext).unwrap_or_else(|| "-".into()),
                mean(Q::Attainment).map_or("-".to_string(), pct),
            );
        }
    }
    o
}

fn clip(s: &str, n: usize) -> String {
    let s = escape_controls(s);
    if s.chars().count() <= n {
        s.into_owned()
    } else {
        let mut c: String = s.chars().take(n - 1).collect();
        c.push('~');
        c
    }
}

fn trim_number(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Render a what-if: per strategy, how the key metrics move.
pub fn render_whatif(w: &WhatIf) -> String {
    let scn = &w.scenario;
    let mut o = String::new();
    let ci = level(scn.ci);
    let _ = writeln!(o, "{}: what-if against the plan", scn.name);
    for ov in &scn.overrides {
        let _ = writeln!(o, "changed: {ov}");
    }
    let _ = writeln!(
        o,
        "{} trials, seed {}, same random numbers for plan and change (paired, change = changed − plan)",
        thousands(scn.trials as f64),
        scn.seed
    );
    for (s, name) in scn.strategies.iter().map(|st| &st.name).enumerate() {
        let _ = writeln!(o, "\n{name}");
        let _ = writeln!(
            o,
            "  {:<18} {:>14} {:>14} {:>38} {:>8}   {:>24} {:>9}",
            "metric",
            "plan",
            "changed",
            format!("change [{ci} CI]"),
            "change",
            format!("P(better) [{ci} CI]"),
            "P(worse)"
        );
        let sales_cost = w
            .rows
            .iter()
            .find(|r| r.strategy == s && r.metric == Metric::SalesCost)
            .map_or(0.0, |r| r.plan_mean.max(r.changed_mean));
        for m in KEY_METRICS.into_iter().chain(v2_metrics(scn, sales_cost)) {
            let Some(r) = w.rows.iter().find(|r| r.strategy == s && r.metric == m) else {
                continue;
            };
            let c = &r.change;
            let pct_change = r.change_pct();
            let _ = writeln!(
                o,
                "  {:<18} {:>14} {:>14} {:>38} {:>8}   {:>24} {:>9}",
                m.name(),
                fmt_value(m, r.plan_mean),
                fmt_value(m, r.changed_mean),
                format!(
                    "{} [{}, {}]",
                    signed(m, c.mean),
                    signed(m, c.ci_low),
                    signed(m, c.ci_high)
                ),
                if m.is_ratio() {
                    // a ratio already: its change is in percentage points
                    format!("{:+.1}pp", 100.0 * c.mean)
                } else if pct_change.is_finite() {
                    format!("{:+.1}%", 100.0 * pct_change)
                } else {
                    "n/a".to_string()
                },
                prop(&r.p_better),
                pct(r.p_worse.p)
            );
        }
        let unchanged = w
            .rows
            .iter()
            .filter(|r| r.strategy == s)
            .all(|r| r.change.mean == 0.0 && r.change.sd == 0.0);
        if unchanged {
            let _ = writeln!(o, "  (unchanged in every trial)");
        }
    }
    render_redecision(&mut o, w);
    o
}

/// The what-if's effect on the decision: each challenger against the
/// baseline in the plan and under the change, and what changed
/// materially (the preferred strategy, or P(beats) by 5 points or more).
fn render_redecision(o: &mut String, w: &WhatIf) {
    if w.decisions.is_empty() {
        return;
    }
    let scn = &w.scenario;
    let ci = level(scn.ci);
    let base = &scn.strategies[scn.baseline].name;
    let sales_cost = w
        .rows
        .iter()
        .filter(|r| r.metric == Metric::SalesCost)
        .map(|r| r.plan_mean.max(r.changed_mean))
        .fold(0.0, f64::max);
    let metrics: Vec<Metric> = KEY_METRICS
        .into_iter()
        .chain(v2_metrics(scn, sales_cost))
        .filter(|m| !matches!(m, Metric::MqlsRecycled))
        .collect();
    let _ = writeln!(
        o,
        "\nThe decision: each strategy against the baseline ({base}), paired, in the plan and under the change"
    );
    let _ = writeln!(
        o,
        "  {:<18} {:<12} {:>14} {:>24}   {:>14} {:>24}",
        "metric",
        "strategy",
        "plan: diff",
        format!("P(beats) [{ci} CI]"),
        "changed: diff",
        format!("P(beats) [{ci} CI]"),
    );
    for m in &metrics {
        for d in w.decisions.iter().filter(|d| d.metric == *m) {
            let _ = writeln!(
                o,
                "  {:<18} {:<12} {:>14} {:>24}   {:>14} {:>24}{}",
                m.name(),
                scn.strategies[d.strategy].name,
                signed(*m, d.plan_diff.mean),
                prop(&d.plan_beats),
                signed(*m, d.changed_diff.mean),
                prop(&d.changed_beats),
                if d.material() { "  *" } else { "" }
            );
        }
    }
    if let Some(p) = w.preferred.iter().find(|p| p.metric == Metric::Bookings) {
        let (a, b) = (
            &scn.strategies[p.plan].name,
            &scn.strategies[p.changed].name,
        );
        let beats = w
            .decisions
            .iter()
            .filter(|d| d.metric == Metric::Bookings)
            .map(|d| {
                format!(
                    "P({} beats {base}) {} → {}",
                    scn.strategies[d.strategy].name,
                    pct(d.plan_beats.p),
                    pct(d.changed_beats.p)
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        if a == b {
            let _ = writeln!(
                o,
                "On bookings, {a} stays preferred under the change: {beats}."
            );
        } else {
            let _ = writeln!(
                o,
                "On bookings, the change reverses the decision: {a} in the plan, {b} under the change; {beats}."
            );
        }
    }
    let mut changes: Vec<String> = Vec::new();
    for p in w.preferred.iter().filter(|p| metrics.contains(&p.metric)) {
        if p.plan != p.changed {
            changes.push(format!(
                "the preferred strategy on {} changes from {} to {}",
                p.metric.name(),
                scn.strategies[p.plan].name,
                scn.strategies[p.changed].name
            ));
        }
    }
    for d in w
        .decisions
        .iter()
        .filter(|d| metrics.contains(&d.metric) && d.material())
    {
        changes.push(format!(
            "P({} beats {base} on {}) moves from {} to {} ({:+.1} points)",
            scn.strategies[d.strategy].name,
            d.metric.name(),
            pct(d.plan_beats.p),
            pct(d.changed_beats.p),
            100.0 * (d.changed_beats.p - d.plan_beats.p)
        ));
    }
    if changes.is_empty() {
        let bookings = w
            .preferred
            .iter()
            .find(|p| p.metric == Metric::Bookings)
            .map_or_else(String::new, |p| {
                format!(" ({} on bookings)", scn.strategies[p.plan].name)
            });
        let _ = writeln!(
            o,
            "The decision does not change materially: on every metric above the preferred strategy stays the same{bookings} and P(beats) moves by less than {:.0} points.",
            100.0 * crate::experiment::MATERIAL_P
        );
    } else {
        let _ = writeln!(o, "The decision changes (* above):");
        for c in changes {
            let _ = writeln!(o, "  - {c}");
        }
    }
}

/// Render a sweep's outcome: the objective per point and strategy, the best
/// point of each strategy and where strategies cross.
pub fn render_sweep(sweep: &Sweep) -> String {
    let (scn, axes, points) = (&sweep.base, &sweep.axes, &sweep.points);
    let (analyses, objective) = (&sweep.runs, sweep.objective);
    let mut o = String::new();
    let names: Vec<&str> = scn.strategies.iter().map(|s| s.name.as_str()).collect();
    let _ = writeln!(
        o,
        "{}: sweep of {} points, {} trials each, seed {} (same random numbers at every point)",
        scn.name,
        points.len(),
        thousands(analyses.first().map_or(0.0, |a| a.trials as f64)),
        scn.seed
    );
    for ov in &scn.overrides {
        let _ = writeln!(o, "changed at every point: {ov}");
    }
    match objective {
        Objective::PTarget(_) => {
            let _ = writeln!(
                o,
                "objective: {objective}, with its {} Wilson interval\n",
                level(scn.ci)
            );
        }
        Objective::Mean(_) => {
            let _ = writeln!(o, "objective: {objective}\n");
        }
    }
    // the objective at point `a` for strategy `s`: a P(target) with its
    // interval, or a mean
    let fmt_obj = |a: &Analysis, s: usize| match objective {
        Objective::Mean(m) => fmt_value(m, objective.value(a, s)),
        Objective::PTarget(_) => objective
            .proportion(a, s)
            .map_or_else(|| "n/a".to_string(), |p| prop(&p)),
    };
    let width = match objective {
        Objective::Mean(_) => 16,
        Objective::PTarget(_) => 24,
    };
    let mut header = format!("  {:>5}", "point");
    for a in axes {
        let _ = write!(header, " {:>18}", a.column());
    }
    for n in &names {
        let _ = write!(header, " {n:>width$}");
    }
    let _ = writeln!(o, "{header}");
    for (p, (idx, a)) in points.iter().zip(analyses).enumerate() {
        let mut line = format!("  {p:>5}");
        for (axis, &i) in axes.iter().zip(idx) {
            let _ = write!(line, " {:>18}", axis.values[i]);
        }
        for s in 0..names.len() {
            let _ = write!(line, " {:>width$}", fmt_obj(a, s));
        }
        let _ = writeln!(o, "{line}");
    }
    let _ = writeln!(o);
    let point_text = |p: usize| {
        axes.iter()
            .zip(&points[p])
            .map(|(a, &i)| format!("{}={}", a.column(), a.values[i]))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (s, n) in names.iter().enumerate() {
        match best_point(analyses, objective, s) {
            Some(p) => {
                let near = near_best(analyses, objective, s);
                let within = if near.len() > 1 {
                    format!("; points {} are within its interval", point_ranges(&near))
                } else {
                    String::new()
                };
                let _ = writeln!(
                    o,
                    "best for {n}: point {p} ({}): {}{within}",
                    point_text(p),
                    fmt_obj(&analyses[p], s)
                );
            }
            None => {
                let _ = writeln!(o, "best for {n}: objective undefined at every point");
            }
        }
    }
    if names.len() > 1 {
        let cross = crossovers(axes, points, analyses, objective, scn.baseline, names.len());
        let base = names[scn.baseline];
        if cross.is_empty() {
            let _ = writeln!(
                o,
                "no crossover: along {} no strategy changes side against {base}",
                axes.first().map_or(String::new(), Axis::column)
            );
        }
        for c in cross {
            let n = names[c.strategy];
            let (lead_before, lead_after) = if objective.higher_is_better() {
                (c.diff_from > 0.0, c.diff_to > 0.0)
            } else {
                (c.diff_from < 0.0, c.diff_to < 0.0)
            };
            let verb = match (lead_before, lead_after) {
                (false, true) => format!("{n} overtakes {base}"),
                (true, false) => format!("{base} overtakes {n}"),
                _ => format!("{n} and {base} swap"),
            };
            let at =
                c.at.map(|x| format!(" at about {} = {}", axes[0].column(), thousands_or_small(x)))
                    .unwrap_or_default();
            let _ = writeln!(
                o,
                "crossover: {verb}{at}, between point {} ({}) and point {} ({})",
                c.from_point,
                point_text(c.from_point),
                c.to_point,
                point_text(c.to_point)
            );
        }
    }
    o
}

/// One sentence that states the answer on bookings.
pub fn answer(scn: &Scenario, a: &Analysis) -> String {
    let m = Metric::Bookings;
    let base = &a.strategies[a.baseline];
    let mean = |s: &StrategyStats| s.get(m).map_or(f64::NAN, |x| x.summary.mean);
    let ci = level(a.ci);
    if a.strategies.len() == 1 {
        let s = &base.get(m).map(|x| x.summary.clone());
        return match s {
            Some(s) => format!(
                "Answer: {} books {} on average over {} months ({} of outcomes between {} and {}).",
                base.label,
                thousands(s.mean),
                scn.horizon,
                level(a.interval),
                thousands(s.interval_low),
                thousands(s.interval_high)
            ),
            None => "Answer: no bookings were computed.".to_string(),
        };
    }
    // the best challenger by mean bookings
    let Some((best, _)) = a
        .strategies
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != a.baseline)
        .max_by(|x, y| mean(x.1).total_cmp(&mean(y.1)))
    else {
        return String::new();
    };
    let Some(c) = a.comparison(best, m) else {
        return String::new();
    };
    let st = &a.strategies[best];
    let d = &c.diff;
    let others = if a.strategies.len() > 2 {
        format!(
            " (the best of {} challengers by mean bookings)",
            a.strategies.len() - 1
        )
    } else {
        String::new()
    };
    if d.ci_low > 0.0 || d.ci_high < 0.0 {
        let more = if d.mean > 0.0 { "more" } else { "less" };
        format!(
            "Answer: over {} months, {}{others} books {more} than {}: {} on average ({ci} CI {} to {}), and more in {} of trials ({ci} CI {} to {}).",
            scn.horizon,
            st.label,
            base.label,
            signed(m, d.mean),
            signed(m, d.ci_low),
            signed(m, d.ci_high),
            pct(c.p_beats.p),
            pct(c.p_beats.low),
            pct(c.p_beats.high)
        )
    } else {
        format!(
            "Answer: over {} months, {}{others} and {} cannot be told apart on bookings at {} trials: difference {} ({ci} CI {} to {}); {} books more in {} of trials.",
            scn.horizon,
            st.label,
            base.label,
            thousands(a.trials as f64),
            signed(m, d.mean),
            signed(m, d.ci_low),
            signed(m, d.ci_high),
            st.label,
            pct(c.p_beats.p)
        )
    }
}

fn describe_param(p: &Param) -> String {
    match p.dist {
        Dist::Fixed(x) => thousands_or_small(x),
        _ => format!(
            "{} (uncertain, mean {})",
            p.written,
            thousands_or_small(p.dist.mean())
        ),
    }
}

fn thousands_or_small(x: f64) -> String {
    if x.abs() >= 1000.0 {
        thousands(x)
    } else {
        format!("{}", (x * 1e4).round() / 1e4)
    }
}

/// Human description of a scenario, for `pipesim validate`.
pub fn describe(scn: &Scenario) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{}: valid", scn.file.display());
    let _ = writeln!(o, "  name: {}", scn.name);
    let _ = writeln!(
        o,
        "  horizon: {} months{}; {} trials, seed {}; CI {}, outcome interval {}",
        scn.horizon,
        scn.start
            .map(|_| format!(" from {}", scn.month_label(0)))
            .unwrap_or_default(),
        thousands(scn.trials as f64),
        scn.seed,
        level(scn.ci),
        level(scn.interval)
    );
    let f = &scn.funnel;
    let _ = writeln!(
        o,
        "  funnel: {} (sales works '{}', pipeline from '{}')",
        f.stages.join(" → "),
        f.stages[f.handoff],
        f.stages[f.pipeline]
    );
    match &scn.sales {
        Some(s) => {
            let _ = writeln!(
                o,
                "  sales: {} reps × {} per rep a month",
                describe_param(&s.reps),
                describe_param(&s.mql_capacity_per_rep)
            );
        }
        None => {
            let _ = writeln!(o, "  sales: unlimited capacity (no [sales] table)");
        }
    }
    let _ = writeln!(
        o,
        "  shared: demand {}, churn {}/month, expansion {}/month",
        describe_param(&scn.market.demand),
        describe_param(&scn.revenue.churn_monthly),
        describe_param(&scn.revenue.expansion_monthly)
    );
    if scn.has_book() {
        let _ = writeln!(
            o,
            "  existing book: starting ARR {}",
            describe_param(&scn.revenue.starting_arr)
        );
    }
    if let Some(w) = scn.warmup {
        let _ = writeln!(
            o,
            "  warm-up: {} months of strategy {} before month 0 (the same open pipeline in every strategy)",
            w.months,
            scn.strategies
                .get(w.strategy)
                .map_or("?", |s| s.name.as_str())
        );
    }
    if let Some(q) = &scn.quota {
        let quotas: Vec<String> = q
            .per_quarter
            .iter()
            .map(|x| thousands_or_small(*x))
            .collect();
        let _ = writeln!(
            o,
            "  quota per quarter: {}; coverage target {}x",
            quotas.join(", "),
            thousands_or_small(q.coverage_target)
        );
    }
    for g in &scn.segments {
        let team = match &g.sales {
            Some(s) => format!(
                "own team {} reps × {} per rep",
                describe_param(&s.reps),
                describe_param(&s.mql_capacity_per_rep)
            ),
            None => "the strategy's team".to_string(),
        };
        let mut own: Vec<String> = Vec::new();
        for (what, p) in [
            ("deal size", &g.deal_size),
            ("cycle days", &g.cycle_days),
            ("lost cycle days", &g.lost_cycle_days),
        ] {
            if let Some(p) = p {
                own.push(format!("{what} {}", describe_param(p)));
            }
        }
        let own = if own.is_empty() {
            String::new()
        } else {
            format!("; per deal (replacing the channel's): {}", own.join(", "))
        };
        let _ = writeln!(
            o,
            "  segment {}: win odds ratio {}; {team}{own}",
            g.name,
            describe_param(&g.win_odds_ratio)
        );
    }
    for (t_metric, t) in &scn.targets {
        let _ = writeln!(
            o,
            "  target: {} >= {}",
            t_metric.name(),
            thousands_or_small(*t)
        );
    }
    // Uncertain parameters, grouped by owner: the scenario's (market,
    // revenue, [sales]) and each shared channel's by full path — drawn once
    // per trial, the same in every strategy that uses them — and a
    // strategy's own relative to `strategy.NAME.` (a field a strategy
    // inherits keeps its shared path and is listed with its owner).
    let mut scenario_level: Vec<&Param> = vec![
        &scn.market.demand,
        &scn.revenue.churn_monthly,
        &scn.revenue.expansion_monthly,
    ];
    scenario_level.push(&scn.revenue.starting_arr);
    if let Some(s) = &scn.sales {
        scenario_level.extend([&s.reps, &s.mql_capacity_per_rep, &s.cost_per_rep_month]);
    }
    for g in &scn.segments {
        scenario_level.push(&g.win_odds_ratio);
        if let Some(s) = &g.sales {
            scenario_level.extend([&s.reps, &s.mql_capacity_per_rep, &s.cost_per_rep_month]);
        }
    }
    let mut shared_channels: Vec<(String, Vec<String>, Vec<String>)> = scn
        .shared_channels
        .iter()
        .map(|n| (n.clone(), Vec::new(), Vec::new()))
        .collect();
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    let push_unique = |v: &mut Vec<String>, x: String| {
        if !v.contains(&x) {
            v.push(x);
        }
    };
    let mut shared_items: Vec<String> = Vec::new();
    for p in scenario_level.iter().filter(|p| !p.dist.is_fixed()) {
        push_unique(&mut shared_items, p.path.clone());
    }
    for (i, st) in scn.strategies.iter().enumerate() {
        let tag = if i == scn.baseline { " (baseline)" } else { "" };
        let _ = writeln!(o, "  strategy {}{tag}: {}", st.name, st.label);
        if let Some(s) = &st.sales {
            let _ = writeln!(
                o,
                "    own sales team: {} reps × {} per rep",
                describe_param(&s.reps),
                describe_param(&s.mql_capacity_per_rep)
            );
        }
        if st.fixed_cost_per_month.dist.mean() != 0.0 {
            let _ = writeln!(
                o,
                "    fixed cost/month: {}",
                describe_param(&st.fixed_cost_per_month)
            );
        }
        if let Some(n) = &st.nurture {
            let _ = writeln!(
                o,
                "    nurture: ignored and rejected MQLs return with probability {} after {} days",
                describe_param(&n.recycle),
                describe_param(&n.delay_days)
            );
        }
        let owner = format!("strategy.{}", st.name);
        let mut own_items: Vec<String> = Vec::new();
        let mut own: Vec<&Param> = vec![&st.fixed_cost_per_month];
        if let Some(s) = &st.sales {
            own.extend([&s.reps, &s.mql_capacity_per_rep, &s.cost_per_rep_month]);
        }
        if let Some(n) = &st.nurture {
            own.push(&n.recycle);
        }
        for ch in &st.channels {
            let volume = match &ch.volume {
                Volume::Leads(p) => format!("{} leads/month", describe_param(p)),
                Volume::Spend(p) => format!("spend {}/month", describe_param(p)),
            };
            let mix = if ch.volume_dispersion.is_some() {
                ", overdispersed"
            } else {
                ""
            };
            let uses = match &ch.shared {
                Some(n) => format!(" (uses shared channel.{n})"),
                None => String::new(),
            };
            let _ = writeln!(
                o,
                "    channel {}{uses}: {volume}{mix}, cost per lead {}",
                ch.name,
                describe_param(&ch.cost_per_lead)
            );
            let conv: Vec<String> = f.stages[1..]
                .iter()
                .zip(&ch.conversion)
                .map(|(s, p)| format!("{s} {}", thousands_or_small(p.dist.mean())))
                .collect();
            let _ = writeln!(o, "      mean conversion: {}", conv.join(", "));
            let _ = writeln!(
                o,
                "      deal size (per deal): {}; cycle days (per deal): {}",
                describe_param(&ch.deal_size),
                describe_param(&ch.cycle_days)
            );
            if let Some(n) = &ch.shared {
                let prefix = format!("channel.{n}.");
                let mut from_shared = Vec::new();
                let mut local = Vec::new();
                for (field, p) in ch.fields(&f.stages) {
                    if p.path.starts_with(&prefix) {
                        from_shared.push(field);
                    } else if p.path.contains(".channel[") {
                        local.push(field);
                    } else {
                        local.push(format!("{field} (the strategy's)"));
                    }
                }
                let _ = writeln!(
                    o,
                    "      from channel.{n}: {}; its own: {}",
                    list_or_none(&from_shared),
                    list_or_none(&local)
                );
                if let Some(entry) = shared_channels.iter_mut().find(|(name, _, _)| name == n) {
                    push_unique(&mut entry.1, st.name.clone());
                }
            }
            own.extend(
                ch.fields(&f.stages)
                    .map(|(_, p)| p)
                    .filter(|p| !p.is_per_deal()),
            );
        }
        for p in own.iter().filter(|p| !p.dist.is_fixed()) {
            if let Some(rel) = p.path.strip_prefix(&format!("{owner}.")) {
                push_unique(&mut own_items, rel.to_string());
            } else if let Some(entry) = shared_channels
                .iter_mut()
                .find(|(name, _, _)| p.path.starts_with(&format!("channel.{name}.")))
            {
                push_unique(&mut entry.2, p.path.clone());
            } else {
                push_unique(&mut shared_items, p.path.clone());
            }
        }
        groups.push((format!("{owner} (its own)"), own_items));
    }
    let mut all = vec![(
        "scenario (shared by every strategy)".to_string(),
        shared_items,
    )];
    for (name, users, items) in shared_channels {
        let by = if users.is_empty() {
            "used by no strategy".to_string()
        } else {
            format!("shared by {}", users.join(", "))
        };
        let rel = items
            .iter()
            .map(|p| {
                p.strip_prefix(&format!("channel.{name}."))
                    .unwrap_or(p)
                    .to_string()
            })
            .collect();
        all.push((format!("channel.{name} ({by})"), rel));
    }
    all.extend(groups);
    all.retain(|(_, items)| !items.is_empty());
    let count: usize = all.iter().map(|(_, items)| items.len()).sum();
    let _ = writeln!(o, "  uncertain per trial ({count} parameters):");
    if all.is_empty() {
        let _ = writeln!(o, "    nothing: every parameter is fixed");
    }
    for (owner, items) in all {
        let _ = writeln!(o, "    {owner}: {}", items.join(", "));
    }
    if !scn.correlations.is_empty() {
        let _ = writeln!(
            o,
            "  rank correlations (Gaussian copula; unlisted pairs independent):"
        );
        for c in &scn.correlations {
            let _ = writeln!(
                o,
                "    {} ~ {}: {}",
                c.between[0],
                c.between[1],
                thousands_or_small(c.rank)
            );
        }
    }
    let _ = writeln!(o, "  drawn per deal: deal_size, cycle_days, outcome");
    o
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "nothing".to_string()
    } else {
        items.join(", ")
    }
}

/// The line `run --precision` adds to the report.
pub fn precision_line(r: &PrecisionReached) -> String {
    format!(
        "Precision: the {} mean is within ±{:.3}% (CI half-width, worst strategy) after {} trials; target ±{}%{}.\n",
        r.metric.name(),
        100.0 * r.worst,
        r.trials,
        100.0 * r.target,
        if r.met {
            " met"
        } else {
            " NOT met (--max-trials reached)"
        }
    )
}

/// The table `batch` prints: per scenario and strategy the mean bookings,
/// revenue and ROI.
pub fn render_batch(b: &Batch) -> String {
    let mut o = String::new();
    for r in &b.runs {
        let (name, scn, a) = (&r.name, &r.scenario, &r.analysis);
        for st in &a.strategies {
            let mean = |m: Metric| st.get(m).map_or(f64::NAN, |s| s.summary.mean);
            let _ = writeln!(
                o,
                "{name:<32} {:<16} bookings {:>14}  revenue {:>14}  roi {:>8}  ({} trials, seed {})",
                st.name,
                fmt_value(Metric::Bookings, mean(Metric::Bookings)),
                fmt_value(Metric::Revenue, mean(Metric::Revenue)),
                fmt_value(Metric::Roi, mean(Metric::Roi)),
                a.trials,
                scn.seed
            );
        }
    }
    o
}

/// The line `validate` prints about the work of a run of `trials` trials
/// of `scn` ([`crate::model::work`]) against the limits `run` enforces.
pub fn describe_work(scn: &Scenario, trials: u64) -> String {
    let w = crate::model::work::estimate(scn);
    let verdict = if crate::experiment::within_work_limits(&w, trials) {
        "within the limits"
    } else {
        "above the limits: run refuses it without --allow-large-run"
    };
    let big = |x: f64| {
        if x < 1e12 {
            thousands(x)
        } else {
            format!("{x:.2e}")
        }
    };
    format!(
        "work estimate: about {} opportunities and {} channel-months per trial (from the parameters' means), {} for {} trials; limits {} per trial and {} per run: {verdict}\n",
        big(w.opportunities),
        big(w.channel_months),
        big(w.total(trials)),
        thousands(trials as f64),
        big(crate::experiment::MAX_WORK_PER_TRIAL),
        big(crate::experiment::MAX_WORK),
    )
}
