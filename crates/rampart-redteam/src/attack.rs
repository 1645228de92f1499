//! Evasion attacks with the Adversarial Robustness Toolbox's conventions, so the numbers
//! compare: untargeted on the true labels, gradient of the cross-entropy loss, `x + ε·sign(∇)`
//! (L∞) or `x + ε·∇/(‖∇‖₂ + 1e-7)` (L2), clipped to the valid range; PGD steps, clips, then
//! projects to the ε-ball around the clean input, and returns its last iterate. The square
//! attack needs no gradient (for graphs without usable ones). Robust accuracy is over all
//! samples, including those misclassified before the attack.

use serde::Serialize;

use crate::data::Features;
use crate::model::{GradientMethod, ModelError, OnnxClassifier, SplitMix64};

/// ART's `tol` in its gradient normalisation and L2 projection.
const NORM_TOLERANCE: f32 = 1e-7;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AttackKind {
    /// Fast gradient sign method (Goodfellow et al. 2015): one step of size ε.
    Fgsm,
    /// Projected gradient descent (Madry et al. 2018).
    Pgd,
    /// Square attack (Andriushchenko et al. 2020), L∞ only: random search with no gradient,
    /// queries scores only. Here the "squares" are contiguous blocks of the flattened row.
    Square,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Norm {
    Linf,
    L2,
}

impl std::fmt::Display for AttackKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AttackKind::Fgsm => "FGSM",
            AttackKind::Pgd => "PGD",
            AttackKind::Square => "Square",
        })
    }
}

impl std::fmt::Display for Norm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Norm::Linf => "L∞",
            Norm::L2 => "L2",
        })
    }
}

/// The attack's parameters other than ε.
#[derive(Clone, Debug, Serialize)]
pub struct AttackConfig {
    pub attack: AttackKind,
    pub norm: Norm,
    /// PGD iterations; the square attack's query budget per row.
    pub steps: usize,
    /// PGD step size; `None` is ε/4.
    pub step_size: Option<f32>,
    /// PGD starts at a uniformly random point of the ε-ball.
    pub random_start: bool,
    /// The valid input range, applied after every step.
    pub clip: Option<(f32, f32)>,
    /// Seed of the random start.
    pub seed: u64,
}

/// The outcome at one ε.
#[derive(Clone, Debug, Serialize)]
pub struct EpsilonResult {
    pub eps: f32,
    /// PGD's step size (ε/4 unless given); ε for FGSM.
    pub step_size: f32,
    /// Fraction of all samples still classified correctly after the attack.
    pub robust_accuracy: f64,
    /// ART's `compute_success`: fraction of samples whose prediction the attack changed.
    pub attack_success_rate: f64,
    /// Fraction of the correctly classified samples that the attack made misclassified.
    pub success_rate_on_correct: f64,
    /// Mean L∞ and L2 size of the perturbations actually applied.
    pub mean_linf_perturbation: f64,
    pub mean_l2_perturbation: f64,
    /// Square attack: rows the model evaluated during the attack, per sample (the query cost
    /// a black-box attacker pays; at most the budget plus 2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_queries: Option<f64>,
}

/// Robustness of a model on a labelled dataset.
#[derive(Clone, Debug, Serialize)]
pub struct RobustnessResult {
    pub samples: usize,
    pub clean_accuracy: f64,
    pub gradient_method: GradientMethod,
    pub config: AttackConfig,
    pub epsilons: Vec<EpsilonResult>,
}

