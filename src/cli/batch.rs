//! `pipesim batch`: many scenarios into one summary; a failed scenario is
//! reported and the others still run.

use anyhow::Context;

use pipesim::experiment::{self, BatchSpec};
use pipesim::output::{self, text};

use super::args::BatchArgs;
use super::progress::Bar;

pub fn batch(args: BatchArgs) -> anyhow::Result<()> {
    let spec = BatchSpec {
        inputs: args.scenarios.clone(),
        changes: args.sim.changes.parse()?,
        trials: args.sim.trials,
        seed: args.sim.seed,
        threads: args.sim.threads(),
        allow_large_run: args.sim.allow_large_run,
    };
    let batch = {
        let bar = Bar::new(args.sim.quiet, "batch");
        experiment::batch(&spec, &bar)?
    };
    for r in &batch.runs {
        for w in &r.analysis.warnings {
            eprintln!("warning: {}: {w}", r.name);
        }
    }
    output::write_batch(&args.out, &batch)
        .with_context(|| format!("writing results to {}", args.out.display()))?;
    super::print_stdout(text::render_batch(&batch).as_bytes())?;
    eprintln!(
        "wrote summary.csv, comparison.csv, run.csv to {} ({} of {} scenarios)",
        args.out.display(),
        batch.runs.len(),
        batch.total()
    );
    let Some(err) = batch.error() else {
        return Ok(());
    };
    eprintln!("{} scenario(s) failed:", batch.failures.len());
    for f in &batch.failures {
        eprintln!("  {}: {}", f.file.display(), f.message);
    }
    Err(err.into())
}
