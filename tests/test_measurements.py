"""Measured features of quantum states: exact values against dense Pauli matrices, the
shadow and shot estimators' bias and spread against their theory, seeding, storage."""
import dataclasses
import functools

import numpy as np
import pytest

from qml_core.data import measurements
from qml_core.data.measurements import (exact_correlators, exact_probabilities, feature_names, feature_width,
                                        measure, pairs, shadow_snapshots, shot_probabilities, snapshot_estimates)
from qml_core.experiments.explore import equal_groups, xxz_features_view
from qml_core.specs import XXZData

PAULI = {"X": np.array([[0, 1], [1, 0]]), "Y": np.array([[0, -1j], [1j, 0]]), "Z": np.diag([1.0, -1.0])}


def random_state(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    psi = rng.normal(size=2 ** n) + 1j * rng.normal(size=2 ** n)
    return psi / np.linalg.norm(psi)


def dense_correlators(psi: np.ndarray, n: int) -> np.ndarray:
    """⟨ψ|P_iP_j|ψ⟩ from Kronecker products (qubit 0 the leftmost factor), ordered as feature_names."""
    def op(p, i, j):
        return functools.reduce(np.kron, [PAULI[p] if q in (i, j) else np.eye(2) for q in range(n)])
    return np.array([np.vdot(psi, op(p, i, j) @ psi).real for p in "XYZ" for i, j in pairs(n)])


def test_exact_correlators_match_dense_pauli_products():
    states = np.stack([random_state(4, seed) for seed in range(3)])
    expected = np.stack([dense_correlators(psi, 4) for psi in states])
    assert np.allclose(exact_correlators(states), expected, atol=1e-12)
    assert feature_names(4, "correlators")[:2] == ["X0X1", "X0X2"] and feature_width(4, "correlators") == 18


def test_features_ignore_the_global_phase():
    psi = random_state(3, 1)[None]
    turned = psi * np.exp(0.7j)
    for kind in ("probabilities", "correlators"):
        assert np.allclose(measure(turned, kind), measure(psi, kind), atol=1e-12)
    assert np.allclose(exact_probabilities(psi).sum(), 1.0)


def outcome_moments(mean: float) -> tuple[float, float]:
    """Variance and 4th central moment of one snapshot's estimate of a 2-local ⟨P_iP_j⟩ with
    exact value ``mean``: 9·s_i·s_j with probability 1/9 (both qubits in P; s_i·s_j = +1 with
    probability (1 + mean)/2), else 0."""
    values = np.array([0.0, 9.0, -9.0])
    probs = np.array([8 / 9, (1 + mean) / 18, (1 - mean) / 18])
    centred = values - mean
    return float(probs @ centred ** 2), float(probs @ centred ** 4)


def test_shadow_estimator_is_unbiased_with_the_theorys_variance():
    n, m = 3, 40_000
    psi = random_state(n, 2)
    exact = dense_correlators(psi, n)
    single = snapshot_estimates(*shadow_snapshots(psi, m, np.random.default_rng(0)))
    assert set(np.unique(single)) <= {-9.0, 0.0, 9.0}
    for k, mean in enumerate(exact):
        var, mu4 = outcome_moments(mean)
        assert var == pytest.approx(9 - mean ** 2)
        assert abs(single[:, k].mean() - mean) < 4.5 * np.sqrt(var / m)  # 4.5 sigma over 9 estimates
        assert abs(single[:, k].var() - var) < 4.5 * np.sqrt((mu4 - var ** 2) / m)


def test_shadow_error_shrinks_as_one_over_root_m():
    psi = random_state(3, 3)
    exact = dense_correlators(psi, 3)
    rms = {}
    for m in (50, 5000):
        errors = [measure(psi[None], "shadows", m, seed=s)[0, :9] - exact for s in range(20)]
        rms[m] = np.sqrt(np.mean(np.square(errors)))
    theory = {m: np.sqrt(np.mean(9 - exact ** 2) / m) for m in rms}
    for m in rms:  # 180 squared errors: their mean is within 30 % of its expectation
        assert 0.7 < rms[m] / theory[m] < 1.3


def test_shot_probabilities_are_multinomial():
    psi = random_state(2, 4)
    p = exact_probabilities(psi[None])[0]
    shots, repeats = 50, 4000
    rng = np.random.default_rng(1)
    freq = np.stack([shot_probabilities(psi, shots, rng) for _ in range(repeats)])
    assert np.allclose(freq.sum(1), 1.0) and np.allclose(freq * shots, np.round(freq * shots))
    var = p * (1 - p) / shots
    assert np.all(np.abs(freq.mean(0) - p) < 4 * np.sqrt(var / repeats))
    assert np.all(np.abs(freq.var(0) / var - 1) < 4 * np.sqrt(2 / repeats))


def test_shadows_are_seeded_row_by_row():
    states = np.stack([random_state(3, s) for s in range(3)])
    both = measure(states, "shadows", 30, seed=4)
    assert both.shape == (3, feature_width(3, "shadows"))
    assert np.array_equal(both, measure(states, "shadows", 30, seed=4))
    assert np.array_equal(both[:2], measure(states[:2], "shadows", 30, seed=4))
    assert not np.array_equal(both, measure(states, "shadows", 30, seed=5))


def test_shadow_correlators_are_the_shadows_correlators_without_the_histogram():
    states = np.stack([random_state(3, s) for s in range(3)])
    alone = measure(states, "shadow-correlators", 40, seed=2)
    assert alone.shape == (3, feature_width(3, "shadow-correlators")) == (3, 9)
    assert feature_names(3, "shadow-correlators") == feature_names(3, "correlators")
    assert feature_width(12, "shadow-correlators") == 198 and feature_width(12, "shadows") == 198 + 4096
    assert np.array_equal(alone, measure(states, "shadows", 40, seed=2)[:, :9])  # the same snapshots


def test_shadow_correlators_converge_to_the_exact_correlators():
    states = np.stack([random_state(3, s) for s in (5, 6)])
    exact = exact_correlators(states)
    m = 60_000
    estimate = measure(states, "shadow-correlators", m, seed=1)
    bound = 4.5 * np.sqrt((9 - exact ** 2) / m)  # 4.5 sigma of each of the 18 estimates, about 0.055
    assert np.all(np.abs(estimate - exact) < bound)
    assert np.abs(measure(states, "shadow-correlators", 30, seed=1) - exact).max() > bound.max()  # few snapshots miss


@pytest.mark.parametrize("kind,snapshots,message", [
    ("amplitudes", 0, "measured features must be one of"),
    ("shadows", 0, "snapshots must be a positive integer"),
    ("shadow-correlators", 0, "snapshots must be a positive integer for shadow-correlators"),
])
def test_bad_measurement_requests_raise(kind, snapshots, message):
    with pytest.raises(ValueError, match=message):
        measure(random_state(3, 0)[None], kind, snapshots)


def test_dataset_features_are_stored_beside_the_states(tmp_path, monkeypatch):
    monkeypatch.setenv("QML_LAB_DATA", str(tmp_path))
    data = XXZData(spins=6, n_grid=21)
    first, deltas = measurements.xxz_features(data, "shadows", 20)
    path = measurements.features_file(data, "shadows", 20)
    assert path.exists() and path.parent == tmp_path and first.shape == (len(deltas), feature_width(6, "shadows"))
    monkeypatch.setattr(measurements, "measure", lambda *a, **k: pytest.fail("stored features were recomputed"))
    again, _ = measurements.xxz_features(data, "shadows", 20)
    assert np.array_equal(first, again)
    train, val = measurements.split_features(data, "shadows", 20)
    assert len(train) == 10 and len(val) == 10


def test_stored_shadows_give_the_shadow_correlators_without_measuring(tmp_path, monkeypatch):
    monkeypatch.setenv("QML_LAB_DATA", str(tmp_path))
    data = XXZData(spins=6, n_grid=21)
    shadows, _ = measurements.xxz_features(data, "shadows", 20)
    def refuse(*args, **kwargs):
        raise RuntimeError(f"measured {args[1:]}")

    monkeypatch.setattr(measurements, "measure", refuse)
    alone, _ = measurements.xxz_features(data, "shadow-correlators", 20)
    assert np.array_equal(alone, shadows[:, :feature_width(6, "shadow-correlators")])
    assert measurements.features_file(data, "shadow-correlators", 20).exists()
    with pytest.raises(RuntimeError, match="measured .'shadow-correlators', 21"):  # no shadows of 21 are stored
        measurements.xxz_features(data, "shadow-correlators", 21)


def test_feature_noise_rows_are_measured_afresh(tmp_path, monkeypatch):
    monkeypatch.setenv("QML_LAB_DATA", str(tmp_path))
    data = XXZData(spins=6, n_grid=21)
    stored, _ = measurements.split_features(data, "correlators")
    noise = np.stack([random_state(6, s) for s in range(len(stored))])
    replaced = np.array([1, 4])
    train, val = measurements.poisoned_features(data, "correlators", 0, noise, replaced, seed=3)
    assert np.allclose(train[replaced], exact_correlators(noise[replaced]))
    kept = np.setdiff1d(np.arange(len(stored)), replaced)
    assert np.array_equal(train[kept], stored[kept]) and not np.allclose(train[replaced], stored[replaced])
    unchanged, _ = measurements.poisoned_features(data, "correlators", 0, noise, replaced[:0], seed=3)
    assert np.array_equal(unchanged, stored)


def test_measuring_reports_each_state_and_the_rate_prices_it():
    """Shadows of many snapshots ran silently for hours: ``measure`` reports each state done, an
    exception from the callback stops it (a cancel), and the time is priced beforehand from a
    snapshot rate measured here, linear in states and snapshots."""
    seen = []
    measure(np.stack([random_state(3, s) for s in range(3)]), "shadows", 64, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 3), (2, 3), (3, 3)]

    def stop(done, total):
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        measure(random_state(3, 0)[None], "shadows", 64, progress=stop)
    assert measurements.snapshot_rate(6) > measurements.snapshot_rate(10) > 0  # wider states, slower snapshots
    one = measurements.shadow_seconds(10, 6, 1000)
    assert one > 0 and measurements.shadow_seconds(20, 6, 3000) == pytest.approx(6 * one)


