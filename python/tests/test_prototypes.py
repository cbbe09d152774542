"""`Model.prototypes()`: what each cluster looks like, one row per cluster."""

from __future__ import annotations

import math

import polars as pl
import pytest

import polars_vrae as vrae


def test_one_prototype_per_cluster_at_the_training_length(model: vrae.Model, frame: pl.DataFrame) -> None:
    protos = model.prototypes()
    assert protos["cluster"].to_list() == [0, 1]
    assert protos.schema["prototype"] == pl.List(pl.Float32)
    longest = frame["series"].list.len().max()
    assert protos["prototype"].list.len().to_list() == [longest, longest]
    assert all(math.isfinite(v) for row in protos["prototype"] for v in row)
    # Any length on request; the same model gives the same prototypes.
    short = model.prototypes(steps=10)
    assert short["prototype"].list.len().to_list() == [10, 10]
    assert protos.equals(model.prototypes())


def test_multivariate_prototypes_are_lists_of_steps(multi_model: vrae.Model) -> None:
    protos = multi_model.prototypes(steps=7)
    assert protos.schema["prototype"] == pl.List(pl.Array(pl.Float32, multi_model.channels))
    assert protos["prototype"].list.len().to_list() == [7] * multi_model.clusters


def test_models_without_clusters_or_with_bad_lengths_are_refused(plain_model: vrae.Model, model: vrae.Model) -> None:
    with pytest.raises(pl.exceptions.ComputeError, match="this model has no clusters"):
        plain_model.prototypes()
    with pytest.raises(ValueError, match="option `steps`: prototypes need 1 to max_length"):
        model.prototypes(steps=0)
    # Whatever is not a whole number of steps the model takes is named,
    # not converted: a bool, a float, a negative or huge number.
    for steps in (True, 2.5, -1, 10**30):
        with pytest.raises(ValueError, match=r"Model.prototypes: option `steps`: .* got"):
            model.prototypes(steps=steps)  # type: ignore[arg-type]


def test_clusters_auto_reports_its_choice(frame: pl.DataFrame) -> None:
    from conftest import SMALL

    model = vrae.train(frame, "series", clusters="auto", clusters_max=4, **SMALL)
    scores = model.summary["cluster_selection"]
    assert [s["k"] for s in scores] == [2, 3, 4]
    best = max(scores, key=lambda s: s["silhouette"])
    assert model.clusters == best["k"]
    assert model.config["clusters"] == "auto"
    assert model.prototypes().height == model.clusters
    assert frame.select(vrae.cluster("series", model)).to_series().max() < model.clusters
