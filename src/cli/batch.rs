//! `pipesim batch`: many scenarios into one summary; a failed scenario is
//! reported and the others still run.

use std::path::{Path, PathBuf};

use anyhow::Context;

use pipesim::experiment::{self, Batch, BatchSpec};
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
    if let Some(text) = &args.shard {
        return super::shard::batch(&spec, text, &args.out, args.force, args.sim.quiet);
    }
    // every input loaded and --out checked, locked and staged before any
    // scenario runs; bad input writes nothing
    let loaded = experiment::load_batch(&spec)?;
    for (name, scn) in loaded.scenarios() {
        super::say_matched(&format!("{name}: "), &scn.matched);
    }
    if loaded.runnable() == 0 {
        return failed(&loaded.failed());
    }
    let inputs: Vec<&Path> = args.scenarios.iter().map(PathBuf::as_path).collect();
    let out = output::batch_output(&args.out, args.force, &inputs)?;
    let batch = {
        let bar = Bar::new(args.sim.quiet, "batch");
        experiment::run_batch(loaded, &bar)?
    };
    if batch.runs.is_empty() {
        return failed(&batch);
    }
    for r in &batch.runs {
        for w in &r.analysis.warnings {
            say!("warning: {}: {w}", r.name);
        }
    }
    output::write_batch(out, &batch)
        .with_context(|| format!("writing results to {}", args.out.display()))?;
    super::print_stdout(text::render_batch(&batch).as_bytes())?;
    say!(
        "wrote summary.csv, comparison.csv, run.csv to {} ({} of {} scenarios)",
        args.out.display(),
        batch.runs.len(),
        batch.total()
    );
    failed(&batch)
}

/// List the failed inputs; the batch's error when there are any.
fn failed(batch: &Batch) -> anyhow::Result<()> {
    let Some(err) = batch.error() else {
        return Ok(());
    };
    if batch.runs.is_empty() {
        say!("no scenario ran; nothing written");
    }
    say!("{} scenario(s) failed:", batch.failures.len());
    for f in &batch.failures {
        say!("  {}: {}", f.file.display(), f.message);
    }
    Err(err.into())
}
