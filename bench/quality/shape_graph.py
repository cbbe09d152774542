"""Graphs of the latents beside the series' shapes, offline: what chose
`clustering: "spectral_series"` before it was built. On latents the
quality runner kept (`quality --latents DIR`) and the same rows of the
series, averaged to at most 64 steps as vrae's `paa_steps` does, spectral
clustering (10-nearest-neighbour graph, k-means on the embedding, as
`graph_clusters.py`) of:

- `latents`: the standardised latents (what `clustering: "spectral"` does);
- `latents + raw`: each latent beside its raw series, each part scaled to
  unit total variance (univariate equal-length datasets; the others keep
  `latents`);
- `shapes`: the z-normalised series alone (no network; likewise);
- `latents + shapes / 2`: each latent beside its z-normalised series at
  half weight (likewise);
- `latents + shapes`: each latent beside its z-normalised series, equal
  weight, on the same datasets;
- `... all`: the same on every dataset, each channel z-normalised and every
  series resampled to the longest one's averaged steps (what
  `spectral_series` builds).

Labels only score. Prints NMI per dataset (mean over the seeds found) and
NMI / ARI over the datasets found, over the 24 every classic method takes
and over the suite's selection and confirmation halves.

    bench/.venv-classic/bin/python bench/quality/shape_graph.py ../shared/data selection out/L/base
    (second argument: selection, confirmation or all)
"""
import json
import sys
import warnings
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix, diags
from scipy.sparse.linalg import eigsh
from sklearn.cluster import KMeans
from sklearn.neighbors import NearestNeighbors

from consensus import SELECTION, dataset_rows, kept_latents
from classic import DEFAULT_MAX_ROWS, DEFAULT_MAX_STEPS, evenly_spaced_rows, read_dataset
from latent_probe import suite_rows
from recluster import spaces

NEIGHBOURS = 10
PAA_STEPS = 64