/// Runs the attack at each ε. Returns the result and, for each ε, the adversarial inputs.
pub fn evaluate_robustness(
    model: &OnnxClassifier,
    data: &Features,
    labels: &[usize],
    epsilons: &[f32],
    config: &AttackConfig,
) -> Result<(RobustnessResult, Vec<Vec<f32>>), ModelError> {
    let clean_predictions = model.logits(&data.values, &data.row_shape)?.argmax();
    let clean_accuracy = fraction(
        clean_predictions
            .iter()
            .zip(labels)
            .filter(|(p, y)| p == y)
            .count(),
        labels.len(),
    );
    let mut gradient_method = match config.attack {
        AttackKind::Square => GradientMethod::None,
        AttackKind::Fgsm | AttackKind::Pgd => GradientMethod::Backprop,
    };
    let mut epsilons_out = Vec::with_capacity(epsilons.len());
    let mut adversarials = Vec::with_capacity(epsilons.len());
    for &eps in epsilons {
        let Crafted {
            adversarial,
            method,
            step_size,
            queries,
        } = attack(model, data, labels, eps, config)?;
        if method == GradientMethod::Spsa {
            gradient_method = GradientMethod::Spsa;
        }
        let predictions = model.logits(&adversarial, &data.row_shape)?.argmax();
        let correct_before = clean_predictions
            .iter()
            .zip(labels)
            .filter(|(p, y)| p == y)
            .count();
        let flipped_correct = clean_predictions
            .iter()
            .zip(&predictions)
            .zip(labels)
            .filter(|((clean, adv), y)| clean == y && adv != y)
            .count();
        let changed = clean_predictions
            .iter()
            .zip(&predictions)
            .filter(|(c, a)| c != a)
            .count();
        let robust = predictions
            .iter()
            .zip(labels)
            .filter(|(p, y)| p == y)
            .count();
        let (linf, l2) = mean_perturbation(&data.values, &adversarial, data.row_len());
        epsilons_out.push(EpsilonResult {
            eps,
            step_size,
            robust_accuracy: fraction(robust, labels.len()),
            attack_success_rate: fraction(changed, labels.len()),
            success_rate_on_correct: fraction(flipped_correct, correct_before),
            mean_linf_perturbation: linf,
            mean_l2_perturbation: l2,
            mean_queries: queries.map(|q| q as f64 / labels.len().max(1) as f64),
        });
        adversarials.push(adversarial);
    }
    Ok((
        RobustnessResult {
            samples: labels.len(),
            clean_accuracy,
            gradient_method,
            config: config.clone(),
            epsilons: epsilons_out,
        },
        adversarials,
    ))
}

/// One ε's adversarial inputs and how they were made.
struct Crafted {
    adversarial: Vec<f32>,
    method: GradientMethod,
    step_size: f32,
    /// Rows evaluated by the model, for the query-based square attack.
    queries: Option<usize>,
}

fn attack(
    model: &OnnxClassifier,
    data: &Features,
    labels: &[usize],
    eps: f32,
    config: &AttackConfig,
) -> Result<Crafted, ModelError> {
    let row_len = data.row_len();
    let clean = &data.values;
    match config.attack {
        AttackKind::Fgsm => {
            let (gradient, method) = model.loss_gradient(clean, &data.row_shape, labels)?;
            let mut adversarial = clean.clone();
            step(&mut adversarial, &gradient, eps, config.norm, row_len);
            clip(&mut adversarial, config.clip);
            Ok(Crafted {
                adversarial,
                method,
                step_size: eps,
                queries: None,
            })
        }
        AttackKind::Pgd => {
            let step_size = config.step_size.unwrap_or(eps / 4.0);
            let mut adversarial = clean.clone();
            if config.random_start {
                let mut rng = SplitMix64::new(config.seed);
                random_start(&mut adversarial, eps, config.norm, row_len, &mut rng);
                clip(&mut adversarial, config.clip);
            }
            let mut method = GradientMethod::Backprop;
            for _ in 0..config.steps {
                let (gradient, used) =
                    model.loss_gradient(&adversarial, &data.row_shape, labels)?;
                if used == GradientMethod::Spsa {
                    method = used;
                }
                step(&mut adversarial, &gradient, step_size, config.norm, row_len);
                clip(&mut adversarial, config.clip);
                project(&mut adversarial, clean, eps, config.norm, row_len);
            }
            Ok(Crafted {
                adversarial,
                method,
                step_size,
                queries: None,
            })
        }
        AttackKind::Square if config.norm == Norm::Linf => {
            let (adversarial, queries) = square_attack(model, data, labels, eps, config)?;
            Ok(Crafted {
                adversarial,
                method: GradientMethod::None,
                step_size: eps,
                queries: Some(queries),
            })
        }
        AttackKind::Square => Err(ModelError::Unsupported(
            "the square attack is implemented for the L∞ norm only; use --norm linf".to_owned(),
        )),
    }
}

