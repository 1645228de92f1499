//! Membership inference by thresholding (Yeom et al. 2018): if the model's loss or
//! confidence separates its training rows (members) from unseen rows, an attacker who can
//! query it learns who was in the training data. Reported as the ROC AUC of the score
//! (Mann–Whitney, ties count one half, equal to scikit-learn's `roc_auc_score`), the TPR at
//! low FPR (Carlini et al. 2022) and the member/non-member accuracy gap.

use serde::Serialize;

use crate::data::Features;
use crate::model::{ModelError, OnnxClassifier, log_softmax_at, max_probability};

/// The false-positive rates at which the true-positive rate is reported.
pub const LOW_FPRS: [f64; 2] = [0.01, 0.001];

/// One threshold attack's success.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AttackScore {
    /// `loss` (score: −cross-entropy of the true label), `confidence` (score: the largest
    /// predicted probability, no label needed) or `shadow` (score: the shadow-model attack
    /// classifier's log-odds of membership, see [`crate::shadow`]).
    pub attack: &'static str,
    pub auc: f64,
    /// Largest TPR at a threshold whose FPR is at most 1 % and 0.1 %.
    pub tpr_at_1pct_fpr: f64,
    pub tpr_at_0_1pct_fpr: f64,
    /// Membership advantage: max over thresholds of TPR − FPR.
    pub advantage: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MembershipResult {
    pub members: usize,
    pub nonmembers: usize,
    pub member_accuracy: f64,
    pub nonmember_accuracy: f64,
    /// Member accuracy minus non-member accuracy (the generalisation gap).
    pub accuracy_gap: f64,
    pub attacks: Vec<AttackScore>,
    /// How the shadow-model attack was built, when shadow data was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shadow: Option<crate::shadow::ShadowSummary>,
}

impl MembershipResult {
    /// The most successful attack's AUC.
    pub fn max_auc(&self) -> f64 {
        self.attacks.iter().map(|a| a.auc).fold(0.5, f64::max)
    }
}

/// Scores both populations with the model and runs both threshold attacks.
pub fn evaluate_membership(
    model: &OnnxClassifier,
    members: (&Features, &[usize]),
    nonmembers: (&Features, &[usize]),
) -> Result<MembershipResult, ModelError> {
    let score =
        |(data, labels): (&Features, &[usize])| -> Result<(Vec<f64>, Vec<f64>, usize), ModelError> {
            let logits = model.logits(&data.values, &data.row_shape)?;
            let mut losses = Vec::with_capacity(labels.len());
            let mut confidences = Vec::with_capacity(labels.len());
            let mut correct = 0;
            for (i, &label) in labels.iter().enumerate() {
                let row = logits.row(i);
                losses.push(log_softmax_at(row, label));
                confidences.push(max_probability(row));
                correct += usize::from(crate::model::argmax(row) == label);
            }
            Ok((losses, confidences, correct))
        };
    let (member_loss, member_confidence, member_correct) = score(members)?;
    let (other_loss, other_confidence, other_correct) = score(nonmembers)?;
    let member_accuracy = ratio(member_correct, members.1.len());
    let nonmember_accuracy = ratio(other_correct, nonmembers.1.len());
    Ok(MembershipResult {
        members: members.1.len(),
        nonmembers: nonmembers.1.len(),
        member_accuracy,
        nonmember_accuracy,
        accuracy_gap: member_accuracy - nonmember_accuracy,
        attacks: vec![
            attack_score("loss", &member_loss, &other_loss),
            attack_score("confidence", &member_confidence, &other_confidence),
        ],
        shadow: None,
    })
}

/// Scores where higher means "more likely a member".
pub fn attack_score(attack: &'static str, members: &[f64], nonmembers: &[f64]) -> AttackScore {
    let roc = roc_curve(members, nonmembers);
    AttackScore {
        attack,
        auc: mann_whitney_auc(members, nonmembers),
        tpr_at_1pct_fpr: tpr_at_fpr(&roc, LOW_FPRS[0]),
        tpr_at_0_1pct_fpr: tpr_at_fpr(&roc, LOW_FPRS[1]),
        advantage: roc.iter().map(|(fpr, tpr)| tpr - fpr).fold(0.0, f64::max),
    }
}

