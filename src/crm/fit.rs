//! The estimators calibration uses, as pure functions of numbers: rates
//! from monthly cohorts (binomial against beta-binomial, by a likelihood
//! ratio test), deal sizes (lognormal and gamma by maximum likelihood,
//! chosen by AIC, with the Kolmogorov–Smirnov distance and Sarle's
//! bimodality coefficient), durations with right-censoring (gamma and
//! lognormal by censored maximum likelihood, the exponential closed form,
//! weighted Kaplan–Meier), and monthly volume (Poisson against negative
//! binomial, the level of the recent months, a trend test, seasonality
//! indices).
//!
//! Nothing here reads files or knows about CRM records, so each estimator
//! is tested against closed forms and published values. Degenerate input
//! (empty, all equal, zero counts) gives `None`, never a non-finite value.

use statrs::distribution::{ContinuousCDF, FisherSnedecor, Gamma, StudentsT};
use statrs::function::erf::erfc;
use statrs::function::gamma::{digamma, gamma_ur, ln_gamma};

/// A conversion rate fitted from cohorts.
#[derive(Debug, Clone, PartialEq)]
pub struct RateFit {
    pub successes: u64,
    pub trials: u64,
    /// Cohorts with at least one trial.
    pub cohorts: usize,
    /// `successes / trials`.
    pub pooled: f64,
    /// The per-trial Beta written into the scenario.
    pub alpha: f64,
    pub beta: f64,
    /// The beta-binomial is preferred (LR test, p < 0.05).
    pub overdispersed: bool,
    pub lr_statistic: f64,
    /// Boundary-corrected: `½·P(χ²₁ > statistic)`; 1 without a test.
    pub p_value: f64,
    pub method: &'static str,
}

/// Largest beta-binomial precision `α + β` (the binomial limit).
const MAX_PRECISION: f64 = 1e7;

/// Fit a rate to `(successes, trials)` per cohort. With at least 3 cohorts
/// the beta-binomial (α, β) is fitted by maximum likelihood and kept when
/// it beats the binomial at p < 0.05: Beta(α̂, β̂) is then the distribution
/// of one month's rate. Otherwise the Jeffreys posterior of the pooled
/// rate, Beta(s + ½, f + ½). `None` when there are no trials.
pub fn fit_rate(cohorts: &[(u64, u64)]) -> Option<RateFit> {
    let used: Vec<(f64, f64)> = cohorts
        .iter()
        .filter(|c| c.1 > 0)
        .map(|&(s, n)| (s.min(n) as f64, n as f64))
        .collect();
    let successes: u64 = cohorts
        .iter()
        .filter(|c| c.1 > 0)
        .map(|c| c.0.min(c.1))
        .sum();
    let trials: u64 = cohorts.iter().map(|c| c.1).sum();
    if trials == 0 {
        return None;
    }
    let pooled = successes as f64 / trials as f64;
    let mut fit = RateFit {
        successes,
        trials,
        cohorts: used.len(),
        pooled,
        alpha: successes as f64 + 0.5,
        beta: (trials - successes) as f64 + 0.5,
        overdispersed: false,
        lr_statistic: 0.0,
        p_value: 1.0,
        method: "Jeffreys posterior Beta(s+1/2, f+1/2) of the pooled rate",
    };
    if used.len() < 3 || successes == 0 || successes == trials {
        return Some(fit);
    }
    let ll_bin: f64 = used
        .iter()
        .map(|&(s, n)| s * pooled.ln() + (n - s) * (1.0 - pooled).ln())
        .sum();
    let ll_bb = |mu: f64, phi: f64| -> f64 {
        let (a, b) = (mu * phi, (1.0 - mu) * phi);
        let lb = ln_beta(a, b);
        used.iter()
            .map(|&(s, n)| ln_beta(s + a, n - s + b) - lb)
            .sum()
    };
    let nll = |v: &[f64; 2]| {
        let mu = 1.0 / (1.0 + (-v[0]).exp());
        let phi = v[1].exp().min(MAX_PRECISION);
        let l = -ll_bb(mu, phi);
        if l.is_finite() { l } else { f64::MAX }
    };
    let start = [(pooled / (1.0 - pooled)).ln(), 10f64.ln()];
    let mut best = nelder_mead(&nll, start, 1.0);
    for phi0 in [100.0f64, 1e4] {
        let b = nelder_mead(&nll, [start[0], phi0.ln()], 1.0);
        if nll(&b) < nll(&best) {
            best = b;
        }
    }
    let ll = -nll(&best);
    let stat = (2.0 * (ll - ll_bin)).max(0.0);
    let p = 0.5 * erfc((stat / 2.0).sqrt());
    fit.lr_statistic = stat;
    fit.p_value = p;
    let mu = 1.0 / (1.0 + (-best[0]).exp());
    let phi = best[1].exp().min(MAX_PRECISION);
    if p < 0.05 && phi < MAX_PRECISION && mu.is_finite() {
        fit.overdispersed = true;
        fit.alpha = mu * phi;
        fit.beta = (1.0 - mu) * phi;
        fit.method = "beta-binomial ML over monthly cohorts (months vary more than binomial noise)";
    }
    Some(fit)
}

fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// Nelder–Mead minimisation in two dimensions from `x0` with initial step
/// `step`; 2,000 iterations at most, stops when the simplex's values agree
/// to 1e-12 relative.
fn nelder_mead(f: &dyn Fn(&[f64; 2]) -> f64, x0: [f64; 2], step: f64) -> [f64; 2] {
    let mut pts = [x0, [x0[0] + step, x0[1]], [x0[0], x0[1] + step]];
    let mut vals = pts.map(|p| f(&p));
    for _ in 0..2000 {
        let mut idx = [0usize, 1, 2];
        idx.sort_by(|&a, &b| vals[a].total_cmp(&vals[b]));
        pts = idx.map(|i| pts[i]);
        vals = idx.map(|i| vals[i]);
        if (vals[2] - vals[0]).abs() <= 1e-12 * (vals[0].abs() + 1e-300)
            && (pts[2][0] - pts[0][0]).abs() + (pts[2][1] - pts[0][1]).abs() < 1e-10
        {
            break;
        }
        let c = [(pts[0][0] + pts[1][0]) / 2.0, (pts[0][1] + pts[1][1]) / 2.0];
        let at = |t: f64| [c[0] + t * (pts[2][0] - c[0]), c[1] + t * (pts[2][1] - c[1])];
        let r = at(-1.0);
        let fr = f(&r);
        if fr < vals[0] {
            let e = at(-2.0);
            let fe = f(&e);
            if fe < fr {
                (pts[2], vals[2]) = (e, fe);
            } else {
                (pts[2], vals[2]) = (r, fr);
            }
        } else if fr < vals[1] {
            (pts[2], vals[2]) = (r, fr);
        } else {
            let k = if fr < vals[2] { at(-0.5) } else { at(0.5) };
            let fk = f(&k);
            if fk < vals[2].min(fr) {
                (pts[2], vals[2]) = (k, fk);
            } else {
                for i in 1..3 {
                    pts[i] = [
                        pts[0][0] + 0.5 * (pts[i][0] - pts[0][0]),
                        pts[0][1] + 0.5 * (pts[i][1] - pts[0][1]),
                    ];
                    vals[i] = f(&pts[i]);
                }
            }
        }
    }
    let mut best = 0;
    for i in 1..3 {
        if vals[i] < vals[best] {
            best = i;
        }
    }
    pts[best]
}

/// Which law a deal-size fit chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeFamily {
    Lognormal,
    Gamma,
}

/// A deal-size fit.
#[derive(Debug, Clone, PartialEq)]
pub struct SizeFit {
    pub family: SizeFamily,
    /// Lognormal (mu, sigma) or gamma (shape, scale).
    pub p1: f64,
    pub p2: f64,
    pub loglik: f64,
    pub aic: f64,
    /// The AIC of the family not chosen.
    pub other_aic: f64,
    /// Kolmogorov–Smirnov distance of the chosen fit.
    pub ks: f64,
    /// Asymptotic Kolmogorov p-value (approximate: parameters estimated).
    pub ks_p: f64,
    pub n: usize,
    pub sample_median: f64,
    pub fitted_median: f64,
    pub multimodal: bool,
    /// Sarle's bimodality coefficient of ln(size).
    pub bimodality_coefficient: f64,
}

/// Lognormal maximum likelihood: `(mu, sigma, loglik)`.
pub fn lognormal_mle(x: &[f64]) -> Option<(f64, f64, f64)> {
    let n = x.len() as f64;
    if x.len() < 2 || x.iter().any(|v| !(*v > 0.0 && v.is_finite())) {
        return None;
    }
    let mu = x.iter().map(|v| v.ln()).sum::<f64>() / n;
    let var = x.iter().map(|v| (v.ln() - mu).powi(2)).sum::<f64>() / n;
    if !(var > 0.0) {
        return None;
    }
    let sigma = var.sqrt();
    let sum_ln: f64 = x.iter().map(|v| v.ln()).sum();
    let ll = -sum_ln - n * sigma.ln() - 0.5 * n * (2.0 * std::f64::consts::PI).ln() - 0.5 * n;
    Some((mu, sigma, ll))
}

/// Trigamma ψ′(x) for x > 0 (recurrence to x ≥ 6, then the asymptotic series).
pub fn trigamma(mut x: f64) -> f64 {
    let mut acc = 0.0;
    while x < 6.0 {
        acc += 1.0 / (x * x);
        x += 1.0;
    }
    let x2 = 1.0 / (x * x);
    acc + 1.0 / x + x2 / 2.0 + (1.0 / x) * x2 * (1.0 / 6.0 - x2 * (1.0 / 30.0 - x2 / 42.0))
}

/// Gamma maximum likelihood (Newton on ln k − ψ(k) = ln x̄ − mean ln x from
/// Minka's starting value): `(shape, scale, loglik)`.
pub fn gamma_mle(x: &[f64]) -> Option<(f64, f64, f64)> {
    let n = x.len() as f64;
    if x.len() < 2 || x.iter().any(|v| !(*v > 0.0 && v.is_finite())) {
        return None;
    }
    let mean = x.iter().sum::<f64>() / n;
    let mean_ln = x.iter().map(|v| v.ln()).sum::<f64>() / n;
    let s = mean.ln() - mean_ln;
    if !(s > 1e-12) {
        return None;
    }
    let mut k = (3.0 - s + ((s - 3.0).powi(2) + 24.0 * s).sqrt()) / (12.0 * s);
    for _ in 0..100 {
        let f = k.ln() - digamma(k) - s;
        let d = 1.0 / k - trigamma(k);
        let next = k - f / d;
        let next = if next > 0.0 { next } else { k / 2.0 };
        if (next - k).abs() < 1e-12 * k {
            k = next;
            break;
        }
        k = next;
    }
    let scale = mean / k;
    let ll = (k - 1.0) * mean_ln * n - n * mean / scale - n * k * scale.ln() - n * ln_gamma(k);
    (k.is_finite() && scale.is_finite() && ll.is_finite()).then_some((k, scale, ll))
}

