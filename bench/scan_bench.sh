#!/usr/bin/env bash
# Side-by-side benchmark of `rampart scan` against picklescan, modelscan and modelaudit.
#
#   bench/scan_bench.sh [--copies N] [--seed S] [--tools "picklescan modelscan modelaudit rampart"]
#                       [--keep] [--out FILE]
#   bench/scan_bench.sh --large [--large-mb MB]
#
# Generates a labelled corpus (bench/gen_model_corpus.py) into a temp dir, runs every tool on the
# same directory under /usr/bin/time -v, scores each file against labels.json (bench/score.py) and
# writes a markdown report to bench/results/scan.md (scan-large.md for --large).
# RAMPART=/path/to/rampart skips `cargo build --release -p rampart`.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
COPIES=1
SEED=1234
LARGE=0
LARGE_MB=200
KEEP=0
TOOLS="picklescan modelscan modelaudit rampart"
OUT=""
RAMPART_SRC="${RAMPART_SRC:-${RAMPART:+binary $RAMPART}}"

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --copies) COPIES="$2"; shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    --large) LARGE=1; shift ;;
    --large-mb) LARGE_MB="$2"; shift 2 ;;
    --tools) TOOLS="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 ;;
  esac
done

log() { printf '[scan_bench] %s\n' "$*" >&2; }

# modelaudit sends telemetry by default; keep it off everywhere in this script.
export PROMPTFOO_DISABLE_TELEMETRY=1 NO_ANALYTICS=1 DO_NOT_TRACK=1

PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null || PY=python3

# --- venvs ---------------------------------------------------------------------------------
ensure_venv() { # dir requirements-file
  local dir="$1" req="$2" stamp
  stamp="$(sha256sum "$req" | cut -c1-16)"
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.bench-stamp" 2>/dev/null)" = "$stamp" ]; then
    return
  fi
  log "installing $(basename "$req") into $dir"
  rm -rf "$dir"
  "$PY" -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
  "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$req"
  echo "$stamp" > "$dir/.bench-stamp"
}
ensure_venv "$HERE/.venv" "$HERE/requirements.txt"
ensure_venv "$HERE/.venv-modelscan" "$HERE/requirements-modelscan.txt"
VPY="$HERE/.venv/bin/python"

if [ ! -x /usr/bin/time ]; then
  log "installing GNU time (for wall time and peak RSS)"
  if [ "$(id -u)" = 0 ]; then
    { apt-get install -y -qq time >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }; } \
      || log "could not install GNU time; peak RSS will be missing"
  fi
fi

# --- corpus ----------------------------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/rampart-scan-bench.XXXXXX")"
cleanup() { if [ "$KEEP" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT
CORPUS="$WORK/corpus"
LABELS="$WORK/labels.json"
if [ "$LARGE" = 1 ]; then
  log "generating timing corpus (${LARGE_MB} MB files) in $CORPUS"
  "$VPY" "$HERE/gen_model_corpus.py" --out "$CORPUS" --large --large-mb "$LARGE_MB" --seed "$SEED" --labels "$LABELS"
else
  log "generating corpus (--copies $COPIES --seed $SEED) in $CORPUS"
  "$VPY" "$HERE/gen_model_corpus.py" --out "$CORPUS" --copies "$COPIES" --seed "$SEED" --labels "$LABELS"
fi

# --- rampart ---------------------------------------------------------------------------------
if [[ " $TOOLS " == *" rampart "* ]]; then
  if [ -z "${RAMPART:-}" ]; then
    log "building rampart (cargo build --release -p rampart)"
    if (cd "$ROOT" && cargo build --release -p rampart >"$WORK/cargo.log" 2>&1); then
      RAMPART="$ROOT/target/release/rampart"
      RAMPART_SRC="release build of $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$ROOT" && git diff --quiet HEAD 2>/dev/null || echo ' plus uncommitted changes')"
    else
      log "cargo build failed (see below); rampart is left out of this run"
      tail -20 "$WORK/cargo.log" >&2
      RAMPART=""
    fi
  fi
  if [ -n "${RAMPART:-}" ] && ! "$RAMPART" scan --help >/dev/null 2>&1; then
    log "$RAMPART has no working 'scan' subcommand; rampart is left out of this run"
    RAMPART=""
  fi
  if [ -z "${RAMPART:-}" ]; then TOOLS="${TOOLS/rampart/}"; fi
fi

tool_version() {
  case "$1" in
    picklescan) "$HERE/.venv/bin/pip" show picklescan 2>/dev/null | awk '/^Version/{print $2}' ;;
    modelscan) "$HERE/.venv-modelscan/bin/pip" show modelscan 2>/dev/null | awk '/^Version/{print $2}' ;;
    modelaudit) "$HERE/.venv/bin/pip" show modelaudit 2>/dev/null | awk '/^Version/{print $2}' ;;
    rampart) "$RAMPART" --version 2>/dev/null | awk '{print $NF}' ;;
  esac
}

# tool_cmd TOOL DIR RAWOUT -> prints the command, one argument per line
tool_cmd() {
  local tool="$1" dir="$2" raw="$3"
  case "$tool" in
    picklescan) printf '%s\n' "$HERE/.venv/bin/picklescan" -p "$dir" -l DEBUG ;;
    modelscan) printf '%s\n' "$HERE/.venv-modelscan/bin/modelscan" -p "$dir" -r json -o "$raw" --show-skipped ;;
    modelaudit) printf '%s\n' "$HERE/.venv/bin/modelaudit" scan "$dir" --format json -o "$raw" --no-cache ;;
    rampart) printf '%s\n' "$RAMPART" scan "$dir" --format json --output "$raw" ;;
  esac
}

