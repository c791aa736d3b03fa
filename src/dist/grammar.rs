//! The distribution grammar: parsing a parameter's text (`700`,
//! `"0.40 to 0.60"`, `"lognormal(median=14000, p90=38000)"`) into a
//! validated [`Dist`] for its [`Domain`], with messages that say what is
//! valid.

use rand_distr::{Beta, Gamma};

use super::fit::{Z90, Z95, fit_beta_90};
use super::normal::NormalWindow;
use super::{Dist, DistError, Domain, MonthTable, err, fixed};

const FORMS: &str = "a number, \"A to B\", uniform(min=, max=), triangular(min=, mode=, max=), pert(min=, mode=, max=), normal(mean=, sd=), lognormal(median=, p90=) / (mu=, sigma=) / (mean=, sd=), gamma(mean=, sd=) / (shape=, scale=), beta(alpha=, beta=) / (mean=, n=)";

/// Parse a distribution string and check it against the domain.
pub fn parse(text: &str, domain: Domain) -> Result<Dist, DistError> {
    let s = text.trim();
    if let Some(x) = parse_number(s) {
        return fixed(x, domain);
    }
    if let Some(x) = percent(s) {
        return match domain {
            Domain::Probability | Domain::Rate => fixed(x / 100.0, domain),
            _ => err(format!(
                "a percentage is for probabilities and rates; expected {}",
                domain.describe()
            )),
        };
    }
    if let Some((a, b)) = split_to(s) {
        return interval90(a, b, domain);
    }
    if let Some((a, b)) = split_to_percent(s) {
        return match domain {
            Domain::Probability | Domain::Rate => interval90(a / 100.0, b / 100.0, domain),
            _ => err(format!(
                "a percentage is for probabilities and rates; expected {}",
                domain.describe()
            )),
        };
    }
    let Some(open) = s.find('(') else {
        return err(format!("not a distribution; expected {FORMS}"));
    };
    if !s.ends_with(')') {
        return err(format!("missing closing ')'; expected {FORMS}"));
    }
    let name = s[..open].trim().to_ascii_lowercase();
    let args = parse_args(&s[open + 1..s.len() - 1])?;
    let keys: Vec<&str> = args.iter().map(|(k, _)| k.as_str()).collect();
    let get = |k: &str| args.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
    let want = |names: &[&str]| -> Option<Vec<f64>> {
        if keys.len() != names.len() {
            return None;
        }
        names.iter().map(|n| get(n)).collect()
    };
    match name.as_str() {
        "uniform" => match want(&["min", "max"]) {
            Some(v) => uniform(v[0], v[1], domain),
            None => err("uniform takes min= and max=, e.g. uniform(min=35, max=65)"),
        },
        "triangular" => match want(&["min", "mode", "max"]) {
            Some(v) => triangular(v[0], v[1], v[2], domain),
            None => err(
                "triangular takes min=, mode= and max=, e.g. triangular(min=35, mode=45, max=65)",
            ),
        },
        "pert" => match want(&["min", "mode", "max"]) {
            Some(v) => pert(v[0], v[1], v[2], domain),
            None => err("pert takes min=, mode= and max=, e.g. pert(min=120, mode=180, max=300)"),
        },
        "normal" => match want(&["mean", "sd"]) {
            Some(v) => normal(v[0], v[1], domain),
            None => err("normal takes mean= and sd=, e.g. normal(mean=100, sd=15)"),
        },
        "lognormal" => {
            if let Some(v) = want(&["median", "p90"]) {
                lognormal_median_p90(v[0], v[1], domain)
            } else if let Some(v) = want(&["mu", "sigma"]) {
                lognormal(v[0], v[1], domain)
            } else if let Some(v) = want(&["mean", "sd"]) {
                lognormal_mean_sd(v[0], v[1], domain)
            } else {
                err("lognormal takes (median=, p90=), (mu=, sigma=) or (mean=, sd=)")
            }
        }
        "gamma" => {
            if let Some(v) = want(&["mean", "sd"]) {
                if !(v[0] > 0.0 && v[1] > 0.0) {
                    return err("gamma needs mean > 0 and sd > 0");
                }
                gamma(v[0] * v[0] / (v[1] * v[1]), v[1] * v[1] / v[0], domain)
            } else if let Some(v) = want(&["shape", "scale"]) {
                gamma(v[0], v[1], domain)
            } else {
                err("gamma takes (mean=, sd=) or (shape=, scale=)")
            }
        }
        "beta" => {
            if let Some(v) = want(&["alpha", "beta"]) {
                beta(v[0], v[1], domain)
            } else if let Some(v) = want(&["mean", "n"]) {
                let (m, n) = (v[0], v[1]);
                if !(m > 0.0 && m < 1.0) {
                    return err("beta(mean=, n=) needs 0 < mean < 1");
                }
                if !(n > 0.0 && n.is_finite()) {
                    return err("beta(mean=, n=) needs n > 0 (n = alpha + beta)");
                }
                beta(m * n, (1.0 - m) * n, domain)
            } else {
                err("beta takes (alpha=, beta=) or (mean=, n=)")
            }
        }
        _ => err(format!("unknown distribution '{name}'; expected {FORMS}")),
    }
}

