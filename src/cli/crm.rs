//! `pipesim calibrate`, `pipesim synth` and `pipesim backtest`: CRM exports
//! in, a calibrated scenario or a backtest out; a scenario in, CRM-like
//! exports out. Everything is computed before anything is written, so a bad
//! export (exit 2) leaves no file behind.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use pipesim::crm::calibrate::{self, CalibrateSpec, Data, FitOptions};
use pipesim::crm::ingest::{self, DateOrder, DecimalMark, ReadOptions};
use pipesim::crm::{CrmError, Date, backtest, synth};
use pipesim::output::files::OutputFile;

/// How the exports are read (shared by calibrate and backtest).
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Opportunities export (CSV): one row per opportunity or won deal.
    #[arg(long, value_name = "CSV")]
    pub opportunities: PathBuf,
    /// Leads or MQL export (CSV), joined to the opportunities by --col lead=NAME.
    #[arg(long, value_name = "CSV")]
    pub leads: Option<PathBuf>,
    /// Start from a column preset: salesforce (Opportunity report) or hubspot (deals export).
    #[arg(long)]
    pub preset: Option<String>,
    /// A TOML mapping file ([opportunities], [leads], won, lost, open, ...).
    #[arg(long, value_name = "TOML")]
    pub mapping: Option<PathBuf>,
    /// Opportunities column: KEY=NAME, KEY one of id, created, closed, stage, amount, channel, segment, lead (repeatable).
    #[arg(long = "col", value_name = "KEY=NAME")]
    pub col: Vec<String>,
    /// Leads column: KEY=NAME, KEY one of id, created, channel, segment (repeatable).
    #[arg(long = "lead-col", value_name = "KEY=NAME")]
    pub lead_col: Vec<String>,
    /// Stage values that mean won (comma-separated, case-insensitive).
    #[arg(long, value_delimiter = ',')]
    pub won: Vec<String>,
    /// Stage values that mean lost.
    #[arg(long, value_delimiter = ',')]
    pub lost: Vec<String>,
    /// Stage values that mean open; with it, any other value is an unusable row.
    #[arg(long, value_delimiter = ',')]
    pub open: Vec<String>,
    /// The opportunities export lists won deals only (no stage column).
    #[arg(long)]
    pub won_only: bool,
    /// Day/month order of numeric dates: us (month first) or eu (day first).
    #[arg(long)]
    pub dates: Option<String>,
    /// Decimal mark of amounts: point or comma.
    #[arg(long)]
    pub decimal: Option<String>,
    /// The export's date (YYYY-MM-DD); default the latest date in the files.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// Recent full months that set each channel's volume level.
    #[arg(long, default_value_t = 12)]
    pub recent_months: usize,
    /// Cost per lead written for every channel (default 0: unknown).
    #[arg(long, default_value_t = 0.0)]
    pub cost_per_lead: f64,
}

fn bad(what: &str, message: String) -> anyhow::Error {
    pipesim::Error::invalid(what, message).into()
}

impl ExportArgs {
    fn read_options(&self) -> anyhow::Result<ReadOptions> {
        let mut o = match (&self.mapping, &self.preset) {
            (Some(m), _) => ReadOptions::from_mapping_file(m)?,
            (None, Some(p)) => ReadOptions::preset(p).map_err(|e| bad("--preset", e))?,
            (None, None) => ReadOptions::default(),
        };
        for c in &self.col {
            o.set_opp_column(c).map_err(|e| bad("--col", e))?;
        }
        for c in &self.lead_col {
            o.set_lead_column(c).map_err(|e| bad("--lead-col", e))?;
        }
        if !self.won.is_empty() {
            o.won = self.won.clone();
        }
        if !self.lost.is_empty() {
            o.lost = self.lost.clone();
        }
        if !self.open.is_empty() {
            o.open = Some(self.open.clone());
        }
        o.won_only |= self.won_only;
        if let Some(d) = &self.dates {
            o.dates = match d.to_ascii_lowercase().as_str() {
                "us" => DateOrder::Us,
                "eu" => DateOrder::Eu,
                _ => {
                    return Err(bad(
                        "--dates",
                        format!("'{d}' is not an order; use us (month first) or eu (day first)"),
                    ));
                }
            };
        }
        if let Some(d) = &self.decimal {
            o.decimal = match d.to_ascii_lowercase().as_str() {
                "point" => DecimalMark::Point,
                "comma" => DecimalMark::Comma,
                _ => {
                    return Err(bad(
                        "--decimal",
                        format!("'{d}' is not a decimal mark; use point or comma"),
                    ));
                }
            };
        }
        Ok(o)
    }

