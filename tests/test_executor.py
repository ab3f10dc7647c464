"""The fused executor against PennyLane's default.qubit: values and gradients, float64."""
import numpy as np
import pytest
import torch

from qml_core.sim.circuits import make_qnode, recorded_operations, weight_shape
from qml_core.sim.executor import FusedExecutor, UnsupportedCircuit, make_executor
from qml_core.sim.statevector import Expectation, expectation

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
@pytest.mark.parametrize("ansatz", ["paper", "cnot-ring", "paper-noent"])
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


@pytest.mark.parametrize("split", [0, 1, 2])
def test_complex_amplitudes_in_single_precision_at_every_split(split):
    """complex64 states from complex inputs, whichever part of the circuit runs as an
    observable (split 0 once failed on a complex128 input against a complex64 observable)."""
    g = torch.Generator().manual_seed(6)
    x = torch.randn(2, 3, 16, generator=g, dtype=torch.complex128)
    x = x / x.norm(dim=2, keepdim=True)
    w = torch.randn(2, 2, 4, 4, generator=g, dtype=torch.float64)
    fast = FusedExecutor("paper", 2, 4, dtype=torch.float32, split=split)(w, x)
    ref = torch.stack([make_qnode("default.qubit", 4)(x[r], w[r]) for r in range(2)])
    assert fast.dtype == torch.float64 and torch.max(torch.abs(fast - ref)) <= 1e-5


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
    for split in ("layered", "observable"):  # refuses rather than answer wrong
        with pytest.raises(RuntimeError, match="first derivatives only"):
            torch.autograd.grad(FusedExecutor("paper", 2, 3, split=split)(w, x).sum(), w, create_graph=True)


@pytest.mark.parametrize("dtype", [torch.complex128, torch.float64])
def test_hand_written_tail_equals_autograd_of_the_plain_one(dtype):
    """Expectation (the Heisenberg tail's reverse pass written by hand) gives the value and
    the gradients of O and of x that autograd gives through ``expectation``, and x's gradient
    comes back in x's own strides (a permuted view of the state), so no copy follows it."""
    g = torch.Generator().manual_seed(4)
    a = torch.randn(2, 8, 8, generator=g, dtype=torch.complex128)
    o0 = a + a.mH  # Hermitian
    state = torch.randn(2, 2, 3, 5, 4, generator=g, dtype=dtype)  # (runs, a, batch, c)
    coeff = torch.randn(2, 5, generator=g, dtype=torch.float64)
    results = []
    for tail in (expectation, Expectation.apply):
        o, s = o0.clone().requires_grad_(), state.clone().requires_grad_()
        x = s.transpose(1, 2).reshape(2, 5, 2, 1, 3, 1, 4).permute(0, 1, 3, 4, 5, 2, 6)  # cone: 1 qubit of A, 2 of C
        z = tail(o, x)
        grad_o, grad_x = torch.autograd.grad((coeff * z).sum(), (o, x))
        results.append((z.detach(), grad_o, grad_x))
    (z1, go1, gx1), (z2, go2, gx2) = results
    assert torch.allclose(z1, z2, atol=1e-12) and torch.allclose(go1, go2, atol=1e-12)
    assert torch.allclose(gx1, gx2, atol=1e-12)
    assert gx2.stride() == x.stride()


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


@pytest.mark.parametrize("n_qubits,depth", [(6, 2), (8, 3), (12, 2)])
def test_observable_mode_equals_default_qubit(n_qubits, depth):
    """The Heisenberg picture on the first layer's light cone gives the same values and
    gradients as default.qubit, for real and complex inputs; so does the layered one."""
    shape = weight_shape("paper", depth, n_qubits)
    g = torch.Generator().manual_seed(n_qubits)
    real = random_inputs(n_qubits, batch=4, seed=depth)
    complex_x = torch.randn(4, 2 ** n_qubits, generator=g, dtype=torch.complex128)
    for x in (real, complex_x / complex_x.norm(dim=1, keepdim=True)):
        out = []
        for make in (lambda *a: FusedExecutor(*a, split="observable"), lambda *a: FusedExecutor(*a, split="layered"),
                     reference):
            w = torch.randn(shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64).requires_grad_()
            z = make("paper", depth, n_qubits)(w, x)
            (grad,) = torch.autograd.grad((z * torch.arange(1.0, 5.0, dtype=torch.float64)).sum(), w)
            out.append((z.detach(), grad))
        for z, grad in out[:2]:
            assert torch.max(torch.abs(z - out[2][0])) <= TOL
            assert torch.max(torch.abs(grad - out[2][1])) <= TOL
        assert torch.max(torch.abs(out[2][1])) > 1e-3


