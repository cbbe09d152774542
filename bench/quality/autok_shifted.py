"""Choosing k under the graph's own distance, offline. `clusters: "auto"`
with `spectral_series` scores every k by the mean silhouette of the
k-means cut of the graph's embedding; the silhouette measures step-by-step
Euclidean distances between the graph points (standardised latent beside
z-normalised shape), while the graph itself, since `shape_lag`, compares
shapes at their best shift. Here the silhouette is computed either way:

- `euclidean`: step by step (what vrae does);
- `shifted`: the square root of the graph's distance (the latent part's
  squared distance plus the smallest over shifts of up to `shape_lag` of
  the steps of the shape part's squared distance).

The graph, its embedding and the k-means cut at each k in 2..=10 as vrae
builds them (`shifted_shapes.py`); the chosen k is then cut by the mixture,
as vrae does, for its NMI. Labels only score. Prints per dataset the
class count, each criterion's picks and NMI, then how often each is exact
and within one where there are at most 10 classes, its mean distance from
the class count and its mean NMI.

    bench/.venv-classic/bin/python bench/quality/autok_shifted.py ../shared/data {selection|confirmation|all} LATENT_DIRS
"""
import sys

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

from eigengap_k import K_MAX, SILHOUETTE_SAMPLE, compare_criteria
from shape_graph import unit_total_variance
from shifted_shapes import default_shape_d2, embed_from_dist
from tuned_graph import mixture_from

CRITERIA = ("euclidean", "shifted")


def picks(latents, shapes, shifted_shapes, seed):
    """Each criterion's k and the mixture's cut at it."""
    x = np.hstack([latents, shapes])
    sq = (latents**2).sum(1)
    d2 = np.maximum(sq[:, None] + sq[None] - 2 * latents @ latents.T, 0) + shifted_shapes
    top = min(K_MAX, len(x) - 1)
    embedded = embed_from_dist(d2, top)
    ks = list(range(2, top + 1))
    cuts = {k: KMeans(k, n_init=10, random_state=seed).fit_predict(embedded[:, :k]) for k in ks}
    sample = np.random.default_rng(seed).choice(len(x), min(len(x), SILHOUETTE_SAMPLE), replace=False)
    shifted = np.sqrt(d2[np.ix_(sample, sample)])
    np.fill_diagonal(shifted, 0.0)
    score = {
        "euclidean": lambda labels: silhouette_score(x[sample], labels[sample]),
        "shifted": lambda labels: silhouette_score(shifted, labels[sample], metric="precomputed"),
    }
    out = {}
    for name in CRITERIA:
        s = {k: score[name](c) if len(np.unique(c[sample])) > 1 else -1.0 for k, c in cuts.items()}
        k = max(ks, key=lambda k: s[k])
        out[name] = (k, mixture_from(embedded[:, :k], cuts[k], k, seed))
    return out


def main():
    def picks_for(entry, every):
        shifted_shapes = default_shape_d2(entry, every)
        shapes = unit_total_variance(every)
        return lambda latents, seed: picks(latents, shapes, shifted_shapes, seed)

    compare_criteria(sys.argv, __doc__, CRITERIA, picks_for)


if __name__ == "__main__":
    main()
