#!/usr/bin/env bash
# What a job does when an executor dies under it: a cluster of two
# executors runs the embedding job (COPY ... TO a Parquet folder) and one
# executor is killed (SIGKILL) KILL_AFTER seconds in. Records how the job
# ends (its exit status, its error, how long it took), which files it left
# in the output folder and how many rows they hold. Prints JSON lines.
#
#   BIN=target/release bash bench/ballista/fault.sh [KILL_AFTER] [FILES] [COPIES]
#
# The scheduler declares an executor lost after --executor-timeout-seconds
# without a heartbeat (180 s by default); to see a faster recovery:
#   SCHEDULER_ARGS="--executor-timeout-seconds 20" \
#   EXECUTOR_ARGS="--executor-heartbeat-interval-seconds 5" bash bench/ballista/fault.sh
# CLIENT_SQL, statements the client runs first, e.g.
#   CLIENT_SQL="SET ballista.planner.adaptive.enabled = false"
# The job's time limit is JOB_LIMIT seconds, 900 by default (exit status 124: it hung).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN="$(realpath "${BIN:-target/release}")"
KILL_AFTER="${1:-10}"
FILES="${2:-8}"
COPIES="${3:-14}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/vrae-ballista-fault-XXXX")"
source bench/ballista/cluster.sh
trap 'stop_cluster; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
ROWS=$((FILES * COPIES * 4500))

make_data "$FILES" "$COPIES"
start_scheduler
start_executor executor-1 1 1
start_executor executor-2 1 1
wait_ready 2
victim=${PIDS[2]}

out="$WORK/out"
start=$(date +%s.%N)
set +e
timeout "${JOB_LIMIT:-900}" "$BIN/vrae-sql" -q --remote "df://127.0.0.1:$PORT" ${CLIENT_SQL:+-c "$CLIENT_SQL"} -c "$(tables_sql)" -c "$(embed_sql "$out")" >"$WORK/job.out" 2>"$WORK/job.err" &
job=$!
sleep "$KILL_AFTER"
kill -9 "$victim"
killed=$(date +%s.%N)
wait "$job"
status=$?
set -e
end=$(date +%s.%N)
files=$(find "$out" -type f 2>/dev/null | wc -l)
written=0
if [ "$files" -gt 0 ]; then
    written=$("$BIN/vrae-sql" -q --format csv -c "SELECT count(*) FROM '$out/'" 2>/dev/null | tail -n 1 || echo "unreadable")
fi
python3 - "$WORK/job.err" "$WORK/job.out" <<PY
import json, sys
err = open(sys.argv[1]).read().strip().splitlines()
out = open(sys.argv[2]).read().strip().splitlines()
print(json.dumps({"rows": $ROWS, "kill_after_s": $KILL_AFTER, "exit_status": $status,
                  "seconds_total": round($end - $start, 1), "seconds_after_kill": round($end - $killed, 1),
                  "files_left": $files, "rows_in_files": "$written",
                  "error": err[-1] if err else None, "output": out[-1] if out else None}))
PY
