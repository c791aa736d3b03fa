//! Model laws: the engine's counts, capacity sharing and revenue against
//! MODEL.md's closed forms.
//!
//! Funnel means and count variances (Poisson thinning, seasonality, the
//! negative-binomial volume), sales capacity and its hypergeometric sharing
//! between channels, and revenue, ARR and open pipeline from the monthly
//! bookings. Tolerances are derived from standard errors as described in
//! [`crate::laws`]; exact identities are checked exactly or to 1e-9.

use pipesim::engine::SimResults;
use pipesim::metrics::{Metric, MonthlyMetric};

use crate::laws::{FUNNEL, assert_mean, assert_rel, assert_variance, load, moments, run};

/// Monthly series of one trial: `series[k]` for `k = 0..H`.
fn monthly_of_trial(sim: &SimResults, s: usize, mm: MonthlyMetric, trial: usize) -> Vec<f64> {
    (0..sim.horizon)
        .map(|k| sim.monthly(s, mm, k)[trial])
        .collect()
}

// ------------------------------------------------------------ funnel means

/// Guards the core funnel arithmetic: with fixed rates, unlimited capacity,
/// one Poisson channel and deals closing in their creation month, every
/// count is a thinned Poisson, so the means *and* variances of leads, mqls,
/// opportunities and won deals have closed forms; bookings and pipeline are
/// counts × the fixed deal size, cost is leads × cost per lead, and nothing
/// is left open. Catches a wrong stage mapping, a conversion applied twice or
/// skipped, a wrong λ, extra noise (overdispersion), or a cycle off by a month.
#[test]
fn funnel_means_match_closed_form() {
    let scn = load(&format!(
        r#"
horizon_months = 12
trials = 20000
seed = 11
{FUNNEL}
[strategy.s]
deal_size = 10000
cycle_days = 0
[[strategy.s.channel]]
name = "inbound"
leads_per_month = 50
cost_per_lead = 20
conversion = {{ mql = 0.4, sql = 0.25, won = 0.3 }}
"#
    ));
    let sim = run(&scn, 20_000, 11);
    let r = &sim.strategies[0];
    // λ = 50 leads/month (demand 1, seasonality 1), H = 12. Poisson(λ) per
    // month, binomially thinned at each stage, summed over independent
    // months, is Poisson with the product mean:
    //   leads ~ Poisson(λH)            = Poisson(600)
    //   mqls  ~ Poisson(λH·0.4)        = Poisson(240)
    //   opps  ~ Poisson(λH·0.4·0.25)   = Poisson(60)
    //   won   ~ Poisson(λH·0.4·0.25·0.3) = Poisson(18)   (cycle 0: c = m ≤ H−1)
    // so each mean equals its variance.
    let (lambda, h) = (50.0, 12.0);
    let expected = [
        (Metric::Leads, lambda * h),
        (Metric::Mqls, lambda * h * 0.4),
        (Metric::Opportunities, lambda * h * 0.4 * 0.25),
        (Metric::WonDeals, lambda * h * 0.4 * 0.25 * 0.3),
    ];
    for (m, mu) in expected {
        assert_mean(r.metric(m), mu, m.name());
        assert_variance(r.metric(m), mu, m.name());
    }
    // bookings = 10000 · won, E = 10000 · 18; pipeline = 10000 · opps.
    assert_mean(r.metric(Metric::Bookings), 10_000.0 * 18.0, "bookings");
    assert_mean(
        r.metric(Metric::PipelineCreated),
        10_000.0 * 60.0,
        "pipeline_created",
    );
    for t in 0..20_000 {
        let g = |m: Metric| r.metric(m)[t];
        assert_eq!(
            g(Metric::Bookings),
            10_000.0 * g(Metric::WonDeals),
            "trial {t}"
        );
        assert_eq!(
            g(Metric::PipelineCreated),
            10_000.0 * g(Metric::Opportunities),
            "trial {t}"
        );
        assert_eq!(
            g(Metric::Cost),
            20.0 * g(Metric::Leads),
            "trial {t}: cost = leads × cpl"
        );
        assert_eq!(
            g(Metric::OpenPipelineEnd),
            0.0,
            "trial {t}: cycle 0 leaves nothing open"
        );
        assert_eq!(g(Metric::MqlsIgnored), 0.0, "trial {t}: unlimited capacity");
    }
    // Month by month: leads ~ Poisson(λ) in every month, won ~ Poisson(λ·0.03).
    for m in 0..12 {
        let leads = sim.monthly(0, MonthlyMetric::Leads, m);
        assert_mean(leads, lambda, &format!("monthly leads[{m}]"));
        assert_variance(leads, lambda, &format!("monthly leads[{m}]"));
        let won = sim.monthly(0, MonthlyMetric::WonDeals, m);
        assert_mean(won, lambda * 0.03, &format!("monthly won_deals[{m}]"));
    }
}

