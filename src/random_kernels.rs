//! MiniRocket's fixed convolution kernels as the description of a series'
//! shape in the `spectral_series` graph (`series_features:
//! "random_kernels"`).
//!
//! Comparing two z-normalised shapes over rigid shifts (the other
//! `series_features`) finds one pattern at another place, but not a
//! pattern at another scale or several patterns at other distances. Each
//! feature here counts how much of a series one kernel, at one dilation,
//! answers above one bias (the proportion of positive values, PPV), so a
//! series is described by which patterns it holds, at which scales, and
//! how much; a count over the steps barely moves when a pattern moves a
//! few steps away from the ends. The kernels are MiniRocket's (Dempster,
//! Schmidt and Webb 2021): the 84 of length 9 whose weights are 2 at three
//! taps and -1 at the other six, at dilations spaced exponentially up to
//! the series' length, half of them over the series padded with zeros and
//! half over the steps they fit; a kernel over several channels sums a
//! random few of them. Clustering such features, standardised and reduced
//! by principal components, is R-Clustering (Marco-Blanco, Cuevas et al.,
//! Data Mining and Knowledge Discovery 38, 2024), which reports it ahead of
//! k-Shape and DTW over the UCR archive; as there, each bias is a random
//! quantile of the kernel's output on a random training series.
//!
//! What a model keeps to describe later series the same way: each kernel
//! and dilation's channels and biases, the features' training mean, and the
//! principal axes (already divided by each feature's spread). The random
//! draws follow the model's seed.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

use crate::cluster::column_moments;
use crate::pca::symmetric_eigen;
use crate::spectral::evenly_spaced;

/// Taps of a kernel, and the middle one (the step a kernel's output is at).
const KERNEL_LENGTH: usize = 9;
const MIDDLE: usize = KERNEL_LENGTH / 2;
/// Kernels: the ways to place the three taps of weight 2 among the nine.
const KERNELS: usize = 84;
/// Features wanted in all (MiniRocket's count), spread evenly over the
/// kernels and dilations.
const FEATURES: usize = 10_000;
/// Dilations tried at most (fewer where the series is short: they are
/// rounded down to whole steps and repeats dropped).
const MAX_DILATIONS: usize = 32;
/// Most channels one kernel sums (MiniRocket's cap for several channels).
const MAX_KERNEL_CHANNELS: usize = 9;
/// Share of the standardised features' variance the principal axes keep.
const EXPLAINED: f64 = 0.8;
/// Most training series the features' mean, spread and axes are found
/// from (evenly spaced): the axes come from their Gram matrix, whose
/// eigendecomposition grows with the cube of its rows.
pub(crate) const MAX_FIT_ROWS: usize = 500;

/// The largest size of a stored axis value: a unit vector's component over
/// a feature's spread, which is above 1e-6 for every feature kept (with
/// room for rounding).
pub(crate) const MAX_AXIS_VALUE: f32 = 1e7;

/// The kernels and the principal axes that turn a series' shape into its
/// features.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct KernelFeatures {
    /// Steps and channels of the shapes it takes.
    pub(crate) steps: usize,
    pub(crate) channels: usize,
    /// `[pairs(steps), channels]`: 1 where a kernel at a dilation sums the
    /// channel, else 0 (pairs in the order of [`pairs`]).
    pub(crate) channel_picks: Vec<f32>,
    /// `[pairs(steps), biases_per_pair(steps)]`.
    pub(crate) biases: Vec<f32>,
    /// Each feature's training mean, `[features]`.
    pub(crate) mean: Vec<f32>,
    /// `[dim, features]`: the principal axes of the standardised features,
    /// each value divided by its feature's training spread (0 where the
    /// feature has none).
    pub(crate) axes: Vec<f32>,
}

/// One kernel at one dilation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Pair {
    /// Taps of weight 2.
    taps: [usize; 3],
    dilation: usize,
    /// Over every step with zeros past the ends, or only over the steps
    /// where the kernel fits.
    padded: bool,
}

/// The dilations for series of `steps` steps: 2^x for x evenly spaced from
/// 0 to where the kernel spans the series, rounded down, repeats dropped.
pub(crate) fn dilations(steps: usize) -> Vec<usize> {
    let top = (steps.saturating_sub(1) as f64 / (KERNEL_LENGTH - 1) as f64).max(1.0).log2();
    let mut out: Vec<usize> =
        (0..MAX_DILATIONS).map(|i| (top * i as f64 / (MAX_DILATIONS - 1) as f64).exp2().floor().max(1.0) as usize).collect();
    out.dedup();
    out
}

