//! Model v2 against closed forms (MODEL.md, "Model v2"): nurture recycling,
//! segment routing, segment teams, the existing book, the stage-by-stage
//! funnel, diminishing returns on spend, sales cost, the warm-up pipeline
//! shared by every strategy, and the bad v2 inputs that must exit 2 with
//! the field path and nothing written.
//!
//! Tolerances are [`crate::laws`]'s: 4 standard errors of the estimate;
//! exact identities are checked exactly or to 1e-9. The quarterly coverage
//! of a hand-built deal set is a unit test of `src/model.rs` (the deals are
//! fed to the book directly there).

use pipesim::engine::SimResults;
use pipesim::metrics::{Metric, MonthlyMetric, QuarterMetric};
use pipesim::scenario::Scenario;

use crate::common::{pipesim, tmp, write};
use crate::laws::{FUNNEL, assert_mean, assert_rel, assert_variance, load, run};

/// Segment metric `m` of segment `g`, strategy `s`, across trials.
fn segment<'a>(scn: &Scenario, sim: &'a SimResults, s: usize, g: usize, m: Metric) -> &'a [f64] {
    let k = Metric::SEGMENT
        .iter()
        .position(|x| *x == m)
        .expect("a segment metric");
    sim.detail(s, scn.layout().segment(g, k))
}

/// Guards nurture: every lead is an MQL (λ = 100 a month), no capacity
/// limit, each MQL becomes an opportunity with probability q = 0.3, and
/// the rejected 70% return with probability r = 0.5 after a fixed 61 days
/// (2 whole months). So E[M_t] = λ + r(1−q)·E[M_{t−2}] (M_t = 0 for t < 0),
/// mqls = Σ M_t, recycled = Σ (M_t − λ), opportunities = q·mqls, rejected
/// = (1−q)·mqls in expectation. Catches a wrong delay, returns that skip
/// the rejected or are lost at the horizon wrongly, re-entries not counted
/// in mqls, or re-entries that do not convert.
#[test]
fn recycling_with_a_fixed_delay_matches_the_recursion() {
    let scn = load(&format!(
        r#"
horizon_months = 12
{FUNNEL}
[strategy.s]
deal_size = 1000
cycle_days = 0
[strategy.s.nurture]
recycle = 0.5
delay_days = 61
[[strategy.s.channel]]
name = "inbound"
leads_per_month = 100
cost_per_lead = 1
conversion = {{ mql = 1, sql = 0.3, won = 1 }}
"#
    ));
    let sim = run(&scn, 20_000, 5);
    let (lambda, r, q) = (100.0, 0.5, 0.3);
    let mut m = [0.0f64; 12];
    for t in 0..12 {
        m[t] = lambda
            + if t >= 2 {
                r * (1.0 - q) * m[t - 2]
            } else {
                0.0
            };
    }
    let total: f64 = m.iter().sum();
    let res = &sim.strategies[0];
    assert_mean(res.metric(Metric::Mqls), total, "mqls");
    assert_mean(
        res.metric(Metric::MqlsRecycled),
        total - 12.0 * lambda,
        "mqls_recycled",
    );
    assert_mean(
        res.metric(Metric::Opportunities),
        q * total,
        "opportunities",
    );
    assert_mean(
        res.metric(Metric::MqlsRejected),
        (1.0 - q) * total,
        "mqls_rejected",
    );
    for (t, mt) in m.iter().enumerate() {
        assert_mean(
            sim.monthly(0, MonthlyMetric::Mqls, t),
            *mt,
            &format!("mqls in month {t}"),
        );
    }
    // nothing returns in the first two months
    for t in 0..2 {
        for (a, b) in sim
            .monthly(0, MonthlyMetric::Mqls, t)
            .iter()
            .zip(sim.monthly(0, MonthlyMetric::Leads, t))
        {
            assert_eq!(a, b, "month {t}: only new MQLs");
        }
    }
}

const SEGMENTS: &str = r#"
[[segment]]
name = "a"
[[segment]]
name = "b"
[[segment]]
name = "c"
"#;

