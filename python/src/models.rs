//! Models as the plugin receives them (the safetensors bytes, in the pickled
//! keyword arguments), decoded once per distinct model and cached, so that a
//! lazy or streaming plan that calls a function on many batches decodes its
//! model once.

use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use vrae::{Model, VraeError};

/// Decodes (or finds in the cache) the model in `bytes`.
pub fn model_from_bytes(bytes: &[u8]) -> Result<Arc<Model>, VraeError> {
    vrae::model_cache::cached_model(bytes)
}

/// What a model is, as JSON (the same object as SQL's `vrae_model_info`).
pub fn model_info(model: &Model) -> String {
    vrae::model_cache::model_info_json(model)
}

/// Length of a model's 2-D projection: PCA keeps two axes, or one when the
/// latent vector has a single value.
pub fn projection_width(model: &Model) -> usize {
    model.latent().min(2)
}

/// A model's bytes in the keyword arguments (a Python `bytes` object, which
/// the pickle decoder hands over as a byte buffer).
#[derive(Debug)]
pub struct ModelBytes(pub Vec<u8>);

impl<'de> Deserialize<'de> for ModelBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BytesVisitor;

        impl<'de> Visitor<'de> for BytesVisitor {
            type Value = ModelBytes;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("the model's bytes")
            }

            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<ModelBytes, E> {
                Ok(ModelBytes(v.to_vec()))
            }

            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<ModelBytes, E> {
                Ok(ModelBytes(v))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ModelBytes, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(b) = seq.next_element::<u8>()? {
                    out.push(b);
                }
                Ok(ModelBytes(out))
            }
        }

        deserializer.deserialize_byte_buf(BytesVisitor)
    }
}
