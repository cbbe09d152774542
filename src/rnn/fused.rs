//! The fused recurrent layer: one Candle custom op runs a whole LSTM or GRU
//! layer over a whole (variable-length) batch, forward and backward.
//!
//! Why fused: at hidden size 90 and batch 32 a step-by-step graph spends its
//! time on per-op overhead, not arithmetic. Here the input projection of all
//! steps is one matrix product, each step is one small product plus one gate
//! update loop, and backpropagation through time is written by hand.
//!
//! Layout: inputs and sequence outputs are time-major, `[steps, batch, _]`.
//! The batch is cut into fixed-size row chunks that run their recurrences
//! independently on the rayon pool; chunk sizes depend only on the batch
//! size, so results are bit-identical whatever the thread count. Each
//! chunk's rows must be sorted by length, longest first, so that the rows
//! still running at step `t` are a prefix of the chunk and each step's
//! product shrinks as short series end (no padding is computed or enters a
//! gradient). A batch sorted as a whole satisfies that; [`dealt_order`]
//! also balances the chunks' work.

use std::sync::{Arc, Mutex};

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp3, DType, Layout, Shape, Storage, Tensor};
use rayon::prelude::*;

use super::activations::{sigmoid, sigmoid_in_place, tanh, tanh_in_place};
use super::matmul::{matmul, matmul_packed, MatRef, PackedPanels};
use super::pool;
use super::{Block, LayerOutput, LayerSpec};

type CResult<T> = candle_core::Result<T>;

pub(super) fn op_error(message: impl Into<String>) -> candle_core::Error {
    candle_core::Error::Msg(format!("fused recurrent layer: {}", message.into()))
}

/// Runs one recurrent layer over a time-major batch.
///
/// * `x`: `[steps, batch, spec.input]` f32 (zero-sized last dim when `input == 0`).
/// * `w`: packed weights `[spec.packed_rows(), spec.gate_width()]`.
/// * `h0`: initial hidden state `[batch, hidden]` (LSTM cell state starts at zero).
/// * `lengths`: each row's true length, each in `1..=steps`, non-increasing
///   within each chunk (see [`dealt_order`]), the first row the longest.
/// * `train`: keep the activations for the backward pass and register the op
///   with autograd; inference skips both.
pub fn recurrent_layer(
    x: &Tensor,
    w: &Tensor,
    h0: &Tensor,
    spec: LayerSpec,
    lengths: &Arc<[usize]>,
    output: LayerOutput,
    train: bool,
) -> CResult<Tensor> {
    let (steps, batch, input) = x.dims3()?;
    if input != spec.input {
        return Err(op_error(format!("input has {input} values per step, layer expects {}", spec.input)));
    }
    check_lengths_per_chunk(lengths, steps, batch)?;
    if spec.hidden == 0 || spec.hidden > MAX_HIDDEN {
        return Err(op_error(format!("hidden size {} outside 1..={MAX_HIDDEN}", spec.hidden)));
    }
    let recompute = train && recomputes_gates(spec, steps, batch);
    FusedLayer { spec, steps, batch, lengths: lengths.clone(), output, save: train, recompute, saved: Mutex::new(None) }.apply(x, w, h0)
}

/// Whether training a layer on `batch` rows of `steps` steps recomputes its
/// gates in the backward pass: where an LSTM layer's gates and tanh(c) for
/// every step would take more than RECOMPUTE_ABOVE_BYTES (batch 32, hidden
/// 90: above about 4,600 steps), each segment's are recomputed instead of
/// kept. Same kernels on the same values, so the same bits, for about a
/// fifth more training time on those series. The GRU keeps them: its input
/// projection is one product over all steps up front, which a segment
/// could not reproduce bit for bit.
pub(crate) fn recomputes_gates(spec: LayerSpec, steps: usize, batch: usize) -> bool {
    let kept_bytes = steps.saturating_mul(batch).saturating_mul(5 * spec.hidden).saturating_mul(std::mem::size_of::<f32>());
    spec.block == Block::Lstm && kept_bytes > RECOMPUTE_ABOVE_BYTES
}

/// Checks a whole batch sorted longest first (what the composed layer
/// needs: its running rows are a prefix of the batch).
pub(super) fn check_lengths(lengths: &[usize], steps: usize, batch: usize) -> CResult<()> {
    check_sorted(lengths, 0)?;
    check_range(lengths, steps, batch)
}

/// Checks every chunk sorted longest first and the first row the longest
/// (the padded input has as many steps as it).
fn check_lengths_per_chunk(lengths: &[usize], steps: usize, batch: usize) -> CResult<()> {
    check_range(lengths, steps, batch)?;
    for (start, rows) in chunks(batch) {
        check_sorted(&lengths[start..start + rows], start)?;
    }
    match lengths.iter().max() {
        Some(&longest) if longest != lengths[0] => {
            Err(op_error(format!("row 0 has {} steps, but the longest row has {longest}", lengths[0])))
        }
        _ => Ok(()),
    }
}

fn check_sorted(lengths: &[usize], first_row: usize) -> CResult<()> {
    match lengths.windows(2).position(|pair| pair[1] > pair[0]) {
        Some(row) => Err(op_error(format!("lengths must be sorted longest first (row {})", first_row + row + 1))),
        None => Ok(()),
    }
}

fn check_range(lengths: &[usize], steps: usize, batch: usize) -> CResult<()> {
    if lengths.len() != batch {
        return Err(op_error(format!("{} lengths for a batch of {batch}", lengths.len())));
    }
    if let Some(&bad) = lengths.iter().find(|&&l| l == 0 || l > steps) {
        return Err(op_error(format!("length {bad} outside 1..={steps}")));
    }
    Ok(())
}

/// Rows per independent chunk. Small enough that a 32-row training batch
/// splits across two cores, large enough that each step's product is not
/// dominated by call overhead.
fn chunk_rows(batch: usize) -> usize {
    if batch <= 256 {
        16
    } else {
        32
    }
}

fn chunks(batch: usize) -> Vec<(usize, usize)> {
    let size = chunk_rows(batch);
    (0..batch).step_by(size).map(|start| (start, size.min(batch - start))).collect()
}

