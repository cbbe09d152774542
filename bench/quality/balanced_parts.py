"""The two parts of the `spectral_series` distance weighed as the graph
sees them, offline. Each part is scaled to unit total variance, which makes
both parts' mean pairwise squared distance 2 when shapes are compared step
by step; compared over shifts (`shape_lag`), the shape part is the smallest
distance over the shifts, so it shrinks and the latent part weighs more
than the scaling meant. Candidates, fixed before any run:

- `default`: as vrae builds it (shifts of up to 25% of the steps);
- `mean`: the shape part rescaled so that its mean over all pairs equals
  the latent part's;
- `near`: the same, but matching the two parts' mean distance to each
  point's 10 nearest under that part alone (the pairs the graph is made
  of).

Graph, embedding and mixture cut as `shifted_shapes.py`. Prints NMI per
dataset (mean over the seeds found) and NMI / ARI over the datasets found
and the suite's halves.

    bench/.venv-classic/bin/python bench/quality/balanced_parts.py ../shared/data {selection|confirmation|all} LATENT_DIRS
"""
import sys

import numpy as np

from shape_graph import NEIGHBOURS, compare_on_halves
from shifted_shapes import cut_each, default_shape_d2, latent_d2


def mean_off_diagonal(d2):
    n = len(d2)
    return (d2.sum() - np.trace(d2)) / max(n * (n - 1), 1)


def mean_nearest(d2):
    """Mean squared distance from each point to its nearest others."""
    near = np.sort(d2, axis=1)[:, 1 : min(NEIGHBOURS, len(d2) - 1) + 1]
    return near.mean()


def main():
    def candidates_for(entry, every):
        shape = default_shape_d2(entry, every)

        def candidates(z, k, seed):
            latent = latent_d2(z)
            weighed = {
                "default": shape,
                "mean": shape * (mean_off_diagonal(latent) / max(mean_off_diagonal(shape), 1e-12)),
                "near": shape * (mean_nearest(latent) / max(mean_nearest(shape), 1e-12)),
            }
            return cut_each(latent, weighed, k, seed)

        return candidates

    compare_on_halves(sys.argv, __doc__, candidates_for)


if __name__ == "__main__":
    main()
