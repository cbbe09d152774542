"""What a hostile user can throw at the Python front end: options that
would size an allocation or a loop, values JSON cannot carry, paths that
never end, corrupt copies of a model in use, values at the edge of f32 and
one-value latents. Each gets an exception naming the problem, or a result;
never a dead interpreter."""

from __future__ import annotations

import json
import math
import os
import re
import stat
import threading
from pathlib import Path

import polars as pl
import pytest
from conftest import SMALL

import polars_vrae as vrae
from polars_vrae._options import options_json


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"depth": 1_000_000_000}, "option `depth`: must be in 1..=16, got 1000000000"),
        ({"kmeans_restarts": 10**12}, "option `kmeans_restarts`: must be in 1..=1000, got 1000000000000"),
        ({"learning_rate": 1e30}, "option `learning_rate`: must be a finite number in (0, 10], got 1e30"),
        ({"learning_rate": math.nan}, "option `learning_rate`: must be a finite number, got nan"),
        ({"kl_weight": math.inf}, "option `kl_weight`: must be a finite number, got inf"),
        ({"clusters": 2**62}, "option `clusters`: must be in 2..=10000, got 4611686018427387904"),
    ],
    ids=lambda v: str(v)[:30],
)
def test_options_out_of_range_are_refused_by_name(frame: pl.DataFrame, options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        vrae.train(frame, "series", **{**SMALL, **options})
    with pytest.raises((ValueError, pl.exceptions.PolarsError), match=re.escape(message)):
        frame.select(vrae.fit("series", **{**SMALL, **options}))


def test_training_beyond_the_machines_memory_is_refused_with_an_estimate(frame: pl.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"too large: a network of \d+ parameters \(hidden_size 4096, depth 16"):
        vrae.train(frame, "series", hidden_size=4096, depth=16, epochs=1)
    with pytest.raises(ValueError, match=r"too large: training would need about .* of memory \(hidden_size 2048, depth 1, batch_size 65536"):
        vrae.train(frame, "series", hidden_size=2048, batch_size=65536, epochs=1)


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/urandom", "/tmp"])
def test_model_paths_that_are_not_files_are_refused_before_reading(path: str) -> None:
    if not Path(path).exists():
        pytest.skip(f"{path} does not exist here")
    with pytest.raises(ValueError, match=re.escape(f"{path}: not a regular file")):
        vrae.Model.load(path)


def test_numpy_scalars_are_the_values_they_hold() -> None:
    np = pytest.importorskip("numpy")
    text = json.loads(options_json({"epochs": np.int64(3), "clip": np.bool_(False), "learning_rate": np.float32(0.25)}))
    assert (text["epochs"], text["clip"], text["learning_rate"]) == (3, False, 0.25)
    with pytest.raises(ValueError, match="option `learning_rate`: must be a finite number"):
        options_json({"learning_rate": np.float64("nan")})


@pytest.mark.parametrize(("name", "value"), [("latent", 10**400), ("seed", 2**64), ("epochs", -(2**63) - 1)])
def test_integers_beyond_64_bits_are_named(name: str, value: int) -> None:
    with pytest.raises(ValueError, match=f"option `{name}`: {value} is out of range"):
        options_json({name: value})


def test_tsne_of_only_null_rows_is_null() -> None:
    for latents in (pl.Series("z", [None, None], dtype=pl.Array(pl.Float32, 3)), pl.Series("z", [], dtype=pl.Array(pl.Float32, 3))):
        out = vrae.tsne(latents)
        assert (out.len(), out.null_count(), out.dtype) == (latents.len(), latents.len(), pl.Array(pl.Float32, 2))


def test_tsne_names_a_non_finite_row_without_suggesting_on_invalid() -> None:
    # tsne takes no on_invalid; its message must not send users to it.
    latents = pl.Series("z", [[0.0, 1.0], [1.0, 0.0], [math.nan, 0.0], [1.0, 1.0]], dtype=pl.Array(pl.Float32, 2))
    with pytest.raises(pl.exceptions.ComputeError) as caught:
        vrae.tsne(latents)
    message = str(caught.value)
    assert message.startswith("polars_vrae.tsne:") and "row 2" in message and "within the 4 rows given to polars_vrae.tsne" in message
    assert "on_invalid" not in message


def test_an_empty_model_path_is_named() -> None:
    with pytest.raises(OSError, match=re.escape('polars_vrae.Model.load: "": empty path: name the model file to read')):
        vrae.Model.load("")


def test_save_replaces_only_regular_files(model: vrae.Model, tmp_path: Path) -> None:
    # A pipe stands for devices (as root, renaming over /dev/null replaced it).
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    with pytest.raises(OSError, match="not a regular file"):
        model.save(pipe)
    assert stat.S_ISFIFO(pipe.lstat().st_mode)
    with pytest.raises(OSError, match="not a regular file"):
        model.save(tmp_path)
    with pytest.raises(FileNotFoundError, match="missing does not exist"):
        model.save(tmp_path / "missing" / "m.safetensors")
    with pytest.raises(OSError, match="empty path"):
        model.save("")
    real, link = tmp_path / "real.safetensors", tmp_path / "link.safetensors"
    real.write_bytes(b"old")
    link.symlink_to(real)
    model.save(link)
    assert link.is_symlink() and real.read_bytes() == model.to_bytes()
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_threads_saving_to_one_path_never_show_half_a_model(frame: pl.DataFrame, model: vrae.Model, tmp_path: Path) -> None:
    other = vrae.train(frame, "series", epochs=1, seed=1)
    path = tmp_path / "m.safetensors"
    model.save(path)
    complete = {model.to_bytes(), other.to_bytes()}
    errors: list[BaseException] = []

    def save(m: vrae.Model) -> None:
        try:
            for _ in range(30):
                m.save(path)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    savers = [threading.Thread(target=save, args=(m,)) for m in (model, other)]
    for t in savers:
        t.start()
    while any(t.is_alive() for t in savers):
        assert path.read_bytes() in complete
    for t in savers:
        t.join()
    assert not errors, errors
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_corrupt_copy_of_a_model_in_use_is_refused(frame: pl.DataFrame, model: vrae.Model, tmp_path: Path) -> None:
    frame.select(vrae.embed("series", model))  # decoded and cached
    flipped = bytearray(model.to_bytes())
    flipped[-3] ^= 0x10
    with pytest.raises(ValueError, match="checksum mismatch"):
        vrae.Model(bytes(flipped))
    (tmp_path / "flipped.vrae").write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match="checksum mismatch"):
        vrae.Model.load(tmp_path / "flipped.vrae")


