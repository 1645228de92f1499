//! `rampart drift` and `rampart data check` end to end: JSON fields, exit codes, profiles,
//! Parquet against CSV, manifests, bad input and `--rows-out`.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn rampart_in(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("rampart").unwrap();
    cmd.current_dir(dir).env("NO_COLOR", "1");
    cmd
}

/// xorshift with Box–Muller normals: seeded, no `rand`.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn normal(&mut self, mean: f64, std: f64) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        mean + std * (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// Columns: `stable` N(0,1), `shifted` N(shift,1), `noise` N(5,2), `color` with weights.
struct Table {
    stable: Vec<f64>,
    shifted: Vec<f64>,
    noise: Vec<f64>,
    color: Vec<String>,
}

fn table(rows: usize, seed: u64, shift: f64, colors: [f64; 3]) -> Table {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut t = Table {
        stable: Vec::new(),
        shifted: Vec::new(),
        noise: Vec::new(),
        color: Vec::new(),
    };
    for _ in 0..rows {
        t.stable.push(rng.normal(0.0, 1.0));
        t.shifted.push(rng.normal(shift, 1.0));
        t.noise.push(rng.normal(5.0, 2.0));
        let u = rng.uniform();
        let color = if u < colors[0] {
            "red"
        } else if u < colors[0] + colors[1] {
            "green"
        } else {
            "blue"
        };
        t.color.push(color.to_owned());
    }
    t
}

fn write_csv(path: &Path, t: &Table) {
    let mut csv = String::from("stable,shifted,noise,color\n");
    for i in 0..t.stable.len() {
        let _ = writeln!(
            csv,
            "{},{},{},{}",
            t.stable[i], t.shifted[i], t.noise[i], t.color[i]
        );
    }
    std::fs::write(path, csv).unwrap();
}

fn write_parquet(path: &Path, t: &Table) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("stable", DataType::Float64, true),
        Field::new("shifted", DataType::Float64, true),
        Field::new("noise", DataType::Float64, true),
        Field::new("color", DataType::Utf8, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Float64Array::from(t.stable.clone())),
        Arc::new(Float64Array::from(t.shifted.clone())),
        Arc::new(Float64Array::from(t.noise.clone())),
        Arc::new(StringArray::from(t.color.clone())),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

/// Reference and current (shift in `shifted`, colour mix changed): 2 of 4 columns drift.
fn drifted_pair(dir: &Path, rows: usize) {
    write_csv(&dir.join("ref.csv"), &table(rows, 1, 0.0, [0.5, 0.3, 0.2]));
    write_csv(&dir.join("cur.csv"), &table(rows, 2, 1.0, [0.2, 0.3, 0.5]));
}

fn drift_json(dir: &Path, args: &[&str]) -> (i32, Value) {
    let output = rampart_in(dir)
        .args(["drift", "--format", "json"])
        .args(args)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "invalid JSON ({e}): {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap(), json)
}

