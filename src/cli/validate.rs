//! `pipesim validate`: load a scenario (with changes), describe it, estimate
//! the work of a run of its trials (against the limits `run` enforces), and
//! simulate nothing.

use std::path::Path;

use pipesim::experiment;
use pipesim::output::text;

use super::args::Changes;

pub fn validate(file: &Path, changes: &Changes) -> anyhow::Result<()> {
    let scn = experiment::load(file, &changes.parse()?)?;
    let mut out = text::describe(&scn);
    for o in &scn.overrides {
        out.push_str(&format!("  changed: {o}\n"));
    }
    for e in &scn.matched {
        out.push_str(&format!("  {} {}\n", e.change, e.summary()));
    }
    out.push_str(&text::describe_work(&scn, scn.trials));
    super::print_stdout(out.as_bytes())
}
