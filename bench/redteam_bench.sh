#!/usr/bin/env bash
# Times `rampart redteam robustness` (release build) against the Adversarial Robustness
# Toolbox on the same model, data and attack: scikit-learn's logistic regression on the digits
# test split (ART through its scikit-learn wrapper, rampart on the skl2onnx export), and a
# one-hidden-layer MLP (rampart on the ONNX graph, against an exact NumPy attack: ART cannot
# take gradients of a scikit-learn MLP). FGSM and PGD (10 steps of ε/4), L∞, ε 0.05/0.1/0.2,
# clip [0, 1]. Times include model loading; ART's excludes training.
#
#   bench/redteam_bench.sh [--copies N] [--runs N] [--out FILE]
#
# --copies tiles the 450 test rows N times (default 20: 9,000 rows). Prints a markdown table
# and writes it to bench/results/redteam.md. RAMPART=/path/to/rampart skips the release build.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
COPIES=20
RUNS=3
OUT="$HERE/results/redteam.md"
while [ $# -gt 0 ]; do
  case "$1" in
    --copies) COPIES="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
log() { printf '[redteam_bench] %s\n' "$*" >&2; }

PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null || PY=python3
VENV="$HERE/.venv-redteam"
REQ="$HERE/requirements-redteam.txt"
stamp="$(sha256sum "$REQ" | cut -c1-16)"
if ! [ -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.bench-stamp" 2>/dev/null)" != "$stamp" ]; then
  log "installing $(basename "$REQ") into $VENV"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQ"
  echo "$stamp" > "$VENV/.bench-stamp"
fi
export PYTHONWARNINGS=ignore

if [ -z "${RAMPART:-}" ]; then
  log "building rampart (release)"
  (cd "$ROOT" && cargo build --release --quiet -p rampart)
  RAMPART="$ROOT/target/release/rampart"
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
log "training models, $COPIES copies of the test split"
"$VENV/bin/python" "$HERE/redteam_bench.py" prepare "$WORK" "$COPIES"
ROWS=$("$VENV/bin/python" -c "import numpy, sys; print(len(numpy.load(sys.argv[1])))" "$WORK/y.npy")

# best of RUNS wall seconds of a command whose last stdout line is JSON with "seconds", or of
# rampart (timed here).
best_python() { # mode attack
  local best="" line
  for _ in $(seq "$RUNS"); do
    line=$("$VENV/bin/python" "$HERE/redteam_bench.py" "$1" "$WORK" "$2" | tail -1)
    best=$("$VENV/bin/python" -c "import json,sys; r=json.loads(sys.argv[1]); b=sys.argv[2]; print(json.dumps(r) if not b or r['seconds'] < json.loads(b)['seconds'] else b)" "$line" "$best")
  done
  echo "$best"
}
best_rampart() { # model attack
  local best="" start end seconds
  for _ in $(seq "$RUNS"); do
    start=$(date +%s.%N)
    "$RAMPART" redteam robustness "$WORK/$1" --data "$WORK/x.npy" --labels "$WORK/y.npy" --attack "$2" \
      --eps 0.05,0.1,0.2 --clip 0,1 --no-config --format json > "$WORK/rampart.json"
    end=$(date +%s.%N)
    seconds=$(echo "$end - $start" | bc)
    if [ -z "$best" ] || [ "$(echo "$seconds < $best" | bc)" = 1 ]; then best=$seconds; fi
  done
  "$VENV/bin/python" -c "
import json,sys
r=json.load(open(sys.argv[1]))['metrics']['robustness']
print(json.dumps({'seconds': float(sys.argv[2]), 'robust_accuracy': {str(round(e['eps'],6)): e['robust_accuracy'] for e in r['epsilons']}}))" \
    "$WORK/rampart.json" "$best"
}

{
  echo "# rampart redteam vs ART"
  echo
  echo "Digits test split × $COPIES = $ROWS rows, L∞, ε 0.05/0.1/0.2 (PGD: 10 steps of ε/4), clip [0, 1];"
  echo "best of $RUNS runs, wall seconds for all three ε including model loading; $(nproc) CPUs."
  echo "\`bench/redteam_bench.sh --copies $COPIES --runs $RUNS\`, $(date -u +%Y-%m-%d)."
  echo
  echo "| model | attack | reference | reference s | rampart s | reference / rampart | robust accuracy (reference → rampart) |"
  echo "|---|---|---|---:|---:|---:|---|"
} > "$WORK/table.md"
for attack in fgsm pgd; do
  for model in lr mlp; do
    if [ "$model" = lr ]; then mode=art; reference="ART 1.20 (sklearn wrapper)"; else mode=numpy; reference="NumPy (exact, hand-written)"; fi
    log "$model $attack"
    theirs=$(best_python "$mode" "$attack")
    ours=$(best_rampart "$model.onnx" "$attack")
    "$VENV/bin/python" -c "
import json,sys
t,o=json.loads(sys.argv[1]),json.loads(sys.argv[2])
acc=', '.join(f\"{t['robust_accuracy'][k]:.4f}→{o['robust_accuracy'][k]:.4f}\" for k in t['robust_accuracy'])
print(f\"| {sys.argv[3]} | {sys.argv[4].upper()} | {sys.argv[5]} | {t['seconds']:.3f} | {o['seconds']:.3f} | {t['seconds']/o['seconds']:.1f}× | {acc} |\")" \
      "$theirs" "$ours" "$model" "$attack" "$reference" >> "$WORK/table.md"
  done
done
mkdir -p "$(dirname "$OUT")"
cp "$WORK/table.md" "$OUT"
cat "$OUT"
