//! The VRAE network: parameter layout and initialisation, batch padding, and
//! the encoder and decoder forward passes. Training and inference both go
//! through here; only the weights' kind differs (trainable `Var`s or plain
//! tensors loaded from a model).

use std::sync::Arc;

use candle_core::{DType, Device, Tensor};
use rand::rngs::StdRng;
use rand::Rng;

use crate::batch::SeriesBatch;
use crate::config::{Block, DecoderInputs, VraeConfig};
use crate::error::{ArtifactError, Result};
use crate::rnn::{layer, LayerOutput, LayerSpec};
use crate::scaling::Scaler;

/// The sizes that fix every parameter's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NetShape {
    pub block: Block,
    pub channels: usize,
    pub hidden: usize,
    pub depth: usize,
    pub latent: usize,
    /// Rows of the learned decoder inputs (`None`: zero inputs).
    pub decoder_steps: Option<usize>,
}

impl NetShape {
    pub fn new(config: &VraeConfig, channels: usize, longest: usize) -> Self {
        Self {
            block: config.block,
            channels,
            hidden: config.hidden_size,
            depth: config.depth,
            latent: config.latent,
            decoder_steps: match config.decoder_inputs {
                DecoderInputs::Zeros => None,
                DecoderInputs::Learned => Some(longest.max(1)),
            },
        }
    }

    fn encoder_layer(&self, layer: usize) -> LayerSpec {
        let input = if layer == 0 { self.channels } else { self.hidden };
        LayerSpec { block: self.block, input, hidden: self.hidden }
    }

    fn decoder_layer(&self, layer: usize) -> LayerSpec {
        let input = match (layer, self.decoder_steps) {
            (0, None) => 0,
            (0, Some(_)) => self.channels,
            _ => self.hidden,
        };
        LayerSpec { block: self.block, input, hidden: self.hidden }
    }
}

/// How a parameter starts.
#[derive(Clone, Copy, Debug)]
enum Init {
    /// PyTorch's recurrent init: U(-1/sqrt(hidden), 1/sqrt(hidden)) for
    /// weights and biases, then the `forget_bias` option added to the forget
    /// (LSTM) or update (GRU) gate's slice of `b_ih`, the packed row
    /// `bias_row`.
    Recurrent { hidden: usize, bias_row: usize },
    /// Xavier/Glorot uniform, as the original VRAE uses for its linear maps.
    Xavier { fan_in: usize, fan_out: usize },
    /// PyTorch's linear bias init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    Bias { fan_in: usize },
    /// Zeros (learned decoder inputs start where the zero-input decoder is).
    Zeros,
}

/// One parameter: its name in the model file, its shape, its initialiser.
pub(crate) struct ParamSpec {
    pub name: String,
    pub dims: Vec<usize>,
    init: Init,
}

/// Every parameter, in a fixed order (the order of [`Weights::tensors`]).
pub(crate) fn param_specs(s: &NetShape) -> Vec<ParamSpec> {
    let mut out = Vec::new();
    let mut push = |name: String, dims: Vec<usize>, init: Init| out.push(ParamSpec { name, dims, init });
    for l in 0..s.depth {
        let spec = s.encoder_layer(l);
        push(format!("encoder.{l}.packed"), vec![spec.packed_rows(), spec.gate_width()], recurrent_init(spec));
    }
    for head in ["mean", "logvar"] {
        push(format!("latent.{head}.weight"), vec![s.hidden, s.latent], Init::Xavier { fan_in: s.hidden, fan_out: s.latent });
        push(format!("latent.{head}.bias"), vec![s.latent], Init::Bias { fan_in: s.hidden });
    }
    push("decoder.init.weight".into(), vec![s.latent, s.hidden], Init::Xavier { fan_in: s.latent, fan_out: s.hidden });
    push("decoder.init.bias".into(), vec![s.hidden], Init::Bias { fan_in: s.latent });
    for l in 0..s.depth {
        let spec = s.decoder_layer(l);
        push(format!("decoder.{l}.packed"), vec![spec.packed_rows(), spec.gate_width()], recurrent_init(spec));
    }
    if let Some(steps) = s.decoder_steps {
        push("decoder.inputs".into(), vec![steps, s.channels], Init::Zeros);
    }
    push("decoder.output.weight".into(), vec![s.hidden, s.channels], Init::Xavier { fan_in: s.hidden, fan_out: s.channels });
    push("decoder.output.bias".into(), vec![s.channels], Init::Bias { fan_in: s.hidden });
    out
}

