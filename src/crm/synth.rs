//! Synthetic CRM exports: one trial of one strategy of a scenario, written
//! out as the leads and opportunities a CRM would hold, with the trial's
//! drawn parameters (the "truth") beside them.
//!
//! This is the other direction of [`super::calibrate`]: a calibration (or a
//! backtest) run on an export made here must recover the parameters listed
//! in [`Export::truth`], up to sampling error, so this module is what the
//! estimators are tested against — and a way to show a user what their
//! scenario claims their CRM would look like.
//!
//! # What one export is
//!
//! - **The trial's parameters** are exactly the engine's for that trial:
//!   [`params::draw_uniforms`], [`TrialDraws::new`], [`params::draw_shared`]
//!   and [`params::draw_strategy`] with the same seed and trial index, so
//!   trial `t` here has the market demand, volumes, conversions and odds
//!   ratios of trial `t` of a run (and the same copula uniforms). The
//!   *counts and deals* are not the engine's: they come from a stream of
//!   their own (below), since the export draws each lead and deal on its
//!   own, where the engine draws counts.
//! - **The strategy**: the one named by [`SynthSpec::strategy`]; by default
//!   the warm-up strategy (`[warmup] strategy`) when the scenario has a
//!   warm-up — the funnel that produced the pipeline already open, i.e. the
//!   company's history — else the baseline. An unknown name is an
//!   [`Error::Invalid`] listing the strategies that exist.
//! - **Dates**: month 0 is the scenario's `start`, or 2025-01
//!   ([`DEFAULT_START`]) when it sets none; the export covers months
//!   `0 .. H−1` of the horizon and is taken as of the last day of month
//!   `H−1` ([`Export::as_of`]). A horizon that would run past the year 9999
//!   is an [`Error::Invalid`] on `start`.
//! - **Leads**: per channel and month `m`, the count is drawn from the
//!   channel's lead-count law ([`crate::sampling::LeadSampler`]: Poisson,
//!   or gamma–Poisson with `volume_dispersion`) with mean
//!   `λ = base_lambda × seasonality[m mod 12]`, `base_lambda` being the
//!   channel's mean volume × the trial's `market.demand` (MODEL.md,
//!   "Channels and lead volume"). Each lead is created on a day drawn
//!   uniformly over the days of its month.
//! - **Funnel**: a lead reaches the handoff stage with probability
//!   `to_handoff` (the product of the conversions up to it) and then the
//!   pipeline stage with probability `to_pipeline` (the product of those
//!   after it, up to the pipeline stage); a lead that reaches the pipeline
//!   stage is one opportunity, created on the lead's day. **Sales capacity
//!   and nurture are not simulated**: the export is what an unconstrained
//!   funnel generates (no lead is ignored for lack of reps, none returns
//!   from nurture), so on a capacity-bound scenario it holds more
//!   opportunities than the model's months would.
//! - **Segments**: with `[[segment]]`s, an opportunity's segment is drawn
//!   from its channel's `segment_mix` shares (one uniform, the shares in
//!   scenario order; the law of the model's routing of one member). The
//!   lead of an opportunity carries the opportunity's segment; a lead
//!   without one has an empty segment (a CRM rarely segments a lead no
//!   one qualified).
//! - **Deals** (MODEL.md, "Deals", "Segments and territories", "Lost
//!   deals' own cycle"): `deal_size`, `cycle_days` and `lost_cycle_days`
//!   resolve from the segment, else the channel (which already holds its
//!   strategy's as the default). Per opportunity, in this order: its size
//!   ([`Dist::sample`]); its outcome, won with probability
//!   `p = p_win·r / (1 − p_win + p_win·r)`, `r` the segment's
//!   `win_odds_ratio` (1 without segments); its cycle in days from
//!   `cycle_days` for a won deal and from `lost_cycle_days` (when set, else
//!   `cycle_days`) for a lost one, rounded to whole days (at least 0). It
//!   closes on `created + cycle`; when that is after `as_of`, it is
//!   [`Outcome::Open`] with no close date, whatever it will become — the
//!   censoring a real export has.
//! - **Amounts**: the deal size rounded to cents, for every outcome (a CRM
//!   keeps the amount of lost and open deals too).
//!
//! The v1 model's own monthly logic closes a deal opened in month `m` in
//! month `m + floor(cycle / 30.4375)` and counts it as open at the end when
//! that month is past the horizon; this export closes it on the day
//! `created + cycle`, so a deal created late in a month may close a month
//! later here than in the model (and vice versa early in a month). The
//! laws agree to within that month's rounding.
//!
//! # Identifiers and order
//!
//! Leads are numbered `L000001`, `L000002`, … and opportunities `O000001`,
//! … (six digits at least, more past 999 999), month by month, within a
//! month channel by channel (strategy order), within a channel-month in
//! order of creation; an opportunity's number follows its lead's. The rows
//! are then sorted by created date, then number, as an export sorted by
//! date looks. `line` is the row's line in the file written by
//! [`write_export`] (the header is line 1). A channel's name is what the
//! export's `channel` column holds (two uses of one shared channel in a
//! strategy share it, as they would in a CRM). [`Lead::converted`] is
//! `None`, as reading `leads.csv` (which has no stage column) gives: the
//! opportunities' `lead_id` is the join.
//!
//! # Randomness
//!
//! Deterministic: the same scenario and [`SynthSpec`] give the same export,
//! bit for bit. Each channel draws its counts and then its leads and deals
//! from its own `Xoshiro256PlusPlus`, seeded by SplitMix64 mixes of the
//! trial's stream base ([`streams::trial_base`] of the seed and the trial),
//! the constant key `pipesim/synth/` and the channel's counts key — so a
//! change to one channel leaves the other channels' leads and deals alone
//! (only the numbering moves).
//!
//! # Size
//!
//! An export holds at most [`MAX_LEADS`] leads (the counts are drawn first
//! and checked): beyond that it is an [`Error::TooMuchWork`], not an
//! exhausted memory.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rand::{Rng, RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::crm::date::days_in_month;
use crate::crm::{Date, Lead, Opportunity, Outcome};
use crate::dist::Dist;
use crate::experiment::Error;
use crate::params::{self, SharedParams, StrategyParams, TrialDraws};
use crate::sampling::streams::{self, splitmix64};
use crate::scenario::{Channel, Scenario};

