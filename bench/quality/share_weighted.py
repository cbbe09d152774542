"""The latent part of the graph weighed by how much of the series the
model reconstructs, offline. Each part of the `spectral_series` distance
is scaled to unit total variance, so a latent that holds little of the
series (a model that underfits, "Why the defaults lose on long series")
counts as much as the shapes. Here the latent part is multiplied by the
fit's reconstruction share (R², `reconstruction_share` in the runner's
output: the share of the series' spread around the mean series that the
reconstructions explain), clamped to [0, 1]; the shape part (shifts of up
to 25%) keeps weight 1. Fixed before any run. Against the default (both
parts weight 1), and, as a control added after the first runs, the shapes
alone (latent weight 0 everywhere), each cut by the mixture as vrae does.

    bench/.venv-classic/bin/python bench/quality/share_weighted.py ../shared/data {selection|confirmation|all} RESULTS.jsonl[,MORE.jsonl] LATENT_DIRS
"""
import json
import sys

from shape_graph import compare_on_halves
from shifted_shapes import default_shape_d2, embed_from_dist, latent_d2
from tuned_graph import mixture_cut


def shares_of(paths):
    """Each fit's reconstruction share by (dataset, seed), from the quality
    runner's JSON lines."""
    shares = {}
    for path in paths.split(","):
        with open(path) as lines:
            for line in lines:
                fit = json.loads(line)
                if "reconstruction_share" in fit:
                    shares[fit["dataset"], fit["seed"]] = fit["reconstruction_share"]
    return shares


def compare_with_shares(doc, cut_candidates):
    """Runs `cut_candidates(latent_d2, shape_d2, share, k, seed, series)`
    (name -> labels) for every kept fit of the half the command line names,
    with each fit's reconstruction share from the runner's JSON lines
    (argv[3]), the shape part at the default `shape_lag`, and `series` the
    dataset's shapes and channel count; exits with `doc` on bad arguments."""
    if len(sys.argv) < 5:
        sys.exit(doc)
    shares = shares_of(sys.argv[3])
    argv = sys.argv[:3] + sys.argv[4:]

    def candidates_for(entry, every):
        shape = default_shape_d2(entry, every)
        series = (every, entry["n_channels"])
        return lambda z, k, seed: cut_candidates(latent_d2(z), shape, shares[entry["name"], seed], k, seed, series)

    compare_on_halves(argv, doc, candidates_for)


def main():
    def candidates(latent, shape, share, k, seed, _series):
        weight = min(1.0, max(0.0, share))
        graphs = {
            "weight 1 (default)": latent + shape,
            "latent weighed by R²": weight * latent + shape,
            "shapes alone (control)": shape,
        }
        return {name: mixture_cut(embed_from_dist(d2, k), k, seed) for name, d2 in graphs.items()}

    compare_with_shares(__doc__, candidates)


if __name__ == "__main__":
    main()
