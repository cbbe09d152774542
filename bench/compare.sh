#!/usr/bin/env bash
# Side-by-side speed run: vrae's core API and the PyTorch baseline, back to
# back on the same threads, on ECG5000. Prints both sets of JSON lines and
# keeps them in out/bench/compare-<timestamp>.jsonl.
#
#   bash bench/compare.sh            # THREADS=2 EPOCHS=3 REPEATS=5 by default
#   PAA_STEPS=0 bash bench/compare.sh   # the same work as PyTorch's: every step, plain loss
#
# PAA_STEPS=0 also sets SHIFT_TOLERANCE=0 unless it is given: the network
# then sees every step and compares each reconstruction with its series as
# it is, as the PyTorch baseline does.
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${THREADS:-2}"
epochs="${EPOCHS:-3}"
repeats="${REPEATS:-5}"
[ "${PAA_STEPS:-}" = 0 ] && SHIFT_TOLERANCE="${SHIFT_TOLERANCE:-0}"
mkdir -p out/bench
result="out/bench/compare-$(date +%Y%m%d-%H%M%S).jsonl"

cargo bench --bench speed --no-run >/dev/null 2>&1 || cargo bench --bench speed --no-run
{
    echo "{\"kind\": \"machine\", \"date\": \"$(date -u +%FT%TZ)\", \"cpu\": \"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)\", \"loadavg\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
    echo '{"kind": "impl", "name": "vrae"}'
    cargo bench --bench speed -- --threads "$threads" --epochs "$epochs" --repeats "$repeats" ${PAA_STEPS:+--paa-steps "$PAA_STEPS"} ${SHIFT_TOLERANCE:+--shift-tolerance "$SHIFT_TOLERANCE"}
    echo '{"kind": "impl", "name": "pytorch"}'
    THREADS="$threads" EPOCHS="$epochs" REPEATS="$repeats" OUT_DIR=out/bench bash bench/pytorch/run_baseline.sh
} | tee "$result"
echo "results: $result" >&2
