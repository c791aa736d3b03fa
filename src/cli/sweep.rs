//! `pipesim sweep`: a grid of `--vary` values on one seed, as a report or
//! one CSV.

use anyhow::Context;

use pipesim::Error;
use pipesim::experiment::{self, Axis, Objective, SweepSpec};
use pipesim::output::{self, text};
use pipesim::scenario::overrides::Kind;

use super::args::{Format, SweepArgs};
use super::progress::Bar;

pub fn sweep(args: SweepArgs) -> anyhow::Result<()> {
    let changes = args.sim.changes.parse()?;
    let mut axes = Vec::new();
    for v in &args.vary {
        axes.push(Axis::parse(v, Kind::Set)?);
    }
    for v in &args.vary_scale {
        axes.push(Axis::parse(v, Kind::Scale)?);
    }
    let objective = Objective::parse(&args.objective)?;
    if args.format == Format::Json {
        return Err(Error::invalid("sweep --format", "expected table or csv").into());
    }
    let spec = SweepSpec {
        changes,
        axes,
        trials: args.sim.trials,
        seed: args.sim.seed,
        threads: args.sim.threads(),
        allow_large_run: args.sim.allow_large_run,
        ..SweepSpec::new(&args.scenario, objective)
    };
    let sweep = {
        let bar = Bar::new(args.sim.quiet, "sweep");
        experiment::sweep(&spec, &bar)?
    };
    let csv = output::sweep_csv(&sweep)?;
    match args.format {
        Format::Csv => super::print_stdout(&csv)?,
        _ => super::print_stdout(text::render_sweep(&sweep).as_bytes())?,
    }
    if let Some(file) = &args.out {
        output::write_file_atomic(file, &csv)
            .with_context(|| format!("writing {}", file.display()))?;
        eprintln!("wrote {} ({} points)", file.display(), sweep.points.len());
    }
    Ok(())
}
