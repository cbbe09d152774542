//! The graph points of `clustering: "spectral_series"`: each series'
//! latent (in the space the clusters are found in) side by side with the
//! series' shape (the series as the network gets it, averaged and aligned,
//! z-normalised, resampled to one length), each part scaled to unit total
//! variance over the training rows so that neither outweighs the other by
//! its width or units. Two points' shapes are compared at their
//! best-aligned shift of up to `shape_lag` of the steps
//! ([`crate::spectral::Distance`]), their latents step by step.
//!
//! Why both: a graph of the latents alone loses what the encoder did not
//! keep (small sets of long series, whose latents barely move), and a graph
//! of the shapes alone loses what only the encoder sees (level and size,
//! which `per_step` scaling keeps in the latent; a shape at different
//! places). Nearest neighbours in the joined space are near in both. The
//! shape is z-normalised because the latent already holds level and size:
//! the raw values instead let level swamp the shape (Chinatown, BENCHMARKS.md).
//!
//! A series of several channels is z-normalised as one whole (one mean, one
//! spread over all its values), after each channel is divided by its spread
//! over the training rows: the channels of one series were measured
//! together, and which of them is higher or moves more is part of its shape
//! (which vowel, which motion), while the training spread keeps a channel
//! in large units from outweighing the others. Z-normalising each channel
//! on its own dropped that (BENCHMARKS.md, "Several channels"); models
//! saved before keep doing so.
//!
//! With `series_features: "random_kernels"` the series part of a point is
//! not the shape itself but its description by MiniRocket's kernels
//! ([`crate::random_kernels`]), compared step by step; with
//! `"multirocket"` (the default) the same kernels pooled four ways over the
//! shape and its first difference; with `"kernels_and_shapes"` the
//! description and the shape side by side, each at half the part's
//! variance.

use crate::batch::SeriesBatch;
use crate::cluster::column_moments;
use crate::config::Scaling;
use crate::random_kernels::{KernelFeatures, Pooling};
use crate::scaling::Scaler;
use crate::spectral::Distance;

/// How a model joins a latent and its series into one graph point.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SeriesView {
    /// Steps every series is resampled to (the longest training series',
    /// as the network sees it).
    pub(crate) steps: usize,
    /// Values per step.
    pub(crate) channels: usize,
    /// What the latent part and the series part are multiplied by (with
    /// kernels, the series part is the kernels' description).
    pub(crate) latent_weight: f32,
    pub(crate) series_weight: f32,
    /// `series_features: "kernels_and_shapes"`: what the shape, which
    /// follows the description in each point, is multiplied by.
    pub(crate) shape_weight: Option<f32>,
    /// Each channel's spread over the training rows, which several
    /// channels are divided by before the series is z-normalised as a
    /// whole; `None`: one channel, or a model saved before, whose channels
    /// are each z-normalised on their own.
    pub(crate) channel_spread: Option<Vec<f32>>,
    /// `series_features: "random_kernels"`, `"multirocket"` or
    /// `"kernels_and_shapes"`: the kernels that describe a shape; `None`:
    /// the shape is its own description.
    pub(crate) kernels: Option<KernelFeatures>,
}

/// The training series' shapes, `[rows, steps * channels]`, or with
/// `kernels` their descriptions `[rows, kernels.dim()]` (each followed by
/// its shape with `keep_shapes`), with what made them.
pub(crate) struct Shapes {
    pub(crate) rows: Vec<f32>,
    pub(crate) steps: usize,
    pub(crate) channels: usize,
    pub(crate) channel_spread: Option<Vec<f32>>,
    pub(crate) kernels: Option<KernelFeatures>,
    pub(crate) keep_shapes: bool,
}

impl Shapes {
    /// The shapes of the training series (as the network gets them) at
    /// the longest one's steps.
    pub(crate) fn of_training(batch: &SeriesBatch) -> Self {
        let (steps, channels) = (batch.max_steps(), batch.channels());
        let channel_spread = (channels > 1).then(|| channel_spread(batch));
        let rows = series_rows(batch, steps, channel_spread.as_deref());
        Shapes { rows, steps, channels, channel_spread, kernels: None, keep_shapes: true }
    }

