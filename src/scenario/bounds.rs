//! Plausibility bounds: a scenario is rejected when its inputs' plausible
//! extremes could push a figure beyond what the model can sum exactly, or
//! the net monthly rate to −1 or below.
//!
//! "Plausible" is the 1 − 10⁻⁹ quantile of every uncertain input (the
//! 10⁻⁹ quantile where a small value is the extreme, e.g. a cost per lead
//! that divides a spend), the same tail the net-rate check uses. Two rules:
//!
//! - every amount (money, counts, days, head counts) stays at or below
//!   [`MAX_FIGURE`] = 10¹⁵, and a channel's monthly lead rate (volume ×
//!   demand × seasonality × the over-dispersion's gamma) at or below
//!   [`crate::sampling::MAX_MONTHLY_LAMBDA`] (also 10¹⁵);
//! - per strategy, upper bounds of cost, pipeline, bookings, revenue and
//!   ARR over the horizon — every conversion at its upper extreme, capacity
//!   ignored, MRR compounding at the highest net rate — stay at or below
//!   [`MAX_FIGURE`].
//!
//! 10¹⁵ keeps sums of money exact to well under one unit of currency
//! (doubles resolve 0.125 there; 2⁵³ ≈ 9.0·10¹⁵) and is four orders of
//! magnitude above the largest company's annual revenue. A run still
//! checks its results (`crate::analysis`'s guard) for the 10⁻⁹ tails.

use crate::dist::Domain;
use crate::error::FieldError;
use crate::sampling::MAX_MONTHLY_LAMBDA;

use super::{Param, Revenue, Scenario, Strategy, Volume};

/// Largest figure (amount of money, count) pipesim reports.
pub const MAX_FIGURE: f64 = 1e15;

/// Tail probability of a "plausible" extreme.
pub const TAIL: f64 = 1e-9;

/// Plausible largest value of a parameter.
pub fn upper(p: &Param) -> f64 {
    p.dist.quantile_upper(TAIL)
}

/// Plausible smallest value of a parameter.
pub fn lower(p: &Param) -> f64 {
    p.dist.quantile(TAIL)
}

/// `expansion − churn` must stay above −1 (MODEL.md, "Distributions"):
/// checked at the [`TAIL`] quantile of expansion and the 1 − [`TAIL`]
/// quantile of churn.
pub fn net_rate(revenue: &Revenue) -> Result<(), FieldError> {
    let e = lower(&revenue.expansion_monthly);
    let c = revenue.churn_monthly.dist.quantile(1.0 - TAIL);
    if !(e - c > -1.0) {
        return Err(FieldError::new(
            "revenue",
            Some(format!(
                "expansion_monthly = {:?}, churn_monthly = {:?}",
                revenue.expansion_monthly.written, revenue.churn_monthly.written
            )),
            format!(
                "the net monthly rate expansion - churn must stay above -1 (MRR cannot fall below zero); at the 1e-9 quantile of expansion ({e}) and the 1 - 1e-9 quantile of churn ({c}) it is {}",
                e - c
            ),
        ));
    }
    Ok(())
}

/// The checks of this module on a scenario changed after validation
/// (`--scale`): the net rate, then [`check`].
pub fn after_change(scn: &Scenario) -> Vec<FieldError> {
    let mut errors: Vec<FieldError> = net_rate(&scn.revenue).err().into_iter().collect();
    errors.extend(check(scn));
    errors
}

/// Every problem found: first each amount on its own, then (for the
/// strategies whose amounts are all plausible) the strategy's sums.
pub fn check(scn: &Scenario) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (_, p) in scn.params_by_access() {
        if matches!(p.domain, Domain::Amount | Domain::Positive) {
            let up = upper(p);
            if !(up <= MAX_FIGURE) && !errors.iter().any(|e: &FieldError| e.path == p.path) {
                errors.push(FieldError::new(
                    p.path.clone(),
                    Some(quoted(&p.written)),
                    format!(
                        "its plausible values reach {} (the 1 - 1e-9 quantile); pipesim keeps every amount at or below 1e15, where sums of money still resolve one unit — check the units",
                        sci(up)
                    ),
                ));
            }
        }
    }
    if !errors.is_empty() {
        return errors;
    }
    for st in &scn.strategies {
        if let Some(e) = strategy_sums(scn, st) {
            errors.push(e);
        }
    }
    errors
}

