#!/usr/bin/env bash
# The registry's web UI end to end in headless Chromium (Debian's `chromium`), driven over the
# DevTools protocol by registry_ui.mjs (Node's built-in WebSocket, no npm package):
#  - `rampart serve` on a fresh data dir; a clean and a malicious model pushed with the CLI;
#  - an approver signs in through the login form, sees the quarantined version with its
#    finding and no buttons, approves and promotes the clean one by clicking;
#  - the stage moved (checked through the API) and the audit page lists both actions;
#  - a screenshot is kept as the artifact: target/interop/registry-ui.png.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get install -y chromium
  elif sudo -n true 2>/dev/null; then
    sudo apt-get install -y chromium
  else
    echo "registry_ui: chromium is not installed and apt-get needs root (no password-less sudo)" >&2
    exit 1
  fi
fi

artifacts=target/interop
mkdir -p "$artifacts"
# shellcheck source=tests/interop/registry_server.sh
. tests/interop/registry_server.sh registry_ui
mkdir -p "$out/clean" "$out/evil"
cp examples/models/clean.safetensors "$out/clean/"
cp examples/models/backdoored_checkpoint.pt "$out/evil/"
export RAMPART_REGISTRY=$url
RAMPART_TOKEN=$publisher "$rampart" push "$out/clean" ml/clean:1.0.0 >/dev/null
status=0
RAMPART_TOKEN=$publisher "$rampart" push "$out/evil" ml/evil:1.0.0 >/dev/null 2>&1 || status=$?
[ "$status" -eq 1 ] || { echo "registry_ui: pushing the malicious model should exit 1, got $status" >&2; exit 1; }

node --experimental-websocket --no-warnings tests/interop/registry_ui.mjs \
  "$url" "$approver" "$out/profile" "$artifacts/registry-ui.png"

stages=$(curl -fsS -H "Authorization: Bearer $reader" "$url/api/v1/namespaces/ml/models/clean/stages")
python3 -c 'import json,sys; s=json.loads(sys.argv[1]); assert s["current"].get("production")=="1.0.0", s' "$stages"
echo "registry_ui: ok (screenshot: $artifacts/registry-ui.png)"
