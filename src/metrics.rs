//! The outputs of one trial of one strategy, named exactly as in MODEL.md.
//!
//! [`Metric`] lists the per-trial metrics in the order they appear in every
//! report and CSV; [`MonthlyMetric`] the monthly series. Direction ("lower is
//! better" for cost and ignored MQLs) lives here so the comparison code and
//! the report agree.

/// Group digits by thousands: `1234567.8` → `1,234,568`.
pub fn thousands(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".to_string();
    }
    let neg = x < 0.0 && x.round() != 0.0;
    let digits = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if neg { format!("-{out}") } else { out }
}

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
    MqlsRejected,
    MqlsRecycled,
    SalesCost,
    GtmRoi,
    TotalBookings,
    TotalRevenue,
    TotalArrEnd,
}

impl Metric {
    /// Every metric, in report order.
    pub const ALL: [Metric; 19] = [
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
        Metric::MqlsRejected,
        Metric::MqlsRecycled,
        Metric::SalesCost,
        Metric::GtmRoi,
        Metric::TotalBookings,
        Metric::TotalRevenue,
        Metric::TotalArrEnd,
    ];

    /// The strategy's own metrics reported per segment (MODEL.md, Model
    /// v2: from `mqls` to `open_pipeline_end`), in [`Metric::ALL`] order.
    pub const SEGMENT: [Metric; 11] = [
        Metric::Mqls,
        Metric::MqlsIgnored,
        Metric::Opportunities,
        Metric::PipelineCreated,
        Metric::WonDeals,
        Metric::Bookings,
        Metric::Revenue,
        Metric::ArrEnd,
        Metric::OpenPipelineEnd,
        Metric::MqlsRejected,
        Metric::MqlsRecycled,
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
            Metric::MqlsRejected => "mqls_rejected",
            Metric::MqlsRecycled => "mqls_recycled",
            Metric::SalesCost => "sales_cost",
            Metric::GtmRoi => "gtm_roi",
            Metric::TotalBookings => "total_bookings",
            Metric::TotalRevenue => "total_revenue",
            Metric::TotalArrEnd => "total_arr_end",
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
        matches!(
            self,
            Metric::Cost | Metric::MqlsIgnored | Metric::MqlsRejected | Metric::SalesCost
        )
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
                | Metric::SalesCost
                | Metric::TotalBookings
                | Metric::TotalRevenue
                | Metric::TotalArrEnd
        )
    }

    /// A ratio that is undefined (NaN) in a trial whose denominator is 0.
    pub fn is_ratio(self) -> bool {
        matches!(self, Metric::Roi | Metric::GtmRoi)
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
    /// Handoff members not worked.
    MqlsIgnored,
    PipelineCreated,
    Revenue,
    /// Marketing cost in the month.
    Cost,
    /// MRR at the end of the month, the book and the warm-up deals included.
    TotalMrrEnd,
}

impl MonthlyMetric {
    pub const ALL: [MonthlyMetric; 11] = [
        MonthlyMetric::Leads,
        MonthlyMetric::Mqls,
        MonthlyMetric::Opportunities,
        MonthlyMetric::WonDeals,
        MonthlyMetric::Bookings,
        MonthlyMetric::MrrEnd,
        MonthlyMetric::MqlsIgnored,
        MonthlyMetric::PipelineCreated,
        MonthlyMetric::Revenue,
        MonthlyMetric::Cost,
        MonthlyMetric::TotalMrrEnd,
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
            MonthlyMetric::MqlsIgnored => "mqls_ignored",
            MonthlyMetric::PipelineCreated => "pipeline_created",
            MonthlyMetric::Revenue => "revenue",
            MonthlyMetric::Cost => "cost",
            MonthlyMetric::TotalMrrEnd => "total_mrr_end",
        }
    }

    /// Is it an amount of money (else a count)?
    pub fn is_money(self) -> bool {
        matches!(
            self,
            MonthlyMetric::Bookings
                | MonthlyMetric::MrrEnd
                | MonthlyMetric::PipelineCreated
                | MonthlyMetric::Revenue
                | MonthlyMetric::Cost
                | MonthlyMetric::TotalMrrEnd
        )
    }
}

/// A per-quarter metric (MODEL.md, "Quarterly pipeline coverage").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuarterMetric {
    PipelineCreated,
    Bookings,
    OpenPipelineStart,
    Coverage,
    CoverageNext,
    Attainment,
}

