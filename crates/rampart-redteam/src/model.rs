//! Loading an ONNX classifier for evaluation under attack: the graph is pruned to the
//! requested output, scikit-learn's `ai.onnx.ml` linear classifiers are rewritten as standard
//! operators, every kept node is checked against the operators this crate evaluates (with their
//! arity, so the evaluator never indexes past a node's inputs), and a final `Softmax` is
//! stripped so attacks differentiate logits and rampart applies the softmax itself.

use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use candle_core::{DType, Device, Tensor, Var};
use candle_onnx::onnx::{
    AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto,
    attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto::dimension,
    type_proto,
};
use prost::Message;
use serde::Serialize;
use thiserror::Error;

/// Larger model files are refused rather than decoded into memory.
pub const MAX_MODEL_BYTES: u64 = 2 << 30;
/// Rows evaluated per graph run.
const BATCH_ROWS: usize = 256;
/// SPSA: perturbation size and number of random directions per row (ART's defaults).
const SPSA_DELTA: f32 = 0.01;
const SPSA_SAMPLES: usize = 128;

/// What the model's output tensor holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputKind {
    /// Class probabilities (rows sum to 1).
    Probabilities,
    /// Unnormalised scores; rampart applies the softmax.
    Logits,
    /// Logits when the graph ends in a `Softmax` (which is stripped) or when the output rows
    /// are not probability vectors; probabilities otherwise.
    #[default]
    Auto,
    /// The input `z` of a final `Sigmoid` (which is stripped): probabilities `σ(z)` whose
    /// logarithm rampart computes as `min(z, 0) − ln(1 + e^{−|z|})`, so rows that σ rounds to
    /// exactly 0 or 1 in float32 keep their loss and a non-zero gradient.
    #[serde(rename = "sigmoid_input")]
    SigmoidInput,
}

/// How a loaded model is to be read.
#[derive(Clone, Debug, Default)]
pub struct ModelOptions {
    /// The graph input fed with the data; default: the only input that is not an initializer.
    pub input_name: Option<String>,
    /// The output read as class scores; default: the first float output with two dimensions,
    /// preferring one named like `prob`.
    pub output_name: Option<String>,
    pub output_kind: OutputKind,
}

/// How input gradients were obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GradientMethod {
    /// Exact gradients by backpropagation through the graph.
    Backprop,
    /// Simultaneous-perturbation estimates from logits (the graph is not differentiable).
    Spsa,
    /// No gradient: the attack only queries scores (square attack).
    None,
}

impl std::fmt::Display for GradientMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GradientMethod::Backprop => "backpropagation",
            GradientMethod::Spsa => "SPSA estimates (the graph is not differentiable)",
            GradientMethod::None => "none, score queries only",
        })
    }
}

#[derive(Debug, Error)]
pub enum ModelError {
    #[error("cannot read the model `{path}`: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the model file is {0} bytes, above the limit of {MAX_MODEL_BYTES}")]
    TooLarge(u64),
    #[error("not a valid ONNX model: {0}")]
    Decode(String),
    #[error("the ONNX model has no graph")]
    NoGraph,
    #[error("{0}")]
    Names(String),
    #[error(
        "unsupported operator `{op}` (domain `{domain}`) in node `{node}`: rampart evaluates standard ONNX operators only ({supported}); export the model without it or with standard operators"
    )]
    UnsupportedOperator {
        op: String,
        domain: String,
        node: String,
        supported: String,
    },
    #[error("node `{node}` ({op}): {message}")]
    InvalidNode {
        op: String,
        node: String,
        message: String,
    },
    #[error("tensor `{name}`: {message}")]
    InvalidTensor { name: String, message: String },
    #[error(
        "the data has rows of shape {data:?} but the model input `{input}` expects {model}; pass data with matching features (or --input-name for another input)"
    )]
    ShapeMismatch {
        input: String,
        data: Vec<usize>,
        model: String,
    },
    #[error(
        "the model output `{output}` has shape {shape:?}; rampart needs [rows, classes] (use --output-name to pick another output)"
    )]
    OutputShape { output: String, shape: Vec<usize> },
    #[error("evaluating the model failed: {0}")]
    Eval(String),
    #[error("{0}")]
    Unsupported(String),
}

impl From<candle_core::Error> for ModelError {
    fn from(error: candle_core::Error) -> Self {
        ModelError::Eval(error.to_string())
    }
}

/// An ONNX classifier ready for batch inference and input gradients.
#[derive(Debug)]
pub struct OnnxClassifier {
    model: ModelProto,
    input_name: String,
    output_name: String,
    /// What [`Self::output_name`] holds after a trailing softmax was stripped.
    scores: OutputKind,
    /// The model input's shape, `None` for symbolic dimensions (the batch).
    input_shape: Vec<Option<usize>>,
    /// The input's element type: float32, or float64 for double-precision exports.
    input_dtype: DType,
    /// Why the scores are what they are, e.g. "the final Softmax was stripped".
    pub notes: Vec<String>,
}

/// Operators evaluated, with the number of inputs each needs.
const SUPPORTED: &[(&str, usize)] = &[
    ("Add", 2),
    ("Sub", 2),
    ("Mul", 2),
    ("Div", 2),
    ("MatMul", 2),
    ("Gemm", 3),
    ("Relu", 1),
    ("LeakyRelu", 1),
    ("Sigmoid", 1),
    ("Tanh", 1),
    ("Softmax", 1),
    ("LogSoftmax", 1),
    ("Exp", 1),
    ("Log", 1),
    ("Neg", 1),
    ("Sqrt", 1),
    ("Abs", 1),
    ("Erf", 1),
    ("Identity", 1),
    ("Dropout", 1),
    ("Flatten", 1),
    ("Reshape", 2),
    ("Transpose", 1),
    ("Constant", 0),
    ("Cast", 1),
    ("Concat", 1),
    ("Conv", 2),
    ("MaxPool", 1),
    ("AveragePool", 1),
    ("BatchNormalization", 5),
];

impl OnnxClassifier {
    pub fn load(path: &Path, options: &ModelOptions) -> Result<Self, ModelError> {
        let io = |source| ModelError::Io {
            path: path.display().to_string(),
            source,
        };
        let size = std::fs::metadata(path).map_err(io)?.len();
        if size > MAX_MODEL_BYTES {
            return Err(ModelError::TooLarge(size));
        }
        let bytes = std::fs::read(path).map_err(io)?;
        Self::from_bytes(&bytes, options)
    }

