"""Runs Evidently's data-drift preset on two Parquet files and prints the drifted columns as
JSON (`{"version", "drifted": [...], "dataset_drift"}`), for bench/drift_bench.sh.

    python drift_evidently.py REFERENCE.parquet CURRENT.parquet
"""
import json
import sys

import pandas as pd

import evidently


def run_new_api(reference, current):
    from evidently import Report
    from evidently.presets import DataDriftPreset

    snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
    drifted, dataset_drift = [], None
    for metric in snapshot.dict()["metrics"]:
        config = metric.get("config", {})
        value = metric.get("value")
        kind = config.get("type", "")
        if kind.endswith(":ValueDrift"):
            method, threshold = config.get("method", ""), config.get("threshold")
            p_value = "p_value" in method.lower()
            if threshold is not None and ((value < threshold) if p_value else (value >= threshold)):
                drifted.append(config["column"])
        elif kind.endswith(":DriftedColumnsCount") and isinstance(value, dict):
            dataset_drift = value.get("share", 0) >= config.get("drift_share", 0.5)
    return sorted(drifted), dataset_drift


def run_old_api(reference, current):
    from evidently.metric_preset import DataDriftPreset
    from evidently.report import Report

    report = Report(metrics=[DataDriftPreset()])
    report.run(reference_data=reference, current_data=current)
    drifted, dataset_drift = [], None
    for metric in report.as_dict()["metrics"]:
        result = metric["result"]
        if "drift_by_columns" in result:
            drifted = sorted(c for c, r in result["drift_by_columns"].items() if r["drift_detected"])
        if "dataset_drift" in result:
            dataset_drift = result["dataset_drift"]
    return drifted, dataset_drift


def main():
    reference = pd.read_parquet(sys.argv[1])
    current = pd.read_parquet(sys.argv[2])
    try:
        drifted, dataset_drift = run_new_api(reference, current)
    except ImportError:
        drifted, dataset_drift = run_old_api(reference, current)
    print(json.dumps({"version": evidently.__version__, "drifted": drifted, "dataset_drift": dataset_drift}))


if __name__ == "__main__":
    main()
