#!/usr/bin/env bash
# Side-by-side hashing benchmark: `rampart hash` / `rampart sign` against sha256sum, openssl and
# the reference OpenSSF Model Signing client (Python `model-signing`), on the same ~2 GiB model
# directory (one 1.5 GiB file and four 128 MiB files), page cache warm.
#
#   bench/hash_bench.sh [--runs N] [--dir DIR] [--keep] [--out FILE]
#
# Prints a markdown table (wall seconds, GB/s, peak RSS, ratio to rampart) and writes it to
# bench/results/hash.md. RAMPART=/path/to/rampart skips `cargo build --release -p rampart`.
# The data directory is created once under $TMPDIR and reused (--keep) or removed at the end.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
RUNS=3
DIR="${TMPDIR:-/tmp}/rampart-hash-bench"
KEEP=0
OUT="$HERE/results/hash.md"

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --dir) DIR="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 ;;
  esac
done
log() { printf '[hash_bench] %s\n' "$*" >&2; }

PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null || PY=python3
VENV="$HERE/.venv-signing"
REQ="$HERE/requirements-signing.txt"
stamp="$(sha256sum "$REQ" | cut -c1-16)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.bench-stamp" 2>/dev/null)" != "$stamp" ]; then
  log "installing $(basename "$REQ") into $VENV"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
  echo "$stamp" > "$VENV/.bench-stamp"
fi
[ -x /usr/bin/time ] || { log "installing GNU time"; sudo apt-get install -y -qq time >/dev/null; }

if [ -z "${RAMPART:-}" ]; then
  log "building rampart (release)"
  (cd "$ROOT" && cargo build --quiet --release --locked -p rampart)
  RAMPART="$ROOT/target/release/rampart"
fi

MODEL="$DIR/model"
if [ ! -f "$MODEL/model-00001.safetensors" ]; then
  log "writing 2 GiB of random data to $MODEL"
  mkdir -p "$MODEL"
  head -c $((1536 * 1024 * 1024)) /dev/urandom > "$MODEL/model-00001.safetensors"
  for i in 2 3 4 5; do head -c $((128 * 1024 * 1024)) /dev/urandom > "$MODEL/model-0000$i.safetensors"; done
