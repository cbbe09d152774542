"""``polars_vrae.train``: the eager entry point, a DataFrame column (or a
Series) in, a :class:`Model` out."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from polars_vrae import _internal
from polars_vrae._dtypes import check_series_type
from polars_vrae._model import Model
from polars_vrae._options import OnInvalid, Options, check_on_invalid, options_json

if TYPE_CHECKING:
    from typing import Unpack


def _series(data: pl.DataFrame | pl.LazyFrame | pl.Series, column: str | None) -> pl.Series:
    if isinstance(data, pl.Series):
        if column is not None:
            msg = "train(series) takes no column name; pass a DataFrame to pick a column"
            raise TypeError(msg)
        return data
    if isinstance(data, pl.LazyFrame):
        if column is None:
            msg = "train(lazy_frame, column): name the series column"
            raise TypeError(msg)
        return data.select(column).collect().to_series()
    if isinstance(data, pl.DataFrame):
        if column is None:
            if data.width != 1:
                msg = f"train(df, column): name the series column (the frame has {data.width} columns)"
                raise TypeError(msg)
            return data.to_series()
        return data.get_column(column)
    msg = f"train() takes a polars DataFrame, LazyFrame or Series, got {type(data).__name__}"
    raise TypeError(msg)


def train(
    data: pl.DataFrame | pl.LazyFrame | pl.Series,
    column: str | None = None,
    *,
    on_invalid: OnInvalid = "error",
    verbose: bool = False,
    **options: Unpack[Options],
) -> Model:
    """Trains a VRAE on a column of series and returns the :class:`Model`.

    Parameters
    ----------
    data
        A DataFrame or LazyFrame with the series in ``column``, or a Series.
    column
        The series column: ``List(Float32/Float64)``, ``Array(Float, n)``, or
        for multivariate series ``List(Array(Float, C))`` / ``List(List(Float))``.
    on_invalid
        ``"error"`` (default) raises on a series that cannot be used (null
        values, empty, NaN/inf, uneven steps, too long), naming the row;
        ``"null"`` leaves such series out. Null series are always left out.
    verbose
        Report every epoch's loss on ``sys.stderr``.
    **options
        Training options with the core's names and defaults, e.g.
        ``clusters=5``, ``epochs=40``, ``latent=20``, ``block="gru"``
        (see ``polars_vrae.DEFAULT_OPTIONS``). An unknown name raises
        ``TypeError`` listing the valid ones; a wrong type or value raises
        ``ValueError`` naming the option.

    Training runs in Rust with the GIL released, so other Python threads
    keep running. Errors about the series or the training raise
    ``polars.exceptions.ComputeError``.

    Examples
    --------
    >>> df = pl.read_parquet("data/ECG5000_TRAIN.parquet")  # doctest: +SKIP
    >>> model = polars_vrae.train(df, "series", clusters=5, verbose=True)  # doctest: +SKIP
    >>> df.with_columns(cluster=vrae.cluster("series", model))  # doctest: +SKIP
    """
    series = _series(data, column)
    check_series_type("polars_vrae.train", series)
    text = options_json(dict(options))
    return Model(_internal.train(series, text, check_on_invalid(on_invalid), bool(verbose)))