/// Every kernel at every dilation, dilation-major; padding alternates as
/// in MiniRocket (a kernel too wide for the series is always padded).
pub(crate) fn pairs(steps: usize) -> Vec<Pair> {
    let mut kernels = Vec::with_capacity(KERNELS);
    for a in 0..KERNEL_LENGTH {
        for b in a + 1..KERNEL_LENGTH {
            for c in b + 1..KERNEL_LENGTH {
                kernels.push([a, b, c]);
            }
        }
    }
    let mut out = Vec::new();
    for (d_index, &dilation) in dilations(steps).iter().enumerate() {
        for (k_index, &taps) in kernels.iter().enumerate() {
            let fits = steps > 2 * MIDDLE * dilation;
            out.push(Pair { taps, dilation, padded: (d_index + k_index) % 2 == 0 || !fits });
        }
    }
    out
}

/// Biases (and so features) per kernel and dilation.
pub(crate) fn biases_per_pair(steps: usize) -> usize {
    let pairs = KERNELS * dilations(steps).len();
    ((FEATURES as f64 / pairs as f64).round() as usize).max(1)
}

/// Features of a model's kernels for series of `steps` steps.
pub(crate) fn feature_count(steps: usize) -> usize {
    KERNELS * dilations(steps).len() * biases_per_pair(steps)
}

impl KernelFeatures {
    /// Draws the kernels' channels and biases from `shapes` (`[rows, steps
    /// * channels]`, time-major, rows >= 1) and finds the principal axes
    /// of their standardised features on at most [`MAX_FIT_ROWS`] of them.
    pub(crate) fn fit(shapes: &[f32], steps: usize, channels: usize, seed: u64) -> Self {
        let width = steps * channels;
        let rows = shapes.len() / width.max(1);
        let mut rng = StdRng::seed_from_u64(seed);
        let pairs = pairs(steps);
        let per = biases_per_pair(steps);
        let mut channel_picks = vec![0.0f32; pairs.len() * channels];
        let mut biases = Vec::with_capacity(pairs.len() * per);
        let mut output = Vec::new();
        for (index, pair) in pairs.iter().enumerate() {
            let picks = &mut channel_picks[index * channels..(index + 1) * channels];
            pick_channels(&mut rng, picks);
            let row = rng.random_range(0..rows.max(1));
            convolve(&shapes[row * width..(row + 1) * width], channels, pair, picks, &mut output);
            output.sort_by(f32::total_cmp);
            biases.extend((0..per).map(|_| quantile(&output, rng.random::<f64>())));
        }
        let mut model = KernelFeatures { steps, channels, channel_picks, biases, mean: Vec::new(), axes: Vec::new() };
        let sample: Vec<usize> = evenly_spaced(rows, MAX_FIT_ROWS);
        let features: Vec<f32> =
            sample.par_iter().flat_map_iter(|&r| model.features(&shapes[r * width..(r + 1) * width], &pairs)).collect();
        let (mean, axes) = principal_axes(&features, model.biases.len());
        model.mean = mean;
        model.axes = axes;
        model
    }

    /// Values each series is described by: the principal axes kept.
    pub(crate) fn dim(&self) -> usize {
        self.axes.len() / self.mean.len().max(1)
    }

    /// The description of every shape (`[rows, steps * channels]`) on the
    /// principal axes, `[rows, dim]`.
    pub(crate) fn describe(&self, shapes: &[f32]) -> Vec<f32> {
        let width = self.steps * self.channels;
        let pairs = pairs(self.steps);
        shapes
            .par_chunks_exact(width.max(1))
            .flat_map_iter(|shape| {
                let centred: Vec<f32> = self.features(shape, &pairs).iter().zip(&self.mean).map(|(f, m)| f - m).collect();
                let axes = self.axes.chunks_exact(self.mean.len().max(1));
                axes.map(move |axis| dot(axis, &centred) as f32).collect::<Vec<_>>()
            })
            .collect()
    }

    /// The PPV features of one shape, pair by pair, bias by bias (`pairs`:
    /// [`pairs`] of the model's steps, made once per batch of shapes).
    fn features(&self, shape: &[f32], pairs: &[Pair]) -> Vec<f32> {
        let per = self.biases.len() / pairs.len().max(1);
        let mut out = Vec::with_capacity(self.biases.len());
        let mut output = Vec::new();
        for (index, pair) in pairs.iter().enumerate() {
            let picks = &self.channel_picks[index * self.channels..(index + 1) * self.channels];
            convolve(shape, self.channels, pair, picks, &mut output);
            // Sorted once, each bias's count of outputs above it is a search.
            output.sort_unstable_by(f32::total_cmp);
            let len = output.len().max(1) as f32;
            for &bias in &self.biases[index * per..(index + 1) * per] {
                out.push((output.len() - output.partition_point(|&v| v <= bias)) as f32 / len);
            }
        }
        out
    }
}