/// Guards λ = spend / cost_per_lead × market.demand × seasonality[m mod 12]:
/// a spend-based channel over 24 months (so the seasonality index wraps) with
/// a fixed demand of 1.25. Each month's mean leads, opportunities and won
/// deals must follow the seasonal λ, and cost must be exactly spend × H.
/// Catches an unused or mis-indexed seasonality, demand left out, or a
/// spend channel read as leads.
#[test]
fn seasonal_spend_channel_means_follow_lambda() {
    let season = [0.5, 0.8, 1.0, 1.2, 1.5, 1.0, 0.7, 0.9, 1.1, 1.3, 1.0, 1.6];
    let season_toml = season.map(|s| s.to_string()).join(", ");
    let scn = load(&format!(
        r#"
horizon_months = 24
seasonality = [{season_toml}]
{FUNNEL}
[market]
demand = 1.25
[strategy.s]
deal_size = 5000
cycle_days = 0
[[strategy.s.channel]]
spend_per_month = 3000
cost_per_lead = 60
conversion = {{ mql = 0.5, sql = 0.2, won = 0.5 }}
"#
    ));
    let n = 10_000;
    let sim = run(&scn, n, 12);
    let r = &sim.strategies[0];
    // mean volume = 3000 / 60 = 50; λ_m = 50 · 1.25 · season[m mod 12].
    let lam = |m: usize| 50.0 * 1.25 * season[m % 12];
    for m in 0..24 {
        assert_mean(
            sim.monthly(0, MonthlyMetric::Leads, m),
            lam(m),
            &format!("leads[{m}]"),
        );
        assert_mean(
            sim.monthly(0, MonthlyMetric::Opportunities, m),
            lam(m) * 0.5 * 0.2,
            &format!("opportunities[{m}]"),
        );
        assert_mean(
            sim.monthly(0, MonthlyMetric::WonDeals, m),
            lam(m) * 0.5 * 0.2 * 0.5,
            &format!("won_deals[{m}]"),
        );
    }
    // Totals: leads ~ Poisson(Σ_m λ_m), bookings = 5000 · won.
    let total: f64 = (0..24).map(lam).sum();
    assert_mean(r.metric(Metric::Leads), total, "leads");
    assert_variance(r.metric(Metric::Leads), total, "leads");
    assert_mean(
        r.metric(Metric::Bookings),
        5000.0 * total * 0.05,
        "bookings",
    );
    for t in 0..n as usize {
        // a spend channel costs its spend, whatever the lead count
        assert_eq!(r.metric(Metric::Cost)[t], 3000.0 * 24.0, "trial {t}: cost");
    }
}

