"""The QNN device (sim/device.py): shots, noise and the shot gradients, each tested against
PennyLane (``default.qubit`` with shots and parameter-shift, ``default.mixed`` for noise) or
against its closed form, at fixed seeds, with z-tests at 5 standard errors."""
import dataclasses
import math

import numpy as np
import pennylane as qml
import pytest
import torch

from qml_core.sim.circuits import noisy_qnn_circuit, qnn_circuit, recorded_operations
from qml_core.sim.device import QNNDevice, device_generator, sample_means, sample_trajectories, shift_halves
from qml_core.sim.executor import FusedExecutor
from qml_core.specs import QNNModel, SpecError, preset

Z_MAX = 5.0  # every statistic below is a z-score (or the max over components of one)

PRESET_KEYS = {  # the keys at 58f2776, before the device fields existed
    ("paper", "mnist", "qnn"): "03d4ad23b706c4e9aa0a110aeda04a1cafeccacb59ee73866c472544773a0552",
    ("paper", "xxz", "qnn"): "43c6234b0da602065e76c926e33c12979c144c32d17afc5e41d2eeb983ac10ff",
    ("quick", "mnist", "qnn"): "864bc021067b70c7b590db3e73f4e6cffd6f038df178377bb87059ed3ec64811",
    ("quick", "xxz", "qnn"): "a16c3638fc5732187a9b6e55b46b75d062697643fd639241a65160d0069ec350",
}


@pytest.mark.parametrize("names", list(PRESET_KEYS))
def test_device_fields_at_their_defaults_leave_the_keys_as_they_were(names):
    spec = preset(*names)
    assert spec.key() == PRESET_KEYS[names]
    explicit = dataclasses.replace(spec.model, shots=None, shot_gradient="fast", depolarizing=0, readout_error=0.0,
                                   trajectories=16)
    assert spec.replace(model=explicit).key() == PRESET_KEYS[names]
    assert spec.replace(model=dataclasses.replace(spec.model, shots=1000)).key() != PRESET_KEYS[names]


@pytest.mark.parametrize("changes, message", [
    ({"shots": 0}, "shots must be an integer in 1..10000000"),
    ({"shots": 2.5}, "shots must be an integer"),
    ({"depolarizing": 1.5}, r"depolarizing must be a number in \[0.0, 1.0\]"),
    ({"depolarizing": -0.1}, "depolarizing must be a number"),
    ({"readout_error": 0.6}, r"readout_error must be a number in \[0.0, 0.5\]"),
    ({"depolarizing": 0.01, "trajectories": 0}, "trajectories must be an integer in 1..1024"),
    ({"trajectories": 4}, "trajectories applies only with depolarizing > 0"),
    ({"shot_gradient": "parameter-shift"}, "shot_gradient applies only with shots"),
    ({"shots": 10, "shot_gradient": "spsa"}, "shot_gradient must be one of"),
    ({"shots": 10, "executor": "default.qubit"}, "shots and noise run on the fused executor"),
    ({"depolarizing": 0.01, "ansatz": "cnot-ring"}, "depolarizing is implemented for the paper ansatz"),
])
def test_bad_device_values_are_refused_in_one_line(changes, message):
    with pytest.raises(SpecError, match=message) as info:
        QNNModel(**changes)
    assert "\n" not in str(info.value)


def circuit(n_qubits: int, depth: int, batch: int, seed: int, split="auto"):
    """A fused executor, random weights (O(1) angles) and unit-norm real inputs."""
    gen = torch.Generator().manual_seed(seed)
    ex = FusedExecutor("paper", depth, n_qubits, split=split)
    weights = torch.randn(ex.shape, generator=gen, dtype=torch.float64)
    x = torch.randn(batch, 2 ** n_qubits, generator=gen, dtype=torch.float64)
    return ex, weights, x / x.norm(dim=1, keepdim=True)


def brute_shifts(ex, weights, x, paulis=None):
    """m(θ_k ± π/2) for every parameter, one shifted circuit each: (n_params, batch) twice."""
    n = weights.numel()
    shift = (math.pi / 2 * torch.eye(n, dtype=torch.float64)).reshape(n, *ex.shape)
    many = None if paulis is None else type(paulis)(*(getattr(paulis, f).expand(n, *getattr(paulis, f).shape[1:])
                                                    for f in paulis.__dataclass_fields__))
    sign = 1.0 if paulis is None else float(paulis.readout_sign[0])
    xs = x[None].expand(n, -1, -1)
    return sign * ex(weights[None] + shift, xs, many), sign * ex(weights[None] - shift, xs, many)


