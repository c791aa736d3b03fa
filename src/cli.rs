//! The commands of the binary, one file each, and what they share:
//! arguments ([`args`]), the progress bar ([`progress`]) and writing to
//! stdout.

pub mod args;
pub mod batch;
pub mod crm;
pub mod plan;
pub mod progress;
pub mod report;
pub mod run;
pub mod sensitivity;
pub mod shard;
pub mod sweep;
pub mod validate;
pub mod whatif;

use std::io::Write;

use anyhow::Context;

/// Write `bytes` to stdout and flush, control characters escaped
/// ([`pipesim::output::text::escape_controls`]: a label cannot drive the
/// terminal; JSON has none left unescaped anyway).
pub fn print_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let text = String::from_utf8_lossy(bytes);
    let text = pipesim::output::text::escape_controls(&text);
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("writing to stdout")
}

/// Tell on stderr what each `*` pattern of a scenario's changes matched:
/// `note: {prefix}--scale PATTERN=F matched N parameters: ...`.
pub fn say_matched(prefix: &str, matched: &[pipesim::scenario::overrides::Expansion]) {
    for e in matched {
        let line = format!("note: {prefix}{} {}", e.change, e.summary());
        say!("{}", pipesim::output::text::escape_controls(&line));
    }
}

/// A JSON document as pretty bytes with a final newline.
pub fn json_bytes(v: &serde_json::Value) -> anyhow::Result<Vec<u8>> {
    let mut b = serde_json::to_vec_pretty(v).context("formatting JSON")?;
    b.push(b'\n');
    Ok(b)
}
