"""Scores other clusterings of latents the quality runner kept
(`quality --latents DIR`, or `VRAE_STUDY_LATENTS=1 bash study.sh`), with scikit-learn's k-means
(10 restarts) both ways vrae can cluster: on the latent means as they are
(`kmeans_standardize: false`) and with every dimension scaled to unit
variance under vrae's 1% spread floor (`true`, the default). Prints NMI and
ARI per dataset (mean over seeds) and the mean over datasets, for each
latents folder given.

    bench/.venv-classic/bin/python bench/quality/recluster.py out/study/latents/defaults ...
"""
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score


def spaces(z):
    centred = z - z.mean(axis=0)
    std = z.std(axis=0)
    # vrae's floor (`cluster::MIN_RELATIVE_SPREAD`): a dimension with under
    # 1% of the widest one's spread is scaled as having that 1%.
    floor = 0.01 * std.max()
    scaled = centred / np.maximum(std, floor) if floor > 1e-12 else centred
    return {"means": z, "standardized": scaled}


def score(path):
    rows = np.loadtxt(path, delimiter=",", ndmin=2)
    labels, z = rows[:, 0].astype(int), rows[:, 1:]
    k = len(np.unique(labels))
    out = {}
    for name, features in spaces(z).items():
        # vrae's k-means: k-means++ with 10 restarts, best inertia.
        pred = KMeans(k, n_init=10, random_state=0).fit_predict(features)
        out[name] = (normalized_mutual_info_score(labels, pred), adjusted_rand_score(labels, pred))
    return out


def main():
    for folder in map(Path, sys.argv[1:]):
        per_dataset = defaultdict(lambda: defaultdict(list))
        for path in sorted(folder.glob("*-seed*.csv")):
            dataset = path.stem.rsplit("-seed", 1)[0]
            for space, pair in score(path).items():
                per_dataset[dataset][space].append(pair)
        names = sorted(next(iter(per_dataset.values())).keys()) if per_dataset else []
        print(f"## {folder}")
        print("| dataset | " + " | ".join(f"{n} NMI | {n} ARI" for n in names) + " |")
        print("| --- |" + " ---: |" * (2 * len(names)))
        totals = defaultdict(list)
        for dataset, by_space in per_dataset.items():
            cells = []
            for n in names:
                nmi, ari = np.mean(by_space[n], axis=0)
                totals[n].append((nmi, ari))
                cells += [f"{nmi:.3f}", f"{ari:.3f}"]
            print(f"| {dataset} | " + " | ".join(cells) + " |")
        cells = []
        for n in names:
            nmi, ari = np.mean(totals[n], axis=0)
            cells += [f"**{nmi:.3f}**", f"**{ari:.3f}**"]
        print("| **mean** | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
