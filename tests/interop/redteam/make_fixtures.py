"""Trains the interop models and computes the reference figures rampart must reproduce.

Usage: make_fixtures.py OUT_DIR

Writes to OUT_DIR:
  lr.onnx      scikit-learn LogisticRegression exported by skl2onnx (zipmap=False:
               ai.onnx.ml LinearClassifier + Normalizer, which rampart rewrites)
  mlp.onnx     a one-hidden-layer MLPClassifier, its weights written as a standard-op graph
               (MatMul/Add/Relu/MatMul/Add/Softmax without axis, as skl2onnx writes Softmax)
  *.npy        test features/labels, member (training) rows, fairness columns
  fairness.csv the fairness columns again, to exercise the CSV reader
  expected.json
      robustness: ART (FGSM, PGD through ART's scikit-learn wrapper) on lr.onnx, an exact
                  NumPy FGSM/PGD on mlp.onnx; robust accuracy per eps
      membership: loss/confidence AUC of mlp.onnx by sklearn.metrics.roc_auc_score
      fairness:   Fairlearn's differences and ratios on lr.onnx's binarised decisions
      square:     ART's SquareAttack (L∞, 8×8 squares, logits as its loss) on both models,
                  robust accuracy and model queries per row, mean over SQUARE_SEEDS
      shadow:     ART's ShadowModels + MembershipInferenceBlackBox on two targets (below)
  shadow_overfit.onnx, shadow_regularised.onnx, shadow_*.npy
      the shadow-model membership attack's targets and data: a 256-unit MLP with no penalty
      fitted to 100 rows (deliberately overfit) and a 32-unit MLP with α = 1 fitted to 947
      rows including the same 100 (well regularised); 150 non-members; 700 shadow rows
      disjoint from both
Runs only at test time, in the interop venv: never in rampart.
"""

import json
import pathlib
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from skl2onnx import to_onnx
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

EPSILONS = [0.05, 0.1, 0.2]
L2_EPSILONS = [0.5, 1.0, 2.0]
PGD_STEPS = 10
SQUARE_ITERATIONS = 300
SQUARE_SEEDS = [0, 1, 2]
CLIP = (0.0, 1.0)


