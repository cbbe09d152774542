#!/usr/bin/env bash
# Runs the GPU check (bench/gpu/gpu_check.rs) on a machine with an NVIDIA
# GPU, its driver and the CUDA 13 libraries in its Python environment, and
# no Rust toolchain: the binary is built elsewhere by
# bench/gpu/build.sh into target/gpu/gpu_check.xz and carried here.
#
#   bash bench/gpu/check.sh [--quick]
#
# Writes the full output to $OUT/gpu_check.log when OUT is set.
set -euo pipefail
cd "$(dirname "$0")/../.."
packed=target/gpu/gpu_check.xz
[ -f "$packed" ] || { echo "no $packed: build it with bench/gpu/build.sh first" >&2; exit 1; }
exe=/tmp/vrae-gpu_check
python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$packed" "$exe"
chmod +x "$exe"

# The CUDA libraries the binary links (cuBLAS, cuRAND, NVRTC, the runtime)
# from the Python environment's nvidia wheels; the driver's libcuda from
# the system.
libs=$(python3 - <<'PY'
import glob, os, site
roots = site.getsitepackages() + [site.getusersitepackages()]
dirs = sorted({os.path.dirname(p) for r in roots for p in glob.glob(os.path.join(r, "nvidia", "**", "lib*.so*"), recursive=True)})
print(":".join(dirs))
PY
)
export LD_LIBRARY_PATH="$libs:${LD_LIBRARY_PATH:-}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
missing=$(ldd "$exe" | grep "not found" || true)
[ -z "$missing" ] || { echo "libraries not found: $missing" >&2; exit 1; }
log=${OUT:-/tmp}/gpu_check.log
set -o pipefail
"$exe" --data data "$@" 2>&1 | tee "$log"
