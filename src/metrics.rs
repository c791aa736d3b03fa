//! The outputs of one trial of one strategy, named exactly as in MODEL.md.
//!
//! [`Metric`] lists the per-trial metrics in the order they appear in every
//! report and CSV; [`MonthlyMetric`] the monthly series. Direction ("lower is
//! better" for cost and ignored MQLs) lives here so the comparison code and
//! the report agree.

/// A per-trial, per-strategy metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    Leads,
    Mqls,
    MqlsIgnored,
    Opportunities,
    PipelineCreated,
    WonDeals,
    Bookings,
    Revenue,
    ArrEnd,
    OpenPipelineEnd,
    Cost,
    Roi,
}

impl Metric {
    /// Every metric, in report order.
    pub const ALL: [Metric; 12] = [
        Metric::Leads,
        Metric::Mqls,
        Metric::MqlsIgnored,
        Metric::Opportunities,
        Metric::PipelineCreated,
        Metric::WonDeals,
        Metric::Bookings,
        Metric::Revenue,
        Metric::ArrEnd,
        Metric::OpenPipelineEnd,
        Metric::Cost,
        Metric::Roi,
    ];

    /// Number of metrics.
    pub const COUNT: usize = Metric::ALL.len();

    /// Position in [`Metric::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The name used in CSVs, targets and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Leads => "leads",
            Metric::Mqls => "mqls",
            Metric::MqlsIgnored => "mqls_ignored",
            Metric::Opportunities => "opportunities",
            Metric::PipelineCreated => "pipeline_created",
            Metric::WonDeals => "won_deals",
            Metric::Bookings => "bookings",
            Metric::Revenue => "revenue",
            Metric::ArrEnd => "arr_end",
            Metric::OpenPipelineEnd => "open_pipeline_end",
            Metric::Cost => "cost",
            Metric::Roi => "roi",
        }
    }

    /// Look a metric up by its name.
    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    /// All names, for error messages.
    pub fn names() -> Vec<&'static str> {
        Metric::ALL.iter().map(|m| m.name()).collect()
    }

    /// Lower is better for cost and ignored MQLs (MODEL.md "beats").
    pub fn lower_is_better(self) -> bool {
        matches!(self, Metric::Cost | Metric::MqlsIgnored)
    }

    /// Is the metric a money amount (for terminal formatting)?
    pub fn is_money(self) -> bool {
        matches!(
            self,
            Metric::PipelineCreated
                | Metric::Bookings
                | Metric::Revenue
                | Metric::ArrEnd
                | Metric::OpenPipelineEnd
                | Metric::Cost
        )
    }
}

/// A monthly series metric (MODEL.md "Monthly series per strategy").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MonthlyMetric {
    /// Leads arriving in the month.
    Leads,
    /// Entries into the handoff stage in the month.
    Mqls,
    /// Opportunities created in the month.
    Opportunities,
    /// Deals won (closed) in the month.
    WonDeals,
    /// ACV of deals won in the month.
    Bookings,
    /// MRR at the end of the month.
    MrrEnd,
}

impl MonthlyMetric {
    pub const ALL: [MonthlyMetric; 6] = [
        MonthlyMetric::Leads,
        MonthlyMetric::Mqls,
        MonthlyMetric::Opportunities,
        MonthlyMetric::WonDeals,
        MonthlyMetric::Bookings,
        MonthlyMetric::MrrEnd,
    ];
    pub const COUNT: usize = MonthlyMetric::ALL.len();

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            MonthlyMetric::Leads => "leads",
            MonthlyMetric::Mqls => "mqls",
            MonthlyMetric::Opportunities => "opportunities",
            MonthlyMetric::WonDeals => "won_deals",
            MonthlyMetric::Bookings => "bookings",
            MonthlyMetric::MrrEnd => "mrr_end",
        }
    }
}