fn recurrent_init(spec: LayerSpec) -> Init {
    // Packed rows: W_ih^T (input), W_hh^T (hidden), then b_ih.
    Init::Recurrent { hidden: spec.hidden, bias_row: spec.input + spec.hidden }
}

fn init_values(init: Init, count: usize, forget_bias: f32, rng: &mut StdRng) -> Vec<f32> {
    let bound = match init {
        Init::Recurrent { hidden, .. } => 1.0 / (hidden as f64).sqrt(),
        Init::Xavier { fan_in, fan_out } => (6.0 / (fan_in + fan_out) as f64).sqrt(),
        Init::Bias { fan_in } => 1.0 / (fan_in as f64).sqrt(),
        Init::Zeros => return vec![0.0; count],
    } as f32;
    let mut values: Vec<f32> = (0..count).map(|_| rng.random_range(-bound..=bound)).collect();
    if let Init::Recurrent { hidden, bias_row } = init {
        // Gate order i, f, g, o (LSTM) or r, z, n (GRU): the second block of
        // `hidden` columns is the forget or update gate in both.
        let width = count / (bias_row + 2);
        let start = bias_row * width + hidden;
        if let Some(slice) = values.get_mut(start..start + hidden) {
            slice.iter_mut().for_each(|v| *v += forget_bias);
        }
    }
    values
}

/// The network's tensors, by role.
#[derive(Clone, Debug)]
pub(crate) struct Weights {
    pub shape: NetShape,
    pub encoder: Vec<Tensor>,
    pub mean_w: Tensor,
    pub mean_b: Tensor,
    pub logvar_w: Tensor,
    pub logvar_b: Tensor,
    pub init_w: Tensor,
    pub init_b: Tensor,
    pub decoder: Vec<Tensor>,
    pub decoder_inputs: Option<Tensor>,
    pub out_w: Tensor,
    pub out_b: Tensor,
}

impl Weights {
    /// Fresh weights drawn from `rng`, `forget_bias` added to every
    /// recurrent layer's forget (LSTM) or update (GRU) gate bias.
    pub fn init(shape: NetShape, forget_bias: f32, rng: &mut StdRng, device: &Device) -> Result<Self> {
        let tensors = param_specs(&shape)
            .into_iter()
            .map(|p| {
                let count = p.dims.iter().product();
                Tensor::from_vec(init_values(p.init, count, forget_bias, rng), p.dims, device)
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self::from_ordered(shape, tensors))
    }

    /// Builds weights from named tensors, checking names and shapes.
    pub fn from_named(shape: NetShape, mut lookup: impl FnMut(&str) -> Option<Tensor>) -> std::result::Result<Self, ArtifactError> {
        let mut tensors = Vec::new();
        for p in param_specs(&shape) {
            let t = lookup(&p.name).ok_or_else(|| ArtifactError::MissingTensor(p.name.clone()))?;
            if t.dims() != p.dims.as_slice() || t.dtype() != DType::F32 {
                return Err(ArtifactError::BadTensor { name: p.name, found: t.dims().to_vec(), expected: p.dims });
            }
            tensors.push(t);
        }
        Ok(Self::from_ordered(shape, tensors))
    }

    pub(crate) fn from_ordered(shape: NetShape, tensors: Vec<Tensor>) -> Self {
        let mut it = tensors.into_iter();
        // `param_specs` produced exactly this many tensors in this order.
        let mut next = || it.next().unwrap_or_else(|| unreachable!("parameter list matches param_specs"));
        let encoder = (0..shape.depth).map(|_| next()).collect();
        let (mean_w, mean_b, logvar_w, logvar_b) = (next(), next(), next(), next());
        let (init_w, init_b) = (next(), next());
        let decoder = (0..shape.depth).map(|_| next()).collect();
        let decoder_inputs = shape.decoder_steps.map(|_| next());
        let (out_w, out_b) = (next(), next());
        Self { shape, encoder, mean_w, mean_b, logvar_w, logvar_b, init_w, init_b, decoder, decoder_inputs, out_w, out_b }
    }

    /// A copy on `device` (the tensors themselves when already there).
    pub fn to_device(&self, device: &Device) -> Result<Self> {
        let tensors = self.tensors().into_iter().map(|t| t.to_device(device)).collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self::from_ordered(self.shape, tensors))
    }

