//! A trained model and everything it does: embed, cluster, reconstruct,
//! score and project series, and report its configuration and training.

use std::borrow::Cow;
use std::time::Instant;

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::align::LagReference;
use crate::batch::SeriesBatch;
use crate::budget;
use crate::cluster::{
    assign_directions, assign_scaled, clustering_space, fit_kmeans, member_means, sq_dist, unit_variance_scales, KMeansFit, KMeansOptions,
};
use crate::config::{Clustering, Clusters, DeviceKind, SeriesFeatures, VraeConfig};
use crate::error::{ArtifactError, Result, VraeError};
use crate::network::{decode, encode, NetShape, Padded, Weights};
use crate::paa;
use crate::pca::Pca;
use crate::scaling::Scaler;
use crate::series_view::{SeriesView, Shapes};
use crate::silhouette::{best_by_silhouette, choose_clusters, largest_k, KScore};
use crate::spectral::{fit_spectral, vote, Distance, SpectralEmbedding, SpectralFit, MAX_GRAPH_POINTS};
use crate::train::{train, EpochStats, Progress};

/// Rows per inference batch on the CPU (fewer for long series) and on a
/// GPU; see [`inference_rows`].
const INFERENCE_ROWS_CPU: usize = 512;
const INFERENCE_ROWS_GPU: usize = 16384;
/// Row-steps per GPU inference batch: 16384 rows of 256 steps, about 1.5 GB
/// of input projections at hidden size 90.
const GPU_ROW_STEPS: usize = 16384 * 256;

/// Coordinates per series of [`Model::project`]: pictures are 2-D.
pub const PROJECTION_DIMS: usize = 2;

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
    /// k-means inertia on the training latents (when trained with clusters;
    /// in standardised units with `kmeans_standardize`, on the unit sphere
    /// with `kmeans_normalize`).
    pub kmeans_inertia: Option<f64>,
    /// With `clusters: "auto"`: every k considered and its mean silhouette
    /// (the model's k is the best of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_selection: Option<Vec<KScore>>,
    /// Variance of the training latents along the two PCA axes.
    pub pca_explained_variance: Vec<f32>,
    /// The vrae version that trained the model.
    pub vrae_version: String,
}

/// Model-file name of `kmeans_normalize`'s centroids on the unit sphere.
pub(crate) const KMEANS_DIRECTIONS: &str = "kmeans.directions";
/// Model-file names of `clustering: "spectral"`'s graph latents (in the
/// space clusters are found in) and their clusters.
pub(crate) const SPECTRAL_POINTS: &str = "spectral.points";
pub(crate) const SPECTRAL_LABELS: &str = "spectral.labels";
/// Model-file name of `clustering: "spectral_series"`'s two part weights
/// (latent, series).
pub(crate) const SPECTRAL_WEIGHTS: &str = "spectral.weights";
/// Model-file name of each channel's training spread, by which a
/// `spectral_series` model of several channels divides them before
/// z-normalising a series as a whole.
pub(crate) const SPECTRAL_CHANNEL_SPREAD: &str = "spectral.channel_spread";
/// Model-file names of what `series_features: "random_kernels"` describes
/// a series with (see [`crate::random_kernels::KernelFeatures`]): the
/// shapes' steps, each kernel's channels and biases, the features' mean
/// and the principal axes.
pub(crate) const KERNEL_STEPS: &str = "spectral.kernel_steps";
pub(crate) const KERNEL_CHANNELS: &str = "spectral.kernel_channels";
pub(crate) const KERNEL_BIASES: &str = "spectral.kernel_biases";
pub(crate) const KERNEL_MEAN: &str = "spectral.kernel_mean";
pub(crate) const KERNEL_AXES: &str = "spectral.kernel_axes";

/// What `clustering: "spectral"` keeps to assign later latents: the latents
/// its graph was built on, mapped into the space it clustered in, and the
/// cluster of each.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SpectralIndex {
    /// `[points, latent]` row-major, or with `series`
    /// `[points, series.width(latent)]`.
    pub(crate) points: Vec<f32>,
    /// One cluster per point, in `0..k`.
    pub(crate) labels: Vec<usize>,
    /// `clustering: "spectral_series"`: how a latent and its series make a
    /// point.
    pub(crate) series: Option<SeriesView>,
}

impl SpectralIndex {
    /// Values in one stored point.
    pub(crate) fn width(&self, latent: usize) -> usize {
        self.series.as_ref().map_or(latent, |view| view.width(latent))
    }

    /// How its points are compared (`shape_lag` from the model's options).
    pub(crate) fn distance(&self, latent: usize, shape_lag: f64) -> Distance {
        self.series.as_ref().map_or(Distance::Euclidean, |view| view.distance(latent, shape_lag))
    }
}

/// A trained VRAE with its input scaling, PCA basis and (optionally) clusters.
#[derive(Clone, Debug)]
pub struct Model {
    pub(crate) config: VraeConfig,
    pub(crate) weights: Weights,
    pub(crate) scaler: Scaler,
    /// `[k, latent]` row-major, when trained with `clusters`.
    pub(crate) centroids: Option<Vec<f32>>,
    /// Per-dimension scales of the k-means distance (`kmeans_standardize`).
    pub(crate) cluster_scale: Option<Vec<f32>>,
    /// `kmeans_normalize`'s k-means centroids, `[k, latent]`, in the space
    /// it clusters in: a latent minus the training latents' mean (the PCA's
    /// mean), scaled by `cluster_scale` when there is one, then to unit
    /// length.
    pub(crate) cluster_directions: Option<Vec<f32>>,
    /// `clustering: "spectral"`'s graph latents and their clusters.
    pub(crate) spectral: Option<SpectralIndex>,
    pub(crate) pca: Pca,
    pub(crate) summary: TrainingSummary,
    /// Steps averaged into one before the network (`paa_steps`; 1: none).
    pub(crate) window: usize,
    /// The reference series are aligned to before averaging (`align_lags`
    /// on a model that averages).
    pub(crate) lag_reference: Option<LagReference>,
}

