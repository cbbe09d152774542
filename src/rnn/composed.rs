//! The recurrent layer built from ordinary Candle tensor ops, for devices
//! other than the CPU (the fused op has a CPU kernel only). Candle's
//! autograd differentiates it, and every op it uses has a CUDA kernel.
//!
//! It keeps the fused op's two structural savings: the input projection of
//! all steps is one matrix product, and each step runs only the rows still
//! inside their length (rows are sorted longest first, so those are a
//! prefix of the batch). Each step is then one small product and a handful
//! of element-wise kernels for the gates.

use candle_core::{DType, Tensor, D};

use super::fused::{check_lengths, op_error};
use super::{Block, LayerOutput, LayerSpec};

/// Same contract as [`super::recurrent_layer`] (lengths non-increasing),
/// on any device.
pub fn composed_layer(
    x: &Tensor,
    w: &Tensor,
    h0: &Tensor,
    spec: LayerSpec,
    lengths: &[usize],
    output: LayerOutput,
) -> candle_core::Result<Tensor> {
    let (steps, batch, input) = x.dims3()?;
    if input != spec.input {
        return Err(op_error(format!("input has {input} values per step, layer expects {}", spec.input)));
    }
    check_lengths(lengths, steps, batch)?;
    let (i, h, width) = (spec.input, spec.hidden, spec.gate_width());
    let w_hh_t = w.narrow(0, i, h)?;
    let b_ih = w.narrow(0, i + h, 1)?;
    let b_hh = w.narrow(0, i + h + 1, 1)?;
    let device = x.device();

    // [steps, batch, width]: x W_ih^T + b_ih for every step at once. A layer
    // without input (the zero-input decoder) only adds b_ih: no tensor, so
    // that the backward pass does not carry a full-size gradient per step.
    let x_proj = if i > 0 {
        Some(x.reshape((steps * batch, i))?.matmul(&w.narrow(0, 0, i)?)?.broadcast_add(&b_ih)?.reshape((steps, batch, width))?)
    } else {
        None
    };

    let mut h_state = h0.clone();
    let mut c_state = Tensor::zeros((batch, h), DType::F32, device)?;
    let mut outputs = Vec::with_capacity(if output == LayerOutput::Sequence { steps } else { 0 });
    for t in 0..steps {
        let running = lengths.iter().take_while(|&&l| l > t).count();
        if running == 0 {
            // Every row ended (lengths[0] < steps): zeros out, state kept.
            if output == LayerOutput::Sequence {
                outputs.push(Tensor::zeros((batch, h), DType::F32, device)?);
            }
            continue;
        }
        let h_run = h_state.narrow(0, 0, running)?;
        let x_part = match &x_proj {
            Some(p) => p.get(t)?.narrow(0, 0, running)?,
            None => b_ih.broadcast_as((running, width))?,
        };
        let h_part = h_run.matmul(&w_hh_t)?.broadcast_add(&b_hh)?;
        let (h_new, c_new) = match spec.block {
            Block::Lstm => {
                let gates = (x_part + h_part)?;
                let ifo = candle_nn::ops::sigmoid(&gates)?;
                let ig = ifo.narrow(D::Minus1, 0, h)?;
                let fg = ifo.narrow(D::Minus1, h, h)?;
                let og = ifo.narrow(D::Minus1, 3 * h, h)?;
                let gg = gates.narrow(D::Minus1, 2 * h, h)?.tanh()?;
                let c = ((fg * c_state.narrow(0, 0, running)?)? + (ig * gg)?)?;
                let h_new = (og * c.tanh()?)?;
                (h_new, Some(c))
            }
            Block::Gru => {
                let rz = candle_nn::ops::sigmoid(&(x_part.narrow(D::Minus1, 0, 2 * h)? + h_part.narrow(D::Minus1, 0, 2 * h)?)?)?;
                let r = rz.narrow(D::Minus1, 0, h)?;
                let z = rz.narrow(D::Minus1, h, h)?;
                let n = (x_part.narrow(D::Minus1, 2 * h, h)? + (r * h_part.narrow(D::Minus1, 2 * h, h)?)?)?.tanh()?;
                let h_new = ((z.affine(-1.0, 1.0)? * n)? + (z * &h_run)?)?;
                (h_new, None)
            }
        };
        let ended = batch - running;
        if output == LayerOutput::Sequence {
            outputs.push(if ended == 0 {
                h_new.clone()
            } else {
                // Rows past their length output zeros.
                Tensor::cat(&[&h_new, &Tensor::zeros((ended, h), DType::F32, device)?], 0)?
            });
        }
        // Rows past their length keep their state.
        h_state = keep_tail(h_new, &h_state, running)?;
        if let Some(c) = c_new {
            c_state = keep_tail(c, &c_state, running)?;
        }
    }
    match output {
        LayerOutput::Sequence => Tensor::stack(&outputs, 0),
        LayerOutput::LastState => Ok(h_state),
    }
}

/// `head` for the first `running` rows, `state`'s own rows after them.
fn keep_tail(head: Tensor, state: &Tensor, running: usize) -> candle_core::Result<Tensor> {
    let rows = state.dim(0)?;
    if running == rows {
        Ok(head)
    } else {
        Tensor::cat(&[&head, &state.narrow(0, running, rows - running)?], 0)
    }
}
