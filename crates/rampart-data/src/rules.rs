//! Rules of `rampart drift` and `rampart data check` (scanner `data`).

use rampart_core::{Reference, Rule, Severity};

static DRIFT_REFERENCES: &[Reference] = &[
    Reference::Cwe(20),
    Reference::Atlas("AML.T0020"),
    Reference::Owasp("ML02:2023"),
    Reference::Url("https://docs.evidentlyai.com/metrics/explainer_drift"),
];

static POISONING_REFERENCES: &[Reference] = &[
    Reference::Cwe(345),
    Reference::Atlas("AML.T0020"),
    Reference::Atlas("AML.T0018"),
    Reference::Owasp("ML02:2023"),
];

pub static DATASET_DRIFT: Rule = Rule {
    id: "data/dataset-drift",
    scanner: "data",
    severity: Severity::High,
    title: "Dataset drift: a large share of columns changed distribution",
    description: "At least the configured share (--drift-share, default 50 %) of the compared columns drifted between the reference and the current data. A model trained or evaluated on the reference no longer sees the data it was built for; a sudden, broad shift in an ingest batch can also be the footprint of a broken pipeline or of injected data.",
    remediation: "Find out why the data changed (upstream source, pipeline bug, seasonality, injected rows) before training on or serving with it; if the change is legitimate, retrain or re-validate the model and refresh the reference profile.",
    references: DRIFT_REFERENCES,
};

pub static COLUMN_DRIFT: Rule = Rule {
    id: "data/column-drift",
    scanner: "data",
    severity: Severity::Medium,
    title: "Column drift: a column's distribution changed",
    description: "The column's distribution in the current data differs from the reference beyond the threshold of its test (Kolmogorov-Smirnov, chi-square or Z p-value below 0.05 for small references; normed Wasserstein or Jensen-Shannon distance of at least 0.1 for large ones). Effect size (PSI) and p-value are reported side by side.",
    remediation: "Compare the histograms of the column in the report, check the upstream source of the column, and decide whether the change is expected; retrain or refresh the reference profile only after it is explained.",
    references: DRIFT_REFERENCES,
};

pub static SCHEMA_CHANGE: Rule = Rule {
    id: "data/schema-change",
    scanner: "data",
    severity: Severity::Medium,
    title: "Schema change between snapshots",
    description: "A column is new or missing, changed type (numeric against categorical), or its share of missing values jumped compared with the reference snapshot. Silent schema changes break feature pipelines and can hide injected or truncated data.",
    remediation: "Confirm the schema change with the owner of the upstream data; fix the pipeline or update the reference snapshot and the model's feature contract deliberately.",
    references: DRIFT_REFERENCES,
};

pub static CONFLICTING_DUPLICATE_LABELS: Rule = Rule {
    id: "data/conflicting-duplicate-labels",
    scanner: "data",
    severity: Severity::High,
    title: "Identical feature rows carry different labels",
    description: "Rows whose feature values are exactly equal have different labels. Label flipping (copying a row and changing its label) is the cheapest training-data poisoning attack; honest duplicates with conflicting labels also mean label noise the model will learn.",
    remediation: "Quarantine the listed rows (--rows-out), check their labels against the source of truth, and trace which ingest batch or labeller produced them before training.",
    references: POISONING_REFERENCES,
};

pub static CLASS_CONDITIONAL_OUTLIER: Rule = Rule {
    id: "data/class-conditional-outlier",
    scanner: "data",
    severity: Severity::Medium,
    title: "Values far outside their class's distribution",
    description: "Rows whose value in a numeric column is an outlier for their own label (median/MAD robust z-score above 3.5), counted per class and column. Targeted poisoning plants points of one class inside another's region, which shows as class-conditional outliers. The finding is raised above info only when there are clearly more such rows than a normal distribution predicts (about 0.047 % of rows), so chance outliers in large data do not alarm.",
    remediation: "Review the listed rows (--rows-out) and their provenance; remove or relabel them if they are not genuine, and check whether they arrived together in one batch or from one source.",
    references: POISONING_REFERENCES,
};

pub static BACKDOOR_TRIGGER_VALUE: Rule = Rule {
    id: "data/backdoor-trigger-value",
    scanner: "data",
    severity: Severity::High,
    title: "An exact value is over-represented and tied to one label",
    description: "One exact value of a column occurs far more often than the column's other values (at least 10 times the share of a typical value, at least 20 rows, at most 10 % of the rows) and at least 95 % of those rows carry the same label, although that label is much rarer overall. This is the signature of a backdoor trigger: a planted pattern that teaches the model to output the attacker's label whenever it appears.",
    remediation: "Quarantine the listed rows (--rows-out), find where they came from, and do not train on them until the value's meaning is explained; test the trained model with and without the value.",
    references: POISONING_REFERENCES,
};

pub static LABEL_SHIFT: Rule = Rule {
    id: "data/label-shift",
    scanner: "data",
    severity: Severity::Medium,
    title: "Label distribution shifted against the previous snapshot",
    description: "The share of each label changed against the previous snapshot (Jensen-Shannon distance of at least 0.1, or a class appeared or vanished). Label flipping and injected rows change class balance; so do real changes that require re-validating the model.",
    remediation: "Compare the per-class shares in the evidence with the previous snapshot and explain the change (new labelling rules, new source, injected or flipped rows) before training.",
    references: POISONING_REFERENCES,
};

pub static SOURCE_SHARE_SHIFT: Rule = Rule {
    id: "data/source-share-shift",
    scanner: "data",
    severity: Severity::Medium,
    title: "The share of one data source changed sharply",
    description: "One source or ingest batch (the --source column) makes up a very different share of the rows than in the previous snapshot (an absolute change of at least 20 percentage points, or a new source with at least 10 % of the rows). Poisoned data usually enters through one compromised source.",
    remediation: "Check the source whose share changed: was it expected to grow, is it authenticated, and do its rows pass the other indicators? Quarantine its rows until explained.",
    references: POISONING_REFERENCES,
};

/// Every rule of this crate.
pub static RULES: &[&Rule] = &[
    &DATASET_DRIFT,
    &COLUMN_DRIFT,
    &SCHEMA_CHANGE,
    &CONFLICTING_DUPLICATE_LABELS,
    &CLASS_CONDITIONAL_OUTLIER,
    &BACKDOOR_TRIGGER_VALUE,
    &LABEL_SHIFT,
    &SOURCE_SHARE_SHIFT,
];

#[cfg(test)]
mod tests {
    #[test]
    fn rule_table_is_sound() {
        assert_eq!(
            rampart_core::rule_table_problems(super::RULES, "data"),
            Vec::<String>::new()
        );
    }
}
