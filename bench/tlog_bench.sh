#!/usr/bin/env bash
# Transparency-log benchmark (`rampart-tlog`): durable appends per second (batched and one entry
# per call), proof generation and verification per second, reopen and full verification, on a
# log of 1M audit-event-sized entries (~150 bytes). Release build; not part of CI.
#
#   bench/tlog_bench.sh [--entries N] [--batch N] [--singles N] [--proofs N] [--dir DIR] [--out FILE]
#
# Prints a markdown table and writes it to bench/results/tlog.md. The log is built under
# $TMPDIR (or --dir, which must not exist or be empty) and removed at the end. Durable appends
# are bounded by the disk's fsync latency: run it on the disk the log will live on.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
OUT="$HERE/results/tlog.md"
DIR=""
ARGS=()

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --entries|--batch|--singles|--proofs) ARGS+=("$1" "$2"); shift 2 ;;
    --dir) DIR="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 ;;
  esac
done

SCRATCH=""
if [ -z "$DIR" ]; then
  SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/rampart-tlog-bench.XXXXXX")"
  DIR="$SCRATCH/log"
fi
cleanup() { if [ -n "$SCRATCH" ]; then rm -rf "$SCRATCH"; else rm -rf "$DIR"; fi; }
trap cleanup EXIT

cd "$ROOT"
cargo build --release --quiet -p rampart-tlog --example tlog_bench
BIN="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/examples/tlog_bench"

{
  echo "# rampart-tlog benchmark"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -sr), log on $(df -T "$(dirname "$DIR")" | awk 'NR==2 {print $2}')"
  echo
  "$BIN" --dir "$DIR" "${ARGS[@]}"
} | tee "$OUT"