    pub fn from_bytes(bytes: &[u8], options: &ModelOptions) -> Result<Self, ModelError> {
        let mut model = ModelProto::decode(bytes).map_err(|e| ModelError::Decode(e.to_string()))?;
        let opset = model
            .opset_import
            .iter()
            .filter(|set| set.domain.is_empty() || set.domain == "ai.onnx")
            .map(|set| set.version)
            .max()
            .unwrap_or(1);
        let graph = model.graph.as_mut().ok_or(ModelError::NoGraph)?;
        let initializers: HashSet<String> =
            graph.initializer.iter().map(|t| t.name.clone()).collect();
        let input = choose_input(graph, &initializers, options.input_name.as_deref())?;
        let output_name = choose_output(graph, options.output_name.as_deref())?;
        let mut notes = Vec::new();
        prune(graph, &output_name);
        let rewrite = rewrite_ml_operators(graph, &mut notes)?;
        let output_name = rewrite
            .renamed
            .get(&output_name)
            .cloned()
            .unwrap_or(output_name);
        prune(graph, &output_name);
        let (output_name, scores) = if rewrite.logits.contains(&output_name) {
            (output_name, OutputKind::Logits)
        } else {
            strip_final_softmax(graph, output_name, options, &mut notes)
        };
        prune(graph, &output_name);
        validate_and_normalise(graph, opset)?;
        graph
            .input
            .retain(|value| value.name == input.name || initializers.contains(&value.name));
        let input_shape = declared_shape(&input);
        let input_dtype = match declared_elem_type(&input) {
            Some(DataType::Double) => DType::F64,
            Some(DataType::Float | DataType::Undefined) | None => DType::F32,
            Some(other) => {
                return Err(ModelError::Names(format!(
                    "the model input `{}` is {other:?}; rampart feeds float32 or float64 features",
                    input.name
                )));
            }
        };
        // Batches are as large as we choose: a batch dimension fixed at export (often 1)
        // must not stop the evaluator.
        for value in graph.input.iter_mut().filter(|v| v.name == input.name) {
            if let Some(type_proto::Value::TensorType(tensor)) =
                value.r#type.as_mut().and_then(|t| t.value.as_mut())
                && let Some(batch) = tensor.shape.as_mut().and_then(|s| s.dim.first_mut())
            {
                batch.value = Some(dimension::Value::DimParam("batch".to_owned()));
            }
        }
        graph.output = vec![ValueInfoProto {
            name: output_name.clone(),
            ..ValueInfoProto::default()
        }];
        Ok(OnnxClassifier {
            model,
            input_name: input.name,
            output_name,
            scores,
            input_shape,
            input_dtype,
            notes,
        })
    }

    pub fn input_name(&self) -> &str {
        &self.input_name
    }

    pub fn output_name(&self) -> &str {
        &self.output_name
    }

    /// The input shape as declared, `?` for symbolic dimensions, e.g. `[?, 64]`.
    pub fn describe_input_shape(&self) -> String {
        let dims: Vec<String> = self
            .input_shape
            .iter()
            .map(|d| d.map_or_else(|| "?".to_owned(), |d| d.to_string()))
            .collect();
        format!("[{}]", dims.join(", "))
    }

    /// Checks that rows of `row_shape` fit the model input and returns the tensor shape of a
    /// batch of `rows` of them.
    pub fn batch_shape(&self, row_shape: &[usize], rows: usize) -> Result<Vec<usize>, ModelError> {
        let mismatch = || ModelError::ShapeMismatch {
            input: self.input_name.clone(),
            data: row_shape.to_vec(),
            model: self.describe_input_shape(),
        };
        let Some((_, model_row)) = self.input_shape.split_first() else {
            return Ok(std::iter::once(rows)
                .chain(row_shape.iter().copied())
                .collect());
        };
        let row_len: usize = row_shape.iter().product();
        if model_row.iter().all(Option::is_some) {
            let dims: Vec<usize> = model_row.iter().flatten().copied().collect();
            if dims.iter().product::<usize>() != row_len {
                return Err(mismatch());
            }
            return Ok(std::iter::once(rows).chain(dims).collect());
        }
        if model_row.len() != row_shape.len()
            || model_row
                .iter()
                .zip(row_shape)
                .any(|(model, data)| model.is_some_and(|m| m != *data))
        {
            return Err(mismatch());
        }
        Ok(std::iter::once(rows)
            .chain(row_shape.iter().copied())
            .collect())
    }

    /// Logits (`softmax(logits)` = class probabilities) for the rows of `x`, each of
    /// `row_shape`, row-major. Probability outputs are returned as log-probabilities.
    pub fn logits(&self, x: &[f32], row_shape: &[usize]) -> Result<Matrix, ModelError> {
        let row_len = row_shape.iter().product::<usize>().max(1);
        let mut values = Vec::new();
        let mut classes = 0;
        for batch in x.chunks(BATCH_ROWS * row_len) {
            let rows = batch.len() / row_len;
            let shape = self.batch_shape(row_shape, rows)?;
            let input =
                Tensor::from_slice(batch, shape, &Device::Cpu)?.to_dtype(self.input_dtype)?;
            let scores = self.as_logits(self.run(input)?)?;
            classes = scores.dims().get(1).copied().unwrap_or(0);
            values.extend(scores.flatten_all()?.to_vec1::<f32>()?);
        }
        Ok(Matrix { classes, values })
    }

    /// The gradient of the cross-entropy loss of each row with respect to its input, and
    /// how it was obtained.
    pub fn loss_gradient(
        &self,
        x: &[f32],
        row_shape: &[usize],
        labels: &[usize],
    ) -> Result<(Vec<f32>, GradientMethod), ModelError> {
        let row_len = row_shape.iter().product::<usize>().max(1);
        let mut gradient = Vec::with_capacity(x.len());
        let mut method = GradientMethod::Backprop;
        for (batch, batch_labels) in x
            .chunks(BATCH_ROWS * row_len)
            .zip(labels.chunks(BATCH_ROWS))
        {
            match self.backprop_gradient(batch, row_shape, batch_labels)? {
                Some(g) => gradient.extend(g),
                None => {
                    method = GradientMethod::Spsa;
                    gradient.extend(self.spsa_gradient(batch, row_shape, batch_labels)?);
                }
            }
        }
        Ok((gradient, method))
    }

    fn backprop_gradient(
        &self,
        x: &[f32],
        row_shape: &[usize],
        labels: &[usize],
    ) -> Result<Option<Vec<f32>>, ModelError> {
        let shape = self.batch_shape(row_shape, labels.len())?;
        let input = Var::from_tensor(
            &Tensor::from_slice(x, shape, &Device::Cpu)?.to_dtype(self.input_dtype)?,
        )?;
        let log_probs = log_softmax(&self.as_logits(self.run(input.as_tensor().clone())?)?)?;
        let loss = cross_entropy(&log_probs, labels)?;
        // Operators without a backward pass cut the input off the loss: no gradient at all.
        let Ok(grads) = loss.backward() else {
            return Ok(None);
        };
        match grads.get(input.as_tensor()) {
            Some(g) => {
                let g = g.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?;
                Ok(g.iter().all(|v| v.is_finite()).then_some(g))
            }
            None => Ok(None),
        }
    }

