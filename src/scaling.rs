//! Input scaling: per-series z-scores (clustering by shape), global
//! per-channel standardisation, the mean series subtracted step by step
//! (statistics kept in the model for both), or none.

use crate::batch::SeriesBatch;
use crate::config::Scaling;

/// A spread at or below this share of the values' root mean square is
/// rounding, not signal (one unit in the last place of an `f32`): the values
/// are constant, and are divided by 1 so that they map to zeros instead of
/// noise blown up. The floor is relative so that data in small units (volts,
/// metres: a spread of 1e-7 is as much a signal as one of 1) keeps its
/// shape.
const RELATIVE_MIN_STD: f64 = f32::EPSILON as f64;

/// The smallest spread a scaler divides by: the smallest normal `f32`. A
/// stored model's spreads are at least this.
pub(crate) const MIN_STD: f32 = f32::MIN_POSITIVE;

/// A standard deviation as the scaler divides by it, given the root mean
/// square of the values it was measured on: 1 where the values are constant
/// ([`RELATIVE_MIN_STD`], [`MIN_STD`]).
fn usable_std(std: f64, rms: f64) -> f32 {
    if std <= RELATIVE_MIN_STD * rms || std < f64::from(MIN_STD) {
        1.0
    } else {
        std as f32
    }
}

/// Largest magnitude a value may have once scaled. Far beyond anything a
/// network can tell apart (its gates saturate long before), and far enough
/// below `f32::MAX` that no input projection can overflow to infinity.
pub const MAX_SCALED: f64 = 1e30;

/// A fitted scaler.
#[derive(Clone, Debug, PartialEq)]
pub struct Scaler {
    mode: Scaling,
    /// `global`: per-channel mean of the training data; `per_step`: the
    /// mean series, `[steps, channels]` row-major.
    mean: Vec<f32>,
    /// `global` and `per_step`: one standard deviation per channel (around
    /// the mean, or around the mean series).
    std: Vec<f32>,
}

fn mean_std(values: impl Iterator<Item = f32> + Clone) -> (f32, f32) {
    let (mut n, mut sum) = (0usize, 0.0f64);
    for v in values.clone() {
        n += 1;
        sum += v as f64;
    }
    if n == 0 {
        return (0.0, 1.0);
    }
    let mean = sum / n as f64;
    let var = values.map(|v| (v as f64 - mean).powi(2)).sum::<f64>() / n as f64;
    (mean as f32, usable_std(var.sqrt(), (var + mean * mean).sqrt()))
}

/// The mean series of a batch (`[longest, channels]`; step `s` averages the
/// rows at least `s + 1` steps long) and each channel's standard deviation
/// around it.
pub(crate) fn mean_series(batch: &SeriesBatch) -> (Vec<f32>, Vec<f32>) {
    let c = batch.channels();
    let mean = step_means(batch);
    let (mut squares, mut raw_squares, mut n) = (vec![0.0f64; c], vec![0.0f64; c], 0usize);
    for r in 0..batch.len() {
        for (i, v) in batch.row(r).iter().enumerate() {
            squares[i % c] += (*v as f64 - mean[i]).powi(2);
            raw_squares[i % c] += (*v as f64).powi(2);
        }
        n += batch.steps(r);
    }
    let n = n.max(1) as f64;
    let std = squares.iter().zip(&raw_squares).map(|(sq, raw)| usable_std((sq / n).sqrt(), (raw / n).sqrt())).collect();
    (mean.into_iter().map(|m| m as f32).collect(), std)
}

/// The batch's mean series, `[longest steps, channels]` row-major: each
/// step's mean over the rows that reach it.
pub(crate) fn step_means(batch: &SeriesBatch) -> Vec<f64> {
    let c = batch.channels();
    let longest = (0..batch.len()).map(|r| batch.steps(r)).max().unwrap_or(0);
    let (mut sum, mut count) = (vec![0.0f64; longest * c], vec![0usize; longest]);
    for r in 0..batch.len() {
        for (i, v) in batch.row(r).iter().enumerate() {
            sum[i] += *v as f64;
        }
        count.iter_mut().take(batch.steps(r)).for_each(|n| *n += 1);
    }
    sum.iter().enumerate().map(|(i, s)| s / count[i / c].max(1) as f64).collect()
}

