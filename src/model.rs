//! A trained model and everything it does: embed, cluster, reconstruct,
//! score and project series, and report its configuration and training.

use std::time::Instant;

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::batch::SeriesBatch;
use crate::cluster::{assign, fit_kmeans, KMeansOptions};
use crate::config::{DeviceKind, VraeConfig};
use crate::error::{Result, VraeError};
use crate::network::{decode, encode, Padded, Weights};
use crate::pca::Pca;
use crate::scaling::Scaler;
use crate::train::{train, EpochStats, Progress};

/// Rows per inference batch: large enough for efficient products, small
/// enough that a batch of long series stays in cache-friendly memory.
const INFERENCE_ROWS: usize = 512;

/// What training did, stored in the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    /// Series trained on.
    pub rows: usize,
    /// Values per time step.
    pub channels: usize,
    /// Longest training series, in steps.
    pub longest_series: usize,
    /// Epochs actually run (fewer than configured after early stopping).
    pub epochs_run: usize,
    /// Whether early stopping ended training.
    pub stopped_early: bool,
    /// Loss terms per epoch.
    pub loss_per_epoch: Vec<EpochStats>,
    /// Wall time of the whole fit, clustering and PCA included.
    pub seconds: f64,
    /// k-means inertia on the training latents (when trained with clusters).
    pub kmeans_inertia: Option<f64>,
    /// Variance of the training latents along the two PCA axes.
    pub pca_explained_variance: Vec<f32>,
    /// The vrae version that trained the model.
    pub vrae_version: String,
}

/// A trained VRAE with its input scaling, PCA basis and (optionally) k-means centroids.
#[derive(Clone, Debug)]
pub struct Model {
    pub(crate) config: VraeConfig,
    pub(crate) weights: Weights,
    pub(crate) scaler: Scaler,
    /// `[k, latent]` row-major, when trained with `clusters`.
    pub(crate) centroids: Option<Vec<f32>>,
    pub(crate) pca: Pca,
    pub(crate) summary: TrainingSummary,
}

/// The device a config asks for, or an error naming why it cannot be had.
pub(crate) fn device_for(kind: DeviceKind) -> Result<Device> {
    match kind {
        DeviceKind::Cpu => Ok(Device::Cpu),
        DeviceKind::Cuda => Err(VraeError::DeviceUnavailable(
            "cuda".into(),
            "the fused recurrent layers run on the CPU only in this build".into(),
        )),
    }
}

fn with_threads<T>(threads: usize, work: impl FnOnce() -> Result<T> + Send) -> Result<T>
where
    T: Send,
{
    if threads == 0 {
        return work();
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| VraeError::InvalidOption { key: "threads".into(), message: e.to_string() })?;
    pool.install(work)
}

