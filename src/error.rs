//! The one error type of the core. Every variant says what went wrong and,
//! where a row of the input is to blame, which row.

use thiserror::Error;

/// Everything that can go wrong in vrae's core.
#[derive(Debug, Error)]
pub enum VraeError {
    /// A series with no time steps.
    #[error("row {row}: empty series (a series needs at least one time step)")]
    EmptySeries { row: usize },

    /// A NaN or infinite value.
    #[error("row {row}: non-finite value {value} at step {step}, channel {channel}")]
    NonFinite { row: usize, step: usize, channel: usize, value: f32 },

    /// A finite `f64` value too large for the `f32` vrae computes in.
    #[error("row {row}: value {value:e} at step {step}, channel {channel} is beyond the f32 range vrae computes in (about ±3.4e38)")]
    BeyondF32 { row: usize, step: usize, channel: usize, value: f64 },

    /// A null value inside a (non-null) series.
    #[error("row {row}: null value at step {step} (a series may be null, its values may not)")]
    NullValue { row: usize, step: usize },

    /// A multivariate step with a different number of values than the others.
    #[error("row {row}: step {step} has {found} values but the series have {channels} channels")]
    StepWidth { row: usize, step: usize, found: usize, channels: usize },

    /// A series whose value count is not a multiple of the channel count.
    #[error("row {row}: {values} values is not a whole number of steps of {channels} channels")]
    RaggedSteps { row: usize, values: usize, channels: usize },

    /// A batch with a channel count different from the model's.
    #[error("the series have {found} channels but the model was trained on {expected}")]
    ChannelMismatch { expected: usize, found: usize },

    /// A series longer than the configured maximum.
    #[error("row {row}: series of {length} steps is longer than max_length = {max}")]
    SeriesTooLong { row: usize, length: usize, max: usize },

    /// Offsets or values that do not describe a valid batch.
    #[error("invalid series layout: {0}")]
    Layout(String),

    /// Results that do not fit the output column a front end declared (a bug
    /// in the front end, or a model unlike the one the plan was made for).
    #[error("could not build the output column: {0}")]
    Output(String),