/// The share of the series' spread around their mean series that
/// `reconstructed` (laid out like the batch: row after row, time-major)
/// explains: 1 - sum (x - reconstruction)^2 / sum (x - mean series)^2 over
/// every value. 1 at best, 0 for the mean series itself, below 0 for worse;
/// 0 when the series do not spread at all.
pub fn reconstruction_r2(batch: &SeriesBatch, reconstructed: &[f32]) -> f64 {
    let mean = step_means(batch);
    let (mut missed, mut spread, mut at) = (0.0f64, 0.0f64, 0usize);
    for row in 0..batch.len() {
        let series = batch.row(row);
        for (i, &v) in series.iter().enumerate() {
            let reconstruction = reconstructed.get(at + i).copied().unwrap_or(f32::NAN);
            missed += (f64::from(v) - f64::from(reconstruction)).powi(2);
            spread += (f64::from(v) - mean[i]).powi(2);
        }
        at += series.len();
    }
    if spread > 0.0 {
        1.0 - missed / spread
    } else {
        0.0
    }
}

impl Scaler {
    /// Fits the scaler on training data (only `global` and `per_step` learn anything).
    pub fn fit(mode: Scaling, batch: &SeriesBatch) -> Self {
        let c = batch.channels();
        let (mut mean, mut std) = (Vec::new(), Vec::new());
        match mode {
            Scaling::Global => {
                for ch in 0..c {
                    let all = (0..batch.len()).flat_map(move |r| batch.row(r).iter().skip(ch).step_by(c).copied());
                    let (m, s) = mean_std(all);
                    mean.push(m);
                    std.push(s);
                }
            }
            Scaling::PerStep => (mean, std) = mean_series(batch),
            Scaling::None | Scaling::Zscore => {}
        }
        Self { mode, mean, std }
    }

    /// Rebuilds a scaler from a saved model.
    pub fn from_parts(mode: Scaling, mean: Vec<f32>, std: Vec<f32>) -> Self {
        Self { mode, mean, std }
    }

    /// The scaling mode.
    pub fn mode(&self) -> Scaling {
        self.mode
    }

    /// Learnt statistics: for `global` the per-channel means and standard
    /// deviations, for `per_step` the mean series (`[steps, channels]`) and
    /// the per-channel standard deviations; empty for the other modes.
    pub fn stats(&self) -> (&[f32], &[f32]) {
        (&self.mean, &self.std)
    }

    /// What `per_step` subtracts at `step` (one value per channel) before
    /// the row's shift and scale; `None` for every other mode. Steps past
    /// the longest training series take its last step's mean.
    pub fn step_mean(&self, step: usize) -> Option<&[f32]> {
        if self.mode != Scaling::PerStep {
            return None;
        }
        let c = self.std.len();
        let steps = self.mean.len().checked_div(c)?;
        let s = step.min(steps.checked_sub(1)?);
        self.mean.get(s * c..(s + 1) * c)
    }

    /// The first value of `row` (time-major, `channels` per step) that this
    /// scaler turns into something larger than [`MAX_SCALED`]: its step,
    /// channel, value and scaled value (computed in f64, so never infinite).
    pub fn unscalable(&self, row: &[f32], channels: usize) -> Option<(usize, usize, f32, f64)> {
        let (mut shift, mut scale) = (vec![0.0f32; channels], vec![1.0f32; channels]);
        self.row_scale_into(row, &mut shift, &mut scale);
        row.chunks_exact(channels).enumerate().find_map(|(s, step)| {
            let centre = self.step_mean(s);
            step.iter().enumerate().find_map(|(ch, &v)| {
                let c = centre.map_or(0.0, |m| m[ch]) as f64;
                let scaled = (v as f64 - c - shift[ch] as f64) / scale[ch] as f64;
                (scaled.abs() > MAX_SCALED).then_some((s, ch, v, scaled))
            })
        })
    }

