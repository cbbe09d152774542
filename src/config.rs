//! Training and model options, with the defaults of the original VRAE.
//!
//! Options arrive from Rust, from SQL as a JSON string and from Python as
//! keyword arguments (also turned into JSON), so [`VraeConfig::from_json`]
//! is the one gate: an unknown name lists the valid ones, a wrong type or an
//! out-of-range value names its key.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Result, VraeError};
pub use crate::rnn::Block;

/// What the decoder sees as input at each step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecoderInputs {
    /// Zeros, as in the original VRAE: the decoder runs on its state alone.
    Zeros,
    /// A trained `[steps, channels]` parameter (the last row repeats past
    /// the longest training series).
    Learned,
}

/// Reconstruction loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReconstructionLoss {
    /// Squared error.
    Mse,
    /// Huber loss with threshold 1 (PyTorch's `SmoothL1Loss`).
    SmoothL1,
}

/// How the loss terms are reduced over a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossReduction {
    /// The original VRAE: reconstruction summed over every element of the
    /// batch, KL averaged over batch and latent dimensions.
    Original,
    /// Per-series ELBO: both terms summed per series, averaged over the batch.
    PerSeries,
}

/// Optimiser.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    /// Adam (betas 0.9, 0.999, eps 1e-8, as PyTorch).
    Adam,
    /// Stochastic gradient descent with optional momentum.
    Sgd,
}

/// Input scaling applied before the encoder (and undone on reconstructions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scaling {
    /// Values as given.
    None,
    /// Each series (each channel) to mean 0, standard deviation 1: clusters
    /// by shape alone, the original VRAE's default.
    Zscore,
    /// One mean and standard deviation per channel over the training data, stored in the model.
    Global,
    /// The mean series (one mean per step and channel over the training
    /// data) subtracted, what is left divided by one standard deviation per
    /// channel; both stored in the model. The network then models how each
    /// series departs from the typical one, at unit scale: for series that
    /// differ from each other by little compared with their common shape.
    PerStep,
}

/// How the training latents are cut into clusters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clustering {
    /// k-means: convex cells around centroids.
    Kmeans,
    /// Spectral clustering on the latents' nearest-neighbour graph: clusters
    /// that follow connected strips of latents; later latents join the
    /// cluster of the nearest training latents.
    Spectral,
    /// Spectral clustering on a graph that compares each training series'
    /// latent and its z-normalised shape (`series_features`) side by side:
    /// where the latents miss a difference the shapes show, or the
    /// reverse, the graph keeps it. Clustering a series then needs the
    /// series, not only its latent.
    SpectralSeries,
}

/// How the spectral embedding is cut into clusters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpectralCut {
    /// k-means on the embedding: clusters of similar size and spread.
    Kmeans,
    /// A diagonal Gaussian mixture started from the k-means cut: clusters
    /// of their own weight and spread, so that a small, tight group is not
    /// split or swallowed.
    Mixture,
}

/// How the `spectral_series` graph describes each series beside its latent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesFeatures {
    /// MiniRocket's fixed kernels: how much of the series each pattern, at
    /// each scale, answers (counted over the steps, so a pattern moved a
    /// little keeps nearly the same count); reduced to principal axes and
    /// compared step by step.
    RandomKernels,
    /// The z-normalised shape itself, compared at its best shift of up to
    /// `shape_lag` of the steps.
    ShiftedShapes,
    /// Both side by side, each at half the series part's weight: the
    /// kernels' description step by step, the shape at its best shift.
    KernelsAndShapes,
    /// MiniRocket's kernels pooled as MultiRocket pools them, over the
    /// series and its first difference: how much, how strongly, where and
    /// for how long each pattern answers; compared step by step as
    /// `random_kernels` is.
    Multirocket,
}

impl SeriesFeatures {
    /// How the series' kernels are pooled, where the series are described
    /// by kernels.
    pub(crate) fn kernel_pooling(self) -> Option<crate::random_kernels::Pooling> {
        use crate::random_kernels::Pooling;
        match self {
            SeriesFeatures::RandomKernels | SeriesFeatures::KernelsAndShapes => Some(Pooling::Proportion),
            SeriesFeatures::Multirocket => Some(Pooling::Multi),
            SeriesFeatures::ShiftedShapes => None,
        }
    }
}

/// Where tensors live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// The CPU (always available).
    Cpu,
    /// An NVIDIA GPU (needs vrae built with the `cuda` feature).
    Cuda,
}

/// How many k-means clusters a model fits on its training latents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clusters {
    /// Exactly this many (JSON: the number).
    Fixed(usize),
    /// The k in `2..=clusters_max` whose k-means fit has the best mean
    /// silhouette (JSON: `"auto"`); see [`crate::silhouette`].
    Auto,
}

impl Serialize for Clusters {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Clusters::Fixed(k) => serializer.serialize_u64(*k as u64),
            Clusters::Auto => serializer.serialize_str("auto"),
        }
    }
}

impl<'de> Deserialize<'de> for Clusters {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(s) if s == "auto" => Ok(Clusters::Auto),
            Value::Number(n) if n.as_u64().is_some() => {
                let k = n.as_u64().unwrap_or_default();
                usize::try_from(k).map(Clusters::Fixed).map_err(|_| serde::de::Error::custom(format!("{k} clusters is too many")))
            }
            other => Err(serde::de::Error::custom(format!("expected a number of clusters, \"auto\" or null, got {other}"))),
        }
    }
}