    /// SPSA (Spall 1992) on the cross-entropy of log-probabilities: differencing
    /// probabilities in float32 would lose rows classified with confidence.
    fn spsa_gradient(
        &self,
        x: &[f32],
        row_shape: &[usize],
        labels: &[usize],
    ) -> Result<Vec<f32>, ModelError> {
        let row_len = row_shape.iter().product::<usize>().max(1);
        let mut rng = SplitMix64::new(0x5eed_5a5a);
        let mut gradient = vec![0f32; x.len()];
        for ((row, &label), grad) in x
            .chunks(row_len)
            .zip(labels)
            .zip(gradient.chunks_mut(row_len))
        {
            let mut directions = Vec::with_capacity(SPSA_SAMPLES * row_len);
            let mut probes = Vec::with_capacity(2 * SPSA_SAMPLES * row_len);
            for _ in 0..SPSA_SAMPLES {
                let v: Vec<f32> = (0..row_len)
                    .map(|_| if rng.next_u64() & 1 == 0 { -1.0 } else { 1.0 })
                    .collect();
                probes.extend(row.iter().zip(&v).map(|(x, v)| x + SPSA_DELTA * v));
                probes.extend(row.iter().zip(&v).map(|(x, v)| x - SPSA_DELTA * v));
                directions.extend(v);
            }
            let logits = self.logits(&probes, row_shape)?;
            let losses: Vec<f32> = (0..2 * SPSA_SAMPLES)
                .map(|i| -log_softmax_at(logits.row(i), label) as f32)
                .collect();
            for (pair, v) in losses.chunks_exact(2).zip(directions.chunks_exact(row_len)) {
                if let [plus, minus] = pair {
                    let slope = (plus - minus) / (2.0 * SPSA_DELTA * SPSA_SAMPLES as f32);
                    grad.iter_mut().zip(v).for_each(|(g, v)| *g += slope * v);
                }
            }
        }
        Ok(gradient)
    }

    fn run(&self, input: Tensor) -> Result<Tensor, ModelError> {
        let inputs = HashMap::from([(self.input_name.clone(), input)]);
        // The evaluator is third-party code run on an untrusted graph: a panic inside it must
        // become an error naming the model, not abort the gate.
        let outputs = catch_unwind(AssertUnwindSafe(|| {
            candle_onnx::simple_eval(&self.model, inputs)
        }))
        .map_err(|_| ModelError::Eval("the ONNX evaluator panicked on this graph".to_owned()))??;
        let output = outputs.get(&self.output_name).ok_or_else(|| {
            ModelError::Eval(format!("the graph did not produce `{}`", self.output_name))
        })?;
        let output = output.to_dtype(DType::F32)?;
        match output.dims() {
            [_, classes] if *classes >= 1 => Ok(output),
            dims => Err(ModelError::OutputShape {
                output: self.output_name.clone(),
                shape: dims.to_vec(),
            }),
        }
    }

    /// The graph's scores as logits: as they are, or the log of probabilities (whose softmax
    /// is the probabilities again). A single column is a binary classifier's score for class
    /// 1: `[0, z]` for a logit `z`, `[ln(1 − p), ln p]` for a probability `p`.
    fn as_logits(&self, scores: Tensor) -> Result<Tensor, ModelError> {
        let single = scores.dims().get(1) == Some(&1);
        let kind = match self.scores {
            OutputKind::Auto if single && in_unit_interval(&scores)? => OutputKind::Probabilities,
            OutputKind::Auto if !single && looks_like_probabilities(&scores)? => {
                OutputKind::Probabilities
            }
            OutputKind::Auto => OutputKind::Logits,
            kind => kind,
        };
        Ok(match (kind, single) {
            // One column: [ln(1 − σ(z)), ln σ(z)] = [ln σ(−z), ln σ(z)].
            (OutputKind::SigmoidInput, true) => {
                Tensor::cat(&[&log_sigmoid(&scores.neg()?)?, &log_sigmoid(&scores)?], 1)?
            }
            (OutputKind::SigmoidInput, false) => log_sigmoid(&scores)?,
            (OutputKind::Probabilities, false) => scores.clamp(f32::MIN_POSITIVE, 1.0)?.log()?,
            (OutputKind::Probabilities, true) => {
                let p = scores.clamp(f32::MIN_POSITIVE, 1.0 - f32::EPSILON)?;
                let complement = p.affine(-1.0, 1.0)?;
                Tensor::cat(&[&complement.log()?, &p.log()?], 1)?
            }
            (_, true) => Tensor::cat(&[&scores.zeros_like()?, &scores], 1)?,
            (_, false) => scores,
        })
    }
}

/// Row-major `[rows, classes]` scores.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    pub classes: usize,
    pub values: Vec<f32>,
}

impl Matrix {
    pub fn rows(&self) -> usize {
        self.values.len().checked_div(self.classes).unwrap_or(0)
    }

    pub fn row(&self, i: usize) -> &[f32] {
        let start = i.saturating_mul(self.classes);
        self.values
            .get(start..start.saturating_add(self.classes))
            .unwrap_or_default()
    }

    /// The predicted class of each row (the first of tied maxima, as NumPy's argmax).
    pub fn argmax(&self) -> Vec<usize> {
        (0..self.rows()).map(|i| argmax(self.row(i))).collect()
    }
}

pub fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in row.iter().enumerate() {
        if row.get(best).is_some_and(|b| v > b) {
            best = i;
        }
    }
    best
}

/// `log softmax(row)[label]` in f64, as `(z_label − max) − ln(1 + Σ_{k≠top} e^{z_k − max})`: a
/// confidently classified row keeps a distinct tiny loss instead of rounding to 0, which
/// matters when losses are ranked (membership inference).
pub fn log_softmax_at(row: &[f32], label: usize) -> f64 {
    let top = argmax(row);
    let max = row.get(top).map_or(0.0, |v| f64::from(*v));
    let rest: f64 = row
        .iter()
        .enumerate()
        .filter(|(k, _)| *k != top)
        .map(|(_, v)| (f64::from(*v) - max).exp())
        .sum();
    row.get(label)
        .map_or(f64::NEG_INFINITY, |v| f64::from(*v) - max - rest.ln_1p())
}

/// The largest softmax probability of a row, in f64.
pub fn max_probability(row: &[f32]) -> f64 {
    log_softmax_at(row, argmax(row)).exp()
}

pub(crate) fn log_softmax(scores: &Tensor) -> candle_core::Result<Tensor> {
    let max = scores.max_keepdim(1)?;
    let shifted = scores.broadcast_sub(&max)?;
    let log_sum = shifted.exp()?.sum_keepdim(1)?.log()?;
    shifted.broadcast_sub(&log_sum)
}

pub(crate) fn cross_entropy(log_probs: &Tensor, labels: &[usize]) -> candle_core::Result<Tensor> {
    let classes = log_probs.dims().get(1).copied().unwrap_or(0);
    let mut one_hot = vec![0f32; labels.len() * classes];
    for (i, &label) in labels.iter().enumerate() {
        if let Some(slot) = one_hot.get_mut(i * classes + label) {
            *slot = 1.0;
        }
    }
    let one_hot = Tensor::from_vec(one_hot, (labels.len(), classes), &Device::Cpu)?;
    log_probs.mul(&one_hot)?.sum_all()?.neg()
}

