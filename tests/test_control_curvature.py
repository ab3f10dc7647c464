"""Curvature for every catalogue model: the exact traces (per-sample gradients for MLPs, the
parameter-shift rule for QNNs) equal the dense Hessian's, every catalogue id measures, and the
ratio table pairs runs and keeps collapsed ones apart."""
import dataclasses

import numpy as np
import pytest
import torch

from qml_core.experiments.capacity import variants
from qml_core.experiments import control_curvature
from qml_core.experiments.control_curvature import (ControlCurvatureSpec, circuit_trace, curvature_jobs, hessian_trace,
                                                    loss_function, network_trace, ratio_table, run_control_curvature)
from qml_core.experiments.hessian import exact_hessian
from qml_core.sim.executor import FusedExecutor
from qml_core.specs import MLPModel, QNNModel, SpecError
from qml_core.training.models import build_model
from qml_core.training.train import bce

TINY = dict(n_train_per_class=12, n_val=20)


def tiny_inputs(width: int, n: int = 7, seed: int = 0, complex_: bool = False):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, width, generator=generator, dtype=torch.float64)
    if complex_:
        x = torch.complex(x, torch.randn(n, width, generator=generator, dtype=torch.float64))
    x = x / torch.linalg.vector_norm(x, dim=1, keepdim=True)
    return x, torch.randint(0, 2, (n,), generator=generator)


