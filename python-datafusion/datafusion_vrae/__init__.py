"""vrae's time-series clustering functions for the ``datafusion`` Python package.

One call adds every vrae function to a :class:`datafusion.SessionContext`;
SQL then uses them by name, exactly as in ``vrae-sql``::

    import datafusion, datafusion_vrae
    ctx = datafusion.SessionContext()
    datafusion_vrae.register(ctx, models={"ecg": "ecg.safetensors"})
    ctx.register_parquet("beats", "data/ECG5000_TEST.parquet")
    ctx.sql("SELECT id, vrae_cluster(series, 'ecg') AS cluster FROM beats").show()

The functions come from vrae's Rust crate through DataFusion's FFI, which
is stable only within one DataFusion major version: importing this package
checks that the installed ``datafusion`` is the major it was built for.

Passing models: through the FFI, a constant argument reaches the function
as a whole column, one copy per row. A model given as bytes in SQL
(``X'...'``) is therefore copied into every row of every batch (hundreds of
kilobytes each; past 2 GiB per batch, 8192 rows of a 262 kB model,
DataFusion's FFI layer fails with "offset overflow"). Give models to
:func:`register` by name instead, and pass the name; a string that is not a
registered name is read as a model file path. The expression helpers do
this for you: a model given to them as bytes is passed by a name.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from typing import Any, Literal, Mapping, Union

import datafusion
import pyarrow as pa
import pyarrow.dataset
from datafusion import Expr, SessionContext, col, lit, udaf, udf, udtf
from datafusion.catalog import Table

from datafusion_vrae import _internal

__all__ = [
    "DATAFUSION_MAJOR",
    "Functions",
    "register",
    "fit",
    "embed",
    "cluster",
    "score",
    "project",
    "reconstruct",
    "model_info",
]

#: The DataFusion major version this package's library was built against.
DATAFUSION_MAJOR: int = _internal.DATAFUSION_MAJOR


def _check_datafusion_version(installed: str) -> None:
    """Refuses a ``datafusion`` of another major version: the FFI structs
    differ between majors, and handing one over would crash the interpreter."""
    major = installed.split(".", 1)[0]
    if not major.isdigit() or int(major) != DATAFUSION_MAJOR:
        msg = (
            f"datafusion_vrae was built for datafusion {DATAFUSION_MAJOR}.x, but datafusion {installed} "
            f"is installed; DataFusion's FFI is only compatible within one major version. "
            f'Install a matching one: pip install "datafusion>={DATAFUSION_MAJOR},<{DATAFUSION_MAJOR + 1}"'
        )
        raise ImportError(msg)


_check_datafusion_version(datafusion.__version__)

OnInvalid = Literal["error", "null"]
ModelArg = Union[Expr, str, os.PathLike, bytes, bytearray, memoryview, Any]
"""A model argument: a registered name or a model file path (``str``), the
model's bytes, an object with ``to_bytes()`` (``polars_vrae.Model``), or an
expression."""


def _is_model_object(model: Any) -> bool:
    """A model object such as ``polars_vrae.Model`` (numbers have a
    ``to_bytes`` too, and are not models)."""
    return hasattr(model, "to_bytes") and not isinstance(model, (int, float, complex))


def _registered(name: str, model: Any) -> bytes | str:
    """A model given to :func:`register`: its bytes, or a file path that the
    library reads with vrae's own checks (a regular file of a model's size)."""
    if isinstance(model, (str, os.PathLike)):
        return os.fsdecode(model)
    return _model_file_bytes(name, model)


def _model_file_bytes(name: str, model: Any) -> bytes:
    """The bytes of a model given as bytes or a model object."""
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model)
    if _is_model_object(model):
        return bytes(model.to_bytes())
    msg = f"model `{name}`: expected a model file path, the model's bytes or a polars_vrae.Model, got {type(model).__name__}"
    raise TypeError(msg)


def _series(series: Expr | str) -> Expr:
    if isinstance(series, str):
        return col(series)
    if isinstance(series, Expr):
        return series
    msg = f"series must be a column name or an expression, got {type(series).__name__}"
    raise TypeError(msg)


def _model(model: ModelArg) -> Expr:
    """A model argument other than bytes or a model object (which
    `Functions._function_and_model` passes by a name)."""
    if isinstance(model, Expr):
        return model
    if isinstance(model, (str, os.PathLike)):
        return lit(os.fspath(model))
    msg = f"model must be a registered name, a model file path, the model's bytes or an expression, got {type(model).__name__}"
    raise TypeError(msg)


def _option_value(name: str, value: Any) -> Any:
    """A JSON-ready option value: numpy scalars (anything with a scalar
    ``item()``) as the Python value they hold; NaN, infinities and integers
    beyond 64 bits, which JSON would not carry as given, refused by name."""
    item = getattr(value, "item", None)
    if not isinstance(value, (bool, int, float, str)) and callable(item) and getattr(value, "ndim", 0) == 0:
        value = item()
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) and not -(2**63) <= value < 2**64:
        raise ValueError(f"vrae_fit: option `{name}`: {value} is out of range")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"vrae_fit: option `{name}`: must be a finite number, got {value}")
    if isinstance(value, (int, float)):
        return value
    raise TypeError(f"vrae_fit: option `{name}`: expected a number, string, bool or None, got {type(value).__name__}")


def _refuse_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads``' hook: an option given twice is an error, as in SQL
    (``json`` would keep the last in silence)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"vrae_fit: option `{key}`: given twice; give each option once")
        out[key] = value
    return out


def _options(options: Mapping[str, Any] | str | None) -> str:
    if options is None:
        return "{}"
    if isinstance(options, str):
        return options
    if not isinstance(options, Mapping):
        msg = f"vrae_fit: options must be a dict or a JSON string, got {type(options).__name__}"
        raise TypeError(msg)
    return _options_json(dict(options))


def _options_json(options: dict[str, Any]) -> str:
    """Options as a JSON object, each value checked by name."""
    return json.dumps({name: _option_value(name, value) for name, value in options.items()})


# An argument of vrae_prototypes that is not a usable constant.
_NOT_A_CONSTANT = object()

# How many models given as bytes each `Functions` keeps registered.
_MODELS_BY_CONTENT = 16


class Functions:
    """vrae's functions as built for one set of named models: registers them
    on a context and builds DataFrame expressions that call them."""

    def __init__(self, models: Mapping[str, Any] | None = None) -> None:
        named = {name: _registered(name, m) for name, m in (models or {}).items()}
        scalars, aggregates, prototypes = _internal.functions(named)
        self.model_names: tuple[str, ...] = tuple(named)
        self._scalar = {f.name: udf(f) for f in scalars}
        self._aggregate = {f.name: udaf(f) for f in aggregates}
        self._prototypes = prototypes
        # Models given to the expression helpers as bytes, each registered
        # under a name of its own (see `_function_and_model`).
        self._by_content: dict[str, dict[str, Any]] = {}

    def register(self, ctx: SessionContext) -> Functions:
        """Adds every function (``vrae_fit``, ``vrae_embed``, ...,
        ``vrae_prototypes``) to ``ctx``; returns ``self``."""
        for f in self._aggregate.values():
            ctx.register_udaf(f)
        for f in self._scalar.values():
            ctx.register_udf(f)
        ctx.register_udtf(udtf(self._prototypes_table, "vrae_prototypes"))
        return self

    def _prototypes_table(self, *args: Expr) -> Table:
        """``vrae_prototypes(model [, steps])``: one row per cluster, its
        prototype (the decoder run on its centroid). A Python table function
        over the library's computation, with the SQL function's checks."""
        if not 1 <= len(args) <= 2:
            raise ValueError(f"vrae_prototypes: takes (model) or (model, steps), got {len(args)} arguments")
        values = []
        for arg in args:
            try:
                value = arg.python_value().as_py()  # a pyarrow scalar
            except Exception:
                value = None
            # Not a literal, or NULL: refused by the library, with the SQL
            # function's message (None alone would mean "no steps given").
            values.append(_NOT_A_CONSTANT if value is None else value)
        clusters, channels, steps, flat = self._prototypes.compute(*values)
        step = pa.float32() if channels == 1 else pa.list_(pa.field("item", pa.float32(), nullable=False), channels)
        inner = pa.array(flat, pa.float32())
        if channels > 1:
            inner = pa.FixedSizeListArray.from_arrays(inner, type=step)
        offsets = pa.array([i * steps for i in range(clusters + 1)], pa.int32())
        prototype = pa.ListArray.from_arrays(offsets, inner, type=pa.list_(pa.field("item", step, nullable=False)))
        schema = pa.schema([pa.field("cluster", pa.int32(), nullable=False), pa.field("prototype", prototype.type, nullable=False)])
        table = pa.table([pa.array(range(clusters), pa.int32()), prototype], schema=schema)
        return Table(pyarrow.dataset.dataset(table))

    def _function_and_model(self, name: str, model: ModelArg) -> tuple[Any, Expr]:
        """The function to call and the model argument to pass. A model
        given as bytes (or a model object) would reach the function as a
        column with a copy of the bytes in every row (and past 2 GiB per
        batch DataFusion's FFI fails); it is registered under a name taken
        from its content instead, with functions of its own, and the name is
        passed."""
        if isinstance(model, (bytes, bytearray, memoryview)) or _is_model_object(model):
            data = _model_file_bytes("model", model)
            key = f"vrae-model-{hashlib.sha256(data).hexdigest()[:32]}"
            if key not in self._by_content:
                # Bounded: each entry holds a decoded model. Expressions built
                # earlier keep their own functions, so dropping one is safe.
                while len(self._by_content) >= _MODELS_BY_CONTENT:
                    del self._by_content[next(iter(self._by_content))]
                scalars, _, _ = _internal.functions({key: data})
                self._by_content[key] = {f.name: udf(f) for f in scalars}
            return self._by_content[key][name], lit(key)
        return self._scalar[name], _model(model)

    def _call(self, name: str, series: Expr | str, model: ModelArg, on_invalid: OnInvalid) -> Expr:
        function, model_arg = self._function_and_model(name, model)
        call = function(_series(series), model_arg, lit(json.dumps({"on_invalid": on_invalid})))
        # Named after the function, as SQL's default name spells out every argument.
        return call.alias(name)

    def fit(self, series: Expr | str, options: Mapping[str, Any] | str | None = None, **kwargs: Any) -> Expr:
        """``vrae_fit(series, options)``: the aggregate that trains a model
        (the model's bytes); options as a dict, a JSON string or keywords."""
        if kwargs:
            try:
                merged = json.loads(_options(options), object_pairs_hook=_refuse_repeats)
            except json.JSONDecodeError as e:
                raise ValueError(f"vrae_fit: options are not valid JSON: {e}") from None
            if not isinstance(merged, dict):
                raise ValueError(f"vrae_fit: options must be a JSON object, got {merged!r}")
            if twice := sorted(set(merged) & set(kwargs)):
                raise ValueError(f"vrae_fit: option `{twice[0]}`: given twice (in options and as a keyword); give each option once")
            text = _options_json({**merged, **kwargs})
        else:
            # Checked by vrae_fit itself, with its own messages.
            text = _options(options)
        return self._aggregate["vrae_fit"](_series(series), lit(text)).alias("vrae_fit")

    def embed(self, series: Expr | str, model: ModelArg, *, on_invalid: OnInvalid = "error") -> Expr:
        """``vrae_embed``: each series' latent mean."""
        return self._call("vrae_embed", series, model, on_invalid)

    def cluster(self, series: Expr | str, model: ModelArg, *, on_invalid: OnInvalid = "error") -> Expr:
        """``vrae_cluster``: each series' cluster (the model's k-means)."""
        return self._call("vrae_cluster", series, model, on_invalid)

    def score(self, series: Expr | str, model: ModelArg, *, on_invalid: OnInvalid = "error") -> Expr:
        """``vrae_score``: each series' reconstruction error."""
        return self._call("vrae_score", series, model, on_invalid)

    def project(self, series: Expr | str, model: ModelArg, *, on_invalid: OnInvalid = "error") -> Expr:
        """``vrae_project``: each series' 2-D PCA coordinates."""
        return self._call("vrae_project", series, model, on_invalid)

    def reconstruct(self, series: Expr | str, model: ModelArg, *, on_invalid: OnInvalid = "error") -> Expr:
        """``vrae_reconstruct``: each series as the model decodes it."""
        return self._call("vrae_reconstruct", series, model, on_invalid)

    def model_info(self, model: ModelArg) -> Expr:
        """``vrae_model_info``: the model's options and training summary as JSON."""
        function, model_arg = self._function_and_model("vrae_model_info", model)
        return function(model_arg).alias("vrae_model_info")


def register(ctx: SessionContext, models: Mapping[str, Any] | None = None) -> Functions:
    """Adds every vrae function to ``ctx``.

    ``models`` maps names to models (a file path, the model's bytes or a
    ``polars_vrae.Model``), decoded once here; a string model argument equal
    to a name uses that model, in SQL and in the returned object's
    expressions. Raises ``ValueError`` for a model that cannot be read.
    """
    if models is not None and not isinstance(models, Mapping):
        msg = f"models must map names to models (a dict), got {type(models).__name__}"
        raise TypeError(msg)
    return Functions(models).register(ctx)


_default: Functions | None = None


def _functions() -> Functions:
    global _default
    if _default is None:
        _default = Functions()
    return _default


def fit(series: Expr | str, options: Mapping[str, Any] | str | None = None, **kwargs: Any) -> Expr:
    """:meth:`Functions.fit` without named models."""
    return _functions().fit(series, options, **kwargs)


def embed(series: Expr | str, model: ModelArg, *, on_invalid: OnInvalid = "error") -> Expr:
    """:meth:`Functions.embed` without named models."""
    return _functions().embed(series, model, on_invalid=on_invalid)


def cluster(series: Expr | str, model: ModelArg, *, on_invalid: OnInvalid = "error") -> Expr:
    """:meth:`Functions.cluster` without named models."""
    return _functions().cluster(series, model, on_invalid=on_invalid)


def score(series: Expr | str, model: ModelArg, *, on_invalid: OnInvalid = "error") -> Expr:
    """:meth:`Functions.score` without named models."""
    return _functions().score(series, model, on_invalid=on_invalid)


def project(series: Expr | str, model: ModelArg, *, on_invalid: OnInvalid = "error") -> Expr:
    """:meth:`Functions.project` without named models."""
    return _functions().project(series, model, on_invalid=on_invalid)


def reconstruct(series: Expr | str, model: ModelArg, *, on_invalid: OnInvalid = "error") -> Expr:
    """:meth:`Functions.reconstruct` without named models."""
    return _functions().reconstruct(series, model, on_invalid=on_invalid)


def model_info(model: ModelArg) -> Expr:
    """:meth:`Functions.model_info` without named models."""
    return _functions().model_info(model)
