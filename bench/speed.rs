//! Speed benchmark of the core API on ECG5000 (or any UCR Parquet pair):
//! training and embedding series per second, and the share of the machine's
//! measured f32 matrix-product peak that training reaches.
//!
//! cargo bench --bench speed -- [--data DIR] [--name ECG5000] [--epochs 3]
//!     [--threads 2] [--repeats 5] [--paa-steps N] [--shift-tolerance N]
//!
//! Prints JSON lines (kind: peak, fma_bound, train, embed) for
//! bench/compare.sh.

#[path = "../examples/support/allocator.rs"]
mod allocator;
#[path = "../examples/support/parquet_series.rs"]
mod parquet_series;

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use serde_json::json;
use vrae::{Model, SeriesBatch, VraeConfig};

/// Training and embedding throughput on one dataset, against the measured
/// matrix-product peak.
#[derive(Parser)]
#[command(name = "speed")]
struct Args {
    /// Folder with NAME_TRAIN.parquet and NAME_TEST.parquet.
    #[arg(long, default_value = "data")]
    data: PathBuf,
    /// Dataset name.
    #[arg(long, default_value = "ECG5000")]
    name: String,
    /// Epochs per timed training run.
    #[arg(long, default_value_t = 3)]
    epochs: usize,
    /// Threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Timed runs (the best counts).
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// The `paa_steps` option (default: the library's). 0 lets the network
    /// see every step, the same work as the PyTorch baseline.
    #[arg(long)]
    paa_steps: Option<usize>,
    /// The `shift_tolerance` option (default: the library's). 0 compares
    /// each reconstruction with its series as it is, as the PyTorch
    /// baseline's loss does.
    #[arg(long)]
    shift_tolerance: Option<usize>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// FLOPs of one LSTM or GRU layer step for one series: the input and
/// recurrent products (2 FLOPs per multiply-add); gate arithmetic is ignored.
fn step_flops(gates: usize, input: usize, hidden: usize) -> f64 {
    2.0 * (gates * hidden * (input + hidden)) as f64
}

/// Measured f32 matrix-product peak of this machine with `threads` threads:
/// the best of a few 1024^3 products through the `gemm` crate.
fn measured_peak(threads: usize) -> f64 {
    let n = 1024;
    let a = vec![1.0f32; n * n];
    let b = vec![0.5f32; n * n];
    let mut c = vec![0.0f32; n * n];
    let mut best = 0.0f64;
    for _ in 0..5 {
        let t = Instant::now();
        // SAFETY: all three buffers are n x n, row-major, and distinct.
        unsafe {
            gemm::gemm(
                n,
                n,
                n,
                c.as_mut_ptr(),
                1,
                n as isize,
                false,
                a.as_ptr(),
                1,
                n as isize,
                b.as_ptr(),
                1,
                n as isize,
                1.0f32,
                1.0f32,
                false,
                false,
                false,
                gemm::Parallelism::Rayon(threads),
            );
        }
        best = best.max(2.0 * (n * n * n) as f64 / t.elapsed().as_secs_f64());
    }
    std::hint::black_box(&c);
    best
}

/// Hard ceiling of f32 arithmetic on this machine with `threads` threads:
/// each thread runs 12 independent chains of 8-lane AVX2 fused
/// multiply-adds with no memory traffic, the most FLOPs its cores can
/// retire per second. No real kernel reaches it; a speed target above it
/// cannot be met on this machine by doing the same arithmetic. `None` where
/// the CPU has no AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
fn fma_bound(threads: usize) -> Option<f64> {
    if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
        return None;
    }
    const ITERS: u64 = 100_000_000;
    let mut best = 0.0f64;
    for _ in 0..3 {
        let t = Instant::now();
        // SAFETY: AVX2 and FMA were detected above.
        let sums = rayon::broadcast(|_| unsafe { fma_chains(ITERS) });
        let flops = threads as f64 * ITERS as f64 * 12.0 * 8.0 * 2.0;
        best = best.max(flops / t.elapsed().as_secs_f64());
        std::hint::black_box(sums);
    }
    Some(best)
}