@pytest.mark.parametrize("n_qubits, depth, noisy, split", [(4, 2, False, "auto"), (5, 3, False, "auto"),
                                                           (5, 3, True, "auto"), (6, 2, True, "auto"),
                                                           (6, 3, False, 1), (7, 4, True, 2)])
def test_branch_pass_gives_every_shifted_circuit(n_qubits, depth, noisy, split):
    """Also with a Heisenberg tail (``split`` between 0 and depth), as the paper's circuits run."""
    ex, weights, x = circuit(n_qubits, depth, 3, seed=n_qubits, split=split)
    paulis = sample_trajectories(ex, 0.3, 1, torch.Generator().manual_seed(1)) if noisy else None
    a, g = shift_halves(ex, weights, x, paulis)
    plus, minus = brute_shifts(ex, weights, x, paulis)
    torch.testing.assert_close(a, ((plus + minus) / 2).T, rtol=0, atol=1e-12)
    torch.testing.assert_close(g, ((plus - minus) / 2).T, rtol=0, atol=1e-12)
    assert g.abs().max() > 0.05  # not trivially zero


def test_shot_means_are_unbiased_with_the_binomial_variance():
    m = torch.tensor([-0.9, -0.3, 0.0, 0.4, 0.95], dtype=torch.float64)
    draws, shots = 4000, 100
    gen = torch.Generator().manual_seed(0)
    samples = torch.stack([sample_means(m, shots, gen) for _ in range(draws)])
    var = (1 - m ** 2) / shots
    assert ((samples.mean(0) - m).abs() / (var / draws).sqrt()).max() < Z_MAX
    # sample variance of a near-Gaussian mean: SE = var * sqrt(2 / (draws - 1))
    assert ((samples.var(0) - var).abs() / (var * math.sqrt(2 / (draws - 1)))).max() < Z_MAX


def pennylane_tape(x, weights, shots):
    tape = qml.tape.make_qscript(qnn_circuit, shots=shots)(x.numpy(), weights.numpy())
    tape.trainable_params = list(range(1, 1 + weights.numel()))  # the weights, not the input state
    return tape


def test_shot_outputs_match_pennylane_default_qubit():
    ex, weights, x = circuit(4, 2, 1, seed=3)
    shots, draws = 200, 300
    tape = pennylane_tape(x[0], weights, shots)
    theirs = np.array(qml.execute([tape] * draws, qml.device("default.qubit", wires=4, seed=5), diff_method=None))
    spec = QNNModel(depth=2, shots=shots)
    device = QNNDevice(spec, ex, [device_generator(0)])
    with torch.no_grad():
        ours = torch.stack([device(weights[None], x[None])[0, 0] for _ in range(draws)]).numpy()
    m = float(ex(weights, x)[0])
    for sample in (theirs, ours):
        assert abs(sample.mean() - m) / math.sqrt((1 - m * m) / shots / draws) < Z_MAX
    se = math.sqrt(theirs.var() / draws + ours.var() / draws)
    assert abs(theirs.mean() - ours.mean()) / se < Z_MAX
    var = (1 - m * m) / shots
    assert abs(ours.var(ddof=1) - var) / (var * math.sqrt(2 / (draws - 1))) < Z_MAX


def gradient_theory(ex, weights, x, w, shots, contrast=1.0):
    """Mean Σ_i w_i g_ik and variance Σ_i w_i² (2 − m₊² − m₋²) / (4S) of parameter-shift."""
    plus, minus = (contrast * v for v in brute_shifts(ex, weights, x))
    mean = ((plus - minus) / 2) @ w
    var = ((2 - plus ** 2 - minus ** 2) / (4 * shots)) @ (w ** 2)
    return mean, var


def check_moments(draws: torch.Tensor, mean: torch.Tensor, var: torch.Tensor, independent: bool = False) -> None:
    """Per component: the draws' mean within Z_MAX standard errors of ``mean``, and their sample
    variance within Z_MAX standard errors of ``var`` (SE² = (μ₄ − σ⁴)/n, μ₄ from the draws: no
    Gaussian assumption). With ``independent`` components the variances are pooled too
    (Σ ratios / P, its SE from the same per-component SEs): a sharper test of small samples."""
    n = draws.shape[0]
    assert ((draws.mean(0) - mean).abs() / (var / n).sqrt()).max() < Z_MAX
    centred = draws - draws.mean(0)
    se = ((centred ** 4).mean(0) - draws.var(0) ** 2).clamp(min=0).div(n).sqrt()
    se = torch.maximum(se, var * math.sqrt(2 / (n - 1)) / 2)  # a tiny sample's μ₄ can come out near σ⁴
    assert ((draws.var(0) - var).abs() / se).max() < Z_MAX
    if independent:
        pooled = (draws.var(0) / var).mean()
        assert abs(pooled - 1) / ((se / var).square().sum().sqrt() / len(var)) < Z_MAX
    else:  # components may be correlated: the pooled ratio's SE from 20 batches of the draws
        batches = torch.stack([(b - mean).square().mean(0).div(var).mean() for b in draws.chunk(20)])
        assert abs(batches.mean() - 1) / (batches.std() / math.sqrt(len(batches))) < Z_MAX