def paa(x, steps=PAA_STEPS):
    """Windows of ceil(length / steps) steps averaged; the last window is
    padded with the series' last value (vrae averages the steps it has)."""
    n, t = x.shape
    w = -(-t // steps)
    if w <= 1:
        return x
    m = -(-t // w)
    padded = np.concatenate([x, np.repeat(x[:, -1:], m * w - t, 1)], 1)
    return padded.reshape(n, m, w).mean(2)


def shapes_of(entry, data, paa_steps=PAA_STEPS):
    """The suite's rows of a dataset as `spectral_series` compares them:
    averaged over windows of ceil(longest / `paa_steps`) steps (a last short window
    averages the steps it has), each channel z-normalised, resampled to the
    longest averaged series' steps by linear interpolation, flattened."""
    series, labels = read_dataset(data, entry)
    keep = evenly_spaced_rows(len(series), entry["length"]["max"], entry["n_classes"], DEFAULT_MAX_ROWS, DEFAULT_MAX_STEPS)
    rows = [np.asarray(series[i], dtype=np.float64) for i in keep]
    window = max(1, -(-max(len(r) for r in rows) // paa_steps))
    rows = [np.array([r[s : s + window].mean(0) for s in range(0, len(r), window)]) for r in rows]
    steps = max(len(r) for r in rows)
    out = []
    for r in rows:
        std = r.std(0)
        z = np.where(std > 1e-12, (r - r.mean(0)) / np.where(std > 1e-12, std, 1.0), 0.0)
        at = np.linspace(0, len(z) - 1, steps)
        out.append(np.stack([np.interp(at, np.arange(len(z)), z[:, c]) for c in range(z.shape[1])], 1).ravel())
    return np.array(out), np.array([labels[i] for i in keep])


def total_variance(x):
    """The rows' mean squared distance from their mean."""
    return ((x - x.mean(0)) ** 2).sum(1).mean()


def unit_total_variance(x):
    return (x - x.mean(0)) / np.sqrt(max(total_variance(x), 1e-24))


def graph_embedding(x, m, scale_neighbour=None):
    """The m leading eigenvalues (descending) of D^-1/2 A D^-1/2 for the
    symmetrised binary 10-neighbour graph of x (each point its own
    neighbour), and D^-1/2 U of their eigenvectors, as vrae's `spectral.rs`.
    With `scale_neighbour` s, edges weigh exp(-d^2 / (s_i s_j)) instead of 1,
    s_i the distance from i to its s-th neighbour (local scaling)."""
    dist, idx = NearestNeighbors(n_neighbors=min(NEIGHBOURS, len(x) - 1)).fit(x).kneighbors(x)
    weights = np.ones(idx.size)
    if scale_neighbour is not None:
        s = np.maximum(dist[:, min(scale_neighbour, idx.shape[1] - 1)], 1e-12)
        weights = np.exp(-(dist**2) / (s[:, None] * s[idx])).ravel()
    return neighbour_embedding(idx, weights, m)


def neighbour_embedding(idx, weights, m):
    """`graph_embedding` from each point's neighbours `idx` (rows of
    indices, itself included) and their edge `weights` (flattened)."""
    return adjacency_embedding(neighbour_adjacency(idx, weights), m)


def neighbour_adjacency(idx, weights):
    """The symmetrised sparse adjacency of each point's neighbours `idx`
    with edge `weights` (flattened)."""
    n = len(idx)
    rows = np.repeat(np.arange(n), idx.shape[1])
    c = csr_matrix((weights, (rows, idx.ravel())), shape=(n, n))
    return (c + c.T) * 0.5


def adjacency_embedding(a, m):
    """The m leading eigenvalues (descending) of D^-1/2 A D^-1/2 for the
    sparse adjacency `a`, and D^-1/2 U of their eigenvectors."""
    n = a.shape[0]
    d = diags(1 / np.sqrt(np.asarray(a.sum(1)).ravel()))
    values, u = eigsh(d @ a @ d, k=m, which="LA", tol=1e-8, v0=np.ones(n))
    order = np.argsort(values)[::-1]
    return values[order], d @ u[:, order]


def spectral(x, k, seed):
    """k-means on the embedding of the k leading eigenvectors, as vrae's
    `spectral_cut: "kmeans"`."""
    return KMeans(k, n_init=10, random_state=seed).fit_predict(graph_embedding(x, k)[1])


def half_fits(argv, doc):
    """The data folder, the manifest's entries by name and the kept
    latents of the half `argv[2]` names (selection, confirmation or all)
    from the folders after it; exits with `doc` on bad arguments."""
    if len(argv) < 4 or argv[2] not in ("selection", "confirmation", "all"):
        sys.exit(doc)
    warnings.filterwarnings("ignore")
    data, half = Path(argv[1]), argv[2]
    entries = {e["name"]: e for e in json.loads((data / "datasets.json").read_text())["datasets"]}
    keep = lambda d: half == "all" or (d in SELECTION) == (half == "selection")
    return data, entries, kept_latents(argv[3:], keep)


def print_groups(entries, means, names):
    """Mean NMI / ARI per candidate over the datasets found, the 24 every
    classic method takes and the suite's halves."""
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


def compare_on_halves(argv, doc, candidates_for):
    """Runs the candidates `candidates_for(entry, shapes)` makes for each
    dataset (a function of latents, k and seed, as `dataset_rows` takes)
    on the kept latents `argv` names, prints a row per dataset and the
    groups' means (`print_groups`); exits with `doc` on bad arguments."""
    data, entries, fits = half_fits(argv, doc)
    means, names = {}, []
    for number, dataset in enumerate(sorted(fits)):
        every, _ = shapes_of(entries[dataset], data)
        names, rows = dataset_rows({dataset: fits[dataset]}, candidates_for(entries[dataset], every), header=number == 0)
        means.update(rows)
    print_groups(entries, means, names)


def main():
    data, entries, fits = half_fits(sys.argv, __doc__)
    raw = {d: suite_rows(entries[d], data) for d in fits}
    shapes = {d: shapes_of(entries[d], data) for d in fits}

    means = {}
    names = []
    for number, dataset in enumerate(sorted(fits)):
        series, (every, _) = raw[dataset], shapes[dataset]

        def candidates(z, k, seed, series=series, every=every):
            latents = unit_total_variance(spaces(z)["standardized"])
            out = {"latents": spectral(latents, k, seed)}
            both = spectral(np.hstack([latents, unit_total_variance(every)]), k, seed)
            if series is None:
                names = ("latents + raw", "shapes", "latents + shapes / 2", "latents + shapes")
                return {**out, **{n: out["latents"] for n in names}, "latents + shapes, all": both}
            x = paa(series[0])
            flat = (x - x.mean(1, keepdims=True)) / np.maximum(x.std(1, keepdims=True), 1e-12)
            x, flat = unit_total_variance(x), unit_total_variance(flat)
            out["latents + raw"] = spectral(np.hstack([latents, x]), k, seed)
            out["shapes"] = spectral(flat, k, seed)
            out["latents + shapes / 2"] = spectral(np.hstack([latents, 0.5 * flat]), k, seed)
            out["latents + shapes"] = spectral(np.hstack([latents, flat]), k, seed)
            out["latents + shapes, all"] = both
            return out

        first = next(iter(fits[dataset].values()))
        assert len(first) == len(every), f"{dataset}: {len(first)} latents, {len(every)} series"

        names, rows = dataset_rows({dataset: fits[dataset]}, candidates, header=number == 0)
        means.update(rows)
    print_groups(entries, means, names)


if __name__ == "__main__":
    main()
