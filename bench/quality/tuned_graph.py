"""A locally scaled graph against the binary one, offline. vrae's
`spectral_series` graph joins each point to its 10 nearest neighbours with
weight 1 however far they are, so an edge across a gap between two groups
counts as much as one inside a dense group. Local scaling (Zelnik-Manor and
Perona, "Self-tuning spectral clustering", NIPS 2004) weights the edge
between i and j by exp(-d(i, j)^2 / (s_i s_j)), where s_i is the distance
from i to its 7th neighbour: an edge is weak where it is long for both of
its ends, with no scale to choose.

On latents the quality runner kept (`quality --latents DIR`) and the same
rows of the series (as `shape_graph.py`). Candidates, each cut on the
embedding `D^-1/2 U` of the k leading eigenvectors:

- `binary, k-means`, `binary, mixture`: vrae's graph with either cut
  (`spectral_cut`; the mixture is the default);
- `scaled, k-means`, `scaled, mixture`: the locally scaled graph.

Labels only score. Prints NMI per dataset (mean over the seeds found) and
NMI / ARI over the datasets found, the 24 every classic method takes and
the suite's halves.

    bench/.venv-classic/bin/python bench/quality/tuned_graph.py ../shared/data {selection|confirmation|all} LATENT_DIRS
"""
import sys

import numpy as np
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

from recluster import spaces
from shape_graph import compare_on_halves, graph_embedding, unit_total_variance

SCALE_NEIGHBOUR = 7


def mixture_from(e, labels, k, seed):
    """A diagonal Gaussian mixture started from the partition `labels`,
    each point in its most probable component (vrae's `mixture.rs`)."""
    means = np.array([e[labels == c].mean(0) if np.any(labels == c) else e.mean(0) for c in range(k)])
    return GaussianMixture(k, covariance_type="diag", means_init=means, random_state=seed).fit(e).predict(e)


def mixture_cut(e, k, seed):
    """vrae's `spectral_cut: "mixture"` of the embedding `e`: k-means, then
    the mixture started from its partition."""
    return mixture_from(e, KMeans(k, n_init=10, random_state=seed).fit_predict(e), k, seed)


def main():
    def candidates_for(entry, every):
        shapes = unit_total_variance(every)

        def candidates(z, k, seed):
            x = np.hstack([unit_total_variance(spaces(z)["standardized"]), shapes])
            out = {}
            for name, scale in (("binary", None), ("scaled", SCALE_NEIGHBOUR)):
                e = graph_embedding(x, k, scale)[1]
                cut = KMeans(k, n_init=10, random_state=seed).fit_predict(e)
                out[f"{name}, k-means"] = cut
                out[f"{name}, mixture"] = mixture_from(e, cut, k, seed)
            return out

        return candidates

    compare_on_halves(sys.argv, __doc__, candidates_for)


if __name__ == "__main__":
    main()
