"""`polars_vrae.train`, the Model class and the options."""

from __future__ import annotations

import pickle
import threading
import time

import numpy as np
import polars as pl
import pytest
from conftest import SMALL

import polars_vrae as vrae


def test_train_returns_a_model_with_its_options_and_summary(model: vrae.Model, frame: pl.DataFrame) -> None:
    assert isinstance(model, vrae.Model)
    assert (model.latent, model.channels, model.clusters) == (4, 1, 2)
    assert model.config["hidden_size"] == 16
    assert model.config["block"] == "lstm"  # a default
    assert model.summary["rows"] == frame.height
    assert model.summary["epochs_run"] == 3
    assert len(model.summary["loss_per_epoch"]) == 3
    assert model.format_version >= 1


def test_defaults_are_the_cores() -> None:
    d = vrae.DEFAULT_OPTIONS
    assert (d["hidden_size"], d["latent"], d["epochs"], d["batch_size"]) == (90, 20, 40, 32)
    assert d["block"] == "lstm" and d["clusters"] is None and d["learning_rate"] == 5e-4
    assert (d["paa_steps"], d["min_updates"]) == (64, 1000)


def test_the_typed_options_name_every_option_of_the_core() -> None:
    # The TypedDict that editors and type checkers see is written by hand:
    # it must list exactly the options the core knows.
    from polars_vrae._options import Options

    assert sorted(Options.__annotations__) == sorted(vrae.DEFAULT_OPTIONS)


def test_series_lazyframe_and_single_column_frame_train_the_same_model(frame: pl.DataFrame, model: vrae.Model) -> None:
    expected = frame.select(vrae.embed("series", model)).to_series()
    for data, column in [
        (frame.get_column("series"), None),
        (frame.lazy(), "series"),
        (frame.select("series"), None),
    ]:
        again = vrae.train(data, column, clusters=2, **SMALL)
        got = frame.select(vrae.embed("series", again)).to_series()
        # Same seed, data and CPU: bit-identical weights, so equal embeddings.
        assert got.equals(expected)


def test_train_needs_a_column_name_for_wide_frames(frame: pl.DataFrame) -> None:
    with pytest.raises(TypeError, match="name the series column"):
        vrae.train(frame, epochs=1)
    with pytest.raises(TypeError, match="DataFrame, LazyFrame or Series"):
        vrae.train([[1.0, 2.0]], epochs=1)  # type: ignore[arg-type]


def test_verbose_reports_every_epoch(frame: pl.DataFrame, capsys: pytest.CaptureFixture[str]) -> None:
    vrae.train(frame, "series", verbose=True, **{**SMALL, "epochs": 2})
    err = capsys.readouterr().err
    assert "epoch 1/2" in err and "epoch 2/2" in err and "loss" in err


def test_training_releases_the_gil(frame: pl.DataFrame) -> None:
    big = pl.concat([frame] * 8)
    done = threading.Event()
    ticks = 0

    def work() -> None:
        vrae.train(big, "series", **{**SMALL, "epochs": 4})
        done.set()

    thread = threading.Thread(target=work)
    thread.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    thread.join()
    # Had training held the GIL, the main thread could not have run until it
    # ended (a tick or two); it kept ticking while Rust trained.
    assert ticks >= 10


def test_null_series_are_left_out_of_training(frame: pl.DataFrame) -> None:
    with_nulls = frame.with_columns(
        pl.when(pl.col("id") % 4 == 0).then(None).otherwise(pl.col("series")).alias("series")
    )
    m = vrae.train(with_nulls, "series", **SMALL)
    assert m.summary["rows"] == 48


def test_invalid_series_error_names_the_row_or_are_skipped(frame: pl.DataFrame) -> None:
    bad = frame.with_columns(
        pl.when(pl.col("id") == 5)
        .then(pl.lit([1.0, float("nan"), 2.0], dtype=pl.List(pl.Float64)))
        .otherwise(pl.col("series"))
        .alias("series")
    )
    with pytest.raises(pl.exceptions.ComputeError, match=r"polars_vrae\.train: row 5: non-finite value NaN at step 1"):
        vrae.train(bad, "series", **SMALL)
    m = vrae.train(bad, "series", on_invalid="null", **SMALL)
    assert m.summary["rows"] == 63


