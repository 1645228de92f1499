"""Compares rampart's red-team JSON reports with the reference figures of make_fixtures.py.

Usage: check.py EXPECTED_JSON REPORTS_DIR SAMPLES
Attacks must agree within two test samples of robust accuracy; metrics to 1e-3.

The randomised attacks are compared with stated tolerances instead:
- Square attack (300 iterations, mean over seeds 0, 1, 2 on each side): both run
  Andriushchenko et al.'s random search with ART's p schedule and margin loss on logits, but
  ART starts from ±ε column stripes of the 8×8 image (8 signs) and draws one square position
  per iteration shared by all rows, rampart starts from an independent sign per feature and
  draws a contiguous run of the flattened row per row. Measured here, rampart's search is the
  stronger one (robust accuracy 0.01–0.11 lower, with a third of the queries or fewer), and
  seed-to-seed spread is up to 0.025 on 450 rows. So rampart's mean robust accuracy must not
  exceed ART's by more than SQUARE_TOLERANCE (a gate must not be laxer than the reference
  attack) nor fall below it by more than SQUARE_STRONGER_BY, and it must use no more model
  queries per row than ART (ART asks about every row each iteration and twice more about the
  rows still standing; rampart once about the rows still standing).
- Shadow-model membership attack: rampart trains its shadow MLPs itself (its Adam, its
  initialisation), ART trains scikit-learn's; with the same two attack features and a
  logistic-regression attack model the AUCs must agree within SHADOW_TOLERANCE. ART's default
  features (probability vector and one-hot label, gradient boosting) make a weaker attack on
  these small shadow sets, so against that rampart must only not be weaker (by more than
  SHADOW_TOLERANCE). The overfit target must exceed --max-auc 0.6 (exit 1) and the
  well-regularised one stay below it (exit 0).
"""

import json
import pathlib
import sys

expected = json.loads(pathlib.Path(sys.argv[1]).read_text())
reports = pathlib.Path(sys.argv[2])
samples = int(sys.argv[3])
failures = []
SQUARE_TOLERANCE = 0.05
SQUARE_STRONGER_BY = 0.15
SHADOW_TOLERANCE = 0.03
MAX_AUC = 0.6


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

for model in ["lr", "mlp"]:
    runs = [metrics(f"{model}_square_seed{seed}")["robustness"] for seed in (0, 1, 2)]
    for i, result in enumerate(runs[0]["epsilons"]):
        eps = str(round(result["eps"], 6))
        reference = expected["square"][model][eps]
        accuracy = sum(run["epsilons"][i]["robust_accuracy"] for run in runs) / len(runs)
        queries = sum(run["epsilons"][i]["mean_queries"] for run in runs) / len(runs)
        wanted = reference["robust_accuracy"]
        within = wanted - SQUARE_STRONGER_BY <= accuracy <= wanted + SQUARE_TOLERANCE and queries <= reference["mean_queries"]
        label = f"{model} square eps={eps} mean robust accuracy vs ART"
        print(
            f"{'ok' if within else 'MISMATCH':8} {label}: rampart {accuracy:.6f}, ART {wanted:.6f} "
            f"(allowed [{wanted - SQUARE_STRONGER_BY:.4f}, {wanted + SQUARE_TOLERANCE:.4f}]); "
            f"queries per row rampart {queries:.1f}, ART {reference['mean_queries']:.1f}"
        )
        if not within:
            failures.append(label)

for target in ["overfit", "regularised"]:
    membership = metrics(f"shadow_{target}")["membership"]
    wanted = expected["shadow"][target]
    attacks = {a["attack"]: a for a in membership["attacks"]}
    shadow_auc = attacks["shadow"]["auc"]
    close(f"{target} loss AUC", attacks["loss"]["auc"], wanted["loss_auc"], 1e-3)
    close(f"{target} shadow AUC vs ART (same features)", shadow_auc, wanted["art_auc_same_features"], SHADOW_TOLERANCE)
    print(f"         {target} shadow AUC: rampart {shadow_auc:.4f}, ART defaults {wanted['art_auc_default']:.4f}")
    if shadow_auc < wanted["art_auc_default"] - SHADOW_TOLERANCE:
        failures.append(f"{target}: rampart's shadow attack is weaker than ART's default one")
    exit_code = int((reports / f"shadow_{target}.exit").read_text())
    leaks = target == "overfit"
    if (shadow_auc > MAX_AUC) != leaks or exit_code != int(leaks):
        failures.append(f"{target}: shadow AUC {shadow_auc:.4f}, exit {exit_code}; expected {'above' if leaks else 'below'} {MAX_AUC}")
    print(f"{'ok':8} {target} target: shadow AUC {shadow_auc:.4f} {'>' if leaks else '<'} {MAX_AUC}, exit {exit_code}")

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
