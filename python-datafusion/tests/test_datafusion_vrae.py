"""vrae's functions in the `datafusion` Python package, through DataFusion's
FFI: training and every scalar and table function in SQL and through the
DataFrame helpers, models by name, path and bytes, bad input as Python
exceptions with the SQL functions' messages, and one model format shared
with polars_vrae and vrae-sql.

The cross-front-end tests need polars_vrae (installed by the test command)
and the vrae-sql binary (VRAE_SQL, or the usual target directories); each
is skipped without it.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import datafusion
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datafusion import SessionContext, col

import datafusion_vrae

REPO = Path(__file__).resolve().parents[2]
# Small and fast; the model only has to work, not to be good.
SMALL = {"epochs": 3, "hidden_size": 16, "latent": 4, "batch_size": 16, "seed": 0, "kmeans_restarts": 2}
OPTIONS = json.dumps({**SMALL, "clusters": 2})


def shapes(n: int, seed: int) -> tuple[list[list[float]], list[int]]:
    """``n`` series of 16 to 32 steps alternating between a sine and a
    square wave, with noise; and their shape labels."""
    rng = random.Random(seed)
    rows, labels = [], []
    for i in range(n):
        length = rng.randint(16, 32)
        phase = rng.uniform(0.0, 0.5)
        wave = [math.sin(4.0 * math.pi * s / (length - 1) + phase) for s in range(length)]
        if i % 2:
            wave = [math.copysign(1.0, v) for v in wave]
        rows.append([v + rng.gauss(0.0, 0.05) for v in wave])
        labels.append(i % 2)
    return rows, labels


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Parquet directory of two files: 64 series (`id`, `label`, `series`)."""
    folder = tmp_path_factory.mktemp("series")
    rows, labels = shapes(64, seed=0)
    for part in range(2):
        ids = list(range(part * 32, part * 32 + 32))
        table = pa.table(
            {
                "id": pa.array(ids, pa.int64()),
                "label": pa.array([labels[i] for i in ids], pa.int32()),
                "series": pa.array([rows[i] for i in ids], pa.list_(pa.float64())),
            }
        )
        pq.write_table(table, folder / f"part-{part}.parquet")
    return folder


def context(data: Path, models: dict | None = None) -> tuple[SessionContext, datafusion_vrae.Functions]:
    ctx = SessionContext()
    functions = datafusion_vrae.register(ctx, models=models)
    ctx.register_parquet("t", str(data))
    return ctx, functions


def rows(ctx: SessionContext, query: str) -> list[dict]:
    return ctx.sql(query).to_arrow_table().to_pylist()


@pytest.fixture(scope="module")
def model(data: Path) -> bytes:
    ctx, _ = context(data)
    (row,) = rows(ctx, f"SELECT vrae_fit(series, '{OPTIONS}') AS model FROM t")
    return row["model"]


