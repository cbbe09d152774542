# Helpers for the Ballista benchmarks (sourced, not run): a local cluster of
# one vrae-scheduler and N vrae-executor processes on loopback, and the
# benchmark data (ECG5000_TEST copied into several Parquet files).
#
# Needs: BIN (the folder holding vrae-sql, vrae-scheduler, vrae-executor,
# release builds), WORK (a scratch folder). Ports start at PORT (50250).
# SCHEDULER_ARGS and EXECUTOR_ARGS (words) are added to every scheduler's
# and executor's flags.

PORT="${PORT:-50250}"
PIDS=()

# start_scheduler [extra scheduler flags...]
start_scheduler() {
    "$BIN/vrae-scheduler" --bind-host 127.0.0.1 --external-host 127.0.0.1 --bind-port "$PORT" \
        --event-log-dir "$WORK/events" --task-distribution round-robin ${SCHEDULER_ARGS:-} "$@" >"$WORK/scheduler.log" 2>&1 &
    PIDS+=($!)
}

# start_executor NAME VCORES THREADS: an executor running VCORES tasks at a
# time, which embed on one pool of THREADS threads (RAYON_NUM_THREADS: the
# process's cores for the vrae functions).
start_executor() {
    local name=$1 vcores=$2 threads=$3 n=${#PIDS[@]}
    mkdir -p "$WORK/work-$name"
    RAYON_NUM_THREADS="$threads" "$BIN/vrae-executor" --id "$name" --scheduler-host 127.0.0.1 --scheduler-port "$PORT" \
        --scheduler-connect-timeout-seconds 30 --bind-host 127.0.0.1 --external-host 127.0.0.1 \
        -p $((PORT + 10 * n + 1)) --bind-grpc-port $((PORT + 10 * n + 2)) --bind-health-port $((PORT + 10 * n + 3)) \
        --work-dir "$WORK/work-$name" --vcores "$vcores" ${EXECUTOR_ARGS:-} >"$WORK/$name.log" 2>&1 &
    PIDS+=($!)
}

# wait_ready EXECUTORS: until the scheduler counts that many live executors.
wait_ready() {
    for _ in $(seq 300); do
        if [ "$(python3 -c "import json, urllib.request; print(len(json.load(urllib.request.urlopen('http://127.0.0.1:$PORT/api/executors'))))" 2>/dev/null)" = "$1" ]; then
            return 0
        fi
        sleep 0.2
    done
    echo "the cluster did not come up; logs in $WORK" >&2
    return 1
}

stop_cluster() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    PIDS=()
}

# make_data FILES COPIES_PER_FILE: WORK/series/part-K.parquet, each
# ECG5000_TEST (4500 series of 140 steps) copied COPIES_PER_FILE times,
# and WORK/model/model.parquet, a model of the default architecture (one
# epoch: the cost of embedding does not depend on training).
make_data() {
    local files=$1 copies=$2
    mkdir -p "$WORK/series" "$WORK/model"
    "$BIN/vrae-sql" -q -c "COPY (SELECT vrae_fit(series, '{\"epochs\": 1}') AS model FROM 'data/ECG5000_TRAIN.parquet') TO '$WORK/model/model.parquet' STORED AS PARQUET" >/dev/null
    for k in $(seq 0 $((files - 1))); do
        "$BIN/vrae-sql" -q -c "COPY (SELECT s.id + 100000 * (g.copy + $k * $copies) AS id, s.series FROM 'data/ECG5000_TEST.parquet' s CROSS JOIN generate_series(1, $copies) AS g(copy)) TO '$WORK/series/part-$k.parquet' STORED AS PARQUET" >/dev/null
    done
}

# The statements that register the tables the benchmark queries read.
tables_sql() {
    echo "CREATE EXTERNAL TABLE series STORED AS PARQUET LOCATION '$WORK/series/'; CREATE EXTERNAL TABLE m STORED AS PARQUET LOCATION '$WORK/model/';"
}

# The embedding job: every series' latent mean, written to Parquet files in OUT.
embed_sql() {
    echo "COPY (SELECT s.id, vrae_embed(s.series, m.model) AS embedding FROM series s CROSS JOIN m) TO '$1/' STORED AS PARQUET"
}
