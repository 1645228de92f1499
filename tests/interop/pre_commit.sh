#!/usr/bin/env bash
# The pre-commit hooks, run by the real `pre-commit` (from PyPI) in a throw-away git repo:
# for each hook, a commit adding a malicious pickle is refused and a commit adding a benign
# model passes.
#
# `rampart-scan-system` runs target/debug/rampart from PATH. `rampart-scan` (language: rust)
# makes pre-commit build rampart from the hook repository with `cargo install --path .`;
# that build goes to target/pre-commit-install at opt-level 0 (CARGO_PROFILE_RELEASE_*,
# which pre-commit passes through) so it costs a debug build's minutes rather than a
# release build's, and is reused by later runs.
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
# The hook repository: this tree's tracked files as they are on disk (so uncommitted edits
# are tested too; try-repo ignores untracked files), committed in a copy.
hooks="$work/hooks"
git init --quiet "$hooks"
(cd "$root" && git ls-files -z -- .pre-commit-hooks.yaml Cargo.toml Cargo.lock README.md src ci crates \
  | xargs -0 tar -cf - ) | tar -xf - -C "$hooks"
git -C "$hooks" add -A
git -C "$hooks" -c user.email=interop@example.invalid -c user.name=interop -c commit.gpgsign=false \
  commit --quiet -m hooks
export CARGO_TARGET_DIR="$root/target/pre-commit-install" CARGO_PROFILE_RELEASE_OPT_LEVEL=0 \
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256 \
  CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_INCREMENTAL=false

exercise() {
hook_id=$1
echo "== hook $hook_id"
# What `pre-commit install` would set up, with the hook taken from that repository.
cat > .git/hooks/pre-commit <<HOOK
#!/usr/bin/env bash
exec "$pre_commit" try-repo "$hooks" $hook_id
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
# The next hook starts from the same tree as this one did.
git reset --quiet --hard HEAD~1
}

PATH="$root/target/debug:$PATH" exercise rampart-scan-system
# No target/debug on PATH: the rust hook runs the rampart pre-commit builds (try-repo keeps
# that environment in a store it deletes afterwards, so the log is the evidence).
exercise rampart-scan
grep -q "Installing environment" "$work/refused.log" \
  || { echo "pre-commit did not build rampart for the rust hook" >&2; exit 1; }
echo "pre-commit: all checks passed"
