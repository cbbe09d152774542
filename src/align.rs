//! The `align_lags` option: each series shifted in time, before PAA
//! averaging, by the lag below one averaging window that best correlates it
//! with the training rows' mean series.
//!
//! Averaging over windows of `w` raw steps makes a shape that starts one
//! raw step later a different input, and `shift_tolerance` forgives only
//! whole averaged steps; on data whose onsets jitter by less than a window
//! (ECG beats cut around a detected peak), that jitter becomes the latent's
//! largest variation. Lags are searched only below one window, so whole-step
//! lags are still the loss's business, and series the model does not
//! average are never moved. One global reference cannot tell jitter from a
//! class that sits later than another, which is why this is an option and
//! not a default (BENCHMARKS.md, "Whose lags are noise").

use crate::batch::SeriesBatch;
use crate::error::Result;

/// The training rows' raw mean series and the largest lag searched.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LagReference {
    /// `[steps, channels]` row-major: the mean over the training rows of
    /// each step, counted from each series' first step.
    values: Vec<f32>,
    channels: usize,
    max_lag: usize,
}

impl LagReference {
    /// The mean series of `batch` (as `scaling: per_step` computes it), for
    /// a model that averages over `window` steps.
    pub fn fit(batch: &SeriesBatch, window: usize) -> Self {
        let (values, _) = crate::scaling::mean_series(batch);
        Self::from_parts(values, batch.channels(), window)
    }

    /// A reference read back from a model file; the caller checks the shape
    /// and that every value is finite.
    pub fn from_parts(values: Vec<f32>, channels: usize, window: usize) -> Self {
        // Lags of a whole averaged step or more are `shift_tolerance`'s.
        LagReference { values, channels, max_lag: window.saturating_sub(1) }
    }

    pub fn values(&self) -> &[f32] {
        &self.values
    }

    pub fn steps(&self) -> usize {
        self.values.len() / self.channels.max(1)
    }

    /// The lag (positive: the series is moved earlier, i.e. its step
    /// `s + lag` is shown at `s`) that maximises the cross-correlation of
    /// the row's and the reference's departures from their own means over
    /// the steps both cover. Ties keep the smaller shift, so a row that
    /// gains nothing from moving stays put.
    pub fn lag(&self, row: &[f32]) -> isize {
        let c = self.channels;
        let len = row.len() / c;
        let steps = len.min(self.steps());
        if steps == 0 || self.max_lag == 0 {
            return 0;
        }
        let x = centred(row, c);
        let reference = centred(&self.values[..steps * c], c);
        let most = self.max_lag.min(len.saturating_sub(1)) as isize;
        let mut best = (f64::NEG_INFINITY, 0isize);
        // 0 first, then 1, -1, 2, -2, ...: a strictly better score is needed to move further.
        for lag in std::iter::once(0).chain((1..=most).flat_map(|d| [d, -d])) {
            let score: f64 = (0..steps as isize)
                .filter_map(|s| {
                    let src = s + lag;
                    (0..len as isize).contains(&src).then(|| {
                        let (a, b) = (src as usize * c, s as usize * c);
                        (0..c).map(|ch| x[a + ch] * reference[b + ch]).sum::<f64>()
                    })
                })
                .sum();
            if score > best.0 {
                best = (score, lag);
            }
        }
        best.1
    }

    /// Every row moved by its lag (the edges repeated), with the lags.
    pub fn align(&self, batch: &SeriesBatch) -> Result<(SeriesBatch<'static>, Vec<isize>)> {
        let c = batch.channels();
        let mut values = Vec::with_capacity(batch.total_steps() * c);
        let mut offsets = Vec::with_capacity(batch.len() + 1);
        offsets.push(0);
        let mut lags = Vec::with_capacity(batch.len());
        for r in 0..batch.len() {
            lags.push(self.align_row(batch.row(r), &mut values));
            offsets.push(values.len() / c);
        }
        Ok((SeriesBatch::new(values, offsets, c)?, lags))
    }

    /// Appends `row` moved by its lag to `out`; returns the lag.
    pub fn align_row(&self, row: &[f32], out: &mut Vec<f32>) -> isize {
        let lag = self.lag(row);
        shifted_into(row, self.channels, lag, out);
        lag
    }
}

