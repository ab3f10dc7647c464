"""Comparisons with retraining: epochs-to-match, agreement, tables, weight grids."""
import numpy as np
import pytest

from qml_core.experiments.unlearn import UnlearnSpec
from qml_core.experiments.unlearn_summary import (epochs_to_match, poisoned_batches, summary_table, unlearn_rows,
                                                  unlearn_specs, weight_grid, weight_grid_specs)
from qml_core.specs import ExperimentSpec


def fake(val_acc, preds, mia=0.5):
    return {"val_acc": val_acc[-1], "retain_acc": 1.0, "forget_acc_true": 0.9, "forget_acc_poisoned": 0.1,
            "mia_auc": mia, "seconds": 1.0, "trajectory": {"val_acc": val_acc}, "flip_fit": 0.2, "poisoned_val_acc": 0.8,
            "val_pred": np.array(preds), "forget_pred": np.array(preds[:2])}


def test_each_poisoned_training_is_one_job_and_the_stackable_ones_share_a_batch():
    """The bases the unlearning runs start from: each distinct one once (every method of a
    run shares it), MLPs of every run stacked in one batch, MNIST QNNs one by one."""
    specs = [spec for model in ("qnn", "mlp")
             for _, _, spec in unlearn_specs("paper", "mnist", model, ["finetune", "grad-ascent"], 0.3, 3)]
    batches = poisoned_batches(specs)
    bases = [spec for batch in batches for _, (_, spec) in batch]
    assert sorted(bases, key=repr) == sorted({spec.poisoned for spec in specs}, key=repr) and len(bases) == 6
    assert sorted(len(batch) for batch in batches) == [1, 1, 1, 3]
    assert all(spec.model.name == "mlp" for _, (_, spec) in max(batches, key=len))


def test_epochs_to_match_counts_from_the_start():
    assert epochs_to_match([0.5, 0.8, 0.89, 0.95], 0.9) == 2  # within the 0.01 slack
    assert epochs_to_match([0.95], 0.9) == 0
    assert epochs_to_match([0.5, 0.6], 0.9) is None


def test_rows_compare_each_run_with_its_own_retraining():
    results = {("retrain", 0): fake([0.5, 0.9], [1, 0, 1, 1]), ("finetune", 0): fake([0.8, 0.95], [1, 0, 0, 1]),
               ("retrain", 1): fake([0.5, 0.7], [0, 0, 0, 0]), ("finetune", 1): fake([0.6, 0.65], [0, 0, 0, 0])}
    rows = {(r["method"], r["run"]): r for r in unlearn_rows(results)}
    assert rows[("finetune", 0)]["epochs_to_match"] == 1 and rows[("finetune", 0)]["agreement_val"] == 0.75
    assert rows[("finetune", 1)]["epochs_to_match"] == "never" and rows[("finetune", 1)]["agreement_val"] == 1.0
    table = summary_table(list(rows.values()))
    assert [t["method"] for t in table] == ["retrain", "finetune"]
    assert table[1]["val_acc_mean"] == pytest.approx(0.8) and table[1]["val_acc_std"] == pytest.approx(0.15)
    assert table[1]["epochs_to_match"] == [1, "never"]
    assert (table[1]["epochs_to_match_mean"], table[1]["epochs_to_match_std"], table[1]["epochs_to_match_never"]) == (1.0, 0.0, 1)
    assert table[0]["epochs_to_match_never"] == 0 and table[0]["epochs_to_match_mean"] == pytest.approx(1.0)


def test_a_table_of_partial_results_compares_the_runs_whose_retraining_finished():
    """A page shows results as they arrive: run 1's fine-tuning may finish before its retraining
    (the unlearning page raised KeyError here, seen at 9 of 16 runs in the browser)."""
    results = {("retrain", 0): fake([0.5, 0.9], [1, 0, 1, 1]), ("finetune", 0): fake([0.8, 0.95], [1, 0, 0, 1]),
               ("finetune", 1): fake([0.6, 0.65], [0, 0, 0, 0])}
    table = {t["method"]: t for t in summary_table(unlearn_rows(results))}
    assert table["finetune"]["runs"] == 2 and table["finetune"]["val_acc_mean"] == pytest.approx(0.8)
    assert table["finetune"]["epochs_to_match"] == [1] and table["finetune"]["epochs_to_match_never"] == 0
    alone = summary_table(unlearn_rows({("finetune", 1): fake([0.6], [0, 0, 0, 0])}))
    assert "epochs_to_match" not in alone[0] and alone[0]["val_acc_mean"] == pytest.approx(0.6)


def test_weight_grids():
    base = UnlearnSpec(poisoned=ExperimentSpec(), method="scrub")
    specs = weight_grid_specs(base, [0.0, 0.5])
    assert [(s.w_kl, s.w_fo) for s in specs] == [(0.0, 0.0), (0.0, 0.5), (0.5, 0.0), (0.5, 0.5)]
    grid = weight_grid(specs, [{"val_acc": v} for v in (0.1, 0.2, 0.3, 0.4)])
    assert grid["val_acc"] == [[0.1, 0.2], [0.3, 0.4]]
    ga = weight_grid_specs(base.replace(method="grad-ascent"), [0.1, 0.2, 0.3])
    assert weight_grid(ga, [{"val_acc": 1.0}] * 3)["val_acc"] == [[1.0, 1.0, 1.0]]
    with pytest.raises(ValueError, match="weight sweeps exist for scrub and grad-ascent"):
        weight_grid_specs(base.replace(method="finetune"), [0.1])
