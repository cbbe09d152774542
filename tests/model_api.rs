//! The public model API: training behaviour, determinism, persistence,
//! variable-length and multivariate data, and every bad input.

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vrae::metrics::{adjusted_rand_index, normalized_mutual_info};
use vrae::{ArtifactError, Model, Progress, SeriesBatch, VraeConfig, VraeError};

#[path = "support/legacy_model.rs"]
mod legacy_model;
use legacy_model::{legacy_model, TensorEdit};

/// Small, fast settings for tests.
fn small(extra: &str) -> VraeConfig {
    let base: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(r#"{"hidden_size": 12, "latent": 4, "epochs": 3, "batch_size": 16, "seed": 5}"#).unwrap();
    let extra: serde_json::Map<String, serde_json::Value> = serde_json::from_str(extra).unwrap();
    let mut all = base;
    all.extend(extra);
    VraeConfig::from_map(&all).unwrap()
}

/// `n` noisy sines and `n` noisy square waves with random phase and length.
fn two_shapes(n: usize, seed: u64, min_len: usize, max_len: usize) -> (SeriesBatch<'static>, Vec<usize>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    for i in 0..2 * n {
        let shape = i % 2;
        let len = rng.random_range(min_len..=max_len);
        let phase: f32 = rng.random_range(0.0..0.5);
        let row: Vec<f32> = (0..len)
            .map(|t| {
                let x = t as f32 / len as f32 * 2.0 + phase;
                let clean = if shape == 0 {
                    (x * std::f32::consts::PI).sin()
                } else if x.fract() < 0.5 {
                    1.0
                } else {
                    -1.0
                };
                clean + rng.random_range(-0.1..0.1)
            })
            .collect();
        rows.push(row);
        labels.push(shape);
    }
    (SeriesBatch::from_rows(&rows, 1).unwrap(), labels)
}

fn multivariate(n: usize, channels: usize, seed: u64) -> SeriesBatch<'static> {
    let mut rng = StdRng::seed_from_u64(seed);
    let rows: Vec<Vec<f32>> = (0..n)
        .map(|_| {
            let len = rng.random_range(3..=20);
            (0..len * channels).map(|_| rng.random_range(-2.0..2.0)).collect()
        })
        .collect();
    SeriesBatch::from_rows(&rows, channels).unwrap()
}

#[test]
fn training_reduces_loss_and_separates_two_shapes() {
    let (batch, labels) = two_shapes(48, 1, 40, 40);
    let seed = std::env::var("VRAE_TEST_SEED").ok().and_then(|s| s.parse::<u64>().ok()).unwrap_or(5);
    let config = small(&format!(
        r#"{{"hidden_size": 24, "latent": 6, "epochs": 60, "batch_size": 8, "learning_rate": 0.003, "clusters": 2, "seed": {seed}}}"#
    ));
    let mut epochs = Vec::new();
    let model = Model::fit(&batch, &config, |p| {
        if let Progress::Epoch(e) = p {
            epochs.push(e.loss)
        }
    })
    .unwrap();
    assert_eq!(epochs.len(), 60);
    assert!(epochs[59] < 0.5 * epochs[0], "loss did not fall enough: {epochs:?}");
    assert_eq!(model.summary().loss_per_epoch.len(), 60);
    let ids = model.cluster(&batch).unwrap();
    let ari = adjusted_rand_index(&labels, &ids).unwrap();
    let nmi = normalized_mutual_info(&labels, &ids).unwrap();
    assert!(ari > 0.8 && nmi > 0.75, "shapes not separated: ARI {ari}, NMI {nmi}");

    // Each cluster's prototype (the decoder on its centroid) looks like its
    // members: the mean member of a cluster is closer to its own prototype
    // than to the other one, and far closer than the two prototypes are to
    // each other.
    let protos = model.prototypes(None).unwrap();
    assert_eq!(protos.len(), 2 * 40);
    let mean_member = |c: usize| {
        let members: Vec<usize> = (0..batch.len()).filter(|&r| ids[r] == c).collect();
        (0..40).map(|t| members.iter().map(|&r| batch.row(r)[t]).sum::<f32>() / members.len() as f32).collect::<Vec<f32>>()
    };
    let dist = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f32>();
    for c in 0..2 {
        let own = dist(&mean_member(c), &protos[c * 40..(c + 1) * 40]);
        let other = dist(&mean_member(c), &protos[(1 - c) * 40..(2 - c) * 40]);
        assert!(own < 0.5 * other, "cluster {c}: {own} to its prototype, {other} to the other");
    }
    assert_eq!(model.prototypes(Some(55)).unwrap().len(), 2 * 55);
    assert!(model.prototypes(Some(0)).is_err());
}

