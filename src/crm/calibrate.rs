//! Calibration: from the records of a CRM export to a commented scenario
//! and a report of every fitted parameter.
//!
//! [`calibrate_records`] is the whole fit on records already read (the
//! backtest calls it on the records known at a cut-off); [`calibrate`]
//! reads the exports first. The scenario's shape follows the data:
//!
//! - opportunities only: stages `lead → opportunity → won`, every
//!   opportunity its own lead (`conversion.opportunity = 1`), so a
//!   channel's volume is its opportunities per month;
//! - leads and opportunities with lost deals: the same stages, with the
//!   lead → opportunity rate fitted from the join;
//! - leads and won deals only (`--won-only`): stages `lead → won`, the
//!   pipeline stage the last one, the lead → won rate fitted from lead
//!   cohorts old enough to have converted.
//!
//! Rates are Beta distributions from counts in monthly cohorts
//! ([`fit::fit_rate`]: beta-binomial where months vary more than binomial
//! noise explains); deal sizes lognormal or gamma by AIC on the won deals'
//! amounts; cycles from created to close, won and lost separately, the
//! open deals right-censored at their age, each open deal weighted by the
//! posterior chance that it ends won; monthly volume Poisson or negative
//! binomial with its level from the recent months. Groups (channels,
//! segments) too small to fit use the pooled figure, said in the report.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::fit::{self, CycleFamily, SizeFamily};
use super::ingest::{self, ReadOptions};
use super::{CrmError, Date, Lead, Opportunity, Outcome, Skipped};

/// Fewest closed deals for a group's own win rate.
pub const MIN_CLOSED: u64 = 30;
/// Fewest observations for a group's own deal-size or cycle fit.
pub const MIN_FIT: usize = 20;
/// Days per model month (MODEL.md).
const MONTH_DAYS: f64 = 30.4375;

/// What to calibrate from and how.
#[derive(Debug, Clone)]
pub struct CalibrateSpec {
    pub opportunities: PathBuf,
    pub leads: Option<PathBuf>,
    pub read: ReadOptions,
    pub options: FitOptions,
}

/// Settings of the fit itself (independent of how the files are read).
#[derive(Debug, Clone)]
pub struct FitOptions {
    /// The export's date; default the latest date in the files.
    pub as_of: Option<Date>,
    /// Months whose volume sets the level (the most recent full months).
    pub recent_months: usize,
    /// Horizon of the written scenario, in months.
    pub horizon: usize,
    pub trials: u64,
    pub seed: u64,
    /// Cost per lead written for every channel (0 when unknown).
    pub cost_per_lead: f64,
    pub name: Option<String>,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            as_of: None,
            recent_months: 12,
            horizon: 12,
            trials: 20_000,
            seed: 1,
            cost_per_lead: 0.0,
            name: None,
        }
    }
}

/// One fitted (or not fitted) parameter, a row of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    /// The scenario path, e.g. `strategy.calibrated.channel[0].conversion.won`.
    pub parameter: String,
    /// The group it was fitted on (`all`, a channel or a segment).
    pub group: String,
    /// As written into the scenario (empty when not fitted).
    pub value: String,
    /// Observations it rests on.
    pub n: f64,
    pub method: String,
    /// Fit quality or the data's own figure to compare with.
    pub quality: String,
    /// `fitted`, `pooled` (group too small: the pooled value is used) or
    /// `not fitted` (with the reason in `quality`).
    pub status: String,
}

/// What a calibration gives: the scenario text, the report and notes.
#[derive(Debug, Clone)]
pub struct Calibration {
    pub scenario: String,
    pub rows: Vec<ReportRow>,
    /// Assumptions and warnings, in the order met.
    pub notes: Vec<String>,
    /// Rows of the exports that could not be used, per file.
    pub skipped: Vec<(PathBuf, Vec<Skipped>)>,
    pub as_of: Date,
    /// First month of the written scenario (`YYYY-MM`).
    pub start: String,
}

/// Read the exports and calibrate.
pub fn calibrate(spec: &CalibrateSpec) -> Result<Calibration, CrmError> {
    let leads = match &spec.leads {
        Some(p) => Some(ingest::read_leads(p, &spec.read)?),
        None => None,
    };
    let opps = ingest::read_opportunities(&spec.opportunities, &spec.read, leads.as_ref())?;
    let latest = [opps.latest, leads.as_ref().and_then(|l| l.latest)]
        .into_iter()
        .flatten()
        .max();
    let as_of = match (spec.options.as_of, latest) {
        (Some(d), _) => d,
        (None, Some(d)) => d,
        (None, None) => {
            return Err(CrmError::file(
                &spec.opportunities,
                "no dates in the export; pass --as-of",
            ));
        }
    };
    let mut notes = opps.notes.clone();
    if let Some(l) = &leads {
        notes.extend(l.notes.iter().cloned());
    }
    let mut options = spec.options.clone();
    options.as_of = Some(as_of);
    // an --as-of before the data's end: the records as they stood then
    let (view_opps, view_leads) = if latest.is_some_and(|l| l > as_of) {
        notes.push(format!(
            "as of {as_of}, before the export's latest date: later records are left out, deals closed later are open"
        ));
        let (o, l) = view_at(
            &opps.rows,
            leads.as_ref().map(|l| l.rows.as_slice()),
            as_of,
            spec.read.won_only,
        );
        (Some(o), l)
    } else {
        (None, None)
    };
    let data = Data {
        opps: view_opps.as_deref().unwrap_or(&opps.rows),
        leads: match &view_leads {
            Some(l) => Some(l.as_slice()),
            None => leads.as_ref().map(|l| l.rows.as_slice()),
        },
        won_only: spec.read.won_only,
    };
    let mut cal =
        calibrate_records(&data, &options).map_err(|m| CrmError::file(&spec.opportunities, m))?;
    notes.append(&mut cal.notes);
    cal.notes = notes;
    cal.skipped.push((opps.file.clone(), opps.skipped.clone()));
    if let Some(l) = &leads {
        cal.skipped.push((l.file.clone(), l.skipped.clone()));
    }
    Ok(cal)
}