fi
[ "$KEEP" = 1 ] || trap 'rm -rf "$DIR"' EXIT
BYTES=$(du -cb "$MODEL"/* | tail -1 | cut -f1)
KEY="$ROOT/../shared/fixtures/model-signing/keys/signer-p256.key.pem"
SCRATCH="$DIR/out"
mkdir -p "$SCRATCH"
cat "$MODEL"/* > /dev/null   # warm the page cache
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

API="$SCRATCH/api.py"
cat > "$API" <<'PY'
import sys, time
from model_signing import hashing, signing
mode, model, sig, key = sys.argv[1:5]
config = hashing.Config()
if mode == "shards":
    config.use_shard_serialization(hashing_algorithm="sha256", shard_size=256 * 1024 * 1024)
elif mode == "blake3":
    config.use_file_serialization(hashing_algorithm="blake3")
else:
    config.use_file_serialization(hashing_algorithm="sha256")
signing.Config().use_elliptic_key_signer(private_key=key).set_hashing_config(config).sign(model, sig)
PY

# name | command (run with bash -c)
declare -a NAMES COMMANDS
add() { NAMES+=("$1"); COMMANDS+=("$2"); }
add "sha256sum (coreutils), sequential" "sha256sum $MODEL/* > /dev/null"
add "openssl dgst -sha256, sequential" "openssl dgst -sha256 $MODEL/* > /dev/null"
add "model_signing CLI sign key (files, sha256)" "$VENV/bin/model_signing sign key $MODEL --private_key $KEY --signature $SCRATCH/ms-cli.sig"
add "model_signing API sign (files, sha256)" "$VENV/bin/python $API files $MODEL $SCRATCH/ms-files.sig $KEY"
add "model_signing API sign (shards 256 MiB, sha256)" "$VENV/bin/python $API shards $MODEL $SCRATCH/ms-shards.sig $KEY"
add "model_signing API sign (files, blake3)" "$VENV/bin/python $API blake3 $MODEL $SCRATCH/ms-blake3.sig $KEY"
add "rampart hash (files, sha256)" "$RAMPART hash $MODEL > /dev/null"
add "rampart sign (files, sha256)" "$RAMPART sign $MODEL --key $KEY --signature $SCRATCH/r-files.sig -q"
add "rampart hash --shard-size 256MiB (sha256)" "$RAMPART hash $MODEL --shard-size 256MiB > /dev/null"
add "rampart sign --shard-size 256MiB (sha256)" "$RAMPART sign $MODEL --shard-size 256MiB --key $KEY --signature $SCRATCH/r-shards.sig -q"
add "rampart hash --algorithm blake3" "$RAMPART hash $MODEL --algorithm blake3 > /dev/null"

# Best of RUNS wall time and the peak RSS of that run.
measure() {
  local best="" rss="" i
  bash -c "$1" >/dev/null 2>&1 || { echo "FAILED"; return; }   # warm-up (Python .pyc, page cache)
  for ((i = 0; i < RUNS; i++)); do
    /usr/bin/time -f '%e %M' -o "$SCRATCH/time" bash -c "$1" >/dev/null 2>&1
    read -r wall kb < "$SCRATCH/time"
    if [ -z "$best" ] || awk "BEGIN{exit !($wall < $best)}"; then best=$wall; rss=$kb; fi
  done
  echo "$best $rss"
}

declare -a WALLS RSS
for i in "${!NAMES[@]}"; do
  log "${NAMES[$i]}"
  read -r wall kb <<< "$(measure "${COMMANDS[$i]}")"
  WALLS[$i]=$wall; RSS[$i]=${kb:-0}
done

ref_index() { local i; for i in "${!NAMES[@]}"; do if [ "${NAMES[$i]}" = "$1" ]; then echo "$i"; fi; done; }
SHARDS=$(ref_index "rampart hash --shard-size 256MiB (sha256)")
FILES=$(ref_index "rampart hash (files, sha256)")
CPUS=$(nproc)
{
  echo "# Hashing benchmark"
  echo
  echo "$(date -u +%Y-%m-%d), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)),"
  echo "$((BYTES / 1024 / 1024)) MiB in 5 files (1.5 GiB + 4 x 128 MiB), page cache warm, best of $RUNS runs."
  echo "rampart: \`$("$RAMPART" --version)\`; model-signing: $("$VENV/bin/pip" show model-signing 2>/dev/null | awk '/^Version/{print $2}')."
  echo "Load average before / after: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine makes every row slower)."
  echo
  echo "| tool | wall s | GB/s | peak RSS MiB | time / rampart files | time / rampart shards |"
  echo "|---|---:|---:|---:|---:|---:|"
  for i in "${!NAMES[@]}"; do
    awk -v n="${NAMES[$i]}" -v w="${WALLS[$i]}" -v k="${RSS[$i]}" -v b="$BYTES" \
        -v f="${WALLS[$FILES]}" -v s="${WALLS[$SHARDS]}" 'BEGIN{
      if (w == "FAILED" || w == "") { printf "| %s | failed | | | | |\n", n; exit }
      if (w < 0.005) w = 0.005
      printf "| %s | %.2f | %.2f | %.0f | %.1fx | %.1fx |\n", n, w, b / w / 1e9, k / 1024, w / f, w / s }'
  done
  echo
  awk -v s="${WALLS[$SHARDS]}" -v b="$BYTES" -v c="$CPUS" 'BEGIN{
    printf "rampart shards mode: %.2f GB/s = %.0f%% of %d cores x 1.55 GB/s (SHA-256 with SHA-NI per core on this CPU).\n",
      b / s / 1e9, 100 * b / s / 1e9 / (c * 1.55), c }'
} | tee "$OUT"
log "written to $OUT"
