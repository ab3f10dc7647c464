"""The QNN's device settings as phase-diagram variants, their summary, the report's device
section and its finding (computed from the numbers, tested with numbers that say the opposite)."""
from qml_core.experiments.devices import DEVICE_SETTINGS, device_summary, device_variants
from qml_core.reporting.captions import device_finding
from qml_core.reporting.figure_style import model_color, model_label
from qml_core.reporting.report import device_section
from qml_core.specs import preset


def rows(values: dict) -> list[dict]:
    """Two runs per (device, α) at the given mean validation accuracy, train accuracy 1 − α."""
    out = []
    for (shots, p, alpha), val in values.items():
        out += [{"shots": shots, "depolarizing": p, "alpha": alpha, "run": run, "val_acc": val + d,
                 "train_acc": 1 - alpha} for run, d in enumerate((-0.01, 0.01))]
    return out


def test_device_variants_are_the_paper_qnn_on_each_setting_with_a_label_and_a_colour():
    chosen = device_variants("quick", "mnist")
    qnn = preset("quick", "mnist", "qnn")
    assert [v.name for v in chosen] == list(DEVICE_SETTINGS)
    for v in chosen:
        assert v.quantum and v.spec.model.depth == qnn.model.depth and v.spec.key() != qnn.key()
        assert model_label(v.name) != v.name and model_color(v.name) != model_color("qnn")
    assert chosen[1].spec.model.shots == 1000 and chosen[4].spec.model.depolarizing == 0.01


def test_the_finding_says_which_devices_keep_the_plateau_and_turns_with_the_numbers():
    kept = rows({("exact", 0.0, 0.3): 0.95, (1000, 0.0, 0.3): 0.94, (100, 0.0, 0.3): 0.70, ("exact", 0.01, 0.3): 0.93})
    summary = device_summary(kept)
    assert [e["device"] for e in summary] == ["exact", "1000 shots", "100 shots", "p = 0.01"]
    text = device_finding(summary)
    assert "exact QNN keeps 0.95" in text
    assert "survives: 1000 shots (0.94), p = 0.01 (0.93)" in text and "does not: 100 shots (0.70)" in text
    opposite = device_finding(device_summary(rows({("exact", 0.0, 0.3): 0.95, (1000, 0.0, 0.3): 0.60,
                                                  (100, 0.0, 0.3): 0.96})))
    assert "survives: 100 shots (0.96)" in opposite and "does not: 1000 shots (0.60)" in opposite
    assert device_finding(device_summary(rows({(1000, 0.0, 0.3): 0.9}))) is None  # no exact QNN to compare with


def test_the_report_section_states_the_finding_above_the_means():
    html = device_section(rows({("exact", 0.0, 0.3): 0.95, (100, 0.0, 0.3): 0.70}))
    assert html.startswith("<h2 id='device'>Does the resilience survive a device?</h2><p>At α = 0.3")
    assert "100 shots" in html and "<table" in html


def test_device_ids_are_what_sweep_rows_say():
    """The phase diagram's device variants carry the model id a sweep row of the same QNN gets,
    and every id reads back as its fields and its words."""
    import dataclasses

    from qml_core.experiments.sweep import device_setting, model_id
    from qml_core.specs import QNNModel

    for v in device_variants("quick", "mnist"):
        assert model_id(v.spec) == v.name and device_setting(v.name) == DEVICE_SETTINGS[v.name][0]
    assert model_id(preset("quick", "mnist", "qnn")) == "qnn" and device_setting("qnn") is None
    odd = QNNModel(shots=50, depolarizing=0.001, readout_error=0.02, trajectories=4, shot_gradient="parameter-shift")
    name = model_id(preset("quick", "mnist", "qnn").replace(model=odd))
    assert name == "qnn-p0.001-shots-50-readout0.02-k4-shift"
    assert dataclasses.replace(QNNModel(), **device_setting(name)) == odd
    assert model_label(name) == "QNN, p = 0.001, 50 shots, readout error 0.02, 4 trajectories, parameter-shift gradient"
    assert model_color(name) not in (model_color("qnn"), model_color("mlp"))


def test_sweep_rows_name_the_device_and_the_phase_diagram_keeps_them_apart(tmp_path):
    """``sweep --shots 100`` wrote model "qnn", indistinguishable from exact runs; its rows now
    say "qnn-shots-100" in the CSV and the JSON, and a phase summary of both sweeps has two curves."""
    import csv
    import json

    from qml_core.cli.main import main
    from qml_core.experiments.phase import critical_alpha, phase_summary

    tiny = ["sweep", "--models", "qnn,mlp", "--depth", "1", "--hidden", "4", "--alphas", "0,0.5", "--runs", "1",
            "--quiet", "--n-train-per-class", "8", "--n-val", "16", "--epochs", "2", "--batch-size", "8"]
    assert main([*tiny, "--out", str(tmp_path / "exact.csv")]) == 0
    assert main([*tiny, "--shots", "100", "--out", str(tmp_path / "shots.json")]) == 0
    exact = list(csv.DictReader((tmp_path / "exact.csv").open()))
    shots = json.loads((tmp_path / "shots.json").read_text())
    assert {r["model"] for r in exact} == {"qnn", "mlp"} and {r["model"] for r in shots} == {"qnn-shots-100", "mlp"}
    rows = [{**r, "alpha": float(r["alpha"]), "val_acc": float(r["val_acc"]), "train_acc": float(r["train_acc"])}
            for r in exact] + shots
    assert sorted({e["model"] for e in phase_summary(rows)}) == ["mlp", "qnn", "qnn-shots-100"]
    assert sorted(e["model"] for e in critical_alpha(rows, n_boot=10)) == ["mlp", "qnn", "qnn-shots-100"]
