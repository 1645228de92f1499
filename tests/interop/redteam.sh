#!/usr/bin/env bash
# rampart redteam against the Python references: trains logistic regression and an MLP on
# scikit-learn's digits, exports them to ONNX (skl2onnx; the MLP as a hand-built standard-op
# graph), and requires rampart's FGSM/PGD robust accuracy to match ART (logistic regression,
# through ART's scikit-learn wrapper) and an exact NumPy attack (MLP) within two samples, and
# its membership AUC and fairness figures to match scikit-learn and Fairlearn to 1e-3; the
# randomised square attack to agree with ART's SquareAttack on the mean robust accuracy of
# three seeds; the shadow-model membership attack to agree with ART's ShadowModels +
# MembershipInferenceBlackBox on the same features, to flag the deliberately overfit target
# and pass the well-regularised one (tolerances and reasons in check.py).
# The venv is cached in target/interop/venv-redteam (rebuilt when the requirements change).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv="${REDTEAM_VENV:-target/interop/venv-redteam}"
requirements="numpy==2.* scikit-learn==1.* skl2onnx==1.* onnx==1.* onnxruntime==1.* adversarial-robustness-toolbox==1.20.* fairlearn==0.15.*"
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$requirements" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check $requirements
  echo "$requirements" > "$stamp"
fi
cargo build --quiet --locked -p rampart
rampart=target/debug/rampart
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# ART warns that PyTorch is missing; it is not needed.
PYTHONWARNINGS=ignore "$venv/bin/python" tests/interop/redteam/make_fixtures.py "$out"
samples=$("$venv/bin/python" -c "import numpy, sys; print(len(numpy.load(sys.argv[1])))" "$out/y_test.npy")

common=(--no-config --format json --clip 0,1 --data "$out/x_test.npy" --labels "$out/y_test.npy")
for model in lr mlp; do
  for attack in fgsm pgd; do
    "$rampart" redteam robustness "$out/$model.onnx" --attack "$attack" "${common[@]}" --eps 0.05,0.1,0.2 \
      > "$out/${model}_${attack}.json"
  done
done
for attack in fgsm pgd; do
  "$rampart" redteam robustness "$out/lr.onnx" --attack "$attack" --norm l2 "${common[@]}" --eps 0.5,1,2 \
    > "$out/lr_${attack}_l2.json"
done
for model in lr mlp; do
  for seed in 0 1 2; do
    "$rampart" redteam robustness "$out/$model.onnx" --attack square --steps 300 --seed "$seed" "${common[@]}" \
      --eps 0.05,0.1,0.2 > "$out/${model}_square_seed$seed.json"
  done
done
for target in overfit regularised; do
  code=0
  "$rampart" redteam membership "$out/shadow_$target.onnx" --no-config --format json --max-auc 0.6 \
    --members "$out/shadow_x_members.npy" --members-labels "$out/shadow_y_members.npy" \
    --nonmembers "$out/shadow_x_nonmembers.npy" --nonmembers-labels "$out/shadow_y_nonmembers.npy" \
    --shadow-data "$out/shadow_x_shadow.npy" --shadow-labels "$out/shadow_y_shadow.npy" \
    > "$out/shadow_$target.json" || code=$?
  echo "$code" > "$out/shadow_$target.exit"
done
"$rampart" redteam membership "$out/mlp.onnx" --no-config --format json \
  --members "$out/x_members.npy" --members-labels "$out/y_members.npy" \
  --nonmembers "$out/x_test.npy" --nonmembers-labels "$out/y_test.npy" > "$out/membership.json"
"$rampart" redteam fairness --no-config --format json --labels "$out/fair_labels.npy" \
  --predictions "$out/fair_predictions.npy" --groups "$out/fair_groups.npy" > "$out/fairness_npy.json"
"$rampart" redteam fairness --no-config --format json --labels "$out/fairness.csv:label" \
  --predictions "$out/fairness.csv:prediction" --groups "$out/fairness.csv:ink" > "$out/fairness_csv.json"
"$venv/bin/python" tests/interop/redteam/check.py "$out/expected.json" "$out" "$samples"