/// Marks the channels one kernel sums: 2^u of them (rounded down) for u
/// uniform up to log2 of the cap plus one, as MiniRocket draws them, chosen
/// at random.
fn pick_channels(rng: &mut StdRng, picks: &mut [f32]) {
    let channels = picks.len();
    let most = channels.min(MAX_KERNEL_CHANNELS);
    let count = (rng.random::<f64>() * ((most + 1) as f64).log2()).exp2().floor() as usize;
    let mut order: Vec<usize> = (0..channels).collect();
    for i in 0..count.clamp(1, most) {
        let j = rng.random_range(i..channels);
        order.swap(i, j);
        picks[order[i]] = 1.0;
    }
}

/// The output of `pair` summed over the picked channels of `shape`
/// (`[steps, channels]`, time-major), into `out`: at every step with zeros
/// past the ends where the pair is padded, else only where it fits.
fn convolve(shape: &[f32], channels: usize, pair: &Pair, picks: &[f32], out: &mut Vec<f32>) {
    let steps = shape.len() / channels.max(1);
    let reach = MIDDLE * pair.dilation;
    let range = if pair.padded { 0..steps } else { reach..steps - reach };
    out.clear();
    for t in range {
        let mut sum = 0.0f32;
        for tap in 0..KERNEL_LENGTH {
            let Some(at) = (t + tap * pair.dilation).checked_sub(reach).filter(|&at| at < steps) else { continue };
            let weight = if pair.taps.contains(&tap) { 2.0 } else { -1.0 };
            let step = &shape[at * channels..(at + 1) * channels];
            sum += weight * step.iter().zip(picks).map(|(v, p)| v * p).sum::<f32>();
        }
        out.push(sum);
    }
}

