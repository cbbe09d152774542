//! Recurrent layers: the fused whole-sequence LSTM/GRU op used for training
//! and inference on the CPU, the composed-op layer used on other devices,
//! and the step-by-step reference both are tested against.
//!
//! A layer's parameters live in one packed matrix of shape
//! `[input + hidden + 2, gates * hidden]`: the rows are `W_ih^T`, `W_hh^T`,
//! `b_ih` and `b_hh` (PyTorch's gate order: LSTM i, f, g, o; GRU r, z, n).
//! Packing keeps a layer to three tensor arguments (input, weights, initial
//! state), which is what a Candle custom op can differentiate.

mod activations;
mod composed;
mod fused;
pub(crate) mod matmul;
mod pool;
mod reference;

pub use composed::composed_layer;
pub(crate) use fused::recomputes_gates;
pub use fused::{dealt_order, recurrent_layer};
// The reference serves the tests only: this module's own, and (with the
// `internals` feature) the integration tests.
#[cfg(any(test, feature = "internals"))]
pub use reference::reference_layer;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

/// Whether the layers' kernels may use the CPU's SIMD instructions (AVX2
/// and FMA, detected at run time) where it has them.
static SIMD_KERNELS: AtomicBool = AtomicBool::new(true);

/// Turns the SIMD kernels off (or back on) for the whole process. Off, every
/// kernel takes its portable path, the one machines without AVX2 run; the
/// tests use it to check that path on machines that have AVX2. Results
/// agree with the SIMD path to rounding, not bit for bit.
pub fn set_simd_kernels(on: bool) {
    SIMD_KERNELS.store(on, Ordering::Relaxed);
}

/// Whether the SIMD kernels are on (they are unless turned off) and this
/// CPU has them.
pub fn simd_kernels_in_use() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        SIMD_KERNELS.load(Ordering::Relaxed) && std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// One recurrent layer on the tensors' device: the fused op on the CPU,
/// the composed-op layer elsewhere (CUDA). Same contract as
/// [`recurrent_layer`]; `train` only matters to the fused op, which skips
/// saving activations at inference (the composed layer records its graph
/// only when its inputs are variables).
pub fn layer(
    x: &Tensor,
    w: &Tensor,
    h0: &Tensor,
    spec: LayerSpec,
    lengths: &Arc<[usize]>,
    output: LayerOutput,
    train: bool,
) -> candle_core::Result<Tensor> {
    if x.device().is_cpu() {
        recurrent_layer(x, w, h0, spec, lengths, output, train)
    } else {
        composed_layer(x, w, h0, spec, lengths, output)
    }
}

/// Which recurrent cell a layer uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Block {
    /// Long short-term memory (PyTorch `nn.LSTM` equations).
    Lstm,
    /// Gated recurrent unit (PyTorch `nn.GRU` equations).
    Gru,
}

impl Block {
    /// Number of gates, i.e. blocks of `hidden` columns in the packed weights.
    pub fn gates(self) -> usize {
        match self {
            Block::Lstm => 4,
            Block::Gru => 3,
        }
    }
}

/// The shape of one recurrent layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerSpec {
    /// The recurrent cell.
    pub block: Block,
    /// Values per time step going in (0: the layer sees no input, only biases).
    pub input: usize,
    /// Hidden state size.
    pub hidden: usize,
}

impl LayerSpec {
    /// Columns of the packed weight matrix (`gates * hidden`).
    pub fn gate_width(&self) -> usize {
        self.block.gates() * self.hidden
    }

    /// Rows of the packed weight matrix (`input + hidden + 2`).
    pub fn packed_rows(&self) -> usize {
        self.input + self.hidden + 2
    }
}

/// What a layer returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerOutput {
    /// Every step's hidden state, `[steps, batch, hidden]`, zero past a row's length.
    Sequence,
    /// Each row's hidden state at its own last step, `[batch, hidden]`.
    LastState,
}
