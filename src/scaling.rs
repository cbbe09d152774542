//! Input scaling: per-series z-scores (clustering by shape), global
//! per-channel standardisation (statistics kept in the model), or none.

use crate::batch::SeriesBatch;
use crate::config::Scaling;

/// Standard deviations below this are treated as 1 so that constant series
/// map to zeros instead of dividing by zero.
const MIN_STD: f64 = 1e-6;

/// A fitted scaler.
#[derive(Clone, Debug, PartialEq)]
pub struct Scaler {
    mode: Scaling,
    /// `global`: per-channel mean and standard deviation of the training data.
    mean: Vec<f32>,
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
    let std = var.sqrt();
    (mean as f32, if std < MIN_STD { 1.0 } else { std as f32 })
}

impl Scaler {
    /// Fits the scaler on training data (only `global` learns anything).
    pub fn fit(mode: Scaling, batch: &SeriesBatch) -> Self {
        let c = batch.channels();
        let (mut mean, mut std) = (Vec::new(), Vec::new());
        if mode == Scaling::Global {
            for ch in 0..c {
                let all = (0..batch.len()).flat_map(move |r| batch.row(r).iter().skip(ch).step_by(c).copied());
                let (m, s) = mean_std(all);
                mean.push(m);
                std.push(s);
            }
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

    /// Global statistics (empty unless the mode is `global`).
    pub fn global_stats(&self) -> (&[f32], &[f32]) {
        (&self.mean, &self.std)
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
        let (m, sd) = s.global_stats();
        assert_eq!(m, &[2.0, 5.0]);
        assert!((sd[0] - (8.0f32 / 3.0).sqrt()).abs() < 1e-6 && sd[1] == 1.0);
    }
}
