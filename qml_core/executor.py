"""Executors of the QNN circuit: a fused torch state-vector simulator and PennyLane devices.

Both take ``(weights (depth, n_qubits, k), x (batch, 2**n_qubits) unit-norm amplitudes)`` and
return <Z_{n-1}> per row, (batch,) float, differentiable by torch autograd.

The fused executor is compiled from the PennyLane circuit's recorded operations
(``circuits.recorded_operations``), not written a second time. It is fast because it never
applies one gate at a time: each layer's single-qubit gates are fused into one 2x2 matrix per
qubit, and the qubits are split into two halves A (most significant) and C, so that a layer's
product of rotations is U_A ⊗ U_C. The state lives in the layout (2**|A|, batch, 2**|C|), in
which both U_A @ state and state @ U_C^T are single large matrix products (BLAS); the layer's
entangler is a diagonal phase (IsingZZ ring) or a basis permutation (CNOT ring). Two exact
shortcuts at the end: trailing diagonal gates commute with the Z readout and are dropped, and
when the readout depends on half C only, U_A of the last layer (a unitary on unread qubits)
is skipped. ``tests/test_executor.py`` proves values and gradients equal ``default.qubit``.
"""
from dataclasses import dataclass

import numpy as np
import torch

from .circuits import make_qnode, recorded_operations, weight_shape
from .specs import EXECUTORS

SINGLE_QUBIT_GATES = ("RX", "RY", "RZ")
PENNYLANE_DEVICES = EXECUTORS[1:]


class UnsupportedCircuit(ValueError):
    """The circuit has a gate or a layer shape that the fused executor cannot compile."""


@dataclass(frozen=True)
class Layer:
    """One compiled layer: single-qubit gates (same sequence on every qubit), then an
    entangler. ``single_params`` is (n_qubits, n_slots) indices into the flat weights."""
    single_names: tuple[str, ...]
    single_params: np.ndarray
    entangler: tuple[tuple[str, tuple[int, ...], int | None], ...]


def split_layers(ops, n_qubits: int) -> list[Layer]:
    """Group recorded ops into layers: a run of single-qubit gates, then a run of two-qubit
    gates. Raises UnsupportedCircuit for anything else."""
    layers, singles, entangler = [], {q: [] for q in range(n_qubits)}, []

    def close():
        names = {tuple(g for g, _ in singles[q]) for q in range(n_qubits)}
        if len(names) != 1:
            raise UnsupportedCircuit("fused executor: every qubit needs the same single-qubit gates per layer")
        params = np.array([[p for _, p in singles[q]] for q in range(n_qubits)], dtype=np.int64)
        layers.append(Layer(names.pop(), params.reshape(n_qubits, -1), tuple(entangler)))

    for name, wires, param in ops:
        if len(wires) == 1:
            if name not in SINGLE_QUBIT_GATES:
                raise UnsupportedCircuit(f"fused executor: unsupported single-qubit gate {name}")
            if entangler:
                close()
                singles, entangler = {q: [] for q in range(n_qubits)}, []
            singles[wires[0]].append((name, param))
        elif name in ("IsingZZ", "CNOT"):
            entangler.append((name, wires, param))
        else:
            raise UnsupportedCircuit(f"fused executor: unsupported gate {name}")
    close()
    return layers


def basis_bits(n_qubits: int) -> np.ndarray:
    """(2**n, n) bits of every basis index, qubit 0 the most significant."""
    idx = np.arange(2 ** n_qubits)[:, None]
    return (idx >> (n_qubits - 1 - np.arange(n_qubits))) & 1


def cnot_source(entangler, n_qubits: int) -> np.ndarray:
    """Gather indices of a sequence of CNOTs: new_state = state[..., src]."""
    bits = basis_bits(n_qubits)
    src = np.arange(2 ** n_qubits)
    for _, (control, target), _ in entangler:
        step = np.arange(2 ** n_qubits) ^ (bits[:, control] << (n_qubits - 1 - target))
        src = src[step]
    return src


def rotation(name: str, theta: torch.Tensor) -> torch.Tensor:
    """PennyLane's RX/RY/RZ matrices for a tensor of angles: (...,) -> (..., 2, 2) complex."""
    c, s = torch.cos(theta / 2), torch.sin(theta / 2)
    zero = torch.zeros_like(c)
    if name == "RX":
        real, imag = [[c, zero], [zero, c]], [[zero, -s], [-s, zero]]
    elif name == "RY":
        real, imag = [[c, -s], [s, c]], [[zero] * 2] * 2
    else:
        real, imag = [[c, zero], [zero, c]], [[-s, zero], [zero, s]]
    stack = lambda rows: torch.stack([torch.stack(r, -1) for r in rows], -2)  # noqa: E731
    return torch.complex(stack(real), stack(imag))


def kron_chain(u: torch.Tensor) -> torch.Tensor:
    """Kronecker product over axis -3, first factor most significant: (..., k, 2, 2) -> (..., 2**k, 2**k)."""
    out = u[..., 0, :, :]
    for j in range(1, u.shape[-3]):
        nxt = u[..., j, :, :]
        out = torch.einsum("...ab,...cd->...acbd", out, nxt)
        out = out.reshape(*out.shape[:-4], out.shape[-4] * 2, out.shape[-2] * 2)
    return out


