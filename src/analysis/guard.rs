//! The last line against wrong numbers that look right: after a run, every
//! accumulated series must be finite and within [`MAX_FIGURE`], or the run
//! fails with an error that names the strategy, the figure and the inputs
//! it comes from — nothing non-finite or overflowed is ever printed or
//! written.
//!
//! Validation ([`crate::scenario::bounds`]) already rejects inputs whose
//! plausible extremes (1 − 10⁻⁹ quantiles) overflow the model's sums, so
//! this fires only for draws beyond those tails. The one legitimate
//! non-finite value is an ROI in a trial that cost exactly 0 (undefined,
//! MODEL.md): it is allowed when that strategy's cost reaches 0, and the
//! ROI row is then left out with a warning, as before.

use rayon::prelude::*;

use crate::accum::{Accumulator, SeriesAcc, Source};
use crate::metrics::{Detail, Metric, MonthlyMetric};
use crate::scenario::Scenario;
use crate::scenario::bounds::MAX_FIGURE;

/// A figure of a run is non-finite or beyond [`MAX_FIGURE`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "strategy '{strategy}': {figure} {problem}; pipesim reports no figure beyond 1e15 (none non-finite). It comes from {inputs} — lower them, shorten the horizon, or check their units"
)]
pub struct FigureError {
    pub strategy: String,
    /// The figure, e.g. `bookings`, `mrr_end in 2027-03`, `bookings (quality − volume)`.
    pub figure: String,
    /// What went wrong, e.g. `reached 2.3e302 in some trial`.
    pub problem: String,
    /// The inputs the figure is computed from, as `path = value`.
    pub inputs: String,
}

/// Check every series of `acc` (the blocks of `scns`, in order; for a run
/// one scenario, for a what-if the plan and the changed copy).
pub fn check(scns: &[&Scenario], acc: &Accumulator) -> Result<(), FigureError> {
    // the scenario of block `b` (a source never names a block beyond them)
    let scn_of = |b: usize| scns.get(b).copied().unwrap_or(scns[0]);
    let zero_cost = |b: usize, s: usize| {
        acc.get(Source::Metric {
            b,
            s,
            k: Metric::Cost.index(),
        })
        .is_some_and(|c| c.finite_range().1 <= 0.0)
    };
    // one parallel pass over the values; only a series outside the rule is
    // looked at again (named, and an undefined ROI checked against cost)
    let suspicious: Vec<&SeriesAcc> = acc
        .series
        .par_iter()
        .filter(|series| !series.all_within(MAX_FIGURE))
        .collect();
    for series in suspicious {
        let (non_finite, lo, hi) = series.finite_range();
        let (b, s, figure, metric, roi_ok) = match series.source {
            Source::Metric { b, s, k } => {
                let m = Metric::ALL[k];
                (b, s, m.name().to_string(), Some(m), zero_cost(b, s))
            }
            Source::Monthly { b, s, j } => {
                let scn = scn_of(b);
                let (name, metric) = detail_name(scn, j);
                (b, s, name, metric, false)
            }
            Source::Diff {
                b,
                s,
                base_b,
                base_s,
                k,
            } => {
                let m = Metric::ALL[k];
                let base = scn_of(base_b);
                let name = format!(
                    "{} difference against '{}'",
                    m.name(),
                    base.strategies
                        .get(base_s)
                        .map_or("the baseline", |st| st.name.as_str())
                );
                (
                    b,
                    s,
                    name,
                    Some(m),
                    zero_cost(b, s) || zero_cost(base_b, base_s),
                )
            }
        };
        let roi = metric.is_some_and(Metric::is_ratio);
        let problem = if non_finite > 0 && !(roi && roi_ok) {
            format!("is not a finite number in {non_finite} trial(s)")
        } else if !(lo >= -MAX_FIGURE) {
            format!("reached {lo:.3e} in some trial")
        } else if !(hi <= MAX_FIGURE) {
            format!("reached {hi:.3e} in some trial")
        } else {
            continue;
        };
        let scn = scn_of(b);
        return Err(FigureError {
            strategy: scn
                .strategies
                .get(s)
                .map_or_else(|| format!("#{s}"), |st| st.name.clone()),
            figure,
            problem,
            inputs: inputs(scn, s, metric),
        });
    }
    Ok(())
}

/// The per-trial metric a monthly series is a part of.
/// The name of detail value `j` and the metric whose inputs explain it.
fn detail_name(scn: &Scenario, j: usize) -> (String, Option<Metric>) {
    let layout = scn.layout();
    match layout.describe(j) {
        Detail::Monthly(mm, m) => (
            format!("{} in {}", mm.name(), scn.month_label(m)),
            Some(monthly_metric(mm)),
        ),
        Detail::Stage(i) => (
            format!(
                "funnel entries into {}",
                layout
                    .stages
                    .get(i)
                    .and_then(|s| scn.funnel.stages.get(*s))
                    .map_or("a stage", String::as_str)
            ),
            Some(Metric::Leads),
        ),
        Detail::Segment(g, m) => (
            format!("{} of segment {}", m.name(), segment_name(scn, g)),
            Some(m),
        ),
        Detail::SegmentStage(g, _) => (
            format!("funnel entries of segment {}", segment_name(scn, g)),
            Some(Metric::Mqls),
        ),
        Detail::Quarter(q, qm) => (
            format!("{} in {}", qm.name(), scn.quarter_label(q)),
            Some(Metric::Bookings),
        ),
    }
}