/// The records a calibration uses.
#[derive(Debug, Clone, Copy)]
pub struct Data<'a> {
    pub opps: &'a [Opportunity],
    pub leads: Option<&'a [Lead]>,
    /// The opportunities are won deals only (no lost, no open).
    pub won_only: bool,
}

/// The records as they stood at `cutoff`: what was created by then, with
/// the deals closed after it open again. A won-only export lists a deal
/// only once it is won, so there a deal won after the cut-off is left out
/// (its lead had not converted yet).
pub fn view_at(
    opps: &[Opportunity],
    leads: Option<&[Lead]>,
    cutoff: Date,
    won_only: bool,
) -> (Vec<Opportunity>, Option<Vec<Lead>>) {
    let o = opps
        .iter()
        .filter(|o| o.created <= cutoff)
        .filter(|o| !(won_only && o.closed.is_some_and(|c| c > cutoff)))
        .map(|o| {
            let mut o = o.clone();
            if o.closed.is_some_and(|c| c > cutoff) {
                o.closed = None;
                o.outcome = Outcome::Open;
            }
            o
        })
        .collect();
    let l = leads.map(|l| l.iter().filter(|l| l.created <= cutoff).cloned().collect());
    (o, l)
}

/// Which funnel the data supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Opportunities only: each its own lead.
    Opportunities,
    /// Leads joined to opportunities (won and lost).
    LeadsAndOpportunities,
    /// Leads joined to won deals only.
    LeadsAndWon,
}

fn label(v: &Option<String>) -> String {
    match v.as_deref().map(str::trim) {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => "unknown".to_string(),
    }
}

/// Full months of the data: from the month after the earliest record's
/// (unless it starts on the 1st) to the month before `as_of`'s (unless
/// `as_of` is its last day).
fn full_months(first: Date, as_of: Date) -> (i32, i32) {
    let (_, _, d0) = first.ymd();
    let lo = first.month_index() + i32::from(d0 != 1);
    let next = as_of.plus_days(1);
    let hi = if next.month_index() != as_of.month_index() {
        as_of.month_index()
    } else {
        as_of.month_index() - 1
    };
    (lo, hi)
}

fn num(x: f64) -> String {
    crate::dist::number_text(x)
}

fn beta_text(r: &fit::RateFit) -> String {
    format!("beta(alpha={}, beta={})", num(r.alpha), num(r.beta))
}

fn size_text(f: &fit::SizeFit) -> String {
    match f.family {
        SizeFamily::Lognormal => format!("lognormal(mu={}, sigma={})", num(f.p1), num(f.p2)),
        SizeFamily::Gamma => format!("gamma(shape={}, scale={})", num(f.p1), num(f.p2)),
    }
}

fn cycle_text(f: &fit::CycleFit) -> String {
    match f.family {
        CycleFamily::Lognormal => format!("lognormal(mu={}, sigma={})", num(f.p1), num(f.p2)),
        CycleFamily::Gamma => format!("gamma(shape={}, scale={})", num(f.p1), num(f.p2)),
    }
}

fn family_name(f: &fit::SizeFit) -> &'static str {
    match f.family {
        SizeFamily::Lognormal => "lognormal",
        SizeFamily::Gamma => "gamma",
    }
}

fn cycle_family(f: &fit::CycleFit) -> &'static str {
    match f.family {
        CycleFamily::Lognormal => "lognormal",
        CycleFamily::Gamma => "gamma",
    }
}

/// Rate cohorts: (successes, trials) per month index.
fn cohorts(map: &BTreeMap<i32, (u64, u64)>) -> Vec<(u64, u64)> {
    map.values().copied().collect()
}

/// Win-rate cohorts of a set of deals: won and closed counts per close month.
fn win_cohorts<'a>(deals: impl Iterator<Item = &'a Opportunity>) -> Vec<(u64, u64)> {
    let mut m: BTreeMap<i32, (u64, u64)> = BTreeMap::new();
    for o in deals {
        if let Some(c) = o.closed {
            let e = m.entry(c.month_index()).or_default();
            e.1 += 1;
            if o.outcome == Outcome::Won {
                e.0 += 1;
            }
        }
    }
    cohorts(&m)
}

/// Days from created to close (0 → half a day, as the fit takes it).
fn cycle_of(o: &Opportunity) -> Option<f64> {
    o.closed.map(|c| f64::from(o.created.days_until(c).max(0)))
}

/// The cycles of a set of deals: won events, lost events and open ages,
/// with each open deal weighted by the posterior chance it ends won (EM
/// with the win rate `p` fixed).
struct Cycles {
    won: Option<fit::CycleFit>,
    lost: Option<fit::CycleFit>,
    /// Median days of the closed won (lost) deals alone, ignoring the open.
    won_closed_median: Option<f64>,
    lost_closed_median: Option<f64>,
    n_won: usize,
    n_lost: usize,
    n_open: usize,
}