/// Guards the negative-binomial volume: with `volume_dispersion = k` the
/// monthly lead count has mean λ and variance λ + λ²/k (gamma–Poisson
/// mixture with a fresh gamma draw every month), and its binomial thinning
/// into MQLs is again negative binomial with mean λp and variance
/// λp + (λp)²/k. Catches a dispersion ignored (Poisson variance λ), a gamma
/// with the wrong scale, or one gamma draw held for the whole horizon (which
/// would make the 12-month total's variance 12λ + (12λ)²/k instead of
/// 12(λ + λ²/k)).
#[test]
fn volume_dispersion_gives_negative_binomial_variance() {
    let scn = load(&format!(
        r#"
horizon_months = 12
{FUNNEL}
[strategy.s]
deal_size = 1000
cycle_days = 0
[[strategy.s.channel]]
leads_per_month = 40
volume_dispersion = 5
cost_per_lead = 10
conversion = {{ mql = 0.5, sql = 0.2, won = 0.5 }}
"#
    ));
    let sim = run(&scn, 20_000, 13);
    let (lambda, k, p) = (40.0, 5.0, 0.5);
    // Var = λ + λ²/k = 40 + 1600/5 = 360.
    let var_leads = lambda + lambda * lambda / k;
    // Thinning NB(mean λ, size k) by p gives NB(mean λp, size k):
    // Var = 20 + 400/5 = 100.
    let var_mqls = lambda * p + (lambda * p) * (lambda * p) / k;
    for m in 0..12 {
        let leads = sim.monthly(0, MonthlyMetric::Leads, m);
        assert_mean(leads, lambda, &format!("leads[{m}]"));
        assert_variance(leads, var_leads, &format!("leads[{m}]"));
        let mqls = sim.monthly(0, MonthlyMetric::Mqls, m);
        assert_mean(mqls, lambda * p, &format!("mqls[{m}]"));
        assert_variance(mqls, var_mqls, &format!("mqls[{m}]"));
    }
    // Months are independent given the (fixed) parameters: Var(total) = 12·360.
    let total = sim.strategies[0].metric(Metric::Leads);
    assert_mean(total, 12.0 * lambda, "leads");
    assert_variance(total, 12.0 * var_leads, "leads");
}

// --------------------------------------------------------- sales capacity

/// Guards the capacity rule when it binds in every month (handoff count M ≫
/// K = 4 × 25 = 100): exactly M − K members are ignored each month, so per
/// trial `mqls_ignored == mqls − K·H` exactly; and the K worked members are a
/// uniform sample across channels (multivariate hypergeometric), so each
/// channel's expected worked share is its share of the handoff count.
/// Catches channels worked in listed order (first come, first served), an
/// equal split between channels, or capacity applied to leads or opportunities.
#[test]
fn capacity_binding_ignores_excess_and_samples_channels_proportionally() {
    let scn = load(&format!(
        r#"
horizon_months = 6
{FUNNEL}
[sales]
reps = 4
mql_capacity_per_rep = 25
[strategy.s]
deal_size = 1000
cycle_days = 0
[[strategy.s.channel]]
name = "a"
leads_per_month = 1200
cost_per_lead = 1
conversion = {{ mql = 0.9, sql = 0.5, won = 1.0 }}
[[strategy.s.channel]]
name = "b"
leads_per_month = 800
cost_per_lead = 1
conversion = {{ mql = 1.0, sql = 0.1, won = 1.0 }}
"#
    ));
    let n = 20_000;
    let sim = run(&scn, n, 21);
    let r = &sim.strategies[0];
    let (k, h) = (100.0, 6.0);
    // Precondition of the test design: every month is over capacity.
    for m in 0..6 {
        let min = sim
            .monthly(0, MonthlyMetric::Mqls, m)
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        assert!(
            min > k,
            "month {m}: a month with only {min} MQLs; the test needs M > K"
        );
    }
    for t in 0..n as usize {
        assert_eq!(
            r.metric(Metric::MqlsIgnored)[t],
            r.metric(Metric::Mqls)[t] - k * h,
            "trial {t}: mqls_ignored must be mqls − K·H"
        );
    }
    // Handoff counts per month: M_a ~ Poisson(1200·0.9 = 1080) and
    // M_b ~ Poisson(800) independently, so given M = M_a + M_b,
    // M_a ~ Binomial(M, q) with q = 1080/1880. The worked count of channel a
    // is hypergeometric, W_a | M_a, M ~ HG(M, M_a, K), with
    // E[W_a | M_a, M] = K·M_a/M, hence E[W_a] = K·q exactly (M > K always).
    // Opportunities per month: E = 0.5·E[W_a] + 0.1·E[K − W_a]
    //                            = K·(0.5·1080 + 0.1·800)/1880.
    let per_month = k * (0.5 * 1080.0 + 0.1 * 800.0) / 1880.0;
    assert_mean(
        r.metric(Metric::Opportunities),
        h * per_month,
        "opportunities",
    );
    for m in 0..6 {
        assert_mean(
            sim.monthly(0, MonthlyMetric::Opportunities, m),
            per_month,
            &format!("opportunities[{m}]"),
        );
    }
}

