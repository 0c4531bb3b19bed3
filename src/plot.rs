//! Plots shared by every subcommand: line charts and histograms, each written
//! as PNG and, beside it, as SVG (same name, `.svg`), for papers; image grids
//! as PNG.
//!
//! The font is embedded (`assets/DejaVuSans.ttf`), so text renders the same on
//! any machine. Every chart goes through [`line_chart`] or [`histogram`], so the
//! look is the same across the toolkit. Log axes carry labels at decades, at
//! 1-2-5 steps, or at linear "nice" steps, whichever gives several labels over
//! the range ([`log_ticks`]).

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

/// Draws a figure into `path` as PNG and beside it as SVG (same name, `.svg`):
/// `$draw` runs once with each backend's drawing area bound to `$root`
/// (a macro, as the two areas have different types). Evaluates to
/// `Result<()>`.
macro_rules! png_and_svg {
    ($path:expr, $size:expr, |$root:ident| $draw:expr) => {{
        let path: &Path = $path;
        let svg_path = path.with_extension("svg");
        let $root = BitMapBackend::new(path, $size).into_drawing_area();
        $draw?;
        $root
            .present()
            .map_err(|e| anyhow!("cannot write `{}`: {e}", path.display()))?;
        let $root = SVGBackend::new(&svg_path, $size).into_drawing_area();
        $draw?;
        $root
            .present()
            .map_err(|e| anyhow!("cannot write `{}`: {e}", svg_path.display()))?;
        Ok(())
    }};
}

/// A chart on the drawing area `$root` over the ranges `$xr`, `$yr`, with
/// the title (`$caption` pt) and axis labels of `$axes`, tick labels by
/// [`tick`], a label area of `$y_area` px for the y axis, and its mesh drawn
/// (each `$mesh` a further no-argument mesh setting, e.g. `disable_mesh`).
/// Evaluates to the chart; errors return from the enclosing function.
macro_rules! axes_chart {
    ($root:expr, $axes:expr, $xr:expr, $yr:expr, $caption:expr, $y_area:expr $(, $mesh:ident)*) => {{
        let mut chart = ChartBuilder::on($root)
            .caption(&$axes.title, ("sans-serif", $caption))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size($y_area)
            .build_cartesian_2d($xr, $yr)
            .map_err(|e| anyhow!("{e}"))?;
        chart
            .configure_mesh()
            $(.$mesh())*
            .x_desc($axes.x_label.as_str())
            .y_desc($axes.y_label.as_str())
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&|v| tick(*v))
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(|e| anyhow!("{e}"))?;
        chart
    }};
}

/// Draws the legend of `$chart`: upper right, on white, framed. Errors
/// return from the enclosing function.
macro_rules! legend {
    ($chart:expr) => {
        $chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(|e| anyhow!("{e}"))?
    };
}

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static INIT: Once = Once::new();

/// Registers the embedded font as `sans-serif` (idempotent).
pub fn init() {
    INIT.call_once(|| {
        // The font is ours and valid; registration cannot fail for it.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// The colour of series `i`.
pub fn color(i: usize) -> RGBColor {
    const C: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
    ];
    C[i % C.len()]
}

/// A compact tick label: scientific notation for very large or small values
/// (log axes span decades), otherwise at most four significant digits.
pub fn tick(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".into()
    } else if !(1e-3..1e5).contains(&a) {
        let s = format!("{v:.1e}");
        s.replace(".0e", "e")
    } else {
        let s = format!(
            "{:.*}",
            (3 - a.log10().floor() as i32).clamp(0, 6) as usize,
            v
        );
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
}

/// Tick positions for a log axis over [lo, hi] (0 < lo < hi): several labels
/// whatever the span. Over less than a decade, linear steps of 1, 2 or 5 ×
/// 10ᵏ; up to three decades, 1, 2 and 5 × 10ᵏ; beyond, every decade, or every
/// k-th decade so that at most about ten remain.
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo > 0.0 && hi > lo && lo.is_finite() && hi.is_finite()) {
        return vec![];
    }
    let span = (hi / lo).log10();
    if span < 1.0 {
        return linear_ticks(lo, hi, 5);
    }
    let (k0, k1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let mantissas: &[f64] = if span <= 3.0 {
        &[1.0, 2.0, 5.0]
    } else {
        &[1.0]
    };
    let every = ((k1 - k0) as f64 / 10.0).ceil().max(1.0) as i32;
    let mut out = Vec::new();
    for k in k0..=k1 {
        if (k - k0) % every != 0 {
            continue;
        }
        for m in mantissas {
            let v = m * 10f64.powi(k);
            if v >= lo && v <= hi {
                out.push(v);
            }
        }
    }
    out
}

/// About `n` ticks over [lo, hi] at a step of 1, 2 or 5 × 10ᵏ.
fn linear_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let raw = (hi - lo) / n.max(1) as f64;
    let p = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * p);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A solid line.
    Line,
    /// Markers only.
    Points,
    /// A line with markers.
    LinePoints,
}