    /// The same series described by kernels drawn from them with `seed`
    /// and pooled by `pooling`, each description followed by its shape with
    /// `keep_shapes`.
    pub(crate) fn described_by_kernels(self, seed: u64, pooling: Pooling, keep_shapes: bool) -> Self {
        let kernels = KernelFeatures::fit(&self.rows, self.steps, self.channels, pooling, seed);
        let described = kernels.describe(&self.rows);
        let rows = if keep_shapes { side_by_side(&described, kernels.dim(), &self.rows, self.steps * self.channels) } else { described };
        Shapes { rows, kernels: Some(kernels), keep_shapes, ..self }
    }
}

/// Each row of `a` (`[rows, a_width]`) followed by the same row of `b`.
fn side_by_side(a: &[f32], a_width: usize, b: &[f32], b_width: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    for (x, y) in a.chunks_exact(a_width.max(1)).zip(b.chunks_exact(b_width.max(1))) {
        out.extend_from_slice(x);
        out.extend_from_slice(y);
    }
    out
}

/// The least the latent part's squared distances are multiplied by
/// (`latent_by_reconstruction`): keeps the weight positive, which stored
/// models must have and which the graph's latents are divided by.
const MIN_LATENT_SHARE: f64 = 1e-6;

impl SeriesView {
    /// The view with its latent part's squared distances multiplied by
    /// `share` (a reconstruction R²), clamped to [`MIN_LATENT_SHARE`, 1];
    /// `None` leaves it as it is.
    pub(crate) fn with_latent_share(mut self, share: Option<f64>) -> Self {
        if let Some(share) = share {
            let share = if share.is_nan() { MIN_LATENT_SHARE } else { share.clamp(MIN_LATENT_SHARE, 1.0) };
            self.latent_weight *= share.sqrt() as f32;
        }
        self
    }

    /// Weights that give each part unit total variance over the training
    /// rows (`latents`: `[rows, latent]` in the clustering space; `shapes`:
    /// the same rows' series parts); a description and a shape side by
    /// side share the series part's weight, half the variance each. A part
    /// without spread keeps weight 1: it adds the same to every distance.
    pub(crate) fn fit(latents: &[f32], latent: usize, shapes: &Shapes) -> Self {
        let weight = |variance: f64| if variance > 1e-24 { (1.0 / variance.sqrt()) as f32 } else { 1.0 };
        let shape_width = shapes.steps * shapes.channels;
        let first = shapes.kernels.as_ref().map_or(shape_width, KernelFeatures::dim);
        let both = shapes.kernels.is_some() && shapes.keep_shapes;
        let variances = column_moments(&shapes.rows, first + if both { shape_width } else { 0 }).1;
        let (head, tail) = variances.split_at(first.min(variances.len()));
        let half = std::f32::consts::FRAC_1_SQRT_2;
        Self {
            steps: shapes.steps,
            channels: shapes.channels,
            latent_weight: weight(total_variance(latents, latent)),
            series_weight: weight(head.iter().sum()) * if both { half } else { 1.0 },
            shape_weight: both.then(|| weight(tail.iter().sum()) * half),
            channel_spread: shapes.channel_spread.clone(),
            kernels: shapes.kernels.clone(),
        }
    }

    /// The series part of later series (shapes, or their descriptions,
    /// each followed by its shape where the graph keeps both), made as the
    /// training ones were.
    pub(crate) fn shapes(&self, batch: &SeriesBatch) -> Vec<f32> {
        let shapes = series_rows(batch, self.steps, self.channel_spread.as_deref());
        match (&self.kernels, self.shape_weight) {
            (Some(kernels), Some(_)) => side_by_side(&kernels.describe(&shapes), kernels.dim(), &shapes, self.steps * self.channels),
            (Some(kernels), None) => kernels.describe(&shapes),
            (None, _) => shapes,
        }
    }

