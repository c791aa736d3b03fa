//! The board report: one self-contained HTML file (inline CSS and SVG, no
//! script, no font, no request of any kind — its Content-Security-Policy
//! forbids them) that states the decision in words, then the key figures,
//! the charts ([`charts`]), the what-ifs and every assumption.
//!
//! The page is an askama template (`src/output/report/report.html`,
//! compiled into the binary, auto-escaped); this module only turns a
//! [`Report`] into the template's rows and sentences. Every number in a
//! table is the run's [`Analysis`](crate::analysis::Analysis) — the one
//! `run --out` writes — and carries its exact CSV form in `data-value`.

pub mod charts;

use askama::Template;

use crate::analysis::StrategyStats;
use crate::experiment::{Input, Report, TargetKind};
use crate::metrics::{Metric, QuarterMetric};
use crate::output::csv::num;
use crate::output::text::{self, escape_controls, fmt_value, level, pct, signed};
use crate::scenario::Scenario;

use charts::{About, Bar, ChartError, DistSeries, Grouped, color, compact};

/// The pipesim version a report names.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The metrics of the key-figures table (and any metric with a target).
pub const KEY_METRICS: [Metric; 8] = [
    Metric::Bookings,
    Metric::Revenue,
    Metric::ArrEnd,
    Metric::TotalArrEnd,
    Metric::PipelineCreated,
    Metric::WonDeals,
    Metric::Cost,
    Metric::Roi,
];

/// Inputs in the tornado and EVPPI charts.
pub const TOP_INPUTS: usize = 10;

/// One cell of the key-figures table.
struct Cell {
    /// The `summary.csv` column it equals.
    stat: &'static str,
    /// That column's exact text.
    value: String,
    /// As shown.
    text: String,
}

/// One strategy's rows of the key-figures table.
struct KeyGroup {
    label: String,
    rows: Vec<KeyRow>,
}

struct KeyRow {
    strategy: String,
    metric: &'static str,
    metric_label: String,
    mean: Cell,
    ci: String,
    low: Cell,
    high: Cell,
    p_target: Option<Cell>,
}

/// A plain table (what-ifs, assumptions, a chart's numbers).
struct Table {
    caption: String,
    head: Vec<String>,
    rows: Vec<Vec<String>>,
    /// Right-align these columns (numbers).
    numeric: Vec<bool>,
}

impl Table {
    fn new(caption: impl Into<String>, head: &[&str]) -> Table {
        Table {
            caption: caption.into(),
            head: head.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
            numeric: head.iter().enumerate().map(|(i, _)| i > 0).collect(),
        }
    }
    fn left(mut self, cols: &[usize]) -> Table {
        for &c in cols {
            if let Some(n) = self.numeric.get_mut(c) {
                *n = false;
            }
        }
        self
    }
    fn is_numeric(&self, i: &usize) -> bool {
        self.numeric.get(*i).copied().unwrap_or(false)
    }
}

struct Figure {
    id: String,
    title: String,
    svg: String,
    source: String,
    note: Option<String>,
    table: Option<Table>,
}

struct Section {
    id: &'static str,
    heading: String,
    intro: Vec<String>,
    figures: Vec<Figure>,
}

#[derive(Template)]
#[template(path = "report.html")]
struct Page {
    title: String,
    subtitle: String,
    answer: String,
    more: Vec<String>,
    key: Vec<KeyGroup>,
    key_caption: String,
    ci_label: String,
    has_targets: bool,
    sections: Vec<Section>,
    whatifs: Option<Table>,
    whatif_notes: Vec<String>,
    assumptions: Table,
    per_deal: Option<Table>,
    shared_note: String,
    settings: Table,
    version: &'static str,
}

/// Format a figure for a sentence or a table, control characters escaped.
fn clean(s: &str) -> String {
    escape_controls(s).into_owned()
}

fn money_unit(scn: &Scenario) -> String {
    if scn.currency.is_empty() {
        String::new()
    } else {
        format!(" ({})", clean(&scn.currency))
    }
}

/// A metric's axis description in the scenario's units.
fn axis_desc(scn: &Scenario, m: Metric) -> String {
    let what = match m {
        Metric::Bookings => format!("bookings (ACV won) over {} months", scn.horizon),
        Metric::Revenue => format!("revenue over {} months", scn.horizon),
        Metric::ArrEnd => format!("ARR at month {} (new business)", scn.horizon),
        _ => m.name().replace('_', " "),
    };
    if m.is_money() {
        format!("{what}{}", money_unit(scn))
    } else {
        what
    }
}

