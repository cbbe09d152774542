"""Shapes compared over shifts in time, offline: what chose `shape_lag`.
The `spectral_series` graph compares two series' z-normalised shapes step
by step, so one shape at another place is far away (CBF, ECGFiveDays).
Here the shape part of the distance is instead the smallest over shifts of
up to a fraction of the steps either way of |a|^2 + |b|^2 - 2 <a shifted,
b> (steps shifted past an end count as zeros; k-Shape's cross-correlation),
the latent part step by step as before, and the graph, its embedding and
the mixture cut as vrae builds them.

On latents the quality runner kept (`quality --latents DIR`) and the same
rows of the series (as `shape_graph.py`). Candidates: shifts of up to 0%
(vrae before the option), 5%, 10% and 25% of the steps. Labels only score.
Prints NMI per dataset (mean over the seeds found) and NMI / ARI over the
datasets found, the 24 every classic method takes and the suite's halves.

    bench/.venv-classic/bin/python bench/quality/shifted_shapes.py ../shared/data {selection|confirmation|all} LATENT_DIRS
"""
import sys

import numpy as np
from recluster import spaces
from shape_graph import NEIGHBOURS, adjacency_embedding, compare_on_halves, neighbour_adjacency, total_variance, unit_total_variance
from tuned_graph import mixture_cut


def adjacency_of(d2):
    """The symmetrised binary 10-neighbour adjacency of the squared
    distances `d2` (as `graph_embedding`)."""
    idx = np.argsort(d2, axis=1)[:, : min(NEIGHBOURS, len(d2) - 1)]
    return neighbour_adjacency(idx, np.ones(idx.size))


def graph_spectrum(d2, m):
    """The m leading eigenvalues and D^-1/2 U of their eigenvectors, of the
    graph `adjacency_of` the squared distances `d2`."""
    return adjacency_embedding(adjacency_of(d2), m)


def embed_from_dist(d2, m):
    """The embedding of `graph_spectrum`."""
    return graph_spectrum(d2, m)[1]


def shape_d2(x, steps, channels, max_lag):
    """Every pair's shape distance: the minimum over lags |l| <= max_lag of
    |x_i|^2 + |x_j|^2 - 2 cc_ij(l), over the shapes' total variance (so
    that at lag 0 it is the squared distance of `unit_total_variance`)."""
    n = len(x)
    S2 = total_variance(x)
    X = x.reshape(n, steps, channels)
    L = 2 * steps
    F = np.fft.rfft(X, L, axis=1)
    sq = (x**2).sum(1)
    lags = [l % L for l in range(-max_lag, max_lag + 1)]
    out = np.empty((n, n))
    for s in range(0, n, 64):
        cc = np.fft.irfft((F[s:s+64, None] * np.conj(F[None])).sum(-1), L, axis=2)[:, :, lags]
        best = cc.max(2)
        out[s:s+64] = (sq[s:s+64, None] + sq[None] - 2 * best) / S2
    return np.maximum(out, 0)


SHAPE_LAG = 0.25
"""vrae's default `shape_lag`."""


def default_shape_d2(entry, every):
    """`shape_d2` of a dataset's shapes `every` at the default `shape_lag`."""
    channels = entry["n_channels"]
    steps = every.shape[1] // channels
    return shape_d2(every, steps, channels, round(SHAPE_LAG * steps))


def latent_d2(z):
    """Every pair's latent distance: squared, on the standardised latents
    scaled to unit total variance (as vrae's graph)."""
    latents = unit_total_variance(spaces(z)["standardized"])
    return ((latents[:, None] - latents[None]) ** 2).sum(-1)


def cut_each(latent_distances, shape_distances, k, seed):
    """The mixture cut of the graph on the latent part plus each of
    `shape_distances` (name -> shape part), by name."""
    out = {}
    for name, shape_distance in shape_distances.items():
        out[name] = mixture_cut(embed_from_dist(latent_distances + shape_distance, k), k, seed)
    return out


def main():
    def candidates_for(entry, every):
        channels = entry["n_channels"]
        steps = every.shape[1] // channels
        shape_distances = {
            f"{round(f * 100)}%": shape_d2(every, steps, channels, round(f * steps)) for f in (0.0, 0.05, 0.1, 0.25)
        }
        return lambda z, k, seed: cut_each(latent_d2(z), shape_distances, k, seed)

    compare_on_halves(sys.argv, __doc__, candidates_for)


if __name__ == "__main__":
    main()
