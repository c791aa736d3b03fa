//! Unit tests of the CDFs, their inverses and the truncated normal: Φ⁻¹
//! against known values and Φ, `quantile ∘ cdf` and `cdf ∘ quantile` for
//! every form on a grid reaching 1e-12 into both tails, the truncated
//! normal's sampler against its CDF (Kolmogorov–Smirnov) and mean, the
//! half-mass rule, `"A to B"` on a rate, and scaling in the domain.

use super::normal::{normal_mass_above, std_pdf};
use super::*;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// A generator for stream `(a, b, c)` (the engine's streams are not used:
/// `dist` comes before `engine` in the module layering).
fn stream_rng(a: u64, b: u64, c: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (b << 20) ^ c)
}

/// Probabilities from 1e-12 to 1 − 1e-12.
const GRID: [f64; 19] = [
    1e-12,
    1e-10,
    1e-8,
    1e-6,
    1e-4,
    1e-3,
    0.01,
    0.05,
    0.2,
    0.4,
    0.5,
    0.6,
    0.8,
    0.95,
    0.99,
    0.999,
    0.9999,
    0.999_999,
    0.999_999_999,
];

/// Upper-tail probabilities down to 1e-12 (for `quantile_upper`/`sf`).
const UPPER: [f64; 6] = [1e-12, 1e-10, 1e-8, 1e-6, 1e-4, 1e-2];

fn rel(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / a.abs().max(b.abs())
    }
}

/// Every form with a continuous law, in its domain.
fn forms() -> Vec<(&'static str, Domain)> {
    vec![
        ("uniform(min=2, max=5)", Domain::Amount),
        ("uniform(min=-0.02, max=0.03)", Domain::Rate),
        ("triangular(min=1, mode=2, max=6)", Domain::Amount),
        ("triangular(min=0, mode=0, max=10)", Domain::Amount),
        ("triangular(min=0, mode=10, max=10)", Domain::Amount),
        ("pert(min=10, mode=60, max=400)", Domain::Amount),
        ("pert(min=0.1, mode=0.2, max=0.6)", Domain::Probability),
        ("beta(alpha=2, beta=5)", Domain::Probability),
        ("beta(alpha=0.5, beta=0.5)", Domain::Probability),
        ("beta(alpha=0.1, beta=3)", Domain::Probability),
        ("beta(alpha=30, beta=0.7)", Domain::Probability),
        ("beta(alpha=200, beta=300)", Domain::Probability),
        ("beta(alpha=5000, beta=2)", Domain::Probability),
        ("0.4 to 0.6", Domain::Probability),
        ("gamma(mean=85, sd=35)", Domain::Amount),
        ("gamma(shape=0.7, scale=60)", Domain::Amount),
        ("gamma(shape=0.05, scale=1)", Domain::Amount),
        ("gamma(shape=1, scale=2)", Domain::Amount),
        ("gamma(shape=12000, scale=0.01)", Domain::Amount),
        ("lognormal(median=90, p90=400)", Domain::Amount),
        ("100 to 400", Domain::Positive),
        ("normal(mean=100, sd=15)", Domain::Amount),
        ("normal(mean=10, sd=15)", Domain::Amount),
        ("normal(mean=1, sd=2)", Domain::Positive),
        ("normal(mean=0.9, sd=0.2)", Domain::Probability),
        ("normal(mean=0.3, sd=0.05)", Domain::Probability),
        ("normal(mean=0.01, sd=0.004)", Domain::Rate),
        ("normal(mean=0.3, sd=0.6)", Domain::Rate),
        ("-0.01 to 0.02", Domain::Rate),
    ]
}

