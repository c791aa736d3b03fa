//! The `pipesim` command line: a thin clap layer over the library.
//!
//! Commands: `run`, `whatif`, `sweep`, `batch`, `validate`. Results go to
//! stdout or to files (written atomically); progress bars and messages go
//! to stderr. Exit codes: 0 success, 2 bad input (scenario, overrides or
//! arguments), 1 any other failure (I/O, threads); `batch` exits non-zero
//! when any scenario failed, after running the others.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use pipesim::error::ScenarioError;
use pipesim::export::{self, StagedFile, TrialsWriter};
use pipesim::metrics::Metric;
use pipesim::overrides::{self, Kind, Override};
use pipesim::report;
use pipesim::runner::{self, Precision, PrecisionReached};
use pipesim::scenario::Scenario;
use pipesim::stats::Analysis;
use pipesim::sweep::{self, Axis, Objective};
use pipesim::{engine, whatif};

/// Monte Carlo revenue simulator: compare lead-volume and pipeline-quality
/// strategies as distributions of bookings, revenue, pipeline and ROI.
#[derive(Debug, Parser)]
#[command(name = "pipesim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Simulate a scenario and report every strategy against the baseline.
    Run(RunArgs),
    /// Compare the scenario as written with a changed copy (--set/--scale),
    /// trial by trial on the same random numbers.
    Whatif(WhatifArgs),
    /// Run a grid of parameter values (--vary) and write one CSV.
    Sweep(SweepArgs),
    /// Run many scenarios (files or directories of .toml) into one summary.
    Batch(BatchArgs),
    /// Check a scenario and describe it, without simulating.
    Validate {
        /// Scenario file (TOML).
        scenario: PathBuf,
        #[command(flatten)]
        changes: Changes,
    },
}

/// `--set` / `--scale`.
#[derive(Debug, Args, Clone, Default)]
struct Changes {
    /// Set a scenario field, e.g. --set sales.reps=8 or
    /// --set 'market.demand=0.8 to 1.1' (repeatable; same paths as error messages).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,
    /// Multiply a parameter (every draw of a distribution) by a factor, e.g.
    /// --scale strategy.volume.channel[0].cost_per_lead=1.3 (repeatable).
    #[arg(long = "scale", value_name = "PATH=FACTOR")]
    scale: Vec<String>,
}

impl Changes {
    fn parse(&self) -> Result<Vec<Override>, BadInput> {
        let mut out = Vec::new();
        for s in &self.set {
            out.push(Override::parse_set(s).map_err(BadInput)?);
        }
        for s in &self.scale {
            out.push(Override::parse_scale(s).map_err(BadInput)?);
        }
        Ok(out)
    }
}

/// Options every simulating command shares.
#[derive(Debug, Args, Clone)]
struct SimArgs {
    /// Number of trials (default: the scenario's `trials`).
    #[arg(long)]
    trials: Option<u64>,
    /// Master seed (default: the scenario's `seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Worker threads, 0 to 1024; 0 = one per core. Results do not depend on it.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=1024))]
    threads: u16,
    #[command(flatten)]
    changes: Changes,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

/// What goes to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A report for reading.
    Table,
    /// The CSV (for run: summary.csv).
    Csv,
    /// Everything as one JSON document.
    Json,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Scenario file (TOML).
    scenario: PathBuf,
    #[command(flatten)]
    sim: SimArgs,
    /// Also write summary.csv, comparison.csv, monthly.csv and run.csv into DIR.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// With --out, also write trials.csv (one row per trial and strategy),
    /// streamed to disk as trials finish.
    #[arg(long, requires = "out")]
    per_trial: bool,
    /// Output on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Add trials until the CI of the mean of --precision-metric has this
    /// relative half-width in every strategy, e.g. 0.5% (or 0.005).
    #[arg(long, value_name = "REL")]
    precision: Option<String>,
    /// The metric --precision applies to.
    #[arg(long, default_value = "bookings", requires = "precision")]
    precision_metric: String,
    /// Most trials --precision may run.
    #[arg(long, default_value_t = 10_000_000, requires = "precision")]
    max_trials: u64,
}

