"""The §5 curvature experiment: split, flat losses, trace ratios, collapsed runs."""
import numpy as np
import pytest
import torch

from qml_core.experiments.curvature import CurvatureSpec, flat_loss, stratified_split, trace_ratios
from qml_core.specs import SpecError
from qml_core.training.models import build_model


def test_stratified_split_keeps_class_proportions():
    y = np.repeat([0, 1], [250, 250])
    train, test = stratified_split(y, 0.3, seed=0)
    assert len(test) == 150 and np.sum(y[test] == 1) == 75
    assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == 500
    assert not np.array_equal(test, stratified_split(y, 0.3, seed=1)[1])


@pytest.mark.parametrize("model", ["qnn", "mlp"])
def test_flat_loss_matches_the_model(model):
    spec = CurvatureSpec(model=model)
    g = torch.Generator().manual_seed(0)
    x = torch.nn.functional.normalize(torch.rand(6, 1024, generator=g, dtype=torch.float64), dim=1)
    y = torch.tensor([0, 1, 0, 1, 1, 0])
    net = build_model(spec.model_spec, 1024, seed=0)
    loss_fn, theta = flat_loss(spec, net, x, y)
    expected = torch.nn.functional.binary_cross_entropy(net(x), y.double())
    assert torch.isclose(loss_fn(theta), expected)
    theta = theta.clone().requires_grad_()
    (g1,) = torch.autograd.grad(loss_fn(theta), theta, create_graph=True)
    (hv,) = torch.autograd.grad(g1.sum(), theta)  # second derivatives exist on both models
    assert hv.shape == theta.shape and torch.isfinite(hv).all()


def fake(trace, collapsed=False):
    return {"trace": trace, "collapsed": collapsed}


def test_trace_ratios_pair_seeds_and_report_collapsed_runs():
    results = {("mlp", 0.0, 0): fake(2.0), ("mlp", 0.0, 1): fake(4.0), ("mlp", 0.3, 0): fake(10.0),
               ("mlp", 0.3, 1): fake(0.0, collapsed=True)}
    (row,) = trace_ratios(results)
    assert row["ratios"] == [5.0] and row["ratio_mean"] == 5.0
    assert row["collapsed_seeds"] == [1] and row["collapsed_ratios"] == [0.0]


def test_spec_validation():
    with pytest.raises(SpecError, match="model must be 'qnn' or 'mlp'"):
        CurvatureSpec(model="cnn")
    with pytest.raises(SpecError, match="n_heldout must be an integer in 2..150"):
        CurvatureSpec(n_heldout=500)


def column_hessian(loss_fn, theta):
    """The reference: one double-backward HVP per column, symmetrised (the original route)."""
    from qml_core.experiments.hessian import _hvp_operator

    op = _hvp_operator(loss_fn, theta)
    hessian = torch.stack([op(e) for e in torch.eye(theta.numel(), dtype=theta.dtype)])
    return (hessian + hessian.T) / 2


def test_mlp_subspace_hessian_equals_the_column_by_column_one():
    """The (8, 2) MLP on 5 inputs of width 16 (P = 157): E (Eᵀ H E) Eᵀ = H and the spectrum
    is Eᵀ H E's (dim 8·5 + 29 = 69) plus zeros."""
    from qml_core.experiments.curvature import mlp_subspace
    from qml_core.experiments.hessian import exact_spectrum, subspace_hessian

    spec = CurvatureSpec(model="mlp")
    g = torch.Generator().manual_seed(1)
    x = torch.nn.functional.normalize(torch.rand(5, 16, generator=g, dtype=torch.float64), dim=1)
    y = torch.tensor([0, 1, 1, 0, 1])
    net = build_model(spec.model_spec, 16, seed=0)
    loss_fn, theta = flat_loss(spec, net, x, y)
    theta = theta + 0.3 * torch.randn(theta.shape, generator=g, dtype=torch.float64)  # biases off zero too
    subspace = mlp_subspace(net, x)
    assert (theta.numel(), subspace.dim) == (157, 69)
    basis = torch.func.vmap(subspace.embed)(torch.eye(subspace.dim, dtype=torch.float64)).T  # (P, dim)
    torch.testing.assert_close(basis.T @ basis, torch.eye(subspace.dim, dtype=torch.float64), rtol=0, atol=1e-12)
    reference = column_hessian(loss_fn, theta)
    assert reference.abs().max() > 1e-2
    torch.testing.assert_close(basis @ subspace_hessian(loss_fn, theta, subspace) @ basis.T, reference,
                               rtol=0, atol=1e-10)
    spectrum = exact_spectrum(loss_fn, theta, subspace)
    np.testing.assert_allclose(spectrum["eigenvalues"], np.linalg.eigvalsh(reference.numpy()), rtol=0, atol=1e-10)
    assert spectrum["trace"] == pytest.approx(float(reference.trace()), rel=1e-10)
    with pytest.raises(ValueError, match="first parameter"):
        mlp_subspace(net, x[:, :8])