#[test]
fn standard_normal_quantile_is_accurate() {
    // known values (to the last digit of a double)
    for (p, z) in [
        (0.5, 0.0),
        (0.975, 1.959_963_984_540_054),
        (0.95, fit::Z95),
        (0.9, fit::Z90),
        (1e-10, -6.361_340_902_404_056),
        (0.025, -1.959_963_984_540_054),
    ] {
        let got = standard_normal_quantile(p);
        assert!(
            (got - z).abs() <= 2e-15 * z.abs().max(1.0),
            "Φ⁻¹({p}) = {got}, expected {z}"
        );
    }
    // Φ(Φ⁻¹(p)) = p from 1e-300 to 1/2, and symmetry
    let mut p = 1e-300_f64;
    while p < 0.5 {
        let z = standard_normal_quantile(p);
        // Φ's relative change for a relative change ε of z is about z²·ε
        let tol = 8.0 * f64::EPSILON * z.mul_add(z, 1.0);
        assert!(
            rel(normal_cdf(z), p) < tol,
            "Φ(Φ⁻¹({p})) = {}",
            normal_cdf(z)
        );
        assert_eq!(
            standard_normal_quantile(1.0 - p),
            -standard_normal_quantile(1.0 - (1.0 - p))
        );
        // against statrs' erfc⁻¹
        let other = -std::f64::consts::SQRT_2 * statrs::function::erf::erfc_inv(2.0 * p);
        assert!(rel(z, other) < 1e-12, "Φ⁻¹({p}) = {z} vs {other}");
        p *= 1.7;
    }
    assert_eq!(standard_normal_quantile(0.0), f64::NEG_INFINITY);
    assert_eq!(standard_normal_quantile(1.0), f64::INFINITY);
    assert!(standard_normal_quantile(f64::NAN).is_nan());
}

#[test]
fn normal_mass_is_accurate_when_the_ends_nearly_cancel() {
    // Gauss–Legendre: the weights sum to 1 per half, x^14 integrates exactly
    let mut s = 0.0;
    let mut m14 = 0.0;
    for (x, w) in normal::GL8 {
        s += 2.0 * w;
        m14 += 2.0 * w * x.powi(14);
    }
    assert!((s - 2.0).abs() < 1e-15);
    assert!((m14 - 2.0 / 15.0).abs() < 1e-15);
    // where the direct difference is still accurate, both agree
    for a in [-8.0, -3.0, -1.0, -0.3, 0.0, 0.5, 2.0, 6.0] {
        for h in [1e-3, 0.05, 0.2, 0.9] {
            let z: f64 = a + h;
            let direct = if z <= 0.0 {
                normal_cdf(z) - normal_cdf(a)
            } else {
                normal_cdf(-a) - normal_cdf(-z)
            };
            let tol = if h < 0.01 { 1e-10 } else { 1e-13 };
            assert!(
                rel(normal_mass_above(a, h), direct) < tol,
                "a={a} h={h}: {} vs {direct}",
                normal_mass_above(a, h)
            );
        }
    }
    // a tiny width: φ(a)·h·(1 − a·h/2) to second order
    for a in [-5.0, -0.7, 0.0, 1.5] {
        let h = 1e-9;
        let expect = std_pdf(a) * h * (1.0 - 0.5 * a * h);
        assert!(rel(normal_mass_above(a, h), expect) < 1e-15);
    }
    assert_eq!(normal_mass_above(-1.0, 0.0), 0.0);
    assert!(rel(normal_mass_above(-1.0, f64::INFINITY), normal_cdf(1.0)) < 1e-16);
}

/// The probability of `x`'s own rounding at the `u`-quantile: the density
/// (from the quantile's slope) times a few ulps of `x`.
fn rounding_slack(d: &Dist, x: f64, u: f64) -> f64 {
    let h = 1e-4;
    let (tail, lo, hi) = if u <= 0.5 {
        (u, d.quantile(u * (1.0 - h)), d.quantile(u * (1.0 + h)))
    } else {
        let q = 1.0 - u;
        (
            q,
            d.quantile_upper(q * (1.0 + h)),
            d.quantile_upper(q * (1.0 - h)),
        )
    };
    let density = 2.0 * h * tail / (hi - lo).abs();
    4.0 * f64::EPSILON * x.abs() * density
}