/// Guards the multivariate hypergeometric draw itself, for the first, a
/// middle and the last channel (the sampler treats them differently): with
/// three channels whose handoff counts are Poisson with shares (0.5, 0.3,
/// 0.2) and only channel j converting (sql = 1, others 0), the month's
/// opportunities are channel j's worked count W_j. Mixing HG(M, M_j, K) over
/// M_j ~ Binomial(M, q_j) gives exactly W_j ~ Binomial(K, q_j): mean K·q_j,
/// variance K·q_j(1 − q_j), as long as M > K in every month. Four regimes
/// of the sampler: K = 100 of M ≈ 2000 (ratio-of-uniforms), K = 10 of
/// M ≈ 2000 (small mode: inversion), K = 250 of M ≈ 400 (more than half the
/// population sampled: the complement is drawn), and K = 100 of M ≈ 2100
/// with a small first channel (≈ 100 members), where rand_distr 0.6.0's
/// `Hypergeometric::new` returns `PopulationTooLarge` (e.g. N = 2093,
/// K = 93, n = 100); M ≤ K has probability < 1e-12 per month in each. Catches a biased or
/// mis-parameterised hypergeometric, channels worked first come first
/// served, or the remainder always handed to the last channel.
#[test]
fn capacity_worked_count_per_channel_is_binomial_k_q() {
    let regimes: [([f64; 3], u32, u32); 4] = [
        ([1000.0, 600.0, 400.0], 5, 20),
        ([1000.0, 600.0, 400.0], 2, 5),
        ([200.0, 120.0, 80.0], 10, 25),
        ([100.0, 150.0, 1850.0], 4, 25),
    ];
    let runs = regimes
        .iter()
        .flat_map(|regime| (0..3).map(move |j| (*regime, j)));
    for (r, ((leads, reps, per_rep), j)) in runs.enumerate() {
        let k = f64::from(reps * per_rep);
        let channels: String = leads
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let sql = if i == j { 1.0 } else { 0.0 };
                format!(
                    "[[strategy.s.channel]]\nname = \"c{i}\"\nleads_per_month = {l}\ncost_per_lead = 1\nconversion = {{ mql = 1.0, sql = {sql} }}\n"
                )
            })
            .collect();
        let scn = load(&format!(
            r#"
horizon_months = 6
[funnel]
stages = ["lead", "mql", "sql"]
handoff = "mql"
pipeline = "sql"
[sales]
reps = {reps}
mql_capacity_per_rep = {per_rep}
[strategy.s]
deal_size = 1000
cycle_days = 0
{channels}"#
        ));
        let sim = run(&scn, 20_000, 22 + r as u64);
        let q = leads[j] / leads.iter().sum::<f64>();
        for m in 0..6 {
            let mqls = sim.monthly(0, MonthlyMetric::Mqls, m);
            assert!(mqls.iter().all(|x| *x > k), "K = {k}: a month with M <= K");
            let opps = sim.monthly(0, MonthlyMetric::Opportunities, m);
            let what = format!("K = {k}: channel {j} worked in month {m}");
            assert_mean(opps, k * q, &what);
            assert_variance(opps, k * q * (1.0 - q), &what);
        }
        // Months independent: the 6-month total is Binomial(6K, q).
        let total = sim.strategies[0].metric(Metric::Opportunities);
        let what = format!("K = {k}: channel {j} total worked");
        assert_mean(total, 6.0 * k * q, &what);
        assert_variance(total, 6.0 * k * q * (1.0 - q), &what);
    }
}