TINY_XXZ = ["--dataset", "xxz", "--preset", "quick", "--spins", "6", "--n-grid", "21", "--model", "mlp",
            "--hidden", "4", "--epochs", "2", "--features", "shadows", "--alpha", "0.4"]


def test_a_long_shadow_measurement_is_refused_in_one_line_and_measured_with_a_bar_when_asked(tmp_path, monkeypatch,
                                                                                           capsys):
    """Priced above BIG_SECONDS (a slow machine: 1 snapshot/s), the CLI refuses before any work
    with the time, the rate and both ways on; with --yes it measures the dataset's states with a
    "measure" bar, and the run its own feature-noise states with another."""
    from qml_core.cli.main import main
    from qml_core.experiments.measuring import shadow_work
    from qml_core.specs import preset

    monkeypatch.setenv("QML_LAB_DATA", str(tmp_path))
    monkeypatch.setattr(measurements, "snapshot_rate", lambda n_qubits: 1.0)
    data = XXZData(spins=6, n_grid=21)
    assert main(["train", *TINY_XXZ, "--snapshots", "50", "--attack", "feature-noise"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: measuring 50 classical-shadow snapshots of each of 24 XXZ states would take about 20 min "
                   "here (1 snapshots/s measured on 6 qubits); add --yes to measure them anyway, or use "
                   "--snapshots 20 (under 10 min)"]  # 20 states of the dataset and 4 replaced (α = 0.4 of 10)
    assert not measurements.features_file(data, "shadows", 50).exists()
    assert main(["train", *TINY_XXZ, "--snapshots", "50", "--attack", "feature-noise", "--yes"]) == 0
    err = capsys.readouterr().err
    assert "measure (M = 50): 100%" in err and "20/20" in err and "measure: 100%" in err and "4/4" in err
    spec = preset("quick", "xxz", "mlp", spins=6, n_grid=21)
    label_flip = spec.replace(model=spec.model.__class__(hidden=(4,), features="shadows", snapshots=50), alpha=0.4)
    assert shadow_work([label_flip]) == []  # stored now: nothing left to measure


def test_a_run_reports_its_measuring_before_its_epochs(tmp_path, monkeypatch):
    """In a job (the app) the progress callback hears of the states being measured, as records
    of stage MEASURING, before the per-epoch records."""
    from qml_core.experiments.experiment import train_experiment
    from qml_core.specs import MLPModel, preset

    monkeypatch.setenv("QML_LAB_DATA", str(tmp_path))
    spec = preset("quick", "xxz", "mlp", spins=6, n_grid=21)
    spec = spec.replace(model=MLPModel(hidden=(4,), features="shadows", snapshots=30), alpha=0.4, attack="feature-noise",
                        training=dataclasses.replace(spec.training, epochs=2))
    reports = []
    train_experiment(spec, lambda done, total, record: reports.append((done, total, record.get("stage"))))
    assert reports == [(i, 20, "measuring") for i in range(1, 21)] + [(i, 4, "measuring") for i in range(1, 5)] + \
        [(1, 2, None), (2, 2, None)]


def test_the_features_view_draws_each_distinct_curve_once(tmp_path, monkeypatch):
    """Seen: "the 6 of 45 correlators" were six identical curves (⟨Z0Z1⟩ = ⟨Z1Z2⟩ = … on a ring)."""
    monkeypatch.setenv("QML_LAB_DATA", str(tmp_path))
    assert equal_groups(np.array([[1.0, 2.0, 1.0], [3.0, 4.0, 3.0]])) == [[0, 2], [1]]
    view = xxz_features_view(6, "correlators")
    curves = np.array(view["exact"])
    assert len(curves) == 6 and view["width"] == 45 and view["distinct"] < 45
    assert min(np.abs(a - b).max() for i, a in enumerate(curves) for b in curves[i + 1:]) > 1e-6  # pairwise different
    assert sum(view["equal"]) > 6 and view["equal"][0] == 6  # nearest neighbours: 6 equal by translation
