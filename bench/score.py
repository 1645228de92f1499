#!/usr/bin/env python3
"""Reads each scanner's output into one per-file verdict and scores it against labels.json.

    score.py verdicts --tool TOOL --raw OUTPUT --corpus DIR --labels labels.json -o verdicts.json
    score.py report --labels labels.json --runs runs.json -o scan.md [--title TEXT]

Per file, every tool's output becomes one of:
  flagged  the tool reported a finding that makes its own exit code non-zero
  error    not flagged, but the tool said it could not (fully) scan the file
  clean    scanned, nothing that fails the tool's own gate
  skipped  the tool never looked at the file

How each tool's output is read (the tool's own failing threshold in every case):
  picklescan  `-l DEBUG` log: "Scanning file P" = scanned; "P[:member]: dangerous import 'm n' FOUND"
              = flagged (only Dangerous globals change its exit code); "ERROR: parsing pickle in P"
              = error (sets its scan_err, exit 2). "could not parse P as pickle" is a WARNING that
              picklescan itself counts as clean, so it stays clean.
  modelscan   JSON: any issues[].source = flagged (any issue makes exit 1); errors[].source =
              error; summary.scanned.scanned_files = scanned; summary.skipped = skipped.
  modelaudit  JSON: issues/checks of severity warning or critical = flagged (what makes its exit
              code 1); file_metadata with an operational error or incomplete coverage (modelaudit's
              own helpers decide) = error. Issues whose location is not inside the corpus (e.g. an
              ONNX traversal reported at "/etc/passwd") are attributed to the first file whose scan
              finished (file_metadata[].scan_timestamp) at or after the issue's timestamp.
  rampart     JSON: files[].verdict == "fail" = flagged; status "incomplete" = error.
"""
from __future__ import annotations

import argparse
import bisect
import collections
import json
import os
import re
import sys


def load_labels(path):
    with open(path) as f:
        return json.load(f)


class PathMapper:
    """Maps a path as a tool printed it (absolute, relative, with ':member' or ' (pos N)' tails)
    to the corpus-relative path of the file on disk."""

    def __init__(self, corpus, labels):
        self.corpus = os.path.realpath(corpus)
        self.roots = sorted({self.corpus + os.sep, os.path.abspath(corpus) + os.sep}, key=len, reverse=True)
        self.known = set(labels)
        self.by_len = sorted(self.known, key=len, reverse=True)

    def __call__(self, printed: str | None):
        if not printed:
            return None
        p = printed.strip()
        for root in self.roots:
            if p.startswith(root):
                p = p[len(root):]
                break
        if p.startswith("./"):
            p = p[2:]
        if p in self.known:
            return p
        # longest known path that the printed one starts with, followed by a separator
        for k in self.by_len:
            if p.startswith(k) and (len(p) == len(k) or p[len(k)] in ": !@(/#"):
                return k
        return None


def verdicts_picklescan(raw, mapper, labels):
    out = {}
    scanned, flagged, errors, notes = set(), collections.defaultdict(list), set(), collections.defaultdict(list)
    last_started = None
    with open(raw, errors="replace") as f:
        text = f.read()
    for line in text.splitlines():
        m = re.match(r"Scanning file (.+)$", line)
        if m:
            p = mapper(m.group(1))
            if p:
                scanned.add(p)
                last_started = p
            continue
        m = re.match(r"(.+?): dangerous import '(.+)' FOUND", line)
        if m:
            p = mapper(m.group(1))
            if p:
                flagged[p].append(m.group(2))
            continue
        m = re.match(r"ERROR: parsing pickle in (.+?): (.*)$", line)
        if m:
            p = mapper(m.group(1))
            if p:
                errors.add(p)
                notes[p].append("parse error: " + m.group(2)[:80])
            continue
        m = re.match(r"WARNING: could not parse (.+?) as pickle: (.*)$", line)
        if m:
            p = mapper(m.group(1))
            if p:
                notes[p].append("not a pickle (counted clean by picklescan)")
            continue
        m = re.match(r"Invalid file (.+) in zip archive (.+?): (.*)$", line)
        if m:
            p = mapper(m.group(2))
            if p:
                errors.add(p)
                notes[p].append("invalid zip member " + m.group(1))
    crashed = "Unhandled exception" in text or "SCAN SUMMARY" not in text
    if crashed and last_started and last_started not in flagged:
        errors.add(last_started)
        notes[last_started].append("picklescan aborted the whole run on this file")
    for rel in labels:
        if rel in flagged:
            out[rel] = {"status": "flagged", "detail": "; ".join(sorted(set(flagged[rel])))[:200]}
        elif rel in errors:
            out[rel] = {"status": "error", "detail": "; ".join(notes[rel])[:200]}
        elif rel in scanned:
            out[rel] = {"status": "clean", "detail": "; ".join(notes[rel])[:200]}
        else:
            out[rel] = {"status": "error" if crashed else "skipped", "scanned": False,
                        "detail": "never reached: picklescan aborted the run" if crashed else "extension not scanned"}
    return out