/// The `q`-quantile of the sorted `values` by linear interpolation between
/// the nearest ranks (numpy's default); 0 for none.
fn quantile(sorted: &[f32], q: f64) -> f32 {
    let Some(last) = sorted.len().checked_sub(1) else { return 0.0 };
    let at = q.clamp(0.0, 1.0) * last as f64;
    let lo = at.floor() as usize;
    let hi = (lo + 1).min(last);
    let frac = (at - lo as f64) as f32;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

/// The mean of `features` (`[rows, width]`) and the principal axes of the
/// standardised features that keep [`EXPLAINED`] of their variance, each divided by its feature's
/// spread so that a centred feature vector projects on it directly. Found
/// from the Gram matrix of the rows (fewer than the features). Where no
/// feature varies, one zero axis: every series then has the same
/// description.
fn principal_axes(features: &[f32], width: usize) -> (Vec<f32>, Vec<f32>) {
    let rows = features.len() / width.max(1);
    let (mean, spread) = column_moments(features, width);
    let inverse: Vec<f64> = spread.iter().map(|s| if *s > 1e-12 { 1.0 / s.sqrt() } else { 0.0 }).collect();
    let standard: Vec<Vec<f64>> = features
        .chunks_exact(width.max(1))
        .map(|f| f.iter().zip(&mean).zip(&inverse).map(|((&v, m), i)| (f64::from(v) - m) * i).collect())
        .collect();
    let lower: Vec<Vec<f64>> = (0..rows)
        .into_par_iter()
        .map(|i| (0..=i).map(|j| standard[i].iter().zip(&standard[j]).map(|(a, b)| a * b).sum()).collect())
        .collect();
    let mut gram = vec![0.0f64; rows * rows];
    for (i, row) in lower.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            gram[i * rows + j] = v;
            gram[j * rows + i] = v;
        }
    }
    let (values, vectors) = symmetric_eigen(&mut gram, rows);
    let total: f64 = values.iter().filter(|v| **v > 0.0).sum();
    let mut axes = Vec::new();
    let mut kept = 0.0;
    for (c, &value) in values.iter().enumerate() {
        if value <= total * 1e-12 || kept >= EXPLAINED * total {
            break;
        }
        kept += value;
        // The axis in feature space: the rows weighted by the eigenvector,
        // over the square root of its eigenvalue (unit length).
        let mut axis = vec![0.0f64; width];
        for (r, row) in standard.iter().enumerate() {
            let w = vectors[r * rows + c] / value.sqrt();
            axis.iter_mut().zip(row).for_each(|(a, v)| *a += w * v);
        }
        axes.extend(axis.iter().zip(&inverse).map(|(a, i)| (a * i) as f32));
    }
    if axes.is_empty() {
        axes = vec![0.0; width.max(1)];
    }
    (mean.iter().map(|&m| m as f32).collect(), axes)
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The output of `pair` at step `t` straight from the definition: the
    /// kernel's nine taps `dilation` apart, centred on `t`, over the picked
    /// channels, zero past the ends.
    fn output_at(shape: &[f32], channels: usize, pair: &Pair, picks: &[f32], t: usize) -> f32 {
        let steps = shape.len() / channels;
        let mut sum = 0.0;
        for tap in 0..KERNEL_LENGTH {
            let at = t as i64 + (tap as i64 - MIDDLE as i64) * pair.dilation as i64;
            if !(0..steps as i64).contains(&at) {
                continue;
            }
            let weight = if pair.taps.contains(&tap) { 2.0 } else { -1.0 };
            for c in 0..channels {
                sum += weight * picks[c] * shape[at as usize * channels + c];
            }
        }
        sum
    }

    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..n).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect()
    }

    #[test]
    fn minirockets_kernels_dilations_and_feature_count() {
        // 64 steps: 2^x for x up to log2(63 / 8), rounded down.
        assert_eq!(dilations(64), vec![1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(dilations(9), vec![1]);
        assert_eq!(dilations(1), vec![1]);
        assert_eq!(*dilations(10_000).last().unwrap(), 1249);
        assert!(dilations(10_000).len() <= MAX_DILATIONS);
        let pairs = pairs(64);
        assert_eq!(pairs.len(), 84 * 7);
        // Every kernel has weight 2 at three distinct taps, each once.
        let mut taps: Vec<[usize; 3]> = pairs[..84].iter().map(|p| p.taps).collect();
        taps.dedup();
        assert_eq!(taps.len(), 84);
        assert!(taps.iter().all(|t| t[0] < t[1] && t[1] < t[2] && t[2] < KERNEL_LENGTH));
        // Padding alternates; dilation 7 spans 57 steps and still fits 64.
        assert!(pairs[0].padded && !pairs[1].padded && pairs[84].padded != pairs[0].padded);
        assert_eq!(biases_per_pair(64), 17);
        assert_eq!(feature_count(64), 9996);
        // A kernel wider than the series is always padded.
        assert!(super::pairs(20).iter().filter(|p| p.dilation * 2 * MIDDLE >= 20).all(|p| p.padded));
    }

    #[test]
    fn outputs_follow_the_definition_padded_or_not() {
        let (steps, channels) = (30, 2);
        let shape = noise(steps * channels, 1);
        let picks = [1.0, 0.0];
        let mut out = Vec::new();
        for pair in pairs(steps).iter().step_by(37) {
            convolve(&shape, channels, pair, &picks, &mut out);
            let reach = MIDDLE * pair.dilation;
            let first = if pair.padded { 0 } else { reach };
            assert_eq!(out.len(), if pair.padded { steps } else { steps - 2 * reach }, "{pair:?}");
            for (i, got) in out.iter().enumerate() {
                let want = output_at(&shape, channels, pair, &picks, first + i);
                assert!((got - want).abs() < 1e-5, "{pair:?} at {}: {got} vs {want}", first + i);
            }
        }
    }

    #[test]
    fn quantiles_interpolate_between_ranks() {
        let sorted = [0.0f32, 1.0, 2.0, 4.0];
        assert_eq!(quantile(&sorted, 0.0), 0.0);
        assert_eq!(quantile(&sorted, 1.0), 4.0);
        assert!((quantile(&sorted, 0.5) - 1.5).abs() < 1e-6);
        assert!((quantile(&sorted, 0.9) - 3.4).abs() < 1e-6);
        assert_eq!(quantile(&[], 0.5), 0.0);
    }

    /// A 64-step series, zero but for 12 steps from `at`: one raised half
    /// sine (a bump) or, with `wave`, a full period of a sine (up, then down).
    fn pattern(at: usize, wave: bool) -> Vec<f32> {
        let cycles = if wave { 2.0 } else { 1.0 };
        (0..64usize)
            .map(|t| match t.checked_sub(at) {
                Some(i) if i < 12 => (cycles * std::f32::consts::PI * i as f32 / 11.0).sin(),
                _ => 0.0,
            })
            .collect()
    }

    #[test]
    fn features_are_the_share_of_outputs_above_each_bias_and_ignore_where_a_pattern_sits() {
        let shapes: Vec<f32> = (0..40).flat_map(|r| pattern(4 + r % 20 * 2, r % 2 == 1)).collect();
        let kernels = KernelFeatures::fit(&shapes, 64, 1, 3);
        assert_eq!(kernels.biases.len(), feature_count(64));
        assert!(kernels.channel_picks.iter().all(|&p| p == 1.0));
        // One feature by hand: pair 5's second bias over the first row.
        let row = &shapes[..64];
        let features = kernels.features(row, &pairs(64));
        let pair = pairs(64)[5];
        let mut out = Vec::new();
        convolve(row, 1, &pair, &[1.0], &mut out);
        let bias = kernels.biases[5 * 17 + 1];
        let want = out.iter().filter(|&&v| v > bias).count() as f32 / out.len() as f32;
        assert_eq!(features[5 * 17 + 1], want);
        // A bump moved by 8 steps is described nearer the bump than a wave
        // at the bump's place is.
        let describe = |row: Vec<f32>| kernels.describe(&row);
        let distance = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f32>();
        let (here, moved, wave) = (describe(pattern(20, false)), describe(pattern(28, false)), describe(pattern(20, true)));
        let (to_moved, to_wave) = (distance(&here, &moved), distance(&here, &wave));
        // (1478 against 21715 when written: far from the ends a count over
        // the steps barely moves with the pattern.)
        assert!(to_moved * 4.0 < to_wave, "{to_moved} vs {to_wave}");
    }

    #[test]
    fn descriptions_are_uncorrelated_principal_axes_keeping_most_of_the_variance() {
        let (rows, steps) = (60, 32);
        let shapes: Vec<f32> =
            (0..rows).flat_map(|r| noise(steps, 100 + r as u64 % 7).into_iter().map(move |v| v + (r % 3) as f32)).collect();
        let kernels = KernelFeatures::fit(&shapes, steps, 1, 9);
        let dim = kernels.dim();
        assert!((1..rows).contains(&dim), "{dim} axes");
        let described = kernels.describe(&shapes);
        assert_eq!(described.len(), rows * dim);
        // Centred, uncorrelated, in decreasing variance.
        let column = |c: usize| described.iter().skip(c).step_by(dim).map(|&v| f64::from(v)).collect::<Vec<_>>();
        let cov = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>() / rows as f64;
        let variances: Vec<f64> = (0..dim).map(|c| cov(&column(c), &column(c))).collect();
        for c in 0..dim {
            assert!(column(c).iter().sum::<f64>().abs() < 1e-3 * rows as f64, "axis {c} not centred");
            if c + 1 < dim {
                assert!(variances[c] + 1e-6 >= variances[c + 1], "{variances:?}");
                assert!(cov(&column(c), &column(c + 1)).abs() < 1e-3 * variances[c], "axes {c} and {} correlated", c + 1);
            }
        }
        // They keep at least 80% of the standardised features' variance
        // (one unit per feature that varies), and all but the last less.
        let features: Vec<Vec<f32>> = (0..rows).map(|r| kernels.features(&shapes[r * steps..(r + 1) * steps], &pairs(steps))).collect();
        let varying = (0..features[0].len())
            .filter(|&f| {
                let mean = features.iter().map(|row| row[f]).sum::<f32>() / rows as f32;
                features.iter().any(|row| (row[f] - mean).abs() > 1e-6)
            })
            .count() as f64;
        let kept: f64 = variances.iter().sum();
        assert!(kept >= 0.8 * varying * 0.999, "{kept} of {varying}");
        assert!(kept - variances[dim - 1] < 0.8 * varying, "{kept} of {varying}");
        // The same seed draws the same kernels; another seed others.
        assert_eq!(KernelFeatures::fit(&shapes, steps, 1, 9), kernels);
        assert_ne!(KernelFeatures::fit(&shapes, steps, 1, 10).biases, kernels.biases);
    }

    #[test]
    fn several_channels_are_summed_by_a_few_picked_ones_and_flat_series_describe_alike() {
        let (steps, channels) = (24, 12);
        let shapes: Vec<f32> = (0..10).flat_map(|r| noise(steps * channels, r)).collect();
        let kernels = KernelFeatures::fit(&shapes, steps, channels, 1);
        for picks in kernels.channel_picks.chunks_exact(channels) {
            let count = picks.iter().filter(|&&p| p == 1.0).count();
            assert!((1..=MAX_KERNEL_CHANNELS).contains(&count), "{picks:?}");
        }
        // Every series flat: no feature varies, one zero axis.
        let flat = KernelFeatures::fit(&[0.0; 5 * 16], 16, 1, 1);
        assert_eq!(flat.dim(), 1);
        assert_eq!(flat.describe(&[0.0; 2 * 16]), vec![0.0, 0.0]);
    }
}
