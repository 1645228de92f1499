//! Red-team evaluation of ONNX classifiers: robust accuracy under adversarial attacks (FGSM,
//! PGD, and the query-only square attack), membership-inference leakage (loss/confidence
//! thresholds and shadow models) and group fairness metrics with Fairlearn's definitions, each
//! reported as findings against user thresholds.
//!
//! It never runs anything but the ONNX graph's standard operators: no pickles are loaded, no Python
//! is imported or executed, and no custom-op libraries are linked.

pub mod attack;
pub mod data;
pub mod fairness;
pub mod membership;
pub mod model;
pub mod npy;
pub mod rules;
pub mod shadow;
#[doc(hidden)]
pub mod test_support;

use rampart_core::{Finding, Location};

pub use rules::RULES;

/// `--min-robust-accuracy ACC@EPS`: the accuracy the model must keep under attack at ε.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RobustnessThreshold {
    pub min_accuracy: f64,
    pub eps: f32,
}

impl std::str::FromStr for RobustnessThreshold {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let usage =
            || format!("`{s}` is not ACC@EPS, e.g. `0.8@0.1` (robust accuracy 0.8 at ε 0.1)");
        let (accuracy, eps) = s.split_once('@').ok_or_else(usage)?;
        let min_accuracy: f64 = accuracy.trim().parse().map_err(|_| usage())?;
        let eps: f32 = eps.trim().parse().map_err(|_| usage())?;
        if !((0.0..=1.0).contains(&min_accuracy) && eps.is_finite() && eps >= 0.0) {
            return Err(usage());
        }
        Ok(RobustnessThreshold { min_accuracy, eps })
    }
}

/// Whether two ε values name the same budget (they come from decimal text).
pub fn same_eps(a: f32, b: f32) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

/// One finding per threshold the measured robust accuracy falls below.
pub fn robustness_findings(
    result: &attack::RobustnessResult,
    thresholds: &[RobustnessThreshold],
    location: &Location,
    out: &mut Vec<Finding>,
) {
    for threshold in thresholds {
        let measured = result
            .epsilons
            .iter()
            .find(|e| same_eps(e.eps, threshold.eps));
        if let Some(measured) = measured.filter(|m| m.robust_accuracy < threshold.min_accuracy) {
            out.push(
                Finding::new(
                    &rules::ROBUSTNESS_BELOW_THRESHOLD,
                    location.with_resource(format!("eps={}", threshold.eps)),
                    format!(
                        "robust accuracy {:.4} under {} ({}, ε = {}) is below the required {:.4} (clean accuracy {:.4}, {} samples)",
                        measured.robust_accuracy,
                        result.config.attack,
                        result.config.norm,
                        threshold.eps,
                        threshold.min_accuracy,
                        result.clean_accuracy,
                        result.samples
                    ),
                )
                .with_evidence(format!(
                    "{} {} eps={} robust_accuracy={:.4} required={:.4}",
                    result.config.attack, result.config.norm, threshold.eps, measured.robust_accuracy, threshold.min_accuracy
                )),
            );
        }
    }
}

/// A finding when the most successful membership attack's AUC exceeds `max_auc`.
pub fn membership_findings(
    result: &membership::MembershipResult,
    max_auc: Option<f64>,
    location: &Location,
    out: &mut Vec<Finding>,
) {
    let Some(max_auc) = max_auc else { return };
    let Some(best) = result.attacks.iter().max_by(|a, b| a.auc.total_cmp(&b.auc)) else {
        return;
    };
    if best.auc > max_auc {
        out.push(
            Finding::new(
                &rules::MEMBERSHIP_LEAKAGE,
                location.with_resource(format!("{} attack", attack_name(best.attack))),
                format!(
                    "the {} membership attack reaches ROC AUC {:.4} (allowed at most {max_auc:.4}); TPR {:.4} at 1% FPR, member/non-member accuracy gap {:.4}",
                    attack_name(best.attack), best.auc, best.tpr_at_1pct_fpr, result.accuracy_gap
                ),
            )
            .with_evidence(format!("{} attack auc={:.4} max={max_auc:.4}", best.attack, best.auc)),
        );
    }
}

/// `loss-threshold`, `confidence-threshold`, `shadow-model`.
fn attack_name(attack: &str) -> String {
    match attack {
        "shadow" => "shadow-model".to_owned(),
        threshold => format!("{threshold}-threshold"),
    }
}

/// Findings for a demographic-parity or equalized-odds difference above its maximum.
pub fn fairness_findings(
    result: &fairness::FairnessResult,
    max_demographic_parity_difference: Option<f64>,
    max_equalized_odds_difference: Option<f64>,
    location: &Location,
    out: &mut Vec<Finding>,
) {
    let extremes = |rate: fn(&fairness::GroupRates) -> f64| {
        let low = result
            .groups
            .iter()
            .min_by(|a, b| rate(a).total_cmp(&rate(b)));
        let high = result
            .groups
            .iter()
            .max_by(|a, b| rate(a).total_cmp(&rate(b)));
        match (low, high) {
            (Some(low), Some(high)) => format!(
                "group {} at {:.4}, group {} at {:.4}",
                high.group,
                rate(high),
                low.group,
                rate(low)
            ),
            _ => String::new(),
        }
    };
    if let Some(max) = max_demographic_parity_difference
        && result.demographic_parity.difference > max
    {
        out.push(
            Finding::new(
                &rules::DEMOGRAPHIC_PARITY,
                location.clone(),
                format!(
                    "demographic-parity difference {:.4} exceeds {max:.4}: selection rates {}",
                    result.demographic_parity.difference,
                    extremes(|g| g.selection_rate)
                ),
            )
            .with_evidence(format!(
                "demographic_parity_difference={:.4} max={max:.4}",
                result.demographic_parity.difference
            )),
        );
    }
    if let Some(max) = max_equalized_odds_difference
        && result.equalized_odds.difference > max
    {
        out.push(
            Finding::new(
                &rules::EQUALIZED_ODDS,
                location.clone(),
                format!(
                    "equalized-odds difference {:.4} exceeds {max:.4}: true-positive rates {}; false-positive rates {}",
                    result.equalized_odds.difference,
                    extremes(|g| g.true_positive_rate),
                    extremes(|g| g.false_positive_rate)
                ),
            )
            .with_evidence(format!("equalized_odds_difference={:.4} max={max:.4}", result.equalized_odds.difference)),
        );
    }
}