/// Kolmogorov–Smirnov distance of sorted values from `cdf`.
pub fn ks_distance(sorted: &[f64], cdf: impl Fn(f64) -> f64) -> f64 {
    let n = sorted.len() as f64;
    sorted
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = cdf(x);
            (f - i as f64 / n).max((i + 1) as f64 / n - f)
        })
        .fold(0.0, f64::max)
}

/// Asymptotic Kolmogorov p-value of distance `d` on `n` values
/// (Stephens' small-sample correction of λ).
fn ks_p_value(d: f64, n: usize) -> f64 {
    let sn = (n as f64).sqrt();
    let l = (sn + 0.12 + 0.11 / sn) * d;
    if l < 0.2 {
        return 1.0;
    }
    let mut s = 0.0;
    for k in 1..100 {
        let k = k as f64;
        let term = 2.0 * (-1f64).powf(k - 1.0) * (-2.0 * k * k * l * l).exp();
        s += term;
        if term.abs() < 1e-12 {
            break;
        }
    }
    s.clamp(0.0, 1.0)
}

fn median_of(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        0.5 * (sorted[n / 2 - 1] + sorted[n / 2])
    }
}

/// Lognormal CDF.
fn lognormal_cdf(x: f64, mu: f64, sigma: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    0.5 * erfc(-(x.ln() - mu) / (sigma * std::f64::consts::SQRT_2))
}

/// Deal sizes: lognormal and gamma by maximum likelihood, the lower AIC
/// chosen (both have two parameters, so the higher likelihood). Values ≤ 0
/// are left out (a zero amount is no deal size). `None` with fewer than two
/// positive values or all equal. Multi-modal when Sarle's bimodality
/// coefficient of ln(size) exceeds 5/9 with at least 30 values.
pub fn fit_size(x: &[f64]) -> Option<SizeFit> {
    let mut v: Vec<f64> = x
        .iter()
        .copied()
        .filter(|a| *a > 0.0 && a.is_finite())
        .collect();
    v.sort_by(f64::total_cmp);
    let ln = lognormal_mle(&v)?;
    let ga = gamma_mle(&v);
    let aic_ln = 4.0 - 2.0 * ln.2;
    let aic_ga = ga.map_or(f64::INFINITY, |g| 4.0 - 2.0 * g.2);
    let (family, p1, p2, ll, aic, other) = match ga {
        Some(g) if aic_ga < aic_ln => (SizeFamily::Gamma, g.0, g.1, g.2, aic_ga, aic_ln),
        _ => (SizeFamily::Lognormal, ln.0, ln.1, ln.2, aic_ln, aic_ga),
    };
    let (ks, fitted_median) = match family {
        SizeFamily::Lognormal => (ks_distance(&v, |t| lognormal_cdf(t, p1, p2)), p1.exp()),
        SizeFamily::Gamma => {
            let g = Gamma::new(p1, 1.0 / p2).ok()?;
            (ks_distance(&v, |t| g.cdf(t)), g.inverse_cdf(0.5))
        }
    };
    let n = v.len();
    let bc = bimodality(&v.iter().map(|a| a.ln()).collect::<Vec<_>>());
    Some(SizeFit {
        family,
        p1,
        p2,
        loglik: ll,
        aic,
        other_aic: if other.is_finite() { other } else { aic },
        ks,
        ks_p: ks_p_value(ks, n),
        n,
        sample_median: median_of(&v),
        fitted_median,
        multimodal: n >= 30 && bc > 5.0 / 9.0,
        bimodality_coefficient: bc,
    })
}

/// Sarle's bimodality coefficient (g² + 1) / (κ + 3(n−1)²/((n−2)(n−3))),
/// with the sample skewness g and excess kurtosis κ; 0 for n < 4.
fn bimodality(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    if x.len() < 4 {
        return 0.0;
    }
    let m = x.iter().sum::<f64>() / n;
    let m2 = x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n;
    if !(m2 > 0.0) {
        return 0.0;
    }
    let m3 = x.iter().map(|v| (v - m).powi(3)).sum::<f64>() / n;
    let m4 = x.iter().map(|v| (v - m).powi(4)).sum::<f64>() / n;
    let g = m3 / m2.powf(1.5);
    let k = m4 / (m2 * m2) - 3.0;
    let bc = (g * g + 1.0) / (k + 3.0 * (n - 1.0).powi(2) / ((n - 2.0) * (n - 3.0)));
    if bc.is_finite() { bc } else { 0.0 }
}

/// Which law a cycle fit chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CycleFamily {
    Gamma,
    Lognormal,
}

/// A duration fit with right-censoring.
#[derive(Debug, Clone, PartialEq)]
pub struct CycleFit {
    pub family: CycleFamily,
    /// Gamma (shape, scale) or lognormal (mu, sigma), in days.
    pub p1: f64,
    pub p2: f64,
    pub loglik: f64,
    pub aic: f64,
    /// Total weight of observed closings and of censored observations.
    pub events: f64,
    pub censored: f64,
    pub fitted_median: f64,
    /// Weighted Kaplan–Meier median (`None` if the curve stays above ½).
    pub km_median: Option<f64>,
    pub mean: f64,
    pub sd: f64,
    pub p99: f64,
}

