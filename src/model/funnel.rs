//! The funnel stage of a month: per channel its leads and, of them, the
//! entries into the handoff stage.
//!
//! Given the month's rate Λ = base λ × seasonality (× a gamma draw when the
//! channel is over-dispersed), the leads that reach the handoff stage and
//! the others are independent Poisson(Λ·p) and Poisson(Λ·(1−p)) counts, p
//! the product of the conversions up to the handoff stage.

use crate::params::{StrategyParams, TrialDraws};
use crate::sampling::streams::{StreamRng, month_key};
use crate::scenario::Strategy;
use crate::trace::{self, Draw, Tracer};

/// One month's funnel totals over the channels.
#[derive(Debug, Clone, Copy)]
pub(super) struct Month {
    pub leads: u64,
    pub handoff: u64,
    /// The lead-based channels' cost of this month's leads.
    pub lead_cost: f64,
}

/// Per channel, what a month's lead draw gives.
#[derive(Debug, Default)]
pub(super) struct Arrivals {
    /// New entrants into the handoff stage.
    pub fresh: Vec<u64>,
    /// Leads that do not reach the handoff stage.
    pub rest: Vec<u64>,
    /// The channel's counts stream of the month (the later count draws of
    /// the month come from it).
    pub counts: Vec<StreamRng>,
}

/// Draw month `m`'s leads per channel (in channel order), each from the
/// channel's counts stream of the month, into `arrivals`; `lead_cost`
/// accumulates the cost of the lead-based channels' leads (over the
/// months, in this order: the v1 sum).
#[inline(always)]
pub(super) fn month<'a, T: Tracer<'a>>(
    strategy: &Strategy,
    params: &StrategyParams,
    season: f64,
    (at, m): (&TrialDraws<'_>, usize),
    arrivals: &mut Arrivals,
    lead_cost: &mut f64,
    trace: &mut T,
) -> Month {
    let mut total = Month {
        leads: 0,
        handoff: 0,
        lead_cost: 0.0,
    };
    arrivals.fresh.clear();
    arrivals.rest.clear();
    arrivals.counts.clear();
    for (c, (d, ch)) in params.channels.iter().zip(&strategy.channels).enumerate() {
        let lambda = d.base_lambda * season;
        let key = month_key(ch.counts_key, m);
        trace.record(|| Draw::Stream(key));
        let mut rng = at.stream(key);
        trace.record(|| Draw::Leads {
            slot: trace::slot(c, 0),
            lambda,
            p: d.to_handoff,
        });
        let (l, x) = d.leads.sample_split(lambda, d.to_handoff, &mut rng);
        arrivals.counts.push(rng);
        total.leads = total.leads.saturating_add(l);
        if d.leads_based {
            let cost = l as f64 * d.cost_per_lead;
            *lead_cost += cost;
            total.lead_cost += cost;
        }
        arrivals.fresh.push(x);
        arrivals.rest.push(l - x);
        total.handoff = total.handoff.saturating_add(x);
    }
    total
}
