#!/usr/bin/env bash
# Builds the GPU check binary on a machine without a GPU (or CUDA): the CUDA
# toolchain from PyPI wheels (scripts/cuda-toolchain.sh), then the
# `gpu_check` bench target with the `cuda` feature, copied to
# target/gpu/gpu_check for bench/gpu/check.sh to run on a GPU machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo fetch --locked >&2
eval "$(bash scripts/cuda-toolchain.sh)"
exe=$(bash scripts/bench-exe.sh gpu_check --features cuda)
mkdir -p target/gpu
cp "$exe" target/gpu/gpu_check
echo "built target/gpu/gpu_check; on a GPU machine: bash bench/gpu/check.sh" >&2