/// `cdf(quantile(u)) = u` (lower half) and `sf(quantile(u)) = 1 − u`
/// (upper half), `sf(quantile_upper(q)) = q`, and `quantile(cdf(x)) = x`
/// on a grid of `x` between the quantiles, for every form.
#[test]
fn quantile_inverts_the_cdf_for_every_form() {
    for (text, domain) in forms() {
        let d = parse(text, domain).unwrap();
        let mut xs = Vec::new();
        for &u in &GRID {
            let x = d.quantile(u);
            assert!(x.is_finite(), "{text}: quantile({u}) = {x}");
            assert!(domain.contains(x), "{text}: quantile({u}) = {x} outside");
            // the CDF at the quantile, from the accurate side, up to the
            // probability of x's own rounding (density × ulp)
            let (got, want) = if u <= 0.5 {
                (d.cdf(x), u)
            } else {
                (d.sf(x), 1.0 - u)
            };
            let slack = rounding_slack(&d, x, u);
            assert!(
                (got - want).abs() <= 1e-9 * want + slack,
                "{text}: at u = {u}: x = {x}, probability {got} vs {want}"
            );
            xs.push(x);
        }
        for &q in &UPPER {
            let x = d.quantile_upper(q);
            assert!(
                domain.contains(x),
                "{text}: quantile_upper({q}) = {x} outside"
            );
            let slack = rounding_slack(&d, x, 1.0 - q);
            assert!(
                (d.sf(x) - q).abs() <= 1e-9 * q + slack,
                "{text}: sf(quantile_upper({q})) = {} ",
                d.sf(x)
            );
        }
        // quantile(cdf(x)) = x between the grid's quantiles
        for w in xs.windows(2) {
            let x = 0.5 * (w[0] + w[1]);
            let (u, back) = {
                let u = d.cdf(x);
                if u <= 0.5 {
                    (u, d.quantile(u))
                } else {
                    let q = d.sf(x);
                    (1.0 - q, d.quantile_upper(q))
                }
            };
            assert!(
                rel(back, x) < 1e-10 || (back - x).abs() < 1e-12 * (w[1] - w[0]).abs(),
                "{text}: x = {x}, cdf = {u}, back to {back}"
            );
        }
        // monotone
        assert!(xs.windows(2).all(|w| w[0] <= w[1]), "{text}: not monotone");
    }
}

/// The CDFs against an independent computation (statrs' distributions and
/// the textbook truncated-normal formula) in the body.
#[test]
fn cdf_matches_statrs() {
    use statrs::distribution::{ContinuousCDF, Gamma as SGamma, LogNormal as SLogNormal};
    let g = parse("gamma(shape=0.7, scale=60)", Domain::Amount).unwrap();
    let sg = SGamma::new(0.7, 1.0 / 60.0).unwrap();
    let ln = parse("lognormal(mu=1, sigma=0.5)", Domain::Amount).unwrap();
    let sln = SLogNormal::new(1.0, 0.5).unwrap();
    for x in [0.5, 3.0, 10.0, 60.0, 300.0] {
        assert!(rel(g.cdf(x), sg.cdf(x)) < 1e-13);
        assert!(rel(g.sf(x), sg.sf(x)) < 1e-13);
        // statrs' lognormal uses its erfc, good to about 1e-10 only
        assert!(rel(ln.cdf(x), sln.cdf(x)) < 1e-9);
    }
    let b = parse("pert(min=10, mode=60, max=400)", Domain::Amount).unwrap();
    let (al, be) = (1.0 + 4.0 * 50.0 / 390.0, 1.0 + 4.0 * 340.0 / 390.0);
    for x in [20.0, 80.0, 200.0, 390.0] {
        let y = (x - 10.0) / 390.0;
        let want = statrs::function::beta::beta_reg(al, be, y);
        assert!(rel(b.cdf(x), want) < 1e-13);
        assert!((b.sf(x) - (1.0 - want)).abs() < 1e-15);
    }
    // truncated normal: (Φ(z) − Φ(a)) / (Φ(b) − Φ(a))
    let n = parse("normal(mean=0.9, sd=0.2)", Domain::Probability).unwrap();
    let (a, bb) = (-4.5, 0.5);
    let mass = normal_cdf(bb) - normal_cdf(a);
    for x in [0.1, 0.5, 0.8, 0.95, 0.999] {
        let want = (normal_cdf((x - 0.9) / 0.2) - normal_cdf(a)) / mass;
        assert!(rel(n.cdf(x), want) < 1e-12, "{x}: {} vs {want}", n.cdf(x));
        assert!(rel(n.sf(x), 1.0 - want) < 1e-10);
    }
    assert_eq!(n.cdf(0.0), 0.0);
    assert_eq!(n.cdf(1.0), 1.0);
    assert_eq!(n.sf(1.0), 0.0);
}