    /// The files read: an output may be none of them.
    fn inputs(&self) -> Vec<&Path> {
        std::iter::once(self.opportunities.as_path())
            .chain(self.leads.as_deref())
            .chain(self.mapping.as_deref())
            .collect()
    }

    fn fit_options(&self) -> anyhow::Result<FitOptions> {
        let as_of = match &self.as_of {
            Some(t) => Some(parse_iso("--as-of", t)?),
            None => None,
        };
        if self.recent_months == 0 {
            return Err(bad("--recent-months", "0 months; use at least 1".into()));
        }
        if !(self.cost_per_lead.is_finite() && self.cost_per_lead >= 0.0) {
            return Err(bad(
                "--cost-per-lead",
                format!("{} is not a non-negative amount", self.cost_per_lead),
            ));
        }
        Ok(FitOptions {
            as_of,
            recent_months: self.recent_months,
            cost_per_lead: self.cost_per_lead,
            ..FitOptions::default()
        })
    }
}

fn parse_iso(what: &str, t: &str) -> anyhow::Result<Date> {
    match ingest::parse_date(t, DateOrder::Us) {
        Ok(Some(d)) if t.len() >= 10 && t.as_bytes().get(4) == Some(&b'-') => Ok(d),
        _ => Err(bad(what, format!("'{t}' is not a date; write YYYY-MM-DD"))),
    }
}

/// `pipesim calibrate`.
#[derive(Debug, Args)]
pub struct CalibrateArgs {
    #[command(flatten)]
    pub export: ExportArgs,
    /// Write the calibrated scenario here (default: print it).
    #[arg(long, value_name = "TOML")]
    pub out: Option<PathBuf>,
    /// Write the calibration report (one row per parameter) as CSV.
    #[arg(long, value_name = "CSV")]
    pub report: Option<PathBuf>,
    /// Horizon of the written scenario in months.
    #[arg(long, default_value_t = 12)]
    pub horizon: usize,
}

pub fn calibrate(args: CalibrateArgs) -> anyhow::Result<()> {
    let mut options = args.export.fit_options()?;
    if !(1..=600).contains(&args.horizon) {
        return Err(bad(
            "--horizon",
            format!("{} months; use 1 to 600", args.horizon),
        ));
    }
    options.horizon = args.horizon;
    // outputs checked and staged before any work: none may be an input,
    // nor the two the same file
    let inputs = args.export.inputs();
    if let (Some(a), Some(b)) = (&args.out, &args.report)
        && (a == b || pipesim::output::files::same_path(a, b))
    {
        return Err(bad(
            "--report",
            format!(
                "{} is also --out; give the report its own file",
                b.display()
            ),
        ));
    }
    if let Some(r) = &args.report
        && let Some(i) = inputs
            .iter()
            .find(|i| pipesim::output::files::same_path(r, i))
    {
        return Err(bad(
            "--report",
            format!(
                "{} is an input of this command ({}); pipesim never overwrites its input",
                r.display(),
                i.display()
            ),
        ));
    }
    let out_file = match &args.out {
        Some(p) => Some(OutputFile::prepare(p, &inputs)?),
        None => None,
    };
    let report_file = match &args.report {
        Some(p) => Some(OutputFile::prepare(p, &inputs)?),
        None => None,
    };
    let spec = CalibrateSpec {
        opportunities: args.export.opportunities.clone(),
        leads: args.export.leads.clone(),
        read: args.export.read_options()?,
        options,
    };
    let cal = calibrate::calibrate(&spec)?;
    let file = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("calibrated.toml"));
    calibrate::check_scenario(&cal, &file).map_err(|e| {
        anyhow::anyhow!("the calibrated scenario does not load (a bug; please report it): {e}")
    })?;
    let report = calibrate::report_csv(&cal).context("formatting the report")?;
    // the files first, each atomically: a closed terminal or pipe cannot
    // leave one written and the other not
    if let Some(f) = report_file {
        f.commit(&report)?;
    }
    if let Some(f) = out_file {
        f.commit(cal.scenario.as_bytes())?;
    }
    {
        use std::io::Write as _;
        let _ = std::io::stderr()
            .lock()
            .write_all(calibrate::report_text(&cal).as_bytes());
    }
    for p in args.out.iter().chain(args.report.iter()) {
        say!("wrote {}", p.display());
    }
    if args.out.is_none() {
        super::print_stdout(cal.scenario.as_bytes())?;
    }
    Ok(())
}

/// `pipesim synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// Directory for leads.csv and opportunities.csv (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The trial whose parameters generate the records.
    #[arg(long, default_value_t = 0)]
    pub trial: u64,
    /// The strategy to generate (default: the warm-up strategy, else the baseline).
    #[arg(long)]
    pub strategy: Option<String>,
    /// Seed (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Replace leads.csv and opportunities.csv if DIR already has them.
    #[arg(long)]
    pub force: bool,
}

