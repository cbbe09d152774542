"""The paired runs of `bench/compare.sh` as BENCHMARKS.md's table: one row
per run (time, the steps vrae's network saw, the arithmetic ceiling and
matrix-product peak the speed bench measured, training and embedding
throughput of both implementations and their ratios), then the median
ratio for each `paa_steps` setting. Standard library only.

    python3 bench/compare_table.py out/bench/compare-20261201-18*.jsonl
"""
import json
import os
import statistics
import sys
from collections import defaultdict


def read_run(path):
    """The figures of one compare.sh run, or None if it did not finish."""
    run, implementation = {}, None
    with open(path) as lines:
        for line in lines:
            if not line.startswith("{"):
                continue  # cargo's and the baseline's own output
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # the last line of a run that was stopped
            kind = record.get("kind")
            if kind == "machine":
                run["time"] = record["date"][11:16]
            elif kind == "impl":
                implementation = record["name"]
            elif implementation == "vrae" and kind in ("fma_bound", "peak"):
                run[kind] = record["gflops"]
            elif implementation == "vrae" and kind == "train":
                run["vrae_train"], run["paa_steps"] = record["series_per_s_steady"], record["paa_steps"]
                run["steps"] = record.get("network_steps_mean")
            elif implementation == "vrae" and kind == "embed":
                run["vrae_embed"] = record["series_per_s"]
            elif implementation == "pytorch" and kind == "train":
                run["torch_train"] = record["series_per_s_steady"]
            elif implementation == "pytorch" and kind == "embed_best":
                run["torch_embed"], run["torch_batch"] = record["series_per_s"], record["batch_size"]
    needed = ("time", "vrae_train", "vrae_embed", "torch_train", "torch_embed")
    return run if all(key in run for key in needed) else None


def main():
    missing = [path for path in sys.argv[1:] if not os.path.isfile(path)]
    if missing:
        sys.exit(f"no such file: {', '.join(missing)}")
    runs = [run for run in map(read_run, sys.argv[1:]) if run]
    if not runs:
        sys.exit(__doc__)
    print("| run (UTC) | `paa_steps` | network steps | FMA bound GFLOP/s | gemm peak | vrae train | PyTorch train | ratio | vrae embed | PyTorch embed (best batch) | ratio |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    by_setting = defaultdict(list)
    for run in runs:
        train, embed = run["vrae_train"] / run["torch_train"], run["vrae_embed"] / run["torch_embed"]
        by_setting[run.get("paa_steps")].append((train, embed))
        ceiling = f"{run['fma_bound']:.0f}" if "fma_bound" in run else "-"
        peak = f"{run['peak']:.0f}" if "peak" in run else "-"
        steps = f"{run['steps']:.0f}" if run.get("steps") else "-"
        print(
            f"| {run['time']} | {run.get('paa_steps', '-')} | {steps} | {ceiling} | {peak} | {run['vrae_train']:,.0f} | {run['torch_train']:,.0f} | {train:.2f}x"
            f" | {run['vrae_embed']:,.0f} | {run['torch_embed']:,.0f} ({run['torch_batch']}) | {embed:.2f}x |"
        )
    for setting, ratios in sorted(by_setting.items(), key=lambda item: str(item[0])):
        train = statistics.median(t for t, _ in ratios)
        embed = statistics.median(e for _, e in ratios)
        print(f"\n`paa_steps` {setting}: {len(ratios)} runs, median training {train:.2f}x, median embedding {embed:.2f}x")


if __name__ == "__main__":
    main()
