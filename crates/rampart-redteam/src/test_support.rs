//! Tiny ONNX classifiers built in memory, for this crate's tests and the CLI's.

use candle_onnx::onnx::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto, attribute_proto::AttributeType,
    tensor_proto::DataType, tensor_shape_proto, type_proto,
};
use prost::Message;

/// A float tensor value `[batch, dims...]` with a symbolic batch dimension.
pub fn float_value(name: &str, dims: &[i64]) -> ValueInfoProto {
    let dim = std::iter::once(tensor_shape_proto::Dimension {
        value: Some(tensor_shape_proto::dimension::Value::DimParam(
            "N".to_owned(),
        )),
        ..Default::default()
    })
    .chain(dims.iter().map(|&d| tensor_shape_proto::Dimension {
        value: Some(tensor_shape_proto::dimension::Value::DimValue(d)),
        ..Default::default()
    }))
    .collect();
    ValueInfoProto {
        name: name.to_owned(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: DataType::Float as i32,
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A float initializer stored as little-endian `raw_data`, as exporters write it.
pub fn initializer(name: &str, dims: &[i64], values: &[f32]) -> TensorProto {
    TensorProto {
        name: name.to_owned(),
        dims: dims.to_vec(),
        data_type: DataType::Float as i32,
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    }
}

pub fn node(op: &str, inputs: &[&str], outputs: &[&str]) -> NodeProto {
    NodeProto {
        op_type: op.to_owned(),
        name: format!("{op}_{}", outputs.first().copied().unwrap_or_default()),
        input: inputs.iter().map(|s| (*s).to_owned()).collect(),
        output: outputs.iter().map(|s| (*s).to_owned()).collect(),
        ..Default::default()
    }
}

pub fn model(graph: GraphProto, opset: i64) -> ModelProto {
    ModelProto {
        ir_version: 7,
        opset_import: vec![
            OperatorSetIdProto {
                domain: String::new(),
                version: opset,
            },
            OperatorSetIdProto {
                domain: "ai.onnx.ml".to_owned(),
                version: 1,
            },
        ],
        graph: Some(graph),
        ..Default::default()
    }
}

/// `softmax(relu(x·W1 + b1)·W2 + b2)` with an axis-less `Softmax` at opset 9, as skl2onnx and
/// older exporters write it. `w1` is `[features, hidden]`, `w2` is `[hidden, classes]`.
pub fn mlp_bytes(
    features: usize,
    hidden: usize,
    classes: usize,
    w1: &[f32],
    b1: &[f32],
    w2: &[f32],
    b2: &[f32],
) -> Vec<u8> {
    let (f, h, c) = (features as i64, hidden as i64, classes as i64);
    let graph = GraphProto {
        name: "mlp".to_owned(),
        node: vec![
            node("MatMul", &["x", "w1"], &["h0"]),
            node("Add", &["h0", "b1"], &["h1"]),
            node("Relu", &["h1"], &["h2"]),
            node("MatMul", &["h2", "w2"], &["z0"]),
            node("Add", &["z0", "b2"], &["logits"]),
            node("Softmax", &["logits"], &["probabilities"]),
        ],
        initializer: vec![
            initializer("w1", &[f, h], w1),
            initializer("b1", &[h], b1),
            initializer("w2", &[h, c], w2),
            initializer("b2", &[c], b2),
        ],
        input: vec![float_value("x", &[f])],
        output: vec![float_value("probabilities", &[c])],
        ..Default::default()
    };
    model(graph, 9).encode_to_vec()
}

/// scikit-learn's export of a multinomial logistic regression (skl2onnx, `zipmap=False`):
/// `ai.onnx.ml.LinearClassifier` with a SOFTMAX post-transform, then an L1 `Normalizer`.
/// `coefficients` is `[classes, features]` as scikit-learn's `coef_`.
pub fn sklearn_logistic_regression_bytes(
    features: usize,
    coefficients: &[f32],
    intercepts: &[f32],
) -> Vec<u8> {
    let classes = intercepts.len();
    let attribute = |name: &str, kind: AttributeType| AttributeProto {
        name: name.to_owned(),
        r#type: kind as i32,
        ..Default::default()
    };
    let mut classifier = node("LinearClassifier", &["x"], &["label", "scores"]);
    classifier.domain = "ai.onnx.ml".to_owned();
    classifier.attribute = vec![
        AttributeProto {
            floats: coefficients.to_vec(),
            ..attribute("coefficients", AttributeType::Floats)
        },
        AttributeProto {
            floats: intercepts.to_vec(),
            ..attribute("intercepts", AttributeType::Floats)
        },
        AttributeProto {
            ints: (0..classes as i64).collect(),
            ..attribute("classlabels_ints", AttributeType::Ints)
        },
        AttributeProto {
            s: b"SOFTMAX".to_vec(),
            ..attribute("post_transform", AttributeType::String)
        },
        AttributeProto {
            i: 1,
            ..attribute("multi_class", AttributeType::Int)
        },
    ];
    let mut normalizer = node("Normalizer", &["scores"], &["probabilities"]);
    normalizer.domain = "ai.onnx.ml".to_owned();
    normalizer.attribute = vec![AttributeProto {
        s: b"L1".to_vec(),
        ..attribute("norm", AttributeType::String)
    }];
    let mut label_value = float_value("label", &[]);
    if let Some(type_proto::Value::TensorType(tensor)) =
        label_value.r#type.as_mut().and_then(|t| t.value.as_mut())
    {
        tensor.elem_type = DataType::Int64 as i32;
    }
    let graph = GraphProto {
        name: "logistic_regression".to_owned(),
        node: vec![classifier, normalizer],
        input: vec![float_value("x", &[features as i64])],
        output: vec![label_value, float_value("probabilities", &[classes as i64])],
        ..Default::default()
    };
    model(graph, 13).encode_to_vec()
}