def main(out: pathlib.Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)

    lr = LogisticRegression(max_iter=2000, C=1.0).fit(x_train, y_train)
    # Little regularisation and many epochs: an overfit MLP leaks membership.
    mlp = MLPClassifier(hidden_layer_sizes=(32,), activation="relu", alpha=1e-6, max_iter=2000, random_state=0)
    mlp.fit(x_train, y_train)

    lr_onnx = to_onnx(lr, x_train[:1], options={id(lr): {"zipmap": False}}, target_opset={"": 13, "ai.onnx.ml": 1})
    (out / "lr.onnx").write_bytes(lr_onnx.SerializeToString())
    mlp_onnx = mlp_graph(mlp)
    (out / "mlp.onnx").write_bytes(mlp_onnx.SerializeToString())

    # The exported graphs must compute what scikit-learn computes.
    for name, model, onnx_model in [("lr", lr, lr_onnx), ("mlp", mlp, mlp_onnx)]:
        session = ort.InferenceSession(onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
        output = [o.name for o in session.get_outputs() if "prob" in o.name][0]
        probabilities = session.run([output], {session.get_inputs()[0].name: x_test})[0]
        assert np.allclose(probabilities, model.predict_proba(x_test), atol=1e-4), name

    np.save(out / "x_test.npy", x_test)
    np.save(out / "y_test.npy", y_test)
    members = x_train[: len(x_test)]
    np.save(out / "x_members.npy", members)
    np.save(out / "y_members.npy", y_train[: len(x_test)])

    expected = {
        "lr": art_robustness(lr, x_test, y_test),
        "mlp": numpy_robustness(mlp, x_test, y_test),
        "membership": membership(mlp, members, y_train[: len(x_test)], x_test, y_test),
        "fairness": fairness(lr, x_test, y_test, out),
        "clean_accuracy": {"lr": float(lr.score(x_test, y_test)), "mlp": float(mlp.score(x_test, y_test))},
        "square": art_square(lr, mlp, x_test, y_test),
        "shadow": shadow_membership(x, y, out),
    }
    (out / "expected.json").write_text(json.dumps(expected, indent=2))


def mlp_graph(mlp: MLPClassifier) -> onnx.ModelProto:
    w1, w2 = (w.astype(np.float32) for w in mlp.coefs_)
    b1, b2 = (b.astype(np.float32) for b in mlp.intercepts_)
    nodes = [
        helper.make_node("MatMul", ["input", "w1"], ["h0"]),
        helper.make_node("Add", ["h0", "b1"], ["h1"]),
        helper.make_node("Relu", ["h1"], ["h2"]),
        helper.make_node("MatMul", ["h2", "w2"], ["z0"]),
        helper.make_node("Add", ["z0", "b2"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"]),
    ]
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, w1.shape[0]])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, w2.shape[1]])],
        [numpy_helper.from_array(a, n) for a, n in [(w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2")]],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    return model


def art_robustness(lr: LogisticRegression, x: np.ndarray, y: np.ndarray) -> dict:
    from art.attacks.evasion import FastGradientMethod, ProjectedGradientDescent
    from art.estimators.classification.scikitlearn import ScikitlearnLogisticRegression

    classifier = ScikitlearnLogisticRegression(model=lr, clip_values=CLIP)
    one_hot = np.eye(10)[y]
    result = {"fgsm": {}, "pgd": {}, "fgsm_l2": {}, "pgd_l2": {}}
    for norm, suffix, epsilons in [(np.inf, "", EPSILONS), (2, "_l2", L2_EPSILONS)]:
        for eps in epsilons:
            fgsm = FastGradientMethod(classifier, norm=norm, eps=eps, targeted=False, num_random_init=0, minimal=False)
            pgd = ProjectedGradientDescent(
                classifier, norm=norm, eps=eps, eps_step=eps / 4, max_iter=PGD_STEPS, targeted=False,
                num_random_init=0, verbose=False,
            )
            for name, attack in [("fgsm", fgsm), ("pgd", pgd)]:
                adversarial = attack.generate(x=x, y=one_hot)
                accuracy = float(np.mean(np.argmax(classifier.predict(adversarial), axis=1) == y))
                result[name + suffix][str(eps)] = accuracy
    return result


def numpy_robustness(mlp: MLPClassifier, x: np.ndarray, y: np.ndarray) -> dict:
    """FGSM and PGD (ART's conventions) with the exact MLP gradient, in float32 like the model."""
    w1, w2 = (w.astype(np.float32) for w in mlp.coefs_)
    b1, b2 = (b.astype(np.float32) for b in mlp.intercepts_)

    def logits(inputs):
        return np.maximum(inputs @ w1 + b1, 0) @ w2 + b2

    def gradient(inputs):
        pre = inputs @ w1 + b1
        z = np.maximum(pre, 0) @ w2 + b2
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        dz = p - np.eye(z.shape[1], dtype=np.float32)[y]
        return ((dz @ w2.T) * (pre > 0)) @ w1.T

    def accuracy(inputs):
        return float(np.mean(np.argmax(logits(inputs), axis=1) == y))

    result = {"fgsm": {}, "pgd": {}}
    for eps in EPSILONS:
        result["fgsm"][str(eps)] = accuracy(np.clip(x + eps * np.sign(gradient(x)), *CLIP))
        adversarial = x.copy()
        for _ in range(PGD_STEPS):
            adversarial = np.clip(adversarial + eps / 4 * np.sign(gradient(adversarial)), *CLIP)
            adversarial = x + np.clip(adversarial - x, -eps, eps)
        result["pgd"][str(eps)] = accuracy(adversarial)
    return result


def art_square(lr, mlp, x, y) -> dict:
    """ART's square attack through a black-box wrapper that sees the rows as 8×8 images and
    answers with logits (as rampart attacks logits), counting the rows it is asked about."""
    from art.attacks.evasion import SquareAttack
    from art.estimators.classification.blackbox import BlackBoxClassifierNeuralNetwork

    w1, w2 = (w.astype(np.float32) for w in mlp.coefs_)
    b1, b2 = (b.astype(np.float32) for b in mlp.intercepts_)
    logits = {"lr": lr.decision_function, "mlp": lambda v: np.maximum(v @ w1 + b1, 0) @ w2 + b2}
    result = {}
    for name, model_logits in logits.items():
        result[name] = {}
        for eps in EPSILONS:
            accuracies, queries = [], []
            for seed in SQUARE_SEEDS:
                asked = [0]

                def predict(images, model_logits=model_logits, asked=asked):
                    asked[0] += len(images)
                    return model_logits(images.reshape(len(images), -1).astype(np.float32))

                classifier = BlackBoxClassifierNeuralNetwork(predict, (8, 8, 1), 10, channels_first=False, clip_values=CLIP)
                np.random.seed(seed)
                attack = SquareAttack(classifier, norm=np.inf, eps=eps, max_iter=SQUARE_ITERATIONS, p_init=0.8, verbose=False)
                adversarial = attack.generate(x.reshape(-1, 8, 8, 1), np.eye(10)[y]).reshape(len(x), -1)
                accuracies.append(float(np.mean(np.argmax(model_logits(adversarial), axis=1) == y)))
                queries.append(asked[0] / len(x))
            result[name][str(eps)] = {
                "robust_accuracy": float(np.mean(accuracies)),
                "robust_accuracy_by_seed": accuracies,
                "mean_queries": float(np.mean(queries)),
            }
    return result


def membership(mlp, members, member_labels, nonmembers, nonmember_labels) -> dict:
    def scores(x, y):
        p = mlp.predict_proba(x)
        return np.log(np.clip(p[np.arange(len(y)), y], 1e-45, None)), p.max(axis=1)

    member_loss, member_confidence = scores(members, member_labels)
    other_loss, other_confidence = scores(nonmembers, nonmember_labels)
    truth = np.r_[np.ones(len(members)), np.zeros(len(nonmembers))]
    return {
        "loss_auc": float(roc_auc_score(truth, np.r_[member_loss, other_loss])),
        "confidence_auc": float(roc_auc_score(truth, np.r_[member_confidence, other_confidence])),
        "member_accuracy": float(mlp.score(members, member_labels)),
        "nonmember_accuracy": float(mlp.score(nonmembers, nonmember_labels)),
    }


def scaled_logits(probabilities, labels):
    """rampart's shadow-attack features: ln p − ln(1 − p) of the label and of the top class,
    with 1 − p summed from the other classes (exact even when p rounds to 1)."""
    p = probabilities.astype(np.float64)
    rows = np.arange(len(p))

    def scaled(classes):
        others = np.where(np.arange(p.shape[1]) != classes[:, None], p, 0.0).sum(axis=1)
        return np.log(np.clip(p[rows, classes], 1e-300, None)) - np.log(np.clip(others, 1e-300, None))

    return np.c_[scaled(labels), scaled(p.argmax(axis=1))]


def shadow_membership(x, y, out: pathlib.Path) -> dict:
    """ART's shadow-model attack on both targets: 4 shadow MLPs of scikit-learn's default
    family (the family rampart trains) through ART's ShadowModels, then
    MembershipInferenceBlackBox twice: on rampart's two features with a logistic-regression
    attack model (the same method, so the AUC must be close), and with ART's defaults for
    the prediction input (probability vector + one-hot label, gradient boosting). The
    loss-threshold AUC beside them."""
    from art.attacks.inference.membership_inference import MembershipInferenceBlackBox, ShadowModels
    from art.estimators.classification.scikitlearn import ScikitlearnClassifier

    order = np.random.default_rng(0).permutation(len(x))
    members, nonmembers, shadow, rest = order[:100], order[100:250], order[250:950], order[950:]
    targets = {
        "overfit": (MLPClassifier((256,), alpha=0.0, max_iter=3000, random_state=0), members),
        "regularised": (MLPClassifier((32,), alpha=1.0, max_iter=2000, random_state=0), np.r_[members, rest]),
    }
    for name, rows in [("members", members), ("nonmembers", nonmembers), ("shadow", shadow)]:
        np.save(out / f"shadow_x_{name}.npy", x[rows])
        np.save(out / f"shadow_y_{name}.npy", y[rows])
    one_hot = np.eye(10)
    truth = np.r_[np.ones(len(members)), np.zeros(len(nonmembers))]
    result = {}
    for name, (target, rows) in targets.items():
        target.fit(x[rows], y[rows])
        (out / f"shadow_{name}.onnx").write_bytes(mlp_graph(target).SerializeToString())
        template = ScikitlearnClassifier(MLPClassifier((100,), max_iter=200, random_state=0).fit(x[shadow], y[shadow]))
        shadow_models = ShadowModels(template, num_shadow_models=4, random_state=0)
        (in_x, in_y, in_pred), (out_x, out_y, out_pred) = shadow_models.generate_shadow_dataset(x[shadow], one_hot[y[shadow]])
        np.random.seed(0)  # the gradient-boosting attack model's
        default = MembershipInferenceBlackBox(ScikitlearnClassifier(target), attack_model_type="gb")
        default.fit(in_x, in_y, out_x, out_y, pred=in_pred, test_pred=out_pred)
        same_features = MembershipInferenceBlackBox(ScikitlearnClassifier(target), attack_model_type="lr")
        # Without y ART feeds the attack model only `pred`: here rampart's features.
        same_features.fit(
            None, None, None, None,
            pred=scaled_logits(in_pred, in_y.argmax(axis=1)),
            test_pred=scaled_logits(out_pred, out_y.argmax(axis=1)),
        )

        def auc(scores):
            return float(roc_auc_score(truth, np.concatenate([np.asarray(s).reshape(len(s), -1)[:, -1] for s in scores])))

        probabilities = [target.predict_proba(x[rows])[np.arange(len(rows)), y[rows]] for rows in (members, nonmembers)]
        result[name] = {
            "art_auc_same_features": auc(
                [same_features.infer(None, None, pred=scaled_logits(target.predict_proba(x[r]), y[r]), probabilities=True) for r in (members, nonmembers)]
            ),
            "art_auc_default": auc([default.infer(x[r], one_hot[y[r]], probabilities=True) for r in (members, nonmembers)]),
            "loss_auc": float(roc_auc_score(truth, np.log(np.clip(np.r_[probabilities[0], probabilities[1]], 1e-45, None)))),
            "member_accuracy": float(target.score(x[members], y[members])),
            "nonmember_accuracy": float(target.score(x[nonmembers], y[nonmembers])),
        }
    return result


def fairness(lr, x, y, out: pathlib.Path) -> dict:
    from fairlearn.metrics import (
        demographic_parity_difference,
        demographic_parity_ratio,
        equal_opportunity_difference,
        equalized_odds_difference,
        equalized_odds_ratio,
    )

    # Binary decision "digit ≥ 5"; the sensitive feature is the ink in the top rows, which
    # correlates with the digit, so the groups differ.
    labels = (y >= 5).astype(np.int64)
    predictions = (lr.predict(x) >= 5).astype(np.int64)
    ink = x[:, :16].sum(axis=1)
    groups = np.digitize(ink, np.quantile(ink, [1 / 3, 2 / 3])).astype(np.int64)
    np.save(out / "fair_labels.npy", labels)
    np.save(out / "fair_predictions.npy", predictions)
    np.save(out / "fair_groups.npy", groups)
    names = np.array(["low", "mid", "high"])[groups]
    with open(out / "fairness.csv", "w") as f:
        f.write("label,prediction,ink\n")
        for row in zip(labels, predictions, names):
            f.write("%d,%d,%s\n" % row)
    kwargs = {"sensitive_features": groups}
    return {
        "demographic_parity_difference": float(demographic_parity_difference(labels, predictions, **kwargs)),
        "demographic_parity_ratio": float(demographic_parity_ratio(labels, predictions, **kwargs)),
        "equalized_odds_difference": float(equalized_odds_difference(labels, predictions, **kwargs)),
        "equalized_odds_ratio": float(equalized_odds_ratio(labels, predictions, **kwargs)),
        "equal_opportunity_difference": float(equal_opportunity_difference(labels, predictions, **kwargs)),
    }


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]))
