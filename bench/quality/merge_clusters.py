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
import json
import sys
import warnings
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix, diags
from scipy.sparse.linalg import eigsh
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors

from consensus import SELECTION, dataset_rows, kept_latents
from recluster import spaces
from shape_graph import NEIGHBOURS, shapes_of, unit_total_variance


def embedding(x, m):
    """D^-1/2 U of the m leading eigenvectors (descending) of the
    symmetrised binary 10-neighbour graph, as vrae's `spectral.rs`."""
    n = len(x)
    idx = NearestNeighbors(n_neighbors=min(NEIGHBOURS, n - 1)).fit(x).kneighbors(x, return_distance=False)
    rows = np.repeat(np.arange(n), idx.shape[1])
    c = csr_matrix((np.ones(idx.size), (rows, idx.ravel())), shape=(n, n))
    a = (c + c.T) * 0.5
    d = diags(1 / np.sqrt(np.asarray(a.sum(1)).ravel()))
    values, u = eigsh(d @ a @ d, k=min(m, n - 2), which="LA", tol=1e-8, v0=np.ones(n))
    return d @ u[:, np.argsort(values)[::-1]]


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
    if len(sys.argv) < 4 or sys.argv[2] not in ("selection", "confirmation", "all"):
        sys.exit(__doc__)
    warnings.filterwarnings("ignore")
    data, half = Path(sys.argv[1]), sys.argv[2]
    entries = {e["name"]: e for e in json.loads((data / "datasets.json").read_text())["datasets"]}
    keep = lambda d: half == "all" or (d in SELECTION) == (half == "selection")
    fits = kept_latents(sys.argv[3:], keep)
    means, names = {}, []
    for number, dataset in enumerate(sorted(fits)):
        every, _ = shapes_of(entries[dataset], data)
        shapes = unit_total_variance(every)

        def candidates(z, k, seed, shapes=shapes):
            x = np.hstack([unit_total_variance(spaces(z)["standardized"]), shapes])
            e = embedding(x, 2 * k)
            over = KMeans(min(2 * k, e.shape[1]), n_init=10, random_state=seed).fit_predict(e)
            first = e[:, :k]
            return {
                "spectral_series": KMeans(k, n_init=10, random_state=seed).fit_predict(first),
                "2k, merged": merged(x, over, k, ward=False),
                "2k, merged by Ward": merged(x, over, k, ward=True),
                "mixture": GaussianMixture(k, covariance_type="diag", n_init=3, random_state=seed).fit(first).predict(first),
            }

        names, rows = dataset_rows({dataset: fits[dataset]}, candidates, header=number == 0)
        means.update(rows)
    common = {d for d, e in entries.items() if not e["variable_length"] and d != "PigCVP"}
    print("\n| datasets, NMI / ARI | " + " | ".join(names) + " |")
    print("| --- |" + " ---: |" * len(names))
    groups = {
        "found": set(means),
        "common 24": common & set(means),
        "selection half": SELECTION & set(means),
        "confirmation half": set(means) - SELECTION,
    }
    for group, members in groups.items():
        kept = sorted(members)
        if kept:
            cells = (np.mean([means[d][name] for d in kept], axis=0) for name in names)
            print(f"| {group} ({len(kept)}) | " + " | ".join(f"{n:.3f} / {a:.3f}" for n, a in cells) + " |")


if __name__ == "__main__":
    main()