/// An error naming `what` if any of `values` is NaN or infinite.
fn finite(what: &str, values: &[f32]) -> std::result::Result<(), ArtifactError> {
    match values.iter().find(|v| !v.is_finite()) {
        Some(bad) => Err(ArtifactError::BadMetadata { key: what.to_string(), message: format!("values must be finite, found {bad}") }),
        None => Ok(()),
    }
}

/// The device a config asks for, or an error naming why it cannot be had.
pub(crate) fn device_for(kind: DeviceKind) -> Result<Device> {
    match kind {
        DeviceKind::Cpu => Ok(Device::Cpu),
        #[cfg(feature = "cuda")]
        DeviceKind::Cuda => {
            // One device (context, cuBLAS handle, loaded kernels) per
            // process: creating it per call would redo all of that for
            // every batch a front end sends.
            static CUDA: std::sync::OnceLock<Device> = std::sync::OnceLock::new();
            if let Some(device) = CUDA.get() {
                return Ok(device.clone());
            }
            let device =
                Device::new_cuda(0).map_err(|e| VraeError::DeviceUnavailable("cuda".into(), format!("no usable CUDA device 0: {e}")))?;
            Ok(CUDA.get_or_init(|| device).clone())
        }
        #[cfg(not(feature = "cuda"))]
        DeviceKind::Cuda => Err(VraeError::DeviceUnavailable(
            "cuda".into(),
            "this build of vrae has no CUDA support; rebuild it with `--features cuda` (README: CUDA)".into(),
        )),
    }
}

/// Rows per inference batch whose longest series has `steps` steps: on the
/// CPU large enough for efficient products and small enough to stay
/// cache-friendly, and fewer for long series so that a batch's activations
/// stay within [`budget::INFERENCE_BATCH_BYTES`]; a GPU needs far more rows
/// per kernel to be busy, bounded by a budget of row-steps so that long
/// series do not exhaust its memory.
fn inference_rows(device: &Device, shape: &NetShape, steps: usize) -> usize {
    if device.is_cpu() {
        budget::inference_rows(shape, steps, INFERENCE_ROWS_CPU)
    } else {
        (GPU_ROW_STEPS / steps.max(1)).clamp(1, INFERENCE_ROWS_GPU)
    }
}

/// k-means on `points` (`dim` wide) with the configured k, or the k that
/// `clusters: "auto"` chooses (with every candidate's score).
fn fit_clusters(points: &[f32], dim: usize, clusters: Clusters, config: &VraeConfig) -> Result<(KMeansFit, Option<Vec<KScore>>)> {
    let opts = |k| KMeansOptions { k, restarts: config.kmeans_restarts, max_iter: config.kmeans_max_iter, seed: config.seed };
    Ok(match clusters {
        Clusters::Fixed(k) => (fit_kmeans(points, dim, &opts(k))?, None),
        Clusters::Auto => {
            let (fit, scores) = choose_clusters(points, dim, config.clusters_max, &opts(2))?;
            (fit, Some(scores))
        }
    })
}

/// What k-means leaves in a model.
struct LatentClusters {
    /// `[k, latent]` in latent units.
    centroids: Vec<f32>,
    /// `kmeans_standardize`'s per-dimension scales.
    scale: Option<Vec<f32>>,
    /// `kmeans_normalize`'s centroids on the unit sphere.
    directions: Option<Vec<f32>>,
    /// `clustering: "spectral"`'s graph latents and their clusters.
    spectral: Option<SpectralIndex>,
    /// In the space k-means ran in.
    inertia: f64,
    /// `clusters: "auto"`: every k considered and its score.
    selection: Option<Vec<KScore>>,
}

/// The training latents (`[rows, latent]`) clustered in the space the
/// options ask for. With `kmeans_standardize` the points are standardised
/// and the scales kept for later assignments; with `kmeans_normalize` each
/// (standardised) deviation from the mean is scaled to unit length. k-means
/// centroids go back to latent units; where the clusters are not k-means
/// cells around them (`kmeans_normalize`: a centroid on the sphere has no
/// size to map back; `clustering: "spectral"`) the stored centroids are each
/// cluster's mean latent.
/// With `clustering: "spectral_series"`, `shapes` holds every training
/// series' shape, and `latent_share` (`latent_by_reconstruction`) the
/// reconstruction R² the latent part is weighed by.
fn cluster_latents(
    latents: &[f32],
    latent: usize,
    shapes: Option<&Shapes>,
    latent_share: Option<f64>,
    clusters: Clusters,
    config: &VraeConfig,
) -> Result<LatentClusters> {
    let (mean, scale) = unit_variance_scales(latents, latent);
    let scale = config.kmeans_standardize.then_some(scale);
    let ones = vec![1.0f32; latent];
    let points = clustering_space(latents, &mean, scale.as_deref(), config.kmeans_normalize);
    let unscale = |row: &[f32]| -> Vec<f32> {
        let scale = scale.as_deref().unwrap_or(&ones);
        row.iter().zip(&mean).zip(scale).map(|((c, m), s)| c / s + m).collect()
    };
    if config.clustering != Clustering::Kmeans {
        let view = shapes.map(|shapes| SeriesView::fit(&points, latent, shapes).with_latent_share(latent_share));
        let (graph, width) = match (&view, shapes) {
            (Some(view), Some(shapes)) => (Cow::Owned(view.joined(&points, latent, &shapes.rows)), view.width(latent)),
            _ => (Cow::Borrowed(&points[..]), latent),
        };
        let distance = view.as_ref().map_or(Distance::Euclidean, |view| view.distance(latent, config.shape_lag));
        let (fit, selection) = fit_spectral_clusters(&graph, width, distance, clusters, config)?;
        let k = fit.k;
        // A cluster the vote left empty keeps the mean latent of its graph
        // points (the latent part of a joined point, unweighted).
        let graph_latents: Vec<f32> = match &view {
            Some(view) => fit.points.chunks_exact(width).flat_map(|p| p[..latent].iter().map(|v| v / view.latent_weight)).collect(),
            None => fit.points.clone(),
        };
        let graph_means = member_means(&graph_latents, latent, &fit.labels, k, &vec![0.0; k * latent]);
        let fallback: Vec<f32> = graph_means.chunks_exact(latent).flat_map(unscale).collect();
        let centroids = member_means(latents, latent, &fit.assignments, k, &fallback);
        let point_means = member_means(&graph, width, &fit.assignments, k, &vec![0.0; k * width]);
        let inertia = graph
            .chunks_exact(width)
            .zip(&fit.assignments)
            .map(|(p, &l)| sq_dist(p, point_means.get(l * width..(l + 1) * width).unwrap_or(&[])))
            .sum();
        let spectral = SpectralIndex { points: fit.points, labels: fit.labels, series: view };
        return Ok(LatentClusters { centroids, scale, directions: None, spectral: Some(spectral), inertia, selection });
    }
    let (fit, selection) = fit_clusters(&points, latent, clusters, config)?;
    let centroids = if config.kmeans_normalize {
        let fallback: Vec<f32> = fit.centroids.chunks_exact(latent).flat_map(unscale).collect();
        member_means(latents, latent, &fit.labels, fit.centroids.len() / latent, &fallback)
    } else if scale.is_some() {
        fit.centroids.chunks_exact(latent).flat_map(unscale).collect()
    } else {
        fit.centroids.clone()
    };
    // The mean the points were centred on is the training latents' column
    // mean, which the model keeps as its PCA's mean (same sums, same order):
    // assignments centre on that, so only the centroids are stored.
    let directions = config.kmeans_normalize.then_some(fit.centroids);
    Ok(LatentClusters { centroids, scale, directions, spectral: None, inertia: fit.inertia, selection })
}

