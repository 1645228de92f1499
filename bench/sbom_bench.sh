#!/usr/bin/env bash
# Side-by-side SBOM and offline-audit benchmark on one ~75-package Python 3.11 venv:
# `rampart sbom` against `cyclonedx-py environment` (cyclonedx-bom) and cdxgen (time, peak RSS,
# component count, CycloneDX schema validity), and `rampart audit` against pip-audit with no
# network access (time, exit code, advisories found).
#
#   bench/sbom_bench.sh [--runs N] [--keep] [--out FILE]
#
# Prints markdown tables and writes them to bench/results/sbom.md.
# RAMPART=/path/to/rampart skips `cargo build --release -p rampart`. The audited venv is built
# from requirements-sbom-target.txt into bench/.venv-sbom-target (wheels only), the tools into
# bench/.venv-sbom (requirements-sbom.txt) and bench/.cdxgen (npm); all are reused while their
# pins are unchanged. Every output is validated offline against the CycloneDX JSON schema of its
# declared specVersion from ../shared/data/schemas/cyclonedx.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
DATA="$(cd "$ROOT/../shared/data" && pwd)"
RUNS=5
KEEP=0
OUT="$HERE/results/sbom.md"
CDXGEN_VERSION=12.8.4

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 ;;
  esac
done
log() { printf '[sbom_bench] %s\n' "$*" >&2; }

# --- tools -----------------------------------------------------------------------------------
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null || PY=python3
ensure_venv() { # dir requirements-file [pip install options...]
  local dir="$1" req="$2" stamp
  shift 2
  stamp="$(sha256sum "$req" | cut -c1-16)"
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.bench-stamp" 2>/dev/null)" = "$stamp" ]; then
    return
  fi
  log "installing $(basename "$req") into $dir"
  rm -rf "$dir"
  "$PY" -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check "$@" -r "$req"
  echo "$stamp" > "$dir/.bench-stamp"
}
TOOLS="$HERE/.venv-sbom"
TARGET="$HERE/.venv-sbom-target"
ensure_venv "$TOOLS" "$HERE/requirements-sbom.txt"
ensure_venv "$TARGET" "$HERE/requirements-sbom-target.txt" --only-binary :all:
CDXGEN_DIR="$HERE/.cdxgen"
if [ "$(cat "$CDXGEN_DIR/.bench-stamp" 2>/dev/null)" != "$CDXGEN_VERSION" ]; then
  log "installing @cyclonedx/cdxgen@$CDXGEN_VERSION into $CDXGEN_DIR"
  rm -rf "$CDXGEN_DIR"
  mkdir -p "$CDXGEN_DIR"
  npm install --prefix "$CDXGEN_DIR" --no-audit --no-fund --loglevel=error "@cyclonedx/cdxgen@$CDXGEN_VERSION" >/dev/null
  echo "$CDXGEN_VERSION" > "$CDXGEN_DIR/.bench-stamp"
fi
CDXGEN="$CDXGEN_DIR/node_modules/.bin/cdxgen"
[ -x /usr/bin/time ] || { log "installing GNU time"; apt-get install -y -qq time >/dev/null; }
if [ -z "${RAMPART:-}" ]; then
  log "building rampart (release)"
  (cd "$ROOT" && cargo build --quiet --release --locked -p rampart)
  RAMPART="$ROOT/target/release/rampart"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/rampart-sbom-bench.XXXXXX")"
