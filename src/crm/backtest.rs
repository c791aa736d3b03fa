//! Backtests: fit on the data known at a cut-off, simulate the months after
//! it, and say where what actually happened fell in the simulated
//! distribution.
//!
//! For each cut-off (the last day of a month) the records are seen as they
//! stood then ([`calibrate::view_at`]: deals closed later are open again),
//! calibrated, and the calibrated scenario is simulated for the full months
//! between the cut-off and the export's date. Three outcomes are checked,
//! per month and in total: opportunities created, deals won (every deal
//! won in the month, the ones already open at the cut-off included: the
//! simulation's warm-up pipeline stands for them) and bookings (their
//! amounts). The comparison ends with the last full month of the data: with
//! a leads export, of the earlier of the two files' latest dates (deals from
//! leads the export does not list would be missing). The percentile is the mid-rank of the actual value among the
//! trials (a tie counts half), and the 50% and 90% intervals are the
//! simulated P25–P75 and P5–P95. Over several cut-offs (rolling origins)
//! the share of actual outcomes inside each interval is the forecast's
//! coverage: about 50% and 90% when the intervals are honest.
//!
//! The trials run in fixed chunks in parallel and are collected in trial
//! order, so a backtest's numbers do not depend on the thread count.

use rayon::prelude::*;

use super::calibrate::{self, Data, FitOptions};
use super::{Date, Opportunity, Outcome};
use crate::metrics::{MonthlyMetric, thousands};
use crate::model::{self, TrialOut, Workspace};
use crate::params::{self, TrialDraws};
use crate::scenario::Scenario;

/// The outcomes a backtest checks.
pub const OUTCOMES: [&str; 3] = ["opportunities", "won_deals", "bookings"];

/// One comparison of an actual outcome with its simulated distribution.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub outcome: &'static str,
    /// `YYYY-MM`, or `total` over the months checked.
    pub period: String,
    pub actual: f64,
    /// Mid-rank percentile of the actual value among the trials, 0..100.
    pub percentile: f64,
    pub p5: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
    pub p95: f64,
    pub in50: bool,
    pub in90: bool,
}

/// A backtest from one cut-off.
#[derive(Debug, Clone)]
pub struct Origin {
    pub cutoff: Date,
    pub months: usize,
    pub checks: Vec<Check>,
}

/// Share of checks inside the intervals, per outcome and period kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Coverage {
    pub outcome: &'static str,
    /// `month` or `total`.
    pub kind: &'static str,
    pub n: usize,
    pub inside50: f64,
    pub inside90: f64,
}

/// A whole backtest.
#[derive(Debug, Clone)]
pub struct Backtest {
    pub origins: Vec<Origin>,
    /// Cut-offs whose data could not be calibrated, with the reason (too
    /// early: no won deal yet, no full month of volume).
    pub skipped: Vec<(Date, String)>,
    pub coverage: Vec<Coverage>,
    pub trials: u64,
}

/// Backtest from every cut-off in `cutoffs` (each moved to the last day of
/// its month), simulating `trials` trials for at most `options.horizon`
/// months after each. `as_of` is the export's date: only full months up to
/// it are compared. A cut-off whose data cannot be calibrated is skipped
/// and listed with its reason; an error when every one is, or when a
/// cut-off leaves no full month to compare.
pub fn backtest(
    data: &Data<'_>,
    options: &FitOptions,
    as_of: Date,
    cutoffs: &[Date],
    trials: u64,
) -> Result<Backtest, String> {
    if trials == 0 {
        return Err("--trials must be at least 1".into());
    }
    let mut origins = Vec::new();
    let mut skipped = Vec::new();
    for &c in cutoffs {
        let cutoff = Date::month_start(c.month_index() + 1).plus_days(-1);
        let last_full = if as_of.plus_days(1).month_index() != as_of.month_index() {
            as_of.month_index()
        } else {
            as_of.month_index() - 1
        };
        let months = (last_full - cutoff.month_index()).min(options.horizon as i32);
        if months < 1 {
            return Err(format!(
                "cut-off {cutoff}: no full month between it and the export's date {as_of}"
            ));
        }
        let (opps, leads) = calibrate::view_at(data.opps, data.leads, cutoff, data.won_only);
        let view = Data {
            opps: &opps,
            leads: leads.as_deref(),
            won_only: data.won_only,
        };
        let mut o = options.clone();
        o.as_of = Some(cutoff);
        o.horizon = months as usize;
        o.trials = trials;
        let cal = match calibrate::calibrate_records(&view, &o) {
            Ok(cal) => cal,
            Err(e) => {
                skipped.push((cutoff, e));
                continue;
            }
        };
        let scn = Scenario::from_toml_str(&cal.scenario, std::path::Path::new("calibrated.toml"))
            .map_err(|e| {
            format!(
                "cut-off {cutoff}: the calibrated scenario does not load: {}",
                crate::experiment::error_chain(&e)
            )
        })?;
        let first = cutoff.month_index() + 1;
        let actual = actuals(data.opps, first, months as usize);
        let sims = simulate(&scn, trials);
        let checks = compare(&actual, &sims, first, months as usize);
        origins.push(Origin {
            cutoff,
            months: months as usize,
            checks,
        });
    }
    if origins.is_empty() {
        let why: Vec<String> = skipped
            .iter()
            .map(|(c, e)| format!("cut-off {c}: {e}"))
            .collect();
        return Err(format!(
            "no cut-off could be calibrated ({})",
            why.join("; ")
        ));
    }
    let coverage = coverage(&origins);
    Ok(Backtest {
        origins,
        skipped,
        coverage,
        trials,
    })
}

