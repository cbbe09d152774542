"""Combining the two geometries vrae can cluster in, offline, on latents the
quality runner kept (`quality --latents DIR`): the standardised latents
(`kmeans_standardize`, the default) keep how far a series departs from the
average, the same latents at unit length (`kmeans_normalize`) keep only the
direction of that departure. Each wins datasets the other loses, so this
asks whether one clustering can take both:

- `consensus`: evidence accumulation (Fred and Jain, 2005): 10 rounds of
  single-restart k-means in each geometry with k, k+1 and k+2 clusters, the
  share of those partitions that put two series together as their
  similarity, and average linkage on it cut at k clusters. Needs the n x n
  co-association matrix, so it could only ever run on a sample;
- the same with one geometry only, or with k clusters only, to tell
  what the gain comes from;
- `concat w`: one k-means on both geometries side by side (the
  standardised block scaled to unit mean squared norm, the unit-length
  block weighted by sqrt(w)).

Labels only score. Prints NMI per dataset (mean over seeds) and NMI / ARI
over the datasets, for the suite's selection half (`--half selection`) or
its confirmation half (`--half confirmation`).

    bench/.venv-classic/bin/python bench/quality/consensus.py --half selection out/L/base
"""
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from recluster import spaces, unit_rows

# The split of BENCHMARKS.md, "Selecting and confirming defaults".
SELECTION = {
    "ECG5000", "ArrowHead", "OSULeaf", "BasicMotions", "PickupGestureWiimoteZ", "ECG200", "Coffee", "Beef",
    "Chinatown", "Adiac", "Fish", "FacesUCR", "ElectricDevices", "GesturePebbleZ1", "Trace",
}
ROUNDS = 10


def consensus(geometries, ks, k):
    partitions = [
        KMeans(kk, n_init=1, random_state=100 * r + kk).fit_predict(features)
        for r in range(ROUNDS)
        for features in geometries
        for kk in ks
    ]
    together = np.mean([p[:, None] == p[None, :] for p in partitions], axis=0)
    return AgglomerativeClustering(n_clusters=k, metric="precomputed", linkage="average").fit_predict(1.0 - together)


def candidates(z, k, seed):
    standardised = spaces(z)["standardized"]
    unit = unit_rows(standardised)
    both, more = (standardised, unit), (k, k + 1, k + 2)
    kmeans = lambda features: KMeans(k, n_init=10, random_state=seed).fit_predict(features)
    scaled = standardised / np.sqrt(max((standardised**2).sum(axis=1).mean(), 1e-12))
    return {
        "standardised": kmeans(standardised),
        "unit length": kmeans(unit),
        "consensus": consensus(both, more, k),
        "consensus, standardised only": consensus((standardised,), more, k),
        "consensus, unit length only": consensus((unit,), more, k),
        "consensus, k only": consensus(both, (k,), k),
        "concat 1": kmeans(np.hstack([scaled, unit])),
        "concat 2": kmeans(np.hstack([scaled, np.sqrt(2.0) * unit])),
    }


def kept_latents(folders, keep=lambda dataset: True):
    """Each dataset's kept latents by seed, from `quality --latents` folders."""
    fits = defaultdict(dict)
    for folder in map(Path, folders):
        for path in folder.glob("*-seed*.csv"):
            dataset, seed = path.stem.rsplit("-seed", 1)
            if seed.isdigit() and keep(dataset):
                fits[dataset][int(seed)] = np.loadtxt(path, delimiter=",", ndmin=2)
    return fits


def scored(by_seed, candidates):
    """Every candidate's (NMI, ARI) on each seed's latents; `candidates`
    maps (latents, k, seed) to {name: labels}."""
    scores = defaultdict(list)
    for seed, table in sorted(by_seed.items()):
        labels = table[:, 0].astype(int)
        for name, pred in candidates(table[:, 1:], len(np.unique(labels)), seed).items():
            scores[name].append((normalized_mutual_info_score(labels, pred), adjusted_rand_score(labels, pred)))
    return scores


def dataset_rows(fits, candidates, seeds_column=False, header=True):
    """Prints one table row per dataset (NMI per candidate, mean over its
    seeds) under a header (unless `header` is false), and returns the
    candidates' names and each dataset's mean (NMI, ARI) per candidate."""
    means, names = {}, []
    for dataset, by_seed in sorted(fits.items()):
        scores = scored(by_seed, candidates)
        if not names:
            names = list(scores)
            if header:
                print("| dataset |" + (" seeds |" if seeds_column else "") + " " + " | ".join(names) + " |")
                print("| --- |" + (" ---: |" if seeds_column else "") + " ---: |" * len(names))
        means[dataset] = {name: np.mean(scores[name], axis=0) for name in names}
        seeds = f" {len(by_seed)} |" if seeds_column else ""
        print(f"| {dataset} |{seeds} " + " | ".join(f"{means[dataset][name][0]:.3f}" for name in names) + " |")
    return names, means


def main():
    args = sys.argv[1:]
    if len(args) < 3 or args[0] != "--half" or args[1] not in ("selection", "confirmation"):
        sys.exit(__doc__)
    selection = args[1] == "selection"
    fits = kept_latents(args[2:], lambda dataset: (dataset in SELECTION) == selection)
    names, means = dataset_rows(fits, candidates)
    if names:
        cells = (np.mean([m[name] for m in means.values()], axis=0) for name in names)
        print(f"| **mean ({len(fits)}), NMI / ARI** | " + " | ".join(f"{n:.3f} / {a:.3f}" for n, a in cells) + " |")

if __name__ == "__main__":
    main()
