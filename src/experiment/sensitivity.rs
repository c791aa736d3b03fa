//! Sensitivity and the value of information (`pipesim sensitivity`):
//! which uncertain inputs drive a strategy's measure and, most of all,
//! the decision between strategies.
//!
//! One run keeps, per trial, every uncertain per-trial parameter's draw
//! ([`crate::params::uncertain`], read back from the same sub-streams the
//! model used, [`crate::params::value`]) and every strategy's measure.
//! Per *target* — each strategy's measure, and each challenger's paired
//! difference against the baseline — and per parameter it reports:
//!
//! - Spearman's rank correlation;
//! - the share of the target's variance the parameter explains alone
//!   (the first-order index `Var(E[Y|θ]) / Var(Y)`, the adjusted R² of a
//!   restricted cubic spline regression, [`crate::stats::sensitivity`]);
//! - the target's mean when the parameter is in its lowest and in its
//!   highest decile (the tornado bar);
//! - for the parameters with the widest bars, a one-at-a-time swing:
//!   the scenario re-run with the parameter fixed at its P10 and at its
//!   P90 (everything else random, the same seed: common random numbers).
//!
//! The decision is the strategy with the best mean measure (in its
//! direction). EVPI — what knowing every input before deciding is worth —
//! is computed from the paired trials; EVPPI per parameter by Strong and
//! Oakley's regression method. Both are in the measure's units.

use rayon::prelude::*;

use crate::engine::{self, Block};
use crate::metrics::Metric;
use crate::params::{self, TrialDraws};
use crate::scenario::Scenario;
use crate::scenario::overrides;
use crate::stats::sensitivity as est;

use super::{Error, Measure, Progress, RunSpec};

/// Most bytes the per-trial values of a sensitivity run may take.
pub const MAX_BYTES: u64 = 4 << 30;

/// What to analyse.
#[derive(Debug, Clone)]
pub struct SensitivitySpec {
    pub run: RunSpec,
    /// The measure (a metric or a quarterly metric, [`Measure::parse`]).
    pub measure: String,
    /// Swing the parameters with the widest tornado bars, this many.
    pub swing_top: usize,
    /// Trials of each swing run (default: `min(trials, 2000)`).
    pub swing_trials: Option<u64>,
    /// Keep every metric of every strategy per trial (for `trials.csv`).
    pub keep_metrics: bool,
}

impl SensitivitySpec {
    pub fn new(run: RunSpec, measure: impl Into<String>) -> SensitivitySpec {
        SensitivitySpec {
            run,
            measure: measure.into(),
            swing_top: 8,
            swing_trials: None,
            keep_metrics: false,
        }
    }
}

/// One uncertain input.
#[derive(Debug, Clone)]
pub struct Input {
    /// Its owner path (`strategy.quality.channel[0].conversion.sql`, or a
    /// shared channel's `channel.NAME.field`).
    pub path: String,
    /// The distribution as written (after changes).
    pub written: String,
    /// The distribution's P10 and P90 (where the swing fixes it).
    pub p10: f64,
    pub p90: f64,
    /// The distribution's P5 and P95 (a report's assumptions).
    pub p5: f64,
    pub p95: f64,
    /// The strategies that use it (by index), empty when it is
    /// scenario-wide (market, revenue, `[sales]`, segments).
    pub used_by: Vec<usize>,
}

/// One parameter's effect on one target.
#[derive(Debug, Clone, PartialEq)]
pub struct Effect {
    /// Index into [`Sensitivity::inputs`].
    pub input: usize,
    pub spearman: f64,
    /// Share of the target's variance explained by the input alone,
    /// clipped at 0.
    pub share: f64,
    /// The target's mean over the trials with the input in its lowest and
    /// in its highest decile.
    pub low_decile: f64,
    pub high_decile: f64,
    /// The target's mean with the input fixed at its P10 and at its P90
    /// (swing runs of [`Sensitivity::swing_trials`] trials), when swung.
    pub swing: Option<(f64, f64)>,
}

