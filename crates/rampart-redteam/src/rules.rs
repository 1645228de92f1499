//! The red-team gates: each fires when a measured figure crosses the user's threshold.

use rampart_core::{Reference, Rule, Severity};

pub static ROBUSTNESS_BELOW_THRESHOLD: Rule = Rule {
    id: "redteam/robustness-below-threshold",
    scanner: "redteam",
    severity: Severity::High,
    title: "Model accuracy under adversarial attack is below the required level",
    description: "An evasion attack (white-box FGSM or PGD, or the gradient-free square attack) \
                  with the given perturbation budget ε \
                  brought the model's accuracy on the evaluation data below the configured \
                  minimum. Inputs changed by at most ε — imperceptibly for images, within \
                  measurement noise for tabular data — make the model misclassify, so an \
                  attacker who can shape inputs can steer its decisions.",
    remediation: "Harden the model (adversarial training with PGD at the target ε, input \
                  preprocessing or certified defences), reduce the exposed interface (no \
                  scores, rate limits), or lower the claim: re-run with the ε your threat model \
                  requires and record the accepted robust accuracy.",
    references: &[
        Reference::Cwe(1039),
        Reference::Atlas("AML.T0015"),
        Reference::Atlas("AML.T0043"),
        Reference::Owasp("ML01:2023"),
        Reference::Url("https://adversarial-robustness-toolbox.readthedocs.io/"),
    ],
};

pub static MEMBERSHIP_LEAKAGE: Rule = Rule {
    id: "redteam/membership-leakage",
    scanner: "redteam",
    severity: Severity::High,
    title: "Model outputs reveal which records were in its training data",
    description: "A threshold attack on the model's loss or confidence tells training records \
                  (members) from unseen records with a ROC AUC above the configured maximum. \
                  Anyone who can query the model can then infer whether a person's record was \
                  used to train it, which is itself sensitive (e.g. a clinical dataset), and the \
                  gap usually comes from overfitting.",
    remediation: "Reduce overfitting (regularisation, early stopping, more data), train with \
                  differential privacy (DP-SGD) where membership is sensitive, and expose labels \
                  or rounded scores rather than full probability vectors.",
    references: &[
        Reference::Cwe(359),
        Reference::Atlas("AML.T0024.000"),
        Reference::Owasp("ML04:2023"),
    ],
};

static FAIRNESS_REFERENCES: &[Reference] = &[
    Reference::Cwe(684),
    Reference::Url("https://fairlearn.org/main/user_guide/assessment/common_fairness_metrics.html"),
];

pub static DEMOGRAPHIC_PARITY: Rule = Rule {
    id: "redteam/demographic-parity",
    scanner: "redteam",
    severity: Severity::High,
    title: "Selection rates differ between groups more than allowed",
    description: "The demographic-parity difference (largest minus smallest per-group rate of \
                  positive decisions, as Fairlearn defines it) exceeds the configured maximum: \
                  the model grants the positive outcome to one group markedly more often than to \
                  another, which can be unlawful discrimination in regulated decisions.",
    remediation: "Investigate the per-group rates in the report; rebalance or reweight the \
                  training data, remove proxies of the sensitive feature, or apply a mitigation \
                  (Fairlearn's ThresholdOptimizer or ExponentiatedGradient) and re-evaluate.",
    references: FAIRNESS_REFERENCES,
};

pub static EQUALIZED_ODDS: Rule = Rule {
    id: "redteam/equalized-odds",
    scanner: "redteam",
    severity: Severity::High,
    title: "Error rates differ between groups more than allowed",
    description: "The equalized-odds difference (the larger of the between-group differences in \
                  true-positive rate and false-positive rate, Fairlearn's worst case) exceeds the \
                  configured maximum: the model is wrong more often, in one direction, for one \
                  group than for another.",
    remediation: "Look at which rate differs (TPR: qualified members of a group are missed; FPR: \
                  a group is wrongly selected), check the groups' sample sizes and label quality, \
                  and mitigate with per-group thresholds (Fairlearn's ThresholdOptimizer with an \
                  equalized-odds constraint) or retraining.",
    references: FAIRNESS_REFERENCES,
};

pub static RULES: &[&Rule] = &[
    &ROBUSTNESS_BELOW_THRESHOLD,
    &MEMBERSHIP_LEAKAGE,
    &DEMOGRAPHIC_PARITY,
    &EQUALIZED_ODDS,
];

#[cfg(test)]
mod tests {
    #[test]
    fn rule_table_is_sound() {
        assert_eq!(
            rampart_core::rule_table_problems(super::RULES, "redteam"),
            Vec::<String>::new()
        );
    }
}
