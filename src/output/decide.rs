//! The decision tools' outputs: the goal seek's report and evaluations
//! CSV ([`render_plan`], [`plan_csv`]), and the sensitivity analysis'
//! tornado, `sensitivity.csv` and per-trial `trials.csv`
//! ([`render_sensitivity`], [`sensitivity_csv`], [`sensitivity_trials_csv`]).
//! Presentation only: the numbers come from [`crate::experiment`].

use std::fmt::Write as _;

use crate::experiment::{Effect, Measure, Outcome, Plan, Sensitivity, Target, TargetKind};
use crate::metrics::{Metric, thousands};

use super::OutputError;
use super::csv::{csv_table, num};
use super::text::pct;

/// A value of the varied path for reading: integers plain, else up to
/// the grid's decimals with separators for large numbers.
fn path_value(plan: &Plan, x: f64) -> String {
    if plan.integer {
        return format!("{}", x.round() as i64);
    }
    if x.abs() >= 1000.0 && plan.resolution >= 1.0 {
        return thousands(x);
    }
    format!("{x}")
}

/// The goal's statistic for reading: a probability as a percentage, a
/// mean as its metric is shown.
fn statistic(plan: &Plan, x: f64) -> String {
    match (plan.goal.probability, plan.measure) {
        // two decimals: the search tells 79.97% from 80.00%
        (Some(_), _) => format!("{:.2}%", 100.0 * x),
        (None, Measure::Metric(m)) => super::text::fmt_value(m, x),
        (None, Measure::Quarter(..)) => format!("{x:.2}"),
    }
}

fn goal_words(plan: &Plan) -> String {
    let scn = &plan.base;
    let name = plan.measure.name(scn);
    let op = match plan.goal.cmp {
        crate::experiment::Cmp::AtLeast => "≥",
        crate::experiment::Cmp::AtMost => "≤",
    };
    let t = match plan.measure {
        Measure::Metric(m) => super::text::fmt_value(m, plan.goal.threshold),
        Measure::Quarter(..) => format!("{}", plan.goal.threshold),
    };
    match plan.goal.probability {
        Some(p) => format!("P({name} {op} {t}) ≥ {}", pct(p)),
        None => format!("mean {name} {op} {t}"),
    }
}