/// Group `(value, weight)` by value (durations ≤ 0 as half a day), dropping
/// non-positive weights and non-finite values.
fn grouped(x: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut v: Vec<(f64, f64)> = x
        .iter()
        .filter(|(t, w)| t.is_finite() && *w > 0.0 && w.is_finite())
        .map(|&(t, w)| (if t <= 0.0 { 0.5 } else { t }, w))
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(v.len());
    for (t, w) in v {
        match out.last_mut() {
            Some(last) if last.0 == t => last.1 += w,
            _ => out.push((t, w)),
        }
    }
    out
}

fn ln_or_floor(p: f64) -> f64 {
    p.max(1e-300).ln()
}

/// Durations from `events` (observed, with weights) and `censored` (still
/// open at their age): gamma and lognormal by censored maximum likelihood,
/// Σ w·ln f(t) + Σ w·ln S(a), the lower AIC chosen. Durations ≤ 0 count as
/// half a day. `None` when the event weight is below 2 or the events are
/// all equal.
pub fn fit_cycle(events: &[(f64, f64)], censored: &[(f64, f64)]) -> Option<CycleFit> {
    let ev = grouped(events);
    let ce = grouped(censored);
    let we: f64 = ev.iter().map(|e| e.1).sum();
    let wc: f64 = ce.iter().map(|e| e.1).sum();
    if we < 2.0 || ev.len() < 2 {
        return None;
    }
    // starting values from the events alone (weighted moments)
    let m = ev.iter().map(|(t, w)| t * w).sum::<f64>() / we;
    let var = ev.iter().map(|(t, w)| w * (t - m).powi(2)).sum::<f64>() / we;
    let lm = ev.iter().map(|(t, w)| t.ln() * w).sum::<f64>() / we;
    let lv = ev
        .iter()
        .map(|(t, w)| w * (t.ln() - lm).powi(2))
        .sum::<f64>()
        / we;
    if !(var > 0.0 && lv > 0.0) {
        return None;
    }
    let gamma_nll = |v: &[f64; 2]| {
        let (k, th) = (v[0].exp(), v[1].exp());
        let lg = ln_gamma(k);
        let mut ll = 0.0;
        for &(t, w) in &ev {
            ll += w * ((k - 1.0) * t.ln() - t / th - k * th.ln() - lg);
        }
        for &(a, w) in &ce {
            ll += w * ln_or_floor(gamma_ur(k, a / th));
        }
        if ll.is_finite() { -ll } else { f64::MAX }
    };
    let logn_nll = |v: &[f64; 2]| {
        let (mu, s) = (v[0], v[1].exp());
        let c = 0.5 * (2.0 * std::f64::consts::PI).ln();
        let mut ll = 0.0;
        for &(t, w) in &ev {
            let z = (t.ln() - mu) / s;
            ll += w * (-t.ln() - s.ln() - c - 0.5 * z * z);
        }
        for &(a, w) in &ce {
            let z = (a.ln() - mu) / s;
            ll += w * ln_or_floor(0.5 * erfc(z / std::f64::consts::SQRT_2));
        }
        if ll.is_finite() { -ll } else { f64::MAX }
    };
    let k0 = m * m / var;
    let g = nelder_mead(&gamma_nll, [k0.ln(), (var / m).ln()], 0.3);
    let l = nelder_mead(&logn_nll, [lm, 0.5 * lv.ln()], 0.3);
    let (gl, ll) = (-gamma_nll(&g), -logn_nll(&l));
    let (family, p1, p2, loglik) = if gl >= ll {
        (CycleFamily::Gamma, g[0].exp(), g[1].exp(), gl)
    } else {
        (CycleFamily::Lognormal, l[0], l[1].exp(), ll)
    };
    let (fitted_median, mean, sd, p99) = match family {
        CycleFamily::Gamma => {
            let d = Gamma::new(p1, 1.0 / p2).ok()?;
            (
                d.inverse_cdf(0.5),
                p1 * p2,
                p1.sqrt() * p2,
                d.inverse_cdf(0.99),
            )
        }
        CycleFamily::Lognormal => {
            let mean = (p1 + p2 * p2 / 2.0).exp();
            let sd = mean * ((p2 * p2).exp() - 1.0).sqrt();
            (p1.exp(), mean, sd, (p1 + 2.326_347_874_040_841 * p2).exp())
        }
    };
    let curve = kaplan_meier(&ev, &ce);
    let out = CycleFit {
        family,
        p1,
        p2,
        loglik,
        aic: 4.0 - 2.0 * loglik,
        events: we,
        censored: wc,
        fitted_median,
        km_median: km_median(&curve),
        mean,
        sd,
        p99,
    };
    [out.p1, out.p2, out.fitted_median, out.mean, out.sd, out.p99]
        .iter()
        .all(|v| v.is_finite())
        .then_some(out)
}

/// Exponential maximum likelihood with right-censoring: the rate is the
/// event weight over the total exposure, Σ w_events / Σ w·t (events and
/// censored). `None` without exposure or events.
pub fn exponential_censored(events: &[(f64, f64)], censored: &[(f64, f64)]) -> Option<f64> {
    let d: f64 = events.iter().map(|e| e.1).sum();
    let exposure: f64 = events.iter().chain(censored).map(|(t, w)| t * w).sum();
    (d > 0.0 && exposure > 0.0).then(|| d / exposure)
}

