"""Scores other clusterings of latents the quality runner kept
(`quality --latents DIR`, or `VRAE_STUDY_LATENTS=1 bash study.sh`), with scikit-learn's k-means
(10 restarts) both ways vrae can cluster: on the latent means as they are
(`kmeans_standardize: false`) and with every dimension scaled to unit
variance under vrae's 1% spread floor (`true`, the default). Prints NMI and
ARI per dataset (mean over seeds) and the mean over datasets, for each
latents folder given.

With `--geometry`, also other geometries of the standardised latents: the
principal axes holding 80 / 90 / 95% of their variance whitened (`w`) or
half-whitened (divided by the fourth root of each axis' variance, `sqrt`),
the first k axes whitened (`wk`), every standardised latent scaled to
unit length (`normalized`, what `kmeans_normalize` does), and the same
with the logarithm of its length as one more coordinate (standardised,
weight 0.25, 0.5 or 1).

With `--raw DATA` (the suite's data folder), also the standardised latents
side by side with the first d principal components of the same rows' raw
values (equal-length univariate datasets only; d = 2, 5, 10), each block
scaled to unit mean squared norm and the raw block weighted 0.5 or 1, and
the raw values alone: whether what plain PCA keeps adds to the latent.

    bench/.venv-classic/bin/python bench/quality/recluster.py out/study/latents/defaults ...
    bench/.venv-classic/bin/python bench/quality/recluster.py --raw ../shared/data out/lat
    bench/.venv-classic/bin/python bench/quality/recluster.py --geometry out/lat
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


def unit_rows(x):
    """Rows scaled to unit length; a row at the origin stays zero (as in
    vrae's `cluster::unit_rows`)."""
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return np.where(norm > 1e-12, x / np.maximum(norm, 1e-12), 0.0)


def geometries(z, k):
    """The standardised latents whitened along their main axes, or on the
    unit sphere."""
    scaled = spaces(z)["standardized"]
    pca = PCA(random_state=0).fit(scaled)
    axes, variance = pca.transform(scaled), pca.explained_variance_
    kept = np.cumsum(pca.explained_variance_ratio_)
    out = {}
    for share in (80, 90, 95):
        m = int(np.searchsorted(kept, share / 100) + 1)
        out[f"w{share}"] = axes[:, :m] / np.sqrt(variance[:m])
        out[f"sqrt{share}"] = axes[:, :m] / variance[:m] ** 0.25
    m = max(1, min(k, axes.shape[1]))
    out["wk"] = axes[:, :m] / np.sqrt(variance[:m])
    out["normalized"] = unit_rows(scaled)
    # The unit-length latents with their length given back as one more
    # coordinate: its logarithm standardised, at three weights.
    length = np.log(np.maximum(np.linalg.norm(scaled, axis=1, keepdims=True), 1e-6))
    length = (length - length.mean()) / max(length.std(), 1e-12)
    for weight in (0.25, 0.5, 1.0):
        out[f"normalized+loglength{weight}"] = np.hstack([out["normalized"], weight * length])
    return out


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


def score(path, raw=None, geometry=False):
    rows = np.loadtxt(path, delimiter=",", ndmin=2)
    labels, z = rows[:, 0].astype(int), rows[:, 1:]
    k = len(np.unique(labels))
    out = {}
    candidates = spaces(z)
    if raw is not None:
        candidates |= with_raw(z, raw)
    if geometry:
        candidates |= geometries(z, k)
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
    data, geometry = None, False
    if args[:1] == ["--geometry"]:
        geometry, args = True, args[1:]
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
            for space, pair in score(path, raw, geometry).items():
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