fn in_unit_interval(scores: &Tensor) -> Result<bool, ModelError> {
    let values = scores.flatten_all()?.to_vec1::<f32>()?;
    Ok(values.iter().all(|v| (0.0..=1.0).contains(v)))
}

fn looks_like_probabilities(scores: &Tensor) -> Result<bool, ModelError> {
    let classes = scores.dims().get(1).copied().unwrap_or(1).max(1);
    let values = scores.flatten_all()?.to_vec1::<f32>()?;
    Ok(values.chunks(classes).all(|row| {
        row.iter().all(|v| (0.0..=1.0).contains(v)) && (row.iter().sum::<f32>() - 1.0).abs() < 1e-3
    }))
}

fn choose_input(
    graph: &GraphProto,
    initializers: &HashSet<String>,
    requested: Option<&str>,
) -> Result<ValueInfoProto, ModelError> {
    let candidates: Vec<&ValueInfoProto> = graph
        .input
        .iter()
        .filter(|value| !initializers.contains(&value.name))
        .collect();
    let names = || {
        candidates
            .iter()
            .map(|v| format!("`{}`", v.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match requested {
        Some(name) => candidates
            .iter()
            .find(|v| v.name == name)
            .map(|v| (*v).clone())
            .ok_or_else(|| {
                ModelError::Names(format!(
                    "the model has no input `{name}`; its inputs are {}",
                    names()
                ))
            }),
        None => match candidates.as_slice() {
            [only] => Ok((*only).clone()),
            [] => Err(ModelError::Names(
                "the model graph declares no input".to_owned(),
            )),
            _ => Err(ModelError::Names(format!(
                "the model has several inputs ({}); choose one with --input-name",
                names()
            ))),
        },
    }
}

fn choose_output(graph: &GraphProto, requested: Option<&str>) -> Result<String, ModelError> {
    let names = || {
        graph
            .output
            .iter()
            .map(|v| format!("`{}`", v.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(name) = requested {
        return graph
            .output
            .iter()
            .chain(&graph.value_info)
            .any(|v| v.name == name)
            .then(|| name.to_owned())
            .or_else(|| {
                graph
                    .node
                    .iter()
                    .any(|n| n.output.iter().any(|o| o == name))
                    .then(|| name.to_owned())
            })
            .ok_or_else(|| {
                ModelError::Names(format!(
                    "the model has no output `{name}`; its outputs are {}",
                    names()
                ))
            });
    }
    let float_matrix = |value: &&ValueInfoProto| {
        let Some(type_proto::Value::TensorType(tensor)) =
            value.r#type.as_ref().and_then(|t| t.value.as_ref())
        else {
            return false;
        };
        let float = matches!(
            DataType::try_from(tensor.elem_type),
            Ok(DataType::Float | DataType::Double)
        );
        float
            && tensor
                .shape
                .as_ref()
                .is_none_or(|shape| shape.dim.len() == 2)
    };
    let matrices: Vec<&ValueInfoProto> = graph.output.iter().filter(float_matrix).collect();
    matrices
        .iter()
        .find(|v| v.name.to_ascii_lowercase().contains("prob"))
        .or(matrices.first())
        .map(|v| v.name.clone())
        .ok_or_else(|| {
            ModelError::Names(format!(
                "no model output is a float [rows, classes] tensor (outputs: {}); export probabilities as a tensor (skl2onnx: `options={{'zipmap': False}}`) or pass --output-name",
                names()
            ))
        })
}

fn declared_elem_type(input: &ValueInfoProto) -> Option<DataType> {
    match input.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(type_proto::Value::TensorType(tensor)) => DataType::try_from(tensor.elem_type).ok(),
        _ => None,
    }
}

fn declared_shape(input: &ValueInfoProto) -> Vec<Option<usize>> {
    let Some(type_proto::Value::TensorType(tensor)) =
        input.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        return Vec::new();
    };
    tensor
        .shape
        .as_ref()
        .map(|shape| {
            shape
                .dim
                .iter()
                .map(|d| match d.value {
                    Some(dimension::Value::DimValue(v)) => {
                        usize::try_from(v).ok().filter(|&v| v > 0)
                    }
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Keeps only the nodes `output` depends on, in their (topological) order.
fn prune(graph: &mut GraphProto, output: &str) {
    let mut needed: HashSet<String> = HashSet::from([output.to_owned()]);
    let mut keep = vec![false; graph.node.len()];
    for (i, node) in graph.node.iter().enumerate().rev() {
        if node.output.iter().any(|o| needed.contains(o)) {
            keep[i] = true;
            needed.extend(node.input.iter().filter(|name| !name.is_empty()).cloned());
        }
    }
    let mut flags = keep.into_iter();
    graph.node.retain(|_| flags.next().unwrap_or(false));
    graph.initializer.retain(|t| needed.contains(&t.name));
}

/// What [`rewrite_ml_operators`] changed.
struct Rewrite {
    /// Tensors renamed away (a dropped `Normalizer`'s output → its input).
    renamed: HashMap<String, String>,
    /// Tensors that now hold logits.
    logits: HashSet<String>,
}

/// Rewrites scikit-learn's `LinearClassifier` as `MatMul` + `Add` producing logits, and drops an
/// L1 `Normalizer` that follows one with a `SOFTMAX` or `LOGISTIC` post-transform: softmax of
/// the logits (`s`, or `log σ(s)`) is exactly that normalisation. Other `ai.onnx.ml` operators
/// are left for [`validate_and_normalise`] to reject by name.
fn rewrite_ml_operators(
    graph: &mut GraphProto,
    notes: &mut Vec<String>,
) -> Result<Rewrite, ModelError> {
    let mut rewrite = Rewrite {
        renamed: HashMap::new(),
        logits: HashSet::new(),
    };
    let mut normalised_logits = HashSet::new();
    let nodes = std::mem::take(&mut graph.node);
    for node in nodes {
        let node = rename_inputs(node, &rewrite.renamed);
        match (node.domain.as_str(), node.op_type.as_str()) {
            ("ai.onnx.ml", "LinearClassifier") => {
                let (nodes, initializers, normalised) = linear_classifier_as_standard_ops(&node)?;
                if let Some(scores) = node.output.get(1) {
                    rewrite.logits.insert(scores.clone());
                    if normalised {
                        normalised_logits.insert(scores.clone());
                    }
                }
                rewritten_note(notes, &node);
                graph.node.extend(nodes);
                graph.initializer.extend(initializers);
            }
            ("ai.onnx.ml", "Normalizer")
                if attr_string(&node, "norm").as_deref() == Some("L1")
                    && node
                        .input
                        .first()
                        .is_some_and(|i| normalised_logits.contains(i)) =>
            {
                if let (Some(from), Some(to)) = (node.input.first(), node.output.first()) {
                    rewrite.renamed.insert(to.clone(), from.clone());
                }
            }
            _ => graph.node.push(node),
        }
    }
    Ok(rewrite)
}

fn rewritten_note(notes: &mut Vec<String>, node: &NodeProto) {
    notes.push(format!(
        "ai.onnx.ml LinearClassifier `{}` evaluated as MatMul + Add; its scores are used as logits",
        node.name
    ));
}

fn rename_inputs(mut node: NodeProto, renamed: &HashMap<String, String>) -> NodeProto {
    for input in &mut node.input {
        if let Some(to) = renamed.get(input) {
            input.clone_from(to);
        }
    }
    node
}

/// The standard-operator equivalent of a `LinearClassifier`, its initializers, and whether its
/// logits are normalised by softmax (post-transform `SOFTMAX` or `LOGISTIC`).
fn linear_classifier_as_standard_ops(
    node: &NodeProto,
) -> Result<(Vec<NodeProto>, Vec<TensorProto>, bool), ModelError> {
    let invalid = |message: &str| ModelError::InvalidNode {
        op: node.op_type.clone(),
        node: node.name.clone(),
        message: message.to_owned(),
    };
    let coefficients = attr(node, "coefficients")
        .map(|a| a.floats.clone())
        .unwrap_or_default();
    let intercepts = attr(node, "intercepts")
        .map(|a| a.floats.clone())
        .unwrap_or_default();
    let classes = intercepts.len();
    if classes == 0 || coefficients.is_empty() || !coefficients.len().is_multiple_of(classes) {
        return Err(invalid(
            "`coefficients` is not a [classes × features] matrix matching `intercepts`",
        ));
    }
    if classes == 1 {
        return Err(invalid(
            "a single-score (binary, one coefficient row) LinearClassifier is not supported; export the model with two classes of scores",
        ));
    }
    let features = coefficients.len() / classes;
    let (Some(input), Some(scores)) = (node.input.first(), node.output.get(1)) else {
        return Err(invalid(
            "expected one input and the outputs (label, scores)",
        ));
    };
    // Stored class-major; MatMul needs [features, classes].
    let mut weights = vec![0f32; coefficients.len()];
    for (k, row) in coefficients.chunks_exact(features).enumerate() {
        for (j, &w) in row.iter().enumerate() {
            if let Some(slot) = weights.get_mut(j * classes + k) {
                *slot = w;
            }
        }
    }
    let prefix = format!("rampart_{}_{}", node.name, scores);
    let float_tensor = |name: String, dims: Vec<i64>, values: Vec<f32>| TensorProto {
        name,
        dims,
        data_type: DataType::Float as i32,
        float_data: values,
        ..TensorProto::default()
    };
    let weights_name = format!("{prefix}_weights");
    let bias_name = format!("{prefix}_bias");
    let initializers = vec![
        float_tensor(
            weights_name.clone(),
            vec![features as i64, classes as i64],
            weights,
        ),
        float_tensor(bias_name.clone(), vec![classes as i64], intercepts),
    ];
    let step = |op: &str, inputs: Vec<String>, output: String| NodeProto {
        op_type: op.to_owned(),
        name: format!("{prefix}_{op}"),
        input: inputs,
        output: vec![output],
        ..NodeProto::default()
    };
    let product = format!("{prefix}_product");
    let linear = format!("{prefix}_linear");
    let mut nodes = vec![
        step("MatMul", vec![input.clone(), weights_name], product.clone()),
        step("Add", vec![product, bias_name], linear.clone()),
    ];
    let normalised = match attr_string(node, "post_transform")
        .as_deref()
        .unwrap_or("NONE")
    {
        "NONE" => {
            nodes.push(step("Identity", vec![linear], scores.clone()));
            false
        }
        "SOFTMAX" => {
            nodes.push(step("Identity", vec![linear], scores.clone()));
            true
        }
        "LOGISTIC" => {
            let sigmoid = format!("{prefix}_sigmoid");
            nodes.push(step("Sigmoid", vec![linear], sigmoid.clone()));
            nodes.push(step("Log", vec![sigmoid], scores.clone()));
            true
        }
        other => {
            return Err(invalid(&format!(
                "post_transform `{other}` is not supported"
            )));
        }
    };
    Ok((nodes, initializers, normalised))
}

fn attr<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

fn attr_string(node: &NodeProto, name: &str) -> Option<String> {
    attr(node, name).map(|a| String::from_utf8_lossy(&a.s).into_owned())
}

/// `ln σ(z) = min(z, 0) − ln(1 + e^{−|z|})`: exact where `σ(z)` rounds to 0 or 1.
fn log_sigmoid(z: &Tensor) -> candle_core::Result<Tensor> {
    let negative_part = z.clamp(f32::NEG_INFINITY, 0f32)?;
    let correction = z.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?;
    negative_part.sub(&correction)
}

/// When the output is produced by a `Softmax` over the class axis, reads its input instead:
/// attacks then differentiate logits (candle's axis-less softmax has no backward pass). A
/// final `Sigmoid` is read through its input too, for a numerically stable log-probability.
fn strip_final_softmax(
    graph: &GraphProto,
    output: String,
    options: &ModelOptions,
    notes: &mut Vec<String>,
) -> (String, OutputKind) {
    if options.output_kind != OutputKind::Auto {
        return (output, options.output_kind);
    }
    let producer = graph
        .node
        .iter()
        .rev()
        .find(|n| n.output.first() == Some(&output));
    if let Some(node) = producer
        && node.op_type == "Softmax"
        && (node.domain.is_empty() || node.domain == "ai.onnx")
        && matches!(attr(node, "axis").map_or(-1, |a| a.i), 1 | -1)
        && let Some(input) = node.input.first()
    {
        notes.push(format!(
            "the final Softmax `{}` was stripped: attacks use its input `{input}` as logits",
            node.name
        ));
        return (input.clone(), OutputKind::Logits);
    }
    if let Some(node) = producer
        && node.op_type == "Sigmoid"
        && (node.domain.is_empty() || node.domain == "ai.onnx")
        && let Some(input) = node.input.first()
    {
        notes.push(format!(
            "the final Sigmoid `{}` was stripped: rampart computes ln σ of its input `{input}` stably",
            node.name
        ));
        return (input.clone(), OutputKind::SigmoidInput);
    }
    (output, OutputKind::Auto)
}

/// Checks every node is a supported standard operator with the inputs it needs, gives
/// `Softmax`/`LogSoftmax` an explicit axis, adds a zero `C` to two-input `Gemm`, and checks and
/// normalises every tensor the evaluator will read.
fn validate_and_normalise(graph: &mut GraphProto, opset: i64) -> Result<(), ModelError> {
    let supported_list = || {
        SUPPORTED
            .iter()
            .map(|(op, _)| *op)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut extra_initializers = Vec::new();
    for node in &mut graph.node {
        let standard = node.domain.is_empty() || node.domain == "ai.onnx";
        let needed = SUPPORTED
            .iter()
            .find(|(op, _)| *op == node.op_type)
            .map(|(_, n)| *n);
        let Some(mut needed) = needed.filter(|_| standard) else {
            return Err(ModelError::UnsupportedOperator {
                op: node.op_type.clone(),
                domain: if node.domain.is_empty() {
                    "ai.onnx".to_owned()
                } else {
                    node.domain.clone()
                },
                node: node.name.clone(),
                supported: supported_list(),
            });
        };
        if node.op_type == "Gemm" && node.input.len() == 2 {
            let zero = format!("rampart_{}_zero_bias", node.name);
            extra_initializers.push(TensorProto {
                name: zero.clone(),
                data_type: DataType::Float as i32,
                float_data: vec![0.0],
                ..TensorProto::default()
            });
            node.input.push(zero);
        }
        if node.op_type == "Constant" {
            needed = 0;
            let value = node.attribute.iter_mut().find(|a| a.name == "value");
            match value.and_then(|a| a.t.as_mut()) {
                Some(tensor) => normalise_tensor(tensor)?,
                None => {
                    return Err(ModelError::InvalidNode {
                        op: node.op_type.clone(),
                        node: node.name.clone(),
                        message: "only Constant nodes with a tensor `value` are supported"
                            .to_owned(),
                    });
                }
            }
        }
        if node.input.len() < needed
            || node.input.iter().take(needed).any(String::is_empty)
            || node.output.first().is_none_or(String::is_empty)
        {
            return Err(ModelError::InvalidNode {
                op: node.op_type.clone(),
                node: node.name.clone(),
                message: format!(
                    "needs {needed} inputs and an output, has {} inputs and {} outputs",
                    node.input.len(),
                    node.output.len()
                ),
            });
        }
        if matches!(node.op_type.as_str(), "Softmax" | "LogSoftmax") && attr(node, "axis").is_none()
        {
            // Before opset 13 the default axis was 1; candle's axis-less path also has no
            // gradient. Equal for the [rows, classes] tensors classifiers produce.
            node.attribute.push(AttributeProto {
                name: "axis".to_owned(),
                r#type: AttributeType::Int as i32,
                i: if opset < 13 { 1 } else { -1 },
                ..AttributeProto::default()
            });
        }
        if node
            .attribute
            .iter()
            .any(|a| a.g.is_some() || !a.graphs.is_empty())
        {
            return Err(ModelError::InvalidNode {
                op: node.op_type.clone(),
                node: node.name.clone(),
                message: "subgraph attributes are not supported".to_owned(),
            });
        }
    }
    graph.initializer.extend(extra_initializers);
    for tensor in &mut graph.initializer {
        normalise_tensor(tensor)?;
    }
    Ok(())
}

/// Checks a tensor's data matches its dims and type (the evaluator trusts both), and moves
/// raw int32/float data into the typed fields, which the evaluator reads without alignment
/// assumptions.
fn normalise_tensor(tensor: &mut TensorProto) -> Result<(), ModelError> {
    let invalid = |message: String| ModelError::InvalidTensor {
        name: tensor.name.clone(),
        message,
    };
    if !tensor.external_data.is_empty() || tensor.data_location == 1 {
        return Err(invalid(
            "its data is stored outside the model file (external data); save the model with all tensors inside it".to_owned(),
        ));
    }
    let count = tensor
        .dims
        .iter()
        .try_fold(1usize, |n, &d| {
            usize::try_from(d).ok().and_then(|d| n.checked_mul(d))
        })
        .ok_or_else(|| invalid(format!("invalid dims {:?}", tensor.dims)))?;
    let data_type = DataType::try_from(tensor.data_type).unwrap_or(DataType::Undefined);
    let item_size = match data_type {
        DataType::Float | DataType::Int32 => 4,
        DataType::Double | DataType::Int64 => 8,
        DataType::Uint8 | DataType::Int8 | DataType::Bool => 1,
        DataType::Float16 | DataType::Bfloat16 => 2,
        other => return Err(invalid(format!("data type {other:?} is not supported"))),
    };
    let typed_len = tensor
        .float_data
        .len()
        .max(tensor.int32_data.len())
        .max(tensor.int64_data.len())
        .max(tensor.double_data.len());
    if tensor.raw_data.is_empty() && typed_len > 0 {
        let typed_count = match data_type {
            DataType::Float => tensor.float_data.len(),
            DataType::Double => tensor.double_data.len(),
            DataType::Int64 => tensor.int64_data.len(),
            DataType::Int32 => tensor.int32_data.len(),
            _ => {
                return Err(invalid(
                    "typed data of this data type is not supported".to_owned(),
                ));
            }
        };
        if typed_count != count {
            return Err(invalid(format!(
                "{typed_count} values for dims {:?}",
                tensor.dims
            )));
        }
        return Ok(());
    }
    if count.checked_mul(item_size) != Some(tensor.raw_data.len()) {
        return Err(invalid(format!(
            "{} bytes of data for dims {:?} of {item_size}-byte items",
            tensor.raw_data.len(),
            tensor.dims
        )));
    }
    if data_type == DataType::Int32 {
        tensor.int32_data = tensor
            .raw_data
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        tensor.raw_data.clear();
    }
    Ok(())
}

/// A small deterministic generator for SPSA directions and PGD random starts.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{
        float_value, initializer, mlp_bytes, model, node, sklearn_logistic_regression_bytes,
    };
    use proptest::prelude::*;

    // features 2, hidden 3, classes 2
    const W1: [f32; 6] = [0.5, -1.0, 0.25, 1.5, 0.75, -0.5];
    const B1: [f32; 3] = [0.1, 0.2, -0.3];
    const W2: [f32; 6] = [1.0, -1.0, -0.5, 0.5, 2.0, 0.25];
    const B2: [f32; 2] = [0.05, -0.05];

    fn mlp() -> OnnxClassifier {
        OnnxClassifier::from_bytes(
            &mlp_bytes(2, 3, 2, &W1, &B1, &W2, &B2),
            &ModelOptions::default(),
        )
        .unwrap()
    }

    /// Logits and the cross-entropy input gradient of the MLP, by hand in f64.
    fn reference(x: [f64; 2], label: usize) -> ([f64; 2], [f64; 2]) {
        let w1 = |i: usize, j: usize| f64::from(W1[i * 3 + j]);
        let w2 = |j: usize, k: usize| f64::from(W2[j * 2 + k]);
        let pre: Vec<f64> = (0..3)
            .map(|j| x[0] * w1(0, j) + x[1] * w1(1, j) + f64::from(B1[j]))
            .collect();
        let hidden: Vec<f64> = pre.iter().map(|v| v.max(0.0)).collect();
        let z: Vec<f64> = (0..2)
            .map(|k| (0..3).map(|j| hidden[j] * w2(j, k)).sum::<f64>() + f64::from(B2[k]))
            .collect();
        let max = z[0].max(z[1]);
        let sum: f64 = z.iter().map(|v| (v - max).exp()).sum();
        let dz: Vec<f64> = (0..2)
            .map(|k| (z[k] - max).exp() / sum - f64::from(u8::from(k == label)))
            .collect();
        let dh: Vec<f64> = (0..3)
            .map(|j| {
                if pre[j] > 0.0 {
                    (0..2).map(|k| w2(j, k) * dz[k]).sum()
                } else {
                    0.0
                }
            })
            .collect();
        let dx = [0, 1].map(|i| (0..3).map(|j| w1(i, j) * dh[j]).sum());
        ([z[0], z[1]], dx)
    }

    #[test]
    fn mlp_logits_and_backprop_gradient_match_hand_computation() {
        let model = mlp();
        assert_eq!((model.input_name(), model.output_name()), ("x", "logits"));
        assert!(model.notes.iter().any(|n| n.contains("final Softmax")));
        let x = [0.3f32, -0.2, 1.0, 0.5, -0.4, 0.9];
        let labels = [0, 1, 1];
        let logits = model.logits(&x, &[2]).unwrap();
        let (gradient, method) = model.loss_gradient(&x, &[2], &labels).unwrap();
        assert_eq!(method, GradientMethod::Backprop);
        for (i, &label) in labels.iter().enumerate() {
            let (z, dx) = reference([f64::from(x[2 * i]), f64::from(x[2 * i + 1])], label);
            // Logits are shifted by log-softmax; compare their difference.
            let row = logits.row(i);
            assert!(
                (f64::from(row[1] - row[0]) - (z[1] - z[0])).abs() < 1e-5,
                "row {i}"
            );
            for k in 0..2 {
                assert!(
                    (f64::from(gradient[2 * i + k]) - dx[k]).abs() < 1e-5,
                    "row {i}: {gradient:?} vs {dx:?}"
                );
            }
        }
    }

    #[test]
    fn spsa_estimate_points_along_the_true_gradient() {
        let model = mlp();
        let x = [1.0f32, 0.5, 0.2, 0.8];
        let labels = [1, 0];
        let (exact, _) = model.loss_gradient(&x, &[2], &labels).unwrap();
        assert!(exact.chunks(2).all(|g| g[0].hypot(g[1]) > 0.1), "{exact:?}");
        let estimate = model.spsa_gradient(&x, &[2], &labels).unwrap();
        for (e, s) in exact.chunks(2).zip(estimate.chunks(2)) {
            let cosine = (e[0] * s[0] + e[1] * s[1]) / ((e[0].hypot(e[1])) * (s[0].hypot(s[1])));
            assert!(cosine > 0.95, "{exact:?} vs {estimate:?}");
        }
    }

    #[test]
    fn sklearn_linear_classifier_is_rewritten_to_logits() {
        let coefficients = [1.0f32, -2.0, 0.5, 0.5, -1.0, 1.0];
        let intercepts = [0.1f32, 0.0, -0.1];
        let bytes = sklearn_logistic_regression_bytes(2, &coefficients, &intercepts);
        let model = OnnxClassifier::from_bytes(&bytes, &ModelOptions::default()).unwrap();
        let x = [0.4f32, -0.3];
        let logits = model.logits(&x, &[2]).unwrap();
        let expected: Vec<f32> = (0..3)
            .map(|k| x[0] * coefficients[2 * k] + x[1] * coefficients[2 * k + 1] + intercepts[k])
            .collect();
        let shift = expected[0] - logits.row(0)[0];
        for k in 0..3 {
            assert!(
                (logits.row(0)[k] + shift - expected[k]).abs() < 1e-5,
                "{logits:?} vs {expected:?}"
            );
        }
        // Analytic multinomial gradient: Σ_k (p_k − y_k) w_k.
        let p: Vec<f32> = (0..3)
            .map(|k| log_softmax_at(&expected, k).exp() as f32)
            .collect();
        let (gradient, method) = model.loss_gradient(&x, &[2], &[2]).unwrap();
        assert_eq!(method, GradientMethod::Backprop);
        for i in 0..2 {
            let analytic: f32 = (0..3)
                .map(|k| (p[k] - f32::from(u8::from(k == 2))) * coefficients[2 * k + i])
                .sum();
            assert!((gradient[i] - analytic).abs() < 1e-5);
        }
    }

    #[test]
    fn confident_sigmoid_rows_keep_their_loss_and_gradient() {
        // σ(40·(x0 − x1)): at x = (0.9, 0.1), z = 32 and σ(z) is exactly 1 in float32.
        let graph = GraphProto {
            node: vec![
                node("MatMul", &["x", "w"], &["z"]),
                node("Sigmoid", &["z"], &["p"]),
            ],
            initializer: vec![initializer("w", &[2, 1], &[40.0, -40.0])],
            input: vec![float_value("x", &[2])],
            output: vec![float_value("p", &[1])],
            ..Default::default()
        };
        let bytes = model(graph, 13).encode_to_vec();
        let classifier = OnnxClassifier::from_bytes(&bytes, &ModelOptions::default()).unwrap();
        assert!(classifier.notes.iter().any(|n| n.contains("final Sigmoid")));
        let x = [0.9f32, 0.1];
        let logits = classifier.logits(&x, &[2]).unwrap();
        // ln(1 − σ(32)) = −32 − ln(1 + e^−32): the loss of label 0 is exact, not clamped.
        assert!((log_softmax_at(logits.row(0), 0) + 32.0).abs() < 1e-4);
        // d(−ln σ(z))/dx = −σ(−z)·40·[1, −1] ≈ ∓5.1e−13: tiny but not zero.
        let tail = 1.0 / (1.0 + 32f64.exp());
        let (gradient, method) = classifier.loss_gradient(&x, &[2], &[1]).unwrap();
        assert_eq!(method, GradientMethod::Backprop);
        assert!(gradient[0] < 0.0 && gradient[1] > 0.0, "{gradient:?}");
        let relative = (f64::from(gradient[0]) + 40.0 * tail).abs() / (40.0 * tail);
        assert!(relative < 1e-3, "{gradient:?} vs {}", -40.0 * tail);
        // The misclassified label: σ(z)·40·[1, −1] = [40, −40].
        let (gradient, _) = classifier.loss_gradient(&x, &[2], &[0]).unwrap();
        assert!((gradient[0] - 40.0).abs() < 1e-3, "{gradient:?}");
    }

    #[test]
    fn single_column_outputs_are_binary_classifiers() {
        // sigmoid(x0 − x1) as one column: class 1 when x0 > x1.
        let graph = GraphProto {
            node: vec![
                node("MatMul", &["x", "w"], &["z"]),
                node("Sigmoid", &["z"], &["p"]),
            ],
            initializer: vec![initializer("w", &[2, 1], &[1.0, -1.0])],
            input: vec![float_value("x", &[2])],
            output: vec![float_value("p", &[1])],
            ..Default::default()
        };
        let bytes = model(graph.clone(), 13).encode_to_vec();
        let classifier = OnnxClassifier::from_bytes(&bytes, &ModelOptions::default()).unwrap();
        let x = [0.9f32, 0.1, 0.2, 0.7];
        let logits = classifier.logits(&x, &[2]).unwrap();
        assert_eq!(logits.argmax(), vec![1, 0]);
        let p1 = 1.0 / (1.0 + (-0.8f64).exp());
        assert!((log_softmax_at(logits.row(0), 1).exp() - p1).abs() < 1e-5);
        // d(−ln σ(x0 − x1))/dx = −(1 − σ)·[1, −1] for label 1.
        let (gradient, _) = classifier.loss_gradient(&x[..2], &[2], &[1]).unwrap();
        assert!(
            (f64::from(gradient[0]) + (1.0 - p1)).abs() < 1e-5
                && (f64::from(gradient[1]) - (1.0 - p1)).abs() < 1e-5
        );
        // The same score as a raw logit column.
        let mut logit_graph = graph;
        logit_graph.node.truncate(1);
        logit_graph.output = vec![float_value("z", &[1])];
        let bytes = model(logit_graph, 13).encode_to_vec();
        let classifier = OnnxClassifier::from_bytes(
            &bytes,
            &ModelOptions {
                output_kind: OutputKind::Logits,
                ..ModelOptions::default()
            },
        )
        .unwrap();
        let logits = classifier.logits(&x, &[2]).unwrap();
        assert!((log_softmax_at(logits.row(0), 1).exp() - p1).abs() < 1e-5);
    }

    #[test]
    fn double_precision_inputs_are_fed_as_float64() {
        let mut input = float_value("x", &[2]);
        if let Some(type_proto::Value::TensorType(tensor)) =
            input.r#type.as_mut().and_then(|t| t.value.as_mut())
        {
            tensor.elem_type = DataType::Double as i32;
        }
        let weights = TensorProto {
            name: "w".into(),
            dims: vec![2, 2],
            data_type: DataType::Double as i32,
            double_data: vec![1.0, -1.0, -1.0, 1.0],
            ..Default::default()
        };
        let graph = GraphProto {
            node: vec![node("MatMul", &["x", "w"], &["z"])],
            initializer: vec![weights],
            input: vec![input],
            output: vec![float_value("z", &[2])],
            ..Default::default()
        };
        let classifier =
            OnnxClassifier::from_bytes(&model(graph, 13).encode_to_vec(), &ModelOptions::default())
                .unwrap();
        assert_eq!(
            classifier.logits(&[0.7, 0.2], &[2]).unwrap().argmax(),
            vec![0]
        );
        let (gradient, method) = classifier.loss_gradient(&[0.7, 0.2], &[2], &[1]).unwrap();
        assert_eq!(method, GradientMethod::Backprop);
        assert!(gradient[0] > 0.0 && gradient[1] < 0.0, "{gradient:?}");
    }

    #[test]
    fn confident_rows_keep_a_distinct_loss() {
        // In f32, 0 − ln(1 + e^-30) rounds to 0 for both rows; ranking needs them apart.
        let a = log_softmax_at(&[30.0, 0.0], 0);
        let b = log_softmax_at(&[25.0, 0.0], 0);
        assert!(a < 0.0 && b < a, "{a} {b}");
        assert!((a + (-30f64).exp()).abs() < 1e-20);
        assert!((max_probability(&[0.0, 0.0]) - 0.5).abs() < 1e-12);
        assert!(
            (log_softmax_at(&[1.0, 2.0, 3.0], 0)
                - (1.0 - (1f64.exp() + 2f64.exp() + 3f64.exp()).ln()))
            .abs()
                < 1e-9
        );
    }

    #[test]
    fn unsupported_operator_is_named() {
        let mut bytes_model = model(
            GraphProto {
                node: vec![
                    node("MatMul", &["x", "w"], &["z"]),
                    node("TopK", &["z"], &["probabilities"]),
                ],
                initializer: vec![initializer("w", &[2, 2], &[1.0, 0.0, 0.0, 1.0])],
                input: vec![float_value("x", &[2])],
                output: vec![float_value("probabilities", &[2])],
                ..Default::default()
            },
            13,
        );
        let error =
            OnnxClassifier::from_bytes(&bytes_model.encode_to_vec(), &ModelOptions::default())
                .unwrap_err();
        assert!(
            error.to_string().contains("unsupported operator `TopK`"),
            "{error}"
        );
        // A SVMClassifier (ai.onnx.ml) is not rewritten: rejected by name and domain.
        if let Some(graph) = bytes_model.graph.as_mut() {
            graph.node[1].op_type = "SVMClassifier".into();
            graph.node[1].domain = "ai.onnx.ml".into();
        }
        let error =
            OnnxClassifier::from_bytes(&bytes_model.encode_to_vec(), &ModelOptions::default())
                .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("`SVMClassifier` (domain `ai.onnx.ml`)"),
            "{error}"
        );
    }

    #[test]
    fn malformed_nodes_and_tensors_are_errors_not_panics() {
        let graph = |nodes: Vec<NodeProto>, w: TensorProto| GraphProto {
            node: nodes,
            initializer: vec![w],
            input: vec![float_value("x", &[2])],
            output: vec![float_value("z", &[2])],
            ..Default::default()
        };
        let good_w = initializer("w", &[2, 2], &[1.0, 0.0, 0.0, 1.0]);
        let one_input = graph(vec![node("MatMul", &["x"], &["z"])], good_w.clone());
        let error = OnnxClassifier::from_bytes(
            &model(one_input, 13).encode_to_vec(),
            &ModelOptions::default(),
        )
        .unwrap_err();
        assert!(matches!(error, ModelError::InvalidNode { .. }), "{error}");
        let short_w = initializer("w", &[2, 3], &[1.0, 0.0, 0.0, 1.0]);
        let short = graph(vec![node("MatMul", &["x", "w"], &["z"])], short_w);
        let error =
            OnnxClassifier::from_bytes(&model(short, 13).encode_to_vec(), &ModelOptions::default())
                .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("16 bytes of data for dims [2, 3]"),
            "{error}"
        );
        assert!(OnnxClassifier::from_bytes(b"\x08\x07garbage", &ModelOptions::default()).is_err());
    }

    #[test]
    fn data_shape_mismatch_names_both_shapes() {
        let error = mlp().logits(&[0.0; 3], &[3]).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("[3]") && text.contains("[?, 2]"), "{text}");
    }

    #[test]
    fn fuzz_corpus_replays_without_panic() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/redteam_onnx");
        let mut loaded = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            if let Ok(model) = OnnxClassifier::from_bytes(&bytes, &ModelOptions::default()) {
                let logits = model.logits(&[0.5; 8], &[4]).unwrap();
                assert_eq!(logits.rows(), 2);
                loaded.push(path.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
        // The seeds are a skl2onnx export and a Gemm MLP: both must be usable.
        loaded.sort();
        assert_eq!(loaded, ["mlp_gemm.onnx", "sklearn_lr.onnx"]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn arbitrary_or_mutated_models_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
            position in 0usize..400,
            byte in any::<u8>(),
        ) {
            let _ = OnnxClassifier::from_bytes(&bytes, &ModelOptions::default());
            let mut valid = mlp_bytes(2, 3, 2, &W1, &B1, &W2, &B2);
            if let Some(slot) = valid.get_mut(position) {
                *slot = byte;
            }
            if let Ok(model) = OnnxClassifier::from_bytes(&valid, &ModelOptions::default()) {
                let _ = model.logits(&[0.1, 0.2], &[2]);
                let _ = model.loss_gradient(&[0.1, 0.2], &[2], &[1]);
            }
        }
    }
}