def test_parameter_shift_reference_matches_pennylane_parameter_shift_with_shots():
    """PennyLane's own param_shift transform on default.qubit with shots (the device reference)
    and ours: both have the theoretical per-component mean and variance, and equal means."""
    ex, weights, x = circuit(4, 2, 1, seed=7)
    shots, draws = 1000, 30
    tapes, post = qml.gradients.param_shift(pennylane_tape(x[0], weights, shots))
    results = qml.execute(tapes * draws, qml.device("default.qubit", wires=4, seed=11), diff_method=None)
    in_tape_order = torch.tensor(np.array([np.ravel(post(results[i * len(tapes):(i + 1) * len(tapes)]))
                                           for i in range(draws)]))
    theirs = torch.empty_like(in_tape_order)  # the tape lists the parameters gate by gate
    theirs[:, [p for _, _, p in recorded_operations("paper", 2, 4)]] = in_tape_order
    w = torch.ones(1, dtype=torch.float64)
    mean, var = gradient_theory(ex, weights, x, w, shots)
    check_moments(theirs, mean, var, independent=True)
    device = QNNDevice(QNNModel(depth=2, shots=shots, shot_gradient="parameter-shift"), ex, [device_generator(1)])
    ours = torch.stack([device.shift_gradient(weights[None], x[None], w[None])[0].flatten() for _ in range(400)])
    check_moments(ours, mean, var, independent=True)
    assert ((theirs.mean(0) - ours.mean(0)).abs() / (theirs.var(0) / draws + ours.var(0) / 400).sqrt()).max() < Z_MAX


@pytest.mark.parametrize("n_qubits, depth, readout_error", [(4, 2, 0.0), (5, 2, 0.1), (6, 1, 0.0)])
def test_fast_gradient_has_the_reference_mean_and_variance(n_qubits, depth, readout_error):
    """The training gradient through ``ShotSample`` (exact adjoint + noise) for a loss Σ w_i m̂_i,
    against the parameter-shift reference's theory and its draws."""
    ex, weights, x = circuit(n_qubits, depth, 5, seed=n_qubits + depth)
    # near-basis inputs and smaller angles: |m±| near 1, so that the a² + g² term weighs
    # (with O(1) angles m± ~ 0.2 and the variance hardly depends on it)
    weights = 0.3 * weights
    x = x + 4 * torch.eye(2 ** n_qubits, dtype=torch.float64)[[0, 1, 2, 4, 8]]
    x = x / x.norm(dim=1, keepdim=True)
    shots, draws = 100, 600
    w = torch.tensor([0.8, -0.3, 0.5, 0.05, -1.0], dtype=torch.float64)
    spec = QNNModel(depth=depth, shots=shots, readout_error=readout_error)
    device = QNNDevice(spec, ex, [device_generator(2)])
    param = weights[None].clone().requires_grad_()
    fast = []
    for _ in range(draws):
        param.grad = None
        (device(param, x[None])[0] @ w).backward()
        fast.append(param.grad[0].flatten().clone())
    mean, var = gradient_theory(ex, weights, x, w, shots, contrast=1 - 2 * readout_error)
    check_moments(torch.stack(fast), mean, var)
    reference = QNNDevice(dataclasses.replace(spec, shot_gradient="parameter-shift"), ex, [device_generator(3)])
    shifted = torch.stack([reference.shift_gradient(weights[None], x[None], w[None])[0].flatten() for _ in range(200)])
    check_moments(shifted, mean, var)


@pytest.mark.parametrize("readout_error", [0.0, 0.2])
def test_shifted_squares_are_the_mean_square_of_the_shifted_circuits(readout_error):
    """Exact without depolarising noise: (m₊² + m₋²)/2 times the readout contrast squared."""
    ex, weights, x = circuit(5, 2, 3, seed=9)
    device = QNNDevice(QNNModel(depth=2, shots=10, readout_error=readout_error), ex, [device_generator(0)])
    plus, minus = brute_shifts(ex, weights, x)
    torch.testing.assert_close(device.shifted_squares(weights, x, 0),
                               ((plus ** 2 + minus ** 2) / 2).T * (1 - 2 * readout_error) ** 2, rtol=0, atol=1e-12)


