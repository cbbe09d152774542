//! The GPU check (bench/gpu/check.sh runs it on a machine with an NVIDIA
//! GPU): CUDA against the CPU path, first for correctness, then for speed.
//!
//! 1. Layers: the composed layer on CUDA against the fused op on the CPU,
//!    outputs and the gradients of input, weights and initial state, both
//!    blocks, variable lengths; ‖cuda − cpu‖ / ‖cpu‖ must stay under 1e-3.
//! 2. Model: a model trained on the CPU embeds the same on CUDA (1e-3),
//!    and two epochs of training on CUDA follow the CPU's losses (1e-2:
//!    the arithmetic order differs, so the runs drift apart slowly).
//! 3. Speed: training and embedding series/second on ECG5000 and on a
//!    synthetic set (1M series for embedding), CUDA against the CPU path
//!    with 2 threads (the 2-core machine the CPU figures elsewhere come from).
//!
//! Prints one JSON line per measurement and a table at the end; exits
//! non-zero when a correctness check fails.
//!
//!   gpu_check [--data DIR] [--synthetic N] [--quick]

#[path = "../../examples/support/allocator.rs"]
mod allocator;
#[path = "../../examples/support/parquet_series.rs"]
mod parquet_series;

use std::error::Error;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use candle_core::{Device, Tensor, Var};
use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use vrae::config::DeviceKind;
use vrae::rnn::{composed_layer, recurrent_layer, Block, LayerOutput, LayerSpec};
use vrae::{Model, SeriesBatch, VraeConfig};

type Res<T> = Result<T, Box<dyn Error>>;

const LAYER_TOLERANCE: f64 = 1e-3;
const EMBED_TOLERANCE: f64 = 1e-3;
const LOSS_TOLERANCE: f64 = 1e-2;

/// The CUDA checks: CPU against GPU on layers, gradients and whole models.
#[derive(Parser)]
#[command(name = "gpu_check")]
struct Args {
    /// Folder with the ECG5000 Parquet files.
    #[arg(long, default_value = "data")]
    data: PathBuf,
    /// Rows of the synthetic dataset (5 classes) of the speed runs.
    #[arg(long, default_value_t = 1_000_000)]
    synthetic: usize,
    /// Smaller runs, for a first try.
    #[arg(long)]
    quick: bool,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// ‖a − b‖ / ‖b‖ over all elements (0 when both are zero).
fn rel_norm(a: &Tensor, b: &Tensor) -> Res<f64> {
    let a = a.to_device(&Device::Cpu)?.flatten_all()?.to_vec1::<f32>()?;
    let b = b.to_device(&Device::Cpu)?.flatten_all()?.to_vec1::<f32>()?;
    if a.len() != b.len() {
        return Err(format!("{} values against {}", a.len(), b.len()).into());
    }
    if a.iter().any(|v| !v.is_finite()) {
        return Ok(f64::INFINITY);
    }
    let diff: f64 = a.iter().zip(&b).map(|(x, y)| ((x - y) as f64).powi(2)).sum::<f64>().sqrt();
    let norm: f64 = b.iter().map(|y| (*y as f64).powi(2)).sum::<f64>().sqrt();
    Ok(if norm == 0.0 { diff } else { diff / norm })
}

fn random(rng: &mut StdRng, dims: &[usize], scale: f32) -> Res<Tensor> {
    let n: usize = dims.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.random_range(-scale..scale)).collect();
    Ok(Tensor::from_vec(v, dims, &Device::Cpu)?)
}

fn report(line: Value) {
    println!("{line}");
}

/// One layer case: worst relative error over the output and the gradients.
fn layer_case(cuda: &Device, rng: &mut StdRng, spec: LayerSpec, lengths: Vec<usize>, output: LayerOutput) -> Res<f64> {
    let (t, b) = (lengths[0], lengths.len());
    let x = random(rng, &[t, b, spec.input], 1.0)?;
    let w = random(rng, &[spec.packed_rows(), spec.gate_width()], 0.3)?;
    let h0 = random(rng, &[b, spec.hidden], 0.8)?;
    let out_dims: Vec<usize> = match output {
        LayerOutput::Sequence => vec![t, b, spec.hidden],
        LayerOutput::LastState => vec![b, spec.hidden],
    };
    let probe = random(rng, &out_dims, 1.0)?;

    let run = |device: &Device, fused: bool| -> Res<(Tensor, Vec<Option<Tensor>>)> {
        let vars =
            [Var::from_tensor(&x.to_device(device)?)?, Var::from_tensor(&w.to_device(device)?)?, Var::from_tensor(&h0.to_device(device)?)?];
        let arc: Arc<[usize]> = lengths.clone().into();
        let out = if fused {
            recurrent_layer(&vars[0], &vars[1], &vars[2], spec, &arc, output, true)?
        } else {
            composed_layer(&vars[0], &vars[1], &vars[2], spec, &lengths, output)?
        };
        let grads = (&out * probe.to_device(device)?)?.sum_all()?.backward()?;
        let g = vars.iter().map(|v| grads.get(v).cloned()).collect();
        Ok((out, g))
    };
    let (cpu_out, cpu_grads) = run(&Device::Cpu, true)?;
    let (gpu_out, gpu_grads) = run(cuda, false)?;
    let mut worst = rel_norm(&gpu_out, &cpu_out)?;
    for (name, (g, c)) in ["x", "w", "h0"].iter().zip(gpu_grads.iter().zip(&cpu_grads)) {
        match (g, c) {
            (Some(g), Some(c)) => worst = worst.max(rel_norm(g, c)?),
            (None, None) => {}
            // An input with zero values per step: one path returns an empty gradient.
            (Some(t), None) | (None, Some(t)) if t.elem_count() == 0 => {}
            _ => return Err(format!("gradient of {name} exists on one device only").into()),
        }
    }
    Ok(worst)
}