/// One named series of (x, y) points.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// The points.
    pub points: Vec<(f64, f64)>,
    /// How it is drawn.
    pub style: Style,
}

impl Series {
    /// A line series.
    pub fn line(label: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            label: label.into(),
            points,
            style: Style::Line,
        }
    }
    /// A marker series.
    pub fn points(label: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            label: label.into(),
            points,
            style: Style::Points,
        }
    }
}

/// Axis options of a chart.
#[derive(Debug, Clone, Default)]
pub struct Axes {
    /// Chart title.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// Logarithmic x axis.
    pub log_x: bool,
    /// Logarithmic y axis.
    pub log_y: bool,
}

/// The range of the finite values `vals` (on a log axis: of those ≥ the
/// smallest normal double, so that no subnormal reaches the axis code); the
/// error names the chart file `path`, its title and the axis `label`.
fn range(
    vals: impl Iterator<Item = f64>,
    log: bool,
    path: &Path,
    title: &str,
    label: &str,
) -> Result<(f64, f64)> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in vals.filter(|v| v.is_finite() && (!log || *v >= f64::MIN_POSITIVE)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return Err(anyhow!(
            "chart `{}` ({title}): nothing finite to plot for `{label}`: every value is NaN or infinite{}",
            path.file_name().map_or_else(
                || path.display().to_string(),
                |f| f.to_string_lossy().into_owned()
            ),
            if log {
                ", or not positive (a log axis)"
            } else {
                ""
            }
        ));
    }
    if hi <= lo {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return Ok((lo - pad, hi + pad));
    }
    if log {
        Ok((lo / 1.2, hi * 1.2))
    } else {
        let pad = 0.05 * (hi - lo);
        Ok((lo - pad, hi + pad))
    }
}

/// Draws `series` as a line chart (800×560): PNG at `path` and SVG beside it.
///
/// # Errors
/// Nothing finite to plot (naming the chart's title), or a file that cannot
/// be written.
pub fn line_chart(path: &Path, axes: &Axes, series: &[Series]) -> Result<()> {
    init();
    let xs = range(
        series.iter().flat_map(|s| s.points.iter().map(|p| p.0)),
        axes.log_x,
        path,
        &axes.title,
        &axes.x_label,
    )?;
    let ys = range(
        series.iter().flat_map(|s| s.points.iter().map(|p| p.1)),
        axes.log_y,
        path,
        &axes.title,
        &axes.y_label,
    )?;
    png_and_svg!(path, (800, 560), |root| draw_lines(
        &root, axes, series, xs, ys
    ))
}

fn draw_lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    axes: &Axes,
    series: &[Series],
    xs: (f64, f64),
    ys: (f64, f64),
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    macro_rules! draw {
        ($xr:expr, $yr:expr) => {{
            let mut chart = axes_chart!(root, axes, $xr, $yr, 22, 72);
            for (i, s) in series.iter().enumerate() {
                let c = color(i);
                let pts: Vec<(f64, f64)> = s
                    .points
                    .iter()
                    .copied()
                    .filter(|p| {
                        p.0.is_finite()
                            && p.1.is_finite()
                            && (!axes.log_x || p.0 >= f64::MIN_POSITIVE)
                            && (!axes.log_y || p.1 >= f64::MIN_POSITIVE)
                    })
                    .collect();
                if matches!(s.style, Style::Line | Style::LinePoints) {
                    chart
                        .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
                        .map_err(|e| anyhow!("{e}"))?
                        .label(s.label.as_str())
                        .legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                        });
                }
                if matches!(s.style, Style::Points | Style::LinePoints) {
                    let ann = chart
                        .draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))
                        .map_err(|e| anyhow!("{e}"))?;
                    if s.style == Style::Points {
                        ann.label(s.label.as_str())
                            .legend(move |(x, y)| Circle::new((x + 9, y), 3, c.filled()));
                    }
                }
            }
            legend!(chart);
        }};
    }
    let lx = || {
        (xs.0..xs.1)
            .log_scale()
            .with_key_points(log_ticks(xs.0, xs.1))
    };
    let ly = || {
        (ys.0..ys.1)
            .log_scale()
            .with_key_points(log_ticks(ys.0, ys.1))
    };
    match (axes.log_x, axes.log_y) {
        (false, false) => draw!(xs.0..xs.1, ys.0..ys.1),
        (true, false) => draw!(lx(), ys.0..ys.1),
        (false, true) => draw!(xs.0..xs.1, ly()),
        (true, true) => draw!(lx(), ly()),
    }
    Ok(())
}

