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
    #[error("{}{}: {path}{}: {message}", file.display(), location(*line), value.as_ref().map(|v| format!(" = {v}")).unwrap_or_default())]
    Field {
        file: PathBuf,
        /// 1-based line, where known.
        line: Option<usize>,
        /// Field path, e.g. `strategy.volume.channel[1].conversion.sql`.
        path: String,
        /// The value as written, where there is one.
        value: Option<String>,
        /// What is wrong and what would be valid.
        message: String,
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

fn location(line: Option<usize>) -> String {
    line.map(|l| format!(":{l}")).unwrap_or_default()
}

impl ScenarioError {
    /// The field path the error is about, if it is about a field.
    pub fn path(&self) -> Option<&str> {
        match self {
            ScenarioError::Field { path, .. } => Some(path),
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

    /// Attach the file name.
    pub fn in_file(self, file: PathBuf) -> ScenarioError {
        ScenarioError::Field {
            file,
            line: None,
            path: self.path,
            value: self.value,
            message: self.message,
        }
    }
}