/// A truncated normal's quantile close to a finite end keeps its relative
/// accuracy in the distance to the end (no cancellation).
#[test]
fn truncated_quantile_is_accurate_next_to_the_end() {
    let d = parse("normal(mean=10, sd=15)", Domain::Amount).unwrap();
    let Dist::Normal { window, .. } = &d else {
        panic!("a normal")
    };
    let a = window.a();
    let mass = window.mass();
    for u in [1e-15, 1e-12, 1e-9, 1e-6] {
        let x = d.quantile(u);
        // x = sd·t with Φ(a + t) − Φ(a) = u·M: to first orders,
        // t ≈ δ/φ(a) · (1 + a·δ/(2φ(a)))
        let delta = u * mass;
        let t1 = delta / std_pdf(a);
        let t = t1 * (1.0 + 0.5 * a * t1);
        assert!(
            rel(x, 15.0 * t) < 1e-8 * (1.0 + t / 1e-7),
            "u = {u}: {x} vs {}",
            15.0 * t
        );
        assert!(rel(d.cdf(x), u) < 1e-12, "u = {u}: cdf {}", d.cdf(x));
    }
    // the ends stay inside: never 0 for a positive quantity, never ±1 for a rate
    let p = parse("normal(mean=1, sd=2)", Domain::Positive).unwrap();
    assert!(p.quantile(0.0) > 0.0 && p.quantile(1.0).is_finite());
    let r = parse("normal(mean=0.3, sd=0.6)", Domain::Rate).unwrap();
    assert!(r.quantile(0.0) > -1.0 && r.quantile(1.0) < 1.0);
    assert!(r.quantile_upper(0.0) < 1.0);
    assert!(d.quantile(f64::NAN).is_nan());
}

fn ks_statistic(d: &Dist, xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len() as f64;
    let mut dmax = 0.0_f64;
    for (i, &x) in xs.iter().enumerate() {
        let f = d.cdf(x);
        dmax = dmax.max((i as f64 + 1.0) / n - f).max(f - i as f64 / n);
    }
    dmax
}

/// The truncated normal's draws have its truncated CDF (KS below the 0.1%
/// critical value) and its mean (within 4 standard errors), and stay inside
/// the domain; for cuts at one end, both ends, a rate, and far inside.
#[test]
fn truncated_normal_draws_have_the_truncated_law() {
    let n = 200_000;
    for (i, (text, domain)) in [
        ("normal(mean=10, sd=15)", Domain::Amount),
        ("normal(mean=1, sd=2)", Domain::Positive),
        ("normal(mean=0.9, sd=0.2)", Domain::Probability),
        ("normal(mean=0.5, sd=0.7)", Domain::Probability),
        ("normal(mean=0.3, sd=0.6)", Domain::Rate),
        ("-0.01 to 0.02", Domain::Rate),
        ("normal(mean=100, sd=15)", Domain::Amount),
    ]
    .into_iter()
    .enumerate()
    {
        let d = parse(text, domain).unwrap();
        let mut rng = stream_rng(11, i as u64, 3);
        let mut xs: Vec<f64> = (0..n).map(|_| d.sample(&mut rng)).collect();
        let (lo, hi) = domain.bounds();
        assert!(
            xs.iter().all(|&x| x > lo && x < hi && domain.contains(x)),
            "{text}: a draw outside ({lo}, {hi})"
        );
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n as f64 - 1.0);
        let se = (var / n as f64).sqrt();
        assert!(
            (mean - d.mean()).abs() < 4.0 * se,
            "{text}: sample mean {mean} vs {} (se {se})",
            d.mean()
        );
        let ks = ks_statistic(&d, &mut xs);
        let critical = 1.95 / (n as f64).sqrt();
        assert!(ks < critical, "{text}: KS {ks} >= {critical}");
    }
}

