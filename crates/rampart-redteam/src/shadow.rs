//! Shadow-model membership inference (Shokri et al. 2017, simplified as in Salem et al.'s
//! ML-Leaks 2019): the attacker trains models of their own on data from the target's
//! distribution, records how those models respond to rows they were trained on and rows they
//! were not, learns that difference with an attack classifier, and applies it to the target's
//! responses.
//!
//! rampart cannot retrain an arbitrary ONNX graph, so the shadow models are a fixed, documented
//! family trained here: a one-hidden-layer ReLU network (or, with no hidden units, multinomial
//! logistic regression) trained as scikit-learn's `MLPClassifier` trains by default: Glorot
//! uniform initialisation, Adam (learning rate 10⁻³, β 0.9/0.999, ε 10⁻⁸), mini-batches of
//! 200 shuffled each epoch, L2 penalty α = 10⁻⁴, a fixed number of epochs, no early stopping.
//! The shadow family need not be the target's architecture: ML-Leaks found one shadow model of
//! a different family often enough, because what transfers is "training rows get lower loss",
//! not the architecture. A target that overfits less than the shadows is scored as leaking
//! less, which is the point; a target that memorises in ways this family cannot is the attack's
//! blind spot, and the loss-threshold attack beside it needs no shadow at all.
//!
//! Each shadow model trains on a random half of the shadow data and is queried on both halves
//! (the halves are disjoint; different models draw different halves). The attack classifier is
//! one logistic regression over all classes (ML-Leaks' class-independent attack rather than
//! Shokri's one per class: per-class models need far more shadow rows) on the logit-scaled
//! probabilities of the label and of the top class, `ln p − ln(1 − p)` (Carlini et al. 2022's
//! scaling: the raw probabilities of training rows all crowd at 1, their logits do not),
//! computed from the logits so even the most confident rows keep distinct values.

use candle_core::{DType, Device, Tensor, Var};
use serde::Serialize;
use thiserror::Error;

use crate::data::Features;
use crate::membership::{AttackScore, attack_score};
use crate::model::{
    Matrix, ModelError, OnnxClassifier, SplitMix64, argmax, cross_entropy, log_softmax,
};

/// scikit-learn `MLPClassifier` defaults the shadow family follows.
const LEARNING_RATE: f64 = 1e-3;
const ADAM_BETA1: f64 = 0.9;
const ADAM_BETA2: f64 = 0.999;
const ADAM_EPSILON: f64 = 1e-8;
const BATCH_ROWS: usize = 200;
const L2_PENALTY: f64 = 1e-4;
/// Bounds on the flags, so a typo cannot ask for hours of training or gigabytes of weights.
pub const MAX_SHADOW_MODELS: usize = 64;
pub const MAX_HIDDEN_UNITS: usize = 4096;
pub const MAX_EPOCHS: usize = 10_000;
/// Each half of the shadow data needs this many rows for the in/out statistics to mean much.
pub const MIN_ROWS_PER_HALF: usize = 5;
/// Logit-scaled probabilities are clamped to ±this: the attack features must stay finite.
const SCALED_LOGIT_LIMIT: f64 = 1e4;

/// Names of the attack classifier's features, in order (reported with the weights).
pub const ATTACK_FEATURES: [&str; 2] = ["label_scaled_logit", "top_scaled_logit"];
const FEATURES: usize = ATTACK_FEATURES.len();

/// How the shadow models are built.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ShadowConfig {
    /// Number of shadow models.
    pub models: usize,
    /// Hidden ReLU units; 0 is multinomial logistic regression.
    pub hidden: usize,
    /// Training epochs of each shadow model.
    pub epochs: usize,
    pub seed: u64,
}

#[derive(Debug, Error)]
pub enum ShadowError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("shadow model training failed: {0}")]
    Training(#[from] candle_core::Error),
    #[error(
        "--shadow-data has {rows} rows: each shadow model needs at least {MIN_ROWS_PER_HALF} rows to train on and {MIN_ROWS_PER_HALF} held out; give more rows"
    )]
    TooFewRows { rows: usize },
    #[error("--shadow-data rows have shape {shadow:?} but the target's inputs have {target:?}")]
    Shape {
        shadow: Vec<usize>,
        target: Vec<usize>,
    },
    #[error("--shadow-labels has {labels} rows but --shadow-data has {rows}")]
    RowCount { labels: usize, rows: usize },
    #[error("--{flag} must be between {min} and {max}, got {value}")]
    OutOfRange {
        flag: &'static str,
        value: usize,
        min: usize,
        max: usize,
    },
}

