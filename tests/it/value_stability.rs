//! Value stability: the exact numbers a seed gives, pinned.
//!
//! In the style of rand_distr's `tests/value_stability.rs`: every sampler
//! pipesim draws with — both binomial branches (inversion and BTRS, with
//! and without the p > ½ flip), both Poisson branches (inversion and
//! PTRS), the gamma–Poisson lead count and its thinned split, the
//! hypergeometric and its multivariate form, a cycle's month alias table,
//! the ziggurat normal (by reference and by value), every distribution
//! form of the grammar, the inverse CDFs and the copula's uniforms that
//! correlated parameters are drawn with, and the sub-stream seeding and
//! keys — gives exactly
//! the values below for its seed. Each case pins its first draws and a
//! 64-bit FNV hash of 20,000 draws, so the rare branches (a ziggurat wedge
//! or tail, a BTRS exact test, an alias column's cut) are pinned too.
//!
//! On top of that, the exact bytes of `summary.csv`, `comparison.csv` and
//! `monthly.csv` of the format example at 700 trials (two chunks and a
//! partial one) are pinned in `tests/fixtures/value-stability/`, with exact
//! quantiles and (in `sketch/`) in sketch mode.
//!
//! A failure here means the numbers a seed gives have changed. That is
//! only ever done on purpose, in its own commit that says why; the new
//! values are then written with `PIPESIM_BLESS=1 cargo test --test it
//! value_stability` (the CSV files) and pasted from the failure message
//! (the draws).

use std::path::Path;

use rand::{Rng, SeedableRng};

use pipesim::dist::{self, Domain};
use pipesim::engine;
/// The samplers' pins use one fixed generator (the samplers are generic
/// over it); the engine's own streams are pinned by `stream_seeding` and
/// the output bytes.
type StreamRng = rand_xoshiro::Xoshiro256PlusPlus;
use pipesim::experiment::{self, RunSpec};
use pipesim::output::csv as export;
use pipesim::sampling::{self, BinomialP, LeadSampler, ziggurat};
use pipesim::scenario::Scenario;

use crate::common::FIXTURE;

/// Draws hashed per case (beyond the first ones, which are listed).
const HASHED: usize = 20_000;

fn rng(seed: u64) -> StreamRng {
    StreamRng::seed_from_u64(seed)
}