fn check_layers(cuda: &Device) -> Res<usize> {
    let mut rng = StdRng::seed_from_u64(17);
    let mut failures = 0;
    for block in [Block::Lstm, Block::Gru] {
        for output in [LayerOutput::Sequence, LayerOutput::LastState] {
            for &(input, hidden, batch, steps) in &[(1, 90, 32, 140), (0, 90, 64, 50), (12, 33, 7, 29), (3, 128, 256, 60)] {
                let mut lengths: Vec<usize> = (0..batch).map(|_| rng.random_range(1..=steps)).collect();
                lengths.sort_by(|a, b| b.cmp(a));
                lengths[0] = steps;
                let spec = LayerSpec { block, input, hidden };
                let err = layer_case(cuda, &mut rng, spec, lengths, output)?;
                let ok = err < LAYER_TOLERANCE;
                failures += usize::from(!ok);
                report(json!({"kind": "layer", "block": format!("{block:?}"), "output": format!("{output:?}"),
                    "input": input, "hidden": hidden, "batch": batch, "steps": steps, "rel_err": err, "ok": ok}));
            }
        }
    }
    Ok(failures)
}

fn config(json: &str) -> Res<VraeConfig> {
    Ok(VraeConfig::from_json(json)?)
}

fn check_model(ecg: &SeriesBatch) -> Res<usize> {
    let mut failures = 0;
    let cpu_model = Model::fit(ecg, &config(r#"{"epochs": 2, "threads": 2, "seed": 1}"#)?, |_| {})?;
    let cpu_latents = cpu_model.embed(ecg)?;
    let mut on_gpu = cpu_model.clone();
    on_gpu.set_device(DeviceKind::Cuda)?;
    let gpu_latents = on_gpu.embed(ecg)?;
    let shape = (cpu_latents.len(),);
    let err = rel_norm(&Tensor::from_vec(gpu_latents, shape, &Device::Cpu)?, &Tensor::from_vec(cpu_latents, shape, &Device::Cpu)?)?;
    let ok = err < EMBED_TOLERANCE;
    failures += usize::from(!ok);
    report(json!({"kind": "embed_same_model", "rel_err": err, "ok": ok}));

    let gpu_model = Model::fit(ecg, &config(r#"{"epochs": 2, "threads": 2, "seed": 1, "device": "cuda"}"#)?, |_| {})?;
    for (c, g) in cpu_model.summary().loss_per_epoch.iter().zip(&gpu_model.summary().loss_per_epoch) {
        let err = (g.loss - c.loss).abs() / c.loss.abs().max(1e-12);
        let ok = err < LOSS_TOLERANCE;
        failures += usize::from(!ok);
        report(json!({"kind": "train_loss", "epoch": c.epoch, "cpu": c.loss, "cuda": g.loss, "rel_err": err, "ok": ok}));
    }
    Ok(failures)
}

/// Series per second of training: the epochs' own times (the final
/// embedding, k-means and PCA are not training).
fn train_rate(batch: &SeriesBatch, options: &str) -> Res<f64> {
    let model = Model::fit(batch, &config(options)?, |_| {})?;
    let epochs = &model.summary().loss_per_epoch;
    let seconds: f64 = epochs.iter().map(|e| e.seconds).sum();
    Ok((batch.len() * epochs.len()) as f64 / seconds)
}

/// Series per second of embedding (best of `repeats`).
fn embed_rate(model: &Model, batch: &SeriesBatch, repeats: usize) -> Res<f64> {
    let mut best = 0.0f64;
    for _ in 0..repeats {
        let started = Instant::now();
        let latents = model.embed(batch)?;
        let rate = batch.len() as f64 / started.elapsed().as_secs_f64();
        if latents.len() != batch.len() * model.latent() {
            return Err("embedding returned the wrong number of values".into());
        }
        best = best.max(rate);
    }
    Ok(best)
}

/// `n` noisy sines of 140 steps with random frequency and phase.
fn synthetic(n: usize, seed: u64) -> Res<SeriesBatch<'static>> {
    let steps = 140;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut values = Vec::with_capacity(n * steps);
    for _ in 0..n {
        let tau = std::f32::consts::TAU;
        let (f, p): (f32, f32) = (rng.random_range(0.5..4.0), rng.random_range(0.0..tau));
        values.extend((0..steps).map(|t| (t as f32 / steps as f32 * f * tau + p).sin() + rng.random_range(-0.1..0.1)));
    }
    let offsets: Vec<usize> = (0..=n).map(|i| i * steps).collect();
    Ok(SeriesBatch::new(values, offsets, 1)?)
}

/// The first `n` rows of a batch, as a batch of its own.
fn head(batch: &SeriesBatch, n: usize) -> Res<SeriesBatch<'static>> {
    let rows: Vec<&[f32]> = (0..n.min(batch.len())).map(|r| batch.row(r)).collect();
    Ok(SeriesBatch::from_rows(&rows, batch.channels())?)
}

/// Row counts of one speed measurement: the CPU runs on fewer rows and its
/// rate is compared with the GPU's on more.
struct Sizes {
    cpu_train: usize,
    gpu_train: usize,
    gpu_epochs: usize,
    cpu_embed: usize,
}

fn speed(name: &str, batch: &SeriesBatch, sizes: &Sizes, rows: &mut Vec<(String, f64, f64)>) -> Res<()> {
    let (cpu_train, gpu_train) = (head(batch, sizes.cpu_train)?, head(batch, sizes.gpu_train)?);
    // Warm-up: kernel modules load on first use.
    train_rate(&head(batch, 256)?, r#"{"epochs": 1, "batch_size": 256, "device": "cuda"}"#)?;
    for batch_size in [32, 256] {
        let cpu = train_rate(&cpu_train, &format!(r#"{{"epochs": 1, "threads": 2, "batch_size": {batch_size}}}"#))?;
        let gpu = train_rate(&gpu_train, &format!(r#"{{"epochs": {}, "batch_size": {batch_size}, "device": "cuda"}}"#, sizes.gpu_epochs))?;
        report(json!({"kind": "train", "data": name, "batch_size": batch_size, "cpu_rows": cpu_train.len(), "cuda_rows": gpu_train.len(),
            "cpu_series_per_s": cpu, "cuda_series_per_s": gpu, "ratio": gpu / cpu}));
        rows.push((format!("train {name}, batch {batch_size}"), cpu, gpu));
    }
    let cpu_embed = head(batch, sizes.cpu_embed)?;
    let model = Model::fit(&cpu_train, &config(r#"{"epochs": 1, "threads": 2}"#)?, |_| {})?;
    let cpu = embed_rate(&model, &cpu_embed, 2)?;
    let mut on_gpu = model.clone();
    on_gpu.set_device(DeviceKind::Cuda)?;
    embed_rate(&on_gpu, &cpu_embed, 1)?; // warm-up: module load, handles
    let gpu = embed_rate(&on_gpu, batch, 2)?;
    report(json!({"kind": "embed", "data": name, "cpu_rows": cpu_embed.len(), "cuda_rows": batch.len(),
        "cpu_series_per_s": cpu, "cuda_series_per_s": gpu, "ratio": gpu / cpu}));
    rows.push((format!("embed {name} ({} rows on CUDA)", batch.len()), cpu, gpu));
    Ok(())
}

fn main() -> Res<()> {
    let args = Args::parse();
    let cuda = Device::new_cuda(0).map_err(|e| format!("no CUDA device: {e}"))?;
    let files = [args.data.join("ECG5000_TRAIN.parquet"), args.data.join("ECG5000_TEST.parquet")];
    let ecg = parquet_series::read_files(&files)?;
    let ecg = SeriesBatch::new(ecg.values, ecg.offsets, ecg.channels)?;

    let mut failures = check_layers(&cuda)?;
    failures += check_model(&ecg)?;

    let mut rows = Vec::new();
    let q = args.quick;
    let ecg_sizes = Sizes { cpu_train: if q { 1000 } else { 5000 }, gpu_train: 5000, gpu_epochs: if q { 1 } else { 3 }, cpu_embed: 5000 };
    speed("ECG5000", &ecg, &ecg_sizes, &mut rows)?;
    let big = synthetic(if q { 50_000 } else { args.synthetic }, 5)?;
    let big_sizes =
        Sizes { cpu_train: if q { 1000 } else { 5000 }, gpu_train: if q { 10_000 } else { 50_000 }, gpu_epochs: 1, cpu_embed: 20_000 };
    speed("synthetic", &big, &big_sizes, &mut rows)?;

    println!("\n| measurement | CPU, 2 threads (series/s) | CUDA (series/s) | CUDA / CPU |");
    println!("| --- | ---: | ---: | ---: |");
    for (what, cpu, gpu) in &rows {
        println!("| {what} | {cpu:.0} | {gpu:.0} | {:.1}x |", gpu / cpu);
    }
    if failures > 0 {
        return Err(format!("{failures} correctness checks failed").into());
    }
    println!("all correctness checks passed");
    Ok(())
}
