"""Training options: Python keyword arguments with the core's names.

The names, defaults and checks are the Rust core's (``VraeConfig``); this
module only turns keyword arguments into the JSON object the core parses, so
that Python, SQL and Rust share one definition. A wrong name raises
``TypeError`` listing the valid ones, a wrong type or value ``ValueError``
naming the option.
"""

from __future__ import annotations

import json
import math
import numbers
from typing import Any, Literal, TypedDict

from polars_vrae import _internal

OnInvalid = Literal["error", "null"]
"""What to do with a non-null series that cannot be used: raise, or null."""


class Options(TypedDict, total=False):
    """Every training option (see the README's table for their meaning)."""

    block: Literal["lstm", "gru"]
    hidden_size: int
    depth: int
    dropout: float
    latent: int
    forget_bias: float
    decoder_inputs: Literal["zeros", "learned"]
    loss: Literal["mse", "smooth_l1"]
    reduction: Literal["original", "per_series"]
    shift_tolerance: int
    kl_weight: float
    kl_warmup_epochs: int
    optimizer: Literal["adam", "sgd"]
    learning_rate: float
    momentum: float
    clip: bool
    max_grad_norm: float
    epochs: int
    min_updates: int
    batch_size: int
    seed: int
    threads: int
    early_stopping_patience: int | None
    early_stopping_min_delta: float
    scaling: Literal["none", "zscore", "global", "per_step"]
    clusters: int | Literal["auto"] | None
    clusters_max: int
    kmeans_restarts: int
    kmeans_max_iter: int
    kmeans_standardize: bool
    kmeans_normalize: bool
    clustering: Literal["kmeans", "spectral", "spectral_series"]
    spectral_cut: Literal["kmeans", "mixture"]
    shape_lag: float
    series_features: Literal["random_kernels", "shifted_shapes", "kernels_and_shapes", "multirocket"]
    latent_by_reconstruction: bool
    shift_average: int
    align_lags: bool
    paa_steps: int
    max_length: int
    device: Literal["cpu", "cuda"]


DEFAULT_OPTIONS: dict[str, Any] = json.loads(_internal.default_options())
"""Every option with its default value (the original VRAE's, except those the README's Options section names)."""


def _plain(name: str, value: Any) -> Any:
    """A JSON-ready value: numpy scalars become Python numbers; NaN and
    infinities (which JSON cannot carry) are refused by name."""
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        # JSON would carry it, as a float or not at all, and the core would
        # report the JSON, not the option.
        msg = f"option `{name}`: {value} is out of range"
        raise ValueError(msg)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", 0) == 0 and isinstance(plain := item(), (bool, int, float, str)):
        # A numpy scalar (numpy.bool_ is no Integral): the Python value it holds.
        return _plain(name, plain)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        if not math.isfinite(value):
            msg = f"option `{name}`: must be a finite number, got {value}"
            raise ValueError(msg)
        return value
    kind = type(value).__qualname__ if type(value).__module__ == "builtins" else f"{type(value).__module__}.{type(value).__qualname__}"
    msg = f"option `{name}`: expected a number, string, bool or None, got {kind}"
    raise TypeError(msg)


def options_json(options: dict[str, Any]) -> str:
    """Checks ``options`` against the core and returns them as JSON.

    Raises ``TypeError`` for an unknown option (listing the valid ones) and
    ``ValueError`` for a value of the wrong type or out of range; both name
    the option.
    """
    text = json.dumps({name: _plain(name, value) for name, value in options.items()}, allow_nan=False)
    _internal.check_options(text)
    return text


def check_on_invalid(on_invalid: str) -> OnInvalid:
    """Returns ``on_invalid`` if it is ``"error"`` or ``"null"``."""
    if on_invalid not in ("error", "null"):
        msg = f'on_invalid must be "error" or "null", got {on_invalid!r}'
        raise ValueError(msg)
    return on_invalid  # type: ignore[return-value]
