//! The report's charts, drawn with plotters' SVG backend (no system fonts:
//! text is SVG `<text>` the browser sets in its own sans-serif).
//!
//! Every chart is a function from figures the experiments computed to one
//! SVG string, made accessible by [`finish`]: `role="img"`, a `<title>`
//! and a `<desc>` (the text alternative) it is labelled by, and a
//! `viewBox` so it scales to the page. Ink, grid and background are drawn
//! in sentinel colours ([`INK`], [`GRID`], [`PAPER`]) that the page's
//! stylesheet maps to its light or dark palette; series use the
//! Okabe–Ito palette, legible on both and to colour-blind readers.

use plotters::chart::MeshStyle;
use plotters::coord::Shift;
use plotters::coord::ranged1d::Ranged;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::analysis::shape::{Fan, Histogram};
use crate::output::text::escape_controls;

/// Text and axes (CSS maps it to the page's ink).
pub const INK: RGBColor = RGBColor(0x20, 0x20, 0x20);
/// Grid lines (drawn at 35% opacity).
pub const GRID: RGBColor = RGBColor(0x90, 0x90, 0x90);
const GRID_ALPHA: f64 = 0.35;
/// Legend boxes' background (CSS maps it to the page's background).
pub const PAPER: RGBColor = RGBColor(0xFF, 0xFF, 0xFF);

/// Okabe–Ito: blue, orange, bluish green, reddish purple, sky blue,
/// vermillion, yellow.
pub const PALETTE: [RGBColor; 7] = [
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0x56, 0xB4, 0xE9),
    RGBColor(0xD5, 0x5E, 0x00),
    RGBColor(0xF0, 0xE4, 0x42),
];

/// The colour of strategy `s`.
pub fn color(s: usize) -> RGBColor {
    PALETTE[s % PALETTE.len()]
}

/// Empty rows below a horizontal bar chart's last row, where its legend goes.
const LEGEND_ROWS: f64 = 2.5;

/// Width of every chart's drawing (CSS scales it to the column).
pub const WIDTH: u32 = 880;

/// A chart that could not be drawn (plotters' error, as text).
#[derive(Debug, thiserror::Error)]
#[error("cannot draw the chart {title:?}: {message}")]
pub struct ChartError {
    pub title: String,
    pub message: String,
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Drawn = Result<(), String>;

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn font(size: u32) -> TextStyle<'static> {
    ("sans-serif", size).into_font().color(&INK)
}

/// What a chart is about: its element id, title and text alternative.
#[derive(Debug, Clone)]
pub struct About {
    pub id: String,
    pub title: String,
    pub desc: String,
}

/// Draw `(w, h)` pixels with `draw` and [`finish`] the SVG.
fn chart(
    about: &About,
    h: u32,
    draw: impl FnOnce(&Area<'_>) -> Drawn,
) -> Result<String, ChartError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, h)).into_drawing_area();
        draw(&root)
            .and_then(|()| root.present().map_err(err))
            .map_err(|message| ChartError {
                title: about.title.clone(),
                message,
            })?;
    }
    Ok(finish(&svg, about))
}

/// Make plotters' SVG accessible and scalable: replace its opening tag by
/// one with `role="img"`, `aria-labelledby` naming the `<title>` and
/// `<desc>` inserted after it, and the `viewBox` alone (no fixed size).
pub fn finish(svg: &str, about: &About) -> String {
    let (open, rest) = match svg.find('>') {
        Some(i) => (&svg[..i], &svg[i + 1..]),
        None => ("<svg", ""),
    };
    let view_box = open
        .split("viewBox=\"")
        .nth(1)
        .and_then(|v| v.split('"').next())
        .unwrap_or("0 0 880 360");
    let id = &about.id;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"{view_box}\" role=\"img\" \
         aria-labelledby=\"{id}-title {id}-desc\" preserveAspectRatio=\"xMidYMid meet\">\
         <title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>{rest}",
        xml(&about.title),
        xml(&about.desc)
    )
}

