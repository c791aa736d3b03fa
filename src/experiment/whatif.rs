//! What-if against the plan: the scenario as written and as changed, run on
//! the same seed so every trial sees the same random numbers (common random
//! numbers), compared trial by trial.
//!
//! For each strategy and metric: the plan's mean, the changed mean, the
//! paired change (changed − plan) with its CI, and P(better) — the share of
//! trials where the change strictly improves the metric in its direction
//! (lower for cost and ignored MQLs) — with a Wilson interval. A change that
//! does not touch a strategy leaves its trials bit-identical, so its change
//! is exactly zero: what a board sees is the effect, not Monte Carlo noise.

use crate::accum::{Accumulator, Source};
use crate::analysis::better_and_worse;
use crate::engine;
use crate::metrics::Metric;
use crate::scenario::Scenario;
use crate::stats::{Proportion, Summary, wilson};

use super::{Error, Progress, RunSpec};

/// One strategy and metric of a what-if.
#[derive(Debug, Clone)]
pub struct WhatIfRow {
    pub strategy: usize,
    pub metric: Metric,
    pub plan_mean: f64,
    pub changed_mean: f64,
    /// Paired change per trial: changed − plan.
    pub change: Summary,
    /// P(changed strictly better than plan), in the metric's direction.
    pub p_better: Proportion,
    /// P(changed strictly worse than plan).
    pub p_worse: Proportion,
}

impl WhatIfRow {
    /// Relative change of the mean (NaN when the plan's mean is 0).
    pub fn change_pct(&self) -> f64 {
        if self.plan_mean == 0.0 {
            f64::NAN
        } else {
            self.change.mean / self.plan_mean.abs()
        }
    }
}

/// The comparison of one challenger with the baseline on one metric, in
/// the plan and under the change (MODEL.md "Statistics": the paired
/// difference and P(strategy beats baseline)).
#[derive(Debug, Clone)]
pub struct DecisionRow {
    pub strategy: usize,
    pub baseline: usize,
    pub metric: Metric,
    /// Mean paired difference (strategy − baseline), plan and changed.
    pub plan_diff: Summary,
    pub changed_diff: Summary,
    /// P(strategy beats baseline), plan and changed.
    pub plan_beats: Proportion,
    pub changed_beats: Proportion,
}

impl DecisionRow {
    /// Did the change move P(beats) by at least [`MATERIAL_P`] or carry
    /// it across 50%, or reverse the sign of the mean difference?
    pub fn material(&self) -> bool {
        let (a, b) = (self.plan_beats.p, self.changed_beats.p);
        (b - a).abs() >= MATERIAL_P
            || (a > 0.5) != (b > 0.5)
            || (self.plan_diff.mean > 0.0) != (self.changed_diff.mean > 0.0)
    }
}

/// A move of P(beats) this large (5 percentage points) is reported as a
/// material change of the decision.
pub const MATERIAL_P: f64 = 0.05;

/// The strategy preferred on one metric (the best mean in the metric's
/// direction), in the plan and under the change.
#[derive(Debug, Clone, PartialEq)]
pub struct Preferred {
    pub metric: Metric,
    pub plan: usize,
    pub changed: usize,
}

/// A what-if's result.
#[derive(Debug, Clone)]
pub struct WhatIf {
    /// The plan as run (its `seed`, `trials` and `ci` those used), with
    /// the changes listed as its `overrides`.
    pub scenario: Scenario,
    /// Per strategy, then metric in [`Metric::ALL`] order; metrics undefined
    /// in some trial (ROI with a zero cost) are left out.
    pub rows: Vec<WhatIfRow>,
    /// Each challenger against the baseline, per metric, in the plan and
    /// under the change (empty with one strategy).
    pub decisions: Vec<DecisionRow>,
    /// Per metric, the strategy preferred in the plan and under the change.
    pub preferred: Vec<Preferred>,
    pub quantiles_exact: bool,
}

impl WhatIf {
    /// The name of strategy `s` (an index of [`WhatIfRow::strategy`]).
    pub fn strategy_name(&self, s: usize) -> &str {
        &self.scenario.strategies[s].name
    }
}

/// Run the plan of `spec` and `changed` (the same scenario with changes
/// applied) for the spec's trials on its seed, and compare them trial by
/// trial; `ci` and `interval` are the plan's.
pub fn whatif(
    spec: &RunSpec,
    changed: &Scenario,
    progress: &dyn Progress,
) -> Result<WhatIf, Error> {
    spec.check()?;
    // the changed scenario is run too: its size counts as well
    RunSpec {
        scenario: changed.clone(),
        ..spec.clone()
    }
    .check_size()?;
    let pool = engine::thread_pool(spec.threads)?;
    pool.install(|| whatif_in_pool(spec, changed, progress))
}

