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
//! With `series_features: "multirocket"` each kernel, dilation and bias
//! gives four values instead of one, MultiRocket's (Tan, Dempster, Bergmeir
//! and Webb, Data Mining and Knowledge Discovery 36, 2022): beside the
//! proportion of positive values, their mean (how strongly the pattern
//! answers), the mean of their steps (where in the series it does: aligned
//! beats whose classes differ by where a wave sits, which a count cannot
//! tell apart) and the longest stretch of them (for how long); over the
//! series and over its first difference (how it changes), at the same
//! number of features in all.
//!
//! What a model keeps to describe later series the same way: each kernel
//! and dilation's channels and biases, the features' training mean, and the
//! principal axes (already divided by each feature's spread). The random
//! draws follow the model's seed.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

use crate::cluster::column_moments;
use crate::eigen::symmetric_eigen;
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

/// The largest a shape's value can be is the square root of its values'
/// count (it is z-normalised); a kernel's output is at most 12 times the
/// values it sums (9 channels at most), twice that on the first difference,
/// and a bias lies within the outputs. So a mean of positive values is at
/// most 432 times that root; a stored mean above this bound is no model's.
const MAX_POSITIVE_MEAN_PER_ROOT: f32 = 1000.0;

/// What each kernel, dilation and bias makes of a series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pooling {
    /// MiniRocket's: the proportion of positive values, over the series.
    Proportion,
    /// MultiRocket's: the proportion, mean, mean step and longest stretch of
    /// positive values, over the series and over its first difference.
    Multi,
}

impl Pooling {
    /// Features per kernel, dilation and bias.
    fn values(self) -> usize {
        match self {
            Pooling::Proportion => 1,
            Pooling::Multi => 4,
        }
    }
}

/// One series the kernels run over, the shape or its first difference, and
/// the kernels at their dilations on it with their biases' count.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Part {
    differenced: bool,
    pairs: Vec<Pair>,
    per: usize,
}

/// What the kernels run over for shapes of `steps` steps: the shape, and
/// with [`Pooling::Multi`] its first difference, the [`FEATURES`] spread
/// evenly over the parts, their pairs and the pooled values.
pub(crate) fn parts(steps: usize, pooling: Pooling) -> Vec<Part> {
    let lengths: &[(bool, usize)] = match pooling {
        Pooling::Proportion => &[(false, steps)],
        Pooling::Multi => &[(false, steps), (true, steps.saturating_sub(1))],
    };
    lengths
        .iter()
        .map(|&(differenced, length)| {
            let pairs = pairs(length);
            let wanted = FEATURES as f64 / (lengths.len() * pooling.values() * pairs.len()) as f64;
            Part { differenced, per: (wanted.round() as usize).max(1), pairs }
        })
        .collect()
}

/// Kernels at a dilation over every part.
pub(crate) fn pair_count(steps: usize, pooling: Pooling) -> usize {
    parts(steps, pooling).iter().map(|p| p.pairs.len()).sum()
}

/// Biases over every part.
pub(crate) fn bias_count(steps: usize, pooling: Pooling) -> usize {
    parts(steps, pooling).iter().map(|p| p.pairs.len() * p.per).sum()
}

/// Features of a model's kernels for series of `steps` steps.
pub(crate) fn feature_count(steps: usize, pooling: Pooling) -> usize {
    bias_count(steps, pooling) * pooling.values()
}

/// Whether `mean` can be the training mean of every feature of kernels
/// pooled by `pooling` over shapes of `steps` steps and `channels`
/// channels: a proportion in [0, 1]; with [`Pooling::Multi`], in each
/// group of four, a mean of positive values in [0, its bound], a mean step
/// in [-1, steps] (-1: none positive) and a longest stretch in [0, steps].
pub(crate) fn plausible_means(mean: &[f32], steps: usize, channels: usize, pooling: Pooling) -> bool {
    let steps = steps as f32;
    let positive = MAX_POSITIVE_MEAN_PER_ROOT * (steps * channels as f32).sqrt();
    mean.chunks(pooling.values()).all(|group| {
        group.iter().enumerate().all(|(i, v)| match i {
            0 => (0.0..=1.0).contains(v),
            1 => (0.0..=positive).contains(v),
            2 => (-1.0..=steps).contains(v),
            _ => (0.0..=steps).contains(v),
        })
    })
}

