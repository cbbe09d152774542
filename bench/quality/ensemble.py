"""Seed ensembles scored offline from latents the quality runner kept
(`quality --seeds 0,1,2,3,4 --latents DIR`): k-means on the concatenation
of m models' standardised latents (the models of seeds r..r+m-1, replicates
r = 0, 1, 2) against single models (seeds 0, 1, 2), scikit-learn's k-means
with 10 restarts for both, so that only the space differs. Prints NMI / ARI
per dataset (mean over the three) and the mean over datasets.

    bench/.venv-classic/bin/python bench/quality/ensemble.py DIR [DIR ...]
"""
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from recluster import spaces

MEMBERS = (1, 2, 3)
REPLICATES = 3


def standardised(z):
    return spaces(z)["standardized"]


def score(labels, features, seed):
    k = len(np.unique(labels))
    pred = KMeans(k, n_init=10, random_state=seed).fit_predict(features)
    return normalized_mutual_info_score(labels, pred), adjusted_rand_score(labels, pred)


def main():
    fits = defaultdict(dict)
    for folder in map(Path, sys.argv[1:]):
        for path in folder.glob("*-seed*.csv"):
            dataset, seed = path.stem.rsplit("-seed", 1)
            if not seed.isdigit():
                continue
            fits[dataset][int(seed)] = np.loadtxt(path, delimiter=",", ndmin=2)
    needed = REPLICATES + max(MEMBERS) - 1
    print("| dataset | " + " | ".join(f"{m} model{'s' * (m > 1)} NMI / ARI" for m in MEMBERS) + " |")
    print("| --- |" + " ---: |" * len(MEMBERS))
    rows = []
    for dataset, by_seed in sorted(fits.items()):
        if any(s not in by_seed for s in range(needed)):
            print(f"skipped {dataset}: needs seeds 0..{needed - 1}", file=sys.stderr)
            continue
        labels = by_seed[0][:, 0].astype(int)
        row = []
        for m in MEMBERS:
            runs = [score(labels, np.hstack([standardised(by_seed[r + j][:, 1:]) for j in range(m)]), r) for r in range(REPLICATES)]
            row.append(np.mean(runs, axis=0))
        rows.append(row)
        print(f"| {dataset} | " + " | ".join(f"{n:.3f} / {a:.3f}" for n, a in row) + " |")
    mean = np.mean(rows, axis=0)
    print(f"| **mean ({len(rows)})** | " + " | ".join(f"{n:.3f} / {a:.3f}" for n, a in mean) + " |")


if __name__ == "__main__":
    main()
