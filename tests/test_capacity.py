"""The capacity controls (issue 15): the variant catalogue, its new spec options, and the
capacity table equal to the cached single runs it summarises."""
import math

import numpy as np
import pytest
import torch

from qml_core.cli.main import main
from qml_core.experiments.capacity import FAMILIES, INGREDIENT_FAMILY, MEASURED_FAMILY, capacity_finding, matched_hidden, n_params, run_capacity, variants
from qml_core.experiments.experiment import holdout_split, principal_components, run_experiment
from qml_core.experiments.phase import critical_alpha
from qml_core.experiments.sweep import run_seed
from qml_core.specs import MLPModel, SpecError, Training, preset

TINY = dict(n_train_per_class=12, n_val=20)  # quick preset on 24 MNIST samples: every variant in about a second


def test_catalogue_has_every_family_and_the_paper_models():
    catalogue = variants("paper", "mnist")
    names = [v.name for v in catalogue]
    assert len(catalogue) >= 10 and len(set(names)) == len(names)
    assert {v.family for v in catalogue} == set(FAMILIES) - {MEASURED_FAMILY, INGREDIENT_FAMILY}  # measurements: quantum data
    assert {v.family for v in variants("quick", "xxz")} == set(FAMILIES) - {INGREDIENT_FAMILY}  # ingredients: by id
    assert catalogue[names.index("qnn")].spec == preset("paper", "mnist", "qnn")
    assert catalogue[names.index("mlp")].spec == preset("paper", "mnist", "mlp")
    assert sum(v.family == "QNN" for v in catalogue) >= 3 and sum(v.family == "MLP" for v in catalogue) >= 3
    assert n_params(catalogue[names.index("qnn")].spec) == 240  # depth 6 x 10 qubits x 4 angles
    assert n_params(catalogue[names.index("mlp")].spec) == 66_657  # the paper's count
    assert n_params(catalogue[names.index("logreg")].spec) == 1025
    assert n_params(catalogue[names.index("matched")].spec) == 235  # 16 components -> 13 -> 1, closest to 240


def test_quantum_controls_the_entanglement_free_qnn_and_any_depth_asked_by_id():
    """qnn-noent is listed (the paper's QNN, ansatz paper-noent, 180 parameters); qnn-dD for
    D up to 50 is built when asked by id though not listed; D = 51 is refused."""
    listed = [v.name for v in variants("paper", "mnist")]
    assert "qnn-noent" in listed and "qnn-d40" not in listed
    noent = variants("paper", "mnist", ["qnn-noent"])[0]
    assert noent.quantum and noent.spec.model.ansatz == "paper-noent" and noent.spec.model.depth == 6
    assert noent.spec.replace(model=preset("paper", "mnist", "qnn").model) == preset("paper", "mnist", "qnn")
    assert n_params(noent.spec) == 180  # depth 6 x 10 qubits x 3 angles
    deep = variants("paper", "mnist", ["qnn-d40", "qnn-d20", "logreg", "qnn-d20"])
    assert [v.name for v in deep] == ["logreg", "qnn-d40", "qnn-d20"]
    assert [v.spec.model.depth for v in deep[1:]] == [40, 20] and all(v.quantum for v in deep[1:])
    assert n_params(deep[1].spec) == 40 * 10 * 4
    for name in ("qnn-d51", "qnn-d0", "qnn-dx"):
        with pytest.raises(SpecError, match=f"variant '{name}' is not in the catalogue"):
            variants("paper", "mnist", [name])


def test_capacity_cli_passes_a_deeper_qnn_and_the_control_to_the_runs(tmp_path, monkeypatch, private_cache):
    """``capacity --variants qnn-d12,qnn-noent`` reaches ``run_capacity`` with those two models
    (the training itself is the sweep's, tested elsewhere) and writes their rows."""
    import qml_core.experiments.capacity as capacity

    seen = []

    def record(chosen, alpha, *args, **kwargs):
        seen.extend((v.name, v.spec.model.depth, v.spec.model.ansatz) for v in chosen)
        return capacity.capacity_table(chosen, [], alpha), []
    monkeypatch.setattr(capacity, "run_capacity", record)
    out = tmp_path / "c.csv"
    assert main(["capacity", "--variants", "qnn-d12,qnn-noent", "--alphas", "0", "--runs", "1", "--quiet",
                 "--out", str(out)]) == 0
    assert seen == [("qnn-noent", 6, "paper-noent"), ("qnn-d12", 12, "paper")]
    text = out.read_text()
    assert "qnn-d12" in text and "qnn-noent" in text


