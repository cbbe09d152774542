//! Training: the loss, the optimisers with global-norm clipping, and the
//! epoch loop with progress reporting and early stopping.

use std::time::Instant;

use candle_core::backprop::GradStore;
use candle_core::{Device, Tensor, Var};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::batch::SeriesBatch;
use crate::config::{LossReduction, OptimizerKind, ReconstructionLoss, VraeConfig};
use crate::error::{Result, VraeError};
use crate::network::{decode, encode, Dropout, NetShape, Padded, Weights};
use crate::rnn::dealt_order;
use crate::scaling::Scaler;

/// Loss terms of one epoch, each the mean over its batches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochStats {
    /// 1-based epoch number.
    pub epoch: usize,
    /// The optimised objective: reconstruction + kl_weight x KL.
    pub loss: f64,
    /// Reconstruction term.
    pub reconstruction: f64,
    /// KL term (before weighting).
    pub kl: f64,
    /// KL weight used in this epoch (differs from the option during warm-up).
    pub kl_weight: f64,
    /// Wall time of the epoch.
    pub seconds: f64,
}

/// What the training loop reports as it goes.
#[derive(Clone, Debug)]
pub enum Progress<'a> {
    /// Training starts: rows, epochs and optimisation steps per epoch.
    Started { rows: usize, epochs: usize, batches_per_epoch: usize },
    /// One optimisation step finished (1-based numbers).
    Batch { epoch: usize, batch: usize, batches: usize },
    /// One epoch finished.
    Epoch(&'a EpochStats),
    /// Training finished; latents, PCA and k-means are being computed.
    Finishing,
}

impl Progress<'_> {
    /// The progress line every front end prints for this event (none for a
    /// single optimisation step): `who` names the caller (`vrae_fit`,
    /// `vrae.fit`, ...), `rows` the series trained on and `epochs` the epoch
    /// count training runs ([`VraeConfig::epochs_for_rows`]).
    pub fn line(&self, who: &str, rows: usize, epochs: usize) -> Option<String> {
        match self {
            Progress::Started { batches_per_epoch, .. } => {
                Some(format!("{who}: training on {rows} series, {epochs} epochs of {batches_per_epoch} steps"))
            }
            Progress::Epoch(e) => Some(format!(
                "{who}: {rows} series, epoch {}/{epochs}: loss {:.4} (reconstruction {:.4}, kl {:.5}, weight {:.3}) in {:.2}s",
                e.epoch, e.loss, e.reconstruction, e.kl, e.kl_weight, e.seconds
            )),
            Progress::Finishing => Some(format!("{who}: computing latents, PCA and k-means")),
            Progress::Batch { .. } => None,
        }
    }
}

/// The trained network with what training learned besides weights.
pub(crate) struct Trained {
    pub weights: Weights,
    pub scaler: Scaler,
    pub epochs: Vec<EpochStats>,
    pub stopped_early: bool,
}

/// Loss terms of one batch as tensors (scalars).
struct LossTerms {
    total: Tensor,
    reconstruction: Tensor,
    kl: Tensor,
}

fn batch_loss(config: &VraeConfig, w: &Weights, p: &Padded, kl_weight: f64, rng: &mut StdRng) -> Result<LossTerms> {
    let mut dropout = Dropout { rate: config.dropout as f32, rng };
    let (mean, logvar) = encode(w, p, Some(&mut dropout))?;
    let eps: Vec<f32> = (0..mean.elem_count()).map(|_| dropout.rng.sample(rand_distr::StandardNormal)).collect();
    let eps = Tensor::from_vec(eps, mean.shape(), mean.device())?;
    loss_given_noise(config, w, p, kl_weight, (&mean, &logvar), &eps, &mut dropout)
}

