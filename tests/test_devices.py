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
