#!/usr/bin/env bash
# Side-by-side benchmark of `rampart scan --scanners config,secret` against checkov (IaC and
# Kubernetes) and detect-secrets, on the intentionally vulnerable trees in
# ../shared/data/corpora/goats.tar.gz (terragoat, kubernetes-goat).
#
#   bench/config_bench.sh [--runs N] [--out FILE]
#
# Prints a markdown table (wall seconds, findings, time ratio to rampart) and writes it to
# bench/results/config.md. RAMPART=/path/to/rampart skips `cargo build --release -p rampart`.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
RUNS=3
OUT="$HERE/results/config.md"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
log() { printf '[config_bench] %s\n' "$*" >&2; }

PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null || PY=python3
VENV="$HERE/.venv-config"
REQ="$HERE/requirements-config.txt"
stamp="$(sha256sum "$REQ" | cut -c1-16)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.bench-stamp" 2>/dev/null)" != "$stamp" ]; then
  log "installing $(basename "$REQ") into $VENV"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
  echo "$stamp" > "$VENV/.bench-stamp"
fi
if [ -z "${RAMPART:-}" ]; then
  log "building rampart (release)"
  (cd "$ROOT" && cargo build --quiet --release --locked -p rampart)
  RAMPART="$ROOT/target/release/rampart"
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
tar -xzf "$ROOT/../shared/data/corpora/goats.tar.gz" -C "$WORK"
GOATS="$WORK/goats"
# checkov must not phone home or download anything.
export BC_SKIP_MAPPING=TRUE CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false LOG_LEVEL=ERROR

best_of() { # command... ; prints the best wall time of RUNS runs (after one warm-up)
  local best="" t0 t1 wall i
  "$@" >/dev/null 2>&1 || true
  for ((i = 0; i < RUNS; i++)); do
    t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s.%N)
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')
    if [ -z "$best" ] || awk "BEGIN{exit !($wall < $best)}"; then best=$wall; fi
  done
  echo "$best"
}

count_checkov() { # json file: failed checks over all frameworks in the output
  python3 - "$1" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
runs = data if isinstance(data, list) else [data]
print(sum(len(r.get("results", {}).get("failed_checks", [])) for r in runs))
PY
}

count_rampart() { # json report: "<config> <secret>" active findings by scanner prefix
  python3 - "$1" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
secret = sum(1 for f in report["findings"] if f["rule_id"].startswith("secret/"))
print(len(report["findings"]) - secret, secret)
PY
}

{
  echo "# Config and secret scanners vs checkov and detect-secrets"
  echo
  echo "$(date -u +%Y-%m-%d), $(nproc) CPUs, best of $RUNS runs after a warm-up; load average $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "checkov $("$VENV/bin/checkov" --version 2>/dev/null), detect-secrets $("$VENV/bin/detect-secrets" --version 2>/dev/null), \`$("$RAMPART" --version)\`."
  echo
  echo "| tree | tool | wall s | findings | time / rampart |"
  echo "|---|---|---:|---:|---:|"
  for tree in terragoat kubernetes-goat; do
    framework=terraform; [ "$tree" = kubernetes-goat ] && framework=kubernetes
    dir="$GOATS/$tree"
    log "$tree: rampart"
    r_wall=$(best_of "$RAMPART" scan --no-config --scanners config,secret -q -f json -o "$WORK/rampart.json" "$dir")
    read -r r_config r_secret <<< "$(count_rampart "$WORK/rampart.json")"
    log "$tree: checkov"
    c_wall=$(best_of "$VENV/bin/checkov" -d "$dir" --framework "$framework" --quiet --compact -o json --output-file-path "$WORK/checkov")
    c_count=$(count_checkov "$WORK/checkov/results_json.json")
    log "$tree: detect-secrets"
    d_wall=$(best_of sh -c "cd '$dir' && '$VENV/bin/detect-secrets' scan --all-files > '$WORK/ds.json'")
    d_count=$(python3 -c "import json,sys; print(sum(len(v) for v in json.load(open('$WORK/ds.json'))['results'].values()))")
    ratio() { awk -v a="$1" -v b="$r_wall" 'BEGIN{ if (b < 0.001) b = 0.001; printf "%.0fx", a / b }'; }
    echo "| $tree | checkov ($framework) | $c_wall | $c_count failed checks | $(ratio "$c_wall") |"
    echo "| $tree | detect-secrets | $d_wall | $d_count secrets | $(ratio "$d_wall") |"
    echo "| $tree | **rampart** (config + secret) | $r_wall | $r_config config + $r_secret secret | 1x |"
  done
} | tee "$OUT"
log "written to $OUT"