/// The loss once the encoder has run and the reparameterisation noise is
/// drawn (split out so that a probe can feed the noise another
/// implementation drew).
fn loss_given_noise(
    config: &VraeConfig,
    w: &Weights,
    p: &Padded,
    kl_weight: f64,
    (mean, logvar): (&Tensor, &Tensor),
    eps: &Tensor,
    dropout: &mut Dropout,
) -> Result<LossTerms> {
    // Reparameterisation: z = mean + exp(logvar / 2) * eps.
    let z = (mean + (logvar.affine(0.5, 0.0)?.exp()? * eps)?)?;
    let y = decode(w, &z, p, Some(dropout))?;

    let recon_sum = if config.shift_tolerance == 0 {
        // Padding is zero in both x and (after the mask) in y: it adds nothing.
        let diff = (y - &p.x)?.broadcast_mul(&p.mask)?;
        elementwise_loss(config.loss, &diff)?.sum_all()?
    } else {
        shift_tolerant_loss(config.loss, &y, p, config.shift_tolerance)?.sum_all()?
    };
    let kl_terms = ((logvar.affine(1.0, 1.0)? - mean.sqr()?)? - logvar.exp()?)?;
    let rows = p.batch() as f64;
    let (reconstruction, kl) = match config.reduction {
        LossReduction::Original => (recon_sum, (kl_terms.mean_all()? * -0.5)?),
        LossReduction::PerSeries => ((recon_sum / rows)?, (kl_terms.sum_all()? * (-0.5 / rows))?),
    };
    let total = (&reconstruction + (&kl * kl_weight)?)?;
    Ok(LossTerms { total, reconstruction, kl })
}

/// The reconstruction loss of each difference.
fn elementwise_loss(loss: ReconstructionLoss, diff: &Tensor) -> Result<Tensor> {
    Ok(match loss {
        ReconstructionLoss::Mse => diff.sqr()?,
        ReconstructionLoss::SmoothL1 => {
            // Huber with threshold 1: 0.5 m^2 + (|d| - m), m = min(|d|, 1).
            let a = diff.abs()?;
            let m = a.clamp(0f32, 1f32)?;
            ((m.sqr()? * 0.5)? + (a - m)?)?
        }
    })
}

/// Temperature of the soft minimum over shifts, in units of one series'
/// summed loss: small against typical errors (tens at unit scale), so close
/// to the hard minimum, while every shift still gets some gradient.
const SHIFT_SOFTMIN_TEMPERATURE: f64 = 1.0;

/// Reconstruction loss per series (`[rows]`) with `shift_tolerance`: the
/// soft minimum over `d` in `-tolerance..=tolerance` of the loss between
/// `y[t]` and `x[t + d]` over the steps where both lie inside the series,
/// scaled up to the series' length so that a shift is not favoured for
/// comparing fewer steps. A shift that leaves a series no overlap counts as
/// the unshifted loss.
fn shift_tolerant_loss(loss: ReconstructionLoss, y: &Tensor, p: &Padded, tolerance: usize) -> Result<Tensor> {
    let steps = p.steps();
    // Each series' length, `[rows]`.
    let lengths = p.mask.sum((0, 2))?;
    // The loss at shift `d` scaled to each series' length, and 1 where the
    // series has any step to compare at that shift (0 where it is too short).
    let at_shift = |d: usize, forward: bool| -> Result<(Tensor, Tensor)> {
        let n = steps - d;
        let (y_from, x_from) = if forward { (0, d) } else { (d, 0) };
        let both = (p.mask.narrow(0, y_from, n)? * p.mask.narrow(0, x_from, n)?)?;
        let diff = (y.narrow(0, y_from, n)? - p.x.narrow(0, x_from, n)?)?.broadcast_mul(&both)?;
        let summed = elementwise_loss(loss, &diff)?.sum((0, 2))?;
        let overlap = both.sum((0, 2))?;
        let scaled = ((summed / overlap.clamp(1f32, f32::MAX)?)? * &lengths)?;
        Ok((scaled, overlap.clamp(0f32, 1f32)?))
    };
    let (unshifted, _) = at_shift(0, true)?;
    let mut per_shift = vec![unshifted.clone()];
    for d in 1..=tolerance.min(steps.saturating_sub(1)) {
        for forward in [true, false] {
            let (shifted, compared) = at_shift(d, forward)?;
            // A series shorter than the shift takes its unshifted loss, not a free zero.
            let uncompared = compared.affine(-1.0, 1.0)?;
            per_shift.push(((shifted * &compared)? + (&unshifted * uncompared)?)?);
        }
    }
    // `[shifts, rows]`; then -T log sum exp(-loss / T), computed from the largest term.
    let losses = Tensor::stack(&per_shift, 0)?;
    let scaled = (losses * (-1.0 / SHIFT_SOFTMIN_TEMPERATURE))?;
    let top = scaled.max_keepdim(0)?.detach();
    let log_sum = (scaled.broadcast_sub(&top)?.exp()?.sum_keepdim(0)?.log()? + top)?;
    Ok((log_sum * -SHIFT_SOFTMIN_TEMPERATURE)?.squeeze(0)?)
}