def qnn_problem(depth=3, n_qubits=4, n=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.nn.functional.normalize(torch.randn(n, 2 ** n_qubits, generator=g, dtype=torch.float64), dim=1)
    y = torch.randint(0, 2, (n,), generator=g)
    theta = (torch.rand(depth * n_qubits * 2, generator=g, dtype=torch.float64) * 2 - 1) * np.pi
    return x, y, theta


def executor_loss(depth, n_qubits, x, y):
    """The QNN held-out loss through the fused executor's autograd path (as ``flat_loss``)."""
    from qml_core.sim.executor import FusedExecutor
    from qml_core.training.train import bce

    executor = FusedExecutor("cnot-ring", depth, n_qubits, backward="autograd")
    return lambda theta: bce(torch.sigmoid(5.0 * executor(theta.view(depth, n_qubits, 2), x)), y)


@pytest.mark.parametrize("depth,n_qubits", [(3, 4), (2, 5)])
def test_qnn_hessian_equals_the_column_by_column_one(depth, n_qubits):
    from qml_core.sim.qnn_hessian import qnn_loss_hessian
    from qml_core.training.train import bce

    x, y, theta = qnn_problem(depth, n_qubits)
    reference = column_hessian(executor_loss(depth, n_qubits, x, y), theta)
    hessian = qnn_loss_hessian("cnot-ring", depth, n_qubits, theta, x, lambda f: bce(torch.sigmoid(5.0 * f), y))
    assert reference.abs().max() > 1e-2
    torch.testing.assert_close(hessian, reference, rtol=0, atol=1e-10)


def test_qnn_hessian_of_the_circuit_without_entanglers():
    """``paper-noent`` (rotations only, one compiled layer) through ``qnn_hessian`` equals
    autograd's Hessian through the fused executor; rows of qubits other than the readout are zero."""
    from qml_core.experiments.hessian import exact_hessian
    from qml_core.sim.executor import FusedExecutor
    from qml_core.sim.qnn_hessian import qnn_loss_hessian
    from qml_core.training.train import bce

    depth, n_qubits = 2, 4
    x, y, _ = qnn_problem(depth, n_qubits)
    theta = torch.linspace(-3.0, 3.0, depth * n_qubits * 3, dtype=torch.float64)
    executor = FusedExecutor("paper-noent", depth, n_qubits, backward="autograd")
    loss = lambda t: bce(torch.sigmoid(5.0 * executor(t.view(depth, n_qubits, 3), x)), y)  # noqa: E731
    reference = exact_hessian(loss, theta)
    hessian = qnn_loss_hessian("paper-noent", depth, n_qubits, theta, x, lambda f: bce(torch.sigmoid(5.0 * f), y))
    assert reference.abs().max() > 1e-2
    torch.testing.assert_close(hessian, reference, rtol=0, atol=1e-10)
    readout = torch.zeros(depth, n_qubits, 3, dtype=torch.bool)
    readout[:, -1] = True
    assert hessian[~readout.ravel()].abs().max() <= 1e-12


def test_qnn_heldout_hessian_and_its_fallback(monkeypatch):
    """The §5 QNN (depth 5, here on 4 qubits): the circuit route equals autograd's, and a
    circuit qnn_hessian cannot do falls back to exact_hessian with the same result."""
    import qml_core.sim.qnn_hessian
    from qml_core.experiments.curvature import heldout_hessian_qnn

    x, y, theta = qnn_problem(depth=5, n_qubits=4, n=5, seed=2)
    spec = CurvatureSpec(model="qnn")
    reference = column_hessian(executor_loss(5, 4, x, y), theta)
    torch.testing.assert_close(heldout_hessian_qnn(spec, x, y, theta), reference, rtol=0, atol=1e-10)

    def unsupported(*args, **kwargs):
        raise NotImplementedError("test")
    monkeypatch.setattr(qml_core.sim.qnn_hessian, "qnn_loss_hessian", unsupported)
    torch.testing.assert_close(heldout_hessian_qnn(spec, x, y, theta), reference, rtol=0, atol=1e-10)


def test_qnn_hessian_rejects_unsupported_circuits():
    from qml_core.sim.qnn_hessian import compile_circuit

    with pytest.raises(NotImplementedError, match="IsingZZ"):
        compile_circuit("paper", 2, 4)
