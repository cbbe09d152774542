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

/// A decoded model with the exact bytes it was decoded from.
struct Entry {
    bytes: Arc<[u8]>,
    model: Arc<Model>,
}

static CACHE: OnceLock<Mutex<HashMap<u64, Entry>>> = OnceLock::new();

/// The cache key of a model's bytes: a hash of all of them. A hit is then
/// confirmed by comparing the bytes themselves, so the cache never answers
/// for bytes that differ from what it decoded by even one bit (such bytes
/// would be refused on their own when their checksum no longer holds).
fn model_key(bytes: &[u8]) -> u64 {
    fnv1a64(bytes) ^ (bytes.len() as u64).rotate_left(32)
}

/// Decodes the model in `bytes`, or finds it already decoded.
pub fn cached_model(bytes: &[u8]) -> Result<Arc<Model>, VraeError> {
    let key = model_key(bytes);
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let hit = cache.lock().ok().and_then(|c| c.get(&key).filter(|e| *e.bytes == *bytes).map(|e| e.model.clone()));
    if let Some(model) = hit {
        return Ok(model);
    }
    let model = Arc::new(Model::from_bytes(bytes)?);
    if let Ok(mut c) = cache.lock() {
        if c.len() >= CACHE_ENTRIES {
            c.clear();
        }
        c.insert(key, Entry { bytes: bytes.into(), model: model.clone() });
    }
    Ok(model)
}

/// Reads a model file (refusing what is not a regular file or is larger
/// than a model can be, before reading it) and decodes it as
/// [`cached_model`].
pub fn cached_model_from_path(path: &str) -> Result<Arc<Model>, VraeError> {
    cached_model(&crate::model_file::read(std::path::Path::new(path))?)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SeriesBatch, VraeConfig};

    #[test]
    fn a_corrupt_copy_of_a_cached_model_is_refused_not_answered_from_the_cache() {
        let rows: Vec<Vec<f32>> = (0..8).map(|r| (0..6).map(|t| (t * r) as f32 * 0.1).collect()).collect();
        let batch = SeriesBatch::from_rows(&rows, 1).unwrap();
        let config = VraeConfig::from_json(r#"{"hidden_size": 4, "latent": 2, "epochs": 1, "seed": 9}"#).unwrap();
        let bytes = Model::fit(&batch, &config, |_| {}).unwrap().to_bytes().unwrap();
        let first = cached_model(&bytes).unwrap();
        assert!(Arc::ptr_eq(&first, &cached_model(&bytes).unwrap()), "the same bytes are decoded once");
        // One flipped bit of tensor data: same header, same length.
        let mut flipped = bytes.clone();
        let last = flipped.len() - 2;
        flipped[last] ^= 0x01;
        let err = cached_model(&flipped).unwrap_err().to_string();
        assert!(err.contains("checksum mismatch"), "{err}");
    }
}
