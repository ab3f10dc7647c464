"""The lab's verdicts on the paper's three claims: claim 1 with its controls judged from a
capacity table, the verdicts read back from stored results, the lesson's sentences about them,
and the README's claims tables saying what the stored results say (the lesson's last step and
the README cannot disagree)."""
import json
import pathlib
import re

import pytest

from qml_core.experiments.claims import plateau_control_claim
from qml_core.reporting.captions import claims_finding
from qml_core.reporting.measured import RESULTS, claim_table, measured_claims, tally, verdict_grid

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def entry(variant, family, val, clean):
    return {"variant": variant, "family": family, "val_acc_mean": val, "clean_val_acc": clean, "alpha": 0.3, "n_params": 9}


def test_claim_1_with_controls_holds_only_when_no_classical_learner_keeps_the_plateau():
    qnn, mlp, chance = entry("qnn", "QNN", 0.92, 0.96), entry("mlp", "MLP", 0.70, 0.99), entry("mlp-1", "MLP", 0.5, 0.52)
    alone = plateau_control_claim("mnist", [qnn, mlp, chance])
    assert alone.holds and alone.judged  # a model at chance even when clean is no plateau, kept or lost
    assert alone.measured[1] == "classical models that keep it too: none"
    shared = plateau_control_claim("mnist", [qnn, mlp, entry("logreg", "logistic regression", 0.95, 0.98)])
    assert not shared.holds and "logreg 0.950 (clean 0.980)" in shared.measured[1]
    lost = plateau_control_claim("mnist", [entry("qnn", "QNN", 0.80, 0.96), mlp])
    assert not lost.holds and lost.measured[0].endswith("loses its plateau")
    missing = plateau_control_claim("mnist", [mlp])
    assert not missing.judged and not missing.holds


def row(number, how, key, dataset, verdict):
    name = {"mnist": "MNIST 1 vs 9", "xxz": "XXZ ground states"}[dataset]
    return {"number": number, "title": "Amenability to unlearning", "how": how, "key": key, "dataset": dataset,
            "name": name, "statement": "", "verdict": verdict, "measured": []}


def test_each_claim_gets_one_sentence_per_judgement_with_each_dataset_s_verdict():
    stated = "as the paper states it"
    rows = [row(2, stated, "qnn-unlearning-matches", "mnist", "holds"), row(2, stated, "qnn-unlearning-matches", "xxz", "holds"),
            row(2, stated, "mlp-unlearning-lags", "mnist", "holds"),
            row(2, stated, "mlp-unlearning-lags", "xxz", "does not hold"),
            row(2, "with the controls", "unlearning-quantum", "mnist", "does not hold"),
            row(2, "with the controls", "unlearning-quantum", "xxz", "not judged")]
    (text,) = claims_finding(rows)
    assert text.startswith("**Claim 2, amenability to unlearning.** As the paper states it: holds on MNIST 1 vs 9 (both parts)")
    assert "on XXZ ground states 1 of 2 parts hold, not “the MLP's unlearning lags” (does not hold)" in text
    assert text.endswith("With the controls: does not hold on MNIST 1 vs 9; not judged on XXZ ground states.")
    assert tally(rows) == {"holds": 3, "does not hold": 2, "not judged": 1}


def test_the_verdicts_are_none_without_the_lab_s_results(tmp_path):
    assert measured_claims(tmp_path) is None


def stored_claims(dataset):
    return {c["key"]: c for c in json.loads((RESULTS / f"claims_controls_{dataset}.json").read_text())["claims"]}


def test_verdicts_with_the_controls_recomputed_from_the_stored_tables_equal_the_benchmark_s():
    """The lesson recomputes claims 2 and 3 from the tables the benchmark stored: the verdicts
    and the lines they quote are the benchmark's own."""
    rows = claim_table(measured_claims())
    for dataset in ("mnist", "xxz"):
        for key, claim in stored_claims(dataset).items():
            (mine,) = [r for r in rows if (r["key"], r["dataset"]) == (key, dataset)]
            assert mine["measured"] == claim["measured"]
            assert (mine["verdict"] == "holds") == claim["holds"]
            if "judged" in claim:  # stored since Claim.as_dict carries it
                assert (mine["verdict"] == "not judged") == (not claim["judged"])


README_ROWS = {  # the first cell of each README claims row -> the claim's key
    "the MLP memorises flipped labels": "mlp-memorises", "the QNN keeps a plateau": "qnn-plateau",
    "the QNN collapses abruptly": "qnn-collapse", "feature noise hurts less": "feature-vs-label",
    "approximate unlearning matches retraining for the QNN, not the MLP": "qnn-unlearning-matches",
    "poisoning sharpens the MLP's minimum, not the QNN's": "qnn-flat",
    "the QNN keeps its plateau and no classical model that learns the task does": "plateau-quantum",
    "approximate unlearning matches retraining for the QNN and not for classical": "unlearning-quantum",
    "the QNN's trace ratio stays within": "flatness-quantum"}


def readme_verdicts() -> dict[tuple[str, str], str]:
    """(key, dataset) -> the verdict a README claims-table cell opens with."""
    out = {}
    for line in README.read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        key = next((k for prefix, k in README_ROWS.items() if line.startswith("|") and cells[0].startswith(prefix)), None)
        if key is None or len(cells) != 3:
            continue
        for dataset, cell in zip(("mnist", "xxz"), cells[1:]):
            out[(key, dataset)] = re.match(r"(holds|does not hold|not judged|not measured)", cell).group(1)
    return out


def test_the_readme_s_claims_tables_say_what_the_lab_measured():
    said = readme_verdicts()
    assert len(said) == 2 * len(README_ROWS)
    measured = {(r["key"], r["dataset"]): r["verdict"] for r in claim_table(measured_claims())}
    for (key, dataset), verdict in said.items():
        assert verdict == measured[(key, dataset)], (key, dataset)


@pytest.mark.parametrize("dataset", ["MNIST 1 vs 9", "XXZ ground states"])
def test_the_grid_has_every_claim_part_on_both_datasets(dataset):
    grid = verdict_grid(claim_table(measured_claims()))
    assert len(grid) == 13 and all(g[dataset] in ("holds", "does not hold", "not judged", "not measured") for g in grid)
