//! `rampart redteam robustness|membership|fairness`: figures computed by hand on tiny ONNX
//! models, thresholds as gates (exit 1), bad input as usage errors (exit 2) that say what is
//! wrong.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use rampart_redteam::model::SplitMix64;
use rampart_redteam::npy::{read_npy, write_npy_f32, write_npy_i64};
use rampart_redteam::test_support::mlp_bytes;
use serde_json::Value;

fn rampart_in(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("rampart").unwrap();
    cmd.current_dir(dir).env("NO_COLOR", "1");
    cmd
}

/// Class 0 when x0 > x1: logits `[x0 − x1, x1 − x0]` through Relu (inputs are positive),
/// ending in an axis-less Softmax as skl2onnx writes it.
fn write_comparator(dir: &Path) {
    let identity = [1.0, 0.0, 0.0, 1.0];
    let difference = [1.0, -1.0, -1.0, 1.0];
    let bytes = mlp_bytes(2, 2, 2, &identity, &[0.0, 0.0], &difference, &[0.0, 0.0]);
    std::fs::write(dir.join("model.onnx"), bytes).unwrap();
}

/// Margins x0 − x1 of 0.2, 0.6 and −0.3 (class 1); the third row is labelled 0, so it is
/// misclassified before any attack.
fn write_data(dir: &Path) {
    let x = [0.6, 0.4, 0.9, 0.3, 0.3, 0.6];
    std::fs::write(dir.join("x.npy"), write_npy_f32(&[3, 2], &x)).unwrap();
    std::fs::write(dir.join("y.npy"), write_npy_i64(&[3], &[0, 0, 0])).unwrap();
}

fn run_json(dir: &Path, args: &[&str]) -> (i32, Value) {
    let output = rampart_in(dir)
        .args(["redteam"])
        .args(args)
        .args(["--no-config", "--format", "json"])
        .output()
        .unwrap();
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    (output.status.code().unwrap(), report)
}

