#!/usr/bin/env bash
# Side-by-side model-registry benchmark: `rampart serve` against MLflow's tracking server
# (SQLite backend, artifact proxy), one server at a time on 127.0.0.1, same machine and data.
#
#   bench/registry_bench.sh [--duration S] [--auth-duration S] [--sizes "50 1024"] [--runs N]
#                           [--skip-mlflow] [--dir DIR] [--out FILE]
#
# 1. Metadata reads with wrk (Debian's `wrk`): GET one model version at 1/8/32 connections for S
#    seconds each (default 15) with the reader's credentials: rampart (bearer token);
#    MLflow with --app-name basic-auth (default config for --auth-duration S, default 60, as
#    it completes about one request a second; then auth_cache_ttl_seconds = 60); MLflow without
#    auth. Requests/s, p50/p99 latency, errors; time to a healthy server.
# 2. Artifacts of each size in MiB (default 50 and 1024; a fresh random safetensors file per
#    run, N runs (default 3) below 1 GiB, one at 1 GiB): raw HTTP with curl on both servers
#    (rampart `PUT/GET /api/v1/blobs/sha256:…`, MLflow `PUT/GET /api/2.0/mlflow-artifacts/…`,
#    no auth), and `rampart push` / `rampart pull`, which also hash, scan and verify. Peak RSS
#    of the server (its whole process tree) sampled every 20 ms while streaming.
# 3. For scale: an fsynced `dd` copy and `sha256sum` of the largest file on this disk.
#
# Writes bench/results/registry.md. RAMPART=/path/to/rampart skips
# `cargo build --release -p rampart`. MLflow goes to bench/.venv-registry
# (bench/registry/requirements.txt). Needs wrk and curl (apt-get install wrk curl).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
DURATION=15
AUTH_DURATION=60
SIZES="50 1024"
RUNS=3
MLFLOW=1
DIR="${TMPDIR:-/tmp}/rampart-registry-bench"
OUT="$HERE/results/registry.md"
RAMPART_PORT=18701
MLFLOW_PORT=18702

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --auth-duration) AUTH_DURATION="$2"; shift 2 ;;
    --sizes) SIZES="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --skip-mlflow) MLFLOW=0; shift ;;
    --dir) DIR="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 ;;
  esac
done
log() { printf '[registry_bench] %s\n' "$*" >&2; }
for tool in wrk curl /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install wrk curl time" >&2; exit 2; }
done

VENV="$HERE/.venv-registry"
if [ "$MLFLOW" = 1 ] && [ ! -x "$VENV/bin/mlflow" ]; then
  log "installing MLflow into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r "$HERE/registry/requirements.txt"
fi
if [ -z "${RAMPART:-}" ]; then
  log "building rampart (release)"
  cargo build --release -q -p rampart --manifest-path "$ROOT/Cargo.toml"
  RAMPART="$ROOT/target/release/rampart"
fi

rm -rf "$DIR"
mkdir -p "$DIR"
SERVER_PID=""
SAMPLER_PID=""
stop_server() {
  if [ -n "$SAMPLER_PID" ]; then kill "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=""; fi
  if [ -n "$SERVER_PID" ]; then
    # each server runs in its own session (setsid), so its group id is its pid
    kill -TERM -- "-$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
trap stop_server EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

# start_server LOG HEALTH_URL CMD...: starts CMD in its own session, waits until HEALTH_URL
# answers 200 (at most 180 s), sets SERVER_PID and STARTUP_S, then waits for it to go idle.
start_server() {
  local logfile="$1" health="$2"; shift 2
  local started; started="$(now)"
  setsid "$@" >"$logfile" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 900); do
    if curl -sf -o /dev/null "$health"; then
      STARTUP_S="$(elapsed "$started")"
      IDLE_S="$(python3 "$HERE/registry/settle.py" "$SERVER_PID")"
      log "healthy after $STARTUP_S s; idle $IDLE_S s later"
      STARTUP_S="$STARTUP_S s (idle $IDLE_S s later)"
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.2
  done
  echo "the server did not become healthy; its log:" >&2
  tail -30 "$logfile" >&2
  exit 1
}

# the machine is shared: note the 1-minute load average as each section starts
LOADS=""
note_load() { LOADS+="${LOADS:+, }$1 $(cut -d' ' -f1 /proc/loadavg)"; }

