//! Model files as format version 2 wrote them, for the tests of how older
//! (and hostile) files load: version 2's checksum covered the tensors
//! alone, so its metadata can be edited and the file still passes the
//! checksum, which is how such a file reaches the loader's later checks.

use std::collections::HashMap;

/// What [`legacy_model`] does to the tensors.
// Each test crate that includes this file uses some of the edits.
#[allow(dead_code)]
pub enum TensorEdit<'a> {
    /// Keep them all.
    Keep,
    /// Replace one tensor's values (same shape).
    Replace(&'a str, &'a [f32]),
    /// Replace one tensor's shape and values (as many values as before).
    Reshape(&'a str, &'a [usize], &'a [f32]),
    /// Leave one tensor out, as files written before it existed did.
    Remove(&'a str),
}

/// `bytes` (a model this build wrote) rewritten as a version-2 file, with
/// `edit` applied to its metadata, `tensor` to its tensors, and the
/// version-2 checksum (FNV-1a over every tensor's name and bytes, in name
/// order) recomputed.
pub fn legacy_model(bytes: &[u8], edit: impl Fn(&mut HashMap<String, String>), tensor: TensorEdit) -> Vec<u8> {
    let (_, header) = safetensors::SafeTensors::read_metadata(bytes).expect("header");
    let mut meta = header.metadata().clone().expect("metadata");
    meta.insert("format_version".into(), "2".into());
    // Version 2 kept the wall-clock times inside the summary.
    if let Some(timing) = meta.remove("timing") {
        let timing: serde_json::Value = serde_json::from_str(&timing).expect("timing JSON");
        let mut summary: serde_json::Value = serde_json::from_str(&meta["summary"]).expect("summary JSON");
        summary["seconds"] = timing["seconds"].clone();
        let times = timing["epoch_seconds"].as_array().expect("epoch times").clone();
        for (epoch, seconds) in summary["loss_per_epoch"].as_array_mut().expect("epochs").iter_mut().zip(times) {
            epoch["seconds"] = seconds;
        }
        meta.insert("summary".into(), summary.to_string());
    }
    edit(&mut meta);
    let st = safetensors::SafeTensors::deserialize(bytes).expect("tensors");
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .filter(|(name, _)| !matches!(tensor, TensorEdit::Remove(target) if target == name))
        .map(|(name, t)| {
            let bytes = |values: &[f32]| values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>();
            let (shape, data) = match tensor {
                TensorEdit::Replace(target, values) if target == name => (t.shape().to_vec(), bytes(values)),
                TensorEdit::Reshape(target, shape, values) if target == name => (shape.to_vec(), bytes(values)),
                _ => (t.shape().to_vec(), t.data().to_vec()),
            };
            assert_eq!(data.len(), t.data().len(), "{name}: as many values only");
            (name, shape, data)
        })
        .collect();
    tensors.sort();
    let signed: Vec<u8> = tensors.iter().flat_map(|(n, _, d)| n.as_bytes().iter().chain(d).copied()).collect();
    meta.insert("checksum".into(), format!("{:016x}", vrae::fnv1a64(&signed)));
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .map(|(n, shape, d)| (n.clone(), safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), d).expect("view")))
        .collect();
    safetensors::serialize(views, Some(meta)).expect("serialised")
}