/// Every option of a VRAE model and its training. Field names are the option
/// names used in SQL and Python.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VraeConfig {
    /// Recurrent block of encoder and decoder: `lstm` (default) or `gru`.
    pub block: Block,
    /// Hidden state size of every recurrent layer (default 90).
    pub hidden_size: usize,
    /// Stacked recurrent layers in encoder and decoder (default 1).
    pub depth: usize,
    /// Dropout between stacked layers during training (default 0.2). With
    /// `depth` 1 there is no "between", so it has no effect.
    pub dropout: f64,
    /// Size of the latent vector (default 20).
    pub latent: usize,
    /// Added to the initial bias of every recurrent layer's forget gate
    /// (LSTM) or update gate (GRU), default 2 (0 is PyTorch's
    /// initialisation, the original VRAE's). A positive value makes the
    /// layers keep more of their state from one step to the next before
    /// training has taught them to, so that the encoder's last state still
    /// depends on the start of a long series and gradients reach back to it
    /// (Jozefowicz et al. 2015; Keras' LSTM adds 1 by default). The quality
    /// suite chose 2 (BENCHMARKS.md).
    pub forget_bias: f64,
    /// Decoder input: `zeros` (default) or `learned`.
    pub decoder_inputs: DecoderInputs,
    /// Reconstruction loss: `mse` (default) or `smooth_l1`.
    pub loss: ReconstructionLoss,
    /// Loss reduction: `original` (default) or `per_series`.
    pub reduction: LossReduction,
    /// Steps by which a reconstruction may be out of line with its series
    /// (default 3; 0: none). Each series' reconstruction error is the soft
    /// minimum of its errors against the series shifted by `-n..=n` steps
    /// of what the network sees (after `paa_steps` averaging), each over
    /// their overlap, so the latent need not pin to the step where a shape
    /// sits and says more about the shape. Training only; chosen on one
    /// half of the quality suite and confirmed on the other (BENCHMARKS.md,
    /// "Shift-tolerant reconstruction").
    pub shift_tolerance: usize,
    /// Weight of the KL term (default 1).
    pub kl_weight: f64,
    /// Epochs over which the KL weight ramps linearly from kl_weight/N up to kl_weight (default 0: no warm-up).
    pub kl_warmup_epochs: usize,
    /// `adam` (default) or `sgd`.
    pub optimizer: OptimizerKind,
    /// Step size (default 5e-4).
    pub learning_rate: f64,
    /// SGD momentum (default 0; ignored by Adam).
    pub momentum: f64,
    /// Clip gradients by global norm (default true).
    pub clip: bool,
    /// Global-norm threshold when `clip` is on (default 5).
    pub max_grad_norm: f64,
    /// Passes over the data (default 40).
    pub epochs: usize,
    /// Train for at least this many optimisation steps (default 1000, or 0
    /// when the options set `epochs` and not this; 0: off). When `epochs`
    /// passes over a small dataset give fewer steps, the epoch count is
    /// raised to `ceil(min_updates / batches per epoch)`.
    pub min_updates: usize,
    /// Series per optimisation step (default 32); the last partial batch is used too.
    pub batch_size: usize,
    /// Seed of every random choice (default 0). The same seed and the same
    /// set of series, in any order, give the same model on the same kind of CPU.
    pub seed: u64,
    /// Worker threads for training (default 0: all cores).
    pub threads: usize,
    /// Stop when the epoch loss has not improved for this many epochs (default: off).
    pub early_stopping_patience: Option<usize>,
    /// Improvement smaller than this does not count for early stopping (default 0).
    pub early_stopping_min_delta: f64,
    /// Input scaling: `none`, `zscore`, `global` or `per_step` (default).
    /// `per_step` and `global` keep each series' level and amplitude, which
    /// the quality suite's labels often follow, and `per_step` also makes
    /// the network model what sets a series apart from the typical one;
    /// `zscore` clusters by shape alone (series of very different sizes,
    /// such as sales of different items).
    pub scaling: Scaling,
    /// Train k-means on the latent means (default: none): with this many
    /// clusters, or `"auto"`: the k in `2..=clusters_max` with the best mean
    /// silhouette.
    pub clusters: Option<Clusters>,
    /// Largest k that `clusters: "auto"` considers (default 10).
    pub clusters_max: usize,
    /// k-means restarts; the lowest inertia wins (default 10).
    pub kmeans_restarts: usize,
    /// k-means iteration cap per restart (default 300).
    pub kmeans_max_iter: usize,
    /// Fit k-means with every latent dimension scaled to unit variance over
    /// the training rows (default true; dimensions with under 1% of the
    /// widest one's spread are scaled as having that 1%). The KL term is too
    /// weak to give the dimensions a common scale, so without this one or
    /// two dimensions of large spread decide the clusters. The scales are
    /// stored in the model and used by every later assignment; centroids
    /// stay in latent units.
    pub kmeans_standardize: bool,
    /// Fit k-means on each training latent's deviation from the training
    /// mean (standardised first with `kmeans_standardize`) scaled to unit
    /// length, so that clusters follow the direction of that deviation, the
    /// kind of series, and not its size. Later assignments map a latent the
    /// same way; the mean and the k-means centroids of that space are stored
    /// in the model, and `centroids` (prototypes) are each cluster's mean
    /// latent.
    pub kmeans_normalize: bool,
    /// How the training series are cut into clusters (default
    /// `spectral_series`). `spectral` builds a graph joining each training latent to its 10
    /// nearest (in the space `kmeans_standardize` and `kmeans_normalize`
    /// define; on at most 4000 evenly spaced latents) and cuts it on the
    /// leading eigenvectors of its normalised adjacency (`spectral_cut`), so
    /// that a cluster can be a curved, connected strip of latents rather
    /// than a convex cell. The graph's latents and their clusters are
    /// stored in the model; a later latent joins the cluster its nearest
    /// stored latents vote for (weighted by closeness). `centroids`
    /// (prototypes) are each cluster's mean latent. `spectral_series`: the
    /// same graph over each series' latent beside its shape (the series as
    /// the network gets it, averaged and aligned, z-normalised (several
    /// channels as one whole, each first divided by its training spread),
    /// resampled to the longest training series' steps),
    /// each part scaled to unit total variance, the shape described by
    /// MiniRocket's kernels or compared at its best shift
    /// (`series_features`); the graph points stored are those pairs, so
    /// clustering needs the series, not only its latent.
    /// `kmeans`: k-means cells around centroids, the original VRAE's.
    pub clustering: Clustering,
    /// How `spectral` and `spectral_series` cut the graph's embedding
    /// (default `mixture`): `kmeans`, k-means on its leading eigenvectors
    /// (scikit-learn's `SpectralClustering`); `mixture`, a Gaussian mixture
    /// with diagonal covariances fitted from that k-means cut, each point
    /// in its most probable component, so that clusters may differ in size
    /// and spread. Ignored by `clustering: "kmeans"`.
    pub spectral_cut: SpectralCut,
    /// With `clustering: "spectral_series"` and `series_features:
    /// "shifted_shapes"` or `"kernels_and_shapes"`, the largest shift in time, as a fraction of the
    /// shapes' steps, over which two series' shapes are compared (default
    /// 0.25): their distance in the graph is that of the
    /// best-aligned shift, so that one shape at another place is a near
    /// neighbour, as k-Shape's shape-based distance has it. 0 compares
    /// them step by step. Ignored by the other clusterings.
    pub shape_lag: f64,
    /// With `clustering: "spectral_series"`, how each series is described
    /// beside its latent (default `multirocket`). `random_kernels`: its
    /// shape (as above) through MiniRocket's 84 fixed kernels at dilations
    /// up to the series' length, each feature the share of steps where a
    /// kernel answers above one of its biases (random quantiles of its
    /// output on the training series), the features standardised and
    /// reduced to the principal axes that keep 80% of their variance (found
    /// on at most 500 training series), so that two series are near when
    /// they hold the same patterns at the same scales, even a few steps
    /// apart.
    /// The kernels' channels and biases, the features' mean and the axes
    /// are stored in the model (about 40 KB per axis). `shifted_shapes`: the
    /// shape itself, compared at its best shift (`shape_lag`).
    /// `kernels_and_shapes`: both side by side, each at half the series
    /// part's variance. `multirocket`: the kernels as `random_kernels`, but
    /// each kernel, dilation and bias pooled four ways as MultiRocket does
    /// (the share, mean, mean step and longest stretch of the outputs above
    /// the bias), over the shape and over its first difference, at about
    /// the same number of features. Ignored by the other clusterings.
    pub series_features: SeriesFeatures,
    /// Weigh the latent part of the `spectral_series` graph by how much of
    /// the training series the model reconstructs (default true): its
    /// squared distances are multiplied by the reconstruction R² (1 minus
    /// the reconstructions' squared error over the series' squared distance
    /// from the mean series, in the input's units at the input's length,
    /// step by step), clamped to [0, 1] with a floor of 1e-6. Where the
    /// reconstructions miss the series, sit a few steps off them
    /// (`shift_tolerance`) or lack the detail averaging dropped
    /// (`paa_steps`), R² reads low and the clusters are left to the shapes;
    /// where they match step by step the latent keeps its weight. The
    /// weight is stored in the model. Ignored by the other clusterings.
    pub latent_by_reconstruction: bool,
    /// Circular shifts each series' latent is averaged over (default 1: the
    /// series as given). With n > 1 the latent of a series is the mean of its
    /// encodings rolled by `s * length / n` steps, s = 0..n, which makes the
    /// latents, clusters and projections (nearly) blind to where in the
    /// series a shape sits, at n times the cost of embedding.
    pub shift_average: usize,
    /// Align each series, before `paa_steps` averaging, by the lag below
    /// one averaging window that best correlates it with the training rows'
    /// mean series (default false). For series whose onsets jitter by less
    /// than a window (ECG beats cut around a detected peak): that jitter
    /// otherwise becomes the latent's largest variation. Not for data whose
    /// classes differ in timing by that much (their timing is then erased).
    /// Series the model does not average are never moved. The reference is
    /// stored in the model; reconstructions are moved back to the input's
    /// timing.
    pub align_lags: bool,
    /// Series longer than this many steps are averaged over windows of
    /// neighbouring steps (piecewise aggregate approximation) before the
    /// network sees them: the window is the longest training series over
    /// this, rounded up, fixed at training and stored in the model;
    /// reconstructions are stretched back to the input's length
    /// (default 64; 0: off).
    pub paa_steps: usize,
    /// Longest series accepted, in steps (default 10000).
    pub max_length: usize,
    /// `cpu` (default) or `cuda`.
    pub device: DeviceKind,
}

