//! `pipesim whatif`: the plan against the plan with `--set`/`--scale`
//! changes, trial by trial on the same random numbers.

use anyhow::Context;

use pipesim::Error;
use pipesim::experiment::{self, RunSpec};
use pipesim::output::{self, OutputFile, json, text};

use super::args::{Format, WhatifArgs};
use super::progress::Bar;

pub fn whatif(args: WhatifArgs) -> anyhow::Result<()> {
    let changes = args.sim.changes.parse()?;
    if changes.is_empty() {
        return Err(Error::invalid(
            "whatif needs a change",
            "give at least one --set PATH=VALUE or --scale PATH=FACTOR",
        )
        .into());
    }
    let plan = RunSpec::new(experiment::load(&args.scenario, &[])?)
        .trials(args.sim.trials)
        .seed(args.sim.seed)
        .threads(args.sim.threads())
        .allow_large_run(args.sim.allow_large_run);
    let changed = experiment::load(&args.scenario, &changes)?;
    super::say_matched("", &changed.matched);
    plan.check()?;
    // checked and staged before the simulation; never the scenario itself
    let out = match &args.out {
        Some(file) => Some(OutputFile::prepare(file, &[&args.scenario])?),
        None => None,
    };
    let w = {
        let bar = Bar::new(args.sim.quiet, "plan and change");
        experiment::whatif(&plan, &changed, &bar)?
    };
    match args.format {
        Format::Table => super::print_stdout(text::render_whatif(&w).as_bytes())?,
        Format::Csv => super::print_stdout(&output::whatif_csv(&w)?)?,
        Format::Json => super::print_stdout(&super::json_bytes(&json::whatif_json(&w))?)?,
    }
    if let (Some(out), Some(file)) = (out, &args.out) {
        out.commit(&output::whatif_csv(&w)?)
            .with_context(|| format!("writing {}", file.display()))?;
        say!("wrote {}", file.display());
    }
    Ok(())
}