fn fit_cycles(deals: &[&Opportunity], as_of: Date, p: f64, won_only: bool) -> Cycles {
    let won: Vec<(f64, f64)> = deals
        .iter()
        .filter(|o| o.outcome == Outcome::Won)
        .filter_map(|o| cycle_of(o).map(|c| (c, 1.0)))
        .collect();
    let lost: Vec<(f64, f64)> = deals
        .iter()
        .filter(|o| o.outcome == Outcome::Lost)
        .filter_map(|o| cycle_of(o).map(|c| (c, 1.0)))
        .collect();
    let ages: Vec<f64> = deals
        .iter()
        .filter(|o| o.outcome == Outcome::Open)
        .map(|o| f64::from(o.created.days_until(as_of).max(0)))
        .collect();
    let mut fw = fit::fit_cycle(&won, &[]);
    let mut fl = if won_only {
        None
    } else {
        fit::fit_cycle(&lost, &[])
    };
    if !ages.is_empty() && !won_only {
        for _ in 0..4 {
            let (Some(w), Some(l)) = (&fw, &fl) else {
                break;
            };
            let mut cw = Vec::with_capacity(ages.len());
            let mut cl = Vec::with_capacity(ages.len());
            for &a in &ages {
                let sw = survival(w, a);
                let sl = survival(l, a);
                let den = p * sw + (1.0 - p) * sl;
                let pw = if den > 0.0 && den.is_finite() {
                    p * sw / den
                } else {
                    p
                };
                cw.push((a, pw));
                cl.push((a, 1.0 - pw));
            }
            fw = fit::fit_cycle(&won, &cw).or(fw);
            fl = fit::fit_cycle(&lost, &cl).or(fl);
        }
    }
    let closed_median = |x: &[(f64, f64)]| median(&x.iter().map(|e| e.0).collect::<Vec<_>>());
    Cycles {
        won_closed_median: closed_median(&won),
        lost_closed_median: closed_median(&lost),
        won: fw,
        lost: fl,
        n_won: won.len(),
        n_lost: lost.len(),
        n_open: ages.len(),
    }
}

/// Survival of a fitted cycle law at `t` days.
fn survival(f: &fit::CycleFit, t: f64) -> f64 {
    let t = t.max(0.5);
    match f.family {
        CycleFamily::Gamma => statrs::function::gamma::gamma_ur(f.p1, t / f.p2),
        CycleFamily::Lognormal => {
            let z = (t.ln() - f.p1) / f.p2;
            0.5 * statrs::function::erf::erfc(z / std::f64::consts::SQRT_2)
        }
    }
}

/// Median of the amounts (sorted copy).
fn median(x: &[f64]) -> Option<f64> {
    if x.is_empty() {
        return None;
    }
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    })
}