def test_matched_hidden_is_the_closest_count():
    for target, inputs in [(240, 16), (192, 16), (160, 16), (1000, 10)]:
        h = matched_hidden(target, inputs)
        best = min(range(1, 200), key=lambda k: (abs(k * (inputs + 2) + 1 - target), k))
        assert h == best
    with pytest.raises(SpecError, match="too small"):
        matched_hidden(10, 16)


def test_unknown_variant_names_the_catalogue():
    with pytest.raises(SpecError, match="variant 'mlp-9' is not in the catalogue.*logreg"):
        variants("quick", "mnist", ["logreg", "mlp-9"])


def test_measured_ids_outside_the_default_views_are_built_when_named():
    from qml_core.reporting.figure_style import model_color, model_label

    default = [v.name for v in variants("quick", "xxz", spins=6)]
    assert not any("shadow-correlators" in name or name.endswith("10000") for name in default)  # run count unchanged
    chosen = variants("quick", "xxz", ["logreg-shadow-correlators100", "qnn", "mlp-shadow-correlators1000",
                                        "mlp-shadows10000"], spins=6)
    assert [v.name for v in chosen] == ["qnn", "logreg-shadow-correlators100", "mlp-shadow-correlators1000",
                                        "mlp-shadows10000"]
    models = [v.spec.model for v in chosen[1:]]
    assert [(m.hidden, m.features, m.snapshots) for m in models] == [
        ((), "shadow-correlators", 100), ((64, 16), "shadow-correlators", 1000), ((64, 16), "shadows", 10_000)]
    assert {v.family for v in chosen[1:]} == {MEASURED_FAMILY}
    assert chosen[2].label == "MLP (64, 16) on shadow-correlators, M = 1,000"
    assert model_label("mlp-shadow-correlators1000") == "MLP on shadow-correlators, M = 1,000"
    assert model_label("logreg-shadow-correlators100") == "logistic regression on shadow-correlators, M = 100"
    assert model_color("mlp-shadow-correlators1000") not in (model_color("mlp-shadows1000"), model_color("mlp-correlators"))
    assert n_params(chosen[1].spec) == 3 * 15 + 1  # 3 · 6·5/2 correlators and a bias
    for name, match in [("mlp-shadow-correlators", "not in the catalogue"), ("mlp-correlators100", "not in the catalogue"),
                        ("logreg-shadow-correlators0100", "not in the catalogue"),
                        ("mlp-shadow-correlators100001", r"snapshots must be an integer in 1\.\.100000")]:
        with pytest.raises(SpecError, match=match):
            variants("quick", "xxz", [name], spins=6)
    with pytest.raises(SpecError, match="not in the catalogue"):  # measurements are of quantum data
        variants("quick", "mnist", ["logreg-shadow-correlators100"])


@pytest.mark.parametrize("make, match", [
    (lambda: Training(early_stopping=0.7), "early_stopping must be 0"),
    (lambda: Training(early_stopping=True), "early_stopping must be 0"),
    (lambda: Training(patience=3), "patience applies only"),
    (lambda: Training(early_stopping=0.2, patience=0), "patience must be"),
    (lambda: Training(weight_decay=-0.1), "weight_decay must be"),
    (lambda: MLPModel(pca=-1), "pca must be"),
    (lambda: MLPModel(hidden=(4,) * 7), "hidden must be 0 to 6"),
])
def test_new_options_are_validated_naming_the_field(make, match):
    with pytest.raises(SpecError, match=match):
        make()


def test_new_options_enter_the_key_only_when_set():
    spec = preset("paper", "mnist", "mlp")
    assert "pca" not in spec.spec_dict()["model"] and "weight_decay" not in spec.spec_dict()["training"]
    explicit = spec.replace(model=MLPModel(hidden=(64, 16), pca=0), training=Training(100, 256, 0.005, 0.0, 0.0, 10))
    assert explicit.key() == spec.key()
    assert spec.replace(training=Training(100, 256, 0.005, weight_decay=0.01)).key() != spec.key()
    assert spec.replace(model=MLPModel(hidden=(64, 16), pca=16)).key() != spec.key()


