"""Shapes compared by dynamic time warping, offline: the elastic
alignment DTW k-means has (it leads on the datasets no study looked at,
BENCHMARKS "Datasets no study looked at") where `shape_lag` allows one
rigid shift. The shape part of the graph's distance is the squared DTW
distance of the two z-normalised shapes within a Sakoe-Chiba band, over
the shapes' total variance (as `shifted_shapes.shape_d2`), the latent part
as before. Candidates, fixed before any run: the default (shifts of up to
25%), and bands of 10% and 25% of the steps.

    bench/.venv-classic/bin/python bench/quality/elastic_shapes.py ../shared/data {selection|confirmation|all} LATENT_DIRS
"""
import sys

from tslearn.metrics import cdist_dtw

from shape_graph import compare_on_halves, total_variance
from shifted_shapes import cut_each, default_shape_d2, latent_d2


def dtw_d2(x, steps, channels, band):
    """Every pair's squared DTW distance within `band` steps, over the
    shapes' total variance."""
    d = cdist_dtw(x.reshape(len(x), steps, channels), global_constraint="sakoe_chiba", sakoe_chiba_radius=band)
    return d**2 / total_variance(x)


def main():
    def candidates_for(entry, every):
        channels = entry["n_channels"]
        steps = every.shape[1] // channels
        shapes = {"shift 25%": default_shape_d2(entry, every)}
        for f in (0.1, 0.25):
            shapes[f"dtw {round(f * 100)}%"] = dtw_d2(every, steps, channels, max(1, round(f * steps)))
        return lambda z, k, seed: cut_each(latent_d2(z), shapes, k, seed)

    compare_on_halves(sys.argv, __doc__, candidates_for)


if __name__ == "__main__":
    main()