/// Month 0 of an export when the scenario sets no `start`: January 2025.
pub const DEFAULT_START: (i32, u32) = (2025, 1);

/// Most leads one export holds (a few GB of records with their
/// opportunities).
pub const MAX_LEADS: u64 = 20_000_000;

/// File name of the leads export in [`write_export`]'s directory.
pub const LEADS_FILE: &str = "leads.csv";
/// File name of the opportunities export in [`write_export`]'s directory.
pub const OPPORTUNITIES_FILE: &str = "opportunities.csv";

/// Header of `leads.csv`.
pub const LEADS_HEADER: [&str; 4] = ["id", "created", "channel", "segment"];
/// Header of `opportunities.csv`.
pub const OPPORTUNITIES_HEADER: [&str; 8] = [
    "id", "created", "closed", "stage", "amount", "channel", "segment", "lead_id",
];

/// Which export to make: a strategy, a trial and a seed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SynthSpec {
    /// The strategy's name; `None`: the warm-up strategy if the scenario
    /// has a warm-up, else the baseline.
    pub strategy: Option<String>,
    /// The trial whose parameters are used (0 by default).
    pub trial: u64,
    /// The master seed; `None`: the scenario's `seed`.
    pub seed: Option<u64>,
}

/// One synthetic export and the truth behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    /// Sorted by created date, then id.
    pub leads: Vec<Lead>,
    /// Sorted by created date, then id.
    pub opportunities: Vec<Opportunity>,
    /// The export's date: the last day of the horizon's last month.
    pub as_of: Date,
    /// The strategy's name.
    pub strategy: String,
    /// The trial's drawn parameters, by path:
    ///
    /// - `market.demand`: the demand multiplier;
    /// - `segment[G].win_odds_ratio`, per segment;
    /// - per channel `channel[C].…` (`C` its name; `NAME#2`, `NAME#3`, …
    ///   for a further channel of the same name): `leads_per_month`, its
    ///   mean monthly volume before demand and seasonality (for a spend
    ///   channel, spend / cost per lead); `base_lambda`, that × demand
    ///   (the monthly mean before seasonality); `volume_dispersion` when
    ///   set; `cost_per_lead` (after elasticity); `to_handoff` and
    ///   `to_pipeline` (see the module docs); `lead_to_opportunity`, their
    ///   product (what the export identifies); `p_win`, the product of the
    ///   conversions after the pipeline stage; and with segments
    ///   `segment[G].p_win`, the odds-adjusted win probability of its
    ///   deals in segment `G`.
    pub truth: Vec<(String, f64)>,
}

impl Export {
    /// The value of truth `path`, if listed.
    pub fn truth(&self, path: &str) -> Option<f64> {
        self.truth.iter().find(|(p, _)| p == path).map(|(_, v)| *v)
    }
}

/// A generated lead (and its opportunity, when `opp`) before it has its id.
#[derive(Debug, Clone, Copy)]
struct RawLead {
    day: i32,
    /// Index into the scenario's segments (with `opp` only).
    segment: u32,
    opp: bool,
    won: bool,
    cycle: i32,
    size: f64,
}

/// What one channel's deals in one segment are drawn from.
struct Law<'a> {
    size: &'a Dist,
    cycle: &'a Dist,
    lost_cycle: &'a Dist,
    p: f64,
}

/// Key of the export's streams: `pipesim/synth/`.
fn synth_key() -> u64 {
    streams::key("synth", "")
}

/// `p` with its odds multiplied by `r`: `p·r / (1 − p + p·r)` (MODEL.md,
/// "Segments and territories").
fn odds_adjusted(p: f64, r: f64) -> f64 {
    if p >= 1.0 {
        return 1.0;
    }
    let x = p * r;
    let q = x / (1.0 - p + x);
    if q.is_nan() { 0.0 } else { q }
}