/// Spectral clustering of `points` with `clusters` clusters; `"auto"` cuts
/// the one embedding by k-means at every k in `2..=clusters_max` (at most
/// one less than the graph's points), keeps the k whose clusters have the
/// best mean silhouette in the space of `points` (the smallest k on ties),
/// as for k-means, and then cuts that k by `spectral_cut`. The k-means cuts
/// choose k even under the mixture: the silhouette rewards the compact,
/// separated cells k-means makes, and scoring the mixture's cuts instead
/// found the class count less often (BENCHMARKS.md, "Choosing k").
fn fit_spectral_clusters(
    points: &[f32],
    dim: usize,
    distance: Distance,
    clusters: Clusters,
    config: &VraeConfig,
) -> Result<(SpectralFit, Option<Vec<KScore>>)> {
    let opts = |k| KMeansOptions { k, restarts: config.kmeans_restarts, max_iter: config.kmeans_max_iter, seed: config.seed };
    Ok(match clusters {
        Clusters::Fixed(k) => (fit_spectral(points, dim, distance, &opts(k), config.spectral_cut)?, None),
        Clusters::Auto => {
            let top = largest_k(config.clusters_max, (points.len() / dim.max(1)).min(MAX_GRAPH_POINTS));
            let embedding = SpectralEmbedding::new(points, dim, distance, top, config.seed)?;
            // Each k is scored on the rows the silhouette reads, so only
            // those are placed until k is chosen; the chosen k's k-means cut
            // is kept, refined by `spectral_cut` and then places every row.
            let ((k, labels, _), scores) = best_by_silhouette(
                points,
                dim,
                top,
                config.seed,
                |k, rows| {
                    let labels = embedding.kmeans_cut(&opts(k))?;
                    let scored = embedding.assignments_at(&labels, k, rows);
                    Ok((k, labels, scored))
                },
                |(_, _, scored), _| scored.clone(),
            )?;
            (embedding.placed(k, embedding.refined(k, labels, config.spectral_cut)?), Some(scores))
        }
    })
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
        // Checked before training, so that too few series cost nothing.
        match config.clusters {
            Some(Clusters::Fixed(k)) if k > batch.len() => {
                return Err(VraeError::InvalidOption {
                    key: "clusters".into(),
                    message: format!("{k} clusters need at least {k} series, got {}", batch.len()),
                });
            }
            Some(Clusters::Auto) if batch.len() < 2 => {
                return Err(VraeError::InvalidOption {
                    key: "clusters".into(),
                    message: format!("\"auto\" tries 2 clusters or more and needs at least 2 series, got {}", batch.len()),
                });
            }
            _ => {}
        }
        let longest = batch.max_steps();
        let window = paa::window_for(longest, config.paa_steps);
        let steps = paa::averaged_steps(longest, window);
        budget::check_training(config, &NetShape::new(config, batch.channels(), steps), steps)?;
        // Rows in an order fixed by their content alone, so that the model
        // depends on the set of training series and not on the order a
        // front end happened to collect them in (DataFusion merges partial
        // aggregates in the order partitions finish).
        let mut canonical = batch.in_content_order()?;
        let lag_reference = (config.align_lags && window > 1).then(|| LagReference::fit(&canonical, window));
        if let Some(reference) = &lag_reference {
            canonical = reference.align(&canonical)?.0;
        }
        let averaged = if window > 1 { Some(paa::average(&canonical, window)?) } else { None };
        let batch = averaged.as_ref().unwrap_or(&canonical);
        let canonical = &canonical;
        let started = Instant::now();
        with_threads(config.threads, move || {
            let trained = train(batch, config, &device, &mut progress)?;
            progress(Progress::Finishing);
            let latents = embed_latents(&trained.weights, &trained.scaler, batch, config.shift_average, &device)?;
            if let Some(bad) = latents.iter().position(|v| !v.is_finite()) {
                return Err(VraeError::DivergedWeights(format!(
                    "the latent vector of training series {} is not finite",
                    bad / config.latent.max(1)
                )));
            }
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
            // `spectral_series` compares the series' shapes, as the network
            // gets them, all at the longest training series' steps.
            let shapes = (config.clustering == Clustering::SpectralSeries && config.clusters.is_some()).then(|| {
                let shapes = Shapes::of_training(batch);
                let keep_shapes = config.series_features == SeriesFeatures::KernelsAndShapes;
                match config.series_features.kernel_pooling() {
                    Some(pooling) => shapes.described_by_kernels(config.seed, pooling, keep_shapes),
                    None => shapes,
                }
            });
            // Beside the shapes the latent weighs only as far as its
            // reconstructions match the series step by step at their own
            // length; an R² that forgives shifts and averaging, as training
            // does, lost the quality suite's selection half (BENCHMARKS.md).
            let latent_share = (shapes.is_some() && config.latent_by_reconstruction)
                .then(|| reconstruction_share(&trained.weights, &trained.scaler, batch, canonical, window, &device))
                .transpose()?;
            let clustered = config
                .clusters
                .map(|clusters| cluster_latents(&latents, latent, shapes.as_ref(), latent_share, clusters, config))
                .transpose()?;
            let (centroids, cluster_scale, cluster_directions, spectral, kmeans_inertia, cluster_selection) = match clustered {
                Some(c) => (Some(c.centroids), c.scale, c.directions, c.spectral, Some(c.inertia), c.selection),
                None => (None, None, None, None, None, None),
            };
            let mut model = Model {
                config: config.clone(),
                // The model keeps its weights on the CPU (artifacts are
                // written from there); inference copies them to the device.
                weights: trained.weights.to_device(&Device::Cpu)?,
                scaler: trained.scaler,
                centroids,
                cluster_scale,
                cluster_directions,
                spectral,
                summary: TrainingSummary {
                    rows: batch.len(),
                    channels: batch.channels(),
                    longest_series: longest,
                    epochs_run: trained.epochs.len(),
                    stopped_early: trained.stopped_early,
                    loss_per_epoch: trained.epochs,
                    seconds: 0.0,
                    kmeans_inertia,
                    cluster_selection,
                    pca_explained_variance: pca.explained_variance.clone(),
                    vrae_version: env!("CARGO_PKG_VERSION").to_string(),
                },
                pca,
                window,
                lag_reference,
            };
            model.summary.seconds = started.elapsed().as_secs_f64();
            // A model its own loader would refuse is not returned: training
            // that ends on non-finite weights or latents has diverged.
            model.check_finite().map_err(|e| VraeError::DivergedWeights(e.to_string()))?;
            Ok(model)
        })
    }

    /// Refuses a model with any value that is not finite: weights, scaling
    /// statistics, centroids, k-means scales and directions or the PCA basis. Such a model
    /// would answer NaN (or put every series in cluster 0) without a word.
    pub(crate) fn check_finite(&self) -> std::result::Result<(), ArtifactError> {
        let names = crate::network::param_specs(&self.weights.shape);
        for (spec, tensor) in names.iter().zip(self.weights.tensors()) {
            let values = tensor.flatten_all().and_then(|t| t.to_vec1::<f32>()).map_err(|e| ArtifactError::Unreadable(e.to_string()))?;
            finite(&spec.name, &values)?;
        }
        let (means, stds) = self.scaler.stats();
        finite("scaling means", means)?;
        finite("scaling.std", stds)?;
        finite("kmeans.centroids", self.centroids.as_deref().unwrap_or(&[]))?;
        finite("kmeans.scale", self.cluster_scale.as_deref().unwrap_or(&[]))?;
        finite(KMEANS_DIRECTIONS, self.cluster_directions.as_deref().unwrap_or(&[]))?;
        finite(SPECTRAL_POINTS, self.spectral.as_ref().map_or(&[][..], |s| &s.points))?;
        let weights = self
            .spectral
            .as_ref()
            .and_then(|s| s.series.as_ref())
            .map(|v| [v.latent_weight, v.series_weight].into_iter().chain(v.shape_weight).collect::<Vec<_>>());
        finite(SPECTRAL_WEIGHTS, weights.as_deref().unwrap_or(&[]))?;
        finite("pca.mean", &self.pca.mean)?;
        finite("pca.components", &self.pca.components)?;
        finite("pca.explained_variance", &self.pca.explained_variance)?;
        finite("align.reference", self.lag_reference.as_ref().map_or(&[][..], |r| r.values()))
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

    /// Cluster centroids, `[k, latent]` row-major, if trained with `clusters`:
    /// k-means centroids, or each cluster's mean latent where the clusters
    /// are not k-means cells (`clustering: "spectral"`, `kmeans_normalize`).
    pub fn centroids(&self) -> Option<&[f32]> {
        self.centroids.as_deref()
    }

    /// Per-dimension scales applied to latents and centroids before the
    /// nearest-centroid distance, when trained with `kmeans_standardize`
    /// (`1 / standard deviation` of each latent dimension over the training
    /// rows).
    pub fn cluster_scale(&self) -> Option<&[f32]> {
        self.cluster_scale.as_deref()
    }

    /// Runs later inference (embed, cluster, project, reconstruct, score)
    /// on `device`; a model trained on a GPU can be used on a CPU-only
    /// build this way. Errors when the device is not available here.
    pub fn set_device(&mut self, device: DeviceKind) -> Result<()> {
        device_for(device)?;
        self.config.device = device;
        Ok(())
    }

    /// The inference device and the weights on it.
    fn on_device(&self) -> Result<(Device, Cow<'_, Weights>)> {
        let device = device_for(self.config.device)?;
        if device.is_cpu() {
            Ok((device, Cow::Borrowed(&self.weights)))
        } else {
            let weights = self.weights.to_device(&device)?;
            Ok((device, Cow::Owned(weights)))
        }
    }

    /// Checks `batch` for this model and returns what the network sees:
    /// the series themselves, or averaged over the model's window (after
    /// `align_lags` moved them, with each row's lag). Each row is averaged
    /// once, for the network and for the scaling check alike.
    fn prepared<'b>(&self, batch: &'b SeriesBatch) -> Result<(Cow<'b, SeriesBatch<'b>>, Option<Vec<isize>>)> {
        if batch.channels() != self.channels() {
            return Err(VraeError::ChannelMismatch { expected: self.channels(), found: batch.channels() });
        }
        budget::check_inference(&self.weights.shape, paa::averaged_steps(batch.max_steps(), self.window))?;
        let (seen, lags) = match &self.lag_reference {
            Some(reference) => {
                let (aligned, lags) = reference.align(batch)?;
                (Cow::Owned(paa::average(&aligned, self.window)?), Some(lags))
            }
            None if self.window > 1 => (Cow::Owned(paa::average(batch, self.window)?), None),
            None => (Cow::Borrowed(batch), None),
        };
        let first_error = (0..batch.len()).find_map(|row| {
            batch.row_error(row, self.config.max_length).or_else(|| self.scaling_error(row, seen.row(row), batch.channels()))
        });
        match first_error {
            Some(e) => Err(e),
            None => Ok((seen, lags)),
        }
    }

    /// Steps averaged into one before the network sees a series (1: none;
    /// see the option `paa_steps`).
    pub fn window(&self) -> usize {
        self.window
    }

    /// Leaves out of `batch` the rows this model cannot take
    /// ([`Model::row_error`]), and their entries of `rows` (each batch row's
    /// number in the caller's numbering): for front ends that return null
    /// for them. The batch comes back untouched when every row is usable.
    pub fn keep_usable<'a>(&self, batch: SeriesBatch<'a>, rows: Vec<usize>) -> Result<(SeriesBatch<'a>, Vec<usize>)> {
        let kept: Vec<usize> = (0..batch.len()).filter(|&row| self.row_error(&batch, row).is_none()).collect();
        if kept.len() == batch.len() {
            return Ok((batch, rows));
        }
        let values: Vec<&[f32]> = kept.iter().map(|&row| batch.row(row)).collect();
        let usable = SeriesBatch::from_rows(&values, batch.channels())?;
        Ok((usable, kept.iter().map(|&row| rows[row]).collect()))
    }

    /// Why row `row` of `batch` cannot go through this model, if it cannot:
    /// what [`SeriesBatch::row_error`] refuses (empty, longer than the
    /// model's `max_length`, NaN/inf), and values that the model's scaling
    /// would blow up beyond [`crate::scaling::MAX_SCALED`]. Front ends that
    /// turn unusable rows into nulls ask this.
    pub fn row_error(&self, batch: &SeriesBatch, row: usize) -> Option<VraeError> {
        if let Some(e) = batch.row_error(row, self.config.max_length) {
            return Some(e);
        }
        let mut aligned = Vec::new();
        let values = match &self.lag_reference {
            Some(reference) => {
                reference.align_row(batch.row(row), &mut aligned);
                &aligned[..]
            }
            None => batch.row(row),
        };
        if self.window > 1 {
            let mut averaged = Vec::new();
            paa::average_row(values, batch.channels(), self.window, &mut averaged);
            self.scaling_error(row, &averaged, batch.channels())
        } else {
            self.scaling_error(row, values, batch.channels())
        }
    }

    /// The error for row `row` if the model's scaling blows one of `seen`
    /// (the row as the network sees it, averaged over the window) up beyond
    /// [`crate::scaling::MAX_SCALED`].
    fn scaling_error(&self, row: usize, seen: &[f32], channels: usize) -> Option<VraeError> {
        let (step, channel, value, scaled) = self.scaler.unscalable(seen, channels)?;
        // The step of the input where the offending window starts.
        let step = step * self.window;
        Some(VraeError::NotFiniteOutput {
            row,
            message: format!(
                "value {value:e} at step {step}, channel {channel} is too large for this model: scaled it is {scaled:.3e}, beyond ±{:e}",
                crate::scaling::MAX_SCALED
            ),
        })
    }

    /// Latent mean of every series, `[rows, latent]` row-major.
    pub fn embed(&self, batch: &SeriesBatch) -> Result<Vec<f32>> {
        let (seen, _) = self.prepared(batch)?;
        self.embed_seen(&seen)
    }

    /// Latent means of series already prepared ([`Model::prepared`]).
    fn embed_seen(&self, seen: &SeriesBatch) -> Result<Vec<f32>> {
        let (device, weights) = self.on_device()?;
        embed_latents(&weights, &self.scaler, seen, self.config.shift_average, &device)
    }

    /// Cluster of every series: the distance-weighted vote of the nearest
    /// stored graph points (`clustering: "spectral"` or
    /// `"spectral_series"`) or the nearest k-means centroid.
    pub fn cluster(&self, batch: &SeriesBatch) -> Result<Vec<usize>> {
        Ok(self.embed_and_cluster(batch)?.1)
    }

    /// Latent mean (as [`Model::embed`]) and cluster (as
    /// [`Model::cluster`]) of every series, embedding each once.
    pub fn embed_and_cluster(&self, batch: &SeriesBatch) -> Result<(Vec<f32>, Vec<usize>)> {
        let (seen, _) = self.prepared(batch)?;
        let latents = self.embed_seen(&seen)?;
        let view = self.spectral.as_ref().and_then(|index| index.series.as_ref());
        let series = view.map(|view| view.shapes(&seen));
        let clusters = self.assign(&latents, series.as_deref())?;
        Ok((latents, clusters))
    }

    /// Cluster of precomputed latent vectors (`[rows, latent]`): the
    /// distance-weighted vote of the nearest stored graph latents
    /// (`clustering: "spectral"`) or the nearest k-means centroid. A model
    /// whose graph also compares the series (`"spectral_series"`) needs
    /// them: [`Model::cluster`].
    pub fn cluster_embeddings(&self, latents: &[f32]) -> Result<Vec<usize>> {
        self.check_latents(latents)?;
        self.assign(latents, None)
    }

    /// Cluster of each latent, in the space the clusters were found in: the
    /// nearest centroid, or with spectral clustering the vote of the
    /// nearest graph points (joined with `series`, the series as
    /// [`SeriesView::shapes`] gives them, where the graph compares series too).
    fn assign(&self, latents: &[f32], series: Option<&[f32]>) -> Result<Vec<usize>> {
        let centroids = self.centroids.as_ref().ok_or(VraeError::NoClusters)?;
        let scale = self.cluster_scale.as_deref();
        let latent = self.latent();
        if let Some(index) = &self.spectral {
            let k = centroids.len() / latent.max(1);
            let mapped = clustering_space(latents, &self.pca.mean, scale, self.config.kmeans_normalize);
            let points = match (&index.series, series) {
                (None, _) => mapped,
                (Some(view), Some(series)) => Cow::Owned(view.joined(&mapped, latent, series)),
                (Some(_), None) => return Err(VraeError::ClustersNeedSeries),
            };
            let width = index.width(latent);
            let distance = index.distance(latent, self.config.shape_lag);
            return Ok(points.chunks_exact(width).map(|p| vote(&index.points, &index.labels, width, distance, k, p)).collect());
        }
        Ok(match &self.cluster_directions {
            Some(directions) => assign_directions(directions, latents, &self.pca.mean, scale),
            None => assign_scaled(centroids, latent, latents, scale),
        })
    }

    fn check_latents(&self, latents: &[f32]) -> Result<()> {
        if !latents.len().is_multiple_of(self.latent()) {
            return Err(VraeError::Layout(format!(
                "{} latent values is not a whole number of vectors of {}",
                latents.len(),
                self.latent()
            )));
        }
        // A NaN latent has no nearest centroid or projection; without this
        // it would land in some cluster (or at NaN) without a word.
        if let Some((index, value)) = latents.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(VraeError::Layout(format!("latent vector {} holds a non-finite value ({value})", index / self.latent())));
        }
        Ok(())
    }

    /// 2-D PCA coordinates of every series, `[rows, 2]` row-major.
    pub fn project(&self, batch: &SeriesBatch) -> Result<Vec<f32>> {
        let latents = self.embed(batch)?;
        self.project_embeddings(&latents)
    }

    /// 2-D PCA coordinates of precomputed latent vectors. A model whose
    /// latent vector has one value has one PCA axis; its second coordinate
    /// is 0, so that every model projects to [`PROJECTION_DIMS`] values.
    pub fn project_embeddings(&self, latents: &[f32]) -> Result<Vec<f32>> {
        self.check_latents(latents)?;
        let axes = self.pca.transform(latents);
        let kept = self.pca.n_components;
        if let Some(bad) = axes.iter().position(|v| !v.is_finite()) {
            return Err(not_finite(bad / kept.max(1), "its projection"));
        }
        if kept == PROJECTION_DIMS {
            return Ok(axes);
        }
        Ok(axes.chunks_exact(kept.max(1)).flat_map(|row| (0..PROJECTION_DIMS).map(|i| row.get(i).copied().unwrap_or(0.0))).collect())
    }

    /// Decodes each series' latent mean back to a series of its own length,
    /// in the input's units. Returns the values laid out like the input
    /// (row after row, time-major), starting at 0.
    pub fn reconstruct(&self, original: &SeriesBatch) -> Result<Vec<f32>> {
        let (batch, lags) = self.prepared(original)?;
        let c = self.channels();
        let (device, weights) = self.on_device()?;
        let out = decoded_in_input_units(&weights, &self.scaler, &batch, &device)?;
        // Each averaged step stands for `window` steps of the input, and an
        // aligned series is moved back to the input's timing.
        let out = if self.window > 1 { paa::stretch(&out, original.lengths(), c, self.window) } else { out };
        Ok(match lags {
            Some(lags) => crate::align::shift_back(&out, original.lengths(), c, &lags),
            None => out,
        })
    }

    /// What every cluster looks like: the decoder run on each k-means
    /// centroid for `steps` steps (default: the longest training series),
    /// in the input's units, `[clusters, steps, channels]` row-major. The
    /// model's scaling is undone as for [`Model::reconstruct`]: `per_step`
    /// adds the mean series back, `global` the per-channel mean and spread;
    /// `zscore` models, which keep no level or spread, give z-scores.
    pub fn prototypes(&self, steps: Option<usize>) -> Result<Vec<f32>> {
        let centroids = self.centroids.as_ref().ok_or(VraeError::NoClusters)?;
        let steps = steps.unwrap_or(self.summary.longest_series);
        if !(1..=self.config.max_length).contains(&steps) {
            return Err(VraeError::InvalidOption {
                key: "steps".into(),
                message: format!("prototypes need 1 to max_length = {} steps, got {steps}", self.config.max_length),
            });
        }
        let (c, latent) = (self.channels(), self.latent());
        let k = centroids.len() / latent;
        let per_row = budget::inference_bytes_per_row(&self.weights.shape, steps).and_then(|b| b.checked_mul(k as u64));
        if per_row.is_none_or(|b| b > budget::machine_memory()) {
            return Err(VraeError::TooLarge(format!("{k} prototypes of {steps} steps do not fit in this machine's memory")));
        }
        let wanted = steps;
        let steps = paa::averaged_steps(wanted, self.window);
        let (device, weights) = self.on_device()?;
        let blank = Padded::blank(k, steps, c, &device)?;
        let z = Tensor::from_vec(centroids.clone(), (k, latent), &device)?;
        let y = decode(&weights, &z, &blank, None)?.flatten_all()?.to_vec1::<f32>()?;
        let (mut shift, mut scale) = (vec![0.0f32; c], vec![1.0f32; c]);
        // A prototype has no series of its own: the model-wide scaling
        // (none for `zscore` and `none`).
        self.scaler.row_scale_into(&[], &mut shift, &mut scale);
        let mut out = vec![0.0f32; k * steps * c];
        for cluster in 0..k {
            for s in 0..steps {
                let centre = self.scaler.step_mean(s);
                for ch in 0..c {
                    let value = y[(s * k + cluster) * c + ch] * scale[ch] + shift[ch] + centre.map_or(0.0, |m| m[ch]);
                    if !value.is_finite() {
                        return Err(VraeError::NonFiniteResult(format!("the prototype of cluster {cluster} is not finite")));
                    }
                    out[(cluster * steps + s) * c + ch] = value;
                }
            }
        }
        Ok(if self.window > 1 { paa::stretch(&out, std::iter::repeat_n(wanted, k), c, self.window) } else { out })
    }

    /// Reconstruction error of every series: the mean squared difference
    /// between the scaled series and its reconstruction (the units the model
    /// learned in), for ranking anomalies.
    pub fn score(&self, batch: &SeriesBatch) -> Result<Vec<f64>> {
        let (batch, _) = self.prepared(batch)?;
        let c = self.channels();
        let mut out = vec![0.0f64; batch.len()];
        let (device, weights) = self.on_device()?;
        for_each_batch(&batch, &weights.shape, &self.scaler, &device, |p| {
            let y = decode_mean(&weights, p)?;
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
                if !sum.is_finite() {
                    return Err(not_finite(row, "its reconstruction error"));
                }
                out[row] = sum / (len * c) as f64;
            }
            Ok(())
        })?;
        Ok(out)
    }
}

