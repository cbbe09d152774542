//! The model artifact: one safetensors byte string holding the weights, the
//! input-scaling statistics, the PCA basis and the k-means centroids, with
//! the config, format version and training summary as JSON metadata.
//!
//! The same bytes are a file, a Binary cell in SQL and a `bytes` object in
//! Python. Safetensors has no checksum of its own, so the metadata carries an
//! FNV-1a hash (`checksum`) of everything the model's behaviour depends on:
//! every metadata entry (config, format version, channels, ...) and every
//! tensor's name, shape and bytes. Only the wall-clock times of training
//! (`timing`) stay outside it, so that the same training gives the same
//! checksum whenever and wherever it runs. A flipped bit anywhere else is
//! caught on load instead of silently changing embeddings or clusters.
//! Files of format versions 1 and 2 hashed their tensors alone; they still
//! load.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use crate::align::LagReference;
use crate::config::{Clustering, Clusters, Scaling, SeriesFeatures, SpectralCut, VraeConfig};
use crate::error::{ArtifactError, Result, VraeError};
use crate::model::{
    Model, SpectralIndex, TrainingSummary, KERNEL_AXES, KERNEL_BIASES, KERNEL_CHANNELS, KERNEL_MEAN, KERNEL_STEPS, KMEANS_DIRECTIONS,
    SPECTRAL_CHANNEL_SPREAD, SPECTRAL_LABELS, SPECTRAL_POINTS, SPECTRAL_WEIGHTS,
};
use crate::network::{NetShape, Weights};
use crate::pca::Pca;
use crate::random_kernels::{self, KernelFeatures, Pooling};
use crate::scaling::Scaler;
use crate::series_view::SeriesView;

/// The format version this build writes and the newest it reads.
/// Version 2 added `kmeans.scale` (`kmeans_standardize`): a version-1 reader
/// would ignore it and assign clusters by the wrong distance, so it must
/// refuse these files instead. Version 3 extended the checksum to the
/// metadata and moved wall-clock times out of `summary` into `timing`.
pub const FORMAT_VERSION: u32 = 3;

/// The first version whose checksum covers the metadata.
const SIGNED_METADATA: u32 = 3;

/// Metadata entries the checksum does not cover: itself, and the wall-clock
/// times, which differ between two runs of the same training.
const UNSIGNED_KEYS: [&str; 2] = ["checksum", "timing"];
const FORMAT_NAME: &str = "vrae";
/// The mean series `align_lags` aligns to, `[steps, channels]`.
const ALIGN_REFERENCE: &str = "align.reference";

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

/// The checksum of format versions 1 and 2: every tensor's name and bytes.
fn tensor_checksum(entries: &[Entry]) -> u64 {
    let mut all = Vec::new();
    for e in entries {
        all.extend_from_slice(e.name.as_bytes());
        all.extend_from_slice(&e.bytes);
    }
    fnv1a64(&all)
}

/// The checksum of version 3: every metadata entry but [`UNSIGNED_KEYS`]
/// (in key order), then every tensor's name, shape and bytes (in name
/// order), each field length-prefixed so that no two files share a stream.
fn full_checksum(meta: &HashMap<String, String>, entries: &[Entry]) -> u64 {
    let mut all = Vec::new();
    let mut field = |bytes: &[u8]| {
        all.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        all.extend_from_slice(bytes);
    };
    let mut keys: Vec<&String> = meta.keys().filter(|k| !UNSIGNED_KEYS.contains(&k.as_str())).collect();
    keys.sort();
    for key in keys {
        field(key.as_bytes());
        field(meta[key].as_bytes());
    }
    for e in entries {
        field(e.name.as_bytes());
        let dims: Vec<u8> = e.dims.iter().flat_map(|&d| (d as u64).to_le_bytes()).collect();
        field(&dims);
        field(&e.bytes);
    }
    fnv1a64(&all)
}

/// Wall-clock times of training, kept beside the checksummed summary.
#[derive(serde::Serialize, serde::Deserialize)]
struct Timing {
    seconds: f64,
    epoch_seconds: Vec<f64>,
}

/// The summary as stored from version 3 on (no wall-clock times) and the
/// times apart.
fn split_timing(summary: &TrainingSummary) -> std::result::Result<(String, String), ArtifactError> {
    let mut value = serde_json::to_value(summary).map_err(|e| bad_meta("summary", e.to_string()))?;
    if let Some(map) = value.as_object_mut() {
        map.remove("seconds");
        if let Some(serde_json::Value::Array(epochs)) = map.get_mut("loss_per_epoch") {
            epochs.iter_mut().filter_map(|e| e.as_object_mut()).for_each(|e| drop(e.remove("seconds")));
        }
    }
    let timing = Timing { seconds: summary.seconds, epoch_seconds: summary.loss_per_epoch.iter().map(|e| e.seconds).collect() };
    let summary = serde_json::to_string(&value).map_err(|e| bad_meta("summary", e.to_string()))?;
    let timing = serde_json::to_string(&timing).map_err(|e| bad_meta("timing", e.to_string()))?;
    Ok((summary, timing))
}