/// Appends `row` (time-major, `c` channels) read `lag` steps later at every
/// step (earlier for a negative lag), holding its first and last steps
/// where that runs past an end.
fn shifted_into(row: &[f32], c: usize, lag: isize, out: &mut Vec<f32>) {
    let len = row.len() / c;
    for s in 0..len as isize {
        let src = (s + lag).clamp(0, len as isize - 1) as usize;
        out.extend_from_slice(&row[src * c..(src + 1) * c]);
    }
}

/// Undoes [`LagReference::align`] on values laid out like the batch it
/// aligned (row after row, time-major): each row moved back by its lag.
pub(crate) fn shift_back(values: &[f32], lengths: impl Iterator<Item = usize>, c: usize, lags: &[isize]) -> Vec<f32> {
    let mut out = Vec::with_capacity(values.len());
    let mut at = 0;
    for (len, &lag) in lengths.zip(lags) {
        shifted_into(&values[at..at + len * c], c, -lag, &mut out);
        at += len * c;
    }
    out
}

/// The values less each channel's mean over the row.
fn centred(values: &[f32], c: usize) -> Vec<f64> {
    let steps = values.len() / c;
    let mut out: Vec<f64> = values.iter().map(|v| f64::from(*v)).collect();
    for ch in 0..c {
        let mean = (0..steps).map(|s| out[s * c + ch]).sum::<f64>() / steps.max(1) as f64;
        (0..steps).for_each(|s| out[s * c + ch] -= mean);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A narrow bump centred at `at` on `len` steps.
    fn bump(len: usize, at: f32) -> Vec<f32> {
        (0..len).map(|s| (-((s as f32 - at) / 2.0).powi(2)).exp()).collect()
    }

    #[test]
    fn finds_the_lag_of_a_shifted_copy_within_the_window() {
        let rows: Vec<Vec<f32>> = vec![bump(60, 30.0)];
        let reference = LagReference::fit(&SeriesBatch::from_rows(&rows, 1).unwrap(), 4);
        for lag in -3isize..=3 {
            // The bump 'lag' steps later must be read 'lag' steps later to line up.
            assert_eq!(reference.lag(&bump(60, 30.0 + lag as f32)), lag, "at lag {lag}");
        }
        // Beyond the window the search stops at its edge.
        assert_eq!(reference.lag(&bump(60, 36.0)), 3);
    }

    #[test]
    fn aligned_rows_line_up_with_the_reference_and_shift_back_restores_them() {
        let rows = vec![bump(40, 18.0), bump(40, 20.0), bump(40, 22.0)];
        let batch = SeriesBatch::from_rows(&rows, 1).unwrap();
        let reference = LagReference::fit(&batch, 3);
        let (aligned, lags) = reference.align(&batch).unwrap();
        assert_eq!(lags, vec![-2, 0, 2]);
        for r in 0..3 {
            let peak = aligned.row(r).iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
            assert_eq!(peak, 20, "row {r}");
        }
        let flat: Vec<f32> = (0..3).flat_map(|r| aligned.row(r).to_vec()).collect();
        let back = shift_back(&flat, batch.lengths(), 1, &lags);
        // Interior steps (away from the held edges) come back exactly.
        for (r, row) in rows.iter().enumerate() {
            assert_eq!(&back[r * 40 + 2..r * 40 + 38], &row[2..38], "row {r}");
        }
    }

    #[test]
    fn a_row_that_gains_nothing_stays_and_short_rows_are_safe() {
        let flat = vec![vec![1.0f32; 10]];
        let reference = LagReference::fit(&SeriesBatch::from_rows(&flat, 1).unwrap(), 5);
        // A constant row correlates equally at every lag: no move.
        assert_eq!(reference.lag(&[5.0; 10]), 0);
        // Rows shorter than the lag search only shifts that keep an
        // overlap, and a single step cannot move.
        let peaked = LagReference::fit(&SeriesBatch::from_rows(&[bump(12, 1.0)], 1).unwrap(), 5);
        assert_eq!(peaked.lag(&[0.0, 0.0, 1.0]), 1);
        assert_eq!(peaked.lag(&[3.0]), 0);
    }

    #[test]
    fn channels_are_matched_together() {
        // Two channels, the bump in the second only: the lag comes from it.
        let row = |at: f32| -> Vec<f32> { bump(50, at).into_iter().flat_map(|v| [0.5, v]).collect() };
        let reference = LagReference::fit(&SeriesBatch::from_rows(&[row(25.0)], 2).unwrap(), 3);
        assert_eq!(reference.lag(&row(26.0)), 1);
        assert_eq!(reference.lag(&row(23.0)), -2);
    }
}
