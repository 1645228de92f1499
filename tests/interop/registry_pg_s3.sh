#!/usr/bin/env bash
# The registry's integration suite (crates/rampart-registry/tests/api.rs) against PostgreSQL:
# a throw-away cluster from Debian's `postgresql` package on a free loopback port, owned by
# an unprivileged user (CI runs as root; initdb refuses root). No system service is used.
# Then the same suite against PostgreSQL + S3 (moto's server from PyPI on loopback, in
# target/interop/venv-s3), and two `rampart serve` processes sharing both.
set -euo pipefail
cd "$(dirname "$0")/../.."
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
as_owner=()
if [ "$(id -u)" = 0 ]; then
  as_owner=(runuser -u postgres --)
fi
cluster=$(mktemp -d /tmp/rampart-pg.XXXXXX)
chmod 755 "$cluster"
[ "$(id -u)" = 0 ] && chown postgres "$cluster"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
stop() {
  "${as_owner[@]}" "$pg_bin/pg_ctl" -D "$cluster/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$cluster"
}
trap stop EXIT
"${as_owner[@]}" "$pg_bin/initdb" -D "$cluster/data" -U rampart --auth=trust >/dev/null
"${as_owner[@]}" "$pg_bin/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$cluster -c fsync=off" start >/dev/null

echo "-- registry API suite against PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on port $port"
RAMPART_TEST_DATABASE_URL="postgres://rampart@127.0.0.1:$port/postgres" \
  cargo test --quiet --locked -p rampart-registry --features postgres,s3 --test api
echo "-- an S3-compatible server: moto on loopback"
venv=target/interop/venv-s3
if [ ! -x "$venv/bin/moto_server" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'moto[server]==5.2.5'
fi
s3_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$venv/bin/moto_server" -H 127.0.0.1 -p "$s3_port" >"$cluster/moto.log" 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null || true; stop' EXIT
export AWS_ACCESS_KEY_ID=rampart-test AWS_SECRET_ACCESS_KEY=rampart-test AWS_REGION=us-east-1
s3() { # s3 OPERATION [key=value ...]: one call through boto3 (moto's own dependency)
  "$venv/bin/python" - "$s3_port" "$@" <<'PY'
import hashlib, json, sys, boto3
port, operation, *pairs = sys.argv[1:]
args = dict(pair.split("=", 1) for pair in pairs)
client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}")
if operation == "keys":
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=args["bucket"], Prefix=args.get("prefix", ""))
    print("\n".join(item["Key"] for page in pages for item in page.get("Contents", [])))
elif operation == "sha256":
    print(hashlib.sha256(client.get_object(Bucket=args["bucket"], Key=args["key"])["Body"].read()).hexdigest())
else:
    getattr(client, operation)(**args)
PY
}
for _ in $(seq 100); do s3 create_bucket Bucket=rampart 2>/dev/null && break; sleep 0.2; done
storage="s3://rampart?endpoint=http://127.0.0.1:$s3_port"

echo "-- registry API suite against PostgreSQL + S3 (moto $("$venv/bin/pip" show moto | awk '/^Version/ {print $2}'))"
RAMPART_TEST_DATABASE_URL="postgres://rampart@127.0.0.1:$port/postgres" RAMPART_TEST_STORAGE_URL="$storage" \
  cargo test --quiet --locked -p rampart-registry --features postgres,s3 --test api

echo "-- two rampart serve processes sharing one database, one bucket and the data directory's log"
cargo build --quiet --locked -p rampart
rampart=target/debug/rampart
echo "-- an unreachable S3 endpoint is a clear start-up error (exit 2)"
"$rampart" registry init "$cluster/local" >/dev/null 2>&1
set +e
"$rampart" serve --data "$cluster/local" --storage "s3://rampart?endpoint=http://127.0.0.1:1" >/dev/null 2>"$cluster/unreachable.err"
code=$?
set -e
if [ "$code" != 2 ] || ! grep -q 'cannot reach the blob store s3://rampart at http://127.0.0.1:1' "$cluster/unreachable.err"; then
  echo "expected exit 2 naming the endpoint, got $code:"; cat "$cluster/unreachable.err"; exit 1