fn verdicts(report: &Value) -> Vec<(String, String, bool)> {
    report["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["column"].as_str().unwrap().to_owned(),
                c["test"].as_str().unwrap().to_owned(),
                c["drifted"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[test]
fn json_lists_every_column_and_dataset_drift_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    drifted_pair(dir.path(), 3000);
    let (code, report) = drift_json(dir.path(), &["ref.csv", "cur.csv"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["dataset_drift"], true);
    assert_eq!(report["drifted_columns"], 2);
    assert_eq!(report["number_of_columns"], 4);
    for column in report["columns"].as_array().unwrap() {
        for field in [
            "column",
            "kind",
            "test",
            "statistic",
            "threshold",
            "drifted",
            "p_value",
            "psi",
            "reference",
            "current",
            "new_categories",
            "missing_categories",
        ] {
            assert!(column.get(field).is_some(), "{field} missing in {column:#}");
        }
    }
    assert_eq!(
        verdicts(&report),
        [
            ("stable".into(), "wasserstein".into(), false),
            ("shifted".into(), "wasserstein".into(), true),
            ("noise".into(), "wasserstein".into(), false),
            ("color".into(), "jensenshannon".into(), true),
        ]
    );
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"data/dataset-drift"), "{rules:?}");
    assert_eq!(
        rules.iter().filter(|r| **r == "data/column-drift").count(),
        2
    );
}

#[test]
fn no_drift_exits_0_and_fail_on_drift_gates_single_columns() {
    let dir = tempfile::tempdir().unwrap();
    drifted_pair(dir.path(), 2000);
    let (code, report) = drift_json(dir.path(), &["ref.csv", "ref.csv"]);
    assert_eq!((code, report["drifted_columns"].as_u64()), (0, Some(0)));
    // One of two compared columns drifts: below a 0.75 share, so only --fail-on-drift fails.
    let columns = ["--columns", "stable,shifted", "--drift-share", "0.75"];
    let (code, report) = drift_json(
        dir.path(),
        &[&["ref.csv", "cur.csv"][..], &columns].concat(),
    );
    assert_eq!((code, report["dataset_drift"].as_bool()), (0, Some(false)));
    let (code, _) = drift_json(
        dir.path(),
        &[&["ref.csv", "cur.csv", "--fail-on-drift"][..], &columns].concat(),
    );
    assert_eq!(code, 1);
}

#[test]
fn waivers_in_rampart_toml_apply_to_drift_and_expired_ones_say_so() {
    let dir = tempfile::tempdir().unwrap();
    drifted_pair(dir.path(), 2000);
    // `shifted` drifts, `stable` does not: only --fail-on-drift fails, through column drift.
    let args = [
        "ref.csv",
        "cur.csv",
        "--columns",
        "stable,shifted",
        "--drift-share",
        "0.75",
        "--fail-on-drift",
    ];
    let waiver_on = |resource: &str, expires: &str| {
        format!(
            "[[waiver]]\nrule = \"data/column-drift\"\npath = \"cur*.csv\"\n\
             resource = \"{resource}\"\nreason = \"seasonal shift, DATA-12\"\nexpires = {expires}\n"
        )
    };
    let waiver = |expires: &str| waiver_on("column *", expires);
    // A waiver narrowed to another column does not cover `shifted`.
    std::fs::write(
        dir.path().join("rampart.toml"),
        waiver_on("column stable", "2999-12-31"),
    )
    .unwrap();
    let (code, report) = drift_json(dir.path(), &args);
    assert_eq!(code, 1, "{report:#}");
    assert!(report["notices"].to_string().contains("matched no finding"));
    std::fs::write(
        dir.path().join("rampart.toml"),
        waiver_on("column shifted", "2999-12-31"),
    )
    .unwrap();
    let (code, _) = drift_json(dir.path(), &args);
    assert_eq!(code, 0, "the column's own waiver applies");
    std::fs::write(dir.path().join("rampart.toml"), waiver("2999-12-31")).unwrap();
    let (code, report) = drift_json(dir.path(), &args);
    assert_eq!(code, 0, "a waived column drift must not fail: {report:#}");
    let finding = &report["findings"][0];
    assert_eq!(finding["rule_id"], "data/column-drift");
    assert_eq!(finding["waived"]["reason"], "seasonal shift, DATA-12");
    assert_eq!(report["summary"]["waived"], 1);
    rampart_in(dir.path())
        .args(["drift", "--format", "table"])
        .args(args)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("waived"));
    // --no-config ignores the waiver; an expired waiver stops applying and says so.
    let (code, _) = drift_json(dir.path(), &[&args[..], &["--no-config"]].concat());
    assert_eq!(code, 1);
    std::fs::write(dir.path().join("rampart.toml"), waiver("2020-01-31")).unwrap();
    let (code, report) = drift_json(dir.path(), &args);
    assert_eq!(code, 1, "{report:#}");
    assert!(report["findings"][0]["waived"].is_null(), "{report:#}");
    let notices = report["notices"].to_string();
    assert!(notices.contains("expired on 2020-01-31"), "{notices}");
    // A waiver for an unknown rule is a configuration error naming it.
    std::fs::write(
        dir.path().join("rampart.toml"),
        "[[waiver]]\nrule = \"data/nope\"\npath = \"*\"\nreason = \"x\"\n",
    )
    .unwrap();
    rampart_in(dir.path())
        .args(["drift"])
        .args(args)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("data/nope"));
}

#[test]
fn small_references_use_p_value_tests_and_overrides_apply() {
    let dir = tempfile::tempdir().unwrap();
    drifted_pair(dir.path(), 500);
    let (_, report) = drift_json(
        dir.path(),
        &[
            "ref.csv",
            "cur.csv",
            "--stattest",
            "noise=psi",
            "--threshold",
            "noise=0",
        ],
    );
    let tests: Vec<(String, String, bool)> = verdicts(&report);
    assert_eq!(tests[0].1, "ks");
    assert_eq!(tests[2].1, "psi");
    assert_eq!(tests[3].1, "chisquare");
    assert!(tests[1].2 && tests[3].2, "{tests:?}");
    assert!(tests[2].2, "PSI is never below a threshold of 0");
    assert_eq!(report["columns"][2]["threshold"], 0.0);
}

#[test]
fn saved_profile_gives_the_same_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    drifted_pair(dir.path(), 3000);
    let (_, direct) = drift_json(
        dir.path(),
        &["ref.csv", "cur.csv", "--save-profile", "ref.profile.json"],
    );
    let (code, profiled) = drift_json(dir.path(), &["--profile", "ref.profile.json", "cur.csv"]);
    assert_eq!(code, 1);
    assert_eq!(verdicts(&direct), verdicts(&profiled));
    for (a, b) in direct["columns"]
        .as_array()
        .unwrap()
        .iter()
        .zip(profiled["columns"].as_array().unwrap())
    {
        assert_eq!(a["statistic"], b["statistic"]);
        assert_eq!(a["psi"], b["psi"]);
    }
}