def verdicts_modelscan(raw, mapper, labels):
    with open(raw) as f:
        d = json.load(f)
    summary = d.get("summary", {})
    scanned = {mapper(p) for p in summary.get("scanned", {}).get("scanned_files", [])}
    skipped = {}
    for s in summary.get("skipped", {}).get("skipped_files", []) or []:
        src = s.get("source") if isinstance(s, dict) else s
        skipped[mapper(src)] = (s.get("description", "") if isinstance(s, dict) else "")
    flagged = collections.defaultdict(list)
    for issue in d.get("issues", []):
        p = mapper(issue.get("source"))
        if p:
            flagged[p].append(f"{issue.get('severity')}: {issue.get('module')}.{issue.get('operator')}")
    errors = collections.defaultdict(list)
    for e in d.get("errors", []):
        p = mapper(e.get("source"))
        if p:
            errors[p].append(f"{e.get('category')}: {e.get('description', '')[:80]}")
    out = {}
    for rel in labels:
        if rel in flagged:
            out[rel] = {"status": "flagged", "detail": "; ".join(sorted(set(flagged[rel])))[:200]}
        elif rel in errors:
            out[rel] = {"status": "error", "detail": "; ".join(errors[rel])[:200]}
        elif rel in scanned:
            out[rel] = {"status": "clean", "detail": ""}
        else:
            out[rel] = {"status": "skipped", "detail": skipped.get(rel, "")[:200]}
    return out


SECURITY_SEVERITIES = {"warning", "critical"}


def verdicts_modelaudit(raw, mapper, labels):
    with open(raw) as f:
        d = json.load(f)
    try:  # modelaudit's own definitions of "could not fully scan"
        from modelaudit.core_results import OPERATIONAL_ERROR_METADATA_KEY, metadata_has_incomplete_coverage
    except Exception:  # pragma: no cover - scorer run outside the bench venv
        OPERATIONAL_ERROR_METADATA_KEY = "operational_error"

        def metadata_has_incomplete_coverage(m):
            return bool(m.get("analysis_incomplete"))
    metadata = d.get("file_metadata", {}) or {}
    starts = sorted((m.get("scan_timestamp", 0), mapper(p)) for p, m in metadata.items() if mapper(p))  # noqa: E501
    start_times = [t for t, _ in starts]

    def attribute(record):
        p = mapper(record.get("location"))
        if p is None:
            details = record.get("details") or {}
            for key in ("path", "file_path", "source"):
                p = p or mapper(details.get(key) if isinstance(details.get(key), str) else None)
        if p is None and record.get("timestamp") and starts:
            # scan_timestamp is stamped when a file's scan finishes: the issue belongs to the
            # first file finished at or after it
            i = bisect.bisect_left(start_times, record["timestamp"])
            if i < len(starts):
                p = starts[i][1]
        return p

    flagged = collections.defaultdict(list)
    records = [(r, False) for r in d.get("issues", []) or []]
    records += [(r, True) for r in d.get("checks", []) or [] if r.get("status") == "failed"]
    for r, _is_check in records:
        sev = str(r.get("severity") or "").lower()
        if sev not in SECURITY_SEVERITIES:
            continue
        p = attribute(r)
        if p:
            flagged[p].append(f"{sev}: {r.get('rule_code') or ''} {r.get('message', '')[:90]}")
    errors = {}
    scanned = set()
    for path, m in metadata.items():
        p = mapper(path)
        if not p:
            continue
        scanned.add(p)
        reasons = []
        if m.get(OPERATIONAL_ERROR_METADATA_KEY):
            reasons.append("operational error")
        try:
            if metadata_has_incomplete_coverage(m):
                reasons.append("incomplete coverage: " + str(m.get("scan_outcome_reasons") or m.get("failure_reason") or "")[:80])
        except Exception as e:  # noqa: BLE001
            reasons.append(f"coverage check failed: {e}")
        if reasons:
            errors[p] = "; ".join(reasons)
    out = {}
    for rel in labels:
        if rel in flagged:
            first = sorted(set(flagged[rel]), key=lambda s: (not s.startswith("critical"), s))
            out[rel] = {"status": "flagged", "detail": " | ".join(first[:3])[:240]}
        elif rel in errors:
            out[rel] = {"status": "error", "detail": errors[rel]}
        elif rel in scanned:
            out[rel] = {"status": "clean", "detail": ""}
        else:
            out[rel] = {"status": "skipped", "detail": ""}
    return out


