"""Random convolutional kernels as the graph's shape representation,
offline. The shapes part of the `spectral_series` distance compares two
z-normalised series over rigid shifts; R-Clustering (Marco-Blanco et al.,
Data Mining and Knowledge Discovery 38, 2024) clusters series by k-means
on features of MiniRocket's fixed kernels (Dempster et al. 2021: length
9, weights -1 and 2, dilations up to the series' length, biases from
quantiles of the outputs, each feature the proportion of positive values)
reduced by PCA, and reports it ahead of k-Shape, DTW and deep methods over
the UCR archive, data no one here chose anything on. Its features count
patterns at many scales wherever they sit in the series, an invariance the
rigid shift lacks.

Fixed before any run: the features computed on the shapes vrae compares
(each channel z-normalised, averaged to 64 steps; each kernel and dilation
sums a random subset of the channels, as MiniRocket does with several),
about 10,000 of them, biases at random quantiles of a random row's output
(R-Clustering's change), standardised, PCA to 80% of their variance, the
result at unit total variance (as the other parts). Candidates, every
graph cut by the mixture as vrae does, the latent part weighed by the
fit's R² (`share_weighted.py`):

- `default`: latent + shapes over shifts of up to 25%;
- `kernels`: latent + the kernels' features instead of the shapes;
- `both`: latent + (shapes + kernels) / 2;
- controls: the kernels' features alone, cut by k-means (10 starts; as
  R-Clustering) and by the graph and the mixture.

    bench/.venv-classic/bin/python bench/quality/random_kernels.py ../shared/data {selection|confirmation|all} RESULTS.jsonl[,MORE.jsonl] LATENT_DIRS
"""
from itertools import combinations

import numpy as np
from shape_graph import unit_total_variance
from share_weighted import compare_with_shares
from shifted_shapes import embed_from_dist
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from tuned_graph import mixture_cut

KERNEL_LENGTH = 9
POSITIVE = list(combinations(range(KERNEL_LENGTH), 3))
"""MiniRocket's 84 kernels: weight 2 at three of the nine taps, -1 at the others."""
FEATURES = 10_000
MAX_DILATIONS = 32
EXPLAINED = 0.8


def dilations_for(steps):
    """Dilations spaced exponentially from 1 to where the kernel spans the series."""
    top = np.log2(max(1.0, (steps - 1) / (KERNEL_LENGTH - 1)))
    return np.unique(np.floor(2 ** np.linspace(0, top, MAX_DILATIONS)).astype(int))


def shifted(x, offset):
    """x (n, steps) moved by `offset` steps, zeros where it runs off an end."""
    out = np.zeros_like(x)
    if offset >= 0:
        out[:, : x.shape[1] - offset] = x[:, offset:]
    else:
        out[:, -offset:] = x[:, : x.shape[1] + offset]
    return out


def kernel_features(every, channels, seed):
    """Proportion-of-positive-values features of MiniRocket's kernels on the
    shapes `every` (rows of steps x channels, flattened)."""
    rng = np.random.default_rng(seed)
    n = len(every)
    steps = every.shape[1] // channels
    x = every.reshape(n, steps, channels).transpose(2, 0, 1)
    dilations = dilations_for(steps)
    per = max(1, round(FEATURES / (len(POSITIVE) * len(dilations))))
    out = []
    for number, d in enumerate(dilations):
        half = (KERNEL_LENGTH // 2) * d
        taps = np.stack([np.stack([shifted(x[c], (j - KERNEL_LENGTH // 2) * d) for j in range(KERNEL_LENGTH)]) for c in range(channels)])
        base = -taps.sum(1)
        for index, positive in enumerate(POSITIVE):
            chosen = rng.choice(channels, size=rng.integers(1, channels + 1), replace=False)
            conv = sum(base[c] + 3 * taps[c, list(positive)].sum(0) for c in chosen)
            # MiniRocket alternates padded and unpadded outputs.
            if (number + index) % 2 == 1 and steps > 2 * half:
                conv = conv[:, half : steps - half]
            biases = np.quantile(conv[rng.integers(n)], rng.uniform(size=per))
            out.append((conv[:, :, None] > biases[None, None]).mean(1))
    return np.hstack(out)


def kernel_space(every, channels, seed):
    """The kernels' features standardised, reduced by PCA to `EXPLAINED` of
    their variance, at unit total variance."""
    f = kernel_features(every, channels, seed)
    spread = f.std(0)
    f = (f[:, spread > 0] - f[:, spread > 0].mean(0)) / spread[spread > 0]
    if f.shape[1] == 0:
        return np.zeros((len(every), 1))
    reduced = PCA(n_components=EXPLAINED, svd_solver="full", random_state=seed).fit_transform(f)
    return unit_total_variance(reduced)


def squared_distances(x):
    sq = (x**2).sum(1)
    return np.maximum(sq[:, None] + sq[None] - 2 * x @ x.T, 0)


def main():
    def candidates(latent, shape, share, k, seed, series):
        latent = min(1.0, max(1e-6, share)) * latent
        space = kernel_space(*series, seed)
        kernels = squared_distances(space)
        graphs = {"default": latent + shape, "kernels": latent + kernels, "both": latent + (shape + kernels) / 2}
        out = {name: mixture_cut(embed_from_dist(d2, k), k, seed) for name, d2 in graphs.items()}
        out["kernels alone, k-means"] = KMeans(k, n_init=10, random_state=seed).fit_predict(space)
        out["kernels alone, graph"] = mixture_cut(embed_from_dist(kernels, k), k, seed)
        return out

    compare_with_shares(__doc__, candidates)


if __name__ == "__main__":
    main()