/// The order in which to lay out a batch's rows, given as their lengths
/// sorted longest first: position `p` of the result names the sorted row
/// that goes to position `p`. The rows are dealt to the layer's chunks in
/// turn (row 0 to chunk 0, row 1 to chunk 1, ..., skipping full chunks), so
/// every chunk stays sorted longest first and gets its share of the long
/// rows. Sorted as a whole, the first chunk would get all the longest rows
/// and the other threads would wait for it. Rows of one length are kept in
/// their order (nothing to balance), so equal-length training is laid out
/// as before.
pub fn dealt_order(sorted_lengths: &[usize]) -> Vec<usize> {
    let batch = sorted_lengths.len();
    let chunks = chunks(batch);
    if chunks.len() < 2 || sorted_lengths.first() == sorted_lengths.last() {
        return (0..batch).collect();
    }
    let mut slots: Vec<Vec<usize>> = chunks.iter().map(|&(_, rows)| Vec::with_capacity(rows)).collect();
    let mut next = 0;
    for row in 0..batch {
        while slots[next].len() == chunks[next].1 {
            next = (next + 1) % slots.len();
        }
        slots[next].push(row);
        next = (next + 1) % slots.len();
    }
    slots.concat()
}

struct FusedLayer {
    spec: LayerSpec,
    steps: usize,
    batch: usize,
    lengths: Arc<[usize]>,
    output: LayerOutput,
    save: bool,
    /// LSTM only: the backward pass recomputes the gates and tanh(c) of
    /// each segment of steps rather than the forward pass keeping them.
    recompute: bool,
    saved: Mutex<Option<Vec<ChunkState>>>,
}

/// Everything the backward pass needs from one chunk's forward pass.
/// Per-step buffers are `[steps][rows][width]`.
struct ChunkState {
    start: usize,
    rows: usize,
    /// Rows still running at each step (a prefix of the chunk).
    active: Vec<usize>,
    /// The chunk's inputs, `[steps][rows][input]`.
    x: Vec<f32>,
    /// The chunk's initial hidden state, `[rows][hidden]`.
    h0: Vec<f32>,
    /// Activated gates: LSTM i, f, g, o; GRU r, z, n.
    gates: Vec<f32>,
    /// LSTM: cell state c_t. GRU: unused.
    cells: Vec<f32>,
    /// LSTM: tanh(c_t). GRU: the recurrent part of the candidate, W_hn h + b_hn.
    aux: Vec<f32>,
    /// Hidden state h_t (zero past a row's length).
    hs: Vec<f32>,
}

impl Drop for ChunkState {
    fn drop(&mut self) {
        for buf in [&mut self.x, &mut self.gates, &mut self.cells, &mut self.aux, &mut self.hs] {
            pool::recycle(std::mem::take(buf));
        }
    }
}

/// Gradients one chunk contributes.
struct ChunkGrads {
    start: usize,
    rows: usize,
    dw: Vec<f32>,
    dx: Vec<f32>,
    dh0: Vec<f32>,
}

fn contiguous_f32<'a>(s: &'a CpuStorage, l: &Layout, dims: &[usize], what: &str) -> CResult<&'a [f32]> {
    if l.dims() != dims {
        return Err(op_error(format!("{what} has shape {:?}, expected {dims:?}", l.dims())));
    }
    let (start, end) = l.contiguous_offsets().ok_or_else(|| op_error(format!("{what} is not contiguous")))?;
    match s {
        CpuStorage::F32(values) => Ok(&values[start..end]),
        other => Err(op_error(format!("{what} must be f32, got {:?}", other.dtype()))),
    }
}

fn cpu_f32<'a>(s: &'a Storage, l: &Layout, dims: &[usize], what: &str) -> CResult<&'a [f32]> {
    match s {
        Storage::Cpu(cpu) => contiguous_f32(cpu, l, dims, what),
        _ => Err(op_error(format!("{what} is not in CPU memory"))),
    }
}

fn tensor_f32(t: &Tensor, dims: &[usize], what: &str) -> CResult<Vec<f32>> {
    if t.dims() != dims {
        return Err(op_error(format!("{what} has shape {:?}, expected {dims:?}", t.dims())));
    }
    if t.dtype() != DType::F32 {
        return Err(op_error(format!("{what} must be f32")));
    }
    t.flatten_all()?.to_vec1::<f32>()
}

fn gemm_failed() -> candle_core::Error {
    op_error("internal shape error in a matrix product")
}

impl CustomOp3 for FusedLayer {
    fn name(&self) -> &'static str {
        "vrae-fused-recurrent-layer"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> CResult<(CpuStorage, Shape)> {
        let spec = self.spec;
        let (t, b, h) = (self.steps, self.batch, spec.hidden);
        let x = contiguous_f32(s1, l1, &[t, b, spec.input], "input")?;
        let w = contiguous_f32(s2, l2, &[spec.packed_rows(), spec.gate_width()], "weights")?;
        let h0 = contiguous_f32(s3, l3, &[b, h], "initial state")?;
        let step_rhs = self.step_rhs(w)?;
        let states: Vec<ChunkState> =
            chunks(b).into_par_iter().map(|(start, rows)| self.forward_chunk(x, w, &step_rhs, h0, start, rows)).collect::<CResult<_>>()?;
        let (values, shape) = match self.output {
            LayerOutput::Sequence => {
                let mut out = vec![0.0f32; t * b * h];
                for st in &states {
                    let block = st.rows * h;
                    for step in 0..t {
                        let dst = (step * b + st.start) * h;
                        out[dst..dst + block].copy_from_slice(&st.hs[step * block..(step + 1) * block]);
                    }
                }
                (out, Shape::from((t, b, h)))
            }
            LayerOutput::LastState => {
                let mut out = vec![0.0f32; b * h];
                for st in &states {
                    for j in 0..st.rows {
                        let last = self.lengths[st.start + j] - 1;
                        let src = (last * st.rows + j) * h;
                        let dst = (st.start + j) * h;
                        out[dst..dst + h].copy_from_slice(&st.hs[src..src + h]);
                    }
                }
                (out, Shape::from((b, h)))
            }
        };
        if self.save {
            let mut states = states;
            if self.output == LayerOutput::Sequence {
                // The output holds the same hidden states and the backward
                // pass is handed it: one copy is enough.
                for st in &mut states {
                    pool::recycle(std::mem::take(&mut st.hs));
                }
            }
            *self.saved.lock().map_err(|_| op_error("state lock poisoned"))? = Some(states);
        }
        Ok((CpuStorage::F32(values), shape))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        w: &Tensor,
        h0: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> CResult<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let spec = self.spec;
        let (t, b, h, i) = (self.steps, self.batch, spec.hidden, spec.input);
        let wv = tensor_f32(w, &[spec.packed_rows(), spec.gate_width()], "weights")?;
        let grad_dims: Vec<usize> = match self.output {
            LayerOutput::Sequence => vec![t, b, h],
            LayerOutput::LastState => vec![b, h],
        };
        // Both are read in place: at thousands of steps each is as large as
        // a layer's hidden states.
        let grad = grad.contiguous()?;
        let (grad_storage, grad_layout) = grad.storage_and_layout();
        let gv = cpu_f32(&grad_storage, grad_layout, &grad_dims, "output gradient")?;
        let res = res.contiguous()?;
        let (res_storage, res_layout) = res.storage_and_layout();
        let seq_out = match self.output {
            LayerOutput::Sequence => Some(cpu_f32(&res_storage, res_layout, &[t, b, h], "layer output")?),
            LayerOutput::LastState => None,
        };
        let guard = self.saved.lock().map_err(|_| op_error("state lock poisoned"))?;
        let states = guard.as_ref().ok_or_else(|| op_error("backward without a training forward pass"))?;
        let gw = spec.gate_width();
        let mut w_hh = vec![0.0f32; gw * h];
        for k in 0..h {
            for g in 0..gw {
                w_hh[g * h + k] = wv[(i + k) * gw + g];
            }
        }
        let w_hh = PackedPanels::from_rows(&w_hh, h, gw, h).ok_or_else(gemm_failed)?;
        let forward_parts = if self.recompute { Some((self.step_rhs(&wv)?, self.lstm_bias_sum(&wv))) } else { None };
        let recompute = forward_parts.as_ref().map(|(rhs, bias)| (rhs, &bias[..]));
        let grads: Vec<ChunkGrads> =
            states.par_iter().map(|st| self.backward_chunk(&wv, &w_hh, recompute, gv, seq_out, st)).collect::<CResult<_>>()?;
        drop(guard);

        // Sum the chunks' weight gradients in chunk order: deterministic.
        let mut dw = vec![0.0f32; spec.packed_rows() * spec.gate_width()];
        let mut dx = vec![0.0f32; t * b * i];
        let mut dh0 = vec![0.0f32; b * h];
        for g in &grads {
            for (acc, v) in dw.iter_mut().zip(&g.dw) {
                *acc += v;
            }
            let block = g.rows * i;
            for step in 0..t {
                let dst = (step * b + g.start) * i;
                dx[dst..dst + block].copy_from_slice(&g.dx[step * block..(step + 1) * block]);
            }
            dh0[g.start * h..(g.start + g.rows) * h].copy_from_slice(&g.dh0);
        }
        let device = w.device();
        let dx = Tensor::from_vec(dx, (t, b, i), device)?;
        let dw = Tensor::from_vec(dw, (spec.packed_rows(), spec.gate_width()), device)?;
        let dh0 = Tensor::from_vec(dh0, h0.dims(), device)?;
        Ok((Some(dx), Some(dw), Some(dh0)))
    }
}

