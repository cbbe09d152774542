//! A fuzz target for the model loader, on stable Rust: a seeded mutation
//! loop over real model files. Every input must either be refused with an
//! error or load to a model whose outputs are finite; a panic, an abort or
//! a hang fails the run.
//!
//! The test suite runs a few thousand inputs (`VRAE_FUZZ_INPUTS` sets how
//! many, `VRAE_FUZZ_SEED` the seed); the long run recorded in BENCHMARKS.md
//! is the same test in release:
//!
//! ```sh
//! VRAE_FUZZ_INPUTS=10000000 cargo test --release --lib artifact::fuzz -- --nocapture
//! ```
//!
//! Mutations: bit flips, byte overwrites with boundary values, truncation
//! and extension, splices of two files, and edits that a checksum would
//! catch made again with the checksum recomputed ("re-signed"), so that
//! what lies behind it is reached too: metadata values (config options,
//! channel counts, format versions) replaced by extreme ones, tensor values
//! replaced by NaN, infinities and huge numbers, tensor shapes changed.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use super::{full_checksum, Entry};
use crate::{Model, SeriesBatch, VraeConfig};

/// The model files mutations start from: small networks covering every
/// stored variant (scalings, clusters with and without standardisation,
/// normalized k-means with and without standardisation, spectral clusters
/// (a fixed k and `"auto"` on normalized latents, latents beside shapes),
/// learned decoder
/// inputs, GRU, two layers, a 1-value latent, two channels, an `align_lags`
/// reference).
fn seeds() -> Vec<(Vec<u8>, usize)> {
    let options = [
        (r#"{"clusters": 3, "clustering": "kmeans"}"#, 1),
        (r#"{"clusters": 2, "clustering": "kmeans", "kmeans_standardize": false, "scaling": "global"}"#, 1),
        (r#"{"clusters": 3, "clustering": "kmeans", "kmeans_normalize": true}"#, 2),
        (r#"{"clusters": "auto", "clusters_max": 3, "clustering": "kmeans", "kmeans_normalize": true, "kmeans_standardize": false}"#, 1),
        (r#"{"clusters": 3, "clustering": "spectral"}"#, 1),
        (r#"{"clusters": "auto", "clusters_max": 3, "clustering": "spectral", "kmeans_normalize": true}"#, 2),
        // Rows of up to 8 steps over paa_steps 4: the shapes are averaged too.
        (r#"{"clusters": 2, "clustering": "spectral_series", "paa_steps": 4}"#, 2),
        (r#"{"scaling": "zscore", "decoder_inputs": "learned", "latent": 1}"#, 1),
        (r#"{"block": "gru", "depth": 2, "scaling": "none", "clusters": 2}"#, 2),
        (r#"{"shift_average": 2}"#, 2),
        // Rows of up to 8 steps over paa_steps 4: averaged, so the reference is stored.
        (r#"{"align_lags": true, "paa_steps": 4}"#, 2),
    ];
    options
        .iter()
        .map(|&(extra, channels)| {
            let mut map: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(r#"{"hidden_size": 4, "latent": 2, "epochs": 1, "batch_size": 8, "seed": 3}"#).expect("base options");
            map.extend(serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(extra).expect("options"));
            let config = VraeConfig::from_map(&map).expect("valid options");
            let batch = series(12, channels);
            let model = Model::fit(&batch, &config, |_| {}).expect("seed model trains");
            (model.to_bytes().expect("seed model serialises"), channels)
        })
        .collect()
}

/// `rows` short series of a few lengths with `channels` values per step.
fn series(rows: usize, channels: usize) -> SeriesBatch<'static> {
    let data: Vec<Vec<f32>> =
        (0..rows).map(|r| (0..(4 + r % 5) * channels).map(|i| ((i + r) as f32 * 0.7).sin() * (1.0 + r as f32 * 0.1)).collect()).collect();
    SeriesBatch::from_rows(&data, channels).expect("valid batch")
}

/// Numbers that sit on some boundary, as metadata text.
const EXTREMES: &[&str] = &[
    "0",
    "-1",
    "1",
    "2",
    "3",
    "255",
    "65536",
    "65537",
    "2147483648",
    "4294967296",
    "4611686018427387904",
    "9223372036854775807",
    "18446744073709551615",
    "18446744073709551616",
    "1e308",
    "-1e308",
    "1e-320",
    "NaN",
    "null",
    "\"\"",
    "[]",
    "{}",
    "true",
];

/// The file's metadata map and tensors, when it still parses.
fn parts(bytes: &[u8]) -> Option<(HashMap<String, String>, Vec<Entry>)> {
    let (_, header) = SafeTensors::read_metadata(bytes).ok()?;
    let meta = header.metadata().clone()?;
    let st = SafeTensors::deserialize(bytes).ok()?;
    let mut entries: Vec<Entry> =
        st.tensors().into_iter().map(|(name, t)| Entry { name, dims: t.shape().to_vec(), bytes: t.data().to_vec() }).collect();
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Some((meta, entries))
}

/// A file built from parts, its checksum recomputed by this build's rule.
fn signed(mut meta: HashMap<String, String>, entries: &[Entry]) -> Option<Vec<u8>> {
    meta.insert("checksum".into(), format!("{:016x}", full_checksum(&meta, entries)));
    let views = entries
        .iter()
        .map(|e| TensorView::new(Dtype::F32, e.dims.clone(), &e.bytes).map(|v| (e.name.clone(), v)))
        .collect::<Result<Vec<_>, _>>()
        .ok()?;
    safetensors::serialize(views, Some(meta)).ok()
}

/// One mutation of `bytes` (another seed file at hand for splices), and
/// whether the checksum was recomputed after it (a deliberate edit rather
/// than corruption).
fn mutate(bytes: &[u8], other: &[u8], rng: &mut StdRng) -> (Vec<u8>, bool) {
    let mut out = bytes.to_vec();
    if out.len() < 8 {
        // Little left to mutate: grow it instead.
        out.extend((0..rng.random_range(1..64)).map(|_| rng.random::<u8>()));
        return (out, false);
    }
    match rng.random_range(0..9) {
        0 => {
            for _ in 0..rng.random_range(1..=4) {
                let i = rng.random_range(0..out.len());
                out[i] ^= 1 << rng.random_range(0..8);
            }
        }
        1 => {
            let i = rng.random_range(0..out.len());
            out[i] = [0x00, 0xff, 0x7f, 0x80, b'9', b'"', b'{', b'-'][rng.random_range(0..8)];
        }
        2 => out.truncate(rng.random_range(0..out.len())),
        3 => {
            let extra = rng.random_range(1..64);
            out.extend((0..extra).map(|_| rng.random::<u8>()));
        }
        4 => {
            // A splice whose result is the other file whole (cut at 0, or
            // where both files still agree) is a valid model, not a
            // corruption of this one: counted with the deliberate edits.
            let cut = rng.random_range(0..out.len().min(other.len()).max(1));
            out.truncate(cut);
            out.extend_from_slice(&other[cut..]);
            let whole = out == other;
            return (out, whole);
        }
        5 => {
            // The header's length field: points past the end, or into the data.
            let len = [0u64, 1, 7, u64::MAX, (out.len() as u64) * 2, rng.random_range(0..out.len() as u64)][rng.random_range(0..6)];
            out[..8].copy_from_slice(&len.to_le_bytes());
        }
        6 => return resigned_metadata(bytes, rng).unwrap_or((out, false)),
        7 => return resigned_config(bytes, rng).map_or((out, false), |b| (b, true)),
        _ => return resigned_tensor(bytes, rng).map_or((out, false), |b| (b, true)),
    }
    (out, false)
}

/// A metadata entry set to an extreme value, the file re-signed (half the
/// time; the other half the stale checksum must catch it). Returns whether
/// it was re-signed.
fn resigned_metadata(bytes: &[u8], rng: &mut StdRng) -> Option<(Vec<u8>, bool)> {
    let (mut meta, entries) = parts(bytes)?;
    let keys: Vec<String> = meta.keys().filter(|k| *k != "checksum").cloned().collect();
    if keys.is_empty() {
        return None;
    }
    let key = &keys[rng.random_range(0..keys.len())];
    let value = EXTREMES[rng.random_range(0..EXTREMES.len())].to_string();
    meta.insert(key.clone(), value);
    if rng.random_bool(0.5) {
        signed(meta, &entries).map(|b| (b, true))
    } else {
        let views = entries
            .iter()
            .map(|e| TensorView::new(Dtype::F32, e.dims.clone(), &e.bytes).map(|v| (e.name.clone(), v)))
            .collect::<Result<Vec<_>, _>>()
            .ok()?;
        safetensors::serialize(views, Some(meta)).ok().map(|b| (b, false))
    }
}

/// One option of the stored config set to an extreme value, re-signed.
fn resigned_config(bytes: &[u8], rng: &mut StdRng) -> Option<Vec<u8>> {
    let (mut meta, entries) = parts(bytes)?;
    let mut config: serde_json::Map<String, serde_json::Value> = serde_json::from_str(meta.get("config")?).ok()?;
    let keys: Vec<String> = config.keys().cloned().collect();
    if keys.is_empty() {
        return None;
    }
    let key = keys[rng.random_range(0..keys.len())].clone();
    let value: serde_json::Value = serde_json::from_str(EXTREMES[rng.random_range(0..EXTREMES.len())]).unwrap_or(serde_json::Value::Null);
    config.insert(key, value);
    meta.insert("config".into(), serde_json::Value::Object(config).to_string());
    signed(meta, &entries)
}

/// A tensor's values or shape edited, re-signed.
fn resigned_tensor(bytes: &[u8], rng: &mut StdRng) -> Option<Vec<u8>> {
    let (meta, mut entries) = parts(bytes)?;
    if entries.is_empty() {
        return None;
    }
    let e = rng.random_range(0..entries.len());
    let entry = &mut entries[e];
    match rng.random_range(0..3) {
        0 if entry.bytes.len() >= 4 => {
            let at = rng.random_range(0..entry.bytes.len() / 4) * 4;
            let value =
                [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MAX, -f32::MAX, 1e30, 0.0, f32::MIN_POSITIVE][rng.random_range(0..8)];
            entry.bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
        }
        1 => {
            // Same element count, other shape: transposed, or flattened.
            let count: usize = entry.dims.iter().product();
            entry.dims = if rng.random_bool(0.5) { entry.dims.iter().rev().copied().collect() } else { vec![count] };
        }
        _ => {
            // Fewer or more values than the shape the config implies.
            let keep = rng.random_range(0..=entry.bytes.len() / 4);
            entry.bytes.truncate(keep * 4);
            entry.dims = vec![keep];
        }
    }
    signed(meta, &entries)
}

/// What one input did.
enum Outcome {
    Refused,
    /// Loaded, with what its outputs were (to compare with the seed's).
    Loaded(Vec<u32>),
}

/// Loads `input` and, if it loads, runs every output on `batch`; any
/// output must be an error or finite.
fn check(input: &[u8], batch: &SeriesBatch) -> Result<Outcome, String> {
    let model = match Model::from_bytes(input) {
        Err(_) => return Ok(Outcome::Refused),
        Ok(m) => m,
    };
    let finite32 = |name: &str, v: crate::Result<Vec<f32>>| match v {
        Ok(values) if values.iter().any(|x| !x.is_finite()) => Err(format!("{name} gave a non-finite value")),
        _ => Ok(()),
    };
    let embedded = model.embed(batch);
    let fingerprint: Vec<u32> = embedded.as_ref().map(|v| v.iter().map(|x| x.to_bits()).collect()).unwrap_or_default();
    finite32("embed", embedded)?;
    finite32("project", model.project(batch))?;
    finite32("reconstruct", model.reconstruct(batch))?;
    if let Ok(scores) = model.score(batch) {
        if scores.iter().any(|s| !s.is_finite()) {
            return Err("score gave a non-finite value".into());
        }
    }
    if let (Ok(ids), Some(k)) = (model.cluster(batch), model.clusters()) {
        if ids.iter().any(|&id| id >= k) {
            return Err(format!("cluster gave an id outside 0..{k}"));
        }
    }
    Ok(Outcome::Loaded(fingerprint))
}

/// How long one input may take before it counts as a hang.
const HANG: Duration = Duration::from_secs(5);

#[test]
fn mutated_model_files_are_refused_or_load_to_finite_outputs() {
    let inputs: u64 = std::env::var("VRAE_FUZZ_INPUTS").ok().and_then(|v| v.parse().ok()).unwrap_or(3000);
    let seed: u64 = std::env::var("VRAE_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let seeds = seeds();
    let batches: Vec<SeriesBatch> = seeds.iter().map(|(_, c)| series(5, *c)).collect();
    let mut originals = Vec::new();
    for ((bytes, _), batch) in seeds.iter().zip(&batches) {
        match check(bytes, batch) {
            Ok(Outcome::Loaded(outputs)) => originals.push(outputs),
            _ => panic!("an unmutated seed file must load"),
        }
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut refused, mut loaded, mut resigned_loads, mut slowest) = (0u64, 0u64, 0u64, Duration::ZERO);
    let started = Instant::now();
    for n in 0..inputs {
        let s = rng.random_range(0..seeds.len());
        let other = &seeds[rng.random_range(0..seeds.len())].0;
        // Mutations stack: a few rounds on the same file reach deeper.
        let (mut input, mut resigned) = mutate(&seeds[s].0, other, &mut rng);
        for _ in 0..rng.random_range(0..3) {
            let (next, again) = mutate(&input, other, &mut rng);
            input = next;
            resigned |= again;
        }
        let one = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| check(&input, &batches[s])));
        let took = one.elapsed();
        slowest = slowest.max(took);
        let keep = || {
            let path = std::env::temp_dir().join(format!("vrae-fuzz-{seed}-{n}.safetensors"));
            let _ = std::fs::write(&path, &input);
            path.display().to_string()
        };
        match outcome {
            Ok(Ok(Outcome::Refused)) => refused += 1,
            Ok(Ok(Outcome::Loaded(_))) if resigned => resigned_loads += 1,
            // Corruption that loads may only have touched what no output
            // depends on (the wall-clock times): anything else is a silent change.
            Ok(Ok(Outcome::Loaded(outputs))) if outputs == originals[s] => loaded += 1,
            Ok(Ok(Outcome::Loaded(_))) => {
                panic!("input {n} (seed {seed}) was not re-signed, loaded, and embeds differently; kept as {}", keep())
            }
            Ok(Err(why)) => panic!("input {n} (seed {seed}) loaded but {why}; kept as {}", keep()),
            Err(_) => panic!("input {n} (seed {seed}) panicked; kept as {}", keep()),
        }
        assert!(took < HANG, "input {n} (seed {seed}) took {took:?}; kept as {}", keep());
    }
    eprintln!(
        "fuzz: {inputs} inputs in {:.1} s: {refused} refused; {resigned_loads} re-signed edits loaded with finite outputs; \
         {loaded} corrupted files loaded answering exactly as the original (only unchecked times changed); \
         0 panics, 0 silent changes; slowest input {:?}",
        started.elapsed().as_secs_f64(),
        slowest
    );
    assert_eq!(refused + loaded + resigned_loads, inputs);
    // The mutations must reach both ends: most refused, some still loading
    // (edits the checksum does not cover: the wall-clock times).
    assert!(refused > inputs / 2, "{refused} of {inputs} refused");
}
