#!/usr/bin/env bash
# Training and embedding speed and peak memory on long series, vrae against
# the PyTorch baseline, back to back on the same threads: ECG5000's first
# ROWS series stretched to each length (bench/long/make_data.py), 2 epochs,
# batch 32. vrae runs with the library's defaults and with PAA off
# (`paa_steps` 0 and `shift_tolerance` 0: the network sees every step and
# its loss is the plain one, the same work as PyTorch's).
# Prints one JSON line per run; keeps them in out/bench/long-<timestamp>.jsonl.
#
#   bash bench/long/run.sh            # LENGTHS="140 1000 3000 9000" ROWS=128 THREADS=2
set -euo pipefail
cd "$(dirname "$0")/../.."
lengths="${LENGTHS:-140 1000 3000 9000}"
rows="${ROWS:-128}"
threads="${THREADS:-2}"
torch_venv="${VENV:-bench/.venv-torch}"
data=out/long-data
mkdir -p out/bench "$data"
result="out/bench/long-$(date +%Y%m%d-%H%M%S).jsonl"

[ -x "$torch_venv/bin/python" ] || { python3 -m venv "$torch_venv"; "$torch_venv/bin/pip" install --quiet -r bench/pytorch/requirements.txt; }
# shellcheck disable=SC2086
"$torch_venv/bin/python" bench/long/make_data.py "$data" "$rows" $lengths
cargo bench --bench speed --no-run >/dev/null 2>&1 || cargo bench --bench speed --no-run
speed=$(cargo bench --bench speed --no-run --message-format=json 2>/dev/null | grep -o '"executable":"[^"]*speed-[^"]*"' | tail -1 | cut -d'"' -f4)
export OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads"

# Runs a command under /usr/bin/time and prints its JSON lines, each with
# the run's label and the process's peak resident memory.
measure() {
    local label="$1"
    shift
    local log
    log=$(mktemp)
    /usr/bin/time -f '%M' -o "$log.rss" "$@" >"$log" 2>/dev/null
    local rss_kib
    rss_kib=$(tail -1 "$log.rss")
    grep '^{' "$log" | python3 -c '
import json, sys
label, rss = sys.argv[1], int(sys.argv[2])
for line in sys.stdin:
    row = json.loads(line)
    if row.get("kind") in ("train", "embed", "embed_best"):
        print(json.dumps({"run": label, "peak_rss_mib": round(rss / 1024), **row}))
' "$label" "$rss_kib"
    rm -f "$log" "$log.rss"
}

{
    echo "{\"kind\": \"machine\", \"date\": \"$(date -u +%FT%TZ)\", \"commit\": \"$(git rev-parse --short HEAD)\", \"rows\": $rows, \"threads\": $threads}"
    for n in $lengths; do
        measure "vrae n=$n defaults" "$speed" --data "$data" --name "LONG$n" --epochs 2 --threads "$threads" --repeats 1
        measure "vrae n=$n paa_steps=0" "$speed" --data "$data" --name "LONG$n" --epochs 2 --threads "$threads" --repeats 1 --paa-steps 0 --shift-tolerance 0
        measure "pytorch n=$n" "$torch_venv/bin/python" bench/pytorch/vrae_torch.py --data-dir "$data" --name "LONG$n" \
            --threads "$threads" --epochs 2 --repeats 1 --batch-sizes 32 --train-bench --embed-bench
    done
} | tee "$result"
echo "results: $result" >&2