/// The kernels and the principal axes that turn a series' shape into its
/// features.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct KernelFeatures {
    /// Steps and channels of the shapes it takes.
    pub(crate) steps: usize,
    pub(crate) channels: usize,
    pub(crate) pooling: Pooling,
    /// `[pair_count, channels]`: 1 where a kernel at a dilation sums the
    /// channel, else 0 (pairs in the order of [`parts`], then [`pairs`]).
    pub(crate) channel_picks: Vec<f32>,
    /// `[bias_count]`: each pair's biases in turn.
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

impl KernelFeatures {
    /// Draws the kernels' channels and biases from `shapes` (`[rows, steps
    /// * channels]`, time-major, rows >= 1) and finds the principal axes
    /// of their standardised features, pooled by `pooling`, on at most
    /// [`MAX_FIT_ROWS`] of them.
    pub(crate) fn fit(shapes: &[f32], steps: usize, channels: usize, pooling: Pooling, seed: u64) -> Self {
        let width = steps * channels;
        let rows = shapes.len() / width.max(1);
        let mut rng = StdRng::seed_from_u64(seed);
        let parts = parts(steps, pooling);
        let mut channel_picks = vec![0.0f32; parts.iter().map(|p| p.pairs.len()).sum::<usize>() * channels];
        let mut biases = Vec::new();
        let mut output = Vec::new();
        let mut index = 0;
        for part in &parts {
            for pair in &part.pairs {
                let picks = &mut channel_picks[index * channels..(index + 1) * channels];
                pick_channels(&mut rng, picks);
                let row = rng.random_range(0..rows.max(1));
                let series = part.series(&shapes[row * width..(row + 1) * width], channels);
                convolve(&series, channels, pair, picks, &mut output);
                output.sort_by(f32::total_cmp);
                biases.extend((0..part.per).map(|_| quantile(&output, rng.random::<f64>())));
                index += 1;
            }
        }
        let mut model = KernelFeatures { steps, channels, pooling, channel_picks, biases, mean: Vec::new(), axes: Vec::new() };
        let sample: Vec<usize> = evenly_spaced(rows, MAX_FIT_ROWS);
        let features: Vec<f32> =
            sample.par_iter().flat_map_iter(|&r| model.features(&shapes[r * width..(r + 1) * width], &parts)).collect();
        let (mean, axes) = principal_axes(&features, feature_count(steps, pooling));
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
        let parts = parts(self.steps, self.pooling);
        let axes: Vec<&[f32]> = self.axes.chunks_exact(self.mean.len().max(1)).collect();
        shapes
            .par_chunks_exact(width.max(1))
            .flat_map_iter(|shape| {
                let centred: Vec<f32> = self.features(shape, &parts).iter().zip(&self.mean).map(|(f, m)| f - m).collect();
                dots(&centred, &axes).into_iter().map(|d| d as f32)
            })
            .collect()
    }

    /// The features of one shape, pair by pair, bias by bias, each bias's
    /// pooled values together (`parts`: [`parts`] of the model's steps,
    /// made once per batch of shapes).
    fn features(&self, shape: &[f32], parts: &[Part]) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.biases.len() * self.pooling.values());
        let mut output = Vec::new();
        let (mut index, mut first_bias) = (0, 0);
        for part in parts {
            let series = part.series(shape, self.channels);
            for pair in &part.pairs {
                let picks = &self.channel_picks[index * self.channels..(index + 1) * self.channels];
                convolve(&series, self.channels, pair, picks, &mut output);
                let biases = &self.biases[first_bias..first_bias + part.per];
                match self.pooling {
                    Pooling::Proportion => {
                        // Sorted once, each bias's count of outputs above it
                        // is a search.
                        output.sort_unstable_by(f32::total_cmp);
                        let len = output.len().max(1) as f32;
                        out.extend(biases.iter().map(|&bias| (output.len() - output.partition_point(|&v| v <= bias)) as f32 / len));
                    }
                    Pooling::Multi => biases.iter().for_each(|&bias| out.extend(multi_pooled(&output, bias))),
                }
                index += 1;
                first_bias += part.per;
            }
        }
        out
    }
}

impl Part {
    /// The series this part's kernels run over: `shape` (`[steps,
    /// channels]`, time-major) or its first difference.
    fn series<'s>(&self, shape: &'s [f32], channels: usize) -> std::borrow::Cow<'s, [f32]> {
        match self.differenced {
            false => std::borrow::Cow::Borrowed(shape),
            true => {
                let channels = channels.max(1);
                shape.iter().skip(channels).zip(shape).map(|(next, now)| next - now).collect::<Vec<_>>().into()
            }
        }
    }
}

