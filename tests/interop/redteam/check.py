"""Compares rampart's red-team JSON reports with the reference figures of make_fixtures.py.

Usage: check.py EXPECTED_JSON REPORTS_DIR SAMPLES
Attacks must agree within two test samples of robust accuracy; metrics to 1e-3.
"""

import json
import pathlib
import sys

expected = json.loads(pathlib.Path(sys.argv[1]).read_text())
reports = pathlib.Path(sys.argv[2])
samples = int(sys.argv[3])
failures = []


def metrics(name):
    return json.loads((reports / f"{name}.json").read_text())["metrics"]


def close(label, actual, wanted, tolerance):
    status = "ok" if abs(actual - wanted) <= tolerance + 1e-12 else "MISMATCH"
    print(f"{status:8} {label}: rampart {actual:.6f}, reference {wanted:.6f}")
    if status != "ok":
        failures.append(label)


for model, attacks in [("lr", ["fgsm", "pgd", "fgsm_l2", "pgd_l2"]), ("mlp", ["fgsm", "pgd"])]:
    for attack in attacks:
        robustness = metrics(f"{model}_{attack}")["robustness"]
        reference = "ART" if model == "lr" else "NumPy"
        close(f"{model} clean accuracy", robustness["clean_accuracy"], expected["clean_accuracy"][model], 1e-9)
        for result in robustness["epsilons"]:
            eps = str(round(result["eps"], 6))
            close(
                f"{model} {attack} eps={eps} robust accuracy vs {reference}",
                result["robust_accuracy"],
                expected[model][attack][eps],
                2 / samples,
            )
        if robustness["gradient_method"] != "backprop":
            failures.append(f"{model} {attack}: gradients by {robustness['gradient_method']}")

membership = metrics("membership")["membership"]
attacks = {a["attack"]: a for a in membership["attacks"]}
close("membership loss AUC", attacks["loss"]["auc"], expected["membership"]["loss_auc"], 1e-3)
close("membership confidence AUC", attacks["confidence"]["auc"], expected["membership"]["confidence_auc"], 1e-3)
close("member accuracy", membership["member_accuracy"], expected["membership"]["member_accuracy"], 1e-9)
close("non-member accuracy", membership["nonmember_accuracy"], expected["membership"]["nonmember_accuracy"], 1e-9)

for source in ["fairness_npy", "fairness_csv"]:
    fairness = metrics(source)["fairness"]
    wanted = expected["fairness"]
    close(f"{source} demographic parity difference", fairness["demographic_parity"]["difference"], wanted["demographic_parity_difference"], 1e-3)
    close(f"{source} demographic parity ratio", fairness["demographic_parity"]["ratio"], wanted["demographic_parity_ratio"], 1e-3)
    close(f"{source} equalized odds difference", fairness["equalized_odds"]["difference"], wanted["equalized_odds_difference"], 1e-3)
    close(f"{source} equalized odds ratio", fairness["equalized_odds"]["ratio"], wanted["equalized_odds_ratio"], 1e-3)
    close(f"{source} equal opportunity difference", fairness["equal_opportunity"]["difference"], wanted["equal_opportunity_difference"], 1e-3)

if failures:
    print(f"{len(failures)} red-team figures disagree with the references", file=sys.stderr)
    sys.exit(1)
print("redteam: rampart agrees with ART, NumPy, scikit-learn and Fairlearn")