/// ART's default initial fraction of the row changed per square-attack step.
const SQUARE_P_INIT: f64 = 0.8;

/// Random search over ±ε blocks (Andriushchenko et al. 2020, Algorithm 1 with ART's schedule):
/// a candidate that lowers the row's margin `z_y − max_{k≠y} z_k` is kept; a row stops once
/// misclassified. Returns the adversarial rows and the number of rows the model evaluated.
fn square_attack(
    model: &OnnxClassifier,
    data: &Features,
    labels: &[usize],
    eps: f32,
    config: &AttackConfig,
) -> Result<(Vec<f32>, usize), ModelError> {
    let row_len = data.row_len();
    let (low, high) = config.clip.unwrap_or((f32::NEG_INFINITY, f32::INFINITY));
    let mut rng = SplitMix64::new(config.seed);
    let mut random_sign = move || if rng.next_u64() & 1 == 0 { -eps } else { eps };
    // Rows already misclassified are left as they are (as ART does); the others start with
    // every feature at a random corner of the ball ("vertical stripes").
    let clean_margins = margins(model, &data.values, &data.row_shape, labels)?;
    let mut adversarial = data.values.clone();
    for (row, margin) in adversarial.chunks_mut(row_len).zip(&clean_margins) {
        if *margin > 0.0 {
            row.iter_mut()
                .for_each(|x| *x = (*x + random_sign()).clamp(low, high));
        }
    }
    let mut margins = margins(model, &adversarial, &data.row_shape, labels)?;
    let mut queries = 2 * labels.len();
    let mut rng = SplitMix64::new(config.seed ^ 0x5157_a4e5);
    for iteration in 0..config.steps {
        let active: Vec<usize> = (0..labels.len())
            .filter(|&r| margins.get(r).is_some_and(|m| *m > 0.0))
            .collect();
        if active.is_empty() {
            break;
        }
        let fraction = square_fraction(iteration, config.steps);
        let block = ((fraction * row_len as f64).round() as usize).clamp(1, row_len);
        let mut candidates = Vec::with_capacity(active.len() * row_len);
        for &row in &active {
            let start = row * row_len;
            let (Some(current), Some(clean)) = (
                adversarial.get(start..start + row_len),
                data.values.get(start..start + row_len),
            ) else {
                continue;
            };
            let mut candidate = current.to_vec();
            let offset = (rng.next_u64() % (row_len - block + 1) as u64) as usize;
            let sign = if rng.next_u64() & 1 == 0 { -eps } else { eps };
            for (value, original) in candidate.iter_mut().zip(clean).skip(offset).take(block) {
                *value = (original + sign).clamp(low, high);
            }
            candidates.extend(candidate);
        }
        let active_labels: Vec<usize> = active
            .iter()
            .filter_map(|&r| labels.get(r).copied())
            .collect();
        let candidate_margins = self::margins(model, &candidates, &data.row_shape, &active_labels)?;
        queries += active_labels.len();
        for ((&row, margin), candidate) in active
            .iter()
            .zip(candidate_margins)
            .zip(candidates.chunks(row_len))
        {
            if margins.get(row).is_some_and(|old| margin < *old) {
                if let Some(slot) = adversarial.get_mut(row * row_len..(row + 1) * row_len) {
                    slot.copy_from_slice(candidate);
                }
                if let Some(old) = margins.get_mut(row) {
                    *old = margin;
                }
            }
        }
    }
    Ok((adversarial, queries))
}

/// `z_y − max_{k≠y} z_k` of each row: negative once misclassified.
fn margins(
    model: &OnnxClassifier,
    x: &[f32],
    row_shape: &[usize],
    labels: &[usize],
) -> Result<Vec<f32>, ModelError> {
    let logits = model.logits(x, row_shape)?;
    Ok(labels
        .iter()
        .enumerate()
        .map(|(i, &label)| {
            let row = logits.row(i);
            let own = row.get(label).copied().unwrap_or(f32::NEG_INFINITY);
            let other = row
                .iter()
                .enumerate()
                .filter(|(k, _)| *k != label)
                .map(|(_, v)| *v)
                .fold(f32::NEG_INFINITY, f32::max);
            own - other
        })
        .collect())
}