cleanup() { if [ "$KEEP" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT
SITE="$("$TARGET/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
DISTRIBUTIONS=$("$TARGET/bin/python" -m pip list --disable-pip-version-check 2>/dev/null | tail -n +3 | wc -l)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# --- measuring -------------------------------------------------------------------------------
# Best wall time (ns clock) of RUNS runs after one warm-up, then one more run under GNU time for
# the peak RSS (kept out of the timed runs: at tens of milliseconds its fork and exec show).
# Prints "<seconds> <KiB> <exit code>"; the output of the last run stays in $WORK/<tag>.*
measure() { # tag command...
  local tag="$1" best="" rc=0 i t0 t1 wall
  shift
  for ((i = 0; i <= RUNS; i++)); do
    t0=$(date +%s%N)
    rc=0; "$@" >"$WORK/$tag.stdout" 2>"$WORK/$tag.stderr" || rc=$?
    t1=$(date +%s%N)
    [ "$i" = 0 ] && continue   # warm-up: .pyc compilation, page cache
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", (b - a) / 1e9}')
    if [ -z "$best" ] || awk "BEGIN{exit !($wall < $best)}"; then best=$wall; fi
  done
  /usr/bin/time -f '%M' -o "$WORK/$tag.time" "$@" >"$WORK/$tag.stdout" 2>"$WORK/$tag.stderr" || rc=$?
  echo "$best $(tail -1 "$WORK/$tag.time") $rc"
}

VALIDATE="$WORK/validate.py"
cat > "$VALIDATE" <<'PY'
"""Validate CycloneDX JSON files against the bundled schema of their declared specVersion.

Every schema under the given directory is registered by its $id, and any other reference is
refused, so nothing is fetched. Prints: file, specVersion, components (nested included, the
metadata component not), verdict."""
import json, pathlib, sys
from jsonschema.validators import validator_for
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource

schemas = pathlib.Path(sys.argv[1])

def refuse(uri):
    raise NoSuchResource(ref=uri)

registry = Registry(retrieve=refuse).with_resources(
    (doc["$id"], Resource.from_contents(doc))
    for doc in (json.loads(p.read_text()) for p in sorted(schemas.glob("*.schema.json")))
    if "$id" in doc)

def count(components):
    return sum(1 + count(c.get("components", [])) for c in components)

for bom_path in sys.argv[2:]:
    try:
        bom = json.load(open(bom_path))
    except (OSError, ValueError) as e:
        print(f"{bom_path}\t-\t0\tnot JSON: {e}")
        continue
    spec = bom.get("specVersion", "?")
    components = count(bom.get("components", []))
    schema_path = schemas / f"bom-{spec}.schema.json"
    if not schema_path.exists():
        print(f"{bom_path}\t{spec}\t{components}\tno schema for specVersion {spec}")
        continue
    schema = json.loads(schema_path.read_text())
    cls = validator_for(schema)
    validator = cls(schema, registry=registry, format_checker=cls.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(bom), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        where = "/".join(map(str, errors[0].absolute_path)) or "(root)"
        verdict = f"invalid: {len(errors)} errors, first at {where}: {errors[0].message[:100]}"
    else:
        verdict = "valid"
    print(f"{bom_path}\t{spec}\t{components}\t{verdict}")
PY

# --- SBOM ------------------------------------------------------------------------------------
declare -a NAMES TAGS VERSIONS
sbom_tool() { # name tag version command... (the command writes $WORK/<tag>.json)
  local name="$1" tag="$2" version="$3"
  shift 3
  log "$name"
  NAMES+=("$name"); TAGS+=("$tag"); VERSIONS+=("$version")
  measure "$tag" "$@" > "$WORK/$tag.measure"
}
CDXPY_VERSION="cyclonedx-bom $("$TOOLS/bin/cyclonedx-py" --version 2>/dev/null)"
sbom_tool "cyclonedx-py environment (validates its output, the default)" cdxpy "$CDXPY_VERSION" \
  "$TOOLS/bin/cyclonedx-py" environment "$TARGET" -o "$WORK/cdxpy.json"
sbom_tool "cyclonedx-py environment --no-validate" cdxpy-nv "$CDXPY_VERSION" \
  "$TOOLS/bin/cyclonedx-py" environment --no-validate "$TARGET" -o "$WORK/cdxpy-nv.json"
# cdxgen reads the dist-info METADATA files under the directory (recurse is its default);
# --no-install-deps keeps it from creating a venv and pip-installing anything it finds. Its
# default spec version is 1.7; 1.6 is what the two others write.
sbom_tool "cdxgen -t python --spec-version 1.6 --no-install-deps (validates, the default)" cdxgen "cdxgen $CDXGEN_VERSION" \
  "$CDXGEN" -t python --spec-version 1.6 --no-install-deps -o "$WORK/cdxgen.json" "$TARGET"
sbom_tool "cdxgen ... --no-validate" cdxgen-nv "cdxgen $CDXGEN_VERSION" \
  "$CDXGEN" -t python --spec-version 1.6 --no-install-deps --no-validate -o "$WORK/cdxgen-nv.json" "$TARGET"
RAMPART_VERSION="$("$RAMPART" --version)"
sbom_tool "**rampart sbom**" rampart "$RAMPART_VERSION" "$RAMPART" sbom "$TARGET" -o "$WORK/rampart.json"

log "validating every SBOM against its declared CycloneDX schema"
BOMS=(); for tag in "${TAGS[@]}"; do BOMS+=("$WORK/$tag.json"); done
"$TOOLS/bin/python" "$VALIDATE" "$DATA/schemas/cyclonedx" "${BOMS[@]}" \
  | awk -F'\t' -v OFS='\t' '{ n = split($1, part, "/"); sub(/\.json$/, "", part[n]); $1 = part[n]; print }' \
  > "$WORK/validation.tsv"

# --- audit -----------------------------------------------------------------------------------
log "rampart db import"
read -r import_wall _ import_rc <<< "$(measure db-import "$RAMPART" db import "$DATA/osv" --db-path "$WORK/db" \
  --top-list "$DATA/pypi-top.txt")"
[ "$import_rc" = 0 ] || { log "rampart db import failed: $(cat "$WORK/db-import.stderr")"; exit 1; }
log "rampart audit (imported database)"
read -r audit_db_wall audit_db_rss audit_db_rc <<< "$(measure audit-db "$RAMPART" audit "$TARGET" --db-path "$WORK/db" \
  --no-config -q -f json -o "$WORK/audit-db.json")"
log "rampart audit --db (OSV directory read as is)"
read -r audit_osv_wall audit_osv_rss audit_osv_rc <<< "$(measure audit-osv "$RAMPART" audit "$TARGET" --db "$DATA/osv" \
  --no-config -q -f json -o "$WORK/audit-osv.json")"

# pip-audit has no offline mode: it asks PyPI (or OSV) per package. Two ways of having no
# network: a proxy that refuses connections, and a network namespace without interfaces.
PIP_AUDIT=("$TOOLS/bin/pip-audit" --path "$SITE" --cache-dir "$WORK/pip-audit-cache" --progress-spinner off -f json)
PIP_AUDIT_VERSION="$("$TOOLS/bin/pip-audit" --version 2>/dev/null)"
log "pip-audit, HTTPS_PROXY=http://127.0.0.1:9"
read -r pa_proxy_wall pa_proxy_rss pa_proxy_rc <<< "$(measure pa-proxy env HTTPS_PROXY=http://127.0.0.1:9 \
  HTTP_PROXY=http://127.0.0.1:9 NO_PROXY= timeout 600 "${PIP_AUDIT[@]}")"
PA_NETNS=0
if unshare -n true 2>/dev/null; then
  PA_NETNS=1
  log "pip-audit, unshare -n (no network interfaces)"
  read -r pa_netns_wall pa_netns_rss pa_netns_rc <<< "$(measure pa-netns unshare -n timeout 600 "${PIP_AUDIT[@]}")"
fi

# "<advisories> <packages>" from a rampart JSON report or pip-audit JSON output (0 0 if none)
advisories() {
  "$TOOLS/bin/python" - "$1" <<'PY'
import json, sys
try:
    data = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    print(0, 0); sys.exit()
if "findings" in data:   # rampart: evidence is "<name>==<version> <advisory id>"
    pairs = {tuple(f["evidence"].rsplit(" ", 1)) for f in data["findings"]
             if f["rule_id"] in ("audit/vulnerable-package", "audit/malicious-package")}
    print(len(pairs), len({p for p, _ in pairs}))
else:                    # pip-audit
    deps = [d for d in data.get("dependencies", []) if d.get("vulns")]
    print(sum(len(d["vulns"]) for d in deps), len(deps))
PY
}
outcome() { # tag: the last line the tool wrote to stderr, else the summary of its JSON report
  if grep -q '[^[:space:]]' "$WORK/$1.stderr"; then
    grep -v '^\s*$' "$WORK/$1.stderr" | tail -1 | cut -c1-200 | sed 's/|/\\|/g'
  else
    "$TOOLS/bin/python" -c 'import json, sys; s = json.load(open(sys.argv[1]))["summary"]
print("(nothing; JSON summary: " + ", ".join(f"{n} {k}" for k, n in s["findings"].items()) + ")")' "$WORK/$1.json"
  fi
}

# --- report ----------------------------------------------------------------------------------
ms() { awk -v s="$1" 'BEGIN{printf "%.1f", s * 1000}'; }
RAMPART_SBOM_WALL=$(cut -d' ' -f1 "$WORK/rampart.measure")
{
  echo "# SBOM and offline audit: rampart vs cyclonedx-py, cdxgen and pip-audit"
  echo
  echo "$(date -u +%Y-%m-%d), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(uname -sr);"
  echo "best of $RUNS runs after a warm-up, wall time from the shell's ns clock; peak RSS from one more run under GNU time."
  echo "Load average before / after: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared; other work slows every row)."
  echo
  echo "The venv: CPython $("$TARGET/bin/python" -c 'import platform; print(platform.python_version())'), $DISTRIBUTIONS distributions"
  echo "(\`pip list\`) from \`bench/requirements-sbom-target.txt\`, wheels only: old releases with PYSEC advisories"
  echo "(requests 2.25.0, urllib3 1.26.4, jinja2 2.11.2, flask 1.1.2, django 3.1, pillow 9.3.0, ...) and ML-adjacent"
  echo "packages (numpy, pandas, scikit-learn, transformers, tokenizers, safetensors, matplotlib, nltk)."
  echo
  echo "## SBOM"
  echo
  echo "Schema: each output validated with Python jsonschema against \`shared/data/schemas/cyclonedx/bom-<specVersion>.schema.json\`"
  echo "(spdx and jsf schemas registered locally, nothing fetched). Components: all \`components\`, nested included."
  echo
  echo "| tool | version | wall ms | peak RSS MiB | exit | components | specVersion | schema | time / rampart |"
  echo "|---|---|---:|---:|---:|---:|---|---|---:|"
  for i in "${!NAMES[@]}"; do
    tag="${TAGS[$i]}"
    read -r wall kb rc < "$WORK/$tag.measure"
    IFS=$'\t' read -r _ spec comps verdict <<< "$(grep -P "^$tag\t" "$WORK/validation.tsv")"
    ratio=$(awk -v a="$wall" -v b="$RAMPART_SBOM_WALL" 'BEGIN{printf "%.0fx", a / b}')
    echo "| ${NAMES[$i]} | ${VERSIONS[$i]} | $(ms "$wall") | $(awk -v k="$kb" 'BEGIN{printf "%.0f", k / 1024}') | $rc | $comps | $spec | $verdict | $ratio |"
  done
  echo
  cdxpy_wall=$(cut -d' ' -f1 "$WORK/cdxpy.measure"); cdxpy_nv_wall=$(cut -d' ' -f1 "$WORK/cdxpy-nv.measure")
  awk -v r="$RAMPART_SBOM_WALL" -v a="$cdxpy_wall" -v b="$cdxpy_nv_wall" 'BEGIN{
    printf "Target: rampart sbom in tens of milliseconds and at least 30x faster than cyclonedx-py: %.1f ms and %.0fx the default `cyclonedx-py environment`: %s",
      r * 1000, a / r, (r < 0.1 && a / r >= 30) ? "met" : "NOT met"
    printf " (%.0fx against `--no-validate`, which skips the schema validation that takes most of its time: %s).\n",
      b / r, (b / r >= 30) ? "also met" : "not met" }'
  extra=$("$TOOLS/bin/python" - "$WORK/cdxgen.json" "$WORK/rampart.json" <<'PY'
import json, sys
def names(path):
    def walk(cs):
        for c in cs:
            yield (c["name"].lower().replace("_", "-"), c.get("version"))
            yield from walk(c.get("components", []))
    return set(walk(json.load(open(path)).get("components", [])))
cdxgen, rampart = names(sys.argv[1]), names(sys.argv[2])
fmt = lambda s: ", ".join(f"{n} {v}" for n, v in sorted(s)) or "none"
print(f"only in cdxgen's SBOM: {fmt(cdxgen - rampart)}; only in rampart's: {fmt(rampart - cdxgen)}.")
PY
)
  echo "Component sets (name, version) compared: $extra"
  echo
  echo "## Offline audit"
  echo
  echo "rampart reads \`shared/data/osv\` ($(find "$DATA/osv" -name '*.json' | wc -l) OSV records): imported once with"
  echo "\`rampart db import $DATA/osv --db-path \$TMP/db --top-list pypi-top.txt\` ($(ms "$import_wall") ms), or read as is with \`--db\`."
  echo "$PIP_AUDIT_VERSION (\`--path <site-packages> -f json\`, empty cache) has no offline database; it was run with no network."
  echo
  echo "| tool | wall ms | peak RSS MiB | exit | advisories found (packages) | last line on stderr |"
  echo "|---|---:|---:|---:|---:|---|"
  row() { # name wall kb rc tag
    read -r n p <<< "$(advisories "$WORK/$5.json")"
    echo "| $1 | $(ms "$2") | $(awk -v k="$3" 'BEGIN{printf "%.0f", k / 1024}') | $4 | $n ($p) | $(outcome "$5") |"
  }
  row "**rampart audit --db-path** (imported database)" "$audit_db_wall" "$audit_db_rss" "$audit_db_rc" audit-db
  row "**rampart audit --db shared/data/osv** (OSV JSON read as is)" "$audit_osv_wall" "$audit_osv_rss" "$audit_osv_rc" audit-osv
  cp "$WORK/pa-proxy.stdout" "$WORK/pa-proxy.json"
  row "pip-audit, HTTPS_PROXY=http://127.0.0.1:9" "$pa_proxy_wall" "$pa_proxy_rss" "$pa_proxy_rc" pa-proxy
  if [ "$PA_NETNS" = 1 ]; then
    cp "$WORK/pa-netns.stdout" "$WORK/pa-netns.json"
    row "pip-audit, \`unshare -n\` (no network interfaces)" "$pa_netns_wall" "$pa_netns_rss" "$pa_netns_rc" pa-netns
  fi
  echo
  awk -v w="$audit_db_wall" 'BEGIN{ printf "Target: rampart audit of the venv in under 100 ms including database load: %.1f ms: %s.\n",
    w * 1000, (w < 0.1) ? "met" : "NOT met" }'
  echo "rampart's exit code 1 means findings at or above \`--fail-on\` (high)."
  echo
  no_vulns=$(cat "$WORK"/pa-*.stdout "$WORK"/pa-*.stderr | grep -c 'No known vulnerabilities found' || true)
  if [ "$no_vulns" = 0 ] && [ "$pa_proxy_rc" != 0 ]; then
    echo "pip-audit did not print \"No known vulnerabilities found\" or exit 0 without network: it stopped at the first"
    echo "package it could not look up, with a traceback and exit code $pa_proxy_rc, and reported nothing."
  else
    echo "pip-audit printed \"No known vulnerabilities found\" $no_vulns time(s) without network (exit code $pa_proxy_rc)."
  fi
  echo "pip-audit's standard output with the refusing proxy was $(wc -c < "$WORK/pa-proxy.stdout") bytes; the end of its standard error:"
  echo
  echo '```'
  grep -v '^\s' "$WORK/pa-proxy.stderr" | grep -v '^\s*$' | tail -4 | cut -c1-300
  echo '```'
  echo
  echo "Exactness: the same venv's (package, version, advisory) matches computed independently with Python"
  echo "\`packaging\` over the same OSV data (\`bench/audit_oracle.py\`, the oracle of rampart-advisories' tests):"
  echo
  echo '```'
  "$TOOLS/bin/python" "$HERE/audit_oracle.py" "$TARGET" "$DATA/osv" "$WORK/audit-db.json" || echo "MISMATCH: see the lines above"
  echo '```'
} | tee "$OUT"
log "written to $OUT"