def verdicts_rampart(raw, mapper, labels):
    with open(raw) as f:
        d = json.load(f)
    files = {}
    for fv in d.get("files", []):
        p = mapper(fv.get("path"))
        if p:
            files[p] = fv
    findings = collections.defaultdict(list)
    for fd in d.get("findings", []):
        loc = fd.get("location") or {}
        p = mapper(loc.get("path"))
        if p:
            display = str(loc.get("display", ""))
            for root in mapper.roots:
                display = display.replace(root, "")
            findings[p].append(f"{fd.get('severity')}: {fd.get('rule_id')} @{display}: "
                               f"{str(fd.get('message', ''))[:100]}")
    out = {}
    for rel in labels:
        fv = files.get(rel)
        if fv is None:
            out[rel] = {"status": "skipped", "detail": ""}
            continue
        detail = f"format={fv.get('format')} max={fv.get('max_severity')} " + " | ".join(findings[rel][:2])
        if fv.get("verdict") == "fail":
            status = "flagged"
        elif fv.get("status") == "incomplete":
            status = "error"
        else:
            status = "clean"
        out[rel] = {"status": status, "detail": detail[:400]}
    return out


PARSERS = {"picklescan": verdicts_picklescan, "modelscan": verdicts_modelscan,
           "modelaudit": verdicts_modelaudit, "rampart": verdicts_rampart}


def cmd_verdicts(args):
    labels = load_labels(args.labels)
    mapper = PathMapper(args.corpus, labels)
    try:
        verdicts = PARSERS[args.tool](args.raw, mapper, labels)
    except (OSError, ValueError) as e:
        print(f"score.py: could not read {args.tool} output {args.raw}: {e}", file=sys.stderr)
        verdicts = {rel: {"status": "error", "detail": f"no usable output: {e}"} for rel in labels}
    with open(args.output, "w") as f:
        json.dump(verdicts, f, indent=1, sort_keys=True)


def summarize(verdicts, labels):
    s = collections.Counter()
    for rel, lab in labels.items():
        st = verdicts.get(rel, {"status": "skipped"})["status"]
        kind = "mal" if lab["malicious"] else "ben"
        s[f"{kind}_total"] += 1
        s[f"{kind}_{st}"] += 1
        if verdicts.get(rel, {}).get("scanned", st != "skipped"):
            s["scanned"] += 1
    return s


def pct(n, d):
    return f"{100.0 * n / d:.1f}%" if d else "-"