/// The fraction of the row a square-attack step changes: ART's `p_selection` schedule,
/// halving at fixed fractions of the query budget.
fn square_fraction(iteration: usize, budget: usize) -> f64 {
    let progress = iteration * 10_000 / budget.max(1);
    let halvings = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000]
        .iter()
        .filter(|&&threshold| progress > threshold)
        .count();
    SQUARE_P_INIT / f64::from(1u32 << halvings)
}

/// `x += size · direction(∇)` per row: the sign for L∞, the unit vector for L2.
fn step(x: &mut [f32], gradient: &[f32], size: f32, norm: Norm, row_len: usize) {
    for (row, grad) in x.chunks_mut(row_len).zip(gradient.chunks(row_len)) {
        match norm {
            Norm::Linf => row
                .iter_mut()
                .zip(grad)
                .for_each(|(x, g)| *x += size * sign(*g)),
            Norm::L2 => {
                let length = l2(grad) + NORM_TOLERANCE;
                row.iter_mut()
                    .zip(grad)
                    .for_each(|(x, g)| *x += size * g / length);
            }
        }
    }
}

/// NumPy's sign: 0 for 0 (Rust's `signum` gives ±1).
fn sign(v: f32) -> f32 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

fn clip(x: &mut [f32], range: Option<(f32, f32)>) {
    if let Some((low, high)) = range {
        x.iter_mut().for_each(|v| *v = v.clamp(low, high));
    }
}

/// Moves each row back into the ε-ball around its clean version (ART's `projection`).
fn project(x: &mut [f32], clean: &[f32], eps: f32, norm: Norm, row_len: usize) {
    for (row, origin) in x.chunks_mut(row_len).zip(clean.chunks(row_len)) {
        match norm {
            Norm::Linf => row
                .iter_mut()
                .zip(origin)
                .for_each(|(x, o)| *x = o + (*x - o).clamp(-eps, eps)),
            Norm::L2 => {
                let delta: Vec<f32> = row.iter().zip(origin).map(|(x, o)| x - o).collect();
                let scale = (eps / (l2(&delta) + NORM_TOLERANCE)).min(1.0);
                row.iter_mut()
                    .zip(origin)
                    .zip(&delta)
                    .for_each(|((x, o), d)| *x = o + d * scale);
            }
        }
    }
}

/// A uniformly random point of the ε-ball (ART's `random_sphere`).
fn random_start(x: &mut [f32], eps: f32, norm: Norm, row_len: usize, rng: &mut SplitMix64) {
    for row in x.chunks_mut(row_len) {
        match norm {
            Norm::Linf => row
                .iter_mut()
                .for_each(|v| *v += eps * (2.0 * rng.unit() as f32 - 1.0)),
            Norm::L2 => {
                let direction: Vec<f64> = (0..row.len()).map(|_| gaussian(rng)).collect();
                let length = direction
                    .iter()
                    .map(|d| d * d)
                    .sum::<f64>()
                    .sqrt()
                    .max(f64::MIN_POSITIVE);
                let radius = f64::from(eps) * rng.unit().powf(1.0 / row.len().max(1) as f64);
                row.iter_mut()
                    .zip(&direction)
                    .for_each(|(v, d)| *v += (radius * d / length) as f32);
            }
        }
    }
}

