"""Choosing k on the `spectral_series` graph, offline: the mean silhouette
(what `clusters: "auto"` does) against the eigengap of the graph's
normalised affinity (von Luxburg 2007, section 8.3: with k weakly joined
groups the k leading eigenvalues lie near 1 and the next one falls away).

On latents the quality runner kept (`quality --latents DIR`) and the same
rows of the series: the graph points of `spectral_series` (standardised
latent beside z-normalised shape, each part at unit total variance, as
`shape_graph.py`), the symmetrised binary 10-neighbour graph, its 11
leading eigenvectors; for each k in 2..=10 k-means on the first k columns
of D^-1/2 U. Picks per criterion:

- `silhouette`: the best mean silhouette of the graph points (what vrae
  keeps);
- `eigengap`: the largest gap lambda_k - lambda_(k+1);
- `eigengap, relative`: the largest (lambda_k - lambda_(k+1)) / (1 - lambda_k).

Labels only score. Prints per dataset the class count and each
criterion's picks and NMI, then how often each is exact, within one, its
mean distance from the class count and its mean NMI at its k.

    bench/.venv-classic/bin/python bench/quality/eigengap_k.py ../shared/data {selection|confirmation|all} LATENT_DIRS
"""
import sys

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score, silhouette_score

from recluster import spaces
from shape_graph import graph_embedding, half_fits, shapes_of, unit_total_variance

K_MAX = 10
SILHOUETTE_SAMPLE = 2000


def picks(x, seed):
    values, embedded = graph_embedding(x, min(K_MAX + 1, len(x) - 1))
    ks = [k for k in range(2, K_MAX + 1) if k < len(values) and k < len(x)]
    cuts = {k: KMeans(k, n_init=10, random_state=seed).fit_predict(embedded[:, :k]) for k in ks}
    sample = np.random.default_rng(seed).choice(len(x), min(len(x), SILHOUETTE_SAMPLE), replace=False)
    silhouettes = {
        k: silhouette_score(x[sample], labels[sample]) if len(np.unique(labels[sample])) > 1 else -1.0
        for k, labels in cuts.items()
    }
    gap = {k: values[k - 1] - values[k] for k in ks}
    relative = {k: (values[k - 1] - values[k]) / max(1 - values[k - 1], 1e-9) for k in ks}
    chosen = {
        "silhouette": max(ks, key=lambda k: silhouettes[k]),
        "eigengap": max(ks, key=lambda k: gap[k]),
        "eigengap, relative": max(ks, key=lambda k: relative[k]),
    }
    return {name: (k, cuts[k]) for name, k in chosen.items()}


def compare_criteria(argv, doc, criteria, picks_for):
    """Runs `picks_for(entry, every)` (a function of the standardised
    latents at unit total variance and the seed, giving each criterion's
    (k, labels)) on the kept latents `argv` names; prints per dataset the
    class count and each criterion's picks and NMI, then `print_summary`.
    Exits with `doc` on bad arguments."""
    data, entries, fits = half_fits(argv, doc)
    results = {}
    print("| dataset | classes | " + " | ".join(f"{n} k | {n} NMI" for n in criteria) + " |")
    print("| --- | ---: |" + " ---: | ---: |" * len(criteria))
    for dataset in sorted(fits):
        every, _ = shapes_of(entries[dataset], data)
        picks_of = picks_for(entries[dataset], every)
        rows = {}
        for seed, table in sorted(fits[dataset].items()):
            labels = table[:, 0].astype(int)
            latents = unit_total_variance(spaces(table[:, 1:])["standardized"])
            for name, (k, pred) in picks_of(latents, seed).items():
                rows.setdefault(name, []).append((k, normalized_mutual_info_score(labels, pred)))
        classes = entries[dataset]["n_classes"]
        results[dataset] = (classes, rows)
        cells = " | ".join(f"{', '.join(str(k) for k, _ in rows[n])} | {np.mean([s for _, s in rows[n]]):.3f}" for n in criteria)
        print(f"| {dataset} | {classes} | {cells} |", flush=True)
    print_summary(results, criteria)


def main():
    def picks_for(entry, every):
        shapes = unit_total_variance(every)
        return lambda latents, seed: picks(np.hstack([latents, shapes]), seed)

    compare_criteria(sys.argv, __doc__, ("silhouette", "eigengap", "eigengap, relative"), picks_for)


def print_summary(results, criteria):
    """Per criterion, from `results` (dataset: (classes, {criterion: [(k,
    NMI) per seed]})): how often its k is the class count and within one of
    it where there are at most K_MAX classes, its mean distance from the
    class count and its mean NMI."""
    print("\n| criterion | exact (classes <= 10) | within one (classes <= 10) | mean abs(k - classes) | mean NMI |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name in criteria:
        small = [(c, k) for c, rows in results.values() if c <= K_MAX for k, _ in rows[name]]
        every_k = [(c, k) for c, rows in results.values() for k, _ in rows[name]]
        nmi = np.mean([np.mean([s for _, s in rows[name]]) for _, rows in results.values()])
        exact = np.mean([k == c for c, k in small])
        within = np.mean([abs(k - c) <= 1 for c, k in small])
        distance = np.mean([abs(k - c) for c, k in every_k])
        print(f"| {name} | {exact:.0%} | {within:.0%} | {distance:.2f} | {nmi:.3f} |")


if __name__ == "__main__":
    main()
