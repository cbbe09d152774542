//! The model artifact: one safetensors byte string holding the weights, the
//! input-scaling statistics, the PCA basis and the k-means centroids, with
//! the config, format version and training summary as JSON metadata.
//!
//! The same bytes are a file, a Binary cell in SQL and a `bytes` object in
//! Python. Safetensors has no checksum of its own, so the metadata carries an
//! FNV-1a hash of every tensor's bytes: a flipped bit in the data is caught
//! on load instead of silently producing wrong embeddings.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use crate::config::{Scaling, VraeConfig};
use crate::error::{ArtifactError, Result, VraeError};
use crate::model::{Model, TrainingSummary};
use crate::network::{NetShape, Weights};
use crate::pca::Pca;
use crate::scaling::Scaler;

/// The format version this build writes and the newest it reads.
/// Version 2 added `kmeans.scale` (`kmeans_standardize`): a version-1 reader
/// would ignore it and assign clusters by the wrong distance, so it must
/// refuse these files instead.
pub const FORMAT_VERSION: u32 = 2;
const FORMAT_NAME: &str = "vrae";

/// 64-bit FNV-1a, used as the content checksum (and by front ends as a cache key).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= b as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

fn to_bytes_le(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn bad_meta(key: &str, message: impl Into<String>) -> ArtifactError {
    ArtifactError::BadMetadata { key: key.into(), message: message.into() }
}

/// Tensors in name order with their bytes.
struct Entry {
    name: String,
    dims: Vec<usize>,
    bytes: Vec<u8>,
}

fn checksum(entries: &[Entry]) -> u64 {
    let mut all = Vec::new();
    for e in entries {
        all.extend_from_slice(e.name.as_bytes());
        all.extend_from_slice(&e.bytes);
    }
    fnv1a64(&all)
}

impl Model {
    /// The model as one safetensors byte string.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut entries = Vec::new();
        let names = crate::network::param_specs(&self.weights.shape);
        for (spec, t) in names.iter().zip(self.weights.tensors()) {
            let values = t.flatten_all()?.to_vec1::<f32>()?;
            entries.push(Entry { name: spec.name.clone(), dims: t.dims().to_vec(), bytes: to_bytes_le(&values) });
        }
        let (mean, std) = self.scaler.stats();
        // `global` keeps one mean per channel, `per_step` the mean series;
        // both keep one standard deviation per channel.
        let means = match self.scaler.mode() {
            Scaling::Global => Some(("scaling.mean", vec![mean.len()])),
            Scaling::PerStep => Some(("scaling.step_mean", vec![mean.len() / std.len().max(1), std.len()])),
            Scaling::None | Scaling::Zscore => None,
        };
        if let Some((name, dims)) = means {
            entries.push(Entry { name: name.into(), dims, bytes: to_bytes_le(mean) });
            entries.push(Entry { name: "scaling.std".into(), dims: vec![std.len()], bytes: to_bytes_le(std) });
        }
        let latent = self.latent();
        if let Some(c) = &self.centroids {
            entries.push(Entry { name: "kmeans.centroids".into(), dims: vec![c.len() / latent, latent], bytes: to_bytes_le(c) });
        }
        if let Some(s) = &self.cluster_scale {
            entries.push(Entry { name: "kmeans.scale".into(), dims: vec![latent], bytes: to_bytes_le(s) });
        }
        let p = &self.pca;
        entries.push(Entry { name: "pca.mean".into(), dims: vec![p.dim], bytes: to_bytes_le(&p.mean) });
        entries.push(Entry { name: "pca.components".into(), dims: vec![p.n_components, p.dim], bytes: to_bytes_le(&p.components) });
        entries.push(Entry { name: "pca.explained_variance".into(), dims: vec![p.n_components], bytes: to_bytes_le(&p.explained_variance) });
        entries.sort_by(|a, b| a.name.cmp(&b.name));

        let mut meta = HashMap::new();
        meta.insert("format".to_string(), FORMAT_NAME.to_string());
        meta.insert("format_version".to_string(), FORMAT_VERSION.to_string());
        meta.insert("config".to_string(), self.config.to_json());
        meta.insert("summary".to_string(), serde_json::to_string(&self.summary).map_err(|e| bad_meta("summary", e.to_string()))?);
        meta.insert("channels".to_string(), self.channels().to_string());
        meta.insert("decoder_steps".to_string(), self.weights.shape.decoder_steps.unwrap_or(0).to_string());
        meta.insert("checksum".to_string(), format!("{:016x}", checksum(&entries)));

        let views = entries
            .iter()
            .map(|e| Ok((e.name.clone(), TensorView::new(Dtype::F32, e.dims.clone(), &e.bytes)?)))
            .collect::<std::result::Result<Vec<_>, safetensors::SafeTensorError>>()
            .map_err(|e| ArtifactError::Unreadable(e.to_string()))?;
        safetensors::serialize(views, Some(meta)).map_err(|e| VraeError::Artifact(ArtifactError::Unreadable(e.to_string())))
    }

    /// Reads a model from bytes written by [`Model::to_bytes`].
    ///
    /// A model trained with `device: "cuda"` runs its inference on CUDA
    /// again where this build has the `cuda` feature; where it has not, the
    /// model is still usable and runs on the CPU (nobody asked this build
    /// for a GPU; [`Model::set_device`] switches explicitly).
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        let mut model = read_model(bytes)?;
        if cfg!(not(feature = "cuda")) && model.config.device == crate::config::DeviceKind::Cuda {
            model.config.device = crate::config::DeviceKind::Cpu;
        }
        Ok(model)
    }

    /// Writes the model to a file, atomically: a crash never leaves half a model.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let io = |source| VraeError::Io { path: path.display().to_string(), source };
        let bytes = self.to_bytes()?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, &bytes).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(e)
        })
    }

    /// Reads a model file.
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| VraeError::Io { path: path.display().to_string(), source })?;
        Model::from_bytes(&bytes)
    }
}