# run_tool TOOL DIR TAG -> runs under /usr/bin/time, leaves $WORK/TAG.{raw,stdout,stderr,time,rc}
run_tool() {
  local tool="$1" dir="$2" tag="$3" raw rc
  raw="$WORK/$tag.raw"
  mapfile -t cmd < <(tool_cmd "$tool" "$dir" "$raw")
  log "running $tool on $(basename "$dir") ..."
  local t0 t1
  set +e
  t0=$(date +%s%N)
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -v -o "$WORK/$tag.time" "${cmd[@]}" >"$WORK/$tag.stdout" 2>"$WORK/$tag.stderr"
  else
    "${cmd[@]}" >"$WORK/$tag.stdout" 2>"$WORK/$tag.stderr"
  fi
  rc=$?
  t1=$(date +%s%N)
  set -e
  echo "$rc" >"$WORK/$tag.rc"
  # GNU time prints wall time in 10 ms steps; rampart needs better
  awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f\n", (b - a) / 1e9}' >"$WORK/$tag.wall"
  # picklescan only prints; its log is its report
  if [ "$tool" = picklescan ]; then cat "$WORK/$tag.stdout" "$WORK/$tag.stderr" >"$raw"; fi
  log "  $tool exit $rc, $(wall_of "$tag") s"
}

wall_of() { cat "$WORK/$1.wall"; }
peak_of() { # MB from GNU time's max RSS, or null
  local v=""
  [ -f "$WORK/$1.time" ] && v="$(awk -F': ' '/Maximum resident set size/{printf "%.1f", $2/1024}' "$WORK/$1.time")"
  echo "${v:-null}"
}

# Warm-up: first runs after an install compile .pyc files; do not time that.
WARM="$WORK/warmup"; mkdir -p "$WARM"
"$VPY" -c "import pickle,sys; pickle.dump({'a': 1}, open(sys.argv[1], 'wb'))" "$WARM/w.pkl"
for tool in $TOOLS; do
  mapfile -t cmd < <(tool_cmd "$tool" "$WARM" "$WORK/warmup-$tool.raw")
  "${cmd[@]}" >/dev/null 2>&1 || true
done

MACHINE="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -g | awk '/Mem:/{print $2}') GiB RAM, $(uname -sr)"
DATE="$(date -u +%Y-%m-%dT%H:%MZ)"

if [ "$LARGE" = 0 ]; then
  RUNS="$WORK/runs.json"
  echo "[" >"$RUNS"; first=1
  for tool in $TOOLS; do
    run_tool "$tool" "$CORPUS" "$tool"
    "$VPY" "$HERE/score.py" verdicts --tool "$tool" --raw "$WORK/$tool.raw" --corpus "$CORPUS" \
      --labels "$LABELS" -o "$WORK/$tool.verdicts.json"
    [ $first = 1 ] || echo "," >>"$RUNS"; first=0
    printf '{"tool": "%s", "version": "%s", "wall_s": %s, "peak_mb": %s, "exit_code": %s, "verdicts": "%s"}\n' \
      "$tool" "$(tool_version "$tool")" "$(wall_of "$tool")" "$(peak_of "$tool")" \
      "$(cat "$WORK/$tool.rc")" "$WORK/$tool.verdicts.json" >>"$RUNS"
  done
  echo "]" >>"$RUNS"
  OUT="${OUT:-$HERE/results/scan.md}"
  mkdir -p "$(dirname "$OUT")"
  "$VPY" "$HERE/score.py" report --labels "$LABELS" --runs "$RUNS" -o "$OUT" \
    --title "rampart scan benchmark" \
    --meta "date: $DATE" --meta "machine: $MACHINE" \
    --meta "command: bench/scan_bench.sh --copies $COPIES --seed $SEED" \
    --meta "rampart: ${RAMPART_SRC:-not run}" \
    --meta "each tool scans the whole corpus directory once, after one warm-up run; wall time from the shell (ns clock), peak RSS from /usr/bin/time -v"
  log "report written to $OUT"
else
  OUT="${OUT:-$HERE/results/scan-large.md}"
  mkdir -p "$(dirname "$OUT")"
  {
    echo "# rampart scan benchmark: does scan time grow with tensor data?"
    echo
    echo "- date: $DATE"
    echo "- machine: $MACHINE"
    echo "- command: bench/scan_bench.sh --large --large-mb $LARGE_MB"
    echo "- rampart: ${RAMPART_SRC:-not run}"
    echo "- each directory holds the same four benign files (torch zip checkpoint, safetensors, .npy,"
    echo "  legacy torch .bin); \`small/\` at 1 MB each, \`large/\` at ${LARGE_MB} MB each (legacy: half)."
    echo "- $(du -sh "$CORPUS/small" | cut -f1) in small/, $(du -sh "$CORPUS/large" | cut -f1) in large/"
    echo
    echo "| tool | version | small wall s | large wall s | large/small | small peak MB | large peak MB | large: exit code |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|"
  } >"$OUT"
  for tool in $TOOLS; do
    run_tool "$tool" "$CORPUS/small" "$tool-small"
    run_tool "$tool" "$CORPUS/large" "$tool-large"
    s="$(wall_of "$tool-small")"; l="$(wall_of "$tool-large")"
    ratio="$(awk -v s="$s" -v l="$l" 'BEGIN{ if (s > 0) printf "%.1fx", l/s; else print "-" }')"
    # the large files are benign: exit code 0 means no false alarm
    echo "| $tool | $(tool_version "$tool") | $s | $l | $ratio | $(peak_of "$tool-small") | $(peak_of "$tool-large") | $(cat "$WORK/$tool-large.rc") |" >>"$OUT"
  done
  cat "$OUT"
  log "report written to $OUT"
fi
