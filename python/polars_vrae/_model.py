"""The :class:`Model`: a trained VRAE as its safetensors bytes."""

from __future__ import annotations

import json
import os
from typing import Any, Union

import polars as pl

from polars_vrae import _internal


class Model:
    """A trained VRAE: weights, input scaling, PCA basis and (when trained
    with ``clusters``) k-means centroids, held as one safetensors byte string.

    The bytes are the same in Python, SQL (a Binary value) and Rust
    (``vrae::Model::from_bytes``), so a model trained anywhere is used
    anywhere. Building a ``Model`` checks the bytes (format, version and the
    checksum of every tensor) and raises ``ValueError`` if they are not a
    readable vrae model.

    Examples
    --------
    >>> model = polars_vrae.train(df, "series", clusters=5)  # doctest: +SKIP
    >>> model.save("ecg.safetensors")  # doctest: +SKIP
    >>> Model.load("ecg.safetensors").latent  # doctest: +SKIP
    20
    """

    __slots__ = ("_bytes", "_info")

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            msg = f"Model() takes the model's bytes, got {type(data).__name__}; use Model.load(path) for a file"
            raise TypeError(msg)
        self._bytes = bytes(data)
        self._info: dict[str, Any] = json.loads(_internal.model_info(self._bytes))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Reads a model file (as written by :meth:`save`, ``vrae::Model::save`` or SQL).

        Raises ``FileNotFoundError`` (or another ``OSError``) when the file
        cannot be read, and ``ValueError`` for what is not a regular file (a
        device such as ``/dev/zero``) or is larger than a model can be,
        before reading it.
        """
        return cls(_internal.read_model_file(os.fspath(path)))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes the model to ``path`` atomically, as ``vrae::Model::save`` does.

        Readers and crashes never see half a file, also with several threads
        saving to one path. Only a regular file is replaced; a symbolic link
        is followed to its file. Raises ``FileNotFoundError`` for a missing
        directory and ``OSError`` for a target that is not a regular file (a
        device, a pipe, a directory), a link to nothing or an empty path.
        """
        _internal.write_model_file(os.fspath(path), self._bytes)

    def to_bytes(self) -> bytes:
        """The model's safetensors bytes."""
        return self._bytes

    def __bytes__(self) -> bytes:
        return self._bytes

    @property
    def config(self) -> dict[str, Any]:
        """Every option the model was trained with."""
        return dict(self._info["config"])

    @property
    def summary(self) -> dict[str, Any]:
        """What training did: rows, epochs run, loss per epoch, seconds, k-means inertia, ..."""
        return dict(self._info["summary"])

    @property
    def channels(self) -> int:
        """Values per time step the model expects."""
        return int(self._info["channels"])

    @property
    def latent(self) -> int:
        """Length of the latent vectors (:func:`polars_vrae.embed`)."""
        return int(self._info["latent"])

    @property
    def clusters(self) -> int | None:
        """Number of k-means clusters, or ``None`` when trained without ``clusters``."""
        k = self._info["clusters"]
        return None if k is None else int(k)

    @property
    def format_version(self) -> int:
        """Version of the model file format."""
        return int(self._info["format_version"])

    def prototypes(self, steps: int | None = None) -> pl.DataFrame:
        """What every cluster looks like: the decoder run on the cluster's
        centroid, in the input's units (``per_step`` and ``global``
        models add their level back; ``zscore`` models give z-scores).

        One row per cluster: ``cluster`` (Int32) and ``prototype``, a
        ``List(Float32)`` of ``steps`` values (default: the longest training
        series), or ``List(Array(Float32, channels))`` for a multivariate
        model. Raises ``polars.exceptions.ComputeError`` for a model trained
        without ``clusters``.
        """
        if steps is not None:
            # Checked here so that a bool is not read as 1 step and a huge or
            # negative number is named rather than failing the conversion.
            most = self._info["config"]["max_length"]
            if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= most:
                msg = f"Model.prototypes: option `steps`: prototypes need 1 to max_length = {most} steps, got {steps!r}"
                raise ValueError(msg)
        series = _internal.prototypes(self._bytes, steps)
        return pl.DataFrame({"cluster": pl.Series("cluster", range(len(series)), dtype=pl.Int32), "prototype": series})

    def info(self) -> dict[str, Any]:
        """Everything above as one dict (the JSON of SQL's ``vrae_model_info``)."""
        return json.loads(json.dumps(self._info))

    def __repr__(self) -> str:
        c, s = self._info["config"], self._info["summary"]
        losses = s.get("loss_per_epoch") or []
        loss = f", final loss {losses[-1]['loss']:.4g}" if losses else ""
        return (
            f"Model(block={c['block']!r}, hidden_size={c['hidden_size']}, depth={c['depth']}, "
            f"latent={self.latent}, channels={self.channels}, clusters={self.clusters}, "
            f"trained on {s['rows']} series for {s['epochs_run']} epochs{loss}, {len(self._bytes):,} bytes)"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and other._bytes == self._bytes

    def __hash__(self) -> int:
        return hash(self._bytes)

    def __reduce__(self) -> tuple[type[Model], tuple[bytes]]:
        return (Model, (self._bytes,))


ModelLike = Union[Model, bytes, bytearray, memoryview, str, "os.PathLike[str]"]
"""What a ``model`` argument accepts: a :class:`Model`, its bytes, or a path to a model file."""


def model_bytes(model: ModelLike) -> bytes:
    """The bytes of a ``model`` argument, checked: a :class:`Model`, bytes, or a path to a model file."""
    if isinstance(model, Model):
        return model.to_bytes()
    if isinstance(model, (bytes, bytearray, memoryview)):
        return Model(model).to_bytes()
    if isinstance(model, (str, os.PathLike)):
        return Model.load(model).to_bytes()
    msg = f"model must be a polars_vrae.Model, its bytes or a path to a model file, got {type(model).__name__}"
    raise TypeError(msg)
