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

out=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$out"
}
trap cleanup EXIT
cargo build --quiet --locked -p rampart
rampart=$PWD/target/debug/rampart

admin=$("$rampart" registry init "$out/data" 2>/dev/null)
token() { "$rampart" registry token create --data "$out/data" --user "$1" --role "$2" --namespace ml 2>/dev/null; }
publisher=$(token pat publisher)
approver=$(token abe approver)
reader=$(token rita reader)

"$rampart" serve --data "$out/data" --listen 127.0.0.1:0 >"$out/serve.log" 2>&1 &
server=$!
for _ in $(seq 100); do
  grep -q 'listening on' "$out/serve.log" 2>/dev/null && break
  sleep 0.1
done
url=$(sed -n 's/.*listening on \(http:\/\/[^ ]*\).*/\1/p' "$out/serve.log" | head -1)
[ -n "$url" ] || { echo "schemathesis: the server did not start:" >&2; cat "$out/serve.log" >&2; exit 1; }

# A namespace with a version, so generated requests can reach existing objects too.
curl -fsS -X PUT -H "Authorization: Bearer $admin" "$url/api/v1/namespaces/ml" -d '{}' >/dev/null
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