fn segment_name(scn: &Scenario, g: usize) -> &str {
    scn.segments.get(g).map_or("?", |s| s.name.as_str())
}

fn monthly_metric(mm: MonthlyMetric) -> Metric {
    match mm {
        MonthlyMetric::Leads => Metric::Leads,
        MonthlyMetric::Mqls => Metric::Mqls,
        MonthlyMetric::Opportunities => Metric::Opportunities,
        MonthlyMetric::WonDeals => Metric::WonDeals,
        MonthlyMetric::Bookings => Metric::Bookings,
        MonthlyMetric::MrrEnd => Metric::ArrEnd,
        MonthlyMetric::MqlsIgnored => Metric::MqlsIgnored,
        MonthlyMetric::PipelineCreated => Metric::PipelineCreated,
        MonthlyMetric::Revenue => Metric::Revenue,
        MonthlyMetric::Cost => Metric::Cost,
        MonthlyMetric::TotalMrrEnd => Metric::TotalArrEnd,
    }
}

/// `path = value` of the inputs a metric of strategy `s` is computed from.
fn inputs(scn: &Scenario, s: usize, metric: Option<Metric>) -> String {
    let Some(st) = scn.strategies.get(s) else {
        return "the scenario's inputs".to_string();
    };
    let m = metric.unwrap_or(Metric::Bookings);
    let money = matches!(
        m,
        Metric::PipelineCreated
            | Metric::Bookings
            | Metric::Revenue
            | Metric::ArrEnd
            | Metric::OpenPipelineEnd
            | Metric::Roi
    );
    let recurring = matches!(m, Metric::Revenue | Metric::ArrEnd | Metric::Roi);
    let cost = matches!(m, Metric::Cost | Metric::Roi);
    let mut out: Vec<String> = Vec::new();
    let mut add = |path: &str, written: &str| {
        let item = if written.parse::<f64>().is_ok() {
            format!("{path} = {written}")
        } else {
            format!("{path} = {written:?}")
        };
        if !out.contains(&item) {
            out.push(item);
        }
    };
    for ch in &st.channels {
        for (field, p) in ch.fields(&scn.funnel.stages) {
            let wanted = match field.as_str() {
                "leads_per_month" | "spend_per_month" => true,
                "cost_per_lead" => true,
                "deal_size" => money,
                f if f.starts_with("conversion.") => !cost,
                _ => false,
            };
            if wanted {
                add(&p.path, &p.written);
            }
        }
    }
    if cost {
        add(
            &st.fixed_cost_per_month.path,
            &st.fixed_cost_per_month.written,
        );
    }
    if recurring {
        let r = &scn.revenue;
        add(&r.expansion_monthly.path, &r.expansion_monthly.written);
        add(&r.churn_monthly.path, &r.churn_monthly.written);
    }
    out.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario() -> Scenario {
        let file = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/scenario-format.toml"
        );
        match Scenario::load(std::path::Path::new(file)) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    fn metric(k: Metric, values: &[f64]) -> SeriesAcc {
        let source = Source::Metric {
            b: 0,
            s: 0,
            k: k.index(),
        };
        SeriesAcc::from_values(source, None, values)
    }

    #[test]
    fn an_overflowed_or_huge_figure_fails_naming_it_and_its_inputs() {
        let scn = scenario();
        for bad in [f64::INFINITY, 2e15, -3e15] {
            let acc = Accumulator::from_series(vec![metric(Metric::Bookings, &[1.0, bad])], 2);
            let Err(e) = check(&[&scn], &acc) else {
                panic!("{bad} passed the guard");
            };
            assert_eq!(e.figure, "bookings");
            assert_eq!(e.strategy, scn.strategies[0].name);
            assert!(e.inputs.contains("deal_size"), "{e}");
        }
        let acc = Accumulator::from_series(vec![metric(Metric::Bookings, &[1.0, 1e15])], 2);
        assert_eq!(check(&[&scn], &acc), Ok(()));
    }

    #[test]
    fn an_undefined_roi_passes_only_when_a_trial_cost_nothing() {
        let scn = scenario();
        let roi = || metric(Metric::Roi, &[0.5, f64::NAN]);
        let free = Accumulator::from_series(vec![metric(Metric::Cost, &[10.0, 0.0]), roi()], 2);
        assert_eq!(check(&[&scn], &free), Ok(()));
        let paid = Accumulator::from_series(vec![metric(Metric::Cost, &[10.0, 5.0]), roi()], 2);
        let Err(e) = check(&[&scn], &paid) else {
            panic!("a NaN ROI with a cost passed");
        };
        assert_eq!(e.figure, "roi");
        assert!(e.inputs.contains("cost_per_lead"), "{e}");
    }
}