#[test]
fn same_seed_gives_identical_model_bytes_whatever_the_thread_count() {
    let (batch, _) = two_shapes(20, 2, 10, 30);
    let a = Model::fit(&batch, &small(r#"{"threads": 1}"#), |_| {}).unwrap().to_bytes().unwrap();
    let b = Model::fit(&batch, &small(r#"{"threads": 1}"#), |_| {}).unwrap().to_bytes().unwrap();
    let c = Model::fit(&batch, &small(r#"{"threads": 2}"#), |_| {}).unwrap().to_bytes().unwrap();
    let d = Model::fit(&batch, &small(r#"{"threads": 1, "seed": 6}"#), |_| {}).unwrap().to_bytes().unwrap();
    // The summary records wall time, so compare the tensors, not the header.
    let tensors = |bytes: &[u8]| {
        let st = safetensors::SafeTensors::deserialize(bytes).unwrap();
        let mut v: Vec<(String, Vec<u8>)> = st.tensors().into_iter().map(|(n, t)| (n, t.data().to_vec())).collect();
        v.sort();
        v
    };
    assert_eq!(tensors(&a), tensors(&b));
    assert_eq!(tensors(&a), tensors(&c), "thread count changed the model");
    assert_ne!(tensors(&a), tensors(&d), "seed had no effect");
}

#[test]
fn save_load_round_trip_keeps_every_output() {
    let (batch, _) = two_shapes(12, 3, 8, 25);
    let dir = std::env::temp_dir().join(format!("vrae-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Both scalings whose statistics live in the file.
    for scaling in ["global", "per_step"] {
        let options = format!(r#"{{"clusters": 3, "scaling": "{scaling}"}}"#);
        let model = Model::fit(&batch, &small(&options), |_| {}).unwrap();
        let path = dir.join(format!("{scaling}.safetensors"));
        model.save(&path).unwrap();
        let loaded = Model::load(&path).unwrap();
        assert_eq!(loaded.config(), model.config());
        assert_eq!(loaded.summary(), model.summary());
        assert_eq!(loaded.embed(&batch).unwrap(), model.embed(&batch).unwrap(), "{scaling}");
        assert_eq!(loaded.cluster(&batch).unwrap(), model.cluster(&batch).unwrap(), "{scaling}");
        assert_eq!(loaded.reconstruct(&batch).unwrap(), model.reconstruct(&batch).unwrap(), "{scaling}");
        assert_eq!(loaded.project(&batch).unwrap(), model.project(&batch).unwrap(), "{scaling}");
        let from_bytes = Model::from_bytes(&model.to_bytes().unwrap()).unwrap();
        assert_eq!(from_bytes.score(&batch).unwrap(), model.score(&batch).unwrap(), "{scaling}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn variable_length_multivariate_batches_keep_every_row_and_length() {
    let batch = multivariate(37, 3, 4); // 37 rows: two full batches of 16 and a partial one
    let model = Model::fit(&batch, &small(r#"{"block": "gru", "depth": 2}"#), |_| {}).unwrap();
    assert_eq!(model.summary().rows, 37);
    assert_eq!(model.channels(), 3);
    let emb = model.embed(&batch).unwrap();
    assert_eq!(emb.len(), 37 * 4);
    assert!(emb.iter().all(|v| v.is_finite()));
    let rec = model.reconstruct(&batch).unwrap();
    assert_eq!(rec.len(), batch.total_steps() * 3);
    let scores = model.score(&batch).unwrap();
    assert_eq!(scores.len(), 37);
    assert!(scores.iter().all(|s| s.is_finite() && *s >= 0.0));
    assert_eq!(model.project(&batch).unwrap().len(), 37 * 2);

    // One series alone embeds exactly as it does inside the batch.
    for row in [0, 17, 36] {
        let single = SeriesBatch::from_rows(&[batch.row(row).to_vec()], 3).unwrap();
        let alone = model.embed(&single).unwrap();
        let inside = &emb[row * 4..(row + 1) * 4];
        for (a, b) in alone.iter().zip(inside) {
            assert!((a - b).abs() < 1e-5, "row {row}: {alone:?} vs {inside:?}");
        }
    }
}

#[test]
fn reconstruction_is_in_the_input_units_and_lengths() {
    // Series far from zero, under both scalings that shift and scale:
    // reconstructions must come back in the input's own units.
    let rows: Vec<Vec<f32>> = (0..24).map(|i| (0..(10 + i % 5)).map(|t| 1000.0 + 50.0 * (t as f32 * 0.6).sin()).collect()).collect();
    let batch = SeriesBatch::from_rows(&rows, 1).unwrap();
    for scaling in ["zscore", "global", "per_step"] {
        let options = format!(r#"{{"epochs": 20, "learning_rate": 0.01, "scaling": "{scaling}"}}"#);
        let model = Model::fit(&batch, &small(&options), |_| {}).unwrap();
        let rec = model.reconstruct(&batch).unwrap();
        assert_eq!(rec.len(), batch.total_steps());
        let mean = rec.iter().sum::<f32>() / rec.len() as f32;
        assert!((mean - 1000.0).abs() < 20.0, "{scaling}: reconstruction mean {mean}");
    }
}

#[test]
fn learned_decoder_inputs_are_trained_and_saved() {
    let (batch, _) = two_shapes(16, 5, 12, 12);
    let model = Model::fit(&batch, &small(r#"{"decoder_inputs": "learned", "epochs": 4}"#), |_| {}).unwrap();
    let bytes = model.to_bytes().unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let inputs = st.tensor("decoder.inputs").unwrap();
    assert_eq!(inputs.shape(), &[12, 1]);
    // They start at zero; training must have moved them.
    assert!(inputs.data().chunks_exact(4).any(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) != 0.0));
    // Longer series than seen in training still reconstruct (last row repeats).
    let long = SeriesBatch::from_rows(&[vec![0.5f32; 30]], 1).unwrap();
    assert_eq!(Model::from_bytes(&bytes).unwrap().reconstruct(&long).unwrap().len(), 30);
}

#[test]
fn every_optimiser_and_loss_option_trains() {
    let (batch, _) = two_shapes(8, 6, 10, 16);
    for extra in [
        r#"{"optimizer": "sgd", "momentum": 0.9, "learning_rate": 0.001}"#,
        r#"{"loss": "smooth_l1", "reduction": "per_series", "kl_warmup_epochs": 2}"#,
        r#"{"clip": false, "scaling": "none", "dropout": 0.5, "depth": 2}"#,
        r#"{"early_stopping_patience": 1, "early_stopping_min_delta": 1e9, "epochs": 10}"#,
    ] {
        let model = Model::fit(&batch, &small(extra), |_| {}).unwrap_or_else(|e| panic!("{extra}: {e}"));
        assert!(model.summary().loss_per_epoch.iter().all(|e| e.loss.is_finite()), "{extra}");
    }
    let stopped =
        Model::fit(&batch, &small(r#"{"early_stopping_patience": 1, "early_stopping_min_delta": 1e9, "epochs": 10}"#), |_| {}).unwrap();
    assert!(stopped.summary().stopped_early && stopped.summary().epochs_run == 2);
}

#[test]
fn bad_series_get_typed_errors_naming_the_row() {
    let config = small("{}");
    let fit = |rows: &[Vec<f32>]| Model::fit(&SeriesBatch::from_rows(rows, 1).unwrap(), &config, |_| {}).unwrap_err();
    assert!(matches!(fit(&[vec![1.0, 2.0], vec![]]), VraeError::EmptySeries { row: 1 }));
    assert!(matches!(fit(&[vec![1.0, 2.0], vec![1.0], vec![f32::INFINITY]]), VraeError::NonFinite { row: 2, step: 0, .. }));
    assert!(matches!(fit(&[]), VraeError::EmptyBatch(_)));
    let long = small(r#"{"max_length": 5}"#);
    let err = Model::fit(&SeriesBatch::from_rows(&[vec![0.0; 6]], 1).unwrap(), &long, |_| {}).unwrap_err();
    assert!(matches!(err, VraeError::SeriesTooLong { row: 0, length: 6, max: 5 }), "{err}");
    let err = Model::fit(&SeriesBatch::from_rows(&[vec![0.0; 6]], 1).unwrap(), &small(r#"{"clusters": 3}"#), |_| {}).unwrap_err();
    assert!(err.to_string().contains("clusters"), "{err}");

    let (batch, _) = two_shapes(4, 7, 5, 9);
    let model = Model::fit(&batch, &config, |_| {}).unwrap();
    let two_channels = SeriesBatch::from_rows(&[vec![1.0, 2.0]], 2).unwrap();
    let err = model.embed(&two_channels).unwrap_err();
    assert!(matches!(err, VraeError::ChannelMismatch { expected: 1, found: 2 }));
    assert!(err.to_string().contains("trained on 1"), "{err}");
    let nan = SeriesBatch::from_rows(&[vec![1.0], vec![f32::NAN]], 1).unwrap();
    assert!(matches!(model.score(&nan), Err(VraeError::NonFinite { row: 1, .. })));
    assert!(matches!(model.cluster(&batch), Err(VraeError::NoClusters)));
}

#[test]
fn bad_options_name_the_option() {
    let err = VraeConfig::from_json(r#"{"epoch": 3}"#).unwrap_err().to_string();
    assert!(err.contains("`epoch`") && err.contains("epochs"), "{err}");
    let err = VraeConfig::from_json(r#"{"batch_size": -1}"#).unwrap_err().to_string();
    assert!(err.contains("`batch_size`"), "{err}");
}

/// Without the `cuda` feature, asking for cuda is an error that says how to
/// get it, never a silent CPU run.
#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_without_the_feature_is_an_error() {
    let batch = SeriesBatch::from_rows(&vec![vec![1.0f32; 4]; 4], 1).unwrap();
    let err = VraeConfig::from_json(r#"{"device": "cuda"}"#).and_then(|c| Model::fit(&batch, &c, |_| {}));
    match err {
        Err(e @ VraeError::DeviceUnavailable(..)) => assert!(e.to_string().contains("--features cuda"), "{e}"),
        other => panic!("expected DeviceUnavailable, got {other:?}"),
    }
    // Moving a model's inference there is refused the same way, and leaves
    // the model on the CPU.
    let mut model = Model::fit(&batch, &small("{}"), |_| {}).unwrap();
    assert!(matches!(model.set_device(vrae::config::DeviceKind::Cuda), Err(VraeError::DeviceUnavailable(..))));
    assert_eq!(model.config().device, vrae::config::DeviceKind::Cpu);
    assert_eq!(model.embed(&batch).unwrap().len(), 4 * model.latent());
}

#[test]
fn truncated_corrupt_foreign_and_newer_models_are_refused() {
    let (batch, _) = two_shapes(4, 8, 5, 9);
    let bytes = Model::fit(&batch, &small("{}"), |_| {}).unwrap().to_bytes().unwrap();

    for cut in [0, 7, bytes.len() / 2, bytes.len() - 1] {
        let err = Model::from_bytes(&bytes[..cut]).unwrap_err();
        assert!(matches!(err, VraeError::Artifact(ArtifactError::Unreadable(_))), "cut {cut}: {err}");
    }
    let mut flipped = bytes.clone();
    let last = flipped.len() - 3;
    flipped[last] ^= 0x40;
    let err = Model::from_bytes(&flipped).unwrap_err().to_string();
    assert!(err.contains("checksum"), "{err}");
    assert!(Model::from_bytes(b"not a model at all").is_err());
    // A longest training series of no steps or more than the model takes
    // (prototypes default to its length) is an edit, refused by name.
    for longest in [0u64, 1_000_000_000_000] {
        let edited = with_metadata(&bytes, |meta| {
            let mut summary: serde_json::Value = serde_json::from_str(&meta["summary"]).unwrap();
            summary["longest_series"] = longest.into();
            meta.insert("summary".into(), summary.to_string());
        });
        let err = Model::from_bytes(&edited).unwrap_err().to_string();
        assert!(err.contains("longest_series"), "{longest}: {err}");
    }

    let data = vec![0u8; 16];
    let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![4], &data).unwrap();
    let foreign = safetensors::serialize([("weight", view.clone())], None).unwrap();
    assert!(matches!(Model::from_bytes(&foreign), Err(VraeError::Artifact(ArtifactError::Foreign))));

    let meta: HashMap<String, String> =
        [("format".to_string(), "vrae".to_string()), ("format_version".to_string(), "99".to_string())].into();
    let newer = safetensors::serialize([("weight", view)], Some(meta)).unwrap();
    let err = Model::from_bytes(&newer).unwrap_err();
    assert!(matches!(err, VraeError::Artifact(ArtifactError::NewerVersion { found: 99, supported: vrae::FORMAT_VERSION })), "{err}");
    assert!(err.to_string().contains("upgrade"), "{err}");

    let missing = Model::load("/nonexistent/model.safetensors").unwrap_err().to_string();
    assert!(missing.contains("/nonexistent/model.safetensors"), "{missing}");
}

#[test]
fn a_single_series_trains_and_projects_to_the_origin() {
    let values = [0.0f32, 1.0, 0.5, -1.0, 0.0];
    let batch = SeriesBatch::new(&values[..], vec![0, 5], 1).unwrap();
    let model = Model::fit(&batch, &small("{}"), |_| {}).unwrap();
    assert_eq!(model.summary().rows, 1);
    // Centred on its own latent vector: the one training series projects to (0, 0).
    let xy = model.project(&batch).unwrap();
    assert_eq!(xy.len(), 2);
    assert!(xy.iter().all(|v| v.abs() < 1e-6), "{xy:?}");
    assert_eq!(model.embed(&batch).unwrap().len(), model.latent());
    // One series cannot be cut into clusters: refused before training,
    // naming the option, for a fixed k and for "auto" alike.
    for clusters in [r#"{"clusters": 2}"#, r#"{"clusters": "auto"}"#] {
        let err = Model::fit(&batch, &small(clusters), |_| panic!("trained before refusing {clusters}")).unwrap_err();
        assert!(matches!(&err, VraeError::InvalidOption { key, .. } if key == "clusters"), "{clusters}: {err}");
    }
}

#[test]
fn per_step_models_its_series_as_departures_from_the_mean_series() {
    // Series that share one large shape and differ by a small bump whose
    // sign is the class: the mean series carries the shape, so the bump is
    // what the network sees, at unit scale.
    let shape = |t: usize| 100.0 + 40.0 * (t as f32 * 0.3).sin();
    let rows: Vec<Vec<f32>> = (0..32)
        .map(|i| {
            let sign = if i % 2 == 0 { 1.0 } else { -1.0 };
            (0..30).map(|t| shape(t) + if (10..20).contains(&t) { sign * (2.0 + (i % 5) as f32 * 0.1) } else { 0.0 }).collect()
        })
        .collect();
    let batch = SeriesBatch::from_rows(&rows, 1).unwrap();
    let model =
        Model::fit(&batch, &small(r#"{"scaling": "per_step", "clusters": 2, "epochs": 30, "learning_rate": 0.01}"#), |_| {}).unwrap();
    let labels = model.cluster(&batch).unwrap();
    let truth: Vec<usize> = (0..32).map(|i| i % 2).collect();
    let ari = vrae::metrics::adjusted_rand_index(&truth, &labels).unwrap();
    assert!(ari > 0.9, "the bump's sign decides the clusters: ARI {ari}");
    // Reconstructions come back around the shared shape, in input units.
    let rec = model.reconstruct(&batch).unwrap();
    let worst = rec.chunks(30).flat_map(|r| r.iter().enumerate().map(|(t, v)| (v - shape(t)).abs())).fold(0.0f32, f32::max);
    assert!(worst < 8.0, "reconstruction strays {worst} from the mean series");
    // A series longer than any training series takes the last step's mean
    // past the end, and still embeds.
    let long = SeriesBatch::from_rows(&[(0..45).map(shape).collect::<Vec<f32>>()], 1).unwrap();
    assert_eq!(model.reconstruct(&long).unwrap().len(), 45);
    assert!(model.embed(&long).unwrap().iter().all(|v| v.is_finite()));

    // A file whose config says per_step but which lacks the mean series is
    // refused by name.
    let global = Model::fit(&batch, &small(r#"{"scaling": "global"}"#), |_| {}).unwrap().to_bytes().unwrap();
    let relabelled = with_metadata(&global, |meta| {
        edit_config(meta, |c| {
            c.insert("scaling".into(), "per_step".into());
        })
    });
    let err = Model::from_bytes(&relabelled).unwrap_err();
    assert!(matches!(&err, VraeError::Artifact(ArtifactError::MissingTensor(name)) if name == "scaling.step_mean"), "{err}");

    // Statistics that would turn every output into NaN or infinity are
    // refused even under a valid checksum; the unedited file still loads.
    let own = model.to_bytes().unwrap();
    assert!(Model::from_bytes(&with_tensor(&own, "scaling.std", &[1.5])).is_ok());
    for (name, values) in [
        ("scaling.std", vec![0.0f32]),
        // Below the floor training stores 1 for: every later input would
        // read as too large for the model.
        ("scaling.std", vec![1e-45f32]),
        ("scaling.step_mean", {
            let mut m = vec![1.0f32; 30];
            m[4] = f32::NAN;
            m
        }),
    ] {
        let err = Model::from_bytes(&with_tensor(&own, name, &values)).unwrap_err().to_string();
        assert!(err.contains("scaling") && (err.contains("finite")), "{name}: {err}");
    }
}

/// Rewrites a model file's metadata entries (tensors untouched), as a
/// version-2 file (whose checksum does not cover its metadata): how older
/// builds wrote the files these tests load.
fn with_metadata(bytes: &[u8], change: impl Fn(&mut HashMap<String, String>)) -> Vec<u8> {
    legacy_model(bytes, change, TensorEdit::Keep)
}

/// Replaces one tensor's values (same shape) and re-signs the file with a
/// valid (version-2) checksum, as a hand-edited model would be.
fn with_tensor(bytes: &[u8], name: &str, values: &[f32]) -> Vec<u8> {
    legacy_model(bytes, |_| {}, TensorEdit::Replace(name, values))
}

/// Replaces one tensor's shape and values (as many values as before),
/// re-signed as [`with_tensor`] does.
fn with_shaped_tensor(bytes: &[u8], name: &str, shape: &[usize], values: &[f32]) -> Vec<u8> {
    legacy_model(bytes, |_| {}, TensorEdit::Reshape(name, shape, values))
}

/// A model file without tensor `name`, as files written before it existed.
fn without_tensor(bytes: &[u8], name: &str) -> Vec<u8> {
    legacy_model(bytes, |_| {}, TensorEdit::Remove(name))
}

/// A model file whose stored config has option `key` set to `value`, or
/// removed (as files written before the option were) with `None`.
fn with_option(bytes: &[u8], key: &str, value: Option<serde_json::Value>) -> Vec<u8> {
    with_metadata(bytes, |meta| {
        edit_config(meta, |c| match &value {
            Some(v) => drop(c.insert(key.into(), v.clone())),
            None => drop(c.remove(key)),
        })
    })
}

/// Rewrites the stored config (a JSON object) inside a metadata map.
fn edit_config(meta: &mut HashMap<String, String>, change: impl Fn(&mut serde_json::Map<String, serde_json::Value>)) {
    let mut config: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&meta["config"]).unwrap();
    change(&mut config);
    meta.insert("config".into(), serde_json::Value::Object(config).to_string());
}

#[test]
fn standardized_kmeans_assigns_like_kmeans_on_standardized_latents_and_persists() {
    let (batch, _) = two_shapes(24, 21, 30, 30);
    let model = Model::fit(&batch, &small(r#"{"clusters": 3, "clustering": "kmeans", "kmeans_standardize": true}"#), |_| {}).unwrap();
    let latent = model.latent();
    let scale = model.cluster_scale().expect("standardised k-means keeps its scales").to_vec();
    assert_eq!(scale.len(), latent);

    // The same k-means (options, seed) run by hand on standardised latents.
    let latents = model.embed(&batch).unwrap();
    let (mean, expected_scale) = vrae::cluster::unit_variance_scales(&latents, latent);
    for (a, b) in scale.iter().zip(&expected_scale) {
        assert!((a - b).abs() <= 1e-6 * b.abs(), "scale {a} vs {b}");
    }
    let standardised: Vec<f32> =
        latents.chunks_exact(latent).flat_map(|r| r.iter().zip(&mean).zip(&scale).map(|((v, m), s)| (v - m) * s)).collect();
    let opts = vrae::cluster::KMeansOptions { k: 3, restarts: 10, max_iter: 300, seed: 5 };
    let by_hand = vrae::cluster::fit_kmeans(&standardised, latent, &opts).unwrap();
    let clusters = model.cluster(&batch).unwrap();
    assert_eq!(adjusted_rand_index(&by_hand.labels, &clusters).unwrap(), 1.0);
    // The stored centroids are in latent units, not standardised ones. (The
    // model trains on its rows in content order, so its clusters may be
    // numbered differently from the hand-run k-means on the rows as given:
    // each hand-run centroid, mapped back, must match one stored centroid.)
    let centroids = model.centroids().unwrap();
    for h in by_hand.centroids.chunks_exact(latent) {
        let mapped: Vec<f32> = (0..latent).map(|d| h[d] / scale[d] + mean[d]).collect();
        let matched = centroids.chunks_exact(latent).any(|c| c.iter().zip(&mapped).all(|(a, b)| (a - b).abs() < 1e-4));
        assert!(matched, "centroid not mapped back to latent units: {mapped:?} among {centroids:?}");
    }

    let loaded = Model::from_bytes(&model.to_bytes().unwrap()).unwrap();
    assert_eq!(loaded.cluster_scale(), Some(&scale[..]));
    assert!(loaded.config().kmeans_standardize);
    assert_eq!(loaded.cluster(&batch).unwrap(), clusters);
    // Scales so large or small that every latent lands in one cluster are
    // an edit, refused by name.
    for value in [3e38f32, 1e-45] {
        let err =
            Model::from_bytes(&with_tensor(&model.to_bytes().unwrap(), "kmeans.scale", &vec![value; latent])).unwrap_err().to_string();
        assert!(err.contains("kmeans.scale"), "{value}: {err}");
    }

    let plain = Model::fit(&batch, &small(r#"{"clusters": 3, "clustering": "kmeans", "kmeans_standardize": false}"#), |_| {}).unwrap();
    assert_eq!(plain.cluster_scale(), None);
}

#[test]
fn normalized_kmeans_clusters_unit_length_standardised_latents_and_persists() {
    let (batch, _) = two_shapes(24, 21, 30, 30);
    let model = Model::fit(&batch, &small(r#"{"clusters": 3, "clustering": "kmeans", "kmeans_normalize": true}"#), |_| {}).unwrap();
    let latent = model.latent();

    // The same k-means (options, seed) run by hand on the standardised
    // latents scaled to unit length.
    let latents = model.embed(&batch).unwrap();
    let (mean, scale) = vrae::cluster::unit_variance_scales(&latents, latent);
    let mut points = vrae::cluster::standardise(&latents, &mean, &scale);
    vrae::cluster::unit_rows(&mut points, latent);
    for row in points.chunks_exact(latent) {
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{row:?}");
    }
    let opts = vrae::cluster::KMeansOptions { k: 3, restarts: 10, max_iter: 300, seed: 5 };
    let by_hand = vrae::cluster::fit_kmeans(&points, latent, &opts).unwrap();
    let clusters = model.cluster(&batch).unwrap();
    // The model ran k-means on its rows in content order, so its restarts
    // may settle elsewhere than the hand-run one on the rows as given; but
    // its partition is a k-means fit of these points: every point is
    // nearest its own cluster's mean point, and the stored inertia is the
    // points' squared distance to those means (at most 1 each on the unit
    // sphere, where standardised latents would give about `latent` each).
    let k = 3;
    let mut sums = vec![0.0f64; k * latent];
    let mut counts = vec![0usize; k];
    for (row, &c) in points.chunks_exact(latent).zip(&clusters) {
        counts[c] += 1;
        for (d, &v) in row.iter().enumerate() {
            sums[c * latent + d] += f64::from(v);
        }
    }
    let means: Vec<f32> = sums.iter().enumerate().map(|(i, s)| (s / counts[i / latent].max(1) as f64) as f32).collect();
    assert_eq!(vrae::cluster::assign(&means, latent, &points), clusters);
    let inertia: f64 = points
        .chunks_exact(latent)
        .zip(&clusters)
        .map(|(row, &c)| row.iter().zip(&means[c * latent..]).map(|(a, b)| f64::from(a - b).powi(2)).sum::<f64>())
        .sum();
    let stored = model.summary().kmeans_inertia.unwrap();
    assert!((stored - inertia).abs() < 1e-3 * inertia.max(1.0), "inertia {stored} vs {inertia}");
    assert!(stored < points.len() as f64 / latent as f64, "{stored}");
    // Neither fit is much worse than the other.
    assert!(stored <= by_hand.inertia * 1.05 && by_hand.inertia <= stored * 1.05, "{stored} vs {}", by_hand.inertia);
    // The stored centroids, which prototypes decode, are each cluster's
    // mean latent.
    let centroids = model.centroids().unwrap();
    for (j, centroid) in centroids.chunks_exact(latent).enumerate() {
        let members: Vec<&[f32]> = latents.chunks_exact(latent).zip(&clusters).filter(|(_, &c)| c == j).map(|(r, _)| r).collect();
        assert!(!members.is_empty(), "cluster {j} is empty");
        for (d, &value) in centroid.iter().enumerate() {
            let expected = members.iter().map(|r| r[d]).sum::<f32>() / members.len() as f32;
            assert!((value - expected).abs() < 1e-4, "cluster {j}, dimension {d}: {value} vs {expected}");
        }
    }

    let bytes = model.to_bytes().unwrap();
    let loaded = Model::from_bytes(&bytes).unwrap();
    assert!(loaded.config().kmeans_normalize);
    assert_eq!(loaded.cluster(&batch).unwrap(), clusters);
    assert_eq!(loaded.cluster_embeddings(&latents).unwrap(), clusters);
    // A NaN latent is refused by row, not put in some cluster.
    let mut bad = latents.clone();
    bad[latent + 1] = f32::NAN;
    for err in [loaded.cluster_embeddings(&bad).unwrap_err(), loaded.project_embeddings(&bad).unwrap_err()] {
        assert!(err.to_string().contains("latent vector 1 holds a non-finite value"), "{err}");
    }

    // The directions belong to normalized k-means alone: a config
    // edited to say otherwise, or written before the option (no key: off),
    // is refused, as is a normalized model without them or with a NaN.
    for stored in [Some(false.into()), None] {
        let err = Model::from_bytes(&with_option(&bytes, "kmeans_normalize", stored)).unwrap_err().to_string();
        assert!(err.contains("kmeans.directions") && err.contains("not normalized"), "{err}");
    }
    let plain = Model::fit(&batch, &small(r#"{"clusters": 3, "clustering": "kmeans"}"#), |_| {}).unwrap().to_bytes().unwrap();
    let claimed = with_option(&plain, "kmeans_normalize", Some(true.into()));
    let err = Model::from_bytes(&claimed).unwrap_err().to_string();
    assert!(err.contains("kmeans.directions"), "{err}");
    let nan = with_tensor(&bytes, "kmeans.directions", &vec![f32::NAN; 3 * latent]);
    let err = Model::from_bytes(&nan).unwrap_err().to_string();
    assert!(err.contains("kmeans.directions"), "{err}");
}

/// The training of `training_reduces_loss_and_separates_two_shapes`, whose
/// k-means separates the shapes, clustered by `clustering`.
/// A model of 48 sines and square waves of 40 steps, two clusters, with
/// `options` (JSON members) beside the defaults.
fn two_shapes_model(options: &str) -> (SeriesBatch<'static>, Vec<usize>, Model) {
    let (batch, labels) = two_shapes(48, 1, 40, 40);
    let config =
        format!(r#"{{"hidden_size": 24, "latent": 6, "epochs": 60, "batch_size": 8, "learning_rate": 0.003, "clusters": 2, {options}}}"#);
    let model = Model::fit(&batch, &small(&config), |_| {}).unwrap();
    (batch, labels, model)
}

#[test]
fn spectral_clustering_stores_its_graph_latents_and_assigns_by_their_vote() {
    let (batch, labels, model) = two_shapes_model(r#""clustering": "spectral""#);
    let latent = model.latent();
    let latents = model.embed(&batch).unwrap();
    let clusters = model.cluster(&batch).unwrap();
    assert_eq!(model.cluster_embeddings(&latents).unwrap(), clusters);
    let ari = adjusted_rand_index(&labels, &clusters).unwrap();
    assert!(ari > 0.8, "sines and square waves not separated: ARI {ari}");

    // The partition is the spectral clustering of the standardised latents
    // (the model's rows are in content order, so compare partitions, not
    // numbers).
    let (mean, scale) = vrae::cluster::unit_variance_scales(&latents, latent);
    let points = vrae::cluster::standardise(&latents, &mean, &scale);
    let opts = vrae::cluster::KMeansOptions { k: 2, restarts: 10, max_iter: 300, seed: 5 };
    let by_hand =
        vrae::spectral::fit_spectral(&points, latent, vrae::spectral::Distance::Euclidean, &opts, vrae::config::SpectralCut::Mixture)
            .unwrap();
    let agreement = adjusted_rand_index(&by_hand.assignments, &clusters).unwrap();
    assert!(agreement > 0.9, "model and hand-run spectral clustering disagree: ARI {agreement}");
    // Every training latent is a graph point here, and keeps its cluster.
    assert_eq!(by_hand.labels, by_hand.assignments);

    // Centroids (what prototypes decode) are each cluster's mean latent; the
    // stored inertia is the standardised latents' squared distance to their
    // cluster's mean.
    let centroids = model.centroids().unwrap();
    assert_eq!(centroids.len(), 2 * latent);
    let mut inertia = 0.0f64;
    for j in 0..2 {
        let members: Vec<usize> = (0..batch.len()).filter(|&r| clusters[r] == j).collect();
        assert!(!members.is_empty(), "cluster {j} is empty");
        for d in 0..latent {
            let expected = members.iter().map(|&r| latents[r * latent + d]).sum::<f32>() / members.len() as f32;
            assert!((centroids[j * latent + d] - expected).abs() < 1e-4, "cluster {j}, dimension {d}");
            let centre = members.iter().map(|&r| f64::from(points[r * latent + d])).sum::<f64>() / members.len() as f64;
            inertia += members.iter().map(|&r| (f64::from(points[r * latent + d]) - centre).powi(2)).sum::<f64>();
        }
    }
    let stored = model.summary().kmeans_inertia.unwrap();
    assert!((stored - inertia).abs() < 1e-3 * inertia.max(1.0), "inertia {stored} vs {inertia}");

    // A latent near a training latent joins that latent's cluster.
    let nudged: Vec<f32> = latents[..latent].iter().map(|v| v + 1e-4).collect();
    assert_eq!(model.cluster_embeddings(&nudged).unwrap(), vec![clusters[0]]);

    let bytes = model.to_bytes().unwrap();
    let loaded = Model::from_bytes(&bytes).unwrap();
    assert_eq!(loaded.config().clustering, vrae::config::Clustering::Spectral);
    assert_eq!(loaded.config().spectral_cut, vrae::config::SpectralCut::Mixture);
    assert_eq!(loaded.cluster(&batch).unwrap(), clusters);
    assert_eq!(loaded.centroids(), model.centroids());
    // A file written before `spectral_cut` existed was cut by k-means, and
    // says so; its stored graph clusters assign as before.
    let older = Model::from_bytes(&with_option(&bytes, "spectral_cut", None)).unwrap();
    assert_eq!(older.config().spectral_cut, vrae::config::SpectralCut::Kmeans);
    assert_eq!(older.cluster(&batch).unwrap(), clusters);

    // The graph belongs to spectral models alone: a config edited to k-means
    // or written before the option (no key: k-means) is refused, as is a
    // spectral claim without the graph, a cluster number out of range and a
    // NaN latent.
    for stored in [Some("kmeans".into()), None] {
        let err = Model::from_bytes(&with_option(&bytes, "clustering", stored)).unwrap_err().to_string();
        assert!(err.contains("spectral.points") && err.contains("not clustered spectrally"), "{err}");
    }
    let plain = Model::fit(&batch, &small(r#"{"clusters": 2, "clustering": "kmeans"}"#), |_| {}).unwrap().to_bytes().unwrap();
    let claimed = with_option(&plain, "clustering", Some("spectral".into()));
    let err = Model::from_bytes(&claimed).unwrap_err().to_string();
    assert!(err.contains("spectral.points"), "{err}");
    let rows = batch.len();
    for (bad, why) in [(2.0f32, "2 is not a cluster"), (0.5, "0.5 is not a cluster"), (-1.0, "-1 is not a cluster")] {
        let mut cluster_numbers = vec![0.0f32; rows];
        cluster_numbers[3] = bad;
        let err = Model::from_bytes(&with_tensor(&bytes, "spectral.labels", &cluster_numbers)).unwrap_err().to_string();
        assert!(err.contains("spectral.labels") && err.contains(why), "{err}");
    }
    let err = Model::from_bytes(&with_tensor(&bytes, "spectral.points", &vec![f32::NAN; rows * latent])).unwrap_err().to_string();
    assert!(err.contains("spectral.points"), "{err}");

    // "auto" cuts the one embedding at every k and keeps the best silhouette.
    let auto_config = r#"{"hidden_size": 24, "latent": 6, "epochs": 60, "batch_size": 8, "learning_rate": 0.003, "clusters": "auto", "clusters_max": 4, "clustering": "spectral"}"#;
    let auto = Model::fit(&batch, &small(auto_config), |_| {}).unwrap();
    let scores = auto.summary().cluster_selection.clone().unwrap();
    assert_eq!(scores.iter().map(|s| s.k).collect::<Vec<_>>(), vec![2, 3, 4]);
    let best = scores.iter().fold(scores[0], |b, s| if s.silhouette > b.silhouette { *s } else { b });
    assert_eq!(auto.clusters(), Some(best.k));
    assert_eq!(Model::from_bytes(&auto.to_bytes().unwrap()).unwrap().cluster(&batch).unwrap(), auto.cluster(&batch).unwrap());
}

/// Each series z-normalised (one channel, no averaging): the shape part of
/// a `spectral_series` graph point, before its weight.
fn z_normalised(batch: &SeriesBatch) -> Vec<f32> {
    (0..batch.len())
        .flat_map(|r| {
            let row = batch.row(r);
            let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / row.len() as f64;
            let std = (row.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / row.len() as f64).sqrt();
            row.iter().map(move |&v| ((f64::from(v) - mean) / std) as f32).collect::<Vec<_>>()
        })
        .collect()
}

/// The share of the series' spread around their mean series that the
/// model's reconstructions explain (R²), by hand from `Model::reconstruct`.
fn reconstruction_r2(model: &Model, batch: &SeriesBatch) -> f64 {
    let reconstructed = model.reconstruct(batch).unwrap();
    let steps = batch.row(0).len();
    let mean: Vec<f64> =
        (0..steps).map(|t| (0..batch.len()).map(|r| f64::from(batch.row(r)[t])).sum::<f64>() / batch.len() as f64).collect();
    let (mut missed, mut spread) = (0.0, 0.0);
    for r in 0..batch.len() {
        for (t, &v) in batch.row(r).iter().enumerate() {
            missed += (f64::from(v) - f64::from(reconstructed[r * steps + t])).powi(2);
            spread += (f64::from(v) - mean[t]).powi(2);
        }
    }
    1.0 - missed / spread
}

/// The shape and values of the f32 tensor `name` in a saved model's bytes.
fn stored_floats(bytes: &[u8], name: &str) -> (Vec<usize>, Vec<f32>) {
    let file = safetensors::SafeTensors::deserialize(bytes).unwrap();
    let t = file.tensor(name).unwrap();
    (t.shape().to_vec(), t.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

/// `values` (`[rows, width]`) times one over the square root of their total
/// variance.
fn unit_total_variance(values: &[f32], width: usize) -> Vec<f32> {
    let rows = values.len() / width;
    let total: f64 = (0..width)
        .map(|d| {
            let column = || values.iter().skip(d).step_by(width).map(|&v| f64::from(v));
            let mean = column().sum::<f64>() / rows as f64;
            column().map(|v| (v - mean).powi(2)).sum::<f64>() / rows as f64
        })
        .sum();
    values.iter().map(|&v| (f64::from(v) / total.sqrt()) as f32).collect()
}

#[test]
fn latent_by_reconstruction_weighs_the_latent_part_by_the_models_r2() {
    // The option changes only how the graph weighs the latent, not the
    // network: the two models share their training and R², and the stored
    // latent weights differ by the square root of that R² (clamped).
    let (batch, _) = two_shapes(48, 1, 40, 40);
    let fit = |on: bool| {
        let config = format!(
            r#"{{"hidden_size": 24, "latent": 6, "epochs": 60, "batch_size": 8, "learning_rate": 0.003, "clusters": 2, "clustering": "spectral_series", "latent_by_reconstruction": {on}}}"#
        );
        let model = Model::fit(&batch, &small(&config), |_| {}).unwrap();
        (reconstruction_r2(&model, &batch), stored_floats(&model.to_bytes().unwrap(), "spectral.weights").1)
    };
    let ((r2_on, on), (r2_off, off)) = (fit(true), fit(false));
    assert_eq!(r2_on, r2_off);
    assert!(r2_on > 0.01 && r2_on < 0.999, "R² {r2_on}: at the floor or too close to 1 for the weights to tell the option apart");
    let factor = r2_on.clamp(1e-6, 1.0).sqrt() as f32;
    assert!((on[0] - off[0] * factor).abs() < 1e-4 * off[0], "latent weights {} and {}, R² {r2_on}", on[0], off[0]);
    assert_eq!(on[1], off[1]);
}

#[test]
fn latent_by_reconstruction_measures_averaged_series_of_several_lengths_and_channels() {
    // Two channels, lengths 30 to 40, averaged over windows of 5 steps: the
    // R² the fit weighs by is that of `Model::reconstruct` (stretched back
    // to each series' length), so the weights still differ by its root.
    let (one, _) = two_shapes(40, 3, 30, 40);
    let rows: Vec<Vec<f32>> = (0..one.len()).map(|r| one.row(r).iter().flat_map(|&v| [v, 0.5 * v + 1.0]).collect()).collect();
    let batch = SeriesBatch::from_rows(&rows, 2).unwrap();
    let fit = |on: bool| {
        let config = format!(
            r#"{{"hidden_size": 16, "latent": 4, "epochs": 20, "batch_size": 8, "paa_steps": 8, "clusters": 2, "clustering": "spectral_series", "latent_by_reconstruction": {on}}}"#
        );
        let model = Model::fit(&batch, &small(&config), |_| {}).unwrap();
        let r2 = vrae::reconstruction_r2(&batch, &model.reconstruct(&batch).unwrap());
        (r2, stored_floats(&model.to_bytes().unwrap(), "spectral.weights").1)
    };
    let ((r2, on), (_, off)) = (fit(true), fit(false));
    assert!(r2.is_finite() && r2 < 0.999, "R² {r2}");
    let factor = r2.clamp(1e-6, 1.0).sqrt() as f32;
    assert!((on[0] - off[0] * factor).abs() < 1e-3 * off[0], "latent weights {} and {}, R² {r2}", on[0], off[0]);
    // By hand on a tiny case: the mean series explains nothing, the series
    // themselves everything.
    let pair = SeriesBatch::from_rows(&[vec![0.0f32, 2.0], vec![2.0, 4.0]], 1).unwrap();
    assert_eq!(vrae::reconstruction_r2(&pair, &[0.0, 2.0, 2.0, 4.0]), 1.0);
    assert_eq!(vrae::reconstruction_r2(&pair, &[1.0, 3.0, 1.0, 3.0]), 0.0);
    assert_eq!(vrae::reconstruction_r2(&pair, &[2.0, 4.0, 0.0, 2.0]), -3.0);
}

#[test]
fn spectral_series_clusters_latents_and_shapes_side_by_side() {
    let (batch, labels, model) = two_shapes_model(r#""clustering": "spectral_series", "series_features": "shifted_shapes""#);
    let latent = model.latent();
    let (latents, clusters) = model.embed_and_cluster(&batch).unwrap();
    assert_eq!(latents, model.embed(&batch).unwrap());
    assert_eq!(model.cluster(&batch).unwrap(), clusters);
    let ari = adjusted_rand_index(&labels, &clusters).unwrap();
    assert!(ari > 0.8, "sines and square waves not separated: ARI {ari}");

    // The partition is the spectral clustering of each series' standardised
    // latent beside its z-normalised shape, each part at unit total
    // variance, the latent's squared distances then multiplied by the
    // model's reconstruction R² (`latent_by_reconstruction`).
    let (mean, scale) = vrae::cluster::unit_variance_scales(&latents, latent);
    let r2 = reconstruction_r2(&model, &batch);
    let latent_factor = r2.clamp(1e-6, 1.0).sqrt() as f32;
    let standardised: Vec<f32> =
        unit_total_variance(&vrae::cluster::standardise(&latents, &mean, &scale), latent).iter().map(|v| v * latent_factor).collect();
    let shapes = unit_total_variance(&z_normalised(&batch), 40);
    let joined: Vec<f32> =
        standardised.chunks_exact(latent).zip(shapes.chunks_exact(40)).flat_map(|(z, x)| z.iter().chain(x).copied()).collect();
    let opts = vrae::cluster::KMeansOptions { k: 2, restarts: 10, max_iter: 300, seed: 5 };
    // Shapes are compared at their best shift of up to a quarter of their
    // 40 steps (`shape_lag` 0.25).
    let distance = vrae::spectral::Distance::ShiftedShape { head: latent, steps: 40, channels: 1, max_lag: 10 };
    let by_hand = vrae::spectral::fit_spectral(&joined, latent + 40, distance, &opts, vrae::config::SpectralCut::Mixture).unwrap();
    let agreement = adjusted_rand_index(&by_hand.assignments, &clusters).unwrap();
    assert!(agreement > 0.9, "model and hand-run spectral clustering disagree: ARI {agreement}");
    // Every training series is a stored graph point (fewer than 4000), so
    // each hand-built point is one of them (the model keeps its rows in
    // content order, hence the search), with the weights that made it.
    let bytes = model.to_bytes().unwrap();
    let floats = |name: &str| stored_floats(&bytes, name);
    let (shape, stored) = floats("spectral.points");
    assert_eq!(shape, vec![batch.len(), latent + 40]);
    for (row, point) in joined.chunks_exact(latent + 40).enumerate() {
        let nearest = stored
            .chunks_exact(latent + 40)
            .map(|p| p.iter().zip(point).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max))
            .fold(f32::INFINITY, f32::min);
        assert!(nearest < 1e-4, "training series {row}: no stored point within 1e-4 (nearest {nearest})");
    }
    let (_, weights) = floats("spectral.weights");
    let hand_weight = |raw: &[f32], scaled: &[f32]| scaled[1] / raw[1];
    assert!((weights[0] - hand_weight(&vrae::cluster::standardise(&latents, &mean, &scale), &standardised)).abs() < 1e-4 * weights[0]);
    assert!((weights[1] - hand_weight(&z_normalised(&batch), &shapes)).abs() < 1e-4 * weights[1]);

    // Latents alone cannot be placed in a graph that compares shapes too.
    let err = model.cluster_embeddings(&latents).unwrap_err();
    assert!(matches!(err, VraeError::ClustersNeedSeries), "{err}");
    assert!(err.to_string().contains("spectral_series"), "{err}");
    // A series of another length is resampled to the training length: the
    // first training series at half its steps (every other one) still gets
    // a cluster.
    let halved: Vec<f32> = batch.row(0).iter().step_by(2).copied().collect();
    let later = SeriesBatch::from_rows(&[halved], 1).unwrap();
    assert!(model.cluster(&later).unwrap()[0] < 2);

    let loaded = Model::from_bytes(&bytes).unwrap();
    assert_eq!(loaded.config().clustering, vrae::config::Clustering::SpectralSeries);
    assert_eq!(loaded.config().shape_lag, 0.25);
    assert_eq!(loaded.cluster(&batch).unwrap(), clusters);
    assert_eq!(loaded.cluster(&later).unwrap(), model.cluster(&later).unwrap());
    // A file written before `shape_lag` compared shapes step by step, and
    // keeps doing so: a later series joins what its step-by-step nearest
    // stored points vote for.
    let older = Model::from_bytes(&with_option(&bytes, "shape_lag", None)).unwrap();
    assert_eq!(older.config().shape_lag, 0.0);
    // A file written before `series_features` compared shapes, as this one.
    let unnamed = Model::from_bytes(&with_option(&bytes, "series_features", None)).unwrap();
    assert_eq!(unnamed.config().series_features, vrae::config::SeriesFeatures::ShiftedShapes);
    assert_eq!(unnamed.cluster(&batch).unwrap(), clusters);
    // A file written before `latent_by_reconstruction` weighed both parts
    // alike, and says so.
    assert!(model.config().latent_by_reconstruction);
    let unweighed = Model::from_bytes(&with_option(&bytes, "latent_by_reconstruction", None)).unwrap();
    assert!(!unweighed.config().latent_by_reconstruction);
    let stored_labels: Vec<usize> = floats("spectral.labels").1.iter().map(|&l| l as usize).collect();
    let shifted: Vec<f32> = {
        let row = batch.row(0);
        (0..row.len()).map(|t| row[(t + 5) % row.len()]).collect()
    };
    let shifted_batch = SeriesBatch::from_rows(&[shifted], 1).unwrap();
    let shifted_latent = model.embed(&shifted_batch).unwrap();
    let shifted_standardised: Vec<f32> =
        vrae::cluster::standardise(&shifted_latent, &mean, &scale).iter().map(|v| v * weights[0]).collect();
    let shifted_shape: Vec<f32> = z_normalised(&shifted_batch).iter().map(|v| v * weights[1]).collect();
    let shifted_point: Vec<f32> = shifted_standardised.iter().chain(&shifted_shape).copied().collect();
    let vote_by = |distance| vrae::spectral::vote(&stored, &stored_labels, latent + 40, distance, 2, &shifted_point);
    assert_eq!(older.cluster(&shifted_batch).unwrap(), vec![vote_by(vrae::spectral::Distance::Euclidean)]);
    assert_eq!(model.cluster(&shifted_batch).unwrap(), vec![vote_by(distance)]);

    // Edits are refused by name: a config that says the graph is of latents
    // only (or k-means), part weights that are not two finite positive
    // numbers, NaN points.
    for (clustering, names) in [("spectral", "spectral.points"), ("kmeans", "spectral.points")] {
        let err = Model::from_bytes(&with_option(&bytes, "clustering", Some(clustering.into()))).unwrap_err().to_string();
        assert!(err.contains(names), "{clustering}: {err}");
    }
    // Finite but extreme weights or points would put every later series in
    // one cluster (the vote's distances overflow or vanish).
    for weights in [[0.0f32, 1.0], [1.0, -2.0], [f32::NAN, 1.0], [1.0, f32::INFINITY], [3e38, 3e38], [1e-45, 1e-45]] {
        let err = Model::from_bytes(&with_tensor(&bytes, "spectral.weights", &weights)).unwrap_err().to_string();
        assert!(err.contains("spectral.weights"), "{weights:?}: {err}");
    }
    let rows = batch.len();
    for value in [f32::NAN, 1e37] {
        let err = Model::from_bytes(&with_tensor(&bytes, "spectral.points", &vec![value; rows * (latent + 40)])).unwrap_err().to_string();
        assert!(err.contains("spectral.points"), "{value}: {err}");
    }
    // A latent-only spectral model claiming to compare shapes lacks the
    // weights and has points of the wrong width; claiming to describe
    // series by kernels, it lacks the kernels.
    let spectral = Model::fit(&batch, &small(r#"{"clusters": 2, "clustering": "spectral"}"#), |_| {}).unwrap().to_bytes().unwrap();
    let claimed = with_option(&spectral, "clustering", Some("spectral_series".into()));
    let err = Model::from_bytes(&with_option(&claimed, "series_features", Some("shifted_shapes".into()))).unwrap_err().to_string();
    assert!(err.contains("spectral.points"), "{err}");
    for kernels in ["random_kernels", "kernels_and_shapes", "multirocket"] {
        let err = Model::from_bytes(&with_option(&claimed, "series_features", Some(kernels.into()))).unwrap_err().to_string();
        assert!(err.contains("spectral.kernel_steps"), "{kernels}: {err}");
    }
}

/// A `spectral_series` model of `two_shapes_model`'s series described by
/// `series_features` (`name`, read back as `expected`), and its clusters
/// of the training rows, which must separate the two shapes.
fn described_model(name: &str, expected: vrae::config::SeriesFeatures) -> (SeriesBatch<'static>, Model, Vec<usize>) {
    let (batch, labels, model) = two_shapes_model(&format!(r#""clustering": "spectral_series", "series_features": "{name}""#));
    assert_eq!(model.config().series_features, expected);
    let clusters = model.cluster(&batch).unwrap();
    let ari = adjusted_rand_index(&labels, &clusters).unwrap();
    assert!(ari > 0.8, "{name}: sines and square waves not separated: ARI {ari}");
    (batch, model, clusters)
}

#[test]
fn spectral_series_describes_series_by_minirockets_kernels() {
    let (batch, model, clusters) = described_model("random_kernels", vrae::config::SeriesFeatures::RandomKernels);

    // The file keeps the kernels of 40-step shapes (dilations 1 to 4: 336
    // kernels, 30 biases each), the features' mean and the axes, and the
    // graph points are latents beside their descriptions on those axes.
    let latent = model.latent();
    let bytes = model.to_bytes().unwrap();
    let floats = |name: &str| stored_floats(&bytes, name);
    assert_eq!(floats("spectral.kernel_steps"), (vec![1], vec![40.0]));
    let (pick_shape, picks) = floats("spectral.kernel_channels");
    assert_eq!(pick_shape, [336, 1]);
    assert!(picks.iter().all(|&p| p == 1.0));
    assert_eq!(floats("spectral.kernel_biases").0, [336, 30]);
    assert_eq!(floats("spectral.kernel_mean").0, [10_080]);
    let (axes_shape, _) = floats("spectral.kernel_axes");
    assert_eq!(axes_shape[1], 10_080);
    assert!((1..batch.len()).contains(&axes_shape[0]), "{axes_shape:?}");
    assert_eq!(floats("spectral.points").0, [batch.len(), latent + axes_shape[0]]);
    // Each feature is the share of a kernel's outputs above a bias, so the
    // features' mean lies in [0, 1].
    assert!(floats("spectral.kernel_mean").1.iter().all(|m| (0.0..=1.0).contains(m)));

    // The loaded model describes and clusters series as the trained one,
    // later series of another length too; a series moved by 3 steps stays
    // in its class's cluster.
    let loaded = Model::from_bytes(&bytes).unwrap();
    assert_eq!(loaded.config().series_features, vrae::config::SeriesFeatures::RandomKernels);
    assert_eq!(loaded.cluster(&batch).unwrap(), clusters);
    let halved: Vec<f32> = batch.row(0).iter().step_by(2).copied().collect();
    let later = SeriesBatch::from_rows(&[halved], 1).unwrap();
    assert_eq!(loaded.cluster(&later).unwrap(), model.cluster(&later).unwrap());
    let moved: Vec<Vec<f32>> = (0..batch.len()).map(|r| batch.row(r).iter().cycle().skip(3).take(40).copied().collect()).collect();
    let moved_clusters = model.cluster(&SeriesBatch::from_rows(&moved, 1).unwrap()).unwrap();
    let agreement = adjusted_rand_index(&clusters, &moved_clusters).unwrap();
    assert!(agreement > 0.8, "series moved by 3 steps change cluster: ARI {agreement}");

    // Edits are refused by name: steps other than the training shapes'
    // (40: the longest series, not averaged), channel picks other than 0
    // or 1, values that are not finite, a missing mean; and a file whose
    // config no longer says kernels (as if written before the option).
    // Axes so large, or means outside [0, 1] (features are shares), would
    // describe every later series as infinitely far from every stored one.
    let edits: [(&str, Vec<f32>); 10] = [
        ("spectral.kernel_steps", vec![0.0]),
        ("spectral.kernel_steps", vec![40.5]),
        ("spectral.kernel_steps", vec![1e9]),
        ("spectral.kernel_steps", vec![39.0]),
        ("spectral.kernel_channels", vec![2.0; 336]),
        ("spectral.kernel_biases", vec![f32::NAN; 336 * 30]),
        ("spectral.kernel_axes", vec![f32::NAN; axes_shape[0] * 10_080]),
        ("spectral.kernel_axes", vec![3e38; axes_shape[0] * 10_080]),
        ("spectral.kernel_mean", vec![f32::INFINITY; 10_080]),
        ("spectral.kernel_mean", vec![2.0; 10_080]),
    ];
    for (name, values) in edits {
        let err = Model::from_bytes(&with_tensor(&bytes, name, &values)).unwrap_err().to_string();
        assert!(err.contains(name), "{name} {:?}: {err}", &values[..1]);
    }
    let err = Model::from_bytes(&without_tensor(&bytes, "spectral.kernel_mean")).unwrap_err().to_string();
    assert!(err.contains("spectral.kernel_mean"), "{err}");
    let err = Model::from_bytes(&with_option(&bytes, "series_features", None)).unwrap_err().to_string();
    assert!(err.contains("spectral.kernel_steps"), "{err}");
}

#[test]
fn multirocket_pools_the_kernels_four_ways_over_the_series_and_its_difference() {
    let (batch, model, clusters) = described_model("multirocket", vrae::config::SeriesFeatures::Multirocket);

    // 40 steps and their 39 differences both take dilations 1 to 4: 336
    // kernels each, round(10000 / (2 x 4 x 336)) = 4 biases per kernel,
    // four features per bias.
    let latent = model.latent();
    let bytes = model.to_bytes().unwrap();
    let floats = |name: &str| stored_floats(&bytes, name);
    assert_eq!(floats("spectral.kernel_steps"), (vec![1], vec![40.0]));
    assert_eq!(floats("spectral.kernel_channels").0, [672, 1]);
    assert_eq!(floats("spectral.kernel_biases").0, [2688]);
    let (_, mean) = floats("spectral.kernel_mean");
    assert_eq!(mean.len(), 10_752);
    let axes = floats("spectral.kernel_axes").0;
    assert_eq!(axes[1], 10_752);
    assert_eq!(floats("spectral.points").0, [batch.len(), latent + axes[0]]);
    // In each group of four: a share, a mean excess, a mean step (-1 where
    // none is above the bias) and a longest stretch, over 40 steps at most.
    for group in mean.chunks_exact(4) {
        assert!((0.0..=1.0).contains(&group[0]) && group[1] >= 0.0, "{group:?}");
        assert!((-1.0..=40.0).contains(&group[2]) && (0.0..=40.0).contains(&group[3]), "{group:?}");
    }
    assert!(mean.chunks_exact(4).any(|g| g[2] > 1.0), "no mean step past the first");

    let loaded = Model::from_bytes(&bytes).unwrap();
    assert_eq!(loaded.config().series_features, vrae::config::SeriesFeatures::Multirocket);
    assert_eq!(loaded.cluster(&batch).unwrap(), clusters);
    let halved: Vec<f32> = batch.row(0).iter().step_by(2).copied().collect();
    let later = SeriesBatch::from_rows(&[halved], 1).unwrap();
    assert_eq!(loaded.cluster(&later).unwrap(), model.cluster(&later).unwrap());

    // Edits are refused by name: means outside their pooling's range (a
    // negative excess, an excess past its bound, a mean step past the
    // last), biases in MiniRocket's layout; and the file read as
    // MiniRocket's kernels has the wrong number of them.
    let edited = |at: usize, value: f32| {
        let mut m = mean.clone();
        m[at] = value;
        m
    };
    let edits: [(&str, Vec<f32>); 4] = [
        ("spectral.kernel_mean", edited(1, -0.5)),
        ("spectral.kernel_mean", edited(5, 1e6)),
        ("spectral.kernel_mean", edited(2, 41.0)),
        ("spectral.kernel_biases", vec![0.0; 2688]),
    ];
    for (index, (name, values)) in edits.into_iter().enumerate() {
        let edited = match index {
            3 => with_shaped_tensor(&bytes, name, &[672, 4], &values),
            _ => with_tensor(&bytes, name, &values),
        };
        let err = Model::from_bytes(&edited).unwrap_err().to_string();
        assert!(err.contains(name), "edit {index}: {err}");
    }
    let err = Model::from_bytes(&with_option(&bytes, "series_features", Some("random_kernels".into()))).unwrap_err().to_string();
    assert!(err.contains("spectral.kernel_channels"), "{err}");
}

#[test]
fn kernels_and_shapes_keep_each_description_beside_its_shape_at_half_weight_each() {
    let (batch, model, clusters) = described_model("kernels_and_shapes", vrae::config::SeriesFeatures::KernelsAndShapes);

    // Three weights (latent, description, shape) and points of the latent,
    // the description on its axes and the 40-step shape.
    let latent = model.latent();
    let bytes = model.to_bytes().unwrap();
    let (_, weights) = stored_floats(&bytes, "spectral.weights");
    assert_eq!(weights.len(), 3);
    let axes = stored_floats(&bytes, "spectral.kernel_axes").0[0];
    let width = latent + axes + 40;
    let (shape, stored) = stored_floats(&bytes, "spectral.points");
    assert_eq!(shape, [batch.len(), width]);
    // The shape part is the z-normalised shape at unit total variance over
    // the training rows, then at half the series part's variance.
    let shapes = unit_total_variance(&z_normalised(&batch), 40);
    let ratio = |raw: &[f32], unit: &[f32]| unit[1] / raw[1];
    let half = std::f32::consts::FRAC_1_SQRT_2;
    let want = ratio(&z_normalised(&batch), &shapes) * half;
    assert!((weights[2] - want).abs() < 1e-4 * want, "{} against {want}", weights[2]);
    for (row, shape) in z_normalised(&batch).chunks_exact(40).enumerate() {
        let scaled: Vec<f32> = shape.iter().map(|v| v * weights[2]).collect();
        let found = stored.chunks_exact(width).any(|p| p[latent + axes..].iter().zip(&scaled).all(|(a, b)| (a - b).abs() < 1e-4));
        assert!(found, "training series {row}: its weighted shape is no stored point's tail");
    }
    // Over the graph points, the description part has total variance 1/2.
    let description: Vec<f32> = stored.chunks_exact(width).flat_map(|p| p[latent..latent + axes].to_vec()).collect();
    let total: f32 = unit_total_variance(&description, axes).iter().zip(&description).map(|(u, d)| d / u).next().unwrap().powi(2);
    assert!((total - 0.5).abs() < 1e-3, "description's total variance {total}");

    let loaded = Model::from_bytes(&bytes).unwrap();
    assert_eq!(loaded.config().series_features, vrae::config::SeriesFeatures::KernelsAndShapes);
    assert_eq!(loaded.cluster(&batch).unwrap(), clusters);
    // Read as kernels alone, the points are too wide: refused by name.
    let err = Model::from_bytes(&with_option(&bytes, "series_features", Some("random_kernels".into()))).unwrap_err().to_string();
    assert!(err.contains("spectral.points"), "{err}");
}

#[test]
fn spectral_series_keeps_the_channels_training_spreads_and_older_files_load_without_them() {
    // Two channels: each series' shape, and the same ten times larger and
    // raised by 50 (another unit and level).
    let (univariate, labels) = two_shapes(24, 11, 30, 30);
    let rows: Vec<Vec<f32>> =
        (0..univariate.len()).map(|r| univariate.row(r).iter().flat_map(|&v| [v, 10.0 * v + 50.0]).collect()).collect();
    let batch = SeriesBatch::from_rows(&rows, 2).unwrap();
    let model = Model::fit(&batch, &small(r#"{"clusters": 2, "clustering": "spectral_series", "epochs": 20}"#), |_| {}).unwrap();
    let clusters = model.cluster(&batch).unwrap();
    // A small, short training: the shapes are mostly apart (0.76 here).
    let ari = adjusted_rand_index(&labels, &clusters).unwrap();
    assert!(ari > 0.6, "sines and square waves not separated: ARI {ari}");

    // The file keeps each channel's population spread over every step.
    let bytes = model.to_bytes().unwrap();
    let (shape, stored) = stored_floats(&bytes, "spectral.channel_spread");
    assert_eq!(shape, [2]);
    for (ch, spread) in stored.iter().enumerate() {
        let values: Vec<f64> = rows.iter().flat_map(|r| r.iter().skip(ch).step_by(2).map(|&v| f64::from(v))).collect();
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let want = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64).sqrt();
        assert!((f64::from(*spread) - want).abs() < 1e-4 * want, "channel {ch}: {spread} vs {want}");
    }
    assert!((stored[1] / stored[0] - 10.0).abs() < 1e-3, "{stored:?}");
    assert_eq!(Model::from_bytes(&bytes).unwrap().cluster(&batch).unwrap(), clusters);

    // Spreads that are not finite and positive are refused by name.
    for spread in [[0.0f32, 1.0], [1.0, -1.0], [f32::NAN, 1.0], [1.0, f32::INFINITY]] {
        let err = Model::from_bytes(&with_tensor(&bytes, "spectral.channel_spread", &spread)).unwrap_err().to_string();
        assert!(err.contains("spectral.channel_spread"), "{spread:?}: {err}");
    }
    // A file written before the spreads were kept loads and z-normalises
    // each channel on its own, as it did.
    let older = Model::from_bytes(&without_tensor(&bytes, "spectral.channel_spread")).unwrap();
    assert!(older.cluster(&batch).unwrap().iter().all(|&c| c < 2));
    assert!(!older.to_bytes().unwrap().windows(23).any(|w| w == b"spectral.channel_spread"));
}

#[test]
fn version_one_models_load_with_plain_kmeans() {
    let (batch, _) = two_shapes(12, 22, 20, 20);
    let model = Model::fit(&batch, &small(r#"{"clusters": 2, "clustering": "kmeans", "kmeans_standardize": false}"#), |_| {}).unwrap();
    // A version-1 file: no kmeans.scale, and a config from before the option
    // (here it even claims standardisation, which version 1 never did).
    let v1 = with_metadata(&model.to_bytes().unwrap(), |meta| {
        meta.insert("format_version".into(), "1".into());
        edit_config(meta, |config| drop(config.insert("kmeans_standardize".into(), true.into())));
    });
    let loaded = Model::from_bytes(&v1).unwrap();
    assert!(!loaded.config().kmeans_standardize);
    assert_eq!(loaded.cluster_scale(), None);
    assert_eq!(loaded.cluster(&batch).unwrap(), model.cluster(&batch).unwrap());
    // As version-1 files really are: no such key, whose default is now true.
    let v1_plain = with_metadata(&model.to_bytes().unwrap(), |meta| {
        meta.insert("format_version".into(), "1".into());
        edit_config(meta, |config| drop(config.remove("kmeans_standardize")));
    });
    let loaded = Model::from_bytes(&v1_plain).unwrap();
    assert!(!loaded.config().kmeans_standardize);
    assert_eq!(loaded.cluster(&batch).unwrap(), model.cluster(&batch).unwrap());

    // A version-2 file that says standardised but lacks the scales is refused.
    let broken = with_metadata(&model.to_bytes().unwrap(), |meta| {
        edit_config(meta, |config| drop(config.insert("kmeans_standardize".into(), true.into())));
    });
    let err = Model::from_bytes(&broken).unwrap_err().to_string();
    assert!(err.contains("kmeans.scale"), "{err}");
}

#[test]
fn a_model_whose_config_is_not_a_json_object_is_refused() {
    let (batch, _) = two_shapes(12, 22, 20, 20);
    let bytes = Model::fit(&batch, &small("{}"), |_| {}).unwrap().to_bytes().unwrap();
    let cases = [
        ("null", "not a valid JSON object"),
        ("[1, 2]", "not a valid JSON object"),
        ("{\"hidden_size\": 8", "not a valid JSON object"),
        ("{\"no_such_option\": 1}", "unknown option `no_such_option`"),
    ];
    for (bad, expected) in cases {
        let broken = with_metadata(&bytes, |meta| drop(meta.insert("config".into(), bad.into())));
        let err = Model::from_bytes(&broken).unwrap_err().to_string();
        assert!(err.contains("config") && err.contains(expected), "{bad}: {err}");
    }
}

#[test]
fn models_saved_before_forget_bias_existed_report_pytorchs_initialisation() {
    let (batch, _) = two_shapes(12, 22, 20, 20);
    let model = Model::fit(&batch, &small("{}"), |_| {}).unwrap();
    assert_eq!(model.config().forget_bias, 2.0);
    assert_eq!(Model::from_bytes(&model.to_bytes().unwrap()).unwrap().config().forget_bias, 2.0);
    // The same file as an older build wrote it: no `forget_bias` in the
    // config. It was trained with PyTorch's initialisation, not today's
    // default, and the model says so.
    let older = with_option(&model.to_bytes().unwrap(), "forget_bias", None);
    let loaded = Model::from_bytes(&older).unwrap();
    assert_eq!(loaded.config().forget_bias, 0.0);
    assert_eq!(loaded.embed(&batch).unwrap(), model.embed(&batch).unwrap());
}

#[test]
fn models_saved_before_shift_tolerance_existed_report_none() {
    let (batch, _) = two_shapes(12, 22, 20, 20);
    let model = Model::fit(&batch, &small("{}"), |_| {}).unwrap();
    assert_eq!(model.config().shift_tolerance, 3);
    let older = with_option(&model.to_bytes().unwrap(), "shift_tolerance", None);
    assert_eq!(Model::from_bytes(&older).unwrap().config().shift_tolerance, 0);
    // A training option: the same weights embed the same.
    assert_eq!(Model::from_bytes(&older).unwrap().embed(&batch).unwrap(), model.embed(&batch).unwrap());
    let plain = Model::fit(&batch, &small(r#"{"shift_tolerance": 0}"#), |_| {}).unwrap();
    assert_ne!(plain.embed(&batch).unwrap(), model.embed(&batch).unwrap(), "the option changed nothing in training");
}

/// `n` noisy copies each of a sine, a square wave and a ramp, 40 steps.
fn three_shapes(n: usize, seed: u64) -> (SeriesBatch<'static>, Vec<usize>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut rows, mut labels) = (Vec::new(), Vec::new());
    for i in 0..3 * n {
        let shape = i % 3;
        let row: Vec<f32> = (0..40)
            .map(|t| {
                let x = t as f32 / 40.0;
                let clean = match shape {
                    0 => (x * std::f32::consts::TAU).sin(),
                    1 => {
                        if x < 0.5 {
                            1.0
                        } else {
                            -1.0
                        }
                    }
                    _ => 2.0 * x - 1.0,
                };
                clean + rng.random_range(-0.15..0.15)
            })
            .collect();
        rows.push(row);
        labels.push(shape);
    }
    (SeriesBatch::from_rows(&rows, 1).unwrap(), labels)
}

#[test]
fn clusters_auto_finds_the_number_of_shapes_and_keeps_it() {
    // Seeded: on this data the silhouette peaks at 3 (the shapes), with a
    // margin of more than 0.05 over any other k up to 6 (both asserted), so a
    // regression in training or in the criterion fails here.
    let (batch, labels) = three_shapes(30, 31);
    let config = small(
        r#"{"hidden_size": 24, "latent": 6, "epochs": 40, "batch_size": 8, "learning_rate": 0.003, "clusters": "auto", "clusters_max": 6}"#,
    );
    let model = Model::fit(&batch, &config, |_| {}).unwrap();
    assert_eq!(model.clusters(), Some(3), "{:?}", model.summary().cluster_selection);
    let scores = model.summary().cluster_selection.clone().expect("auto keeps every candidate's score");
    assert_eq!(scores.iter().map(|s| s.k).collect::<Vec<_>>(), vec![2, 3, 4, 5, 6]);
    let best = scores.iter().find(|s| s.k == 3).unwrap().silhouette;
    assert!(scores.iter().filter(|s| s.k != 3).all(|s| s.silhouette < best - 0.05), "{scores:?}");
    let nmi = normalized_mutual_info(&labels, &model.cluster(&batch).unwrap()).unwrap();
    assert!(nmi > 0.9, "NMI {nmi}");
    // Saved and loaded: the same k, the same scores, the same clusters.
    let loaded = Model::from_bytes(&model.to_bytes().unwrap()).unwrap();
    assert_eq!(loaded.clusters(), Some(3));
    assert_eq!(loaded.summary().cluster_selection, model.summary().cluster_selection);
    assert_eq!(loaded.cluster(&batch).unwrap(), model.cluster(&batch).unwrap());
    assert_eq!(loaded.config().clusters, Some(vrae::config::Clusters::Auto));
    let info: serde_json::Value = serde_json::from_str(&vrae::model_cache::model_info_json(&loaded)).unwrap();
    assert_eq!(info["clusters"], 3);
    assert_eq!(info["config"]["clusters"], "auto");
    assert_eq!(info["summary"]["cluster_selection"].as_array().unwrap().len(), 5);
}

#[test]
fn paa_steps_averages_long_series_for_the_network_and_stretches_reconstructions_back() {
    // Long, slow shapes: averaging 5 neighbouring steps keeps them. The
    // loss is the plain one so that this checks the averaging alone (how
    // `shift_tolerance` clusters is the quality suite's question).
    let (batch, labels) = two_shapes(24, 41, 180, 200);
    let config = small(
        r#"{"hidden_size": 16, "latent": 4, "epochs": 30, "batch_size": 8, "learning_rate": 0.003, "clusters": 2, "paa_steps": 40, "shift_tolerance": 0}"#,
    );
    let model = Model::fit(&batch, &config, |_| {}).unwrap();
    assert_eq!(model.window(), 5, "200 steps over at most 40");
    assert_eq!(model.summary().longest_series, 200);
    let ari = adjusted_rand_index(&labels, &model.cluster(&batch).unwrap()).unwrap();
    assert!(ari > 0.8, "ARI {ari}");
    // Reconstructions have the input's lengths, in steps of 5 equal values.
    let rec = model.reconstruct(&batch).unwrap();
    assert_eq!(rec.len(), batch.total_steps());
    let first = &rec[..batch.steps(0)];
    assert!(first.chunks(5).all(|w| w.iter().all(|v| *v == w[0])));
    let prototypes = model.prototypes(Some(23)).unwrap();
    assert_eq!(prototypes.len(), 2 * 23);
    // One series alone embeds as it does in the batch; the window travels
    // with the model.
    let single = SeriesBatch::from_rows(&[batch.row(7).to_vec()], 1).unwrap();
    let loaded = Model::from_bytes(&model.to_bytes().unwrap()).unwrap();
    assert_eq!(loaded.window(), 5);
    let (alone, inside) = (loaded.embed(&single).unwrap(), model.embed(&batch).unwrap());
    assert!(alone.iter().zip(&inside[7 * 4..8 * 4]).all(|(a, b)| (a - b).abs() < 1e-5));
    // Short series are left as they are.
    let (short, _) = two_shapes(8, 42, 20, 30);
    assert_eq!(Model::fit(&short, &small(r#"{"paa_steps": 40}"#), |_| {}).unwrap().window(), 1);
}
