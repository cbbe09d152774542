"""One model format across front ends: a model trained in SQL (the
`vrae-sql` shell) is used from Polars, and a model trained in Polars is used
from SQL, with the same results.

Needs the `vrae-sql` binary (`cargo build --release -p vrae-datafusion --features cli --bin
vrae-sql` in the repository root); set VRAE_SQL to its path, or it is looked
up on PATH and in the usual target directories. Skipped without it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest
from conftest import REPO, SMALL

import polars_vrae as vrae


def find_vrae_sql() -> str | None:
    if os.environ.get("VRAE_SQL"):
        return os.environ["VRAE_SQL"]
    on_path = shutil.which("vrae-sql")
    if on_path:
        return on_path
    roots = [REPO / "target", Path(os.environ.get("VRAE_TARGET_DIR", Path.home() / ".cache" / "vrae-target"))]
    for root in roots:
        for profile in ("release", "debug"):
            candidate = root / profile / "vrae-sql"
            if candidate.is_file():
                return str(candidate)
    return None


VRAE_SQL = find_vrae_sql()
pytestmark = pytest.mark.skipif(VRAE_SQL is None, reason="vrae-sql binary not found (set VRAE_SQL)")


def metadata(model: vrae.Model) -> dict[str, str]:
    """The safetensors metadata of a model's bytes."""
    data = model.to_bytes()
    length = int.from_bytes(data[:8], "little")
    return json.loads(data[8 : 8 + length])["__metadata__"]


def sql(*statements: str) -> None:
    assert VRAE_SQL is not None
    args = [VRAE_SQL, "-q"]
    for s in statements:
        args += ["-c", s]
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr + done.stdout


def test_sql_model_in_polars_and_polars_model_in_sql(frame: pl.DataFrame, tmp_path: Path) -> None:
    data = tmp_path / "series.parquet"
    frame.select("id", "series").write_parquet(data)
    options = json.dumps({**SMALL, "clusters": 2})

    # SQL trains; Polars reads the Binary model column and uses it.
    sql_models = tmp_path / "sql_model.parquet"
    sql(f"COPY (SELECT vrae_fit(series, '{options}') AS model FROM '{data}') TO '{sql_models}' STORED AS PARQUET")
    from_sql = vrae.Model(pl.read_parquet(sql_models)["model"].item())
    assert from_sql.summary["rows"] == frame.height and from_sql.clusters == 2

    assert all(from_sql.config[k] == v for k, v in SMALL.items())
    assert frame.select(vrae.embed("series", from_sql)).to_series().null_count() == 0

    in_polars = vrae.train(frame, "series", clusters=2, **SMALL)
    # The same rows and options give the same model in both front ends:
    # equal checksums (which cover everything but the wall-clock times).
    assert metadata(from_sql)["checksum"] == metadata(in_polars)["checksum"]
    assert {k: v for k, v in metadata(from_sql).items() if k != "timing"} == {
        k: v for k, v in metadata(in_polars).items() if k != "timing"
    }

    # Polars' model, saved to a file, clusters the same way in SQL.
    model_file = tmp_path / "polars.safetensors"
    in_polars.save(model_file)
    clusters = tmp_path / "clusters.parquet"
    sql(
        f"COPY (SELECT id, vrae_cluster(series, '{model_file}') AS cluster, "
        f"vrae_score(series, '{model_file}') AS score "
        f"FROM '{data}' ORDER BY id) TO '{clusters}' STORED AS PARQUET"
    )
    got = pl.read_parquet(clusters).sort("id")
    expected = frame.select(
        "id", vrae.cluster("series", in_polars).alias("cluster"), vrae.score("series", in_polars).alias("score")
    )
    assert got["cluster"].cast(pl.Int32).to_list() == expected["cluster"].to_list()
    assert (got["score"] - expected["score"]).abs().max() < 1e-9

    # And the SQL model's clusters in Polars equal SQL's own.
    sql_clusters = tmp_path / "sql_clusters.parquet"
    sql(
        f"COPY (SELECT id, vrae_cluster(series, (SELECT model FROM '{sql_models}')) AS cluster "
        f"FROM '{data}' ORDER BY id) TO '{sql_clusters}' STORED AS PARQUET"
    )
    mine = frame.select(vrae.cluster("series", from_sql)).to_series().to_list()
    assert pl.read_parquet(sql_clusters).sort("id")["cluster"].cast(pl.Int32).to_list() == mine