@pytest.mark.parametrize("backward", ["adjoint", "autograd"])
def test_every_split_equals_default_qubit(backward):
    """Schrödinger for the first k layers, Heisenberg for the rest: the same values and
    gradients for every k (complex states enter the tail when k > 0)."""
    depth, n_qubits = 4, 7
    x = random_inputs(n_qubits, batch=3, seed=1)
    w0 = torch.randn(weight_shape("paper", depth, n_qubits), generator=torch.Generator().manual_seed(8), dtype=torch.float64)
    out = []
    for split in [*range(depth + 1), None]:
        w = w0.clone().requires_grad_()
        ex = reference("paper", depth, n_qubits) if split is None else FusedExecutor("paper", depth, n_qubits, split=split, backward=backward)
        z = ex(w, x)
        (grad,) = torch.autograd.grad((z * torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)).sum(), w)
        out.append((z.detach(), grad))
    for z, grad in out[:-1]:
        assert torch.max(torch.abs(z - out[-1][0])) <= TOL
        assert torch.max(torch.abs(grad - out[-1][1])) <= TOL


def test_auto_split_puts_the_narrow_late_layers_in_a_heisenberg_tail():
    """XXZ's N = 12, depth 4 circuit and MNIST's 10-qubit depth-6 one get a tail on their late
    layers, whose cones are small (the splits measured fastest, ``executor.PASS_COST``); a CNOT
    ring can only take its last layer (no CNOTs there)."""
    assert FusedExecutor("paper", 4, 12).split == 1
    assert FusedExecutor("paper", 6, 10).split == 3
    assert FusedExecutor("cnot-ring", 5, 10).split == 5
    with pytest.raises(UnsupportedCircuit, match="without CNOTs"):
        FusedExecutor("cnot-ring", 2, 4, split="observable")
    with pytest.raises(ValueError, match="split must be"):
        FusedExecutor("paper", 2, 4, split=3)


@pytest.mark.parametrize("split,backward", [("layered", "adjoint"), ("layered", "autograd"), ("observable", "adjoint"), (1, "adjoint")])
def test_run_axis_equals_separate_runs(split, backward):
    """Weights (runs, *shape) and x (runs, batch, 2**n): each run's values and gradients are
    those of calling the executor on that run alone."""
    ex = FusedExecutor("paper", 3, 6, split=split, backward=backward)
    g = torch.Generator().manual_seed(4)
    w = torch.randn(3, *ex.shape, generator=g, dtype=torch.float64).requires_grad_()
    x = torch.stack([random_inputs(6, batch=5, seed=s) for s in range(3)])
    z = ex(w, x)
    (grad,) = torch.autograd.grad(z.sum(), w)
    assert z.shape == (3, 5)
    for r in range(3):
        wr = w[r].detach().clone().requires_grad_()
        zr = ex(wr, x[r])
        (gr,) = torch.autograd.grad(zr.sum(), wr)
        assert torch.max(torch.abs(z[r] - zr)) <= TOL
        assert torch.max(torch.abs(grad[r] - gr)) <= TOL
    with pytest.raises(ValueError, match=r"x must have shape \(3, batch, 64\)"):
        ex(w, x[:2])