/// Guards routing: with a fixed mix (0.5, 0.3, 0.2) and no capacity limit,
/// the segments' MQLs are a multinomial split of the MQLs: per trial they
/// sum to the strategy's exactly, and each segment's mean is its share of
/// λH; a split of a Poisson count is Poisson, so its variance is its mean.
#[test]
fn routing_shares_follow_the_mix() {
    let scn = load(&format!(
        r#"
horizon_months = 6
{FUNNEL}
{SEGMENTS}
[strategy.s]
deal_size = 1000
cycle_days = 30
segment_mix = {{ a = 0.5, b = 0.3, c = 0.2 }}
[[strategy.s.channel]]
name = "inbound"
leads_per_month = 200
cost_per_lead = 1
conversion = {{ mql = 0.5, sql = 0.4, won = 0.5 }}
"#
    ));
    let sim = run(&scn, 20_000, 7);
    let total = 200.0 * 6.0 * 0.5;
    for (g, share) in [0.5, 0.3, 0.2].into_iter().enumerate() {
        let x = segment(&scn, &sim, 0, g, Metric::Mqls);
        assert_mean(x, share * total, &format!("segment {g} mqls"));
        assert_variance(x, share * total, &format!("segment {g} mqls"));
        let opps = segment(&scn, &sim, 0, g, Metric::Opportunities);
        assert_mean(
            opps,
            share * total * 0.4,
            &format!("segment {g} opportunities"),
        );
    }
    let mqls = sim.strategies[0].metric(Metric::Mqls);
    for (t, all) in mqls.iter().enumerate() {
        let sum: f64 = (0..3)
            .map(|g| segment(&scn, &sim, 0, g, Metric::Mqls)[t])
            .sum();
        assert_eq!(
            sum, *all,
            "trial {t}: the segments' mqls sum to the strategy's"
        );
    }
}

/// P(X > k)·E[X − k | X > k] for X ~ Poisson(mu): E[max(X − k, 0)].
fn poisson_excess(mu: f64, k: u64) -> f64 {
    // E[max(X−k,0)] = E[X] − k + Σ_{x<k} (k − x)·pmf(x)
    let mut pmf = (-mu).exp();
    let mut below = 0.0;
    for x in 0..k {
        below += (k - x) as f64 * pmf;
        pmf *= mu / (x + 1) as f64;
    }
    mu - k as f64 + below
}

/// Guards segment teams: segment a has its own team of capacity 20 and
/// gets a Poisson(50) of MQLs a month; segment b shares the strategy's team
/// of capacity 1000 and gets another Poisson(50). So a's ignored MQLs are
/// E[max(X − 20, 0)] a month, b's are 0 in every trial, and the strategy's
/// ignored are a's. Each team's cost counts (sales_cost = Σ reps × cost ×
/// H).
#[test]
fn a_segment_team_binds_while_the_shared_one_does_not() {
    let scn = load(&format!(
        r#"
horizon_months = 12
{FUNNEL}
[sales]
reps = 10
mql_capacity_per_rep = 100
cost_per_rep_month = 1000
[[segment]]
name = "a"
[segment.sales]
reps = 2
mql_capacity_per_rep = 10
cost_per_rep_month = 3000
[[segment]]
name = "b"
[strategy.s]
deal_size = 1000
cycle_days = 30
segment_mix = {{ a = 0.5, b = 0.5 }}
[[strategy.s.channel]]
name = "inbound"
leads_per_month = 100
cost_per_lead = 1
conversion = {{ mql = 1, sql = 0.3, won = 0.5 }}
"#
    ));
    let sim = run(&scn, 20_000, 9);
    let ignored_a = segment(&scn, &sim, 0, 0, Metric::MqlsIgnored);
    assert_mean(
        ignored_a,
        12.0 * poisson_excess(50.0, 20),
        "segment a ignored",
    );
    assert!(
        segment(&scn, &sim, 0, 1, Metric::MqlsIgnored)
            .iter()
            .all(|x| *x == 0.0),
        "segment b's team never binds"
    );
    let all = sim.strategies[0].metric(Metric::MqlsIgnored);
    assert_eq!(all, ignored_a, "the strategy's ignored are segment a's");
    for x in sim.strategies[0].metric(Metric::SalesCost) {
        assert_eq!(*x, (10.0 * 1000.0 + 2.0 * 3000.0) * 12.0, "sales_cost");
    }
}

