"""The fused executor's dense layout (one unitary per layer, the GPU path) against PennyLane's
default.qubit and the factored layout (the CPU path): values and gradients, on the CPU."""
import pytest
import torch

from qml_core.sim.circuits import weight_shape
from qml_core.sim.dense import DENSE_ELEMENTS, fits_dense
from qml_core.sim.device import QNNDevice, device_generator
from qml_core.sim.executor import FusedExecutor, make_executor
from qml_core.specs import QNNModel

TOL = 1e-10


def unit_rows(shape, seed: int, dtype=torch.float64) -> torch.Tensor:
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)
    return x / x.norm(dim=-1, keepdim=True)


def value_and_gradient(executor, w0: torch.Tensor, x: torch.Tensor):
    """<Z> and the gradient of a weighted sum of it (weights not all equal, so that a wrong
    sign or a swapped row shows)."""
    w = w0.clone().requires_grad_()
    z = executor(w, x)
    coeff = torch.linspace(-1.0, 2.0, z.numel(), dtype=torch.float64).reshape(z.shape)
    (grad,) = torch.autograd.grad((coeff * z).sum(), w)
    return z.detach(), grad


@pytest.mark.parametrize("ansatz", ["paper", "cnot-ring"])
@pytest.mark.parametrize("n_qubits,depth", [(2, 1), (3, 2), (4, 3), (5, 2), (6, 3)])
def test_dense_equals_default_qubit_and_the_factored_layout(ansatz, n_qubits, depth):
    """Weights of std 1 (far from the small-angle regime): values and gradients to 1e-10."""
    w = torch.randn(weight_shape(ansatz, depth, n_qubits), generator=torch.Generator().manual_seed(depth),
                    dtype=torch.float64)
    x = unit_rows((5, 2 ** n_qubits), seed=n_qubits)
    dense = value_and_gradient(FusedExecutor(ansatz, depth, n_qubits, layout="dense"), w, x)
    for other in (make_executor("default.qubit", ansatz, depth, n_qubits), FusedExecutor(ansatz, depth, n_qubits)):
        z, grad = value_and_gradient(other, w, x)
        assert torch.max(torch.abs(dense[0] - z)) <= TOL
        assert torch.max(torch.abs(dense[1] - grad)) <= TOL
    assert torch.max(torch.abs(dense[1])) > 1e-3  # not a comparison of two zeros


@pytest.mark.parametrize("ansatz", ["paper", "cnot-ring"])
def test_run_axis_of_the_dense_layout_equals_separate_factored_runs(ansatz):
    """Weights (runs, *shape), x (runs, batch, 2**n): each run as the factored layout gives it
    alone, in value and gradient."""
    shape = weight_shape(ansatz, 3, 5)
    w = torch.randn(3, *shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    x = unit_rows((3, 4, 32), seed=2)
    z, grad = value_and_gradient(FusedExecutor(ansatz, 3, 5, layout="dense"), w, x)
    assert z.shape == (3, 4)
    factored = FusedExecutor(ansatz, 3, 5, layout="factored")
    for r in range(3):
        wr = w[r].clone().requires_grad_()
        zr = factored(wr, x[r])
        coeff = torch.linspace(-1.0, 2.0, 12, dtype=torch.float64).reshape(3, 4)[r]
        (gr,) = torch.autograd.grad((coeff * zr).sum(), wr)
        assert torch.max(torch.abs(z[r] - zr)) <= TOL
        assert torch.max(torch.abs(grad[r] - gr)) <= TOL


def test_complex_inputs_and_single_precision():
    """Complex amplitudes in complex128 to 1e-10 of default.qubit; complex64 states to 1e-5,
    with float64 parameters and outputs kept."""
    x = unit_rows((4, 16), seed=3, dtype=torch.complex128)
    w = torch.randn(3, 4, 4, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    ref = value_and_gradient(make_executor("default.qubit", "paper", 3, 4), w, x)
    for dtype, tol in ((torch.float64, TOL), (torch.float32, 1e-5)):
        z, grad = value_and_gradient(FusedExecutor("paper", 3, 4, dtype=dtype, layout="dense"), w, x)
        assert z.dtype == torch.float64 and grad.dtype == torch.float64
        assert torch.max(torch.abs(z - ref[0])) <= tol and torch.max(torch.abs(grad - ref[1])) <= tol
    single = value_and_gradient(FusedExecutor("paper", 3, 4, dtype=torch.float32, layout="dense"), w, x)
    assert torch.max(torch.abs(single[0] - ref[0])) > 0  # it did run in single precision


def test_dense_layout_gives_second_derivatives():
    """Autograd differentiates the dense products twice: its Hessian-vector product is the
    factored autograd path's (the one the exact Hessians use)."""
    x = unit_rows((4, 8), seed=5)
    w0 = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    v = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    hvps = []
    for executor in (FusedExecutor("paper", 2, 3, layout="dense"), FusedExecutor("paper", 2, 3, backward="autograd")):
        w = w0.clone().requires_grad_()
        (g,) = torch.autograd.grad(executor(w, x).sum(), w, create_graph=True)
        (hv,) = torch.autograd.grad((g * v).sum(), w)
        hvps.append(hv)
    assert torch.max(torch.abs(hvps[0] - hvps[1])) <= TOL and torch.max(torch.abs(hvps[1])) > 1e-3


@pytest.mark.parametrize("readout_error", [0.0, 0.1])
def test_depolarising_trajectories_are_the_same_in_both_layouts(readout_error):
    """The same drawn trajectories (same generators) through either layout: the noisy <Z> and
    its gradient agree to 1e-10."""
    spec = QNNModel(depth=2, depolarizing=0.2, readout_error=readout_error, trajectories=4)
    w = torch.randn(2, 2, 4, 4, generator=torch.Generator().manual_seed(8), dtype=torch.float64)
    x = unit_rows((2, 3, 16), seed=9)
    results = []
    for layout in ("dense", "factored"):
        device = QNNDevice(spec, FusedExecutor("paper", 2, 4, layout=layout), [device_generator(r) for r in range(2)])
        results.append(value_and_gradient(device, w, x))
    (z_dense, g_dense), (z_factored, g_factored) = results
    assert torch.max(torch.abs(z_dense - z_factored)) <= TOL
    assert torch.max(torch.abs(g_dense - g_factored)) <= TOL and torch.max(torch.abs(g_factored)) > 1e-3


def test_layout_and_graphs_are_chosen_by_the_device():
    """On the CPU "auto" keeps the factored layout and no CUDA graphs; dense only where its
    matrices fit; bad choices are refused in one line."""
    executor = FusedExecutor("paper", 2, 4)
    assert not executor.dense(runs=1) and executor.graphed is None
    assert FusedExecutor("paper", 2, 4, layout="dense").dense(runs=1)
    assert fits_dense(1, 6, 10) and fits_dense(5, 6, 10) and not fits_dense(50, 6, 10) and not fits_dense(1, 4, 12)
    assert fits_dense(DENSE_ELEMENTS // 4 ** 10, 1, 10) and not fits_dense(DENSE_ELEMENTS // 4 ** 10 + 1, 1, 10)
    with pytest.raises(ValueError, match="layout must be one of"):
        FusedExecutor("paper", 2, 4, layout="sparse")
    with pytest.raises(ValueError, match="graphs must be"):
        FusedExecutor("paper", 2, 4, graphs=True)
