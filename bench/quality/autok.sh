#!/usr/bin/env bash
# Choosing k: vrae with `clusters: "auto"` (k in 2..=MAX by the best mean
# silhouette) against the same criterion on k-means of the raw values, on
# the quality suite's datasets and rows, 3 seeds. Writes JSON lines and
# table.md (how often each picks the number of classes, how far off it is,
# and the NMI it reaches) to OUT.
#
#   bash bench/quality/autok.sh DATA_DIR OUT [MAX (default 10)] [--datasets A,B]
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${1:?usage: autok.sh DATA_DIR OUT [MAX] [--datasets A,B]}
out=${2:?usage: autok.sh DATA_DIR OUT [MAX] [--datasets A,B]}
max=${3:-10}
shift $(( $# < 3 ? $# : 3 ))
datasets=()
[ "${1:-}" = "--datasets" ] && datasets=(--datasets "$2")
mkdir -p "$out"
# A folder without the suite's manifest is filled first (a clone has no
# ../shared/data): scripts/fetch-data.sh writes the same files.
[ -f "$data/datasets.json" ] || bash scripts/fetch-data.sh "$data"
exe=$(bash scripts/bench-exe.sh quality 2>/dev/null)
venv=bench/.venv-classic
[ -x $venv/bin/python ] || python3 -m venv $venv
$venv/bin/pip install -q -r bench/quality/requirements.txt
# Two lanes, one core each: vrae's seeds, then k-means on the raw values.
for seed in 0 1 2; do
  "$exe" --data "$data" "${datasets[@]}" --seeds $seed --auto-k "$max" --options '{"threads": 1}' --method vrae_auto > "$out/vrae_auto.seed$seed.jsonl" &
  while [ "$(jobs -rp | wc -l)" -ge 2 ]; do sleep 2; done
done
VRAE_CLUSTERS_MAX=$max OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
  $venv/bin/python bench/quality/classic.py --data "$data" "${datasets[@]}" --methods kmeans_raw_auto > "$out/kmeans_raw_auto.jsonl" &
wait
python3 bench/quality/autok_report.py "$max" "$out"/*.jsonl > "$out/table.md"
cat "$out/table.md"