    /// Values of a point's series part before the shape where both are
    /// kept (the description), or in all.
    fn first_width(&self) -> usize {
        self.kernels.as_ref().map_or(self.steps * self.channels, KernelFeatures::dim)
    }

    /// Values in one point's series part.
    fn series_width(&self) -> usize {
        self.first_width() + if self.shape_weight.is_some() { self.steps * self.channels } else { 0 }
    }

    /// Values in one graph point.
    pub(crate) fn width(&self, latent: usize) -> usize {
        latent + self.series_width()
    }

    /// How two graph points are compared: latents and kernel descriptions
    /// step by step; shapes at their best-aligned shift of up to
    /// `shape_lag` of their steps (rounded; 0: step by step).
    pub(crate) fn distance(&self, latent: usize, shape_lag: f64) -> Distance {
        let head = match (&self.kernels, self.shape_weight) {
            (Some(_), None) => return Distance::Euclidean,
            (Some(kernels), Some(_)) => latent + kernels.dim(),
            (None, _) => latent,
        };
        let max_lag = (shape_lag.clamp(0.0, 1.0) * self.steps as f64).round() as usize;
        Distance::ShiftedShape { head, steps: self.steps, channels: self.channels, max_lag }
    }

    /// Graph points `[rows, width(latent)]`: each latent row (clustering
    /// space) and its series part, weighted.
    pub(crate) fn joined(&self, latents: &[f32], latent: usize, series: &[f32]) -> Vec<f32> {
        let (width, first) = (self.series_width(), self.first_width());
        let rows = latents.len() / latent.max(1);
        let mut out = Vec::with_capacity(rows * self.width(latent));
        for (z, x) in latents.chunks_exact(latent.max(1)).zip(series.chunks_exact(width.max(1))) {
            out.extend(z.iter().map(|v| v * self.latent_weight));
            out.extend(x[..first].iter().map(|v| v * self.series_weight));
            let shape_weight = self.shape_weight.unwrap_or(1.0);
            out.extend(x[first..].iter().map(|v| v * shape_weight));
        }
        out
    }
}

/// Sum over the columns of each column's variance (population), in f64.
fn total_variance(values: &[f32], width: usize) -> f64 {
    column_moments(values, width).1.iter().sum()
}

/// Each channel's population standard deviation over every step of every
/// series of `batch`, as `scaling: "global"` computes it (a channel without
/// spread gets 1).
fn channel_spread(batch: &SeriesBatch) -> Vec<f32> {
    Scaler::fit(Scaling::Global, batch).stats().1.to_vec()
}

/// The shape of every series of `batch` (already averaged and aligned as
/// the model does), resampled to `steps` steps by linear interpolation,
/// `[rows, steps * channels]`, time-major. Without `channel_spread` each
/// channel is z-scored as `scaling: "zscore"` does (a flat channel gives
/// zeros); with it each channel is divided by its spread and the series is
/// then z-scored as a whole (one mean and one spread over all its values; a
/// flat series gives zeros).
pub(crate) fn series_rows(batch: &SeriesBatch, steps: usize, channel_spread: Option<&[f32]>) -> Vec<f32> {
    let c = batch.channels();
    let zscore = Scaler::from_parts(Scaling::Zscore, Vec::new(), Vec::new());
    let (mut shift, mut scale) = (vec![0.0f32; c], vec![1.0f32; c]);
    let mut out = Vec::with_capacity(batch.len() * steps * c);
    let mut shape = Vec::new();
    for row in 0..batch.len() {
        let values = batch.row(row);
        shape.clear();
        match channel_spread {
            Some(spread) => {
                shape.extend(values.chunks_exact(c).flat_map(|step| step.iter().zip(spread).map(|(v, s)| v / s)));
                // The whole series as one channel.
                let (mut m, mut s) = ([0.0f32], [1.0f32]);
                zscore.row_scale_into(&shape, &mut m, &mut s);
                shape.iter_mut().for_each(|v| *v = (*v - m[0]) / s[0]);
            }
            None => {
                zscore.row_scale_into(values, &mut shift, &mut scale);
                for step in values.chunks_exact(c) {
                    shape.extend(step.iter().zip(shift.iter().zip(&scale)).map(|(&v, (&m, &s))| (v - m) / s));
                }
            }
        }
        resample_into(&shape, c, steps, &mut out);
    }
    out
}