/// The error for a series whose output came out NaN or infinite (a
/// backstop: the scaled-value limit keeps finite inputs finite).
fn not_finite(row: usize, what: &str) -> VraeError {
    VraeError::NotFiniteOutput { row, message: format!("{what} is not finite: the series is outside what this model can represent") }
}

/// Reconstructions from the latent means of a laid-out batch, flat.
fn decode_mean(weights: &Weights, p: &Padded) -> Result<Vec<f32>> {
    let (mean, _) = encode(weights, p, None)?;
    let y: Tensor = decode(weights, &mean, p, None)?;
    Ok(y.flatten_all()?.to_vec1::<f32>()?)
}

/// Runs `f` on inference batches of at most [`inference_rows`] rows, laid
/// out longest first (`Padded::rows` maps positions back to source rows).
fn for_each_batch(
    batch: &SeriesBatch,
    shape: &NetShape,
    scaler: &Scaler,
    device: &Device,
    mut f: impl FnMut(&Padded) -> Result<()>,
) -> Result<()> {
    let order = batch.rows_longest_first();
    let mut start = 0;
    while start < order.len() {
        let end = (start + inference_rows(device, shape, batch.steps(order[start]))).min(order.len());
        let rows = &order[start..end];
        start = end;
        let padded = Padded::build(batch, rows, scaler, device)?;
        f(&padded)?;
    }
    Ok(())
}