/// Guards the existing book: $1.2M of ARR with a fixed net rate g = −1%
/// (churn 1%, no expansion) and no deals. MRR_end(k) = (arr/12)(1+g)^(k+1),
/// revenue of month k = MRR_end(k−1) with MRR_end(−1) = arr/12, so
/// total_revenue = (arr/12) Σ_{k<H} (1+g)^k and total_arr_end =
/// arr·(1+g)^H; the strategy's own revenue is 0.
#[test]
fn the_books_revenue_compounds_with_a_fixed_rate() {
    let scn = load(&format!(
        r#"
horizon_months = 24
{FUNNEL}
[revenue]
starting_arr = 1_200_000
churn_monthly = 0.01
[strategy.s]
deal_size = 1000
cycle_days = 30
[[strategy.s.channel]]
name = "none"
leads_per_month = 0
cost_per_lead = 1
conversion = {{ mql = 0.5, sql = 0.5, won = 0.5 }}
"#
    ));
    let sim = run(&scn, 50, 1);
    let g: f64 = -0.01;
    let revenue: f64 = (0..24).map(|k| 100_000.0 * (1.0 + g).powi(k)).sum();
    let arr = 1_200_000.0 * (1.0 + g).powi(24);
    let r = &sim.strategies[0];
    for t in 0..50 {
        assert_rel(
            r.metric(Metric::TotalRevenue)[t],
            revenue,
            1e-9,
            "total_revenue",
        );
        assert_rel(r.metric(Metric::TotalArrEnd)[t], arr, 1e-9, "total_arr_end");
        assert_eq!(r.metric(Metric::Revenue)[t], 0.0, "own revenue");
    }
    assert_rel(
        sim.monthly(0, MonthlyMetric::TotalMrrEnd, 0)[0],
        100_000.0 * (1.0 + g),
        1e-12,
        "total MRR at the end of month 0",
    );
}

/// Guards the stage-by-stage funnel: with stages lead → mql → sal → sql →
/// won, no capacity limit and Poisson leads, every stage's entries are a
/// thinned Poisson: E = Var = λH·(product of the conversions so far); the
/// per-stage counts drawn from the composed funnel must have that law.
/// mqls_rejected = mqls − sal entries.
#[test]
fn every_stage_has_the_stage_by_stage_law() {
    let scn = load(
        r#"
horizon_months = 12
[funnel]
stages = ["lead", "mql", "sal", "sql", "won"]
handoff = "sal"
pipeline = "sql"
[strategy.s]
deal_size = 1000
cycle_days = 0
[[strategy.s.channel]]
name = "inbound"
leads_per_month = 100
cost_per_lead = 1
conversion = { mql = 0.5, sal = 0.6, sql = 0.5, won = 0.4 }
"#,
    );
    let sim = run(&scn, 20_000, 3);
    let layout = scn.layout();
    let lh = 1200.0;
    let expected = [lh, lh * 0.5, lh * 0.3, lh * 0.15, lh * 0.06];
    assert_eq!(layout.stages, vec![0, 1, 2, 3, 4]);
    for (i, e) in expected.iter().enumerate() {
        let x = sim.detail(0, layout.stage(i));
        assert_mean(x, *e, &format!("stage {i} entries"));
        assert_variance(x, *e, &format!("stage {i} entries"));
    }
    // the mql stage is before the handoff (sal): drawn from the composed
    // lead count; sal is the handoff: mqls
    let r = &sim.strategies[0];
    assert_eq!(sim.detail(0, layout.stage(2)), r.metric(Metric::Mqls));
    assert_mean(
        r.metric(Metric::MqlsRejected),
        lh * 0.3 * 0.5,
        "mqls_rejected",
    );
}

/// Guards diminishing returns: spend 40,000 against a reference 10,000 with
/// elasticity 0.5 doubles the cost per lead (100 × 4^0.5 = 200), so the
/// leads are Poisson(200) a month, and cost stays spend × H.
#[test]
fn elasticity_sets_the_lead_volume() {
    let scn = load(&format!(
        r#"
horizon_months = 12
{FUNNEL}
[strategy.s]
deal_size = 1000
cycle_days = 30
[[strategy.s.channel]]
name = "search"
spend_per_month = 40000
cost_per_lead = 100
cpl_elasticity = 0.5
reference_spend = 10000
conversion = {{ mql = 0.5, sql = 0.5, won = 0.5 }}
"#
    ));
    let sim = run(&scn, 20_000, 4);
    let r = &sim.strategies[0];
    assert_mean(r.metric(Metric::Leads), 2400.0, "leads");
    assert_variance(r.metric(Metric::Leads), 2400.0, "leads");
    assert!(r.metric(Metric::Cost).iter().all(|c| *c == 480_000.0));
}

