"""Unlearning methods on tiny configurations with fixed seeds."""
import numpy as np
import pytest
import torch

from qml_core.experiments.experiment import prepare, run_experiment
from qml_core.experiments.unlearn import (METHODS, UnlearnSpec, auc, load_trained, membership_auc, run_unlearning,
                                          unlearn_experiment)
from qml_core.specs import ExperimentSpec, MLPModel, SpecError, Training


@pytest.fixture
def memorised(tiny_mlp_spec):
    """A small MLP that fits its poisoned labels (forget accuracy on poisoned labels 1.0)."""
    spec = tiny_mlp_spec.replace(model=MLPModel(hidden=(32,)), training=Training(60, 8, 0.01), alpha=0.5)
    result, _ = run_experiment(spec)
    assert result["forget_acc"] == 1.0
    return spec


def make(spec, method, **kw):
    return UnlearnSpec(poisoned=spec, method=method, epochs=kw.pop("epochs", 15), batch_size=0, lr=0.01, **kw)


@pytest.mark.parametrize("method", [m for m in METHODS if m != "retrain"])
def test_each_approximate_method_lowers_forget_accuracy_on_poisoned_labels(memorised, method):
    result = unlearn_experiment(make(memorised, method, w_fo=0.5))
    start = result["trajectory"]["forget_acc_poisoned"][0]
    assert start == 1.0  # it starts from the poisoned model
    assert result["forget_acc_poisoned"] < start


def test_the_teacher_never_changes(memorised, monkeypatch):
    import qml_core.experiments.unlearn as unlearn

    teachers = []
    original = unlearn.Context

    def spy(*args, **kwargs):
        ctx = original(*args, **kwargs)
        teachers.append((ctx.teacher, {k: v.clone() for k, v in ctx.teacher.state_dict().items()}))
        return ctx
    monkeypatch.setattr(unlearn, "Context", spy)
    unlearn_experiment(make(memorised, "scrub", w_kl=0.5, w_fo=0.5))
    teacher, before = teachers[0]
    assert all(not p.requires_grad for p in teacher.parameters())
    for name, value in teacher.state_dict().items():
        torch.testing.assert_close(value, before[name], rtol=0, atol=0)


def test_retrain_starts_from_a_fresh_initialisation(memorised):
    retrain = unlearn_experiment(make(memorised, "retrain", epochs=1))
    finetune = unlearn_experiment(make(memorised, "finetune", epochs=1))
    poisoned, _ = run_experiment(memorised)
    assert finetune["trajectory"]["val_acc"][0] == poisoned["val_acc"]
    assert retrain["trajectory"]["forget_acc_poisoned"][0] < 1.0  # it does not know the forget set
    assert retrain["trajectory"]["retain_loss"][0] != finetune["trajectory"]["retain_loss"][0]


def test_privacy_score_is_higher_for_a_model_that_saw_the_forget_set(memorised):
    device = torch.device("cpu")
    prep = prepare(memorised, device)
    poisoned, _ = run_experiment(memorised)
    saw_it = load_trained(memorised, poisoned["params"], prep.width, device)
    retrained = unlearn_experiment(make(memorised, "retrain", epochs=40))
    assert membership_auc(saw_it, prep, memorised, device) > retrained["mia_auc"] + 0.1


def test_salun_moves_only_salient_weights(memorised):
    from qml_core.experiments import unlearn

    spec = make(memorised, "salun", saliency=0.05, epochs=3)
    poisoned, _ = run_experiment(memorised)
    captured = {}
    original = unlearn.fit

    def spy(student, *args, **kwargs):
        original(student, *args, **kwargs)
        captured.update({k: v.detach().numpy() for k, v in student.state_dict().items()})
    unlearn.fit = spy
    try:
        unlearn_experiment(spec)
    finally:
        unlearn.fit = original
    moved = sum(int(np.sum(captured[k] != v)) for k, v in poisoned["params"].items())
    total = sum(v.size for v in poisoned["params"].values())
    assert 0 < moved <= int(np.ceil(0.05 * total))


def test_auc_and_validation():
    assert auc(np.array([3.0, 4.0]), np.array([1.0, 2.0])) == 1.0
    assert auc(np.array([1.0]), np.array([1.0])) == 0.5
    with pytest.raises(SpecError, match="method must be one of"):
        UnlearnSpec(poisoned=ExperimentSpec(), method="forget-me")


def test_unlearning_results_are_cached(memorised):
    spec = make(memorised, "finetune", epochs=2)
    first, was_cached = run_unlearning(spec)
    second, again = run_unlearning(spec)
    assert (was_cached, again) == (False, True) and second["val_acc"] == first["val_acc"]


CATALOGUE_TINY = dict(n_train_per_class=12, n_val=20)


@pytest.mark.parametrize("model", ["qnn", "mlp", "logreg", "matched", "mlp-es", "mlp-wd", "mlp-1", "qnn-d1",
                                   "logreg-bounded", "quadratic"])
def test_every_catalogue_id_unlearns_and_says_how_much_there_was(model):
    import dataclasses

    from qml_core.experiments.unlearn import unlearn_preset
    from qml_core.experiments.unlearn_summary import summary_table, unlearn_rows

    results = {}
    for method in ("retrain", "grad-ascent"):
        spec = unlearn_preset("quick", "mnist", model, method, 0.3, **CATALOGUE_TINY)
        spec = spec.replace(epochs=2, poisoned=spec.poisoned.replace(training=dataclasses.replace(spec.poisoned.training, epochs=3)))
        results[(method, 0)] = run_unlearning(spec)[0]
    poisoned, _ = run_experiment(spec.poisoned)
    assert results[("grad-ascent", 0)]["flip_fit"] == pytest.approx(poisoned["forget_acc"])  # the poisoned model's fit
    table = {e["method"]: e for e in summary_table(unlearn_rows(results))}
    retrain, ascent = results[("retrain", 0)], results[("grad-ascent", 0)]
    assert table["grad-ascent"]["gap_start_mean"] == pytest.approx(ascent["poisoned_val_acc"] - retrain["val_acc"])
    assert table["grad-ascent"]["gap_end_mean"] == pytest.approx(ascent["val_acc"] - retrain["val_acc"])
    assert table["retrain"]["gap_end_mean"] == 0.0


def test_an_unknown_model_id_is_one_line():
    from qml_core.experiments.unlearn import unlearn_preset

    with pytest.raises(SpecError, match="not in the catalogue.*logreg"):
        unlearn_preset("quick", "mnist", "logistic", **CATALOGUE_TINY)