/// What the shadow-model attack did, for the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ShadowSummary {
    /// `mlp` (one hidden ReLU layer) or `logistic_regression`.
    pub family: &'static str,
    pub config: ShadowConfig,
    pub shadow_rows: usize,
    /// Mean accuracy of the shadow models on their training halves and held-out halves: the
    /// gap they learned to recognise.
    pub shadow_train_accuracy: f64,
    pub shadow_test_accuracy: f64,
    /// The attack classifier's AUC on the shadow models' own in/out rows (what it was fitted
    /// on; an upper reference for its AUC on the target).
    pub attack_auc_on_shadows: f64,
    pub attack_features: [&'static str; FEATURES],
    /// Logistic-regression weights on the standardised features, then the intercept.
    pub attack_weights: Vec<f64>,
}

/// Trains the shadow models and the attack classifier on `shadow`, then scores the target's
/// outputs on `members` and `nonmembers`.
pub fn shadow_attack(
    target: &OnnxClassifier,
    members: (&Features, &[usize]),
    nonmembers: (&Features, &[usize]),
    shadow: (&Features, &[usize]),
    config: &ShadowConfig,
) -> Result<(AttackScore, ShadowSummary), ShadowError> {
    check_config(config)?;
    let (shadow_data, shadow_labels) = shadow;
    if shadow_labels.len() != shadow_data.rows {
        return Err(ShadowError::RowCount {
            labels: shadow_labels.len(),
            rows: shadow_data.rows,
        });
    }
    if shadow_data.row_shape != members.0.row_shape {
        return Err(ShadowError::Shape {
            shadow: shadow_data.row_shape.clone(),
            target: members.0.row_shape.clone(),
        });
    }
    if shadow_data.rows / 2 < MIN_ROWS_PER_HALF {
        return Err(ShadowError::TooFewRows {
            rows: shadow_data.rows,
        });
    }
    let member_logits = target.logits(&members.0.values, &members.0.row_shape)?;
    let nonmember_logits = target.logits(&nonmembers.0.values, &nonmembers.0.row_shape)?;
    let classes = member_logits.classes.max(1);

    let row_len = shadow_data.row_len();
    let mut rng = SplitMix64::new(config.seed);
    let mut in_features = Vec::new();
    let mut out_features = Vec::new();
    let (mut train_accuracy, mut test_accuracy) = (0.0, 0.0);
    for _ in 0..config.models {
        let mut order: Vec<usize> = (0..shadow_data.rows).collect();
        shuffle(&mut order, &mut rng);
        let (train, held_out) = order.split_at(shadow_data.rows / 2);
        let (train_x, train_y) = gather(shadow_data, shadow_labels, train, row_len);
        let (test_x, test_y) = gather(shadow_data, shadow_labels, held_out, row_len);
        let network = Network::train(&train_x, &train_y, row_len, classes, config, &mut rng)?;
        let train_logits = network.logits(&train_x, row_len)?;
        let test_logits = network.logits(&test_x, row_len)?;
        train_accuracy += accuracy(&train_logits, &train_y);
        test_accuracy += accuracy(&test_logits, &test_y);
        in_features.extend(attack_features(&train_logits, &train_y));
        out_features.extend(attack_features(&test_logits, &test_y));
    }
    let attack = LogisticAttack::fit(&in_features, &out_features);
    let on_shadows = attack_score(
        "shadow",
        &attack.scores(&in_features),
        &attack.scores(&out_features),
    );
    let score = attack_score(
        "shadow",
        &attack.scores(&attack_features(&member_logits, members.1)),
        &attack.scores(&attack_features(&nonmember_logits, nonmembers.1)),
    );
    let models = config.models as f64;
    Ok((
        score,
        ShadowSummary {
            family: if config.hidden == 0 {
                "logistic_regression"
            } else {
                "mlp"
            },
            config: config.clone(),
            shadow_rows: shadow_data.rows,
            shadow_train_accuracy: train_accuracy / models,
            shadow_test_accuracy: test_accuracy / models,
            attack_auc_on_shadows: on_shadows.auc,
            attack_features: ATTACK_FEATURES,
            attack_weights: attack
                .weights
                .iter()
                .chain([&attack.bias])
                .copied()
                .collect(),
        },
    ))
}