impl Model {
    /// Trains a model on `batch` (labels never enter), reporting progress.
    ///
    /// Every row is used, the last partial batch included. With `clusters`
    /// set, k-means is fitted on the latent means of all rows; a 2-D PCA of
    /// those latents is always fitted.
    pub fn fit(batch: &SeriesBatch, config: &VraeConfig, mut progress: impl FnMut(Progress) + Send) -> Result<Model> {
        config.validate()?;
        let device = device_for(config.device)?;
        if batch.is_empty() {
            return Err(VraeError::EmptyBatch("training"));
        }
        batch.validate(config.max_length)?;
        if let Some(k) = config.clusters {
            if k > batch.len() {
                return Err(VraeError::InvalidOption {
                    key: "clusters".into(),
                    message: format!("{k} clusters need at least {k} series, got {}", batch.len()),
                });
            }
        }
        let started = Instant::now();
        with_threads(config.threads, move || {
            let trained = train(batch, config, &device, &mut progress)?;
            progress(Progress::Finishing);
            let latents = embed_rows(&trained.weights, &trained.scaler, batch)?;
            let latent = config.latent;
            let pca = if batch.len() >= 2 {
                Pca::fit(&latents, latent, 2.min(latent))?
            } else {
                // One series has no spread to find axes in: centre on it and
                // keep the first latent axes, with zero variance.
                let n = 2.min(latent);
                let axes = (0..n * latent).map(|i| if i % latent == i / latent { 1.0 } else { 0.0 }).collect();
                Pca::from_parts(latents.clone(), axes, vec![0.0; n], latent, n)?
            };
            let (mut centroids, mut kmeans_inertia) = (None, None);
            if let Some(k) = config.clusters {
                let opts = KMeansOptions { k, restarts: config.kmeans_restarts, max_iter: config.kmeans_max_iter, seed: config.seed };
                let fit = fit_kmeans(&latents, latent, &opts)?;
                kmeans_inertia = Some(fit.inertia);
                centroids = Some(fit.centroids);
            }
            let mut model = Model {
                config: config.clone(),
                weights: trained.weights,
                scaler: trained.scaler,
                centroids,
                summary: TrainingSummary {
                    rows: batch.len(),
                    channels: batch.channels(),
                    longest_series: batch.max_steps(),
                    epochs_run: trained.epochs.len(),
                    stopped_early: trained.stopped_early,
                    loss_per_epoch: trained.epochs,
                    seconds: 0.0,
                    kmeans_inertia,
                    pca_explained_variance: pca.explained_variance.clone(),
                    vrae_version: env!("CARGO_PKG_VERSION").to_string(),
                },
                pca,
            };
            model.summary.seconds = started.elapsed().as_secs_f64();
            Ok(model)
        })
    }

    /// The options the model was trained with.
    pub fn config(&self) -> &VraeConfig {
        &self.config
    }

    /// What training did.
    pub fn summary(&self) -> &TrainingSummary {
        &self.summary
    }

    /// Values per time step the model expects.
    pub fn channels(&self) -> usize {
        self.weights.shape.channels
    }

    /// Length of the latent vectors.
    pub fn latent(&self) -> usize {
        self.weights.shape.latent
    }

    /// Number of k-means clusters, if trained with `clusters`.
    pub fn clusters(&self) -> Option<usize> {
        self.centroids.as_ref().map(|c| c.len() / self.latent())
    }

    /// k-means centroids, `[k, latent]` row-major, if trained with `clusters`.
    pub fn centroids(&self) -> Option<&[f32]> {
        self.centroids.as_deref()
    }

    fn check(&self, batch: &SeriesBatch) -> Result<()> {
        if batch.channels() != self.channels() {
            return Err(VraeError::ChannelMismatch { expected: self.channels(), found: batch.channels() });
        }
        batch.validate(self.config.max_length)
    }

    /// Latent mean of every series, `[rows, latent]` row-major.
    pub fn embed(&self, batch: &SeriesBatch) -> Result<Vec<f32>> {
        self.check(batch)?;
        embed_rows(&self.weights, &self.scaler, batch)
    }

    /// Nearest k-means centroid of every series.
    pub fn cluster(&self, batch: &SeriesBatch) -> Result<Vec<usize>> {
        let centroids = self.centroids.as_ref().ok_or(VraeError::NoClusters)?;
        let latents = self.embed(batch)?;
        Ok(assign(centroids, self.latent(), &latents))
    }

    /// Nearest k-means centroid of precomputed latent vectors (`[rows, latent]`).
    pub fn cluster_embeddings(&self, latents: &[f32]) -> Result<Vec<usize>> {
        let centroids = self.centroids.as_ref().ok_or(VraeError::NoClusters)?;
        self.check_latents(latents)?;
        Ok(assign(centroids, self.latent(), latents))
    }

    fn check_latents(&self, latents: &[f32]) -> Result<()> {
        if latents.len() % self.latent() != 0 {
            return Err(VraeError::Layout(format!(
                "{} latent values is not a whole number of vectors of {}",
                latents.len(),
                self.latent()
            )));
        }
        Ok(())
    }

    /// 2-D PCA coordinates of every series, `[rows, 2]` row-major.
    pub fn project(&self, batch: &SeriesBatch) -> Result<Vec<f32>> {
        let latents = self.embed(batch)?;
        self.project_embeddings(&latents)
    }

