//! Resource estimates: how many parameters a network has and how much
//! memory training or inference on it will take, computed with checked
//! arithmetic from the options and the data's shape *before* anything is
//! allocated. A request the machine cannot serve is refused with an error
//! that names the sizes and the options that drive them, instead of an
//! allocator abort (which no front end can catch) or the OOM killer.

use crate::config::VraeConfig;
use crate::error::{Result, VraeError};
use crate::network::NetShape;
use crate::rnn::{recomputes_gates, LayerSpec};

/// Most values per time step a model may have. Far above any real
/// multivariate series; it keeps every size computed from a channel count
/// (one read from a model file included) inside 64 bits.
pub const MAX_CHANNELS: usize = 65_536;

/// Most parameters a network may have: 2^28, 1 GiB of `f32` weights
/// (the default network has about 46,000).
pub const MAX_PARAMETERS: u64 = 1 << 28;

/// Largest model file or byte string read: the parameter limit's weights
/// plus room for centroids, scaling statistics and metadata.
pub const MAX_MODEL_BYTES: u64 = 2 << 30;

/// Memory assumed where the machine's cannot be read (non-Linux).
const FALLBACK_MEMORY: u64 = 64 << 30;

/// Bytes of activations an inference batch may hold: rows per batch shrink
/// for long series so that embedding a few 9,000-step series does not take
/// gigabytes (512 rows of 140 steps at the default size take 100 MB).
pub const INFERENCE_BATCH_BYTES: u64 = 256 << 20;

/// Total parameter count of a network, or `None` if it does not fit in 64 bits.
pub(crate) fn parameter_count(shape: &NetShape) -> Option<u64> {
    crate::network::param_specs(shape)
        .iter()
        .try_fold(0u64, |sum, spec| spec.dims.iter().try_fold(1u64, |n, &d| n.checked_mul(d as u64))?.checked_add(sum))
}

/// Bytes a recurrent layer holds per row and time step while training on
/// `batch` rows of `longest` steps. Kept for every step: its input, the
/// activated gates (`gates * hidden`), the cell state, its tanh and the
/// hidden state, and in the backward pass the gate gradients (`gates *
/// hidden`, one segment at a time on long series). Where the layer
/// recomputes its gates instead (long LSTM series, `rnn::recomputes_gates`),
/// only the input, the cell and hidden states, the sequence output and its
/// gradient, and the segment's buffers. Measured on a 32-row batch of
/// 9,000-step series: 1.2 GB at peak, and this estimate says 1.2 GiB.
fn training_bytes_per_row_step(shape: &NetShape, batch: usize, longest: usize) -> Option<u64> {
    let (h, g) = (shape.hidden as u64, shape.block.gates() as u64);
    let input = shape.hidden.max(shape.channels) as u64;
    let spec = LayerSpec { block: shape.block, input: 0, hidden: shape.hidden };
    let floats = if recomputes_gates(spec, longest, batch) {
        h.checked_mul(5)?.checked_add(input)?
    } else {
        g.checked_mul(h)?.checked_mul(2)?.checked_add(h.checked_mul(3)?)?.checked_add(input)?
    };
    floats.checked_mul(4)
}

/// Bytes of one inference pass per row and time step: the input
/// projection of one layer, the states of both ends and the output.
fn inference_bytes_per_row_step(shape: &NetShape) -> Option<u64> {
    let (h, g) = (shape.hidden as u64, shape.block.gates() as u64);
    g.checked_mul(h)?.checked_add(h.checked_mul(3)?)?.checked_add(shape.channels as u64 * 2)?.checked_mul(4)
}

/// Recurrent layers that run over the whole series (encoder and decoder).
fn recurrent_layers(shape: &NetShape) -> u64 {
    2 * shape.depth as u64
}

/// Estimated peak bytes of training `shape` on batches of `batch_size`
/// series of up to `longest` steps: every layer's saved activations, and
/// the parameters four times (weights, gradients, two Adam moments).
pub(crate) fn training_bytes(shape: &NetShape, batch_size: usize, longest: usize) -> Option<u64> {
    let activations = training_bytes_per_row_step(shape, batch_size, longest)?
        .checked_mul(recurrent_layers(shape))?
        .checked_mul(batch_size as u64)?
        .checked_mul(longest as u64)?;
    parameter_count(shape)?.checked_mul(16)?.checked_add(activations)
}

/// Estimated bytes of running one series of `steps` steps through the
/// network (the smallest inference batch).
pub(crate) fn inference_bytes_per_row(shape: &NetShape, steps: usize) -> Option<u64> {
    inference_bytes_per_row_step(shape)?.checked_mul(steps as u64)
}

/// Rows per CPU inference batch for series of up to `steps` steps: at most
/// `cap`, fewer where [`INFERENCE_BATCH_BYTES`] would be exceeded, at least 1.
pub(crate) fn inference_rows(shape: &NetShape, steps: usize, cap: usize) -> usize {
    let per_row = inference_bytes_per_row(shape, steps.max(1)).unwrap_or(u64::MAX).max(1);
    ((INFERENCE_BATCH_BYTES / per_row) as usize).clamp(1, cap.max(1))
}

/// This machine's physical memory (Linux `/proc/meminfo`), or a fixed 64
/// GiB where it cannot be read. Read once per process: every inference call
/// checks against it.
pub fn machine_memory() -> u64 {
    static MEMORY: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *MEMORY.get_or_init(|| {
        std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|text| {
                let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
                let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
                kib.checked_mul(1024)
            })
            .unwrap_or(FALLBACK_MEMORY)
    })
}

