//! Piecewise aggregate approximation (option `paa_steps`): long series are
//! averaged over windows of `window` consecutive steps before the network
//! sees them, and reconstructions are stretched back to the input's length.
//!
//! Why: a recurrent autoencoder has to carry a series through every one of
//! its steps, and on long series it underfits (BENCHMARKS.md, "Shorter
//! series for the network"); averaging a few neighbouring steps keeps the
//! shape, shortens the recurrence by the window and makes every epoch that
//! much cheaper. The window is fixed at training time from the longest
//! training series and stored in the model, so that every later series is
//! averaged the same way.

use crate::batch::SeriesBatch;
use crate::error::Result;

/// The window that brings a longest series of `longest` steps down to at
/// most `target` steps (`target` 0: off, window 1).
pub fn window_for(longest: usize, target: usize) -> usize {
    if target == 0 || longest <= target {
        1
    } else {
        longest.div_ceil(target)
    }
}

/// Steps of a series of `steps` steps once averaged over `window`-step
/// windows (the last window may be shorter).
pub fn averaged_steps(steps: usize, window: usize) -> usize {
    steps.div_ceil(window.max(1))
}

/// One series (time-major, `channels` per step) averaged over windows.
pub fn average_row(values: &[f32], channels: usize, window: usize, out: &mut Vec<f32>) {
    let steps = values.len() / channels.max(1);
    for start in (0..steps).step_by(window.max(1)) {
        let end = (start + window).min(steps);
        let n = (end - start) as f64;
        for ch in 0..channels {
            let sum: f64 = (start..end).map(|t| f64::from(values[t * channels + ch])).sum();
            out.push((sum / n) as f32);
        }
    }
}

/// Every row of `batch` averaged over `window`-step windows.
pub fn average(batch: &SeriesBatch, window: usize) -> Result<SeriesBatch<'static>> {
    let c = batch.channels();
    let mut values = Vec::with_capacity(batch.total_steps().div_ceil(window.max(1)) * c + batch.len() * c);
    let mut offsets = Vec::with_capacity(batch.len() + 1);
    offsets.push(0);
    for row in 0..batch.len() {
        average_row(batch.row(row), c, window, &mut values);
        offsets.push(values.len() / c);
    }
    SeriesBatch::new(values, offsets, c)
}

/// Averaged rows (`lengths` of the original series, row after row,
/// time-major) stretched back: each averaged step repeated `window` times,
/// each row cut to its original length.
pub fn stretch(averaged: &[f32], lengths: impl Iterator<Item = usize>, channels: usize, window: usize) -> Vec<f32> {
    let mut out = Vec::new();
    let mut at = 0;
    for steps in lengths {
        for t in 0..steps {
            let s = at + t / window.max(1);
            out.extend_from_slice(&averaged[s * channels..(s + 1) * channels]);
        }
        at += averaged_steps(steps, window);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_average_steps_and_stretch_back() {
        assert_eq!(window_for(286, 64), 5);
        assert_eq!(window_for(64, 64), 1);
        assert_eq!(window_for(1000, 0), 1);
        // Two channels, 5 steps, window 2: steps (0,1), (2,3), (4).
        let row = [1.0f32, 10.0, 3.0, 30.0, 5.0, 50.0, 7.0, 70.0, 9.0, 90.0];
        let batch = SeriesBatch::from_rows(&[row.to_vec(), vec![2.0, 4.0]], 2).unwrap();
        let avg = average(&batch, 2).unwrap();
        assert_eq!(avg.row(0), &[2.0, 20.0, 6.0, 60.0, 9.0, 90.0]);
        assert_eq!(avg.row(1), &[2.0, 4.0]);
        let flat: Vec<f32> = (0..avg.len()).flat_map(|r| avg.row(r).to_vec()).collect();
        let back = stretch(&flat, [5, 1].into_iter(), 2, 2);
        assert_eq!(back, vec![2.0, 20.0, 2.0, 20.0, 6.0, 60.0, 6.0, 60.0, 9.0, 90.0, 2.0, 4.0]);
    }
}
