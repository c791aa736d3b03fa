//! Errors of the scenario layer: reading, parsing, changing and validating
//! a scenario.
//!
//! Every scenario error names the file, the field path in the same syntax the
//! scenario uses (`strategy.volume.channel[1].conversion.sql`), the value
//! that was given and what would be valid. Each layer above has its own
//! error type ([`crate::dist::DistError`], [`crate::engine::PoolError`],
//! [`crate::experiment::Error`], [`crate::output::OutputError`]); the
//! experiment's [`is_input`](crate::experiment::Error::is_input) decides
//! the CLI's exit code 2 (bad input) or 1.

use std::path::PathBuf;

/// A scenario could not be read, parsed, changed or validated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario {}", file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// TOML syntax error, with line and column.
    #[error("{}:{line}:{column}: TOML syntax error: {message}", file.display())]
    Syntax {
        file: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// A field has a wrong type, an invalid value, or is missing or unknown.
    #[error("{}{}: {path}{}: {message}", file.display(), location(*line, *column), value.as_ref().map(|v| format!(" = {v}")).unwrap_or_default())]
    Field {
        file: PathBuf,
        /// 1-based line, where known.
        line: Option<usize>,
        /// 1-based column (characters), where known (u32 keeps the error
        /// small).
        column: Option<u32>,
        /// Field path, e.g. `strategy.volume.channel[1].conversion.sql`.
        path: String,
        /// The value as written, where there is one.
        value: Option<String>,
        /// What is wrong and what would be valid.
        message: String,
    },
    /// Several problems in one file (each a [`ScenarioError::Field`]), in
    /// the order found, at most [`MAX_REPORTED`] of them.
    #[error("{}{}", errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"), more_text(*more))]
    Many {
        errors: Vec<ScenarioError>,
        /// Problems found beyond those listed.
        more: usize,
    },
    /// A `--set`/`--scale` argument that is not `PATH=VALUE` (or whose
    /// factor is not a number > 0).
    #[error("{flag} {arg}: {message}")]
    Change {
        /// `--set` or `--scale`.
        flag: &'static str,
        /// The argument as given, quoted where that helps.
        arg: String,
        message: String,
    },
}

/// Most problems of one file listed in one error.
pub const MAX_REPORTED: usize = 20;

fn location(line: Option<usize>, column: Option<u32>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

fn more_text(more: usize) -> String {
    if more == 0 {
        String::new()
    } else {
        format!("\n... and {more} more problem(s) in this file")
    }
}

impl ScenarioError {
    /// The field path the error is about, if it is about a field.
    pub fn path(&self) -> Option<&str> {
        match self {
            ScenarioError::Field { path, .. } => Some(path),
            ScenarioError::Many { errors, .. } => errors.first().and_then(ScenarioError::path),
            _ => None,
        }
    }
}

/// A field-level problem found while converting a scenario, before the file
/// name is attached.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub path: String,
    pub value: Option<String>,
    pub message: String,
}

impl FieldError {
    pub fn new(path: impl Into<String>, value: Option<String>, message: impl Into<String>) -> Self {
        FieldError {
            path: path.into(),
            value,
            message: message.into(),
        }
    }

    /// Several problems of one file as one error, each given its line and
    /// column by `locate` (from its path).
    pub fn all_in_file(
        errors: Vec<FieldError>,
        file: &std::path::Path,
        locate: impl Fn(&str) -> Option<(usize, usize)>,
    ) -> ScenarioError {
        let located = errors.into_iter().map(|e| {
            let at = locate(&e.path);
            (e, at)
        });
        FieldError::located(file, located.collect())
    }

    /// Problems of one file, each with its line and column where known, as
    /// one error: a [`ScenarioError::Field`] for one, else
    /// [`ScenarioError::Many`] listing the first [`MAX_REPORTED`].
    pub fn located(
        file: &std::path::Path,
        errors: Vec<(FieldError, Option<(usize, usize)>)>,
    ) -> ScenarioError {
        let total = errors.len();
        let mut listed: Vec<ScenarioError> = errors
            .into_iter()
            .take(MAX_REPORTED)
            .map(|(e, at)| ScenarioError::Field {
                file: file.to_path_buf(),
                line: at.map(|a| a.0),
                column: at.map(|a| u32::try_from(a.1).unwrap_or(u32::MAX)),
                path: e.path,
                value: e.value,
                message: e.message,
            })
            .collect();
        if listed.len() == 1 {
            return listed.swap_remove(0);
        }
        ScenarioError::Many {
            more: total - listed.len(),
            errors: listed,
        }
    }
}
