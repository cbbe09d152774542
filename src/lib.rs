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

#[cfg(feature = "arrow")]
pub mod arrow_input;
mod artifact;
mod batch;
mod budget;
pub mod cluster;
pub mod config;
mod error;
pub mod metrics;
mod model;
pub mod model_cache;
mod network;
pub mod on_invalid;
mod paa;
pub mod pca;
pub mod projection;
pub mod rnn;
mod scaling;
pub mod silhouette;
#[cfg(feature = "sql")]
pub mod sql;
mod train;

pub use artifact::{fnv1a64, FORMAT_VERSION};
pub use batch::SeriesBatch;
pub use config::VraeConfig;
pub use error::{ArtifactError, Result, VraeError};
pub use model::{Model, TrainingSummary, PROJECTION_DIMS};
pub use on_invalid::{InvalidRows, OnInvalid};
pub use train::{EpochStats, Progress};