/// Text for XML content or attributes (control characters escaped visibly).
pub fn xml(s: &str) -> String {
    let s = escape_controls(s);
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// A compact amount for an axis tick or bar label: `2.5M`, `250k`, `-1.2B`.
pub fn compact(x: f64) -> String {
    let a = x.abs();
    let (v, suffix) = if a >= 1e9 {
        (x / 1e9, "B")
    } else if a >= 1e6 {
        (x / 1e6, "M")
    } else if a >= 1e4 {
        (x / 1e3, "k")
    } else {
        (x, "")
    };
    let digits = if v.abs() >= 100.0 || (suffix.is_empty() && a >= 10.0) {
        0
    } else if v.abs() >= 10.0 {
        1
    } else {
        2
    };
    let mut s = format!("{v:.digits$}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".to_string();
    }
    format!("{s}{suffix}")
}

/// Apply the house style to a chart's mesh: faint grid, ink axes, labels
/// of `label_size` px.
fn house<'a, 'b, 'm, X: Ranged, Y: Ranged, DB: DrawingBackend>(
    m: &'m mut MeshStyle<'a, 'b, X, Y, DB>,
    label_size: u32,
) -> &'m mut MeshStyle<'a, 'b, X, Y, DB> {
    m.bold_line_style(GRID.mix(GRID_ALPHA))
        .light_line_style(TRANSPARENT)
        .axis_style(INK)
        .label_style(font(label_size))
        .axis_desc_style(font(15))
}

/// The plot area of a chart with amounts (or months, or groups) across
/// `x` and `0..ymax` up, and room for the axis labels.
fn plot<'a, 'b>(
    root: &'a Area<'b>,
    x: std::ops::Range<f64>,
    ymax: f64,
) -> Result<ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>, String> {
    ChartBuilder::on(root)
        .margin(12)
        .x_label_area_size(50)
        .y_label_area_size(74)
        .build_cartesian_2d(x, 0.0..ymax)
        .map_err(err)
}

/// The width of a histogram's bins (1 without two edges).
fn bin_width(edges: &[f64]) -> f64 {
    edges.get(1).zip(edges.first()).map_or(1.0, |(b, a)| b - a)
}

/// The axes of a histogram: amounts across, % of trials per bin up.
fn histogram_axes<'a, DB: DrawingBackend + 'a>(
    c: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    x_desc: &str,
    width: f64,
) -> Drawn {
    house(&mut c.configure_mesh(), 15)
        .disable_x_mesh()
        .x_desc(x_desc)
        .y_desc(format!("% of trials per {} bin", compact(width)))
        .x_labels(9)
        .y_labels(6)
        .x_label_formatter(&|x| compact(*x))
        .y_label_formatter(&|y| format!("{y:.1}"))
        .draw()
        .map_err(err)
}

/// The label of a horizontal bar chart's tick at `y`: rows are drawn
/// first on top, at whole `y`; other ticks have none.
fn row_label(rows: &[String], y: f64) -> String {
    let n = rows.len();
    if (y - y.round()).abs() < 1e-9 && y >= 0.0 && (y.round() as usize) < n {
        rows[n - 1 - y.round() as usize].clone()
    } else {
        String::new()
    }
}

/// Pad a range by `frac` of its width on both sides (a zero-width range
/// becomes ±1 around its value).
fn padded(lo: f64, hi: f64, frac: f64) -> (f64, f64) {
    if !(hi > lo) {
        return (lo - 1.0, lo + 1.0);
    }
    let p = (hi - lo) * frac;
    (lo - p, hi + p)
}

fn legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    c: &mut ChartContext<'a, DB, CT>,
    pos: SeriesLabelPosition,
) -> Drawn {
    c.configure_series_labels()
        .position(pos)
        .label_font(font(15))
        .background_style(PAPER.mix(0.85))
        .border_style(GRID.mix(GRID_ALPHA))
        .draw()
        .map_err(err)
}