/// The exact truncated mean, against numerical integration of the CDF.
#[test]
fn truncated_normal_mean_is_exact() {
    for (text, domain) in [
        ("normal(mean=0.9, sd=0.2)", Domain::Probability),
        ("normal(mean=10, sd=15)", Domain::Amount),
        ("normal(mean=0.3, sd=0.6)", Domain::Rate),
    ] {
        let d = parse(text, domain).unwrap();
        let Dist::Normal { lo, hi, .. } = d else {
            panic!("a normal")
        };
        let hi = if hi.is_finite() { hi } else { 200.0 };
        // E X = lo + ∫ sf over (lo, hi), by the midpoint rule
        let steps = 200_000;
        let h = (hi - lo) / steps as f64;
        let integral: f64 = (0..steps)
            .map(|k| d.sf(lo + (k as f64 + 0.5) * h))
            .sum::<f64>()
            * h;
        assert!(
            rel(lo + integral, d.mean()) < 1e-8,
            "{text}: {} vs {}",
            lo + integral,
            d.mean()
        );
    }
}

/// A normal needs at least half of its mass inside the domain; the error
/// says how much is inside and what to use instead.
#[test]
fn normal_needs_half_its_mass_inside() {
    // Amount: Φ(0.01) = 0.504 inside; Φ(−0.01) = 0.496
    assert!(parse("normal(mean=0.01, sd=1)", Domain::Amount).is_ok());
    let e = parse("normal(mean=-0.01, sd=1)", Domain::Amount).unwrap_err();
    assert!(e.0.contains("49.60%") && e.0.contains("lognormal"), "{e}");
    // Probability: 2Φ(0.5/0.74) − 1 = 0.5004; 2Φ(0.5/0.75) − 1 = 0.4950
    assert!(parse("normal(mean=0.5, sd=0.74)", Domain::Probability).is_ok());
    let e = parse("normal(mean=0.5, sd=0.75)", Domain::Probability).unwrap_err();
    assert!(e.0.contains("49.5") && e.0.contains("beta"), "{e}");
    // normals on probabilities and rates are valid
    assert!(parse("normal(mean=0.3, sd=0.05)", Domain::Probability).is_ok());
    assert!(parse("normal(mean=0.01, sd=0.004)", Domain::Rate).is_ok());
    assert!(parse("normal(mean=-0.5, sd=0.01)", Domain::Rate).is_ok());
    // far outside
    let e = parse("normal(mean=-50, sd=1)", Domain::Positive).unwrap_err();
    assert!(e.0.contains("less than 0.01%"), "{e}");
    assert!(parse("normal(mean=2, sd=0.1)", Domain::Rate).is_err());
    // still invalid whatever the domain
    assert!(parse("normal(mean=1, sd=0)", Domain::Amount).is_err());
}