/// The goal seek's report.
pub fn render_plan(plan: &Plan) -> String {
    let scn = &plan.base;
    let mut o = String::new();
    let st = &scn.strategies[plan.strategy];
    let ci = format!("{:.0}%", 100.0 * scn.ci);
    let _ = writeln!(o, "{}: goal seek", scn.name);
    for ov in &scn.overrides {
        if !ov.contains(&plan.path) {
            let _ = writeln!(o, "changed: {ov}");
        }
    }
    let _ = writeln!(
        o,
        "goal: {} for {} [{}], varying {} over {} to {}",
        goal_words(plan),
        st.label,
        st.name,
        plan.column(),
        path_value(plan, plan.low),
        path_value(plan, plan.high)
    );
    let _ = writeln!(
        o,
        "{} trials per evaluation, seed {} at every evaluation (common random numbers); {} evaluations; intervals at {ci}",
        thousands(scn.trials as f64),
        scn.seed,
        plan.evaluations.len()
    );
    let _ = writeln!(o);
    match &plan.outcome {
        Outcome::Found {
            value,
            other,
            range,
            range_open,
            answer_range,
        } => {
            let e = plan.at(*value);
            let smallest = value > other;
            let _ = writeln!(
                o,
                "Answer: {} = {} is the {} value that reaches the goal{}.",
                plan.column(),
                path_value(plan, *value),
                if smallest { "smallest" } else { "largest" },
                match e {
                    Some(e) => format!(
                        ": {} there, {ci} CI {} to {} ({} at {})",
                        statistic(plan, e.statistic),
                        statistic(plan, e.low),
                        statistic(plan, e.high),
                        plan.at(*other)
                            .map_or_else(String::new, |f| statistic(plan, f.statistic)),
                        path_value(plan, *other)
                    ),
                    None => String::new(),
                }
            );
            let lo = if range_open.0 {
                format!("≤ {}", path_value(plan, range.0))
            } else {
                path_value(plan, range.0)
            };
            let hi = if range_open.1 {
                format!("≥ {}", path_value(plan, range.1))
            } else {
                path_value(plan, range.1)
            };
            let _ = writeln!(
                o,
                "Monte Carlo uncertainty of the answer: {} to {} (the goal is inside the {ci} interval for values from {lo} to {hi}).",
                path_value(plan, answer_range.0),
                path_value(plan, answer_range.1)
            );
        }
        Outcome::MetEverywhere { value } => {
            let _ = writeln!(
                o,
                "Answer: the goal is met across the range, already at {} = {}.",
                plan.column(),
                path_value(plan, *value)
            );
        }
        Outcome::Unreachable { best } => {
            let e = plan.at(*best);
            let _ = writeln!(
                o,
                "Answer: the goal is not reachable in the range; the closest is {} = {}{}.",
                plan.column(),
                path_value(plan, *best),
                e.map_or_else(String::new, |e| format!(
                    " with {} ({ci} CI {} to {})",
                    statistic(plan, e.statistic),
                    statistic(plan, e.low),
                    statistic(plan, e.high)
                ))
            );
        }
    }
    if plan.monotone {
        let _ = writeln!(
            o,
            "The response is monotone over the range (a larger {} makes the goal {}).",
            plan.column(),
            match plan.increasing {
                Some(true) => "easier",
                Some(false) => "harder",
                None => "neither easier nor harder",
            }
        );
    }
    for n in &plan.notes {
        let _ = writeln!(o, "note: {n}");
    }
    let _ = writeln!(o, "\nEvaluations of {} (in value order)", plan.column());
    let stat_name = if plan.goal.probability.is_some() {
        "P(goal)"
    } else {
        "mean"
    };
    let _ = writeln!(
        o,
        "  {:>16} {:>14} {:>30}  met",
        "value",
        stat_name,
        format!("{ci} CI")
    );
    let mut rows: Vec<_> = plan.evaluations.iter().collect();
    rows.sort_by(|a, b| a.value.total_cmp(&b.value));
    for e in rows {
        let _ = writeln!(
            o,
            "  {:>16} {:>14} {:>30}  {}",
            path_value(plan, e.value),
            statistic(plan, e.statistic),
            format!("{} to {}", statistic(plan, e.low), statistic(plan, e.high)),
            if e.met { "yes" } else { "no" }
        );
    }
    o
}

/// Header of the goal seek's CSV.
pub const PLAN_HEADER: [&str; 7] = [
    "order",
    "path",
    "value",
    "statistic",
    "ci_low",
    "ci_high",
    "met",
];

/// The evaluations as CSV, in the order made.
pub fn plan_csv(plan: &Plan) -> Result<Vec<u8>, OutputError> {
    let rows = plan.evaluations.iter().enumerate().map(|(i, e)| {
        vec![
            (i + 1).to_string(),
            plan.column(),
            num(e.value),
            num(e.statistic),
            num(e.low),
            num(e.high),
            e.met.to_string(),
        ]
    });
    csv_table(&PLAN_HEADER, rows)
}

// ----------------------------------------------------------- sensitivity

/// A value of the measure for reading.
fn measure_value(s: &Sensitivity, x: f64) -> String {
    match s.measure {
        Measure::Metric(m) => super::text::fmt_value(m, x),
        // ratios (coverage, attainment) or amounts of one quarter
        Measure::Quarter(..) if x.abs() >= 1000.0 => thousands(x),
        Measure::Quarter(..) if x.abs() >= 1.0 || x == 0.0 => format!("{x:.2}"),
        Measure::Quarter(..) => format!("{x:.4}"),
    }
}