#[derive(Debug, Args)]
struct WhatifArgs {
    /// Scenario file (TOML): the plan.
    scenario: PathBuf,
    #[command(flatten)]
    sim: SimArgs,
    /// Output on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Also write the what-if CSV to FILE.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct SweepArgs {
    /// Scenario file (TOML).
    scenario: PathBuf,
    #[command(flatten)]
    sim: SimArgs,
    /// A varied field: PATH=FROM..TO:STEP or PATH=v1,v2,v3 (repeatable; the
    /// grid is the cartesian product, first --vary slowest).
    #[arg(long, value_name = "PATH=VALUES")]
    vary: Vec<String>,
    /// A varied scale factor: PATH=FROM..TO:STEP or PATH=f1,f2 (after the --vary axes).
    #[arg(long, value_name = "PATH=FACTORS")]
    vary_scale: Vec<String>,
    /// What to maximise per strategy: a metric's mean (bookings, revenue,
    /// roi, ...) or p_target:METRIC.
    #[arg(long, default_value = "bookings")]
    objective: String,
    /// Write the sweep CSV (one row per point, strategy and metric) to FILE.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Output on stdout: the report (table) or the CSV.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Args)]
struct BatchArgs {
    /// Scenario files, or directories whose *.toml files are all run.
    #[arg(required = true)]
    scenarios: Vec<PathBuf>,
    #[command(flatten)]
    sim: SimArgs,
    /// Write summary.csv and comparison.csv (a `scenario` column first) and
    /// run.csv (settings, scenarios run and failed) into DIR.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// Bad input: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct BadInput(String);

/// Some scenarios of a batch failed; the message was already printed.
#[derive(Debug, thiserror::Error)]
#[error("{failed} of {total} scenarios failed")]
struct BatchFailed {
    failed: usize,
    total: usize,
    bad_input_only: bool,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}

fn exit_code(e: &anyhow::Error) -> u8 {
    if let Some(b) = e.downcast_ref::<BatchFailed>() {
        return if b.bad_input_only { 2 } else { 1 };
    }
    if e.downcast_ref::<ScenarioError>().is_some() || e.downcast_ref::<BadInput>().is_some() {
        2
    } else {
        1
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Validate { scenario, changes } => {
            let scn = overrides::load(&scenario, &changes.parse()?)?;
            print!("{}", report::describe(&scn));
            for o in &scn.overrides {
                println!("  changed: {o}");
            }
            Ok(())
        }
        Command::Run(args) => run_cmd(args),
        Command::Whatif(args) => whatif_cmd(args),
        Command::Sweep(args) => sweep_cmd(args),
        Command::Batch(args) => batch_cmd(args),
    }
}

// ------------------------------------------------------------- helpers

fn progress_bar(total: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} {msg} [{bar:30}] {human_pos}/{human_len} trials, {per_sec}, eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// The scenario with overrides, trials and seed resolved.
struct Setup {
    scn: Scenario,
    trials: u64,
}

fn setup(file: &Path, sim: &SimArgs, changes: &[Override]) -> anyhow::Result<Setup> {
    let mut scn = overrides::load(file, changes)?;
    let trials = sim.trials.unwrap_or(scn.trials);
    if trials < 2 {
        return Err(BadInput(format!("--trials {trials}: expected at least 2 trials")).into());
    }
    if let Some(seed) = sim.seed {
        scn.seed = seed;
    }
    scn.trials = trials;
    Ok(Setup { scn, trials })
}

fn pool(sim: &SimArgs) -> anyhow::Result<rayon::ThreadPool> {
    Ok(engine::thread_pool(usize::from(sim.threads))?)
}

fn print_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .context("writing to stdout")
}

fn json_bytes(v: &serde_json::Value) -> anyhow::Result<Vec<u8>> {
    let mut b = serde_json::to_vec_pretty(v).context("formatting JSON")?;
    b.push(b'\n');
    Ok(b)
}

fn parse_precision(text: &str) -> Result<f64, BadInput> {
    let t = text.trim();
    let x = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|x| x / 100.0),
        None => t.parse::<f64>(),
    };
    match x {
        Ok(x) if x > 0.0 && x < 1.0 => Ok(x),
        _ => Err(BadInput(format!(
            "--precision {text:?}: expected a relative half-width between 0 and 100%, e.g. 0.5% or 0.005"
        ))),
    }
}

// ----------------------------------------------------------------- run