    /// An operation that needs at least one series got none.
    #[error("{0} needs at least one series, got an empty batch")]
    EmptyBatch(&'static str),

    /// An option name that does not exist.
    #[error("unknown option `{key}`; valid options are: {valid}")]
    UnknownOption { key: String, valid: String },

    /// An option with a value of the wrong type or out of range.
    #[error("option `{key}`: {message}")]
    InvalidOption { key: String, message: String },

    /// An `on_invalid` other than "error" or "null" (the value as given).
    #[error("option `on_invalid` must be \"error\" or \"null\", got {0}")]
    OnInvalid(String),

    /// Options that are not a JSON object.
    #[error("options must be a JSON object of option names to values: {0}")]
    OptionsNotAnObject(String),

    /// Asking a model for clusters it was not trained with.
    #[error("this model has no clusters: train it with the option `clusters` (e.g. {{\"clusters\": 5}})")]
    NoClusters,
    /// Latents alone were given to a model whose clusters also compare the
    /// series (`clustering: "spectral_series"`).
    #[error("this model's clusters compare each series as well as its latent (clustering \"spectral_series\"): cluster the series, not their embeddings")]
    ClustersNeedSeries,

    /// A device that this build cannot use.
    #[error("device `{0}` is not available: {1}")]
    DeviceUnavailable(String, String),

    /// A model file or byte string that cannot be read.
    #[error("invalid model: {0}")]
    Artifact(#[from] ArtifactError),

    /// Reading or writing a file.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },

    /// k-means failed.
    #[error("k-means: {0}")]
    Cluster(#[from] crate::cluster::ClusterError),

    /// PCA failed.
    #[error("PCA: {0}")]
    Pca(#[from] crate::pca::PcaError),

    /// A network, training run or series too large for the limits or for
    /// this machine's memory (see `budget`).
    #[error("too large: {0}")]
    TooLarge(String),

    /// Values that the model's scaling or network turns into NaN or infinity.
    #[error("row {row}: {message}")]
    NotFiniteOutput { row: usize, message: String },

    /// A result the model cannot give as finite numbers.
    #[error("{0}")]
    NonFiniteResult(String),

    /// Training diverged.
    #[error("training diverged at epoch {epoch}: the loss became {loss}; lower learning_rate or keep clip on")]
    Diverged { epoch: usize, loss: f64 },

    /// Training ended with a network that is not usable (weights or latents
    /// that are not finite).
    #[error("training diverged: {0}; lower learning_rate (or max_grad_norm) and keep clip on")]
    DivergedWeights(String),

    /// A 2-D map (t-SNE) that could not be drawn.
    #[error("{0}")]
    Projection(String),

    /// An error inside the tensor library.
    #[error("compute error: {0}")]
    Compute(#[from] candle_core::Error),
}

/// The message a panic carried (`panic!("...")` gives a `&str` or a
/// `String`), for the front ends and the core's own catches that turn a
/// panic into an error.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {
        (Some(s), _) => (*s).to_string(),
        (None, Some(s)) => s.clone(),
        (None, None) => "a panic without a message".to_string(),
    }
}

impl VraeError {
    /// Whether this is a problem with the layout of one row's values (a null
    /// value inside it, a step of the wrong width), as opposed to the
    /// column's type: front ends that skip invalid rows skip these.
    pub fn is_row_layout_error(&self) -> bool {
        matches!(self, VraeError::NullValue { .. } | VraeError::StepWidth { .. })
    }

    /// The row this error blames, if it blames one.
    pub fn row(&self) -> Option<usize> {
        match self {
            VraeError::EmptySeries { row }
            | VraeError::NonFinite { row, .. }
            | VraeError::BeyondF32 { row, .. }
            | VraeError::RaggedSteps { row, .. }
            | VraeError::SeriesTooLong { row, .. }
            | VraeError::NullValue { row, .. }
            | VraeError::StepWidth { row, .. }
            | VraeError::NotFiniteOutput { row, .. } => Some(*row),
            _ => None,
        }
    }

    /// The same error with its row number translated by `map` (front ends
    /// hand the core only their non-null rows, and report rows in their own
    /// numbering).
    pub fn map_row(self, map: impl Fn(usize) -> usize) -> Self {
        match self {
            VraeError::EmptySeries { row } => VraeError::EmptySeries { row: map(row) },
            VraeError::NonFinite { row, step, channel, value } => VraeError::NonFinite { row: map(row), step, channel, value },
            VraeError::BeyondF32 { row, step, channel, value } => VraeError::BeyondF32 { row: map(row), step, channel, value },
            VraeError::RaggedSteps { row, values, channels } => VraeError::RaggedSteps { row: map(row), values, channels },
            VraeError::SeriesTooLong { row, length, max } => VraeError::SeriesTooLong { row: map(row), length, max },
            VraeError::NullValue { row, step } => VraeError::NullValue { row: map(row), step },
            VraeError::StepWidth { row, step, found, channels } => VraeError::StepWidth { row: map(row), step, found, channels },
            VraeError::NotFiniteOutput { row, message } => VraeError::NotFiniteOutput { row: map(row), message },
            other => other,
        }
    }
}

/// Why a model artifact could not be loaded.
#[derive(Debug, Error)]
pub enum ArtifactError {
    /// Not a safetensors byte string at all (truncated or corrupt).
    #[error("not a readable safetensors model (truncated or corrupt): {0}")]
    Unreadable(String),
    /// A safetensors file, but not a vrae model.
    #[error("a safetensors file, but not a vrae model (no `format: vrae` metadata)")]
    Foreign,
    /// A model written by a newer vrae.
    #[error("model format version {found} is newer than this vrae supports ({supported}); upgrade vrae")]
    NewerVersion { found: u32, supported: u32 },
    /// Metadata that cannot be parsed.
    #[error("metadata `{key}` is invalid: {message}")]
    BadMetadata { key: String, message: String },
    /// A tensor the config says must be there is missing.
    #[error("tensor `{0}` is missing")]
    MissingTensor(String),
    /// A tensor with the wrong shape or type.
    #[error("tensor `{name}` has shape {found:?}, expected {expected:?}")]
    BadTensor { name: String, found: Vec<usize>, expected: Vec<usize> },
}

/// Shorthand for results of the core.
pub type Result<T, E = VraeError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panics_message_is_read_from_either_payload() {
        let caught = |f: fn()| std::panic::catch_unwind(f).unwrap_err();
        assert_eq!(panic_message(caught(|| panic!("index 7 out of range")).as_ref()), "index 7 out of range");
        assert_eq!(panic_message(caught(|| panic!("{} rows", 3)).as_ref()), "3 rows");
        assert_eq!(panic_message(caught(|| std::panic::panic_any(7u8)).as_ref()), "a panic without a message");
    }
}
