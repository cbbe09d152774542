"""The classic half of the quality benchmark (bench/quality/run.sh runs both
halves and writes the table): k-means on the raw series (scikit-learn,
Euclidean), k-Shape and DTW k-means (tslearn) on the same datasets, rows and
k as vrae's half (bench/quality/vrae_suite.rs). One JSON line per dataset,
method and seed; a method that cannot take a dataset says why in a `skipped`
line instead of leaving it out.

    python bench/quality/classic.py --data DIR [--datasets A,B] [--seeds 0,1,2]
        [--max-rows 1000] [--max-steps 75000] [--methods kmeans_raw,kshape,dtw_kmeans]
        [--cpu-budget 150]

A fit that uses more than --cpu-budget CPU seconds is stopped, and the
method is reported as over budget on that dataset (its other seeds are not
run): DTW k-means costs rows x classes x length^2, so a few datasets
(PigCVP: 52 classes of 2000 steps) would otherwise take most of the hour.
"""

import argparse
import json
import os
import signal
import sys
import time
import warnings

import numpy as np
import pyarrow.parquet as pq
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_score
from tslearn.clustering import KShape, TimeSeriesKMeans
from tslearn.preprocessing import TimeSeriesScalerMeanVariance
from tslearn.utils import to_time_series_dataset

# Same defaults as DEFAULT_MAX_ROWS and DEFAULT_MAX_STEPS in bench/quality/suite.rs.
DEFAULT_MAX_ROWS = 1000
DEFAULT_MAX_STEPS = 75_000
METHODS = ("kmeans_raw", "kshape", "dtw_kmeans", "kmeans_raw_auto")
# kmeans_raw_auto: k-means on the raw values for every k in 2..=CLUSTERS_MAX,
# the k with the best mean silhouette kept: the criterion of vrae's
# `clusters: "auto"`, on the raw values (bench/quality/autok.sh).
CLUSTERS_MAX = int(os.environ.get("VRAE_CLUSTERS_MAX", "10"))
SILHOUETTE_SAMPLE = 2000
# Settings that keep the whole suite inside its hour on 2 cores. DTW k-means:
# a Sakoe-Chiba band of 5% of the length, 5 k-means rounds of 5 barycentre
# (DBA) rounds each. k-Shape: at most 30 rounds (tslearn's default is 100).
DTW_BAND = 0.05
DTW_MAX_ITER = 5
DTW_BARYCENTER_ITER = 5
KSHAPE_MAX_ITER = 30
DEFAULT_CPU_BUDGET = 150.0


class OverBudget(Exception):
    """A fit used more CPU time than --cpu-budget allows."""


_budget_spent = False


def _over_budget(signum, frame):
    global _budget_spent
    _budget_spent = True
    raise OverBudget()


def fit_within(budget, fit):
    """Runs `fit()` with a CPU-time limit (ITIMER_PROF counts this process's
    user and system time, so a busy machine does not shorten it). The signal
    is handled between Python bytecodes, so a long compiled call can overrun
    the budget until it returns."""
    global _budget_spent
    if budget <= 0:
        return fit()
    _budget_spent = False
    previous = signal.signal(signal.SIGPROF, _over_budget)
    signal.setitimer(signal.ITIMER_PROF, budget)
    try:
        result = fit()
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
    # The exception can be swallowed by a library callback (numba's compiler
    # ignores exceptions raised in its ctypes hooks); the flag still counts.
    if _budget_spent:
        raise OverBudget()
    return result