/// A uniform on [0, 1) from 53 bits.
#[inline]
fn uniform<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// The index of the strategy `name` names (default: see [`SynthSpec`]).
fn strategy_index(scn: &Scenario, name: Option<&str>) -> Result<usize, Error> {
    match name {
        None => Ok(scn.warmup.map_or(scn.baseline, |w| w.strategy)),
        Some(name) => scn
            .strategies
            .iter()
            .position(|s| s.name == name)
            .ok_or_else(|| {
                Error::invalid(
                    format!("strategy {name:?}"),
                    format!(
                        "no strategy has that name; expected one of {}",
                        scn.strategies
                            .iter()
                            .map(|s| format!("{:?}", s.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            }),
    }
}

/// The first day of each month of the horizon and its number of days, and
/// the last day of the last month.
fn calendar(scn: &Scenario) -> Result<(Vec<(Date, u32)>, Date), Error> {
    let (y, m) = scn.start.unwrap_or(DEFAULT_START);
    let first = i64::from(y) * 12 + i64::from(m) - 1;
    let too_late = || {
        Error::invalid(
            "start",
            format!(
                "{y:04}-{m:02} with a horizon of {} months runs past the year 9999",
                scn.horizon
            ),
        )
    };
    let mut months = Vec::with_capacity(scn.horizon);
    for t in 0..scn.horizon {
        let i = first + t as i64;
        let (yy, mm) = (i.div_euclid(12), i.rem_euclid(12) as u32 + 1);
        let yy = i32::try_from(yy).map_err(|_| too_late())?;
        let start = Date::from_ymd(yy, mm, 1).ok_or_else(too_late)?;
        months.push((start, days_in_month(yy, mm)));
    }
    let &(start, days) = months
        .last()
        .ok_or_else(|| Error::invalid("horizon_months", "0: an export needs a month"))?;
    Ok((months, start.plus_days(days as i32 - 1)))
}

/// Unique labels for the strategy's channels in truth paths.
fn channel_labels<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen: Vec<(&str, usize)> = Vec::new();
    names
        .map(|n| match seen.iter_mut().find(|(s, _)| *s == n) {
            Some((_, k)) => {
                *k += 1;
                format!("{n}#{k}")
            }
            None => {
                seen.push((n, 1));
                n.to_string()
            }
        })
        .collect()
}

/// The truth list of [`Export::truth`].
fn truth(
    scn: &Scenario,
    labels: &[String],
    shared: &SharedParams,
    params: &StrategyParams,
) -> Vec<(String, f64)> {
    let mut out = vec![("market.demand".to_string(), shared.demand)];
    for (g, p) in scn.segments.iter().zip(&shared.segments) {
        out.push((
            format!("segment[{}].win_odds_ratio", g.name),
            p.win_odds_ratio,
        ));
    }
    for (label, d) in labels.iter().zip(&params.channels) {
        let at = |field: &str| format!("channel[{label}].{field}");
        let mean = if shared.demand > 0.0 {
            d.base_lambda / shared.demand
        } else {
            f64::NAN
        };
        out.push((at("leads_per_month"), mean));
        out.push((at("base_lambda"), d.base_lambda));
        if let Some(k) = d.leads.dispersion() {
            out.push((at("volume_dispersion"), k));
        }
        out.push((at("cost_per_lead"), d.cost_per_lead));
        out.push((at("to_handoff"), d.to_handoff));
        out.push((at("to_pipeline"), d.to_pipeline.prob()));
        out.push((
            at("lead_to_opportunity"),
            d.to_handoff * d.to_pipeline.prob(),
        ));
        out.push((at("p_win"), d.p_win));
        for (g, p) in scn.segments.iter().zip(&shared.segments) {
            out.push((
                at(&format!("segment[{}].p_win", g.name)),
                odds_adjusted(d.p_win, p.win_odds_ratio),
            ));
        }
    }
    out
}

/// The segment a uniform `u` picks by the cumulative `mix` (the last
/// segment with a positive share when rounding leaves `u` past the sum).
fn pick_segment(mix: &[f64], u: f64) -> u32 {
    let mut acc = 0.0;
    let mut last = 0;
    for (g, &share) in mix.iter().enumerate() {
        if share > 0.0 {
            acc += share;
            last = g as u32;
            if u < acc {
                return g as u32;
            }
        }
    }
    last
}

/// The deal laws of channel `ch` per segment (one without segments).
fn laws<'a>(scn: &'a Scenario, shared: &SharedParams, ch: &'a Channel, p_win: f64) -> Vec<Law<'a>> {
    let lost = ch.lost_cycle_days.as_ref().map(|p| &p.dist);
    if scn.segments.is_empty() {
        return vec![Law {
            size: &ch.deal_size.dist,
            cycle: &ch.cycle_days.dist,
            lost_cycle: lost.unwrap_or(&ch.cycle_days.dist),
            p: p_win,
        }];
    }
    scn.segments
        .iter()
        .zip(&shared.segments)
        .map(|(g, gp)| {
            let cycle = g
                .cycle_days
                .as_ref()
                .map_or(&ch.cycle_days.dist, |p| &p.dist);
            Law {
                size: g.deal_size.as_ref().map_or(&ch.deal_size.dist, |p| &p.dist),
                cycle,
                lost_cycle: g
                    .lost_cycle_days
                    .as_ref()
                    .map(|p| &p.dist)
                    .or(lost)
                    .unwrap_or(cycle),
                p: odds_adjusted(p_win, gp.win_odds_ratio),
            }
        })
        .collect()
}

/// `prefix` and `n` with at least six digits (`L000042`).
fn numbered(prefix: char, n: u64) -> String {
    let mut digits = [b'0'; 20];
    let mut i = digits.len();
    let mut x = n;
    while x > 0 {
        i -= 1;
        digits[i] = b'0' + (x % 10) as u8;
        x /= 10;
    }
    let from = i.min(digits.len() - 6);
    let mut s = String::with_capacity(1 + digits.len() - from);
    s.push(prefix);
    s.extend(digits[from..].iter().map(|&b| char::from(b)));
    s
}

/// Generate the export of one trial of one strategy (see the module docs).
pub fn synth(scn: &Scenario, spec: &SynthSpec) -> Result<Export, Error> {
    let s = strategy_index(scn, spec.strategy.as_deref())?;
    let strategy = scn
        .strategies
        .get(s)
        .ok_or_else(|| Error::invalid("strategy", "the scenario has no strategy"))?;
    let (months, as_of) = calendar(scn)?;
    let seed = spec.seed.unwrap_or(scn.seed);
    let trial = spec.trial;

    // the trial's parameters, exactly as the engine draws them
    let mut uniforms = Vec::new();
    params::draw_uniforms(scn, seed, trial, &mut uniforms);
    let draws = TrialDraws::new(seed, trial, &uniforms);
    let shared = params::draw_shared(scn, &draws);
    let mut sp = StrategyParams::default();
    params::draw_strategy(scn, strategy, &shared, &draws, &mut sp);

    let labels = channel_labels(strategy.channels.iter().map(|c| c.name.as_str()));
    let truth = truth(scn, &labels, &shared, &sp);

    // counts first (one generator per channel), checked against the limit
    let base = splitmix64(draws.base ^ synth_key());
    let h = months.len();
    let mut rngs = Vec::with_capacity(strategy.channels.len());
    let mut counts = Vec::with_capacity(strategy.channels.len() * h);
    let mut total: u64 = 0;
    for (ch, d) in strategy.channels.iter().zip(&sp.channels) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(splitmix64(base ^ ch.counts_key));
        for t in 0..h {
            let lambda = d.base_lambda * scn.seasonality[t % 12];
            let n = d.leads.sample(lambda, &mut rng);
            total = total.saturating_add(n);
            counts.push(n);
        }
        rngs.push(rng);
    }
    if total > MAX_LEADS {
        return Err(Error::TooMuchWork {
            estimate: format!(
                "trial {trial} of strategy {:?} makes {total} leads, more than the {MAX_LEADS} an export holds",
                strategy.name
            ),
            how: "lower the channels' volume or the horizon",
        });
    }

    // then each channel's leads and deals, month by month
    let segmented = !scn.segments.is_empty();
    let mut raw: Vec<Vec<RawLead>> = Vec::with_capacity(strategy.channels.len());
    let mut opp_counts = vec![0u64; counts.len()];
    let mut hist = [0u64; 31];
    for (c, ((ch, d), rng)) in strategy
        .channels
        .iter()
        .zip(&sp.channels)
        .zip(rngs.iter_mut())
        .enumerate()
    {
        let laws = laws(scn, &shared, ch, d.p_win);
        let to_pipeline = d.to_pipeline.prob();
        let n_channel: u64 = counts[c * h..(c + 1) * h].iter().sum();
        let mut leads = Vec::with_capacity(usize::try_from(n_channel).unwrap_or(0));
        for (t, &(start, days)) in months.iter().enumerate() {
            // the month's creation days, then its leads in day order (the
            // leads' draws do not depend on their day)
            let days = days.clamp(1, 31) as usize;
            hist.fill(0);
            for _ in 0..counts[c * h + t] {
                hist[rng.random_range(0..days)] += 1;
            }
            let mut opps = 0;
            for (k, &n) in hist[..days].iter().enumerate() {
                let day = start.days() + k as i32;
                for _ in 0..n {
                    let mut lead = RawLead {
                        day,
                        segment: 0,
                        opp: false,
                        won: false,
                        cycle: 0,
                        size: 0.0,
                    };
                    if uniform(rng) < d.to_handoff && uniform(rng) < to_pipeline {
                        if segmented {
                            lead.segment = pick_segment(&ch.segment_mix, uniform(rng));
                        }
                        if let Some(law) = laws.get(lead.segment as usize) {
                            lead.opp = true;
                            lead.size = law.size.sample(rng);
                            lead.won = uniform(rng) < law.p;
                            let cycle = if lead.won { law.cycle } else { law.lost_cycle };
                            // `as` saturates (and maps NaN to 0)
                            lead.cycle = cycle.sample(rng).round().max(0.0) as i32;
                            opps += 1;
                        }
                    }
                    leads.push(lead);
                }
            }
            opp_counts[c * h + t] = opps;
        }
        raw.push(leads);
    }

    // numbering month by month, channel by channel; rows by day, then
    // number: within a day, channel by channel (each channel-month is in
    // day order already)
    let names: Vec<&str> = strategy.channels.iter().map(|c| c.name.as_str()).collect();
    let segment = |g: usize| scn.segments.get(g).map(|s| s.name.clone());
    let n_opps: u64 = opp_counts.iter().sum();
    let mut leads = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    let mut opps = Vec::with_capacity(usize::try_from(n_opps).unwrap_or(0));
    let nc = raw.len();
    let mut cursor = vec![0usize; nc];
    let (mut lead_base, mut opp_base) = (0u64, 0u64);
    let (mut lead_next, mut opp_next) = (vec![0u64; nc], vec![0u64; nc]);
    for (t, &(start, days)) in months.iter().enumerate() {
        let mut end = vec![0usize; nc];
        for c in 0..nc {
            lead_next[c] = lead_base + 1;
            opp_next[c] = opp_base + 1;
            let n = counts[c * h + t];
            lead_base += n;
            opp_base += opp_counts[c * h + t];
            end[c] = cursor[c] + usize::try_from(n).unwrap_or(0);
        }
        for k in 0..days as i32 {
            let day = start.days() + k;
            for c in 0..nc {
                while cursor[c] < end[c] {
                    let Some(l) = raw[c].get(cursor[c]).filter(|l| l.day == day) else {
                        break;
                    };
                    cursor[c] += 1;
                    let id = numbered('L', lead_next[c]);
                    lead_next[c] += 1;
                    let created = Date::from_days(day);
                    let seg = if l.opp {
                        segment(l.segment as usize)
                    } else {
                        None
                    };
                    if l.opp {
                        let close = created.plus_days(l.cycle);
                        let (closed, outcome) = if close > as_of {
                            (None, Outcome::Open)
                        } else if l.won {
                            (Some(close), Outcome::Won)
                        } else {
                            (Some(close), Outcome::Lost)
                        };
                        let cents = (l.size * 100.0).round() / 100.0;
                        opps.push(Opportunity {
                            id: numbered('O', opp_next[c]),
                            line: opps.len() + 2,
                            created,
                            closed,
                            outcome,
                            amount: cents.is_finite().then_some(cents),
                            channel: Some(names[c].to_string()),
                            segment: seg.clone(),
                            lead: Some(id.clone()),
                        });
                        opp_next[c] += 1;
                    }
                    leads.push(Lead {
                        id,
                        line: leads.len() + 2,
                        created,
                        channel: Some(names[c].to_string()),
                        segment: seg,
                        converted: None,
                    });
                }
            }
        }
        // every lead of the month is on a day of it; stay aligned whatever
        cursor.clone_from(&end);
    }
    Ok(Export {
        leads,
        opportunities: opps,
        as_of,
        strategy: strategy.name.clone(),
        truth,
    })
}

/// Writes `dir/leads.csv` and `dir/opportunities.csv` (see
/// [`LEADS_HEADER`], [`OPPORTUNITIES_HEADER`]): `dir` is created if
/// missing; both files are written to temporary files in `dir` and only
/// then renamed to their names, so no half-written file and no mix of an
/// old and a new file is left. An existing file of either name is an
/// [`std::io::ErrorKind::AlreadyExists`] error (nothing written) unless
/// `replace`. Returns their paths (leads first).
pub fn write_export(export: &Export, dir: &Path, replace: bool) -> std::io::Result<Vec<PathBuf>> {
    if !replace {
        for name in [LEADS_FILE, OPPORTUNITIES_FILE] {
            let path = dir.join(name);
            if path.symlink_metadata().is_ok() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    format!("{} exists", path.display()),
                ));
            }
        }
    }
    std::fs::create_dir_all(dir)?;
    let leads = stage(dir, LEADS_FILE, |w| {
        w.write_record(LEADS_HEADER)?;
        let mut date = String::new();
        for l in &export.leads {
            iso(l.created, &mut date);
            w.write_record([
                l.id.as_str(),
                date.as_str(),
                l.channel.as_deref().unwrap_or(""),
                l.segment.as_deref().unwrap_or(""),
            ])?;
        }
        Ok(())
    })?;
    let opps = stage(dir, OPPORTUNITIES_FILE, |w| {
        w.write_record(OPPORTUNITIES_HEADER)?;
        let (mut created, mut closed, mut amount) = (String::new(), String::new(), String::new());
        for o in &export.opportunities {
            amount.clear();
            iso(o.created, &mut created);
            match o.closed {
                Some(c) => iso(c, &mut closed),
                None => closed.clear(),
            }
            if let Some(a) = o.amount {
                let _ = write!(amount, "{a:.2}");
            }
            let stage = match o.outcome {
                Outcome::Won => "Won",
                Outcome::Lost => "Lost",
                Outcome::Open => "Open",
            };
            w.write_record([
                o.id.as_str(),
                created.as_str(),
                closed.as_str(),
                stage,
                amount.as_str(),
                o.channel.as_deref().unwrap_or(""),
                o.segment.as_deref().unwrap_or(""),
                o.lead.as_deref().unwrap_or(""),
            ])?;
        }
        Ok(())
    })?;
    let paths = vec![dir.join(LEADS_FILE), dir.join(OPPORTUNITIES_FILE)];
    leads.persist(&paths[0]).map_err(|e| e.error)?;
    opps.persist(&paths[1]).map_err(|e| e.error)?;
    Ok(paths)
}

