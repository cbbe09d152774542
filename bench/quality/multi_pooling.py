"""MultiRocket's pooling on MiniRocket's kernels, offline. The default
describes each series by the proportion of positive values (PPV) of
MiniRocket's kernels (`random_kernels.py`): how often a pattern occurs,
not where in the series nor how strongly. MultiRocket (Tan, Dempster,
Bergmeir and Webb, Data Mining and Knowledge Discovery 36, 2022) keeps the
same kernels and adds, for each kernel, dilation and bias, the mean of the
positive values (MPV), the mean index of the positive values (MIPV:
where), and the longest stretch of positive values (LSPV), on the series
and on its first difference; over the UCR archive it classifies more
accurately than MiniRocket at the same feature count. Where the classes of
a dataset differ by where a pattern sits (aligned heartbeats: ECG5000,
where PPV alone lost to the shapes), MIPV says so.

Fixed before any run: the same shapes, kernels, dilations, padding and
random-quantile biases as `random_kernels.py`, about 10,000 features in
all (four pooling operators x two representations, so a quarter of the
biases per representation), standardised, PCA to 80% of their variance,
at unit total variance. Candidates, every graph cut by the mixture, the
latent part weighed by the fit's R²:

- `both (default)`: latent + (shapes + MiniRocket's PPV) / 2;
- `both, MultiRocket`: latent + (shapes + MultiRocket's features) / 2;
- `kernels, MultiRocket`: latent + MultiRocket's features, no shapes.

    bench/.venv-classic/bin/python bench/quality/multi_pooling.py ../shared/data {selection|confirmation|all} RESULTS.jsonl[,MORE.jsonl] LATENT_DIRS
"""
import numpy as np
from random_kernels import EXPLAINED, FEATURES, KERNEL_LENGTH, POSITIVE, dilations_for, kernel_space, shifted, squared_distances
from shape_graph import unit_total_variance
from share_weighted import compare_with_shares
from shifted_shapes import embed_from_dist
from sklearn.decomposition import PCA
from tuned_graph import mixture_cut

POOLING = 4
REPRESENTATIONS = 2


def pooled(conv, biases):
    """PPV, MPV, MIPV and LSPV of `conv` (rows, steps) less each bias."""
    rows, steps = conv.shape
    c = conv[:, :, None] - biases[None, None]
    positive = c > 0
    count = positive.sum(1)
    some = np.maximum(count, 1)
    ppv = count / steps
    mpv = np.where(count > 0, (c * positive).sum(1) / some, 0.0)
    mipv = np.where(count > 0, (np.arange(steps)[None, :, None] * positive).sum(1) / some, -1.0)
    run = np.zeros((rows, len(biases)))
    longest = np.zeros((rows, len(biases)))
    for j in range(steps):
        run = (run + 1) * positive[:, j]
        longest = np.maximum(longest, run)
    return [ppv, mpv, mipv, longest]


def multi_features(every, channels, seed):
    """MultiRocket's four pooled features of MiniRocket's kernels on the
    shapes and on their first difference."""
    rng = np.random.default_rng(seed)
    n = len(every)
    steps = every.shape[1] // channels
    x = every.reshape(n, steps, channels).transpose(2, 0, 1)
    out = []
    for series in (x, np.diff(x, axis=2)):
        length = series.shape[2]
        dilations = dilations_for(length)
        per = max(1, round(FEATURES / (POOLING * REPRESENTATIONS * len(POSITIVE) * len(dilations))))
        for number, d in enumerate(dilations):
            half = (KERNEL_LENGTH // 2) * d
            taps = np.stack([np.stack([shifted(series[c], (j - KERNEL_LENGTH // 2) * d) for j in range(KERNEL_LENGTH)]) for c in range(channels)])
            base = -taps.sum(1)
            for index, positive in enumerate(POSITIVE):
                chosen = rng.choice(channels, size=rng.integers(1, channels + 1), replace=False)
                conv = sum(base[c] + 3 * taps[c, list(positive)].sum(0) for c in chosen)
                if (number + index) % 2 == 1 and length > 2 * half:
                    conv = conv[:, half : length - half]
                biases = np.quantile(conv[rng.integers(n)], rng.uniform(size=per))
                out.extend(pooled(conv, biases))
    return np.hstack(out)


def multi_space(every, channels, seed):
    """The features standardised, reduced by PCA to `EXPLAINED` of their
    variance, at unit total variance."""
    f = multi_features(every, channels, seed)
    spread = f.std(0)
    keep = spread > 1e-9
    f = (f[:, keep] - f[:, keep].mean(0)) / spread[keep]
    if f.shape[1] == 0:
        return np.zeros((len(every), 1))
    reduced = PCA(n_components=EXPLAINED, svd_solver="full", random_state=seed).fit_transform(f)
    return unit_total_variance(reduced)


def main():
    def candidates(latent, shape, share, k, seed, series):
        latent = min(1.0, max(1e-6, share)) * latent
        ppv = squared_distances(kernel_space(*series, seed))
        multi = squared_distances(multi_space(*series, seed))
        graphs = {
            "both (default)": latent + (shape + ppv) / 2,
            "both, MultiRocket": latent + (shape + multi) / 2,
            "kernels, MultiRocket": latent + multi,
        }
        return {name: mixture_cut(embed_from_dist(d2, k), k, seed) for name, d2 in graphs.items()}

    compare_with_shares(__doc__, candidates)


if __name__ == "__main__":
    main()