/// P(score of a random member > score of a random non-member) + ½ P(tie), from average ranks.
pub fn mann_whitney_auc(members: &[f64], nonmembers: &[f64]) -> f64 {
    if members.is_empty() || nonmembers.is_empty() {
        return 0.5;
    }
    let mut all: Vec<(f64, bool)> = members
        .iter()
        .map(|&s| (s, true))
        .chain(nonmembers.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut member_rank_sum = 0f64;
    let mut start = 0;
    while start < all.len() {
        let end = start
            + all[start..]
                .iter()
                .take_while(|(s, _)| *s == all[start].0)
                .count();
        // Ranks start+1 ..= end share their average.
        let average_rank = (start + 1 + end) as f64 / 2.0;
        let tied_members = all[start..end].iter().filter(|(_, member)| *member).count();
        member_rank_sum += average_rank * tied_members as f64;
        start = end;
    }
    let m = members.len() as f64;
    let n = nonmembers.len() as f64;
    (member_rank_sum - m * (m + 1.0) / 2.0) / (m * n)
}

/// ROC points `(fpr, tpr)` for thresholds at each distinct score, from (0, 0), as
/// scikit-learn's `roc_curve(drop_intermediate=False)`.
fn roc_curve(members: &[f64], nonmembers: &[f64]) -> Vec<(f64, f64)> {
    let mut all: Vec<(f64, bool)> = members
        .iter()
        .map(|&s| (s, true))
        .chain(nonmembers.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (m, n) = (members.len().max(1) as f64, nonmembers.len().max(1) as f64);
    let mut points = vec![(0.0, 0.0)];
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut i = 0;
    while i < all.len() {
        let score = all[i].0;
        while i < all.len() && all[i].0 == score {
            if all[i].1 {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        points.push((fp as f64 / n, tp as f64 / m));
    }
    points
}

/// The largest TPR among thresholds with FPR ≤ `max_fpr`.
fn tpr_at_fpr(roc: &[(f64, f64)], max_fpr: f64) -> f64 {
    roc.iter()
        .filter(|(fpr, _)| *fpr <= max_fpr + 1e-12)
        .map(|(_, tpr)| *tpr)
        .fold(0.0, f64::max)
}

fn ratio(count: usize, total: usize) -> f64 {
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
    fn auc_counts_ties_as_half() {
        // Pairs: (3>1)(3>2)(3=3) ; (2>1)(2=2)(2<3) ; (1=1)(1<2)(1<3) → 3 + 1.5 wins... by hand:
        // wins 3, ties 3 → (3 + 1.5) / 9 = 0.5.
        assert!((mann_whitney_auc(&[3.0, 2.0, 1.0], &[1.0, 2.0, 3.0]) - 0.5).abs() < 1e-12);
        assert_eq!(mann_whitney_auc(&[2.0, 3.0], &[0.0, 1.0]), 1.0);
        assert_eq!(mann_whitney_auc(&[0.0], &[1.0]), 0.0);
        // sklearn.metrics.roc_auc_score([1,1,1,0,0,0], [.9,.4,.4,.4,.2,.1]) = 0.8888…
        let auc = mann_whitney_auc(&[0.9, 0.4, 0.4], &[0.4, 0.2, 0.1]);
        assert!((auc - 8.0 / 9.0).abs() < 1e-12, "{auc}");
    }

    #[test]
    fn tpr_at_low_fpr_and_advantage() {
        let members: Vec<f64> = (0..100).map(|i| f64::from(i) + 50.0).collect();
        let nonmembers: Vec<f64> = (0..100).map(f64::from).collect();
        let score = attack_score("loss", &members, &nonmembers);
        // Members 50..149, non-members 0..99: thresholds above 99 catch 50 members, no FP.
        assert!((score.tpr_at_1pct_fpr - 0.51).abs() < 1e-12, "{score:?}");
        assert!((score.tpr_at_0_1pct_fpr - 0.50).abs() < 1e-12);
        assert!((score.advantage - 0.5).abs() < 1e-12);
        assert!((score.auc - 0.875).abs() < 1e-12, "{}", score.auc);
    }
}
