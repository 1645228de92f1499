#!/usr/bin/env bash
# The pre-commit hooks, run by the real `pre-commit` (from PyPI) in a throw-away git repo:
# a commit adding a malicious pickle is refused, a commit adding a benign model passes.
#
# Only `rampart-scan-system` is exercised: `rampart-scan` (language: rust) makes pre-commit
# run `cargo install --path .` at this repository's root, which is a virtual workspace
# manifest, so cargo refuses it (see docs/ci.md).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
venv="${INTEROP_VENV:-target/interop-venv}"
pre_commit_version="4.7.0"
if [ "$("$venv/bin/pre-commit" --version 2>/dev/null)" != "pre-commit $pre_commit_version" ]; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "pre-commit==$pre_commit_version"
fi
pre_commit="$root/$venv/bin/pre-commit"
python="$root/$venv/bin/python"
cargo build --quiet --locked -p rampart

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PATH="$root/target/debug:$PATH"
# pre-commit keeps its hook environments here; a fresh one per run keeps runs independent.
export PRE_COMMIT_HOME="$work/cache"
repo="$work/repo"
git init --quiet "$repo"
cd "$repo"
git config user.email interop@example.invalid
git config user.name interop
git config commit.gpgsign false
printf 'repo\n' > README.md
git add README.md
git commit --quiet -m init
# The hook repository: this tree's .pre-commit-hooks.yaml, committed in a copy so that
# uncommitted edits are tested too (try-repo ignores untracked files). A system hook needs
# nothing else from the repository.
hooks="$work/hooks"
git init --quiet "$hooks"
cp "$root/.pre-commit-hooks.yaml" "$hooks/"
git -C "$hooks" add .pre-commit-hooks.yaml
git -C "$hooks" -c user.email=interop@example.invalid -c user.name=interop -c commit.gpgsign=false \
  commit --quiet -m hooks
# What `pre-commit install` would set up, with the hook taken from that repository.
cat > .git/hooks/pre-commit <<HOOK
#!/usr/bin/env bash
exec "$pre_commit" try-repo "$hooks" rampart-scan-system
HOOK
chmod +x .git/hooks/pre-commit

echo "-- pre-commit refuses a malicious pickle"
# Built with pickle's own encoder and written to disk; never loaded.
"$python" - <<'PY'
import os, pickle

class Payload:
    def __reduce__(self):
        return (os.system, ("id",))

with open("model.pkl", "wb") as f:
    f.write(pickle.dumps({"weights": [0.1, 0.2], "hook": Payload()}, protocol=2))
PY
git add model.pkl
if git commit --quiet -m "add model" > "$work/refused.log" 2>&1; then
  cat "$work/refused.log"
  echo "pre-commit let a malicious pickle through" >&2
  exit 1
fi
grep -q "pickle/disallowed-call" "$work/refused.log" || { cat "$work/refused.log"; echo "refusal did not name the rule" >&2; exit 1; }
git rm --quiet --cached model.pkl
rm model.pkl

echo "-- pre-commit lets a benign model and config through"
cp "$root/examples/models/clean.safetensors" model.safetensors
printf '{"model_type": "bert", "hidden_size": 768}\n' > config.json
git add model.safetensors config.json
git commit --quiet -m "add a clean model" || { echo "pre-commit refused a benign commit" >&2; exit 1; }
echo "pre-commit: all checks passed"
