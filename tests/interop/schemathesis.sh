#!/usr/bin/env bash
# API fuzzing: schemathesis (PyPI, cached venv under target/interop) generates requests from
# the served /openapi.json and runs them against `rampart serve` once per role token. Any 5xx,
# any response that breaks the documented schema, or a status code the document does not list
# fails the run. Bounded: a few examples per operation, well under a few minutes in total.
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=target/interop/venv-schemathesis
requirements="schemathesis==4.*"
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/schemathesis" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$requirements" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$requirements"
  echo "$requirements" > "$stamp"
fi
max_examples=${SCHEMATHESIS_MAX_EXAMPLES:-30}

# shellcheck source=tests/interop/registry_server.sh
. tests/interop/registry_server.sh schemathesis
# A version in namespace ml, so generated requests can reach existing objects too.
mkdir -p "$out/model"
cp examples/models/clean.safetensors "$out/model/"
RAMPART_REGISTRY=$url RAMPART_TOKEN=$publisher "$rampart" push "$out/model" ml/clean:1.0.0 >/dev/null

failed=0
for role in reader publisher approver admin; do
  echo "-- schemathesis as $role"
  if ! "$venv/bin/schemathesis" run "$url/openapi.json" \
      --url "$url" \
      --header "Authorization: Bearer ${!role}" \
      --checks not_a_server_error,response_schema_conformance,status_code_conformance \
      --max-examples "$max_examples" \
      --seed 1 \
      --generation-database none \
      --no-color; then
    failed=1
  fi
done
if grep -q 'internal error' "$out/serve.log"; then
  echo "schemathesis: the server logged internal errors:" >&2
  grep 'internal error' "$out/serve.log" >&2
  failed=1
fi
exit "$failed"
