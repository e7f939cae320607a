#!/usr/bin/env bash
# The 100M-event run (issues 15 and 16): generate, ingest into a dataset folder, then every
# analysis of the stored dataset, serial and on a local Dask cluster, each command under
# GNU time (wall clock and peak RSS), the JSON outputs compared. About an hour on 2 cores;
# needs ~11 GiB of disk under bench-data/ (git-ignored). Results: bench-data/r100m/times.tsv.
#
#     bash benchmarks/run_100m.sh [EVENTS]        # default 100000000
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${1:-100000000}
JM=.venv/bin/journeyminer
G=bench-data/g$EVENTS
D=bench-data/ds$EVENTS
R=bench-data/r$EVENTS
mkdir -p "$R"
: > "$R/times.tsv"

step() {  # step NAME OUTFILE COMMAND...: run under GNU time, record wall s and peak MiB
    local name=$1 outfile=$2
    shift 2
    /usr/bin/time -f "%e %M" -o "$R/$name.time" "$@" > "$outfile" 2> "$R/$name.err" || {
        echo "$name failed: $(tail -3 "$R/$name.err")" >&2
        printf '%s\tfailed\t\n' "$name" >> "$R/times.tsv"
        return 0
    }
    read -r wall kib < "$R/$name.time"
    printf '%s\t%s\t%s\n' "$name" "$wall" "$((kib / 1024))" | tee -a "$R/times.tsv"
}

[ -f "$G/map.toml" ] || step generate "$R/generate.json" $JM generate "$G" --events "$EVENTS" --seed 7 --json
[ -f "$D/manifest.json" ] || step ingest "$R/ingest.json" $JM ingest "$G/web.csv=web" \
    "$G/call_center.csv=call_center" "$G/crm.csv=crm" --identities "$G/identities.csv" \
    --customers "$G/customers.csv" --timezone Europe/Amsterdam --out "$D" --json
step mine "$R/mine.json" $JM mine "$D" --json
step mine-local2 "$R/mine-local2.json" $JM mine "$D" --json --cluster local:2
step compare "$R/compare.json" $JM compare "$D" --map "$G/map.toml" --json
step compare-local2 "$R/compare-local2.json" $JM compare "$D" --map "$G/map.toml" --json --cluster local:2
step drift "$R/drift.json" $JM drift "$D" --map "$G/map.toml" --json
step draft "$R/draft.json" $JM map draft "$D" --json
step mine-top10 "$R/mine-top10.json" $JM mine "$D" --json --top-variants 10
for a in mine compare; do
    if cmp -s "$R/$a.json" "$R/$a-local2.json"; then echo "$a: local:2 prints the same JSON"; else echo "$a: local:2 DIFFERS"; fi
done