    /// 2-D PCA coordinates of precomputed latent vectors.
    pub fn project_embeddings(&self, latents: &[f32]) -> Result<Vec<f32>> {
        self.check_latents(latents)?;
        Ok(self.pca.transform(latents))
    }

    /// Decodes each series' latent mean back to a series of its own length,
    /// in the input's units. Returns the values laid out like the input
    /// (row after row, time-major), starting at 0.
    pub fn reconstruct(&self, batch: &SeriesBatch) -> Result<Vec<f32>> {
        self.check(batch)?;
        let c = self.channels();
        let starts = row_starts(batch);
        let mut out = vec![0.0f32; batch.total_steps() * c];
        for_each_batch(batch, &self.scaler, |p| {
            let y = self.decode_mean(p)?;
            let b = p.batch();
            for (pos, &row) in p.rows.iter().enumerate() {
                let (shift, scale) = (&p.shift[pos * c..(pos + 1) * c], &p.scale[pos * c..(pos + 1) * c]);
                for s in 0..p.lengths[pos] {
                    for ch in 0..c {
                        let v = y[(s * b + pos) * c + ch];
                        out[(starts[row] + s) * c + ch] = v * scale[ch] + shift[ch];
                    }
                }
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Reconstruction error of every series: the mean squared difference
    /// between the scaled series and its reconstruction (the units the model
    /// learned in), for ranking anomalies.
    pub fn score(&self, batch: &SeriesBatch) -> Result<Vec<f64>> {
        self.check(batch)?;
        let c = self.channels();
        let mut out = vec![0.0f64; batch.len()];
        for_each_batch(batch, &self.scaler, |p| {
            let y = self.decode_mean(p)?;
            let x = p.x.flatten_all()?.to_vec1::<f32>()?;
            let b = p.batch();
            for (pos, &row) in p.rows.iter().enumerate() {
                let len = p.lengths[pos];
                let mut sum = 0.0f64;
                for s in 0..len {
                    for ch in 0..c {
                        let i = (s * b + pos) * c + ch;
                        sum += ((y[i] - x[i]) as f64).powi(2);
                    }
                }
                out[row] = sum / (len * c) as f64;
            }
            Ok(())
        })?;
        Ok(out)
    }

    fn decode_mean(&self, p: &Padded) -> Result<Vec<f32>> {
        let (mean, _) = encode(&self.weights, p, None)?;
        let y: Tensor = decode(&self.weights, &mean, p, None)?;
        Ok(y.flatten_all()?.to_vec1::<f32>()?)
    }
}

/// Runs `f` on inference batches of at most [`INFERENCE_ROWS`] rows, laid
/// out longest first (`Padded::rows` maps positions back to source rows).
fn for_each_batch(batch: &SeriesBatch, scaler: &Scaler, mut f: impl FnMut(&Padded) -> Result<()>) -> Result<()> {
    let order = batch.rows_longest_first();
    for rows in order.chunks(INFERENCE_ROWS) {
        let padded = Padded::build(batch, rows, scaler, &Device::Cpu)?;
        f(&padded)?;
    }
    Ok(())
}

/// Latent means of every row of a validated batch, `[rows, latent]`.
fn embed_rows(weights: &Weights, scaler: &Scaler, batch: &SeriesBatch) -> Result<Vec<f32>> {
    let latent = weights.shape.latent;
    let mut out = vec![0.0f32; batch.len() * latent];
    for_each_batch(batch, scaler, |p| {
        let (mean, _) = encode(weights, p, None)?;
        let mean = mean.flatten_all()?.to_vec1::<f32>()?;
        for (pos, &row) in p.rows.iter().enumerate() {
            out[row * latent..(row + 1) * latent].copy_from_slice(&mean[pos * latent..(pos + 1) * latent]);
        }
        Ok(())
    })?;
    Ok(out)
}

/// Where each row's values start in a compacted (zero-based) copy.
fn row_starts(batch: &SeriesBatch) -> Vec<usize> {
    let mut starts = Vec::with_capacity(batch.len());
    let mut at = 0;
    for len in batch.lengths() {
        starts.push(at);
        at += len;
    }
    starts
}