/// The stored summary with the times put back (version 3), or as stored.
fn join_timing(summary: &str, timing: Option<&str>) -> std::result::Result<TrainingSummary, ArtifactError> {
    let mut value: serde_json::Value = serde_json::from_str(summary).map_err(|e| bad_meta("summary", e.to_string()))?;
    if let Some(timing) = timing {
        let timing: Timing = serde_json::from_str(timing).map_err(|e| bad_meta("timing", e.to_string()))?;
        let map = value.as_object_mut().ok_or_else(|| bad_meta("summary", "not a JSON object"))?;
        map.insert("seconds".into(), timing.seconds.into());
        let epochs =
            map.get_mut("loss_per_epoch").and_then(|e| e.as_array_mut()).ok_or_else(|| bad_meta("summary", "no loss_per_epoch list"))?;
        if epochs.len() != timing.epoch_seconds.len() {
            return Err(bad_meta("timing", format!("{} epoch times for {} epochs", timing.epoch_seconds.len(), epochs.len())));
        }
        for (epoch, seconds) in epochs.iter_mut().zip(timing.epoch_seconds) {
            epoch
                .as_object_mut()
                .ok_or_else(|| bad_meta("summary", "an epoch is not a JSON object"))?
                .insert("seconds".into(), seconds.into());
        }
    }
    serde_json::from_value(value).map_err(|e| bad_meta("summary", e.to_string()))
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
        if let Some(reference) = &self.lag_reference {
            let dims = vec![reference.steps(), self.channels()];
            entries.push(Entry { name: ALIGN_REFERENCE.into(), dims, bytes: to_bytes_le(reference.values()) });
        }
        let latent = self.latent();
        if let Some(c) = &self.centroids {
            entries.push(Entry { name: "kmeans.centroids".into(), dims: vec![c.len() / latent, latent], bytes: to_bytes_le(c) });
        }
        if let Some(s) = &self.cluster_scale {
            entries.push(Entry { name: "kmeans.scale".into(), dims: vec![latent], bytes: to_bytes_le(s) });
        }
        if let Some(d) = &self.cluster_directions {
            entries.push(Entry { name: KMEANS_DIRECTIONS.into(), dims: vec![d.len() / latent, latent], bytes: to_bytes_le(d) });
        }
        if let Some(index) = &self.spectral {
            let points = index.labels.len();
            let width = index.width(latent);
            entries.push(Entry { name: SPECTRAL_POINTS.into(), dims: vec![points, width], bytes: to_bytes_le(&index.points) });
            if let Some(view) = &index.series {
                let weights: Vec<f32> = [view.latent_weight, view.series_weight].into_iter().chain(view.shape_weight).collect();
                entries.push(Entry { name: SPECTRAL_WEIGHTS.into(), dims: vec![weights.len()], bytes: to_bytes_le(&weights) });
                if let Some(spread) = &view.channel_spread {
                    entries.push(Entry { name: SPECTRAL_CHANNEL_SPREAD.into(), dims: vec![spread.len()], bytes: to_bytes_le(spread) });
                }
                if let Some(kernels) = &view.kernels {
                    push_kernels(&mut entries, kernels);
                }
            }
            // Cluster numbers are small integers, exact in f32.
            let labels: Vec<f32> = index.labels.iter().map(|&l| l as f32).collect();
            entries.push(Entry { name: SPECTRAL_LABELS.into(), dims: vec![points], bytes: to_bytes_le(&labels) });
        }
        let p = &self.pca;
        entries.push(Entry { name: "pca.mean".into(), dims: vec![p.dim], bytes: to_bytes_le(&p.mean) });
        entries.push(Entry { name: "pca.components".into(), dims: vec![p.n_components, p.dim], bytes: to_bytes_le(&p.components) });
        entries.push(Entry {
            name: "pca.explained_variance".into(),
            dims: vec![p.n_components],
            bytes: to_bytes_le(&p.explained_variance),
        });
        entries.sort_by(|a, b| a.name.cmp(&b.name));

        let (summary, timing) = split_timing(&self.summary)?;
        let mut meta = HashMap::new();
        meta.insert("format".to_string(), FORMAT_NAME.to_string());
        meta.insert("format_version".to_string(), FORMAT_VERSION.to_string());
        meta.insert("config".to_string(), self.config.to_json());
        meta.insert("summary".to_string(), summary);
        meta.insert("timing".to_string(), timing);
        meta.insert("channels".to_string(), self.channels().to_string());
        meta.insert("decoder_steps".to_string(), self.weights.shape.decoder_steps.unwrap_or(0).to_string());
        if self.window > 1 {
            // Written only when on, so that other models keep the bytes of
            // builds that had no such option.
            meta.insert("paa_window".to_string(), self.window.to_string());
        }
        let checksum = full_checksum(&meta, &entries);
        meta.insert("checksum".to_string(), format!("{checksum:016x}"));

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
        let limit = crate::budget::MAX_MODEL_BYTES;
        if bytes.len() as u64 > limit {
            return Err(ArtifactError::Unreadable(format!("{} bytes is larger than a model can be ({limit} bytes)", bytes.len())).into());
        }
        let mut model = read_model(bytes)?;
        if cfg!(not(feature = "cuda")) && model.config.device == crate::config::DeviceKind::Cuda {
            model.config.device = crate::config::DeviceKind::Cpu;
        }
        Ok(model)
    }

    /// Writes the model to a file, atomically: a crash never leaves half a model.
    /// Only a regular file (or a link to one) is replaced
    /// ([`crate::model_file::write`]).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::model_file::write(path, &self.to_bytes()?)
    }

    /// A model file's bytes, undecoded, read with the checks of
    /// [`Model::load`]: what is not a regular file (a device such as
    /// `/dev/zero` never ends) or is larger than a model can be is refused
    /// before anything is read.
    pub fn file_bytes(path: impl AsRef<Path>) -> Result<Vec<u8>> {
        crate::model_file::read(path.as_ref())
    }

    /// Reads a model file.
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        Model::from_bytes(&crate::model_file::read(path.as_ref())?)
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
    // Nothing is parsed before the checksum holds: from version 3 on it
    // covers every entry the rest of this function reads.
    let signed = version >= SIGNED_METADATA;
    let computed = if signed { full_checksum(meta, &entries) } else { tensor_checksum(&entries) };
    if format!("{computed:016x}") != *get("checksum")? {
        return Err(ArtifactError::Unreadable("checksum mismatch: the model is corrupt or was edited".into()));
    }

    let config_map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(get("config")?).map_err(|e| bad_meta("config", format!("not a valid JSON object: {e}")))?;
    let mut config = VraeConfig::from_map(&config_map).map_err(|e| bad_meta("config", e.to_string()))?;
    if !config_map.contains_key("forget_bias") {
        // Written before `forget_bias` existed: trained with PyTorch's
        // initialisation, not today's default.
        config.forget_bias = 0.0;
    }
    // Written before `paa_steps` and `min_updates` existed: trained with
    // both off, whatever today's defaults are.
    if !config_map.contains_key("paa_steps") {
        config.paa_steps = 0;
    }
    if !config_map.contains_key("min_updates") {
        config.min_updates = 0;
    }
    // Written before `kmeans_normalize` existed: fitted without it. (Its
    // default is off today; this keeps such files right if that changes.)
    if !config_map.contains_key("kmeans_normalize") {
        config.kmeans_normalize = false;
    }
    // Written before `clustering` existed: clustered by k-means.
    if !config_map.contains_key("clustering") {
        config.clustering = Clustering::Kmeans;
    }
    // Written before `spectral_cut` existed: cut by k-means (only the
    // stored config says so; the stored graph labels are what assign).
    if !config_map.contains_key("spectral_cut") {
        config.spectral_cut = SpectralCut::Kmeans;
    }
    // Written before `shape_lag` existed: shapes compared step by step.
    if !config_map.contains_key("shape_lag") {
        config.shape_lag = 0.0;
    }
    // Written before `series_features` existed: shapes compared over shifts.
    if !config_map.contains_key("series_features") {
        config.series_features = SeriesFeatures::ShiftedShapes;
    }
    // Written before `latent_by_reconstruction` existed: the latent part
    // weighed as much as the shapes (the stored weights say so already).
    if !config_map.contains_key("latent_by_reconstruction") {
        config.latent_by_reconstruction = false;
    }
    // Written before `shift_tolerance` existed: trained without it.
    if !config_map.contains_key("shift_tolerance") {
        config.shift_tolerance = 0;
    }
    if version < 2 {
        // Version 1 had no `kmeans_standardize`: its k-means was always plain.
        config.kmeans_standardize = false;
    }
    let timing = if signed { Some(get("timing")?.as_str()) } else { None };
    let summary = join_timing(get("summary")?, timing)?;
    let channels: usize = get("channels")?.parse().map_err(|_| bad_meta("channels", "not a number"))?;
    if channels == 0 || channels > crate::budget::MAX_CHANNELS {
        return Err(bad_meta("channels", format!("must be in 1..={}, got {channels}", crate::budget::MAX_CHANNELS)));
    }
    // Prototypes default to this length: 0 or more than the model takes
    // would make `prototypes()` blame a `steps` its caller never gave.
    if !(1..=config.max_length).contains(&summary.longest_series) {
        return Err(bad_meta(
            "summary",
            format!("longest_series {} is not in 1..=max_length = {}", summary.longest_series, config.max_length),
        ));
    }
    if summary.channels != channels {
        return Err(bad_meta("summary", format!("trained on {} channels, the model has {channels}", summary.channels)));
    }
    let decoder_steps: usize = get("decoder_steps")?.parse().map_err(|_| bad_meta("decoder_steps", "not a number"))?;
    let learned = config.decoder_inputs == crate::config::DecoderInputs::Learned;
    if (learned && !(1..=config.max_length).contains(&decoder_steps)) || (!learned && decoder_steps != 0) {
        return Err(bad_meta(
            "decoder_steps",
            format!("{decoder_steps} does not fit decoder_inputs {:?} and max_length {}", config.decoder_inputs, config.max_length),
        ));
    }
    let window = match meta.get("paa_window") {
        None => 1,
        Some(text) => match text.parse::<usize>() {
            Ok(w) if (2..=config.max_length).contains(&w) && config.paa_steps > 0 => w,
            _ => {
                return Err(bad_meta(
                    "paa_window",
                    format!("{text:?} is not a window of 2..={} steps of a model with paa_steps", config.max_length),
                ))
            }
        },
    };
    let shape = NetShape::new(&config, channels, decoder_steps);
    crate::budget::check_network(&shape).map_err(|e| bad_meta("config", e.to_string()))?;
    let lookup = |name: &str| -> Option<(Vec<usize>, Vec<f32>)> {
        entries.iter().find(|e| e.name == name).map(|e| {
            let values = e.bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            (e.dims.clone(), values)
        })
    };
    let weights =
        Weights::from_named(shape, |name| lookup(name).and_then(|(dims, values)| Tensor::from_vec(values, dims, &Device::Cpu).ok()))?;
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
    // Training divides by 1 rather than by a spread below the smallest
    // normal f32, so a smaller one is an edit that would blow every later
    // input up. (A small spread above it makes large inputs too large for
    // the model, which inference refuses row by row.)
    let floor = crate::scaling::MIN_STD;
    if let Some(bad) = stds.iter().find(|v| !(v.is_finite() && **v >= floor)) {
        return Err(bad_meta("scaling.std", format!("standard deviations must be finite and at least {floor:e}, found {bad}")));
    }
    let centroids = match config.clusters {
        Some(Clusters::Fixed(k)) => Some(vector("kmeans.centroids", k * latent)?),
        Some(Clusters::Auto) => {
            // The chosen k is the centroid count, within the range searched.
            let name = "kmeans.centroids";
            let (dims, values) = lookup(name).ok_or_else(|| ArtifactError::MissingTensor(name.into()))?;
            if dims.len() != 2 || dims[1] != latent || !(2..=config.clusters_max).contains(&dims[0]) {
                return Err(bad_meta(name, format!("shape {dims:?}, expected [k, {latent}] with k in 2..={}", config.clusters_max)));
            }
            Some(values)
        }
        None => None,
    };
    let cluster_scale = match (&centroids, config.kmeans_standardize) {
        (Some(_), true) => Some(vector("kmeans.scale", latent)?),
        _ => None,
    };
    if let Some(bad) = cluster_scale.as_ref().and_then(|s| s.iter().find(|v| !SCALES.contains(*v))) {
        return Err(bad_meta("kmeans.scale", format!("scales must be in [{:e}, {:e}], found {bad}", SCALES.start(), SCALES.end())));
    }
    // `kmeans_normalize` keeps the centroids it assigns with beside the
    // centroids in latent units; anywhere else they are an edit.
    let kmeans_clusters = config.clustering == Clustering::Kmeans;
    let cluster_directions = match (&centroids, config.kmeans_normalize && kmeans_clusters) {
        (Some(c), true) => Some(vector(KMEANS_DIRECTIONS, c.len())?),
        _ if lookup(KMEANS_DIRECTIONS).is_some() => {
            return Err(bad_meta(
                KMEANS_DIRECTIONS,
                "present in a model whose k-means is not normalized (kmeans_normalize off, no clusters or clustering spectral)",
            ))
        }
        _ => None,
    };
    let spectral = match (&centroids, kmeans_clusters) {
        (Some(c), false) => {
            let series = config.clustering == Clustering::SpectralSeries;
            let kernels = config.series_features.kernel_pooling().filter(|_| series);
            let both = kernels.is_some() && config.series_features == SeriesFeatures::KernelsAndShapes;
            // The shapes were the training series as the network got them:
            // the longest one averaged by the model's window.
            let shape_steps = crate::paa::averaged_steps(summary.longest_series, window);
            let shape = GraphShape { latent, channels, max_steps: config.max_length, shape_steps, series, kernels, both };
            Some(spectral_index(&lookup, &shape, c.len() / latent.max(1))?)
        }
        _ if [SPECTRAL_POINTS, SPECTRAL_LABELS, SPECTRAL_WEIGHTS, SPECTRAL_CHANNEL_SPREAD]
            .iter()
            .chain(&KERNEL_TENSORS)
            .any(|name| lookup(name).is_some()) =>
        {
            return Err(bad_meta(SPECTRAL_POINTS, "present in a model that is not clustered spectrally (clustering kmeans or no clusters)"))
        }
        _ => None,
    };
    let n_components = 2.min(latent);
    let pca = Pca::from_parts(
        vector("pca.mean", latent)?,
        vector("pca.components", n_components * latent)?,
        vector("pca.explained_variance", n_components)?,
        latent,
        n_components,
    )
    .map_err(|e| bad_meta("pca", e.to_string()))?;
    // `align_lags` on a model that averages keeps the mean series it aligns
    // to; a reference anywhere else is an edit, not a model.
    let lag_reference = match (config.align_lags && window > 1, lookup(ALIGN_REFERENCE)) {
        (true, Some((dims, values))) => {
            if dims.len() != 2 || !(1..=config.max_length).contains(&dims[0]) || dims[1] != channels {
                return Err(bad_meta(
                    ALIGN_REFERENCE,
                    format!("shape {dims:?}, expected [steps, {channels}] with 1..={} steps", config.max_length),
                ));
            }
            Some(LagReference::from_parts(values, channels, window))
        }
        (true, None) => return Err(ArtifactError::MissingTensor(ALIGN_REFERENCE.into())),
        (false, Some(_)) => {
            return Err(bad_meta(ALIGN_REFERENCE, "present in a model that does not align lags (align_lags off or no paa window)"))
        }
        (false, None) => None,
    };
    let model =
        Model { config, weights, scaler, centroids, cluster_scale, cluster_directions, spectral, pca, summary, window, lag_reference };
    // A re-signed file can hold NaN weights or centroids (NaN centroids put
    // every series in cluster 0): refused like any other corruption.
    model.check_finite()?;
    Ok(model)
}

