#!/usr/bin/env bash
# Runs the whole test suite: unit, integration and doc tests of the core, and
# checks that every example and benchmark still compiles.
#
# Builds go to a target directory outside the clone when one is configured
# (VRAE_TARGET_DIR, default ~/.cache/vrae-target) so that CI and repeated runs
# reuse compiled dependencies; an empty one simply means a full build.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${VRAE_TARGET_DIR:-$HOME/.cache/vrae-target}"
mkdir -p "$CARGO_TARGET_DIR"
export CARGO_TERM_COLOR=never
# The Python extensions (python/, python-datafusion/) are not linked to
# libpython: the interpreter that loads them provides it. maturin sets this
# too, so every build below configures pyo3 the same way.
export PYO3_BUILD_EXTENSION_MODULE=1

# One build for everything: the core, the DataFusion crate (sql/) and the
# DataFusion Python library (python-datafusion/) are built together with the
# shell's feature (`vrae-datafusion/cli`: DataFusion, the DataFusion CLI) on
# for every step, so that the crate graph, candle and DataFusion included, is
# compiled once rather than once per feature set.
echo "== cargo fmt --check (rustfmt.toml)"
cargo fmt --all --check
echo "== cargo test: core, SQL functions, SQL test files (sql/tests/*.slt), vrae-sql shell and its example scripts"
cargo test --locked --features vrae-datafusion/cli -- --test-threads=2
# Every other target in the same feature set: the benchmarks, the examples,
# and the DataFusion Python library (a cdylib, which `cargo test` does not
# link). maturin would build that library with its own feature set, and so a
# second DataFusion; its tests below load this build instead.
echo "== benchmarks, examples and the DataFusion Python library compile"
cargo build --locked --all-targets --features vrae-datafusion/cli
# Lints over every target of both crates (the Polars plugin is a workspace
# member), with the same features as the build above.
echo "== cargo clippy -D warnings"
cargo clippy --locked --workspace --all-targets --features vrae-datafusion/cli -- -D warnings

# The Polars plugin (python/, a member of the root workspace: one lock file,
# one profile) in a virtualenv, built by maturin in the dev profile into the
# same target directory, then its pytest suite; the SQL round-trip tests use the vrae-sql
# binary the step above built.
echo "== Python package polars_vrae: build with maturin, run pytest"
venv="${VRAE_PYTHON_VENV:-$PWD/python/.venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r python/requirements-test.txt
VIRTUAL_ENV="$venv" "$venv/bin/maturin" develop --locked --manifest-path python/Cargo.toml
# The plugin's own Rust tests (the Polars-to-Arrow hand-over, output columns),
# against the dependencies maturin just built.
PYO3_PYTHON="$venv/bin/python" env -u PYO3_BUILD_EXTENSION_MODULE cargo test --locked -p polars-vrae
VRAE_SQL="$CARGO_TARGET_DIR/debug/vrae-sql" "$venv/bin/python" -m pytest python/tests -q -p no:cacheprovider

# The datafusion_vrae package (python-datafusion/) against the real
# `datafusion` package, with the library built above in place of maturin's
# (the same sources and pyproject; `pip install ./python-datafusion` builds
# the wheel). Its tests also check one model format with polars_vrae and
# the vrae-sql binary.
echo "== Python package datafusion_vrae: pytest against datafusion (PyPI)"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r python-datafusion/requirements-test.txt
cp "$CARGO_TARGET_DIR/debug/libdatafusion_vrae.so" python-datafusion/datafusion_vrae/_internal.abi3.so
PYTHONPATH="$PWD/python-datafusion" VRAE_SQL="$CARGO_TARGET_DIR/debug/vrae-sql" "$venv/bin/python" -m pytest python-datafusion/tests -q -p no:cacheprovider