fn signed_measure(s: &Sensitivity, x: f64) -> String {
    let t = measure_value(s, x);
    if x > 0.0 && !t.starts_with('-') {
        format!("+{t}")
    } else {
        t
    }
}

/// An input's value for reading (rates with three decimals).
fn input_value(x: f64) -> String {
    if !x.is_finite() {
        "n/a".to_string()
    } else if x.abs() >= 1000.0 {
        thousands(x)
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    }
}

/// The name of a target: `quality` or `quality − volume`.
pub fn target_name(s: &Sensitivity, t: &Target) -> String {
    let names = &s.scenario.strategies;
    match t.kind {
        TargetKind::Strategy(i) => names[i].name.clone(),
        TargetKind::Difference { strategy, baseline } => {
            format!("{} - {}", names[strategy].name, names[baseline].name)
        }
    }
}

/// A tornado bar: `low..high` on the axis `lo..hi`, `|` at `mid`, `width`
/// characters.
fn bar(low: f64, high: f64, mid: f64, (lo, hi): (f64, f64), width: usize) -> String {
    let pos = |x: f64| -> usize {
        if !(hi > lo) {
            return width / 2;
        }
        (((x - lo) / (hi - lo)) * (width - 1) as f64)
            .round()
            .clamp(0.0, (width - 1) as f64) as usize
    };
    let (a, b) = (pos(low.min(high)), pos(low.max(high)));
    let m = pos(mid);
    (0..width)
        .map(|i| {
            if i == m {
                '|'
            } else if i >= a && i <= b {
                if (low > high) == (i < m) { '+' } else { '-' }
            } else {
                ' '
            }
        })
        .collect()
}

fn tornado(o: &mut String, s: &Sensitivity, t: &Target, rows: usize) {
    let ranked = t.ranked();
    let shown: Vec<&&Effect> = ranked.iter().take(rows).collect();
    let axis = shown.iter().fold((t.mean, t.mean), |(lo, hi), e| {
        (
            lo.min(e.low_decile.min(e.high_decile)),
            hi.max(e.low_decile.max(e.high_decile)),
        )
    });
    let evppi = s.value.as_ref().map(|v| &v.evppi);
    let width = ranked
        .iter()
        .take(rows)
        .map(|e| s.inputs[e.input].path.chars().count())
        .max()
        .unwrap_or(10)
        .clamp(10, 56);
    let _ = writeln!(
        o,
        "  {:<width$} {:>21} {:>14} {:>14}  {:<24} {:>6} {:>6} {:>29}{}",
        "input",
        "P10 to P90",
        "lowest 10%",
        "highest 10%",
        "(- low input, + high)",
        "rank ρ",
        "var %",
        format!("fixed at P10 / P90 ({})", thousands(s.swing_trials as f64)),
        if evppi.is_some() {
            "          EVPPI"
        } else {
            ""
        }
    );
    for e in shown {
        let input = &s.inputs[e.input];
        let name: String = if input.path.chars().count() > width {
            let tail: String = input
                .path
                .chars()
                .rev()
                .take(width - 1)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            format!("…{tail}")
        } else {
            input.path.clone()
        };
        let _ = writeln!(
            o,
            "  {:<width$} {:>21} {:>14} {:>14}  {:<24} {:>6.2} {:>5.1}% {:>29}{}",
            name,
            format!("{} to {}", input_value(input.p10), input_value(input.p90)),
            signed_or_plain(s, t, e.low_decile),
            signed_or_plain(s, t, e.high_decile),
            bar(e.low_decile, e.high_decile, t.mean, axis, 24),
            e.spearman,
            100.0 * e.share,
            e.swing.map_or_else(String::new, |(a, b)| format!(
                "{} / {}",
                signed_or_plain(s, t, a),
                signed_or_plain(s, t, b)
            )),
            evppi.map_or_else(String::new, |v| format!(
                " {:>14}",
                measure_value(s, v[e.input])
            ))
        );
    }
    let _ = writeln!(
        o,
        "  one at a time the inputs explain {:.1}% of the variance; the rest is the chance in each month and deal, and interactions",
        100.0 * t.explained().min(1.0)
    );
}