    /// Every tensor in `param_specs` order.
    pub fn tensors(&self) -> Vec<&Tensor> {
        let mut v: Vec<&Tensor> = self.encoder.iter().collect();
        v.extend([&self.mean_w, &self.mean_b, &self.logvar_w, &self.logvar_b, &self.init_w, &self.init_b]);
        v.extend(self.decoder.iter());
        v.extend(self.decoder_inputs.iter());
        v.extend([&self.out_w, &self.out_b]);
        v
    }
}

/// A batch laid out for the recurrent layers: time-major, zero-padded,
/// scaled, rows ordered longest first (in training on the CPU, longest first
/// within each of the fused layers' chunks: `rnn::dealt_order`).
pub(crate) struct Padded {
    /// `[steps, rows, channels]`.
    pub x: Tensor,
    /// `[steps, rows, 1]`: 1 where a row has a value, 0 in the padding.
    pub mask: Tensor,
    pub lengths: Arc<[usize]>,
    /// Which row of the source batch each position holds.
    pub rows: Vec<usize>,
    /// Each position's per-channel shift and scale, `[rows, channels]`, to
    /// undo on reconstructions.
    pub shift: Vec<f32>,
    pub scale: Vec<f32>,
}

impl Padded {
    /// Lays out `rows` (already ordered longest first) of `batch`.
    pub fn build(batch: &SeriesBatch, rows: &[usize], scaler: &Scaler, device: &Device) -> Result<Self> {
        let c = batch.channels();
        let b = rows.len();
        let lengths: Vec<usize> = rows.iter().map(|&r| batch.steps(r)).collect();
        let t = lengths.first().copied().unwrap_or(0);
        let mut x = vec![0.0f32; t * b * c];
        let mut mask = vec![0.0f32; t * b];
        let mut shift = vec![0.0f32; b * c];
        let mut scale = vec![1.0f32; b * c];
        for (pos, &r) in rows.iter().enumerate() {
            let values = batch.row(r);
            let (sh, sc) = (&mut shift[pos * c..(pos + 1) * c], &mut scale[pos * c..(pos + 1) * c]);
            scaler.row_scale_into(values, sh, sc);
            for (s, step) in values.chunks_exact(c).enumerate() {
                let dst = (s * b + pos) * c;
                let step_mean = scaler.step_mean(s);
                for ch in 0..c {
                    let centre = step_mean.map_or(0.0, |m| m[ch]);
                    x[dst + ch] = (step[ch] - centre - sh[ch]) / sc[ch];
                }
                mask[s * b + pos] = 1.0;
            }
        }
        Ok(Self {
            x: Tensor::from_vec(x, (t, b, c), device)?,
            mask: Tensor::from_vec(mask, (t, b, 1), device)?,
            lengths: lengths.into(),
            rows: rows.to_vec(),
            shift,
            scale,
        })
    }

    /// `rows` rows of `steps` zeros, unscaled: what the decoder needs to
    /// run from given latent vectors (prototypes).
    pub fn blank(rows: usize, steps: usize, channels: usize, device: &Device) -> Result<Self> {
        Ok(Self {
            x: Tensor::zeros((steps, rows, channels), DType::F32, device)?,
            mask: Tensor::ones((steps, rows, 1), DType::F32, device)?,
            lengths: vec![steps; rows].into(),
            rows: (0..rows).collect(),
            shift: vec![0.0; rows * channels],
            scale: vec![1.0; rows * channels],
        })
    }

    pub fn steps(&self) -> usize {
        self.lengths.first().copied().unwrap_or(0)
    }

    pub fn batch(&self) -> usize {
        self.rows.len()
    }
}

/// Dropout between stacked layers, drawing its masks from the training RNG
/// so that runs are reproducible.
pub(crate) struct Dropout<'a> {
    pub rate: f32,
    pub rng: &'a mut StdRng,
}

impl Dropout<'_> {
    fn apply(&mut self, t: &Tensor) -> Result<Tensor> {
        if self.rate <= 0.0 {
            return Ok(t.clone());
        }
        let keep = 1.0 - self.rate;
        let mask: Vec<f32> = (0..t.elem_count()).map(|_| if self.rng.random::<f32>() < keep { 1.0 / keep } else { 0.0 }).collect();
        Ok((t * Tensor::from_vec(mask, t.shape(), t.device())?)?)
    }
}

fn linear(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
    Ok(crate::cpu_matmul::matmul(x, w)?.broadcast_add(b)?)
}