impl Effect {
    /// The tornado bar's width: |high decile − low decile|.
    pub fn width(&self) -> f64 {
        (self.high_decile - self.low_decile).abs()
    }
}

/// What a target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// A strategy's measure.
    Strategy(usize),
    /// A challenger's paired difference against the baseline (strategy −
    /// baseline, trial by trial).
    Difference { strategy: usize, baseline: usize },
}

/// The effects of every input on one target.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: TargetKind,
    pub mean: f64,
    pub sd: f64,
    /// Its mean over the first [`Sensitivity::swing_trials`] trials (what
    /// the swings compare with, on the same random numbers).
    pub swing_base: f64,
    /// In input order.
    pub effects: Vec<Effect>,
}

impl Target {
    /// The effects, widest tornado bar first (ties: input order).
    pub fn ranked(&self) -> Vec<&Effect> {
        let mut v: Vec<&Effect> = self.effects.iter().collect();
        v.sort_by(|a, b| b.width().total_cmp(&a.width()));
        v
    }

    /// Sum of the inputs' variance shares (the rest is per-month and
    /// per-deal chance, and interactions).
    pub fn explained(&self) -> f64 {
        self.effects.iter().map(|e| e.share).sum()
    }
}

/// The value of information about the decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// The strategy chosen on the means (best mean in the measure's
    /// direction).
    pub chosen: usize,
    /// EVPI and its standard error.
    pub evpi: f64,
    pub evpi_se: f64,
    /// EVPPI per input, in input order.
    pub evppi: Vec<f64>,
}

/// The per-trial values kept.
#[derive(Debug, Clone, Default)]
pub struct PerTrial {
    /// `inputs[j][i]`: input `j`'s draw in trial `i`.
    pub inputs: Vec<Vec<f64>>,
    /// `measure[s][i]`: strategy `s`'s measure in trial `i`.
    pub measure: Vec<Vec<f64>>,
    /// `metrics[s][i]`: every metric (when kept).
    pub metrics: Vec<Vec<[f64; Metric::COUNT]>>,
}

/// A sensitivity analysis' result.
#[derive(Debug, Clone)]
pub struct Sensitivity {
    /// The scenario as run (seed, trials).
    pub scenario: Scenario,
    pub measure: Measure,
    pub inputs: Vec<Input>,
    /// Each strategy's measure, then each challenger's difference.
    pub targets: Vec<Target>,
    /// `None` with a single strategy.
    pub value: Option<Value>,
    pub swing_trials: u64,
    pub per_trial: PerTrial,
}

impl Sensitivity {
    /// The decision's target: the difference of the chosen strategy (or
    /// of the best challenger) against the baseline; a single strategy's
    /// own measure.
    pub fn decision_target(&self) -> &Target {
        let base = self.scenario.baseline;
        let chosen = self.value.as_ref().map_or(base, |v| v.chosen);
        &self.targets[decision_index(&self.targets, chosen, base)]
    }
}

/// Index in `targets` of the decision's target: the chosen strategy's
/// difference against the baseline or, the baseline chosen, the best
/// challenger's by mean difference (the last of equals); a single
/// strategy's own target.
fn decision_index(targets: &[Target], chosen: usize, base: usize) -> usize {
    let difference = |s: usize| TargetKind::Difference {
        strategy: s,
        baseline: base,
    };
    targets
        .iter()
        .position(|t| t.kind == difference(chosen))
        .or_else(|| {
            targets
                .iter()
                .enumerate()
                .filter(|(_, t)| matches!(t.kind, TargetKind::Difference { .. }))
                .max_by(|a, b| a.1.mean.total_cmp(&b.1.mean))
                .map(|(i, _)| i)
        })
        .unwrap_or(0)
}

/// The per-trial values of target `kind`: a strategy's measure, or the
/// paired difference of two strategies'.
fn target_series(kind: TargetKind, values: &[Vec<f64>]) -> Vec<f64> {
    match kind {
        TargetKind::Strategy(s) => values[s].clone(),
        TargetKind::Difference { strategy, baseline } => values[strategy]
            .iter()
            .zip(&values[baseline])
            .map(|(a, b)| a - b)
            .collect(),
    }
}