/// `"A to B"` on a monthly rate: a normal with P5 = A and P95 = B (before
/// truncation to (−1, 1)), which may be negative.
#[test]
fn a_to_b_on_a_rate_is_a_normal() {
    for (text, a, b) in [
        ("-0.01 to 0.02", -0.01, 0.02),
        ("0.01 to 0.03", 0.01, 0.03),
        ("-0.9 to 0.9", -0.9, 0.9),
        ("-0.05 to -0.02", -0.05, -0.02),
    ] {
        let d = parse(text, Domain::Rate).unwrap();
        let Dist::Normal {
            mean, sd, lo, hi, ..
        } = d
        else {
            panic!("{text}: expected a normal, got {d:?}")
        };
        assert_eq!((lo, hi), (-1.0, 1.0));
        let p5 = mean + sd * standard_normal_quantile(0.05);
        let p95 = mean + sd * standard_normal_quantile(0.95);
        assert!(
            (p5 - a).abs() < 1e-15 && (p95 - b).abs() < 1e-15,
            "{text}: {p5} to {p95}"
        );
        if b - a < 1.0 {
            // truncation negligible: the law's own quantiles too
            assert!((d.quantile(0.05) - a).abs() < 1e-12, "{text}");
            assert!((d.quantile(0.95) - b).abs() < 1e-12, "{text}");
        }
    }
    let d = parse("-0.01 to 0.02", Domain::Rate).unwrap();
    let mut rng = stream_rng(3, 1, 4);
    let negative = (0..10_000).filter(|_| d.sample(&mut rng) < 0.0).count();
    // P(X < 0) = Φ((0 − 0.005)/sd) with sd = 0.03/(2·1.645): about 29%
    assert!(
        (2_500..3_300).contains(&negative),
        "{negative} negative draws"
    );
    for bad in ["-1 to 0.5", "0.5 to 0.2", "-0.5 to 1", "0.1 to 0.1"] {
        let e = parse(bad, Domain::Rate).unwrap_err();
        assert!(e.0.contains("-1 < A < B < 1"), "{bad}: {e}");
    }
    // elsewhere "A to B" keeps its fits
    assert!(matches!(
        parse("0.01 to 0.03", Domain::Probability),
        Ok(Dist::ScaledBeta { .. })
    ));
    assert!(matches!(
        parse("1 to 3", Domain::Amount),
        Ok(Dist::LogNormal { .. })
    ));
    // uniform/triangular/pert on a rate still work, gamma/lognormal do not
    assert!(parse("uniform(min=-0.02, max=0.03)", Domain::Rate).is_ok());
    assert!(parse("triangular(min=-0.02, mode=0, max=0.03)", Domain::Rate).is_ok());
    assert!(parse("pert(min=-0.02, mode=0, max=0.03)", Domain::Rate).is_ok());
    assert!(parse("gamma(mean=0.01, sd=0.004)", Domain::Rate).is_err());
    assert!(parse("lognormal(median=0.01, p90=0.02)", Domain::Rate).is_err());
}

/// Scaling a normal gives the law of factor·X (bounds scaled too), and
/// `scaled_in_domain` checks the scaled range against the domain.
#[test]
fn scaled_normal_is_factor_times_x() {
    let d = parse("normal(mean=0.9, sd=0.2)", Domain::Probability).unwrap();
    let s = scaled_in_domain(&d, 0.9, Domain::Probability).unwrap();
    let Dist::Normal { lo, hi, .. } = s else {
        panic!("a normal")
    };
    assert_eq!((lo, hi), (0.0, 0.9));
    assert!(rel(s.mean(), 0.9 * d.mean()) < 1e-15);
    for u in GRID {
        assert!(rel(s.quantile(u), 0.9 * d.quantile(u)) < 1e-14, "{u}");
        assert!((s.cdf(0.9 * d.quantile(u)) - d.cdf(d.quantile(u))).abs() < 1e-12);
    }
    let mut a = stream_rng(2, 0, 1);
    let mut b = stream_rng(2, 0, 1);
    for _ in 0..10_000 {
        let (x, y) = (d.sample(&mut a), s.sample(&mut b));
        assert!(rel(y, 0.9 * x) < 1e-14);
    }
    assert!(scaled_in_domain(&d, 1.2, Domain::Probability).is_err());
    let r = parse("normal(mean=0.01, sd=0.004)", Domain::Rate).unwrap();
    assert!(scaled_in_domain(&r, 1.0, Domain::Rate).is_ok());
    assert!(scaled_in_domain(&r, 0.5, Domain::Rate).is_ok());
    assert!(scaled_in_domain(&r, 1.1, Domain::Rate).is_err());
    let m = parse("normal(mean=10, sd=15)", Domain::Amount).unwrap();
    assert!(scaled_in_domain(&m, 7.0, Domain::Amount).is_ok());
    assert!(scaled_in_domain(&m, 7.0, Domain::Probability).is_err());
    // the other forms
    let checks: [(&str, Domain, f64, bool); 10] = [
        ("beta(alpha=2, beta=5)", Domain::Probability, 1.0, true),
        ("beta(alpha=2, beta=5)", Domain::Probability, 1.5, false),
        ("beta(alpha=2, beta=5)", Domain::Positive, 3.0, true),
        ("uniform(min=0.2, max=0.8)", Domain::Probability, 1.25, true),
        ("uniform(min=0.2, max=0.8)", Domain::Probability, 1.3, false),
        (
            "pert(min=-0.02, mode=0, max=0.03)",
            Domain::Rate,
            30.0,
            true,
        ),
        (
            "pert(min=-0.02, mode=0, max=0.03)",
            Domain::Rate,
            60.0,
            false,
        ),
        ("lognormal(median=1, p90=2)", Domain::Positive, 3.0, true),
        ("gamma(mean=1, sd=2)", Domain::Amount, 0.1, true),
        ("0.4 to 0.6", Domain::Probability, 2.0, false),
    ];
    for (text, domain, factor, ok) in checks {
        let d = parse(text, domain).unwrap();
        assert_eq!(
            scaled_in_domain(&d, factor, domain).is_ok(),
            ok,
            "{text} × {factor}"
        );
    }
}