#[test]
fn parquet_and_csv_give_the_same_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let reference = table(3000, 1, 0.0, [0.5, 0.3, 0.2]);
    let current = table(3000, 2, 1.0, [0.2, 0.3, 0.5]);
    write_csv(&dir.path().join("ref.csv"), &reference);
    write_csv(&dir.path().join("cur.csv"), &current);
    write_parquet(&dir.path().join("ref.parquet"), &reference);
    write_parquet(&dir.path().join("cur.parquet"), &current);
    let (_, csv) = drift_json(dir.path(), &["ref.csv", "cur.csv"]);
    let (_, parquet) = drift_json(dir.path(), &["ref.parquet", "cur.parquet"]);
    assert_eq!(verdicts(&csv), verdicts(&parquet));
    let (_, mixed) = drift_json(dir.path(), &["ref.parquet", "cur.csv"]);
    assert_eq!(verdicts(&csv), verdicts(&mixed));
}

#[test]
fn ragged_csv_and_missing_columns_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    drifted_pair(dir.path(), 100);
    std::fs::write(dir.path().join("ragged.csv"), "stable,color\n1,red\n2\n").unwrap();
    rampart_in(dir.path())
        .args(["drift", "ref.csv", "ragged.csv"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ragged.csv").and(predicate::str::contains("line")));
    rampart_in(dir.path())
        .args(["drift", "ref.csv", "cur.csv", "--columns", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no column `nope`"));
    rampart_in(dir.path())
        .args(["drift", "ref.csv", "cur.csv", "--stattest", "color=ks"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("KS compares numeric"));
}

#[test]
fn manifest_mismatch_refuses_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    drifted_pair(&data, 200);
    rampart_in(dir.path())
        .args(["hash", "data", "--format", "json", "-o", "manifest.json"])
        .assert()
        .success();
    rampart_in(dir.path())
        .args([
            "drift",
            "data/ref.csv",
            "data/ref.csv",
            "--manifest",
            "manifest.json",
        ])
        .assert()
        .code(0);
    let mut tampered = std::fs::read_to_string(data.join("cur.csv")).unwrap();
    tampered.push_str("0,0,0,red\n");
    std::fs::write(data.join("cur.csv"), tampered).unwrap();
    rampart_in(dir.path())
        .args([
            "drift",
            "data/ref.csv",
            "data/cur.csv",
            "--manifest",
            "manifest.json",
        ])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("does not match").and(predicate::str::contains("cur.csv")),
        );
    std::fs::write(dir.path().join("other.csv"), "a\n1\n").unwrap();
    rampart_in(dir.path())
        .args([
            "data",
            "check",
            "other.csv",
            "--label",
            "a",
            "--manifest",
            "manifest.json",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not listed in the manifest"));
}

#[test]
fn html_and_sarif_reports_render() {
    let dir = tempfile::tempdir().unwrap();
    drifted_pair(dir.path(), 2000);
    let html = rampart_in(dir.path())
        .args(["drift", "ref.csv", "cur.csv", "--format", "html"])
        .output()
        .unwrap();
    let html = String::from_utf8(html.stdout).unwrap();
    assert!(html.contains("Content-Security-Policy"));
    assert_eq!(
        html.matches("<svg").count(),
        2,
        "one chart per drifted column"
    );
    let sarif = rampart_in(dir.path())
        .args(["drift", "ref.csv", "cur.csv", "--format", "sarif"])
        .output()
        .unwrap();
    let sarif: Value = serde_json::from_slice(&sarif.stdout).unwrap();
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 3);
}

#[test]
fn data_check_flags_injected_rows_and_writes_rows_out() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(99);
    let mut csv = String::from("f1,f2,label\n");
    for _ in 0..1000 {
        let label = u8::from(rng.uniform() < 0.5);
        let _ = writeln!(
            csv,
            "{},{},{label}",
            rng.normal(f64::from(label), 1.0),
            rng.normal(0.0, 1.0)
        );
    }
    // Rows 1000 and 1001: the same features with different labels.
    csv.push_str("0.123,0.456,0\n0.123,0.456,1\n");
    std::fs::write(dir.path().join("train.csv"), csv).unwrap();
    let output = rampart_in(dir.path())
        .args([
            "data",
            "check",
            "train.csv",
            "--label",
            "label",
            "--rows-out",
            "rows.csv",
            "--format",
            "json",
            "--no-config",
        ])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["command"], "data check");
    let duplicate = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "data/conflicting-duplicate-labels")
        .unwrap();
    assert!(duplicate["evidence"].as_str().unwrap().contains("1000"));
    let rows = std::fs::read_to_string(dir.path().join("rows.csv")).unwrap();
    assert_eq!(
        rows,
        "row,indicator\n1000,conflicting-duplicate-labels\n1001,conflicting-duplicate-labels\n"
    );
    // Below the gate: exit 0.
    rampart_in(dir.path())
        .args([
            "data",
            "check",
            "train.csv",
            "--label",
            "label",
            "--fail-on",
            "critical",
            "--no-config",
        ])
        .assert()
        .code(0);
}