/// Guards K = floor(reps × mql_capacity_per_rep) drawn once per trial and
/// held for the whole horizon: with reps ~ Uniform(2, 6) and 25 per rep,
/// K = floor(25·U) is uniform on the integers 50..=149 (mean 99.5), and
/// since every month is over capacity, the worked total mqls − mqls_ignored
/// is exactly H·K: a multiple of H in [50H, 149H]. Catches capacity redrawn
/// every month, rounding instead of flooring, or per-rep capacity ignored.
#[test]
fn uncertain_capacity_is_floored_and_held_for_the_horizon() {
    let scn = load(&format!(
        r#"
horizon_months = 6
{FUNNEL}
[sales]
reps = "uniform(min=2, max=6)"
mql_capacity_per_rep = 25
[strategy.s]
deal_size = 1000
cycle_days = 0
[[strategy.s.channel]]
leads_per_month = 2000
cost_per_lead = 1
conversion = {{ mql = 1.0, sql = 0.1, won = 0.5 }}
"#
    ));
    let n = 20_000;
    let sim = run(&scn, n, 23);
    let r = &sim.strategies[0];
    let h = 6.0;
    let ks: Vec<f64> = (0..n as usize)
        .map(|t| {
            let worked = r.metric(Metric::Mqls)[t] - r.metric(Metric::MqlsIgnored)[t];
            let kk = worked / h;
            assert_eq!(kk, kk.floor(), "trial {t}: worked {worked} is not H·K");
            assert!(
                (50.0..=149.0).contains(&kk),
                "trial {t}: K = {kk} outside 50..=149"
            );
            kk
        })
        .collect();
    // K uniform on {50, ..., 149}: mean 99.5, variance (100² − 1)/12.
    assert_mean(&ks, 99.5, "K");
    assert_variance(&ks, (100.0 * 100.0 - 1.0) / 12.0, "K");
}

/// Guards the "at most K: all are worked" branch: with M ~ Poisson(20) a
/// month and K = 100, nothing is ever ignored and the opportunity mean is the
/// unlimited-capacity one. Catches capacity that removes members even when
/// it does not bind.
#[test]
fn capacity_not_binding_ignores_nothing() {
    let scn = load(&format!(
        r#"
horizon_months = 12
{FUNNEL}
[sales]
reps = 4
mql_capacity_per_rep = 25
[strategy.s]
deal_size = 1000
cycle_days = 0
[[strategy.s.channel]]
leads_per_month = 40
cost_per_lead = 1
conversion = {{ mql = 0.5, sql = 0.5, won = 0.5 }}
"#
    ));
    let sim = run(&scn, 10_000, 24);
    let r = &sim.strategies[0];
    // P(Poisson(20) > 100) < 1e-30: the capacity never binds.
    assert!(r.metric(Metric::MqlsIgnored).iter().all(|x| *x == 0.0));
    // opps ~ Poisson(40·12·0.5·0.5 = 120)
    assert_mean(r.metric(Metric::Opportunities), 120.0, "opportunities");
    assert_variance(r.metric(Metric::Opportunities), 120.0, "opportunities");
}

// ---------------------------------------------------------------- revenue

/// Revenue and ARR of one trial from its monthly bookings, by the closed form
/// of MODEL.md (not by the recursion the engine uses):
/// `MRR_end(k) = Σ_{c ≤ k} (b_c/12)·(1+g)^(k−c)`,
/// `revenue = Σ_{k=1}^{H−1} MRR_end(k−1) = Σ_c (b_c/12)·Σ_{k=c+1}^{H−1} (1+g)^(k−1−c)`,
/// `arr_end = 12·MRR_end(H−1)`.
fn closed_form_revenue(bookings: &[f64], g: f64) -> (f64, f64, Vec<f64>) {
    let h = bookings.len();
    let mut revenue = 0.0;
    let mut arr = 0.0;
    for (c, b) in bookings.iter().enumerate() {
        let mrr = b / 12.0;
        revenue += mrr
            * (c + 1..h)
                .map(|k| (1.0 + g).powi((k - 1 - c) as i32))
                .sum::<f64>();
        arr += 12.0 * mrr * (1.0 + g).powi((h - 1 - c) as i32);
    }
    let mrr_end = (0..h)
        .map(|k| {
            (0..=k)
                .map(|c| bookings[c] / 12.0 * (1.0 + g).powi((k - c) as i32))
                .sum()
        })
        .collect();
    (revenue, arr, mrr_end)
}

