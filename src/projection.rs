//! t-SNE pictures of a set of embeddings (transductive: the map is fitted on
//! the points it draws and cannot place new points). PCA, which can, lives
//! in the model (see [`crate::Model::project`]).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::error::{Result, VraeError};

/// t-SNE settings (ranges in [`TsneOptions::validate`]).
#[derive(Clone, Debug)]
pub struct TsneOptions {
    /// Effective number of neighbours (default 30; capped at (rows - 1) / 3).
    pub perplexity: f32,
    /// Gradient-descent iterations (default 1000).
    pub epochs: usize,
    /// Barnes-Hut accuracy/speed trade-off (default 0.5; 0 would be exact).
    pub theta: f32,
    /// Seed of the initial layout.
    pub seed: u64,
}

/// Most points exact t-SNE (`theta` 0) takes.
pub const EXACT_TSNE_MAX_ROWS: usize = 5000;

impl TsneOptions {
    /// Checks the documented ranges: `perplexity` in (0, 1000], `epochs` in
    /// 1..=100000, `theta` in [0, 1].
    pub fn validate(&self) -> Result<()> {
        let bad = |key: &str, message: String| Err(VraeError::InvalidOption { key: key.into(), message });
        if !(self.perplexity.is_finite() && self.perplexity > 0.0 && self.perplexity <= 1000.0) {
            return bad("perplexity", format!("must be a finite number in (0, 1000], got {}", self.perplexity));
        }
        if !(1..=100_000).contains(&self.epochs) {
            return bad("epochs", format!("must be in 1..=100000, got {}", self.epochs));
        }
        if !(self.theta.is_finite() && (0.0..=1.0).contains(&self.theta)) {
            return bad("theta", format!("must be a finite number in [0, 1], got {}", self.theta));
        }
        Ok(())
    }
}

impl Default for TsneOptions {
    fn default() -> Self {
        Self { perplexity: 30.0, epochs: 1000, theta: 0.5, seed: 0 }
    }
}

/// 2-D t-SNE coordinates of `rows` points of `dim` values each, `[rows, 2]`.
pub fn tsne(points: &[f32], dim: usize, options: &TsneOptions) -> Result<Vec<f32>> {
    if dim == 0 || !points.len().is_multiple_of(dim) {
        return Err(VraeError::Layout(format!("{} values is not a whole number of points of {dim}", points.len())));
    }
    options.validate()?;
    let rows = points.len() / dim;
    if options.theta == 0.0 && rows > EXACT_TSNE_MAX_ROWS {
        return Err(VraeError::InvalidOption {
            key: "theta".into(),
            message: format!("exact t-SNE (theta 0) takes time quadratic in the points; use theta > 0 for more than {EXACT_TSNE_MAX_ROWS} points, got {rows}"),
        });
    }
    if rows < 4 {
        return Err(VraeError::InvalidOption { key: "tsne".into(), message: format!("needs at least 4 points, got {rows}") });
    }
    if let Some(i) = points.iter().position(|v| !v.is_finite()) {
        return Err(VraeError::NonFinite { row: i / dim, step: 0, channel: i % dim, value: points[i] });
    }
    let perplexity = options.perplexity.min((rows - 1) as f32 / 3.0).max(1.0);
    let scaled = within_squaring_range(points);
    let samples: Vec<&[f32]> = scaled.as_deref().unwrap_or(points).chunks_exact(dim).collect();
    // A seeded small random start makes the picture reproducible.
    let mut rng = StdRng::seed_from_u64(options.seed);
    let start: Vec<f32> = (0..rows * 2).map(|_| rng.random_range(-1e-2f32..1e-2)).collect();
    let (epochs, theta) = (options.epochs, options.theta);
    // bhtsne asserts on its parameters; they are validated above, and a
    // panic is still turned into an error rather than crossing into a caller.
    let result = std::panic::catch_unwind(|| {
        let mut t = bhtsne::tSNE::<f32, &[f32], 2>::new(&samples);
        t.perplexity(perplexity).epochs(epochs).initial_embedding(start);
        let metric = |a: &&[f32], b: &&[f32]| a.iter().zip(b.iter()).map(|(x, y)| (x - y).powi(2)).sum::<f32>().sqrt();
        if theta > 0.0 {
            t.barnes_hut(theta, metric);
        } else {
            t.exact(metric);
        }
        t.embedding()
    });
    result.map_err(|payload| {
        let why = crate::error::panic_message(payload.as_ref());
        VraeError::Projection(format!("t-SNE failed on these points (bhtsne: {why})"))
    })
}

