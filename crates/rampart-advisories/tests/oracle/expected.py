#!/usr/bin/env python3
"""Oracle for rampart-advisories: which OSV advisories affect which (package, version).

An independent implementation of the OSV evaluation pseudocode (ossf/osv-schema,
docs/schema.md "Evaluation") on top of Python's `packaging` (the reference PEP 440
implementation), run over the same OSV directories the Rust tests read. The Rust test
`oracle_agrees_on_every_case` requires rampart to reproduce this output exactly.

Usage (venv with `packaging`):
    /work/venv/bin/python tests/oracle/expected.py ../../../shared/data/osv \
        | gzip -n -9 > tests/oracle/expected.json.gz
(run from crates/rampart-advisories; `expected.json.gz` is committed, re-run when the data
or the rules below change).

Rules shared with rampart (documented in the crate's `matching` module):
* Names are PEP 503-normalised; only `PyPI` affected entries count.
* Versions compare as PEP 440 public versions: a local label (`2.1.0+cu118`) is dropped on
  both sides, so a local build matches advisories on its public version.
* An advisory version string `packaging` cannot parse (`0.3.2d`, `2019-09-12`) is skipped:
  the list entry or the range event is ignored, the rest of the advisory still applies.
  (A skipped `fixed` event leaves its range open-ended: that over-reports, never misses.)
* Ranges of type ECOSYSTEM and SEMVER are evaluated with PEP 440 ordering; GIT ranges are
  ignored. `introduced: "0"` sorts before every version; a `limit` containing `*` is
  infinite. Events are sorted stably by version (ties keep the record's order).
* Withdrawn advisories are matched but reported apart.
* The fix: among every version any advisory for the package names (list entries and
  range events, `introduced: "0"` and limits excluded), the least one greater than the
  installed version that no matched advisory affects, preferring final releases over
  pre-releases; none when a matched advisory is malicious (MAL-*).
* An installed version `packaging` cannot parse is "unchecked" (when any advisory names
  the package; otherwise nothing can match it).

Cases: for every package, every version its advisories name, plus neighbours of each
range bound (.post1, rc1, .dev0, +local, next and previous release), the raw strings of a
sample of `versions[]` entries (so non-normalised spellings are tested as installed
versions too), a few invalid strings, and a hand-picked old ML environment.
"""
import json
import pathlib
import re
import sys

from packaging.version import InvalidVersion, Version

MIN = ("min",)
INF = ("inf",)

# An old, deliberately vulnerable ML environment (names as pip shows them).
ENVIRONMENT = [
    ("Django", "3.2.1"), ("urllib3", "1.26.4"), ("aiohttp", "3.8.1"), ("Werkzeug", "2.0.1"),
    ("GitPython", "3.1.20"), ("bleach", "3.1.0"), ("Pygments", "2.7.1"), ("pip", "23.2.1"),
    ("setuptools", "65.5.0"), ("requests", "2.25.1"), ("PyYAML", "5.3"), ("Jinja2", "2.11.2"),
    ("Flask", "1.1.2"), ("numpy", "1.19.0"), ("Pillow", "8.1.0"), ("torch", "2.1.0+cu118"),
    ("tensorflow", "2.4.0"), ("transformers", "4.30.0"), ("certifi", "2022.12.07"),
    ("pytz", "2023.3.post1"), ("joblib", "1.1.0"), ("scikit-learn", "0.23.2"),
    ("cryptography", "3.3.1"), ("lxml", "4.6.2"), ("Markdown", "3.3.4"), ("nltk", "3.6.1"),
    ("mlflow", "1.30.0"), ("gradio", "3.13.0"), ("tqdm", "4.60.0"), ("idna", "2.10"),
    ("zope.interface", "5.4.0"), ("typing_extensions", "4.0.0"), ("Babel", "2.9.0"),
    ("paramiko", "2.7.1"), ("oauthlib", "3.1.0"), ("protobuf", "3.15.0"), ("ujson", "4.0.1"),
    ("0requests", "0.0.1"), ("a-oder", "8.0.0"), ("a_oder", "1.0"), ("notapackage", "1.0"), ("notapackage", "0.3.2d"),
    ("django", "not-a-version"), ("joblib", "0.3.2d"),
]
INVALID_INSTALLED = ["0.3.2d", "1.0-beta-x", "", "latest"]


def parse(raw):
    try:
        return Version(Version(raw).public)
    except InvalidVersion:
        return None