@pytest.fixture(scope="module")
def model_file(model: bytes, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "model.safetensors"
    path.write_bytes(model)
    return path


def metadata(model: bytes) -> dict[str, str]:
    """The safetensors metadata of a model's bytes."""
    length = int.from_bytes(model[:8], "little")
    return json.loads(model[8 : 8 + length])["__metadata__"]


def without_timing(model: bytes) -> dict[str, str]:
    return {k: v for k, v in metadata(model).items() if k != "timing"}


def all_outputs(ctx: SessionContext, model_sql: str) -> list[dict]:
    return rows(
        ctx,
        f"SELECT id, vrae_embed(series, {model_sql}) AS embedding, vrae_cluster(series, {model_sql}) AS cluster, "
        f"vrae_score(series, {model_sql}) AS score, vrae_project(series, {model_sql}) AS xy, "
        f"vrae_reconstruct(series, {model_sql}) AS decoded FROM t ORDER BY id",
    )


def test_fit_in_sql_trains_the_model_the_options_ask_for(model: bytes) -> None:
    ctx = SessionContext()
    datafusion_vrae.register(ctx)
    (row,) = rows(ctx, f"SELECT vrae_model_info(arrow_cast(X'{model.hex()}', 'Binary')) AS info")
    info = json.loads(row["info"])
    assert info["clusters"] == 2 and info["latent"] == 4 and info["channels"] == 1
    assert info["summary"]["rows"] == 64
    assert all(info["config"][k] == v for k, v in SMALL.items())


def test_named_path_and_bytes_models_give_the_same_results(data: Path, model: bytes, model_file: Path) -> None:
    ctx, _ = context(data, models={"shapes": model})
    by_name = all_outputs(ctx, "'shapes'")
    by_path = all_outputs(ctx, f"'{model_file}'")
    by_bytes = all_outputs(ctx, f"arrow_cast(X'{model.hex()}', 'Binary')")
    assert by_name == by_path == by_bytes
    assert [r["id"] for r in by_name] == list(range(64))
    first = by_name[0]
    assert len(first["embedding"]) == 4 and len(first["xy"]) == 2 and first["cluster"] in (0, 1)
    assert first["score"] > 0 and math.isfinite(first["score"])
    lengths = {r["id"]: len(r["series"]) for r in rows(ctx, "SELECT id, series FROM t")}
    assert all(len(r["decoded"]) == lengths[r["id"]] for r in by_name)
    assert {r["cluster"] for r in by_name} == {0, 1}


def test_group_by_trains_one_model_per_group_as_each_group_alone(data: Path) -> None:
    ctx, _ = context(data)
    grouped = rows(ctx, f"SELECT label, vrae_fit(series, '{OPTIONS}') AS model FROM t GROUP BY label ORDER BY label")
    assert [g["label"] for g in grouped] == [0, 1]
    for g in grouped:
        (alone,) = rows(ctx, f"SELECT vrae_fit(series, '{OPTIONS}') AS model FROM t WHERE label = {g['label']}")
        assert without_timing(g["model"]) == without_timing(alone["model"])
        assert json.loads(metadata(g["model"])["summary"])["rows"] == 32


def test_training_twice_gives_the_same_model(data: Path, model: bytes) -> None:
    ctx, _ = context(data)
    (row,) = rows(ctx, f"SELECT vrae_fit(series, '{OPTIONS}') AS model FROM t")
    assert without_timing(row["model"]) == without_timing(model)


def test_dataframe_helpers_equal_sql(data: Path, model: bytes, model_file: Path) -> None:
    ctx, vrae = context(data, models={"shapes": model})
    sql = all_outputs(ctx, "'shapes'")
    df = ctx.table("t").sort(col("id")).select(
        col("id"),
        vrae.embed(col("series"), "shapes").alias("embedding"),
        vrae.cluster("series", model_file).alias("cluster"),
        vrae.score("series", model).alias("score"),
        vrae.project("series", "shapes").alias("xy"),
        vrae.reconstruct("series", "shapes").alias("decoded"),
    )
    assert df.to_arrow_table().to_pylist() == sql
    # The module-level helpers take paths and bytes (no names).
    plain = ctx.table("t").sort(col("id")).select(datafusion_vrae.cluster("series", model).alias("cluster"))
    assert [r["cluster"] for r in plain.to_arrow_table().to_pylist()] == [r["cluster"] for r in sql]
    info = ctx.table("t").limit(1).select(datafusion_vrae.model_info(model_file).alias("info"))
    assert json.loads(info.to_arrow_table().to_pylist()[0]["info"])["clusters"] == 2
    # vrae.fit is the aggregate, with options as keywords.
    (trained,) = ctx.table("t").aggregate([], [vrae.fit("series", clusters=2, **SMALL).alias("model")]).to_arrow_table().to_pylist()
    assert without_timing(trained["model"]) == without_timing(model)


def test_on_invalid_null_gives_null_rows(model: bytes) -> None:
    ctx = SessionContext()
    vrae = datafusion_vrae.register(ctx, models={"shapes": model})
    series = pa.array([[0.0, 1.0, 0.5], None, [1.0, float("nan")], [], [0.2, 0.4]], pa.list_(pa.float64()))
    ctx.register_record_batches("bad", [[pa.record_batch([series], names=["series"])]])
    got = rows(ctx, "SELECT vrae_cluster(series, 'shapes', '{\"on_invalid\": \"null\"}') AS c FROM bad")
    assert [r["c"] is None for r in got] == [False, True, True, True, False]
    helper = ctx.table("bad").select(vrae.score("series", "shapes", on_invalid="null").alias("s"))
    assert [r["s"] is None for r in helper.to_arrow_table().to_pylist()] == [False, True, True, True, False]


def test_prototypes_table_function(data: Path, model: bytes, model_file: Path) -> None:
    ctx, _ = context(data, models={"shapes": model})
    by_name = rows(ctx, "SELECT cluster, prototype FROM vrae_prototypes('shapes', 10) ORDER BY cluster")
    assert [r["cluster"] for r in by_name] == [0, 1]
    assert all(len(r["prototype"]) == 10 for r in by_name)
    assert rows(ctx, f"SELECT cluster, prototype FROM vrae_prototypes('{model_file}', 10) ORDER BY cluster") == by_name


def test_multivariate_series(tmp_path: Path) -> None:
    rng = random.Random(3)
    series = [[[math.sin(s / 3 + i) + rng.gauss(0, 0.05), math.cos(s / 3 + i)] for s in range(20)] for i in range(24)]
    table = pa.table({"id": list(range(24)), "series": pa.array(series, pa.list_(pa.list_(pa.float32(), 2)))})
    pq.write_table(table, tmp_path / "multi.parquet")
    ctx = SessionContext()
    datafusion_vrae.register(ctx)
    ctx.register_parquet("m", str(tmp_path / "multi.parquet"))
    (row,) = rows(ctx, f"SELECT vrae_fit(series, '{json.dumps(SMALL)}') AS model FROM m")
    out = rows(ctx, f"SELECT vrae_reconstruct(series, arrow_cast(X'{row['model'].hex()}', 'Binary')) AS r FROM m")
    assert len(out) == 24 and all(len(r["r"]) == 20 and all(len(step) == 2 for step in r["r"]) for r in out)


# Bad input: (query, text the error must contain). The messages are the SQL
# functions' own, so they name the function and the problem.
BAD_QUERIES = [
    ("SELECT vrae_cluster(series, 'shapes', '{\"bad\": 1}') FROM t", "vrae_cluster: unknown option `bad`"),
    ("SELECT vrae_embed(series, 'shapes', 'not json') FROM t", "vrae_embed: options are not valid JSON"),
    ("SELECT vrae_score(series, 'no/such/model.safetensors') FROM t", "vrae_score: no/such/model.safetensors"),
    ("SELECT vrae_embed(series, arrow_cast(X'00010203', 'Binary')) FROM t", "vrae_embed: invalid model"),
    ("SELECT vrae_fit(series, '{\"epochs\": -1}') FROM t", "vrae_fit: option `epochs`"),
    ("SELECT vrae_fit(series, '{\"wings\": 2}') FROM t", "vrae_fit: unknown option `wings`"),
    ("SELECT vrae_embed(id, 'shapes') FROM t", "vrae_embed: the series must be a list"),
    ("SELECT vrae_cluster(series, 42) FROM t", "vrae_cluster: the model must be Binary"),
    ("SELECT * FROM vrae_prototypes('shapes', -3)", "vrae_prototypes: steps must be a constant positive integer"),
    # Not a whole number: named with its SQL type, as vrae-sql does (true was run as 1 step).
    ("SELECT * FROM vrae_prototypes('shapes', '3')", "steps must be a constant positive integer, got 3 (Utf8)"),
    ("SELECT * FROM vrae_prototypes('shapes', 2.5)", "steps must be a constant positive integer, got 2.5 (Float64)"),
    ("SELECT * FROM vrae_prototypes('shapes', true)", "steps must be a constant positive integer, got true (Boolean)"),
    ("SELECT * FROM vrae_prototypes('missing.safetensors')", "vrae_prototypes: missing.safetensors"),
    ("SELECT vrae_cluster(s, 'shapes') FROM (SELECT [1.0, 'NaN'::double] AS s)", "vrae_cluster: row 0: non-finite value"),
]


@pytest.mark.parametrize(("query", "message"), BAD_QUERIES)
def test_bad_input_raises_the_sql_message(data: Path, model: bytes, query: str, message: str) -> None:
    ctx, _ = context(data, models={"shapes": model})
    with pytest.raises(Exception) as caught:
        ctx.sql(query).collect()
    assert message in str(caught.value)


def test_bad_python_arguments_are_named() -> None:
    f = datafusion_vrae.Functions()
    with pytest.raises(ValueError, match="vrae_fit: option `learning_rate`: must be a finite number, got nan"):
        f.fit("series", epochs=1, learning_rate=float("nan"))
    with pytest.raises(TypeError, match="vrae_fit: options must be a dict or a JSON string, got int"):
        f.fit("series", 5)
    with pytest.raises(ValueError, match="option `epochs`: given twice"):
        f.fit("series", '{"epochs": 1, "epochs": 7}', seed=3)
    with pytest.raises(ValueError, match="option `epochs`: given twice"):
        f.fit("series", {"epochs": 1}, epochs=7)
    with pytest.raises(ValueError, match="option `latent`: 1000000000000000000000 is out of range"):
        f.fit("series", latent=10**21)
    with pytest.raises(TypeError, match="series must be a column name or an expression, got NoneType"):
        f.embed(None, "model.safetensors")
    with pytest.raises(TypeError, match="models must map names to models"):
        datafusion_vrae.register(SessionContext(), models="x")


def test_numpy_scalars_are_option_values() -> None:
    np = pytest.importorskip("numpy")
    expr = datafusion_vrae.Functions().fit("series", epochs=np.int64(2), learning_rate=np.float32(0.5), clip=np.bool_(False))
    assert '{"epochs": 2, "learning_rate": 0.5, "clip": false}' in str(expr)
    with pytest.raises(ValueError, match="option `learning_rate`: must be a finite number"):
        datafusion_vrae.Functions().fit("series", learning_rate=np.float32("nan"))


def test_bad_registrations_raise() -> None:
    ctx = SessionContext()
    with pytest.raises(ValueError, match="model `broken`: invalid model"):
        datafusion_vrae.register(ctx, models={"broken": b"not a model"})
    with pytest.raises(TypeError, match="model `n`: expected a model file path"):
        datafusion_vrae.register(ctx, models={"n": 3})
    with pytest.raises(ValueError, match="must not be empty"):
        datafusion_vrae.register(ctx, models={"": b"x"})
    with pytest.raises(ValueError, match="model `gone`: /no/such/model.safetensors"):
        datafusion_vrae.register(ctx, models={"gone": Path("/no/such/model.safetensors")})
    # A path goes through vrae's own checks: a device is refused, not read.
    with pytest.raises(ValueError, match="model `zero`: .*regular file"):
        datafusion_vrae.register(ctx, models={"zero": "/dev/zero"})
    with pytest.raises(TypeError, match="model names must be strings, got 7"):
        datafusion_vrae._internal.functions({7: b"x"})
    with pytest.raises(ValueError, match="vrae_fit: options must be a JSON object"):
        datafusion_vrae.fit("series", "[]", epochs=1)
    with pytest.raises(TypeError, match="model must be a registered name"):
        datafusion_vrae.embed("series", 3.5)


def test_other_datafusion_major_is_refused() -> None:
    datafusion_vrae._check_datafusion_version(f"{datafusion_vrae.DATAFUSION_MAJOR}.9.1")
    for other in (f"{datafusion_vrae.DATAFUSION_MAJOR - 1}.0.0", f"{datafusion_vrae.DATAFUSION_MAJOR + 1}.0.0", "dev"):
        with pytest.raises(ImportError, match="only compatible within one major version"):
            datafusion_vrae._check_datafusion_version(other)
    # At import, in a fresh interpreter: an ImportError, not a crash.
    code = "import datafusion; datafusion.__version__ = '54.0.0'; import datafusion_vrae"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1 and "ImportError" in done.stderr and "datafusion 54.0.0" in done.stderr


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


def vrae_sql(*statements: str, ok: bool = True) -> subprocess.CompletedProcess:
    binary = find_vrae_sql()
    if binary is None:
        pytest.skip("vrae-sql binary not found (set VRAE_SQL)")
    args = [binary, "-q"]
    for s in statements:
        args += ["-c", s]
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False)
    if ok:
        assert done.returncode == 0, done.stderr + done.stdout
    return done


