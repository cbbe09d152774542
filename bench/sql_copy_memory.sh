#!/usr/bin/env bash
# Peak memory of streaming embeddings from Parquet to Parquet with COPY in
# the vrae-sql shell, for two input sizes (ECG5000_TEST copied N times). If
# COPY streams, peak RSS stays flat while the input grows tenfold.
#
#   VRAE_SQL=target/release/vrae-sql bash bench/sql_copy_memory.sh [small_copies] [large_copies]
set -euo pipefail
cd "$(dirname "$0")/.."
shell="${VRAE_SQL:-target/release/vrae-sql}"
small="${1:-20}"
large="${2:-200}"
work="${TMPDIR:-/tmp}/vrae-copy-memory-$$"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

# A model with the default architecture (one epoch: the cost of embedding
# does not depend on training).
"$shell" -q -c "COPY (SELECT vrae_fit(series, '{\"epochs\": 1}') AS model FROM 'data/ECG5000_TRAIN.parquet') TO '$work/model.parquet' STORED AS PARQUET" >/dev/null

for copies in "$small" "$large"; do
    input="$work/input-$copies.parquet"
    "$shell" -q -c "COPY (SELECT s.id + 100000 * g.copy AS id, s.series FROM 'data/ECG5000_TEST.parquet' s CROSS JOIN generate_series(1, $copies) AS g(copy)) TO '$input' STORED AS PARQUET" >/dev/null
    rows=$((copies * 4500))
    bytes=$(stat -c %s "$input")
    /usr/bin/time -f "%M %e" -o "$work/time" "$shell" -q -c \
        "COPY (SELECT s.id, vrae_embed(s.series, m.model) AS embedding FROM '$input' s CROSS JOIN '$work/model.parquet' m) TO '$work/out-$copies.parquet' STORED AS PARQUET" >/dev/null
    read -r peak_kib seconds < "$work/time"
    echo "{\"kind\": \"copy_memory\", \"rows\": $rows, \"input_bytes\": $bytes, \"uncompressed_f64_bytes\": $((rows * 140 * 8)), \"peak_rss_mib\": $((peak_kib / 1024)), \"seconds\": $seconds, \"series_per_s\": $(python3 -c "print(round($rows / $seconds))")}"
    rm -f "$input" "$work/out-$copies.parquet"
done