def test_unknown_option_is_a_type_error_listing_the_valid_ones(frame: pl.DataFrame) -> None:
    with pytest.raises(TypeError, match=r"unknown option `epoch`; valid options are: .*epochs"):
        vrae.train(frame, "series", epoch=3)
    with pytest.raises(TypeError, match=r"unknown option `n_clusters`"):
        vrae.fit("series", n_clusters=3)


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"epochs": "ten"}, "epochs"),
        ({"epochs": 2.5}, "epochs"),
        ({"clusters": True}, "clusters"),
        ({"block": "rnn"}, "block"),
        ({"dropout": 1.5}, "dropout"),
        ({"latent": 0}, "latent"),
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"clusters": 1}, "clusters"),
    ],
)
def test_wrong_types_and_values_are_value_errors_naming_the_option(options: dict, key: str) -> None:
    with pytest.raises(ValueError, match=f"option `{key}`"):
        vrae.fit("series", **options)


def test_unserialisable_option_values_name_the_option() -> None:
    with pytest.raises(TypeError, match="option `epochs`"):
        vrae.fit("series", epochs=object())  # type: ignore[arg-type]


def test_numpy_numbers_are_accepted_as_options(frame: pl.DataFrame) -> None:
    m = vrae.train(frame, "series", **{**SMALL, "epochs": np.int64(1), "learning_rate": np.float32(1e-3)})
    assert m.summary["epochs_run"] == 1


def test_bad_on_invalid_is_a_value_error(model: vrae.Model) -> None:
    with pytest.raises(ValueError, match='on_invalid must be "error" or "null"'):
        vrae.embed("series", model, on_invalid="skip")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match='on_invalid must be "error" or "null"'):
        vrae.fit("series", on_invalid="drop")  # type: ignore[arg-type]


def test_cuda_without_a_cuda_build_is_an_error_not_a_silent_cpu_run(frame: pl.DataFrame) -> None:
    with pytest.raises(pl.exceptions.ComputeError, match="device `cuda` is not available"):
        vrae.train(frame, "series", device="cuda", **SMALL)


def test_model_save_load_bytes_pickle_and_repr(model: vrae.Model, tmp_path) -> None:
    path = tmp_path / "m.safetensors"
    model.save(path)
    loaded = vrae.Model.load(path)
    assert loaded == model and hash(loaded) == hash(model)
    assert bytes(loaded) == model.to_bytes() == path.read_bytes()
    assert pickle.loads(pickle.dumps(model)) == model
    text = repr(model)
    assert text.startswith("Model(") and "latent=4" in text and "clusters=2" in text and "64 series" in text
    assert model.info()["config"] == model.config


def test_corrupt_or_foreign_model_bytes_are_value_errors(model: vrae.Model, tmp_path) -> None:
    data = bytearray(model.to_bytes())
    data[-1] ^= 0xFF
    with pytest.raises(ValueError, match="invalid model"):
        vrae.Model(bytes(data))
    with pytest.raises(ValueError, match="invalid model"):
        vrae.Model(b"not a model")
    with pytest.raises(TypeError, match="Model.load"):
        vrae.Model("model.safetensors")  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError):
        vrae.Model.load(tmp_path / "missing.safetensors")


def test_tsne_maps_latent_vectors(frame: pl.DataFrame, model: vrae.Model) -> None:
    latents = frame.select(vrae.embed("series", model)).to_series()
    xy = vrae.tsne(latents, perplexity=5.0, epochs=250)
    assert xy.dtype == pl.Array(pl.Float32, 2) and xy.len() == frame.height and xy.null_count() == 0
    with_null = vrae.tsne(pl.concat([latents, pl.Series("series", [None], dtype=latents.dtype)]), epochs=250)
    assert with_null.is_null().arg_true().to_list() == [frame.height]
    # A map keeps neighbours: a point's nearest latent neighbour is among its
    # 5 nearest points on the map far more often than by chance (5/63 = 8%). (Runs are not bit-identical: the
    # Barnes-Hut sums run in parallel and t-SNE amplifies the last bits.)
    import numpy as np

    lat = np.array(latents.to_list(), dtype=np.float64)
    pts = np.array(xy.to_list(), dtype=np.float64)
    d_lat = ((lat[:, None] - lat[None]) ** 2).sum(-1)
    d_map = ((pts[:, None] - pts[None]) ** 2).sum(-1)
    np.fill_diagonal(d_lat, np.inf)
    np.fill_diagonal(d_map, np.inf)
    nearest = d_lat.argmin(axis=1)
    rank = (d_map < d_map[np.arange(len(pts)), nearest][:, None]).sum(axis=1)
    assert (rank < 5).mean() > 0.3
    with pytest.raises(TypeError, match="polars Series"):
        vrae.tsne(latents.to_list())  # type: ignore[arg-type]