/// One series of a distribution chart.
pub struct DistSeries<'a> {
    pub label: &'a str,
    pub color: RGBColor,
    pub histogram: &'a Histogram,
}

/// Overlaid histograms (as densities: share of trials per unit, so
/// strategies compare on shared bins) with an optional target line.
pub fn distribution(
    about: &About,
    x_desc: &str,
    series: &[DistSeries<'_>],
    target: Option<(f64, String)>,
) -> Result<String, ChartError> {
    let edges = series
        .first()
        .map(|s| s.histogram.edges.clone())
        .unwrap_or_default();
    let (x0, x1) = match (edges.first(), edges.last()) {
        (Some(a), Some(b)) => (*a, *b),
        _ => (0.0, 1.0),
    };
    let (x0, x1) = match &target {
        Some((t, _)) => (x0.min(*t), x1.max(*t)),
        None => (x0, x1),
    };
    let width = bin_width(&edges);
    // share per bin, in % of trials
    let peak = series
        .iter()
        .map(|s| s.histogram.peak_density() * width * 100.0)
        .fold(0.0, f64::max);
    let ymax = if peak > 0.0 { peak * 1.15 } else { 1.0 };
    chart(about, 380, |root| {
        let mut c = plot(root, x0..x1, ymax)?;
        histogram_axes(&mut c, x_desc, width)?;
        for s in series {
            let h = s.histogram;
            let mut pts = Vec::with_capacity(2 * h.share.len() + 2);
            for (share, e) in h.share.iter().zip(h.edges.windows(2)) {
                pts.push((e[0], share * 100.0));
                pts.push((e[1], share * 100.0));
            }
            let col = s.color;
            c.draw_series(
                AreaSeries::new(pts, 0.0, col.mix(0.22)).border_style(col.stroke_width(2)),
            )
            .map_err(err)?
            .label(s.label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], col.filled()));
        }
        if let Some((t, label)) = &target {
            c.draw_series(DashedLineSeries::new(
                [(*t, 0.0), (*t, ymax * 0.93)],
                7,
                5,
                INK.stroke_width(2),
            ))
            .map_err(err)?;
            c.draw_series(std::iter::once(Text::new(
                label.clone(),
                (*t, ymax * 0.99),
                font(15),
            )))
            .map_err(err)?;
        }
        legend(&mut c, SeriesLabelPosition::UpperRight)
    })
}

/// The paired difference's histogram, bins on the winning side shaded.
pub fn difference(
    about: &About,
    x_desc: &str,
    h: &Histogram,
    lower_is_better: bool,
    annotation: &str,
    win_color: RGBColor,
) -> Result<String, ChartError> {
    let (x0, x1) = match (h.edges.first(), h.edges.last()) {
        (Some(a), Some(b)) => (a.min(0.0), b.max(0.0)),
        _ => (-1.0, 1.0),
    };
    let peak = h.share.iter().copied().fold(0.0, f64::max) * 100.0;
    let ymax = if peak > 0.0 { peak * 1.2 } else { 1.0 };
    let width = bin_width(&h.edges);
    chart(about, 360, |root| {
        let mut c = plot(root, x0..x1, ymax)?;
        histogram_axes(&mut c, x_desc, width)?;
        let wins = |mid: f64| {
            if lower_is_better {
                mid < 0.0
            } else {
                mid > 0.0
            }
        };
        let bars: Vec<_> = h
            .share
            .iter()
            .zip(h.edges.windows(2))
            .map(|(s, e)| {
                let style = if wins(0.5 * (e[0] + e[1])) {
                    win_color.mix(0.75).filled()
                } else {
                    GRID.mix(0.6).filled()
                };
                Rectangle::new([(e[0], 0.0), (e[1], s * 100.0)], style)
            })
            .collect();
        c.draw_series(bars).map_err(err)?;
        c.draw_series(std::iter::once(PathElement::new(
            [(0.0, 0.0), (0.0, ymax)],
            INK.stroke_width(2),
        )))
        .map_err(err)?;
        let (ax, anchor) = if lower_is_better {
            (x0 + 0.02 * (x1 - x0), (HPos::Left, VPos::Top))
        } else {
            (x1 - 0.02 * (x1 - x0), (HPos::Right, VPos::Top))
        };
        let style = font(16).pos(Pos::new(anchor.0, anchor.1));
        c.draw_series(std::iter::once(Text::new(
            annotation.to_string(),
            (ax, ymax * 0.97),
            style,
        )))
        .map_err(err)?;
        Ok(())
    })
}