/// Latent means, each averaged over `shifts` circular shifts of its series
/// (the `shift_average` option); one shift is the series as given.
fn embed_latents(weights: &Weights, scaler: &Scaler, batch: &SeriesBatch, shifts: usize, device: &Device) -> Result<Vec<f32>> {
    if shifts <= 1 {
        return embed_rows(weights, scaler, batch, device);
    }
    let c = batch.channels();
    let mut sum = vec![0.0f32; batch.len() * weights.shape.latent];
    let mut rolled = Vec::with_capacity(batch.total_steps() * c);
    let offsets = row_offsets(batch);
    for s in 0..shifts {
        rolled.clear();
        for row in 0..batch.len() {
            let values = batch.row(row);
            // Evenly spaced over the series' own length; a series shorter
            // than `shifts` repeats some shifts, which keeps its mean fair.
            let by = s * batch.steps(row) / shifts * c;
            rolled.extend_from_slice(&values[by..]);
            rolled.extend_from_slice(&values[..by]);
            // The raw values are rolled, and `per_step` then subtracts the
            // mean series by position: a series rolled by a multiple of
            // length / n gives the same set of n inputs as the original, so
            // its averaged latent is the same (rolling the departures from
            // the mean series instead broke that: ARI 0.06 against 1.00 in
            // tests/lag_invariance.rs).
        }
        let shifted = SeriesBatch::new(&rolled[..], &offsets[..], c)?;
        for (acc, v) in sum.iter_mut().zip(embed_rows(weights, scaler, &shifted, device)?) {
            *acc += v;
        }
    }
    let n = shifts as f32;
    sum.iter_mut().for_each(|v| *v /= n);
    // Finite latents can still add up to infinity.
    if let Some(bad) = sum.iter().position(|v| !v.is_finite()) {
        return Err(not_finite(bad / weights.shape.latent.max(1), "its shift-averaged latent vector"));
    }
    Ok(sum)
}

