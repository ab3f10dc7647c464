"""Running specs, plain results and the cache."""
import numpy as np
import pytest

from qml_core.experiments.experiment import HISTORY_FIELDS, run_experiment
from qml_core.specs import Training
from qml_core.store import cache
from qml_core.training.train import TrainingDiverged


def test_result_is_plain_data(tiny_qnn_spec):
    result, was_cached = run_experiment(tiny_qnn_spec)
    assert not was_cached
    assert set(HISTORY_FIELDS) <= set(result["history"])
    assert result["history"]["epoch"] == [1, 2]
    assert 0 <= result["train_acc"] <= 1 and 0 <= result["val_acc"] <= 1
    assert len(result["forget"]) == 12 and result["n_params"] == 40
    assert result["params"]["weights"].shape == (1, 10, 4)
    assert result["seconds"] > 0 and result["code_version"] == cache.code_version()


def test_identical_request_is_served_from_cache(tiny_mlp_spec, monkeypatch):
    first, was_cached = run_experiment(tiny_mlp_spec)
    assert not was_cached
    import qml_core.experiments.experiment as experiment
    monkeypatch.setattr(experiment, "train_experiment", lambda *a, **k: pytest.fail("recomputed"))
    second, was_cached = run_experiment(tiny_mlp_spec)
    assert was_cached and second["val_acc"] == first["val_acc"]
    np.testing.assert_array_equal(second["params"]["net.0.weight"], first["params"]["net.0.weight"])


def test_any_changed_field_misses(tiny_mlp_spec):
    run_experiment(tiny_mlp_spec)
    for changed in (tiny_mlp_spec.replace(seed=4), tiny_mlp_spec.replace(alpha=0.25),
                    tiny_mlp_spec.replace(training=Training(3, 8, 0.02))):
        assert cache.lookup("train", changed) is None
        assert run_experiment(changed)[1] is False


@pytest.mark.parametrize("fixture", ["tiny_qnn_spec", "tiny_mlp_spec"])
def test_a_clean_run_trains_the_same_under_either_attack_so_it_is_computed_once(fixture, request):
    """What sharing one cache entry for α = 0 rests on: the two attacks' clean runs are equal
    bit for bit (trained here uncached), and the second is then served from the first."""
    from qml_core.experiments.experiment import train_experiment

    flips = request.getfixturevalue(fixture).replace(alpha=0.0)
    noise = flips.replace(attack="feature-noise")
    a, b = train_experiment(flips), train_experiment(noise)
    assert a["history"]["train_loss"] == b["history"]["train_loss"] and a["val_acc"] == b["val_acc"]
    for name, value in a["params"].items():
        np.testing.assert_array_equal(value, b["params"][name])
    assert run_experiment(flips)[1] is False and run_experiment(noise)[1] is True


def test_cache_location_follows_the_environment(tiny_mlp_spec, private_cache):
    run_experiment(tiny_mlp_spec)
    assert (private_cache / "cache.db").exists()


def test_a_diverged_run_is_not_stored(tiny_mlp_spec):
    diverging = tiny_mlp_spec.replace(training=Training(3, 8, 10.0), alpha=0.0)
    import qml_core.experiments.experiment as experiment
    original = experiment.bce_per_run
    try:
        experiment.bce_per_run = lambda p, y, *clip: original(p, y, *clip) * float("inf")
        with pytest.raises(TrainingDiverged):
            run_experiment(diverging)
    finally:
        experiment.bce_per_run = original
    assert cache.lookup("train", diverging) is None


def test_clean_run_has_an_empty_forget_set(tiny_mlp_spec):
    clean, _ = run_experiment(tiny_mlp_spec.replace(alpha=0.0))
    assert np.isnan(clean["forget_acc"]) and len(clean["forget"]) == 0 and clean["retain_acc"] == clean["train_acc"]


def test_keras_setup_clips_the_loss_and_changes_adams_epsilon(tiny_mlp_spec):
    """Keras' BCE on clipped probabilities equals torch's inside the clip and gives no gradient
    beyond it; the keras setup trains (stacked) to a different, finite result."""
    import torch

    from qml_core.experiments.experiment import KERAS_EPSILON, bce_per_run, train_experiments
    from qml_core.specs import MLPModel

    p = torch.tensor([[0.3, 0.9, 1e-9]], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([[0, 1, 1]])
    torch.testing.assert_close(bce_per_run(p[:, :2], y[:, :2], KERAS_EPSILON), bce_per_run(p[:, :2], y[:, :2]))
    bce_per_run(p, y, KERAS_EPSILON).sum().backward()
    assert p.grad[0, 2] == 0 and p.grad[0, 0] != 0
    keras = tiny_mlp_spec.replace(model=MLPModel(hidden=(8,), setup="keras"))
    plain, clipped = train_experiments([tiny_mlp_spec])[0], train_experiments([keras, keras.replace(seed=4)])[0]
    assert np.isfinite(clipped["train_loss"])
    assert not np.array_equal(plain["params"]["net.0.weight"], clipped["params"]["net.0.weight"])


def test_qnn_cannot_see_a_global_phase():
    """The same XXZ states with random global phases give the QNN the same outputs."""
    import torch

    from qml_core.data.datasets import load_dataset
    from qml_core.specs import QNNModel, XXZData
    from qml_core.training.models import build_model

    fixed, phased = load_dataset(XXZData(spins=6, n_grid=21)), load_dataset(XXZData(spins=6, n_grid=21, gauge="phase"))
    assert phased.x_train.dtype == np.complex128 and not np.allclose(phased.x_train.real, fixed.x_train)
    model = build_model(QNNModel(depth=2), 64, seed=0)
    with torch.no_grad():
        torch.testing.assert_close(model(torch.as_tensor(phased.x_train)), model(torch.as_tensor(fixed.x_train)))