fn run_cmd(args: RunArgs) -> anyhow::Result<()> {
    let changes = args.sim.changes.parse()?;
    let Setup { scn, trials } = setup(&args.scenario, &args.sim, &changes)?;
    let precision = match &args.precision {
        None => None,
        Some(p) => {
            let target = parse_precision(p)?;
            let metric = Metric::from_name(&args.precision_metric).ok_or_else(|| {
                BadInput(format!(
                    "--precision-metric {:?}: expected one of {}",
                    args.precision_metric,
                    Metric::names().join(", ")
                ))
            })?;
            if args.max_trials < 2 {
                return Err(BadInput("--max-trials: expected at least 2".into()).into());
            }
            Some(Precision {
                target,
                metric,
                initial_trials: trials.min(args.max_trials),
                max_trials: args.max_trials,
            })
        }
    };
    let pool = pool(&args.sim)?;
    let mut writer = match (&args.out, args.per_trial) {
        (Some(dir), true) => Some(
            TrialsWriter::new(dir, &scn)
                .with_context(|| format!("writing results to {}", dir.display()))?,
        ),
        _ => None,
    };
    let bar = progress_bar(
        precision.map_or(trials, |p| p.initial_trials),
        args.sim.quiet,
    );
    bar.set_message("simulating");
    let mut sink = |b: &engine::Block| match writer.as_mut() {
        Some(w) => w.write_block(b),
        None => Ok(()),
    };
    let progress = |n| bar.inc(n);
    let result = pool.install(|| match precision {
        None => runner::run(&scn, trials, scn.seed, &progress, Some(&mut sink)).map(|a| (a, None)),
        Some(p) => runner::run_to_precision(
            &scn,
            scn.seed,
            p,
            &progress,
            Some(&mut sink),
            |done, worst| {
                bar.set_message(format!(
                    "±{:.3}% after {done} trials (target ±{}%)",
                    100.0 * worst,
                    100.0 * p.target
                ));
                // the next batch is at most 4x... grow the bar to the cap lazily
                bar.set_length(
                    bar.length()
                        .unwrap_or(0)
                        .max(done)
                        .max(done + done / 4)
                        .min(p.max_trials),
                );
            },
        )
        .map(|(a, r)| (a, Some(r))),
    });
    bar.finish_and_clear();
    let (analysis, reached) = result.with_context(|| "writing trials.csv".to_string())?;
    let shown = Scenario {
        trials: analysis.trials,
        ..scn
    };
    match args.format {
        Format::Table => {
            let mut text = report::render(&shown, &analysis);
            if let Some(r) = &reached {
                text.push_str(&precision_line(r));
            }
            print_stdout(text.as_bytes())?;
        }
        Format::Csv => print_stdout(&export::summary_csv(&analysis)?)?,
        Format::Json => print_stdout(&json_bytes(&export::analysis_json(
            &shown,
            &analysis,
            reached.as_ref(),
        ))?)?,
    }
    for w in &analysis.warnings {
        eprintln!("warning: {w}");
    }
    if let Some(r) = &reached
        && !r.met
    {
        eprintln!(
            "warning: stopped at --max-trials {} before reaching ±{}% on {}",
            r.trials,
            100.0 * r.target,
            r.metric.name()
        );
    }

    if let Some(dir) = &args.out {
        let extra: Vec<(&str, String)> = match &reached {
            Some(r) => vec![
                ("precision_metric", r.metric.name().to_string()),
                ("precision_target", export::num(r.target)),
                ("precision_reached", export::num(r.worst)),
                ("precision_met", r.met.to_string()),
            ],
            None => Vec::new(),
        };
        let files = [
            ("summary.csv", export::summary_csv(&analysis)?),
            ("comparison.csv", export::comparison_csv(&analysis)?),
            ("monthly.csv", export::monthly_csv(&shown, &analysis)?),
            ("run.csv", export::run_csv(&shown, &analysis, &extra)?),
        ];
        let write = || -> Result<Vec<&str>, export::ExportError> {
            let mut staged = Vec::new();
            let mut names = Vec::new();
            for (name, bytes) in &files {
                staged.push(StagedFile::with_bytes(dir, name, bytes)?);
                names.push(*name);
            }
            if let Some(w) = writer {
                staged.push(w.finish()?);
                names.push("trials.csv");
            }
            // A trials.csv left by an earlier --per-trial run would not match
            // these results: it is removed together with the update.
            let stale: &[&str] = if args.per_trial { &[] } else { &["trials.csv"] };
            export::commit(dir, staged, stale)?;
            Ok(names)
        };
        let names = write().with_context(|| format!("writing results to {}", dir.display()))?;
        eprintln!("wrote {} to {}", names.join(", "), dir.display());
    }
    Ok(())
}