/// FNV-1a over the bit patterns of `values`.
fn hash(values: impl IntoIterator<Item = u64>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for v in values {
        for b in v.to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// Compare the first draws and the hash of `HASHED` draws of an integer
/// sampler with the pinned ones.
fn check_counts(
    name: &str,
    seed: u64,
    mut draw: impl FnMut(&mut StreamRng) -> u64,
    first: &[u64],
    pinned_hash: u64,
) {
    let mut r = rng(seed);
    let got: Vec<u64> = (0..first.len().max(8)).map(|_| draw(&mut r)).collect();
    let mut r = rng(seed);
    let h = hash((0..HASHED).map(|_| draw(&mut r)));
    assert!(
        got == first && h == pinned_hash,
        "{name}: the draws for seed {seed} changed\n  now:    {got:?}, hash {h:#018x}\n  pinned: {first:?}, hash {pinned_hash:#018x}"
    );
}

/// [`check_counts`] for a real-valued sampler (compared bit for bit).
fn check_reals(
    name: &str,
    seed: u64,
    mut draw: impl FnMut(&mut StreamRng) -> f64,
    first: &[f64],
    pinned_hash: u64,
) {
    let mut r = rng(seed);
    let got: Vec<f64> = (0..first.len().max(6)).map(|_| draw(&mut r)).collect();
    let mut r = rng(seed);
    let h = hash((0..HASHED).map(|_| draw(&mut r).to_bits()));
    let same = got.len() == first.len()
        && got
            .iter()
            .zip(first)
            .all(|(a, b)| a.to_bits() == b.to_bits());
    assert!(
        same && h == pinned_hash,
        "{name}: the draws for seed {seed} changed\n  now:    {got:?}, hash {h:#018x}\n  pinned: {first:?}, hash {pinned_hash:#018x}"
    );
}

fn dist(text: &str, domain: Domain) -> dist::Dist {
    dist::parse(text, domain).unwrap_or_else(|e| panic!("{text}: {e}"))
}

// ------------------------------------------------------------ binomial

#[test]
fn binomial_inversion() {
    // n·p = 12 < 20: inversion from 0
    let b = BinomialP::new(0.3);
    check_counts(
        "binomial(40, 0.3)",
        11,
        |r| b.sample(40, r),
        &[15, 14, 17, 13, 10, 14, 9, 6],
        0x3b472a928782fa03,
    );
}

#[test]
fn binomial_inversion_flipped() {
    // p > ½ is drawn as n − Bin(n, 1 − p); n·(1 − p) = 1.5
    let b = BinomialP::new(0.9);
    check_counts(
        "binomial(15, 0.9)",
        12,
        |r| b.sample(15, r),
        &[13, 12, 13, 14, 11, 15, 13, 13],
        0xb6665386553b2f0a,
    );
}

#[test]
fn binomial_btrs() {
    // n·p = 250 ≥ 20: BTRS
    let b = BinomialP::new(0.25);
    check_counts(
        "binomial(1000, 0.25)",
        13,
        |r| b.sample(1000, r),
        &[253, 242, 214, 263, 266, 249, 234, 229],
        0x55f21e5fb77f2b99,
    );
}

#[test]
fn binomial_btrs_flipped() {
    let b = BinomialP::new(0.8);
    check_counts(
        "binomial(500, 0.8)",
        14,
        |r| b.sample(500, r),
        &[389, 396, 393, 391, 387, 398, 395, 396],
        0x4c98291783a6b7b9,
    );
}

// ------------------------------------------------------------- Poisson

#[test]
fn poisson_inversion() {
    check_counts(
        "poisson(3.5)",
        21,
        |r| sampling::poisson(3.5, r),
        &[5, 3, 4, 3, 5, 4, 3, 7],
        0xa5f18652772d0fcd,
    );
}

#[test]
fn poisson_ptrs() {
    check_counts(
        "poisson(250)",
        22,
        |r| sampling::poisson(250.0, r),
        &[239, 215, 258, 221, 276, 243, 252, 249],
        0xf1b2b34a0d63f16f,
    );
}

#[test]
fn gamma_poisson_lead_count() {
    let l = LeadSampler::new(Some(2.0));
    check_counts(
        "gamma-poisson(40, k=2)",
        23,
        |r| l.sample(40.0, r),
        &[28, 49, 10, 44, 78, 57, 39, 67],
        0xc5496a5bbf9ba521,
    );
}

#[test]
fn gamma_poisson_split() {
    // (leads, passed) packed into one u64 each
    let l = LeadSampler::new(Some(25.0));
    check_counts(
        "gamma-poisson split(900, k=25, p=0.3)",
        24,
        |r| {
            let (leads, passed) = l.sample_split(900.0, 0.3, r);
            leads << 32 | passed
        },
        &[
            3929895076097,
            3311419785446,
            2538325672104,
            3199750635762,
            3719441678597,
            2495375999154,
            5076651344215,
            4045859193087,
        ],
        0x43460bb40cf48bf5,
    );
}

#[test]
fn poisson_split() {
    let l = LeadSampler::new(None);
    check_counts(
        "poisson split(6, p=0.4)",
        25,
        |r| {
            let (leads, passed) = l.sample_split(6.0, 0.4, r);
            leads << 32 | passed
        },
        &[
            34359738369,
            42949672966,
            17179869185,
            38654705667,
            38654705668,
            21474836482,
            30064771074,
            34359738373,
        ],
        0xeec7515fc6f3ccbd,
    );
}

// ------------------------------------------------------ hypergeometric

#[test]
fn hypergeometric() {
    check_counts(
        "hypergeometric(200, 70, 50)",
        31,
        |r| sampling::hypergeometric(200, 70, 50, r),
        &[17, 11, 21, 22, 21, 18, 15, 20],
        0x904178f8738dcd0e,
    );
}

#[test]
fn multivariate_hypergeometric() {
    // the first two channels' worked counts, packed
    check_counts(
        "multivariate hypergeometric([300, 500, 200], 400)",
        32,
        |r| {
            let mut m = [300, 500, 200];
            sampling::multivariate_hypergeometric(&mut m, 400, r);
            m[0] << 32 | m[1]
        },
        &[
            472446402766,
            562640715965,
            459561500890,
            481036337359,
            511101108417,
            519691043013,
            515396075722,
            476741370056,
        ],
        0x41c0bed303a965f1,
    );
}

// ---------------------------------------------------------- month table

#[test]
fn month_alias_table() {
    let d = dist("gamma(mean=85, sd=35)", Domain::Positive);
    let law = d.month_law().expect("a gamma cycle has a month law");
    check_counts(
        "months of gamma(85, 35)",
        41,
        |r| law.sample(24, r),
        &[3, 3, 2, 3, 3, 1, 2, 2],
        0x06d19a354288c60e,
    );
}

#[test]
fn month_alias_table_lognormal() {
    let d = dist("lognormal(median=120, p90=300)", Domain::Positive);
    let law = d.month_law().expect("a lognormal cycle has a month law");
    check_counts(
        "months of lognormal(120, p90 300)",
        42,
        |r| law.sample(12, r),
        &[1, 8, 3, 3, 4, 4, 2, 7],
        0xbccea99b2fcac3ab,
    );
}

#[test]
fn months_without_a_table() {
    // uniform cycles are drawn as days and floored
    let d = dist("uniform(min=20, max=200)", Domain::Positive);
    check_counts(
        "months of uniform(20, 200)",
        43,
        |r| d.sample_months(24, r),
        &[1, 4, 5, 6, 3, 2, 0, 1],
        0x48cc594eac05a9c0,
    );
}

// ------------------------------------------------------------- normals

#[test]
fn ziggurat_normal() {
    check_reals(
        "standard normal",
        51,
        ziggurat::standard_normal,
        &[
            -0.17074257054414327,
            1.5195892398416013,
            0.9865279720519812,
            1.7833218453362525,
            1.3103094718750916,
            -2.0838908750917593,
        ],
        0x828f00965c304797,
    );
}

#[test]
fn ziggurat_normal_by_value() {
    check_reals(
        "standard normal (by value)",
        52,
        ziggurat::standard_normal_by_value,
        &[
            0.6504880030400738,
            0.053899398048794386,
            -0.2745066239034715,
            -1.2956274963969037,
            -0.7989663033966206,
            -0.5198659630785702,
        ],
        0xa28f8d347ec37a3c,
    );
}

// ------------------------------------------------- distribution grammar

#[test]
fn every_distribution_form() {
    let cases: [(&str, Domain, u64, &[f64], u64); 15] = [
        (
            "uniform(min=60, max=110)",
            Domain::Positive,
            61,
            &[
                64.03244437577838,
                104.13210391424377,
                95.49802839202036,
                106.00030633788525,
                83.42472277481448,
                66.02759608636674,
            ],
            0x1d73f2990dd4b20c,
        ),
        (
            "0.40 to 0.60",
            Domain::Probability,
            62,
            &[
                0.5436240539126901,
                0.5100343576586747,
                0.3976463839896154,
                0.5622076015623108,
                0.4341784943395581,
                0.3882401922850819,
            ],
            0xe4c819a8534836af,
        ),
        (
            "700 to 1100",
            Domain::Positive,
            63,
            &[
                868.2806795730991,
                1059.0998774929337,
                726.3551274123996,
                755.3192047759769,
                793.5022293795436,
                895.702046882566,
            ],
            0x5a853213783f15cd,
        ),
        (
            "triangular(min=35, mode=45, max=65)",
            Domain::Positive,
            64,
            &[
                48.30025649912699,
                46.35743286528399,
                61.461442948517444,
                42.8283364882942,
                49.6590631576298,
                55.17972517968167,
            ],
            0x66bb060a5d009fbd,
        ),
        (
            "pert(min=120, mode=180, max=300)",
            Domain::Positive,
            65,
            &[
                219.10350138013226,
                184.85627129067228,
                198.48241905718328,
                254.7898973384705,
                223.89039987828636,
                224.36651440084478,
            ],
            0xc7add6ef6070bb60,
        ),
        (
            "beta(mean=0.12, n=150)",
            Domain::Probability,
            66,
            &[
                0.09801158137470027,
                0.1374988067596884,
                0.13595378014701232,
                0.12154194001940444,
                0.12779851426284705,
                0.11286537196509616,
            ],
            0x5155577581406dd6,
        ),
        (
            "beta(alpha=2, beta=5)",
            Domain::Probability,
            67,
            &[
                0.42131325943644315,
                0.6596340506543743,
                0.1838491224498972,
                0.4275688708227349,
                0.09287360449349073,
                0.1940270554396357,
            ],
            0x67dfa35b831823d6,
        ),
        (
            "normal(mean=0.9, sd=0.2)",
            Domain::Probability,
            69,
            &[
                0.6053197803127217,
                0.9046121679000005,
                0.6081316548022541,
                0.9942370537290213,
                0.6001488672048643,
                0.5968274785330655,
            ],
            0xdaf9f2bedabcde14,
        ),
        (
            "normal(mean=-0.7, sd=0.4)",
            Domain::Rate,
            70,
            &[
                -0.9516566888810893,
                -0.9614631765392941,
                -0.6915947917800639,
                -0.20454734108303524,
                -0.32898685726940763,
                -0.8018086693395297,
            ],
            0x76bc75ceadbf7863,
        ),
        (
            "-0.01 to 0.02",
            Domain::Rate,
            71,
            &[
                0.005659335665056988,
                0.0007062044631177666,
                -0.0033534662071424406,
                0.0075324265839268635,
                0.006605070590919229,
                0.01705772046625708,
            ],
            0xff8786172d216e14,
        ),
        (
            "normal(mean=100, sd=30)",
            Domain::Positive,
            68,
            &[
                92.74093465451026,
                128.35194667264835,
                82.13882995247387,
                45.904988495471486,
                105.11984090784493,
                53.76663651675719,
            ],
            0x1943c4350349517a,
        ),
        (
            "normal(mean=1, sd=2)",
            Domain::Amount,
            69,
            &[
                2.442814173312418,
                1.8471370313380364,
                2.719078266458027,
                4.059318302220327,
                0.11407487854755172,
                0.9753461431826416,
            ],
            0x27f0107d980c83ee,
        ),
        (
            "lognormal(median=14000, p90=38000)",
            Domain::Positive,
            70,
            &[
                8575.057210618928,
                8412.811319105273,
                3295.712063941132,
                7809.390802040035,
                36750.24307464115,
                28839.624517577322,
            ],
            0xeed09bc539ef6892,
        ),
        (
            "gamma(mean=85, sd=35)",
            Domain::Positive,
            71,
            &[
                82.67925236283673,
                52.911673696594654,
                86.329768023331,
                140.52223942012574,
                126.01929100497132,
                47.272629481345206,
            ],
            0xa1b4e4634159339d,
        ),
        (
            "gamma(shape=0.5, scale=3)",
            Domain::Positive,
            72,
            &[
                0.026050390746679454,
                0.41138551521697875,
                9.79580723761159,
                1.104694639244697,
                0.24433863412245826,
                0.15627854713387884,
            ],
            0xd4c0c5f4514294bf,
        ),
    ];
    for (text, domain, seed, first, h) in cases {
        let d = dist(text, domain);
        check_reals(text, seed, |r| d.sample(r), first, h);
    }
}

// ------------------------------------------------- quantiles and copula

/// The inverse CDF of every form (what a correlated parameter is drawn
/// with) on a grid reaching into both tails, and the copula's uniforms for
/// a three-parameter correlation, by hash.
#[test]
fn quantiles_and_copula_uniforms() {
    let forms = [
        ("uniform(min=60, max=110)", Domain::Positive),
        ("triangular(min=35, mode=45, max=70)", Domain::Amount),
        ("pert(min=150, mode=200, max=320)", Domain::Amount),
        ("beta(mean=0.25, n=150)", Domain::Probability),
        ("0.35 to 0.55", Domain::Probability),
        ("normal(mean=0.9, sd=0.2)", Domain::Probability),
        ("-0.01 to 0.02", Domain::Rate),
        ("normal(mean=1, sd=2)", Domain::Amount),
        ("lognormal(median=120, p90=180)", Domain::Amount),
        ("gamma(mean=90, sd=35)", Domain::Amount),
        ("gamma(shape=0.7, scale=60)", Domain::Amount),
    ];
    let grid = [
        1e-12,
        1e-9,
        0.001,
        0.05,
        0.25,
        0.5,
        0.75,
        0.95,
        0.999,
        1.0 - 1e-9,
    ];
    let h = hash(forms.iter().flat_map(|(t, d)| {
        let d = dist(t, *d);
        grid.map(|u| d.quantile(u).to_bits())
    }));
    assert_eq!(h, 0xaba8_7058_64e9_1d8e, "quantiles changed: now {h:#018x}");

    use pipesim::copula::{Copula, Pair};
    let c = Copula::new(
        3,
        &[
            Pair {
                a: 0,
                b: 1,
                rank: 0.4,
            },
            Pair {
                a: 1,
                b: 2,
                rank: -0.3,
            },
        ],
    )
    .expect("positive definite");
    let mut r = StreamRng::seed_from_u64(5);
    let mut u = [0.0; 3];
    let h = hash((0..HASHED / 3).flat_map(|_| {
        c.uniforms(&mut r, &mut u);
        u.map(f64::to_bits)
    }));
    assert_eq!(
        h, 0x34e1_4209_80ab_fc37,
        "copula uniforms changed: now {h:#018x}"
    );
}

// --------------------------------------------------------------- seeding

#[test]
fn stream_seeding() {
    use pipesim::sampling::streams::{key, month_key};
    let keys = [
        key("param", "market.demand"),
        month_key(key("counts", "channel.search"), 3),
        month_key(key("deals", "strategy.volume.channel[0]"), 0),
    ];
    let got: Vec<u64> = keys
        .iter()
        .flat_map(|&k| [0u64, 1, 511, 512].map(move |t| (k, t)))
        .map(|(k, t)| engine::stream_rng(2027, t, k).next_u64())
        .collect();
    let pinned: [u64; 12] = [
        12251531778846431112,
        3978657170407685532,
        1509838067814381706,
        13909901338243575710,
        15359344414278722205,
        1994920421620829960,
        11123941949960863638,
        8847855235285838686,
        3344414110414013870,
        5471003505140839391,
        17295340367195725431,
        16529100467413282745,
    ];
    assert_eq!(got, pinned, "stream seeding changed");
}

// ------------------------------------------------------- output bytes

const PINNED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/value-stability"
);

/// The pinned CSVs of the format example at 700 trials, seed 2027.
fn format_example_files() -> [(&'static str, Vec<u8>); 3] {
    format_example_files_with(pipesim::accum::EXACT_BUDGET_BYTES)
}

/// [`format_example_files`] with another exact-quantile budget (0: the
/// quantile sketch and streamed moments of a large run, from trial 0).
fn format_example_files_with(budget: u64) -> [(&'static str, Vec<u8>); 3] {
    let scn = Scenario::load(Path::new(FIXTURE)).expect("fixture loads");
    let spec = RunSpec::new(scn.clone())
        .trials(Some(700))
        .seed(Some(2027))
        .threads(2)
        .exact_budget(budget);
    let a = experiment::run(&spec, &(), None)
        .expect("the run succeeds")
        .analysis;
    [
        ("summary.csv", export::summary_csv(&a).expect("csv")),
        ("comparison.csv", export::comparison_csv(&a).expect("csv")),
        ("monthly.csv", export::monthly_csv(&scn, &a).expect("csv")),
    ]
}

#[test]
fn format_example_outputs_are_byte_identical() {
    check_pinned(format_example_files(), Path::new(PINNED), "exact quantiles");
}

/// The same in sketch mode (what a run of more trials than the exact
/// budget holds uses): the sketch's quantiles and the streamed means and
/// sds, pinned in `tests/fixtures/value-stability/sketch/`.
#[test]
fn format_example_outputs_in_sketch_mode_are_byte_identical() {
    check_pinned(
        format_example_files_with(0),
        &Path::new(PINNED).join("sketch"),
        "sketch mode",
    );
}

fn check_pinned(files: [(&'static str, Vec<u8>); 3], dir: &Path, mode: &str) {
    let bless = std::env::var_os("PIPESIM_BLESS").is_some();
    for (name, bytes) in files {
        let path = dir.join(name);
        if bless {
            std::fs::create_dir_all(dir).expect("create the pinned directory");
            std::fs::write(&path, &bytes).expect("write a pinned file");
            continue;
        }
        let pinned = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (write it with PIPESIM_BLESS=1)", path.display()));
        if pinned != bytes {
            let (a, b) = (
                String::from_utf8_lossy(&pinned),
                String::from_utf8_lossy(&bytes),
            );
            let line = a
                .lines()
                .zip(b.lines())
                .position(|(x, y)| x != y)
                .map_or(a.lines().count().min(b.lines().count()), |i| i);
            panic!(
                "{name} of the format example (700 trials, seed 2027, {mode}) changed, first at line {}:\n  pinned: {}\n  now:    {}",
                line + 1,
                a.lines().nth(line).unwrap_or("<end>"),
                b.lines().nth(line).unwrap_or("<end>")
            );
        }
    }
}

/// The v1 rows of the format example's CSVs, as pinned before Model v2
/// (in `tests/fixtures/value-stability/v1/`), are still there, byte for
/// byte and in order: Model v2 added rows, and changed no number a v1
/// scenario gives (MODEL.md: no v2 field ⇒ the same numbers).
#[test]
fn v1_rows_are_unchanged_by_model_v2() {
    let files = format_example_files();
    for (name, bytes) in files {
        let path = Path::new(PINNED).join("v1").join(name);
        let pinned =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let now = String::from_utf8_lossy(&bytes);
        let mut lines = now.lines();
        for (i, old) in pinned.lines().enumerate() {
            assert!(
                lines.any(|l| l == old),
                "{name}: v1 line {} is missing or out of order:\n  {old}",
                i + 1
            );
        }
    }
}