/// Bins `values` into `bins` equal-width bins over their range, normalised to a
/// density, and returns (bin centre, density) pairs.
pub fn density_bins(values: &[f64], bins: usize) -> Vec<(f64, f64)> {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() || bins == 0 {
        return vec![];
    }
    let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w = if hi > lo {
        (hi - lo) / bins as f64
    } else {
        1.0
    };
    let mut counts = vec![0usize; bins];
    for v in &finite {
        let k = (((v - lo) / w) as usize).min(bins - 1);
        counts[k] += 1;
    }
    let n = finite.len() as f64;
    counts
        .iter()
        .enumerate()
        .map(|(k, &c)| (lo + (k as f64 + 0.5) * w, c as f64 / (n * w)))
        .collect()
}

/// Draws a histogram of `values` (as a density, drawn as bars) with optional
/// overlaid curves (for example a closed-form density): PNG at `path` and SVG
/// beside it.
///
/// # Errors
/// Nothing finite to plot (naming the chart's title), or a file that cannot
/// be written.
pub fn histogram(
    path: &Path,
    axes: &Axes,
    values: &[f64],
    bins: usize,
    curves: &[Series],
) -> Result<()> {
    init();
    let bars = density_bins(values, bins);
    if bars.is_empty() {
        return Err(anyhow!(
            "chart `{}` ({}): nothing finite to plot for `{}`: every value is NaN or infinite",
            path.file_name().map_or_else(
                || path.display().to_string(),
                |f| f.to_string_lossy().into_owned()
            ),
            axes.title,
            axes.x_label
        ));
    }
    let w = if bars.len() > 1 {
        bars[1].0 - bars[0].0
    } else {
        1.0
    };
    let xs = range(
        bars.iter()
            .flat_map(|b| [b.0 - w / 2.0, b.0 + w / 2.0])
            .chain(curves.iter().flat_map(|s| s.points.iter().map(|p| p.0))),
        false,
        path,
        &axes.title,
        &axes.x_label,
    )?;
    png_and_svg!(path, (800, 560), |root| draw_histogram(
        &root, axes, &bars, curves, w, xs
    ))
}

fn draw_histogram<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    axes: &Axes,
    bars: &[(f64, f64)],
    curves: &[Series],
    w: f64,
    xs: (f64, f64),
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let ymax = bars
        .iter()
        .map(|b| b.1)
        .chain(curves.iter().flat_map(|s| s.points.iter().map(|p| p.1)))
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let ys = 0.0..(ymax * 1.1).max(1e-12);
    let mut chart = axes_chart!(root, axes, xs.0..xs.1, ys, 22, 72);
    let fill = color(0).mix(0.45).filled();
    chart
        .draw_series(
            bars.iter()
                .map(|&(x, h)| Rectangle::new([(x - w / 2.0, 0.0), (x + w / 2.0, h)], fill)),
        )
        .map_err(|e| anyhow!("{e}"))?
        .label("histogram")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], fill));
    for (i, s) in curves.iter().enumerate() {
        let c = color(i + 1);
        chart
            .draw_series(LineSeries::new(s.points.clone(), c.stroke_width(2)))
            .map_err(|e| anyhow!("{e}"))?
            .label(s.label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
    }
    legend!(chart);
    Ok(())
}

