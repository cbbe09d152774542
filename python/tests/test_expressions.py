"""The elementwise expressions: every function, eager, lazy and streaming,
every input type, nulls, variable length and multivariate series."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import SMALL, assert_close

import polars_vrae as vrae

FUNCTIONS = [vrae.embed, vrae.cluster, vrae.score, vrae.project, vrae.reconstruct]


def all_outputs(model: vrae.Model, column: str = "series") -> list[pl.Expr]:
    return [
        vrae.embed(column, model).alias("embed"),
        vrae.cluster(column, model).alias("cluster"),
        vrae.score(column, model).alias("score"),
        vrae.project(column, model).alias("project"),
        vrae.reconstruct(column, model).alias("reconstruct"),
    ]


def test_output_types_and_shapes(frame: pl.DataFrame, model: vrae.Model) -> None:
    out = frame.select(all_outputs(model))
    assert out.schema == pl.Schema(
        {
            "embed": pl.Array(pl.Float32, 4),
            "cluster": pl.Int32,
            "score": pl.Float64,
            "project": pl.Array(pl.Float32, 2),
            "reconstruct": pl.List(pl.Float32),
        }
    )
    assert out.height == frame.height and out.null_count().sum_horizontal().item() == 0
    assert set(out["cluster"].unique().to_list()) <= {0, 1}
    assert (out["score"] >= 0).all()
    assert out["reconstruct"].list.len().to_list() == frame["series"].list.len().to_list()


def test_output_keeps_the_input_name(frame: pl.DataFrame, model: vrae.Model) -> None:
    assert frame.select(vrae.cluster("series", model)).columns == ["series"]


def test_namespace_is_the_same_as_the_functions(frame: pl.DataFrame, model: vrae.Model) -> None:
    ns = frame.select(
        pl.col("series").vrae.embed(model).alias("embed"),
        pl.col("series").vrae.cluster(model).alias("cluster"),
        pl.col("series").vrae.score(model).alias("score"),
        pl.col("series").vrae.project(model).alias("project"),
        pl.col("series").vrae.reconstruct(model).alias("reconstruct"),
    )
    assert ns.equals(frame.select(all_outputs(model)))


def test_lazy_and_streaming_give_the_eager_result(frame: pl.DataFrame, model: vrae.Model) -> None:
    eager = frame.with_columns(all_outputs(model))
    lazy = frame.lazy().with_columns(all_outputs(model))
    assert_close(lazy.collect(), eager)
    assert_close(lazy.collect(engine="streaming"), eager)
    # Filters and projections around the plugin keep working.
    sub = frame.lazy().filter(pl.col("id") >= 10).select("id", vrae.score("series", model).alias("s")).collect()
    assert_close(sub, eager.filter(pl.col("id") >= 10).select("id", pl.col("score").alias("s")))


def test_the_model_may_be_a_model_bytes_or_a_path(frame: pl.DataFrame, model: vrae.Model, tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    model.save(path)
    expected = frame.select(vrae.embed("series", model))
    for m in (model.to_bytes(), bytearray(model.to_bytes()), str(path), path):
        assert frame.select(vrae.embed("series", m)).equals(expected)


def test_float32_float64_and_array_columns_agree(frame: pl.DataFrame, model: vrae.Model) -> None:
    expected = frame.select(vrae.embed("series", model)).to_series().to_numpy()
    for dtype in (pl.List(pl.Float32), pl.Array(pl.Float64, 24), pl.Array(pl.Float32, 24)):
        got = frame.select(vrae.embed(pl.col("series").cast(dtype), model)).to_series().to_numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_null_series_give_nulls_and_leave_other_rows_alone(frame: pl.DataFrame, model: vrae.Model) -> None:
    holes = frame.with_columns(
        pl.when(pl.col("id").is_in([0, 7, 63])).then(None).otherwise(pl.col("series")).alias("series")
    )
    out = holes.select(all_outputs(model))
    full = frame.select(all_outputs(model))
    keep = ~frame["id"].is_in([0, 7, 63])
    for name in out.columns:
        assert out[name].is_null().arg_true().to_list() == [0, 7, 63], name
        assert_close(out.filter(keep).select(name), full.filter(keep).select(name))


def test_all_null_and_empty_columns(model: vrae.Model) -> None:
    nulls = pl.DataFrame({"series": [None, None]}, schema={"series": pl.List(pl.Float64)})
    out = nulls.select(all_outputs(model))
    assert out.height == 2 and all(out[c].null_count() == 2 for c in out.columns)
    empty = nulls.head(0).select(all_outputs(model))
    assert empty.height == 0 and empty.schema["embed"] == pl.Array(pl.Float32, 4)


def test_variable_length_series_are_each_used_at_their_own_length(
    variable_frame: pl.DataFrame, model: vrae.Model
) -> None:
    out = variable_frame.select(all_outputs(model))
    assert out["reconstruct"].list.len().to_list() == variable_frame["series"].list.len().to_list()
    # A row's result does not depend on the other rows of the batch.
    alone = variable_frame.slice(5, 1).select(vrae.embed("series", model)).to_series().to_numpy()
    np.testing.assert_allclose(alone[0], out["embed"].to_numpy()[5], rtol=1e-5, atol=1e-6)


def test_chunked_and_sliced_columns(frame: pl.DataFrame, model: vrae.Model) -> None:
    expected = frame.select(all_outputs(model))
    chunked = pl.concat([frame.slice(0, 20), frame.slice(20, 30), frame.slice(50)], rechunk=False)
    assert chunked["series"].n_chunks() == 3
    assert_close(chunked.select(all_outputs(model)), expected)
    sliced = frame.slice(13, 17)
    assert_close(sliced.select(all_outputs(model)), expected.slice(13, 17))


def test_reconstruction_is_in_the_input_units(frame: pl.DataFrame) -> None:
    # Per-series z-scores: a series shifted and stretched after training
    # still comes back in its own units (`global` scaling would apply the
    # training data's statistics instead).
    model = vrae.train(frame, "series", scaling="zscore", **SMALL)
    shifted = frame.with_columns((pl.col("series").list.eval(pl.element() * 10 + 100)).alias("series"))
    rec = shifted.select(vrae.reconstruct("series", model)).to_series()
    means = rec.list.mean().to_numpy()
    np.testing.assert_allclose(means, 100.0, atol=10.0)


def test_multivariate_fixed_and_nested_lists_agree(multi_frame: pl.DataFrame, multi_model: vrae.Model) -> None:
    nested = multi_frame.with_columns(pl.col("series").cast(pl.List(pl.List(pl.Float64))))
    fixed_out = multi_frame.select(all_outputs(multi_model))
    nested_out = nested.select(all_outputs(multi_model))
    assert fixed_out.schema["reconstruct"] == pl.List(pl.Array(pl.Float32, 2))
    assert nested_out.schema["reconstruct"] == pl.List(pl.Array(pl.Float32, 2))
    assert nested_out.equals(fixed_out)
    steps = fixed_out["reconstruct"].list.len().to_list()
    assert steps == multi_frame["series"].list.len().to_list()
    assert multi_model.channels == 2


def test_multivariate_all_null_rows_give_null_results_of_the_declared_type(
    multi_frame: pl.DataFrame, multi_model: vrae.Model
) -> None:
    nulls = multi_frame.head(3).with_columns(pl.lit(None, dtype=multi_frame.schema["series"]).alias("series"))
    out = nulls.select(all_outputs(multi_model))
    assert out.schema["reconstruct"] == pl.List(pl.Array(pl.Float32, 2))
    assert out.null_count().row(0) == (3,) * out.width


def test_multivariate_training_from_nested_lists(multi_frame: pl.DataFrame, multi_model: vrae.Model) -> None:
    nested = multi_frame.with_columns(pl.col("series").cast(pl.List(pl.List(pl.Float64))))
    again = vrae.train(nested, "series", clusters=2, **SMALL)
    assert again.channels == 2
    a = multi_frame.select(vrae.embed("series", again)).to_series()
    b = multi_frame.select(vrae.embed("series", multi_model)).to_series()
    assert a.equals(b)


def test_sink_parquet_streams_through_the_plugin(frame: pl.DataFrame, model: vrae.Model, tmp_path: Path) -> None:
    source, target = tmp_path / "in.parquet", tmp_path / "out.parquet"
    big = pl.concat([frame.with_columns(pl.col("id") + 64 * k) for k in range(20)])
    big.write_parquet(source, row_group_size=100)
    (
        pl.scan_parquet(source)
        .with_columns(cluster=vrae.cluster("series", model), score=pl.col("series").vrae.score(model))
        .sink_parquet(target)
    )
    got = pl.read_parquet(target).sort("id")
    expected = big.with_columns(cluster=vrae.cluster("series", model), score=vrae.score("series", model)).sort("id")
    assert_close(got.select("id", "cluster", "score"), expected.select("id", "cluster", "score"))


def test_group_wise_use_inside_over_and_agg(frame: pl.DataFrame, model: vrae.Model) -> None:
    per_label = frame.group_by("label", maintain_order=True).agg(vrae.cluster("series", model).alias("c"))
    flat = frame.select("label", vrae.cluster("series", model).alias("c"))
    for label, ids in per_label.iter_rows():
        assert ids == flat.filter(pl.col("label") == label)["c"].to_list()


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
def test_every_function_names_itself_and_the_row_in_errors(function, frame: pl.DataFrame, model: vrae.Model) -> None:
    bad = frame.with_columns(
        pl.when(pl.col("id") == 9)
        .then(pl.lit([1.0, float("inf")], dtype=pl.List(pl.Float64)))
        .otherwise(pl.col("series"))
        .alias("series")
    )
    with pytest.raises(
        pl.exceptions.ComputeError, match=rf"vrae\.{function.__name__}: row 9: non-finite value inf at step 1"
    ):
        bad.select(function("series", model))
    out = bad.select(function("series", model, on_invalid="null")).to_series()
    assert out.is_null().arg_true().to_list() == [9]