/// Rolling origins: `n` cut-offs ending `horizon` months before the last
/// full month, one month apart, oldest first.
pub fn rolling_cutoffs(as_of: Date, n: usize, horizon: usize) -> Vec<Date> {
    let last_full = if as_of.plus_days(1).month_index() != as_of.month_index() {
        as_of.month_index()
    } else {
        as_of.month_index() - 1
    };
    let newest = last_full - horizon as i32;
    (0..n as i32)
        .rev()
        .map(|k| Date::month_start(newest - k + 1).plus_days(-1))
        .collect()
}

/// Actual per-month values (outcome-major, `months` each) from month index
/// `first`: opportunities by created month, won deals and their amounts by
/// close month. In a won-only export every opportunity is a won deal dated
/// by its lead, which is what the calibrated model's opportunities are
/// (its pipeline stage is `won`).
fn actuals(opps: &[Opportunity], first: i32, months: usize) -> Vec<f64> {
    let mut v = vec![0.0; 3 * months];
    let slot = |d: Date| {
        let i = d.month_index() - first;
        (0..months as i32).contains(&i).then_some(i as usize)
    };
    for o in opps {
        if let Some(i) = slot(o.created) {
            v[i] += 1.0;
        }
        if o.outcome == Outcome::Won
            && let Some(i) = o.closed.and_then(slot)
        {
            v[months + i] += 1.0;
            v[2 * months + i] += if o.amount.is_some_and(|a| a > 0.0) {
                o.amount.unwrap_or(0.0)
            } else {
                1.0
            };
        }
    }
    v
}

const CHUNK: u64 = 256;

/// Per-trial simulated values (trial-major, `3 × horizon` each): the
/// strategy's opportunities, and won deals and bookings including the
/// warm-up pipeline's.
fn simulate(scn: &Scenario, trials: u64) -> Vec<Vec<f64>> {
    let h = scn.horizon;
    let per = scn.layout().len();
    let pos = |m: MonthlyMetric| MonthlyMetric::ALL.iter().position(|x| *x == m).unwrap_or(0);
    let (io, iw, ib) = (
        pos(MonthlyMetric::Opportunities),
        pos(MonthlyMetric::WonDeals),
        pos(MonthlyMetric::Bookings),
    );
    let chunks = trials.div_ceil(CHUNK);
    let seed = scn.seed;
    (0..chunks)
        .into_par_iter()
        .map_init(
            || {
                (
                    Workspace::default(),
                    Vec::new(),
                    [0.0; crate::metrics::Metric::COUNT],
                    vec![0.0; per],
                )
            },
            |(ws, uniforms, metrics, monthly), c| {
                let lo = c * CHUNK;
                let hi = (lo + CHUNK).min(trials);
                let mut out = Vec::with_capacity((hi - lo) as usize);
                for trial in lo..hi {
                    params::draw_uniforms(scn, seed, trial, uniforms);
                    let draws = TrialDraws::new(seed, trial, uniforms);
                    let shared = params::draw_shared(scn, &draws);
                    model::prepare_trial(scn, &shared, &draws, ws);
                    monthly.iter_mut().for_each(|v| *v = 0.0);
                    if let Some(strategy) = scn.strategies.first() {
                        model::simulate_strategy(
                            scn,
                            strategy,
                            &shared,
                            &draws,
                            ws,
                            TrialOut {
                                metrics,
                                monthly: monthly.as_mut_slice(),
                            },
                        );
                    }
                    let mut v = vec![0.0; 3 * h];
                    for m in 0..h {
                        v[m] = monthly[io * h + m];
                        v[h + m] = monthly[iw * h + m];
                        v[2 * h + m] = monthly[ib * h + m];
                    }
                    if let Some((won, book)) = ws.warmup_won() {
                        for m in 0..h.min(won.len()) {
                            v[h + m] += won[m];
                            v[2 * h + m] += book[m];
                        }
                    }
                    out.push(v);
                }
                out
            },
        )
        .collect::<Vec<_>>()
        .into_iter()
        .flatten()
        .collect()
}

/// Empirical quantile (linear between order statistics) of sorted values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let x = q * (sorted.len() - 1) as f64;
    let i = x.floor() as usize;
    let j = (i + 1).min(sorted.len() - 1);
    sorted[i] + (sorted[j] - sorted[i]) * (x - i as f64)
}

