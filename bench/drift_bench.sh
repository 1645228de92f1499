#!/usr/bin/env bash
# Side-by-side drift benchmark: `rampart drift` against Evidently's DataDriftPreset on the
# same ROWS x 20 reference/current Parquet files (5 columns drifted by construction, see
# bench/drift_gen.py).
#
#   bench/drift_bench.sh [--rows N] [--dir DIR] [--skip-evidently] [--out FILE]
#
# Prints a markdown table (wall seconds, peak RSS from /usr/bin/time -v, flagged columns) and
# writes it to bench/results/drift.md. RAMPART=/path/to/rampart skips
# `cargo build --release -p rampart`. Python packages go to bench/.venv-drift.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
ROWS=1000000
DIR="${TMPDIR:-/tmp}/rampart-drift-bench"
EVIDENTLY=1
OUT="$HERE/results/drift.md"

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) ROWS="$2"; shift 2 ;;
    --dir) DIR="$2"; shift 2 ;;
    --skip-evidently) EVIDENTLY=0; shift ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 ;;
  esac
done
log() { printf '[drift_bench] %s\n' "$*" >&2; }

VENV="$HERE/.venv-drift"
if [ ! -x "$VENV/bin/python" ]; then
  log "installing numpy, pyarrow, evidently, pandas<3 into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q numpy pyarrow evidently 'pandas<3'
fi
if [ -z "${RAMPART:-}" ]; then
  log "building rampart (release)"
  (cd "$ROOT" && cargo build --release -q -p rampart)
  RAMPART="$ROOT/target/release/rampart"
fi

DATA="$DIR/$ROWS"
if [ ! -f "$DATA/current.parquet" ]; then
  log "generating $ROWS x 20 reference/current Parquet in $DATA"
  "$VENV/bin/python" "$HERE/drift_gen.py" "$DATA" "$ROWS"
fi

# Runs a command under /usr/bin/time -v; prints "wall_seconds peak_mb" and leaves stdout in $2.
measure() {
  local stdout="$1"; shift
  local timing; timing="$(mktemp)"
  /usr/bin/time -v "$@" >"$stdout" 2>"$timing" || true
  local wall rss
  wall="$(grep 'Elapsed (wall clock)' "$timing" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')"
  rss="$(grep 'Maximum resident set size' "$timing" | awk '{printf "%.0f", $NF/1024}')"
  rm -f "$timing"
  echo "$wall $rss"
}

log "rampart drift"
read -r R_WALL R_RSS < <(measure "$DIR/rampart.json" "$RAMPART" drift "$DATA/reference.parquet" "$DATA/current.parquet" --format json)
R_FLAGGED="$("$VENV/bin/python" -c 'import json,sys; r=json.load(open(sys.argv[1])); print(" ".join(c["column"] for c in r["columns"] if c["drifted"]))' "$DIR/rampart.json")"
R_VERSION="$("$RAMPART" --version | awk '{print $2}')"

log "rampart data check (poisoning indicators on the current table, label cat_02)"
read -r C_WALL C_RSS < <(measure "$DIR/check.json" "$RAMPART" data check "$DATA/current.parquet" --reference "$DATA/reference.parquet" --label cat_02 --format json --no-config)
C_FINDINGS="$("$VENV/bin/python" -c 'import json,sys,collections; r=json.load(open(sys.argv[1])); c=collections.Counter(f["rule_id"]+" ("+f["severity"]+")" for f in r["findings"]); print(", ".join(f"{k}: {v}" for k,v in sorted(c.items())) or "none")' "$DIR/check.json")"

E_ROW=""
if [ "$EVIDENTLY" = 1 ]; then
  log "evidently DataDriftPreset (slow: minutes at 1M rows)"
  read -r E_WALL E_RSS < <(measure "$DIR/evidently.json" "$VENV/bin/python" "$HERE/drift_evidently.py" "$DATA/reference.parquet" "$DATA/current.parquet")
  E_FLAGGED="$("$VENV/bin/python" -c 'import json,sys; r=json.load(open(sys.argv[1])); print(" ".join(r["drifted"]))' "$DIR/evidently.json" 2>/dev/null || echo "(failed, see $DIR/evidently.json)")"
  E_VERSION="$("$VENV/bin/python" -c 'import evidently; print(evidently.__version__)')"
  E_ROW="| Evidently $E_VERSION DataDriftPreset | $E_WALL | $E_RSS | $E_FLAGGED |"
fi

TABLE="$(cat <<TABLE
Drift on $ROWS x 20 Parquet (reference vs current), $(nproc) cores, $(date -u +%Y-%m-%d).
Drifted by construction: $(paste -sd' ' "$DATA/drifted.txt").

| tool | wall s | peak MB | flagged columns |
|---|---:|---:|---|
| rampart $R_VERSION drift | $R_WALL | $R_RSS | $R_FLAGGED |
$E_ROW

\`rampart data check current.parquet --reference reference.parquet --label cat_02\`: $C_WALL s, $C_RSS MB peak; findings: $C_FINDINGS.
TABLE
)"
echo "$TABLE"
mkdir -p "$(dirname "$OUT")"
printf '# bench/drift_bench.sh\n\n%s\n' "$TABLE" >"$OUT"
log "written to $OUT"
