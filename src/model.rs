//! One trial of one strategy: MODEL.md turned into code.
//!
//! [`draw_shared`] draws the scenario-level parameters of a trial (market,
//! revenue, the scenario's sales team) from the shared stream;
//! [`simulate_strategy`] draws the strategy's own parameters from its stream
//! and runs the months: lead counts (Poisson or gamma–Poisson), stage
//! transitions (binomial), sales capacity (multivariate hypergeometric when
//! over capacity), per-deal size, cycle and outcome, and MRR/revenue.
//! Counts are drawn as counts, never one draw per lead, so volume costs
//! nothing; only opportunities are simulated one by one.

use rand::{Rng, RngExt};

use crate::metrics::{Metric, MonthlyMetric};
use crate::sampling::{binomial, lead_count, multivariate_hypergeometric};
use crate::scenario::{DAYS_PER_MONTH, Sales, Scenario, Strategy, Volume};

/// Scenario-level draws of one trial, common to every strategy.
#[derive(Debug, Clone, Copy)]
pub struct SharedDraw {
    /// `market.demand` multiplier.
    pub demand: f64,
    /// Net monthly MRR growth `g = expansion − churn`.
    pub net_rate: f64,
    /// Monthly capacity of the scenario's sales team (`None` = unlimited).
    pub capacity: Option<u64>,
}

/// Draw the shared parameters of one trial, in a fixed order: demand, churn,
/// expansion, then the scenario's sales team (reps, capacity per rep).
pub fn draw_shared<R: Rng + ?Sized>(scn: &Scenario, rng: &mut R) -> SharedDraw {
    let demand = scn.market.demand.dist.sample(rng);
    let churn = scn.revenue.churn_monthly.dist.sample(rng);
    let expansion = scn.revenue.expansion_monthly.dist.sample(rng);
    let capacity = scn.sales.as_ref().map(|s| draw_capacity(s, rng));
    SharedDraw {
        demand,
        net_rate: expansion - churn,
        capacity,
    }
}

/// `K = floor(reps × mql_capacity_per_rep)` for one trial.
fn draw_capacity<R: Rng + ?Sized>(sales: &Sales, rng: &mut R) -> u64 {
    let reps = sales.reps.dist.sample(rng);
    let per_rep = sales.mql_capacity_per_rep.dist.sample(rng);
    let k = (reps * per_rep).floor();
    // saturating float-to-int conversion: a huge capacity is unlimited in practice
    k as u64
}

/// Per-trial draws of one channel.
#[derive(Debug, Clone, Default)]
struct ChannelDraw {
    mean_volume: f64,
    cost_per_lead: f64,
    /// `Some(k)` for gamma–Poisson volume.
    dispersion: Option<f64>,
    /// Conversion into stages 1..=handoff.
    pre: Vec<f64>,
    /// Conversion into stages handoff+1..=pipeline.
    post: Vec<f64>,
    /// Product of conversions after the pipeline stage.
    p_win: f64,
    leads_based: bool,
    /// Monthly spend of a spend-based channel (0 for lead-based ones).
    spend: f64,
}

/// Reusable buffers so a trial allocates nothing once warmed up.
#[derive(Debug, Default)]
pub struct Workspace {
    channels: Vec<ChannelDraw>,
    won_by_month: Vec<f64>,
    bookings_by_month: Vec<f64>,
    /// Per channel: handoff members this month, then those worked.
    handoff: Vec<u64>,
}

/// Where one strategy's trial writes its results.
pub struct TrialOut<'a> {
    /// One value per [`Metric`], in [`Metric::ALL`] order.
    pub metrics: &'a mut [f64; Metric::COUNT],
    /// `monthly[mm * horizon + month]` for each [`MonthlyMetric`] `mm`.
    pub monthly: &'a mut [f64],
}

