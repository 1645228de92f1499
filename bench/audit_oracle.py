#!/usr/bin/env python3
"""Checks `rampart audit` on a real virtualenv against Python's `packaging`.

    python bench/audit_oracle.py VENV OSV_DIR RAMPART_AUDIT.json

Lists the distributions installed in VENV (their `*.dist-info/METADATA` Name and Version,
read as files: nothing is imported from the venv), computes which OSV advisories affect each
with the independent oracle in crates/rampart-advisories/tests/oracle/expected.py (OSV
evaluation on top of `packaging`), and compares that set of (package, version, advisory id)
with the `audit/vulnerable-package` and `audit/malicious-package` findings of rampart's JSON
report. Prints both counts and every difference; exits 1 if they differ.
"""
import email.parser
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "crates/rampart-advisories/tests/oracle"))
import expected  # noqa: E402  (the oracle module, next to the Rust test that uses it)


def installed(venv):
    for metadata in sorted(pathlib.Path(venv).glob("lib/python*/site-packages/*.dist-info/METADATA")):
        headers = email.parser.Parser().parsestr(metadata.read_text(errors="replace"), headersonly=True)
        yield headers["Name"], headers["Version"]


def main():
    venv, osv, report_path = sys.argv[1:4]
    packages, _ = expected.load(pathlib.Path(osv))
    oracle = set()
    distributions = list(installed(venv))
    for name, version in distributions:
        key = expected.normalise_name(name)
        package = expected.Package(packages.get(key, []))
        verdict = package.evaluate(version)
        if verdict == "unchecked":
            oracle.add((key, version, "unchecked"))
            continue
        for index in verdict[0]:
            oracle.add((key, version, package.advisories[index].id))

    report = json.load(open(report_path))
    rampart = set()
    for finding in report["findings"]:
        if finding["rule_id"] in ("audit/vulnerable-package", "audit/malicious-package"):
            # evidence: "<name>==<version> <advisory id>"
            pin, advisory = finding["evidence"].rsplit(" ", 1)
            name, version = pin.split("==", 1)
            rampart.add((expected.normalise_name(name), version, advisory))
        elif finding["rule_id"] == "audit/unchecked-package":
            pin = finding["evidence"].split(" ", 1)[0]
            name, _, version = pin.partition("==")
            rampart.add((expected.normalise_name(name), version, "unchecked"))

    print(f"{len(distributions)} distributions; packaging oracle: {len(oracle)} matches; rampart: {len(rampart)}")
    for missing in sorted(oracle - rampart):
        print("  only the oracle:", *missing)
    for extra in sorted(rampart - oracle):
        print("  only rampart:", *extra)
    sys.exit(0 if oracle == rampart else 1)


if __name__ == "__main__":
    main()
