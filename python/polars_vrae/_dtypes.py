"""Column types that Polars cannot hand over to the plugin.

Polars' export of a column of these types panics inside the extension (the
catch there turns it into an error, but Polars prints its panic line on
stderr first), so ``train`` and ``tsne`` refuse them before the call.
"""

from __future__ import annotations

import polars as pl

from polars_vrae import _internal


def _cannot_be_handed_over(dtype: pl.DataType) -> bool:
    while isinstance(dtype, (pl.List, pl.Array)):
        if isinstance(dtype, pl.Array) and dtype.size == 0:
            return True
        dtype = dtype.inner
    return isinstance(dtype, pl.Decimal) or dtype == getattr(pl, "Float16", None)


def check_series_type(function: str, series: pl.Series) -> None:
    """Raises ComputeError, as the extension would, for a column type Polars
    cannot hand over (Float16 or Decimal values, zero-width arrays)."""
    if _cannot_be_handed_over(series.dtype):
        raise pl.exceptions.ComputeError(_internal.unsupported_series_type(function, str(series.dtype)))
