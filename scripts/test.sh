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

# One build for everything: the core and the DataFusion crate (sql/) are
# built together with the shell's feature (`vrae-datafusion/cli`: DataFusion,
# the DataFusion CLI) on for every step, so that the crate graph, candle
# included, is compiled once rather than once per feature set.
echo "== cargo fmt --check (rustfmt.toml)"
cargo fmt --all --check
echo "== cargo test: core, SQL functions, SQL test files (sql/tests/*.slt), vrae-sql shell and its example scripts"
cargo test --locked --features vrae-datafusion/cli -- --test-threads=2
echo "== benchmarks compile"
cargo test --locked --features vrae-datafusion/cli --benches --no-run
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
PYO3_PYTHON="$venv/bin/python" cargo test --locked -p polars-vrae
VRAE_SQL="$CARGO_TARGET_DIR/debug/vrae-sql" "$venv/bin/python" -m pytest python/tests -q -p no:cacheprovider