#[cfg(not(target_arch = "x86_64"))]
fn fma_bound(_threads: usize) -> Option<f64> {
    None
}

/// `iters` rounds of 12 independent 8-lane multiply-adds (enough chains to
/// cover the FMA units' latency); returns a sum so nothing is optimised out.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fma_chains(iters: u64) -> f32 {
    use std::arch::x86_64::*;
    let (b, c) = (_mm256_set1_ps(0.999_999), _mm256_set1_ps(1e-7));
    let mut acc = [_mm256_setzero_ps(); 12];
    for (i, a) in acc.iter_mut().enumerate() {
        *a = _mm256_set1_ps(i as f32);
    }
    for _ in 0..iters {
        for a in acc.iter_mut() {
            *a = _mm256_fmadd_ps(*a, b, c);
        }
    }
    let mut out = [0.0f32; 8];
    let mut total = 0.0;
    for a in acc {
        _mm256_storeu_ps(out.as_mut_ptr(), a);
        total += out[0];
    }
    total
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    rayon::ThreadPoolBuilder::new().num_threads(args.threads).build_global()?;
    let files = [args.data.join(format!("{}_TRAIN.parquet", args.name)), args.data.join(format!("{}_TEST.parquet", args.name))];
    let data = parquet_series::read_files(&files)?;
    let batch = SeriesBatch::new(&data.values[..], &data.offsets[..], data.channels)?;
    let rows = batch.len();

    let peak = measured_peak(args.threads);
    println!("{}", json!({"kind": "peak", "threads": args.threads, "gflops": peak / 1e9}));
    if let Some(bound) = fma_bound(args.threads) {
        println!("{}", json!({"kind": "fma_bound", "threads": args.threads, "gflops": bound / 1e9}));
    }

    let mut options = json!({"epochs": args.epochs, "threads": args.threads});
    if let Some(paa) = args.paa_steps {
        options["paa_steps"] = paa.into();
    }
    if let Some(shift) = args.shift_tolerance {
        options["shift_tolerance"] = shift.into();
    }
    let config = VraeConfig::from_json(&options.to_string())?;
    let model = Model::fit(&batch, &config, |_| {})?;
    // FLOPs follow the steps the network runs: with `paa_steps`, each
    // series averaged over windows of `model.window()` steps.
    let window = model.window();
    let network_steps: usize = batch.lengths().map(|len| len.div_ceil(window)).sum();
    let mean_len = network_steps as f64 / rows as f64;
    let epochs = &model.summary().loss_per_epoch;
    let steady: Vec<f64> = epochs.iter().skip(1).map(|e| rows as f64 / e.seconds).collect();
    let first = rows as f64 / epochs[0].seconds;
    let rate = if steady.is_empty() { first } else { steady.iter().sum::<f64>() / steady.len() as f64 };
    let (h, c) = (config.hidden_size, batch.channels());
    // Forward: encoder (input c) + decoder (zero input); backward ~ 2x forward.
    let flops_per_series = 3.0 * mean_len * (step_flops(4, c, h) + step_flops(4, 0, h));
    println!(
        "{}",
        json!({"kind": "train", "dataset": args.name, "rows": rows, "threads": args.threads, "epochs": args.epochs,
               "paa_steps": config.paa_steps, "shift_tolerance": config.shift_tolerance, "network_steps_mean": mean_len,
               "series_per_s_steady": rate, "series_per_s_first_epoch": first,
               "mflop_per_series": flops_per_series / 1e6, "gflops": rate * flops_per_series / 1e9,
               "share_of_peak": rate * flops_per_series / peak})
    );

    let mut best = 0.0f64;
    for _ in 0..args.repeats {
        let t = Instant::now();
        let emb = model.embed(&batch)?;
        best = best.max(rows as f64 / t.elapsed().as_secs_f64());
        std::hint::black_box(emb);
    }
    let embed_flops = mean_len * step_flops(4, c, h);
    println!(
        "{}",
        json!({"kind": "embed", "dataset": args.name, "rows": rows, "threads": args.threads, "series_per_s": best,
               "gflops": best * embed_flops / 1e9, "share_of_peak": best * embed_flops / peak})
    );
    Ok(())
}