/// `date` as `YYYY-MM-DD` into `out` (replacing its text).
fn iso(date: Date, out: &mut String) {
    out.clear();
    let (y, m, d) = date.ymd();
    if !(0..=9999).contains(&y) {
        let _ = write!(out, "{date}");
        return;
    }
    let digits = |out: &mut String, x: u32, width: u32| {
        for k in (0..width).rev() {
            out.push(char::from(b'0' + (x / 10u32.pow(k) % 10) as u8));
        }
    };
    digits(out, y as u32, 4);
    out.push('-');
    digits(out, m, 2);
    out.push('-');
    digits(out, d, 2);
}

/// Write `dir/name` through a temporary file in `dir` renamed over it.
fn stage(
    dir: &Path,
    name: &str,
    body: impl FnOnce(&mut csv::Writer<&mut std::fs::File>) -> csv::Result<()>,
) -> std::io::Result<tempfile::NamedTempFile> {
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)?;
    {
        let mut w = csv::WriterBuilder::new()
            .buffer_capacity(1 << 16)
            .from_writer(tmp.as_file_mut());
        body(&mut w)?;
        w.flush()?;
    }
    tmp.as_file().sync_all()?;
    Ok(tmp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// One channel of 400 leads a month, a quarter of them opportunities,
    /// 30% won; won deals take 60 days, lost ones 20.
    const BASIC: &str = r#"
horizon_months = 12
start = "2024-03"
seed = 11
[funnel]
stages = ["lead", "opportunity", "won"]
handoff = "lead"
pipeline = "opportunity"
[strategy.s]
deal_size = "lognormal(median=10000, p90=30000)"
cycle_days = 60
lost_cycle_days = 20
[[strategy.s.channel]]
name = "paid_search"
leads_per_month = 400
cost_per_lead = 10
conversion = { opportunity = 0.25, won = 0.3 }
[strategy.other]
deal_size = 5000
cycle_days = 30
[[strategy.other.channel]]
name = "events"
leads_per_month = "300 to 500"
volume_dispersion = 5
cost_per_lead = 10
conversion = { opportunity = "0.2 to 0.3", won = 0.5 }
"#;

    /// Three segments (mix 0.5/0.3/0.2, odds ratios 1, 2 and 0.5; c's deals
    /// are worth 1), a fixed 45-day cycle for every outcome.
    const SEGMENTED: &str = r#"
horizon_months = 6
[funnel]
stages = ["lead", "mql", "sql", "won"]
handoff = "mql"
pipeline = "sql"
[[segment]]
name = "a"
[[segment]]
name = "b"
win_odds_ratio = 2
[[segment]]
name = "c"
win_odds_ratio = 0.5
deal_size = 1
[strategy.s]
deal_size = 1000
cycle_days = 45
segment_mix = { a = 0.5, b = 0.3, c = 0.2 }
[[strategy.s.channel]]
name = "inbound"
leads_per_month = 2000
cost_per_lead = 1
conversion = { mql = 0.5, sql = 0.4, won = 0.4 }
"#;

    fn load(text: &str) -> Scenario {
        Scenario::from_toml_str(text, Path::new("t.toml")).expect("a valid test scenario")
    }

    fn spec(strategy: Option<&str>, trial: u64) -> SynthSpec {
        SynthSpec {
            strategy: strategy.map(str::to_string),
            trial,
            seed: None,
        }
    }

    fn within(x: f64, mean: f64, se: f64, what: &str) {
        assert!(
            (x - mean).abs() <= 4.0 * se,
            "{what}: {x} against {mean} ± 4·{se}"
        );
    }

    /// Guards determinism: the same scenario and spec give the same export;
    /// another trial or seed gives another.
    #[test]
    fn same_spec_same_export_other_trial_differs() {
        let scn = load(BASIC);
        let a = synth(&scn, &spec(None, 0)).unwrap();
        let b = synth(&scn, &spec(None, 0)).unwrap();
        assert_eq!(a, b);
        let c = synth(&scn, &spec(None, 1)).unwrap();
        assert_ne!(a.leads, c.leads);
        let d = synth(
            &scn,
            &SynthSpec {
                seed: Some(12),
                ..spec(None, 0)
            },
        )
        .unwrap();
        assert_ne!(a.opportunities, d.opportunities);
        // a distribution's draw moves with the trial, a fixed value not
        let (e0, e1) = (
            synth(&scn, &spec(Some("other"), 0)).unwrap(),
            synth(&scn, &spec(Some("other"), 1)).unwrap(),
        );
        let v = |e: &Export| e.truth("channel[events].leads_per_month");
        assert_ne!(v(&e0), v(&e1));
        assert_eq!(a.truth("channel[paid_search].leads_per_month"), Some(400.0));
    }

    /// Guards the strategy choice: baseline by default, the warm-up
    /// strategy when there is one, and an unknown name lists the valid ones.
    #[test]
    fn strategy_default_and_unknown_name() {
        let scn = load(BASIC);
        assert_eq!(synth(&scn, &spec(None, 0)).unwrap().strategy, "s");
        let warm = load(&format!(
            "{}\n[warmup]\nmonths = 3\nstrategy = \"other\"\n",
            BASIC
        ));
        assert_eq!(synth(&warm, &spec(None, 0)).unwrap().strategy, "other");
        let err = synth(&scn, &spec(Some("nope"), 0)).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("\"nope\""), "{msg}");
        assert!(msg.contains("\"s\", \"other\""), "{msg}");
        assert!(err.is_input());
    }

    /// Guards the truth list: the fixed values as written, the dispersion
    /// and the products of the conversions.
    #[test]
    fn truth_lists_the_trial_parameters() {
        let scn = load(BASIC);
        let e = synth(&scn, &spec(None, 0)).unwrap();
        assert_eq!(e.truth("market.demand"), Some(1.0));
        assert_eq!(e.truth("channel[paid_search].base_lambda"), Some(400.0));
        assert_eq!(e.truth("channel[paid_search].to_handoff"), Some(1.0));
        assert_eq!(e.truth("channel[paid_search].to_pipeline"), Some(0.25));
        assert_eq!(
            e.truth("channel[paid_search].lead_to_opportunity"),
            Some(0.25)
        );
        assert_eq!(e.truth("channel[paid_search].p_win"), Some(0.3));
        assert_eq!(e.truth("channel[paid_search].volume_dispersion"), None);
        let o = synth(&scn, &spec(Some("other"), 3)).unwrap();
        let k = o.truth("channel[events].volume_dispersion").unwrap();
        assert!((k - 5.0).abs() < 1e-12, "{k}");
        let v = o.truth("channel[events].leads_per_month").unwrap();
        assert!((100.0..1000.0).contains(&v), "{v}");
        assert_eq!(o.truth("channel[events].base_lambda"), Some(v));
    }

    /// Guards the counts and laws: leads ≈ H·λ (Poisson), opportunities a
    /// binomial share of them, the win rate of the cohorts that have all
    /// closed, and the deal size's median.
    #[test]
    fn counts_win_rate_and_deal_size_follow_the_model() {
        let scn = load(BASIC);
        let e = synth(&scn, &spec(None, 0)).unwrap();
        assert_eq!(e.as_of, Date::from_ymd(2025, 2, 28).unwrap());
        let n = e.leads.len() as f64;
        within(n, 12.0 * 400.0, (12.0f64 * 400.0).sqrt(), "leads");
        let k = e.opportunities.len() as f64;
        within(k / n, 0.25, (0.25 * 0.75 / n).sqrt(), "lead → opportunity");
        // every lead is in the horizon, its channel set
        let first = Date::from_ymd(2024, 3, 1).unwrap();
        assert!(
            e.leads
                .iter()
                .all(|l| l.created >= first && l.created <= e.as_of)
        );
        assert!(
            e.leads
                .iter()
                .all(|l| l.channel.as_deref() == Some("paid_search"))
        );
        // deals created ≥ 60 days before as_of have all closed
        let early: Vec<_> = e
            .opportunities
            .iter()
            .filter(|o| o.created.plus_days(60) <= e.as_of)
            .collect();
        assert!(early.iter().all(|o| o.outcome != Outcome::Open));
        let m = early.len() as f64;
        let won = early.iter().filter(|o| o.outcome == Outcome::Won).count() as f64;
        within(won / m, 0.3, (0.3 * 0.7 / m).sqrt(), "win rate");
        for o in &e.opportunities {
            let days = o.closed.map(|c| o.created.days_until(c));
            match o.outcome {
                Outcome::Won => assert_eq!(days, Some(60)),
                Outcome::Lost => assert_eq!(days, Some(20)),
                Outcome::Open => {
                    assert_eq!(days, None);
                    assert!(o.created.plus_days(60) > e.as_of);
                }
            }
            // no cycle is shorter than 20 days: open until then
            if o.created.plus_days(20) > e.as_of {
                assert_eq!(o.outcome, Outcome::Open);
            }
        }
        // the median of a lognormal(median 10000, p90 30000)
        let sigma = 3f64.ln() / 1.281_551_565_545;
        let mut sizes: Vec<f64> = e.opportunities.iter().filter_map(|o| o.amount).collect();
        assert_eq!(sizes.len(), e.opportunities.len());
        sizes.sort_by(f64::total_cmp);
        let median = sizes[sizes.len() / 2];
        let se = 1.2533 * sigma / (sizes.len() as f64).sqrt();
        within(median.ln(), 10000f64.ln(), se, "log median deal size");
        // amounts are in cents
        assert!(
            sizes
                .iter()
                .all(|a| ((a * 100.0).round() - a * 100.0).abs() < 1e-6)
        );
    }

    /// Guards ids and order: unique ids, rows sorted by created date then
    /// number, each opportunity joined to a lead of the same date, channel
    /// and segment, lines numbered as in the file.
    #[test]
    fn ids_order_and_join() {
        let scn = load(SEGMENTED);
        let e = synth(&scn, &spec(None, 2)).unwrap();
        let num = |id: &str| id[1..].parse::<u64>().unwrap();
        for w in e.leads.windows(2) {
            assert!((w[0].created, num(&w[0].id)) < (w[1].created, num(&w[1].id)));
        }
        for w in e.opportunities.windows(2) {
            assert!((w[0].created, num(&w[0].id)) < (w[1].created, num(&w[1].id)));
        }
        assert_eq!(e.leads[0].line, 2);
        assert_eq!(
            e.opportunities.last().unwrap().line,
            e.opportunities.len() + 1
        );
        let by_id: std::collections::HashMap<&str, &Lead> =
            e.leads.iter().map(|l| (l.id.as_str(), l)).collect();
        assert_eq!(by_id.len(), e.leads.len());
        let mut joined = std::collections::HashSet::new();
        for o in &e.opportunities {
            let l = by_id[o.lead.as_deref().unwrap()];
            assert!(joined.insert(&l.id), "one opportunity per lead");
            assert_eq!(
                (l.created, &l.channel, &l.segment),
                (o.created, &o.channel, &o.segment)
            );
            assert!(o.segment.is_some());
        }
        let unsegmented = e.leads.iter().filter(|l| l.segment.is_none()).count();
        assert_eq!(unsegmented, e.leads.len() - e.opportunities.len());
    }

    /// Guards segments: shares follow the mix, the odds ratio moves the
    /// win rate, a segment's deal size replaces the strategy's, and a deal
    /// is open exactly when created + cycle is after as_of.
    #[test]
    fn segments_shares_odds_and_open_deals() {
        let scn = load(SEGMENTED);
        let e = synth(&scn, &spec(None, 0)).unwrap();
        assert_eq!(e.truth("segment[b].win_odds_ratio"), Some(2.0));
        let pb = 0.4 * 2.0 / (1.0 - 0.4 + 0.4 * 2.0);
        let got = e.truth("channel[inbound].segment[b].p_win").unwrap();
        assert!((got - pb).abs() < 1e-15);
        let n = e.opportunities.len() as f64;
        within(
            n,
            6.0 * 2000.0 * 0.2,
            (6.0f64 * 2000.0 * 0.2).sqrt() * 1.1,
            "opportunities",
        );
        for (g, share) in [("a", 0.5), ("b", 0.3), ("c", 0.2)] {
            let k = e
                .opportunities
                .iter()
                .filter(|o| o.segment.as_deref() == Some(g))
                .count() as f64;
            within(k / n, share, (share * (1.0 - share) / n).sqrt(), g);
        }
        let closed_b: Vec<_> = e
            .opportunities
            .iter()
            .filter(|o| o.segment.as_deref() == Some("b") && o.outcome != Outcome::Open)
            .collect();
        let m = closed_b.len() as f64;
        let won = closed_b
            .iter()
            .filter(|o| o.outcome == Outcome::Won)
            .count() as f64;
        within(
            won / m,
            pb,
            (pb * (1.0 - pb) / m).sqrt(),
            "segment b win rate",
        );
        for o in &e.opportunities {
            let expect = if o.segment.as_deref() == Some("c") {
                1.0
            } else {
                1000.0
            };
            assert_eq!(o.amount, Some(expect));
            let open = o.created.plus_days(45) > e.as_of;
            assert_eq!(o.outcome == Outcome::Open, open, "{o:?}");
            if !open {
                assert_eq!(o.closed, Some(o.created.plus_days(45)));
            }
        }
        assert!(e.opportunities.iter().any(|o| o.outcome == Outcome::Open));
    }

    /// Guards the files: the headers, one row per record, the values as
    /// written, no temporary file left, a second write is refused, and
    /// one that may replace them does.
    #[test]
    fn write_export_round_trip() {
        let scn = load(SEGMENTED);
        let e = synth(&scn, &spec(None, 0)).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        let paths = write_export(&e, &dir, false).unwrap();
        assert_eq!(paths, [dir.join(LEADS_FILE), dir.join(OPPORTUNITIES_FILE)]);
        let again = write_export(&e, &dir, false).unwrap_err();
        assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
        write_export(&e, &dir, true).unwrap();
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|f| f.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, [LEADS_FILE, OPPORTUNITIES_FILE]);
        let read = |p: &Path| {
            let mut r = csv::Reader::from_path(p).unwrap();
            let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
            let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
            (header, rows)
        };
        let (h, rows) = read(&paths[0]);
        assert_eq!(h, LEADS_HEADER);
        assert_eq!(rows.len(), e.leads.len());
        let l = &e.leads[0];
        assert_eq!(&rows[0][0], l.id);
        assert_eq!(&rows[0][1], l.created.to_string());
        let (h, rows) = read(&paths[1]);
        assert_eq!(h, OPPORTUNITIES_HEADER);
        assert_eq!(rows.len(), e.opportunities.len());
        for (row, o) in rows.iter().zip(&e.opportunities) {
            assert_eq!(&row[0], o.id);
            assert_eq!(row[2].is_empty(), o.closed.is_none());
            let stage = &row[3];
            assert!(["Won", "Lost", "Open"].contains(&stage));
            assert_eq!(row[4].parse::<f64>().ok(), o.amount);
            assert_eq!(Some(&row[7]), o.lead.as_deref());
        }
        assert!(rows.iter().any(|r| &r[4] == "1000.00"));
    }

    /// Guards the id and date formats: six digits at least, more past
    /// 999 999; ISO dates as `Display` writes them.
    #[test]
    fn ids_and_dates_format() {
        assert_eq!(numbered('L', 1), "L000001");
        assert_eq!(numbered('O', 999_999), "O999999");
        assert_eq!(numbered('L', 1_234_567), "L1234567");
        let mut out = String::from("stale");
        for d in [(2024, 2, 29), (1, 1, 1), (9999, 12, 31)] {
            let date = Date::from_ymd(d.0, d.1, d.2).unwrap();
            iso(date, &mut out);
            assert_eq!(out, date.to_string());
        }
    }

    /// Guards the size limit: an absurd volume is an error, not an
    /// exhausted memory; and a horizon past the year 9999 is an error.
    #[test]
    fn too_many_leads_and_dates_past_9999_are_errors() {
        let scn = load(
            &BASIC
                .replace("leads_per_month = 400", "leads_per_month = 1e8")
                .replace("\"lognormal(median=10000, p90=30000)\"", "1"),
        );
        let err = synth(&scn, &spec(None, 0)).unwrap_err();
        assert!(matches!(err, Error::TooMuchWork { .. }), "{err}");
        let scn = load(&BASIC.replace("2024-03", "9999-06"));
        let err = synth(&scn, &spec(None, 0)).unwrap_err();
        assert!(err.to_string().contains("9999"), "{err}");
    }
}