/// Guards the revenue formula on single deals: in every trial with exactly
/// one won deal (fixed ACV = 24000, closing in month c found from the
/// monthly won_deals series), with g = 0.005 − 0.02 = −0.015,
/// revenue = ACV/12 · Σ_{k=c+1}^{H−1} (1+g)^(k−1−c) and
/// arr_end = ACV·(1+g)^(H−1−c), and MRR_end(k) = ACV/12·(1+g)^(k−c) from
/// month c on. Catches billing in the close month, compounding from the wrong
/// month, churn/expansion sign errors, or ARR not being 12 × the last MRR.
#[test]
fn revenue_of_a_single_won_deal_matches_closed_form() {
    let scn = load(&format!(
        r#"
horizon_months = 12
{FUNNEL}
[revenue]
churn_monthly = 0.02
expansion_monthly = 0.005
[strategy.s]
deal_size = 24000
cycle_days = 45
[[strategy.s.channel]]
leads_per_month = 0.2
cost_per_lead = 0
conversion = {{ mql = 1.0, sql = 1.0, won = 0.5 }}
"#
    ));
    let n = 5000;
    let sim = run(&scn, n, 31);
    let r = &sim.strategies[0];
    let (acv, g, h): (f64, f64, usize) = (24_000.0, 0.005 - 0.02, 12);
    let mut closes_seen = [0usize; 12];
    for t in 0..n as usize {
        if r.metric(Metric::WonDeals)[t] != 1.0 {
            continue;
        }
        let won = monthly_of_trial(&sim, 0, MonthlyMetric::WonDeals, t);
        let c = won
            .iter()
            .position(|w| *w == 1.0)
            .expect("the won deal's month");
        closes_seen[c] += 1;
        let revenue: f64 = acv / 12.0
            * (c + 1..h)
                .map(|k| (1.0 + g).powi((k - 1 - c) as i32))
                .sum::<f64>();
        let arr = acv * (1.0 + g).powi((h - 1 - c) as i32);
        assert_rel(
            r.metric(Metric::Revenue)[t],
            revenue,
            1e-9,
            &format!("trial {t} (c = {c}) revenue"),
        );
        assert_rel(
            r.metric(Metric::ArrEnd)[t],
            arr,
            1e-9,
            &format!("trial {t} (c = {c}) arr_end"),
        );
        assert_eq!(r.metric(Metric::Bookings)[t], acv, "trial {t} bookings");
        let mrr = monthly_of_trial(&sim, 0, MonthlyMetric::MrrEnd, t);
        for (k, v) in mrr.iter().enumerate() {
            let want = if k < c {
                0.0
            } else {
                acv / 12.0 * (1.0 + g).powi((k - c) as i32)
            };
            assert_rel(*v, want, 1e-9, &format!("trial {t} (c = {c}) mrr_end[{k}]"));
        }
    }
    // cycle_days = 45 → floor(45 / 30.4375) = 1: a deal created in month m
    // closes in m + 1, so no deal closes in month 0, and closes in months
    // 1..=11 (including the last month, whose revenue is 0) are all covered.
    assert_eq!(closes_seen[0], 0, "a 45-day deal cannot close in month 0");
    for (c, seen) in closes_seen.iter().enumerate().skip(1) {
        assert!(
            *seen > 0,
            "no single-deal trial closes in month {c}: the test did not exercise it"
        );
    }
}