def warm_up(methods):
    """Compiles tslearn's numba kernels on a tiny dataset, so that no fit's
    CPU budget pays for compilation."""
    rng = np.random.default_rng(0)
    tiny = [rng.standard_normal((12, 1)) for _ in range(6)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for method in methods:
            cluster(method, tiny, 2, 0)


def evenly_spaced_rows(rows, longest, classes, max_rows, max_steps):
    """The row subset of suite.rs: all rows, or max(min(max_rows, max_steps //
    longest), 2 * classes) evenly spaced ones."""
    cap = max(1, min(max_rows, max_steps // max(longest, 1)), 2 * classes)
    if rows <= cap:
        return list(range(rows))
    return [i * rows // cap for i in range(cap)]


def read_dataset(folder, entry):
    """Series (list of [steps, channels] arrays) and labels of TRAIN + TEST."""
    series, labels = [], []
    for split in ("TRAIN", "TEST"):
        table = pq.read_table(os.path.join(folder, entry["splits"][split]["file"]))
        labels += [str(l) for l in table.column("label").to_pylist()]
        for row in table.column("series").to_pylist():
            values = np.asarray(row, dtype=np.float64)
            series.append(values.reshape(len(row), -1))
    return series, labels


def why_not(method, multivariate, variable_length):
    """Why a method cannot take a dataset, or None when it can."""
    if method in ("kmeans_raw", "kshape", "kmeans_raw_auto") and variable_length:
        return "variable length: needs equal-length series"
    return None


def cluster(method, series, k, seed):
    """Cluster labels of one method on one dataset."""
    if method == "kmeans_raw":
        flat = np.stack([s.reshape(-1) for s in series])
        return KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(flat)
    if method == "kmeans_raw_auto":
        flat = np.stack([s.reshape(-1) for s in series])
        best = None
        for kk in range(2, min(CLUSTERS_MAX, len(flat) - 1) + 1):
            labels = KMeans(n_clusters=kk, n_init=10, random_state=seed).fit_predict(flat)
            sample = min(SILHOUETTE_SAMPLE, len(flat))
            score = silhouette_score(flat, labels, sample_size=sample, random_state=seed)
            if best is None or score > best[0]:
                best = (score, labels)
        return best[1]
    if method == "kshape":
        data = TimeSeriesScalerMeanVariance().fit_transform(np.stack(series))
        return KShape(n_clusters=k, n_init=1, max_iter=KSHAPE_MAX_ITER, random_state=seed).fit_predict(data)
    if method == "dtw_kmeans":
        data = to_time_series_dataset(series)
        radius = max(1, int(round(DTW_BAND * data.shape[1])))
        model = TimeSeriesKMeans(
            n_clusters=k,
            metric="dtw",
            max_iter=DTW_MAX_ITER,
            max_iter_barycenter=DTW_BARYCENTER_ITER,
            metric_params={"global_constraint": "sakoe_chiba", "sakoe_chiba_radius": radius},
            n_init=1,
            random_state=seed,
        )
        return model.fit_predict(data)
    raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--datasets", help="comma-separated names (default: all of datasets.json)")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--max-rows", type=int, default=DEFAULT_MAX_ROWS)
    parser.add_argument("--max-steps", type=int, default=DEFAULT_MAX_STEPS)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--cpu-budget", type=float, default=DEFAULT_CPU_BUDGET,
                        help="CPU seconds one fit may use (0: no limit)")
    args = parser.parse_args()

    with open(os.path.join(args.data, "datasets.json")) as f:
        manifest = {d["name"]: d for d in json.load(f)["datasets"]}
    names = args.datasets.split(",") if args.datasets else list(manifest)
    unknown = [n for n in names if n not in manifest]
    if unknown:
        sys.exit(f"no dataset {', '.join(unknown)} in the manifest; known: {', '.join(manifest)}")
    methods = args.methods.split(",")
    for m in methods:
        if m not in METHODS:
            sys.exit(f"unknown method {m!r}; known: {', '.join(METHODS)}")
    seeds = [int(s) for s in args.seeds.split(",")]
    warm_up(methods)

    for name in names:
        entry = manifest[name]
        series, labels = read_dataset(args.data, entry)
        keep = evenly_spaced_rows(len(series), max(len(s) for s in series), entry["n_classes"],
                                  args.max_rows, args.max_steps)
        series = [series[i] for i in keep]
        labels = [labels[i] for i in keep]
        k = entry["n_classes"]
        lengths = {len(s) for s in series}
        for method in methods:
            base = {"dataset": name, "method": method, "rows": len(series), "classes": k}
            reason = why_not(method, entry["multivariate"], len(lengths) > 1)
            if reason:
                print(json.dumps({**base, "skipped": reason}), flush=True)
                continue
            for seed in seeds:
                line = {**base, "seed": seed}
                started, cpu_started = time.perf_counter(), time.process_time()
                over = False
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        predicted = fit_within(args.cpu_budget, lambda: cluster(method, series, k, seed))
                    line["nmi"] = normalized_mutual_info_score(labels, predicted)
                    line["k"] = len(set(predicted.tolist()))
                    line["ari"] = adjusted_rand_score(labels, predicted)
                except OverBudget:
                    over = True
                except Exception as e:  # a failure is a result of the suite
                    line["error"] = f"{type(e).__name__}: {e}"
                line["seconds"] = time.perf_counter() - started
                line["cpu_seconds"] = time.process_time() - cpu_started
                if over:
                    line["skipped"] = (f"over the CPU budget ({args.cpu_budget:.0f} s per fit; "
                                       f"seed {seed} stopped after {line['cpu_seconds']:.0f} s)")
                print(json.dumps(line), flush=True)
                if over:
                    break


if __name__ == "__main__":
    main()
