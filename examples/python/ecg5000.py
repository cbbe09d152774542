"""Cluster the 5000 ECG5000 heartbeats with polars-vrae, the Python twin of
`cargo run --release --example ecg5000`.

Trains a VRAE with the default options and ``clusters=5`` on
``data/ECG5000_TRAIN.parquet`` and ``data/ECG5000_TEST.parquet`` together
(labels never train; they only score), prints NMI and ARI of the clusters
against the labels, and writes the model, a JSON report and four scatter
plots (PCA and t-SNE of the latent vectors, coloured by cluster and by label)
to ``out/python/ecg5000/``.

    python examples/python/ecg5000.py [--epochs 40] [--seed 0] [--threads 0] [--no-tsne] [--out DIR]

Needs polars-vrae (``maturin develop --release`` in ``python/``), numpy and
matplotlib.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import polars as pl

import polars_vrae as vrae

REPO = Path(__file__).resolve().parents[2]


def contingency(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Counts of every (a, b) pair of labels."""
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    table = np.zeros((ai.max() + 1, bi.max() + 1), dtype=np.int64)
    np.add.at(table, (ai, bi), 1)
    return table


def entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def nmi(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised mutual information, arithmetic mean of the entropies (scikit-learn's default)."""
    table = contingency(a, b)
    n = table.sum()
    pa, pb = table.sum(axis=1), table.sum(axis=0)
    nz = table > 0
    mi = float((table[nz] / n * np.log(table[nz] * n / np.outer(pa, pb)[nz])).sum())
    ha, hb = entropy(pa), entropy(pb)
    if ha == 0.0 and hb == 0.0:
        return 1.0
    return mi / ((ha + hb) / 2.0) if ha + hb > 0 else 0.0


def ari(a: np.ndarray, b: np.ndarray) -> float:
    """Adjusted Rand index (Hubert and Arabie), as scikit-learn computes it."""
    table = contingency(a, b)

    def pairs(x: np.ndarray) -> float:
        return float((x * (x - 1) / 2).sum())

    index = pairs(table)
    sa, sb = pairs(table.sum(axis=1)), pairs(table.sum(axis=0))
    n = table.sum()
    expected = sa * sb / (n * (n - 1) / 2)
    top = (sa + sb) / 2
    return 1.0 if top == expected else (index - expected) / (top - expected)


def scatter(xy: np.ndarray, colour: np.ndarray, title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 6), dpi=120)
    for value in np.unique(colour):
        mask = colour == value
        ax.scatter(xy[mask, 0], xy[mask, 1], s=4, alpha=0.7, label=str(value))
    ax.set_title(title)
    ax.legend(markerscale=3, fontsize=8, title="", loc="best")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--options", default="{}", help='extra options as JSON, e.g. \'{"block": "gru"}\'')
    parser.add_argument("--no-tsne", action="store_true", help="skip the t-SNE plots (the slowest part after training)")
    parser.add_argument("--out", type=Path, default=REPO / "out" / "python" / "ecg5000")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    df = pl.concat([pl.read_parquet(REPO / "data" / f"ECG5000_{split}.parquet") for split in ("TRAIN", "TEST")])
    print(f"ECG5000: {df.height} series of {df['series'].list.len().max()} steps, {df['label'].n_unique()} labels")

    options = {
        "clusters": 5,
        "epochs": args.epochs,
        "seed": args.seed,
        "threads": args.threads,
        **json.loads(args.options),
    }
    started = time.perf_counter()
    model = vrae.train(df, "series", verbose=True, **options)
    print(f"trained in {time.perf_counter() - started:.1f}s: {model!r}")
    model.save(args.out / "model.safetensors")

    out = df.with_columns(
        cluster=vrae.cluster("series", model),
        latent=vrae.embed("series", model),
        pca=vrae.project("series", model),
        score=vrae.score("series", model),
    )
    clusters = out["cluster"].to_numpy()
    labels = out["label"].to_numpy()
    scores = {"nmi": nmi(labels, clusters), "ari": ari(labels, clusters)}
    print(f"NMI {scores['nmi']:.4f}  ARI {scores['ari']:.4f}")
    print(
        out.group_by("cluster")
        .agg(pl.len().alias("rows"), pl.col("label").mode().first().alias("main_label"))
        .sort("cluster")
    )

    pca = out["pca"].to_numpy()
    scatter(pca, clusters, "ECG5000 latents, PCA, by cluster", args.out / "pca_by_cluster.png")
    scatter(pca, labels, "ECG5000 latents, PCA, by label", args.out / "pca_by_label.png")
    if not args.no_tsne:
        started = time.perf_counter()
        tsne = vrae.tsne(out["latent"], seed=args.seed).to_numpy()
        print(f"t-SNE in {time.perf_counter() - started:.1f}s")
        scatter(tsne, clusters, "ECG5000 latents, t-SNE, by cluster", args.out / "tsne_by_cluster.png")
        scatter(tsne, labels, "ECG5000 latents, t-SNE, by label", args.out / "tsne_by_label.png")

    report = {"rows": df.height, "options": model.config, "scores": scores, "summary": model.summary}
    (args.out / "report.json").write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
