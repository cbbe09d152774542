//! Models as the plugin receives them: the safetensors bytes in the pickled
//! keyword arguments (decoded through `vrae::model_cache`, once per distinct
//! model).

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

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