/// Guards the consistency of revenue, ARR and the monthly series on general
/// trials (random deal sizes and cycles, many deals): per trial, revenue,
/// arr_end and every mrr_end[k] equal MODEL.md's closed form applied to the
/// monthly bookings series; the monthly won_deals and bookings sum to the
/// trial's totals; bookings never exceed pipeline_created.
#[test]
fn revenue_and_arr_follow_the_mrr_formula_on_monthly_bookings() {
    let scn = load(&format!(
        r#"
horizon_months = 18
{FUNNEL}
[revenue]
churn_monthly = 0.015
expansion_monthly = 0.006
[strategy.s]
deal_size = "lognormal(median=14000, p90=38000)"
cycle_days = "gamma(mean=85, sd=35)"
[[strategy.s.channel]]
leads_per_month = 300
cost_per_lead = 40
conversion = {{ mql = 0.4, sql = 0.15, won = "beta(mean=0.2, n=100)" }}
"#
    ));
    let n = 2000;
    let sim = run(&scn, n, 32);
    let r = &sim.strategies[0];
    let g = 0.006 - 0.015;
    for t in 0..n as usize {
        let b = monthly_of_trial(&sim, 0, MonthlyMetric::Bookings, t);
        let w = monthly_of_trial(&sim, 0, MonthlyMetric::WonDeals, t);
        let (revenue, arr, mrr_end) = closed_form_revenue(&b, g);
        assert_rel(
            r.metric(Metric::Revenue)[t],
            revenue,
            1e-9,
            &format!("trial {t} revenue"),
        );
        assert_rel(
            r.metric(Metric::ArrEnd)[t],
            arr,
            1e-9,
            &format!("trial {t} arr_end"),
        );
        let mrr = monthly_of_trial(&sim, 0, MonthlyMetric::MrrEnd, t);
        for (k, (got, want)) in mrr.iter().zip(&mrr_end).enumerate() {
            assert_rel(*got, *want, 1e-9, &format!("trial {t} mrr_end[{k}]"));
        }
        assert_rel(
            r.metric(Metric::Bookings)[t],
            b.iter().sum(),
            1e-12,
            &format!("trial {t} Σ bookings"),
        );
        assert_eq!(
            r.metric(Metric::WonDeals)[t],
            w.iter().sum::<f64>(),
            "trial {t} Σ won_deals"
        );
        assert!(r.metric(Metric::Bookings)[t] <= r.metric(Metric::PipelineCreated)[t]);
    }
    // The test must have exercised real revenue.
    assert!(moments(r.metric(Metric::Revenue)).mean > 0.0);
}

/// Guards the close month c = m + floor(cycle_days / 30.4375) and the
/// open-pipeline rule: with a fixed 121-day cycle, floor(121 / 30.4375) = 3
/// (rounding would give 4), so deals created in months H−3..H−1 close at
/// c ≥ H and are still open at the end, whatever their outcome; the others
/// close three months after creation. Per trial:
/// open_pipeline_end = ACV × (opportunities of months 9, 10, 11) exactly,
/// no deal is won in months 0..2, and the deals won in month k never exceed
/// the opportunities of month k − 3. In distribution, with
/// μ = 30·0.5·0.4 = 6 opportunities a month and p_win = 0.25:
/// E[open_pipeline_end] = 3·μ·ACV and won_deals ~ Poisson(9·μ·0.25 = 13.5).
#[test]
fn deals_beyond_the_horizon_stay_open() {
    let scn = load(&format!(
        r#"
horizon_months = 12
{FUNNEL}
[strategy.s]
deal_size = 8000
cycle_days = 121
[[strategy.s.channel]]
leads_per_month = 30
cost_per_lead = 5
conversion = {{ mql = 0.5, sql = 0.4, won = 0.25 }}
"#
    ));
    let n = 20_000;
    let sim = run(&scn, n, 33);
    let r = &sim.strategies[0];
    let (acv, h, lag) = (8000.0, 12usize, 3usize);
    for t in 0..n as usize {
        let opps = monthly_of_trial(&sim, 0, MonthlyMetric::Opportunities, t);
        let won = monthly_of_trial(&sim, 0, MonthlyMetric::WonDeals, t);
        let late: f64 = opps[h - lag..].iter().sum();
        assert_eq!(
            r.metric(Metric::OpenPipelineEnd)[t],
            acv * late,
            "trial {t}: open pipeline"
        );
        assert_eq!(
            r.metric(Metric::PipelineCreated)[t],
            acv * r.metric(Metric::Opportunities)[t]
        );
        for k in 0..h {
            if k < lag {
                assert_eq!(won[k], 0.0, "trial {t}: a deal won in month {k} < 3");
            } else {
                assert!(
                    won[k] <= opps[k - lag],
                    "trial {t}: month {k} wins more than month {} created",
                    k - lag
                );
            }
        }
    }
    let mu = 30.0 * 0.5 * 0.4;
    assert_mean(
        r.metric(Metric::OpenPipelineEnd),
        3.0 * mu * acv,
        "open_pipeline_end",
    );
    assert_mean(r.metric(Metric::WonDeals), 9.0 * mu * 0.25, "won_deals");
    assert_variance(r.metric(Metric::WonDeals), 9.0 * mu * 0.25, "won_deals");
    assert_mean(
        r.metric(Metric::Bookings),
        acv * 9.0 * mu * 0.25,
        "bookings",
    );
}
