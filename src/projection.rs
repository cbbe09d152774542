//! t-SNE pictures of a set of embeddings (transductive: the map is fitted on
//! the points it draws and cannot place new points). PCA, which can, lives
//! in the model (see [`crate::Model::project`]).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::error::{Result, VraeError};

/// t-SNE settings.
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

impl Default for TsneOptions {
    fn default() -> Self {
        Self { perplexity: 30.0, epochs: 1000, theta: 0.5, seed: 0 }
    }
}

/// 2-D t-SNE coordinates of `rows` points of `dim` values each, `[rows, 2]`.
pub fn tsne(points: &[f32], dim: usize, options: &TsneOptions) -> Result<Vec<f32>> {
    if dim == 0 || points.len() % dim != 0 {
        return Err(VraeError::Layout(format!("{} values is not a whole number of points of {dim}", points.len())));
    }
    let rows = points.len() / dim;
    if rows < 4 {
        return Err(VraeError::InvalidOption { key: "tsne".into(), message: format!("needs at least 4 points, got {rows}") });
    }
    if let Some(i) = points.iter().position(|v| !v.is_finite()) {
        return Err(VraeError::NonFinite { row: i / dim, step: 0, channel: i % dim, value: points[i] });
    }
    let perplexity = options.perplexity.min((rows - 1) as f32 / 3.0).max(1.0);
    let samples: Vec<&[f32]> = points.chunks_exact(dim).collect();
    // A seeded small random start makes the picture reproducible.
    let mut rng = StdRng::seed_from_u64(options.seed);
    let start: Vec<f32> = (0..rows * 2).map(|_| rng.random_range(-1e-2f32..1e-2)).collect();
    let epochs = options.epochs.max(1);
    let theta = options.theta.max(0.0);
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
    result.map_err(|_| VraeError::InvalidOption { key: "tsne".into(), message: "t-SNE failed on these points".into() })
}
