"""Writes the seed inputs of the `redteam_onnx` fuzz target (run once, in the interop venv):
a skl2onnx logistic regression (ai.onnx.ml LinearClassifier + Normalizer) and a small MLP with
a two-input Gemm and an axis-less Softmax at opset 9.

Usage: make_fuzz_seeds.py [OUT_DIR]   (default fuzz/corpus/redteam_onnx)
"""

import pathlib
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper
from skl2onnx import to_onnx
from sklearn.linear_model import LogisticRegression

out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus/redteam_onnx")
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)
x = rng.random((40, 4)).astype(np.float32)
y = (x[:, 0] * 3).astype(int)
lr = LogisticRegression(max_iter=500).fit(x, y)
model = to_onnx(lr, x[:1], options={id(lr): {"zipmap": False}}, target_opset={"": 13, "ai.onnx.ml": 1})
(out / "sklearn_lr.onnx").write_bytes(model.SerializeToString())

w1 = rng.standard_normal((4, 5)).astype(np.float32)
w2 = rng.standard_normal((5, 3)).astype(np.float32)
nodes = [
    helper.make_node("Gemm", ["x", "w1"], ["h"]),
    helper.make_node("Relu", ["h"], ["r"]),
    helper.make_node("MatMul", ["r", "w2"], ["z"]),
    helper.make_node("Softmax", ["z"], ["p"]),
]
graph = helper.make_graph(
    nodes,
    "mlp",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])],
    [helper.make_tensor_value_info("p", TensorProto.FLOAT, [None, 3])],
    [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)])
(out / "mlp_gemm.onnx").write_bytes(model.SerializeToString())