/// Run the analysis (module docs).
pub fn sensitivity(spec: &SensitivitySpec, progress: &dyn Progress) -> Result<Sensitivity, Error> {
    spec.run.check()?;
    let scn = spec.run.resolved();
    let measure = Measure::parse(&spec.measure, &scn)
        .map_err(|e| Error::invalid(format!("--metric {}", spec.measure), e.to_string()))?;
    let inputs = inputs_of(&scn);
    if inputs.is_empty() {
        return Err(Error::invalid(
            scn.file.display().to_string(),
            "the scenario has no uncertain per-trial parameter (every rate, level and cost is a fixed number); write one as a distribution, e.g. \"0.2 to 0.3\"",
        ));
    }
    let n = spec.run.trials;
    let ns = scn.strategies.len();
    let per_trial =
        (inputs.len() + ns * (1 + usize::from(spec.keep_metrics) * Metric::COUNT)) as u64 * 8;
    if per_trial.saturating_mul(n) > MAX_BYTES {
        return Err(Error::invalid(
            format!("--trials {n}"),
            format!(
                "a sensitivity analysis keeps every trial's {} inputs and measures in memory: {:.1} GiB at {n} trials, more than the {} GiB allowed; use fewer trials (20,000 is usually plenty)",
                inputs.len(),
                (per_trial * n) as f64 / (1u64 << 30) as f64,
                MAX_BYTES >> 30
            ),
        ));
    }
    let swing_trials = spec.swing_trials.unwrap_or(n.min(2000)).clamp(2, n);
    let pool = engine::thread_pool(spec.run.threads)?;
    pool.install(|| analyse(spec, &scn, measure, inputs, swing_trials, progress))
}

/// Every uncertain per-trial input of `scn` ([`params::uncertain`]), with
/// its distribution as written, its quantiles and the strategies using it.
pub fn inputs_of(scn: &Scenario) -> Vec<Input> {
    describe(scn, params::uncertain(scn))
}

/// Every parameter of `scn` given as a distribution, once per owner path:
/// the per-trial inputs of [`inputs_of`], then those drawn per deal or
/// per nurtured member (deal size, cycle, delay), which a sensitivity
/// analysis cannot attribute (a report lists them among its assumptions).
pub fn distributions_of(scn: &Scenario) -> (Vec<Input>, Vec<Input>) {
    let mut per_deal: Vec<&crate::scenario::Param> = Vec::new();
    for (_, p) in scn.params_by_access() {
        if p.is_per_deal()
            && !matches!(p.dist, crate::dist::Dist::Fixed(_))
            && !per_deal.iter().any(|q| q.path == p.path)
        {
            per_deal.push(p);
        }
    }
    (inputs_of(scn), describe(scn, per_deal))
}

fn describe(scn: &Scenario, params: Vec<&crate::scenario::Param>) -> Vec<Input> {
    let access = scn.params_by_access();
    params
        .into_iter()
        .map(|p| {
            let mut used_by: Vec<usize> = Vec::new();
            for (path, q) in &access {
                if q.path != p.path {
                    continue;
                }
                if let Some(rest) = path.strip_prefix("strategy.") {
                    let name = rest.split(['.', '[']).next().unwrap_or("");
                    if let Some(s) = scn.strategies.iter().position(|st| st.name == name)
                        && !used_by.contains(&s)
                    {
                        used_by.push(s);
                    }
                }
            }
            used_by.sort_unstable();
            Input {
                path: p.path.clone(),
                written: p.written.clone(),
                p10: p.dist.quantile(0.1),
                p90: p.dist.quantile(0.9),
                p5: p.dist.quantile(0.05),
                p95: p.dist.quantile(0.95),
                used_by,
            }
        })
        .collect()
}

/// Per strategy, its measure per trial, and every metric per trial (when kept).
type Simulated = (Vec<Vec<f64>>, Vec<Vec<[f64; Metric::COUNT]>>);

