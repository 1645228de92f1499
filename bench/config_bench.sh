#!/usr/bin/env bash
# Side-by-side benchmark of `rampart scan --scanners config,secret` against checkov (IaC and
# Kubernetes) and detect-secrets, on the intentionally vulnerable trees in
# ../shared/data/corpora/goats.tar.gz (terragoat, kubernetes-goat).
#
#   bench/config_bench.sh [--runs N] [--out FILE]
#
# Prints a markdown table (wall seconds, findings, time ratio to rampart) and writes it to
# bench/results/config.md. RAMPART=/path/to/rampart skips `cargo build --release -p rampart`.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
RUNS=3
OUT="$HERE/results/config.md"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
log() { printf '[config_bench] %s\n' "$*" >&2; }

PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null || PY=python3
ensure_venv() { # dir requirements-file
  local dir="$1" req="$2" stamp
  stamp="$(sha256sum "$req" | cut -c1-16)"
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.bench-stamp" 2>/dev/null)" = "$stamp" ]; then
    return
  fi
  log "installing $(basename "$req") into $dir"
  rm -rf "$dir"
  "$PY" -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$req"
  echo "$stamp" > "$dir/.bench-stamp"
}
# Two venvs: checkov depends on bc-detect-secrets, a fork that installs into the same
# `detect_secrets` package as upstream detect-secrets and would replace it.
VENV="$HERE/.venv-config"
DS_VENV="$HERE/.venv-detect-secrets"
ensure_venv "$VENV" "$HERE/requirements-config.txt"
ensure_venv "$DS_VENV" "$HERE/requirements-detect-secrets.txt"
if [ -z "${RAMPART:-}" ]; then
  log "building rampart (release)"
  (cd "$ROOT" && cargo build --quiet --release --locked -p rampart)
  RAMPART="$ROOT/target/release/rampart"
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
tar -xzf "$ROOT/../shared/data/corpora/goats.tar.gz" -C "$WORK"
GOATS="$WORK/goats"
# checkov must not phone home or download anything (with --skip-download below; checked with
# `strace -f -e trace=connect`: no connection other than local sockets).
export BC_SKIP_MAPPING=TRUE CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false LOG_LEVEL=ERROR
# A tool that hangs (e.g. waiting on the network) is stopped and reported, not waited for.
TOOL_TIMEOUT="${TOOL_TIMEOUT:-300}"

best_of() { # command... ; prints the best wall time of RUNS runs (after one warm-up), or "timeout"
  local best="" t0 t1 wall i rc
  for ((i = 0; i <= RUNS; i++)); do
    t0=$(date +%s.%N)
    rc=0; timeout "$TOOL_TIMEOUT" "$@" >/dev/null 2>&1 || rc=$?
    t1=$(date +%s.%N)
    if [ "$rc" = 124 ]; then echo "timeout"; return; fi
    [ "$i" = 0 ] && continue   # warm-up (.pyc compilation, page cache)
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')
    if [ -z "$best" ] || awk "BEGIN{exit !($wall < $best)}"; then best=$wall; fi
  done
  echo "$best"
}

count_checkov() { # json file: failed checks over all frameworks in the output
  "$PY" - "$1" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
runs = data if isinstance(data, list) else [data]
print(sum(len(r.get("results", {}).get("failed_checks", [])) for r in runs))
PY
}

count_rampart() { # json report: "<config> <secret>" active (not waived) findings by scanner prefix
  "$PY" - "$1" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
active = [f for f in report["findings"] if not f.get("waived")]
secret = sum(1 for f in active if f["rule_id"].startswith("secret/"))
print(len(active) - secret, secret)
PY
}

count_detect_secrets() { # json file: secrets over all files
  "$PY" -c 'import json, sys; print(sum(len(v) for v in json.load(open(sys.argv[1]))["results"].values()))' "$1"
}