fn precision_line(r: &PrecisionReached) -> String {
    format!(
        "Precision: the {} mean is within ±{:.3}% (CI half-width, worst strategy) after {} trials; target ±{}%{}.\n",
        r.metric.name(),
        100.0 * r.worst,
        r.trials,
        100.0 * r.target,
        if r.met {
            " met"
        } else {
            " NOT met (--max-trials reached)"
        }
    )
}

// -------------------------------------------------------------- whatif

fn whatif_cmd(args: WhatifArgs) -> anyhow::Result<()> {
    let changes = args.sim.changes.parse()?;
    if changes.is_empty() {
        return Err(BadInput(
            "whatif needs a change: give at least one --set PATH=VALUE or --scale PATH=FACTOR"
                .into(),
        )
        .into());
    }
    let Setup { scn: plan, trials } = setup(&args.scenario, &args.sim, &[])?;
    let mut changed = overrides::load(&args.scenario, &changes)?;
    changed.seed = plan.seed;
    let pool = pool(&args.sim)?;
    let bar = progress_bar(trials, args.sim.quiet);
    bar.set_message("plan and change");
    let w = pool.install(|| whatif::whatif(&plan, &changed, trials, plan.seed, &|n| bar.inc(n)));
    bar.finish_and_clear();
    let w = w.map_err(|e| BadInput(e.to_string()))?;
    let shown = Scenario {
        overrides: changed.overrides.clone(),
        ..plan
    };
    match args.format {
        Format::Table => print_stdout(report::render_whatif(&shown, &w).as_bytes())?,
        Format::Csv => print_stdout(&export::csv_table(
            &export::WHATIF_HEADER,
            export::whatif_rows(&w, &shown.overrides),
        )?)?,
        Format::Json => print_stdout(&json_bytes(&export::whatif_json(&shown, &w))?)?,
    }
    if let Some(file) = &args.out {
        let bytes = export::csv_table(
            &export::WHATIF_HEADER,
            export::whatif_rows(&w, &shown.overrides),
        )?;
        export::write_file_atomic(file, &bytes)
            .with_context(|| format!("writing {}", file.display()))?;
        eprintln!("wrote {}", file.display());
    }
    Ok(())
}

// --------------------------------------------------------------- sweep

