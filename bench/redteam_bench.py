"""Helper of redteam_bench.sh: trains the models, writes the data, and times the Python side.

  redteam_bench.py prepare DIR COPIES   lr.onnx, mlp.onnx, x.npy, y.npy (digits test split × COPIES)
  redteam_bench.py art DIR ATTACK       ART on the logistic regression (its scikit-learn wrapper)
  redteam_bench.py numpy DIR ATTACK     an exact NumPy attack on the MLP (ART cannot take
                                        gradients of a scikit-learn MLP)
Each timing mode prints one JSON line: {"seconds": ..., "robust_accuracy": {eps: acc}}.
The models are retrained deterministically in each process (not timed), so no pickle is ever
written or loaded.
"""

import json
import pathlib
import sys
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

EPSILONS = [0.05, 0.1, 0.2]
STEPS = 10


def split():
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    return train_test_split(x, digits.target.astype(np.int64), test_size=0.25, random_state=0, stratify=digits.target)


def models():
    x_train, x_test, y_train, y_test = split()
    lr = LogisticRegression(max_iter=2000).fit(x_train, y_train)
    mlp = MLPClassifier(hidden_layer_sizes=(32,), alpha=1e-6, max_iter=2000, random_state=0).fit(x_train, y_train)
    return lr, mlp


def prepare(out: pathlib.Path, copies: int) -> None:
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests/interop/redteam"))
    from make_fixtures import mlp_graph
    from skl2onnx import to_onnx

    out.mkdir(parents=True, exist_ok=True)
    _, x_test, _, y_test = split()
    lr, mlp = models()
    onnx_lr = to_onnx(lr, x_test[:1], options={id(lr): {"zipmap": False}}, target_opset={"": 13, "ai.onnx.ml": 1})
    (out / "lr.onnx").write_bytes(onnx_lr.SerializeToString())
    (out / "mlp.onnx").write_bytes(mlp_graph(mlp).SerializeToString())
    np.save(out / "x.npy", np.tile(x_test, (copies, 1)))
    np.save(out / "y.npy", np.tile(y_test, copies))


def art(out: pathlib.Path, attack: str) -> dict:
    from art.attacks.evasion import FastGradientMethod, ProjectedGradientDescent
    from art.estimators.classification.scikitlearn import ScikitlearnLogisticRegression

    x, y = np.load(out / "x.npy"), np.load(out / "y.npy")
    lr, _ = models()
    classifier = ScikitlearnLogisticRegression(model=lr, clip_values=(0.0, 1.0))
    one_hot = np.eye(10)[y]
    accuracy = {}
    start = time.perf_counter()
    for eps in EPSILONS:
        if attack == "fgsm":
            attacker = FastGradientMethod(classifier, eps=eps, batch_size=256)
        else:
            attacker = ProjectedGradientDescent(classifier, eps=eps, eps_step=eps / 4, max_iter=STEPS, batch_size=256, verbose=False)
        adversarial = attacker.generate(x=x, y=one_hot)
        accuracy[str(eps)] = float(np.mean(np.argmax(classifier.predict(adversarial), axis=1) == y))
    return {"seconds": time.perf_counter() - start, "robust_accuracy": accuracy}


def numpy_attack(out: pathlib.Path, attack: str) -> dict:
    x, y = np.load(out / "x.npy"), np.load(out / "y.npy")
    _, mlp = models()
    w1, w2 = (w.astype(np.float32) for w in mlp.coefs_)
    b1, b2 = (b.astype(np.float32) for b in mlp.intercepts_)
    one_hot = np.eye(10, dtype=np.float32)[y]

    def gradient(inputs):
        pre = inputs @ w1 + b1
        z = np.maximum(pre, 0) @ w2 + b2
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        return (((p - one_hot) @ w2.T) * (pre > 0)) @ w1.T

    accuracy = {}
    start = time.perf_counter()
    for eps in EPSILONS:
        adversarial = x.copy()
        for _ in range(1 if attack == "fgsm" else STEPS):
            step = eps if attack == "fgsm" else eps / 4
            adversarial = np.clip(adversarial + step * np.sign(gradient(adversarial)), 0, 1)
            adversarial = x + np.clip(adversarial - x, -eps, eps)
        logits = np.maximum(adversarial @ w1 + b1, 0) @ w2 + b2
        accuracy[str(eps)] = float(np.mean(np.argmax(logits, axis=1) == y))
    return {"seconds": time.perf_counter() - start, "robust_accuracy": accuracy}


if __name__ == "__main__":
    mode, directory = sys.argv[1], pathlib.Path(sys.argv[2])
    if mode == "prepare":
        prepare(directory, int(sys.argv[3]))
    elif mode == "art":
        print(json.dumps(art(directory, sys.argv[3])))
    else:
        print(json.dumps(numpy_attack(directory, sys.argv[3])))