/// The measure of every strategy in every trial of `range` (and every
/// metric when `keep`), simulating `scn`.
fn simulate(
    scn: &Scenario,
    measure: Measure,
    trials: u64,
    keep: bool,
    progress: &dyn Progress,
) -> Result<Simulated, Error> {
    let ns = scn.strategies.len();
    let mut values: Vec<Vec<f64>> = vec![Vec::with_capacity(trials as usize); ns];
    let mut metrics: Vec<Vec<[f64; Metric::COUNT]>> = if keep {
        vec![Vec::with_capacity(trials as usize); ns]
    } else {
        Vec::new()
    };
    let mut bad: Option<(usize, u64)> = None;
    let column = measure.column(scn);
    engine::run_blocks(
        &[scn],
        scn.seed,
        0..trials,
        &|t| progress.advance(t),
        |blocks: &[Block]| -> Result<(), Error> {
            let b = &blocks[0];
            for t in 0..b.len {
                for (s, col) in values.iter_mut().enumerate() {
                    let v = column.value(b, t, s);
                    if !v.is_finite() && bad.is_none() {
                        bad = Some((s, b.start + t as u64));
                    }
                    col.push(v);
                }
                for (s, col) in metrics.iter_mut().enumerate() {
                    col.push(b.metrics[t * ns + s]);
                }
            }
            Ok(())
        },
    )?;
    if let Some((s, t)) = bad {
        return Err(Error::invalid(
            format!("--metric {}", measure.name(scn)),
            format!(
                "undefined in trial {t} of {} (e.g. roi with a cost of 0); choose another measure",
                scn.strategies[s].name
            ),
        ));
    }
    Ok((values, metrics))
}

/// The measure in the direction where more is better.
fn oriented(measure: Measure, v: f64) -> f64 {
    if measure.lower_is_better() { -v } else { v }
}

fn mean_sd(xs: &[f64]) -> (f64, f64) {
    crate::stats::mean_sd(xs)
}