fn sweep_cmd(args: SweepArgs) -> anyhow::Result<()> {
    let changes = args.sim.changes.parse()?;
    let mut axes = Vec::new();
    for v in &args.vary {
        axes.push(Axis::parse(v, Kind::Set).map_err(BadInput)?);
    }
    for v in &args.vary_scale {
        axes.push(Axis::parse(v, Kind::Scale).map_err(BadInput)?);
    }
    if axes.is_empty() {
        return Err(BadInput(
            "sweep needs at least one --vary PATH=FROM..TO:STEP (or PATH=v1,v2) or --vary-scale"
                .into(),
        )
        .into());
    }
    let objective = Objective::parse(&args.objective).map_err(BadInput)?;
    if args.format == Format::Json {
        return Err(BadInput("sweep --format: expected table or csv".into()).into());
    }
    let points = sweep::grid(&axes).map_err(BadInput)?;
    let Setup { scn: base, .. } = setup(&args.scenario, &args.sim, &changes)?;
    if let Objective::PTarget(m) = objective
        && base.target(m).is_none()
    {
        return Err(BadInput(format!(
            "--objective p_target:{0}: the scenario sets no target for {0}; add [targets] {0} = ... or --set targets.{0}=...",
            m.name()
        ))
        .into());
    }
    // Validate every point before simulating any.
    let text = std::fs::read_to_string(&args.scenario).map_err(|source| ScenarioError::Io {
        file: args.scenario.clone(),
        source,
    })?;
    let mut scenarios = Vec::with_capacity(points.len());
    for idx in &points {
        let mut all = changes.clone();
        all.extend(sweep::point_overrides(&axes, idx));
        let mut scn = overrides::from_toml_str(&text, &args.scenario, &all)?;
        // --trials/--seed win; otherwise a point keeps its own (the same
        // for every point unless `trials` or `seed` is varied).
        scn.seed = args.sim.seed.unwrap_or(scn.seed);
        scn.trials = args.sim.trials.unwrap_or(scn.trials);
        if scn.trials < 2 {
            return Err(BadInput(format!("{} trials: expected at least 2", scn.trials)).into());
        }
        scenarios.push(scn);
    }
    let pool = pool(&args.sim)?;
    let total: u64 = scenarios.iter().map(|s| s.trials).sum();
    let bar = progress_bar(total, args.sim.quiet);
    let mut analyses = Vec::with_capacity(points.len());
    for (p, scn) in scenarios.iter().enumerate() {
        bar.set_message(format!("point {}/{}", p + 1, points.len()));
        let a: Result<Analysis, std::convert::Infallible> =
            pool.install(|| runner::run(scn, scn.trials, scn.seed, &|n| bar.inc(n), None));
        let Ok(a) = a;
        analyses.push(a);
    }
    bar.finish_and_clear();

    let mut header: Vec<String> = vec!["point".to_string()];
    header.extend(axes.iter().map(Axis::column));
    header.extend(export::SUMMARY_HEADER.iter().map(|s| s.to_string()));
    let mut rows = Vec::new();
    for (p, (idx, a)) in points.iter().zip(&analyses).enumerate() {
        for r in export::summary_rows(a) {
            let mut row = vec![p.to_string()];
            row.extend(axes.iter().zip(idx).map(|(ax, &i)| ax.values[i].clone()));
            row.extend(r);
            rows.push(row);
        }
    }
    let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
    let csv = export::csv_table(&header_refs, rows)?;
    match args.format {
        Format::Csv => print_stdout(&csv)?,
        _ => print_stdout(
            report::render_sweep(&base, &axes, &points, &analyses, objective).as_bytes(),
        )?,
    }
    if let Some(file) = &args.out {
        export::write_file_atomic(file, &csv)
            .with_context(|| format!("writing {}", file.display()))?;
        eprintln!("wrote {} ({} points)", file.display(), points.len());
    }
    Ok(())
}

// --------------------------------------------------------------- batch

/// The scenario files named on the command line, directories expanded to
/// their `*.toml` files (sorted).
fn batch_files(inputs: &[PathBuf]) -> Vec<Result<PathBuf, (PathBuf, String)>> {
    let mut out = Vec::new();
    for p in inputs {
        if p.is_dir() {
            match std::fs::read_dir(p) {
                Ok(rd) => {
                    let mut files: Vec<PathBuf> = rd
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|f| f.is_file() && f.extension().is_some_and(|e| e == "toml"))
                        .collect();
                    files.sort();
                    if files.is_empty() {
                        out.push(Err((p.clone(), "no .toml files in this directory".into())));
                    }
                    out.extend(files.into_iter().map(Ok));
                }
                Err(e) => out.push(Err((p.clone(), format!("cannot read directory: {e}")))),
            }
        } else {
            out.push(Ok(p.clone()));
        }
    }
    out
}

/// Scenario column values: file stems, or paths where stems repeat.
fn scenario_names(files: &[PathBuf]) -> Vec<String> {
    let stem = |f: &PathBuf| {
        f.file_stem().map_or_else(
            || f.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        )
    };
    files
        .iter()
        .map(|f| {
            let s = stem(f);
            if files.iter().filter(|g| stem(g) == s).count() > 1 {
                f.display().to_string()
            } else {
                s
            }
        })
        .collect()
}