fn signed_or_plain(s: &Sensitivity, t: &Target, x: f64) -> String {
    match t.kind {
        TargetKind::Difference { .. } => signed_measure(s, x),
        TargetKind::Strategy(_) => measure_value(s, x),
    }
}

/// The sensitivity report: the decision and its value of information, the
/// tornado of the decision's difference, then each strategy's top inputs.
pub fn render_sensitivity(s: &Sensitivity, rows: usize) -> String {
    let scn = &s.scenario;
    let mut o = String::new();
    let name = s.measure.name(scn);
    let _ = writeln!(o, "{}: sensitivity of {name}", scn.name);
    for ov in &scn.overrides {
        let _ = writeln!(o, "changed: {ov}");
    }
    let _ = writeln!(
        o,
        "{} trials, seed {}; {} uncertain inputs (drawn once per trial); the {} widest also fixed at their P10 and P90 on the same random numbers ({} trials each)",
        thousands(scn.trials as f64),
        scn.seed,
        s.inputs.len(),
        s.targets.first().map_or(0, |t| t
            .effects
            .iter()
            .filter(|e| e.swing.is_some())
            .count()),
        thousands(s.swing_trials as f64)
    );
    if let Some(v) = &s.value {
        let chosen = &scn.strategies[v.chosen];
        let d = s.decision_target();
        let _ = writeln!(
            o,
            "\nDecision on mean {name}: {} [{}]{}.",
            chosen.label,
            chosen.name,
            if v.chosen == scn.baseline {
                " (the baseline: no challenger does better on average)".to_string()
            } else {
                format!(
                    ", {} on average against the baseline",
                    signed_measure(s, d.mean)
                )
            }
        );
        let _ = writeln!(
            o,
            "Expected value of perfect information (EVPI): {} ± {} (standard error): what knowing every input, and the chance in every month and deal, before choosing would be worth on average.",
            measure_value(s, v.evpi),
            measure_value(s, v.evpi_se)
        );
        let mut top: Vec<(usize, f64)> = v.evppi.iter().copied().enumerate().collect();
        top.sort_by(|a, b| b.1.total_cmp(&a.1));
        let worth: Vec<String> = top
            .iter()
            .take(3)
            // worth naming: at least 0.1% of what perfect information is worth
            .filter(|(_, x)| *x > 0.0 && *x >= 1e-3 * v.evpi)
            .map(|(j, x)| format!("{} {}", s.inputs[*j].path, measure_value(s, *x)))
            .collect();
        if worth.is_empty() {
            let _ = writeln!(
                o,
                "Learning any single input before choosing is worth nothing: no input alone can change the decision."
            );
        } else {
            let _ = writeln!(
                o,
                "Worth learning before choosing (EVPPI, one input at a time): {}.",
                worth.join("; ")
            );
        }
        let _ = writeln!(
            o,
            "\nTornado of the decision: {} ({name}, mean {}), the mean in the trials where an input is in its lowest / highest 10%",
            target_name(s, d),
            signed_measure(s, d.mean)
        );
        tornado(&mut o, s, d, rows);
    }
    for t in s
        .targets
        .iter()
        .filter(|t| matches!(t.kind, TargetKind::Strategy(_)))
    {
        let TargetKind::Strategy(i) = t.kind else {
            continue;
        };
        let _ = writeln!(
            o,
            "\n{} [{}]: {name}, mean {}",
            scn.strategies[i].label,
            scn.strategies[i].name,
            measure_value(s, t.mean)
        );
        tornado(&mut o, s, t, rows.min(8));
    }
    o
}

