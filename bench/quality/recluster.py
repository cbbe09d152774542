"""Scores other clusterings of latents the quality runner kept
(`quality --latents DIR`, or `VRAE_STUDY_LATENTS=1 bash study.sh`), with scikit-learn's k-means
(10 restarts) both ways vrae can cluster: on the latent means as they are
(`kmeans_standardize: false`) and with every dimension scaled to unit
variance under vrae's 1% spread floor (`true`, the default). Prints NMI and
ARI per dataset (mean over seeds) and the mean over datasets, for each
latents folder given.

With `--raw DATA` (the suite's data folder), also the standardised latents
side by side with the first d principal components of the same rows' raw
values (equal-length univariate datasets only; d = 2, 5, 10), each block
scaled to unit mean squared norm and the raw block weighted 0.5 or 1, and
the raw values alone: whether what plain PCA keeps adds to the latent.

    bench/.venv-classic/bin/python bench/quality/recluster.py out/study/latents/defaults ...
    bench/.venv-classic/bin/python bench/quality/recluster.py --raw ../shared/data out/lat
"""
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score


def spaces(z):
    centred = z - z.mean(axis=0)
    std = z.std(axis=0)
    # vrae's floor (`cluster::MIN_RELATIVE_SPREAD`): a dimension with under
    # 1% of the widest one's spread is scaled as having that 1%.
    floor = 0.01 * std.max()
    scaled = centred / np.maximum(std, floor) if floor > 1e-12 else centred
    return {"means": z, "standardized": scaled}


def unit_norm(x):
    return x / np.sqrt((x**2).sum(axis=1).mean())


def with_raw(z, raw):
    """The latents' spaces beside the raw values' principal components."""
    centred = raw - raw.mean(axis=0)
    latent = unit_norm(spaces(z)["standardized"])
    out = {"raw": centred}
    for d in (2, 5, 10):
        pcs = unit_norm(PCA(min(d, *centred.shape), random_state=0).fit_transform(centred))
        for weight in (0.5, 1.0):
            out[f"std+pca{d}x{weight}"] = np.hstack([latent, weight * pcs])
    return out


def score(path, raw=None):
    rows = np.loadtxt(path, delimiter=",", ndmin=2)
    labels, z = rows[:, 0].astype(int), rows[:, 1:]
    k = len(np.unique(labels))
    out = {}
    candidates = spaces(z)
    if raw is not None:
        candidates |= with_raw(z, raw)
    for name, features in candidates.items():
        # vrae's k-means: k-means++ with 10 restarts, best inertia.
        pred = KMeans(k, n_init=10, random_state=0).fit_predict(features)
        out[name] = (normalized_mutual_info_score(labels, pred), adjusted_rand_score(labels, pred))
    return out


def raw_rows(data, dataset, labels):
    """The suite's raw rows of `dataset`, or None where they are not one
    flat matrix; checked to be the rows the latents were kept for."""
    # latent_probe imports this module's `spaces`: imported here, not above.
    from latent_probe import suite_rows

    entry = next(e for e in json.loads((data / "datasets.json").read_text())["datasets"] if e["name"] == dataset)
    rows = suite_rows(entry, data)
    if rows is None:
        return None
    x, raw_labels = rows
    if len(raw_labels) != len(labels) or adjusted_rand_score(labels, raw_labels) < 1.0 - 1e-9:
        sys.exit(f"{dataset}: the latents' rows are not the suite's rows")
    return x


def main():
    args = sys.argv[1:]
    data = None
    if args[:1] == ["--raw"]:
        data, args = Path(args[1]), args[2:]
    for folder in map(Path, args):
        per_dataset = defaultdict(lambda: defaultdict(list))
        for path in sorted(folder.glob("*-seed*.csv")):
            dataset = path.stem.rsplit("-seed", 1)[0]
            raw = None
            if data is not None:
                labels = np.loadtxt(path, delimiter=",", ndmin=2)[:, 0].astype(int)
                raw = raw_rows(data, dataset, labels)
                if raw is None:
                    continue
            for space, pair in score(path, raw).items():
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