# Which failing checkov checks rampart has an equivalent for, per CHECKOV.md in rampart-iac and
# rampart-deploy. A failure counts as covered when rampart reports the equivalent rule in the
# same file; everything else is summarised by provider.
compare_findings() { # tree-dir checkov.json rampart.json detect-secrets.json
  "$PY" - "$@" <<'PY'
import collections, json, os, re, sys

tree, checkov_json, rampart_json, ds_json = sys.argv[1:5]
EQUIVALENT = {
    "CKV2_AWS_6": "aws/s3-no-public-access-block", "CKV_AWS_21": "aws/s3-versioning-disabled",
    "CKV_AWS_7": "aws/kms-rotation-disabled", "CKV_AWS_51": "aws/ecr-mutable-tags",
    "CKV_AWS_163": "aws/ecr-scan-on-push-disabled", "CKV_AWS_38": "aws/eks-public-endpoint",
    "CKV_AWS_39": "aws/eks-public-endpoint", "CKV_AWS_58": "aws/eks-secrets-not-encrypted",
    "CKV_AWS_37": "aws/eks-control-plane-logging",
    "CKV_AWS_41": "terraform/provider-hardcoded-credentials",
    "CKV_AWS_286": "iam/privilege-escalation",
    **{f"CKV_AWS_{n}": "iam/wildcard-action" for n in (287, 288, 289, 290, 355)},
    **{f"CKV_AWS_{n}": "iam/resource-policy-public" for n in (283, 109, 111, 356)},
    "CKV_AWS_45": "secret/", "CKV_AWS_46": "secret/",
    "CKV_K8S_27": "k8s/host-path-volume", "CKV_K8S_14": "image/unpinned",
    "CKV_K8S_43": "image/unpinned", "CKV_K8S_23": "k8s/runs-as-root",
    **{f"CKV_K8S_{n}": "k8s/host-namespace" for n in (17, 18, 19)},
    "CKV_K8S_13": "k8s/missing-memory-limit", "CKV_K8S_16": "k8s/privileged-container",
    "CKV_K8S_25": "k8s/added-capability", "CKV_K8S_49": "k8s/rbac-wildcard",
    "CKV2_K8S_5": "k8s/rbac-wildcard",
}

def rel(path):
    path = path if os.path.isabs(path) else os.path.abspath(path)
    return os.path.relpath(path, tree)

data = json.load(open(checkov_json))
failed = [f for r in (data if isinstance(data, list) else [data])
          for f in r.get("results", {}).get("failed_checks", [])]
report = json.load(open(rampart_json))
active = [f for f in report["findings"] if not f.get("waived")]
rules_in_file = collections.defaultdict(set)
for f in active:
    rules_in_file[rel(f["location"]["path"])].add(f["rule_id"])

covered, uncovered = collections.Counter(), collections.Counter()
for f in failed:
    want = EQUIVALENT.get(f["check_id"])
    rules = rules_in_file.get(rel(f["file_abs_path"]), set())
    if want and any(r == want or (want.endswith("/") and r.startswith(want)) for r in rules):
        covered[f["check_id"]] += 1
    else:
        uncovered[f["check_id"]] += 1

def provider(check_id):
    return re.sub(r"^CKV2?_([A-Z0-9]+?)_\d+$", r"\1", check_id)

def ids(counter):
    def key(c):
        return (c.startswith("CKV2"), int(c.rsplit("_", 1)[1]))
    return ", ".join(f"{c} ({n})" if n > 1 else c for c, n in sorted(counter.items(), key=lambda kv: key(kv[0])))

print(f"- checkov: {len(failed)} failed checks, {len(covered) + len(uncovered)} distinct check ids.")
print(f"- rampart has an equivalent, reported in the same file, for {sum(covered.values())} failures "
      f"of {len(covered)} check ids: {ids(covered)}.")
by_provider = collections.defaultdict(collections.Counter)
for check_id, n in uncovered.items():
    by_provider[provider(check_id)][check_id] = n
print(f"- no rampart equivalent for {sum(uncovered.values())} failures of {len(uncovered)} check ids:")
covered_providers = {provider(c) for c in covered}
for prov, counter in sorted(by_provider.items(), key=lambda kv: -sum(kv[1].values())):
    # Providers rampart has no equivalent for at all are counted, not listed: CHECKOV.md lists them.
    listed = f": {ids(counter)}" if prov in covered_providers else " (listed in CHECKOV.md)"
    print(f"  - {prov}: {sum(counter.values())} failures of {len(counter)} ids{listed}")
rampart_rules = collections.Counter(f["rule_id"] for f in active)
print(f"- rampart findings by rule: {', '.join(f'`{r}` {n}' for r, n in rampart_rules.most_common())}.")

ds = json.load(open(ds_json))["results"]
ds_types = collections.Counter(s["type"] for v in ds.values() for s in v)
ds_lines = {(os.path.normpath(p), s["line_number"]) for p, v in ds.items() for s in v}
rampart_lines = {(rel(f["location"]["path"]), f["location"].get("line")) for f in active}
shared = len(ds_lines & rampart_lines)

def key_on_line(path, line):
    with open(os.path.join(tree, path), errors="replace") as f:
        text = next((t for i, t in enumerate(f, 1) if i == line), "")
    m = re.match(r"\s*(?:export\s+)?[\"']?([\w.-]+)[\"']?\s*[=:]", text)
    return m.group(1) if m else "other"

ds_keys = collections.Counter(key_on_line(p, line) for p, line in ds_lines)
print(f"- detect-secrets: {sum(ds_types.values())} secrets ({', '.join(f'{t} {n}' for t, n in ds_types.most_common())}) "
      f"on {len(ds_lines)} lines, assigned to {', '.join(f'`{k}` {n}' for k, n in ds_keys.most_common())}; "
      f"rampart (any scanner) reports {shared} of those lines.")
PY
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
TABLE="$WORK/table.md"
COMPARE="$WORK/compare.md"
{
  echo "| tree | tool | wall s | findings | time / rampart |"
  echo "|---|---|---:|---:|---:|"
} > "$TABLE"
: > "$COMPARE"
for tree in terragoat kubernetes-goat; do
  framework=terraform; [ "$tree" = kubernetes-goat ] && framework=kubernetes
  dir="$GOATS/$tree"
  log "$tree: rampart"
  r_wall=$(best_of "$RAMPART" scan --no-config --scanners config,secret -q -f json -o "$WORK/rampart.json" "$dir")
  read -r r_config r_secret <<< "$(count_rampart "$WORK/rampart.json")"
  log "$tree: checkov"
  c_wall=$(best_of "$VENV/bin/checkov" -d "$dir" --framework "$framework" --skip-download --quiet --compact \
    -o json --output-file-path "$WORK/checkov")
  c_count=$(count_checkov "$WORK/checkov/results_json.json")
  log "$tree: detect-secrets"
  # --no-verify: by default detect-secrets checks AWS keys it finds against sts.amazonaws.com.
  d_wall=$(best_of sh -c "cd '$dir' && '$DS_VENV/bin/detect-secrets' scan --all-files --no-verify > '$WORK/ds.json'")
  d_count=$(count_detect_secrets "$WORK/ds.json")
  ratio() { awk -v a="$1" -v b="$r_wall" 'BEGIN{ if (a == "timeout") { print "-"; exit } if (b < 0.001) b = 0.001; printf "%.0fx", a / b }'; }
  {
    echo "| $tree | checkov ($framework) | $c_wall | $c_count failed checks | $(ratio "$c_wall") |"
    echo "| $tree | detect-secrets | $d_wall | $d_count secrets | $(ratio "$d_wall") |"
    echo "| $tree | **rampart** (config + secret) | $r_wall | $r_config config + $r_secret secret | 1x |"
  } >> "$TABLE"
  {
    echo "### $tree (checkov \`--framework $framework\`)"
    echo
    compare_findings "$dir" "$WORK/checkov/results_json.json" "$WORK/rampart.json" "$WORK/ds.json"
    echo
  } >> "$COMPARE"
done

{
  echo "# Config and secret scanners vs checkov and detect-secrets"
  echo
  echo "$(date -u +%Y-%m-%d), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), best of $RUNS runs after a warm-up."
  echo "Load average before / after: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared; other work slows every row)."
  echo "checkov $("$VENV/bin/checkov" --version 2>/dev/null) (\`--skip-download\`, BC_SKIP_MAPPING=TRUE), detect-secrets $("$DS_VENV/bin/detect-secrets" --version 2>/dev/null) (\`--all-files --no-verify\`), \`$("$RAMPART" --version)\` (\`scan --no-config --scanners config,secret\`)."
  echo "Every tool reads the same extracted tree; no tool reaches the network."
  echo
  cat "$TABLE"
  echo
  echo "## Findings compared"
  echo
  echo "Why rampart reports or omits each checkov check is explained, check by check, in"
  echo "[crates/rampart-iac/CHECKOV.md](../../crates/rampart-iac/CHECKOV.md) (terragoat) and"
  echo "[crates/rampart-deploy/CHECKOV.md](../../crates/rampart-deploy/CHECKOV.md) (kubernetes-goat);"
  echo "the lists below are computed from this run. A checkov failure counts as covered when rampart"
  echo "reports the equivalent rule named in those files in the same file; counts in parentheses are"
  echo "failures per check id."
  echo
  cat "$COMPARE"
} | tee "$OUT"
log "written to $OUT"