/// Render the report as one HTML document.
pub fn render(r: &Report) -> Result<String, ChartError> {
    let scn = &r.run.scenario;
    let a = &r.run.analysis;
    let trials = text::thousands(a.trials as f64);
    let ci_label = level(a.ci);
    let source = |what: &str| {
        format!(
            "pipesim {VERSION}, {trials} trials, seed {}{}",
            scn.seed,
            if what.is_empty() {
                String::new()
            } else {
                format!("; {what}")
            }
        )
    };
    let mut n = 0usize;
    let mut figure = |id: &str,
                      title: String,
                      desc: String,
                      what: &str,
                      draw: &dyn Fn(&About) -> Result<String, ChartError>|
     -> Result<Figure, ChartError> {
        n += 1;
        let about = About {
            id: format!("{id}-svg"),
            title: format!("Figure {n}. {title}"),
            desc,
        };
        Ok(Figure {
            id: id.to_string(),
            title: about.title.clone(),
            svg: draw(&about)?,
            source: format!("Figure {n} data: {}", source(what)),
            note: None,
            table: None,
        })
    };
    let labels: Vec<String> = a.strategies.iter().map(|s| clean(&s.label)).collect();
    let mut sections = Vec::new();

    // ---- outcomes: distributions and the paired difference
    let mut outcome_figs = Vec::new();
    for shape in &r.shapes.metrics {
        let m = shape.metric;
        let target = scn.target(m).map(|t| (t, format!("target {}", compact(t))));
        let series: Vec<DistSeries<'_>> = shape
            .per_strategy
            .iter()
            .enumerate()
            .map(|(s, h)| DistSeries {
                label: &labels[s],
                color: color(s),
                histogram: h,
            })
            .collect();
        let desc = distribution_desc(a, m, scn.target(m));
        let x_desc = axis_desc(scn, m);
        let title = format!(
            "Distribution of {} per strategy{}",
            axis_desc(scn, m),
            if target.is_some() {
                ", with the target"
            } else {
                ""
            }
        );
        let mut f = figure(
            &format!("fig-dist-{}", m.name()),
            title,
            desc,
            "the middle 99% of trials, on shared bins",
            &|about| charts::distribution(about, &x_desc, &series, target.clone()),
        )?;
        f.note = Some(format!(
            "Each curve is the share of trials per bin; the {:.1}% of trials in the tails are outside the chart.",
            100.0 * 2.0 * crate::analysis::shape::TAIL
        ));
        outcome_figs.push(f);
    }
    for d in &r.shapes.diffs {
        let Some(c) = a.comparison(d.strategy, d.metric) else {
            continue;
        };
        let (st, base) = (&labels[d.strategy], &labels[a.baseline]);
        let annotation = format!("P({st} better) = {}", pct(c.p_beats.p));
        let desc = format!(
            "Trial by trial, {st} minus {base} on {}: mean {} ({} CI {} to {}); {st} is better in {} of trials ({} CI {} to {}).",
            d.metric.name(),
            signed(d.metric, c.diff.mean),
            ci_label,
            signed(d.metric, c.diff.ci_low),
            signed(d.metric, c.diff.ci_high),
            pct(c.p_beats.p),
            ci_label,
            pct(c.p_beats.low),
            pct(c.p_beats.high)
        );
        let x_desc = format!("{st} − {base}: {}", axis_desc(scn, d.metric));
        let title = format!(
            "{st} against {base}, trial by trial: the difference in {}",
            d.metric.name().replace('_', " ")
        );
        let f = figure(
            &format!(
                "fig-diff-{}-{}",
                a.strategies[d.strategy].name,
                d.metric.name()
            ),
            title,
            desc,
            "paired trials (the same market in both); shaded: the trials it is better in",
            &|about| {
                charts::difference(
                    about,
                    &x_desc,
                    &d.histogram,
                    d.metric.lower_is_better(),
                    &annotation,
                    color(d.strategy),
                )
            },
        )?;
        outcome_figs.push(f);
    }
    sections.push(Section {
        id: "outcomes",
        heading: "Outcomes".into(),
        intro: vec![format!(
            "Every strategy is simulated on the same {trials} possible futures (the same market, the same sales team), so the strategies are compared trial by trial."
        )],
        figures: outcome_figs,
    });

    // ---- MRR fan charts
    let months: Vec<String> = (0..scn.horizon).map(|m| scn.month_label(m)).collect();
    let ymax = r
        .shapes
        .fans
        .iter()
        .flat_map(|f| f.bands.iter().map(|b| b[4]))
        .filter(|x| x.is_finite())
        .fold(0.0f64, f64::max)
        .max(1.0)
        * 1.08;
    let mut fan_figs = Vec::new();
    for (s, fan) in r.shapes.fans.iter().enumerate() {
        let last = fan.bands.last().copied().unwrap_or([f64::NAN; 5]);
        let desc = format!(
            "{}: MRR from new business at the end of {}: median {}, half the trials between {} and {}, 90% between {} and {}.",
            labels[s],
            months.last().cloned().unwrap_or_default(),
            text::thousands(last[2]),
            text::thousands(last[1]),
            text::thousands(last[3]),
            text::thousands(last[0]),
            text::thousands(last[4])
        );
        let y_desc = format!("MRR, new business{}", money_unit(scn));
        let f = figure(
            &format!("fig-mrr-{}", a.strategies[s].name),
            format!("{}: MRR over the months (fan chart)", labels[s]),
            desc,
            "monthly quantiles across trials",
            &|about| charts::fan(about, &y_desc, fan, &months, color(s), ymax),
        )?;
        fan_figs.push(f);
    }
    sections.push(Section {
        id: "mrr",
        heading: "MRR over the months".into(),
        intro: vec![
            "MRR from the deals won in the horizon, at the end of each month: the median, the middle half and the middle 90% of trials. The existing book (the same in every strategy) is not included; all charts share one scale."
                .into(),
        ],
        figures: fan_figs,
    });

    // ---- quarters: coverage and bookings against quota
    if let Some(quarter_sec) = quarters_section(scn, a, &labels, &mut figure)? {
        sections.push(quarter_sec);
    }

    // ---- funnel
    {
        let base = &a.strategies[a.baseline];
        let mut rows: Vec<String> = base
            .funnel
            .iter()
            .map(|f| clean(scn.funnel.stages.get(f.stage).map_or("?", String::as_str)))
            .collect();
        let extra = [
            (Metric::MqlsIgnored, "handoff: ignored by sales"),
            (Metric::MqlsRejected, "handoff: rejected by sales"),
            (Metric::MqlsRecycled, "handoff: recycled by nurture"),
        ];
        rows.extend(extra.iter().map(|(_, l)| l.to_string()));
        let mean_of = |st: &StrategyStats, m: Metric| st.get(m).map_or(0.0, |x| x.summary.mean);
        let series: Vec<(String, plotters::style::RGBColor, Vec<f64>)> = a
            .strategies
            .iter()
            .enumerate()
            .map(|(s, st)| {
                let mut v: Vec<f64> = st.funnel.iter().map(|f| f.point.mean).collect();
                v.extend(extra.iter().map(|(m, _)| mean_of(st, *m)));
                (labels[s].clone(), color(s), v)
            })
            .collect();
        let desc = series
            .iter()
            .map(|(l, _, v)| {
                let parts: Vec<String> = rows
                    .iter()
                    .zip(v)
                    .map(|(r, x)| format!("{r} {}", fmt_value(Metric::Leads, *x)))
                    .collect();
                format!("{l}: {}", parts.join(", "))
            })
            .collect::<Vec<_>>()
            .join(". ");
        let f = figure(
            "fig-funnel",
            "The funnel per strategy: mean entries per stage over the horizon".into(),
            desc,
            "means across trials; log scale",
            &|about| {
                charts::funnel(
                    about,
                    &rows,
                    &series,
                    &format!("entries over {} months (log scale)", scn.horizon),
                )
            },
        )?;
        sections.push(Section {
            id: "funnel",
            heading: "The funnel".into(),
            intro: vec!["How many leads enter each stage, and what happens to the members sales does not work at the handoff (ignored), sends back (rejected) or that nurture brings back (recycled).".into()],
            figures: vec![f],
        });
    }

    // ---- sensitivity: tornado and EVPPI
    let mut more = Vec::new();
    if let Some(sens) = &r.sensitivity {
        let t = sens.decision_target();
        let input_label = |j: usize| clean(&sens.inputs[j].path);
        let what = match t.kind {
            TargetKind::Difference { strategy, baseline } => {
                format!("{} − {}", labels[strategy], labels[baseline])
            }
            TargetKind::Strategy(s) => labels[s].clone(),
        };
        let ranked: Vec<(String, f64, f64)> = t
            .ranked()
            .into_iter()
            .take(TOP_INPUTS)
            .map(|e| (input_label(e.input), e.low_decile, e.high_decile))
            .collect();
        let sens_trials = text::thousands(sens.scenario.trials as f64);
        let desc = ranked
            .iter()
            .map(|(l, lo, hi)| format!("{l}: {} to {}", text::thousands(*lo), text::thousands(*hi)))
            .collect::<Vec<_>>()
            .join("; ");
        let x_desc = format!("mean {what}, bookings{}", money_unit(scn));
        let mut figs = vec![figure(
            "fig-tornado",
            format!("What moves {what} on bookings: the tornado"),
            format!(
                "Mean of {what} on bookings when each input is in its lowest and highest decile (overall mean {}): {desc}.",
                text::thousands(t.mean)
            ),
            &format!("sensitivity analysis of the first {sens_trials} trials"),
            &|about| charts::tornado(about, &ranked, t.mean, &x_desc, color(4), color(5)),
        )?];
        if let Some(v) = &sens.value {
            let mut rows: Vec<(String, f64)> = v
                .evppi
                .iter()
                .enumerate()
                .map(|(j, x)| (input_label(j), *x))
                .collect();
            rows.sort_by(|x, y| y.1.total_cmp(&x.1));
            let worth = rows.iter().filter(|r| r.1 > 0.0).count();
            rows.truncate(worth.clamp(1, TOP_INPUTS));
            let chosen = labels[v.chosen].clone();
            let desc = format!(
                "The decision on mean bookings is {chosen}. Perfect information on everything would be worth {} (EVPI, ± {} standard error); per input (EVPPI): {}.",
                text::thousands(v.evpi),
                text::thousands(v.evpi_se),
                rows.iter()
                    .map(|(l, x)| format!("{l} {}", text::thousands(*x)))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let evpi = v.evpi;
            let x_desc = format!(
                "expected value of perfect information, bookings{}",
                money_unit(scn)
            );
            figs.push(figure(
                "fig-evppi",
                "What knowing an input before deciding is worth (EVPPI)".into(),
                desc,
                &format!("sensitivity analysis of the first {sens_trials} trials"),
                &|about| {
                    charts::bars(
                        about,
                        &rows,
                        &x_desc,
                        color(0),
                        Some((evpi, format!("EVPI {}", compact(evpi)))),
                    )
                },
            )?);
            if let Some(f) = figs.last_mut() {
                f.note = Some(format!(
                    "{worth} of the {} inputs have an EVPPI above 0; every other input is worth 0 to learn before deciding.",
                    sens.inputs.len()
                ));
            }
            if let Some((name, x)) = rows.first().filter(|r| r.1 > 0.0) {
                more.push(format!(
                    "The input most worth learning before deciding is {name}: knowing it would be worth {} in expected bookings (EVPPI; all inputs together: EVPI {}).",
                    text::thousands(*x),
                    text::thousands(v.evpi)
                ));
            }
        }
        sections.push(Section {
            id: "sensitivity",
            heading: "What drives the difference".into(),
            intro: vec![format!(
                "Each uncertain input's draw, read back per trial from the same random numbers, against {what} on bookings; the widest bars first. {:.0}% of the difference's variance is explained by the inputs one at a time; the rest is monthly and per-deal chance.",
                100.0 * t.explained()
            )],
            figures: figs,
        });
    }

    // ---- segments
    if !scn.segments.is_empty() {
        let groups: Vec<String> = scn.segments.iter().map(|g| clean(&g.name)).collect();
        let series = a
            .strategies
            .iter()
            .enumerate()
            .map(|(s, st)| {
                let bars = st
                    .segments
                    .iter()
                    .map(|g| {
                        let x = g.get(Metric::Bookings);
                        Bar {
                            value: x.map_or(0.0, |x| x.summary.mean),
                            whisker: x.map(|x| (x.summary.quantiles[0], x.summary.quantiles[6])),
                        }
                    })
                    .collect();
                (labels[s].clone(), color(s), bars)
            })
            .collect::<Vec<_>>();
        let desc = segment_desc(a, &labels);
        let y_desc = format!("bookings over {} months{}", scn.horizon, money_unit(scn));
        let g = Grouped {
            groups: &groups,
            series,
            x_desc: "segment",
            y_desc: &y_desc,
            line: None,
            marks: None,
            y_fmt: compact,
        };
        let mut f = figure(
            "fig-segments",
            "Bookings per segment and strategy".into(),
            desc,
            "means across trials, whiskers P5–P95",
            &|about| charts::grouped(about, &g),
        )?;
        let mut t = Table::new(
            "Mean per segment",
            &[
                "strategy / segment",
                "MQLs",
                "ignored",
                "opportunities",
                "won deals",
                "bookings",
            ],
        )
        .left(&[0]);
        for (s, st) in a.strategies.iter().enumerate() {
            for g in &st.segments {
                let v = |m: Metric| {
                    g.get(m)
                        .map_or("n/a".into(), |x| fmt_value(m, x.summary.mean))
                };
                t.rows.push(vec![
                    format!("{} / {}", labels[s], clean(&g.name)),
                    v(Metric::Mqls),
                    v(Metric::MqlsIgnored),
                    v(Metric::Opportunities),
                    v(Metric::WonDeals),
                    v(Metric::Bookings),
                ]);
            }
        }
        f.table = Some(t);
        sections.push(Section {
            id: "segments",
            heading: "Segments".into(),
            intro: vec!["Where the bookings come from: each segment's deal size, cycle and win odds apply to the opportunities it receives.".into()],
            figures: vec![f],
        });
    }

    // ---- the answer, the key figures
    let answer = text::answer(scn, a);
    let answer = capitalised(&clean(answer.strip_prefix("Answer: ").unwrap_or(&answer)));
    let mut first = Vec::new();
    for (m, t) in &scn.targets {
        let parts: Vec<String> = a
            .strategies
            .iter()
            .enumerate()
            .filter_map(|(s, st)| {
                let (_, p) = st.get(*m)?.target?;
                Some(format!("{} for {}", pct(p.p), labels[s]))
            })
            .collect();
        if !parts.is_empty() {
            first.push(format!(
                "The chance of reaching the {} target of {}: {}.",
                m.name().replace('_', " "),
                fmt_value(*m, *t),
                parts.join(", ")
            ));
        }
    }
    first.push(precision_sentence(r));
    first.extend(more);
    let (key, has_targets) = key_rows(scn, a, &labels);

    let names: Vec<String> = a.strategies.iter().map(|s| clean(&s.name)).collect();
    let (whatifs, whatif_notes) = whatif_table(r, &names);
    let (assumptions, per_deal, shared_note) = assumption_tables(r, &names);
    let settings = settings_table(r);
    let page = Page {
        title: clean(&scn.name),
        subtitle: format!(
            "{} strategies compared over {} months ({} to {}) on {trials} simulated trials",
            a.strategies.len(),
            scn.horizon,
            months.first().cloned().unwrap_or_default(),
            months.last().cloned().unwrap_or_default()
        ),
        answer,
        more: first,
        key,
        key_caption: format!(
            "Key figures per strategy: the mean (± half-width of its {ci_label} confidence interval), the range 90% of trials fall in (P5 to P95), and the chance of reaching the target"
        ),
        ci_label,
        has_targets,
        sections,
        whatifs,
        whatif_notes,
        assumptions,
        per_deal,
        shared_note,
        settings,
        version: VERSION,
    };
    page.render().map_err(|e| ChartError {
        title: "the page".into(),
        message: e.to_string(),
    })
}

/// A key figure's name for a board (its cells' `data-metric` is the
/// metric's CSV name).
fn key_label(m: Metric) -> String {
    match m {
        Metric::ArrEnd => "ARR, new business".into(),
        Metric::TotalArrEnd => "ARR with the book".into(),
        Metric::WonDeals => "deals won".into(),
        Metric::Cost => "marketing cost".into(),
        Metric::Roi => "marketing ROI".into(),
        _ => m.name().replace('_', " "),
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn distribution_desc(a: &crate::analysis::Analysis, m: Metric, target: Option<f64>) -> String {
    a.strategies
        .iter()
        .filter_map(|st| {
            let x = st.get(m)?;
            let t = match (target, x.target) {
                (Some(t), Some((_, p))) => {
                    format!(", P(≥ {}) {}", text::thousands(t), pct(p.p))
                }
                _ => String::new(),
            };
            Some(format!(
                "{}: mean {}, median {}, 90% of trials between {} and {}{t}",
                clean(&st.label),
                fmt_value(m, x.summary.mean),
                fmt_value(m, x.summary.median()),
                fmt_value(m, x.summary.quantiles[0]),
                fmt_value(m, x.summary.quantiles[6])
            ))
        })
        .collect::<Vec<_>>()
        .join(". ")
}

fn segment_desc(a: &crate::analysis::Analysis, labels: &[String]) -> String {
    a.strategies
        .iter()
        .enumerate()
        .map(|(s, st)| {
            let parts: Vec<String> = st
                .segments
                .iter()
                .map(|g| {
                    format!(
                        "{} {}",
                        clean(&g.name),
                        g.get(Metric::Bookings)
                            .map_or("n/a".into(), |x| text::thousands(x.summary.mean))
                    )
                })
                .collect();
            format!("{}: {}", labels[s], parts.join(", "))
        })
        .collect::<Vec<_>>()
        .join(". ")
}

type FigureFn<'a> = dyn FnMut(
        &str,
        String,
        String,
        &str,
        &dyn Fn(&About) -> Result<String, ChartError>,
    ) -> Result<Figure, ChartError>
    + 'a;

/// Quarterly coverage against the target, and bookings against the quota
/// (bookings alone without a `[quota]`).
fn quarters_section(
    scn: &Scenario,
    a: &crate::analysis::Analysis,
    labels: &[String],
    figure: &mut FigureFn<'_>,
) -> Result<Option<Section>, ChartError> {
    let base = &a.strategies[a.baseline];
    if base.quarters.is_empty() {
        return Ok(None);
    }
    let groups: Vec<String> = base.quarters.iter().map(|q| clean(&q.label)).collect();
    let bars_of = |st: &StrategyStats, m: QuarterMetric| -> Vec<Bar> {
        st.quarters
            .iter()
            .map(|q| match q.get(m) {
                Some(v) => Bar {
                    value: v.point.mean,
                    whisker: Some((v.point.p5, v.point.p95)),
                },
                None => Bar {
                    value: 0.0,
                    whisker: None,
                },
            })
            .collect()
    };
    let series_of = |m: QuarterMetric| -> Vec<(String, plotters::style::RGBColor, Vec<Bar>)> {
        a.strategies
            .iter()
            .enumerate()
            .map(|(s, st)| (labels[s].clone(), color(s), bars_of(st, m)))
            .collect()
    };
    // per strategy, each quarter's label and `show` of its value of `m`
    let desc_of = |m: QuarterMetric, show: &dyn Fn(&crate::analysis::QuarterValue) -> String| {
        a.strategies
            .iter()
            .enumerate()
            .map(|(s, st)| {
                let parts: Vec<String> = st
                    .quarters
                    .iter()
                    .filter_map(|q| Some(format!("{} {}", clean(&q.label), show(q.get(m)?))))
                    .collect();
                format!("{}: {}", labels[s], parts.join(", "))
            })
            .collect::<Vec<_>>()
            .join(". ")
    };
    let mut figs = Vec::new();
    let mut intro = Vec::new();
    if let Some(quota) = &scn.quota {
        let target = quota.coverage_target;
        let series = series_of(QuarterMetric::Coverage);
        let mut t = Table::new(
            format!("P(coverage ≥ {target}×) at each quarter's start"),
            &[
                &["quarter"][..],
                &labels.iter().map(String::as_str).collect::<Vec<_>>(),
            ]
            .concat(),
        )
        .left(&[0]);
        for (qi, g) in groups.iter().enumerate() {
            let mut row = vec![g.clone()];
            for st in &a.strategies {
                let cell = st
                    .quarters
                    .get(qi)
                    .and_then(|q| q.get(QuarterMetric::Coverage))
                    .and_then(|v| v.target)
                    .map_or("n/a".into(), |(_, p)| pct(p.p));
                row.push(cell);
            }
            t.rows.push(row);
        }
        let desc = desc_of(QuarterMetric::Coverage, &|v| {
            let p = v.target.map_or(String::new(), |(_, p)| {
                format!(" (P ≥ {target}×: {})", pct(p.p))
            });
            format!("{:.2}×{p}", v.point.mean)
        });
        let g = Grouped {
            groups: &groups,
            series,
            x_desc: "quarter",
            y_desc: "pipeline coverage at the quarter's start (× quota)",
            line: Some((target, format!("{target}× target"))),
            marks: None,
            y_fmt: |y| format!("{y:.1}×"),
        };
        let mut f = figure(
            "fig-coverage",
            format!("Pipeline coverage of each quarter's quota, against the {target}× target"),
            desc,
            "mean across trials, whiskers P5–P95",
            &|about| charts::grouped(about, &g),
        )?;
        f.table = Some(t);
        figs.push(f);
        intro.push(format!(
            "Coverage is the open pipeline at the start of a quarter divided by the quarter's bookings quota; the rule of thumb is {target}×."
        ));
    }
    let series = series_of(QuarterMetric::Bookings);
    let quotas: Option<Vec<f64>> = base.quarters.iter().map(|q| q.quota).collect();
    let desc = desc_of(QuarterMetric::Bookings, &|v| text::thousands(v.point.mean));
    let y_desc = format!("bookings in the quarter{}", money_unit(scn));
    let g = Grouped {
        groups: &groups,
        series,
        x_desc: "quarter",
        y_desc: &y_desc,
        line: None,
        marks: quotas.map(|q| (q, "quota".to_string())),
        y_fmt: compact,
    };
    let title = if scn.quota.is_some() {
        "Quarterly bookings against the quota"
    } else {
        "Quarterly bookings"
    };
    figs.push(figure(
        "fig-quarter-bookings",
        title.into(),
        desc,
        "mean across trials, whiskers P5–P95",
        &|about| charts::grouped(about, &g),
    )?);
    Ok(Some(Section {
        id: "quarters",
        heading: "Quarters: pipeline coverage and quota".into(),
        intro,
        figures: figs,
    }))
}

fn precision_sentence(r: &Report) -> String {
    let a = &r.run.analysis;
    let worst = a
        .strategies
        .iter()
        .filter_map(|st| st.get(Metric::Bookings))
        .map(|x| x.summary.ci_half_width() / x.summary.mean.abs())
        .filter(|x| x.is_finite())
        .fold(0.0f64, f64::max);
    let mut s = format!(
        "Monte Carlo precision: every strategy's mean bookings is known to within ±{:.2}% ({} confidence) at {} trials",
        100.0 * worst,
        level(a.ci),
        text::thousands(a.trials as f64)
    );
    if let Some(p) = &r.run.precision {
        s.push_str(&format!(
            " (asked for ±{:.2}% on {}: {})",
            100.0 * p.target,
            p.metric.name(),
            if p.met {
                "met"
            } else {
                "not met before --max-trials"
            }
        ));
    }
    s.push('.');
    s
}

fn key_rows(
    scn: &Scenario,
    a: &crate::analysis::Analysis,
    labels: &[String],
) -> (Vec<KeyGroup>, bool) {
    let mut metrics: Vec<Metric> = KEY_METRICS.to_vec();
    for (m, _) in &scn.targets {
        if !metrics.contains(m) {
            metrics.push(*m);
        }
    }
    let has_targets = !scn.targets.is_empty();
    let mut groups = Vec::new();
    for (s, st) in a.strategies.iter().enumerate() {
        let mut rows = Vec::new();
        for &m in &metrics {
            let Some(x) = st.get(m) else { continue };
            let sm = &x.summary;
            let cell = |stat: &'static str, v: f64, text: String| Cell {
                stat,
                value: num(v),
                text,
            };
            rows.push(KeyRow {
                strategy: st.name.clone(),
                metric: m.name(),
                metric_label: key_label(m),
                mean: cell("mean", sm.mean, fmt_value(m, sm.mean)),
                ci: fmt_value(m, sm.ci_half_width()),
                low: cell("p5", sm.quantiles[0], fmt_value(m, sm.quantiles[0])),
                high: cell("p95", sm.quantiles[6], fmt_value(m, sm.quantiles[6])),
                p_target: x.target.map(|(t, p)| Cell {
                    stat: "p_target",
                    value: num(p.p),
                    text: format!("{} (≥ {})", pct(p.p), fmt_value(m, t)),
                }),
            });
        }
        groups.push(KeyGroup {
            label: labels[s].clone(),
            rows,
        });
    }
    (groups, has_targets)
}

fn whatif_table(r: &Report, names: &[String]) -> (Option<Table>, Vec<String>) {
    if r.whatifs.is_empty() {
        return (None, Vec::new());
    }
    let mut t = Table::new(
        "How each what-if changes the decision on bookings (the plan → under the change, on the same trials)",
        &[
            "what-if",
            "preferred",
            "challenger",
            "mean difference",
            "P(challenger better)",
            "material?",
        ],
    )
    .left(&[0, 1, 2, 5]);
    let mut notes = Vec::new();
    for (label, w) in &r.whatifs {
        let preferred = w
            .preferred
            .iter()
            .find(|p| p.metric == Metric::Bookings)
            .map_or("n/a".into(), |p| {
                if p.plan == p.changed {
                    format!("{} (unchanged)", names[p.plan])
                } else {
                    format!("{} → {}", names[p.plan], names[p.changed])
                }
            });
        let rows: Vec<_> = w
            .decisions
            .iter()
            .filter(|d| d.metric == Metric::Bookings)
            .collect();
        if rows.is_empty() {
            t.rows.push(vec![
                clean(label),
                preferred.clone(),
                "–".into(),
                "–".into(),
                "–".into(),
                "–".into(),
            ]);
        }
        for d in rows {
            t.rows.push(vec![
                clean(label),
                preferred.clone(),
                format!("{} vs {}", names[d.strategy], names[d.baseline]),
                format!(
                    "{} → {}",
                    signed(Metric::Bookings, d.plan_diff.mean),
                    signed(Metric::Bookings, d.changed_diff.mean)
                ),
                format!("{} → {}", pct(d.plan_beats.p), pct(d.changed_beats.p)),
                if d.material() { "yes" } else { "no" }.into(),
            ]);
        }
        for row in w.rows.iter().filter(|x| x.metric == Metric::Bookings) {
            if row.change.mean != 0.0 {
                notes.push(format!(
                    "{}: {}'s mean bookings {} ({:+.1}%).",
                    clean(label),
                    names[row.strategy],
                    signed(Metric::Bookings, row.change.mean),
                    100.0 * row.change_pct()
                ));
            }
        }
    }
    notes.push(format!(
        "Material: P(better) moves by {:.0} points or more, crosses 50%, or the mean difference changes sign.",
        100.0 * crate::experiment::MATERIAL_P
    ));
    (Some(t), notes)
}

fn used_by(i: &Input, names: &[String]) -> String {
    match i.used_by.len() {
        0 => "shared: every strategy".into(),
        1 => names.get(i.used_by[0]).cloned().unwrap_or_default(),
        _ => format!(
            "shared: {}",
            i.used_by
                .iter()
                .filter_map(|s| names.get(*s).cloned())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn quantile_text(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    if x.abs() >= 1000.0 {
        return text::thousands(x);
    }
    // four significant digits, trailing zeros dropped
    let digits = (3 - x.abs().log10().floor().max(-6.0) as i32).max(0) as usize;
    let s = format!("{x:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn assumption_tables(r: &Report, labels: &[String]) -> (Table, Option<Table>, String) {
    let head = ["input", "distribution as written", "P5", "P95", "used by"];
    let fill = |t: &mut Table, inputs: &[Input]| {
        for i in inputs {
            t.rows.push(vec![
                clean(&i.path),
                clean(&i.written),
                quantile_text(i.p5),
                quantile_text(i.p95),
                used_by(i, labels),
            ]);
        }
    };
    let mut t = Table::new(
        format!(
            "Every uncertain input drawn once per trial ({}), with the range 90% of its draws fall in",
            r.inputs.len()
        ),
        &head,
    )
    .left(&[0, 1, 4]);
    fill(&mut t, &r.inputs);
    let per_deal = if r.per_deal.is_empty() {
        None
    } else {
        let mut p = Table::new(
            "Distributions drawn for every deal (deal size, cycle length, delays)",
            &head,
        )
        .left(&[0, 1, 4]);
        fill(&mut p, &r.per_deal);
        Some(p)
    };
    let shared = r.inputs.iter().filter(|i| i.used_by.len() != 1).count();
    let scn = &r.run.scenario;
    let note = format!(
        "{shared} of the {} per-trial inputs are shared: drawn once per trial and used by every strategy that has them (the market, revenue, the sales team, segments{}), so the strategies face the same market in each trial. The rest belong to one strategy.",
        r.inputs.len(),
        if scn.shared_channels.is_empty() {
            String::new()
        } else {
            format!(
                ", and the shared channels {}",
                scn.shared_channels
                    .iter()
                    .map(|c| clean(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    (t, per_deal, note)
}

fn settings_table(r: &Report) -> Table {
    let scn = &r.run.scenario;
    let a = &r.run.analysis;
    let mut t = Table::new("To reproduce this report", &["setting", "value"]).left(&[0, 1]);
    let mut row = |k: &str, v: String| t.rows.push(vec![k.to_string(), v]);
    row("scenario file", clean(&scn.file.display().to_string()));
    if !scn.overrides.is_empty() {
        row("changes", clean(&scn.overrides.join(" ")));
    }
    row("seed", scn.seed.to_string());
    row("trials", text::thousands(a.trials as f64));
    row("baseline", clean(&a.strategies[a.baseline].label));
    row("confidence level of means", level(a.ci));
    row(
        "quantiles",
        if a.quantiles_exact {
            "exact (every trial kept)".into()
        } else {
            "from the quantile sketch (bounded memory)".into()
        },
    );
    if let Some(p) = &r.run.precision {
        row(
            "precision target",
            format!(
                "±{:.2}% on {}, reached ±{:.2}% ({})",
                100.0 * p.target,
                p.metric.name(),
                100.0 * p.worst,
                if p.met { "met" } else { "not met" }
            ),
        );
    }
    if let Some(s) = &r.sensitivity {
        row(
            "sensitivity analysis",
            format!(
                "the first {} trials",
                text::thousands(s.scenario.trials as f64)
            ),
        );
    } else if let Some(why) = &r.sensitivity_skipped {
        row("sensitivity analysis", format!("none: {why}"));
    }
    row("pipesim version", VERSION.to_string());
    t
}

/// Whether the file at `path` holds a pipesim report (its generator tag
/// within the first 4 KiB).
pub fn is_report(path: &std::path::Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 4096];
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let n = f.read(&mut head).unwrap_or(0);
    String::from_utf8_lossy(&head[..n]).contains("<meta name=\"generator\" content=\"pipesim ")
}

/// Check and stage the report file `path` before the simulation: never one
/// of `inputs`, never a directory, and never a file that is not a pipesim
/// report unless `force` (pipesim does not overwrite what it did not write).
pub fn report_output(
    path: &std::path::Path,
    force: bool,
    inputs: &[&std::path::Path],
) -> Result<crate::output::OutputFile, crate::output::OutputError> {
    let file = crate::output::OutputFile::prepare(path, inputs)?;
    if !force && std::fs::metadata(path).is_ok_and(|m| m.is_file()) && !is_report(path) {
        return Err(crate::output::OutputError::Clash {
            dir: path.to_path_buf(),
            reason: "it exists and is not a pipesim report".into(),
            force: "--force replaces it",
        });
    }
    Ok(file)
}