# wrk_row LABEL URL HEADER [SECONDS]: one table row per connection count.
WRK_ROWS=""
wrk_row() {
  local label="$1" url="$2" header="$3" seconds="${4:-$DURATION}" c threads out row
  # a short warm-up so first-request costs (connection set-up, caches) are not measured
  wrk -t1 -c1 -d2s --timeout 30s -H "$header" "$url" >/dev/null
  note_load "$label"
  for c in 1 8 32; do
    threads=$(( c < 2 ? 1 : 2 ))
    out="$DIR/wrk-$(echo "$label" | tr -c 'a-zA-Z0-9' '_')-$c.txt"
    wrk -t"$threads" -c"$c" -d"${seconds}s" --timeout 30s --latency -H "$header" "$url" >"$out"
    row="$(awk -v label="$label" -v c="$c" '
      function ms(v) {
        if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0
        if (v ~ /m$/) return v * 60000; if (v ~ /s$/) return v * 1000; return v
      }
      function fmt(v) { return v >= 100 ? sprintf("%.0f", v) : v >= 10 ? sprintf("%.1f", v) : sprintf("%.2f", v) }
      /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
      /requests in/ { n = $1 }
      /Requests\/sec/ { rps = $2 }
      /Non-2xx/ { bad += $NF }
      /Socket errors/ { gsub(",", ""); bad += $4 + $6 + $8; timeouts = $10 }
      END {
        lat50 = n > 0 ? fmt(p50) : "–"; lat99 = n > 0 ? fmt(p99) : "–"
        printf "| %s | %d | %s | %d | %s | %s | %d | %d |\n", label, c, fmt(rps + 0), n, lat50, lat99, bad, timeouts
      }' "$out")"
    [ "$seconds" = "$DURATION" ] || row="${row/| $c |/| $c (${seconds} s) |}"
    WRK_ROWS+="$row"$'\n'
    log "$row"
  done
}

# sampled LABEL CMD...: runs CMD under /usr/bin/time -v while sampling the server's RSS; appends
# "LABEL wall_s client_peak_mib server_idle_mib server_peak_mib server_largest_mib" to $DIR/transfers.
sampled() {
  local label="$1"; shift
  rm -f "$DIR/rss.out"
  python3 "$HERE/registry/rss_sample.py" "$SERVER_PID" "$DIR/rss.out" &
  SAMPLER_PID=$!
  until [ -s "$DIR/rss.out" ]; do sleep 0.02; done # it has taken its first sample
  local started; started="$(now)"
  /usr/bin/time -v -o "$DIR/time.out" "$@" >"$DIR/cmd.out" 2>&1 || {
    cat "$DIR/cmd.out" >&2; exit 1; }
  local wall; wall="$(elapsed "$started")"
  kill "$SAMPLER_PID"; wait "$SAMPLER_PID" || true; SAMPLER_PID=""
  grep -q '^[0-9]* [0-9]* [0-9]*$' "$DIR/rss.out" || { echo "the memory sampler failed" >&2; exit 1; }
  local client; client="$(awk -F': ' '/Maximum resident/ {printf "%.0f", $2 / 1024}' "$DIR/time.out")"
  echo "$label $wall $client $(cat "$DIR/rss.out")" >>"$DIR/transfers"
  log "$label: $wall s, client $client MiB, server idle/peak/largest $(cat "$DIR/rss.out") MiB"
}

artifact() { # artifact SIZE_MIB RUN -> path of a fresh random model file
  local dir="$DIR/art/$1-$2"
  mkdir -p "$dir"
  python3 "$HERE/registry/gen_model.py" "$dir/model.safetensors" $(( $1 << 20 ))
  echo "$dir/model.safetensors"
}
runs_for() { if [ "$1" -ge 1024 ]; then echo 1; else echo "$RUNS"; fi; }

# ---------------------------------------------------------------- rampart
log "rampart: $RAMPART"
R_DATA="$DIR/rampart-data"
"$RAMPART" registry init "$R_DATA" >"$DIR/rampart-init.txt"
ADMIN="$(grep -o 'rmp_[A-Za-z0-9_-]*' "$DIR/rampart-init.txt")"
token() { "$RAMPART" registry token create --data "$R_DATA" --user "$1" --role "$2" --namespace bench | grep -o 'rmp_[A-Za-z0-9_-]*'; }
PUBLISHER="$(token pat publisher)"
READER="$(token rita reader)"
R_URL="http://127.0.0.1:$RAMPART_PORT"
start_server "$DIR/rampart-serve.log" "$R_URL/healthz" \
  "$RAMPART" serve --data "$R_DATA" --listen "127.0.0.1:$RAMPART_PORT"
R_STARTUP="$STARTUP_S"
curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $ADMIN" "$R_URL/api/v1/namespaces/bench" \
  -d '{"trusted_keys": [], "stages": {"production": {"approvals": 1}}}'
