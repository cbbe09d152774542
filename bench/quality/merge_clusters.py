"""Cutting the `spectral_series` graph into more clusters than asked and
merging them, offline. k-means on the graph's k leading eigenvectors
favours clusters of similar size; with two classes holding most of the
rows (ECG5000) it splits them before it isolates the small ones. Cutting
2k clusters first and merging the closest pairs of cluster means (in the
joined space of latents beside shapes) down to k lets a small, tight group
stay whole.

On latents the quality runner kept (`quality --latents DIR`) and the same
rows of the series, the graph points of `spectral_series` (as
`shape_graph.py`). Candidates:

- `spectral_series`: k-means on the k leading eigenvectors (what vrae does);
- `2k, merged`: k-means on the 2k leading eigenvectors, then the two
  clusters whose means are nearest merged, again and again, down to k
  (centroid linkage on the means, each cluster one point);
- `2k, merged by Ward`: the same, merging the pair that least raises the
  within-cluster sum of squares (sizes count);
- `mixture`: a diagonal Gaussian mixture on the k leading eigenvectors.

Labels only score. Prints NMI per dataset (mean over the seeds found) and
NMI / ARI over the datasets found, the 24 every classic method takes and
the suite's halves.

    bench/.venv-classic/bin/python bench/quality/merge_clusters.py ../shared/data {selection|confirmation|all} LATENT_DIRS
"""
import sys

import numpy as np
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

from recluster import spaces
from shape_graph import compare_on_halves, graph_embedding, unit_total_variance


def merged(points, labels, k, ward):
    """Clusters merged pairwise down to k: the pair of nearest means, or
    with `ward` the pair whose merge least raises the sum of squares."""
    groups = {i: (points[labels == i].sum(0), int((labels == i).sum())) for i in np.unique(labels)}
    owner = {i: i for i in groups}
    while len(groups) > k:
        ids = sorted(groups)
        best, pair = np.inf, None
        for ai, a in enumerate(ids):
            sa, na = groups[a]
            for b in ids[ai + 1 :]:
                sb, nb = groups[b]
                d = np.sum((sa / na - sb / nb) ** 2)
                cost = d * na * nb / (na + nb) if ward else d
                if cost < best:
                    best, pair = cost, (a, b)
        a, b = pair
        groups[a] = (groups[a][0] + groups[b][0], groups[a][1] + groups[b][1])
        del groups[b]
        for i, o in owner.items():
            if o == b:
                owner[i] = a
    return np.array([owner[i] for i in labels])


def main():
    def candidates_for(entry, every):
        shapes = unit_total_variance(every)

        def candidates(z, k, seed):
            x = np.hstack([unit_total_variance(spaces(z)["standardized"]), shapes])
            e = graph_embedding(x, min(2 * k, len(x) - 2))[1]
            over = KMeans(min(2 * k, e.shape[1]), n_init=10, random_state=seed).fit_predict(e)
            first = e[:, :k]
            return {
                "spectral_series": KMeans(k, n_init=10, random_state=seed).fit_predict(first),
                "2k, merged": merged(x, over, k, ward=False),
                "2k, merged by Ward": merged(x, over, k, ward=True),
                "mixture": GaussianMixture(k, covariance_type="diag", n_init=3, random_state=seed).fit(first).predict(first),
            }

        return candidates

    compare_on_halves(sys.argv, __doc__, candidates_for)


if __name__ == "__main__":
    main()
