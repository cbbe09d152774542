#!/usr/bin/env bash
# Embedding throughput on a local Ballista cluster against one vrae-sql
# process, on the same data in the same minutes: the job embeds every
# series of FILES Parquet files (ECG5000_TEST copied COPIES times each;
# 8 x 14 x 4500 = 504,000 series by default) and writes the embeddings to
# Parquet. Runs: vrae-sql, a cluster of 1 executor (2 tasks at a time, 2
# embedding threads), a cluster of 2 executors (1 task and 1 thread each:
# the 2 cores either way), vrae-sql
# again; then the per-task overhead (a query that reads nothing but file
# footers, on the cluster and locally). Prints JSON lines.
#
#   BIN=target/release bash bench/ballista/throughput.sh [FILES] [COPIES]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN="$(realpath "${BIN:-target/release}")"
FILES="${1:-8}"
COPIES="${2:-14}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/vrae-ballista-bench-XXXX")"
source bench/ballista/cluster.sh
trap 'stop_cluster; rm -rf "$WORK"' EXIT
ROWS=$((FILES * COPIES * 4500))

make_data "$FILES" "$COPIES"

# run LABEL [--remote URL]: the embedding job, timed.
run() {
    local label=$1
    shift
    local out="$WORK/out-$label"
    local start end
    start=$(date +%s.%N)
    "$BIN/vrae-sql" -q "$@" -c "$(tables_sql)" -c "$(embed_sql "$out")" >/dev/null
    end=$(date +%s.%N)
    local written
    written=$("$BIN/vrae-sql" -q --format csv -c "SELECT count(*) FROM '$out/'" | tail -n 1)
    [ "$written" = "$ROWS" ] || { echo "$label wrote $written rows, not $ROWS" >&2; exit 1; }
    rm -rf "$out"
    python3 -c "import json; s = $end - $start; print(json.dumps({'run': '$label', 'rows': $ROWS, 'seconds': round(s, 1), 'series_per_s': round($ROWS / s)}))"
}

# overhead LABEL [--remote URL]: seconds of a query whose tasks do almost nothing.
overhead() {
    local label=$1
    shift
    local start end
    start=$(date +%s.%N)
    for _ in 1 2 3 4 5; do
        "$BIN/vrae-sql" -q "$@" -c "$(tables_sql)" -c "SELECT count(*) FROM series WHERE id < 0" >/dev/null
    done
    end=$(date +%s.%N)
    python3 -c "import json; print(json.dumps({'overhead': '$label', 'files': $FILES, 'seconds_per_query': round(($end - $start) / 5, 3)}))"
}

run local
start_scheduler
start_executor executor-1 2 2
wait_ready 1
run cluster-1-executor --remote "df://127.0.0.1:$PORT"
overhead cluster-1-executor --remote "df://127.0.0.1:$PORT"
stop_cluster
start_scheduler
start_executor executor-1 1 1
start_executor executor-2 1 1
wait_ready 2
run cluster-2-executors --remote "df://127.0.0.1:$PORT"
overhead cluster-2-executors --remote "df://127.0.0.1:$PORT"
stop_cluster
run local-again
overhead local
