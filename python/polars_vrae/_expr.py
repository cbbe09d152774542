"""The vrae expressions: ``fit`` (an aggregation) and the elementwise
``embed``, ``cluster``, ``score``, ``project`` and ``reconstruct``, also
reachable as the ``vrae`` namespace of every expression
(``pl.col("series").vrae.embed(model)``).

Series columns: ``List(Float32/Float64)`` or ``Array(Float32/Float64, n)``;
multivariate series as ``List(Array(Float, C))`` or ``List(List(Float))``
with ``C`` values at every step (time-major). Null series give null results.
A series that cannot be used (null values, empty, NaN/inf, uneven steps,
longer than ``max_length``) raises ``polars.exceptions.ComputeError`` naming
the function and the row, or gives null with ``on_invalid="null"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
from polars.plugins import register_plugin_function

from polars_vrae._model import ModelLike, model_bytes
from polars_vrae._options import OnInvalid, Options, check_on_invalid, options_json

if TYPE_CHECKING:
    from typing import Unpack

# The package folder holds the shared library (`_internal.abi3.so`) that is
# both the Python module and the Polars plugin.
_LIB = Path(__file__).parent


def _apply(function: str, expr: pl.Expr | str, model: ModelLike, on_invalid: OnInvalid) -> pl.Expr:
    return register_plugin_function(
        plugin_path=_LIB,
        function_name=function,
        args=[expr],
        kwargs={"model": model_bytes(model), "on_invalid": check_on_invalid(on_invalid)},
        is_elementwise=True,
    )


def fit(
    expr: pl.Expr | str,
    *,
    on_invalid: OnInvalid = "error",
    verbose: bool = False,
    **options: Unpack[Options],
) -> pl.Expr:
    """Trains a model on the series of ``expr``: an aggregation that returns
    the model's bytes (``Binary``), one model per group under
    ``group_by().agg()``.

    Parameters
    ----------
    expr
        The series column (a name or an expression).
    on_invalid
        ``"error"`` (default) raises on a series that cannot be used, naming
        the row; ``"null"`` leaves such series out of training.
    verbose
        Print every epoch's loss on stderr.
    **options
        Training options with the core's names and defaults, e.g.
        ``clusters=5, epochs=40, latent=20`` (see ``DEFAULT_OPTIONS``).

    A group without usable series gives null. Wrap the bytes in
    :class:`polars_vrae.Model` to use them, or pass them straight to the
    other functions. For a whole DataFrame, :func:`polars_vrae.train` is the
    simpler entry point.

    Examples
    --------
    >>> df.group_by("site").agg(vrae.fit("series", clusters=3, epochs=20))  # doctest: +SKIP
    """
    return register_plugin_function(
        plugin_path=_LIB,
        function_name="vrae_fit",
        args=[expr],
        kwargs={
            "options": options_json(dict(options)),
            "on_invalid": check_on_invalid(on_invalid),
            "verbose": bool(verbose),
        },
        is_elementwise=False,
        returns_scalar=True,
    )


def embed(expr: pl.Expr | str, model: ModelLike, *, on_invalid: OnInvalid = "error") -> pl.Expr:
    """Latent mean of every series: ``Array(Float32, latent)``.

    ``model`` is a :class:`polars_vrae.Model`, its bytes, or a path to a
    model file.
    """
    return _apply("vrae_embed", expr, model, on_invalid)


def cluster(expr: pl.Expr | str, model: ModelLike, *, on_invalid: OnInvalid = "error") -> pl.Expr:
    """Cluster of every series: ``Int32`` (the model must have been trained
    with ``clusters``)."""
    return _apply("vrae_cluster", expr, model, on_invalid)


def score(expr: pl.Expr | str, model: ModelLike, *, on_invalid: OnInvalid = "error") -> pl.Expr:
    """Reconstruction error of every series (mean squared error in the units
    the model learned in), for ranking anomalies: ``Float64``."""
    return _apply("vrae_score", expr, model, on_invalid)


def project(expr: pl.Expr | str, model: ModelLike, *, on_invalid: OnInvalid = "error") -> pl.Expr:
    """2-D PCA coordinates of every series' latent vector (the basis is stored
    in the model): ``Array(Float32, 2)``."""
    return _apply("vrae_project", expr, model, on_invalid)


def reconstruct(expr: pl.Expr | str, model: ModelLike, *, on_invalid: OnInvalid = "error") -> pl.Expr:
    """Every series decoded from its latent mean, at its own length and in its
    own units: ``List(Float32)`` for univariate columns,
    ``List(Array(Float32, C))`` for multivariate ones."""
    return _apply("vrae_reconstruct", expr, model, on_invalid)


@pl.api.register_expr_namespace("vrae")
class VraeNamespace:
    """The vrae functions as methods of an expression: ``pl.col("series").vrae.embed(model)``."""

    def __init__(self, expr: pl.Expr) -> None:
        self._expr = expr

    def fit(self, *, on_invalid: OnInvalid = "error", verbose: bool = False, **options: Unpack[Options]) -> pl.Expr:
        """See :func:`polars_vrae.fit`."""
        return fit(self._expr, on_invalid=on_invalid, verbose=verbose, **options)

    def embed(self, model: ModelLike, *, on_invalid: OnInvalid = "error") -> pl.Expr:
        """See :func:`polars_vrae.embed`."""
        return embed(self._expr, model, on_invalid=on_invalid)

    def cluster(self, model: ModelLike, *, on_invalid: OnInvalid = "error") -> pl.Expr:
        """See :func:`polars_vrae.cluster`."""
        return cluster(self._expr, model, on_invalid=on_invalid)

    def score(self, model: ModelLike, *, on_invalid: OnInvalid = "error") -> pl.Expr:
        """See :func:`polars_vrae.score`."""
        return score(self._expr, model, on_invalid=on_invalid)

    def project(self, model: ModelLike, *, on_invalid: OnInvalid = "error") -> pl.Expr:
        """See :func:`polars_vrae.project`."""
        return project(self._expr, model, on_invalid=on_invalid)

    def reconstruct(self, model: ModelLike, *, on_invalid: OnInvalid = "error") -> pl.Expr:
        """See :func:`polars_vrae.reconstruct`."""
        return reconstruct(self._expr, model, on_invalid=on_invalid)
