//! `pipesim run`: one scenario, reported on stdout and optionally written
//! to a directory (with `trials.csv` streamed as trials finish).

use anyhow::Context;

use pipesim::Error;
use pipesim::engine::TrialSink;
use pipesim::experiment::{self, Precision, ReportSpec, RunSpec};
use pipesim::metrics::Metric;
use pipesim::output::{self, TrialsWriter, csv, json, text};

use super::args::{Format, RunArgs};
use super::progress::Bar;

pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let changes = args.sim.changes.parse()?;
    if let Some(text) = &args.shard {
        return super::shard::run(&args, text, &changes);
    }
    let scn = experiment::load(&args.scenario, &changes)?;
    super::say_matched("", &scn.matched);
    let precision = match &args.precision {
        None => None,
        Some(p) => Some(Precision {
            target: experiment::parse_relative(p)?,
            metric: Metric::from_name(&args.precision_metric).ok_or_else(|| {
                Error::invalid(
                    format!("--precision-metric {:?}", args.precision_metric),
                    format!("expected one of {}", Metric::names().join(", ")),
                )
            })?,
            max_trials: args.max_trials,
        }),
    };
    let spec = RunSpec::new(scn)
        .trials(args.sim.trials)
        .seed(args.sim.seed)
        .threads(args.sim.threads())
        .allow_large_run(args.sim.allow_large_run)
        .precision(precision);
    // the input first, then --out (checked, locked and staged before the
    // simulation, so a clash is found at once)
    spec.check()?;
    let out = match &args.out {
        Some(dir) => Some(output::run_output(
            dir,
            args.per_trial,
            args.force,
            &args.scenario,
        )?),
        None => None,
    };
    let mut writer = match (&out, args.per_trial) {
        (Some(out), true) => Some(TrialsWriter::new(out, &spec.resolved())?),
        _ => None,
    };
    let result = {
        let sink = writer.as_mut().map(|w| w as &mut dyn TrialSink);
        match &args.report {
            // the same run, then the report's sensitivity analysis
            Some(file) => {
                super::report::write_report(
                    &ReportSpec::new(spec),
                    file,
                    args.force,
                    &args.scenario,
                    args.sim.quiet,
                    sink,
                )?
                .run
            }
            None => {
                let bar = Bar::new(args.sim.quiet, "simulating");
                experiment::run(&spec, &bar, sink)?
            }
        }
    };
    let (scn, analysis) = (&result.scenario, &result.analysis);
    match args.format {
        Format::Table => {
            let mut out = text::render(scn, analysis);
            if let Some(r) = &result.precision {
                out.push_str(&text::precision_line(r));
            }
            super::print_stdout(out.as_bytes())?;
        }
        Format::Csv => super::print_stdout(&csv::summary_csv(analysis)?)?,
        Format::Json => super::print_stdout(&super::json_bytes(&json::analysis_json(
            scn,
            analysis,
            result.precision.as_ref(),
        ))?)?,
    }
    for w in &analysis.warnings {
        say!("warning: {w}");
    }
    if let Some(r) = &result.precision
        && !r.met
    {
        say!(
            "warning: stopped at --max-trials {} before reaching ±{}% on {}",
            r.trials,
            100.0 * r.target,
            r.metric.name()
        );
    }
    if let Some(out) = out {
        let dir = out.path().to_path_buf();
        let names = output::write_run(out, &result, writer)
            .with_context(|| format!("writing results to {}", dir.display()))?;
        say!("wrote {} to {}", names.join(", "), dir.display());
    }
    Ok(())
}
