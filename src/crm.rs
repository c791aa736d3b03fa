//! CRM exports: reading them, fitting a scenario to them, generating
//! CRM-like exports from a scenario, and backtesting a calibrated forecast.
//!
//! The data flow is one way: [`ingest`] reads an opportunities export (and
//! optionally a leads export) into typed records, with every unusable row
//! counted by reason; [`fit`] holds the pure estimators (beta-binomial,
//! lognormal and gamma by maximum likelihood, censored fits and
//! Kaplan–Meier, Poisson and negative-binomial volume); [`calibrate`] groups
//! the records by channel and segment, fits them and writes a commented
//! scenario plus a report; [`synth`] goes the other way, from a scenario's
//! trial to exports; [`backtest`] fits on the data before a cut-off and
//! compares the simulated months after it with what happened.
//!
//! This layer sits on top of the experiments: a backtest runs the engine on
//! the calibrated scenario, and calibration validates the scenario it
//! writes with the ordinary loader.

pub mod backtest;
pub mod calibrate;
pub mod date;
pub mod fit;
pub mod ingest;
pub mod synth;

use std::path::PathBuf;

pub use date::Date;

/// How an opportunity stands at the export's date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Won,
    Lost,
    /// Not closed yet: its cycle is right-censored at the export's date.
    Open,
}

/// One usable row of an opportunities export.
#[derive(Debug, Clone, PartialEq)]
pub struct Opportunity {
    /// The opportunity's id (or the row number when the export has none).
    pub id: String,
    /// 1-based line of the row in its file (the header is line 1).
    pub line: usize,
    /// Created (or engaged) date; for an opportunity joined to a lead
    /// without a created column of its own, the lead's created date.
    pub created: Date,
    /// Close date: `Some` for won and lost deals, `None` while open.
    pub closed: Option<Date>,
    pub outcome: Outcome,
    /// Deal value in the export's currency; `None` when empty or unusable.
    pub amount: Option<f64>,
    pub channel: Option<String>,
    pub segment: Option<String>,
    /// Join key to the leads export (the lead's id).
    pub lead: Option<String>,
}

/// One usable row of a leads (or MQL) export.
#[derive(Debug, Clone, PartialEq)]
pub struct Lead {
    pub id: String,
    pub line: usize,
    pub created: Date,
    pub channel: Option<String>,
    pub segment: Option<String>,
    /// The export's own "became an opportunity" mark, from a stage column
    /// (`None` when the export has no stage column: the join decides).
    pub converted: Option<bool>,
}

/// Rows of one file that could not be used, for one reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    /// Why, in words (e.g. "no created date").
    pub reason: String,
    pub count: u64,
    /// The first few: (line, column, value as written).
    pub examples: Vec<(usize, String, String)>,
}

/// What reading one export gave: its usable rows, the rows skipped by
/// reason, and every assumption made (column chosen, date order, amount
/// format, stage values taken as open), for the report.
#[derive(Debug, Clone, Default)]
pub struct Table<T> {
    pub file: PathBuf,
    pub rows: Vec<T>,
    pub skipped: Vec<Skipped>,
    pub notes: Vec<String>,
    /// The latest date in any date column of the file (the export's
    /// "as of" date when none is given).
    pub latest: Option<Date>,
}

/// An export that cannot be used at all (exit 2): the file, and where the
/// problem is (line and column) when it is in one place.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{}{}: {message}", file.display(), line.map(|l| format!(", line {l}")).unwrap_or_default(), column.as_ref().map(|c| format!(", column '{c}'")).unwrap_or_default())]
pub struct CrmError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub column: Option<String>,
    pub message: String,
}

impl CrmError {
    /// An error about the whole file.
    pub fn file(file: impl Into<PathBuf>, message: impl Into<String>) -> CrmError {
        CrmError {
            file: file.into(),
            line: None,
            column: None,
            message: message.into(),
        }
    }
}
