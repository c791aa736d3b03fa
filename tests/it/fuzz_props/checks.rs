//! The checks the fuzz property test and the cargo-fuzz targets
//! (`fuzz/`, which includes this file by path) share: an upper estimate
//! of a run's per-deal work, to skip runs whose work is unbounded on
//! current code (issue 10, item 11) rather than report that one known
//! hang over and over, and the search of an output for a non-finite or
//! overflowed figure (item 1).

use pipesim::scenario::{Param, Scenario, Volume};

/// Upper estimate of the opportunities (deals, the per-deal work) one
/// trial creates: each channel's 99.9% leads a month (or spend over its
/// 0.1% cost per lead) times the 99.9% market demand, the peak
/// seasonality, the horizon, and the 99.9% conversions up to the
/// pipeline stage, summed over every channel of every strategy. Inf or
/// NaN when the estimate overflows.
pub fn deals_per_trial(scn: &Scenario) -> f64 {
    let hi = |p: &Param| p.dist.quantile_upper(1e-3);
    let lo = |p: &Param| p.dist.quantile(1e-3);
    let season = scn.seasonality.iter().copied().fold(0.0, f64::max);
    let month = hi(&scn.market.demand) * season;
    let mut work = 0.0;
    for st in &scn.strategies {
        for ch in &st.channels {
            let leads = match &ch.volume {
                Volume::Leads(p) => hi(p),
                Volume::Spend(p) => hi(p) / lo(&ch.cost_per_lead),
            };
            let convert: f64 = ch
                .conversion
                .iter()
                .take(scn.funnel.pipeline)
                .map(|p| hi(p).min(1.0))
                .product();
            work += leads * convert * month * scn.horizon as f64;
        }
    }
    work
}

/// Is the run's estimated work ([`deals_per_trial`]) at most `max` deals
/// a trial? An overflowed (inf or NaN) estimate is not.
pub fn within_work(scn: &Scenario, max: f64) -> bool {
    deals_per_trial(scn) <= max
}

/// The scenario's own free text (names, labels, values as written, the
/// changes applied): a user may write `inf` there, which is no computed
/// figure. Longest first, so a text holding another is removed whole.
pub fn user_text(scn: &Scenario) -> Vec<String> {
    let mut own = vec![scn.name.clone(), scn.file.display().to_string()];
    own.extend(scn.funnel.stages.iter().cloned());
    own.extend(scn.shared_channels.iter().cloned());
    own.extend(scn.overrides.iter().cloned());
    for st in &scn.strategies {
        own.push(st.name.clone());
        own.push(st.label.clone());
        own.extend(st.channels.iter().map(|ch| ch.name.clone()));
    }
    own.extend(
        scn.params_by_access()
            .into_iter()
            .map(|(_, p)| p.written.clone()),
    );
    own.retain(|s| !s.trim().is_empty());
    own.sort_by_key(|s| std::cmp::Reverse(s.len()));
    own
}

/// The first word of `out`, once the scenario's own text `own` is taken
/// out, that is a non-finite number (`inf`, `infinity`, `NaN`, any case,
/// any sign) or a figure of 100 digits or more (an overflowed sum).
pub fn non_finite(out: &str, own: &[String]) -> Option<String> {
    let mut out = out.to_string();
    for s in own {
        out = out.replace(s.as_str(), " ");
    }
    for w in out.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.')) {
        let w = w.trim_matches('.');
        if matches!(w.to_ascii_lowercase().as_str(), "inf" | "infinity" | "nan") {
            return Some(w.to_string());
        }
        let digits = w.bytes().filter(u8::is_ascii_digit).count();
        if digits >= 100 && w.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Some(format!("{}… ({digits} digits)", &w[..20]));
        }
    }
    None
}