@pytest.mark.parametrize("spec", [MLPModel(hidden=(5, 3)), MLPModel(hidden=(4,), readout="bounded"), MLPModel(hidden=())])
def test_network_trace_equals_the_dense_hessians(spec):
    x, y = tiny_inputs(6)
    model = build_model(spec, 6, seed=3)
    with torch.no_grad():  # away from the initial point, so that every term of the Hessian counts
        for p in model.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=torch.Generator().manual_seed(1), dtype=p.dtype))
    theta = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    dense = float(torch.trace(exact_hessian(loss_function(model, x, y), theta)))
    assert network_trace(model, x, y) == pytest.approx(dense, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("ansatz, complex_", [("paper", False), ("paper", True), ("cnot-ring", False)])
def test_circuit_trace_equals_the_dense_hessians(ansatz, complex_):
    depth, qubits = 2, 3
    x, y = tiny_inputs(2 ** qubits, complex_=complex_)
    model = build_model(QNNModel(depth=depth, ansatz=ansatz), 2 ** qubits, seed=2)
    with torch.no_grad():
        model.weights.add_(torch.randn(model.weights.shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64))
    shape = model.weights.shape
    executor = FusedExecutor(ansatz, depth, qubits, backward="autograd")
    dense = exact_hessian(lambda t: bce(torch.sigmoid(5.0 * executor(t.view(shape), x)), y), model.weights.detach().reshape(-1))
    assert circuit_trace(model, x, y, chunk=5) == pytest.approx(float(torch.trace(dense)), rel=1e-9)


def test_a_qnn_beyond_the_shift_budget_gets_the_dense_hessian_then_hutchinsons_estimate(monkeypatch):
    """Past ``SHIFT_PARAMS`` angles the Hessian comes from Hessian-vector products through an
    executor autograd differentiates twice: formed whole up to ``EXACT_DIM`` (the same trace),
    estimated beyond (the estimate brackets the exact trace)."""
    x, y = tiny_inputs(8, complex_=True)
    model = build_model(QNNModel(depth=2), 8, seed=2)
    with torch.no_grad():
        model.weights.add_(torch.randn(model.weights.shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64))
    exact = circuit_trace(model, x, y)
    monkeypatch.setattr(control_curvature, "SHIFT_PARAMS", model.weights.numel() - 1)
    dense = hessian_trace(model, x, y, probes=400, seed=0)
    assert dense["method"] == "exact spectrum" and dense["trace"] == pytest.approx(exact, rel=1e-9)
    monkeypatch.setattr(control_curvature, "EXACT_DIM", model.weights.numel() - 1)
    estimate = hessian_trace(model, x, y, probes=400, seed=0)
    assert estimate["method"] == "Hutchinson, 400 probes" and estimate["trace_err"] > 0
    assert abs(estimate["trace"] - exact) < 4 * estimate["trace_err"]


@pytest.mark.parametrize("name", [v.name for v in variants("quick", "mnist", **TINY)] + ["logreg-bounded", "quadratic"])
def test_every_mnist_catalogue_id_measures(name):
    run = variants("quick", "mnist", [name], **TINY)[0].spec
    run = run.replace(training=dataclasses.replace(run.training, epochs=2), alpha=0.3)
    result, cached = run_control_curvature(ControlCurvatureSpec(run=run, n_heldout=10, probes=4))
    assert not cached and np.isfinite(result["trace"]) and result["trace_err"] >= 0
    assert 0 <= result["flip_fit"] <= 1 and result["n_params"] > 0
    assert run_control_curvature(ControlCurvatureSpec(run=run, n_heldout=10, probes=4))[1]  # cached the second time


@pytest.mark.parametrize("name", ["logreg-correlators", "mlp-shadows100", "mlp@probabilities"])
def test_xxz_measured_feature_models_measure(name):
    chosen = variants("quick", "xxz", [name], features="probabilities" if "@" in name else "amplitudes", n_grid=21)
    run = chosen[0].spec
    run = run.replace(training=dataclasses.replace(run.training, epochs=2), alpha=0.3)
    result, _ = run_control_curvature(ControlCurvatureSpec(run=run, n_heldout=5))
    assert np.isfinite(result["trace"]) and result["method"].startswith("exact")


def test_device_runs_are_refused_and_jobs_pair_clean_runs():
    qnn = variants("quick", "mnist", ["qnn"], **TINY)[0]
    with pytest.raises(SpecError, match="exact simulator"):
        ControlCurvatureSpec(run=qnn.spec.replace(model=QNNModel(depth=1, shots=10)))
    jobs = curvature_jobs([qnn], [0.3], runs=2)
    assert [(a, r) for _, a, r, _ in jobs] == [(0.0, 0), (0.0, 1), (0.3, 0), (0.3, 1)]
    assert len({spec.run.seed for *_, spec in jobs}) == 4  # every (α, run) its own seed, as the sweeps


def test_ratio_table_uses_the_median_and_keeps_collapsed_runs_apart():
    row = dict(variant="m", flip_fit=0.1, val_acc=0.9, trace_err=0.0)
    rows = [{**row, "alpha": 0.0, "run": r, "trace": 1.0, "collapsed": False} for r in range(4)]
    rows += [{**row, "alpha": 0.3, "run": r, "trace": t, "collapsed": r == 3} for r, t in enumerate((2.0, 3.0, 400.0, 5.0))]
    (entry,) = ratio_table(rows)
    assert entry["ratio_median"] == 3.0 and entry["collapsed_runs"] == [3] and entry["ratios"] == [2.0, 3.0, 400.0]


def test_complex_states_keep_their_phases():
    """Seen: the QNN's XXZ states (random global phases, complex) were cast to float64, dropping
    their imaginary parts; the measured trace must be the circuit's on the complex states."""
    from qml_core.experiments.control_curvature import heldout_rows
    from qml_core.experiments.experiment import prepare, run_experiment
    from qml_core.experiments.unlearn import load_trained

    spec = variants("quick", "xxz", ["qnn"], gauge="phase", n_grid=21)[0].spec
    spec = spec.replace(training=dataclasses.replace(spec.training, epochs=2), alpha=0.3)
    result, _ = run_control_curvature(ControlCurvatureSpec(run=spec, n_heldout=6))
    prep = prepare(spec, "cpu")
    assert prep.x_val.is_complex()
    rows = torch.as_tensor(heldout_rows(len(prep.y_val), 6, spec.seed))
    model = load_trained(spec, run_experiment(spec)[0]["params"], prep.width, "cpu")
    assert result["trace"] == pytest.approx(circuit_trace(model, prep.x_val[rows], prep.y_val[rows]), rel=1e-9)
