//! Decoded models shared by the front ends (SQL functions, Polars plugin):
//! a model passed as bytes with every batch of rows is decoded once per
//! distinct model and kept, and its description as JSON is the same
//! everywhere.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::json;

use crate::artifact::{fnv1a64, FORMAT_VERSION};
use crate::error::VraeError;
use crate::model::Model;

/// Decoded models kept at most (each is a few hundred kilobytes).
const CACHE_ENTRIES: usize = 32;

static CACHE: OnceLock<Mutex<HashMap<u64, Arc<Model>>>> = OnceLock::new();

/// The cache key of a model's bytes: a hash of the safetensors header
/// (which holds the config, the training summary and a checksum of every
/// tensor) and the length, so that a lookup costs a few kilobytes of
/// hashing, not the whole model.
fn model_key(bytes: &[u8]) -> u64 {
    let header_end = bytes
        .get(..8)
        .and_then(|len| <[u8; 8]>::try_from(len).ok())
        .map(u64::from_le_bytes)
        .and_then(|len| usize::try_from(len).ok())
        .and_then(|len| len.checked_add(8))
        .filter(|&end| end <= bytes.len())
        .unwrap_or(bytes.len());
    fnv1a64(&bytes[..header_end]) ^ (bytes.len() as u64).rotate_left(32)
}

/// Decodes the model in `bytes`, or finds it already decoded.
pub fn cached_model(bytes: &[u8]) -> Result<Arc<Model>, VraeError> {
    let key = model_key(bytes);
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(model) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(model);
    }
    let model = Arc::new(Model::from_bytes(bytes)?);
    if let Ok(mut c) = cache.lock() {
        if c.len() >= CACHE_ENTRIES {
            c.clear();
        }
        c.insert(key, model.clone());
    }
    Ok(model)
}

/// What a model is, as JSON text: format version, channels, latent size,
/// number of clusters, every option and the training summary.
pub fn model_info_json(model: &Model) -> String {
    json!({
        "format_version": FORMAT_VERSION,
        "channels": model.channels(),
        "latent": model.latent(),
        "clusters": model.clusters(),
        "config": model.config(),
        "summary": model.summary(),
    })
    .to_string()
}
