"""The shape part of the graph at a finer resolution than the network's,
offline. `spectral_series` compares the series as the network gets them,
averaged to at most 64 steps (`paa_steps`), so a long series' shape loses
what lies within a window (a QRS complex of a long ECG), which k-means on
the raw values, k-Shape and DTW k-means all keep. Here the latent part
stays as built and the shape part (z-normalised, compared over shifts of
up to 25% of its steps, as the default) is taken from the series averaged
to at most 64 (the default), 128 or 256 steps (fixed before any run), cut
by the mixture as vrae does. Series of at most 64 steps are the same in
every candidate.

    bench/.venv-classic/bin/python bench/quality/shape_resolution.py ../shared/data {selection|confirmation|all} LATENT_DIRS
"""
import sys
from pathlib import Path

from shape_graph import compare_on_halves, shapes_of
from shifted_shapes import cut_each, default_shape_d2, latent_d2

RESOLUTIONS = (64, 128, 256)


def main():
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else None

    def candidates_for(entry, every):
        shape_distances = {}
        for steps in RESOLUTIONS:
            shapes = every if steps == RESOLUTIONS[0] else shapes_of(entry, data, steps)[0]
            shape_distances[f"{steps} steps"] = default_shape_d2(entry, shapes)
        return lambda z, k, seed: cut_each(latent_d2(z), shape_distances, k, seed)

    compare_on_halves(sys.argv, __doc__, candidates_for)


if __name__ == "__main__":
    main()