impl Default for VraeConfig {
    fn default() -> Self {
        Self {
            block: Block::Lstm,
            hidden_size: 90,
            depth: 1,
            dropout: 0.2,
            latent: 20,
            forget_bias: FORGET_BIAS_DEFAULT,
            decoder_inputs: DecoderInputs::Zeros,
            loss: ReconstructionLoss::Mse,
            reduction: LossReduction::Original,
            shift_tolerance: SHIFT_TOLERANCE_DEFAULT,
            kl_weight: 1.0,
            kl_warmup_epochs: 0,
            optimizer: OptimizerKind::Adam,
            learning_rate: 5e-4,
            momentum: 0.0,
            clip: true,
            max_grad_norm: 5.0,
            epochs: 40,
            min_updates: MIN_UPDATES_DEFAULT,
            batch_size: 32,
            seed: 0,
            threads: 0,
            early_stopping_patience: None,
            early_stopping_min_delta: 0.0,
            scaling: SCALING_DEFAULT,
            clusters: None,
            clusters_max: 10,
            kmeans_restarts: 10,
            kmeans_max_iter: 300,
            kmeans_standardize: KMEANS_STANDARDIZE_DEFAULT,
            kmeans_normalize: KMEANS_NORMALIZE_DEFAULT,
            clustering: CLUSTERING_DEFAULT,
            spectral_cut: SPECTRAL_CUT_DEFAULT,
            shape_lag: SHAPE_LAG_DEFAULT,
            series_features: SERIES_FEATURES_DEFAULT,
            latent_by_reconstruction: LATENT_BY_RECONSTRUCTION_DEFAULT,
            shift_average: 1,
            align_lags: false,
            paa_steps: PAA_STEPS_DEFAULT,
            max_length: 10_000,
            device: DeviceKind::Cpu,
        }
    }
}

