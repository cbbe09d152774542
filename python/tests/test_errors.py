"""Every bad input gives an exception whose message says what is wrong and
where (function, row, step, option), never a panic or a dead interpreter."""

from __future__ import annotations

import re

import polars as pl
import pytest
from conftest import SMALL

import polars_vrae as vrae


def raises(message: str):
    """Expects a Polars error containing `message` (matched literally)."""
    return pytest.raises(pl.exceptions.PolarsError, match=re.escape(message))


@pytest.mark.parametrize(
    "dtype",
    [pl.List(pl.Int64), pl.Float64, pl.String, pl.List(pl.String), pl.List(pl.List(pl.Int32))],
    ids=str,
)
def test_unsupported_column_types_are_named(dtype: pl.DataType, model: vrae.Model) -> None:
    df = pl.DataFrame({"series": []}, schema={"series": dtype})
    with raises("vrae.embed: unsupported series type"):
        df.select(vrae.embed("series", model))
    with raises("vrae.fit: unsupported series type"):
        df.select(vrae.fit("series", epochs=1))
    with pytest.raises(pl.exceptions.ComputeError, match="unsupported series type"):
        vrae.train(df, "series", epochs=1)


def zero_width(width_of_steps: bool) -> pl.DataFrame:
    """Five series in a zero-width Array: no steps, or no values per step."""
    if width_of_steps:
        return pl.DataFrame({"series": [[[]]] * 5}, schema={"series": pl.List(pl.Array(pl.Float64, 0))})
    return pl.DataFrame({"series": [[]] * 5}, schema={"series": pl.Array(pl.Float64, 0)})


@pytest.mark.parametrize("width_of_steps", [False, True], ids=["no steps", "no values per step"])
def test_zero_width_arrays_are_named_not_a_panic(width_of_steps: bool, model: vrae.Model) -> None:
    # Polars' import of such a column panics; the panic must not cross into
    # Python (a PanicException is no Exception) and the type must be named.
    df = zero_width(width_of_steps)
    with raises("polars_vrae.train: unsupported series type"):
        vrae.train(df, "series", epochs=1)
    with raises("vrae.fit: unsupported series type"):
        df.select(vrae.fit("series", epochs=1))
    with raises("vrae.embed: unsupported series type"):
        df.select(vrae.embed("series", model))
    with raises("polars_vrae.tsne: unsupported series type Array(Float64"):
        vrae.tsne(zero_width(False)["series"])


@pytest.mark.parametrize(
    "values",
    [
        pl.Series("series", [[1.0, 2.0, 3.0]] * 5).cast(pl.List(pl.Float16)),
        pl.Series("series", [[1, 2, 3]] * 5, dtype=pl.List(pl.Decimal(10, 2))),
    ],
    ids=["Float16", "Decimal"],
)
def test_value_types_polars_cannot_hand_over_are_named(values: pl.Series, capfd: pytest.CaptureFixture[str]) -> None:
    with raises("polars_vrae.train: unsupported series type List("):
        vrae.train(values, epochs=1)
    with raises("polars_vrae.tsne: unsupported series type List("):
        vrae.tsne(values)
    # Refused before Polars' export, which would print its panic on stderr.
    assert "panicked" not in capfd.readouterr().err


def test_integer_lists_work_once_cast(frame: pl.DataFrame, model: vrae.Model) -> None:
    ints = frame.with_columns(pl.col("series").list.eval((pl.element() * 10).round().cast(pl.Int64)))
    out = ints.select(vrae.cluster(pl.col("series").cast(pl.List(pl.Float32)), model))
    assert out.height == frame.height


def test_null_values_inside_a_series(frame: pl.DataFrame, model: vrae.Model) -> None:
    bad = frame.with_columns(
        pl.when(pl.col("id") == 4)
        .then(pl.lit([1.0, 2.0, None], dtype=pl.List(pl.Float64)))
        .otherwise(pl.col("series"))
        .alias("series")
    )
    with raises("vrae.score: row 4: null value at step 2 (a series may be null, its values may not)"):
        bad.select(vrae.score("series", model))
    assert bad.select(vrae.score("series", model, on_invalid="null")).to_series().null_count() == 1


def test_multivariate_steps_of_different_widths(multi_frame: pl.DataFrame, multi_model: vrae.Model) -> None:
    nested = multi_frame.with_columns(pl.col("series").cast(pl.List(pl.List(pl.Float64))))
    bad = nested.with_columns(
        pl.when(pl.col("id") == 2)
        .then(pl.lit([[1.0, 2.0], [3.0]], dtype=pl.List(pl.List(pl.Float64))))
        .otherwise(pl.col("series"))
        .alias("series")
    )
    with raises("vrae.embed: row 2: step 1 has 1 values but the series have 2 channels"):
        bad.select(vrae.embed("series", multi_model))
    out = bad.select(vrae.embed("series", multi_model, on_invalid="null")).to_series()
    assert out.is_null().arg_true().to_list() == [2]


def test_channel_count_different_from_the_models(multi_frame: pl.DataFrame, model: vrae.Model) -> None:
    with raises("vrae.embed: the series have 2 channels but the model was trained on 1"):
        multi_frame.select(vrae.embed("series", model))
    nested = multi_frame.with_columns(pl.col("series").cast(pl.List(pl.List(pl.Float64))))
    # Nested lists fix no channel count in their type: the model's is
    # checked step by step, so the message names the first row and step.
    with raises("vrae.embed: row 0: step 0 has 2 values but the series have 1 channels"):
        nested.select(vrae.embed("series", model))


def test_cluster_needs_a_model_trained_with_clusters(frame: pl.DataFrame, plain_model: vrae.Model) -> None:
    with raises("vrae.cluster: this model has no clusters: train it with the option `clusters`"):
        frame.select(vrae.cluster("series", plain_model))


def test_series_longer_than_max_length(frame: pl.DataFrame) -> None:
    short = vrae.train(frame.head(8), "series", max_length=30, **SMALL)
    long = pl.DataFrame({"series": [[0.0] * 10, [float(i % 5) for i in range(31)]]})
    with raises("vrae.embed: row 1: series of 31 steps is longer than max_length = 30"):
        long.select(vrae.embed("series", short))
    assert long.select(vrae.embed("series", short, on_invalid="null")).to_series().null_count() == 1


def test_bad_model_arguments(frame: pl.DataFrame, model: vrae.Model, tmp_path) -> None:
    with pytest.raises(ValueError, match="invalid model"):
        vrae.embed("series", b"\x00" * 64)
    with pytest.raises(FileNotFoundError):
        vrae.embed("series", str(tmp_path / "nope.safetensors"))
    with pytest.raises(TypeError, match="model must be a polars_vrae.Model"):
        vrae.embed("series", 42)  # type: ignore[arg-type]


def test_errors_leave_the_interpreter_usable(frame: pl.DataFrame, model: vrae.Model) -> None:
    for _ in range(3):
        with pytest.raises(pl.exceptions.PolarsError):
            pl.DataFrame({"series": [[1.0, float("nan")]]}).select(vrae.embed("series", model))
    assert frame.select(vrae.embed("series", model)).height == frame.height