fn read_model(bytes: &[u8]) -> std::result::Result<Model, ArtifactError> {
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| ArtifactError::Unreadable(e.to_string()))?;
    let meta = header.metadata().as_ref().ok_or(ArtifactError::Foreign)?;
    if meta.get("format").map(String::as_str) != Some(FORMAT_NAME) {
        return Err(ArtifactError::Foreign);
    }
    let get = |key: &str| meta.get(key).ok_or_else(|| bad_meta(key, "missing"));
    let version: u32 = get("format_version")?.parse().map_err(|_| bad_meta("format_version", "not a number"))?;
    if version > FORMAT_VERSION {
        return Err(ArtifactError::NewerVersion { found: version, supported: FORMAT_VERSION });
    }
    let config_map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(get("config")?).map_err(|e| bad_meta("config", format!("not a valid JSON object: {e}")))?;
    let mut config = VraeConfig::from_map(&config_map).map_err(|e| bad_meta("config", e.to_string()))?;
    if !config_map.contains_key("forget_bias") {
        // Written before `forget_bias` existed: trained with PyTorch's
        // initialisation, not today's default.
        config.forget_bias = 0.0;
    }
    if version < 2 {
        // Version 1 had no `kmeans_standardize`: its k-means was always plain.
        config.kmeans_standardize = false;
    }
    let summary: TrainingSummary = serde_json::from_str(get("summary")?).map_err(|e| bad_meta("summary", e.to_string()))?;
    let channels: usize = get("channels")?.parse().map_err(|_| bad_meta("channels", "not a number"))?;
    let decoder_steps: usize = get("decoder_steps")?.parse().map_err(|_| bad_meta("decoder_steps", "not a number"))?;
    if channels == 0 {
        return Err(bad_meta("channels", "must be at least 1"));
    }

    let st = SafeTensors::deserialize(bytes).map_err(|e| ArtifactError::Unreadable(e.to_string()))?;
    let mut names: Vec<&str> = st.names();
    names.sort_unstable();
    let mut entries = Vec::with_capacity(names.len());
    for name in names {
        let view = st.tensor(name).map_err(|e| ArtifactError::Unreadable(e.to_string()))?;
        if view.dtype() != Dtype::F32 {
            return Err(ArtifactError::BadTensor { name: name.into(), found: view.shape().to_vec(), expected: vec![] });
        }
        entries.push(Entry { name: name.to_string(), dims: view.shape().to_vec(), bytes: view.data().to_vec() });
    }
    let expected = get("checksum")?;
    if format!("{:016x}", checksum(&entries)) != *expected {
        return Err(ArtifactError::Unreadable("checksum mismatch: the tensor data is corrupt".into()));
    }
    let lookup = |name: &str| -> Option<(Vec<usize>, Vec<f32>)> {
        entries.iter().find(|e| e.name == name).map(|e| {
            let values = e.bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            (e.dims.clone(), values)
        })
    };
    let shape = NetShape::new(&config, channels, decoder_steps);
    let weights = Weights::from_named(shape, |name| {
        lookup(name).and_then(|(dims, values)| Tensor::from_vec(values, dims, &Device::Cpu).ok())
    })?;
    let latent = config.latent;
    let vector = |name: &str, len: usize| -> std::result::Result<Vec<f32>, ArtifactError> {
        let (dims, values) = lookup(name).ok_or_else(|| ArtifactError::MissingTensor(name.into()))?;
        if values.len() != len {
            return Err(ArtifactError::BadTensor { name: name.into(), found: dims, expected: vec![len] });
        }
        Ok(values)
    };
    let scaler = match config.scaling {
        Scaling::Global => Scaler::from_parts(Scaling::Global, vector("scaling.mean", channels)?, vector("scaling.std", channels)?),
        Scaling::PerStep => {
            // The mean series is as long as the longest training series.
            let name = "scaling.step_mean";
            let (dims, values) = lookup(name).ok_or_else(|| ArtifactError::MissingTensor(name.into()))?;
            if dims.len() != 2 || dims[0] == 0 || dims[1] != channels {
                return Err(bad_meta(name, format!("shape {dims:?}, expected [steps, {channels}] with at least one step")));
            }
            Scaler::from_parts(Scaling::PerStep, values, vector("scaling.std", channels)?)
        }
        Scaling::None | Scaling::Zscore => Scaler::from_parts(config.scaling, Vec::new(), Vec::new()),
    };
    // An edited file can carry a valid checksum: statistics that would turn
    // every output into NaN or infinity are refused here instead.
    let (means, stds) = scaler.stats();
    if let Some(bad) = means.iter().find(|v| !v.is_finite()) {
        return Err(bad_meta("scaling", format!("means must be finite, found {bad}")));
    }
    if let Some(bad) = stds.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
        return Err(bad_meta("scaling.std", format!("standard deviations must be finite and positive, found {bad}")));
    }
    let centroids = match config.clusters {
        Some(k) => Some(vector("kmeans.centroids", k * latent)?),
        None => None,
    };
    let cluster_scale = match (&centroids, config.kmeans_standardize) {
        (Some(_), true) => Some(vector("kmeans.scale", latent)?),
        _ => None,
    };
    if let Some(bad) = cluster_scale.as_ref().and_then(|s| s.iter().find(|v| !(v.is_finite() && **v > 0.0))) {
        return Err(bad_meta("kmeans.scale", format!("scales must be finite and positive, found {bad}")));
    }
    let n_components = 2.min(latent);
    let pca = Pca::from_parts(
        vector("pca.mean", latent)?,
        vector("pca.components", n_components * latent)?,
        vector("pca.explained_variance", n_components)?,
        latent,
        n_components,
    )
    .map_err(|e| bad_meta("pca", e.to_string()))?;
    Ok(Model { config, weights, scaler, centroids, cluster_scale, pca, summary })
}
