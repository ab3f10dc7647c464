"""Phase-diagram statistics: summaries over runs and the bootstrap critical α."""
import math

import numpy as np

from qml_core.experiments.phase import critical_alpha, crossing, phase_summary
from qml_core.reporting.plots import phase_diagram


def rows_from_curve(model: str, curve: dict[float, list[float]]) -> list[dict]:
    return [dict(dataset="mnist", model=model, attack="label-flip", alpha=a, run=r, val_acc=v, train_acc=1 - a)
            for a, values in curve.items() for r, v in enumerate(values)]


PLATEAU = {0.0: [0.96, 0.94], 0.2: [0.95, 0.93], 0.4: [0.93, 0.91], 0.6: [0.3, 0.2], 0.8: [0.1, 0.06]}


def test_crossing_interpolates_between_grid_points():
    # chance (0.5) is crossed halfway between α = 0.2 (0.9) and 0.4 (0.1), whatever the clean value
    assert math.isclose(crossing(np.array([0.0, 0.2, 0.4]), np.array([1.0, 0.9, 0.1])), 0.3)
    assert math.isclose(crossing(np.array([0.0, 0.2, 0.4]), np.array([0.6, 0.9, 0.1])), 0.3)
    assert math.isnan(crossing(np.array([0.0, 0.5]), np.array([0.9, 0.85])))
    assert math.isnan(crossing(np.array([0.0, 0.5]), np.array([0.5, 0.2])))


def test_summary_gives_mean_and_spread_per_alpha():
    summary = phase_summary(rows_from_curve("qnn", PLATEAU))
    assert [e["alpha"] for e in summary] == sorted(PLATEAU)
    first = summary[0]
    assert first["n"] == 2 and math.isclose(first["val_acc_mean"], 0.95) and math.isclose(first["val_acc_std"], 0.01)
    assert first["val_acc_min"] == 0.94 and first["val_acc_max"] == 0.96


def test_critical_alpha_of_a_plateau_lies_at_its_collapse_with_an_interval_around_it():
    plateau = rows_from_curve("qnn", PLATEAU)
    linear = rows_from_curve("mlp", {a: [1 - 1.2 * a, 1 - 1.2 * a - 0.02] for a in PLATEAU})
    found = {e["model"]: e for e in critical_alpha(plateau + linear, n_boot=200)}
    qnn, mlp = found["qnn"], found["mlp"]
    assert 0.4 < qnn["estimate"] < 0.6 and qnn["low"] <= qnn["estimate"] <= qnn["high"]
    assert qnn["crossed"] == 1.0 and qnn["threshold"] == 0.5
    # the mean curve crosses 0.5 between α = 0.4 (0.92) and 0.6 (0.25); the line 0.99 − 1.2α at 0.408
    assert math.isclose(qnn["estimate"], 0.4 + 0.2 * 0.42 / 0.67) and math.isclose(mlp["estimate"], 0.49 / 1.2)


def test_a_curve_that_never_collapses_has_no_critical_alpha():
    flat = rows_from_curve("qnn", {0.0: [0.95, 0.96], 0.5: [0.94, 0.93]})
    (entry,) = critical_alpha(flat, n_boot=50)
    assert math.isnan(entry["estimate"]) and entry["crossed"] == 0.0 and math.isnan(entry["low"])


def test_phase_diagram_draws_bands_train_lines_and_critical_markers():
    rows = rows_from_curve("qnn", PLATEAU)
    fig = phase_diagram(phase_summary(rows), critical_alpha(rows, n_boot=50))
    names = [t.name for t in fig.data]
    assert "QNN validation (clean labels)" in names and "QNN train (poisoned labels)" in names
    assert any("critical α" in a.text for a in fig.layout.annotations)
