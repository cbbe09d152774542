"""polars-vrae: time-series clustering with a Variational Recurrent
Autoencoder, as Polars expressions.

Train a model on a column of series, then embed, cluster, score, project
and reconstruct series with it, eagerly, lazily or streaming::

    import polars as pl
    import polars_vrae as vrae

    df = pl.read_parquet("data/ECG5000_TRAIN.parquet")
    model = vrae.train(df, "series", clusters=5)          # a vrae.Model
    out = df.with_columns(
        cluster=vrae.cluster("series", model),             # Int32
        latent=pl.col("series").vrae.embed(model),         # Array(Float32, 20)
    )
    per_site = df.group_by("site").agg(vrae.fit("series", clusters=3))  # Binary, one model per group

The work happens in Rust (the ``vrae`` crate on Candle); models are one
safetensors byte string shared with vrae's SQL functions and Rust API.
"""

from __future__ import annotations

# Polars first: the native module allocates through Polars' allocator, which
# it finds in the imported polars module.
import polars as _polars  # noqa: F401

from polars_vrae import _internal
from polars_vrae._expr import VraeNamespace, cluster, embed, fit, project, reconstruct, score
from polars_vrae._model import Model, ModelLike
from polars_vrae._options import DEFAULT_OPTIONS, OnInvalid, Options
from polars_vrae._train import train
from polars_vrae._tsne import tsne

__version__: str = _internal.__version__

__all__ = [
    "DEFAULT_OPTIONS",
    "Model",
    "ModelLike",
    "OnInvalid",
    "Options",
    "VraeNamespace",
    "__version__",
    "cluster",
    "embed",
    "fit",
    "project",
    "reconstruct",
    "score",
    "train",
    "tsne",
]