/// Simulate one strategy for one trial.
///
/// Draw order on the strategy's stream: its own sales team (if it overrides
/// the scenario's), fixed cost, then per channel volume, cost per lead,
/// dispersion and conversions; then the months.
pub fn simulate_strategy<R: Rng + ?Sized>(
    scn: &Scenario,
    strategy: &Strategy,
    shared: &SharedDraw,
    rng: &mut R,
    ws: &mut Workspace,
    out: TrialOut<'_>,
) {
    let h = scn.horizon;
    let handoff = scn.funnel.handoff;
    let pipeline = scn.funnel.pipeline;

    let capacity = match &strategy.sales {
        Some(s) => Some(draw_capacity(s, rng)),
        None => shared.capacity,
    };
    let fixed_cost = strategy.fixed_cost_per_month.dist.sample(rng);

    ws.channels
        .resize_with(strategy.channels.len(), ChannelDraw::default);
    for (ch, d) in strategy.channels.iter().zip(ws.channels.iter_mut()) {
        let (volume, leads_based) = match &ch.volume {
            Volume::Leads(p) => (p.dist.sample(rng), true),
            Volume::Spend(p) => (p.dist.sample(rng), false),
        };
        let cpl = ch.cost_per_lead.dist.sample(rng);
        d.leads_based = leads_based;
        d.cost_per_lead = cpl;
        d.mean_volume = if leads_based { volume } else { volume / cpl };
        d.spend = if leads_based { 0.0 } else { volume };
        d.dispersion = ch.volume_dispersion.as_ref().map(|p| p.dist.sample(rng));
        d.pre.clear();
        d.post.clear();
        d.p_win = 1.0;
        // conversion[i] leads into stage i + 1
        for (i, p) in ch.conversion.iter().enumerate() {
            let x = p.dist.sample(rng);
            let stage = i + 1;
            if stage <= handoff {
                d.pre.push(x);
            } else if stage <= pipeline {
                d.post.push(x);
            } else {
                d.p_win *= x;
            }
        }
    }

    ws.won_by_month.clear();
    ws.won_by_month.resize(h, 0.0);
    ws.bookings_by_month.clear();
    ws.bookings_by_month.resize(h, 0.0);

    let monthly = out.monthly;
    monthly.fill(0.0);
    let mi = |mm: MonthlyMetric, m: usize| mm.index() * h + m;

    let (mut leads, mut mqls, mut ignored, mut opps) = (0.0, 0.0, 0.0, 0.0);
    let (mut pipeline_value, mut open_value, mut cost) = (0.0, 0.0, 0.0);

    for m in 0..h {
        let season = scn.seasonality[m % 12];
        let mut month_leads = 0u64;
        let mut month_handoff = 0u64;
        ws.handoff.clear();
        for d in &ws.channels {
            let lambda = d.mean_volume * shared.demand * season;
            let l = lead_count(lambda, d.dispersion, rng);
            month_leads = month_leads.saturating_add(l);
            if d.leads_based {
                cost += l as f64 * d.cost_per_lead;
            }
            let mut x = l;
            for &p in &d.pre {
                x = binomial(x, p, rng);
            }
            ws.handoff.push(x);
            month_handoff = month_handoff.saturating_add(x);
        }
        // Sales capacity: K of the M handoff members are worked, chosen
        // uniformly at random (multivariate hypergeometric over channels).
        if let Some(k) = capacity.filter(|k| month_handoff > *k) {
            ignored += (month_handoff - k) as f64;
            multivariate_hypergeometric(&mut ws.handoff, k, rng);
        }
        let mut month_opps = 0u64;
        for ((ch, d), &worked) in strategy.channels.iter().zip(&ws.channels).zip(&ws.handoff) {
            let mut x = worked;
            for &p in &d.post {
                x = binomial(x, p, rng);
            }
            month_opps = month_opps.saturating_add(x);
            for _ in 0..x {
                let size = ch.deal_size.dist.sample(rng);
                let cycle = ch.cycle_days.dist.sample(rng);
                pipeline_value += size;
                let months = (cycle / DAYS_PER_MONTH).floor();
                if months >= (h - m) as f64 {
                    // closes at c >= H: still open at the end, whatever its outcome
                    open_value += size;
                } else {
                    let won = d.p_win >= 1.0 || rng.random::<f64>() < d.p_win;
                    if won {
                        let c = m + months as usize;
                        ws.won_by_month[c] += 1.0;
                        ws.bookings_by_month[c] += size;
                    }
                }
            }
        }
        leads += month_leads as f64;
        mqls += month_handoff as f64;
        opps += month_opps as f64;
        monthly[mi(MonthlyMetric::Leads, m)] = month_leads as f64;
        monthly[mi(MonthlyMetric::Mqls, m)] = month_handoff as f64;
        monthly[mi(MonthlyMetric::Opportunities, m)] = month_opps as f64;
    }

    let monthly_spend: f64 = ws.channels.iter().map(|d| d.spend).sum();
    cost += (monthly_spend + fixed_cost) * h as f64;

    // MRR_end(k) = MRR_end(k−1)·(1+g) + (ACV won in k)/12; revenue in month k
    // is MRR_end(k−1), so month 0 recognises nothing.
    let growth = 1.0 + shared.net_rate;
    let (mut mrr, mut revenue, mut won, mut bookings) = (0.0, 0.0, 0.0, 0.0);
    for k in 0..h {
        revenue += mrr;
        mrr = mrr * growth + ws.bookings_by_month[k] / 12.0;
        won += ws.won_by_month[k];
        bookings += ws.bookings_by_month[k];
        monthly[mi(MonthlyMetric::WonDeals, k)] = ws.won_by_month[k];
        monthly[mi(MonthlyMetric::Bookings, k)] = ws.bookings_by_month[k];
        monthly[mi(MonthlyMetric::MrrEnd, k)] = mrr;
    }

    let metrics = out.metrics;
    metrics[Metric::Leads.index()] = leads;
    metrics[Metric::Mqls.index()] = mqls;
    metrics[Metric::MqlsIgnored.index()] = ignored;
    metrics[Metric::Opportunities.index()] = opps;
    metrics[Metric::PipelineCreated.index()] = pipeline_value;
    metrics[Metric::WonDeals.index()] = won;
    metrics[Metric::Bookings.index()] = bookings;
    metrics[Metric::Revenue.index()] = revenue;
    metrics[Metric::ArrEnd.index()] = 12.0 * mrr;
    metrics[Metric::OpenPipelineEnd.index()] = open_value;
    metrics[Metric::Cost.index()] = cost;
    metrics[Metric::Roi.index()] = if cost > 0.0 {
        (revenue - cost) / cost
    } else {
        f64::NAN
    };
}