impl QuarterMetric {
    pub const ALL: [QuarterMetric; 6] = [
        QuarterMetric::PipelineCreated,
        QuarterMetric::Bookings,
        QuarterMetric::OpenPipelineStart,
        QuarterMetric::Coverage,
        QuarterMetric::CoverageNext,
        QuarterMetric::Attainment,
    ];
    /// How many are reported without a `[quota]` (the first ones).
    pub const WITHOUT_QUOTA: usize = 3;

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            QuarterMetric::PipelineCreated => "pipeline_created",
            QuarterMetric::Bookings => "bookings",
            QuarterMetric::OpenPipelineStart => "open_pipeline_start",
            QuarterMetric::Coverage => "coverage",
            QuarterMetric::CoverageNext => "coverage_next",
            QuarterMetric::Attainment => "attainment",
        }
    }
}

/// Where each per-trial value of a strategy's detail vector lives: the
/// monthly series, then the funnel's stages, the per-segment metrics, the
/// per-segment stages and the quarterly metrics. The monthly series come
/// first in the v1 order, so a v1 scenario's monthly values keep their
/// indices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    pub horizon: usize,
    /// Funnel stage indices reported per strategy.
    pub stages: Vec<usize>,
    /// Number of segments.
    pub segments: usize,
    /// Funnel stage indices reported per segment.
    pub segment_stages: Vec<usize>,
    /// Number of quarters.
    pub quarters: usize,
    /// Quarterly metrics reported (3 without a quota, else 6).
    pub quarter_metrics: usize,
}

/// What one index of a [`Layout`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    Monthly(MonthlyMetric, usize),
    /// Position in [`Layout::stages`].
    Stage(usize),
    /// Segment and metric.
    Segment(usize, Metric),
    /// Segment and position in [`Layout::segment_stages`].
    SegmentStage(usize, usize),
    Quarter(usize, QuarterMetric),
}

impl Layout {
    pub fn monthly(&self, mm: MonthlyMetric, m: usize) -> usize {
        mm.index() * self.horizon + m
    }
    fn stage_base(&self) -> usize {
        MonthlyMetric::COUNT * self.horizon
    }
    pub fn stage(&self, i: usize) -> usize {
        self.stage_base() + i
    }
    fn segment_base(&self) -> usize {
        self.stage_base() + self.stages.len()
    }
    /// Index of metric `k` (position in [`Metric::SEGMENT`]) of segment `g`.
    pub fn segment(&self, g: usize, k: usize) -> usize {
        self.segment_base() + g * Metric::SEGMENT.len() + k
    }
    fn segment_stage_base(&self) -> usize {
        self.segment_base() + self.segments * Metric::SEGMENT.len()
    }
    pub fn segment_stage(&self, g: usize, i: usize) -> usize {
        self.segment_stage_base() + g * self.segment_stages.len() + i
    }
    fn quarter_base(&self) -> usize {
        self.segment_stage_base() + self.segments * self.segment_stages.len()
    }
    pub fn quarter(&self, q: usize, qm: QuarterMetric) -> usize {
        self.quarter_base() + q * self.quarter_metrics + qm.index()
    }
    /// Values per strategy and trial.
    pub fn len(&self) -> usize {
        self.quarter_base() + self.quarters * self.quarter_metrics
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// What index `j` holds.
    pub fn describe(&self, j: usize) -> Detail {
        let h = self.horizon.max(1);
        if j < self.stage_base() {
            let mm = MonthlyMetric::ALL[(j / h).min(MonthlyMetric::COUNT - 1)];
            return Detail::Monthly(mm, j % h);
        }
        if j < self.segment_base() {
            return Detail::Stage(j - self.stage_base());
        }
        if j < self.segment_stage_base() {
            let i = j - self.segment_base();
            let n = Metric::SEGMENT.len();
            return Detail::Segment(i / n, Metric::SEGMENT[i % n]);
        }
        if j < self.quarter_base() {
            let i = j - self.segment_stage_base();
            let n = self.segment_stages.len().max(1);
            return Detail::SegmentStage(i / n, i % n);
        }
        let i = j - self.quarter_base();
        let n = self.quarter_metrics.max(1);
        Detail::Quarter(i / n, QuarterMetric::ALL[(i % n).min(5)])
    }
}