/// Adam or SGD over a fixed list of variables, with optional clipping of
/// the gradients' global norm (PyTorch's `clip_grad_norm_` rule).
struct Optimizer {
    kind: OptimizerKind,
    lr: f64,
    momentum: f64,
    max_norm: Option<f64>,
    step: i32,
    /// Adam: first and second moments. SGD: momentum buffer in `.0`.
    state: Vec<(Tensor, Tensor)>,
}

const ADAM_BETA1: f64 = 0.9;
const ADAM_BETA2: f64 = 0.999;
const ADAM_EPS: f64 = 1e-8;

impl Optimizer {
    fn new(config: &VraeConfig, vars: &[Var]) -> Result<Self> {
        let state = vars.iter().map(|v| Ok((v.zeros_like()?, v.zeros_like()?))).collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self {
            kind: config.optimizer,
            lr: config.learning_rate,
            momentum: config.momentum,
            max_norm: config.clip.then_some(config.max_grad_norm),
            step: 0,
            state,
        })
    }

    fn step(&mut self, vars: &[Var], grads: &GradStore) -> Result<()> {
        let grads: Vec<Tensor> = vars
            .iter()
            .map(|v| match grads.get(v) {
                // Candle leaves the gradients of variables attached to the
                // graph that computed them; an optimiser state built from
                // them would keep every batch's graph alive.
                Some(g) => Ok(g.detach()),
                None => v.zeros_like(),
            })
            .collect::<candle_core::Result<_>>()?;
        let mut scale = 1.0;
        if let Some(max_norm) = self.max_norm {
            let mut sq = 0.0f64;
            for g in &grads {
                sq += g.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
            }
            let norm = sq.sqrt();
            let coef = max_norm / (norm + 1e-6);
            if coef < 1.0 {
                scale = coef;
            }
        }
        self.step += 1;
        for ((var, g), (m, v)) in vars.iter().zip(grads).zip(self.state.iter_mut()) {
            let g = if scale != 1.0 { g.affine(scale, 0.0)? } else { g };
            match self.kind {
                OptimizerKind::Adam => {
                    *m = ((&*m * ADAM_BETA1)? + (&g * (1.0 - ADAM_BETA1))?)?;
                    *v = ((&*v * ADAM_BETA2)? + (g.sqr()? * (1.0 - ADAM_BETA2))?)?;
                    let bc1 = 1.0 - ADAM_BETA1.powi(self.step);
                    let bc2 = 1.0 - ADAM_BETA2.powi(self.step);
                    let denom = ((v.sqrt()? / bc2.sqrt())? + ADAM_EPS)?;
                    let update = ((&*m / denom)? * (self.lr / bc1))?;
                    var.set(&(var.as_tensor() - update)?)?;
                }
                OptimizerKind::Sgd => {
                    let direction = if self.momentum > 0.0 {
                        *m = if self.step == 1 { g.clone() } else { ((&*m * self.momentum)? + &g)? };
                        m.clone()
                    } else {
                        g
                    };
                    var.set(&(var.as_tensor() - (direction * self.lr)?)?)?;
                }
            }
        }
        Ok(())
    }
}

