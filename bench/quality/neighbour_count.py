"""The graph's neighbour count grown with the rows, offline. vrae's
`spectral_series` graph joins every point to its 10 nearest whatever the
number of rows, so on a set of 30 series each point reaches a third of
them. Spectral clustering's
theory asks for a neighbour count of the order of log n for a connected
graph (von Luxburg 2007, section 8.1). The candidate, fixed before any
run: each point joined to its max(3, round(ln n)) nearest besides itself
(28 rows: 3; 1000 rows: 7; 5000 rows: 9), against 10 with itself (9
besides itself, vrae's), both on the graph the default builds (the latent
part weighed by the fit's reconstruction R², `share_weighted.py`), each
cut by the mixture as vrae does.

    bench/.venv-classic/bin/python bench/quality/neighbour_count.py ../shared/data {selection|confirmation|all} RESULTS.jsonl[,MORE.jsonl] LATENT_DIRS
"""
import math

import numpy as np
from shape_graph import NEIGHBOURS, adjacency_embedding, neighbour_adjacency
from share_weighted import compare_with_shares
from tuned_graph import mixture_cut


def log_neighbours(n):
    """The candidate's neighbour count, the point itself included."""
    return max(3, round(math.log(n))) + 1


def embedding_with(d2, m, neighbours):
    """The graph embedding of the squared distances `d2` with each point
    joined to its `neighbours` nearest (itself included)."""
    idx = np.argsort(d2, axis=1)[:, : min(neighbours, len(d2) - 1)]
    return adjacency_embedding(neighbour_adjacency(idx, np.ones(idx.size)), m)[1]


def main():
    def candidates(latent, shape, share, k, seed, _series):
        d2 = min(1.0, max(1e-6, share)) * latent + shape
        counts = {f"{NEIGHBOURS} (default)": NEIGHBOURS, "max(3, ln n)": log_neighbours(len(d2))}
        return {name: mixture_cut(embedding_with(d2, k, count), k, seed) for name, count in counts.items()}

    compare_with_shares(__doc__, candidates)


if __name__ == "__main__":
    main()