/// Zero-based offsets (in steps) of a compacted copy of the batch's rows.
fn row_offsets(batch: &SeriesBatch) -> Vec<usize> {
    let mut offsets = Vec::with_capacity(batch.len() + 1);
    offsets.push(0);
    offsets.extend(row_starts(batch).into_iter().zip(batch.lengths()).map(|(start, len)| start + len));
    offsets
}

/// Latent means of every row of a validated batch, `[rows, latent]`.
fn embed_rows(weights: &Weights, scaler: &Scaler, batch: &SeriesBatch, device: &Device) -> Result<Vec<f32>> {
    let latent = weights.shape.latent;
    let mut out = vec![0.0f32; batch.len() * latent];
    for_each_batch(batch, &weights.shape, scaler, device, |p| {
        let (mean, _) = encode(weights, p, None)?;
        let mean = mean.flatten_all()?.to_vec1::<f32>()?;
        for (pos, &row) in p.rows.iter().enumerate() {
            let values = &mean[pos * latent..(pos + 1) * latent];
            if values.iter().any(|v| !v.is_finite()) {
                return Err(not_finite(row, "its latent vector"));
            }
            out[row * latent..(row + 1) * latent].copy_from_slice(values);
        }
        Ok(())
    })?;
    Ok(out)
}

