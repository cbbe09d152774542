"""Embedding throughput through the Polars plugin, to set against the core
API's figure from sql/benches/sql_throughput.rs run in the same minute on the
same build profile.

    python/.venv/bin/python bench/polars_throughput.py [--copies 4] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import time

import polars as pl

import polars_vrae as vrae


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="data/ECG5000_TEST.parquet")
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    one = pl.read_parquet(args.data)
    df = pl.concat([one] * args.copies, rechunk=True)
    # The default architecture; one epoch, since embedding cost does not depend on training.
    model = vrae.train(one.head(512), "series", epochs=1)
    for name, run in {
        "polars_eager": lambda: df.select(vrae.embed("series", model)),
        "polars_lazy_streaming": lambda: df.lazy().select(vrae.embed("series", model)).collect(engine="streaming"),
    }.items():
        best = float("inf")
        for _ in range(args.repeats):
            start = time.perf_counter()
            out = run()
            best = min(best, time.perf_counter() - start)
        assert out.height == df.height
        print(json.dumps({"kind": "embed", "path": name, "rows": df.height, "seconds": best, "series_per_s": df.height / best}))


if __name__ == "__main__":
    main()