/// MultiRocket's four pooled values of one kernel's `output` above `bias`:
/// the share of steps above it, the mean by which they are (0 where none
/// is), the mean of their steps (-1 where none is), and the longest run of
/// consecutive such steps.
fn multi_pooled(output: &[f32], bias: f32) -> [f32; 4] {
    let (mut count, mut excess, mut steps, mut run, mut longest) = (0usize, 0.0f64, 0usize, 0usize, 0usize);
    for (t, &v) in output.iter().enumerate() {
        if v > bias {
            count += 1;
            excess += f64::from(v - bias);
            steps += t;
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let share = count as f32 / output.len().max(1) as f32;
    match count {
        0 => [share, 0.0, -1.0, 0.0],
        _ => [share, (excess / count as f64) as f32, (steps as f64 / count as f64) as f32, longest as f32],
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
///
/// Tap by tap over all steps rather than step by step over the taps, so
/// that the inner loop runs over contiguous values; each output still adds
/// its taps in the same order from the same start, so the values are those
/// of the step-by-step definition to the bit (stored biases and means stay
/// valid).
fn convolve(shape: &[f32], channels: usize, pair: &Pair, picks: &[f32], out: &mut Vec<f32>) {
    let steps = shape.len() / channels.max(1);
    let reach = MIDDLE * pair.dilation;
    let (first, end) = if pair.padded { (0, steps) } else { (reach, steps.saturating_sub(reach)) };
    out.clear();
    out.resize(end.saturating_sub(first), 0.0);
    // Each step's picked channels, summed once for all nine taps.
    let picked: Vec<f32> = shape.chunks_exact(channels.max(1)).map(|step| step.iter().zip(picks).map(|(v, p)| v * p).sum()).collect();
    for tap in 0..KERNEL_LENGTH {
        let weight = if pair.taps.contains(&tap) { 2.0 } else { -1.0 };
        // Output step t reads step t + offset - reach, where that is a step.
        let offset = tap * pair.dilation;
        let lo = first.max(reach.saturating_sub(offset));
        let hi = end.min((steps + reach).saturating_sub(offset));
        if lo >= hi {
            continue;
        }
        let read = &picked[lo + offset - reach..hi + offset - reach];
        for (o, &v) in out[lo - first..hi - first].iter_mut().zip(read) {
            *o += weight * v;
        }
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
    let slices: Vec<&[f64]> = standard.iter().map(Vec::as_slice).collect();
    let lower: Vec<Vec<f64>> = (0..rows).into_par_iter().map(|i| dots(slices[i], &slices[..=i])).collect();
    let mut gram = vec![0.0f64; rows * rows];
    for (i, row) in lower.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            gram[i * rows + j] = v;
            gram[j * rows + i] = v;
        }
    }
    let (values, vectors) = symmetric_eigen(&gram, rows);
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

/// The dot product of `x` with each of `ys` (each as long as `x`), in f64,
/// each summed from the first value to the last as `Iterator::sum` sums
/// (from -0.0): the same values to the bit as one sum at a time, but four
/// independent sums are interleaved, so that one sum's additions do not
/// stall on the latency of its previous addition.
fn dots<T: Copy>(x: &[T], ys: &[&[T]]) -> Vec<f64>
where
    f64: From<T>,
{
    debug_assert!(ys.iter().all(|y| y.len() == x.len()), "every vector as long as x");
    let mut out = Vec::with_capacity(ys.len());
    for group in ys.chunks(4) {
        match *group {
            [a, b, c, d] => {
                let mut sums = [-0.0f64; 4];
                for (((&v, &a), (&b, &c)), &d) in x.iter().zip(a).zip(b.iter().zip(c)).zip(d) {
                    let v = f64::from(v);
                    sums[0] += v * f64::from(a);
                    sums[1] += v * f64::from(b);
                    sums[2] += v * f64::from(c);
                    sums[3] += v * f64::from(d);
                }
                out.extend_from_slice(&sums);
            }
            _ => out.extend(group.iter().map(|y| x.iter().zip(*y).map(|(&v, &w)| f64::from(v) * f64::from(w)).sum::<f64>())),
        }
    }
    out
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
        assert_eq!(parts(64, Pooling::Proportion)[0].per, 17);
        assert_eq!(feature_count(64, Pooling::Proportion), 9996);
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

    /// The step-by-step loop the convolution was first written as, whose
    /// values stored models' biases and means were computed from.
    fn convolve_step_by_step(shape: &[f32], channels: usize, pair: &Pair, picks: &[f32]) -> Vec<f32> {
        let steps = shape.len() / channels;
        let reach = MIDDLE * pair.dilation;
        let range = if pair.padded { 0..steps } else { reach..steps - reach };
        let mut out = Vec::new();
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
        out
    }

    #[test]
    fn outputs_are_those_of_the_step_by_step_loop_to_the_bit() {
        for (steps, channels, picks) in [(64, 1, vec![1.0]), (17, 1, vec![1.0]), (45, 3, vec![1.0, 0.0, 1.0])] {
            let shape = noise(steps * channels, steps as u64);
            let mut out = Vec::new();
            for pair in pairs(steps) {
                convolve(&shape, channels, &pair, &picks, &mut out);
                let want = convolve_step_by_step(&shape, channels, &pair, &picks);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&out), bits(&want), "{steps} steps, {channels} channels, {pair:?}");
            }
        }
        // An unpadded kernel wider than the series (which `pairs` never
        // makes) fits nowhere: no output, and no underflow.
        let wide = Pair { taps: [0, 1, 2], dilation: 10, padded: false };
        let mut out = vec![1.0];
        convolve(&noise(17, 1), 1, &wide, &[1.0], &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn dots_are_the_one_at_a_time_sums_to_the_bit() {
        let x = noise(1001, 7);
        let ys: Vec<Vec<f32>> = (0..9).map(|i| noise(1001, 100 + i)).collect();
        for count in 0..=ys.len() {
            let refs: Vec<&[f32]> = ys[..count].iter().map(Vec::as_slice).collect();
            let want: Vec<u64> =
                refs.iter().map(|y| x.iter().zip(*y).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum::<f64>().to_bits()).collect();
            assert_eq!(dots(&x, &refs).iter().map(|d| d.to_bits()).collect::<Vec<_>>(), want, "{count} vectors");
        }
    }

    #[test]
    fn multirocket_pools_four_values_over_the_series_and_its_difference() {
        // 64 steps and their 63 differences both take dilations 1 to 7, so
        // each part has 588 pairs with round(10000 / (2 x 4 x 588)) = 2
        // biases each.
        let parts = parts(64, Pooling::Multi);
        assert_eq!(parts.iter().map(|p| (p.differenced, p.pairs.len(), p.per)).collect::<Vec<_>>(), [(false, 588, 2), (true, 588, 2)]);
        assert_eq!(pair_count(64, Pooling::Multi), 1176);
        assert_eq!(bias_count(64, Pooling::Multi), 2352);
        assert_eq!(feature_count(64, Pooling::Multi), 9408);
        // The first difference of two channels, step by step.
        let shape = [1.0, 10.0, 3.0, 7.0, 6.0, 7.0];
        assert_eq!(*parts[1].series(&shape, 2), [2.0, -3.0, 3.0, 0.0]);
        assert_eq!(*parts[0].series(&shape, 2), shape);
        // Above 0.5 at steps 0, 1, 3 and 4: a share of 4/6, by 2 on
        // average, at step 2 on average, at most 2 steps in a row.
        let output = [1.0, 3.0, -1.0, 2.0, 4.0, 0.0];
        assert_eq!(multi_pooled(&output, 0.5), [4.0 / 6.0, 2.0, 2.0, 2.0]);
        assert_eq!(multi_pooled(&output, 10.0), [0.0, 0.0, -1.0, 0.0]);
        assert_eq!(multi_pooled(&[], 0.0), [0.0, 0.0, -1.0, 0.0]);
    }

    #[test]
    fn multirocket_features_are_the_pooled_outputs_and_tell_where_a_pattern_sits() {
        let shapes: Vec<f32> = (0..40).flat_map(|r| pattern(4 + r % 20 * 2, r % 2 == 1)).collect();
        let kernels = KernelFeatures::fit(&shapes, 64, 1, Pooling::Multi, 3);
        let parts = parts(64, Pooling::Multi);
        assert_eq!(kernels.biases.len(), 2352);
        assert_eq!(kernels.mean.len(), 9408);
        assert!(plausible_means(&kernels.mean, 64, 1, Pooling::Multi));
        // One feature group of each part by hand: pair 5's second bias on
        // the series, and the difference part's pair 7's first bias.
        let row = &shapes[..64];
        let features = kernels.features(row, &parts);
        let mut out = Vec::new();
        convolve(row, 1, &parts[0].pairs[5], &[1.0], &mut out);
        let at = 5 * 2 + 1;
        assert_eq!(features[at * 4..at * 4 + 4], multi_pooled(&out, kernels.biases[at]));
        convolve(&parts[1].series(row, 1), 1, &parts[1].pairs[7], &[1.0], &mut out);
        let at = 588 * 2 + 7 * 2;
        assert_eq!(features[at * 4..at * 4 + 4], multi_pooled(&out, kernels.biases[at]));
        // Where a bump sits moves its mean-step features by about as far as
        // it moved: a bump 20 steps later answers later.
        let (early, late) = (kernels.features(&pattern(10, false), &parts), kernels.features(&pattern(30, false), &parts));
        let moved: Vec<f32> = (0..early.len() / 4)
            .filter(|&g| early[g * 4 + 2] >= 0.0 && late[g * 4 + 2] >= 0.0 && early[g * 4] < 0.25 && late[g * 4] < 0.25)
            .map(|g| late[g * 4 + 2] - early[g * 4 + 2])
            .collect();
        assert!(moved.len() > 100, "{} groups answer to both bumps", moved.len());
        let mean = moved.iter().sum::<f32>() / moved.len() as f32;
        assert!((15.0..=25.0).contains(&mean), "mean step moved by {mean}");
    }

    #[test]
    fn stored_means_must_lie_in_their_poolings_range() {
        assert!(plausible_means(&[0.0, 0.5, 1.0], 64, 1, Pooling::Proportion));
        assert!(!plausible_means(&[0.5, 1.5], 64, 1, Pooling::Proportion));
        // Share, mean excess, mean step, longest stretch; the excess at most
        // 1000 x sqrt(64 x 2) over two channels.
        assert!(plausible_means(&[0.5, 100.0, 30.0, 10.0, 0.0, 0.0, -1.0, 0.0], 64, 2, Pooling::Multi));
        for bad in [
            [1.5, 1.0, 3.0, 1.0],
            [0.5, -1.0, 3.0, 1.0],
            [0.5, 12_000.0, 3.0, 1.0],
            [0.5, 1.0, 65.0, 1.0],
            [0.5, 1.0, -2.0, 1.0],
            [0.5, 1.0, 3.0, 65.0],
        ] {
            assert!(!plausible_means(&bad, 64, 2, Pooling::Multi), "{bad:?}");
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
        let kernels = KernelFeatures::fit(&shapes, 64, 1, Pooling::Proportion, 3);
        assert_eq!(kernels.biases.len(), feature_count(64, Pooling::Proportion));
        assert!(kernels.channel_picks.iter().all(|&p| p == 1.0));
        // One feature by hand: pair 5's second bias over the first row.
        let row = &shapes[..64];
        let features = kernels.features(row, &parts(64, Pooling::Proportion));
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
        let kernels = KernelFeatures::fit(&shapes, steps, 1, Pooling::Proportion, 9);
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
        let features: Vec<Vec<f32>> =
            (0..rows).map(|r| kernels.features(&shapes[r * steps..(r + 1) * steps], &parts(steps, Pooling::Proportion))).collect();
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
        assert_eq!(KernelFeatures::fit(&shapes, steps, 1, Pooling::Proportion, 9), kernels);
        assert_ne!(KernelFeatures::fit(&shapes, steps, 1, Pooling::Proportion, 10).biases, kernels.biases);
    }

    #[test]
    fn several_channels_are_summed_by_a_few_picked_ones_and_flat_series_describe_alike() {
        let (steps, channels) = (24, 12);
        let shapes: Vec<f32> = (0..10).flat_map(|r| noise(steps * channels, r)).collect();
        let kernels = KernelFeatures::fit(&shapes, steps, channels, Pooling::Proportion, 1);
        for picks in kernels.channel_picks.chunks_exact(channels) {
            let count = picks.iter().filter(|&&p| p == 1.0).count();
            assert!((1..=MAX_KERNEL_CHANNELS).contains(&count), "{picks:?}");
        }
        // Every series flat: no feature varies, one zero axis.
        let flat = KernelFeatures::fit(&[0.0; 5 * 16], 16, 1, Pooling::Proportion, 1);
        assert_eq!(flat.dim(), 1);
        assert_eq!(flat.describe(&[0.0; 2 * 16]), vec![0.0, 0.0]);
    }
}
