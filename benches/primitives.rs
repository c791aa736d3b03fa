//! Nanoseconds per draw of the sampling primitives the engine uses, called
//! as the engine calls them: prepared binomials ([`BinomialP`]), Poisson,
//! gamma–Poisson lead counts ([`LeadSampler`]), our hypergeometric and
//! multivariate hypergeometric, and [`Dist`] samplers (beta, gamma,
//! lognormal, …) parsed from the forms of `scenario-format.toml`.
//!
//! Each benchmark makes `DRAWS` draws per iteration; criterion's "thrpt" is
//! draws per second, and time / `DRAWS` is the time per draw. The
//! `reference/` entries are rand_distr's constructed-per-call binomial, for
//! comparison with the prepared one.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pipesim::dist::{self, Dist, Domain};
use pipesim::engine::stream_rng;
use pipesim::sampling::{
    BinomialP, LeadSampler, hypergeometric, multivariate_hypergeometric, poisson,
};
use rand_distr::{Binomial, Distribution};

const DRAWS: u64 = 1000;

fn parsed(text: &str, domain: Domain) -> Dist {
    match dist::parse(text, domain) {
        Ok(d) => d,
        Err(e) => panic!("{text}: {e}"),
    }
}

fn primitives(c: &mut Criterion) {
    let mut g = c.benchmark_group("draw");
    g.throughput(Throughput::Elements(DRAWS));
    g.sample_size(20);
    let mut rng = stream_rng(1, 2, 3);

    // (n, p): small n·p (inversion) and large (BTRS), as the funnel sees them
    for (n, p) in [(10u64, 0.05), (220, 0.06), (900, 0.4), (10_000, 0.05)] {
        let b = BinomialP::new(p);
        g.bench_function(format!("binomial/n={n},p={p}"), |bch| {
            bch.iter(|| {
                let mut s = 0u64;
                for _ in 0..DRAWS {
                    s += b.sample(black_box(n), &mut rng);
                }
                s
            })
        });
        g.bench_function(
            format!("reference/rand_distr-binomial-new/n={n},p={p}"),
            |bch| {
                bch.iter(|| {
                    let mut s = 0u64;
                    for _ in 0..DRAWS {
                        if let Ok(d) = Binomial::new(black_box(n), p) {
                            s += d.sample(&mut rng);
                        }
                    }
                    s
                })
            },
        );
    }
    for lambda in [5.0, 363.0, 900.0] {
        g.bench_function(format!("poisson/lambda={lambda}"), |bch| {
            bch.iter(|| {
                let mut s = 0u64;
                for _ in 0..DRAWS {
                    s += poisson(black_box(lambda), &mut rng);
                }
                s
            })
        });
    }
    let gp = LeadSampler::new(Some(25.0));
    g.bench_function("gamma-poisson/lambda=900,k=25", |bch| {
        bch.iter(|| {
            let mut s = 0u64;
            for _ in 0..DRAWS {
                s += gp.sample(black_box(900.0), &mut rng);
            }
            s
        })
    });
    for (nn, k, n) in [(487u64, 360u64, 300u64), (2093, 93, 100)] {
        g.bench_function(format!("hypergeometric/N={nn},K={k},n={n}"), |bch| {
            bch.iter(|| {
                let mut s = 0u64;
                for _ in 0..DRAWS {
                    s += hypergeometric(black_box(nn), k, n, &mut rng);
                }
                s
            })
        });
    }
    g.bench_function("multivariate-hypergeometric/[360,127],k=300", |bch| {
        let mut members = [0u64; 2];
        bch.iter(|| {
            let mut s = 0u64;
            for _ in 0..DRAWS {
                members = [black_box(360), 127];
                multivariate_hypergeometric(&mut members, 300, &mut rng);
                s += members[0];
            }
            s
        })
    });
    for (name, text, domain) in [
        ("beta", "beta(mean=0.40, n=200)", Domain::Probability),
        ("beta-90", "0.40 to 0.60", Domain::Probability),
        ("pert", "pert(min=120, mode=180, max=300)", Domain::Amount),
        (
            "triangular",
            "triangular(min=35, mode=45, max=65)",
            Domain::Amount,
        ),
        ("gamma", "gamma(mean=85, sd=35)", Domain::Amount),
        (
            "lognormal",
            "lognormal(median=14000, p90=38000)",
            Domain::Amount,
        ),
    ] {
        let d = parsed(text, domain);
        g.bench_function(format!("dist/{name}"), |bch| {
            bch.iter(|| {
                let mut s = 0.0;
                for _ in 0..DRAWS {
                    s += black_box(&d).sample(&mut rng);
                }
                s
            })
        });
    }
    g.finish();
}

criterion_group!(benches, primitives);
criterion_main!(benches);
