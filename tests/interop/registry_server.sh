# Sourced by the registry interop scripts: a throw-away registry served on a free loopback
# port, with tokens for a publisher, an approver and a reader of namespace `ml` (created,
# empty policy). Sets out, rampart, admin, publisher, approver, reader, url; stops the
# server and removes $out on exit. $1 names the calling script in errors.
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
[ -n "$url" ] || { echo "$1: the server did not start:" >&2; cat "$out/serve.log" >&2; exit 1; }
curl -fsS -X PUT -H "Authorization: Bearer $admin" "$url/api/v1/namespaces/ml" -d '{}' >/dev/null
