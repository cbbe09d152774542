"""Spectral clustering of kept latents, offline: what chose `clustering:
"spectral"` before it was built. On latents the quality runner kept
(`quality --latents DIR`), standardised as vrae's k-means sees them
(`kmeans_standardize`), scores against the labels:

- `kmeans`: scikit-learn's k-means, 10 restarts (vrae's default clustering);
- `spectral, qr`: `SpectralClustering(affinity="nearest_neighbors",
  n_neighbors=10, assign_labels="cluster_qr")`;
- `spectral`: the same with `assign_labels="kmeans"` (scikit-learn's
  default, and what vrae builds: k-means on the embedding);
- `spectral, vote`: `spectral`'s labels, then every latent assigned by the
  unweighted majority of its 10 nearest latents (itself included), a rule
  vrae did not adopt: it loses where clusters hold fewer than 10 latents.

Prints NMI per dataset (mean over the seeds found) and NMI / ARI over all
datasets, over the 24 that every classic method takes (equal-length, not
PigCVP) and over the suite's selection and confirmation halves.

    bench/.venv-classic/bin/python bench/quality/graph_clusters.py ../shared/data out/L/base [more latent folders]
"""
import json
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans, SpectralClustering
from sklearn.neighbors import NearestNeighbors

from consensus import SELECTION, dataset_rows, kept_latents
from recluster import spaces

NEIGHBOURS = 10


def candidates(z, k, seed):
    x = spaces(z)["standardized"]
    spectral = lambda assign: SpectralClustering(
        k, affinity="nearest_neighbors", n_neighbors=min(NEIGHBOURS, len(x) - 1), random_state=seed, assign_labels=assign
    ).fit_predict(x)
    out = {"kmeans": KMeans(k, n_init=10, random_state=seed).fit_predict(x), "spectral, qr": spectral("cluster_qr")}
    out["spectral"] = spectral("kmeans")
    nearest = NearestNeighbors(n_neighbors=min(NEIGHBOURS, len(x))).fit(x).kneighbors(x, return_distance=False)
    out["spectral, vote"] = np.array([np.bincount(out["spectral"][row], minlength=k).argmax() for row in nearest])
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    warnings.filterwarnings("ignore")  # graphs with several components
    data = Path(sys.argv[1])
    entries = {e["name"]: e for e in json.loads((data / "datasets.json").read_text())["datasets"]}
    fits = kept_latents(sys.argv[2:])
    names, means = dataset_rows(fits, candidates, seeds_column=True)
    common = {d for d, e in entries.items() if not e["variable_length"] and d != "PigCVP"}
    groups = {
        "all": set(means),
        "common 24": common,
        "selection half": SELECTION,
        "confirmation half": set(entries) - SELECTION,
    }
    print("\n| datasets, NMI / ARI | " + " | ".join(names) + " |")
    print("| --- |" + " ---: |" * len(names))
    for group, members in groups.items():
        kept = sorted(members & set(means))
        if kept:
            cells = (np.mean([means[d][name] for d in kept], axis=0) for name in names)
            print(f"| {group} ({len(kept)}) | " + " | ".join(f"{n:.3f} / {a:.3f}" for n, a in cells) + " |")


if __name__ == "__main__":
    main()