/// Default of `forget_bias`: the network's one departure from the original
/// VRAE's defaults, chosen by the quality suite (BENCHMARKS.md, "The
/// forget-gate bias"). Models saved before the option existed were trained
/// with 0.
const FORGET_BIAS_DEFAULT: f64 = 2.0;

/// Default of `scaling`: `per_step`. The quality suite found `global` far
/// better than per-series z-scores where series are not already
/// z-normalised, and `per_step` better again, above all on aligned curves
/// that differ by little, where the default model used to reconstruct
/// worse than the mean series (BENCHMARKS.md, "Input scaling" and "The
/// mean series"). Every saved model's config names its scaling, so older
/// models are unaffected.
const SCALING_DEFAULT: Scaling = Scaling::PerStep;

/// Default of `latent_by_reconstruction`: on, because weighing the latent
/// by the model's reconstruction R² won the quality suite's selection half
/// (NMI / ARI 0.494 / 0.388 -> 0.534 / 0.426, seeds 0-2), held on its
/// confirmation half (0.523 / 0.340 -> 0.532 / 0.349, no dataset worse by
/// more than 0.02) and took ECG5000's 5000 rows from 0.598 to 0.623
/// (BENCHMARKS.md, "The latent part weighed by how much of the series the
/// model reconstructs"). Its R² counts a shifted or averaged-away
/// reconstruction as missed; the R² the network is trained on (its own
/// resolution, each series' best shift) lost the selection half (0.534 ->
/// 0.511; "R² measured as the network is trained"). Models saved before
/// the option existed load as `false`.
const LATENT_BY_RECONSTRUCTION_DEFAULT: bool = true;

/// Default of `kmeans_standardize`: on, because with `forget_bias` 2's
/// latents it clustered ECG5000's 5000 rows clearly better (6 seeds: NMI
/// 0.479 against 0.459, ARI 0.454 against 0.380) and the quality suite no
/// worse on average (BENCHMARKS.md, "k-means on standardised latents").
/// Models of format version 1 were fitted without it and load as `false`.
const KMEANS_STANDARDIZE_DEFAULT: bool = true;

/// Default of `kmeans_normalize`. Models saved before the option existed
/// were fitted without it and load as `false`.
const KMEANS_NORMALIZE_DEFAULT: bool = false;

/// Default of `clustering`: spectral, on the latents beside the series'
/// shapes. The latents often hold the classes as connected strips that are
/// not their largest variation, which k-means follows; the graph's cut
/// follows the strips. Where the encoder kept too little (small sets of
/// long series), the z-normalised shapes, what k-Shape compares, keep the
/// neighbours apart; where the shapes mislead (the same shape at other
/// levels), the latent does. Both chosen on one half of the quality suite,
/// confirmed on the other and on seeds never used in choosing, then with
/// the built option on all of it (BENCHMARKS.md, "Spectral clustering of
/// the latents" and "The latents beside the series' shapes"). Models saved
/// before the option existed were clustered by k-means and load as
/// `kmeans`.
const CLUSTERING_DEFAULT: Clustering = Clustering::SpectralSeries;

/// Default of `spectral_cut`: the mixture. k-means on the embedding takes
/// every cluster to be a ball of one size; the classes of a dataset seldom
/// are, and a mixture lets a small or tight one keep its own component.
/// Chosen on one half of the quality suite, confirmed on the other and on
/// seeds never used in choosing (BENCHMARKS.md, "A mixture cuts the
/// spectral embedding"). Models saved before the option existed were cut
/// by k-means and load as `kmeans`.
const SPECTRAL_CUT_DEFAULT: SpectralCut = SpectralCut::Mixture;

/// Default of `shape_lag`: shapes compared over shifts of up to a quarter
/// of their steps. Chosen on one half of the quality suite among 0.05, 0.1
/// and 0.25, confirmed on the other half and on seeds never used in
/// choosing (BENCHMARKS.md, "Shapes compared over shifts"). Models saved
/// before the option existed compared shapes step by step and load as 0.
const SHAPE_LAG_DEFAULT: f64 = 0.25;

/// Default of `series_features`: MiniRocket's kernels pooled four ways
/// over the shape and its first difference, as MultiRocket pools them.
/// Chosen offline on the quality suite's selection half among two
/// candidates fixed beforehand (NMI / ARI 0.546 / 0.434 -> 0.574 / 0.461,
/// seeds 0-2); built, it gains on both halves (0.555 / 0.445 -> 0.605 /
/// 0.502 and 0.542 / 0.359 -> 0.567 / 0.385), on seeds 3-4 of all 29
/// datasets, never used in choosing (0.552 / 0.405 -> 0.586 / 0.446), and
/// keeps ECG5000's 5000 rows above 0.60 (0.612), where the kernels pooled
/// by their share alone fell to 0.549 (BENCHMARKS.md, "MultiRocket's
/// pooling"). `kernels_and_shapes`, the default before it, adds the shape
/// over shifts at half the weight. Models saved before the option existed
/// compared shapes and load as `shifted_shapes`; those saved with another
/// choice keep it.
const SERIES_FEATURES_DEFAULT: SeriesFeatures = SeriesFeatures::Multirocket;