def normalise_name(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def bound_key(bound):
    return (0,) if bound is MIN else (2,) if bound is INF else (1, bound)


class Entry:
    """One `affected[]` entry of one advisory, compiled."""

    def __init__(self, affected):
        self.versions = {v for v in map(parse, affected.get("versions") or []) if v is not None}
        self.ranges = []
        for rng in affected.get("ranges") or []:
            if rng.get("type") not in ("ECOSYSTEM", "SEMVER"):
                continue
            events, limits = [], []
            for event in rng.get("events") or []:
                ((kind, raw),) = event.items()
                if kind == "introduced" and raw == "0":
                    events.append((kind, MIN))
                elif kind == "limit":
                    bound = INF if "*" in raw else parse(raw)
                    if bound is not None:
                        limits.append(bound)
                elif kind in ("introduced", "fixed", "last_affected"):
                    bound = parse(raw)
                    if bound is not None:
                        events.append((kind, bound))
            events.sort(key=lambda e: bound_key(e[1]))
            self.ranges.append((events, limits))

    def affects(self, v):
        if v in self.versions:  # Version hashes and compares with zero padding
            return True
        for events, limits in self.ranges:
            if limits and not any(limit is INF or v < limit for limit in limits):
                continue
            vulnerable = False
            for kind, bound in events:
                if kind == "introduced" and (bound is MIN or v >= bound):
                    vulnerable = True
                elif kind == "fixed" and v >= bound:
                    vulnerable = False
                elif kind == "last_affected" and v > bound:
                    vulnerable = False
            if vulnerable:
                return True
        return False

    def named_versions(self):
        out = list(self.versions)
        for events, limits in self.ranges:
            out.extend(b for _, b in events if b is not MIN)
        return out


class Advisory:
    def __init__(self, record, entries):
        self.id = record["id"]
        self.withdrawn = bool(record.get("withdrawn"))
        self.malicious = self.id.startswith("MAL-")
        self.entries = entries

    def affects(self, v):
        return any(e.affects(v) for e in self.entries)


def load(root):
    """Advisories by package, and every raw version string each package's entries name."""
    packages, raw_by_package = {}, {}
    for path in sorted(root.rglob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        by_name = {}
        for affected in record.get("affected") or []:
            package = affected.get("package") or {}
            if package.get("ecosystem") != "PyPI":
                continue
            name = normalise_name(package["name"])
            raws = raw_by_package.setdefault(name, set())
            raws.update(affected.get("versions") or [])
            for rng in affected.get("ranges") or []:
                if rng.get("type") in ("ECOSYSTEM", "SEMVER"):
                    for event in rng.get("events") or []:
                        raws.update(event.values())
            by_name.setdefault(name, []).append(Entry(affected))
        for name, entries in by_name.items():
            packages.setdefault(name, []).append(Advisory(record, entries))
    for advisories in packages.values():
        advisories.sort(key=lambda a: a.id)
    return packages, raw_by_package


def neighbours(v):
    base = ".".join(map(str, v.release))
    if v.epoch:
        base = f"{v.epoch}!{base}"
    out = [str(v), f"{v}+cu118", f"{v}+local.7"]
    if v.post is None and v.dev is None:
        out.append(f"{v}.post1")
    if v.dev is None:
        out.append(f"{v}.dev0")
    if v.pre is None and v.post is None and v.dev is None:
        out.append(f"{base}rc1")
    release = list(v.release)
    out.append(".".join(map(str, release[:-1] + [release[-1] + 1])))
    if release[-1] > 0:
        out.append(".".join(map(str, release[:-1] + [release[-1] - 1])))
    return out


class Package:
    """The advisories of one package, with every version they name and which of those
    each advisory affects (computed once: the fix search asks this for every case)."""

    def __init__(self, advisories):
        self.advisories = advisories
        named = {c for a in advisories for e in a.entries for c in e.named_versions()}
        self.named = sorted(named)
        self.affected = [{c for c in self.named if a.affects(c)} for a in advisories]

    def evaluate(self, raw):
        v = parse(raw)
        if v is None:
            # A package no advisory names is clean whatever its version.
            return "unchecked" if self.advisories else [[], [], None]
        advisories = self.advisories
        matched = [i for i, a in enumerate(advisories) if not a.withdrawn and a.affects(v)]
        withdrawn = [i for i, a in enumerate(advisories) if a.withdrawn and a.affects(v)]
        fix = None
        if matched and not any(advisories[i].malicious for i in matched):
            candidates = [
                c
                for c in self.named
                if c > v and not any(c in self.affected[i] for i in matched)
            ]
            final = [c for c in candidates if not c.is_prerelease]
            pool = final or candidates
            fix = str(min(pool)) if pool else None
        return [matched, withdrawn, fix]


def main():
    root = pathlib.Path(sys.argv[1])
    packages, raw_by_package = load(root)
    cases = {}
    for name, advisories in packages.items():
        wanted = cases.setdefault(name, set())
        for a in advisories:
            for e in a.entries:
                for bound in e.named_versions():
                    wanted.update(neighbours(bound))
        wanted.update(sorted(raw_by_package[name])[::7])
    for name in sorted(packages)[:5]:
        cases[name].update(INVALID_INSTALLED)
    for name, version in ENVIRONMENT:
        cases.setdefault(normalise_name(name), set()).add(version)

    all_raw = set().union(*raw_by_package.values())
    out = {
        "normalised_versions": {
            raw: (str(Version(raw)) if parse(raw) is not None else None)
            for raw in sorted(all_raw)
            if parse(raw) is None or str(Version(raw)) != raw
        },
        "environment": [[n, v] for n, v in ENVIRONMENT],
        "packages": {},
    }
    for name in sorted(cases):
        package = Package(packages.get(name, []))
        out["packages"][name] = {
            "advisories": [a.id for a in package.advisories],
            "cases": {raw: package.evaluate(raw) for raw in sorted(cases[name])},
        }
    json.dump(out, sys.stdout, separators=(",", ":"), sort_keys=True)


if __name__ == "__main__":
    main()