/// Runs `body` compiled for AVX2+FMA when the CPU has them, else generic.
/// The gate loops are plain slices loops; with these features enabled the
/// compiler turns them into 8-wide FMA code.
macro_rules! dispatch_simd {
    ($generic:ident, $avx:ident, ($($arg:ident : $ty:ty),*) -> $ret:ty, $body:block) => {
        #[inline(always)]
        fn $generic($($arg: $ty),*) -> $ret $body

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn $avx($($arg: $ty),*) -> $ret {
            $generic($($arg),*)
        }
    };
}

macro_rules! call_simd {
    ($generic:ident, $avx:ident, $($arg:expr),*) => {{
        #[cfg(target_arch = "x86_64")]
        {
            if super::simd_kernels_in_use() {
                // SAFETY: the CPU reports AVX2 and FMA.
                unsafe { $avx($($arg),*) }
            } else {
                $generic($($arg),*)
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            $generic($($arg),*)
        }
    }};
}

/// The LSTM gates' activations in place (i, f: sigmoid; g: tanh; o:
/// sigmoid), one row. The forward pass and the backward pass that
/// recomputes the gates both go through here: same slices, same lanes, same
/// bits.
#[inline(always)]
fn activate_lstm_gates(gates: &mut [f32], hidden: usize) {
    let (ifg, o) = gates.split_at_mut(3 * hidden);
    let (if_, g) = ifg.split_at_mut(2 * hidden);
    sigmoid_in_place(if_);
    tanh_in_place(g);
    sigmoid_in_place(o);
}

dispatch_simd!(lstm_cell_forward, lstm_cell_forward_avx,
    (gates: &mut [f32], c_prev: Option<&[f32]>, c: &mut [f32], tc: &mut [f32], h_out: &mut [f32], hidden: usize) -> (),
{
    activate_lstm_gates(gates, hidden);
    let (if_, rest) = gates.split_at(2 * hidden);
    let (g, o) = rest.split_at(hidden);
    let (ig, fg) = if_.split_at(hidden);
    // Slices of equal, known length and a branch-free body: this loop must
    // vectorise (a `match` on `c_prev` inside it kept it scalar).
    let (c, tc, h_out, o) = (&mut c[..hidden], &mut tc[..hidden], &mut h_out[..hidden], &o[..hidden]);
    let cp = c_prev.unwrap_or(&ZEROS[..hidden]);
    let cp = &cp[..hidden];
    for k in 0..hidden {
        c[k] = fg[k] * cp[k] + ig[k] * g[k];
    }
    tc.copy_from_slice(c);
    tanh_in_place(tc);
    for k in 0..hidden {
        h_out[k] = o[k] * tc[k];
    }
});

dispatch_simd!(gru_cell_forward, gru_cell_forward_avx,
    (gates: &mut [f32], hp: &[f32], h_prev: &[f32], hn_out: &mut [f32], h_out: &mut [f32], hidden: usize) -> (),
{
    let (rz, n) = gates.split_at_mut(2 * hidden);
    for (v, &p) in rz.iter_mut().zip(&hp[..2 * hidden]) {
        *v = sigmoid(*v + p);
    }
    let (r, z) = rz.split_at(hidden);
    let hpn = &hp[2 * hidden..3 * hidden];
    // Equal, known lengths so that the loop vectorises.
    let (n, hn_out, h_out, h_prev) = (&mut n[..hidden], &mut hn_out[..hidden], &mut h_out[..hidden], &h_prev[..hidden]);
    for k in 0..hidden {
        let nv = tanh(n[k] + r[k] * hpn[k]);
        n[k] = nv;
        hn_out[k] = hpn[k];
        h_out[k] = (1.0 - z[k]) * nv + z[k] * h_prev[k];
    }
});

dispatch_simd!(lstm_cell_backward, lstm_cell_backward_avx,
    (gates: &[f32], tc: &[f32], c_prev: Option<&[f32]>, dh: &[f32], dc: &mut [f32], dg: &mut [f32], hidden: usize) -> (),
{
    let (ig, rest) = gates.split_at(hidden);
    let (fg, rest) = rest.split_at(hidden);
    let (gg, og) = rest.split_at(hidden);
    let (di, rest) = dg.split_at_mut(hidden);
    let (df, rest) = rest.split_at_mut(hidden);
    let (dgg, dout) = rest.split_at_mut(hidden);
    let cp = c_prev.unwrap_or(&ZEROS[..hidden]);
    // Equal, known lengths so that the loop vectorises.
    let (cp, og, tc, dh, dc, dout) = (&cp[..hidden], &og[..hidden], &tc[..hidden], &dh[..hidden], &mut dc[..hidden], &mut dout[..hidden]);
    for k in 0..hidden {
        let (i, f, g, o, t) = (ig[k], fg[k], gg[k], og[k], tc[k]);
        let dhv = dh[k];
        let dcv = dc[k] + dhv * o * (1.0 - t * t);
        dout[k] = dhv * t * o * (1.0 - o);
        di[k] = dcv * g * i * (1.0 - i);
        df[k] = dcv * cp[k] * f * (1.0 - f);
        dgg[k] = dcv * i * (1.0 - g * g);
        dc[k] = dcv * f;
    }
});

dispatch_simd!(gru_cell_backward, gru_cell_backward_avx,
    (gates: &[f32], hn: &[f32], h_prev: &[f32], dh: &mut [f32], dxp: &mut [f32], dhp: &mut [f32], hidden: usize) -> (),
{
    let (r, rest) = gates.split_at(hidden);
    let (z, n) = rest.split_at(hidden);
    let (dxr, rest) = dxp.split_at_mut(hidden);
    let (dxz, dxn) = rest.split_at_mut(hidden);
    let (dhr, rest) = dhp.split_at_mut(hidden);
    let (dhz, dhn) = rest.split_at_mut(hidden);
    let (n, hn, h_prev, dh, dxn, dhn) = (&n[..hidden], &hn[..hidden], &h_prev[..hidden], &mut dh[..hidden], &mut dxn[..hidden], &mut dhn[..hidden]);
    for k in 0..hidden {
        let dhv = dh[k];
        let dn = dhv * (1.0 - z[k]);
        let dz = dhv * (h_prev[k] - n[k]);
        let dan = dn * (1.0 - n[k] * n[k]);
        let dar = dan * hn[k] * r[k] * (1.0 - r[k]);
        let daz = dz * z[k] * (1.0 - z[k]);
        dxr[k] = dar;
        dxz[k] = daz;
        dxn[k] = dan;
        dhr[k] = dar;
        dhz[k] = daz;
        dhn[k] = dan * r[k];
        dh[k] = dhv * z[k];
    }
});

/// The largest hidden size the fused layers take (the config's limit too).
pub const MAX_HIDDEN: usize = 4096;

/// Steps whose gate gradients one chunk's backward pass holds at once (see
/// `backward_chunk`). Longer than the series most models see, so that they
/// run as one segment; bounded so that a series of thousands of steps does
/// not hold a second activation-sized buffer.
const BACKWARD_SEGMENT_STEPS: usize = 256;

/// Above this size of an LSTM layer's kept gates and tanh(c), the backward
/// pass recomputes them (see `recomputes_gates`).
const RECOMPUTE_ABOVE_BYTES: usize = 256 << 20;

/// A zero cell state for the first step, sliced to the hidden size.
static ZEROS: [f32; MAX_HIDDEN] = [0.0; MAX_HIDDEN];

/// Adds the same row vector to every row of a `[rows][width]` buffer.
fn add_row_bias(buf: &mut [f32], bias: &[f32]) {
    for row in buf.chunks_exact_mut(bias.len()) {
        for (v, b) in row.iter_mut().zip(bias) {
            *v += b;
        }
    }
}

/// Column sums of a `[rows][width]` buffer, added into `out`.
fn add_column_sums(out: &mut [f32], buf: &[f32]) {
    for row in buf.chunks_exact(out.len()) {
        for (o, v) in out.iter_mut().zip(row) {
            *o += v;
        }
    }
}

impl FusedLayer {
    /// Runs the layer on checked inputs (see [`recurrent_layer`]).
    fn apply(self, x: &Tensor, w: &Tensor, h0: &Tensor) -> CResult<Tensor> {
        let (x, w, h0) = (x.contiguous()?, w.contiguous()?, h0.contiguous()?);
        if self.save {
            x.apply_op3(&w, &h0, self)
        } else {
            x.apply_op3_no_bwd(&w, &h0, &self)
        }
    }

    /// The per-step product's right-hand side, packed once for all chunks:
    /// LSTM the stacked [W_ih^T; W_hh^T], GRU W_hh^T alone.
    fn step_rhs(&self, w: &[f32]) -> CResult<PackedPanels> {
        let (i, h, gw) = (self.spec.input, self.spec.hidden, self.spec.gate_width());
        match self.spec.block {
            Block::Lstm => PackedPanels::from_rows(w, gw, i + h, gw),
            Block::Gru => PackedPanels::from_rows(&w[i * gw..], gw, h, gw),
        }
        .ok_or_else(gemm_failed)
    }

    /// The packed weights' two bias rows, b_ih and b_hh.
    fn biases<'a>(&self, w: &'a [f32]) -> (&'a [f32], &'a [f32]) {
        let (rows, gw) = (self.spec.input + self.spec.hidden, self.spec.gate_width());
        (&w[rows * gw..(rows + 1) * gw], &w[(rows + 1) * gw..(rows + 2) * gw])
    }

    /// b_ih + b_hh: the LSTM adds both to every step's product.
    fn lstm_bias_sum(&self, w: &[f32]) -> Vec<f32> {
        let (b_ih, b_hh) = self.biases(w);
        b_ih.iter().zip(b_hh).map(|(x, y)| x + y).collect()
    }

    /// `step_rhs` is the packed right-hand side of each step's product (see
    /// `cpu_fwd`).
    fn forward_chunk(&self, x: &[f32], w: &[f32], step_rhs: &PackedPanels, h0: &[f32], start: usize, rows: usize) -> CResult<ChunkState> {
        let spec = self.spec;
        let (t_max, b, h, i, gw) = (self.steps, self.batch, spec.hidden, spec.input, spec.gate_width());
        let n = rows;
        let lengths = &self.lengths[start..start + n];
        let active: Vec<usize> = (0..t_max).map(|t| lengths.iter().filter(|&&l| l > t).count()).collect();

        // The chunk's inputs, contiguous per step (and kept for dW_ih).
        let mut xc = pool::scratch(t_max * n * i);
        for t in 0..t_max {
            let src = (t * b + start) * i;
            xc[t * n * i..(t + 1) * n * i].copy_from_slice(&x[src..src + n * i]);
        }
        let w_ih_t = MatRef::rows(&w[..i * gw], i, gw, gw);
        let (b_ih, b_hh) = self.biases(w);
        let lstm = spec.block == Block::Lstm;
        let save = self.save;
        // What the backward pass reads back: every step's gates and tanh(c),
        // unless it recomputes them (long LSTM series).
        let keep_gates = save && !self.recompute;

        // LSTM: each step projects [x_t | h_{t-1}] through the packed
        // [W_ih^T; W_hh^T] in one product, so inference keeps only one step
        // of gates (in cache) instead of all steps' input projections.
        // GRU: r scales only the recurrent part of the candidate, so the input
        // projection of all steps is one product up front.
        let full = t_max * n;
        let mut gates = pool::scratch(if lstm && !keep_gates { n * gw } else { full * gw });
        let mut bias_sum = Vec::new();
        if lstm {
            bias_sum = self.lstm_bias_sum(w);
        } else {
            if !matmul(&mut gates, gw, false, MatRef::rows(&xc, full, i, i), w_ih_t) {
                return Err(gemm_failed());
            }
            add_row_bias(&mut gates, b_ih);
        }
        let h0c = h0[start * h..(start + n) * h].to_vec();
        // Cells and aux are only read back at (step, row) pairs that were
        // written. Inference keeps two steps of cells and one of aux.
        let mut cells = if lstm { pool::scratch(if save { full * h } else { 2 * n * h }) } else { Vec::new() };
        let mut aux = pool::scratch(if lstm && !keep_gates { n * h } else { full * h });
        // Every active (step, row) of `hs` is written below; only the rows
        // past their series' end must read as zero (the sequence output and
        // the weight-gradient products see them), so only those are cleared.
        let mut hs = pool::scratch(full * h);
        for (t, &a) in active.iter().enumerate() {
            hs[(t * n + a) * h..(t + 1) * n * h].fill(0.0);
        }
        let mut hp = if lstm { Vec::new() } else { pool::zeroed(n * gw) };
        let mut xh = if lstm { pool::scratch(n * (i + h)) } else { Vec::new() };

        for t in 0..t_max {
            let a = active[t];
            if a == 0 {
                break;
            }
            let (hs_past, hs_now) = hs.split_at_mut(t * n * h);
            let h_prev: &[f32] = if t == 0 { &h0c[..a * h] } else { &hs_past[(t - 1) * n * h..(t - 1) * n * h + a * h] };
            match spec.block {
                Block::Lstm => {
                    let g0 = if keep_gates { t * n * gw } else { 0 };
                    let g_t = &mut gates[g0..g0 + a * gw];
                    self.lstm_step_product(&xc[t * n * i..], |j| &h_prev[j * h..(j + 1) * h], &bias_sum, step_rhs, &mut xh, g_t)?;
                    let (c_prev_all, c_now): (&[f32], &mut [f32]) = if save {
                        let (past, now) = cells.split_at_mut(t * n * h);
                        (if t == 0 { &past[..0] } else { &past[(t - 1) * n * h..] }, &mut now[..n * h])
                    } else {
                        let (even, odd) = cells.split_at_mut(n * h);
                        if t % 2 == 0 {
                            (&*odd, even)
                        } else {
                            (&*even, odd)
                        }
                    };
                    let a0 = if keep_gates { t * n * h } else { 0 };
                    for j in 0..a {
                        let c_prev = if t == 0 { None } else { Some(&c_prev_all[j * h..(j + 1) * h]) };
                        call_simd!(
                            lstm_cell_forward,
                            lstm_cell_forward_avx,
                            &mut g_t[j * gw..(j + 1) * gw],
                            c_prev,
                            &mut c_now[j * h..(j + 1) * h],
                            &mut aux[a0 + j * h..a0 + (j + 1) * h],
                            &mut hs_now[j * h..(j + 1) * h],
                            h
                        );
                    }
                }
                Block::Gru => {
                    let g_t = &mut gates[t * n * gw..t * n * gw + a * gw];
                    let hp_t = &mut hp[..a * gw];
                    for row in hp_t.chunks_exact_mut(gw) {
                        row.copy_from_slice(b_hh);
                    }
                    if !matmul_packed(hp_t, gw, true, h_prev, h, a, step_rhs) {
                        return Err(gemm_failed());
                    }
                    for j in 0..a {
                        call_simd!(
                            gru_cell_forward,
                            gru_cell_forward_avx,
                            &mut g_t[j * gw..(j + 1) * gw],
                            &hp_t[j * gw..(j + 1) * gw],
                            &h_prev[j * h..(j + 1) * h],
                            &mut aux[(t * n + j) * h..(t * n + j + 1) * h],
                            &mut hs_now[j * h..(j + 1) * h],
                            h
                        );
                    }
                }
            }
        }
        pool::recycle(hp);
        pool::recycle(xh);
        let mut state = ChunkState { start, rows: n, active, x: xc, h0: h0c, gates, cells, aux, hs };
        if !self.save {
            // Inference: only the hidden states are read back.
            for buf in [&mut state.x, &mut state.gates, &mut state.cells, &mut state.aux] {
                pool::recycle(std::mem::take(buf));
            }
        } else if !keep_gates {
            // One step's worth, recomputed in the backward pass.
            for buf in [&mut state.gates, &mut state.aux] {
                pool::recycle(std::mem::take(buf));
            }
        }
        Ok(state)
    }

    /// One LSTM step's gate pre-activations for the `g_t.len() / gate_width`
    /// running rows, into `g_t`: `[x_t | h_{t-1}] @ [W_ih^T; W_hh^T] + b_ih +
    /// b_hh` in one product (`xh` holds the stacked inputs). `x_t` starts at
    /// the step's first row; `h_prev(j)` is row j's previous hidden state.
    /// The forward pass and the backward pass that recomputes the gates both
    /// go through here, so they give the same bits.
    fn lstm_step_product<'a>(
        &self,
        x_t: &[f32],
        h_prev: impl Fn(usize) -> &'a [f32],
        bias_sum: &[f32],
        step_rhs: &PackedPanels,
        xh: &mut [f32],
        g_t: &mut [f32],
    ) -> CResult<()> {
        let (h, i, gw) = (self.spec.hidden, self.spec.input, self.spec.gate_width());
        let (k, a) = (i + h, g_t.len() / gw);
        for j in 0..a {
            let row = &mut xh[j * k..(j + 1) * k];
            row[..i].copy_from_slice(&x_t[j * i..(j + 1) * i]);
            row[i..].copy_from_slice(h_prev(j));
        }
        for row in g_t.chunks_exact_mut(gw) {
            row.copy_from_slice(bias_sum);
        }
        if matmul_packed(g_t, gw, true, &xh[..a * k], k, a, step_rhs) {
            Ok(())
        } else {
            Err(gemm_failed())
        }
    }

    /// Row `j`'s hidden state entering step `t` (the initial state at step
    /// 0): from the chunk's own copy, or from the layer's sequence output
    /// where the forward pass kept none (see `cpu_fwd`).
    fn hidden_before<'a>(&self, st: &'a ChunkState, seq_out: Option<&'a [f32]>, t: usize, j: usize) -> &'a [f32] {
        let h = self.spec.hidden;
        match (t, seq_out) {
            (0, _) => &st.h0[j * h..(j + 1) * h],
            (_, Some(out)) => &out[((t - 1) * self.batch + st.start + j) * h..][..h],
            (_, None) => &st.hs[((t - 1) * st.rows + j) * h..][..h],
        }
    }

    /// Recomputes the activated LSTM gates and tanh(c_t) of steps
    /// `begin..end` of a chunk into `gates` (`[steps][rows][gate_width]`)
    /// and `tc` (`[steps][rows][hidden]`), as the forward pass computed them.
    #[allow(clippy::too_many_arguments)]
    fn recompute_lstm_gates(
        &self,
        st: &ChunkState,
        step_rhs: &PackedPanels,
        bias_sum: &[f32],
        seq_out: Option<&[f32]>,
        begin: usize,
        end: usize,
        xh: &mut [f32],
        gates: &mut [f32],
        tc: &mut [f32],
    ) -> CResult<()> {
        let spec = self.spec;
        let (h, i, gw, n) = (spec.hidden, spec.input, spec.gate_width(), st.rows);
        for t in begin..end {
            let a = st.active[t];
            if a == 0 {
                break;
            }
            let local = (t - begin) * n;
            let g_t = &mut gates[local * gw..(local + a) * gw];
            self.lstm_step_product(&st.x[t * n * i..], |j| self.hidden_before(st, seq_out, t, j), bias_sum, step_rhs, xh, g_t)?;
            for j in 0..a {
                let tc_j = &mut tc[(local + j) * h..(local + j + 1) * h];
                tc_j.copy_from_slice(&st.cells[(t * n + j) * h..(t * n + j + 1) * h]);
                activate_lstm_gates(&mut g_t[j * gw..(j + 1) * gw], h);
                tanh_in_place(tc_j);
            }
        }
        Ok(())
    }

    /// `w_hh` is `W_hh` (`[gate_width, hidden]`, the transpose of its block
    /// in the packed weights), packed for each step's product. `seq_out` is
    /// the layer's sequence output, where the hidden states are read from
    /// when the forward pass did not keep its own copy (see `cpu_fwd`).
    /// `recompute` holds the forward pass's packed step product and summed
    /// biases when the gates are recomputed (`FusedLayer::recompute`).
    fn backward_chunk(
        &self,
        w: &[f32],
        w_hh: &PackedPanels,
        recompute: Option<(&PackedPanels, &[f32])>,
        grad: &[f32],
        seq_out: Option<&[f32]>,
        st: &ChunkState,
    ) -> CResult<ChunkGrads> {
        let spec = self.spec;
        let (t_max, b, h, i, gw) = (self.steps, self.batch, spec.hidden, spec.input, spec.gate_width());
        let n = st.rows;
        let lengths = &self.lengths[st.start..st.start + n];
        // W_hh and W_ih in their (gates x in) orientation, read through the packed transpose.
        let w_ih = MatRef::transposed(&w[..i * gw], gw, i, gw);
        let gru = spec.block == Block::Gru;

        let mut dh = vec![0.0f32; n * h];
        let mut dc = if gru { Vec::new() } else { vec![0.0f32; n * h] };
        // Gradients of the gate pre-activations on the input side and on the
        // recurrent side (they only differ for the GRU: r scales W_hn h +
        // b_hn), held for one segment of steps at a time: the weight
        // gradients are taken segment by segment, so a long series does not
        // hold a second copy of its gates' size. A series no longer than a
        // segment runs as one.
        let seg_steps = t_max.min(BACKWARD_SEGMENT_STEPS);
        let mut dxp = pool::scratch(seg_steps * n * gw);
        let mut dhp = if gru { pool::scratch(seg_steps * n * gw) } else { Vec::new() };
        // Hidden states of a segment laid out per chunk, when they come from
        // the sequence output.
        let mut hs_seg = if seq_out.is_some() { pool::scratch(seg_steps * n * h) } else { Vec::new() };
        // A segment's recomputed gates, tanh(c) and step inputs.
        let (mut gates_seg, mut tc_seg, mut xh) = match recompute {
            Some(_) => (pool::scratch(seg_steps * n * gw), pool::scratch(seg_steps * n * h), pool::scratch(n * (i + h))),
            None => (Vec::new(), Vec::new(), Vec::new()),
        };
        let mut dw = vec![0.0f32; spec.packed_rows() * gw];
        let mut dx = vec![0.0f32; t_max * n * i];
        let mut end = t_max;
        while end > 0 {
            let begin = end.saturating_sub(seg_steps);
            // The cell backward writes every active (step, row); the rows
            // past a series' end enter the weight-gradient products and
            // must be zero. Clearing only those saves a full memset of
            // these, the largest buffers of the pass.
            for t in begin..end {
                let (local, a) = (t - begin, st.active[t]);
                dxp[(local * n + a) * gw..(local + 1) * n * gw].fill(0.0);
                if gru {
                    dhp[(local * n + a) * gw..(local + 1) * n * gw].fill(0.0);
                }
            }
            // Where this segment's gates and tanh(c) are, and the position
            // of step `begin`'s first row there.
            let (gates, tcs, first_row) = match recompute {
                Some((step_rhs, bias_sum)) => {
                    self.recompute_lstm_gates(st, step_rhs, bias_sum, seq_out, begin, end, &mut xh, &mut gates_seg, &mut tc_seg)?;
                    (&gates_seg[..], &tc_seg[..], begin * n)
                }
                None => (&st.gates[..], &st.aux[..], 0),
            };
            for t in (begin..end).rev() {
                let a = st.active[t];
                if a == 0 {
                    continue;
                }
                match self.output {
                    LayerOutput::Sequence => {
                        let src = (t * b + st.start) * h;
                        for (d, g) in dh[..a * h].iter_mut().zip(&grad[src..src + a * h]) {
                            *d += g;
                        }
                    }
                    LayerOutput::LastState => {
                        for j in 0..a {
                            if lengths[j] == t + 1 {
                                let src = (st.start + j) * h;
                                for (d, g) in dh[j * h..(j + 1) * h].iter_mut().zip(&grad[src..src + h]) {
                                    *d += g;
                                }
                            }
                        }
                    }
                }
                let (base, local) = (t * n - first_row, (t - begin) * n);
                match spec.block {
                    Block::Lstm => {
                        for j in 0..a {
                            let c_prev = if t == 0 { None } else { Some(&st.cells[((t - 1) * n + j) * h..((t - 1) * n + j + 1) * h]) };
                            call_simd!(
                                lstm_cell_backward,
                                lstm_cell_backward_avx,
                                &gates[(base + j) * gw..(base + j + 1) * gw],
                                &tcs[(base + j) * h..(base + j + 1) * h],
                                c_prev,
                                &dh[j * h..(j + 1) * h],
                                &mut dc[j * h..(j + 1) * h],
                                &mut dxp[(local + j) * gw..(local + j + 1) * gw],
                                h
                            );
                        }
                        let dg_t = &dxp[local * gw..(local + a) * gw];
                        if !matmul_packed(&mut dh[..a * h], h, false, dg_t, gw, a, w_hh) {
                            return Err(gemm_failed());
                        }
                    }
                    Block::Gru => {
                        for j in 0..a {
                            let h_prev = self.hidden_before(st, seq_out, t, j);
                            call_simd!(
                                gru_cell_backward,
                                gru_cell_backward_avx,
                                &gates[(base + j) * gw..(base + j + 1) * gw],
                                &tcs[(base + j) * h..(base + j + 1) * h],
                                h_prev,
                                &mut dh[j * h..(j + 1) * h],
                                &mut dxp[(local + j) * gw..(local + j + 1) * gw],
                                &mut dhp[(local + j) * gw..(local + j + 1) * gw],
                                h
                            );
                        }
                        let dg_t = &dhp[local * gw..(local + a) * gw];
                        if !matmul_packed(&mut dh[..a * h], h, true, dg_t, gw, a, w_hh) {
                            return Err(gemm_failed());
                        }
                    }
                }
            }
            self.segment_weight_grads(st, begin, end, end == t_max, &dxp, &dhp, seq_out, &mut hs_seg, &mut dw)?;
            let rows = (end - begin) * n;
            if !matmul(&mut dx[begin * n * i..end * n * i], i, false, MatRef::rows(&dxp[..rows * gw], rows, gw, gw), w_ih) {
                return Err(gemm_failed());
            }
            end = begin;
        }
        pool::recycle(dxp);
        pool::recycle(dhp);
        for buf in [hs_seg, gates_seg, tc_seg, xh] {
            pool::recycle(buf);
        }
        Ok(ChunkGrads { start: st.start, rows: n, dw, dx, dh0: dh })
    }

    /// Adds one segment's (steps `begin..end`) weight gradients into `dw`:
    /// (inputs)^T @ (gate gradients) and the gate gradients' column sums.
    /// `first` (the last segment in time, the first one run) overwrites.
    #[allow(clippy::too_many_arguments)]
    fn segment_weight_grads(
        &self,
        st: &ChunkState,
        begin: usize,
        end: usize,
        first: bool,
        dxp: &[f32],
        dhp: &[f32],
        seq_out: Option<&[f32]>,
        hs_seg: &mut [f32],
        dw: &mut [f32],
    ) -> CResult<()> {
        let spec = self.spec;
        let (b, h, i, gw, n) = (self.batch, spec.hidden, spec.input, spec.gate_width(), st.rows);
        let rows = (end - begin) * n;
        let (dxp, dhp) = (&dxp[..rows * gw], if spec.block == Block::Gru { &dhp[..rows * gw] } else { &dxp[..rows * gw] });
        let (dw_ih, rest) = dw.split_at_mut(i * gw);
        let (dw_hh, rest) = rest.split_at_mut(h * gw);
        let (db_ih, db_hh) = rest.split_at_mut(gw);
        if !matmul(dw_ih, gw, !first, MatRef::transposed(&st.x[begin * n * i..end * n * i], i, rows, i), MatRef::rows(dxp, rows, gw, gw)) {
            return Err(gemm_failed());
        }
        // Step t's recurrent input is h_{t-1}, h0 for step 0.
        let mut accumulate = !first;
        let mut from = begin;
        if begin == 0 {
            if !matmul(dw_hh, gw, accumulate, MatRef::transposed(&st.h0, h, n, h), MatRef::rows(&dhp[..n * gw], n, gw, gw)) {
                return Err(gemm_failed());
            }
            accumulate = true;
            from = 1;
        }
        if end > from {
            let prev_rows = (end - from) * n;
            let prev: &[f32] = match seq_out {
                None => &st.hs[(from - 1) * n * h..(end - 1) * n * h],
                Some(out) => {
                    for t in from - 1..end - 1 {
                        let (src, dst) = ((t * b + st.start) * h, (t + 1 - from) * n * h);
                        hs_seg[dst..dst + n * h].copy_from_slice(&out[src..src + n * h]);
                    }
                    &hs_seg[..prev_rows * h]
                }
            };
            let grads = MatRef::rows(&dhp[(from - begin) * n * gw..], prev_rows, gw, gw);
            if !matmul(dw_hh, gw, accumulate, MatRef::transposed(prev, h, prev_rows, h), grads) {
                return Err(gemm_failed());
            }
        }
        add_column_sums(db_ih, dxp);
        add_column_sums(db_hh, dhp);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use candle_core::{Device, Tensor, Var};

    use super::super::{reference_layer, Block, LayerOutput, LayerSpec};
    use super::{chunks, dealt_order, pool, recurrent_layer, FusedLayer};

    fn values(n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|i| ((i * 7 % 13) as f32 - 6.0) * scale).collect()
    }

    fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
        let (a, b) = (a.flatten_all().unwrap().to_vec1::<f32>().unwrap(), b.flatten_all().unwrap().to_vec1::<f32>().unwrap());
        a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f32, |m, d| if d.is_nan() { f32::INFINITY } else { m.max(d) })
    }

    /// The fused layer's sequence output, its gradients (against a fixed
    /// probe) and its last states agree with the reference's within `tol`.
    fn assert_matches_reference(spec: LayerSpec, t: usize, lengths: &[usize], tol: f32) {
        let (b, i, h) = (lengths.len(), spec.input, spec.hidden);
        let var = |v: Vec<f32>, dims: &[usize]| Var::from_tensor(&Tensor::from_vec(v, dims, &Device::Cpu).unwrap()).unwrap();
        let x = var(values(t * b * i, 0.1), &[t, b, i]);
        let w = var(values(spec.packed_rows() * spec.gate_width(), 0.05), &[spec.packed_rows(), spec.gate_width()]);
        let h0 = var(values(b * h, 0.08), &[b, h]);
        let probe = Tensor::from_vec(values(t * b * h, 0.3), (t, b, h), &Device::Cpu).unwrap();
        let arc: Arc<[usize]> = lengths.into();
        let block = spec.block;
        let fused = recurrent_layer(&x, &w, &h0, spec, &arc, LayerOutput::Sequence, true).unwrap();
        let reference = reference_layer(&x, &w, &h0, spec, lengths, LayerOutput::Sequence).unwrap();
        assert!(max_abs_diff(&fused, &reference) < tol, "{block:?}: outputs differ");
        let g_fused = (fused * &probe).unwrap().sum_all().unwrap().backward().unwrap();
        let g_ref = (reference * &probe).unwrap().sum_all().unwrap().backward().unwrap();
        for (name, v) in [("x", &x), ("w", &w), ("h0", &h0)] {
            let d = max_abs_diff(g_fused.get(v).unwrap(), g_ref.get(v).unwrap());
            assert!(d < tol, "{block:?}: d{name} differs by {d}");
        }
        let last = recurrent_layer(&x, &w, &h0, spec, &arc, LayerOutput::LastState, false).unwrap();
        let last_ref = reference_layer(&x, &w, &h0, spec, lengths, LayerOutput::LastState).unwrap();
        assert!(max_abs_diff(&last, &last_ref) < tol, "{block:?}: last states differ");
    }

    /// A training batch laid out by `dealt_order` is sorted within each chunk
    /// but not as a whole: the layer must accept it and compute what the
    /// reference computes, and the chunks must get equal shares of the work.
    #[test]
    fn dealt_rows_are_balanced_and_match_the_reference() {
        // 40 rows, 30 steps down to 1: chunks of 16, 16 and 8 rows.
        let sorted: Vec<usize> = (0..40).map(|r| 30 - r * 29 / 39).collect();
        let order = dealt_order(&sorted);
        let mut positions = order.clone();
        positions.sort_unstable();
        assert_eq!(positions, (0..40).collect::<Vec<_>>(), "not a permutation");
        let lengths: Vec<usize> = order.iter().map(|&p| sorted[p]).collect();
        assert_eq!(lengths[0], 30, "the first row must be the longest");
        let work: Vec<usize> = chunks(40)
            .into_iter()
            .map(|(start, rows)| {
                let chunk = &lengths[start..start + rows];
                assert!(chunk.windows(2).all(|p| p[0] >= p[1]), "chunk at {start} not sorted: {chunk:?}");
                chunk.iter().sum()
            })
            .collect();
        // The two full chunks within one row's length of each other; sorted
        // as a whole they would be 16 x 16 steps apart.
        assert!(work[0].abs_diff(work[1]) <= 30, "unbalanced chunks: {work:?}");
        assert_eq!(dealt_order(&[7; 40]), (0..40).collect::<Vec<_>>(), "equal lengths keep their order");

        for block in [Block::Lstm, Block::Gru] {
            assert_matches_reference(LayerSpec { block, input: 2, hidden: 5 }, 30, &lengths, 1e-4);
        }
        // A chunk out of order, or a longest row that is not first, is still refused.
        let x = Tensor::zeros((30, 40, 2), candle_core::DType::F32, &Device::Cpu).unwrap();
        let spec = LayerSpec { block: Block::Lstm, input: 2, hidden: 5 };
        let w = Tensor::zeros((spec.packed_rows(), spec.gate_width()), candle_core::DType::F32, &Device::Cpu).unwrap();
        let h0 = Tensor::zeros((40, 5), candle_core::DType::F32, &Device::Cpu).unwrap();
        let mut swapped = lengths.clone();
        swapped.swap(1, 2);
        let mut longest_later = vec![5usize; 40];
        longest_later[16] = 9;
        for bad in [swapped, longest_later] {
            let arc: Arc<[usize]> = bad.clone().into();
            assert!(recurrent_layer(&x, &w, &h0, spec, &arc, LayerOutput::Sequence, false).is_err(), "{bad:?} accepted");
        }
    }

    /// Buffers come back from the pool holding whatever their last user left
    /// (here NaN); the layer clears only the padding rows it reads, so a row
    /// it forgot would turn the weight gradients into NaN.
    #[test]
    fn recomputed_gates_give_the_same_gradients_bit_for_bit() {
        // 300 steps (the backward pass runs in two segments either way), 20
        // rows of 300 down to 1 step dealt to two chunks.
        let t = 300;
        let sorted: Vec<usize> = (0..20).map(|r| 300 - r * 299 / 19).collect();
        let lengths: Vec<usize> = dealt_order(&sorted).iter().map(|&p| sorted[p]).collect();
        let spec = LayerSpec { block: Block::Lstm, input: 2, hidden: 5 };
        let b = lengths.len();
        let arc: Arc<[usize]> = lengths.into();
        let var = |v: Vec<f32>, dims: &[usize]| Var::from_tensor(&Tensor::from_vec(v, dims, &Device::Cpu).unwrap()).unwrap();
        let x = var(values(t * b * 2, 0.1), &[t, b, 2]);
        let w = var(values(spec.packed_rows() * spec.gate_width(), 0.05), &[spec.packed_rows(), spec.gate_width()]);
        let h0 = var(values(b * 5, 0.08), &[b, 5]);
        for output in [LayerOutput::Sequence, LayerOutput::LastState] {
            let probe_dims: &[usize] = if output == LayerOutput::Sequence { &[t, b, 5] } else { &[b, 5] };
            let probe = Tensor::from_vec(values(probe_dims.iter().product(), 0.3), probe_dims, &Device::Cpu).unwrap();
            let grads = |recompute: bool| {
                let op =
                    FusedLayer { spec, steps: t, batch: b, lengths: arc.clone(), output, save: true, recompute, saved: Mutex::new(None) };
                let out = op.apply(&x, &w, &h0).unwrap();
                let g = (out * &probe).unwrap().sum_all().unwrap().backward().unwrap();
                [&x, &w, &h0].map(|v| g.get(v).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap())
            };
            let (kept, recomputed) = (grads(false), grads(true));
            assert!(kept[1].iter().any(|&v| v != 0.0), "{output:?}: no weight gradient");
            for (name, (a, r)) in ["x", "w", "h0"].iter().zip(kept.iter().zip(&recomputed)) {
                assert!(a.iter().zip(r).all(|(p, q)| p.to_bits() == q.to_bits()), "{output:?}: d{name} differs");
            }
        }
    }

    #[test]
    fn padding_rows_are_cleared_in_recycled_buffers() {
        for block in [Block::Lstm, Block::Gru] {
            for _ in 0..16 {
                pool::recycle(vec![f32::NAN; 8192]);
            }
            assert_matches_reference(LayerSpec { block, input: 2, hidden: 5 }, 6, &[6, 4, 4, 1], 1e-5);
        }
    }
}
