"""``polars_vrae.tsne``: t-SNE maps of latent vectors, for pictures."""

from __future__ import annotations

import polars as pl

from polars_vrae import _internal
from polars_vrae._dtypes import check_series_type


def tsne(
    latents: pl.Series,
    *,
    perplexity: float = 30.0,
    epochs: int = 1000,
    theta: float = 0.5,
    seed: int = 0,
) -> pl.Series:
    """2-D t-SNE coordinates of latent vectors (e.g. the output of
    :func:`polars_vrae.embed`): a Series of ``Array(Float32, 2)``, null where
    the input is null.

    Barnes-Hut t-SNE in Rust (``vrae::projection``), seeded, with the GIL
    released. ``perplexity`` (in (0, 1000]) is capped at ``(rows - 1) / 3``;
    ``epochs`` is in 1..=100000; ``theta`` in [0, 1], where 0 is exact
    (quadratic, so at most 5000 points). Values outside raise ``ValueError``. t-SNE is transductive: it maps the points it is given and
    cannot place new ones (use :func:`polars_vrae.project` for that).
    """
    if not isinstance(latents, pl.Series):
        msg = f"tsne() takes a polars Series of latent vectors, got {type(latents).__name__}"
        raise TypeError(msg)
    check_series_type("polars_vrae.tsne", latents)
    return _internal.tsne(latents, float(perplexity), int(epochs), float(theta), int(seed))