def mixed_node(n_qubits, x, depolarizing, readout_error):
    device = qml.device("default.mixed", wires=n_qubits)
    return qml.QNode(lambda weights: noisy_qnn_circuit(x, weights, "paper", depolarizing, readout_error),
                     device, interface="torch", diff_method="backprop")


@pytest.mark.parametrize("n_qubits, depth, p, q", [(4, 2, 0.05, 0.0), (4, 1, 0.2, 0.1), (5, 2, 0.02, 0.03)])
def test_trajectories_match_default_mixed_in_value_and_gradient(n_qubits, depth, p, q):
    ex, weights, x = circuit(n_qubits, depth, 1, seed=depth)
    node = mixed_node(n_qubits, x[0], p, q)
    exact_w = weights.clone().requires_grad_()
    value = node(exact_w)
    value.backward()
    k = 3000  # trajectories, each its own run: per-trajectory values and gradients give the standard errors
    spec = QNNModel(depth=depth, depolarizing=p, readout_error=q, trajectories=1)
    device = QNNDevice(spec, ex, [device_generator(r) for r in range(k)])
    many = weights[None].repeat(k, 1, 1, 1).requires_grad_()
    z = device(many, x[None].expand(k, -1, -1))[:, 0]
    z.sum().backward()
    assert abs(float(z.mean()) - value.item()) / float(z.std() / math.sqrt(k)) < Z_MAX
    grads = many.grad.reshape(k, -1)
    se = grads.std(0) / math.sqrt(k)
    live = se > 0
    assert ((grads.mean(0) - exact_w.grad.flatten()).abs()[live] / se[live]).max() < Z_MAX
    assert torch.allclose(grads.mean(0)[~live], exact_w.grad.flatten()[~live], atol=1e-8)  # default.mixed: ~1e-10 off


def test_fast_gradient_with_depolarising_noise_has_the_device_variance():
    """With trajectories the fast estimator's variance comes from products of two trajectories;
    its mean over draws must be the parameter-shift variance of the noisy device, whose shifted
    values default.mixed gives exactly."""
    n_qubits, depth, p, shots = 4, 1, 0.1, 50
    ex, weights, x = circuit(n_qubits, depth, 2, seed=5)
    w = torch.tensor([1.0, -0.6], dtype=torch.float64)
    n = weights.numel()
    shift = (math.pi / 2 * torch.eye(n, dtype=torch.float64)).reshape(n, *ex.shape)
    with torch.no_grad():
        plus, minus = (torch.tensor([[float(mixed_node(n_qubits, xi, p, 0.0)(weights + sign * s)) for xi in x] for s in shift],
                                    dtype=torch.float64) for sign in (1, -1))
    var = ((2 - plus ** 2 - minus ** 2) / (4 * shots)) @ (w ** 2)
    device = QNNDevice(QNNModel(depth=depth, shots=shots, depolarizing=p), ex, [device_generator(4)])
    draws = 1500
    noise = torch.stack([device.fast_noise(weights[None], x[None], w[None])[0].flatten() for _ in range(draws)])
    live = var > 1e-12
    check_moments(noise[:, live], torch.zeros(int(live.sum()), dtype=torch.float64), var[live])


@pytest.mark.parametrize("fields", [{"shots": 50}, {"shots": 50, "depolarizing": 0.05, "trajectories": 3},
                                    {"readout_error": 0.1}])
def test_a_device_run_gives_the_same_numbers_alone_and_stacked(tiny_qnn_spec, fields):
    """Each run draws its shots and trajectories from its own seed's generator."""
    from qml_core.experiments.experiment import train_experiment, train_experiments

    spec = tiny_qnn_spec.replace(model=dataclasses.replace(tiny_qnn_spec.model, **fields))
    alone = train_experiment(spec, device="cpu")
    stacked = train_experiments([spec.replace(seed=8), spec], device="cpu")[1]
    np.testing.assert_allclose(stacked["params"]["weights"], alone["params"]["weights"], rtol=0, atol=1e-10)
    assert stacked["history"]["val_acc"] == alone["history"]["val_acc"]
    again = train_experiment(spec, device="cpu")
    assert again["history"]["val_loss"] == alone["history"]["val_loss"]  # fixed seed, same draws