fn whatif_in_pool(
    spec: &RunSpec,
    changed: &Scenario,
    progress: &dyn Progress,
) -> Result<WhatIf, Error> {
    let (plan, trials, seed) = (&spec.scenario, spec.trials, spec.seed);
    let names = |s: &Scenario| {
        s.strategies
            .iter()
            .map(|st| st.name.clone())
            .collect::<Vec<_>>()
    };
    if names(plan) != names(changed) {
        return Err(Error::WhatIfStrategies {
            plan: names(plan).join(", "),
            changed: names(changed).join(", "),
        });
    }
    let ns = plan.strategies.len();
    let base = plan.baseline;
    let mut sources = Vec::new();
    for s in (0..ns).filter(|&s| s != base) {
        for m in Metric::ALL {
            for b in 0..2 {
                sources.push((
                    Source::Diff {
                        b,
                        s,
                        base_b: b,
                        base_s: base,
                        k: m.index(),
                    },
                    None,
                ));
            }
        }
    }
    for s in 0..ns {
        for m in Metric::ALL {
            let k = m.index();
            sources.push((Source::Metric { b: 0, s, k }, None));
            sources.push((Source::Metric { b: 1, s, k }, None));
            sources.push((
                Source::Diff {
                    b: 1,
                    s,
                    base_b: 0,
                    base_s: s,
                    k,
                },
                None,
            ));
        }
    }
    let mut acc = Accumulator::with_budget(sources, Some(trials), spec.exact_budget);
    progress.begin(trials);
    engine::run_blocks(
        &[plan, changed],
        seed,
        0..trials,
        &|n| progress.advance(n),
        |blocks| acc.push(blocks),
    )?;
    crate::analysis::guard::check(&[plan, changed], &acc)?;

    let (ci, interval) = (plan.ci, plan.interval);
    let mut rows = Vec::new();
    for s in 0..ns {
        for m in Metric::ALL {
            let k = m.index();
            let (Some(p), Some(c), Some(d)) = (
                acc.get(Source::Metric { b: 0, s, k }),
                acc.get(Source::Metric { b: 1, s, k }),
                acc.get(Source::Diff {
                    b: 1,
                    s,
                    base_b: 0,
                    base_s: s,
                    k,
                }),
            ) else {
                continue;
            };
            if !(p.all_finite() && c.all_finite()) {
                continue;
            }
            let (better, worse) = better_and_worse(d, m);
            rows.push(WhatIfRow {
                strategy: s,
                metric: m,
                plan_mean: p.mean_se().0,
                changed_mean: c.mean_se().0,
                change: d.summary(ci, interval),
                p_better: wilson(better, trials, ci),
                p_worse: wilson(worse, trials, ci),
            });
        }
    }
    let mut decisions = Vec::new();
    for s in (0..ns).filter(|&s| s != base) {
        for m in Metric::ALL {
            let diff = |b: usize| {
                acc.get(Source::Diff {
                    b,
                    s,
                    base_b: b,
                    base_s: base,
                    k: m.index(),
                })
            };
            let (Some(p), Some(c)) = (diff(0), diff(1)) else {
                continue;
            };
            if !(p.all_finite() && c.all_finite()) {
                continue;
            }
            decisions.push(DecisionRow {
                strategy: s,
                baseline: base,
                metric: m,
                plan_diff: p.summary(ci, interval),
                changed_diff: c.summary(ci, interval),
                plan_beats: wilson(better_and_worse(p, m).0, trials, ci),
                changed_beats: wilson(better_and_worse(c, m).0, trials, ci),
            });
        }
    }
    let preferred = Metric::ALL
        .into_iter()
        .filter_map(|m| {
            // the best mean in the metric's direction; the baseline unless
            // a challenger is strictly better, the first of equals
            let best = |changed: bool| {
                let oriented = |r: &WhatIfRow| {
                    let v = if changed { r.changed_mean } else { r.plan_mean };
                    if m.lower_is_better() { -v } else { v }
                };
                let rows: Vec<&WhatIfRow> = rows.iter().filter(|r| r.metric == m).collect();
                if rows.len() < ns {
                    return None;
                }
                let start = rows.iter().find(|r| r.strategy == base)?;
                let (mut best, mut best_v) = (base, oriented(start));
                for r in rows.iter().filter(|r| r.strategy != base) {
                    if oriented(r) > best_v {
                        (best, best_v) = (r.strategy, oriented(r));
                    }
                }
                Some(best)
            };
            Some(Preferred {
                metric: m,
                plan: best(false)?,
                changed: best(true)?,
            })
        })
        .collect();
    let mut scenario = spec.resolved();
    scenario.overrides = changed.overrides.clone();
    Ok(WhatIf {
        scenario,
        rows,
        decisions,
        preferred,
        quantiles_exact: acc.exact(),
    })
}