/// The range of stored factors (`kmeans.scale`, `spectral.weights`): real
/// ones are the inverse of a spread with a floor, far inside it. Beyond it
/// an edited file would scale every later point to zero or to infinity, and
/// every series would fall in one cluster without a word.
const SCALES: std::ops::RangeInclusive<f32> = 1e-12..=1e12;

/// The largest size of a stored graph point's value: points are parts of
/// unit total variance (or standardised latents), so a real one is far
/// smaller, and squared distances of larger ones overflow.
const MAX_POINT_VALUE: f32 = 1e12;

/// A stored tensor's shape and values by name (`None`: not in the file).
type TensorLookup<'a> = dyn Fn(&str) -> Option<(Vec<usize>, Vec<f32>)> + 'a;

/// What a model's graph points must look like.
struct GraphShape {
    latent: usize,
    channels: usize,
    /// The longest series the model takes (`max_length`).
    max_steps: usize,
    /// Steps of the training shapes (the longest training series, averaged).
    shape_steps: usize,
    /// `clustering: "spectral_series"`: a point is a latent and a series.
    series: bool,
    /// Where `series_features` describes the series by kernels, their
    /// pooling: the series part is (or starts with) their description.
    kernels: Option<Pooling>,
    /// `"kernels_and_shapes"`: the shape follows the description.
    both: bool,
}