/// Time per `quantile` call for each form (run with `--ignored
/// --nocapture`, optimised); statrs' inverse CDFs alongside for
/// comparison.
#[test]
#[ignore]
fn time_quantiles() {
    use statrs::distribution::{Beta as SBeta, ContinuousCDF, Gamma as SGamma};
    use std::hint::black_box;
    use std::time::Instant;
    let n = 200_000;
    let us: Vec<f64> = (0..n).map(|i| (i as f64 + 0.5) / n as f64).collect();
    let time = |name: &str, f: &dyn Fn(f64) -> f64| {
        let t = Instant::now();
        let mut s = 0.0;
        for &u in &us {
            s += f(black_box(u));
        }
        black_box(s);
        println!(
            "{name:42} {:8.1} ns",
            t.elapsed().as_nanos() as f64 / n as f64
        );
    };
    time("standard_normal_quantile", &standard_normal_quantile);
    for (text, domain) in [
        ("3", Domain::Amount),
        ("uniform(min=2, max=5)", Domain::Amount),
        ("triangular(min=1, mode=2, max=6)", Domain::Amount),
        ("pert(min=10, mode=60, max=400)", Domain::Amount),
        ("0.4 to 0.6", Domain::Probability),
        ("beta(alpha=0.5, beta=0.5)", Domain::Probability),
        ("normal(mean=100, sd=15)", Domain::Amount),
        ("normal(mean=10, sd=15)", Domain::Amount),
        ("normal(mean=0.9, sd=0.2)", Domain::Probability),
        ("-0.01 to 0.02", Domain::Rate),
        ("lognormal(median=90, p90=400)", Domain::Amount),
        ("gamma(mean=85, sd=35)", Domain::Amount),
        ("gamma(shape=0.7, scale=60)", Domain::Amount),
        ("gamma(shape=12000, scale=0.01)", Domain::Amount),
    ] {
        let d = parse(text, domain).unwrap();
        time(text, &|u| d.quantile(u));
    }
    let g = SGamma::new(5.897_959_183_673_469, 1.0 / 14.411_764_705_882_353).unwrap();
    time("statrs Gamma(5.9) inverse_cdf", &|u| g.inverse_cdf(u));
    let b = SBeta::new(1.512_820_512_820_513, 4.487_179_487_179_487).unwrap();
    time("statrs Beta(1.5, 4.5) inverse_cdf", &|u| b.inverse_cdf(u));
    let d = parse("normal(mean=10, sd=15)", Domain::Amount).unwrap();
    let mut rng = stream_rng(1, 1, 1);
    let t = Instant::now();
    let mut s = 0.0;
    for _ in 0..n {
        s += d.sample(&mut rng);
    }
    black_box(s);
    println!(
        "{:42} {:8.1} ns",
        "sample normal(mean=10, sd=15)",
        t.elapsed().as_nanos() as f64 / n as f64
    );
}