fi
psql -q -h 127.0.0.1 -p "$port" -U rampart -d postgres -c 'CREATE DATABASE shared_smoke'
export RAMPART_DATABASE_URL="postgres://rampart@127.0.0.1:$port/shared_smoke"
export RAMPART_STORAGE_URL="s3://rampart/shared?endpoint=http://127.0.0.1:$s3_port"
admin=$("$rampart" registry init "$cluster/registry" 2>/dev/null)
serve() {
  "$rampart" serve --data "$cluster/registry" --listen 127.0.0.1:0 >"$cluster/$1.out" 2>"$cluster/$1.err" &
  for _ in $(seq 100); do grep -q listening "$cluster/$1.out" 2>/dev/null && break; sleep 0.1; done
  awk '{print $NF; exit}' "$cluster/$1.out"
}
first=$(serve first); second=$(serve second)
trap 'kill $(jobs -p) 2>/dev/null || true; stop' EXIT
curl -fsS -X PUT -H "Authorization: Bearer $admin" "$first/api/v1/namespaces/ml" -d '{}' >/dev/null
publisher=$(curl -fsS -X POST -H "Authorization: Bearer $admin" "$second/api/v1/tokens" \
  -d '{"user": "pat", "role": "publisher", "namespace": "ml"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
mkdir -p "$cluster/model" && printf '{"hidden": 8}\n' > "$cluster/model/config.json"
RAMPART_TOKEN=$publisher "$rampart" push "$cluster/model" ml/shared:1 --registry "$first"
RAMPART_TOKEN=$admin "$rampart" pull ml/shared:1 "$cluster/pulled" --registry "$second"
cmp "$cluster/model/config.json" "$cluster/pulled/config.json"
config_hex=$(sha256sum "$cluster/model/config.json" | cut -d' ' -f1)
[ "$(s3 sha256 bucket=rampart "key=shared/blobs/sha256/${config_hex:0:2}/$config_hex")" = "$config_hex" ]
[ -z "$(find "$cluster/registry/blobs" -type f)" ] || { echo "blobs were written to the data directory"; exit 1; }
echo "-- a 20 MiB blob (multipart upload + create-only copy) through one server, present through the other"
head -c $((20 << 20)) /dev/urandom >"$cluster/large.bin"
large_hex=$(sha256sum "$cluster/large.bin" | cut -d' ' -f1)
put_large() {
  curl -fsS -X PUT -H "Authorization: Bearer $publisher" --data-binary "@$cluster/large.bin" \
    "$1/api/v1/blobs/sha256:$large_hex" | python3 -c 'import json,sys; print(json.load(sys.stdin)["created"])'
}
# A second PUT of a large present blob is answered after 1 MiB and the connection closed
# (clients HEAD first, as `rampart push` does), so the other server is asked with HEAD.
[ "$(put_large "$first")" = True ]
[ "$(curl -fsSI -H "Authorization: Bearer $publisher" "$second/api/v1/blobs/sha256:$large_hex" | tr -d '\r' | awk 'tolower($1) == "content-length:" {print $2}')" = $((20 << 20)) ]
[ "$(s3 sha256 bucket=rampart "key=shared/blobs/sha256/${large_hex:0:2}/$large_hex")" = "$large_hex" ]
[ -z "$(s3 keys bucket=rampart prefix=shared/uploads/)" ] || { echo "staging objects were left behind"; exit 1; }
unset RAMPART_DATABASE_URL RAMPART_STORAGE_URL
"$rampart" registry verify-log --data "$cluster/registry" --database "postgres://rampart@127.0.0.1:$port/shared_smoke"

echo "-- two rampart serve processes with different data directories (only the log key copied) creating versions concurrently"
psql -q -h 127.0.0.1 -p "$port" -U rampart -d postgres -c 'CREATE DATABASE shared_log'
log_db="postgres://rampart@127.0.0.1:$port/shared_log"
log_storage="s3://rampart/shared-log?endpoint=http://127.0.0.1:$s3_port"
sql() { psql -qtA -h 127.0.0.1 -p "$port" -U rampart -d shared_log -c "$1"; }
log_admin=$("$rampart" registry init "$cluster/a" --database "$log_db" 2>/dev/null)
mkdir -p "$cluster/b/log" && cp "$cluster/a/log/log.key" "$cluster/a/log/log.vkey" "$cluster/b/log/"
serve_at() { # NAME DIR: prints the server's URL
  "$rampart" serve --data "$2" --database "$log_db" --storage "$log_storage" --listen 127.0.0.1:0 >"$cluster/$1.out" 2>"$cluster/$1.err" &
  for _ in $(seq 100); do grep -q listening "$cluster/$1.out" 2>/dev/null && break; sleep 0.1; done
  awk '{print $NF; exit}' "$cluster/$1.out"
}
server_a=$(serve_at a "$cluster/a"); server_b=$(serve_at b "$cluster/b")
[ ! -e "$cluster/a/log/entries" ] || { echo "the log was written to the data directory"; exit 1; }
curl -fsS -X PUT -H "Authorization: Bearer $log_admin" "$server_a/api/v1/namespaces/ml" -d '{}' >/dev/null
log_publisher=$(curl -fsS -X POST -H "Authorization: Bearer $log_admin" "$server_b/api/v1/tokens" \
  -d '{"user": "pat", "role": "publisher", "namespace": "ml"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
pushes=()
for version in 1 2 3 4 5 6; do
  server=$server_a; [ $((version % 2)) = 0 ] && server=$server_b
  mkdir -p "$cluster/m$version" && printf '{"hidden": %d}\n' "$version" > "$cluster/m$version/config.json"
  RAMPART_TOKEN=$log_publisher "$rampart" push "$cluster/m$version" "ml/concurrent:$version" --registry "$server" \
    >"$cluster/push$version.log" 2>&1 &
  pushes+=($!)
done
for pid in "${pushes[@]}"; do wait "$pid" || { cat "$cluster"/push*.log; exit 1; }; done
# Pulls check the audit inclusion proof served by the other process.
RAMPART_TOKEN=$log_admin "$rampart" pull ml/concurrent:1 "$cluster/pulled1" --registry "$server_b"
RAMPART_TOKEN=$log_admin "$rampart" pull ml/concurrent:2 "$cluster/pulled2" --registry "$server_a"
entries=$(sql 'SELECT count(*) FROM log_entries')
[ "$(sql 'SELECT count(*) FROM outbox')" = "$entries" ] || { echo "outbox and log sizes differ"; exit 1; }
[ "$(sql 'SELECT count(*) FROM outbox o JOIN log_entries l ON l.idx = o.log_index AND l.entry = o.entry')" = "$entries" ] \
  || { echo "an audit event is not its log entry"; exit 1; }
[ "$(sql 'SELECT count(DISTINCT entry) FROM log_entries')" = "$entries" ] || { echo "a log entry is duplicated"; exit 1; }
[ "$(sql "SELECT count(*) FROM outbox WHERE action = 'version.create'")" = 6 ] || { echo "a version.create event is missing"; exit 1; }
checkpoint() { curl -fsS -H "Authorization: Bearer $log_admin" "$1/api/v1/log/checkpoint"; }
[ "$(checkpoint "$server_a")" = "$(checkpoint "$server_b")" ] || { echo "the servers serve different checkpoints"; exit 1; }
checkpoint "$server_b" | sed -n 2p | grep -qx "$entries" || { echo "the checkpoint is not of all $entries entries"; exit 1; }
"$rampart" registry verify-log --data "$cluster/b" --database "$log_db"
echo "-- a rewritten log row fails verification (exit 1)"
sql "UPDATE log_entries SET entry = convert_to('rewritten', 'UTF8') WHERE idx = 3"
set +e
"$rampart" registry verify-log --data "$cluster/a" --database "$log_db" >/dev/null 2>"$cluster/tampered.err"
code=$?
set -e
[ "$code" = 1 ] || { echo "expected exit 1 on a tampered log, got $code"; cat "$cluster/tampered.err"; exit 1; }

echo "-- PostgresStore unit tests"
RAMPART_TEST_DATABASE_URL="postgres://rampart@127.0.0.1:$port/postgres" \
  cargo test --quiet --locked -p rampart-registry --features postgres,s3 --lib store_postgres