def test_same_errors_as_vrae_sql(data: Path, model_file: Path) -> None:
    ctx, _ = context(data)
    for query, message in BAD_QUERIES[:8]:
        query = query.replace("'shapes'", f"'{model_file}'")
        shell = vrae_sql(query.replace("FROM t", f"FROM '{data}'"), ok=False)
        text = shell.stdout + shell.stderr
        assert message in text, text
        # The function's whole message, as the shell prints it, is in the Python exception.
        line = next(line for line in text.splitlines() if message in line)
        whole = line[line.index(message.split(":")[0]) :].strip()
        with pytest.raises(Exception) as caught:
            ctx.sql(query).collect()
        assert whole in str(caught.value)


def test_one_model_format_with_vrae_sql(data: Path, model: bytes, tmp_path: Path) -> None:
    # vrae-sql trains the same model from the same rows and options ...
    out = tmp_path / "sql_model.parquet"
    vrae_sql(f"COPY (SELECT vrae_fit(series, '{OPTIONS}') AS model FROM '{data}') TO '{out}' STORED AS PARQUET")
    from_shell = pq.read_table(out).column("model")[0].as_py()
    assert without_timing(from_shell) == without_timing(model)
    # ... and clusters with this package's model as this package does.
    model_file = tmp_path / "model.safetensors"
    model_file.write_bytes(model)
    clusters = tmp_path / "clusters.parquet"
    vrae_sql(
        f"COPY (SELECT id, vrae_cluster(series, '{model_file}') AS cluster, vrae_score(series, '{model_file}') AS score "
        f"FROM '{data}' ORDER BY id) TO '{clusters}' STORED AS PARQUET"
    )
    ctx, _ = context(data, models={"m": from_shell})
    mine = rows(ctx, "SELECT id, vrae_cluster(series, 'm') AS cluster, vrae_score(series, 'm') AS score FROM t ORDER BY id")
    shell_rows = pq.read_table(clusters).sort_by("id").to_pylist()
    assert [r["cluster"] for r in shell_rows] == [r["cluster"] for r in mine]
    assert max(abs(a["score"] - b["score"]) for a, b in zip(shell_rows, mine)) < 1e-9


