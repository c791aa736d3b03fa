//! The work of a run, estimated before it starts: how many opportunities
//! (deals, the one thing the model simulates one by one) and channel-months
//! (a few count draws each) one trial simulates.
//!
//! The estimate puts the *means* of the parameters through the model's
//! expected-value formulas — a plausible central figure, not a bound (the
//! mean of a product of uncertain parameters can differ from the product
//! of their means, and capacity cuts the expected handoff rather than each
//! trial's): per strategy, channel and month, the lead rate λ = mean
//! volume (leads, or spend / cost per lead) × mean demand × seasonality,
//! capped at [`MAX_MONTHLY_LAMBDA`] as the model caps it; of it λ × p the
//! handoff stage (p the product of the mean conversions up to it); where
//! the strategy has a sales team, the month's handoff total cut to the
//! capacity K = mean reps × mean capacity per rep, shared between channels
//! in proportion; and × the product of the mean conversions up to the
//! pipeline stage, the opportunities.

use crate::sampling::MAX_MONTHLY_LAMBDA;
use crate::scenario::{Scenario, Volume};

/// The estimated work of one trial of a scenario (every strategy).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorkEstimate {
    /// Expected opportunities (deals simulated) per trial.
    pub opportunities: f64,
    /// Channel-months per trial (Σ over strategies of channels × horizon).
    pub channel_months: f64,
}

impl WorkEstimate {
    /// Work units of one trial: one per opportunity and one per
    /// channel-month.
    pub fn per_trial(&self) -> f64 {
        self.opportunities + self.channel_months
    }

    /// Work units of `trials` trials.
    pub fn total(&self, trials: u64) -> f64 {
        self.per_trial() * trials as f64
    }
}

/// Estimate the work of one trial of `scn` (see the module docs).
pub fn estimate(scn: &Scenario) -> WorkEstimate {
    let demand = scn.market.demand.dist.mean();
    let (handoff, pipeline) = (scn.funnel.handoff, scn.funnel.pipeline);
    let mut opportunities = 0.0;
    let mut channel_months = 0.0;
    for st in &scn.strategies {
        let capacity = st
            .sales
            .as_ref()
            .or(scn.sales.as_ref())
            .map(|s| (s.reps.dist.mean() * s.mql_capacity_per_rep.dist.mean()).floor());
        // per channel: mean monthly volume, to-handoff and to-pipeline rates
        let channels: Vec<(f64, f64, f64)> = st
            .channels
            .iter()
            .map(|ch| {
                let volume = match &ch.volume {
                    Volume::Leads(p) => p.dist.mean(),
                    Volume::Spend(p) => p.dist.mean() / ch.cost_per_lead.dist.mean(),
                };
                let (mut pre, mut post) = (1.0, 1.0);
                for (i, p) in ch.conversion.iter().enumerate() {
                    let stage = i + 1;
                    if stage <= handoff {
                        pre *= p.dist.mean();
                    } else if stage <= pipeline {
                        post *= p.dist.mean();
                    }
                }
                (volume * demand, pre, post)
            })
            .collect();
        channel_months += (st.channels.len() * scn.horizon) as f64;
        for m in 0..scn.horizon {
            let season = scn.seasonality[m % 12];
            let arrivals: Vec<f64> = channels
                .iter()
                .map(|&(v, pre, _)| (v * season).min(MAX_MONTHLY_LAMBDA) * pre)
                .collect();
            let total: f64 = arrivals.iter().sum();
            let worked = match capacity {
                Some(k) if total > k => k / total,
                _ => 1.0,
            };
            opportunities += arrivals
                .iter()
                .zip(&channels)
                .map(|(a, &(_, _, post))| a * worked * post)
                .sum::<f64>();
        }
    }
    WorkEstimate {
        opportunities,
        channel_months,
    }
}