fn quoted(written: &str) -> String {
    if written.parse::<f64>().is_ok() {
        written.to_string()
    } else {
        format!("{written:?}")
    }
}

/// `1.23e+17`-style text for a bound (or `inf`-free text for overflow).
fn sci(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3e}")
    } else {
        "beyond 1.8e308 (overflow)".to_string()
    }
}

/// The first of a strategy's sums that can exceed [`MAX_FIGURE`].
fn strategy_sums(scn: &Scenario, st: &Strategy) -> Option<FieldError> {
    let h = scn.horizon as f64;
    let demand = upper(&scn.market.demand);
    let season = scn.seasonality.iter().copied().fold(0.0, f64::max);
    let pipeline = scn.funnel.pipeline;
    let prefix = format!("strategy.{}", st.name);
    let (mut cost, mut pipe, mut book) = (0.0, 0.0, 0.0);
    for (i, ch) in st.channels.iter().enumerate() {
        let at = format!("{prefix}.channel[{i}]");
        let disp = ch
            .volume_dispersion
            .as_ref()
            .map_or(1.0, |k| gamma_mixing_upper(lower(k)));
        let (rate, monthly_cost) = match &ch.volume {
            Volume::Leads(l) => {
                let leads = upper(l);
                (leads, leads * upper(&ch.cost_per_lead))
            }
            Volume::Spend(s) => (upper(s) / lower(&ch.cost_per_lead), upper(s)),
        };
        let lambda = rate * demand * season * disp;
        if !(lambda <= MAX_MONTHLY_LAMBDA) {
            return Some(FieldError::new(
                at,
                None,
                format!(
                    "its monthly lead rate could reach {} (volume × market.demand × seasonality{} at their plausible extremes); pipesim simulates at most 1e15 leads a channel a month",
                    sci(lambda),
                    if ch.volume_dispersion.is_some() {
                        " × the over-dispersion"
                    } else {
                        ""
                    }
                ),
            ));
        }
        let conv = |upto: usize| -> f64 { ch.conversion[..upto].iter().map(upper).product() };
        let opps = lambda * conv(pipeline) * h;
        let won = lambda * conv(ch.conversion.len()) * h;
        let deal = upper(&ch.deal_size);
        cost += monthly_cost * h;
        pipe += opps * deal;
        book += won * deal;
    }
    cost += upper(&st.fixed_cost_per_month) * h;
    let net = upper(&scn.revenue.expansion_monthly) - lower(&scn.revenue.churn_monthly);
    let growth = (1.0 + net).max(1.0).powf(h);
    let arr = book * growth;
    let revenue = arr / 12.0 * h;
    let sums = [
        (
            "cost",
            cost,
            "volumes, costs per lead, spends and fixed cost",
        ),
        (
            "pipeline_created",
            pipe,
            "lead rates, conversions and deal sizes",
        ),
        ("bookings", book, "lead rates, conversions and deal sizes"),
        (
            "arr_end",
            arr,
            "bookings compounding at the highest net monthly rate (revenue.expansion_monthly - revenue.churn_monthly)",
        ),
        (
            "revenue",
            revenue,
            "bookings compounding at the highest net monthly rate (revenue.expansion_monthly - revenue.churn_monthly)",
        ),
    ];
    let (metric, x, from) = sums.into_iter().find(|(_, x, _)| !(*x <= MAX_FIGURE))?;
    Some(FieldError::new(
        prefix,
        None,
        format!(
            "{metric} could reach {} over {} months from its {from} at their plausible extremes (1 - 1e-9 quantiles); pipesim keeps every figure at or below 1e15 — lower the inputs, the horizon, or check their units",
            sci(x),
            scn.horizon
        ),
    ))
}

/// Upper extreme of the gamma–Poisson mixing factor G/k, G ~ Gamma(k, 1),
/// at the smallest plausible dispersion `k`.
fn gamma_mixing_upper(k: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Gamma};
    if !(k > 0.0) {
        return f64::INFINITY;
    }
    match Gamma::new(k, 1.0) {
        Ok(g) => (g.inverse_cdf(1.0 - TAIL) / k).max(1.0),
        Err(_) => f64::INFINITY,
    }
}
