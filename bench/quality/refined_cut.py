"""The graph's cut refined as a clustering of the shapes themselves,
offline. DTW k-means is the one method ahead on the datasets no study
looked at, and it leads there as a clustering of its own (k-means with
DBA averages), not as a distance inside vrae's graph (`elastic_shapes.py`).
So here vrae's cut is kept as the start and the shapes (as the graph
compares them: averaged to at most 64 steps, z-normalised) are clustered
from it:

- `DTW k-means from the cut`: each cluster's DBA average as the starting
  centre, then DTW k-means with the suite's own settings (Sakoe-Chiba band
  of 5% of the steps, 5 rounds of 5 barycentre updates; `classic.py`);
- `k-means from the cut`: each cluster's mean shape as the starting centre,
  then Euclidean k-means on the shapes;
- `k-Shape from the cut`: each cluster's mean shape as the starting centre,
  then k-Shape (shift-invariant, as the graph's shape part; the suite's 30
  rounds). Added after the first two had lost the shifts (ECGFiveDays,
  CBF, BME), to tell whether keeping them is enough.

The first two were fixed before any run. Against the cut itself (the default: the graph on
the latents and the shapes shifted up to 25%, cut by the mixture).

    bench/.venv-classic/bin/python bench/quality/refined_cut.py ../shared/data {selection|confirmation|all} LATENT_DIRS
"""
import sys

import numpy as np
from classic import DTW_BAND, DTW_BARYCENTER_ITER, DTW_MAX_ITER, KSHAPE_MAX_ITER
from shape_graph import compare_on_halves
from shifted_shapes import cut_each, default_shape_d2, latent_d2
from sklearn.cluster import KMeans
from tslearn.barycenters import dtw_barycenter_averaging
from tslearn.clustering import KShape, TimeSeriesKMeans


def from_cut(labels, k):
    """The cut's labels as 0..k-1 with every cluster present (an empty one
    takes no start)."""
    present = np.unique(labels)
    return np.searchsorted(present, labels), len(present)


def main():
    def candidates_for(entry, every):
        channels = entry["n_channels"]
        steps = every.shape[1] // channels
        series = every.reshape(len(every), steps, channels)
        shape = default_shape_d2(entry, every)
        radius = max(1, int(round(DTW_BAND * steps)))
        band = {"global_constraint": "sakoe_chiba", "sakoe_chiba_radius": radius}

        def candidates(z, k, seed):
            cut = cut_each(latent_d2(z), {"cut": shape}, k, seed)["cut"]
            labels, m = from_cut(cut, k)
            dba = np.stack([
                dtw_barycenter_averaging(series[labels == c], max_iter=DTW_BARYCENTER_ITER, metric_params=band)
                for c in range(m)
            ])
            dtw = TimeSeriesKMeans(
                m, metric="dtw", max_iter=DTW_MAX_ITER, max_iter_barycenter=DTW_BARYCENTER_ITER,
                metric_params=band, init=dba, random_state=seed,
            ).fit_predict(series)
            means = np.stack([every[labels == c].mean(0) for c in range(m)])
            euclid = KMeans(m, init=means, n_init=1).fit_predict(every)
            starts = means.reshape(m, steps, channels)
            shifted = KShape(m, max_iter=KSHAPE_MAX_ITER, init=starts, random_state=seed).fit_predict(series)
            return {
                "the cut (default)": cut,
                "DTW k-means from the cut": dtw,
                "k-means from the cut": euclid,
                "k-Shape from the cut": shifted,
            }

        return candidates

    compare_on_halves(sys.argv, __doc__, candidates_for)


if __name__ == "__main__":
    main()
