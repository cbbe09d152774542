#!/usr/bin/env bash
# Builds the GPU check binary on a machine without a GPU (or CUDA): the CUDA
# toolchain from PyPI wheels (scripts/cuda-toolchain.sh), then the
# `gpu_check` bench target with the `cuda` feature, stripped and compressed
# to target/gpu/gpu_check.xz (about 8 MB; the binary itself is 66 MB, mostly
# candle-kernels' PTX, too large for the device machine's 64 MiB working-tree
# limit) for bench/gpu/check.sh to run on a GPU machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo fetch --locked >&2
eval "$(bash scripts/cuda-toolchain.sh)"
exe=$(bash scripts/bench-exe.sh gpu_check --features cuda)
mkdir -p target/gpu
rm -f target/gpu/gpu_check target/gpu/gpu_check.xz
strip -o target/gpu/gpu_check "$exe"
xz -T0 -6 target/gpu/gpu_check
echo "built target/gpu/gpu_check.xz; on a GPU machine (carry target/gpu): bash bench/gpu/check.sh" >&2