/// Every series of `batch` (as the network sees it) decoded from its latent
/// mean, in the input's units, laid out like the batch (row after row,
/// time-major, starting at 0).
fn decoded_in_input_units(weights: &Weights, scaler: &Scaler, batch: &SeriesBatch, device: &Device) -> Result<Vec<f32>> {
    let c = batch.channels();
    let starts = row_starts(batch);
    let mut out = vec![0.0f32; batch.total_steps() * c];
    for_each_batch(batch, &weights.shape, scaler, device, |p| {
        let y = decode_mean(weights, p)?;
        let b = p.batch();
        for (pos, &row) in p.rows.iter().enumerate() {
            let (shift, scale) = (&p.shift[pos * c..(pos + 1) * c], &p.scale[pos * c..(pos + 1) * c]);
            for s in 0..p.lengths[pos] {
                let step_mean = scaler.step_mean(s);
                for ch in 0..c {
                    let v = y[(s * b + pos) * c + ch];
                    let centre = step_mean.map_or(0.0, |m| m[ch]);
                    let value = v * scale[ch] + shift[ch] + centre;
                    if !value.is_finite() {
                        return Err(not_finite(row, "its reconstruction"));
                    }
                    out[(starts[row] + s) * c + ch] = value;
                }
            }
        }
        Ok(())
    })?;
    Ok(out)
}

