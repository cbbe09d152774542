//! The fused recurrent op (the CPU path) and the composed-op layer (the path
//! on other devices, run here on the CPU) must match the step-by-step Candle
//! reference, with the kernels this CPU selects (AVX2 and FMA where it has
//! them). `portable_kernels.rs` runs the same checks on the portable path.

#[path = "support/rnn_checks.rs"]
mod rnn_checks;

#[test]
fn fused_and_composed_match_reference_on_random_shapes() {
    rnn_checks::fused_and_composed_match_reference_on_random_shapes();
}

#[test]
fn stacked_layers_match_reference_end_to_end() {
    rnn_checks::stacked_layers_match_reference_end_to_end();
}

#[test]
fn unsorted_or_out_of_range_lengths_are_errors_not_panics() {
    rnn_checks::unsorted_or_out_of_range_lengths_are_errors_not_panics();
}

#[test]
fn inference_path_matches_training_path() {
    rnn_checks::inference_path_matches_training_path();
}
