#!/usr/bin/env bash
# The HTML report in a real browser (Debian's headless Chromium):
#  - its filter script runs (the Content-Security-Policy hash matches what the browser computes);
#  - the page makes no network request at all, even with hostile file names and evidence:
#    Chromium's NetLog is searched for requests the page initiated (a control page with an
#    external <img> and stylesheet proves the search finds them);
#  - a screenshot is kept as the artifact: target/interop/report-examples.png.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get install -y chromium
  elif sudo -n true 2>/dev/null; then
    sudo apt-get install -y chromium
  else
    echo "html_chromium: chromium is not installed and apt-get needs root (no password-less sudo)" >&2
    exit 1
  fi
fi

artifacts=target/interop
mkdir -p "$artifacts"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cargo build --quiet --locked -p rampart
rampart=target/debug/rampart

# Everything Chromium would fetch on its own is switched off or unresolvable; the page's own
# requests are recognised by their file:// network isolation key, not by host names.
browse() {
  chromium --headless --disable-gpu --no-sandbox --no-first-run --disable-sync \
    --disable-background-networking --disable-component-update --disable-default-apps \
    --host-resolver-rules="MAP * ~NOTFOUND" --user-data-dir="$out/profile" "$@" 2>>"$out/chromium.log"
}

page_requests() { # NETLOG -> the URLs a file:// page asked for, one a line
  python3 - "$1" <<'EOF'
import json, sys
log = json.load(open(sys.argv[1]))
start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
for event in log["events"]:
    params = event.get("params", {})
    if event["type"] == start_job and params.get("network_isolation_key", "").startswith("file://"):
        print(params["url"])
EOF
}

check_page() { # HTML NAME -> fails on any request, on unescaped markup, or when the script did not run
  local html=$1 name=$2
  browse --log-net-log="$out/$name.netlog.json" --dump-dom "file://$(realpath "$html")" >"$out/$name.dom.html"
  local requests
  requests=$(page_requests "$out/$name.netlog.json")
  if [ -n "$requests" ]; then
    printf 'html_chromium: %s made network requests:\n%s\n' "$name" "$requests" >&2
    exit 1
  fi
  if ! grep -qE 'id="shown"[^>]*>[0-9]+ of [0-9]+ findings shown<' "$out/$name.dom.html"; then
    echo "html_chromium: the filter script did not run in $name (CSP hash mismatch?)" >&2
    exit 1
  fi
  if grep -qE '<(svg|img|iframe)' "$out/$name.dom.html"; then
    echo "html_chromium: markup from the report became elements in $name" >&2
    exit 1
  fi
}

echo "-- the detector sees requests a page makes"
printf '<!DOCTYPE html><img src="https://leak.invalid/x.png"><link rel="stylesheet" href="http://leak.invalid/a.css">' >"$out/control.html"
browse --log-net-log="$out/control.netlog.json" --dump-dom "file://$out/control.html" >/dev/null
if [ "$(page_requests "$out/control.netlog.json" | grep -c leak.invalid)" -lt 2 ]; then
  echo "html_chromium: the NetLog check missed the control page's requests" >&2
  exit 1
fi

echo "-- examples report: no requests, script runs, screenshot"
# Exit 1 is expected: the examples contain a malicious checkpoint.
"$rampart" scan --no-config -q -f html -o "$out/examples.html" examples/models || [ $? -eq 1 ]
check_page "$out/examples.html" examples
browse --window-size=1280,2000 --screenshot="$(realpath "$artifacts")/report-examples.png" \
  "file://$(realpath "$out/examples.html")" >/dev/null
test -s "$artifacts/report-examples.png"

echo "-- hostile file name and evidence: still inert"
mkdir "$out/hostile"
printf "cposix\nsystem\n(S'<img src=https://leak.invalid/e.png onerror=alert(1)>'\ntR." \
  >"$out/hostile/\"'><svg onload=alert(2)><img src=https:leak.invalid>.pkl"
"$rampart" scan --no-config -q -f html -o "$out/hostile.html" "$out/hostile" || [ $? -eq 1 ]
check_page "$out/hostile.html" hostile
grep -q 'pickle/disallowed-call' "$out/hostile.dom.html"
echo "html_chromium: all checks passed (screenshot: $artifacts/report-examples.png)"
