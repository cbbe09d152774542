//! # vrae
//!
//! Time-series clustering with a Variational Recurrent Autoencoder, on Candle.
//!
//! Train a [`Model`] on a [`SeriesBatch`] (flat values + offsets, the Arrow
//! list layout), then turn series into latent vectors ([`Model::embed`]),
//! k-means cluster ids ([`Model::cluster`]), reconstructions, anomaly scores
//! and 2-D projections. Models are one safetensors byte string
//! ([`Model::to_bytes`]).
//!
//! ```no_run
//! use vrae::{Model, SeriesBatch, VraeConfig};
//! let rows = vec![vec![0.0f32, 1.0, 0.0, -1.0]; 64];
//! let batch = SeriesBatch::from_rows(&rows, 1)?;
//! let config = VraeConfig::from_json(r#"{"clusters": 2, "epochs": 5}"#)?;
//! let model = Model::fit(&batch, &config, |_progress| {})?;
//! let ids = model.cluster(&batch)?;
//! # Ok::<(), vrae::VraeError>(())
//! ```

mod align;
#[cfg(feature = "arrow")]
pub mod arrow_input;
#[cfg(feature = "arrow")]
pub mod arrow_output;
mod artifact;
mod batch;
mod budget;
pub mod cluster;
pub mod config;
mod cpu_matmul;
mod eigen;
mod error;
pub mod metrics;
pub mod mixture;
mod model;
pub mod model_cache;
pub mod model_file;
mod network;
pub mod on_invalid;
mod paa;
pub mod pca;
pub mod projection;
mod random_kernels;
/// The recurrent layers: the fused CPU kernels, the Candle-op reference and
/// the composed path for other devices. Public only with the `internals`
/// feature, for the tests and benchmarks that compare them; not part of the
/// stable API.
#[cfg(feature = "internals")]
pub mod rnn;
#[cfg(not(feature = "internals"))]
#[allow(dead_code)] // the reference layer and the specs serve the tests only
mod rnn;
mod scaling;
mod series_view;
pub mod silhouette;
pub mod spectral;
mod train;

/// The checksum of model files, for tests that write files of older formats
/// (`internals` feature; not part of the stable API).
#[cfg(feature = "internals")]
pub use artifact::fnv1a64;
pub use artifact::FORMAT_VERSION;
pub use batch::SeriesBatch;
pub use config::VraeConfig;
pub use error::{panic_message, ArtifactError, Result, VraeError};
pub use model::{Model, TrainingSummary, PROJECTION_DIMS};
pub use on_invalid::{InvalidRows, OnInvalid};
pub use scaling::reconstruction_r2;
pub use train::{EpochStats, Progress};
