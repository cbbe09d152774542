//! The step-by-step reference layer, built from ordinary Candle ops so that
//! Candle's autograd differentiates it. It is slow (dozens of small ops per
//! step) and exists to check the fused op: same packed weights, same
//! equations, same handling of variable lengths.

use candle_core::{DType, Tensor, D};

use super::{Block, LayerOutput, LayerSpec};

/// Same contract as [`super::recurrent_layer`], computed one step at a time.
pub fn reference_layer(
    x: &Tensor,
    w: &Tensor,
    h0: &Tensor,
    spec: LayerSpec,
    lengths: &[usize],
    output: LayerOutput,
) -> candle_core::Result<Tensor> {
    let (steps, batch, _) = x.dims3()?;
    let (i, h) = (spec.input, spec.hidden);
    let w_ih_t = w.narrow(0, 0, i)?;
    let w_hh_t = w.narrow(0, i, h)?;
    let b_ih = w.narrow(0, i + h, 1)?;
    let b_hh = w.narrow(0, i + h + 1, 1)?;
    let device = x.device();

    let mut h_state = h0.clone();
    let mut c_state = Tensor::zeros((batch, h), DType::F32, device)?;
    let mut outputs = Vec::with_capacity(steps);
    for t in 0..steps {
        let running: Vec<f32> = lengths.iter().map(|&l| if l > t { 1.0 } else { 0.0 }).collect();
        let mask = Tensor::from_vec(running, (batch, 1), device)?;
        let x_part = if i > 0 {
            x.get(t)?.matmul(&w_ih_t)?.broadcast_add(&b_ih)?
        } else {
            b_ih.broadcast_as((batch, spec.gate_width()))?.contiguous()?
        };
        let h_part = h_state.matmul(&w_hh_t)?.broadcast_add(&b_hh)?;
        let (h_new, c_new) = match spec.block {
            Block::Lstm => {
                let gates = (x_part + h_part)?;
                let ig = candle_nn::ops::sigmoid(&gates.narrow(D::Minus1, 0, h)?)?;
                let fg = candle_nn::ops::sigmoid(&gates.narrow(D::Minus1, h, h)?)?;
                let gg = gates.narrow(D::Minus1, 2 * h, h)?.tanh()?;
                let og = candle_nn::ops::sigmoid(&gates.narrow(D::Minus1, 3 * h, h)?)?;
                let c = ((fg * &c_state)? + (ig * gg)?)?;
                let h_new = (og * c.tanh()?)?;
                (h_new, c)
            }
            Block::Gru => {
                let r = candle_nn::ops::sigmoid(&(x_part.narrow(D::Minus1, 0, h)? + h_part.narrow(D::Minus1, 0, h)?)?)?;
                let z = candle_nn::ops::sigmoid(&(x_part.narrow(D::Minus1, h, h)? + h_part.narrow(D::Minus1, h, h)?)?)?;
                let n = (x_part.narrow(D::Minus1, 2 * h, h)? + (r * h_part.narrow(D::Minus1, 2 * h, h)?)?)?.tanh()?;
                let h_new = ((z.affine(-1.0, 1.0)? * n)? + (z * &h_state)?)?;
                (h_new, c_state.clone())
            }
        };
        // Rows past their length keep their state and output zeros.
        let keep = mask.affine(-1.0, 1.0)?;
        outputs.push(h_new.broadcast_mul(&mask)?);
        h_state = (h_new.broadcast_mul(&mask)? + h_state.broadcast_mul(&keep)?)?;
        c_state = (c_new.broadcast_mul(&mask)? + c_state.broadcast_mul(&keep)?)?;
    }
    match output {
        LayerOutput::Sequence => Tensor::stack(&outputs, 0),
        LayerOutput::LastState => Ok(h_state),
    }
}