class FusedExecutor:
    """Fast exact simulator of a recorded ansatz (see the module docstring).

    Example::

        ex = FusedExecutor("paper", depth=2, n_qubits=4)
        z = ex(torch.zeros(2, 4, 4, dtype=torch.float64), torch.eye(16, dtype=torch.float64)[:3])
    """

    def __init__(self, ansatz_name: str, depth: int, n_qubits: int, device=None, dtype=torch.float64):
        if n_qubits < 2:
            raise UnsupportedCircuit("fused executor: needs at least 2 qubits")
        self.shape = weight_shape(ansatz_name, depth, n_qubits)
        self.n_qubits, self.device, self.dtype = n_qubits, torch.device(device or "cpu"), dtype
        self.cdtype = torch.complex128 if dtype == torch.float64 else torch.complex64
        self.n_a = n_qubits // 2
        self.dim_a, self.dim_c = 2 ** self.n_a, 2 ** (n_qubits - self.n_a)
        self.layers = split_layers(recorded_operations(ansatz_name, depth, n_qubits), n_qubits)
        self._compile()

    def _tensor(self, array, dtype=None):
        return torch.as_tensor(array, device=self.device, dtype=dtype)

    def _compile(self) -> None:
        """Precompute per layer: parameter indices, ZZ sign patterns or CNOT gathers, and the
        readout after trailing gates."""
        n, first = self.n_qubits, self.layers[0]
        if any(layer.single_names != first.single_names for layer in self.layers):
            raise UnsupportedCircuit("fused executor: every layer needs the same single-qubit gates")
        self.single_index = self._tensor(np.stack([layer.single_params for layer in self.layers]))
        spins = 1 - 2 * basis_bits(n)
        self.entanglers = []
        for layer in self.layers:
            kinds = {name for name, _, _ in layer.entangler}
            if kinds == {"IsingZZ"}:
                signs = np.stack([spins[:, i] * spins[:, j] for _, (i, j), _ in layer.entangler])
                params = [p for _, _, p in layer.entangler]
                self.entanglers.append(("phase", self._tensor(params), self._tensor(signs, self.dtype)))
            elif kinds == {"CNOT"}:
                self.entanglers.append(("perm", self._tensor(cnot_source(layer.entangler, n)), None))
            elif not kinds:
                self.entanglers.append(("none", None, None))
            else:
                raise UnsupportedCircuit(f"fused executor: cannot fuse an entangler mixing {sorted(kinds)}")
        readout = spins[:, n - 1].astype(np.float64)
        last_kind, last_src, _ = self.entanglers[-1]
        if last_kind == "perm":
            moved = np.empty_like(readout)
            moved[last_src.cpu().numpy()] = readout
            readout = moved
        self.entanglers[-1] = ("none", None, None)
        grid = readout.reshape(self.dim_a, self.dim_c)
        self.skip_last_a = bool(np.all(grid == grid[0]))
        self.readout = self._tensor(grid, self.dtype)

    def layer_unitaries(self, weights: torch.Tensor):
        """Per layer U_A (dim_a, dim_a) and U_C (dim_c, dim_c): (depth, d, d) complex each."""
        theta = weights.reshape(-1)[self.single_index]  # (depth, n_qubits, n_slots)
        u = None
        for slot, name in enumerate(self.layers[0].single_names):
            g = rotation(name, theta[..., slot])
            u = g if u is None else g @ u
        return kron_chain(u[:, : self.n_a]), kron_chain(u[:, self.n_a:])

    def __call__(self, weights: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if tuple(weights.shape) != self.shape:
            raise ValueError(f"weights must have shape {self.shape}, got {tuple(weights.shape)}")
        if x.ndim != 2 or x.shape[1] != 2 ** self.n_qubits:
            raise ValueError(f"x must have shape (batch, {2 ** self.n_qubits}), got {tuple(x.shape)}")
        batch, da, dc = x.shape[0], self.dim_a, self.dim_c
        u_a, u_c = self.layer_unitaries(weights)
        state = x.reshape(batch, da, dc).transpose(0, 1).to(self.cdtype).contiguous()
        last = len(self.layers) - 1
        for d, (kind, a, b) in enumerate(self.entanglers):
            if not (d == last and self.skip_last_a):
                state = (u_a[d] @ state.reshape(da, batch * dc)).reshape(da, batch, dc)
            state = state @ u_c[d].transpose(0, 1)
            if kind == "phase":
                angle = -0.5 * (weights.reshape(-1)[a] @ b)
                state = state * torch.polar(torch.ones_like(angle), angle).reshape(da, 1, dc)
            elif kind == "perm":
                flat = state.permute(0, 2, 1).reshape(da * dc, batch)[a]
                state = flat.reshape(da, dc, batch).permute(0, 2, 1).contiguous()
        probs = torch.view_as_real(state).square().sum(-1)  # (da, batch, dc)
        return torch.einsum("abc,ac->b", probs, self.readout)


class PennyLaneExecutor:
    """The same circuit on a PennyLane device, torch interface (the reference, and a choice)."""

    def __init__(self, device_name: str, ansatz_name: str, depth: int, n_qubits: int):
        self.shape = weight_shape(ansatz_name, depth, n_qubits)
        self.qnode = make_qnode(device_name, n_qubits, ansatz_name)

    def __call__(self, weights: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.qnode(x, weights)


def make_executor(name: str, ansatz_name: str, depth: int, n_qubits: int, device=None):
    """Executor by name: 'fused' (default, fastest) or a PennyLane device name."""
    if name == "fused":
        return FusedExecutor(ansatz_name, depth, n_qubits, device=device)
    if name in PENNYLANE_DEVICES:
        return PennyLaneExecutor(name, ansatz_name, depth, n_qubits)
    raise ValueError(f"executor must be one of {EXECUTORS}, got {name!r}")