/// `values` (`[n, channels]`, n >= 1) resampled to `steps` steps by linear
/// interpolation between the first and last step, appended to `out`.
fn resample_into(values: &[f32], channels: usize, steps: usize, out: &mut Vec<f32>) {
    let n = values.len() / channels.max(1);
    if n == steps || n == 0 {
        out.extend_from_slice(values);
        // A series with no steps (refused before this by every caller)
        // would otherwise leave its row short.
        out.extend(std::iter::repeat_n(0.0, (steps - n.min(steps)) * channels));
        return;
    }
    for t in 0..steps {
        let at = if steps > 1 { t as f64 * (n - 1) as f64 / (steps - 1) as f64 } else { 0.0 };
        let lo = (at.floor() as usize).min(n - 1);
        let hi = (lo + 1).min(n - 1);
        let frac = (at - lo as f64) as f32;
        for ch in 0..channels {
            let (a, b) = (values[lo * channels + ch], values[hi * channels + ch]);
            out.push(a + (b - a) * frac);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampling_keeps_equal_lengths_and_interpolates_others() {
        let mut out = Vec::new();
        resample_into(&[1.0, 2.0, 3.0], 1, 3, &mut out);
        assert_eq!(out, vec![1.0, 2.0, 3.0]);
        out.clear();
        // Two channels, 2 steps stretched to 3: the middle is the average.
        resample_into(&[0.0, 10.0, 2.0, 30.0], 2, 3, &mut out);
        assert_eq!(out, vec![0.0, 10.0, 1.0, 20.0, 2.0, 30.0]);
        out.clear();
        // 5 steps to 3: the first, the middle and the last.
        resample_into(&[0.0, 1.0, 4.0, 9.0, 16.0], 1, 3, &mut out);
        assert_eq!(out, vec![0.0, 4.0, 16.0]);
        out.clear();
        resample_into(&[7.0], 1, 4, &mut out);
        assert_eq!(out, vec![7.0; 4]);
    }

    #[test]
    fn series_rows_are_z_normalised_shapes() {
        // Two channels: a ramp at two sizes and levels gives one shape; a
        // flat channel gives zeros; a shorter series is stretched.
        let a = vec![1.0f32, 5.0, 3.0, 5.0, 5.0, 5.0];
        let b = vec![10.0f32, -2.0, 30.0, -2.0, 50.0, -2.0];
        let short = vec![0.0f32, 1.0, 2.0, 3.0];
        let batch = SeriesBatch::from_rows(&[a, b, short], 2).unwrap();
        let rows = series_rows(&batch, 3, None);
        assert_eq!(rows.len(), 18);
        let ramp = (1.5f32).sqrt();
        let want = [-ramp, 0.0, 0.0, 0.0, ramp, 0.0];
        for row in 0..2 {
            for (got, want) in rows[row * 6..(row + 1) * 6].iter().zip(want) {
                assert!((got - want).abs() < 1e-5, "{rows:?}");
            }
        }
        // Two steps (0, 2) and (1, 3): each channel -1, 1, stretched to -1, 0, 1.
        for (got, want) in rows[12..].iter().zip([-1.0f32, -1.0, 0.0, 0.0, 1.0, 1.0]) {
            assert!((got - want).abs() < 1e-6, "{rows:?}");
        }
    }

    #[test]
    fn several_channels_are_z_normalised_as_one_series_in_their_training_units() {
        // Channel 1 is in units ten times channel 0's: its training spread
        // (population, over every step) is ten times larger.
        let a = vec![0.0f32, 10.0, 2.0, 10.0, 4.0, 10.0];
        let b = vec![0.0f32, 0.0, 2.0, 0.0, 4.0, 0.0];
        let batch = SeriesBatch::from_rows(&[a, b], 2).unwrap();
        let spread = channel_spread(&batch);
        let sd = |v: &[f64]| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt() as f32
        };
        assert!((spread[0] - sd(&[0.0, 2.0, 4.0, 0.0, 2.0, 4.0])).abs() < 1e-6, "{spread:?}");
        assert!((spread[1] - 5.0).abs() < 1e-6, "{spread:?}");
        let shapes = Shapes::of_training(&batch);
        assert_eq!(shapes.channel_spread.as_deref(), Some(&spread[..]));
        // Series a over its spreads is (0, 2), (s, 2), (2s, 2) with
        // s = 2 / spread[0]: z-scored as six values, channel 1 keeps its
        // level above channel 0 (per channel it would be all zeros).
        let s = 2.0 / spread[0];
        let values = [0.0, 2.0, s, 2.0, 2.0 * s, 2.0];
        let mean = values.iter().sum::<f32>() / 6.0;
        let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / 6.0).sqrt();
        for (got, v) in shapes.rows[..6].iter().zip(values) {
            assert!((got - (v - mean) / std).abs() < 1e-5, "{:?}", shapes.rows);
        }
        // Series b differs only in channel 1's level: a shape of its own.
        assert!(shapes.rows[6..].iter().zip(&shapes.rows[..6]).any(|(x, y)| (x - y).abs() > 0.1));
        // The same series later, through the view, gets the same shape; a
        // series flat in training units gives zeros; one channel keeps no
        // spreads.
        let view = SeriesView::fit(&[0.0, 1.0], 1, &shapes);
        assert_eq!(view.shapes(&batch), shapes.rows);
        let flat = SeriesBatch::from_rows(&[[spread[0], spread[1]].repeat(3)], 2).unwrap();
        assert_eq!(view.shapes(&flat), vec![0.0; 6]);
        let one = SeriesBatch::from_rows(&[vec![1.0f32, 2.0, 3.0]], 1).unwrap();
        assert_eq!(Shapes::of_training(&one).channel_spread, None);
    }

    #[test]
    fn each_part_gets_unit_total_variance() {
        // Latents spread 10 apart, series 0.1 apart: both end with total
        // variance 1, so the joined distance weighs them alike.
        let latents = [0.0f32, 0.0, 10.0, 0.0];
        let series = [0.0f32, 0.1, 0.0, 0.0];
        let shapes =
            |rows: &[f32]| Shapes { rows: rows.to_vec(), steps: 2, channels: 1, channel_spread: None, kernels: None, keep_shapes: true };
        let view = SeriesView::fit(&latents, 2, &shapes(&series));
        let joined = view.joined(&latents, 2, &series);
        assert_eq!(joined.len(), 8);
        assert_eq!(view.width(2), 4);
        let part = |row: usize, range: std::ops::Range<usize>| joined[row * 4..(row + 1) * 4][range].to_vec();
        let sq = |a: Vec<f32>, b: Vec<f32>| a.iter().zip(&b).map(|(x, y)| (x - y).powi(2)).sum::<f32>();
        // Two rows at distance d have total variance d^2 / 4.
        assert!((sq(part(0, 0..2), part(1, 0..2)) - 4.0).abs() < 1e-4, "{joined:?}");
        assert!((sq(part(0, 2..4), part(1, 2..4)) - 4.0).abs() < 1e-4, "{joined:?}");
        // A part without spread keeps weight 1.
        let flat = SeriesView::fit(&latents, 2, &shapes(&[0.5, 0.5, 0.5, 0.5]));
        assert_eq!(flat.series_weight, 1.0);
    }
}
