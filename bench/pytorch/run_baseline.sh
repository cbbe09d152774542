#!/usr/bin/env bash
# Full PyTorch baseline: 3 training epochs (timed, then k-means quality on the
# trained model) and the embedding benchmark, all with 2 threads.
# JSON lines go to stdout and to $OUT_DIR/baseline-<timestamp>.jsonl.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${VENV:-$repo/bench/.venv-torch}"
out_dir="${OUT_DIR:-$repo/out/bench-pytorch}"
threads="${THREADS:-2}"
epochs="${EPOCHS:-3}"
repeats="${REPEATS:-5}"
seed="${SEED:-0}"

if [[ ! -x "$venv/bin/python" ]]; then
    echo "creating $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet -r "$here/requirements.txt"
fi

mkdir -p "$out_dir"
result="$out_dir/baseline-$(date +%Y%m%d-%H%M%S).jsonl"

# Keep BLAS/OpenMP pools (numpy, sklearn) at the same size as torch's so the
# whole run uses the stated thread count.
export OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads"

"$venv/bin/python" "$here/vrae_torch.py" \
    --threads "$threads" --epochs "$epochs" --seed "$seed" --repeats "$repeats" \
    --train-bench --quality --embed-bench | tee "$result"

echo "results: $result" >&2