fn check_config(config: &ShadowConfig) -> Result<(), ShadowError> {
    for (flag, value, min, max) in [
        ("shadow-models", config.models, 1, MAX_SHADOW_MODELS),
        ("shadow-hidden", config.hidden, 0, MAX_HIDDEN_UNITS),
        ("shadow-epochs", config.epochs, 1, MAX_EPOCHS),
    ] {
        if !(min..=max).contains(&value) {
            return Err(ShadowError::OutOfRange {
                flag,
                value,
                min,
                max,
            });
        }
    }
    Ok(())
}

/// Fisher–Yates.
fn shuffle(items: &mut [usize], rng: &mut SplitMix64) {
    for i in (1..items.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

fn gather(
    data: &Features,
    labels: &[usize],
    rows: &[usize],
    row_len: usize,
) -> (Vec<f32>, Vec<usize>) {
    let mut x = Vec::with_capacity(rows.len() * row_len);
    let mut y = Vec::with_capacity(rows.len());
    for &row in rows {
        if let (Some(values), Some(&label)) = (
            data.values.get(row * row_len..(row + 1) * row_len),
            labels.get(row),
        ) {
            x.extend_from_slice(values);
            y.push(label);
        }
    }
    (x, y)
}

fn accuracy(logits: &Matrix, labels: &[usize]) -> f64 {
    let correct = labels
        .iter()
        .enumerate()
        .filter(|&(i, &label)| argmax(logits.row(i)) == label)
        .count();
    correct as f64 / labels.len().max(1) as f64
}

/// The attack classifier's view of one output row: `ln p − ln(1 − p)` of the label and of
/// the top class, as `z_c − ln Σ_{k≠c} e^{z_k}` in f64 from the logits.
fn attack_features(logits: &Matrix, labels: &[usize]) -> Vec<[f64; FEATURES]> {
    labels
        .iter()
        .enumerate()
        .map(|(i, &label)| {
            let row = logits.row(i);
            [scaled_logit(row, label), scaled_logit(row, argmax(row))]
        })
        .collect()
}

/// `ln p_c − ln(1 − p_c)` of softmax(row), without forming `1 − p_c` (which is 0 in floating
/// point for a confident row).
fn scaled_logit(row: &[f32], class: usize) -> f64 {
    let Some(own) = row.get(class).map(|v| f64::from(*v)) else {
        return -SCALED_LOGIT_LIMIT;
    };
    let others = row
        .iter()
        .enumerate()
        .filter(|&(k, _)| k != class)
        .map(|(_, v)| f64::from(*v));
    let max = others.clone().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        // A single class (or only −∞ elsewhere): certain.
        return SCALED_LOGIT_LIMIT;
    }
    let log_sum_others = max + others.map(|z| (z - max).exp()).sum::<f64>().ln();
    (own - log_sum_others).clamp(-SCALED_LOGIT_LIMIT, SCALED_LOGIT_LIMIT)
}

/// A dense layer's weights `[inputs, outputs]` and bias, with Adam's moment estimates.
struct Layer {
    weights: Var,
    bias: Var,
}

/// The shadow family: ReLU hidden layer (optional) and a linear output of logits.
struct Network {
    layers: Vec<Layer>,
}

impl Network {
    fn train(
        x: &[f32],
        labels: &[usize],
        row_len: usize,
        classes: usize,
        config: &ShadowConfig,
        rng: &mut SplitMix64,
    ) -> Result<Self, candle_core::Error> {
        let widths: Vec<usize> = if config.hidden == 0 {
            vec![row_len, classes]
        } else {
            vec![row_len, config.hidden, classes]
        };
        let layers = widths
            .windows(2)
            .filter_map(|pair| match pair {
                [inputs, outputs] => Some(Layer::glorot(*inputs, *outputs, rng)),
                _ => None,
            })
            .collect::<Result<Vec<_>, _>>()?;
        let network = Network { layers };
        let parameters: Vec<&Var> = network
            .layers
            .iter()
            .flat_map(|l| [&l.weights, &l.bias])
            .collect();
        let mut first_moments = parameters
            .iter()
            .map(|p| p.as_tensor().zeros_like())
            .collect::<Result<Vec<_>, _>>()?;
        let mut second_moments = first_moments.clone();
        let mut order: Vec<usize> = (0..labels.len()).collect();
        let mut t = 0i32;
        for _ in 0..config.epochs {
            shuffle(&mut order, rng);
            for batch in order.chunks(BATCH_ROWS) {
                let mut batch_x = Vec::with_capacity(batch.len() * row_len);
                let mut batch_y = Vec::with_capacity(batch.len());
                for &row in batch {
                    if let (Some(values), Some(&label)) =
                        (x.get(row * row_len..(row + 1) * row_len), labels.get(row))
                    {
                        batch_x.extend_from_slice(values);
                        batch_y.push(label);
                    }
                }
                let rows = batch_y.len();
                if rows == 0 {
                    continue;
                }
                let input = Tensor::from_vec(batch_x, (rows, row_len), &Device::Cpu)?;
                let logits = network.forward(&input)?;
                // scikit-learn's objective: mean cross-entropy + α/2 · ‖W‖² / batch rows.
                let mut loss = (cross_entropy(&log_softmax(&logits)?, &batch_y)? / rows as f64)?;
                for layer in &network.layers {
                    let penalty = (layer.weights.as_tensor().sqr()?.sum_all()?
                        * (0.5 * L2_PENALTY / rows as f64))?;
                    loss = (loss + penalty)?;
                }
                let gradients = loss.backward()?;
                t = t.saturating_add(1);
                let step =
                    LEARNING_RATE * (1.0 - ADAM_BETA2.powi(t)).sqrt() / (1.0 - ADAM_BETA1.powi(t));
                for ((parameter, m), v) in parameters
                    .iter()
                    .zip(first_moments.iter_mut())
                    .zip(second_moments.iter_mut())
                {
                    let Some(gradient) = gradients.get(parameter.as_tensor()) else {
                        continue;
                    };
                    *m = ((&*m * ADAM_BETA1)? + (gradient * (1.0 - ADAM_BETA1))?)?;
                    *v = ((&*v * ADAM_BETA2)? + (gradient.sqr()? * (1.0 - ADAM_BETA2))?)?;
                    let update = (m.div(&(v.sqrt()? + ADAM_EPSILON)?)? * step)?;
                    parameter.set(&parameter.as_tensor().sub(&update)?.detach())?;
                }
            }
        }
        Ok(network)
    }

    fn forward(&self, input: &Tensor) -> Result<Tensor, candle_core::Error> {
        let mut activation = input.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            if i > 0 {
                activation = activation.relu()?;
            }
            activation = activation
                .matmul(layer.weights.as_tensor())?
                .broadcast_add(layer.bias.as_tensor())?;
        }
        Ok(activation)
    }

    fn logits(&self, x: &[f32], row_len: usize) -> Result<Matrix, candle_core::Error> {
        let rows = x.len() / row_len.max(1);
        let input = Tensor::from_slice(x, (rows, row_len), &Device::Cpu)?;
        let logits = self.forward(&input)?.detach();
        Ok(Matrix {
            classes: logits.dims().get(1).copied().unwrap_or(0),
            values: logits.flatten_all()?.to_vec1::<f32>()?,
        })
    }
}