/// Weighted Kaplan–Meier estimate: `(time, survival just after it)` at each
/// event time. At a tie, events come before censorings (the standard
/// convention: a unit censored at t was at risk at t).
pub fn kaplan_meier(events: &[(f64, f64)], censored: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let ev = grouped(events);
    let ce = grouped(censored);
    let mut at_risk: f64 = ev.iter().chain(&ce).map(|e| e.1).sum();
    let mut s = 1.0;
    let mut out = Vec::with_capacity(ev.len());
    let mut j = 0;
    for &(t, d) in &ev {
        while j < ce.len() && ce[j].0 < t {
            at_risk -= ce[j].1;
            j += 1;
        }
        if at_risk <= 0.0 {
            break;
        }
        s *= (1.0 - d / at_risk).max(0.0);
        out.push((t, s));
        at_risk -= d;
    }
    out
}

/// The Kaplan–Meier median: the first time the curve reaches ½ or below.
pub fn km_median(curve: &[(f64, f64)]) -> Option<f64> {
    curve.iter().find(|(_, s)| *s <= 0.5 + 1e-12).map(|c| c.0)
}

/// A monthly-volume fit.
#[derive(Debug, Clone, PartialEq)]
pub struct VolumeFit {
    /// Full months given.
    pub months: usize,
    /// Level: the mean of the recent months.
    pub mean: f64,
    /// Standard error of the level under the fitted law.
    pub se: f64,
    /// Sample variance of the recent months.
    pub variance: f64,
    /// Negative-binomial k; `None` = Poisson.
    pub dispersion: Option<f64>,
    /// LR test of the negative binomial against Poisson (boundary-corrected).
    pub p_value: f64,
    /// OLS slope over all months, per month.
    pub trend_per_month: f64,
    pub trend_p: f64,
    /// A clear trend: p < 0.01 and the slope over the months above 20% of
    /// the mean.
    pub trend: bool,
}

/// Fit monthly counts (oldest first; full months only). The level and the
/// dispersion come from the last `recent` months (all if fewer): the mean,
/// and the negative-binomial k by maximum likelihood (the mean is its own
/// ML estimate; k by golden-section search of the profile likelihood on
/// ln k in [10⁻³, 10⁷]), kept when it beats Poisson at p < 0.05. `None`
/// without months.
pub fn fit_volume(counts: &[u64], recent: usize) -> Option<VolumeFit> {
    if counts.is_empty() {
        return None;
    }
    let r = &counts[counts.len() - recent.clamp(1, counts.len())..];
    let n = r.len() as f64;
    let m = r.iter().sum::<u64>() as f64 / n;
    let var = if r.len() > 1 {
        r.iter().map(|&y| (y as f64 - m).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        m
    };
    let mut dispersion = None;
    let mut p_value = 1.0;
    if r.len() >= 3 && m > 0.0 && var > m {
        let ll_p: f64 = r
            .iter()
            .map(|&y| y as f64 * m.ln() - m - ln_gamma(y as f64 + 1.0))
            .sum();
        let ll_nb = |lk: f64| {
            let k = lk.exp();
            r.iter()
                .map(|&y| {
                    let y = y as f64;
                    ln_gamma(y + k) - ln_gamma(k) - ln_gamma(y + 1.0)
                        + k * (k / (k + m)).ln()
                        + y * (m / (k + m)).ln()
                })
                .sum::<f64>()
        };
        let (mut a, mut b) = (1e-3f64.ln(), 1e7f64.ln());
        let g = (5f64.sqrt() - 1.0) / 2.0;
        for _ in 0..200 {
            let c = b - g * (b - a);
            let d = a + g * (b - a);
            if ll_nb(c) > ll_nb(d) {
                b = d;
            } else {
                a = c;
            }
        }
        let lk = 0.5 * (a + b);
        let stat = (2.0 * (ll_nb(lk) - ll_p)).max(0.0);
        p_value = 0.5 * erfc((stat / 2.0).sqrt());
        if p_value < 0.05 && lk < 1e7f64.ln() - 1e-6 {
            dispersion = Some(lk.exp());
        }
    }
    let model_var = dispersion.map_or(m, |k| m + m * m / k);
    let (slope, trend_p) = ols_trend(counts);
    let all_mean = counts.iter().sum::<u64>() as f64 / counts.len() as f64;
    let trend =
        trend_p < 0.01 && all_mean > 0.0 && slope.abs() * counts.len() as f64 / all_mean > 0.2;
    Some(VolumeFit {
        months: counts.len(),
        mean: m,
        se: (model_var / n).sqrt(),
        variance: var,
        dispersion,
        p_value,
        trend_per_month: slope,
        trend_p,
        trend,
    })
}

/// OLS slope of counts on the month index and its two-sided t-test p-value
/// (n − 2 degrees of freedom); (0, 1) with fewer than 3 months.
fn ols_trend(counts: &[u64]) -> (f64, f64) {
    let n = counts.len();
    if n < 3 {
        return (0.0, 1.0);
    }
    let nf = n as f64;
    let xm = (nf - 1.0) / 2.0;
    let ym = counts.iter().sum::<u64>() as f64 / nf;
    let sxx: f64 = (0..n).map(|i| (i as f64 - xm).powi(2)).sum();
    let sxy: f64 = counts
        .iter()
        .enumerate()
        .map(|(i, &y)| (i as f64 - xm) * (y as f64 - ym))
        .sum();
    let b = sxy / sxx;
    let rss: f64 = counts
        .iter()
        .enumerate()
        .map(|(i, &y)| (y as f64 - ym - b * (i as f64 - xm)).powi(2))
        .sum();
    let se = (rss / (nf - 2.0) / sxx).sqrt();
    if !(se > 0.0) {
        return (b, if b == 0.0 { 1.0 } else { 0.0 });
    }
    let t = b / se;
    let p = StudentsT::new(0.0, 1.0, nf - 2.0).map_or(1.0, |d| 2.0 * d.cdf(-t.abs()));
    (b, p)
}

/// Seasonality of monthly totals: the indices and the test that they are
/// more than noise.
#[derive(Debug, Clone, PartialEq)]
pub struct Seasonality {
    /// Per calendar month (0 = January), mean 1.
    pub index: [f64; 12],
    /// The test's statistic (F or χ²), its (between-month) degrees of
    /// freedom and p-value.
    pub statistic: f64,
    pub df: usize,
    pub p_value: f64,
    pub test: SeasonalityTest,
}

/// Which test [`seasonality`] ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeasonalityTest {
    /// One-way ANOVA of the ratios by calendar month.
    AnovaF { within_df: usize },
    /// χ² of the month means against count noise.
    ChiSquare,
}

