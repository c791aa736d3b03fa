//! `pipesim sweep`: a grid of `--vary` values on one seed, as a report or
//! one CSV.

use anyhow::Context;

use pipesim::experiment::{self, Axis, Objective, SweepSpec};
use pipesim::output::{self, OutputFile, json, text};
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
    let spec = SweepSpec {
        changes,
        axes,
        trials: args.sim.trials,
        seed: args.sim.seed,
        threads: args.sim.threads(),
        allow_large_run: args.sim.allow_large_run,
        ..SweepSpec::new(&args.scenario, objective)
    };
    if let (Some(text), Some(dir)) = (&args.shard, &args.out) {
        return super::shard::sweep(&spec, text, dir, args.force, args.sim.quiet);
    }
    // checked and staged before the simulation; never the scenario itself
    let out = match &args.out {
        Some(file) => Some(OutputFile::prepare(file, &[&args.scenario])?),
        None => None,
    };
    let sweep = {
        let bar = Bar::new(args.sim.quiet, "sweep");
        experiment::sweep(&spec, &bar)?
    };
    super::say_matched("", &sweep.base.matched);
    for (axis, e) in sweep.axes.iter().zip(&sweep.axis_matches) {
        if let Some(e) = e {
            let flag = match axis.kind {
                Kind::Set => "--vary",
                Kind::Scale => "--vary-scale",
            };
            let line = format!("note: {flag} {} {}", axis.path, e.summary());
            say!("{}", text::escape_controls(&line));
        }
    }
    let csv = output::sweep_csv(&sweep)?;
    match args.format {
        Format::Csv => super::print_stdout(&csv)?,
        Format::Json => super::print_stdout(&super::json_bytes(&json::sweep_json(&sweep))?)?,
        Format::Table => super::print_stdout(text::render_sweep(&sweep).as_bytes())?,
    }
    if let (Some(out), Some(file)) = (out, &args.out) {
        out.commit(&csv)
            .with_context(|| format!("writing {}", file.display()))?;
        say!("wrote {} ({} points)", file.display(), sweep.points.len());
    }
    Ok(())
}