impl Layer {
    /// Glorot uniform, as scikit-learn initialises ReLU networks: weights and biases from
    /// U(−b, b) with b = √(6 / (inputs + outputs)).
    fn glorot(
        inputs: usize,
        outputs: usize,
        rng: &mut SplitMix64,
    ) -> Result<Self, candle_core::Error> {
        let bound = (6.0 / (inputs + outputs) as f64).sqrt();
        let mut uniform = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|_| ((rng.unit() * 2.0 - 1.0) * bound) as f32)
                .collect()
        };
        let weights = Tensor::from_vec(uniform(inputs * outputs), (inputs, outputs), &Device::Cpu)?;
        let bias = Tensor::from_vec(uniform(outputs), outputs, &Device::Cpu)?;
        Ok(Layer {
            weights: Var::from_tensor(&weights.to_dtype(DType::F32)?)?,
            bias: Var::from_tensor(&bias)?,
        })
    }
}

/// Binary logistic regression on standardised features, fitted by Newton's method with
/// scikit-learn `LogisticRegression`'s default penalty (½‖w‖², intercept unpenalised).
struct LogisticAttack {
    mean: [f64; FEATURES],
    scale: [f64; FEATURES],
    weights: [f64; FEATURES],
    bias: f64,
}

const NEWTON_ITERATIONS: usize = 100;
const PARAMETERS: usize = FEATURES + 1;

