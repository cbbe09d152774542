//! The checks of `fused_vs_reference.rs` with the SIMD kernels turned off
//! (`vrae::rnn::set_simd_kernels(false)`), so that the portable kernels (the
//! ones machines without AVX2 run) are tested on machines that have AVX2.
//! A test binary of its own: the switch is process-wide.

use std::sync::{Mutex, MutexGuard};

#[path = "support/rnn_checks.rs"]
#[allow(dead_code)] // the length checks do not depend on the kernels
mod rnn_checks;

/// The tests of this binary run one at a time, so that the last one can
/// switch the kernels mid-test without the others seeing it.
static SWITCH: Mutex<()> = Mutex::new(());

fn portable() -> MutexGuard<'static, ()> {
    let guard = SWITCH.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    vrae::rnn::set_simd_kernels(false);
    assert!(!vrae::rnn::simd_kernels_in_use());
    guard
}

#[test]
fn portable_fused_and_composed_match_reference_on_random_shapes() {
    let _portable = portable();
    rnn_checks::fused_and_composed_match_reference_on_random_shapes();
}

#[test]
fn portable_stacked_layers_match_reference_end_to_end() {
    let _portable = portable();
    rnn_checks::stacked_layers_match_reference_end_to_end();
}

#[test]
fn portable_inference_path_matches_training_path() {
    let _portable = portable();
    rnn_checks::inference_path_matches_training_path();
}

#[test]
fn portable_and_simd_kernels_agree_on_a_model() {
    // A small model trained and embedded with each path: same results to
    // rounding (both paths compute the same sums in different orders).
    use vrae::{Model, SeriesBatch, VraeConfig};
    let rows: Vec<Vec<f32>> = (0..48).map(|r| (0..30).map(|t| ((t + r) as f32 * 0.3).sin() * (1.0 + (r % 3) as f32)).collect()).collect();
    let batch = SeriesBatch::from_rows(&rows, 1).unwrap();
    let config =
        VraeConfig::from_json(r#"{"hidden_size": 12, "latent": 4, "epochs": 3, "batch_size": 16, "seed": 5, "threads": 1}"#).unwrap();
    let guard = portable();
    let portable_latents = Model::fit(&batch, &config, |_| {}).unwrap().embed(&batch).unwrap();
    vrae::rnn::set_simd_kernels(true);
    let simd_available = vrae::rnn::simd_kernels_in_use();
    let with_simd = Model::fit(&batch, &config, |_| {}).unwrap().embed(&batch).unwrap();
    drop(guard);
    let scale = with_simd.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let diff = with_simd.iter().zip(&portable_latents).fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(diff <= 1e-3 * scale.max(1.0), "latents differ by {diff} (scale {scale}); SIMD available: {simd_available}");
}