/// One strategy's fan: P5–P95 and P25–P75 bands and the median, on a
/// shared y range `ymax` (so strategies compare).
pub fn fan(
    about: &About,
    y_desc: &str,
    fan: &Fan,
    months: &[String],
    col: RGBColor,
    ymax: f64,
) -> Result<String, ChartError> {
    let n = fan.bands.len().max(1);
    let xmax = (n - 1).max(1) as f64;
    chart(about, 300, |root| {
        let mut c = plot(root, 0.0..xmax, ymax)?;
        let label = |x: &f64| {
            let i = x.round() as usize;
            if (x - x.round()).abs() < 1e-9 {
                months.get(i).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        house(&mut c.configure_mesh(), 15)
            .disable_x_mesh()
            .x_desc("month (end of month)")
            .y_desc(y_desc)
            .x_labels(n.min(12))
            .y_labels(6)
            .x_label_formatter(&label)
            .y_label_formatter(&|y| compact(*y))
            .draw()
            .map_err(err)?;
        let band = |lo: usize, hi: usize| -> Vec<(f64, f64)> {
            let up = fan.bands.iter().enumerate().map(|(i, b)| (i as f64, b[hi]));
            let down = fan
                .bands
                .iter()
                .enumerate()
                .rev()
                .map(|(i, b)| (i as f64, b[lo]));
            up.chain(down).collect()
        };
        c.draw_series(std::iter::once(Polygon::new(
            band(0, 4),
            col.mix(0.18).filled(),
        )))
        .map_err(err)?
        .label("P5–P95")
        .legend(move |(x, y)| {
            Rectangle::new([(x, y - 6), (x + 16, y + 6)], col.mix(0.18).filled())
        });
        c.draw_series(std::iter::once(Polygon::new(
            band(1, 3),
            col.mix(0.4).filled(),
        )))
        .map_err(err)?
        .label("P25–P75")
        .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], col.mix(0.4).filled()));
        c.draw_series(LineSeries::new(
            fan.bands.iter().enumerate().map(|(i, b)| (i as f64, b[2])),
            col.stroke_width(3),
        ))
        .map_err(err)?
        .label("median")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], col.stroke_width(3)));
        legend(&mut c, SeriesLabelPosition::UpperLeft)
    })
}

/// One bar group's bar: mean, with an optional P5–P95 whisker.
#[derive(Debug, Clone, Copy)]
pub struct Bar {
    pub value: f64,
    pub whisker: Option<(f64, f64)>,
}

/// Grouped vertical bars: `groups` on the x axis, one bar per series in
/// each, optional whiskers, and an optional reference per group (a quota)
/// or across the chart (a coverage target), drawn dashed.
pub struct Grouped<'a> {
    pub groups: &'a [String],
    pub series: Vec<(String, RGBColor, Vec<Bar>)>,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    /// A horizontal line across the chart and its label.
    pub line: Option<(f64, String)>,
    /// A dashed mark per group (e.g. the quarter's quota) and its legend.
    pub marks: Option<(Vec<f64>, String)>,
    /// Format of the y ticks.
    pub y_fmt: fn(f64) -> String,
}

