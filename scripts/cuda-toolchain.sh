#!/usr/bin/env bash
# Sets up what `cargo build --features cuda` needs on a machine without a
# CUDA installation, and without a GPU: nvcc, the CUDA headers (with CCCL)
# and the CUDA libraries from PyPI wheels in a virtualenv, and a CUDA_HOME
# made of symlinks into it. Then prints the environment to build with:
#
#   eval "$(bash scripts/cuda-toolchain.sh)"
#   cargo build --release --features cuda ...
#
# CUDA 13.0 matches the 580 drivers of the H100/H200 machines (the toolkit
# must be no newer than the driver). CUDA_COMPUTE_CAP=90 builds the kernels
# for Hopper; set VRAE_CUDA_COMPUTE_CAP for another card.
#
# cudarc (under Candle) links against the driver library, libcuda.so, which
# only comes with a driver. Where there is none, this script builds a stub
# with the driver functions cudarc calls (as the CUDA toolkit's own
# lib64/stubs/libcuda.so is); the real driver replaces it at run time.
set -euo pipefail

root=${VRAE_CUDA_DIR:-$HOME/.cache/vrae-cuda}
version=${VRAE_CUDA_VERSION:-13.0}
# Every wheel pinned to the same minor version: nvcc 13.0 with the newest
# nvvm (pulled in unpinned) writes PTX that its own ptxas refuses.
cap=${VRAE_CUDA_COMPUTE_CAP:-90}
mkdir -p "$root"
{
  [ -x "$root/venv/bin/python" ] || python3 -m venv "$root/venv"
  "$root/venv/bin/pip" install -q \
    "nvidia-cuda-nvcc==$version.*" "nvidia-cuda-runtime==$version.*" "nvidia-cuda-cccl==$version.*" \
    "nvidia-cuda-nvrtc==$version.*" "nvidia-cublas==$version.*" "nvidia-curand<10.5" \
    "nvidia-nvvm==$version.*" "nvidia-cuda-crt==$version.*"
} >&2
site=$("$root/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
tree="$site/nvidia/cu${version%%.*}"
[ -x "$tree/bin/nvcc" ] || { echo "no nvcc in $tree/bin after installing the wheels" >&2; exit 1; }

# CUDA_HOME: the wheels' tree, plus lib64 with the unversioned library names
# the linker looks for.
home="$root/cuda-$version"
rm -rf "$home"
mkdir -p "$home/lib64"
for d in bin include nvvm; do
  [ -e "$tree/$d" ] && ln -s "$tree/$d" "$home/$d"
done
for lib in "$tree"/lib/lib*.so.*; do
  name=$(basename "$lib")
  ln -sf "$lib" "$home/lib64/$name"
  ln -sf "$lib" "$home/lib64/${name%%.so.*}.so"
done

if ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then
  # The driver functions cudarc declares (each `fn cu...(` in its bindings).
  cudarc=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-* 2>/dev/null | sort -V | tail -1)
  [ -n "$cudarc" ] || { echo "cudarc's source is not in the cargo registry: run 'cargo fetch' first" >&2; exit 1; }
  grep -ohE '^\s+fn (cu[A-Za-z0-9_]+)\(' "$cudarc/src/driver/sys/mod.rs" | sed -E 's/^\s+fn (cu[A-Za-z0-9_]+)\(/\1/' | sort -u \
    | awk '{print "void " $1 "(void) {}"}' > "$home/lib64/cuda_stub.c"
  cc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$home/lib64/libcuda.so" "$home/lib64/cuda_stub.c"
fi

echo "export CUDA_HOME='$home' CUDA_PATH='$home' CUDA_COMPUTE_CAP=$cap"
echo "export PATH='$home/bin':\"\$PATH\""
echo "export LIBRARY_PATH='$home/lib64':\"\${LIBRARY_PATH:-}\""