/// The share of the training series' spread around their mean series that
/// the reconstructions explain (R², [`crate::scaling::reconstruction_r2`]),
/// in the input's units at the input's length (`original`: the rows before
/// averaging, aligned with `align_lags`; `seen`: as the network sees them).
/// A reconstruction that is not finite means the decoder diverged: that is
/// the error, not the row it showed in (rows here are in content order).
fn reconstruction_share(
    weights: &Weights,
    scaler: &Scaler,
    seen: &SeriesBatch,
    original: &SeriesBatch,
    window: usize,
    device: &Device,
) -> Result<f64> {
    let decoded = decoded_in_input_units(weights, scaler, seen, device).map_err(|e| match e {
        VraeError::NotFiniteOutput { .. } => VraeError::DivergedWeights("a reconstruction of the training series is not finite".into()),
        other => other,
    })?;
    let decoded = if window > 1 { paa::stretch(&decoded, original.lengths(), original.channels(), window) } else { decoded };
    Ok(crate::scaling::reconstruction_r2(original, &decoded))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SpectralCut;
    use crate::silhouette::silhouette;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Three 2-D groups of unequal size and spread.
    fn uneven_groups() -> Vec<f32> {
        let mut rng = StdRng::seed_from_u64(11);
        let mut data = Vec::new();
        for (count, centre, spread) in [(200, (0.0f32, 0.0f32), 1.0f32), (40, (4.0, 0.0), 0.3), (80, (1.0, 5.0), 0.6)] {
            for _ in 0..count {
                let mut normal = || (0..12).map(|_| rng.random_range(0.0f32..1.0)).sum::<f32>() - 6.0;
                data.push(centre.0 + spread * normal());
                data.push(centre.1 + spread * normal());
            }
        }
        data
    }

    #[test]
    fn auto_chooses_k_on_the_kmeans_cuts_and_cuts_that_k_by_the_configured_cut() {
        let data = uneven_groups();
        let config = VraeConfig { clusters_max: 6, ..VraeConfig::default() };
        let (fit, scores) = fit_spectral_clusters(&data, 2, Distance::Euclidean, Clusters::Auto, &config).unwrap();
        let scores = scores.unwrap();

        // Every k is scored by the silhouette of the k-means cut of the one
        // embedding, whatever the final cut.
        let embedding = SpectralEmbedding::new(&data, 2, Distance::Euclidean, 6, config.seed).unwrap();
        let opts = |k| KMeansOptions { k, restarts: config.kmeans_restarts, max_iter: config.kmeans_max_iter, seed: config.seed };
        let mut mixture_differs = false;
        for score in &scores {
            let by_kmeans = embedding.clusters(&opts(score.k), SpectralCut::Kmeans).unwrap();
            assert_eq!(score.silhouette, silhouette(&data, 2, &by_kmeans.assignments, config.seed), "k = {}", score.k);
            let by_mixture = embedding.clusters(&opts(score.k), SpectralCut::Mixture).unwrap();
            mixture_differs |= by_mixture.assignments != by_kmeans.assignments;
        }
        // (Otherwise this test could not tell the two cuts' scores apart.)
        assert!(mixture_differs, "the mixture changed no cut");

        // The chosen k is the best of those scores, cut by the mixture.
        let best = scores.iter().fold(scores[0], |b, s| if s.silhouette > b.silhouette { *s } else { b });
        assert_eq!(fit.k, best.k);
        assert_eq!(fit, embedding.clusters(&opts(best.k), SpectralCut::Mixture).unwrap());
        let kmeans_config = VraeConfig { spectral_cut: SpectralCut::Kmeans, ..config.clone() };
        let (by_kmeans, kmeans_scores) = fit_spectral_clusters(&data, 2, Distance::Euclidean, Clusters::Auto, &kmeans_config).unwrap();
        assert_eq!(kmeans_scores.unwrap(), scores);
        assert_eq!(by_kmeans, embedding.clusters(&opts(best.k), SpectralCut::Kmeans).unwrap());
    }
}