/// Guards the warm-up: it is drawn from a stream shared by every strategy,
/// so the pipeline open at month 0 and the warm-up deals won in the
/// horizon are the same in every strategy of a trial, however different
/// the strategies: the first quarter's coverage (only warm-up deals were
/// created before month 0) and total_bookings − bookings agree trial by
/// trial; and they are not all zero.
#[test]
fn the_warm_up_pipeline_is_the_same_in_every_strategy() {
    let scn = load(&format!(
        r#"
horizon_months = 6
{FUNNEL}
[warmup]
months = 4
strategy = "today"
[quota]
bookings_per_quarter = 50_000
[strategy.today]
deal_size = "lognormal(median=10000, p90=20000)"
cycle_days = "gamma(mean=90, sd=40)"
[[strategy.today.channel]]
name = "inbound"
leads_per_month = "80 to 120"
cost_per_lead = 10
conversion = {{ mql = 0.4, sql = 0.3, won = "0.2 to 0.3" }}
[strategy.new]
deal_size = 30000
cycle_days = 20
[[strategy.new.channel]]
name = "abm"
spend_per_month = 10000
cost_per_lead = 200
conversion = {{ mql = 0.8, sql = 0.5, won = 0.4 }}
"#
    ));
    let sim = run(&scn, 2_000, 8);
    let layout = scn.layout();
    let q0 = layout.quarter(0, QuarterMetric::Coverage);
    assert_eq!(sim.detail(0, q0), sim.detail(1, q0), "Q1 coverage");
    assert!(sim.detail(0, q0).iter().any(|x| *x > 0.0));
    let warm = |s: usize| -> Vec<f64> {
        let r = &sim.strategies[s];
        r.metric(Metric::TotalBookings)
            .iter()
            .zip(r.metric(Metric::Bookings))
            .map(|(t, b)| t - b)
            .collect()
    };
    let (a, b) = (warm(0), warm(1));
    for (t, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_rel(*x, *y, 1e-9, &format!("trial {t}: warm-up bookings"));
    }
    assert!(a.iter().any(|x| *x > 0.0));
}

/// A minimal valid scenario with `extra` appended (v2 tables).
fn with(extra: &str) -> String {
    format!(
        r#"
horizon_months = 6
{FUNNEL}
[[segment]]
name = "smb"
[[segment]]
name = "ent"
[strategy.s]
deal_size = 1000
cycle_days = 30
{extra}
"#
    )
}

/// Guards the bad v2 inputs of the acceptance list: each exits 2 naming
/// the field path, and writes nothing.
#[test]
fn bad_v2_input_exits_2_with_the_field_path() {
    let channel = |fields: &str| {
        format!(
            "[[strategy.s.channel]]\nname = \"c\"\ncost_per_lead = 10\nconversion = {{ mql = 0.5, sql = 0.5, won = 0.5 }}\n{fields}\n"
        )
    };
    let mix = "segment_mix = { smb = 0.5, ent = 0.5 }";
    let cases = [
        (
            with(&format!(
                "segment_mix = {{ smb = 0.5, ent = 0.4 }}\n{}",
                channel("leads_per_month = 10")
            )),
            "strategy.s.segment_mix",
        ),
        (
            with(&format!(
                "segment_mix = {{ smb = 0.5, mid = 0.5 }}\n{}",
                channel("leads_per_month = 10")
            )),
            "strategy.s.segment_mix.mid",
        ),
        (
            format!(
                "{}\n[warmup]\nmonths = 3\nstrategy = \"nope\"\n",
                with(&format!("{mix}\n{}", channel("leads_per_month = 10")))
            ),
            "warmup.strategy",
        ),
        (
            format!(
                "{}\n[quota]\nbookings_per_quarter = [1, 2, 3]\n",
                with(&format!("{mix}\n{}", channel("leads_per_month = 10")))
            ),
            "quota.bookings_per_quarter",
        ),
        (
            with(&format!(
                "{mix}\n{}",
                channel("leads_per_month = 10\ncpl_elasticity = 0.3\nreference_spend = 10")
            )),
            "strategy.s.channel[0].cpl_elasticity",
        ),
        (
            with(&format!(
                "{mix}\n{}",
                channel("spend_per_month = 1000\ncpl_elasticity = 0.3")
            )),
            "strategy.s.channel[0].reference_spend",
        ),
    ];
    let dir = tmp();
    for (i, (text, path)) in cases.iter().enumerate() {
        let file = write(dir.path(), &format!("bad{i}.toml"), text);
        let out = dir.path().join(format!("out{i}"));
        let (code, stdout, stderr) = pipesim([
            "run".as_ref(),
            file.as_os_str(),
            "--trials".as_ref(),
            "10".as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
        ]);
        assert_eq!(code, 2, "case {i}: {stderr}");
        assert!(stderr.contains(path), "case {i}: no {path} in\n{stderr}");
        assert!(
            stderr.contains("bad"),
            "case {i}: the file is named\n{stderr}"
        );
        assert!(stdout.is_empty(), "case {i}: {stdout}");
        assert!(!out.exists(), "case {i}: wrote {}", out.display());
    }
}
