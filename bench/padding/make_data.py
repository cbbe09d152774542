"""Variable-length datasets and equal-length twins with the same number of
steps, for measuring what padding costs (issue 21):

- VARJV / EQJV: JapaneseVowels (12 channels, 7-29 steps, from the repository's
  UCR/UEA folder) as it is, and every series resampled to the mean length;
- VARECG / EQECG: ECG5000 with each series cut to a random length in
  70..=140 (seeded), and every series cut to the mean of those lengths.

Each twin holds the same rows and (to rounding) the same total steps, so a
rate in series/s that differs between them is the cost of the lengths'
spread. Writes NAME_TRAIN.parquet and NAME_TEST.parquet into OUT_DIR.

    python bench/padding/make_data.py OUT_DIR [UCR_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]


def read(folder: Path, name: str) -> tuple[pa.Table, pa.Table]:
    return tuple(pq.read_table(folder / f"{name}_{split}.parquet") for split in ("TRAIN", "TEST"))


def steps_of(series) -> np.ndarray:
    """One series as an array [steps, channels]."""
    a = np.asarray(series, dtype=np.float64)
    return a[:, None] if a.ndim == 1 else a


def resample(a: np.ndarray, n: int) -> np.ndarray:
    grid = np.linspace(0, len(a) - 1, n)
    return np.stack([np.interp(grid, np.arange(len(a)), a[:, c]) for c in range(a.shape[1])], axis=1)


def write(out: Path, name: str, tables: tuple[pa.Table, pa.Table], rows: list[list[np.ndarray]]) -> None:
    for split, table, series in zip(("TRAIN", "TEST"), tables, rows):
        univariate = all(s.shape[1] == 1 for s in series)
        values = [s[:, 0].tolist() if univariate else s.tolist() for s in series]
        item = pa.float64() if univariate else pa.list_(pa.float64())
        pq.write_table(
            pa.table({"id": table.column("id"), "label": table.column("label"), "series": pa.array(values, type=pa.list_(item))}),
            out / f"{name}_{split}.parquet",
        )


def twins(out: Path, var: str, eq: str, tables, series: list[list[np.ndarray]]) -> None:
    mean = round(np.mean([len(s) for part in series for s in part]))
    write(out, var, tables, series)
    write(out, eq, tables, [[resample(s, mean) for s in part] for part in series])


def main() -> None:
    out = Path(sys.argv[1])
    ucr = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "data" / "ucr"
    out.mkdir(parents=True, exist_ok=True)
    jv = read(ucr, "JapaneseVowels")
    twins(out, "VARJV", "EQJV", jv, [[steps_of(s) for s in t.column("series").to_pylist()] for t in jv])
    ecg = read(ROOT / "data", "ECG5000")
    rng = np.random.default_rng(0)
    cut = [[steps_of(s)[: rng.integers(70, 141)] for s in t.column("series").to_pylist()] for t in ecg]
    twins(out, "VARECG", "EQECG", ecg, cut)


if __name__ == "__main__":
    main()