/// Calibrate from records: the scenario text and its report. The error is
/// a message for when nothing usable is left (e.g. no closed deal).
pub fn calibrate_records(data: &Data<'_>, options: &FitOptions) -> Result<Calibration, String> {
    let opps = data.opps;
    let as_of = options
        .as_of
        .or_else(|| {
            opps.iter()
                .filter_map(|o| o.closed.max(Some(o.created)))
                .max()
        })
        .ok_or_else(|| "no usable opportunities".to_string())?;
    if opps.is_empty() {
        return Err(format!("no usable opportunities as of {as_of}"));
    }
    if !opps.iter().any(|o| o.outcome == Outcome::Won) {
        return Err(format!(
            "no won deal as of {as_of}: a win rate, a deal size and a cycle need won deals; export a longer period (or a later --as-of)"
        ));
    }
    let shape = match (data.leads, data.won_only) {
        (Some(_), true) => Shape::LeadsAndWon,
        (Some(_), false) => Shape::LeadsAndOpportunities,
        (None, _) => Shape::Opportunities,
    };
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let strategy = "calibrated";
    let sp = format!("strategy.{strategy}");
    if data.won_only && data.leads.is_none() {
        notes.push("won deals only and no leads export: the win rate is 1 (every opportunity listed was won); pass --leads for the lead → won rate".into());
    }

    // --- groups
    let channel_of_opp: Vec<String> = opps.iter().map(|o| label(&o.channel)).collect();
    let lead_rows = data.leads.unwrap_or(&[]);
    let mut channels: Vec<String> = match shape {
        Shape::Opportunities => channel_of_opp.clone(),
        _ => lead_rows.iter().map(|l| label(&l.channel)).collect(),
    };
    channels.sort();
    channels.dedup();
    let has_channels = channels.iter().any(|c| c != "unknown");
    if !has_channels {
        channels = vec!["all".into()];
    }
    let chan = |c: &Option<String>| {
        if has_channels {
            label(c)
        } else {
            "all".to_string()
        }
    };
    // each lead once: its channel, cohort month and whether it converted
    let lead_info: Vec<(String, i32, bool)> = {
        let converted: std::collections::HashSet<&str> =
            opps.iter().filter_map(|o| o.lead.as_deref()).collect();
        lead_rows
            .iter()
            .map(|l| {
                (
                    chan(&l.channel),
                    l.created.month_index(),
                    converted.contains(l.id.as_str()),
                )
            })
            .collect()
    };
    let mut segments: Vec<String> = opps
        .iter()
        .filter_map(|o| o.segment.clone())
        .filter(|s| !s.trim().is_empty())
        .collect();
    segments.sort();
    segments.dedup();
    let segmented = segments.len() >= 2;
    let seg_names = identifiers(&segments);
    let chan_names = identifiers(&channels);

    // --- months
    let first = match shape {
        Shape::Opportunities => opps.iter().map(|o| o.created).min(),
        _ => lead_rows.iter().map(|l| l.created).min(),
    }
    .ok_or_else(|| "no usable rows".to_string())?;
    // the volume's own export date: a leads export may end before the
    // won deals joined to it do
    let volume_as_of = match shape {
        Shape::Opportunities => as_of,
        _ => lead_rows
            .iter()
            .map(|l| l.created)
            .max()
            .map_or(as_of, |d| d.min(as_of)),
    };
    let (lo, hi) = full_months(first, volume_as_of);
    let n_months = (hi - lo + 1).max(0) as usize;
    if n_months == 0 {
        return Err(format!(
            "the {} run from {first} to {volume_as_of}: not one full calendar month, and monthly volume needs at least one (better 12); export a longer period",
            if shape == Shape::Opportunities {
                "opportunities"
            } else {
                "leads"
            }
        ));
    }
    notes.push(format!(
        "as of {as_of}; {n_months} full months of volume ({} to {}); partial first and last months left out",
        super::date::month_label(lo),
        super::date::month_label(hi)
    ));

    // --- pooled win rate
    let closed = |o: &&Opportunity| o.outcome != Outcome::Open;
    let all: Vec<&Opportunity> = opps.iter().collect();
    let pooled_rate = if shape == Shape::LeadsAndWon || data.won_only {
        None
    } else {
        fit::fit_rate(&win_cohorts(all.iter().copied().filter(closed)))
    };
    let p_pool = pooled_rate.as_ref().map_or(1.0, |r| r.pooled);
    if let Some(r) = &pooled_rate {
        notes.push(format!(
            "win rate over all closed opportunities: {} won of {} closed ({:.4})",
            r.successes, r.trials, r.pooled
        ));
    }
    if shape != Shape::Opportunities {
        let joined = lead_info.iter().filter(|l| l.2).count();
        let to = if shape == Shape::LeadsAndWon {
            "won"
        } else {
            "an opportunity"
        };
        notes.push(format!(
            "leads that reached {to}: {joined} of {} ({:.4}), all cohorts",
            lead_rows.len(),
            joined as f64 / lead_rows.len().max(1) as f64
        ));
    }

    // --- deal size and cycles, pooled
    let won_amounts = |set: &[&Opportunity]| -> Vec<f64> {
        set.iter()
            .filter(|o| o.outcome == Outcome::Won)
            .filter_map(|o| o.amount)
            .filter(|a| *a > 0.0)
            .collect()
    };
    let pooled_amounts = won_amounts(&all);
    let size = fit::fit_size(&pooled_amounts);
    let cycles = fit_cycles(&all, as_of, p_pool, data.won_only);
    let mut text = String::new();
    let name = options
        .name
        .clone()
        .unwrap_or_else(|| format!("Calibrated from CRM export (as of {as_of})"));
    let start_index = as_of.month_index() + 1;
    let start = super::date::month_label(start_index);
    let _ = writeln!(
        text,
        "# Calibrated by `pipesim calibrate` from CRM exports, as of {as_of}."
    );
    let _ = writeln!(
        text,
        "# Every fitted parameter says its sample size, method and fit quality;"
    );
    let _ = writeln!(
        text,
        "# the calibration report (CSV) has one row per parameter."
    );
    let _ = writeln!(text, "name = {}", toml_str(&name));
    let _ = writeln!(text, "horizon_months = {}", options.horizon);
    let _ = writeln!(text, "start = \"{start}\"");
    let _ = writeln!(text, "trials = {}", options.trials);
    let _ = writeln!(text, "seed = {}", options.seed);
    let _ = writeln!(text, "baseline = \"{strategy}\"");

    // seasonality from total volume
    let totals = monthly_counts(shape, opps, lead_rows, lo, hi, |_| true);
    if n_months >= 24 {
        let t: Vec<f64> = totals.iter().map(|&c| c as f64).collect();
        // the totals' own count noise: Poisson, or their negative binomial
        let k = fit::fit_volume(&totals, totals.len()).and_then(|v| v.dispersion);
        match fit::seasonality(&t, lo.rem_euclid(12) as usize, k) {
            Some(s) if s.p_value < 0.05 => {
                // MODEL.md indexes seasonality by model month (m mod 12),
                // month 0 being the scenario's start
                let first = start_index.rem_euclid(12) as usize;
                let idx: Vec<String> = (0..12)
                    .map(|m| num(round_to(s.index[(first + m) % 12], 4)))
                    .collect();
                let q = seasonality_test_text(&s);
                let _ = writeln!(
                    text,
                    "# seasonality: ratio to a centred 12-month moving average, {n_months} months; {q}; listed from the start month ({start})"
                );
                let _ = writeln!(text, "seasonality = [{}]", idx.join(", "));
                rows.push(row(
                    "seasonality",
                    "all",
                    format!("[{}]", idx.join(", ")),
                    n_months as f64,
                    "ratio to centred 2x12 moving average",
                    &q,
                    "fitted",
                ));
            }
            Some(s) => rows.push(row(
                "seasonality",
                "all",
                String::new(),
                n_months as f64,
                "ratio to centred 2x12 moving average",
                &format!(
                    "no seasonality beyond noise ({})",
                    seasonality_test_text(&s)
                ),
                "not fitted",
            )),
            None => {}
        }
    } else {
        rows.push(row(
            "seasonality",
            "all",
            String::new(),
            n_months as f64,
            "",
            "fewer than 24 full months",
            "not fitted",
        ));
    }

    // funnel
    let _ = writeln!(text, "\n[funnel]");
    match shape {
        Shape::LeadsAndWon => {
            let _ = writeln!(
                text,
                "stages = [\"lead\", \"won\"]\nhandoff = \"lead\"\npipeline = \"won\""
            );
        }
        _ => {
            let _ = writeln!(
                text,
                "stages = [\"lead\", \"opportunity\", \"won\"]\nhandoff = \"lead\"\npipeline = \"opportunity\""
            );
        }
    }

    // segments
    let mut seg_text = String::new();
    let mut mix = Vec::new();
    if segmented {
        let total = opps.iter().filter(|o| o.segment.is_some()).count().max(1) as f64;
        for s in &segments {
            let set: Vec<&Opportunity> = opps
                .iter()
                .filter(|o| o.segment.as_ref() == Some(s))
                .collect();
            let share = set.len() as f64 / total;
            mix.push((seg_names[s].clone(), share));
            let id = &seg_names[s];
            let path = format!("segment[{id}]");
            let _ = writeln!(seg_text, "\n[[segment]]\n# {} in the export", toml_str(s));
            let _ = writeln!(seg_text, "name = \"{id}\"");
            let amounts = won_amounts(&set);
            let sm = median(&amounts);
            match fit::fit_size(&amounts).filter(|_| amounts.len() >= MIN_FIT) {
                Some(f) => {
                    emit_size(
                        &mut seg_text,
                        &mut rows,
                        &format!("{path}.deal_size"),
                        s,
                        &f,
                    );
                    if f.multimodal {
                        notes.push(format!("segment {s}: deal sizes look multi-modal (bimodality coefficient {:.2}); consider segmenting further", f.bimodality_coefficient));
                    }
                }
                None => {
                    let why = if amounts.len() < MIN_FIT {
                        format!("fewer than {MIN_FIT} won amounts")
                    } else {
                        "the amounts admit no fit (all equal?)".to_string()
                    };
                    rows.push(row(
                        &format!("{path}.deal_size"),
                        s,
                        String::new(),
                        amounts.len() as f64,
                        "",
                        &format!(
                            "{why} (median {}): the strategy's deal size is used",
                            sm.map_or("-".into(), num)
                        ),
                        "pooled",
                    ))
                }
            }
            let seg_rate = if data.won_only {
                None
            } else {
                fit::fit_rate(&win_cohorts(set.iter().copied().filter(closed)))
            };
            let p_seg = seg_rate.as_ref().map_or(p_pool, |r| r.pooled);
            let c = fit_cycles(&set, as_of, p_seg, data.won_only);
            cycle_rows(&mut seg_text, &mut rows, &path, s, &c, true);
            if let (Some(r), Some(pr)) = (&seg_rate, &pooled_rate) {
                let w = r.successes as f64;
                let l = (r.trials - r.successes) as f64;
                if r.trials >= MIN_CLOSED
                    && w > 0.0
                    && l > 0.0
                    && pr.pooled > 0.0
                    && pr.pooled < 1.0
                {
                    let mu = ((r.pooled / (1.0 - r.pooled)) / (pr.pooled / (1.0 - pr.pooled))).ln();
                    let sigma = (1.0 / w + 1.0 / l).sqrt();
                    let v = format!(
                        "lognormal(mu={}, sigma={})",
                        num(round_to(mu, 6)),
                        num(round_to(sigma, 6))
                    );
                    let q = format!(
                        "win rate {:.4} ({} of {}) vs pooled {:.4}",
                        r.pooled, r.successes, r.trials, pr.pooled
                    );
                    let _ = writeln!(
                        seg_text,
                        "# win_odds_ratio: odds of the segment's closed deals over the pooled odds; {q}"
                    );
                    let _ = writeln!(seg_text, "win_odds_ratio = \"{v}\"");
                    rows.push(row(
                        &format!("{path}.win_odds_ratio"),
                        s,
                        v,
                        r.trials as f64,
                        "log odds ratio, normal approximation",
                        &q,
                        "fitted",
                    ));
                } else {
                    rows.push(row(
                        &format!("{path}.win_odds_ratio"),
                        s,
                        String::new(),
                        r.trials as f64,
                        "",
                        &format!(
                            "fewer than {MIN_CLOSED} closed deals or no won/lost: odds ratio 1"
                        ),
                        "pooled",
                    ));
                }
            }
        }
    } else if segments.len() == 1 {
        notes.push(format!(
            "one segment only ('{}'): no [[segment]] written",
            segments[0]
        ));
    }

    // strategy
    let _ = writeln!(text, "\n[{sp}]\nlabel = \"Calibrated from the CRM export\"");
    match &size {
        Some(f) => {
            emit_size(&mut text, &mut rows, &format!("{sp}.deal_size"), "all", f);
            if f.multimodal && !segmented {
                notes.push(format!("deal sizes look multi-modal (bimodality coefficient {:.2}); consider --col segment=... to segment them", f.bimodality_coefficient));
            }
        }
        None => {
            let _ = writeln!(
                text,
                "# deal_size: no usable won amounts; 1 per deal, so bookings count won deals"
            );
            let _ = writeln!(text, "deal_size = 1");
            notes.push(
                "no usable amounts on won deals: deal_size = 1 (bookings then count won deals)"
                    .into(),
            );
            rows.push(row(
                &format!("{sp}.deal_size"),
                "all",
                "1".into(),
                pooled_amounts.len() as f64,
                "",
                "no usable won amounts",
                "not fitted",
            ));
        }
    }
    cycle_rows(&mut text, &mut rows, &sp, "all", &cycles, false);
    if !mix.is_empty() {
        let parts: Vec<String> = mix
            .iter()
            .map(|(s, w)| format!("{} = {}", toml_key(s), num(round_to(*w, 6))))
            .collect();
        // shares rounded: fix the last so they sum to 1
        let mut fixed = parts;
        let sum: f64 = mix.iter().map(|(_, w)| round_to(*w, 6)).sum();
        if let (Some(last), Some((s, w))) = (fixed.last_mut(), mix.last()) {
            *last = format!(
                "{} = {}",
                toml_key(s),
                num(round_to(round_to(*w, 6) + 1.0 - sum, 9))
            );
        }
        let _ = writeln!(
            text,
            "# segment_mix: shares of the {} opportunities with a segment",
            opps.iter().filter(|o| o.segment.is_some()).count()
        );
        let _ = writeln!(text, "segment_mix = {{ {} }}", fixed.join(", "));
    }

    // channels
    let mut young_noted = false;
    for c in &channels {
        let id = &chan_names[c];
        let path = format!("{sp}.channel[{id}]");
        let counts = monthly_counts(shape, opps, lead_rows, lo, hi, |g| chan(g) == *c);
        let _ = writeln!(text, "\n[[{sp}.channel]]\n# {} in the export", toml_str(c));
        let _ = writeln!(text, "name = \"{id}\"");
        match fit::fit_volume(&counts, options.recent_months) {
            Some(v) => {
                let unit = if shape == Shape::Opportunities {
                    "opportunities"
                } else {
                    "leads"
                };
                let q = format!(
                    "{} months, level from the last {}; monthly mean {:.2}, variance {:.2}",
                    v.months,
                    options.recent_months.min(v.months),
                    v.mean,
                    v.variance
                );
                let value = if v.se > 0.0 {
                    format!(
                        "\"gamma(mean={}, sd={})\"",
                        num(round_to(v.mean, 4)),
                        num(round_to(v.se, 4))
                    )
                } else {
                    num(round_to(v.mean, 4))
                };
                let _ = writeln!(
                    text,
                    "# leads_per_month: {unit} a month; {q}; sd = standard error of the level"
                );
                let _ = writeln!(text, "leads_per_month = {value}");
                rows.push(row(
                    &format!("{path}.leads_per_month"),
                    c,
                    value.trim_matches('"').to_string(),
                    v.months as f64,
                    "mean of recent full months",
                    &q,
                    "fitted",
                ));
                match v.dispersion {
                    Some(k) => {
                        let q = format!("LR test vs Poisson p = {}", p_text(v.p_value));
                        let _ =
                            writeln!(text, "# volume_dispersion: negative binomial k by ML; {q}");
                        let _ = writeln!(text, "volume_dispersion = {}", num(round_to(k, 4)));
                        rows.push(row(
                            &format!("{path}.volume_dispersion"),
                            c,
                            num(round_to(k, 4)),
                            v.months as f64,
                            "negative binomial ML",
                            &q,
                            "fitted",
                        ));
                    }
                    None => rows.push(row(
                        &format!("{path}.volume_dispersion"),
                        c,
                        String::new(),
                        v.months as f64,
                        "Poisson",
                        &format!("no overdispersion (LR p = {:.2})", v.p_value),
                        "fitted",
                    )),
                }
                if v.trend {
                    notes.push(format!("channel {c}: a clear trend of {:+.2} a month (p = {}); the level is the mean of the last {} months (set the window with --recent-months)", v.trend_per_month, p_text(v.trend_p), options.recent_months.min(v.months)));
                }
            }
            None => {
                let _ = writeln!(text, "# leads_per_month: no full month of data; 0");
                let _ = writeln!(text, "leads_per_month = 0");
                rows.push(row(
                    &format!("{path}.leads_per_month"),
                    c,
                    "0".into(),
                    0.0,
                    "",
                    "no full month of data",
                    "not fitted",
                ));
            }
        }
        let _ = writeln!(text, "cost_per_lead = {}", num(options.cost_per_lead));
        // conversions
        let in_channel = |o: &&Opportunity| chan(&o.channel) == *c;
        match shape {
            Shape::Opportunities => {
                let _ = writeln!(
                    text,
                    "# conversion.opportunity: each opportunity is its own lead"
                );
                let won = rate_text(
                    &mut rows,
                    &format!("{path}.conversion.won"),
                    c,
                    fit::fit_rate(&win_cohorts(opps.iter().filter(in_channel).filter(closed))),
                    pooled_rate.as_ref(),
                    data.won_only,
                );
                let _ = writeln!(
                    text,
                    "{}conversion = {{ opportunity = 1, won = {} }}",
                    won.0, won.1
                );
            }
            Shape::LeadsAndOpportunities => {
                let lr = lead_rate(&lead_info, c, as_of, None);
                let pooled_lr = lead_rate(&lead_info, "", as_of, None);
                let opp = rate_text(
                    &mut rows,
                    &format!("{path}.conversion.opportunity"),
                    c,
                    lr,
                    pooled_lr.as_ref(),
                    false,
                );
                let won = rate_text(
                    &mut rows,
                    &format!("{path}.conversion.won"),
                    c,
                    fit::fit_rate(&win_cohorts(opps.iter().filter(in_channel).filter(closed))),
                    pooled_rate.as_ref(),
                    false,
                );
                let _ = writeln!(
                    text,
                    "{}{}conversion = {{ opportunity = {}, won = {} }}",
                    opp.0, won.0, opp.1, won.1
                );
            }
            Shape::LeadsAndWon => {
                let settle = cycles.won.as_ref().map_or(180.0, |w| w.p99.min(3650.0));
                let mut lr = lead_rate(&lead_info, c, as_of, Some(settle));
                let mut pooled_lr = lead_rate(&lead_info, "", as_of, Some(settle));
                let settled = pooled_lr.is_some();
                if !settled && !young_noted {
                    young_noted = true;
                    notes.push(format!("no lead cohort is {settle:.0} days (the P99 cycle) old at {as_of}: the lead → won rate counts every cohort, so it is low by the leads still to convert"));
                }
                if !settled {
                    // a young funnel: no cohort is that old yet
                    lr = lead_rate(&lead_info, c, as_of, None);
                    pooled_lr = lead_rate(&lead_info, "", as_of, None);
                }
                let won = rate_text(
                    &mut rows,
                    &format!("{path}.conversion.won"),
                    c,
                    lr,
                    pooled_lr.as_ref(),
                    false,
                );
                if settled {
                    let _ = writeln!(
                        text,
                        "# lead cohorts at least {settle:.0} days old (the P99 cycle) count"
                    );
                } else {
                    let _ = writeln!(
                        text,
                        "# no lead cohort is {settle:.0} days old (the P99 cycle): every cohort counts, so the rate is low by the leads still to convert"
                    );
                }
                let _ = writeln!(text, "{}conversion = {{ won = {} }}", won.0, won.1);
            }
        }
    }
    text.push_str(&seg_text);
    let p99 = cycles
        .won
        .iter()
        .chain(cycles.lost.iter())
        .map(|f| f.p99)
        .fold(0.0f64, f64::max);
    if p99 > 0.0 {
        let months = ((p99 / MONTH_DAYS).ceil() as usize + 1).clamp(1, 120);
        let _ = writeln!(
            text,
            "\n# warmup: today's open pipeline from the calibrated way of working, {months} months (P99 cycle {p99:.0} days)"
        );
        let _ = writeln!(
            text,
            "[warmup]\nmonths = {months}\nstrategy = \"{strategy}\""
        );
        rows.push(row(
            "warmup.months",
            "all",
            months.to_string(),
            0.0,
            "ceil(P99 cycle / 30.4375) + 1",
            &format!("P99 cycle {p99:.0} days"),
            "fitted",
        ));
    }
    Ok(Calibration {
        scenario: text,
        rows,
        notes,
        skipped: Vec::new(),
        as_of,
        start,
    })
}

