#!/usr/bin/env bash
# Builds one `cargo bench` target without running it and prints the path of
# its executable, for scripts that run it themselves (the quality suite,
# the defaults study, the GPU check build).
#
#   bash scripts/bench-exe.sh NAME [more cargo arguments, e.g. --features cuda]
set -euo pipefail
name=${1:?usage: bench-exe.sh NAME [cargo arguments]}
shift
cargo bench --locked --bench "$name" --no-run --message-format=json "$@" \
  | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == sys.argv[1]:
        print(m["executable"])' "$name"