fn batch_cmd(args: BatchArgs) -> anyhow::Result<()> {
    let changes = args.sim.changes.parse()?;
    let pool = pool(&args.sim)?;
    let inputs = batch_files(&args.scenarios);
    let mut errors: Vec<(PathBuf, String, bool)> = Vec::new();
    let mut files = Vec::new();
    for i in inputs {
        match i {
            Ok(f) => files.push(f),
            Err((p, msg)) => errors.push((p, msg, true)),
        }
    }
    let names = scenario_names(&files);
    let mut summary = Vec::new();
    let mut comparison = Vec::new();
    let mut table = String::new();
    let mut ran: Vec<String> = Vec::new();
    let total = files.len() + errors.len();
    for (n, (file, name)) in files.iter().zip(&names).enumerate() {
        let setup = match setup(file, &args.sim, &changes) {
            Ok(s) => s,
            Err(e) => {
                let bad = exit_code(&e) == 2;
                errors.push((file.clone(), format!("{e:#}"), bad));
                continue;
            }
        };
        let Setup { scn, trials } = setup;
        let bar = progress_bar(trials, args.sim.quiet);
        bar.set_message(format!("{}/{} {name}", n + 1, files.len()));
        let a: Result<Analysis, std::convert::Infallible> =
            pool.install(|| runner::run(&scn, trials, scn.seed, &|k| bar.inc(k), None));
        bar.finish_and_clear();
        let Ok(a) = a;
        for mut r in export::summary_rows(&a) {
            r.insert(0, name.clone());
            summary.push(r);
        }
        for mut r in export::comparison_rows(&a) {
            r.insert(0, name.clone());
            comparison.push(r);
        }
        table.push_str(&batch_line(name, &scn, &a));
        ran.push(name.clone());
        for w in &a.warnings {
            eprintln!("warning: {name}: {w}");
        }
    }
    let with_scenario = |h: &[&'static str]| {
        let mut v = vec!["scenario"];
        v.extend_from_slice(h);
        v
    };
    let mut meta = vec![
        vec![
            "pipesim_version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ],
        vec![
            "trials".to_string(),
            args.sim
                .trials
                .map_or("each scenario's own".to_string(), |t| t.to_string()),
        ],
        vec![
            "seed".to_string(),
            args.sim
                .seed
                .map_or("each scenario's own".to_string(), |t| t.to_string()),
        ],
    ];
    for o in &changes {
        meta.push(vec!["override".to_string(), o.to_string()]);
    }
    for name in &ran {
        meta.push(vec!["ok".to_string(), name.clone()]);
    }
    for (p, msg, _) in &errors {
        meta.push(vec![
            "failed".to_string(),
            format!("{}: {msg}", p.display()),
        ]);
    }
    let files_out = [
        (
            "summary.csv",
            export::csv_table(&with_scenario(&export::SUMMARY_HEADER), summary)?,
        ),
        (
            "comparison.csv",
            export::csv_table(&with_scenario(&export::COMPARISON_HEADER), comparison)?,
        ),
        ("run.csv", export::csv_table(&["key", "value"], meta)?),
    ];
    export::write_atomic(&args.out, &files_out, &[])
        .with_context(|| format!("writing results to {}", args.out.display()))?;
    print_stdout(table.as_bytes())?;
    eprintln!(
        "wrote summary.csv, comparison.csv, run.csv to {} ({} of {} scenarios)",
        args.out.display(),
        total - errors.len(),
        total
    );
    if errors.is_empty() {
        return Ok(());
    }
    eprintln!("{} scenario(s) failed:", errors.len());
    for (p, msg, _) in &errors {
        eprintln!("  {}: {msg}", p.display());
    }
    Err(BatchFailed {
        failed: errors.len(),
        total,
        bad_input_only: errors.iter().all(|e| e.2),
    }
    .into())
}

fn batch_line(name: &str, scn: &Scenario, a: &Analysis) -> String {
    let mut o = String::new();
    for st in &a.strategies {
        let mean = |m: Metric| st.get(m).map_or(f64::NAN, |s| s.summary.mean);
        o.push_str(&format!(
            "{name:<32} {:<16} bookings {:>14}  revenue {:>14}  roi {:>8}  ({} trials, seed {})\n",
            st.name,
            report::fmt_value(Metric::Bookings, mean(Metric::Bookings)),
            report::fmt_value(Metric::Revenue, mean(Metric::Revenue)),
            report::fmt_value(Metric::Roi, mean(Metric::Roi)),
            a.trials,
            scn.seed
        ));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Guards against clap definition mistakes (conflicting names, bad
    /// `requires`), which clap only reports at run time.
    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn precision_accepts_percent_and_fraction() {
        assert_eq!(parse_precision("0.5%").ok(), Some(0.005));
        assert_eq!(parse_precision("0.005").ok(), Some(0.005));
        assert!(parse_precision("0").is_err());
        assert!(parse_precision("150%").is_err());
    }
}