/// Write a rate parameter (or the pooled fallback): `(comment, value)`.
fn rate_text(
    rows: &mut Vec<ReportRow>,
    path: &str,
    group: &str,
    own: Option<fit::RateFit>,
    pooled: Option<&fit::RateFit>,
    won_only: bool,
) -> (String, String) {
    if won_only {
        rows.push(row(
            path,
            group,
            "1".into(),
            0.0,
            "",
            "won deals only: every listed opportunity was won",
            "not fitted",
        ));
        return (
            "# conversion.won: won deals only in the export; 1\n".into(),
            "1".into(),
        );
    }
    match (own, pooled) {
        (Some(r), _) if r.trials >= MIN_CLOSED => {
            let q = format!(
                "{} of {} ({:.4}) over {} monthly cohorts; overdispersion LR p = {}",
                r.successes,
                r.trials,
                r.pooled,
                r.cohorts,
                p_text(r.p_value)
            );
            let v = beta_text(&r);
            rows.push(row(
                path,
                group,
                v.clone(),
                r.trials as f64,
                r.method,
                &q,
                "fitted",
            ));
            (
                format!("# {}: {}; {q}\n", last(path), r.method),
                format!("\"{v}\""),
            )
        }
        (own, Some(p)) => {
            let n = own.as_ref().map_or(0, |r| r.trials);
            let v = beta_text(p);
            let q = format!(
                "{n} in the group, fewer than {MIN_CLOSED}: the pooled {} of {} ({:.4})",
                p.successes, p.trials, p.pooled
            );
            rows.push(row(
                path,
                group,
                v.clone(),
                p.trials as f64,
                p.method,
                &q,
                "pooled",
            ));
            (format!("# {}: {q}\n", last(path)), format!("\"{v}\""))
        }
        (Some(r), None) => {
            let v = beta_text(&r);
            rows.push(row(
                path,
                group,
                v.clone(),
                r.trials as f64,
                r.method,
                "small sample",
                "fitted",
            ));
            (
                format!(
                    "# {}: {} of {}, small sample\n",
                    last(path),
                    r.successes,
                    r.trials
                ),
                format!("\"{v}\""),
            )
        }
        (None, None) => {
            rows.push(row(
                path,
                group,
                "0.5".into(),
                0.0,
                "",
                "no closed deals",
                "not fitted",
            ));
            (
                format!("# {}: no closed deals; 0.5 as a placeholder\n", last(path)),
                "0.5".into(),
            )
        }
    }
}