def test_values_at_the_edge_of_f32_are_an_error_or_null(model: vrae.Model) -> None:
    df = pl.DataFrame({"series": [[1.0, 2.0, 3.0], [1.0, 3.0e38, 2.0], [0.5]]}, schema={"series": pl.List(pl.Float32)})
    with pytest.raises(pl.exceptions.PolarsError, match=re.escape("row 1: value 3e38 at step 1, channel 0 is too large for this model")):
        df.select(vrae.score("series", model))
    scores = df.select(vrae.score("series", model, on_invalid="null")).to_series()
    assert scores.is_null().to_list() == [False, True, False]
    assert all(math.isfinite(s) for s in scores.drop_nulls())


def test_a_one_value_latent_projects_to_two_columns(frame: pl.DataFrame) -> None:
    model = vrae.train(frame, "series", **{**SMALL, "latent": 1})
    xy = frame.select(vrae.project("series", model)).to_series()
    assert xy.dtype == pl.Array(pl.Float32, 2)
    assert xy.arr.get(1).to_list() == [0.0] * frame.height
    assert xy.arr.get(0).std() > 0


def test_the_same_rows_in_any_order_train_the_same_model(frame: pl.DataFrame) -> None:
    a = vrae.train(frame, "series", clusters=2, **SMALL)
    b = vrae.train(frame.reverse(), "series", clusters=2, **SMALL)
    assert checksum(a) == checksum(b)
    # Through the expression too (a Polars aggregation).
    c = vrae.Model(frame.sample(fraction=1.0, shuffle=True, seed=3).select(vrae.fit("series", clusters=2, **SMALL)).item())
    assert checksum(c) == checksum(a)