fn kl_weight_at(config: &VraeConfig, epoch: usize) -> f64 {
    if config.kl_warmup_epochs == 0 {
        config.kl_weight
    } else {
        config.kl_weight * ((epoch + 1) as f64 / config.kl_warmup_epochs as f64).min(1.0)
    }
}

/// Runs the training loop on a validated batch.
pub(crate) fn train(batch: &SeriesBatch, config: &VraeConfig, device: &Device, progress: &mut dyn FnMut(Progress)) -> Result<Trained> {
    let mut rng = StdRng::seed_from_u64(config.seed);
    let scaler = Scaler::fit(config.scaling, batch);
    let shape = NetShape::new(config, batch.channels(), batch.max_steps());
    let init = Weights::init(shape, config.forget_bias as f32, &mut rng, device)?;
    let vars: Vec<Var> = init.tensors().into_iter().map(Var::from_tensor).collect::<candle_core::Result<_>>()?;
    let weights = Weights::from_ordered(shape, vars.iter().map(|v| v.as_tensor().clone()).collect());
    let mut optimizer = Optimizer::new(config, &vars)?;

    let rows = batch.len();
    let batches = rows.div_ceil(config.batch_size);
    let epoch_count = config.epochs_for_rows(rows);
    progress(Progress::Started { rows, epochs: epoch_count, batches_per_epoch: batches });
    let mut order: Vec<usize> = (0..rows).collect();
    let mut epochs = Vec::with_capacity(epoch_count);
    let (mut best, mut since_best, mut stopped_early) = (f64::INFINITY, 0usize, false);
    for epoch in 0..epoch_count {
        let started = Instant::now();
        let kl_weight = kl_weight_at(config, epoch);
        order.shuffle(&mut rng);
        let (mut sum_loss, mut sum_recon, mut sum_kl) = (0.0, 0.0, 0.0);
        for (b, chunk) in order.chunks(config.batch_size).enumerate() {
            let mut rows_sorted = chunk.to_vec();
            rows_sorted.sort_by_key(|&r| std::cmp::Reverse(batch.steps(r)));
            // The fused CPU layers take each chunk sorted, and balanced
            // chunks finish together; other devices need the whole batch sorted.
            if device.is_cpu() {
                let lengths: Vec<usize> = rows_sorted.iter().map(|&r| batch.steps(r)).collect();
                rows_sorted = dealt_order(&lengths).into_iter().map(|p| rows_sorted[p]).collect();
            }
            let padded = Padded::build(batch, &rows_sorted, &scaler, device)?;
            let terms = batch_loss(config, &weights, &padded, kl_weight, &mut rng)?;
            let loss = terms.total.to_scalar::<f32>()? as f64;
            if !loss.is_finite() {
                return Err(VraeError::Diverged { epoch: epoch + 1, loss });
            }
            let grads = terms.total.backward()?;
            optimizer.step(&vars, &grads)?;
            sum_loss += loss;
            sum_recon += terms.reconstruction.to_scalar::<f32>()? as f64;
            sum_kl += terms.kl.to_scalar::<f32>()? as f64;
            progress(Progress::Batch { epoch: epoch + 1, batch: b + 1, batches });
        }
        let n = batches as f64;
        let stats = EpochStats {
            epoch: epoch + 1,
            loss: sum_loss / n,
            reconstruction: sum_recon / n,
            kl: sum_kl / n,
            kl_weight,
            seconds: started.elapsed().as_secs_f64(),
        };
        progress(Progress::Epoch(&stats));
        let loss = stats.loss;
        epochs.push(stats);
        if let Some(patience) = config.early_stopping_patience {
            if loss < best - config.early_stopping_min_delta {
                best = loss;
                since_best = 0;
            } else {
                since_best += 1;
                if since_best >= patience {
                    stopped_early = true;
                    break;
                }
            }
        }
    }
    let trained = vars.iter().map(|v| v.as_detached_tensor()).collect();
    Ok(Trained { weights: Weights::from_ordered(shape, trained), scaler, epochs, stopped_early })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Univariate rows (longest first) laid out for the loss as training
    /// lays them out, unscaled.
    fn padded(rows: &[Vec<f32>]) -> Padded {
        let batch = SeriesBatch::from_rows(rows, 1).unwrap();
        let all: Vec<usize> = (0..rows.len()).collect();
        Padded::build(&batch, &all, &Scaler::fit(crate::config::Scaling::None, &batch), &Device::Cpu).unwrap()
    }

    fn per_row(t: &Tensor) -> Vec<f32> {
        t.to_vec1::<f32>().unwrap()
    }

    /// A reconstruction that is its series moved by two steps costs almost
    /// nothing with a tolerance of 3 (at most T log(7) below the hard
    /// minimum, which is 0 here, and never above it), and what the plain
    /// loss says without one; a series too short for a shift is not let off.
    #[test]
    fn shift_tolerant_loss_forgives_small_shifts_only() {
        let bump = |at: usize| (0..20).map(|t| if (at..at + 4).contains(&t) { 1.0 } else { 0.0 }).collect::<Vec<f32>>();
        let x = padded(&[bump(8), vec![2.0]]);
        let y = padded(&[bump(10), vec![0.5]]).x;
        let plain = per_row(&((&y - &x.x).unwrap().broadcast_mul(&x.mask).unwrap().sqr().unwrap().sum((0, 2)).unwrap()));
        assert_eq!(plain, vec![4.0, 2.25]);

        let tolerant = per_row(&shift_tolerant_loss(ReconstructionLoss::Mse, &y, &x, 3).unwrap());
        let floor = -(SHIFT_SOFTMIN_TEMPERATURE * 7f64.ln()) as f32;
        assert!((floor..=0.05).contains(&tolerant[0]), "a 2-step shift within tolerance 3 costs {}", tolerant[0]);
        // The 1-step series has no overlap at any shift: its loss is the plain
        // one (seven equal terms: T log 7 below it).
        assert!((tolerant[1] - (2.25 + floor)).abs() < 1e-4, "short series: {}", tolerant[1]);

        let too_far = per_row(&shift_tolerant_loss(ReconstructionLoss::Mse, &y, &x, 1).unwrap());
        // Its best shift still misses by a step (2 steps wrong, 2.1 scaled).
        assert!(too_far[0] > 1.5, "a 2-step shift beyond tolerance 1 costs only {}", too_far[0]);
    }

    /// The soft minimum passes gradient to the reconstruction, most of it
    /// through the best-aligned shift.
    #[test]
    fn shift_tolerant_loss_has_gradients() {
        let bump = |at: usize| (0..12).map(|t| if (at..at + 3).contains(&t) { 1.0 } else { 0.0 }).collect::<Vec<f32>>();
        let x = padded(&[bump(4)]);
        let y = Var::from_tensor(&padded(&[bump(5).iter().map(|v| v * 0.5).collect()]).x).unwrap();
        let loss = shift_tolerant_loss(ReconstructionLoss::Mse, y.as_tensor(), &x, 2).unwrap().sum_all().unwrap();
        let grad = per_row(&loss.backward().unwrap().get(&y).unwrap().flatten_all().unwrap());
        // The half-height bump is pulled up towards the full one (negative
        // gradient), wherever it is aligned.
        assert!(grad[5..8].iter().sum::<f32>() < -1.5, "{grad:?}");
        assert!(grad.iter().all(|g| g.is_finite()));
    }

    /// Not a check on its own: the Rust half of the whole-model gradient
    /// comparison with the PyTorch baseline (bench/pytorch/gradient_probe.py
    /// writes the inputs and compares). Reads a vrae model, a batch of
    /// series and the noise from `VRAE_PROBE_DIR`, writes the loss, every
    /// parameter's gradient and the weights after `VRAE_PROBE_STEPS`
    /// optimiser steps on that batch back there, in the model's tensor order.
    #[test]
    #[ignore]
    fn gradient_probe() {
        let dir = std::path::PathBuf::from(std::env::var("VRAE_PROBE_DIR").expect("set VRAE_PROBE_DIR"));
        let read = |name: &str| -> Vec<f32> {
            std::fs::read(dir.join(name)).expect(name).chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
        };
        let model = crate::Model::load(dir.join("model.safetensors")).expect("model");
        let x = read("x.f32");
        let eps = read("eps.f32");
        let rows = eps.len() / model.latent();
        let length = x.len() / rows;
        let offsets: Vec<usize> = (0..=rows).map(|r| r * length).collect();
        let batch = SeriesBatch::new(&x[..], &offsets[..], 1).expect("batch");
        let device = Device::Cpu;
        let vars: Vec<Var> = model.weights.tensors().into_iter().map(|t| Var::from_tensor(t).expect("var")).collect();
        let weights = Weights::from_ordered(model.weights.shape, vars.iter().map(|v| v.as_tensor().clone()).collect());
        let all: Vec<usize> = (0..rows).collect();
        let padded = Padded::build(&batch, &all, &model.scaler, &device).expect("padded");
        let eps = Tensor::from_vec(eps, (rows, model.latent()), &device).expect("eps");
        let flat = |t: &Tensor| t.flatten_all().and_then(|t| t.to_vec1::<f32>()).expect("values");
        // Loss and gradients at the model's weights, then the weights after
        // `VRAE_PROBE_STEPS` optimiser steps on the same batch and noise.
        let updates: usize = std::env::var("VRAE_PROBE_STEPS").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
        // The PyTorch VRAE compares each reconstruction with its series as it is.
        let config = VraeConfig { shift_tolerance: 0, ..model.config.clone() };
        let mut optimizer = Optimizer::new(&config, &vars).expect("optimizer");
        let mut out = Vec::new();
        for step in 0..=updates {
            let mut rng = StdRng::seed_from_u64(0);
            let mut dropout = Dropout { rate: 0.0, rng: &mut rng };
            let (mean, logvar) = encode(&weights, &padded, Some(&mut dropout)).expect("encode");
            let terms = loss_given_noise(&config, &weights, &padded, 1.0, (&mean, &logvar), &eps, &mut dropout).expect("loss");
            let grads = terms.total.backward().expect("backward");
            if step == 0 {
                out.push(terms.total.to_scalar::<f32>().expect("loss"));
                for v in &vars {
                    out.extend(grads.get(v).map(flat).unwrap_or_else(|| vec![0.0; v.elem_count()]));
                }
            }
            if step < updates {
                optimizer.step(&vars, &grads).expect("step");
            }
        }
        for v in &vars {
            out.extend(flat(v.as_tensor()));
        }
        let bytes: Vec<u8> = out.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(dir.join("vrae_grads.f32"), bytes).expect("write");
    }

    #[test]
    fn kl_warmup_ramps_linearly_then_holds() {
        let c = VraeConfig { kl_weight: 2.0, kl_warmup_epochs: 4, ..Default::default() };
        let w: Vec<f64> = (0..6).map(|e| kl_weight_at(&c, e)).collect();
        assert_eq!(w, vec![0.5, 1.0, 1.5, 2.0, 2.0, 2.0]);
        assert_eq!(kl_weight_at(&VraeConfig::default(), 0), 1.0);
    }
}