/// Defaults of `paa_steps` and `min_updates`, adopted together: averaging
/// long series down to at most 64 steps keeps what the network can learn
/// from them at a fraction of the cost, and that saving pays for at least
/// 1000 optimiser steps on small datasets, where 40 epochs gave too few and
/// the model underfitted. Chosen on one half of the quality suite, confirmed
/// on the other (BENCHMARKS.md, "Selecting and confirming defaults").
/// Models saved before a default existed report 0, what they were trained
/// with.
const PAA_STEPS_DEFAULT: usize = 64;
const MIN_UPDATES_DEFAULT: usize = 1000;

/// Default of `shift_tolerance`: 3 steps, about 5% of a long series at
/// the default `paa_steps`. Models saved before it existed report 0, what
/// they were trained with.
const SHIFT_TOLERANCE_DEFAULT: usize = 3;

/// Every option name, in declaration order (for error messages).
pub const OPTION_NAMES: &[&str] = &[
    "block",
    "hidden_size",
    "depth",
    "dropout",
    "latent",
    "forget_bias",
    "decoder_inputs",
    "loss",
    "reduction",
    "shift_tolerance",
    "kl_weight",
    "kl_warmup_epochs",
    "optimizer",
    "learning_rate",
    "momentum",
    "clip",
    "max_grad_norm",
    "epochs",
    "min_updates",
    "batch_size",
    "seed",
    "threads",
    "early_stopping_patience",
    "early_stopping_min_delta",
    "scaling",
    "clusters",
    "clusters_max",
    "kmeans_restarts",
    "kmeans_max_iter",
    "kmeans_standardize",
    "kmeans_normalize",
    "clustering",
    "spectral_cut",
    "shape_lag",
    "series_features",
    "latent_by_reconstruction",
    "shift_average",
    "align_lags",
    "paa_steps",
    "max_length",
    "device",
];

fn invalid(key: &str, message: impl Into<String>) -> VraeError {
    VraeError::InvalidOption { key: key.to_string(), message: message.into() }
}

/// Why options text is not a usable JSON object of options.
#[derive(Debug, Clone, PartialEq)]
pub enum OptionsTextError {
    /// Not JSON at all (the parser's message).
    NotJson(String),
    /// JSON, but not an object (`null` among them: each front end decides
    /// what that means).
    NotAnObject(Value),
    /// An object that gives this option twice. `serde_json` keeps the last
    /// of repeated keys, so `{"epochs": 1, "epochs": 7}` would train 7
    /// epochs in silence; every front end refuses it instead (an option
    /// given twice is a mistake, not a choice).
    Repeated(String),
}

impl std::fmt::Display for OptionsTextError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OptionsTextError::NotJson(e) => write!(f, "options are not valid JSON: {e}"),
            OptionsTextError::NotAnObject(value) => write!(f, "options must be a JSON object, got {value}"),
            OptionsTextError::Repeated(key) => write!(f, "option `{key}`: {REPEATED}"),
        }
    }
}

impl std::error::Error for OptionsTextError {}

/// What an option given twice is told.
const REPEATED: &str = "given twice; give each option once";

/// Options text as a JSON object, each option given once: the one parse
/// every front end's options go through (the core's, SQL's, the main job's).
pub fn options_object(text: &str) -> std::result::Result<Map<String, Value>, OptionsTextError> {
    match serde_json::from_str::<Value>(text) {
        Err(e) => Err(OptionsTextError::NotJson(e.to_string())),
        Ok(Value::Object(map)) => match repeated_option(text) {
            Some(key) => Err(OptionsTextError::Repeated(key)),
            None => Ok(map),
        },
        Ok(other) => Err(OptionsTextError::NotAnObject(other)),
    }
}

/// The first key that the JSON object `json` gives twice (keys compared
/// after unescaping), if any.
fn repeated_option(json: &str) -> Option<String> {
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};

    struct FirstRepeat(Option<String>);
    struct Keys;
    impl<'de> Visitor<'de> for Keys {
        type Value = FirstRepeat;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<FirstRepeat, A::Error> {
            let (mut seen, mut repeat) = (std::collections::HashSet::new(), None);
            while let Some(key) = map.next_key::<String>()? {
                map.next_value::<IgnoredAny>()?;
                if !seen.insert(key.clone()) && repeat.is_none() {
                    repeat = Some(key);
                }
            }
            Ok(FirstRepeat(repeat))
        }
    }
    let mut reader = serde_json::Deserializer::from_str(json);
    reader.deserialize_map(Keys).ok().and_then(|found| found.0)
}

impl VraeConfig {
    /// Parses options from a JSON object string; missing options keep their
    /// defaults, and an option given twice is refused by name.
    pub fn from_json(json: &str) -> Result<Self> {
        match options_object(json) {
            Ok(map) => Self::from_map(&map),
            Err(OptionsTextError::NotAnObject(Value::Null)) => Ok(Self::default()),
            Err(OptionsTextError::NotAnObject(other)) => Err(VraeError::OptionsNotAnObject(format!("got {other}"))),
            Err(OptionsTextError::NotJson(e)) => Err(VraeError::OptionsNotAnObject(e)),
            Err(OptionsTextError::Repeated(key)) => Err(invalid(&key, REPEATED)),
        }
    }