mkdir -p "$DIR/meta-model"
python3 "$HERE/registry/gen_model.py" "$DIR/meta-model/model.safetensors" 4096
"$RAMPART" push "$DIR/meta-model" bench/fraud-detector:1 --registry "$R_URL" --token "$PUBLISHER" >/dev/null
R_META_URL="$R_URL/api/v1/namespaces/bench/models/fraud-detector/versions/1"
curl -sf -H "Authorization: Bearer $READER" "$R_META_URL" >"$DIR/rampart-version.json"
R_META_BYTES="$(wc -c <"$DIR/rampart-version.json")"
wrk_row "rampart serve (bearer token)" "$R_META_URL" "Authorization: Bearer $READER"

log "rampart: artifacts"
note_load "rampart artifacts"
for size in $SIZES; do
  for run in $(seq "$(runs_for "$size")"); do
    file="$(artifact "$size" "r$run")"
    sampled "rampart-push-$size" "$RAMPART" push "$(dirname "$file")" "bench/big-$size:$run" \
      --registry "$R_URL" --token "$PUBLISHER"
    digest="sha256:$(sha256sum "$file" | cut -d' ' -f1)"
    rm -rf "$DIR/pulled"
    sampled "rampart-pull-$size" "$RAMPART" pull "bench/big-$size:$run" "$DIR/pulled" \
      --registry "$R_URL" --token "$READER" --log-key "$R_DATA/log/log.vkey"
    rm -rf "$DIR/pulled"
    sampled "rampart-curl-get-$size" curl -sSf -o "$DIR/download" \
      -H "Authorization: Bearer $READER" "$R_URL/api/v1/blobs/$digest"
    cmp -s "$file" "$DIR/download" || { echo "rampart served different bytes" >&2; exit 1; }
    rm -f "$DIR/download" "$file"
    # a second fresh file for the raw upload: the pushed blob is already stored
    file="$(artifact "$size" "r$run-raw")"
    digest="sha256:$(sha256sum "$file" | cut -d' ' -f1)"
    sampled "rampart-curl-put-$size" curl -sSf -o /dev/null -T "$file" \
      -H "Authorization: Bearer $PUBLISHER" "$R_URL/api/v1/blobs/$digest"
    rm -f "$file"
  done
done
stop_server

# what "disk speed" and "hashing speed" are here, on the largest file: a copy that is fsynced
# (the file is in the page cache, as the uploaded ones are), and SHA-256 on one core
largest="$(tr ' ' '\n' <<<"$SIZES" | sort -n | tail -1)"
file="$(artifact "$largest" ref)"
started="$(now)"; dd if="$file" of="$DIR/copy" bs=1M conv=fsync status=none; COPY_S="$(elapsed "$started")"
started="$(now)"; sha256sum "$file" >/dev/null; HASH_S="$(elapsed "$started")"
rm -f "$file" "$DIR/copy"
REFERENCE="$(awk -v m="$largest" -v c="$COPY_S" -v h="$HASH_S" 'BEGIN {
  printf "Reference on the %d MiB file: `dd bs=1M conv=fsync` copy %.2f s (%.0f MiB/s), `sha256sum` %.2f s (%.0f MiB/s).", m, c, m / c, h, m / h }')"
log "$REFERENCE"

# ---------------------------------------------------------------- MLflow
M_URL="http://127.0.0.1:$MLFLOW_PORT"
M_API="$M_URL/api/2.0/mlflow"
M_META_URL="$M_API/model-versions/get?name=fraud-detector&version=1"
MLFLOW_VERSION=""
M_STARTUP_NOAUTH="" M_STARTUP_AUTH="" M_STARTUP_CACHE=""
ADMIN_PASSWORD="bench-admin-$RANDOM$RANDOM-password"
READER_PASSWORD="bench-reader-$RANDOM$RANDOM-password"

# mlflow_start NAME [auth.ini]: a fresh SQLite store and artifact root per configuration
mlflow_start() {
  local name="$1" ini="${2:-}" data="$DIR/mlflow-$1"
  mkdir -p "$data/artifacts"
  local args=(server --host 127.0.0.1 --port "$MLFLOW_PORT" --workers 2
    --backend-store-uri "sqlite:///$data/mlflow.db" --artifacts-destination "$data/artifacts" --serve-artifacts)
  if [ -n "$ini" ]; then
    start_server "$DIR/mlflow-$name.log" "$M_URL/health" \
      env MLFLOW_AUTH_CONFIG_PATH="$ini" MLFLOW_AUTH_ADMIN_PASSWORD="$ADMIN_PASSWORD" \
      MLFLOW_FLASK_SERVER_SECRET_KEY="bench-$RANDOM$RANDOM" \
      "$VENV/bin/mlflow" "${args[@]}" --app-name basic-auth
  else
    start_server "$DIR/mlflow-$name.log" "$M_URL/health" "$VENV/bin/mlflow" "${args[@]}"
  fi
}

