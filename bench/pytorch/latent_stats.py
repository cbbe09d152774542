"""Compares the geometry of latent means from vrae and from the PyTorch
baseline on ECG5000: spread per dimension, how many directions carry the
variance, and how k-means with 1 and 10 restarts scores against the labels.

    bench/.venv-torch/bin/python bench/pytorch/latent_stats.py \
        vrae=out/seeds/vrae3/model.safetensors.latents.csv torch=out/seeds/torch3.npz ...

A `.csv` is what `cargo run --release --example kmeans_study` leaves beside
a model (one row of latent means per series, ECG5000 TRAIN then TEST); a
`.npz` is what `vrae_torch.py --quality --save-latents` writes.
"""
import sys
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vrae_torch import load_dataset  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "data"


def load(path):
    if path.endswith(".npz"):
        return np.load(path)["mean"].astype(np.float64)
    return np.loadtxt(path, delimiter=",", dtype=np.float64)


def describe(name, z, y):
    centred = z - z.mean(axis=0)
    eig = np.linalg.eigvalsh(np.cov(centred, rowvar=False))[::-1]
    share = eig / eig.sum()
    # Participation ratio: the number of equally used directions that would
    # spread the variance this evenly.
    effective_dims = eig.sum() ** 2 / (eig ** 2).sum()
    std = z.std(axis=0)

    scores = {}
    # Each latent dimension scaled to unit variance: with the KL term this
    # weak nothing ties the dimensions to a common scale.
    standardized = centred / np.where(std > 0, std, 1.0)
    for features, space in ((z, "raw"), (standardized, "std")):
        total = ((features - features.mean(axis=0)) ** 2).sum()
        for n_init in (1, 10):
            runs = [KMeans(5, n_init=n_init, random_state=s).fit(features) for s in range(5)]
            scores[f"{space} n_init={n_init:2d}"] = (
                np.mean([normalized_mutual_info_score(y, r.labels_) for r in runs]),
                np.mean([adjusted_rand_score(y, r.labels_) for r in runs]),
                np.mean([r.inertia_ for r in runs]) / total)
    print(f"{name}: total var {eig.sum():8.2f}  top-3 share {share[:3].round(3)}  "
          f"effective dims {effective_dims:5.2f}  std per dim min/median/max "
          f"{std.min():.3f}/{np.median(std):.3f}/{std.max():.3f}")
    for label, (nmi, ari, inertia) in scores.items():
        print(f"    k-means on {label}: NMI {nmi:.3f} ARI {ari:.3f} inertia/total {inertia:.3f}")


def main():
    # The same TRAIN-then-TEST order both implementations embed in.
    y = np.asarray(load_dataset(DATA)[1])
    for arg in sys.argv[1:]:
        name, _, path = arg.partition("=")
        describe(name, load(path), y)


if __name__ == "__main__":
    main()