#[test]
fn fgsm_robust_accuracy_matches_hand_computation_and_gates() {
    let dir = tempfile::tempdir().unwrap();
    write_comparator(dir.path());
    write_data(dir.path());
    // FGSM at ε moves x0 − x1 by −2ε: row 1 (margin 0.2) flips at ε = 0.15 but not 0.05,
    // row 2 (margin 0.6) flips at neither; row 3 is wrong throughout.
    let (code, report) = run_json(
        dir.path(),
        &[
            "robustness",
            "model.onnx",
            "--data",
            "x.npy",
            "--labels",
            "y.npy",
            "--eps",
            "0.05,0.15",
            "--clip",
            "0,1",
        ],
    );
    assert_eq!(code, 0, "{report}");
    let robustness = &report["metrics"]["robustness"];
    assert_eq!(robustness["gradient_method"], "backprop");
    assert!((robustness["clean_accuracy"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);
    let accuracy = |i: usize| {
        robustness["epsilons"][i]["robust_accuracy"]
            .as_f64()
            .unwrap()
    };
    assert!((accuracy(0) - 2.0 / 3.0).abs() < 1e-9, "{robustness}");
    assert!((accuracy(1) - 1.0 / 3.0).abs() < 1e-9, "{robustness}");
    // ART's success rate counts changed predictions: one of three at ε = 0.15.
    assert!(
        (robustness["epsilons"][1]["attack_success_rate"]
            .as_f64()
            .unwrap()
            - 1.0 / 3.0)
            .abs()
            < 1e-9
    );
    assert_eq!(report["metrics"]["model"]["output"], "logits");

    let (code, report) = run_json(
        dir.path(),
        &[
            "robustness",
            "model.onnx",
            "--data",
            "x.npy",
            "--labels",
            "y.npy",
            "--eps",
            "0.05",
            "--min-robust-accuracy",
            "0.5@0.15",
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(
        report["findings"][0]["rule_id"],
        "redteam/robustness-below-threshold"
    );
    // The threshold's ε is evaluated even though --eps did not name it.
    assert_eq!(
        report["metrics"]["robustness"]["epsilons"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn square_attack_needs_no_gradient() {
    let dir = tempfile::tempdir().unwrap();
    write_comparator(dir.path());
    write_data(dir.path());
    let (code, report) = run_json(
        dir.path(),
        &[
            "robustness",
            "model.onnx",
            "--data",
            "x.npy",
            "--labels",
            "y.npy",
            "--attack",
            "square",
            "--eps",
            "0.15",
            "--clip",
            "0,1",
        ],
    );
    assert_eq!(code, 0, "{report}");
    let robustness = &report["metrics"]["robustness"];
    assert_eq!(robustness["gradient_method"], "none");
    assert_eq!(robustness["config"]["steps"], 1000);
    assert!(
        (robustness["epsilons"][0]["robust_accuracy"]
            .as_f64()
            .unwrap()
            - 1.0 / 3.0)
            .abs()
            < 1e-9
    );
    rampart_in(dir.path())
        .args([
            "redteam",
            "robustness",
            "model.onnx",
            "--no-config",
            "--data",
            "x.npy",
            "--labels",
            "y.npy",
        ])
        .args(["--attack", "square", "--norm", "l2"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("L∞ norm only"));
}

#[test]
fn pgd_saves_adversarial_examples_inside_the_ball() {
    let dir = tempfile::tempdir().unwrap();
    write_comparator(dir.path());
    write_data(dir.path());
    let (code, report) = run_json(
        dir.path(),
        &[
            "robustness",
            "model.onnx",
            "--data",
            "x.npy",
            "--labels",
            "y.npy",
            "--attack",
            "pgd",
            "--eps",
            "0.15",
            "--steps",
            "5",
            "--random-start",
            "--clip",
            "0,1",
            "--save-adversarial",
            "adv",
        ],
    );
    assert_eq!(code, 0, "{report}");
    assert!(
        (report["metrics"]["robustness"]["epsilons"][0]["step_size"]
            .as_f64()
            .unwrap()
            - 0.0375)
            .abs()
            < 1e-6
    );
    let saved =
        read_npy(&std::fs::read(dir.path().join("adv/adversarial_eps0.15.npy")).unwrap()).unwrap();
    assert_eq!(saved.shape, vec![3, 2]);
    let clean = [0.6, 0.4, 0.9, 0.3, 0.3, 0.6];
    for (adversarial, original) in saved.values.iter().zip(clean) {
        assert!((adversarial - original).abs() <= 0.15 + 1e-6 && (0.0..=1.0).contains(adversarial));
    }
}

#[test]
fn reports_carry_the_metrics_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    write_comparator(dir.path());
    write_data(dir.path());
    let args = [
        "redteam",
        "robustness",
        "model.onnx",
        "--data",
        "x.npy",
        "--labels",
        "y.npy",
        "--no-config",
    ];
    rampart_in(dir.path())
        .args(args)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("clean accuracy 0.6667"))
        .stdout(predicate::str::contains("PASS"));
    rampart_in(dir.path())
        .args(args)
        .args(["--format", "html", "-o", "report.html"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("report written to report.html"));
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(
        html.contains("<section id=\"redteam-metrics\">") && html.contains("<svg"),
        "{html}"
    );
    let output = rampart_in(dir.path())
        .args(args)
        .args(["--format", "sarif"])
        .output()
        .unwrap();
    let sarif: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(sarif["runs"][0]["properties"]["metrics"]["robustness"]["clean_accuracy"].is_number());
}

#[test]
fn membership_auc_is_the_mann_whitney_statistic() {
    let dir = tempfile::tempdir().unwrap();
    write_comparator(dir.path());
    // Two members far from the boundary (confident), one close to it; non-members between.
    let members = [0.9, 0.1, 0.8, 0.2, 0.5, 0.45];
    let nonmembers = [0.55, 0.45, 0.6, 0.4, 0.7, 0.3];
    std::fs::write(dir.path().join("m.npy"), write_npy_f32(&[3, 2], &members)).unwrap();
    std::fs::write(
        dir.path().join("n.npy"),
        write_npy_f32(&[3, 2], &nonmembers),
    )
    .unwrap();
    std::fs::write(dir.path().join("y.npy"), write_npy_i64(&[3], &[0, 0, 0])).unwrap();
    let args = [
        "membership",
        "model.onnx",
        "--members",
        "m.npy",
        "--members-labels",
        "y.npy",
        "--nonmembers",
        "n.npy",
        "--nonmembers-labels",
        "y.npy",
    ];
    let (code, report) = run_json(dir.path(), &args);
    assert_eq!(code, 0, "{report}");
    // Member margins 0.8, 0.6, 0.05; non-member margins 0.1, 0.2, 0.4: the 0.05 member
    // loses to all three non-members → 6 of 9 pairs won.
    let attacks = report["metrics"]["membership"]["attacks"]
        .as_array()
        .unwrap();
    for attack in attacks {
        assert!(
            (attack["auc"].as_f64().unwrap() - 6.0 / 9.0).abs() < 1e-9,
            "{attack}"
        );
    }
    let mut gated = args.to_vec();
    gated.extend(["--max-auc", "0.6"]);
    let (code, report) = run_json(dir.path(), &gated);
    assert_eq!(code, 1);
    assert_eq!(
        report["findings"][0]["rule_id"],
        "redteam/membership-leakage"
    );
}

#[test]
fn fairness_from_npy_and_csv_columns_matches_fairlearn_definitions() {
    let dir = tempfile::tempdir().unwrap();
    // Group a: y=[1,1,0,0] p=[1,0,1,0]; group b: y=[1,0,0,0] p=[1,1,1,0].
    let csv = "label,decision,sex\n1,1,a\n1,0,a\n0,1,a\n0,0,a\n1,1,b\n0,1,b\n0,1,b\n0,0,b\n";
    std::fs::write(dir.path().join("audit.csv"), csv).unwrap();
    let args = [
        "fairness",
        "--labels",
        "audit.csv:label",
        "--predictions",
        "audit.csv:decision",
        "--groups",
        "audit.csv:sex",
        "--max-equalized-odds-difference",
        "0.4",
    ];
    let (code, report) = run_json(dir.path(), &args);
    assert_eq!(code, 1, "{report}");
    let fairness = &report["metrics"]["fairness"];
    assert!(
        (fairness["demographic_parity"]["difference"]
            .as_f64()
            .unwrap()
            - 0.25)
            .abs()
            < 1e-9
    );
    assert!((fairness["equalized_odds"]["difference"].as_f64().unwrap() - 0.5).abs() < 1e-9);
    assert_eq!(fairness["groups"][1]["group"], "b");
    assert_eq!(report["findings"][0]["rule_id"], "redteam/equalized-odds");

    std::fs::write(dir.path().join("y.npy"), write_npy_i64(&[4], &[1, 0, 1, 0])).unwrap();
    std::fs::write(
        dir.path().join("p.npy"),
        write_npy_f32(&[4], &[1.0, 1.0, 0.0, 0.0]),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("g.npy"),
        write_npy_i64(&[4, 1], &[0, 0, 1, 1]),
    )
    .unwrap();
    let (code, report) = run_json(
        dir.path(),
        &[
            "fairness",
            "--labels",
            "y.npy",
            "--predictions",
            "p.npy",
            "--groups",
            "g.npy",
            "--max-demographic-parity-difference",
            "1",
        ],
    );
    assert_eq!(code, 0, "{report}");
    assert!(
        (report["metrics"]["fairness"]["demographic_parity"]["difference"]
            .as_f64()
            .unwrap()
            - 1.0)
            .abs()
            < 1e-9
    );
}

#[test]
fn fairness_can_take_decisions_from_the_model() {
    let dir = tempfile::tempdir().unwrap();
    write_comparator(dir.path());
    write_data(dir.path());
    // Predicted classes 0, 0, 1; positive class 0.
    std::fs::write(dir.path().join("g.npy"), write_npy_i64(&[3], &[0, 1, 1])).unwrap();
    let (code, report) = run_json(
        dir.path(),
        &[
            "fairness",
            "--labels",
            "y.npy",
            "--groups",
            "g.npy",
            "--model",
            "model.onnx",
            "--data",
            "x.npy",
            "--positive",
            "0",
        ],
    );
    assert_eq!(code, 0, "{report}");
    let groups = &report["metrics"]["fairness"]["groups"];
    assert_eq!(groups[0]["selection_rate"], 1.0);
    assert_eq!(groups[1]["selection_rate"], 0.5);
}

#[test]
fn bad_inputs_are_usage_errors_that_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    write_comparator(dir.path());
    write_data(dir.path());
    let robustness = |data: &str, labels: &str| {
        let mut cmd = rampart_in(dir.path());
        cmd.args([
            "redteam",
            "robustness",
            "model.onnx",
            "--no-config",
            "--data",
            data,
            "--labels",
            labels,
        ]);
        cmd
    };
    std::fs::write(
        dir.path().join("nan.npy"),
        write_npy_f32(&[2, 2], &[0.1, 0.2, f32::NAN, 0.3]),
    )
    .unwrap();
    robustness("nan.npy", "y.npy")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("row 1, column 0"));
    std::fs::write(
        dir.path().join("wide.npy"),
        write_npy_f32(&[1, 3], &[0.1, 0.2, 0.3]),
    )
    .unwrap();
    std::fs::write(dir.path().join("y1.npy"), write_npy_i64(&[1], &[0])).unwrap();
    robustness("wide.npy", "y1.npy")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("[3]").and(predicate::str::contains("[?, 2]")));
    std::fs::write(
        dir.path().join("y_bad.npy"),
        write_npy_i64(&[3], &[0, 2, 0]),
    )
    .unwrap();
    robustness("x.npy", "y_bad.npy")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "label 2 at row 1 is out of range for a model with 2 classes",
        ));
    robustness("x.npy", "y1.npy")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("has 1 rows but --data has 3"));
    std::fs::write(dir.path().join("broken.onnx"), b"not a model").unwrap();
    rampart_in(dir.path())
        .args([
            "redteam",
            "robustness",
            "broken.onnx",
            "--no-config",
            "--data",
            "x.npy",
            "--labels",
            "y.npy",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot use the model `broken.onnx`",
        ));
}

#[test]
fn csv_features_with_a_label_column() {
    let dir = tempfile::tempdir().unwrap();
    write_comparator(dir.path());
    let csv = "x0,y,x1\n0.6,0,0.4\n0.9,0,0.3\n0.3,0,0.6\n";
    std::fs::write(dir.path().join("data.csv"), csv).unwrap();
    let (code, report) = run_json(
        dir.path(),
        &[
            "robustness",
            "model.onnx",
            "--data",
            "data.csv",
            "--label-column",
            "y",
            "--eps",
            "0.15",
        ],
    );
    assert_eq!(code, 0, "{report}");
    let robustness = &report["metrics"]["robustness"];
    assert!((robustness["clean_accuracy"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert!(
        (robustness["epsilons"][0]["robust_accuracy"]
            .as_f64()
            .unwrap()
            - 1.0 / 3.0)
            .abs()
            < 1e-9
    );
    rampart_in(dir.path())
        .args([
            "redteam",
            "robustness",
            "model.onnx",
            "--no-config",
            "--data",
            "data.csv",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--labels is required (or --label-column",
        ));
}

/// Rows of ±1/√d (unit length, nearly orthogonal to each other) with random binary labels.
fn random_unit_rows(rng: &mut SplitMix64, rows: usize, d: usize) -> (Vec<f32>, Vec<i64>) {
    let scale = 1.0 / (d as f32).sqrt();
    let x = (0..rows * d)
        .map(|_| {
            if rng.next_u64() & 1 == 0 {
                scale
            } else {
                -scale
            }
        })
        .collect();
    let y = (0..rows).map(|_| (rng.next_u64() & 1) as i64).collect();
    (x, y)
}

/// A target that memorised its members: one hidden unit per member firing only on that row
/// (`relu(10·(m·x − 0.6))`) and voting for its label, so members are classified with
/// confidence and everything else gets uniform scores. `memorise = false` gives the same
/// graph with zero output weights: a model that learned nothing row-specific.
fn write_membership_setup(dir: &Path, memorise: bool) {
    const D: usize = 32;
    const MEMBERS: usize = 40;
    let mut rng = SplitMix64::new(11);
    let (members, member_labels) = random_unit_rows(&mut rng, MEMBERS, D);
    let (nonmembers, nonmember_labels) = random_unit_rows(&mut rng, 60, D);
    let (shadow, shadow_labels) = random_unit_rows(&mut rng, 200, D);
    let mut w1 = vec![0f32; D * MEMBERS];
    for (j, row) in members.chunks(D).enumerate() {
        for (i, v) in row.iter().enumerate() {
            w1[i * MEMBERS + j] = 10.0 * v;
        }
    }
    let b1 = vec![-6.0f32; MEMBERS];
    let mut w2 = vec![0f32; MEMBERS * 2];
    if memorise {
        for (j, &label) in member_labels.iter().enumerate() {
            w2[j * 2 + label as usize] = 2.0;
        }
    }
    let model = mlp_bytes(D, MEMBERS, 2, &w1, &b1, &w2, &[0.0, 0.0]);
    std::fs::write(dir.join("model.onnx"), model).unwrap();
    for (name, x, y) in [
        ("members", &members, &member_labels),
        ("nonmembers", &nonmembers, &nonmember_labels),
        ("shadow", &shadow, &shadow_labels),
    ] {
        let rows = y.len();
        std::fs::write(
            dir.join(format!("{name}.npy")),
            write_npy_f32(&[rows, D], x),
        )
        .unwrap();
        std::fs::write(dir.join(format!("{name}_y.npy")), write_npy_i64(&[rows], y)).unwrap();
    }
}

const MEMBERSHIP_ARGS: [&str; 12] = [
    "membership",
    "model.onnx",
    "--members",
    "members.npy",
    "--members-labels",
    "members_y.npy",
    "--nonmembers",
    "nonmembers.npy",
    "--nonmembers-labels",
    "nonmembers_y.npy",
    "--max-auc",
    "0.8",
];

fn shadow_run(dir: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = MEMBERSHIP_ARGS.to_vec();
    args.extend([
        "--shadow-data",
        "shadow.npy",
        "--shadow-labels",
        "shadow_y.npy",
        "--shadow-models",
        "2",
        "--shadow-epochs",
        "300",
    ]);
    args.extend(extra);
    run_json(dir, &args)
}

fn shadow_auc(report: &Value) -> f64 {
    report["metrics"]["membership"]["attacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["attack"] == "shadow")
        .unwrap_or_else(|| panic!("no shadow attack in {report}"))["auc"]
        .as_f64()
        .unwrap()
}

#[test]
fn shadow_models_expose_a_memorising_target_and_pass_one_that_learned_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write_membership_setup(dir.path(), true);
    let (code, report) = shadow_run(dir.path(), &["--seed", "3"]);
    assert_eq!(code, 1, "{report}");
    assert!(shadow_auc(&report) > 0.9, "{report}");
    let shadow = &report["metrics"]["membership"]["shadow"];
    assert_eq!(shadow["family"], "mlp");
    assert_eq!(shadow["config"]["models"], 2);
    assert_eq!(shadow["shadow_rows"], 200);
    // The shadows memorise their random labels: the in/out gap the attack learns from.
    assert!(
        shadow["shadow_train_accuracy"].as_f64().unwrap()
            > shadow["shadow_test_accuracy"].as_f64().unwrap() + 0.2,
        "{shadow}"
    );
    assert_eq!(
        report["findings"][0]["rule_id"],
        "redteam/membership-leakage"
    );
    assert!(report["metrics"]["data"]["shadow"].is_string());

    // Same seed, same figures; another seed trains other shadows.
    let (_, again) = shadow_run(dir.path(), &["--seed", "3"]);
    assert_eq!(
        report["metrics"]["membership"],
        again["metrics"]["membership"]
    );
    let (_, other) = shadow_run(dir.path(), &["--seed", "4"]);
    assert_ne!(
        report["metrics"]["membership"]["shadow"]["attack_weights"],
        other["metrics"]["membership"]["shadow"]["attack_weights"]
    );

    // Logistic-regression shadows (--shadow-hidden 0) are reported as such.
    let (_, linear) = shadow_run(dir.path(), &["--shadow-hidden", "0"]);
    assert_eq!(
        linear["metrics"]["membership"]["shadow"]["family"],
        "logistic_regression"
    );

    let clean = tempfile::tempdir().unwrap();
    write_membership_setup(clean.path(), false);
    let (code, report) = shadow_run(clean.path(), &[]);
    assert_eq!(code, 0, "{report}");
    assert!((shadow_auc(&report) - 0.5).abs() < 1e-9, "{report}");
}

#[test]
fn shadow_attack_bad_inputs_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    write_membership_setup(dir.path(), true);
    std::fs::write(
        dir.path().join("narrow.npy"),
        write_npy_f32(&[40, 8], &[0.1; 320]),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("few.npy"),
        write_npy_f32(&[6, 32], &[0.1; 192]),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("few_y.npy"),
        write_npy_i64(&[6], &[0, 1, 0, 1, 0, 1]),
    )
    .unwrap();
    let shadow = [
        "--shadow-data",
        "shadow.npy",
        "--shadow-labels",
        "shadow_y.npy",
    ];
    let models_zero = [&shadow[..], &["--shadow-models", "0"]].concat();
    let cases: [(&[&str], &str); 4] = [
        (&models_zero, "--shadow-models must be between 1"),
        (
            &[
                "--shadow-data",
                "narrow.npy",
                "--shadow-labels",
                "members_y.npy",
            ],
            "--shadow-data rows have shape [8] but the target's inputs have [32]",
        ),
        (
            &["--shadow-data", "few.npy", "--shadow-labels", "few_y.npy"],
            "at least 5 rows",
        ),
        (
            &[
                "--shadow-data",
                "shadow.npy",
                "--shadow-labels",
                "members_y.npy",
            ],
            "--shadow-labels has 40 rows",
        ),
    ];
    for (extra, message) in cases {
        let mut args = MEMBERSHIP_ARGS.to_vec();
        args.extend(extra);
        let output = rampart_in(dir.path())
            .arg("redteam")
            .args(&args)
            .arg("--no-config")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(stderr.contains(message), "{extra:?}: {stderr}");
    }
}
