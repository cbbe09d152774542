"""How `clusters: "auto"` picks k in each geometry vrae can cluster in,
offline on latents the quality runner kept (`quality --latents DIR`): for
every k in 2..=10, scikit-learn's k-means (10 restarts) on the standardised
latents (`kmeans_standardize`, the default) and on the same scaled to unit
length (`kmeans_normalize`), each scored by its mean silhouette in its own
space (at most 2000 sampled points, as vrae samples); the best k is the
pick. Prints each file's picks with their NMI, then per geometry how often
the pick is the class count, its mean distance from it, how often it is
within one of it where the class count is at most 10, and the mean NMI at
the pick (BENCHMARKS.md, "k-means on the latents' directions").

    bench/.venv-classic/bin/python bench/quality/auto_k_geometry.py out/L/base out/L/cbase
"""
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score, silhouette_score

from recluster import spaces, unit_rows

K_MAX = 10


def pick(x, labels):
    """(k, NMI at k) with the best mean silhouette over 2..=K_MAX."""
    best = None
    for k in range(2, min(K_MAX, len(x) - 1) + 1):
        pred = KMeans(k, n_init=10, random_state=0).fit_predict(x)
        if len(np.unique(pred)) < 2:
            continue
        score = silhouette_score(x, pred, sample_size=min(2000, len(x)), random_state=0)
        if best is None or score > best[0]:
            best = (score, k, normalized_mutual_info_score(labels, pred))
    return best[1], best[2]


def main():
    warnings.filterwarnings("ignore")
    rows = []
    for folder in map(Path, sys.argv[1:]):
        for path in sorted(folder.glob("*-seed*.csv")):
            data = np.loadtxt(path, delimiter=",", ndmin=2)
            labels = data[:, 0].astype(int)
            standardized = spaces(data[:, 1:])["standardized"]
            picks = {"standardized": pick(standardized, labels), "normalized": pick(unit_rows(standardized), labels)}
            classes = len(np.unique(labels))
            rows.append((classes, picks))
            print(path.stem, classes, {name: (k, round(score, 3)) for name, (k, score) in picks.items()}, flush=True)
    for name in ("standardized", "normalized"):
        exact = np.mean([p[name][0] == c for c, p in rows])
        distance = np.mean([abs(p[name][0] - c) for c, p in rows])
        within = np.mean([abs(p[name][0] - c) <= 1 for c, p in rows if c <= K_MAX])
        score = np.mean([p[name][1] for _, p in rows])
        print(f"{name}: exact {exact:.2f}, mean |k - classes| {distance:.2f}, within one {within:.2f}, NMI {score:.3f}")


if __name__ == "__main__":
    main()
