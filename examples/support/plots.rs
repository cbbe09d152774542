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
    chart.configure_series_labels().background_style(WHITE.mix(0.85)).border_style(BLACK).position(SeriesLabelPosition::UpperRight).draw()?;
    root.present()?;
    Ok(())
}