/// Draw [`Grouped`] bars.
pub fn grouped(about: &About, g: &Grouped<'_>) -> Result<String, ChartError> {
    let ng = g.groups.len().max(1);
    let ns = g.series.len().max(1);
    let mut top = 0.0f64;
    for (_, _, bars) in &g.series {
        for b in bars {
            top = top.max(b.value);
            if let Some((_, hi)) = b.whisker {
                top = top.max(hi);
            }
        }
    }
    if let Some((y, _)) = &g.line {
        top = top.max(*y);
    }
    if let Some((m, _)) = &g.marks {
        top = m.iter().copied().fold(top, f64::max);
    }
    let ymax = if top > 0.0 { top * 1.3 } else { 1.0 };
    chart(about, 340, |root| {
        let mut c = plot(root, -0.5..(ng as f64 - 0.5), ymax)?;
        let label = |x: &f64| {
            if (x - x.round()).abs() < 1e-9 && *x >= 0.0 {
                g.groups
                    .get(x.round() as usize)
                    .cloned()
                    .unwrap_or_default()
            } else {
                String::new()
            }
        };
        let y_fmt = g.y_fmt;
        house(&mut c.configure_mesh(), 15)
            .disable_x_mesh()
            .x_desc(g.x_desc)
            .y_desc(g.y_desc)
            .x_labels(ng + 1)
            .y_labels(6)
            .x_label_formatter(&label)
            .y_label_formatter(&|y| y_fmt(*y))
            .draw()
            .map_err(err)?;
        let slot = 0.8 / ns as f64;
        for (k, (name, col, bars)) in g.series.iter().enumerate() {
            let col = *col;
            let x = |i: usize| i as f64 - 0.4 + slot * k as f64;
            c.draw_series(bars.iter().enumerate().map(|(i, b)| {
                Rectangle::new(
                    [(x(i) + 0.05 * slot, 0.0), (x(i) + 0.95 * slot, b.value)],
                    col.mix(0.85).filled(),
                )
            }))
            .map_err(err)?
            .label(name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], col.filled()));
            let whiskers: Vec<_> = bars
                .iter()
                .enumerate()
                .filter_map(|(i, b)| {
                    let (lo, hi) = b.whisker?;
                    let xm = x(i) + 0.5 * slot;
                    Some(PathElement::new([(xm, lo), (xm, hi)], INK.stroke_width(1)))
                })
                .collect();
            c.draw_series(whiskers).map_err(err)?;
        }
        if let Some((y, label)) = &g.line {
            c.draw_series(DashedLineSeries::new(
                [(-0.5, *y), (ng as f64 - 0.5, *y)],
                7,
                5,
                INK.stroke_width(2),
            ))
            .map_err(err)?
            .label(label.as_str())
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], INK.stroke_width(2)));
        }
        if let Some((marks, label)) = &g.marks {
            for (i, m) in marks.iter().enumerate() {
                c.draw_series(DashedLineSeries::new(
                    [(i as f64 - 0.45, *m), (i as f64 + 0.45, *m)],
                    5,
                    3,
                    INK.stroke_width(3),
                ))
                .map_err(err)?;
            }
            c.draw_series(std::iter::once(PathElement::new(
                [(-0.5, -1.0), (-0.5, -1.0)],
                INK.stroke_width(3),
            )))
            .map_err(err)?
            .label(label.as_str())
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], INK.stroke_width(3)));
        }
        legend(&mut c, SeriesLabelPosition::UpperLeft)
    })
}