/// Box–Muller.
fn gaussian(rng: &mut SplitMix64) -> f64 {
    let u = rng.unit().max(f64::MIN_POSITIVE);
    let v = rng.unit();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

fn l2(values: &[f32]) -> f32 {
    values.iter().map(|v| v * v).sum::<f32>().sqrt()
}

fn mean_perturbation(clean: &[f32], adversarial: &[f32], row_len: usize) -> (f64, f64) {
    let mut rows = 0usize;
    let (mut linf, mut l2_sum) = (0f64, 0f64);
    for (a, b) in clean.chunks(row_len).zip(adversarial.chunks(row_len)) {
        rows += 1;
        let delta: Vec<f32> = a.iter().zip(b).map(|(a, b)| b - a).collect();
        linf += f64::from(delta.iter().fold(0f32, |m, d| m.max(d.abs())));
        l2_sum += f64::from(l2(&delta));
    }
    let rows = rows.max(1) as f64;
    (linf / rows, l2_sum / rows)
}

fn fraction(count: usize, total: usize) -> f64 {
    if total == 0 {
        0.0
    } else {
        count as f64 / total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linf_step_uses_numpy_sign_and_l2_step_is_unit_length() {
        let mut x = vec![0.5, 0.5, 0.5];
        step(&mut x, &[2.0, 0.0, -0.1], 0.1, Norm::Linf, 3);
        assert_eq!(x, vec![0.6, 0.5, 0.4]);
        let mut x = vec![0.0, 0.0];
        step(&mut x, &[3.0, 4.0], 1.0, Norm::L2, 2);
        assert!((x[0] - 0.6).abs() < 1e-6 && (x[1] - 0.8).abs() < 1e-6);
    }

    #[test]
    fn projection_returns_to_the_ball() {
        let clean = vec![0.0, 0.0];
        let mut x = vec![0.5, -0.05];
        project(&mut x, &clean, 0.1, Norm::Linf, 2);
        assert_eq!(x, vec![0.1, -0.05]);
        let mut x = vec![3.0, 4.0];
        project(&mut x, &clean, 1.0, Norm::L2, 2);
        assert!((l2(&x) - 1.0).abs() < 1e-5);
        let mut inside = vec![0.03, 0.04];
        project(&mut inside, &clean, 1.0, Norm::L2, 2);
        assert!((inside[0] - 0.03).abs() < 1e-6);
    }

    #[test]
    fn square_attack_finds_what_fgsm_finds_without_gradients() {
        use crate::model::ModelOptions;
        use crate::test_support::mlp_bytes;
        // Class 0 when x0 > x1; margins 0.2, 0.6 and −0.3 (already wrong, left alone). At
        // ε = 0.15 only the first can flip.
        let bytes = mlp_bytes(
            2,
            2,
            2,
            &[1.0, 0.0, 0.0, 1.0],
            &[0.0; 2],
            &[1.0, -1.0, -1.0, 1.0],
            &[0.0; 2],
        );
        let model = OnnxClassifier::from_bytes(&bytes, &ModelOptions::default()).unwrap();
        let data = Features {
            rows: 3,
            row_shape: vec![2],
            values: vec![0.6, 0.4, 0.9, 0.3, 0.3, 0.6],
        };
        let config = AttackConfig {
            attack: AttackKind::Square,
            norm: Norm::Linf,
            steps: 1000,
            step_size: None,
            random_start: false,
            clip: Some((0.0, 1.0)),
            seed: 0,
        };
        let (result, adversarials) =
            evaluate_robustness(&model, &data, &[0, 0, 0], &[0.15], &config).unwrap();
        assert_eq!(result.gradient_method, GradientMethod::None);
        assert!(
            (result.epsilons[0].robust_accuracy - 1.0 / 3.0).abs() < 1e-12,
            "{result:?}"
        );
        assert!(
            adversarials[0]
                .iter()
                .zip(&data.values)
                .all(|(a, x)| (a - x).abs() <= 0.15 + 1e-6)
        );
        // Two full passes, then the row that cannot flip is queried all 1000 iterations, the
        // one that flips only until it does, the misclassified one never.
        let queries = result.epsilons[0].mean_queries.unwrap() * 3.0;
        assert!((1006.0..2006.0).contains(&queries), "{queries}");
        let l2 = AttackConfig {
            norm: Norm::L2,
            ..config
        };
        assert!(evaluate_robustness(&model, &data, &[0, 0, 0], &[0.15], &l2).is_err());
        assert_eq!(square_fraction(0, 1000), 0.8);
        assert_eq!(square_fraction(999, 1000), 0.8 / 512.0);
    }

    #[test]
    fn random_start_stays_in_the_ball() {
        let mut rng = SplitMix64::new(7);
        let mut x = vec![0f32; 40];
        random_start(&mut x, 0.2, Norm::Linf, 10, &mut rng);
        assert!(x.iter().all(|v| v.abs() <= 0.2) && x.iter().any(|v| *v != 0.0));
        let mut x = vec![0f32; 40];
        random_start(&mut x, 0.2, Norm::L2, 10, &mut rng);
        assert!(x.chunks(10).all(|row| l2(row) <= 0.2 + 1e-6));
    }
}