fn analyse(
    spec: &SensitivitySpec,
    scn: &Scenario,
    measure: Measure,
    inputs: Vec<Input>,
    swing_trials: u64,
    progress: &dyn Progress,
) -> Result<Sensitivity, Error> {
    let n = spec.run.trials;
    let ns = scn.strategies.len();
    let base = scn.baseline;
    progress.stage("simulating");
    progress.begin(n);
    let (values, metrics) = simulate(scn, measure, n, spec.keep_metrics, progress)?;
    progress.stage("reading the inputs");
    // every input's draw per trial, from the model's own sub-streams
    let owners: Vec<&crate::scenario::Param> = params::uncertain(scn);
    let by_trial: Vec<Vec<f64>> = (0..n)
        .into_par_iter()
        .map_init(Vec::new, |uniforms, t| {
            params::draw_uniforms(scn, scn.seed, t, uniforms);
            let at = TrialDraws::new(scn.seed, t, uniforms);
            owners.iter().map(|p| params::value(p, &at)).collect()
        })
        .collect();
    let x: Vec<Vec<f64>> = (0..inputs.len())
        .map(|j| by_trial.iter().map(|row| row[j]).collect())
        .collect();
    drop(by_trial);

    // targets: each strategy's measure, each challenger's difference
    let mut kinds: Vec<TargetKind> = (0..ns).map(TargetKind::Strategy).collect();
    kinds.extend(
        (0..ns)
            .filter(|&s| s != base)
            .map(|s| TargetKind::Difference {
                strategy: s,
                baseline: base,
            }),
    );
    progress.stage("estimating");
    let m = swing_trials as usize;
    // per difference target (challenger order), every input's fitted
    // E[difference | input]: its variance share here, its EVPPI below
    let mut fitted: Vec<Vec<Vec<f64>>> = Vec::new();
    let mut targets: Vec<Target> = Vec::with_capacity(kinds.len());
    for &k in &kinds {
        let y = target_series(k, &values);
        let (mean, sd) = mean_sd(&y);
        let (effects, smooths): (Vec<Effect>, Vec<Vec<f64>>) = x
            .par_iter()
            .enumerate()
            .map(|(j, xj)| {
                let (low_decile, high_decile) = est::decile_means(xj, &y);
                let smooth = est::smooth(xj, &y);
                let effect = Effect {
                    input: j,
                    spearman: est::spearman(xj, &y),
                    share: smooth.r2_adjusted.max(0.0),
                    low_decile,
                    high_decile,
                    swing: None,
                };
                (effect, smooth.fitted)
            })
            .unzip();
        if matches!(k, TargetKind::Difference { .. }) {
            fitted.push(smooths);
        }
        targets.push(Target {
            kind: k,
            mean,
            sd,
            swing_base: y[..m].iter().sum::<f64>() / m as f64,
            effects,
        });
    }

    // the value of information, on the oriented measure (negating the
    // measure negates a difference and its fit exactly)
    let value = (ns > 1).then(|| {
        let d: Vec<Vec<f64>> = (0..ns)
            .filter(|&s| s != base)
            .map(|s| {
                values[s]
                    .iter()
                    .zip(&values[base])
                    .map(|(a, b)| oriented(measure, *a) - oriented(measure, *b))
                    .collect()
            })
            .collect();
        let challengers: Vec<usize> = (0..ns).filter(|&s| s != base).collect();
        let refs: Vec<&[f64]> = d.iter().map(Vec::as_slice).collect();
        let evpi = est::evpi(&refs);
        let chosen = evpi.chosen.map_or(base, |i| challengers[i]);
        let evppi = (0..x.len())
            .into_par_iter()
            .map(|j| {
                let oriented_fits: Vec<Vec<f64>> = fitted
                    .iter()
                    .map(|per_input| per_input[j].iter().map(|g| oriented(measure, *g)).collect())
                    .collect();
                let refs: Vec<&[f64]> = oriented_fits.iter().map(Vec::as_slice).collect();
                est::evppi(&refs)
            })
            .collect();
        Value {
            chosen,
            evpi: evpi.value,
            evpi_se: evpi.se,
            evppi,
        }
    });

    // swings of the widest bars on the decision's target
    let decision = decision_index(&targets, value.as_ref().map_or(base, |v| v.chosen), base);
    let mut order: Vec<usize> = (0..inputs.len()).collect();
    order.sort_by(|&a, &b| {
        targets[decision].effects[b]
            .width()
            .total_cmp(&targets[decision].effects[a].width())
    });
    let swung: Vec<usize> = order.into_iter().take(spec.swing_top).collect();
    for (i, &j) in swung.iter().enumerate() {
        let mut runs: Vec<Vec<Vec<f64>>> = Vec::with_capacity(2);
        for (side, q) in [inputs[j].p10, inputs[j].p90].into_iter().enumerate() {
            let mut fixed = scn.clone();
            for p in overrides::params_mut(&mut fixed) {
                if p.path == inputs[j].path {
                    p.dist = crate::dist::Dist::Fixed(q);
                    p.copula = None;
                }
            }
            progress.stage(&format!(
                "swing {}/{}: {} at its {}",
                i + 1,
                swung.len(),
                inputs[j].path,
                if side == 0 { "P10" } else { "P90" }
            ));
            progress.begin(swing_trials);
            let (v, _) = simulate(&fixed, measure, swing_trials, false, progress)?;
            runs.push(v);
        }
        for t in &mut targets {
            let mean_of = |v: &[Vec<f64>]| -> f64 {
                let y = target_series(t.kind, v);
                y.iter().sum::<f64>() / y.len().max(1) as f64
            };
            t.effects[j].swing = Some((mean_of(&runs[0]), mean_of(&runs[1])));
        }
    }
    Ok(Sensitivity {
        scenario: scn.clone(),
        measure,
        inputs,
        targets,
        value,
        swing_trials,
        per_trial: PerTrial {
            inputs: x,
            measure: values,
            metrics,
        },
    })
}
