//! The checks of the recurrent layers against the step-by-step Candle
//! reference, shared by `tests/fused_vs_reference.rs` (the kernels this CPU
//! selects) and `tests/portable_kernels.rs` (the portable kernels): outputs
//! and every gradient (input, packed weights, initial state) within 1e-4
//! relative, for both blocks, several shapes, depths of input, and variable
//! lengths.

use std::sync::Arc;

use candle_core::{Device, Tensor, Var};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vrae::rnn::{composed_layer, recurrent_layer, reference_layer, Block, LayerOutput, LayerSpec};

fn random(rng: &mut StdRng, dims: &[usize], scale: f32) -> Tensor {
    let n: usize = dims.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.random_range(-scale..scale)).collect();
    Tensor::from_vec(v, dims, &Device::Cpu).unwrap()
}

/// max |a - b| / max |b|
fn rel_err(a: &Tensor, b: &Tensor) -> f32 {
    let a = a.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let b = b.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(a.len(), b.len());
    let diff = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    let scale = b.iter().map(|y| y.abs()).fold(0.0f32, f32::max);
    if scale == 0.0 {
        diff
    } else {
        diff / scale
    }
}

struct Case {
    block: Block,
    input: usize,
    hidden: usize,
    lengths: Vec<usize>,
    output: LayerOutput,
}

fn check(case: &Case, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let spec = LayerSpec { block: case.block, input: case.input, hidden: case.hidden };
    let (t, b) = (case.lengths[0], case.lengths.len());
    let x = Var::from_tensor(&random(&mut rng, &[t, b, case.input], 1.0)).unwrap();
    let w = Var::from_tensor(&random(&mut rng, &[spec.packed_rows(), spec.gate_width()], 0.5)).unwrap();
    let h0 = Var::from_tensor(&random(&mut rng, &[b, case.hidden], 0.8)).unwrap();
    let out_dims: Vec<usize> = match case.output {
        LayerOutput::Sequence => vec![t, b, case.hidden],
        LayerOutput::LastState => vec![b, case.hidden],
    };
    let probe = random(&mut rng, &out_dims, 1.0);
    let lengths: Arc<[usize]> = case.lengths.clone().into();

    let fused = recurrent_layer(&x, &w, &h0, spec, &lengths, case.output, true).unwrap();
    let composed = composed_layer(&x, &w, &h0, spec, &case.lengths, case.output).unwrap();
    let reference = reference_layer(&x, &w, &h0, spec, &case.lengths, case.output).unwrap();
    let what = format!("{:?} in={} hid={} lens={:?} {:?}", case.block, case.input, case.hidden, case.lengths, case.output);
    let g_ref = (&reference * &probe).unwrap().sum_all().unwrap().backward().unwrap();
    for (path, out) in [("fused", fused), ("composed", composed)] {
        let e = rel_err(&out, &reference);
        assert!(e < 1e-4, "{what}: {path} output rel err {e}");
        let grads = (out * &probe).unwrap().sum_all().unwrap().backward().unwrap();
        for (name, var) in [("w", &w), ("h0", &h0), ("x", &x)] {
            if var.elem_count() == 0 {
                continue;
            }
            let g = grads.get(var).unwrap_or_else(|| panic!("{what}: no {path} grad for {name}"));
            let gr = g_ref.get(var).unwrap_or_else(|| panic!("{what}: no reference grad for {name}"));
            let e = rel_err(g, gr);
            assert!(e < 1e-4, "{what}: {path} d{name} rel err {e}");
        }
    }
}

fn random_lengths(rng: &mut StdRng, batch: usize, max: usize, equal: bool) -> Vec<usize> {
    let mut l: Vec<usize> = (0..batch).map(|_| if equal { max } else { rng.random_range(1..=max) }).collect();
    l.sort_by(|a, b| b.cmp(a));
    l[0] = max;
    l
}

pub fn fused_and_composed_match_reference_on_random_shapes() {
    let mut rng = StdRng::seed_from_u64(7);
    let mut n = 0;
    for block in [Block::Lstm, Block::Gru] {
        for output in [LayerOutput::Sequence, LayerOutput::LastState] {
            for &(input, hidden, batch, steps, equal) in &[
                (1, 5, 1, 1, true),
                (3, 7, 3, 9, false),
                (0, 6, 5, 12, false),
                (2, 17, 20, 15, false), // two chunks, uneven
                (4, 9, 37, 11, true),   // three chunks
                (1, 32, 33, 25, false),
                (1, 8, 20, 600, false), // the backward pass in three segments of steps
            ] {
                let lengths = random_lengths(&mut rng, batch, steps, equal);
                check(&Case { block, input, hidden, lengths, output }, 100 + n);
                n += 1;
            }
        }
    }
}

