"""How much of what separates the classes the kept latents hold, against
principal components of the raw values of the same rows: for each dataset
of a latents folder (`quality --latents DIR`), the number of principal axes
that carry 90% of the standardised latents' variance, the cross-validated
accuracy of a linear classifier (logistic regression, stratified 5 folds)
on the standardised latents, and k-means' NMI on them (what vrae clusters);
then, for equal-length univariate datasets, the same classifier on the raw
values' first 2, 5 and 20 principal components of the suite's rows, and
how strongly the latent's first principal axis follows each series' time
lag (the shift that best correlates it with the rows' mean series): |r|
near 1 says the latent's largest variation is where a shape sits in
time, not what it is.

Labels train nothing that vrae uses: the classifier only asks whether the
classes are linearly separable in a space, which k-means then has to find
without them. A latent whose probe scores below a few raw principal
components has not learnt what plain PCA keeps.

    bench/.venv-classic/bin/python bench/quality/latent_probe.py out/lat ../shared/data
"""
import json
import sys
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import normalized_mutual_info_score
from sklearn.model_selection import StratifiedKFold, cross_val_score

# The suite's own row rule and reader (the classic methods' rows are the
# runner's), and vrae's standardisation of latents before k-means.
from classic import DEFAULT_MAX_ROWS, DEFAULT_MAX_STEPS, evenly_spaced_rows, read_dataset
from recluster import spaces


def probe(features, labels):
    smallest = np.unique(labels, return_counts=True)[1].min()
    folds = StratifiedKFold(max(2, min(5, smallest)), shuffle=True, random_state=0)
    model = LogisticRegression(max_iter=5000)
    return cross_val_score(model, features, labels, cv=folds).mean()


def axes_for(features, share=0.9):
    var = np.linalg.svd(features - features.mean(axis=0), compute_uv=False) ** 2
    return int(np.searchsorted(np.cumsum(var) / var.sum(), share) + 1)


def lags(x):
    """Each row's shift against the mean series, by full cross-correlation."""
    mean = x.mean(axis=0)
    mean = mean - mean.mean()
    return np.array([np.argmax(np.correlate(row - row.mean(), mean, "full")) - (len(mean) - 1) for row in x])


def first_axis(z):
    return PCA(1, random_state=0).fit_transform(z)[:, 0]


def suite_rows(entry, data):
    """The raw values and labels of the rows the suite keeps, or None where
    they are not one flat matrix (multivariate or variable length)."""
    if entry["multivariate"] or entry["variable_length"]:
        return None
    series, labels = read_dataset(data, entry)
    keep = evenly_spaced_rows(len(series), entry["length"]["max"], entry["n_classes"], DEFAULT_MAX_ROWS, DEFAULT_MAX_STEPS)
    return np.array([series[i][:, 0] for i in keep]), np.array([labels[i] for i in keep])


def main():
    # Rare classes (ECG5000's 535 rows hold 2 of class 5) make some folds lack a class.
    warnings.filterwarnings("ignore", category=UserWarning)
    latents, data = Path(sys.argv[1]), Path(sys.argv[2])
    entries = {e["name"]: e for e in json.loads((data / "datasets.json").read_text())["datasets"]}
    rows = defaultdict(list)
    for path in sorted(latents.glob("*-seed*.csv")):
        dataset = path.stem.rsplit("-seed", 1)[0]
        table = np.loadtxt(path, delimiter=",", ndmin=2)
        labels, z = table[:, 0].astype(int), spaces(table[:, 1:])["standardized"]
        k = len(np.unique(labels))
        nmi = normalized_mutual_info_score(labels, KMeans(k, n_init=10, random_state=0).fit_predict(z))
        rows[dataset].append((axes_for(z), probe(z, labels), nmi, first_axis(z)))
    print("| dataset | latent axes for 90% | latent probe | k-means NMI | raw PCA 2 probe | PCA 5 | PCA 20 | raw axes for 90% | first latent axis vs lag, abs(r) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for dataset, seeds in rows.items():
        axes, acc, nmi = np.mean([s[:3] for s in seeds], axis=0)
        cells = [f"{axes:.1f}", f"{acc:.3f}", f"{nmi:.3f}"]
        raw = suite_rows(entries[dataset], data)
        if raw is None:
            cells += ["n/a"] * 5
        else:
            x, y = raw
            lag = lags(x)
            x = x - x.mean(axis=0)
            cells += [f"{probe(PCA(min(n, *x.shape), random_state=0).fit_transform(x), y):.3f}" for n in (2, 5, 20)]
            cells.append(str(axes_for(x)))
            spread = lag.std() > 0
            cells.append(f"{np.mean([abs(np.corrcoef(s[3], lag)[0, 1]) for s in seeds]):.2f}" if spread else "no lag")
        print(f"| {dataset} ({len(seeds)} seeds) | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