impl LogisticAttack {
    fn fit(members: &[[f64; FEATURES]], nonmembers: &[[f64; FEATURES]]) -> Self {
        let all: Vec<&[f64; FEATURES]> = members.iter().chain(nonmembers).collect();
        let count = all.len().max(1) as f64;
        let mut mean = [0.0; FEATURES];
        let mut scale = [0.0; FEATURES];
        for row in &all {
            mean.iter_mut().zip(row.iter()).for_each(|(m, v)| *m += v);
        }
        mean.iter_mut().for_each(|m| *m /= count);
        for row in &all {
            for ((s, v), m) in scale.iter_mut().zip(row.iter()).zip(&mean) {
                *s += (v - m).powi(2);
            }
        }
        // A constant feature (all rows equally confident) keeps scale 1, as StandardScaler.
        scale
            .iter_mut()
            .for_each(|s| *s = if *s > 0.0 { (*s / count).sqrt() } else { 1.0 });
        let mut model = LogisticAttack {
            mean,
            scale,
            weights: [0.0; FEATURES],
            bias: 0.0,
        };
        let samples: Vec<([f64; PARAMETERS], f64)> = members
            .iter()
            .map(|f| (model.design(f), 1.0))
            .chain(nonmembers.iter().map(|f| (model.design(f), 0.0)))
            .collect();
        let mut theta = [0.0; PARAMETERS];
        for _ in 0..NEWTON_ITERATIONS {
            let mut gradient = [0.0; PARAMETERS];
            let mut hessian = [[0.0; PARAMETERS]; PARAMETERS];
            for (x, target) in &samples {
                let p = sigmoid(dot(&theta, x));
                let weight = p * (1.0 - p);
                for (i, (g, xi)) in gradient.iter_mut().zip(x).enumerate() {
                    *g += (p - target) * xi;
                    if let Some(row) = hessian.get_mut(i) {
                        row.iter_mut()
                            .zip(x)
                            .for_each(|(h, xj)| *h += weight * xi * xj);
                    }
                }
            }
            // The penalty on the weights, not on the intercept (the last parameter).
            for i in 0..FEATURES {
                gradient[i] += theta[i];
                hessian[i][i] += 1.0;
            }
            let Some(delta) = solve(hessian, gradient) else {
                break;
            };
            theta.iter_mut().zip(&delta).for_each(|(t, d)| *t -= d);
            if delta.iter().map(|d| d.abs()).fold(0.0, f64::max) < 1e-10 {
                break;
            }
        }
        let (weights, bias) = theta.split_at(FEATURES);
        model.weights.copy_from_slice(weights);
        model.bias = bias.first().copied().unwrap_or(0.0);
        model
    }

    /// Standardised features and a constant 1 for the intercept.
    fn design(&self, features: &[f64; FEATURES]) -> [f64; PARAMETERS] {
        let mut x = [1.0; PARAMETERS];
        for (((out, v), m), s) in x.iter_mut().zip(features).zip(&self.mean).zip(&self.scale) {
            *out = (v - m) / s;
        }
        x
    }

