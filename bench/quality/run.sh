#!/usr/bin/env bash
# The clustering-quality suite: vrae (defaults, or --options) against k-means
# on the raw series, k-Shape and DTW k-means on the UCR/UEA Parquet folder,
# 3 seeds each, k = number of classes, TRAIN + TEST together. Writes JSON
# lines per method and the Markdown table (table.md) to the output folder.
#
#   bash bench/quality/run.sh DATA_DIR [--quick] [--out DIR] [--max-rows N] [--max-steps N]
#        [--cpu-budget SECONDS] [--options JSON] [--method NAME] [--vrae-only] [--keep-latents]
#
# --keep-latents also writes every vrae fit's latents to OUT/latents (for
# bench/quality/recluster.py and bench/quality/latent_probe.py).
#
# Two lanes run side by side, one core each (vrae with threads 1, the
# classic methods single-threaded); see the jobs below.
set -euo pipefail
cd "$(dirname "$0")/../.."

data=${1:?usage: run.sh DATA_DIR [--quick] [--out DIR] [--max-rows N] [--max-steps N] [--cpu-budget SECONDS] [--options JSON] [--method NAME] [--vrae-only] [--keep-latents]}
shift
out=out/quality
# Every method gets the same rows: at most max_rows per dataset and at most
# max_steps series-steps (rows x longest series), but never fewer than two
# per class, evenly spaced. A classic fit that needs more than cpu_budget
# CPU seconds is stopped and reported as over budget (DTW k-means on long
# series with many classes). Together these keep the whole suite inside an
# hour on 2 cores.
max_rows=1000
max_steps=75000
cpu_budget=150
options='{}'
datasets=""
classic=1
keep_latents=0
method=vrae
# A few minutes: small datasets covering univariate, multivariate and
# variable-length series.
quick=GunPoint,CBF,ECG200,ItalyPowerDemand,Chinatown,BasicMotions,JapaneseVowels,PickupGestureWiimoteZ,Trace,Coffee
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) datasets=$quick ;;
    --out) out=$2; shift ;;
    --max-rows) max_rows=$2; shift ;;
    --max-steps) max_steps=$2; shift ;;
    --cpu-budget) cpu_budget=$2; shift ;;
    --options) options=$2; shift ;;
    --vrae-only) classic=0 ;;
    --keep-latents) keep_latents=1 ;;
    --method) method=$2; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$out"
# A folder without the suite's manifest is filled first (a clone has no
# ../shared/data): scripts/fetch-data.sh writes the same files, or, for a
# folder named ucr-unseen or ucr-unseen-more, the datasets no default was
# chosen on.
if [ ! -f "$data/datasets.json" ]; then
  case "$(basename "$data")" in
    ucr-unseen) bash scripts/fetch-data.sh --unseen "$data" ;;
    ucr-unseen-more) bash scripts/fetch-data.sh --unseen-more "$data" ;;
    *) bash scripts/fetch-data.sh "$data" ;;
  esac
fi

# vrae's half: the bench binary (release profile); threads 1 unless asked.
exe=$(bash scripts/bench-exe.sh quality 2>/dev/null)
options=$(python3 -c 'import json,sys; o=json.loads(sys.argv[1]); o.setdefault("threads", 1); print(json.dumps(o))' "$options")
common=(--data "$data" --max-rows "$max_rows" --max-steps "$max_steps")
[ -n "$datasets" ] && common+=(--datasets "$datasets")
vrae_extra=()
[ $keep_latents = 1 ] && vrae_extra=(--latents "$out/latents")

if [ $classic = 1 ]; then
  venv=bench/.venv-classic
  [ -x $venv/bin/python ] || python3 -m venv $venv
  $venv/bin/pip install -q -r bench/quality/requirements.txt
fi

# Five jobs on two lanes, one core each, longest first: DTW k-means, vrae
# per seed, then k-means and k-Shape together. Each JSON line's `seconds`
# is therefore one core's wall time.
run_job() {
  case $1 in
    vrae:*)
      "$exe" "${common[@]}" --seeds "${1#vrae:}" --options "$options" --method "$method" "${vrae_extra[@]}" > "$out/vrae.seed${1#vrae:}.jsonl" ;;
    classic:*)
      OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 \
        $venv/bin/python bench/quality/classic.py "${common[@]}" --cpu-budget "$cpu_budget" --methods "${1#classic:}" > "$out/classic.${1#classic:}.jsonl" ;;
  esac
}
jobs_list=(vrae:0 vrae:1 vrae:2)
[ $classic = 1 ] && jobs_list=(classic:dtw_kmeans "${jobs_list[@]}" classic:kmeans_raw,kshape)
rm -f "$out"/*.jsonl
started=$(date +%s)
for job in "${jobs_list[@]}"; do
  run_job "$job" &
  while [ "$(jobs -rp | wc -l)" -ge 2 ]; do sleep 2; done
done
wait
for job in "${jobs_list[@]}"; do
  case $job in vrae:*) f="$out/vrae.seed${job#vrae:}.jsonl" ;; classic:*) f="$out/classic.${job#classic:}.jsonl" ;; esac
  [ -s "$f" ] || { echo "job $job wrote nothing ($f)" >&2; exit 1; }
done
echo "suite ran in $(( $(date +%s) - started )) s (options $options)" >&2
python3 bench/quality/report.py "$out"/*.jsonl > "$out/table.md"
cat "$out/table.md"
