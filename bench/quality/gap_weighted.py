"""The shape part's weight in the graph chosen per dataset from the graph
itself, offline: of the weights 0.5, 1 and 2 (fixed before any run), the
one whose 10-neighbour graph has the largest eigengap after the k-th
eigenvalue of its normalised adjacency (the k-cluster structure it makes
cleanest, labels unseen), cut by the mixture as vrae does. Against the
default (weight 1) and each fixed weight. Shapes compared over shifts of
up to 25%, as the default.

    bench/.venv-classic/bin/python bench/quality/gap_weighted.py ../shared/data {selection|confirmation|all} LATENT_DIRS
"""
import sys

from shape_graph import compare_on_halves
from shifted_shapes import default_shape_d2, graph_spectrum, latent_d2
from tuned_graph import mixture_cut

WEIGHTS = (0.5, 1.0, 2.0)


def embedding_and_gap(d2, k):
    """The graph's k-vector embedding and the gap after its k-th eigenvalue."""
    values, e = graph_spectrum(d2, k + 1)
    return e[:, :k], values[k - 1] - values[k]


def main():
    def candidates_for(entry, every):
        shape = default_shape_d2(entry, every)

        def candidates(z, k, seed):
            latent = latent_d2(z)
            out, gaps = {}, {}
            for w in WEIGHTS:
                e, gaps[w] = embedding_and_gap(latent + w * shape, k)
                out[f"w {w}"] = mixture_cut(e, k, seed)
            out["by eigengap"] = out[f"w {max(gaps, key=gaps.get)}"]
            return out

        return candidates

    compare_on_halves(sys.argv, __doc__, candidates_for)


if __name__ == "__main__":
    main()
