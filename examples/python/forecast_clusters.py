"""Forecast items in clustered groups: cluster appliances by the shape of
their power history with polars-vrae, forecast each cluster's aggregate, and
share the forecast back to its items.

Dataset: ACSF1 from the quality suite's collection (``data/ucr/ACSF1_TRAIN.parquet``
and ``ACSF1_TEST.parquet``, written by ``bash scripts/fetch-data.sh``; see
data/README.md):
power consumption of 200 home appliances of 10 types (UCR Time Series
Archive, via aeon 1.6.0), one series of 1460 readings per appliance,
z-normalised per series as published. Both splits are used (the labels only
describe the clusters). The raw readings repeat a strong 4-step pattern
whose phase differs between appliances, so the series are first averaged
over blocks of 4 readings (365 blocks per appliance); everything below is on
those block means.

Method, the same for every contender:

* hold out the final ``--horizon`` blocks (default 25, i.e. 100 readings);
* forecast with simple exponential smoothing (SES): level
  ``l_t = a * y_t + (1 - a) * l_{t-1}``, flat forecast ``l_T`` for every
  future step, ``a`` picked from 0.05..0.95 by the one-step-ahead squared
  error on the history;
* **per item**: SES on each appliance's own history;
* **one pool**: SES on the mean of all z-scored histories (each item
  z-scored with its own history's mean and standard deviation), shared back
  to every item as ``mean_i + std_i * forecast``;
* **vrae clusters**: the same, per cluster, with clusters from a VRAE trained
  on the histories (``clusters=--clusters``, ``scaling="zscore"``: per-series
  z-scoring, so clusters group by shape, not level).

Errors are on the held-out blocks, in the data's units: MAE and sMAPE
(``2|y - f| / (|y| + |f|)``, averaged; in [0, 2]).

Pooled forecasts pay off when items share a clock and a common movement
(shops of one market, feeders of one grid). ACSF1's rows are separate
recordings on no common calendar, so all a group shares is the shape of its
history:
a hard case for pooling (with these settings the per-item level is hard to
beat), and the printout says which method wins. Run:

    python examples/python/forecast_clusters.py [--clusters 6] [--epochs 30] [--horizon 25] [--data DIR]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import polars as pl

import polars_vrae as vrae

REPO = Path(__file__).resolve().parents[2]
ALPHAS = np.linspace(0.05, 0.95, 19)


def ses_forecast(y: np.ndarray) -> np.ndarray:
    """SES level at the end of every row of ``y`` (rows: series, columns:
    steps), each row with the alpha that minimises its one-step-ahead
    squared error. The level is the flat forecast for every horizon."""
    rows = y.shape[0]
    level = np.repeat(y[:, :1], len(ALPHAS), axis=1)  # [rows, alphas]
    sse = np.zeros((rows, len(ALPHAS)))
    for t in range(1, y.shape[1]):
        value = y[:, t : t + 1]
        sse += (value - level) ** 2
        level = ALPHAS * value + (1.0 - ALPHAS) * level
    best = sse.argmin(axis=1)
    return level[np.arange(rows), best]


def pooled_forecast(z: np.ndarray, groups: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Per group: SES on the mean z-scored history, rescaled to each item."""
    out = np.empty(len(groups))
    for g in np.unique(groups):
        members = groups == g
        level = ses_forecast(z[members].mean(axis=0, keepdims=True))[0]
        out[members] = mean[members] + std[members] * level
    return out


def errors(future: np.ndarray, forecast: np.ndarray) -> tuple[float, float]:
    """MAE and sMAPE of flat forecasts (one per row) against ``future``."""
    f = forecast[:, None]
    mae = float(np.abs(future - f).mean())
    denominator = np.abs(future) + np.abs(f)
    ratio = np.divide(2.0 * np.abs(future - f), denominator, out=np.zeros_like(future), where=denominator > 0)
    return mae, float(ratio.mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO / "data" / "ucr")
    parser.add_argument("--clusters", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--horizon", type=int, default=25, help="held-out blocks of 4 readings")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    if not (args.data / "ACSF1_TRAIN.parquet").is_file():
        parser.error(f"no ACSF1_TRAIN.parquet in {args.data}: run `bash scripts/fetch-data.sh {args.data}` first")
    items = pl.concat([pl.read_parquet(args.data / f"ACSF1_{split}.parquet") for split in ("TRAIN", "TEST")])
    items = items.with_row_index("item")
    raw = np.stack(items["series"].to_numpy())  # [200, 1460]
    blocks = raw.reshape(raw.shape[0], -1, 4).mean(axis=2)
    history, future = blocks[:, : -args.horizon], blocks[:, -args.horizon :]
    mean, std = history.mean(axis=1), np.maximum(history.std(axis=1), 1e-6)
    z = (history - mean[:, None]) / std[:, None]
    print(f"ACSF1: {len(items)} appliances, {history.shape[1]} blocks of history, {args.horizon} held out")

    frame = items.select("item", "label", pl.Series("history", history.astype(np.float32)))
    started = time.perf_counter()
    model = vrae.train(
        frame,
        "history",
        clusters=args.clusters,
        epochs=args.epochs,
        hidden_size=64,
        latent=16,
        # Shape, not level: the pooled forecast is shared back through each
        # item's own mean and standard deviation.
        scaling="zscore",
        seed=args.seed,
        verbose=True,
    )
    print(f"VRAE trained in {time.perf_counter() - started:.1f}s")
    frame = frame.with_columns(cluster=vrae.cluster("history", model))
    print(
        frame.group_by("cluster")
        .agg(pl.len().alias("items"), pl.col("label").unique().sort().str.join(",").alias("appliance types"))
        .sort("cluster")
    )
    clusters = frame["cluster"].to_numpy()

    results = {
        "per item (SES)": ses_forecast(history),
        "one pool (SES)": pooled_forecast(z, np.zeros(len(items), dtype=np.int64), mean, std),
        f"vrae clusters, k={args.clusters} (SES)": pooled_forecast(z, clusters, mean, std),
    }
    table = pl.DataFrame(
        [(name, *errors(future, forecast)) for name, forecast in results.items()],
        schema=["method", "MAE", "sMAPE"],
        orient="row",
    )
    with pl.Config(fmt_str_lengths=40, float_precision=4):
        print(table)


if __name__ == "__main__":
    main()
