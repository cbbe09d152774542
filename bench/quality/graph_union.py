"""The latents' graph and the shapes' graph joined as graphs rather than
as distances, offline. `spectral_series` links each series to its 10
nearest in the summed distance (latent part plus shape part), so an edge
needs a series to be near in both. A multi-view graph (the mean of each
view's adjacency, as in Zhou and Burges 2007) keeps each view's own
neighbours instead: a pair near in shape only, or in latent only, is
still linked, and a view with a clear structure is not blurred by the
other. Candidates, fixed before any run: the summed distance's graph (the
default), the mean of the latent graph's and the shape graph's
adjacencies, and the mean of all three. Each is embedded and cut by the
mixture as vrae does; shapes compared over shifts of up to 25%.

    bench/.venv-classic/bin/python bench/quality/graph_union.py ../shared/data {selection|confirmation|all} LATENT_DIRS
"""
import sys

from shape_graph import adjacency_embedding, compare_on_halves
from shifted_shapes import adjacency_of, default_shape_d2, latent_d2
from tuned_graph import mixture_cut


def main():
    def candidates_for(entry, every):
        shape = default_shape_d2(entry, every)

        def candidates(z, k, seed):
            latent = latent_d2(z)
            joined, by_latent, by_shape = (adjacency_of(d2) for d2 in (latent + shape, latent, shape))
            graphs = {
                "summed distance": joined,
                "latent, shape graphs averaged": (by_latent + by_shape) * 0.5,
                "all three averaged": (joined + by_latent + by_shape) / 3.0,
            }
            return {name: mixture_cut(adjacency_embedding(a, k)[1], k, seed) for name, a in graphs.items()}

        return candidates

    compare_on_halves(sys.argv, __doc__, candidates_for)


if __name__ == "__main__":
    main()