/// Bytes as people read them.
pub fn human_bytes(bytes: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

fn too_large(what: String) -> VraeError {
    VraeError::TooLarge(what)
}

/// Refuses channel counts beyond [`MAX_CHANNELS`] and networks beyond
/// [`MAX_PARAMETERS`].
pub(crate) fn check_network(shape: &NetShape) -> Result<()> {
    if shape.channels == 0 || shape.channels > MAX_CHANNELS {
        return Err(too_large(format!("{} channels: a series may have 1 to {MAX_CHANNELS} values per step", shape.channels)));
    }
    match parameter_count(shape) {
        Some(n) if n <= MAX_PARAMETERS => Ok(()),
        n => Err(too_large(format!(
            "a network of {} parameters (hidden_size {}, depth {}, latent {}, {} channels) is over the limit of {MAX_PARAMETERS}",
            n.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string()),
            shape.hidden,
            shape.depth,
            shape.latent,
            shape.channels
        ))),
    }
}

/// Refuses a training run whose estimated memory exceeds this machine's.
pub(crate) fn check_training(config: &VraeConfig, shape: &NetShape, longest: usize) -> Result<()> {
    check_network(shape)?;
    let limit = machine_memory();
    let needed = training_bytes(shape, config.batch_size, longest);
    if needed.is_none_or(|n| n > limit) {
        return Err(too_large(format!(
            "training would need about {} of memory (hidden_size {}, depth {}, batch_size {}, longest series {longest} steps \
             as the network sees it) and this machine has {}; lower hidden_size, depth, batch_size or paa_steps, or shorten the series",
            needed.map_or_else(|| "more than 16 EiB".to_string(), human_bytes),
            config.hidden_size,
            config.depth,
            config.batch_size,
            human_bytes(limit)
        )));
    }
    Ok(())
}

/// Refuses series too long for even one row at a time to fit in memory.
pub(crate) fn check_inference(shape: &NetShape, longest: usize) -> Result<()> {
    let limit = machine_memory();
    let needed = inference_bytes_per_row(shape, longest);
    if needed.is_none_or(|n| n > limit) {
        return Err(too_large(format!(
            "a series of {longest} steps would need about {} of memory in this model (hidden_size {}) and this machine has {}",
            needed.map_or_else(|| "more than 16 EiB".to_string(), human_bytes),
            shape.hidden,
            human_bytes(limit)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(json: &str, channels: usize) -> NetShape {
        NetShape::new(&VraeConfig::from_json(json).unwrap(), channels, 140)
    }

    #[test]
    fn the_default_network_counts_its_parameters_exactly() {
        // LSTM, hidden 90, latent 20, one channel: encoder (1 + 90 + 2) x
        // 360, two latent heads 90 x 20 + 20, decoder init 20 x 90 + 90,
        // decoder (0 + 90 + 2) x 360, output 90 x 1 + 1.
        let expected = 93 * 360 + 2 * (90 * 20 + 20) + (20 * 90 + 90) + 92 * 360 + 91;
        assert_eq!(parameter_count(&shape("{}", 1)), Some(expected));
        assert!(check_network(&shape("{}", 1)).is_ok());
    }

    #[test]
    fn training_estimates_grow_with_the_sizes_and_stay_small_by_default() {
        let default = training_bytes(&shape("{}", 1), 32, 140).unwrap();
        assert!(default < 256 << 20, "{}", human_bytes(default));
        let long = training_bytes(&shape("{}", 1), 32, 9000).unwrap();
        // 32 rows of 9,000 steps recompute their gates: measured 1.2 GB at peak.
        assert!(long > 16 * default && long > 1 << 30 && long < 3 << 29, "{}", human_bytes(long));
        let gru = training_bytes(&shape(r#"{"block": "gru"}"#, 1), 32, 9000).unwrap();
        assert!(gru > long, "the GRU keeps its gates: {} against {}", human_bytes(gru), human_bytes(long));
        // The largest network the option ranges allow trains on nothing
        // like a real machine: refused by name, not aborted.
        let huge = VraeConfig::from_json(r#"{"hidden_size": 4096, "depth": 16, "batch_size": 65536}"#).unwrap();
        let err = check_training(&huge, &NetShape::new(&huge, 1, 10_000_000), 10_000_000).unwrap_err().to_string();
        assert!(err.contains("over the limit") || err.contains("training would need"), "{err}");
        let wide = VraeConfig::from_json(r#"{"hidden_size": 4096, "batch_size": 65536}"#).unwrap();
        let err = check_training(&wide, &NetShape::new(&wide, 1, 10_000), 10_000).unwrap_err().to_string();
        assert!(err.contains("training would need about") && err.contains("batch_size 65536"), "{err}");
    }

    #[test]
    fn channel_counts_beyond_the_limit_are_refused_before_any_size_is_computed() {
        let err = check_network(&shape("{}", usize::MAX)).unwrap_err().to_string();
        assert!(err.contains("channels") && err.contains("65536"), "{err}");
    }

    #[test]
    fn inference_batches_shrink_for_long_series() {
        let s = shape("{}", 1);
        assert_eq!(inference_rows(&s, 140, 512), 512);
        let long = inference_rows(&s, 9000, 512);
        assert!((8..64).contains(&long), "{long}");
        assert!(long as u64 * inference_bytes_per_row(&s, 9000).unwrap() <= INFERENCE_BATCH_BYTES);
        assert_eq!(inference_rows(&s, 10_000_000, 512), 1);
    }

    #[test]
    fn bytes_read_as_people_write_them() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }
}
