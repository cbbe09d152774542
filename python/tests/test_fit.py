"""`vrae.fit`: the training aggregation, over a whole frame and per group."""

from __future__ import annotations

import polars as pl
import pytest
from conftest import SMALL

import polars_vrae as vrae


def test_fit_over_a_frame_returns_one_binary_model(frame: pl.DataFrame, model: vrae.Model) -> None:
    out = frame.select(vrae.fit("series", clusters=2, **SMALL))
    assert out.schema == pl.Schema({"series": pl.Binary}) and out.height == 1
    fitted = vrae.Model(out.item())
    assert fitted.summary["rows"] == frame.height and fitted.clusters == 2
    # The same training as `train`: the same model, up to the recorded time.
    a = frame.select(vrae.embed("series", fitted)).to_series()
    b = frame.select(vrae.embed("series", model)).to_series()
    assert a.equals(b)


def test_fit_lazy_and_as_a_namespace(frame: pl.DataFrame) -> None:
    out = frame.lazy().select(pl.col("series").vrae.fit(**SMALL).alias("model")).collect()
    assert out.schema == pl.Schema({"model": pl.Binary})
    assert vrae.Model(out.item()).clusters is None


def test_one_model_per_group(frame: pl.DataFrame) -> None:
    models = (
        frame.with_columns(site=pl.col("id") % 3)
        .group_by("site", maintain_order=True)
        .agg(vrae.fit("series", **SMALL).alias("model"), pl.len().alias("rows"))
    )
    assert models.schema["model"] == pl.Binary and models.height == 3
    for site, model, rows in models.iter_rows():
        m = vrae.Model(model)
        assert m.summary["rows"] == rows, site
    # Each group's model applies to that group's series.
    joined = frame.with_columns(site=pl.col("id") % 3).join(models.select("site", "model"), on="site")
    for site, model in models.select("site", "model").iter_rows():
        part = joined.filter(pl.col("site") == site)
        assert part.select(vrae.embed("series", model)).to_series().null_count() == 0


def test_a_group_without_series_gets_a_null_model(frame: pl.DataFrame) -> None:
    data = frame.with_columns(
        site=pl.col("id") % 2,
        series=pl.when(pl.col("id") % 2 == 1).then(None).otherwise(pl.col("series")),
    )
    models = data.group_by("site").agg(vrae.fit("series", **SMALL).alias("model")).sort("site")
    assert models["model"].is_null().to_list() == [False, True]


def test_fit_verbose_prints_epochs(frame: pl.DataFrame, capfd: pytest.CaptureFixture[str]) -> None:
    frame.select(vrae.fit("series", verbose=True, **{**SMALL, "epochs": 2}))
    err = capfd.readouterr().err
    assert "vrae.fit: 64 series, epoch 1/2" in err and "epoch 2/2" in err


def test_fit_errors_name_the_row_or_skip_it(frame: pl.DataFrame) -> None:
    bad = frame.with_columns(
        pl.when(pl.col("id") == 3)
        .then(pl.lit([], dtype=pl.List(pl.Float64)))
        .otherwise(pl.col("series"))
        .alias("series")
    )
    with pytest.raises(pl.exceptions.ComputeError, match=r"vrae\.fit: row 3: empty series"):
        bad.select(vrae.fit("series", **SMALL))
    out = bad.select(vrae.fit("series", on_invalid="null", **SMALL))
    assert vrae.Model(out.item()).summary["rows"] == 63


def test_fit_checks_options_before_the_query_runs() -> None:
    with pytest.raises(TypeError, match="unknown option `hiden_size`"):
        vrae.fit("series", hiden_size=8)
    with pytest.raises(ValueError, match="option `kmeans_restarts`: must be in 1..=1000, got 0"):
        pl.col("series").vrae.fit(kmeans_restarts=0)


def test_too_few_series_for_the_clusters(frame: pl.DataFrame) -> None:
    message = r"vrae\.fit: option `clusters`: 5 clusters need at least 5 series, got 3"
    with pytest.raises(pl.exceptions.ComputeError, match=message):
        frame.head(3).select(vrae.fit("series", clusters=5, **SMALL))