def test_one_model_format_with_polars_vrae(data: Path, model: bytes) -> None:
    pl = pytest.importorskip("polars")
    vrae = pytest.importorskip("polars_vrae")
    frame = pl.read_parquet(data).sort("id")
    # Polars trains the same model from the same rows and options ...
    in_polars = vrae.train(frame, "series", clusters=2, **SMALL)
    assert without_timing(in_polars.to_bytes()) == without_timing(model)
    # ... and both use each other's models with the same results.
    ctx, functions = context(data, models={"polars": in_polars})
    here = rows(ctx, "SELECT id, vrae_embed(series, 'polars') AS e, vrae_cluster(series, 'polars') AS c FROM t ORDER BY id")
    there = frame.select("id", vrae.embed("series", vrae.Model(model)).alias("e"), vrae.cluster("series", model).alias("c"))
    assert [r["c"] for r in here] == there["c"].to_list()
    for mine, theirs in zip(here, there["e"].to_list()):
        assert max(abs(a - b) for a, b in zip(mine["e"], theirs)) < 1e-5


def test_a_large_model_given_as_bytes_to_the_helpers_is_not_copied_per_row(tmp_path: Path) -> None:
    # A model over 2 GiB / 8192 rows: copied into each row of a default
    # 8192-row batch, its bytes would overflow a Binary column in
    # DataFusion's FFI layer. The helpers pass it by a name instead.
    rng = random.Random(5)
    series = [[rng.gauss(0, 1) for _ in range(4)] for _ in range(9000)]
    pq.write_table(pa.table({"id": list(range(9000)), "series": pa.array(series, pa.list_(pa.float64()))}), tmp_path / "s.parquet")
    ctx = SessionContext()
    vrae = datafusion_vrae.register(ctx)
    ctx.register_parquet("s", str(tmp_path / "s.parquet"))
    (row,) = rows(ctx, "SELECT vrae_fit(series, '{\"hidden_size\": 200, \"epochs\": 1, \"seed\": 0}') AS m FROM (SELECT * FROM s LIMIT 64)")
    model = row["m"]
    assert len(model) * 8192 > 2**31
    model_file = tmp_path / "big.safetensors"
    model_file.write_bytes(model)
    by_bytes = ctx.table("s").sort(col("id")).select(vrae.score("series", model).alias("score")).to_arrow_table()
    by_path = ctx.table("s").sort(col("id")).select(vrae.score("series", model_file).alias("score")).to_arrow_table()
    assert by_bytes.num_rows == 9000 and by_bytes == by_path


def test_names_mistyped_and_names_over_files(data: Path, model: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx, _ = context(data, models={"shapes": model})
    # A mistyped name says it is neither a file nor a registered name.
    with pytest.raises(Exception, match=r"vrae_cluster: shape \(not a registered model name either: shapes\)"):
        ctx.sql("SELECT vrae_cluster(series, 'shape') FROM t").collect()
    # A registered name wins over a file of the same name in the working directory.
    other, _ = context(data)
    (row,) = rows(other, f"SELECT vrae_fit(series, '{json.dumps({**SMALL, 'latent': 3})}') AS m FROM t")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "shapes").write_bytes(row["m"])
    by_name = rows(ctx, "SELECT vrae_embed(series, 'shapes') AS e FROM t LIMIT 1")
    by_file = rows(other, "SELECT vrae_embed(series, 'shapes') AS e FROM t LIMIT 1")
    assert len(by_name[0]["e"]) == 4 and len(by_file[0]["e"]) == 3