    /// Parses options from a JSON object; each key is checked on its own so
    /// that a wrong type is reported against its name.
    pub fn from_map(map: &Map<String, Value>) -> Result<Self> {
        for (key, value) in map {
            if !OPTION_NAMES.contains(&key.as_str()) {
                return Err(VraeError::UnknownOption { key: key.clone(), valid: OPTION_NAMES.join(", ") });
            }
            let mut single = Map::new();
            single.insert(key.clone(), value.clone());
            serde_json::from_value::<VraeConfig>(Value::Object(single)).map_err(|e| invalid(key, format!("{e} (got {value})")))?;
        }
        let mut config: VraeConfig =
            serde_json::from_value(Value::Object(map.clone())).map_err(|e| VraeError::OptionsNotAnObject(e.to_string()))?;
        if map.contains_key("epochs") && !map.contains_key("min_updates") {
            // An epoch count the user chose is the one training runs: the
            // default `min_updates` belongs to the default schedule.
            config.min_updates = 0;
        }
        config.validate()?;
        Ok(config)
    }

    /// Epochs that training on `rows` series runs (unless it stops early):
    /// `epochs`, raised where needed so that training takes at least
    /// `min_updates` optimisation steps of `batch_size` series.
    pub fn epochs_for_rows(&self, rows: usize) -> usize {
        let batches = rows.div_ceil(self.batch_size.max(1)).max(1);
        self.epochs.max(self.min_updates.div_ceil(batches))
    }

    /// The options as a JSON object string (every option, defaults included).
    pub fn to_json(&self) -> String {
        // Serialising plain data cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Checks every option against its documented range ([`INTEGER_RANGES`],
    /// [`FLOAT_RANGES`]): the one gate before anything is sized, allocated
    /// or looped over from these values, for options from users and for the
    /// config stored in a model file alike.
    pub fn validate(&self) -> Result<()> {
        for &(key, min, max) in INTEGER_RANGES {
            // `None` is an optional option switched off (always allowed).
            if let Some(value) = self.integer(key) {
                if !(min..=max).contains(&value) {
                    return Err(invalid(key, format!("must be in {min}..={max}, got {value}")));
                }
            }
        }
        for &(key, range) in FLOAT_RANGES {
            let value = self.float(key);
            if !range.contains(value) {
                return Err(invalid(key, format!("must be {}, got {}", range.describe(), number(value))));
            }
        }
        Ok(())
    }

    /// The value of an integer option by name (`None`: switched off).
    fn integer(&self, key: &str) -> Option<u64> {
        let value = match key {
            "hidden_size" => self.hidden_size,
            "depth" => self.depth,
            "latent" => self.latent,
            "shift_tolerance" => self.shift_tolerance,
            "kl_warmup_epochs" => self.kl_warmup_epochs,
            "epochs" => self.epochs,
            "min_updates" => self.min_updates,
            "batch_size" => self.batch_size,
            "threads" => self.threads,
            "early_stopping_patience" => self.early_stopping_patience?,
            "clusters" => match self.clusters? {
                Clusters::Fixed(k) => k,
                Clusters::Auto => return None,
            },
            "clusters_max" => self.clusters_max,
            "kmeans_restarts" => self.kmeans_restarts,
            "kmeans_max_iter" => self.kmeans_max_iter,
            "shift_average" => self.shift_average,
            "paa_steps" => self.paa_steps,
            "max_length" => self.max_length,
            _ => return None,
        };
        Some(value as u64)
    }

    /// The value of a real-valued option by name.
    fn float(&self, key: &str) -> f64 {
        match key {
            "dropout" => self.dropout,
            "forget_bias" => self.forget_bias,
            "kl_weight" => self.kl_weight,
            "learning_rate" => self.learning_rate,
            "momentum" => self.momentum,
            "max_grad_norm" => self.max_grad_norm,
            "early_stopping_min_delta" => self.early_stopping_min_delta,
            "shape_lag" => self.shape_lag,
            _ => f64::NAN,
        }
    }
}

/// The accepted values of every integer option, inclusive. The upper
/// bounds are far above any useful setting; they exist so that a typo or a
/// hostile model file cannot size an allocation or a loop (`depth`
/// 1000000000 used to abort the process, `kmeans_restarts` 10^12 to run
/// for ever). Optional options (`clusters`, `early_stopping_patience`) may
/// also be null.
pub const INTEGER_RANGES: &[(&str, u64, u64)] = &[
    ("hidden_size", 1, 4096),
    ("depth", 1, 16),
    ("latent", 1, 4096),
    ("shift_tolerance", 0, 1000),
    ("kl_warmup_epochs", 0, 100_000),
    ("epochs", 1, 100_000),
    ("min_updates", 0, 10_000_000),
    ("batch_size", 1, 65_536),
    ("threads", 0, 1024),
    ("early_stopping_patience", 1, 100_000),
    ("clusters", 2, 10_000),
    ("clusters_max", 2, 10_000),
    ("kmeans_restarts", 1, 1000),
    ("kmeans_max_iter", 1, 100_000),
    ("shift_average", 1, 1024),
    ("paa_steps", 0, 10_000_000),
    ("max_length", 1, 10_000_000),
];

/// An interval of real numbers (never NaN or infinite).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FloatRange {
    /// Lower bound.
    pub min: f64,
    /// Whether the lower bound itself is allowed.
    pub min_inclusive: bool,
    /// Upper bound.
    pub max: f64,
    /// Whether the upper bound itself is allowed.
    pub max_inclusive: bool,
}

impl FloatRange {
    const fn closed(min: f64, max: f64) -> Self {
        Self { min, min_inclusive: true, max, max_inclusive: true }
    }

