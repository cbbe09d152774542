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

echo "== cargo test (target dir: $CARGO_TARGET_DIR)"
cargo test --locked -- --test-threads=2
echo "== benchmarks compile"
cargo test --locked --benches --no-run
# DataFusion is heavy: it is built only for the SQL tests, behind `sql`.
echo "== SQL functions (feature sql)"
cargo test --locked --features sql --test sql -- --test-threads=2
