//! Architecture: the module layering of `src/`. Each top-level module uses
//! only modules listed before it (the data flow of `src/lib.rs`), so there
//! is no import cycle. Read from the source text: every `crate::NAME` a
//! module's files mention (in code, not in comments) must come earlier in
//! [`LAYERS`].

use std::path::{Path, PathBuf};

/// Top-level modules in dependency order (a module may use any before it).
const LAYERS: [&str; 18] = [
    "calendar",
    "metrics",
    "stats",
    "sampling",
    "dist",
    "copula",
    "error",
    "scenario",
    "trace",
    "params",
    "model",
    "engine",
    "accum",
    "analysis",
    "experiment",
    "crm",
    "output",
    "shard",
];

/// The files of module `name`: `src/name.rs` and everything under `src/name/`.
fn files(src: &Path, name: &str) -> Vec<PathBuf> {
    let mut out = vec![src.join(format!("{name}.rs"))];
    let mut dirs = vec![src.join(name)];
    while let Some(d) = dirs.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out
}

/// The modules `crate::NAME` mentions in the code of `text` (comments and
/// `#[cfg(test)]` modules at the end of a file excluded).
fn uses(text: &str) -> Vec<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or(text);
    let mut out = Vec::new();
    for line in code.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push(name);
            }
        }
    }
    out
}

#[test]
fn every_module_uses_only_the_layers_before_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    for (i, name) in LAYERS.iter().enumerate() {
        let files = files(&src, name);
        assert!(files[0].is_file(), "{} is missing", files[0].display());
        for f in files {
            let text = std::fs::read_to_string(&f).expect("read a source file");
            for used in uses(&text) {
                match LAYERS.iter().position(|l| *l == used) {
                    Some(j) if j <= i => {}
                    Some(_) => violations.push(format!("{} uses crate::{used}", f.display())),
                    None => violations.push(format!(
                        "{} uses crate::{used}, which is not in LAYERS",
                        f.display()
                    )),
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "layering broken:\n{}",
        violations.join("\n")
    );
}

/// The check itself can fail: a use of a later layer is found.
#[test]
fn a_use_of_a_later_layer_is_seen() {
    assert_eq!(
        uses("use crate::output::text;\n// crate::engine\n"),
        ["output"]
    );
}