/// Parse a plain number, accepting `_` digit separators as TOML does.
fn parse_number(s: &str) -> Option<f64> {
    let cleaned: String = s.chars().filter(|c| *c != '_').collect();
    if cleaned.is_empty() {
        return None;
    }
    cleaned.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// `35%` (or `35 %`): the number of percent.
fn percent(s: &str) -> Option<f64> {
    parse_number(s.strip_suffix('%')?.trim_end())
}

/// `20% to 40%`: both ends in percent.
fn split_to_percent(s: &str) -> Option<(f64, f64)> {
    let lower = s.to_ascii_lowercase();
    let pos = lower.find(" to ")?;
    Some((percent(s[..pos].trim())?, percent(s[pos + 4..].trim())?))
}

fn split_to(s: &str) -> Option<(f64, f64)> {
    let lower = s.to_ascii_lowercase();
    let pos = lower.find(" to ")?;
    let a = parse_number(s[..pos].trim())?;
    let b = parse_number(s[pos + 4..].trim())?;
    Some((a, b))
}

fn parse_args(inner: &str) -> Result<Vec<(String, f64)>, DistError> {
    let mut out: Vec<(String, f64)> = Vec::new();
    if inner.trim().is_empty() {
        return Ok(out);
    }
    for part in inner.split(',') {
        let Some((k, v)) = part.split_once('=') else {
            return err(format!("argument '{}' is not name=value", part.trim()));
        };
        let key = k.trim().to_ascii_lowercase();
        let Some(value) = parse_number(v.trim()) else {
            return err(format!(
                "argument {key}= has '{}', which is not a number",
                v.trim()
            ));
        };
        if out.iter().any(|(n, _)| *n == key) {
            return err(format!("argument {key}= is given twice"));
        }
        out.push((key, value));
    }
    Ok(out)
}

fn bounded_check(min: f64, max: f64, domain: Domain, what: &str) -> Result<(), DistError> {
    if !(min < max) {
        return err(format!("{what} needs min < max"));
    }
    if !domain.contains_interval(min, max) {
        return err(format!(
            "{what} on [{min}, {max}] leaves the parameter's domain; expected {}",
            domain.describe()
        ));
    }
    Ok(())
}

fn uniform(min: f64, max: f64, domain: Domain) -> Result<Dist, DistError> {
    bounded_check(min, max, domain, "uniform")?;
    Ok(Dist::Uniform { lo: min, hi: max })
}

fn triangular(min: f64, mode: f64, max: f64, domain: Domain) -> Result<Dist, DistError> {
    bounded_check(min, max, domain, "triangular")?;
    if !(min <= mode && mode <= max) {
        return err("triangular needs min <= mode <= max");
    }
    Ok(Dist::Triangular { min, mode, max })
}

fn pert(min: f64, mode: f64, max: f64, domain: Domain) -> Result<Dist, DistError> {
    bounded_check(min, max, domain, "pert")?;
    if !(min <= mode && mode <= max) {
        return err("pert needs min <= mode <= max");
    }
    let range = max - min;
    let a = 1.0 + 4.0 * (mode - min) / range;
    let b = 1.0 + 4.0 * (max - mode) / range;
    scaled_beta(min, range, a, b)
}

fn normal(mean: f64, sd: f64, domain: Domain) -> Result<Dist, DistError> {
    if !(sd > 0.0 && sd.is_finite() && mean.is_finite()) {
        return err("normal needs a finite mean and sd > 0");
    }
    // truncated to the domain (MODEL.md); what is sampled must still
    // resemble what was written: at least half of the mass inside
    let (lo, hi) = domain.bounds();
    let window = NormalWindow::new(mean, sd, lo, hi);
    let mass = window.mass();
    if !(mass >= 0.5) {
        let pct = 100.0 * mass;
        let inside = if pct >= 0.01 {
            // enough digits not to print 50.00% for a mass just below half
            let digits = if pct > 49.99 { 5 } else { 2 };
            format!("{pct:.digits$}%")
        } else {
            "less than 0.01%".to_string()
        };
        let instead = match domain {
            Domain::Amount | Domain::Positive => {
                "use a lognormal or gamma, e.g. lognormal(mean=, sd=) or gamma(mean=, sd=), for a skewed non-negative quantity"
            }
            Domain::Probability => {
                "use a beta, e.g. beta(mean=, n=) or \"A to B\" with 0 < A < B < 1, for a probability"
            }
            Domain::Rate => {
                "use \"A to B\" with -1 < A < B < 1, a beta (beta(mean=, n=)) for a rate in (0, 1), or uniform/triangular/pert inside the range"
            }
        };
        return err(format!(
            "normal(mean={mean}, sd={sd}) is truncated to the parameter's domain ({}), but only {inside} of its mass is inside (at least half is required); {instead}",
            domain.describe()
        ));
    }
    Ok(Dist::Normal {
        mean,
        sd,
        lo,
        hi,
        window,
        months: MonthTable::default(),
    })
}

fn unbounded_positive(domain: Domain, what: &str) -> Result<(), DistError> {
    match domain {
        Domain::Amount | Domain::Positive => Ok(()),
        Domain::Probability | Domain::Rate => err(format!(
            "a {what} distribution is unbounded above, but this parameter must be {}; {}",
            domain.describe(),
            domain.what_to_use()
        )),
    }
}

fn lognormal(mu: f64, sigma: f64, domain: Domain) -> Result<Dist, DistError> {
    unbounded_positive(domain, "lognormal")?;
    if !(mu.is_finite() && sigma > 0.0 && sigma.is_finite()) {
        return err("lognormal needs a finite mu and sigma > 0");
    }
    Ok(Dist::LogNormal {
        mu,
        sigma,
        months: MonthTable::default(),
    })
}

fn lognormal_median_p90(median: f64, p90: f64, domain: Domain) -> Result<Dist, DistError> {
    if !(median > 0.0 && p90 > median) {
        return err("lognormal(median=, p90=) needs 0 < median < p90");
    }
    lognormal(median.ln(), (p90 / median).ln() / Z90, domain)
}

fn lognormal_mean_sd(mean: f64, sd: f64, domain: Domain) -> Result<Dist, DistError> {
    if !(mean > 0.0 && sd > 0.0) {
        return err("lognormal(mean=, sd=) needs mean > 0 and sd > 0");
    }
    let s2 = (1.0 + (sd * sd) / (mean * mean)).ln();
    lognormal(mean.ln() - 0.5 * s2, s2.sqrt(), domain)
}

fn gamma(shape: f64, scale: f64, domain: Domain) -> Result<Dist, DistError> {
    unbounded_positive(domain, "gamma")?;
    if !(shape > 0.0 && scale > 0.0 && shape.is_finite() && scale.is_finite()) {
        return err("gamma needs shape > 0 and scale > 0");
    }
    gamma_dist(shape, scale)
}

/// Largest gamma shape: sd/mean = 1/√shape = 10⁻⁶, a fixed number for
/// every purpose; the incomplete gamma functions the quantiles and the
/// month tables need take time growing with √shape beyond it.
pub const MAX_GAMMA_SHAPE: f64 = 1e12;

pub(super) fn gamma_dist(shape: f64, scale: f64) -> Result<Dist, DistError> {
    if shape > MAX_GAMMA_SHAPE {
        return err(format!(
            "this gamma's shape is {} (sd/mean {}): at most 1e12 (sd/mean 1e-6); a quantity this certain is a fixed number — write the number",
            crate::dist::number_text(shape),
            crate::dist::number_text(1.0 / shape.sqrt())
        ));
    }
    match Gamma::new(shape, scale) {
        Ok(sampler) => Ok(Dist::Gamma {
            shape,
            scale,
            sampler,
            months: MonthTable::default(),
        }),
        Err(e) => err(format!("invalid gamma: {e}")),
    }
}

pub(super) fn scaled_beta(min: f64, range: f64, alpha: f64, beta: f64) -> Result<Dist, DistError> {
    if !(alpha > 0.0 && beta > 0.0 && alpha.is_finite() && beta.is_finite()) {
        return err("beta needs alpha > 0 and beta > 0");
    }
    let gammas = match (Gamma::new(alpha, 1.0), Gamma::new(beta, 1.0)) {
        (Ok(ga), Ok(gb)) => (ga, gb),
        (Err(e), _) | (_, Err(e)) => return err(format!("invalid beta: {e}")),
    };
    match Beta::new(alpha, beta) {
        Ok(sampler) => Ok(Dist::ScaledBeta {
            min,
            range,
            alpha,
            beta,
            sampler,
            gammas,
            months: MonthTable::default(),
        }),
        Err(e) => err(format!("invalid beta: {e}")),
    }
}

fn beta(a: f64, b: f64, _domain: Domain) -> Result<Dist, DistError> {
    // Support (0, 1) lies inside every domain.
    scaled_beta(0.0, 1.0, a, b)
}

fn interval90(a: f64, b: f64, domain: Domain) -> Result<Dist, DistError> {
    match domain {
        Domain::Amount | Domain::Positive => {
            if !(a > 0.0 && b > a) {
                return err(format!(
                    "\"A to B\" is a 90% interval fitted as a lognormal here; it needs 0 < A < B (got {a} to {b})"
                ));
            }
            let mu = 0.5 * (a.ln() + b.ln());
            let sigma = (b.ln() - a.ln()) / (2.0 * Z95);
            lognormal(mu, sigma, domain)
        }
        Domain::Probability => {
            if !(a > 0.0 && b > a && b < 1.0) {
                return err(format!(
                    "\"A to B\" is a 90% interval fitted as a beta here; it needs 0 < A < B < 1 (got {a} to {b})"
                ));
            }
            let (alpha, beta_) = fit_beta_90(a, b)?;
            beta(alpha, beta_, domain)
        }
        Domain::Rate => {
            if !(a > -1.0 && b > a && b < 1.0) {
                return err(format!(
                    "\"A to B\" on a monthly rate is a 90% interval fitted as a normal with P5 = A and P95 = B, truncated to (-1, 1); it needs -1 < A < B < 1 (got {a} to {b})"
                ));
            }
            normal(0.5 * (a + b), (b - a) / (2.0 * Z95), domain)
        }
    }
}