# the registered model the reads fetch: 3 versions with tags and an alias, as in the notes
mlflow_seed() {
  local auth=("$@") v
  curl -sf -o /dev/null "${auth[@]}" -H 'Content-Type: application/json' "$M_API/registered-models/create" \
    -d '{"name": "fraud-detector", "description": "bench", "tags": [{"key": "team", "value": "risk"}]}'
  for v in 1 2 3; do
    curl -sf -o /dev/null "${auth[@]}" -H 'Content-Type: application/json' "$M_API/model-versions/create" \
      -d "{\"name\": \"fraud-detector\", \"source\": \"s3://bench-bucket/fraud-detector/$v\", \"tags\": [{\"key\": \"sha\", \"value\": \"$v\"}]}"
  done
  curl -sf -o /dev/null "${auth[@]}" -H 'Content-Type: application/json' "$M_API/registered-models/alias" \
    -d '{"name": "fraud-detector", "alias": "production", "version": "1"}'
}

mlflow_auth_run() { # mlflow_auth_run NAME LABEL SECONDS [extra ini lines]
  local name="$1" label="$2" seconds="$3" extra="${4:-}" ini="$DIR/mlflow-$1.ini"
  mkdir -p "$DIR/mlflow-$name"
  cat >"$ini" <<INI
[mlflow]
default_permission = READ
database_uri = sqlite:///$DIR/mlflow-$name/basic_auth.db
admin_username = admin
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
$extra
INI
  mlflow_start "$name" "$ini"
  local startup="$STARTUP_S"
  curl -sf -o /dev/null -u "admin:$ADMIN_PASSWORD" -H 'Content-Type: application/json' \
    "$M_API/users/create" -d "{\"username\": \"rita\", \"password\": \"$READER_PASSWORD\"}"
  mlflow_seed -u "admin:$ADMIN_PASSWORD"
  curl -sf -o /dev/null -u "rita:$READER_PASSWORD" "$M_META_URL" || {
    echo "MLflow ($name) refused the reader's GET" >&2; exit 1; }
  wrk_row "$label" "$M_META_URL" "Authorization: Basic $(printf 'rita:%s' "$READER_PASSWORD" | base64 -w0)" "$seconds"
  stop_server
  AUTH_STARTUP="$startup"
}

if [ "$MLFLOW" = 1 ]; then
  MLFLOW_VERSION="$("$VENV/bin/python" -c 'import mlflow; print(mlflow.__version__)')"
  log "MLflow $MLFLOW_VERSION without auth"
  mlflow_start noauth
  M_STARTUP_NOAUTH="$STARTUP_S"
  mlflow_seed
  curl -sf "$M_META_URL" >"$DIR/mlflow-version.json"
  M_META_BYTES="$(wc -c <"$DIR/mlflow-version.json")"
  wrk_row "MLflow $MLFLOW_VERSION, no auth" "$M_META_URL" "Accept: application/json"

  log "MLflow: artifacts through the proxy (no auth)"
  note_load "MLflow artifacts"
  for size in $SIZES; do
    for run in $(seq "$(runs_for "$size")"); do
      file="$(artifact "$size" "m$run")"
      art="$M_URL/api/2.0/mlflow-artifacts/artifacts/bench/$size-$run/model.safetensors"
      sampled "mlflow-curl-put-$size" curl -sSf -o /dev/null -T "$file" "$art"
      sampled "mlflow-curl-get-$size" curl -sSf -o "$DIR/download" "$art"
      cmp -s "$file" "$DIR/download" || { echo "MLflow served different bytes" >&2; exit 1; }
      rm -f "$DIR/download" "$file"
    done
  done
  stop_server

  log "MLflow $MLFLOW_VERSION basic-auth (default: password hash checked on every request)"
  mlflow_auth_run auth "MLflow $MLFLOW_VERSION, basic-auth" "$AUTH_DURATION"
  M_STARTUP_AUTH="$AUTH_STARTUP"
  log "MLflow $MLFLOW_VERSION basic-auth with auth_cache_ttl_seconds = 60"
  mlflow_auth_run authcache "MLflow $MLFLOW_VERSION, basic-auth + 60 s credential cache" "$DURATION" \
    "auth_cache_ttl_seconds = 60"
  M_STARTUP_CACHE="$AUTH_STARTUP"
