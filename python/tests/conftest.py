"""Shared data and models for the tests: small synthetic sets (sines and
square waves, so there are two shapes to find) and models trained on them
with few epochs, so that the whole suite stays quick on two cores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import polars_vrae as vrae

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"

# Small and fast; the model only has to work, not to be good.
SMALL = {"epochs": 3, "hidden_size": 16, "latent": 4, "batch_size": 16, "seed": 0, "kmeans_restarts": 2}


def assert_close(left: pl.DataFrame, right: pl.DataFrame) -> None:
    """Equal up to float rounding: results for the same rows computed in
    differently composed batches (sliced, filtered, streamed in morsels) may
    differ in the last bits, as the inner products group differently."""
    assert_frame_equal(left, right, rel_tol=1e-4, abs_tol=1e-5)


def shapes(n: int, *, seed: int = 0, variable: bool = False, channels: int = 1) -> tuple[list[list], list[int]]:
    """``n`` series alternating between a sine and a square wave (with
    noise), each step ``channels`` values when ``channels > 1``; returns the
    rows (lists of floats, or lists of per-step lists) and the shape labels."""
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for i in range(n):
        kind = i % 2
        length = int(rng.integers(16, 33)) if variable else 24
        t = np.linspace(0.0, 4.0 * np.pi, length) + rng.uniform(0.0, 0.5)
        wave = np.sin(t) if kind == 0 else np.sign(np.sin(t))
        values = [wave * (c + 1) + rng.normal(0.0, 0.05, length) for c in range(channels)]
        if channels == 1:
            rows.append(values[0].tolist())
        else:
            rows.append(np.stack(values, axis=1).tolist())
        labels.append(kind)
    return rows, labels


@pytest.fixture(scope="session")
def frame() -> pl.DataFrame:
    """64 univariate series of 24 steps: `id`, `label`, `series` (List(Float64))."""
    rows, labels = shapes(64)
    return pl.DataFrame(
        {"id": range(64), "label": labels, "series": rows},
        schema={"id": pl.Int64, "label": pl.Int32, "series": pl.List(pl.Float64)},
    )


@pytest.fixture(scope="session")
def variable_frame() -> pl.DataFrame:
    """48 univariate series of 16 to 32 steps."""
    rows, labels = shapes(48, seed=1, variable=True)
    return pl.DataFrame(
        {"id": range(48), "label": labels, "series": rows},
        schema={"id": pl.Int64, "label": pl.Int32, "series": pl.List(pl.Float64)},
    )


@pytest.fixture(scope="session")
def multi_frame() -> pl.DataFrame:
    """40 series of 2 channels, variable length, as List(Array(Float64, 2))."""
    rows, labels = shapes(40, seed=2, variable=True, channels=2)
    return pl.DataFrame(
        {"id": range(40), "label": labels, "series": rows},
        schema={"id": pl.Int64, "label": pl.Int32, "series": pl.List(pl.Array(pl.Float64, 2))},
    )


@pytest.fixture(scope="session")
def model(frame: pl.DataFrame) -> vrae.Model:
    """A univariate model with 2 clusters, trained on `frame`."""
    return vrae.train(frame, "series", clusters=2, **SMALL)


@pytest.fixture(scope="session")
def multi_model(multi_frame: pl.DataFrame) -> vrae.Model:
    """A 2-channel model with 2 clusters, trained on `multi_frame`."""
    return vrae.train(multi_frame, "series", clusters=2, **SMALL)


@pytest.fixture(scope="session")
def plain_model(frame: pl.DataFrame) -> vrae.Model:
    """A univariate model trained without clusters."""
    return vrae.train(frame, "series", **SMALL)