    /// Writes one row's per-channel shift and scale (`scaled = (value -
    /// shift) / scale`) into `shift` and `scale` (`channels` each), so that
    /// a batch keeps them in two flat buffers instead of allocating per row.
    pub fn row_scale_into(&self, row: &[f32], shift: &mut [f32], scale: &mut [f32]) {
        let channels = shift.len();
        match self.mode {
            Scaling::None => {
                shift.fill(0.0);
                scale.fill(1.0);
            }
            Scaling::Global => {
                shift.copy_from_slice(&self.mean);
                scale.copy_from_slice(&self.std);
            }
            // The mean series is subtracted step by step (`step_mean`).
            Scaling::PerStep => {
                shift.fill(0.0);
                scale.copy_from_slice(&self.std);
            }
            Scaling::Zscore => {
                for ch in 0..channels {
                    let (m, s) = mean_std(row.iter().skip(ch).step_by(channels).copied());
                    shift[ch] = m;
                    scale[ch] = s;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_in_small_units_are_kept_and_constants_are_not_blown_up() {
        // The same two series in units 1e7 times smaller, and the same
        // values far from zero: each scaler divides by the spread it finds.
        let rows = |scale: f32, offset: f32| {
            SeriesBatch::from_rows(&[vec![offset, offset + scale, offset + 2.0 * scale], vec![offset + 2.0 * scale, offset, offset]], 1)
                .unwrap()
        };
        for mode in [Scaling::Global, Scaling::PerStep] {
            let unit = Scaler::fit(mode, &rows(1.0, 0.0)).stats().1[0];
            let small = Scaler::fit(mode, &rows(1e-7, 0.0)).stats().1[0];
            assert!((small / unit - 1e-7).abs() < 1e-12, "{mode:?}: {small} against {unit}");
            let far = Scaler::fit(mode, &rows(0.5, 1e6)).stats().1[0];
            assert!((far / unit - 0.5).abs() < 1e-3, "{mode:?}: {far} against {unit}");
            // Exactly constant, or constant but for the last place of an f32.
            assert_eq!(Scaler::fit(mode, &SeriesBatch::from_rows(&[vec![5.0f32; 3], vec![5.0; 3]], 1).unwrap()).stats().1[0], 1.0);
            let ulp = 1e6f32 + 0.0625;
            let noisy = SeriesBatch::from_rows(&[vec![1e6f32, ulp, 1e6], vec![1e6, 1e6, 1e6]], 1).unwrap();
            assert_eq!(Scaler::fit(mode, &noisy).stats().1[0], 1.0, "{mode:?}");
        }
        let z = Scaler::from_parts(Scaling::Zscore, Vec::new(), Vec::new());
        let (mut shift, mut scale) = ([0.0f32], [0.0f32]);
        z.row_scale_into(&[1e-7, -1e-7], &mut shift, &mut scale);
        assert_eq!((shift[0], scale[0]), (0.0, 1e-7));
    }

    #[test]
    fn zscore_is_per_row_and_per_channel() {
        let s = Scaler::fit(Scaling::Zscore, &SeriesBatch::from_rows(&[vec![0.0f32]], 1).unwrap());
        let (mut shift, mut scale) = ([0.0; 2], [0.0; 2]);
        s.row_scale_into(&[1.0, 10.0, 3.0, 10.0], &mut shift, &mut scale);
        assert_eq!(shift, [2.0, 10.0]);
        assert_eq!(scale, [1.0, 1.0]); // std of [1,3] is 1; constant channel -> 1
    }

    #[test]
    fn global_learns_channel_statistics() {
        let b = SeriesBatch::from_rows(&[vec![0.0, 5.0, 2.0, 5.0], vec![4.0, 5.0]], 2).unwrap();
        let s = Scaler::fit(Scaling::Global, &b);
        let (m, sd) = s.stats();
        assert_eq!(m, &[2.0, 5.0]);
        assert!((sd[0] - (8.0f32 / 3.0).sqrt()).abs() < 1e-6 && sd[1] == 1.0);
    }

    #[test]
    fn per_step_subtracts_the_mean_series_and_scales_what_is_left() {
        // Two rows of 3 and 2 steps: step means 2, 4 and 9 (the last from
        // the long row alone); deviations -1, 1, -2, 2, 0 -> std sqrt(2).
        let b = SeriesBatch::from_rows(&[vec![1.0, 2.0, 9.0], vec![3.0, 6.0]], 1).unwrap();
        let s = Scaler::fit(Scaling::PerStep, &b);
        assert_eq!(s.stats().0, &[2.0, 4.0, 9.0]);
        assert!((s.stats().1[0] - 2.0f32.sqrt()).abs() < 1e-6);
        assert_eq!(s.step_mean(1), Some(&[4.0f32][..]));
        assert_eq!(s.step_mean(7), Some(&[9.0f32][..]), "past the longest series: its last step");
        let (mut shift, mut scale) = ([5.0f32], [0.0f32]);
        s.row_scale_into(&[1.0, 2.0], &mut shift, &mut scale);
        assert_eq!((shift, scale), ([0.0], [2.0f32.sqrt()]));
        assert_eq!(Scaler::fit(Scaling::Global, &b).step_mean(0), None);
    }

    #[test]
    fn per_step_keeps_channels_apart_in_time_major_rows() {
        // Two channels, rows of 2 and 1 steps: step 0 averages both rows,
        // step 1 only the first; channel 1 is constant, so its std is 1.
        let b = SeriesBatch::from_rows(&[vec![1.0, 7.0, 4.0, 7.0], vec![3.0, 7.0]], 2).unwrap();
        let s = Scaler::fit(Scaling::PerStep, &b);
        assert_eq!(s.stats().0, &[2.0, 7.0, 4.0, 7.0]);
        // Channel 0 departs by -1, 0, +1: std sqrt(2/3).
        assert!((s.stats().1[0] - (2.0f32 / 3.0).sqrt()).abs() < 1e-6 && s.stats().1[1] == 1.0);
        assert_eq!(s.step_mean(1), Some(&[4.0f32, 7.0][..]));
    }
}