fn last(path: &str) -> &str {
    path.rsplit_once(".conversion.").map_or(path, |(_, s)| s)
}

/// Lead → opportunity (or → won) rate of one channel (`c`; "" = all) by
/// lead-created month; with `settle`, only cohorts whose last day is at
/// least that many days before `as_of`.
fn lead_rate(
    leads: &[(String, i32, bool)],
    c: &str,
    as_of: Date,
    settle: Option<f64>,
) -> Option<fit::RateFit> {
    let mut m: BTreeMap<i32, (u64, u64)> = BTreeMap::new();
    for (channel, mi, converted) in leads {
        if !c.is_empty() && channel != c {
            continue;
        }
        if let Some(s) = settle {
            let end = Date::month_start(mi + 1);
            if f64::from(end.days_until(as_of)) < s {
                continue;
            }
        }
        let e = m.entry(*mi).or_default();
        e.1 += 1;
        if *converted {
            e.0 += 1;
        }
    }
    fit::fit_rate(&cohorts(&m))
}

/// Monthly counts over full months `lo..=hi` of the volume unit
/// (opportunities, or leads), restricted by channel.
fn monthly_counts(
    shape: Shape,
    opps: &[Opportunity],
    leads: &[Lead],
    lo: i32,
    hi: i32,
    keep: impl Fn(&Option<String>) -> bool,
) -> Vec<u64> {
    if hi < lo {
        return Vec::new();
    }
    let mut v = vec![0u64; (hi - lo + 1) as usize];
    let mut add = |d: Date| {
        let i = d.month_index();
        if (lo..=hi).contains(&i) {
            v[(i - lo) as usize] += 1;
        }
    };
    match shape {
        Shape::Opportunities => opps
            .iter()
            .filter(|o| keep(&o.channel))
            .for_each(|o| add(o.created)),
        _ => leads
            .iter()
            .filter(|l| keep(&l.channel))
            .for_each(|l| add(l.created)),
    }
    v
}

