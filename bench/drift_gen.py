"""Reference/current tables for bench/drift_bench.sh: ROWS x 20 columns, Parquet.

Drifted in the current table (by construction): num_00 (mean +0.25 sd), num_01 (sd x1.5),
num_02 (log-normal, median x1.3), cat_00 (weights reversed), cat_01 (a new category with 15 %).
Every other column is drawn from the same distribution on both sides.

    python drift_gen.py OUT_DIR [ROWS]
"""
import pathlib
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

DRIFTED = ["num_00", "num_01", "num_02", "cat_00", "cat_01"]


def table(rows: int, seed: int, current: bool) -> pa.Table:
    rng = np.random.default_rng(seed)
    columns = {}
    columns["num_00"] = rng.normal(0.25 if current else 0.0, 1.0, rows)
    columns["num_01"] = rng.normal(0.0, 1.5 if current else 1.0, rows)
    columns["num_02"] = rng.lognormal(np.log(1.3) if current else 0.0, 1.0, rows)
    for i in range(3, 12):
        kind = i % 3
        if kind == 0:
            columns[f"num_{i:02}"] = rng.normal(i, 1.0 + i / 10, rows)
        elif kind == 1:
            columns[f"num_{i:02}"] = rng.exponential(i, rows)
        else:
            columns[f"num_{i:02}"] = rng.integers(0, 100 * i, rows).astype(np.int64)
    labels = np.array(["a", "b", "c", "d", "e"])
    weights = np.array([0.4, 0.25, 0.15, 0.12, 0.08])
    columns["cat_00"] = labels[rng.choice(5, rows, p=weights[::-1] if current else weights)]
    if current:
        extended = np.append(labels, "new")
        columns["cat_01"] = extended[rng.choice(6, rows, p=np.append(weights * 0.85, 0.15))]
    else:
        columns["cat_01"] = labels[rng.choice(5, rows, p=weights)]
    for i in range(2, 8):
        cardinality = [2, 3, 10, 50, 200, 1000][i - 2]
        names = np.array([f"v{j}" for j in range(cardinality)])
        p = 1.0 / np.arange(1, cardinality + 1)
        columns[f"cat_{i:02}"] = names[rng.choice(cardinality, rows, p=p / p.sum())]
    return pa.table(columns)


def main() -> None:
    out = pathlib.Path(sys.argv[1])
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(table(rows, 1, False), out / "reference.parquet")
    pq.write_table(table(rows, 2, True), out / "current.parquet")
    (out / "drifted.txt").write_text("\n".join(DRIFTED) + "\n")


if __name__ == "__main__":
    main()