/// Horizontal bars on a log axis: one row per stage, one bar per series,
/// each labelled with its value (a funnel, where counts span decades).
pub fn funnel(
    about: &About,
    rows: &[String],
    series: &[(String, RGBColor, Vec<f64>)],
    x_desc: &str,
) -> Result<String, ChartError> {
    let nr = rows.len().max(1);
    let ns = series.len().max(1);
    let top = series
        .iter()
        .flat_map(|s| s.2.iter().copied())
        .fold(1.0f64, f64::max);
    let xmax = 10f64.powf((top * 3.0).log10().ceil());
    let h = (60 + (nr as u32 + 2) * (14 * ns as u32 + 14)).max(200);
    chart(about, h, |root| {
        let mut c = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(150)
            .build_cartesian_2d((0.5f64..xmax).log_scale(), -LEGEND_ROWS..(nr as f64 - 0.5))
            .map_err(err)?;
        let label = |y: &f64| row_label(rows, *y);
        house(&mut c.configure_mesh(), 15)
            .disable_y_mesh()
            .x_desc(x_desc)
            .y_labels(nr + 1)
            .y_label_formatter(&label)
            .x_label_formatter(&|x| compact(*x))
            .draw()
            .map_err(err)?;
        let slot = 0.8 / ns as f64;
        for (k, (name, col, values)) in series.iter().enumerate() {
            let col = *col;
            let y = |i: usize| (nr - 1 - i) as f64 + 0.4 - slot * k as f64;
            c.draw_series(values.iter().enumerate().map(|(i, v)| {
                Rectangle::new(
                    [(0.5, y(i) - 0.05 * slot), (v.max(0.5), y(i) - 0.95 * slot)],
                    col.mix(0.85).filled(),
                )
            }))
            .map_err(err)?
            .label(name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 16, y + 6)], col.filled()));
            c.draw_series(values.iter().enumerate().map(|(i, v)| {
                Text::new(
                    format_count(*v),
                    (v.max(0.5) * 1.08, y(i) - 0.5 * slot),
                    font(16).pos(Pos::new(HPos::Left, VPos::Center)),
                )
            }))
            .map_err(err)?;
        }
        legend(&mut c, SeriesLabelPosition::LowerRight)
    })
}

fn format_count(v: f64) -> String {
    if v >= 1e4 {
        compact(v)
    } else if v >= 100.0 || v == v.round() {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// One series of bars of an [`input_rows`] chart: per row, a bar from
/// `start` to `end`.
struct RowBars<'a> {
    /// Its legend entry, if any.
    label: Option<&'a str>,
    color: RGBColor,
    spans: Vec<(f64, f64)>,
}

/// A vertical line across an [`input_rows`] chart.
struct RowLine {
    x: f64,
    dashed: bool,
    label: Option<String>,
}

/// A horizontal bar chart of one row per input, the first on top,
/// labelled with `names`, over `x`, with room below the last row for the
/// legend (drawn when a series or the line has a label).
fn input_rows(
    about: &About,
    names: &[String],
    x: (f64, f64),
    x_desc: &str,
    series: &[RowBars<'_>],
    line: Option<RowLine>,
) -> Result<String, ChartError> {
    let nr = names.len().max(1);
    let h = (80 + 30 * (nr as u32 + 2)).max(200);
    chart(about, h, |root| {
        let mut c = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(330)
            .build_cartesian_2d(x.0..x.1, -LEGEND_ROWS..(nr as f64 - 0.5))
            .map_err(err)?;
        let label = |y: &f64| row_label(names, *y);
        house(&mut c.configure_mesh(), 14)
            .disable_y_mesh()
            .x_desc(x_desc)
            .y_labels(nr + 1)
            .x_labels(8)
            .y_label_formatter(&label)
            .x_label_formatter(&|x| compact(*x))
            .draw()
            .map_err(err)?;
        let y = |i: usize| (nr - 1 - i) as f64;
        let mut labelled = false;
        for s in series {
            let col = s.color;
            let drawn = c
                .draw_series(s.spans.iter().enumerate().map(|(i, (a, b))| {
                    Rectangle::new(
                        [(*a, y(i) - 0.35), (*b, y(i) + 0.35)],
                        col.mix(0.85).filled(),
                    )
                }))
                .map_err(err)?;
            if let Some(l) = s.label {
                labelled = true;
                drawn.label(l).legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 16, y + 6)], col.filled())
                });
            }
        }
        if let Some(l) = line {
            let ends = [(l.x, -LEGEND_ROWS), (l.x, nr as f64 - 0.5)];
            let drawn = if l.dashed {
                c.draw_series(DashedLineSeries::new(ends, 7, 5, INK.stroke_width(2)))
            } else {
                c.draw_series(std::iter::once(PathElement::new(ends, INK.stroke_width(2))))
            }
            .map_err(err)?;
            if let Some(text) = l.label {
                labelled = true;
                drawn
                    .label(text)
                    .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], INK.stroke_width(2)));
            }
        }
        if labelled {
            legend(&mut c, SeriesLabelPosition::LowerRight)?;
        }
        Ok(())
    })
}