/// Cycle parameters of a group into `text` and the report.
fn cycle_rows(
    text: &mut String,
    rows: &mut Vec<ReportRow>,
    path: &str,
    group: &str,
    c: &Cycles,
    segment: bool,
) {
    for (key, fit, n, kind, raw) in [
        ("cycle_days", &c.won, c.n_won, "won", c.won_closed_median),
        (
            "lost_cycle_days",
            &c.lost,
            c.n_lost,
            "lost",
            c.lost_closed_median,
        ),
    ] {
        let p = format!("{path}.{key}");
        match fit.as_ref().filter(|_| n >= MIN_FIT) {
            Some(f) => {
                let q = format!(
                    "median fitted {:.1} days vs Kaplan-Meier {} (closed {kind} deals alone {}); {} {kind} closed, {} open (censored, weighted)",
                    f.fitted_median,
                    f.km_median
                        .map_or("not reached".into(), |m| format!("{m:.1}")),
                    raw.map_or("-".into(), |m| format!("{m:.1}")),
                    n,
                    c.n_open
                );
                let _ = writeln!(
                    text,
                    "# {key}: {} by censored ML (AIC); {q}",
                    cycle_family(f)
                );
                let _ = writeln!(text, "{key} = \"{}\"", cycle_text(f));
                rows.push(row(
                    &p,
                    group,
                    cycle_text(f),
                    f.events + f.censored,
                    &format!("{} censored ML, AIC", cycle_family(f)),
                    &q,
                    "fitted",
                ));
            }
            None if kind == "lost" && n == 0 && !segment => {}
            None => {
                let short = if n < MIN_FIT {
                    format!("{n} {kind} deals, fewer than {MIN_FIT}")
                } else {
                    format!("{n} {kind} deals admit no fit")
                };
                let why = if segment {
                    format!("{short}: the strategy's cycle is used")
                } else {
                    short
                };
                if !segment && kind == "won" {
                    let _ = writeln!(text, "# cycle_days: {why}; 90 days as a placeholder");
                    let _ = writeln!(text, "cycle_days = 90");
                }
                rows.push(row(
                    &p,
                    group,
                    String::new(),
                    n as f64,
                    "",
                    &why,
                    if segment { "pooled" } else { "not fitted" },
                ));
            }
        }
    }
}