/// Largest value t-SNE is given as it is: a difference is at most twice
/// this, so the squared distances it sums in `f32` stay finite for widths
/// up to about 8e7 values.
const MAX_TSNE_VALUE: f32 = 1e15;

/// `points` divided by the power of two at or above their largest
/// magnitude when that is beyond [`MAX_TSNE_VALUE`] (squared distances
/// would overflow `f32`, and bhtsne then fails an assertion); `None` when
/// they can be used as they are. Each point's neighbourhood is calibrated to
/// the perplexity, so one scale for every point leaves the map as it is, and
/// a power of two divides every value exactly (bar values driven below the
/// smallest normal f32).
fn within_squaring_range(points: &[f32]) -> Option<Vec<f32>> {
    let largest = points.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    (largest > MAX_TSNE_VALUE).then(|| {
        // In f64: the power of two above f32::MAX is no f32.
        let scale = f64::from(largest).log2().ceil().exp2();
        points.iter().map(|&v| (f64::from(v) / scale) as f32).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_whose_squares_overflow_are_mapped_as_a_scaled_copy() {
        // Six points as the Python probe gave them: one pair far out.
        let points = [1e20f32, -1e20, 1.0, 2.0, 0.0, 0.0, 5.0, 5.0, 2.0, 2.0, 3.0, 1.0];
        let options = TsneOptions { epochs: 200, ..Default::default() };
        let map = tsne(&points, 2, &options).expect("huge values are mapped");
        assert!(map.len() == 12 && map.iter().all(|v| v.is_finite()), "{map:?}");
        // Values below the limit go in unchanged, so maps stay as they were.
        let small: Vec<f32> = (0..40).map(|i| (i as f32 * 0.37).sin()).collect();
        assert!(within_squaring_range(&small).is_none());
        let big: Vec<f32> = small.iter().map(|v| v * 1e18).collect();
        let scaled = within_squaring_range(&big).expect("scaled");
        assert!(scaled.iter().all(|v| v.abs() <= 1.0));
        let edge = [f32::MAX, -f32::MAX, 1.0, 0.0];
        let edge = within_squaring_range(&edge).expect("scaled");
        assert!(edge[0] > 0.99 && edge[0] <= 1.0 && edge[1] == -edge[0], "{edge:?}");
    }

    #[test]
    fn options_out_of_range_are_refused_by_name() {
        let points: Vec<f32> = (0..40).map(|i| (i as f32 * 0.37).sin()).collect();
        for (options, key) in [
            (TsneOptions { epochs: 1_000_000_000_000, ..Default::default() }, "epochs"),
            (TsneOptions { epochs: 0, ..Default::default() }, "epochs"),
            (TsneOptions { theta: f32::NAN, ..Default::default() }, "theta"),
            (TsneOptions { perplexity: f32::INFINITY, ..Default::default() }, "perplexity"),
        ] {
            let err = tsne(&points, 2, &options).unwrap_err().to_string();
            assert!(err.starts_with(&format!("option `{key}`")), "{err}");
        }
        let many = vec![0.5f32; 2 * (EXACT_TSNE_MAX_ROWS + 1)];
        let err = tsne(&many, 2, &TsneOptions { theta: 0.0, ..Default::default() }).unwrap_err().to_string();
        assert!(err.contains("quadratic"), "{err}");
        assert_eq!(tsne(&points, 2, &TsneOptions { epochs: 50, ..Default::default() }).unwrap().len(), 40);
    }
}