/// A tornado: per row a bar from `low` to `high` around `center`, widest
/// on top; `rows` are `(label, low, high)`.
pub fn tornado(
    about: &About,
    rows: &[(String, f64, f64)],
    center: f64,
    x_desc: &str,
    low_color: RGBColor,
    high_color: RGBColor,
) -> Result<String, ChartError> {
    let (mut lo, mut hi) = (center, center);
    for (_, a, b) in rows {
        lo = lo.min(a.min(*b));
        hi = hi.max(a.max(*b));
    }
    let names: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let side = |label, color, end: fn(&(String, f64, f64)) -> f64| RowBars {
        label: Some(label),
        color,
        spans: rows.iter().map(|r| (center, end(r))).collect(),
    };
    let series = [
        side("input in its lowest decile", low_color, |r| r.1),
        side("input in its highest decile", high_color, |r| r.2),
    ];
    let line = RowLine {
        x: center,
        dashed: false,
        label: None,
    };
    input_rows(
        about,
        &names,
        padded(lo, hi, 0.05),
        x_desc,
        &series,
        Some(line),
    )
}

/// Horizontal bars from 0 (EVPPI per input), widest on top, with an
/// optional reference line (the EVPI).
pub fn bars(
    about: &About,
    rows: &[(String, f64)],
    x_desc: &str,
    col: RGBColor,
    reference: Option<(f64, String)>,
) -> Result<String, ChartError> {
    let mut top = rows.iter().map(|r| r.1).fold(0.0f64, f64::max);
    if let Some((r, _)) = &reference {
        top = top.max(*r);
    }
    let xmax = if top > 0.0 { top * 1.15 } else { 1.0 };
    let names: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let series = [RowBars {
        label: None,
        color: col,
        spans: rows.iter().map(|r| (0.0, r.1)).collect(),
    }];
    let line = reference.map(|(x, label)| RowLine {
        x,
        dashed: true,
        label: Some(label),
    });
    input_rows(about, &names, (0.0, xmax), x_desc, &series, line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_amounts() {
        assert_eq!(compact(2_500_000.0), "2.5M");
        assert_eq!(compact(250_000.0), "250k");
        assert_eq!(compact(-1_200_000_000.0), "-1.2B");
        assert_eq!(compact(0.0), "0");
        assert_eq!(compact(3.0), "3");
        assert_eq!(compact(12_000.0), "12k");
    }

    #[test]
    fn finish_makes_an_accessible_scalable_svg() {
        let about = About {
            id: "fig-1".into(),
            title: "A <b> & c".into(),
            desc: "d".into(),
        };
        let s = finish(
            "<svg width=\"10\" height=\"20\" viewBox=\"0 0 10 20\" xmlns=\"http://www.w3.org/2000/svg\">\n<rect/></svg>",
            &about,
        );
        assert!(s.starts_with(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 10 20\" role=\"img\""
        ));
        assert!(s.contains("<title id=\"fig-1-title\">A &lt;b&gt; &amp; c</title>"));
        assert!(!s.contains("width=\"10\""));
    }
}