/// Writes a fitted deal size (its comment and line) to `out` and its
/// report row to `rows`.
fn emit_size(
    out: &mut String,
    rows: &mut Vec<ReportRow>,
    path: &str,
    group: &str,
    f: &fit::SizeFit,
) {
    let q = format!(
        "KS {:.3}; median fitted {} vs data {}",
        f.ks,
        num(round_to(f.fitted_median, 4)),
        num(round_to(f.sample_median, 4))
    );
    let _ = writeln!(
        out,
        "# deal_size: {} won deals, {} by ML (AIC {:.1} vs {:.1} for the other family), {q}",
        f.n,
        family_name(f),
        f.aic,
        f.other_aic
    );
    let _ = writeln!(out, "deal_size = \"{}\"", size_text(f));
    rows.push(row(
        path,
        group,
        size_text(f),
        f.n as f64,
        &format!("{} ML, AIC", family_name(f)),
        &q,
        "fitted",
    ));
}

fn row(
    parameter: &str,
    group: &str,
    value: String,
    n: f64,
    method: &str,
    quality: &str,
    status: &str,
) -> ReportRow {
    ReportRow {
        parameter: parameter.into(),
        group: group.into(),
        value,
        n,
        method: method.into(),
        quality: quality.into(),
        status: status.into(),
    }
}

/// The seasonality test as the report states it.
fn seasonality_test_text(s: &fit::Seasonality) -> String {
    match s.test {
        fit::SeasonalityTest::AnovaF { within_df } => format!(
            "ANOVA of the ratios by calendar month F = {:.2} on {} and {within_df} df, p = {}",
            s.statistic,
            s.df,
            p_text(s.p_value)
        ),
        fit::SeasonalityTest::ChiSquare => format!(
            "chi-square {:.1} on {} df against count noise, p = {}",
            s.statistic,
            s.df,
            p_text(s.p_value)
        ),
    }
}

/// A p-value as an analyst reads it: two decimals, or `< 0.001`.
fn p_text(p: f64) -> String {
    if p < 0.001 {
        "< 0.001".into()
    } else if p < 0.01 {
        format!("{p:.3}")
    } else {
        format!("{p:.2}")
    }
}

fn round_to(x: f64, digits: i32) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return if x.is_finite() { x } else { 0.0 };
    }
    let mag = x.abs().log10().floor() as i32;
    let scale = 10f64.powi(digits - 1 - mag);
    (x * scale).round() / scale
}

/// Scenario names for the export's values: letters, digits, `_` and `-`
/// kept, every other run of characters one `_`, at most 64 characters,
/// made unique by a `_2`, `_3`, … suffix.
fn identifiers(values: &[String]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut used = std::collections::HashSet::new();
    for v in values {
        let mut id = String::new();
        for ch in v.trim().chars() {
            if ch.is_ascii_alphanumeric() || ch == '_' || ch == '-' {
                id.push(ch);
            } else if !id.ends_with('_') {
                id.push('_');
            }
        }
        let mut id = id.trim_matches('_').to_string();
        if id.starts_with('-') {
            id.insert(0, '_');
        }
        if id.is_empty() {
            id = "unknown".into();
        }
        id.truncate(56);
        let mut unique = id.clone();
        let mut k = 2;
        while !used.insert(unique.clone()) {
            unique = format!("{id}_{k}");
            k += 1;
        }
        out.insert(v.clone(), unique);
    }
    out
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A TOML key (bare when it can be).
fn toml_key(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        s.to_string()
    } else {
        toml_str(s)
    }
}

/// The report as CSV: one row per parameter.
pub fn report_csv(cal: &Calibration) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "parameter",
        "group",
        "value",
        "n",
        "method",
        "quality",
        "status",
    ])?;
    for r in &cal.rows {
        w.write_record([
            &r.parameter,
            &r.group,
            &r.value,
            &num(round_to(r.n, 6)),
            &r.method,
            &r.quality,
            &r.status,
        ])?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// The report for the terminal.
pub fn report_text(cal: &Calibration) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "Calibration as of {} (scenario starts {})",
        cal.as_of, cal.start
    );
    for (file, skipped) in &cal.skipped {
        for s in skipped {
            let ex = s
                .examples
                .first()
                .map(|(l, c, v)| format!(" (e.g. line {l}, column '{c}': '{v}')"))
                .unwrap_or_default();
            let _ = writeln!(
                t,
                "  skipped {} rows of {}: {}{ex}",
                s.count,
                file.display(),
                s.reason
            );
        }
    }
    for n in &cal.notes {
        let _ = writeln!(t, "  note: {n}");
    }
    let _ = writeln!(t);
    for r in &cal.rows {
        let _ = writeln!(t, "{:<10} {}  [{}]", r.status, r.parameter, r.group);
        if !r.value.is_empty() {
            let _ = writeln!(t, "           = {}", r.value);
        }
        let detail = [r.method.as_str(), r.quality.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("; ");
        if !detail.is_empty() {
            let _ = writeln!(t, "           n = {}; {detail}", num(round_to(r.n, 6)));
        }
    }
    t
}

/// Check that the calibrated scenario loads (it must: a failure here is a
/// bug, reported with the text's line).
pub fn check_scenario(cal: &Calibration, file: &Path) -> Result<crate::scenario::Scenario, String> {
    crate::scenario::Scenario::from_toml_str(&cal.scenario, file)
        .map_err(|e| crate::experiment::error_chain(&e))
}