@pytest.mark.parametrize("split,n_qubits,depth", [("layered", 10, 6), ("auto", 10, 6), ("observable", 12, 4), ("auto", 12, 4)])
def test_single_precision_is_close_to_double(split, n_qubits, depth):
    """complex64 states: values and gradients within 1e-5 of complex128 at the protocol's
    sizes; parameters and outputs keep the caller's float64."""
    x = random_inputs(n_qubits, batch=8, seed=2)
    results = []
    for dtype in (torch.float64, torch.float32):
        w = (0.3 * torch.randn(weight_shape("paper", depth, n_qubits), generator=torch.Generator().manual_seed(5),
                               dtype=torch.float64)).requires_grad_()
        z = FusedExecutor("paper", depth, n_qubits, dtype=dtype, split=split)(w, x)
        (grad,) = torch.autograd.grad(z.sum(), w)
        results.append((z.detach(), grad))
    (z64, g64), (z32, g32) = results
    assert z32.dtype == torch.float64 and g32.dtype == torch.float64
    assert torch.max(torch.abs(z32 - z64)) <= 1e-5
    assert torch.max(torch.abs(g32 - g64)) <= 1e-5
    assert torch.max(torch.abs(z32 - z64)) > 0  # it did run in single precision


def test_without_entanglers_only_the_readout_qubit_is_trained():
    """``paper-noent`` (the paper's rotations, no IsingZZ ring) compiles to one layer whose
    light cone is the readout qubit alone: its gradient on every other qubit's parameters is
    exactly zero, and default.qubit's is zero up to rounding, while the readout qubit's is not."""
    depth, n_qubits = 3, 4
    ex = FusedExecutor("paper-noent", depth, n_qubits)
    assert [(s.k_a, s.k_c) for s in ex.program] == [(0, 1)]
    assert ex.layers[0].single_names == ("RX", "RY", "RX") * depth
    x = random_inputs(n_qubits, batch=5, seed=3)
    grads = []
    for make in (ex, reference("paper-noent", depth, n_qubits)):
        w = torch.randn(ex.shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64).requires_grad_()
        (grad,) = torch.autograd.grad(make(w, x).sum(), w)
        grads.append(grad)
    assert torch.count_nonzero(grads[0][:, :-1]) == 0
    assert torch.max(torch.abs(grads[1][:, :-1])) <= TOL
    assert torch.max(torch.abs(grads[0][:, -1])) > 1e-3


@pytest.mark.parametrize("split", ["layered", "observable"])
def test_without_entanglers_run_axis_and_single_precision(split):
    """``paper-noent`` with a run axis equals each run alone (1e-10), and complex64 stays within
    1e-5 of complex128, values and gradients, complex inputs included."""
    depth, n_qubits = 2, 5
    g = torch.Generator().manual_seed(9)
    x = torch.randn(2, 4, 2 ** n_qubits, generator=g, dtype=torch.complex128)
    x = x / x.norm(dim=2, keepdim=True)
    w0 = torch.randn(2, *weight_shape("paper-noent", depth, n_qubits), generator=g, dtype=torch.float64)
    out = {}
    for dtype in (torch.float64, torch.float32):
        w = w0.clone().requires_grad_()
        z = FusedExecutor("paper-noent", depth, n_qubits, dtype=dtype, split=split)(w, x)
        out[dtype] = (z.detach(), torch.autograd.grad(z.sum(), w)[0])
    for r in range(2):
        w = w0[r].clone().requires_grad_()
        z = make_qnode("default.qubit", n_qubits, "paper-noent")(x[r], w)
        (grad,) = torch.autograd.grad(z.sum(), w)
        assert torch.max(torch.abs(out[torch.float64][0][r] - z)) <= TOL
        assert torch.max(torch.abs(out[torch.float64][1][r] - grad)) <= TOL
    assert torch.max(torch.abs(out[torch.float32][0] - out[torch.float64][0])) <= 1e-5
    assert torch.max(torch.abs(out[torch.float32][1] - out[torch.float64][1])) <= 1e-5
    assert torch.max(torch.abs(out[torch.float32][0] - out[torch.float64][0])) > 0