def checksum(model: vrae.Model) -> str:
    """The model's checksum, which covers everything but wall-clock times."""
    import json
    import struct

    data = model.to_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + length])["__metadata__"]["checksum"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"epochs": 10**12}, "option `epochs`: must be in 1..=100000"),
        ({"theta": math.nan}, "option `theta`: must be a finite number in [0, 1]"),
        ({"perplexity": math.inf}, "option `perplexity`: must be a finite number in (0, 1000]"),
    ],
    ids=lambda v: str(v)[:20],
)
def test_tsne_options_out_of_range_are_refused(model: vrae.Model, frame: pl.DataFrame, options: dict, message: str) -> None:
    latents = frame.select(vrae.embed("series", model)).to_series()
    with pytest.raises(ValueError, match=re.escape(message)):
        vrae.tsne(latents, **options)


def split(data: bytes) -> tuple[dict, bytes]:
    """A safetensors file's header (JSON) and its data section."""
    import json

    length = int.from_bytes(data[:8], "little")
    return json.loads(data[8 : 8 + length]), data[8 + length :]


def as_version_2(data: bytes, edit) -> bytes:
    """The model rewritten as format version 2 wrote it (checksum over the
    tensors alone, FNV-1a 64 of names and bytes in name order), with
    `edit(metadata, tensors)` applied first: how a hostile older file looks."""
    import json
    import struct

    header, body = split(data)
    meta = header.pop("__metadata__")
    tensors = {name: bytearray(body[t["data_offsets"][0] : t["data_offsets"][1]]) for name, t in header.items()}
    meta["format_version"] = "2"
    timing = json.loads(meta.pop("timing"))
    summary = json.loads(meta["summary"])
    summary["seconds"] = timing["seconds"]
    for epoch, seconds in zip(summary["loss_per_epoch"], timing["epoch_seconds"]):
        epoch["seconds"] = seconds
    meta["summary"] = json.dumps(summary)
    edit(meta, tensors)
    h = 0xCBF29CE484222325
    for name in sorted(tensors):
        for byte in name.encode() + bytes(tensors[name]):
            h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    meta["checksum"] = f"{h:016x}"
    out, offset = {"__metadata__": meta}, 0
    for name in sorted(tensors):
        out[name] = {**header[name], "data_offsets": [offset, offset + len(tensors[name])]}
        offset += len(tensors[name])
    text = json.dumps(out, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(bytes(tensors[n]) for n in sorted(tensors))


def test_hostile_model_files_are_refused_by_name(model: vrae.Model) -> None:
    import json
    import struct

    data = model.to_bytes()
    # Loads as a version-2 file when nothing is edited (the helper is right).
    assert vrae.Model(as_version_2(data, lambda meta, tensors: None)).clusters == 2

    def huge_channels(meta, tensors):
        meta["channels"] = str(2**64 - 1)

    def huge_clusters(meta, tensors):
        config = json.loads(meta["config"])
        config["clusters"] = 2**62
        meta["config"] = json.dumps(config)

    def nan_centroid(meta, tensors):
        tensors["kmeans.centroids"][:4] = struct.pack("<f", math.nan)

    for edit, message in [
        (huge_channels, "metadata `channels` is invalid: must be in 1..=65536, got 18446744073709551615"),
        (huge_clusters, "option `clusters`: must be in 2..=10000, got 4611686018427387904"),
        (nan_centroid, "metadata `kmeans.centroids` is invalid: values must be finite, found NaN"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)):
            vrae.Model(as_version_2(data, edit))
    # This build's files: one metadata bit flipped (format version 3 -> 2)
    # breaks the checksum.
    at = data.index(b'"format_version":"3"') + 18
    flipped = bytearray(data)
    flipped[at] ^= 0x01
    with pytest.raises(ValueError, match="checksum mismatch"):
        vrae.Model(bytes(flipped))