def test_principal_components_and_holdout():
    x = torch.randn(30, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    train, val = principal_components(x, x[:5], 3)
    assert train.shape == (30, 3) and torch.allclose(train[:5], val)
    assert torch.allclose(train.mean(0), torch.zeros(3, dtype=torch.float64), atol=1e-12)
    with pytest.raises(SpecError, match="pca must be at most 8"):
        principal_components(x, x, 9)
    fit, held = holdout_split(50, 0.2, seed=4)
    assert len(held) == 10 and sorted({*fit, *held}) == list(range(50))
    assert np.array_equal(held, holdout_split(50, 0.2, seed=4)[1]) and not np.array_equal(held, holdout_split(50, 0.2, 5)[1])


def test_capacity_rows_equal_the_cached_single_runs():
    chosen = variants("quick", "mnist", **TINY)
    table, rows = run_capacity(chosen, alpha=0.3, alphas=[0.0, 0.3], runs=1)
    assert [e["variant"] for e in table] == [v.name for v in chosen] and len(rows) == 2 * len(chosen)
    for variant, entry in zip(chosen, table):
        result, was_cached = run_experiment(variant.spec.replace(alpha=0.3, seed=run_seed(0, 0.3, 0)))
        assert was_cached, variant.name
        assert entry["val_acc_mean"] == result["val_acc"] and entry["train_acc_mean"] == result["train_acc"]
        assert entry["val_acc_std"] == 0.0 and entry["runs"] == 1
        assert entry["n_params"] == result["n_params"], variant.name
        clean, _ = run_experiment(variant.spec.replace(alpha=0.0, seed=run_seed(0, 0.0, 0)))
        assert entry["clean_val_acc"] == clean["val_acc"]
        expected = critical_alpha([{**r, "model": variant.name} for r in rows if r["variant"] == variant.name])[0]
        assert entry["critical_alpha"] == expected["estimate"] or (
            math.isnan(entry["critical_alpha"]) and math.isnan(expected["estimate"]))
    early = next(r for r in rows if r["variant"] == "mlp-es")
    assert early["cached"] is False


def test_capacity_command_writes_the_table(tmp_path, capsys):
    out = tmp_path / "capacity.csv"
    argv = ["capacity", "--preset", "quick", "--variants", "logreg,qnn-d1", "--alpha", "0.3", "--alphas", "0,0.5",
            "--runs", "1", "--jobs", "1", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    lines = out.read_text().splitlines()
    assert lines[0].startswith("family,variant,n_params,train_acc_mean,train_acc_std,val_acc_mean,val_acc_std,critical_alpha")
    assert len(lines) == 3 and "6 runs (6 computed" in capsys.readouterr().out
    assert main(argv) == 0 and "(0 computed, 6 from the cache)" in capsys.readouterr().out  # resumable: cached
    assert main(["capacity", "--variants", "nope", "--out", str(out)]) == 2


WORDS = {"qnn": "QNN, depth 5 (paper)", "logreg": "logistic regression", "mlp": "MLP (64, 16) (paper)",
         "qnn-d1": "QNN, depth 1"}


def entry(variant, family, n, val, clean=0.95, crit=0.45):
    return dict(variant=variant, family=family, n_params=n, val_acc_mean=val, clean_val_acc=clean, alpha=0.3,
                critical_alpha=crit, label=WORDS[variant])


def test_capacity_finding_follows_the_numbers():
    classical_too = capacity_finding([entry("qnn", "QNN", 240, 0.93), entry("logreg", "logistic regression", 1025, 0.9),
                                      dict(entry("mlp", "MLP", 66657, 0.7, crit=0.3), train_acc_mean=0.99)])
    assert "MLP (64, 16) (paper) fits 99% of the poisoned training labels" in classical_too
    assert "2 of 3 models" in classical_too and "logistic regression with 1,025 parameters" in classical_too
    assert "not specific to the quantum model" in classical_too and "MLP (64, 16) (paper) with 66,657 parameters" in classical_too
    only_quantum = capacity_finding([entry("qnn", "QNN", 240, 0.93), entry("logreg", "logistic regression", 1025, 0.7),
                                     entry("mlp", "MLP", 66657, 0.7)])
    assert "Only the QNN keeps the plateau here: none of the 2 classical models" in only_quantum
    # seen: "none of the 1 classical models does", and internal ids ("qnn-d3", "matched") in the caption
    one = capacity_finding([entry("qnn", "QNN", 240, 0.93), entry("logreg", "logistic regression", 1025, 0.7)])
    assert "Only the QNN keeps the plateau here: the one classical model does not." in one and "logreg" not in one
    assert "not specific" not in only_quantum and "Critical α (mean accuracy crosses 0.5): QNNs 0.45, classical" in only_quantum
    assert capacity_finding([]) == ""
    at_chance = capacity_finding([entry("qnn-d1", "QNN", 40, 0.5, clean=0.48), entry("qnn", "QNN", 240, 0.93)])
    assert "1 of 1 models keeps validation accuracy within 0.10 of its clean value" in at_chance
    assert "2 of 3 models keep validation accuracy within 0.10 of their clean value" in classical_too
    assert "QNN, depth 1 with 40 parameters stays below 0.60 even on clean labels" in at_chance


def test_capacity_plot_tells_quantum_from_classical():
    from qml_core.reporting.plots import capacity_plot

    table = [dict(entry("qnn", "QNN", 240, 0.93), family="QNN", val_acc_std=0.01, runs=3, train_acc_mean=0.7,
                  critical_alpha_low=0.4, critical_alpha_high=0.5),
             dict(entry("logreg", "logistic regression", 1025, 0.9, crit=math.nan), val_acc_std=0.02, runs=3,
                  train_acc_mean=0.7, critical_alpha_low=math.nan, critical_alpha_high=math.nan)]
    fig = capacity_plot(table)
    left = [t for t in fig.data if t.xaxis == "x"]
    # the QNN drawn last, an open ring on top of any classical marker beside it, and first in the legend
    assert [t.name for t in left] == ["logistic regression", "QNN"] and left[1].legendrank < left[0].legendrank
    assert left[1].marker.symbol == "circle-open" and left[1].marker.line.width >= 3
    left = left[::-1]
    assert [t.legendgrouptitle.text for t in left] == ["quantum: QNN", "classical: logistic regression"]
    assert left[0].marker.symbol != left[1].marker.symbol and left[0].marker.color != left[1].marker.color
    assert fig.layout.xaxis.type == "log" and list(left[0].error_y.array) == [0.01]
    # seen: labels beside the markers piled up or were cut off ("N depth 1", "MLP + early st")
    assert all(t.mode == "markers" and not t.text for t in fig.data)
    right = [t for t in fig.data if t.xaxis == "x2"]
    assert [list(t.y) for t in right] == [[0.45]]  # no crossing in the grid: no marker


def test_capacity_rows_read_in_words():
    """Seen: the table's header said "critical alpha" and a cell "None"."""
    from qml_core.reporting.plots import capacity_rows

    rows = capacity_rows([dict(entry("logreg", "logistic regression", 1025, 0.9, crit=math.nan), val_acc_std=0.02,
                               runs=3, train_acc_mean=0.7)])
    assert rows[0]["critical α"] == "not reached" and rows[0]["model"] == "logistic regression"
    assert rows[0]["validation accuracy at α = 0.3"] == "0.900 ± 0.020" and None not in rows[0].values()
    # seen: "clean validation accuracy" off-screen at 1280 px, so "within 0.10 of their clean value" could not be checked
    assert list(rows[0])[:5] == ["model", "parameters", "clean validation accuracy", "validation accuracy at α = 0.3",
                                 "critical α"]


def test_the_qnn_is_compared_with_the_matched_model_in_one_sentence():
    from qml_core.experiments.capacity import qnn_against_matched

    entry = dict(alpha=0.3, critical_alpha=0.43, n_params=240)
    close = [{**entry, "variant": "qnn", "val_acc_mean": 0.858, "val_acc_std": 0.045},
             {**entry, "variant": "matched", "val_acc_mean": 0.840, "val_acc_std": 0.053, "n_params": 237}]
    (sentence,) = qnn_against_matched(close)
    assert "0.858 ± 0.045" in sentence and "0.840 ± 0.053" in sentence and "within one spread" in sentence
    apart = [close[0], {**close[1], "val_acc_mean": 0.6, "val_acc_std": 0.01, "critical_alpha": float("nan")}]
    (sentence,) = qnn_against_matched(apart)
    assert "the QNN is ahead" in sentence and "not reached" in sentence
    assert qnn_against_matched(close[:1]) == []
