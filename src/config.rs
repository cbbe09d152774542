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

/// Where tensors live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// The CPU (always available).
    Cpu,
    /// An NVIDIA GPU (needs vrae built with the `cuda` feature).
    Cuda,
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
    /// Train for at least this many optimisation steps (default 0: off).
    /// When `epochs` passes over a small dataset give fewer steps, the epoch
    /// count is raised to `ceil(min_updates / batches per epoch)`.
    pub min_updates: usize,
    /// Series per optimisation step (default 32); the last partial batch is used too.
    pub batch_size: usize,
    /// Seed of every random choice; same seed, data and CPU give bit-identical models (default 0).
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
    /// Train k-means with this many clusters on the latent means (default: none).
    pub clusters: Option<usize>,
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
    /// Circular shifts each series' latent is averaged over (default 1: the
    /// series as given). With n > 1 the latent of a series is the mean of its
    /// encodings rolled by `s * length / n` steps, s = 0..n, which makes the
    /// latents, clusters and projections (nearly) blind to where in the
    /// series a shape sits, at n times the cost of embedding.
    pub shift_average: usize,
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
            kl_weight: 1.0,
            kl_warmup_epochs: 0,
            optimizer: OptimizerKind::Adam,
            learning_rate: 5e-4,
            momentum: 0.0,
            clip: true,
            max_grad_norm: 5.0,
            epochs: 40,
            min_updates: 0,
            batch_size: 32,
            seed: 0,
            threads: 0,
            early_stopping_patience: None,
            early_stopping_min_delta: 0.0,
            scaling: SCALING_DEFAULT,
            clusters: None,
            kmeans_restarts: 10,
            kmeans_max_iter: 300,
            kmeans_standardize: KMEANS_STANDARDIZE_DEFAULT,
            shift_average: 1,
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

/// Default of `kmeans_standardize`: on, because with `forget_bias` 2's
/// latents it clustered ECG5000's 5000 rows clearly better (6 seeds: NMI
/// 0.479 against 0.459, ARI 0.454 against 0.380) and the quality suite no
/// worse on average (BENCHMARKS.md, "k-means on standardised latents").
/// Models of format version 1 were fitted without it and load as `false`.
const KMEANS_STANDARDIZE_DEFAULT: bool = true;

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
    "kmeans_restarts",
    "kmeans_max_iter",
    "kmeans_standardize",
    "shift_average",
    "max_length",
    "device",
];

fn invalid(key: &str, message: impl Into<String>) -> VraeError {
    VraeError::InvalidOption { key: key.to_string(), message: message.into() }
}

impl VraeConfig {
    /// Parses options from a JSON object string; missing options keep their defaults.
    pub fn from_json(json: &str) -> Result<Self> {
        let value: Value = serde_json::from_str(json).map_err(|e| VraeError::OptionsNotAnObject(e.to_string()))?;
        match value {
            Value::Object(map) => Self::from_map(&map),
            Value::Null => Ok(Self::default()),
            other => Err(VraeError::OptionsNotAnObject(format!("got {other}"))),
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
            serde_json::from_value::<VraeConfig>(Value::Object(single))
                .map_err(|e| invalid(key, format!("{e} (got {value})")))?;
        }
        let config: VraeConfig =
            serde_json::from_value(Value::Object(map.clone())).map_err(|e| VraeError::OptionsNotAnObject(e.to_string()))?;
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

    /// Checks ranges that the types alone do not.
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("hidden_size", self.hidden_size),
            ("depth", self.depth),
            ("latent", self.latent),
            ("epochs", self.epochs),
            ("batch_size", self.batch_size),
            ("kmeans_restarts", self.kmeans_restarts),
            ("kmeans_max_iter", self.kmeans_max_iter),
            ("shift_average", self.shift_average),
            ("max_length", self.max_length),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(invalid(key, "must be at least 1"));
            }
        }
        if self.min_updates > 10_000_000 {
            return Err(invalid("min_updates", "must be at most 10000000"));
        }
        if self.shift_average > 1024 {
            return Err(invalid("shift_average", "must be at most 1024"));
        }
        if self.hidden_size > 4096 {
            return Err(invalid("hidden_size", "must be at most 4096"));
        }
        if self.latent > 4096 {
            return Err(invalid("latent", "must be at most 4096"));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(invalid("dropout", format!("must be in [0, 1), got {}", self.dropout)));
        }
        if !(self.forget_bias.is_finite() && self.forget_bias.abs() <= 20.0) {
            return Err(invalid("forget_bias", format!("must be a number in [-20, 20], got {}", self.forget_bias)));
        }
        if !(self.kl_weight.is_finite() && self.kl_weight >= 0.0) {
            return Err(invalid("kl_weight", "must be a finite number >= 0"));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(invalid("learning_rate", "must be a finite number > 0"));
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(invalid("momentum", "must be in [0, 1)"));
        }
        if !(self.max_grad_norm.is_finite() && self.max_grad_norm > 0.0) {
            return Err(invalid("max_grad_norm", "must be a finite number > 0"));
        }
        if !(self.early_stopping_min_delta.is_finite() && self.early_stopping_min_delta >= 0.0) {
            return Err(invalid("early_stopping_min_delta", "must be a finite number >= 0"));
        }
        if self.early_stopping_patience == Some(0) {
            return Err(invalid("early_stopping_patience", "must be at least 1 (or null for off)"));
        }
        if let Some(k) = self.clusters {
            if k < 2 {
                return Err(invalid("clusters", "must be at least 2 (or null for none)"));
            }
        }
        if self.threads > 1024 {
            return Err(invalid("threads", "must be at most 1024 (0: all cores)"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_original_vrae() {
        let c = VraeConfig::default();
        assert_eq!((c.hidden_size, c.depth, c.latent, c.epochs, c.batch_size), (90, 1, 20, 40, 32));
        assert_eq!(c.epochs_for_rows(56), 40);
        assert_eq!(c.learning_rate, 5e-4);
        assert_eq!(c.block, Block::Lstm);
        assert!(c.clip && c.max_grad_norm == 5.0);
        // The departures the quality suite chose: per-step input scaling, the
        // forget-gate bias, and k-means on standardised latents.
        assert_eq!(c.forget_bias, 2.0);
        assert!(c.kmeans_standardize && c.kmeans_restarts == 10);
        assert_eq!(c.scaling, Scaling::PerStep);
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
    }

    #[test]
    fn json_round_trip_keeps_every_option() {
        let c = VraeConfig { block: Block::Gru, clusters: Some(4), scaling: Scaling::Global, ..Default::default() };
        assert_eq!(VraeConfig::from_json(&c.to_json()).unwrap(), c);
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
    }
}
