"""Embedding through the `datafusion` Python package (datafusion_vrae), to set
against the core API's figure from sql/benches/sql_throughput.rs run in the
same minute on the same build profile; and the peak memory of embedding
with the model passed by name, by path and as bytes.

    PYTHONPATH=python-datafusion python bench/datafusion_python_throughput.py [--copies 4] [--repeats 3]
    PYTHONPATH=python-datafusion python bench/datafusion_python_throughput.py --memory {name,path,bytes,helper_bytes} [--rows 100000] [--batch-size 8192]

Throughput: ECG5000_TEST copied `--copies` times into one Parquet file, a
model with the default architecture trained for one epoch (embedding cost
depends on the architecture only), best of `--repeats`. Memory: one fresh
process per way of passing the model (the peak resident set of the
process, `ru_maxrss`), embedding `--rows` rows.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import datafusion
import pyarrow as pa
import pyarrow.parquet as pq

import datafusion_vrae


def write_copies(data: str, rows: int | None, copies: int, folder: Path) -> tuple[Path, int]:
    one = pq.read_table(data).select(["id", "series"])
    if rows is not None:
        copies = -(-rows // one.num_rows)
    table = pa.concat_tables([one] * copies)
    if rows is not None:
        table = table.slice(0, rows)
    path = folder / "series.parquet"
    pq.write_table(table, path)
    return path, table.num_rows


def train(data: str, folder: Path) -> Path:
    ctx = datafusion.SessionContext()
    datafusion_vrae.register(ctx)
    ctx.register_parquet("train", data)
    model = ctx.sql("SELECT vrae_fit(series, '{\"epochs\": 1}') AS m FROM (SELECT * FROM train LIMIT 512)")
    path = folder / "model.safetensors"
    path.write_bytes(model.to_arrow_table().column("m")[0].as_py())
    return path


def count_rows(df: datafusion.DataFrame) -> int:
    """Runs `df` batch by batch (nothing collected) and counts its rows."""
    return sum(batch.to_pyarrow().num_rows for batch in df.execute_stream())


def embed_rows(ctx: datafusion.SessionContext, query: str) -> int:
    return count_rows(ctx.sql(query))


def throughput(args: argparse.Namespace, folder: Path) -> None:
    model_path = train(args.data, folder)
    series, rows = write_copies(args.data, None, args.copies, folder)
    model = model_path.read_bytes()
    ctx = datafusion.SessionContext()
    vrae = datafusion_vrae.register(ctx, models={"m": model})
    ctx.register_parquet("t", str(series))
    runs = {
        "sql_by_name": lambda: embed_rows(ctx, "SELECT id, vrae_embed(series, 'm') FROM t"),
        "sql_by_path": lambda: embed_rows(ctx, f"SELECT id, vrae_embed(series, '{model_path}') FROM t"),
        "dataframe_by_name": lambda: ctx.table("t").select(datafusion.col("id"), vrae.embed("series", "m")).to_arrow_table().num_rows,
    }
    for name, run in runs.items():
        best = float("inf")
        for _ in range(args.repeats):
            start = time.perf_counter()
            got = run()
            best = min(best, time.perf_counter() - start)
        assert got == rows, (got, rows)
        print(json.dumps({"kind": "embed", "path": name, "rows": rows, "seconds": best, "series_per_s": rows / best}))


def memory(args: argparse.Namespace, folder: Path) -> None:
    model_path = train(args.data, folder)
    series, rows = write_copies(args.data, args.rows, 1, folder)
    model = model_path.read_bytes()
    ctx = datafusion.SessionContext(datafusion.SessionConfig().with_batch_size(args.batch_size))
    vrae = datafusion_vrae.register(ctx, models={"m": model})
    ctx.register_parquet("t", str(series))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    if args.memory == "helper_bytes":
        # The DataFrame helper, given the bytes (it passes them by a name).
        got = count_rows(ctx.table("t").select(datafusion.col("id"), vrae.embed("series", model)))
    else:
        argument = {"name": "'m'", "path": f"'{model_path}'", "bytes": f"X'{model.hex()}'"}[args.memory]
        got = embed_rows(ctx, f"SELECT id, vrae_embed(series, {argument}) FROM t")
    seconds = time.perf_counter() - start
    assert got == rows
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "kind": "memory",
                "model_as": args.memory,
                "batch_size": args.batch_size,
                "rows": rows,
                "model_bytes": len(model),
                "seconds": seconds,
                "peak_rss_mib": peak / 1024,
                "peak_before_query_mib": before / 1024,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="data/ECG5000_TEST.parquet")
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory", choices=["name", "path", "bytes", "helper_bytes"])
    parser.add_argument("--batch-size", type=int, default=8192)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if args.memory:
            memory(args, Path(folder))
        else:
            throughput(args, Path(folder))


if __name__ == "__main__":
    main()
