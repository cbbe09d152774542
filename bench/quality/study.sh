#!/usr/bin/env bash
# The defaults study: vrae with one option changed at a time, on the quick
# subset of the quality suite (or --datasets), 3 seeds, one core per variant
# (VRAE_STUDY_LANES variants run side by side). Each variant's JSON lines
# go to OUT/NAME.jsonl; the table compares them with the defaults.
# VRAE_STUDY_LATENTS=1 also keeps every fit's latents under OUT/latents/NAME
# (for bench/quality/recluster.py).
#
#   bash bench/quality/study.sh DATA_DIR OUT NAME='{"option": value}' ...
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${1:?usage: study.sh DATA_DIR OUT NAME=JSON ...}
out=${2:?usage: study.sh DATA_DIR OUT NAME=JSON ...}
shift 2
datasets=${VRAE_STUDY_DATASETS:-GunPoint,CBF,ECG200,ItalyPowerDemand,Chinatown,BasicMotions,JapaneseVowels,PickupGestureWiimoteZ,Trace,Coffee}
lanes=${VRAE_STUDY_LANES:-1}
mkdir -p "$out"
exe=$(bash scripts/bench-exe.sh quality 2>/dev/null)
for variant in "$@"; do
  name=${variant%%=*}
  options=$(python3 -c 'import json,sys; o=json.loads(sys.argv[1]); o.setdefault("threads", 1); print(json.dumps(o))' "${variant#*=}")
  [ -s "$out/$name.jsonl" ] && continue
  latents=()
  [ -n "${VRAE_STUDY_LATENTS:-}" ] && latents=(--latents "$out/latents/$name")
  "$exe" --data "$data" --datasets "$datasets" --options "$options" --method "vrae[$name]" "${latents[@]}" > "$out/$name.jsonl.part" \
    && mv "$out/$name.jsonl.part" "$out/$name.jsonl" &
  while [ "$(jobs -rp | wc -l)" -ge "$lanes" ]; do sleep 2; done
done
wait
python3 bench/quality/report.py "$out"/*.jsonl > "$out/table.md"
cat "$out/table.md"