/// Header of `sensitivity.csv`.
pub const SENSITIVITY_HEADER: [&str; 17] = [
    "target",
    "strategy",
    "baseline",
    "measure",
    "rank",
    "input",
    "distribution",
    "p10",
    "p90",
    "spearman",
    "variance_share",
    "mean_lowest_decile",
    "mean_highest_decile",
    "mean_fixed_p10",
    "mean_fixed_p90",
    "swing_trials",
    "value_of_information",
];

/// `sensitivity.csv`: per target, its inputs widest bar first; EVPPI in
/// `value_of_information` (the same for an input on every row); the EVPI
/// on a row of its own, input `(perfect information)`.
pub fn sensitivity_csv(s: &Sensitivity) -> Result<Vec<u8>, OutputError> {
    let scn = &s.scenario;
    let measure = s.measure.name(scn);
    let mut rows: Vec<Vec<String>> = Vec::new();
    for t in &s.targets {
        let (strategy, baseline) = match t.kind {
            TargetKind::Strategy(i) => (scn.strategies[i].name.clone(), String::new()),
            TargetKind::Difference { strategy, baseline } => (
                scn.strategies[strategy].name.clone(),
                scn.strategies[baseline].name.clone(),
            ),
        };
        for (rank, e) in t.ranked().into_iter().enumerate() {
            let input = &s.inputs[e.input];
            rows.push(vec![
                target_name(s, t),
                strategy.clone(),
                baseline.clone(),
                measure.clone(),
                (rank + 1).to_string(),
                input.path.clone(),
                input.written.clone(),
                num(input.p10),
                num(input.p90),
                num(e.spearman),
                num(e.share),
                num(e.low_decile),
                num(e.high_decile),
                e.swing.map_or_else(String::new, |w| num(w.0)),
                e.swing.map_or_else(String::new, |w| num(w.1)),
                if e.swing.is_some() {
                    s.swing_trials.to_string()
                } else {
                    String::new()
                },
                s.value
                    .as_ref()
                    .map_or_else(String::new, |v| num(v.evppi[e.input])),
            ]);
        }
    }
    if let Some(v) = &s.value {
        let mut row = vec![String::new(); SENSITIVITY_HEADER.len()];
        row[0] = "decision".to_string();
        row[1] = scn.strategies[v.chosen].name.clone();
        row[2] = scn.strategies[scn.baseline].name.clone();
        row[3] = measure.clone();
        row[5] = "(perfect information)".to_string();
        row[16] = num(v.evpi);
        rows.push(row);
    }
    csv_table(&SENSITIVITY_HEADER, rows)
}

/// The per-trial `trials.csv` of a sensitivity run: the trial, every
/// input's draw, then per strategy its measure (`STRATEGY.MEASURE`) and,
/// when kept, every metric (`STRATEGY.METRIC`).
pub fn sensitivity_trials_csv(s: &Sensitivity) -> Result<Vec<u8>, OutputError> {
    let scn = &s.scenario;
    let pt = &s.per_trial;
    let keep = !pt.metrics.is_empty();
    let measure_is_metric = matches!(s.measure, Measure::Metric(_));
    let mut header: Vec<String> = vec!["trial".to_string()];
    header.extend(s.inputs.iter().map(|i| i.path.clone()));
    for st in &scn.strategies {
        if !(keep && measure_is_metric) {
            header.push(format!("{}.{}", st.name, s.measure.name(scn)));
        }
        if keep {
            header.extend(
                Metric::ALL
                    .iter()
                    .map(|m| format!("{}.{}", st.name, m.name())),
            );
        }
    }
    let n = pt.measure.first().map_or(0, Vec::len);
    let rows = (0..n).map(|i| {
        let mut row = Vec::with_capacity(header.len());
        row.push(i.to_string());
        row.extend(pt.inputs.iter().map(|x| num(x[i])));
        for sidx in 0..scn.strategies.len() {
            if !(keep && measure_is_metric) {
                row.push(num(pt.measure[sidx][i]));
            }
            if keep {
                row.extend(pt.metrics[sidx][i].iter().map(|v| num(*v)));
            }
        }
        row
    });
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    csv_table(&header, rows)
}
