//! PNG scatter plots of 2-D projections, coloured by group (cluster or label).

use std::error::Error;
use std::path::Path;

use plotters::prelude::*;

static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// Makes the bundled font available to plotters (once per process).
pub fn register_font() -> Result<(), Box<dyn Error>> {
    plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).map_err(|_| "bundled font is invalid")?;
    Ok(())
}

/// Draws `points` (`[rows, 2]` row-major) coloured by `groups[row]`, with a
/// legend of `group_names`.
pub fn scatter(path: &Path, title: &str, points: &[f32], groups: &[usize], group_names: &[String]) -> Result<(), Box<dyn Error>> {
    let xs: Vec<f32> = points.iter().step_by(2).copied().collect();
    let ys: Vec<f32> = points.iter().skip(1).step_by(2).copied().collect();
    let span = |v: &[f32]| {
        let (lo, hi) = v.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
        let pad = ((hi - lo) * 0.05).max(1e-3);
        (lo - pad)..(hi + pad)
    };
    let root = BitMapBackend::new(path, (900, 750)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(48)
        .build_cartesian_2d(span(&xs), span(&ys))?;
    chart.configure_mesh().light_line_style(WHITE.mix(0.0)).draw()?;
    for (g, name) in group_names.iter().enumerate() {
        let color = Palette99::pick(g).to_rgba();
        let members = (0..xs.len()).filter(|&i| groups[i] == g).map(|i| (xs[i], ys[i]));
        let count = groups.iter().filter(|&&x| x == g).count();
        chart
            .draw_series(members.map(|p| Circle::new(p, 2, color.mix(0.6).filled())))?
            .label(format!("{name} ({count})"))
            .legend(move |(x, y)| Circle::new((x + 8, y), 5, color.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    root.present()?;
    Ok(())
}

/// One small panel per cluster: a sample of its members (thin, pale) under
/// its prototype (bold). `series(row)` gives a member's values (univariate),
/// `prototypes` is `[clusters, steps]` row-major.
#[allow(dead_code)] // not every example draws prototypes
pub fn prototype_panels(
    path: &Path,
    title: &str,
    prototypes: &[f32],
    clusters: &[usize],
    series: &dyn Fn(usize) -> Vec<f32>,
    members_shown: usize,
) -> Result<(), Box<dyn Error>> {
    let k = clusters.iter().copied().max().map_or(0, |m| m + 1).max(1);
    let steps = prototypes.len() / k;
    let columns = k.min(3);
    let rows = k.div_ceil(columns);
    let root = BitMapBackend::new(path, (320 * columns as u32 + 20, 260 * rows as u32 + 50)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, body) = root.split_vertically(50);
    top.titled(title, ("sans-serif", 24))?;
    for (c, panel) in body.split_evenly((rows, columns)).into_iter().enumerate().take(k) {
        // Evenly spaced members, so that the sample spans the cluster.
        let members: Vec<usize> = (0..clusters.len()).filter(|&r| clusters[r] == c).collect();
        let shown: Vec<Vec<f32>> =
            (0..members_shown.min(members.len())).map(|i| series(members[i * members.len() / members_shown.min(members.len())])).collect();
        let proto = &prototypes[c * steps..(c + 1) * steps];
        let all = shown.iter().flatten().chain(proto);
        let (lo, hi) = all.fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
        let pad = ((hi - lo) * 0.05).max(1e-3);
        let longest = shown.iter().map(Vec::len).chain([steps]).max().unwrap_or(steps);
        let color = Palette99::pick(c).to_rgba();
        let mut chart = ChartBuilder::on(&panel)
            .caption(format!("cluster {c} ({} series)", members.len()), ("sans-serif", 16))
            .margin(6)
            .x_label_area_size(20)
            .y_label_area_size(36)
            .build_cartesian_2d(0f32..longest as f32, (lo - pad)..(hi + pad))?;
        chart.configure_mesh().light_line_style(WHITE.mix(0.0)).label_style(("sans-serif", 11)).draw()?;
        for s in &shown {
            chart.draw_series(LineSeries::new(s.iter().enumerate().map(|(t, &v)| (t as f32, v)), color.mix(0.25).stroke_width(1)))?;
        }
        chart.draw_series(LineSeries::new(proto.iter().enumerate().map(|(t, &v)| (t as f32, v)), BLACK.stroke_width(3)))?;
    }
    root.present()?;
    Ok(())
}