/// Encoder: latent mean and log-variance, `[rows, latent]` each.
pub(crate) fn encode(w: &Weights, p: &Padded, mut dropout: Option<&mut Dropout>) -> Result<(Tensor, Tensor)> {
    let s = &w.shape;
    let train = dropout.is_some();
    let device = p.x.device();
    let zeros = Tensor::zeros((p.batch(), s.hidden), DType::F32, device)?;
    let mut h = p.x.clone();
    for (l, packed) in w.encoder.iter().enumerate() {
        let last = l + 1 == s.depth;
        let output = if last { LayerOutput::LastState } else { LayerOutput::Sequence };
        h = layer(&h, packed, &zeros, s.encoder_layer(l), &p.lengths, output, train)?;
        if let (false, Some(d)) = (last, dropout.as_deref_mut()) {
            h = d.apply(&h)?;
        }
    }
    Ok((linear(&h, &w.mean_w, &w.mean_b)?, linear(&h, &w.logvar_w, &w.logvar_b)?))
}

/// Decoder: reconstructions `[steps, rows, channels]` in scaled units.
pub(crate) fn decode(w: &Weights, z: &Tensor, p: &Padded, mut dropout: Option<&mut Dropout>) -> Result<Tensor> {
    let s = &w.shape;
    let train = dropout.is_some();
    let (t, b) = (p.steps(), p.batch());
    let device = p.x.device();
    let h0 = linear(z, &w.init_w, &w.init_b)?;
    let mut h = match (&w.decoder_inputs, s.decoder_steps) {
        (Some(inputs), Some(rows)) => {
            // Steps past the longest training series reuse the last row.
            let idx: Vec<u32> = (0..t).map(|i| i.min(rows - 1) as u32).collect();
            let idx = Tensor::from_vec(idx, t, device)?;
            inputs.index_select(&idx, 0)?.unsqueeze(1)?.broadcast_as((t, b, s.channels))?.contiguous()?
        }
        _ => Tensor::zeros((t, b, 0), DType::F32, device)?,
    };
    for (l, packed) in w.decoder.iter().enumerate() {
        h = layer(&h, packed, &h0, s.decoder_layer(l), &p.lengths, LayerOutput::Sequence, train)?;
        if let (true, Some(d)) = (l + 1 < s.depth, dropout.as_deref_mut()) {
            h = d.apply(&h)?;
        }
    }
    let flat = h.reshape((t * b, s.hidden))?;
    Ok(linear(&flat, &w.out_w, &w.out_b)?.reshape((t, b, s.channels))?)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn values(t: &Tensor) -> Vec<f32> {
        t.flatten_all().and_then(|t| t.to_vec1::<f32>()).expect("f32 tensor")
    }

    #[test]
    fn forget_bias_moves_only_the_forget_or_update_gate_bias() {
        for block in [Block::Lstm, Block::Gru] {
            let plain = VraeConfig { block, hidden_size: 5, latent: 3, depth: 2, forget_bias: 0.0, ..Default::default() };
            let shifted = VraeConfig { forget_bias: 2.5, ..plain.clone() };
            let init = |c: &VraeConfig| {
                let shape = NetShape::new(c, 2, 10);
                Weights::init(shape, c.forget_bias as f32, &mut StdRng::seed_from_u64(7), &Device::Cpu).expect("init")
            };
            let (a, b) = (init(&plain), init(&shifted));
            let recurrent: Vec<LayerSpec> =
                (0..2).map(|l| a.shape.encoder_layer(l)).chain((0..2).map(|l| a.shape.decoder_layer(l))).collect();
            let layers_a = a.encoder.iter().chain(&a.decoder);
            let layers_b = b.encoder.iter().chain(&b.decoder);
            for ((ta, tb), spec) in layers_a.zip(layers_b).zip(&recurrent) {
                let (va, vb, width, h) = (values(ta), values(tb), spec.gate_width(), spec.hidden);
                let b_ih = (spec.input + h) * width;
                for (idx, (x, y)) in va.iter().zip(&vb).enumerate() {
                    let in_gate = (b_ih + h..b_ih + 2 * h).contains(&idx);
                    let expected = if in_gate { x + 2.5 } else { *x };
                    assert_eq!(*y, expected, "{block:?} {spec:?} index {idx}");
                }
            }
            // Nothing else moves, and the random draws are the same.
            assert_eq!(values(&a.mean_w), values(&b.mean_w));
            assert_eq!(values(&a.out_b), values(&b.out_b));
        }
    }
}