fn check(outcome: &'static str, period: String, actual: f64, mut sim: Vec<f64>) -> Check {
    sim.sort_by(f64::total_cmp);
    let n = sim.len().max(1) as f64;
    let below = sim.partition_point(|v| *v < actual);
    let upto = sim.partition_point(|v| *v <= actual);
    let percentile = 100.0 * (below as f64 + 0.5 * (upto - below) as f64) / n;
    let q = |p| quantile(&sim, p);
    let (p5, p25, p50, p75, p95) = (q(0.05), q(0.25), q(0.5), q(0.75), q(0.95));
    Check {
        outcome,
        period,
        actual,
        percentile,
        p5,
        p25,
        p50,
        p75,
        p95,
        in50: actual >= p25 && actual <= p75,
        in90: actual >= p5 && actual <= p95,
    }
}

fn compare(actual: &[f64], sims: &[Vec<f64>], first: i32, months: usize) -> Vec<Check> {
    let mut out = Vec::new();
    for (k, name) in OUTCOMES.iter().enumerate() {
        for m in 0..months {
            let s: Vec<f64> = sims.iter().map(|v| v[k * months + m]).collect();
            out.push(check(
                name,
                super::date::month_label(first + m as i32),
                actual[k * months + m],
                s,
            ));
        }
        let s: Vec<f64> = sims
            .iter()
            .map(|v| v[k * months..(k + 1) * months].iter().sum())
            .collect();
        let a: f64 = actual[k * months..(k + 1) * months].iter().sum();
        out.push(check(name, "total".into(), a, s));
    }
    out
}

fn coverage(origins: &[Origin]) -> Vec<Coverage> {
    let mut out = Vec::new();
    for name in OUTCOMES {
        for kind in ["month", "total"] {
            let c: Vec<&Check> = origins
                .iter()
                .flat_map(|o| o.checks.iter())
                .filter(|c| c.outcome == name && ((c.period == "total") == (kind == "total")))
                .collect();
            if c.is_empty() {
                continue;
            }
            let n = c.len();
            out.push(Coverage {
                outcome: name,
                kind,
                n,
                inside50: c.iter().filter(|c| c.in50).count() as f64 / n as f64,
                inside90: c.iter().filter(|c| c.in90).count() as f64 / n as f64,
            });
        }
    }
    out
}

/// Every check as CSV: one row per origin, outcome and period.
pub fn checks_csv(b: &Backtest) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "cutoff",
        "outcome",
        "period",
        "actual",
        "percentile",
        "p5",
        "p25",
        "p50",
        "p75",
        "p95",
        "in_50",
        "in_90",
    ])?;
    let f = crate::dist::number_text;
    for o in &b.origins {
        for c in &o.checks {
            w.write_record([
                o.cutoff.to_string(),
                c.outcome.to_string(),
                c.period.clone(),
                f(c.actual),
                format!("{:.2}", c.percentile),
                f(c.p5),
                f(c.p25),
                f(c.p50),
                f(c.p75),
                f(c.p95),
                c.in50.to_string(),
                c.in90.to_string(),
            ])?;
        }
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// The backtest for the terminal: totals per origin, then the coverage.
pub fn report_text(b: &Backtest) -> String {
    use std::fmt::Write as _;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "Backtest: {} origin(s), {} trials each",
        b.origins.len(),
        b.trials
    );
    for o in &b.origins {
        let _ = writeln!(t, "\ncut-off {} ({} months after)", o.cutoff, o.months);
        let _ = writeln!(
            t,
            "  {:<14} {:>14} {:>11} {:>14} {:>14} {:>14}  in 50% / 90%",
            "outcome", "actual", "percentile", "P5", "P50", "P95"
        );
        for c in o.checks.iter().filter(|c| c.period == "total") {
            let _ = writeln!(
                t,
                "  {:<14} {:>14} {:>10.1}% {:>14} {:>14} {:>14}  {} / {}",
                c.outcome,
                thousands(c.actual),
                c.percentile,
                thousands(c.p5),
                thousands(c.p50),
                thousands(c.p95),
                if c.in50 { "yes" } else { "no" },
                if c.in90 { "yes" } else { "no" }
            );
        }
    }
    for (c, why) in &b.skipped {
        let _ = writeln!(
            t,
            "\ncut-off {c}: skipped, the data then cannot be calibrated: {why}"
        );
    }
    let _ = writeln!(
        t,
        "\nCoverage (share of actual outcomes inside the interval; honest: about 50% and 90%;\nthe checks of each month are in the --out CSV)"
    );
    for c in &b.coverage {
        let _ = writeln!(
            t,
            "  {:<14} {:<6} n = {:>4}   50%: {:>5.1}%   90%: {:>5.1}%",
            c.outcome,
            c.kind,
            c.n,
            100.0 * c.inside50,
            100.0 * c.inside90
        );
    }
    t
}