    /// The decision function (log-odds of membership) of each row.
    fn scores(&self, rows: &[[f64; FEATURES]]) -> Vec<f64> {
        let theta: Vec<f64> = self.weights.iter().chain([&self.bias]).copied().collect();
        rows.iter()
            .map(|row| {
                self.design(row)
                    .iter()
                    .zip(&theta)
                    .map(|(x, t)| x * t)
                    .sum()
            })
            .collect()
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn dot(a: &[f64; PARAMETERS], b: &[f64; PARAMETERS]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Gaussian elimination with partial pivoting; `None` when singular.
fn solve(
    mut a: [[f64; PARAMETERS]; PARAMETERS],
    mut b: [f64; PARAMETERS],
) -> Option<[f64; PARAMETERS]> {
    for column in 0..PARAMETERS {
        let pivot = (column..PARAMETERS)
            .max_by(|&i, &j| a[i][column].abs().total_cmp(&a[j][column].abs()))?;
        if a[pivot][column].abs() < 1e-300 {
            return None;
        }
        a.swap(column, pivot);
        b.swap(column, pivot);
        let pivot_row = a[column];
        for row in column + 1..PARAMETERS {
            let factor = a[row][column] / pivot_row[column];
            for (value, pivot_value) in a[row].iter_mut().zip(&pivot_row).skip(column) {
                *value -= factor * pivot_value;
            }
            b[row] -= factor * b[column];
        }
    }
    let mut x = [0.0; PARAMETERS];
    for row in (0..PARAMETERS).rev() {
        let tail: f64 = (row + 1..PARAMETERS).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - tail) / a[row][row];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solve_inverts_a_small_system() {
        let mut a = [[0.0; PARAMETERS]; PARAMETERS];
        for (i, row) in a.iter_mut().enumerate() {
            row[i] = 2.0;
            if i + 1 < PARAMETERS {
                row[i + 1] = 1.0;
            }
        }
        let expected: [f64; PARAMETERS] = std::array::from_fn(|i| i as f64 - 1.5);
        let mut b = [0.0; PARAMETERS];
        for (bi, row) in b.iter_mut().zip(&a) {
            *bi = row.iter().zip(&expected).map(|(x, y)| x * y).sum();
        }
        let x = solve(a, b).unwrap();
        for (x, e) in x.iter().zip(&expected) {
            assert!((x - e).abs() < 1e-12, "{x} vs {e}");
        }
    }

    #[test]
    fn logistic_attack_separates_lower_loss_members() {
        // Members have higher label log-probability; the fitted score must rank them first.
        let row = |lp: f64| [lp, lp + 1.0];
        let members: Vec<_> = (0..50).map(|i| row(-0.01 * f64::from(i))).collect();
        let nonmembers: Vec<_> = (0..50).map(|i| row(-0.5 - 0.01 * f64::from(i))).collect();
        let attack = LogisticAttack::fit(&members, &nonmembers);
        let score = attack_score(
            "shadow",
            &attack.scores(&members),
            &attack.scores(&nonmembers),
        );
        assert!((score.auc - 1.0).abs() < 1e-12, "{score:?}");
        assert!(attack.weights.iter().all(|w| w.is_finite()));
    }

    #[test]
    fn a_network_learns_a_separable_problem() {
        let mut rng = SplitMix64::new(3);
        let mut x = Vec::new();
        let mut y = Vec::new();
        for _ in 0..200 {
            let (a, b) = (rng.unit() as f32, rng.unit() as f32);
            x.extend([a, b]);
            y.push(usize::from(a > b));
        }
        let config = ShadowConfig {
            models: 1,
            hidden: 8,
            epochs: 300,
            seed: 0,
        };
        let network = Network::train(&x, &y, 2, 2, &config, &mut rng).unwrap();
        let logits = network.logits(&x, 2).unwrap();
        assert!(accuracy(&logits, &y) > 0.9, "{}", accuracy(&logits, &y));
    }

    #[test]
    fn scaled_logits_stay_distinct_for_confident_rows() {
        // p = softmax([40, 0, 0]) rounds to 1 in f32 and f64; ln p − ln(1 − p) = 40 − ln 2.
        let logits = Matrix {
            classes: 3,
            values: vec![40.0, 0.0, 0.0, 30.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        };
        let features = attack_features(&logits, &[0, 0, 1]);
        assert!(
            (features[0][0] - (40.0 - 2f64.ln())).abs() < 1e-9,
            "{features:?}"
        );
        assert!((features[1][0] - (30.0 - 2f64.ln())).abs() < 1e-9);
        // Uniform over 3: p = 1/3, ln(1/3) − ln(2/3) = −ln 2, for the label and the top class.
        assert!((features[2][0] + 2f64.ln()).abs() < 1e-9);
        assert!((features[2][1] + 2f64.ln()).abs() < 1e-9);
        let single = Matrix {
            classes: 1,
            values: vec![1.0],
        };
        assert_eq!(attack_features(&single, &[0])[0], [SCALED_LOGIT_LIMIT; 2]);
    }
}
