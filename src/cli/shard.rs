//! `--shard` of `run`, `sweep` and `batch` (one share of the job, written
//! as a partial result), and `pipesim merge` (the parts back into the files
//! the whole job writes).

use std::path::{Path, PathBuf};

use anyhow::Context;

use pipesim::experiment::{BatchSpec, RunSpec, SweepSpec};
use pipesim::output::{self, OutputDir, OutputFile, csv, json, text};
use pipesim::scenario::overrides::Override;
use pipesim::shard::{self, Merged, Part, Shard, ShardArg, Source};

use super::args::{Format, MergeArgs, RunArgs};
use super::progress::Bar;

/// The shard `--shard TEXT` names, saying on stderr which variable gave it.
pub fn resolve(text: &str) -> anyhow::Result<Shard> {
    let (shard, from) = ShardArg::parse(text)?.resolve(&|name| std::env::var(name).ok())?;
    if let Some(from) = from {
        say!("note: {from}");
    }
    Ok(shard)
}

/// Write `part` into `dir` and say so.
fn write(dir: &Path, part: &Part, force: bool, inputs: &[&Path]) -> anyhow::Result<()> {
    let path = shard::write_part(dir, part, force, inputs)
        .with_context(|| format!("writing the partial result into {}", dir.display()))?;
    let h = &part.header;
    say!(
        "wrote {} ({}; {} KiB)",
        path.display(),
        h.describe(),
        h.payload_bytes.div_ceil(1024)
    );
    Ok(())
}

/// `run --shard`.
pub fn run(args: &RunArgs, text: &str, changes: &[Override]) -> anyhow::Result<()> {
    let shard = resolve(text)?;
    let source = Source::read(&args.scenario, changes)?;
    let scn = source.scenario()?;
    super::say_matched("", &scn.matched);
    let spec = RunSpec::new(scn)
        .trials(args.sim.trials)
        .seed(args.sim.seed)
        .threads(args.sim.threads())
        .allow_large_run(args.sim.allow_large_run);
    spec.check()?;
    let Some(dir) = &args.out else {
        anyhow::bail!(pipesim::Error::invalid(
            "--shard",
            "needs --out DIR for the partial result"
        ));
    };
    let part = {
        let bar = Bar::new(args.sim.quiet, &format!("shard {shard}"));
        shard::run_part(&source, &spec, shard, &bar)?
    };
    write(dir, &part, args.force, &[&args.scenario])
}

/// `sweep --shard`.
pub fn sweep(
    spec: &SweepSpec,
    text: &str,
    dir: &Path,
    force: bool,
    quiet: bool,
) -> anyhow::Result<()> {
    share(
        "sweep",
        text,
        quiet,
        dir,
        force,
        &[&spec.file],
        |shard, bar| shard::sweep_part(spec, shard, bar),
    )
}

/// `batch --shard`.
pub fn batch(
    spec: &BatchSpec,
    text: &str,
    dir: &Path,
    force: bool,
    quiet: bool,
) -> anyhow::Result<()> {
    let inputs: Vec<&Path> = spec.inputs.iter().map(PathBuf::as_path).collect();
    share("batch", text, quiet, dir, force, &inputs, |shard, bar| {
        shard::batch_part(spec, shard, bar)
    })
}

/// The shard `text` names of a `what` job, made by `make` under a progress
/// bar and written into `dir`.
fn share(
    what: &str,
    text: &str,
    quiet: bool,
    dir: &Path,
    force: bool,
    inputs: &[&Path],
    make: impl FnOnce(Shard, &Bar) -> Result<Part, pipesim::Error>,
) -> anyhow::Result<()> {
    let shard = resolve(text)?;
    let part = {
        let bar = Bar::new(quiet, &format!("{what} shard {shard}"));
        make(shard, &bar)?
    };
    write(dir, &part, force, inputs)
}

/// `pipesim merge`.
pub fn merge(args: MergeArgs) -> anyhow::Result<()> {
    let parts = shard::read_parts(&args.parts)?;
    let files: Vec<PathBuf> = parts.iter().map(|(f, _)| f.clone()).collect();
    let inputs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let n = parts.len();
    let merged = shard::merge(parts)?;
    match merged {
        Merged::Run(result) => {
            let out = OutputDir::prepare(
                &args.out,
                "run",
                &output::run_file_names(false),
                args.force,
                &inputs,
            )?;
            let (scn, analysis) = (&result.scenario, &result.analysis);
            match args.format {
                Format::Table => super::print_stdout(text::render(scn, analysis).as_bytes())?,
                Format::Csv => super::print_stdout(&csv::summary_csv(analysis)?)?,
                Format::Json => super::print_stdout(&super::json_bytes(&json::analysis_json(
                    scn, analysis, None,
                ))?)?,
            }
            for w in &analysis.warnings {
                say!("warning: {w}");
            }
            let names = output::write_run(out, &result, None)
                .with_context(|| format!("writing results to {}", args.out.display()))?;
            say!(
                "merged {n} parts ({} trials) into {}: {}",
                result.analysis.trials,
                args.out.display(),
                names.join(", ")
            );
            Ok(())
        }
        Merged::Sweep { csv, points } => {
            let out = OutputFile::prepare(&args.out, &inputs)?;
            out.commit(&csv)
                .with_context(|| format!("writing {}", args.out.display()))?;
            say!(
                "merged {n} parts into {} ({points} points)",
                args.out.display()
            );
            Ok(())
        }
        Merged::Batch {
            tables,
            total,
            error,
        } => {
            if tables.ok.is_empty() {
                say!("no scenario ran; nothing written");
            } else {
                let out = output::batch_output(&args.out, args.force, &inputs)?;
                out.commit(&output::batch_files_of(&tables)?, None)
                    .with_context(|| format!("writing results to {}", args.out.display()))?;
                say!(
                    "merged {n} parts into {}: summary.csv, comparison.csv, run.csv ({} of {total} scenarios)",
                    args.out.display(),
                    tables.ok.len()
                );
            }
            match error {
                None => Ok(()),
                Some(e) => {
                    say!("{} scenario(s) failed:", tables.failed.len());
                    for (file, message) in &tables.failed {
                        say!("  {file}: {message}");
                    }
                    Err(e.into())
                }
            }
        }
    }
}