pub fn stacked_layers_match_reference_end_to_end() {
    // Two layers, the second fed by the first's sequence, variable lengths.
    for block in [Block::Lstm, Block::Gru] {
        let mut rng = StdRng::seed_from_u64(3);
        let lengths = vec![10, 8, 8, 3, 1];
        let (t, b, c, h) = (10, 5, 2, 6);
        let x = Var::from_tensor(&random(&mut rng, &[t, b, c], 1.0)).unwrap();
        let s1 = LayerSpec { block, input: c, hidden: h };
        let s2 = LayerSpec { block, input: h, hidden: h };
        let w1 = Var::from_tensor(&random(&mut rng, &[s1.packed_rows(), s1.gate_width()], 0.5)).unwrap();
        let w2 = Var::from_tensor(&random(&mut rng, &[s2.packed_rows(), s2.gate_width()], 0.5)).unwrap();
        let h0 = Tensor::zeros((b, h), candle_core::DType::F32, &Device::Cpu).unwrap();
        let arc: Arc<[usize]> = lengths.clone().into();
        let f1 = recurrent_layer(&x, &w1, &h0, s1, &arc, LayerOutput::Sequence, true).unwrap();
        let f2 = recurrent_layer(&f1, &w2, &h0, s2, &arc, LayerOutput::LastState, true).unwrap();
        let r1 = reference_layer(&x, &w1, &h0, s1, &lengths, LayerOutput::Sequence).unwrap();
        let r2 = reference_layer(&r1, &w2, &h0, s2, &lengths, LayerOutput::LastState).unwrap();
        assert!(rel_err(&f2, &r2) < 1e-4);
        let gf = f2.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        let gr = r2.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        for var in [&x, &w1, &w2] {
            let e = rel_err(gf.get(var).unwrap(), gr.get(var).unwrap());
            assert!(e < 1e-4, "{block:?}: rel err {e}");
        }
    }
}

pub fn unsorted_or_out_of_range_lengths_are_errors_not_panics() {
    let spec = LayerSpec { block: Block::Lstm, input: 1, hidden: 4 };
    let x = Tensor::zeros((5, 2, 1), candle_core::DType::F32, &Device::Cpu).unwrap();
    let w = Tensor::zeros((spec.packed_rows(), spec.gate_width()), candle_core::DType::F32, &Device::Cpu).unwrap();
    let h0 = Tensor::zeros((2, 4), candle_core::DType::F32, &Device::Cpu).unwrap();
    for lengths in [vec![3usize, 5], vec![5, 0], vec![6, 5], vec![5]] {
        let arc: Arc<[usize]> = lengths.clone().into();
        let err = recurrent_layer(&x, &w, &h0, spec, &arc, LayerOutput::Sequence, false);
        assert!(err.is_err(), "lengths {lengths:?} accepted");
    }
}

pub fn inference_path_matches_training_path() {
    // Inference keeps only a step or two of state; it must compute the same thing.
    let mut rng = StdRng::seed_from_u64(11);
    for block in [Block::Lstm, Block::Gru] {
        for output in [LayerOutput::Sequence, LayerOutput::LastState] {
            for &(input, hidden, batch, steps) in &[(1, 8, 5, 9), (3, 20, 40, 17), (0, 6, 300, 4)] {
                let spec = LayerSpec { block, input, hidden };
                let lengths: Arc<[usize]> = random_lengths(&mut rng, batch, steps, false).into();
                let x = random(&mut rng, &[steps, batch, input], 1.0);
                let w = random(&mut rng, &[spec.packed_rows(), spec.gate_width()], 0.5);
                let h0 = random(&mut rng, &[batch, hidden], 0.5);
                let trained = recurrent_layer(&x, &w, &h0, spec, &lengths, output, true).unwrap();
                let inferred = recurrent_layer(&x, &w, &h0, spec, &lengths, output, false).unwrap();
                let e = rel_err(&inferred, &trained);
                assert!(e < 1e-6, "{block:?} {output:?} {input}x{hidden}x{batch}: {e}");
            }
        }
    }
}