pub fn synth(args: SynthArgs) -> anyhow::Result<()> {
    let scn = pipesim::experiment::load(&args.scenario, &[])?;
    let spec = synth::SynthSpec {
        strategy: args.strategy.clone(),
        trial: args.trial,
        seed: args.seed,
    };
    if !args.force {
        for name in [synth::LEADS_FILE, synth::OPPORTUNITIES_FILE] {
            let path = args.out.join(name);
            if path.symlink_metadata().is_ok() {
                return Err(CrmError::file(
                    &path,
                    "exists; synth does not overwrite files (pass --force to replace it, or choose another --out)",
                )
                .into());
            }
        }
    }
    let export = synth::synth(&scn, &spec)?;
    let files = synth::write_export(&export, &args.out, args.force)
        .with_context(|| format!("writing to {}", args.out.display()))?;
    say!(
        "{} leads and {} opportunities of strategy '{}', as of {}",
        export.leads.len(),
        export.opportunities.len(),
        export.strategy,
        export.as_of
    );
    for f in files {
        say!("wrote {}", f.display());
    }
    Ok(())
}

/// `pipesim backtest`.
#[derive(Debug, Args)]
pub struct BacktestArgs {
    #[command(flatten)]
    pub export: ExportArgs,
    /// Cut-off date (YYYY-MM-DD, moved to the end of its month); repeatable.
    #[arg(long, value_name = "DATE")]
    pub cutoff: Vec<String>,
    /// Rolling origins: this many monthly cut-offs ending --horizon months before the export's last full month.
    #[arg(long, value_name = "N")]
    pub origins: Option<usize>,
    /// Months simulated after each cut-off (at most those in the data).
    #[arg(long, default_value_t = 6)]
    pub horizon: usize,
    /// Trials per origin.
    #[arg(long, default_value_t = 20_000)]
    pub trials: u64,
    /// Write every check (origin × outcome × month) as CSV.
    #[arg(long, value_name = "CSV")]
    pub out: Option<PathBuf>,
}

pub fn backtest(args: BacktestArgs) -> anyhow::Result<()> {
    let mut options = args.export.fit_options()?;
    if !(1..=120).contains(&args.horizon) {
        return Err(bad(
            "--horizon",
            format!("{} months; use 1 to 120", args.horizon),
        ));
    }
    if !(1..=10_000_000).contains(&args.trials) {
        return Err(bad(
            "--trials",
            format!("{}; use 1 to 10000000", args.trials),
        ));
    }
    options.horizon = args.horizon;
    let out_file = match &args.out {
        Some(p) => Some(OutputFile::prepare(p, &args.export.inputs())?),
        None => None,
    };
    let read = args.export.read_options()?;
    let leads = match &args.export.leads {
        Some(p) => Some(ingest::read_leads(p, &read)?),
        None => None,
    };
    let opps = ingest::read_opportunities(&args.export.opportunities, &read, leads.as_ref())?;
    // the data are complete up to the earlier file's latest date
    let latest = [opps.latest, leads.as_ref().and_then(|l| l.latest)]
        .into_iter()
        .flatten()
        .min();
    let Some(as_of) = options.as_of.or(latest) else {
        return Err(CrmError::file(
            &args.export.opportunities,
            "no dates in the export; pass --as-of",
        )
        .into());
    };
    options.as_of = None;
    let mut cutoffs = Vec::new();
    for c in &args.cutoff {
        cutoffs.push(parse_iso("--cutoff", c)?);
    }
    if let Some(n) = args.origins {
        if n == 0 {
            return Err(bad("--origins", "0; use at least 1".into()));
        }
        cutoffs.extend(backtest::rolling_cutoffs(as_of, n, args.horizon));
    }
    if cutoffs.is_empty() {
        return Err(bad(
            "backtest",
            "no cut-off; pass --cutoff DATE or --origins N".into(),
        ));
    }
    let data = Data {
        opps: &opps.rows,
        leads: leads.as_ref().map(|l| l.rows.as_slice()),
        won_only: read.won_only,
    };
    let b = backtest::backtest(&data, &options, as_of, &cutoffs, args.trials)
        .map_err(|e| CrmError::file(&args.export.opportunities, e))?;
    let csv = backtest::checks_csv(&b).context("formatting the checks")?;
    if let Some(f) = out_file {
        f.commit(&csv)?;
    }
    super::print_stdout(backtest::report_text(&b).as_bytes())?;
    if let Some(p) = &args.out {
        say!("wrote {}", p.display());
    }
    Ok(())
}