/// Spectral clustering's graph points and their clusters from a model file:
/// `[points, latent]` latents (1 to `MAX_GRAPH_POINTS` of them), or with
/// `spectral_series` `[points, latent + steps * channels]` with 1 to
/// `max_length` steps and the two finite, positive part weights; and one
/// whole-number cluster in `0..k` each. Anything else is refused by name.
fn spectral_index(lookup: &TensorLookup, shape: &GraphShape, k: usize) -> std::result::Result<SpectralIndex, ArtifactError> {
    let GraphShape { latent, channels, max_steps, shape_steps, series, kernels, both } = *shape;
    let (dims, points) = lookup(SPECTRAL_POINTS).ok_or_else(|| ArtifactError::MissingTensor(SPECTRAL_POINTS.into()))?;
    let most = crate::spectral::MAX_GRAPH_POINTS;
    let kernels = match kernels {
        Some(pooling) => Some(kernel_features(lookup, channels, shape_steps, pooling)?),
        None if KERNEL_TENSORS.iter().any(|name| lookup(name).is_some()) => {
            return Err(bad_meta(KERNEL_STEPS, "present in a model whose series are not described by kernels (series_features)"))
        }
        None => None,
    };
    let width = dims.get(1).copied().unwrap_or(0);
    let (steps, width_ok, expected) = match &kernels {
        Some(k) if both => {
            let shape = k.steps * channels;
            (k.steps, width == latent + k.dim() + shape, format!("{latent} + {} kernel axes + {} steps x {channels}", k.dim(), k.steps))
        }
        Some(k) => (k.steps, width == latent + k.dim(), format!("{latent} + {} kernel axes", k.dim())),
        None => {
            let steps = width.saturating_sub(latent) / channels.max(1);
            let ok = if series { (1..=max_steps).contains(&steps) && width == latent + steps * channels } else { width == latent };
            let expected = if series { format!("{latent} + steps x {channels} with 1..={max_steps} steps") } else { latent.to_string() };
            (steps, ok, expected)
        }
    };
    if dims.len() != 2 || !width_ok || !(1..=most).contains(&dims[0]) {
        return Err(bad_meta(SPECTRAL_POINTS, format!("shape {dims:?}, expected [points, {expected}] with 1..={most} points")));
    }
    let view = match (series, lookup(SPECTRAL_WEIGHTS)) {
        (true, Some((weight_dims, weights))) => match (weight_dims.as_slice(), weights.as_slice()) {
            (&[n], &[latent_weight, series_weight, ..]) if n == 2 + usize::from(both) && weights.iter().all(|w| SCALES.contains(w)) => {
                Some(SeriesView {
                    shape_weight: weights.get(2).copied(),
                    steps,
                    channels,
                    latent_weight,
                    series_weight,
                    channel_spread: channel_spread(lookup, channels)?,
                    kernels,
                })
            }
            _ => {
                return Err(bad_meta(
                    SPECTRAL_WEIGHTS,
                    format!(
                        "{weights:?} (shape {weight_dims:?}), expected {} weights in [{:e}, {:e}]",
                        2 + usize::from(both),
                        SCALES.start(),
                        SCALES.end()
                    ),
                ))
            }
        },
        (true, None) => return Err(ArtifactError::MissingTensor(SPECTRAL_WEIGHTS.into())),
        (false, Some(_)) => {
            return Err(bad_meta(SPECTRAL_WEIGHTS, "present in a model whose graph compares latents only (clustering spectral)"))
        }
        (false, None) if lookup(SPECTRAL_CHANNEL_SPREAD).is_some() => {
            return Err(bad_meta(SPECTRAL_CHANNEL_SPREAD, "present in a model whose graph compares latents only (clustering spectral)"))
        }
        (false, None) => None,
    };
    if let Some(bad) = points.iter().find(|v| !(v.is_finite() && v.abs() <= MAX_POINT_VALUE)) {
        return Err(bad_meta(SPECTRAL_POINTS, format!("values must be finite and at most {MAX_POINT_VALUE:e} in size, found {bad}")));
    }
    let (label_dims, labels) = lookup(SPECTRAL_LABELS).ok_or_else(|| ArtifactError::MissingTensor(SPECTRAL_LABELS.into()))?;
    if label_dims != [dims[0]] {
        return Err(bad_meta(SPECTRAL_LABELS, format!("shape {label_dims:?}, expected [{}], one per point", dims[0])));
    }
    let labels = labels
        .iter()
        .map(|&l| {
            if l.fract() == 0.0 && l >= 0.0 && (l as usize) < k {
                Ok(l as usize)
            } else {
                Err(bad_meta(SPECTRAL_LABELS, format!("{l} is not a cluster of 0..{k}")))
            }
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(SpectralIndex { points, labels, series: view })
}

/// A `spectral_series` model's channel spreads: `[channels]` finite,
/// positive values, only where there are several channels. Absent: each
/// channel is z-normalised on its own (one channel, or a model saved before
/// the spreads were kept).
fn channel_spread(lookup: &TensorLookup, channels: usize) -> std::result::Result<Option<Vec<f32>>, ArtifactError> {
    match lookup(SPECTRAL_CHANNEL_SPREAD) {
        None => Ok(None),
        Some((dims, spread)) if channels > 1 && dims == [channels] && spread.iter().all(|s| s.is_finite() && *s > 0.0) => Ok(Some(spread)),
        Some((dims, spread)) => {
            let bad = spread.iter().find(|s| !(s.is_finite() && **s > 0.0));
            let found = bad.map_or(String::new(), |v| format!(" holding {v}"));
            Err(bad_meta(
                SPECTRAL_CHANNEL_SPREAD,
                format!("shape {dims:?}{found}, expected [{channels}] finite, positive spreads, kept only for several channels"),
            ))
        }
    }
}

/// Every tensor of [`KernelFeatures`].
const KERNEL_TENSORS: [&str; 5] = [KERNEL_STEPS, KERNEL_CHANNELS, KERNEL_BIASES, KERNEL_MEAN, KERNEL_AXES];

/// Appends what describes a series by kernels to the file's entries.
fn push_kernels(entries: &mut Vec<Entry>, kernels: &KernelFeatures) {
    let pairs = kernels.channel_picks.len() / kernels.channels.max(1);
    let features = kernels.mean.len();
    let tensors = [
        (KERNEL_STEPS, vec![1], vec![kernels.steps as f32]),
        (KERNEL_CHANNELS, vec![pairs, kernels.channels], kernels.channel_picks.clone()),
        (KERNEL_BIASES, bias_dims(kernels.steps, kernels.pooling), kernels.biases.clone()),
        (KERNEL_MEAN, vec![features], kernels.mean.clone()),
        (KERNEL_AXES, vec![kernels.dim(), features], kernels.axes.clone()),
    ];
    for (name, dims, values) in tensors {
        entries.push(Entry { name: name.into(), dims, bytes: to_bytes_le(&values) });
    }
}

/// How a model's biases are stored: `[pairs, biases per pair]` for
/// MiniRocket's pooling (one part, as files before `multirocket` have them),
/// one after another for MultiRocket's (two parts, whose pairs each have
/// their own count of biases).
fn bias_dims(steps: usize, pooling: Pooling) -> Vec<usize> {
    match pooling {
        Pooling::Proportion => {
            let pairs = random_kernels::pair_count(steps, pooling);
            vec![pairs, random_kernels::bias_count(steps, pooling) / pairs.max(1)]
        }
        Pooling::Multi => vec![random_kernels::bias_count(steps, pooling)],
    }
}

/// A kernels model's kernels from its file: the shapes' steps
/// (`shape_steps`, what training made them); for every kernel and dilation
/// those steps and `pooling` give, its channels (0 or 1 each, at least one
/// of them 1) and biases; the features' mean (each in the range its pooling
/// allows, [`random_kernels::plausible_means`]); 1 to
/// [`random_kernels::MAX_FIT_ROWS`] axes over the features, each value at
/// most [`random_kernels::MAX_AXIS_VALUE`] in size; every value finite.
/// Anything else is refused by name: an edited step count would make each
/// later series cost as much as the file claims, and extreme axes would
/// describe every series as infinitely far from every stored one.
fn kernel_features(
    lookup: &TensorLookup,
    channels: usize,
    shape_steps: usize,
    pooling: Pooling,
) -> std::result::Result<KernelFeatures, ArtifactError> {
    let get = |name: &str| lookup(name).ok_or_else(|| ArtifactError::MissingTensor(name.into()));
    let steps = match get(KERNEL_STEPS)? {
        (dims, values) if dims == [1] && values[0] == shape_steps as f32 => shape_steps,
        (dims, values) => {
            return Err(bad_meta(
                KERNEL_STEPS,
                format!(
                    "{values:?} (shape {dims:?}), expected [{shape_steps}], the training shapes' steps (summary longest_series, averaged)"
                ),
            ))
        }
    };
    let pairs = random_kernels::pair_count(steps, pooling);
    let features = random_kernels::feature_count(steps, pooling);
    let checked = |name: &str, expected: &[usize], ok: &dyn Fn(&[f32]) -> bool, what: &str| {
        let (dims, values) = get(name)?;
        let shape_ok = dims.len() == expected.len() && dims.iter().zip(expected).all(|(d, e)| *e == 0 || d == e);
        if shape_ok && values.iter().all(|v| v.is_finite()) && ok(&values) {
            Ok((dims, values))
        } else {
            let expected: Vec<String> = expected.iter().map(|e| if *e == 0 { "axes".into() } else { e.to_string() }).collect();
            Err(bad_meta(name, format!("shape {dims:?}, expected [{}] finite {what}", expected.join(", "))))
        }
    };
    let one_per_row = |values: &[f32]| {
        values.iter().all(|v| *v == 0.0 || *v == 1.0) && values.chunks_exact(channels.max(1)).all(|row| row.contains(&1.0))
    };
    let (_, channel_picks) = checked(KERNEL_CHANNELS, &[pairs, channels], &one_per_row, "0 or 1 values, at least one 1 per kernel")?;
    let (_, biases) = checked(KERNEL_BIASES, &bias_dims(steps, pooling), &|_| true, "biases")?;
    let plausible = |m: &[f32]| random_kernels::plausible_means(m, steps, channels, pooling);
    let (_, mean) = checked(KERNEL_MEAN, &[features], &plausible, "means in the range of their pooling")?;
    let bounded = |a: &[f32]| a.iter().all(|v| v.abs() <= random_kernels::MAX_AXIS_VALUE);
    let (axes_dims, axes) = checked(KERNEL_AXES, &[0, features], &bounded, "axes of bounded size")?;
    if !(1..=random_kernels::MAX_FIT_ROWS).contains(&axes_dims[0]) {
        return Err(bad_meta(KERNEL_AXES, format!("{} axes, expected 1..={}", axes_dims[0], random_kernels::MAX_FIT_ROWS)));
    }
    Ok(KernelFeatures { steps, channels, pooling, channel_picks, biases, mean, axes })
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SeriesBatch, VraeConfig};

    #[test]
    fn channel_spreads_are_kept_only_for_several_channels_and_must_be_positive() {
        let file = |spread: Vec<f32>| move |name: &str| (name == SPECTRAL_CHANNEL_SPREAD).then(|| (vec![spread.len()], spread.clone()));
        assert_eq!(channel_spread(&|_: &str| None, 3).unwrap(), None);
        assert_eq!(channel_spread(&file(vec![1.0, 2.5]), 2).unwrap(), Some(vec![1.0, 2.5]));
        for (spread, channels) in [(vec![1.0], 1), (vec![1.0, 2.0], 3), (vec![1.0, 0.0], 2), (vec![f32::NAN, 1.0], 2)] {
            let err = channel_spread(&file(spread.clone()), channels).unwrap_err().to_string();
            assert!(err.contains(SPECTRAL_CHANNEL_SPREAD), "{spread:?} over {channels} channels: {err}");
        }
    }

    fn trained(options: &str) -> (Model, SeriesBatch<'static>) {
        let rows: Vec<Vec<f32>> =
            (0..16).map(|r| (0..10).map(|t| ((t + r) as f32 * 0.5).sin() * (1.0 + r as f32 * 0.2)).collect()).collect();
        let batch = SeriesBatch::from_rows(&rows, 1).unwrap();
        let mut config: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(r#"{"hidden_size": 6, "latent": 3, "epochs": 2, "batch_size": 8, "seed": 1, "clusters": 3}"#).unwrap();
        config.extend(serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(options).unwrap());
        (Model::fit(&batch, &VraeConfig::from_map(&config).unwrap(), |_| {}).unwrap(), batch)
    }

    /// The file with its metadata edited and nothing re-signed.
    fn edited(bytes: &[u8], edit: impl Fn(&mut HashMap<String, String>)) -> Vec<u8> {
        let (mut meta, entries) = split(bytes);
        edit(&mut meta);
        join(meta, &entries)
    }

    /// The file with its metadata or tensors edited and the checksum
    /// recomputed, as a deliberate editor would.
    fn resigned(bytes: &[u8], edit: impl Fn(&mut HashMap<String, String>, &mut Vec<Entry>)) -> Vec<u8> {
        let (mut meta, mut entries) = split(bytes);
        edit(&mut meta, &mut entries);
        meta.insert("checksum".into(), format!("{:016x}", full_checksum(&meta, &entries)));
        join(meta, &entries)
    }

    fn split(bytes: &[u8]) -> (HashMap<String, String>, Vec<Entry>) {
        let (_, header) = SafeTensors::read_metadata(bytes).unwrap();
        let st = SafeTensors::deserialize(bytes).unwrap();
        let mut entries: Vec<Entry> =
            st.tensors().into_iter().map(|(name, t)| Entry { name, dims: t.shape().to_vec(), bytes: t.data().to_vec() }).collect();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        (header.metadata().clone().unwrap(), entries)
    }

    fn join(meta: HashMap<String, String>, entries: &[Entry]) -> Vec<u8> {
        let views: Vec<(String, TensorView)> =
            entries.iter().map(|e| (e.name.clone(), TensorView::new(Dtype::F32, e.dims.clone(), &e.bytes).unwrap())).collect();
        safetensors::serialize(views, Some(meta)).unwrap()
    }

    fn refusal(bytes: &[u8]) -> String {
        Model::from_bytes(bytes).unwrap_err().to_string()
    }

    #[test]
    fn the_checksum_covers_every_metadata_entry_but_the_times() {
        let (model, batch) = trained(r#"{"shift_average": 1}"#);
        let bytes = model.to_bytes().unwrap();
        // The flips the issue found loading silently: a format version of
        // 0 (plain k-means) and a shift_average of 3.
        for edit in [("format_version", "0"), ("format_version", "2"), ("channels", "1 ")] {
            let err = refusal(&edited(&bytes, |m| drop(m.insert(edit.0.into(), edit.1.into()))));
            assert!(err.contains("checksum mismatch"), "{edit:?}: {err}");
        }
        let err = refusal(&edited(&bytes, |m| {
            let config = m["config"].replace(r#""shift_average":1"#, r#""shift_average":3"#);
            m.insert("config".into(), config);
        }));
        assert!(err.contains("checksum mismatch"), "{err}");
        let err = refusal(&edited(&bytes, |m| drop(m.insert("extra".into(), "1".into()))));
        assert!(err.contains("checksum mismatch"), "{err}");
        // Wall-clock times are outside it: edited, the model loads and answers the same.
        let retimed = edited(&bytes, |m| {
            let mut timing: serde_json::Value = serde_json::from_str(&m["timing"]).unwrap();
            timing["seconds"] = 12345.5.into();
            m.insert("timing".into(), timing.to_string());
        });
        let loaded = Model::from_bytes(&retimed).unwrap();
        assert_eq!(loaded.summary().seconds, 12345.5);
        assert_eq!(loaded.embed(&batch).unwrap(), model.embed(&batch).unwrap());
        assert_eq!(loaded.summary().loss_per_epoch.len(), 2);
    }

    #[test]
    fn re_signed_files_with_non_finite_values_or_absurd_sizes_are_refused() {
        let (model, _) = trained("{}");
        let bytes = model.to_bytes().unwrap();
        for (tensor, value) in [("kmeans.centroids", f32::NAN), ("encoder.0.packed", f32::INFINITY), ("pca.components", f32::NAN)] {
            let bad = resigned(&bytes, |_, entries| {
                let e = entries.iter_mut().find(|e| e.name == tensor).unwrap();
                e.bytes[..4].copy_from_slice(&value.to_le_bytes());
            });
            let err = refusal(&bad);
            let named = if tensor.starts_with("pca") { "metadata `pca`" } else { tensor };
            assert!(err.contains(named) && err.contains("finite"), "{tensor}: {err}");
        }
        let bad = resigned(&bytes, |m, _| drop(m.insert("channels".into(), u64::MAX.to_string())));
        assert!(refusal(&bad).contains("metadata `channels` is invalid: must be in 1..=65536"), "{}", refusal(&bad));
        let bad = resigned(&bytes, |m, _| {
            let config = m["config"].replace(r#""clusters":3"#, r#""clusters":4611686018427387904"#);
            m.insert("config".into(), config);
        });
        assert!(refusal(&bad).contains("option `clusters`: must be in 2..=10000"), "{}", refusal(&bad));
        let bad = resigned(&bytes, |m, _| drop(m.insert("decoder_steps".into(), "7".into())));
        assert!(refusal(&bad).contains("decoder_steps"), "{}", refusal(&bad));
        // Re-signed but intact: loads.
        assert!(Model::from_bytes(&resigned(&bytes, |_, _| {})).is_ok());
    }

    #[test]
    fn the_align_lags_reference_is_kept_checked_and_required() {
        // 10-step rows with paa_steps 4 average over windows of 3.
        let (model, batch) = trained(r#"{"align_lags": true, "paa_steps": 4}"#);
        let reference = model.lag_reference.as_ref().expect("an averaging model keeps its reference");
        assert_eq!((reference.steps(), model.window), (10, 3));
        let bytes = model.to_bytes().unwrap();
        let loaded = Model::from_bytes(&bytes).unwrap();
        assert_eq!(loaded.lag_reference, model.lag_reference);
        assert_eq!(loaded.embed(&batch).unwrap(), model.embed(&batch).unwrap());
        // Edited references: not finite, the wrong shape, missing.
        let bad = resigned(&bytes, |_, entries| {
            let e = entries.iter_mut().find(|e| e.name == ALIGN_REFERENCE).unwrap();
            e.bytes[..4].copy_from_slice(&f32::NAN.to_le_bytes());
        });
        assert!(refusal(&bad).contains("align.reference") && refusal(&bad).contains("finite"), "{}", refusal(&bad));
        let bad = resigned(&bytes, |_, entries| {
            let e = entries.iter_mut().find(|e| e.name == ALIGN_REFERENCE).unwrap();
            e.dims = vec![5, 2];
        });
        assert!(refusal(&bad).contains("align.reference") && refusal(&bad).contains("expected [steps, 1]"), "{}", refusal(&bad));
        let bad = resigned(&bytes, |_, entries| entries.retain(|e| e.name != ALIGN_REFERENCE));
        assert!(refusal(&bad).contains("align.reference"), "{}", refusal(&bad));
        // A reference where the option is off is an edit too.
        let bad = resigned(&bytes, |m, _| {
            let config = m["config"].replace(r#""align_lags":true"#, r#""align_lags":false"#);
            m.insert("config".into(), config);
        });
        assert!(refusal(&bad).contains("does not align lags"), "{}", refusal(&bad));
        // A model that does not average has nothing to align, option or not.
        let (plain, _) = trained(r#"{"align_lags": true}"#);
        assert!(plain.lag_reference.is_none() && plain.window == 1);
        assert!(Model::from_bytes(&plain.to_bytes().unwrap()).unwrap().lag_reference.is_none());
    }

    #[test]
    fn finite_but_huge_values_give_errors_not_infinities() {
        // Found by the fuzz target: a re-signed file whose latent bias is
        // f32::MAX and whose PCA axes are 1e30 loads (every value is
        // finite), and its projections overflowed to infinity.
        let (model, batch) = trained("{}");
        let edited = resigned(&model.to_bytes().unwrap(), |_, entries| {
            for e in entries.iter_mut() {
                let value = match e.name.as_str() {
                    "latent.mean.bias" => f32::MAX,
                    "pca.components" => 1e30,
                    _ => continue,
                };
                e.bytes[..4].copy_from_slice(&value.to_le_bytes());
            }
        });
        let loaded = Model::from_bytes(&edited).unwrap();
        let err = loaded.project(&batch).unwrap_err().to_string();
        assert!(err.contains("its projection is not finite"), "{err}");
        assert!(loaded.embed(&batch).unwrap().iter().all(|v| v.is_finite()));
    }

    #[test]
    fn same_training_gives_the_same_checksum_and_only_the_times_differ() {
        let (a, _) = trained("{}");
        let (b, _) = trained("{}");
        let (meta_a, entries_a) = split(&a.to_bytes().unwrap());
        let (meta_b, entries_b) = split(&b.to_bytes().unwrap());
        assert_eq!(meta_a["checksum"], meta_b["checksum"]);
        for key in meta_a.keys().filter(|k| *k != "timing") {
            assert_eq!(meta_a[key], meta_b[key], "{key}");
        }
        assert!(entries_a.iter().zip(&entries_b).all(|(x, y)| x.name == y.name && x.bytes == y.bytes));
    }

    #[test]
    fn files_that_are_not_regular_or_too_large_are_refused_before_reading() {
        for path in ["/dev/zero", "/dev/urandom", "/tmp"] {
            if std::path::Path::new(path).exists() {
                let err = Model::load(path).unwrap_err().to_string();
                assert!(err.contains("not a regular file") && err.contains(path), "{path}: {err}");
            }
        }
        let err = Model::load("/nonexistent/model.vrae").unwrap_err().to_string();
        assert!(err.contains("/nonexistent/model.vrae"), "{err}");
    }
}
