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
}

/// Draw month `m`'s leads per channel (in channel order), each from the
/// channel's counts stream of the month; `handoff` receives each channel's
/// handoff members and `counts` its counts stream (to draw the
/// opportunities from later), `lead_cost` the cost of the lead-based
/// channels' leads.
#[inline(always)]
pub(super) fn month<'a, T: Tracer<'a>>(
    strategy: &Strategy,
    params: &StrategyParams,
    season: f64,
    (at, m): (&TrialDraws<'_>, usize),
    (handoff, counts): (&mut Vec<u64>, &mut Vec<StreamRng>),
    lead_cost: &mut f64,
    trace: &mut T,
) -> Month {
    let mut total = Month {
        leads: 0,
        handoff: 0,
    };
    handoff.clear();
    counts.clear();
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
        // leads and, of them, entries into the handoff stage
        let (l, x) = d.leads.sample_split(lambda, d.to_handoff, &mut rng);
        counts.push(rng);
        total.leads = total.leads.saturating_add(l);
        if d.leads_based {
            *lead_cost += l as f64 * d.cost_per_lead;
        }
        handoff.push(x);
        total.handoff = total.handoff.saturating_add(x);
    }
    total
}