/// Seasonality indices per calendar month (mean 1) from at least 24
/// consecutive monthly totals: each month's ratio to the centred 2×12
/// moving average, averaged by calendar month and normalised.
/// `first_month` is the calendar month (0 = January) of `counts[0]`.
///
/// The test that the indices are more than noise: with at least 6 more
/// ratios than calendar months (30 months or more), a one-way analysis of
/// variance of the ratios by calendar month (F on `g − 1` and `N − g`
/// degrees of freedom), which assumes nothing about the noise; with fewer,
/// a χ² test against count noise: without seasonality a ratio `r_t` is
/// noise around 1 with variance `v_t = 1/ma_t + 1/k` (Poisson, or negative
/// binomial with the totals' `dispersion` k), so `Σ_c n_c (r̄_c − r̄)² / v̄_c`
/// is χ² on `g − 1` degrees of freedom. A dispersion fitted to seasonal
/// totals absorbs some of the seasonality, so that fallback errs on the
/// side of no seasonality.
pub fn seasonality(
    counts: &[f64],
    first_month: usize,
    dispersion: Option<f64>,
) -> Option<Seasonality> {
    let n = counts.len();
    if n < 24 {
        return None;
    }
    let mut sum = [0.0; 12];
    let mut var = [0.0; 12];
    let mut num = [0usize; 12];
    let mut ratios: Vec<(usize, f64)> = Vec::with_capacity(n);
    let inv_k = dispersion.map_or(0.0, |k| 1.0 / k);
    for t in 6..n - 6 {
        let ma =
            (0.5 * counts[t - 6] + counts[t - 5..t + 6].iter().sum::<f64>() + 0.5 * counts[t + 6])
                / 12.0;
        if ma > 0.0 {
            let c = (first_month + t) % 12;
            sum[c] += counts[t] / ma;
            var[c] += 1.0 / ma + inv_k;
            num[c] += 1;
            ratios.push((c, counts[t] / ma));
        }
    }
    let mut idx = [1.0; 12];
    for c in 0..12 {
        if num[c] > 0 {
            idx[c] = sum[c] / num[c] as f64;
        }
    }
    let mean = idx.iter().sum::<f64>() / 12.0;
    if !(mean > 0.0) {
        return None;
    }
    let used: Vec<usize> = (0..12).filter(|&c| num[c] > 0).collect();
    let total: usize = used.iter().map(|&c| num[c]).sum();
    let grand = used.iter().map(|&c| sum[c]).sum::<f64>() / total.max(1) as f64;
    let between: f64 = used
        .iter()
        .map(|&c| num[c] as f64 * (idx[c] - grand).powi(2))
        .sum();
    let groups = used.len();
    let df = groups.saturating_sub(1);
    let within_df = total.saturating_sub(groups);
    let (statistic, p_value, test) = if df == 0 {
        (0.0, 1.0, SeasonalityTest::ChiSquare)
    } else if within_df >= 6 {
        let within: f64 = ratios.iter().map(|&(c, r)| (r - idx[c]).powi(2)).sum();
        let f = (between / df as f64) / (within / within_df as f64).max(1e-300);
        let p = FisherSnedecor::new(df as f64, within_df as f64).map_or(1.0, |d| d.sf(f));
        (f, p, SeasonalityTest::AnovaF { within_df })
    } else {
        let x: f64 = used
            .iter()
            .map(|&c| {
                let v = var[c] / num[c] as f64;
                num[c] as f64 * (idx[c] - grand).powi(2) / v
            })
            .sum();
        (
            x,
            gamma_ur(df as f64 / 2.0, x / 2.0),
            SeasonalityTest::ChiSquare,
        )
    };
    Some(Seasonality {
        index: idx.map(|v| v / mean),
        statistic,
        df,
        p_value,
        test,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::Distribution;
    use rand_xoshiro::Xoshiro256PlusPlus;

    #[test]
    fn exponential_mle_with_censoring_is_events_over_exposure() {
        let ev = [(2.0, 1.0), (3.0, 1.0), (5.0, 1.0)];
        let ce = [(4.0, 1.0), (6.0, 1.0)];
        assert_eq!(exponential_censored(&ev, &ce), Some(3.0 / 20.0));
        assert_eq!(exponential_censored(&[], &ce), None);
    }

    #[test]
    fn kaplan_meier_matches_freireich_6mp() {
        // Freireich et al. (1963), 6-MP arm; the published KM estimates
        let events: Vec<(f64, f64)> = [6., 6., 6., 7., 10., 13., 16., 22., 23.]
            .iter()
            .map(|&t| (t, 1.0))
            .collect();
        let cens: Vec<(f64, f64)> = [6., 9., 10., 11., 17., 19., 20., 25., 32., 32., 34., 35.]
            .iter()
            .map(|&t| (t, 1.0))
            .collect();
        let km = kaplan_meier(&events, &cens);
        let want = [
            (6., 0.857),
            (7., 0.807),
            (10., 0.753),
            (13., 0.690),
            (16., 0.627),
            (22., 0.538),
            (23., 0.448),
        ];
        assert_eq!(km.len(), want.len());
        for ((t, s), (wt, ws)) in km.iter().zip(want) {
            assert_eq!(*t, wt);
            assert!((s - ws).abs() < 5e-4, "S({t}) = {s}, published {ws}");
        }
        assert_eq!(km_median(&km), Some(23.0));
    }

    #[test]
    fn size_mles_recover_their_laws_and_aic_picks_the_family() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let n = 5000;
        let ln: Vec<f64> = (0..n)
            .map(|_| {
                rand_distr::LogNormal::new(9.0, 0.7)
                    .unwrap()
                    .sample(&mut rng)
            })
            .collect();
        let (mu, sigma, _) = lognormal_mle(&ln).unwrap();
        let nf = n as f64;
        assert!((mu - 9.0).abs() < 4.0 * 0.7 / nf.sqrt(), "{mu}");
        assert!(
            (sigma - 0.7).abs() < 4.0 * 0.7 / (2.0 * nf).sqrt(),
            "{sigma}"
        );
        assert_eq!(fit_size(&ln).unwrap().family, SizeFamily::Lognormal);
        let ga: Vec<f64> = (0..n)
            .map(|_| {
                rand_distr::Gamma::new(3.0, 2000.0)
                    .unwrap()
                    .sample(&mut rng)
            })
            .collect();
        let (k, th, _) = gamma_mle(&ga).unwrap();
        // Fisher information of (k, θ) per value: [[ψ′(k), 1/θ], [1/θ, k/θ²]]
        let det = trigamma(3.0) * 3.0 / (2000.0f64 * 2000.0) - 1.0 / (2000.0f64 * 2000.0);
        let var_k = 3.0 / (2000.0f64 * 2000.0) / det / nf;
        let var_th = trigamma(3.0) / det / nf;
        assert!((k - 3.0).abs() < 4.0 * var_k.sqrt(), "{k}");
        assert!((th - 2000.0).abs() < 4.0 * var_th.sqrt(), "{th}");
        let f = fit_size(&ga).unwrap();
        assert_eq!(f.family, SizeFamily::Gamma);
        assert!(f.ks < 0.03, "KS {}", f.ks);
        assert!(fit_size(&[5.0, 5.0, 5.0]).is_none());
        assert!(fit_size(&[]).is_none());
    }

    #[test]
    fn censored_gamma_fit_recovers_the_median() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
        let law = rand_distr::Gamma::new(4.0, 15.0).unwrap();
        let cens = rand_distr::Exp::new(1.0 / 150.0).unwrap();
        let (mut ev, mut ce) = (Vec::new(), Vec::new());
        let n = 4000;
        for _ in 0..n {
            let t: f64 = law.sample(&mut rng);
            let c: f64 = cens.sample(&mut rng);
            if t <= c {
                ev.push((t, 1.0))
            } else {
                ce.push((c, 1.0))
            }
        }
        assert!(ce.len() > n / 5, "censoring {}", ce.len());
        let f = fit_cycle(&ev, &ce).unwrap();
        let truth = Gamma::new(4.0, 1.0 / 15.0).unwrap();
        let m = truth.inverse_cdf(0.5);
        // SE of the sample median of the complete sample, 1/(2 f(m) √n),
        // inflated by √(n / events) for the information censoring removes
        let f_m = statrs::distribution::Continuous::pdf(&truth, m);
        let se = 1.0 / (2.0 * f_m * (ev.len() as f64).sqrt());
        assert!(
            (f.fitted_median - m).abs() < 4.0 * se,
            "{} vs {m}",
            f.fitted_median
        );
        assert!(f.km_median.is_some_and(|k| (k - m).abs() < 4.0 * se));
        // ignoring the censored ones would be biased low
        let naive = fit_cycle(&ev, &[]).unwrap();
        assert!(naive.fitted_median < f.fitted_median);
    }

    #[test]
    fn rates_binomial_and_beta_binomial() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        let bin: Vec<(u64, u64)> = (0..36)
            .map(|_| {
                (
                    rand_distr::Binomial::new(200, 0.3)
                        .unwrap()
                        .sample(&mut rng),
                    200,
                )
            })
            .collect();
        let f = fit_rate(&bin).unwrap();
        assert!(!f.overdispersed, "{f:?}");
        let mean = f.alpha / (f.alpha + f.beta);
        assert!((mean - 0.3).abs() < 3.0 * (0.21f64 / 7200.0).sqrt());
        let beta = rand_distr::Beta::new(6.0, 14.0).unwrap();
        let bb: Vec<(u64, u64)> = (0..60)
            .map(|_| {
                let p: f64 = beta.sample(&mut rng);
                (
                    rand_distr::Binomial::new(500, p).unwrap().sample(&mut rng),
                    500,
                )
            })
            .collect();
        let f = fit_rate(&bb).unwrap();
        assert!(f.overdispersed, "{f:?}");
        // month-to-month sd of the rate is √(0.3·0.7/21) = 0.1; the mean of
        // 60 months has SE ≈ 0.1/√60
        let mean = f.alpha / (f.alpha + f.beta);
        assert!((mean - 0.3).abs() < 3.0 * 0.1 / 60f64.sqrt(), "{mean}");
        assert!(fit_rate(&[(0, 0)]).is_none());
    }

    #[test]
    fn volume_poisson_negative_binomial_and_trend() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(8);
        let pois: Vec<u64> = (0..60)
            .map(|_| rand_distr::Poisson::new(200.0).unwrap().sample(&mut rng) as u64)
            .collect();
        let f = fit_volume(&pois, 60).unwrap();
        assert!(f.dispersion.is_none() && !f.trend, "{f:?}");
        assert!((f.mean - 200.0).abs() < 4.0 * (200.0f64 / 60.0).sqrt());
        let nb: Vec<u64> = (0..60)
            .map(|_| {
                let l: f64 = rand_distr::Gamma::new(10.0, 20.0).unwrap().sample(&mut rng);
                rand_distr::Poisson::new(l).unwrap().sample(&mut rng) as u64
            })
            .collect();
        let f = fit_volume(&nb, 60).unwrap();
        // a = 1/k: variance ≈ 2(a + 1/μ)²/n (see tests/it/crm.rs)
        let a = 0.1;
        let k = f.dispersion.expect("overdispersed");
        assert!(
            (1.0 / k - a).abs() < 4.0 * (2.0f64 / 60.0).sqrt() * (a + 1.0 / 200.0),
            "{k}"
        );
        let trend: Vec<u64> = (0..36).map(|i| 100 + 5 * i).collect();
        assert!(fit_volume(&trend, 12).unwrap().trend);
    }

    #[test]
    fn seasonality_recovers_a_pattern_exactly() {
        let pattern = [0.8, 0.9, 1.0, 1.1, 1.2, 1.0, 0.9, 0.8, 1.0, 1.1, 1.2, 1.0];
        let mean: f64 = pattern.iter().sum::<f64>() / 12.0;
        let counts: Vec<f64> = (0..48).map(|t| 100.0 * pattern[(t + 3) % 12]).collect();
        let s = seasonality(&counts, 3, None).unwrap();
        for (c, (got, want)) in s.index.iter().zip(pattern).enumerate() {
            assert!((got - want / mean).abs() < 1e-9, "{c}: {got}");
        }
        assert!(s.p_value < 1e-6, "{s:?}");
        assert!(seasonality(&counts[..20], 0, None).is_none());
    }

    /// Under no seasonality the test's p-value is uniform: over 400
    /// Poisson series of 36 months (the ANOVA) and of 24 (the χ²), the
    /// share below 0.05 is binomial(400, 0.05) or less, so at most 0.05 +
    /// 4 SE; a ±15% pattern on Poisson(1000) noise (3%) is found in nearly
    /// all 36-month series.
    #[test]
    fn seasonality_test_holds_its_size_and_finds_a_pattern() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(29);
        let pattern = [
            0.85, 0.9, 1.0, 1.1, 1.15, 1.0, 0.9, 0.85, 1.0, 1.1, 1.15, 1.0,
        ];
        let (mut false_pos, mut false_short, mut found) = (0usize, 0usize, 0usize);
        let runs = 400;
        for _ in 0..runs {
            let flat: Vec<f64> = (0..36)
                .map(|_| rand_distr::Poisson::new(1000.0).unwrap().sample(&mut rng))
                .collect();
            if seasonality(&flat, 0, None).unwrap().p_value < 0.05 {
                false_pos += 1;
            }
            let short = seasonality(&flat[..24], 0, None).unwrap();
            assert_eq!(short.test, SeasonalityTest::ChiSquare);
            if short.p_value < 0.05 {
                false_short += 1;
            }
            let seasonal: Vec<f64> = (0..36)
                .map(|t| {
                    rand_distr::Poisson::new(1000.0 * pattern[t % 12])
                        .unwrap()
                        .sample(&mut rng)
                })
                .collect();
            if seasonality(&seasonal, 0, None).unwrap().p_value < 0.05 {
                found += 1;
            }
        }
        let rate = false_pos as f64 / runs as f64;
        let se = (0.05f64 * 0.95 / runs as f64).sqrt();
        assert!(rate <= 0.05 + 4.0 * se, "false positives {rate}");
        let rate = false_short as f64 / runs as f64;
        assert!(
            rate <= 0.05 + 4.0 * se,
            "false positives (24 months) {rate}"
        );
        assert!(found as f64 / runs as f64 > 0.95, "found {found} of {runs}");
    }
}
