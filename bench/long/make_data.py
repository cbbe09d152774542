"""Long series for the speed comparison: the first ROWS series of ECG5000
(TRAIN then TEST) resampled by linear interpolation to each length, written
as LONG<n>_TRAIN.parquet (3/4 of the rows) and LONG<n>_TEST.parquet in the
output folder, in the layout of the bundled datasets (id, label, series).

    python bench/long/make_data.py OUT_DIR ROWS LENGTH [LENGTH ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    out, rows, lengths = Path(sys.argv[1]), int(sys.argv[2]), [int(n) for n in sys.argv[3:]]
    source = pa.concat_tables([pq.read_table(ROOT / "data" / f"ECG5000_{s}.parquet") for s in ("TRAIN", "TEST")])
    source = source.slice(0, rows)
    series = [np.asarray(s, dtype=np.float64) for s in source.column("series").to_pylist()]
    out.mkdir(parents=True, exist_ok=True)
    train = rows * 3 // 4
    for n in lengths:
        stretched = [np.interp(np.linspace(0, len(s) - 1, n), np.arange(len(s)), s).tolist() for s in series]
        table = pa.table({
            "id": source.column("id"),
            "label": source.column("label"),
            "series": pa.array(stretched, type=pa.list_(pa.float64())),
        })
        pq.write_table(table.slice(0, train), out / f"LONG{n}_TRAIN.parquet")
        pq.write_table(table.slice(train), out / f"LONG{n}_TEST.parquet")


if __name__ == "__main__":
    main()
