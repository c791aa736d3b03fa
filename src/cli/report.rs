//! `pipesim report`: the board report, one self-contained HTML file — the
//! answer, key figures, charts, what-ifs and assumptions — from a run, a
//! sensitivity analysis and any `--whatif`s on the same seed.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use pipesim::Error;
use pipesim::engine::TrialSink;
use pipesim::experiment::{self, Report, ReportSpec, RunSpec, WhatIfChange};
use pipesim::output::report as html;
use pipesim::scenario::overrides::Override;

use super::args::SimArgs;
use super::progress::Bar;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    #[command(flatten)]
    pub sim: SimArgs,
    /// The HTML file to write.
    #[arg(long, value_name = "FILE", default_value = "report.html")]
    pub out: PathBuf,
    /// Replace FILE even when it is not a pipesim report.
    #[arg(long)]
    pub force: bool,
    /// A what-if for the report's table: PATH=VALUE sets a field,
    /// PATH*=FACTOR scales a parameter; several changes in one what-if are
    /// separated by ';' (repeatable: one what-if each), e.g.
    /// --whatif 'sales.reps=7' --whatif 'strategy.*.channel[*].cost_per_lead*=1.25'.
    #[arg(long, value_name = "CHANGES")]
    pub whatif: Vec<String>,
    /// Leave out the sensitivity analysis (tornado and EVPPI charts).
    #[arg(long)]
    pub no_sensitivity: bool,
    /// Trials of the sensitivity analysis (the run's first trials).
    #[arg(long, default_value_t = experiment::SENSITIVITY_TRIALS)]
    pub sensitivity_trials: u64,
}

/// Parse one `--whatif`: `;`-separated `PATH=VALUE` and `PATH*=FACTOR`.
pub fn parse_whatif(text: &str) -> Result<Vec<Override>, Error> {
    let changes: Vec<Override> = text
        .split(';')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| -> Result<Override, Error> {
            Ok(match c.find("*=") {
                Some(i) => Override::parse_scale(&format!("{}={}", &c[..i], &c[i + 2..]))?,
                None => Override::parse_set(c)?,
            })
        })
        .collect::<Result<_, _>>()?;
    if changes.is_empty() {
        return Err(Error::invalid(
            format!("--whatif {text:?}"),
            "expected PATH=VALUE or PATH*=FACTOR, e.g. --whatif 'sales.reps=7'",
        ));
    }
    Ok(changes)
}

/// The what-ifs of `texts` on `scenario` with `base` changes applied first.
pub fn whatifs(
    scenario: &Path,
    base: &[Override],
    texts: &[String],
) -> anyhow::Result<Vec<WhatIfChange>> {
    texts
        .iter()
        .map(|t| {
            let mut changes = base.to_vec();
            changes.extend(parse_whatif(t)?);
            let changed = experiment::load(scenario, &changes)?;
            super::say_matched(&format!("what-if {t:?}: "), &changed.matched);
            Ok(WhatIfChange {
                label: t.trim().to_string(),
                scenario: changed,
            })
        })
        .collect()
}

/// Run `spec` and write its report to `file` (staged before the run).
pub fn write_report(
    spec: &ReportSpec,
    file: &Path,
    force: bool,
    scenario: &Path,
    quiet: bool,
    sink: Option<&mut dyn TrialSink>,
) -> anyhow::Result<Report> {
    let out = html::report_output(file, force, &[scenario])?;
    let report = {
        let bar = Bar::new(quiet, "report");
        experiment::report(spec, &bar, sink)?
    };
    let page = html::render(&report)?;
    out.commit(page.as_bytes())
        .with_context(|| format!("writing {}", file.display()))?;
    say!(
        "wrote {} ({} KiB)",
        file.display(),
        page.len().div_ceil(1024)
    );
    Ok(report)
}

pub fn report(args: ReportArgs) -> anyhow::Result<()> {
    let changes = args.sim.changes.parse()?;
    let scn = experiment::load(&args.scenario, &changes)?;
    super::say_matched("", &scn.matched);
    let run = RunSpec::new(scn)
        .trials(args.sim.trials)
        .seed(args.sim.seed)
        .threads(args.sim.threads())
        .allow_large_run(args.sim.allow_large_run);
    let spec = ReportSpec {
        whatifs: whatifs(&args.scenario, &changes, &args.whatif)?,
        sensitivity: !args.no_sensitivity,
        sensitivity_trials: args.sensitivity_trials,
        ..ReportSpec::new(run)
    };
    let report = write_report(
        &spec,
        &args.out,
        args.force,
        &args.scenario,
        args.sim.quiet,
        None,
    )?;
    for w in &report.run.analysis.warnings {
        say!("warning: {w}");
    }
    Ok(())
}
