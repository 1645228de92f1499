//! Group fairness of binary decisions with Fairlearn's definitions: per-group selection
//! rate, TPR, FPR and error rate; demographic-parity difference (max − min selection rate)
//! and ratio (min / max); equalized-odds difference (the larger of the TPR and FPR
//! differences, Fairlearn's `agg="worst_case"`) and ratio (the smaller of the two ratios);
//! equal-opportunity difference and ratio (TPR only). A rate whose denominator is empty is 0,
//! as scikit-learn's normalised confusion matrix gives.

use serde::Serialize;
use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum FairnessError {
    #[error(
        "labels, predictions and groups must have the same number of rows ({labels}, {predictions}, {groups})"
    )]
    Rows {
        labels: usize,
        predictions: usize,
        groups: usize,
    },
    #[error("no rows to evaluate")]
    Empty,
}

/// The rates of one group (rows whose group value is `group`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupRates {
    pub group: String,
    pub count: usize,
    /// Rows whose true label is the positive class.
    pub positives: usize,
    /// Rows predicted as the positive class.
    pub predicted_positives: usize,
    pub selection_rate: f64,
    pub true_positive_rate: f64,
    pub false_positive_rate: f64,
    pub error_rate: f64,
}

/// A between-groups comparison: `difference` = max − min, `ratio` = min / max (`None` when
/// every group's rate is 0).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Disparity {
    pub difference: f64,
    pub ratio: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FairnessResult {
    pub positive: String,
    pub samples: usize,
    pub groups: Vec<GroupRates>,
    pub demographic_parity: Disparity,
    pub equalized_odds: Disparity,
    pub equal_opportunity: Disparity,
}

/// Computes the group rates and disparities. `positive` is the value of the positive class
/// in both `labels` and `predictions`; any other value is negative. Numbers are compared as
/// [`value_key`] writes them.
pub fn evaluate_fairness(
    labels: &[String],
    predictions: &[String],
    groups: &[String],
    positive: &str,
) -> Result<FairnessResult, FairnessError> {
    if labels.len() != predictions.len() || labels.len() != groups.len() {
        return Err(FairnessError::Rows {
            labels: labels.len(),
            predictions: predictions.len(),
            groups: groups.len(),
        });
    }
    if labels.is_empty() {
        return Err(FairnessError::Empty);
    }
    let mut group_values: Vec<&String> = groups.iter().collect();
    // Numeric codes in numeric order (2 before 10), then names in text order.
    group_values.sort_by(|a, b| match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    });
    group_values.dedup();
    let rates: Vec<GroupRates> = group_values
        .iter()
        .map(|&group| {
            let rows = groups
                .iter()
                .enumerate()
                .filter(|(_, g)| *g == group)
                .map(|(i, _)| i);
            let (mut count, mut positives, mut predicted, mut true_pos, mut false_pos, mut errors) =
                (0usize, 0usize, 0usize, 0usize, 0usize, 0usize);
            for i in rows {
                let actual = labels.get(i).is_some_and(|v| v == positive);
                let decided = predictions.get(i).is_some_and(|v| v == positive);
                count += 1;
                positives += usize::from(actual);
                predicted += usize::from(decided);
                true_pos += usize::from(actual && decided);
                false_pos += usize::from(!actual && decided);
                errors += usize::from(actual != decided);
            }
            GroupRates {
                group: group.clone(),
                count,
                positives,
                predicted_positives: predicted,
                selection_rate: rate(predicted, count),
                true_positive_rate: rate(true_pos, positives),
                false_positive_rate: rate(false_pos, count - positives),
                error_rate: rate(errors, count),
            }
        })
        .collect();
    let between = |rate: fn(&GroupRates) -> f64| {
        let values: Vec<f64> = rates.iter().map(rate).collect();
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        Disparity {
            difference: max - min,
            ratio: (max > 0.0).then(|| min / max),
        }
    };
    let tpr = between(|g| g.true_positive_rate);
    let fpr = between(|g| g.false_positive_rate);
    let worst_ratio = match (tpr.ratio, fpr.ratio) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Ok(FairnessResult {
        positive: positive.to_owned(),
        samples: labels.len(),
        demographic_parity: between(|g| g.selection_rate),
        equalized_odds: Disparity {
            difference: tpr.difference.max(fpr.difference),
            ratio: worst_ratio,
        },
        equal_opportunity: tpr,
        groups: rates,
    })
}

fn rate(count: usize, total: usize) -> f64 {
    if total == 0 {
        0.0
    } else {
        count as f64 / total as f64
    }
}

/// The text form of a numeric label, prediction or group code: `1` rather than `1.0`, so
/// that values read from `.npy` floats, CSV integers and `--positive 1` compare equal.
pub fn value_key(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(values: &[f64]) -> Vec<String> {
        values.iter().map(|&v| value_key(v)).collect()
    }

    fn words(values: &[&str]) -> Vec<String> {
        values.iter().map(|&v| v.to_owned()).collect()
    }

    #[test]
    fn matches_hand_computed_fairlearn_values() {
        // Group a: y=[1,1,0,0] p=[1,0,1,0] → selection 0.5, TPR 0.5, FPR 0.5, error 0.5.
        // Group b: y=[1,0,0,0] p=[1,1,1,0] → selection 0.75, TPR 1, FPR 2/3, error 0.5.
        let y = keys(&[1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
        let p = keys(&[1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0]);
        let g = keys(&[0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
        let result = evaluate_fairness(&y, &p, &g, "1").unwrap();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(result.demographic_parity.difference, 0.25));
        assert!(close(result.demographic_parity.ratio.unwrap(), 0.5 / 0.75));
        assert!(close(result.equal_opportunity.difference, 0.5));
        // max(TPR diff 0.5, FPR diff 1/6)
        assert!(close(result.equalized_odds.difference, 0.5));
        // min(TPR ratio 0.5, FPR ratio 0.75)
        assert!(close(result.equalized_odds.ratio.unwrap(), 0.5));
        assert_eq!(result.groups[1].group, "1");
        assert_eq!(
            (
                result.groups[1].count,
                result.groups[1].positives,
                result.groups[1].predicted_positives
            ),
            (4, 1, 3)
        );
        assert!(close(result.groups[1].false_positive_rate, 2.0 / 3.0));
        assert!(close(result.groups[0].error_rate, 0.5));
    }

    #[test]
    fn positive_class_and_empty_denominators() {
        // Positive class 2; group 7 has no positives, so its TPR is 0.
        let result = evaluate_fairness(
            &keys(&[2.0, 0.0, 0.0]),
            &keys(&[2.0, 2.0, 0.0]),
            &keys(&[10.0, 10.0, 7.0]),
            "2",
        )
        .unwrap();
        assert_eq!(result.groups[0].group, "7");
        assert_eq!(result.groups[0].true_positive_rate, 0.0);
        assert_eq!(result.equal_opportunity.difference, 1.0);
        assert!(evaluate_fairness(&keys(&[1.0]), &keys(&[1.0, 0.0]), &keys(&[0.0]), "1").is_err());
        let none_selected = evaluate_fairness(
            &keys(&[1.0, 0.0]),
            &keys(&[0.0, 0.0]),
            &keys(&[0.0, 1.0]),
            "1",
        )
        .unwrap();
        let named = evaluate_fairness(
            &words(&["yes", "no"]),
            &words(&["yes", "yes"]),
            &words(&["b", "a"]),
            "yes",
        )
        .unwrap();
        assert_eq!(named.groups[0].group, "a");
        assert_eq!(named.groups[0].false_positive_rate, 1.0);
        assert_eq!(none_selected.demographic_parity.ratio, None);
    }
}