def cmd_report(args):
    labels = load_labels(args.labels)
    with open(args.runs) as f:
        runs = json.load(f)  # [{tool, version, wall_s, peak_mb, exit_code, verdicts}]
    for r in runs:
        with open(r["verdicts"]) as f:
            r["v"] = json.load(f)
        r["s"] = summarize(r["v"], labels)
    rampart = next((r for r in runs if r["tool"] == "rampart" and r.get("wall_s")), None)
    n_mal = sum(1 for v in labels.values() if v["malicious"])
    n_ben = len(labels) - n_mal
    lines = []
    w = lines.append
    w(f"# {args.title}\n")
    for meta in args.meta or []:
        w(f"- {meta}")
    w(f"- corpus: {len(labels)} files, {n_mal} malicious, {n_ben} benign\n")
    w("| tool | version | wall s | peak MB | exit | files scanned | TP / malicious | TP+errors / malicious "
      "| FP / benign | benign with errors | time vs rampart |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        s = r["s"]
        tp, err_m = s["mal_flagged"], s["mal_error"]
        fp, err_b = s["ben_flagged"], s["ben_error"]
        ratio = "-"
        if rampart and r.get("wall_s") and rampart["wall_s"] > 0:
            x = r["wall_s"] / rampart["wall_s"]
            ratio = f"{x:.0f}x" if x >= 100 else f"{x:.1f}x"
        wall = f"{r['wall_s']:.3f}" if r.get("wall_s") is not None else "-"
        peak = f"{r['peak_mb']:.0f}" if r.get("peak_mb") else "-"
        w(f"| {r['tool']} | {r.get('version', '?')} | {wall} | {peak} | {r.get('exit_code', '-')} "
          f"| {s['scanned']}/{len(labels)} | {tp}/{n_mal} ({pct(tp, n_mal)}) | {tp + err_m}/{n_mal} ({pct(tp + err_m, n_mal)}) "
          f"| {fp}/{n_ben} ({pct(fp, n_ben)}) | {err_b}/{n_ben} | {ratio} |")
    w("")
    w("TP = malicious file flagged by the tool's own failing threshold; TP+errors also counts malicious "
      "files the tool reported it could not fully scan (what a fail-closed pipeline would block). FP = "
      "benign file flagged. Files a tool never looked at count as missed.\n")

    # detection by technique
    tech = collections.OrderedDict()
    for rel, lab in sorted(labels.items(), key=lambda kv: (kv[1]["category"], kv[1]["technique"])):
        if lab["malicious"]:
            tech.setdefault((lab["category"], lab["technique"]), []).append(rel)
    cats = collections.OrderedDict()
    for (cat, _t), rels in tech.items():
        cats.setdefault(cat, []).extend(rels)
    benign = [rel for rel, lab in labels.items() if not lab["malicious"]]
    w("## By category: flagged (+ errors) / files\n")
    w("| category | n | " + " | ".join(r["tool"] for r in runs) + " |")
    w("|---|---:|" + "---:|" * len(runs))
    for cat, rels in list(cats.items()) + [("benign (flagged = false alarm)", benign)]:
        cells = []
        for r in runs:
            st = collections.Counter(r["v"].get(x, {"status": "skipped"})["status"] for x in rels)
            cells.append(f"{st['flagged']}" + (f" (+{st['error']})" if st["error"] else "") + f" / {len(rels)}")
        w(f"| {cat} | {len(rels)} | " + " | ".join(cells) + " |")
    w("")
    w("## Malicious files by technique (flagged / errors / total)\n")
    w("| category | technique | n | " + " | ".join(r["tool"] for r in runs) + " |")
    w("|---|---|---:|" + "---:|" * len(runs))
    for (cat, t), rels in tech.items():
        cells = []
        for r in runs:
            st = collections.Counter(r["v"].get(x, {"status": "skipped"})["status"] for x in rels)
            cell = f"{st['flagged']}"
            if st["error"]:
                cell += f" (+{st['error']} err)"
            if st["flagged"] == 0 and not st["error"]:
                cell = "**0**"
            cells.append(cell)
        w(f"| {cat} | {t} | {len(rels)} | " + " | ".join(cells) + " |")
    w("")
    # benign false positives
    w("## Benign files flagged or errored (grouped by technique; one example each)\n")
    w("| tool | technique | status | n | example file | example detail |")
    w("|---|---|---|---:|---|---|")
    for r in runs:
        groups = collections.OrderedDict()
        for rel, lab in sorted(labels.items(), key=lambda kv: (kv[1]["technique"], kv[0])):
            if lab["malicious"]:
                continue
            v = r["v"].get(rel, {"status": "skipped"})
            if v["status"] in ("flagged", "error"):
                groups.setdefault((lab["technique"], v["status"]), []).append((rel, v))
        for (technique, status), items in groups.items():
            rel, v = items[0]
            detail = v.get("detail", "").replace("|", "/").replace("\n", " ")[:200]
            w(f"| {r['tool']} | {technique} | {status} | {len(items)} | `{rel}` | {detail} |")
    w("")
    if rampart:
        w("## rampart: every malicious file not flagged\n")
        w("| file | technique | status | detail |")
        w("|---|---|---|---|")
        for rel, lab in sorted(labels.items()):
            v = rampart["v"].get(rel, {"status": "skipped"})
            if lab["malicious"] and v["status"] != "flagged":
                w(f"| `{rel}` | {lab['technique']} | {v['status']} | {v.get('detail', '').replace('|', '/')[:400]} |")
        w("")
    text = "\n".join(lines) + "\n"
    with open(args.output, "w") as f:
        f.write(text)
    print(text)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("verdicts")
    v.add_argument("--tool", required=True, choices=sorted(PARSERS))
    v.add_argument("--raw", required=True)
    v.add_argument("--corpus", required=True)
    v.add_argument("--labels", required=True)
    v.add_argument("-o", "--output", required=True)
    r = sub.add_parser("report")
    r.add_argument("--labels", required=True)
    r.add_argument("--runs", required=True)
    r.add_argument("-o", "--output", required=True)
    r.add_argument("--title", default="rampart scan benchmark")
    r.add_argument("--meta", action="append")
    args = ap.parse_args(argv)
    {"verdicts": cmd_verdicts, "report": cmd_report}[args.cmd](args)


if __name__ == "__main__":
    main()