    /// Whether `value` is a finite number inside the range.
    pub fn contains(&self, value: f64) -> bool {
        let above = if self.min_inclusive { value >= self.min } else { value > self.min };
        let below = if self.max_inclusive { value <= self.max } else { value < self.max };
        value.is_finite() && above && below
    }

    /// The interval as the README writes it, e.g. `[0, 1)`.
    pub fn interval(&self) -> String {
        let open = if self.min_inclusive { '[' } else { '(' };
        let close = if self.max_inclusive { ']' } else { ')' };
        format!("{open}{}, {}{close}", number(self.min), number(self.max))
    }

    /// The range as error messages write it, e.g. `a finite number in [0, 1)`.
    pub fn describe(&self) -> String {
        format!("a finite number in {}", self.interval())
    }
}

/// A number as people write it: `1e30` rather than thirty-one digits.
fn number(value: f64) -> String {
    if value != 0.0 && value.is_finite() && !(1e-4..1e6).contains(&value.abs()) {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

/// The accepted values of every real-valued option.
pub const FLOAT_RANGES: &[(&str, FloatRange)] = &[
    ("dropout", FloatRange { min: 0.0, min_inclusive: true, max: 1.0, max_inclusive: false }),
    ("forget_bias", FloatRange::closed(-20.0, 20.0)),
    ("kl_weight", FloatRange::closed(0.0, 1e6)),
    ("learning_rate", FloatRange { min: 0.0, min_inclusive: false, max: 10.0, max_inclusive: true }),
    ("momentum", FloatRange { min: 0.0, min_inclusive: true, max: 1.0, max_inclusive: false }),
    ("max_grad_norm", FloatRange { min: 0.0, min_inclusive: false, max: 1e6, max_inclusive: true }),
    ("early_stopping_min_delta", FloatRange::closed(0.0, 1e30)),
    ("shape_lag", FloatRange::closed(0.0, 1.0)),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_original_vrae() {
        let c = VraeConfig::default();
        assert_eq!((c.hidden_size, c.depth, c.latent, c.epochs, c.batch_size), (90, 1, 20, 40, 32));
        assert_eq!(c.learning_rate, 5e-4);
        assert_eq!(c.block, Block::Lstm);
        assert!(c.clip && c.max_grad_norm == 5.0);
        // The departures the quality suite chose: per-step input scaling, the
        // forget-gate bias, and k-means on standardised latents.
        assert_eq!(c.forget_bias, 2.0);
        assert!(c.kmeans_standardize && c.kmeans_restarts == 10);
        assert_eq!(c.scaling, Scaling::PerStep);
        // Long series averaged to at most 64 steps, and at least 1000
        // optimiser steps: Coffee's 56 rows (2 batches an epoch) train for
        // 500 epochs, ECG5000's 5000 rows for the 40 of the original.
        assert_eq!((c.paa_steps, c.min_updates), (64, 1000));
        assert_eq!(c.shift_tolerance, 3);
        assert_eq!((c.epochs_for_rows(56), c.epochs_for_rows(5000)), (500, 40));
        // The graph weighs the latent by how much of the series it explains.
        assert!(c.latent_by_reconstruction);
        assert_eq!(VraeConfig::from_json("{}").unwrap(), c);
    }

    #[test]
    fn min_updates_raises_the_epoch_count_of_small_datasets_only() {
        let c = VraeConfig { epochs: 40, min_updates: 1000, batch_size: 32, ..Default::default() };
        // 2 batches per epoch: 500 epochs give 1000 steps.
        assert_eq!(c.epochs_for_rows(56), 500);
        // 3 batches: 334 epochs (1002 steps), never fewer than asked.
        assert_eq!(c.epochs_for_rows(70), 334);
        // ECG5000: 157 batches, 40 epochs already give 6280 steps.
        assert_eq!(c.epochs_for_rows(5000), 40);
        // An epoch count the user gives is run as given, unless they also
        // ask for a minimum number of steps.
        assert_eq!(VraeConfig::from_json(r#"{"epochs": 2}"#).unwrap().epochs_for_rows(56), 2);
        assert_eq!(VraeConfig::from_json(r#"{"epochs": 2, "min_updates": 10}"#).unwrap().epochs_for_rows(56), 5);
        assert_eq!(VraeConfig::from_json("{}").unwrap().epochs_for_rows(56), 500);
    }

    #[test]
    fn json_round_trip_keeps_every_option() {
        let c = VraeConfig { block: Block::Gru, clusters: Some(Clusters::Fixed(4)), scaling: Scaling::Global, ..Default::default() };
        assert_eq!(VraeConfig::from_json(&c.to_json()).unwrap(), c);
        let auto = VraeConfig { clusters: Some(Clusters::Auto), clusters_max: 7, ..Default::default() };
        assert!(auto.to_json().contains(r#""clusters":"auto""#), "{}", auto.to_json());
        assert_eq!(VraeConfig::from_json(&auto.to_json()).unwrap(), auto);
        let err = VraeConfig::from_json(r#"{"clusters": "many"}"#).unwrap_err().to_string();
        assert!(err.contains("option `clusters`") && err.contains("\"auto\""), "{err}");
    }

    #[test]
    fn option_names_are_the_fields_of_the_config() {
        // OPTION_NAMES (error messages, the README check) is written by hand:
        // it must name every serialised field, no more and no fewer.
        let json: Value = serde_json::from_str(&VraeConfig::default().to_json()).unwrap();
        let mut fields: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        let mut names = OPTION_NAMES.to_vec();
        fields.sort_unstable();
        names.sort_unstable();
        assert_eq!(fields, names);
    }

    #[test]
    fn unknown_option_lists_the_valid_ones() {
        let err = VraeConfig::from_json(r#"{"hiden_size": 10}"#).unwrap_err().to_string();
        assert!(err.contains("unknown option `hiden_size`"), "{err}");
        assert!(err.contains("hidden_size") && err.contains("kl_weight"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let err = VraeConfig::from_json(r#"{"epochs": "ten"}"#).unwrap_err().to_string();
        assert!(err.starts_with("option `epochs`"), "{err}");
        let err = VraeConfig::from_json(r#"{"block": "rnn"}"#).unwrap_err().to_string();
        assert!(err.contains("`block`") && err.contains("lstm") && err.contains("gru"), "{err}");
    }

    #[test]
    fn out_of_range_values_are_refused() {
        for (json, key) in [
            (r#"{"dropout": 1.5}"#, "dropout"),
            (r#"{"latent": 0}"#, "latent"),
            (r#"{"clusters": 1}"#, "clusters"),
            (r#"{"learning_rate": -1}"#, "learning_rate"),
            (r#"{"forget_bias": 100}"#, "forget_bias"),
        ] {
            let err = VraeConfig::from_json(json).unwrap_err().to_string();
            assert!(err.contains(&format!("`{key}`")), "{json}: {err}");
        }
        assert!(matches!(VraeConfig::from_json("[1]"), Err(VraeError::OptionsNotAnObject(_))));
        let twice = VraeConfig::from_json(r#"{"epochs": 1, "seed": 2, "epochs": 7}"#).unwrap_err().to_string();
        assert_eq!(twice, "option `epochs`: given twice; give each option once");
        assert_eq!(repeated_option(r#"{"a": {"b": 1, "b": 2}, "c": [1, 1]}"#), None);
        assert_eq!(repeated_option("[1, 1]"), None);
        assert_eq!(repeated_option(r#"{"a\u0062": 1, "ab": 2}"#).as_deref(), Some("ab"));
        assert_eq!(options_object(r#"{"seed": 1, "seed": 1}"#), Err(OptionsTextError::Repeated("seed".into())));
        assert_eq!(options_object("[1]"), Err(OptionsTextError::NotAnObject(serde_json::json!([1]))));
        assert!(matches!(options_object("{seed"), Err(OptionsTextError::NotJson(_))));
        assert_eq!(options_object(r#"{"seed": 1}"#).map(|m| m.len()), Ok(1));
    }

    #[test]
    fn every_numeric_option_has_a_range_and_its_bounds_are_enforced() {
        let ranged: Vec<&str> = INTEGER_RANGES.iter().map(|r| r.0).chain(FLOAT_RANGES.iter().map(|r| r.0)).collect();
        let defaults: Map<String, Value> = serde_json::from_str(&VraeConfig::default().to_json()).unwrap();
        for name in OPTION_NAMES {
            let numeric = matches!(defaults[*name], Value::Number(_)) || ["clusters", "early_stopping_patience"].contains(name);
            assert_eq!(ranged.contains(name), numeric && *name != "seed", "{name}: a numeric option needs a range");
        }
        for &(key, min, max) in INTEGER_RANGES {
            assert!(VraeConfig::from_json(&format!(r#"{{"{key}": {max}}}"#)).is_ok(), "{key} = {max}");
            let err = VraeConfig::from_json(&format!(r#"{{"{key}": {}}}"#, max + 1)).unwrap_err().to_string();
            assert_eq!(err, format!("option `{key}`: must be in {min}..={max}, got {}", max + 1));
            if min > 0 {
                assert!(VraeConfig::from_json(&format!(r#"{{"{key}": {}}}"#, min - 1)).is_err(), "{key} = {}", min - 1);
            }
        }
        for &(key, range) in FLOAT_RANGES {
            let outside = if range.max_inclusive { range.max * 2.0 + 1.0 } else { range.max };
            let err = VraeConfig::from_json(&format!(r#"{{"{key}": {outside}}}"#)).unwrap_err().to_string();
            assert!(err.starts_with(&format!("option `{key}`: must be {}", range.describe())), "{err}");
        }
        for (json, expected) in [
            (r#"{"depth": 1000000000}"#, "option `depth`: must be in 1..=16, got 1000000000"),
            (r#"{"kmeans_restarts": 1000000000000}"#, "option `kmeans_restarts`: must be in 1..=1000, got 1000000000000"),
            (r#"{"learning_rate": 1e30}"#, "option `learning_rate`: must be a finite number in (0, 10], got 1e30"),
            (r#"{"dropout": 1}"#, "option `dropout`: must be a finite number in [0, 1), got 1"),
        ] {
            assert_eq!(VraeConfig::from_json(json).unwrap_err().to_string(), expected);
        }
        // The README's options table states every range as checked here.
        // The manifest directory is read when the test runs, not when it was
        // compiled: a shared target folder keeps a binary built from another
        // clone of the repository, whose path may be gone.
        let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo test sets CARGO_MANIFEST_DIR");
        let readme = std::fs::read_to_string(std::path::Path::new(&root).join("README.md")).expect("README.md");
        let row = |key: &str| {
            readme
                .lines()
                .find(|l| l.starts_with("| `") && l.split('|').nth(1).is_some_and(|c| c.contains(&format!("`{key}`"))))
                .unwrap_or_else(|| panic!("README has no row for {key}"))
                .to_string()
        };
        for &(key, min, max) in INTEGER_RANGES {
            assert!(row(key).contains(&format!("{min}..={max}")), "README's range of {key}: {}", row(key));
        }
        for &(key, range) in FLOAT_RANGES {
            assert!(row(key).contains(&range.interval()), "README's range of {key}: {}", row(key));
        }
        for key in OPTION_NAMES {
            row(key);
        }
        // Null switches the optional ones off.
        assert!(VraeConfig::from_json(r#"{"clusters": null, "early_stopping_patience": null}"#).is_ok());
    }
}
