"""Type stubs of the native module (Rust, pyo3): the functions behind
``polars_vrae.train`` and ``polars_vrae.Model``. The same shared library
holds the Polars plugin functions (``vrae_fit``, ``vrae_embed``, ...), which
Polars calls directly and Python never does."""

import polars as pl

__version__: str

def train(series: pl.Series, options: str, on_invalid: str = "error", verbose: bool = False) -> bytes:
    """Trains a model on a Series of series, the GIL released; returns its bytes.

    ``options`` is a JSON object of training options. Raises ``TypeError``
    for an unknown option, ``ValueError`` for a bad value and
    ``polars.exceptions.ComputeError`` for unusable series or failed training.
    """

def model_info(model: bytes) -> str:
    """JSON: format_version, channels, latent, clusters, config, summary.
    Raises ``ValueError`` for bytes that are not a readable vrae model."""

def prototypes(model: bytes, steps: int | None = None, multivariate: bool = False) -> pl.Series:
    """Every cluster's prototype, one row per cluster (see ``Model.prototypes``)."""

def read_model_file(path: str) -> bytes:
    """A model file's bytes; raises ``ValueError`` for what is not a regular
    file or is larger than a model can be, before reading it."""

def write_model_file(path: str, model: bytes) -> None:
    """Writes a model's bytes atomically, only over a regular file (or a link
    to one); raises ``OSError`` (``FileNotFoundError`` for a missing
    directory) otherwise."""

def check_options(options: str) -> str:
    """Checks a JSON object of options; returns every option as JSON.
    Raises ``TypeError`` for an unknown option and ``ValueError`` for a bad value."""

def default_options() -> str:
    """Every option with its default value, as JSON."""

def unsupported_series_type(function: str, dtype: str) -> str:
    """The message for a column type Polars cannot hand over to the extension."""

def tsne(
    latents: pl.Series, perplexity: float = 30.0, epochs: int = 1000, theta: float = 0.5, seed: int = 0
) -> pl.Series:
    """2-D t-SNE coordinates of a Series of latent vectors: ``Array(Float32, 2)``."""
