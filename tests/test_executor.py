"""The fused executor against PennyLane's default.qubit: values and gradients, float64."""
import numpy as np
import pytest
import torch

from qml_core.circuits import make_qnode, recorded_operations, weight_shape
from qml_core.executor import FusedExecutor, UnsupportedCircuit, make_executor

TOL = 1e-10


def random_inputs(n_qubits: int, batch: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 2 ** n_qubits, generator=g, dtype=torch.float64)
    return x / x.norm(dim=1, keepdim=True)


def fused(backward):
    return lambda ansatz, depth, n_qubits: FusedExecutor(ansatz, depth, n_qubits, backward=backward)


def reference(ansatz, depth, n_qubits):
    return make_executor("default.qubit", ansatz, depth, n_qubits)


@pytest.mark.parametrize("backward", ["adjoint", "autograd"])
@pytest.mark.parametrize("ansatz", ["paper", "cnot-ring"])
@pytest.mark.parametrize("n_qubits,depth", [(2, 1), (3, 2), (4, 3), (5, 1), (6, 2), (7, 3)])
def test_fused_equals_default_qubit(backward, ansatz, n_qubits, depth):
    """Same weights (std 1, far from the small-angle regime), same batch: <Z> and the
    gradient of a weighted sum of outputs agree to 1e-10."""
    shape = weight_shape(ansatz, depth, n_qubits)
    x = random_inputs(n_qubits, batch=6, seed=depth)
    coeff = torch.linspace(-1.0, 2.0, 6, dtype=torch.float64)
    results = []
    for make in (fused(backward), reference):
        w = torch.randn(shape, generator=torch.Generator().manual_seed(7), dtype=torch.float64).requires_grad_()
        z = make(ansatz, depth, n_qubits)(w, x)
        (grad,) = torch.autograd.grad((coeff * z).sum(), w)
        results.append((z.detach(), grad))
    (z_fast, g_fast), (z_ref, g_ref) = results
    assert z_fast.shape == (6,)
    assert torch.max(torch.abs(z_fast - z_ref)) <= TOL
    assert torch.max(torch.abs(g_fast - g_ref)) <= TOL
    assert torch.max(torch.abs(g_ref)) > 1e-3  # the comparison is not between two zeros


@pytest.mark.parametrize("ansatz,depth", [("paper", 6), ("cnot-ring", 5)])
def test_protocol_scale_ten_qubits(ansatz, depth):
    """The MNIST settings themselves (10 qubits; §3 and §5 depths), on a small batch."""
    x = random_inputs(10, batch=3, seed=1)
    shape = weight_shape(ansatz, depth, 10)
    out = []
    for make in (fused("adjoint"), reference):
        w = (0.3 * torch.randn(shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)).requires_grad_()
        z = make(ansatz, depth, 10)(w, x)
        (grad,) = torch.autograd.grad(z.sum(), w)
        out.append((z.detach(), grad))
    assert torch.max(torch.abs(out[0][0] - out[1][0])) <= TOL
    assert torch.max(torch.abs(out[0][1] - out[1][1])) <= TOL


def test_complex_amplitudes_match():
    """Complex inputs (general quantum data) are simulated exactly too."""
    g = torch.Generator().manual_seed(5)
    x = torch.randn(4, 16, generator=g, dtype=torch.complex128)
    x = x / x.norm(dim=1, keepdim=True)
    w = torch.randn(2, 4, 4, generator=g, dtype=torch.float64)
    fast = make_executor("fused", "paper", 2, 4)(w, x)
    ref = make_qnode("default.qubit", 4)(x, w)
    assert torch.max(torch.abs(fast - ref)) <= TOL


def test_autograd_mode_gives_second_derivatives():
    """The plain-torch path is differentiable twice (Hessians); its Hessian-vector product
    matches default.qubit's."""
    x = random_inputs(3, batch=4, seed=3)
    w0 = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    v = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    hvps = []
    for make in (fused("autograd"), reference):
        w = w0.clone().requires_grad_()
        (g,) = torch.autograd.grad(make("paper", 2, 3)(w, x).sum(), w, create_graph=True)
        (hv,) = torch.autograd.grad((g * v).sum(), w)
        hvps.append(hv)
    assert torch.max(torch.abs(hvps[0] - hvps[1])) <= TOL
    w = w0.clone().requires_grad_()
    with pytest.raises(RuntimeError, match="first derivatives only"):  # refuses rather than answer wrong
        torch.autograd.grad(FusedExecutor("paper", 2, 3)(w, x).sum(), w, create_graph=True)


def test_executor_is_compiled_from_the_pennylane_recording():
    """The fused executor's layers come from the recorded PennyLane gates."""
    ops = recorded_operations("paper", depth=2, n_qubits=3)
    assert [name for name, _, _ in ops[:3]] == ["RX", "RY", "RX"]
    assert ("IsingZZ", (2, 0), 11) in ops
    ex = FusedExecutor("paper", 2, 3)
    assert len(ex.layers) == 2 and ex.layers[0].single_names == ("RX", "RY", "RX")


def test_shape_errors_name_the_argument():
    ex = FusedExecutor("paper", 1, 3)
    with pytest.raises(ValueError, match="weights must have shape"):
        ex(torch.zeros(1, 3, 2, dtype=torch.float64), random_inputs(3, 2, 0))
    with pytest.raises(ValueError, match="x must have shape"):
        ex(torch.zeros(1, 3, 4, dtype=torch.float64), random_inputs(2, 2, 0))
    with pytest.raises(UnsupportedCircuit, match="at least 2 qubits"):
        FusedExecutor("paper", 1, 1)
    with pytest.raises(ValueError, match="executor must be one of"):
        make_executor("qiskit", "paper", 1, 2)


def test_identity_circuit_reads_the_last_qubit():
    """Zero weights: the circuit is the identity, so <Z_{n-1}> of |0...01> is -1."""
    x = torch.zeros(1, 8, dtype=torch.float64)
    x[0, 1] = 1.0
    z = FusedExecutor("paper", 2, 3)(torch.zeros(2, 3, 4, dtype=torch.float64), x)
    assert np.isclose(float(z[0]), -1.0)


def test_light_cone_prunes_late_layers_of_the_paper_ansatz():
    """Readout on qubit 9: the cone grows by one qubit each side per layer back, so the last
    layer touches qubit 9 only and the first layer every qubit; the CNOT ring fills at once."""
    paper = FusedExecutor("paper", 6, 10)
    assert [(s.k_a, s.k_c) for s in paper.program] == [(5, 5), (4, 5), (3, 4), (2, 3), (1, 2), (0, 1)]
    ring = FusedExecutor("cnot-ring", 3, 6)
    assert [(s.k_a, s.k_c) for s in ring.program] == [(3, 3)] * 3
