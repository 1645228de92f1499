#!/usr/bin/env bash
# The registry's integration suite (crates/rampart-registry/tests/api.rs) against PostgreSQL:
# a throw-away cluster from Debian's `postgresql` package on a free loopback port, owned by
# an unprivileged user (CI runs as root; initdb refuses root). No system service is used.
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
  cargo test --quiet --locked -p rampart-registry --features postgres --test api
echo "-- two rampart serve processes sharing one database and data directory"
cargo build --quiet --locked -p rampart
rampart=target/debug/rampart
psql -q -h 127.0.0.1 -p "$port" -U rampart -d postgres -c 'CREATE DATABASE shared_smoke'
export RAMPART_DATABASE_URL="postgres://rampart@127.0.0.1:$port/shared_smoke"
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
unset RAMPART_DATABASE_URL
"$rampart" log verify "$cluster/registry/log"

echo "-- PostgresStore unit tests"
RAMPART_TEST_DATABASE_URL="postgres://rampart@127.0.0.1:$port/postgres" \
  cargo test --quiet --locked -p rampart-registry --features postgres --lib store_postgres
