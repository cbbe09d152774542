"""How high the reconstruction R² that `latent_by_reconstruction` weighs by
can read at all: the R² of a perfect reconstruction of the averaged series
(each of the suite's rows averaged over windows of ceil(longest / 64)
steps as vrae averages them, a last short window over the steps it has,
then stretched back to its length), at the input's length against the
mean series, as `vrae::reconstruction_r2` measures it. Below 1 by the
detail that averaging drops; below 0 where the series differ from their
mean by less than that detail. Single-channel datasets of one length.

    bench/.venv-classic/bin/python bench/quality/paa_ceiling.py ../shared/data DATASET[,DATASET...]
"""
import json
import sys
from pathlib import Path

import numpy as np
from shape_graph import DEFAULT_MAX_ROWS, DEFAULT_MAX_STEPS, PAA_STEPS, evenly_spaced_rows, read_dataset


def ceiling_r2(rows):
    """R² of the averaged-then-stretched rows (an array, rows x steps)."""
    steps = rows.shape[1]
    window = max(1, -(-steps // PAA_STEPS))
    stretched = np.concatenate(
        [np.repeat(rows[:, s : s + window].mean(1, keepdims=True), min(window, steps - s), 1) for s in range(0, steps, window)], 1
    )
    spread = ((rows - rows.mean(0)) ** 2).sum()
    return 1 - ((rows - stretched) ** 2).sum() / spread, window


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    data = Path(sys.argv[1])
    entries = {e["name"]: e for e in json.loads((data / "datasets.json").read_text())["datasets"]}
    print("| dataset | rows | steps | window | R² of a perfect reconstruction of the averaged series |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name in sys.argv[2].split(","):
        entry = entries[name]
        if entry["n_channels"] != 1 or entry["variable_length"]:
            print(f"| {name} | | | | - (several channels or lengths) |")
            continue
        series, _ = read_dataset(data, entry)
        keep = evenly_spaced_rows(len(series), entry["length"]["max"], entry["n_classes"], DEFAULT_MAX_ROWS, DEFAULT_MAX_STEPS)
        rows = np.array([np.asarray(series[i], dtype=np.float64).ravel() for i in keep])
        r2, window = ceiling_r2(rows)
        print(f"| {name} | {len(rows)} | {rows.shape[1]} | {window} | {r2:.2f} |")


if __name__ == "__main__":
    main()