fi

# ---------------------------------------------------------------- report
# median wall time per label; MiB/s from it; the highest server and client memory over the runs
TRANSFERS="$(python3 - "$DIR/transfers" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    label, wall, client, idle, peak, largest = line.split()
    rows.setdefault(label, []).append((float(wall), int(client), int(idle), int(peak), int(largest)))
names = {
    "rampart-push": "rampart push (client hashes; server hashes, fsyncs, scans, logs)",
    "rampart-pull": "rampart pull (hash + audit proofs verified, then renamed)",
    "rampart-curl-put": "rampart, curl PUT /api/v1/blobs (server hashes + fsyncs)",
    "rampart-curl-get": "rampart, curl GET /api/v1/blobs",
    "mlflow-curl-put": "MLflow, curl PUT mlflow-artifacts (no auth)",
    "mlflow-curl-get": "MLflow, curl GET mlflow-artifacts (no auth)",
}
order = ["rampart-push", "rampart-curl-put", "mlflow-curl-put", "rampart-pull", "rampart-curl-get", "mlflow-curl-get"]
sizes = sorted({int(l.rsplit("-", 1)[1]) for l in rows})
for size in sizes:
    for kind in order:
        runs = rows.get(f"{kind}-{size}")
        if not runs:
            continue
        wall = statistics.median(r[0] for r in runs)
        idle = min(r[2] for r in runs)
        peak = max(r[3] for r in runs)
        largest = max(r[4] for r in runs)
        client = max(r[1] for r in runs)
        print(f"| {names[kind]} | {size} MiB | {len(runs)} | {wall:.2f} | {size / wall:.0f} | "
              f"{idle} → {peak} | {largest} | {client} |")
PY
)"

RAMPART_VERSION="$("$RAMPART" --version | awk '{print $2}')"
CPU="$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
STARTUP="Start-up, launch to the first 200 from the health URL: rampart serve ${R_STARTUP}"
if [ "$MLFLOW" = 1 ]; then
  STARTUP+="; MLflow without auth ${M_STARTUP_NOAUTH}, basic-auth ${M_STARTUP_AUTH}, basic-auth + cache ${M_STARTUP_CACHE} (each on a fresh SQLite store, so schema migrations included). \"Idle\": the process tree used under 10% of a core over 2 s; every measurement starts after that"
fi
REPORT="$(cat <<REPORT
Machine: $(nproc) cores ($CPU), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(uname -r); $(date -u +%Y-%m-%d).
rampart $RAMPART_VERSION ($RAMPART), MLflow ${MLFLOW_VERSION:-skipped} (uvicorn, --workers 2, SQLite), $(wrk --version 2>&1 | head -1 | awk '{print $1, $2}'), $(curl --version | head -1 | awk '{print $1, $2}').
Everything on 127.0.0.1, one server at a time; wrk and curl share the 2 cores with the server.
1-minute load average as each part started (other work was running on the machine): $LOADS.

### Metadata reads: GET one model version, ${DURATION} s per row unless marked

rampart \`GET /api/v1/namespaces/bench/models/fraud-detector/versions/1\` (${R_META_BYTES} bytes: manifest, state, gate results and the stored scan report, audit indexes) with a reader token;
MLflow \`GET /api/2.0/mlflow/model-versions/get?name=fraud-detector&version=1\` (${M_META_BYTES:-–} bytes) as a user with the default READ permission.
wrk: \`wrk -t{1|2} -c{1|8|32} -d${DURATION}s --timeout 30s --latency -H 'Authorization: …' URL\` after a 2 s warm-up.

| server | connections | requests/s | requests | p50 ms | p99 ms | errors | timeouts |
|---|---:|---:|---:|---:|---:|---:|---:|
${WRK_ROWS%$'\n'}

$STARTUP.

### Artifacts: a random-tensor safetensors file, median of the runs

| path | size | runs | median s | MiB/s | server RSS MiB, idle → peak (whole process tree) | largest server process MiB | client peak MiB |
|---|---:|---:|---:|---:|---|---:|---:|
$TRANSFERS

$REFERENCE
REPORT
)"
echo "$REPORT"
mkdir -p "$(dirname "$OUT")"
# A hand-written "## Notes" section at the end of the previous results is kept.
notes=$( [ -f "$OUT" ] && sed -n '/^## Notes/,$p' "$OUT" || true)
printf '# bench/registry_bench.sh\n\n%s\n' "$REPORT" >"$OUT"
[ -z "$notes" ] || printf '\n%s\n' "$notes" >>"$OUT"
log "written to $OUT"