/// Draws rows of grayscale images (values in [0, 1], each `side`×`side`,
/// row-major) as a PNG grid, each row labelled on its left.
pub fn image_grid(
    path: &Path,
    title: &str,
    rows: &[(String, Vec<Vec<f64>>)],
    side: usize,
) -> Result<()> {
    init();
    const SCALE: usize = 3;
    const PAD: usize = 4;
    const LABEL: usize = 150;
    const TOP: usize = 34;
    let cols = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    if cols == 0 || side == 0 {
        return Err(anyhow!("no images to draw"));
    }
    let cell = side * SCALE + PAD;
    let w = (LABEL + cols * cell + PAD) as u32;
    let h = (TOP + rows.len() * cell + PAD) as u32;
    let root = BitMapBackend::new(path, (w, h)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    root.draw_text(
        title,
        &("sans-serif", 18).into_text_style(&root),
        (PAD as i32, 8),
    )
    .map_err(|e| anyhow!("{e}"))?;
    for (r, (label, imgs)) in rows.iter().enumerate() {
        let y0 = TOP + r * cell;
        root.draw_text(
            label,
            &("sans-serif", 13).into_text_style(&root),
            (PAD as i32, (y0 + side * SCALE / 2 - 6) as i32),
        )
        .map_err(|e| anyhow!("{e}"))?;
        for (c, img) in imgs.iter().enumerate() {
            if img.len() != side * side {
                return Err(anyhow!(
                    "image {c} of row `{label}` has {} pixels, expected {}",
                    img.len(),
                    side * side
                ));
            }
            let x0 = LABEL + c * cell;
            for (p, v) in img.iter().enumerate() {
                let g = (255.0 * (1.0 - v.clamp(0.0, 1.0))).round() as u8;
                let (py, px) = (p / side, p % side);
                for dy in 0..SCALE {
                    for dx in 0..SCALE {
                        root.draw_pixel(
                            ((x0 + px * SCALE + dx) as i32, (y0 + py * SCALE + dy) as i32),
                            &RGBColor(g, g, g),
                        )
                        .map_err(|e| anyhow!("{e}"))?;
                    }
                }
            }
        }
    }
    root.present()
        .map_err(|e| anyhow!("cannot write `{}`: {e}", path.display()))?;
    Ok(())
}

/// The colour of `t` in [0, 1] on a white → blue → dark-violet scale (a
/// monotone lightness ramp, readable in grey print).
fn heat_color(t: f64) -> RGBColor {
    const STOPS: [(f64, [f64; 3]); 4] = [
        (0.0, [255.0, 255.0, 255.0]),
        (0.35, [120.0, 180.0, 230.0]),
        (0.7, [40.0, 80.0, 180.0]),
        (1.0, [40.0, 10.0, 70.0]),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let k = STOPS.iter().rposition(|s| s.0 <= t).unwrap_or(0).min(2);
    let (a, b) = (STOPS[k], STOPS[k + 1]);
    let u = (t - a.0) / (b.0 - a.0);
    let c = |i: usize| (a.1[i] + u * (b.1[i] - a.1[i])).round() as u8;
    RGBColor(c(0), c(1), c(2))
}

/// Draws a heat map of `z` on the grid of cell centres `x` × `y` (z\[i + nx·j\]
/// at (x\[i\], y\[j\]), x fastest) with a colour bar labelled `z_label`: PNG at
/// `path` and SVG beside it. Cells are drawn as rectangles of the grid's
/// spacing (uniform grids).
///
/// # Errors
/// An empty grid, a `z` of the wrong length, no finite value, or a file that
/// cannot be written.
pub fn heat_map(
    path: &Path,
    axes: &Axes,
    x: &[f64],
    y: &[f64],
    z: &[f64],
    z_label: &str,
) -> Result<()> {
    init();
    if x.len() < 2 || y.len() < 2 || z.len() != x.len() * y.len() {
        return Err(anyhow!(
            "heat map `{}`: a grid of {} × {} needs {} values, got {}",
            axes.title,
            x.len(),
            y.len(),
            x.len() * y.len(),
            z.len()
        ));
    }
    let zmax = z
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    if !zmax.is_finite() {
        return Err(anyhow!(
            "heat map `{}`: no finite value to plot",
            axes.title
        ));
    }
    png_and_svg!(path, (760, 640), |root| draw_heat_map(
        &root, axes, x, y, z, zmax, z_label
    ))
}

fn draw_heat_map<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    axes: &Axes,
    x: &[f64],
    y: &[f64],
    z: &[f64],
    zmax: f64,
    z_label: &str,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let (main, bar) = root.split_horizontally(640);
    let (hx, hy) = (x[1] - x[0], y[1] - y[0]);
    let xs = (x[0] - hx / 2.0, x[x.len() - 1] + hx / 2.0);
    let ys = (y[0] - hy / 2.0, y[y.len() - 1] + hy / 2.0);
    let mut chart = axes_chart!(&main, axes, xs.0..xs.1, ys.0..ys.1, 20, 60, disable_mesh);
    let nx = x.len();
    chart
        .draw_series(z.iter().enumerate().map(|(k, &v)| {
            let (cx, cy) = (x[k % nx], y[k / nx]);
            Rectangle::new(
                [
                    (cx - hx / 2.0, cy - hy / 2.0),
                    (cx + hx / 2.0, cy + hy / 2.0),
                ],
                heat_color(v / zmax).filled(),
            )
        }))
        .map_err(|e| anyhow!("{e}"))?;
    // The colour bar: 0 … zmax.
    let mut cb = ChartBuilder::on(&bar)
        .margin_top(44)
        .margin_bottom(56)
        .margin_right(8)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..1.0, 0.0..zmax)
        .map_err(|e| anyhow!("{e}"))?;
    cb.configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_desc(z_label)
        .y_label_formatter(&|v| tick(*v))
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(|e| anyhow!("{e}"))?;
    cb.draw_series((0..100).map(|i| {
        let (a, b) = (zmax * i as f64 / 100.0, zmax * (i + 1) as f64 / 100.0);
        Rectangle::new(
            [(0.0, a), (1.0, b)],
            heat_color((i as f64 + 0.5) / 100.0).filled(),
        )
    }))
    .map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_finite_names_the_chart_and_the_axis() {
        // Issue 11 §6: "nothing finite to plot" named no field.
        let p = std::env::temp_dir().join(format!("brg-nan-{}.png", std::process::id()));
        let axes = Axes {
            title: "widths".into(),
            x_label: "tau".into(),
            y_label: "width".into(),
            log_y: true,
            ..Default::default()
        };
        let e = line_chart(
            &p,
            &axes,
            &[Series::line("w", vec![(1.0, f64::NAN), (2.0, -1.0)])],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("widths") && e.contains("`width`") && e.contains("log axis"),
            "{e}"
        );
        // A subnormal never reaches a log axis: it is left out of the range.
        let (lo, _) = range([5e-324, 1e-3, 1.0].into_iter(), true, &p, "t", "x").unwrap();
        assert!(lo >= 1e-3 / 1.2 * 0.999, "{lo}");
        assert!(!p.exists());
    }

    #[test]
    fn ticks_are_compact() {
        assert_eq!(tick(1e-7), "1e-7");
        assert_eq!(tick(2.5e6), "2.5e6");
        assert_eq!(tick(0.125), "0.125");
        assert_eq!(tick(12.0), "12");
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(-4.56789), "-4.568");
    }

    #[test]
    fn log_axes_get_several_labels_at_any_span() {
        // The Figure 2 loss axis (0.07 … 0.3) used to carry one label, 0.1:
        // now linear steps of 0.05.
        let near = |a: &[f64], b: &[f64]| {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| (x - y).abs() <= 1e-12 * y.abs())
        };
        assert!(near(&log_ticks(0.07, 0.3), &[0.1, 0.15, 0.2, 0.25]));
        assert!(near(
            &log_ticks(0.5, 400.0),
            &[0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0]
        ));
        assert!(near(&log_ticks(0.5, 2e3), &[1.0, 10.0, 100.0, 1000.0]));
        for (lo, hi) in [
            (0.07, 0.3),
            (1.01, 1.45),
            (3e-5, 2e-2),
            (1e-30, 1e30),
            (0.5, 2e3),
        ] {
            let t = log_ticks(lo, hi);
            assert!(t.len() >= 3 && t.len() <= 16, "[{lo}, {hi}]: {t:?}");
            assert!(t.iter().all(|v| *v >= lo && *v <= hi));
            assert!(t.windows(2).all(|w| w[0] < w[1]));
        }
        assert!(log_ticks(1.0, 0.5).is_empty());
    }

    #[test]
    fn density_bins_integrate_to_one() {
        let v: Vec<f64> = (0..1000).map(|i| (i as f64 * 0.37).sin()).collect();
        let b = density_bins(&v, 20);
        let w = b[1].0 - b[0].0;
        let total: f64 = b.iter().map(|x| x.1 * w).sum();
        assert!((total - 1.0).abs() < 1e-12);
    }

    #[test]
    fn writes_png() {
        let dir = std::env::temp_dir().join(format!("brg-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.png");
        let s = Series::line(
            "x²",
            (0..50).map(|i| (i as f64, (i * i) as f64 + 1.0)).collect(),
        );
        line_chart(
            &p,
            &Axes {
                title: "t".into(),
                log_y: true,
                ..Default::default()
            },
            &[s],
        )
        .unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        let svg = std::fs::read_to_string(dir.join("a.svg")).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("x²"));
        let h = dir.join("h.png");
        histogram(&h, &Axes::default(), &[0.1, 0.2, 0.2, 0.5], 4, &[]).unwrap();
        let g = dir.join("g.png");
        let rows = vec![("a".to_string(), vec![vec![0.5; 4], vec![1.0; 4]])];
        image_grid(&g, "t", &rows, 2).unwrap();
        assert_eq!(&std::fs::read(&g).unwrap()[1..4], b"PNG");
        let bad = vec![("a".to_string(), vec![vec![0.5; 3]])];
        assert!(image_grid(&g, "t", &bad, 2).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
