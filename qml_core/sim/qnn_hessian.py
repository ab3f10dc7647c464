"""The exact Hessian of a QNN loss by a second-order adjoint method on the circuit itself.

For the loss L(θ) = ℓ(f(θ)) of the expectations f_n = ⟨φ_n|Z_{n-1}|φ_n⟩ (φ_n = U(θ) x_n) the
chain rule is exact: H = Jᵀ ∇²ℓ J + Σ_n g_n ∇²f_n with g = ∇ℓ and J = ∂f/∂θ (N, P). ℓ is
differentiated by torch (so its clamps behave as under autograd), the circuit here.

Every parameter θ_i is the angle of a Pauli rotation exp(-iθP/2), so ∂_i of the gate is the
gate times A_i = -iP/2, and

    ∇²f_n[i, j] = 2 Re ⟨∂_i∂_j φ_n|Z φ_n⟩ + 2 Re ⟨∂_i φ_n|Z ∂_j φ_n⟩.

The second term is a Gram matrix of the P tangent states ∂_i φ at the end of the circuit,
carried forward layer by layer with the state (a layer's rotations act as U_A ⊗ U_C on the
two halves of the qubits: two small matrix products). The first term needs no second-order
states: for i before j, ∂_i∂_j φ = U_{>j} A_j U_{(i, j]} A_i φ_i, so Σ_n g_n ⟨∂_i∂_j φ_n|Zφ_n⟩ =
⟨tangent i at gate j | A_j† λ_j⟩ with λ = Σ_n g_n Z φ_n pulled back through the circuit (one
adjoint pass). Within a layer, the rotations of every qubit are moved to the layer's end:
∂_s r = K_s r with K_s = W A_s W† (W the later rotations on that qubit), and ∂_s∂_t r = K_t K_s r
for s before t; on the diagonal K² = -1/4.

Cost: the P tangents through the remaining layers (about P·depth/2 state-layer products) and
one P x P Gram product, against P Hessian-vector products (each a forward and a double
backward) of autograd. Supports the layered circuits of RX/RY/RZ rotations followed by a CNOT
permutation (the §5 ``cnot-ring`` ansatz) or by nothing (``paper-noent``: one layer holding every
rotation); anything else (the ``paper`` ansatz's IsingZZ gates) raises NotImplementedError.
"""
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch

from qml_core.sim.circuits import recorded_operations

PAULI = {"RX": ((0, 1), (1, 0)), "RY": ((0, -1j), (1j, 0)), "RZ": ((1, 0), (0, -1))}


def rotation_matrices(name: str, theta: torch.Tensor) -> torch.Tensor:
    """exp(-iθP/2) for angles (k,): (k, 2, 2) complex128, PennyLane's RX/RY/RZ."""
    c, s = torch.cos(theta / 2).to(torch.complex128), torch.sin(theta / 2).to(torch.complex128)
    pauli = torch.tensor(PAULI[name], dtype=torch.complex128)
    return c[:, None, None] * torch.eye(2, dtype=torch.complex128) - 1j * s[:, None, None] * pauli


@dataclass(frozen=True)
class Circuit:
    """A layered circuit: per layer the rotation names (same on every qubit, in order), their
    flat parameter indices (n_qubits, slots), and the CNOT gather (or None)."""
    n_qubits: int
    names: tuple[str, ...]
    params: tuple[np.ndarray, ...]
    sources: tuple[np.ndarray | None, ...]

    @property
    def n_params(self) -> int:
        return sum(p.size for p in self.params)


def basis_bits(n_qubits: int) -> np.ndarray:
    """(2**n, n) bits of every basis index, qubit 0 the most significant."""
    return (np.arange(2 ** n_qubits)[:, None] >> (n_qubits - 1 - np.arange(n_qubits))) & 1


def cnot_source(pairs, n_qubits: int) -> np.ndarray:
    """Gather indices of CNOTs (control, target) applied in order: new_state = state[src]."""
    bits, src = basis_bits(n_qubits), np.arange(2 ** n_qubits)
    for control, target in pairs:
        src = src[np.arange(2 ** n_qubits) ^ (bits[:, control] << (n_qubits - 1 - target))]
    return src


def layered(ops) -> list[tuple[list, list]]:
    """Recorded ops grouped into layers: (single-qubit (name, qubit, param) ops, CNOT pairs)."""
    layers = []
    for name, wires, param in ops:
        if name == "CNOT":
            if not layers:
                layers.append(([], []))
            layers[-1][1].append(tuple(wires))
        elif len(wires) == 1 and name in PAULI and param is not None:
            if not layers or layers[-1][1]:
                layers.append(([], []))
            layers[-1][0].append((name, wires[0], param))
        else:
            raise NotImplementedError(f"qnn_hessian: unsupported gate {name} on {wires}")
    return layers


@cache
def compile_circuit(ansatz_name: str, depth: int, n_qubits: int) -> Circuit:
    """The recorded ansatz (``circuits.recorded_operations``) as a ``Circuit``: every layer the
    same rotations on every qubit, then CNOTs; NotImplementedError for anything else (the
    ``paper`` ansatz's IsingZZ gates)."""
    names, params, sources = None, [], []
    for singles, pairs in layered(recorded_operations(ansatz_name, depth, n_qubits)):
        per_qubit = [[(name, param) for name, q, param in singles if q == qubit] for qubit in range(n_qubits)]
        layer_names = {tuple(name for name, _ in ops) for ops in per_qubit}
        if len(layer_names) != 1 or (names is not None and layer_names != {names}):
            raise NotImplementedError("qnn_hessian: every layer needs the same rotations on every qubit")
        names = layer_names.pop()
        params.append(np.array([[param for _, param in ops] for ops in per_qubit], dtype=np.int64))
        sources.append(cnot_source(pairs, n_qubits) if pairs else None)
    flat = np.sort(np.concatenate([p.ravel() for p in params]))
    if not np.array_equal(flat, np.arange(flat.size)):
        raise NotImplementedError("qnn_hessian: every parameter must drive exactly one rotation")
    return Circuit(n_qubits, names, tuple(params), tuple(sources))


def kron_all(factors: torch.Tensor) -> torch.Tensor:
    """⊗ of (k, 2, 2) matrices, the first most significant: (2**k, 2**k)."""
    out = torch.ones(1, 1, dtype=factors.dtype)
    for f in factors:
        out = torch.kron(out, f)
    return out


def on_qubit(op: torch.Tensor, states: torch.Tensor, qubit: int, n_qubits: int) -> torch.Tensor:
    """A 2x2 ``op`` on ``qubit`` (0 the most significant) of states (2**n, N)."""
    view = states.reshape(2 ** qubit, 2, -1)
    return torch.einsum("ab,pbq->paq", op, view).reshape(states.shape)


class Layer:
    """One layer's rotations at given angles: the product R = ⊗_q r_q (as U_A ⊗ U_C on the two
    halves of the qubits), and per parameter the generator K moved to the layer's end.

    States are laid out (K, 2**n, N): K stacked states (the state, tangents), the basis index,
    then the N samples, so that U_A and U_C are batched matrix products over long rows and
    the CNOT permutation gathers whole rows."""

    def __init__(self, circuit: Circuit, d: int, theta: torch.Tensor):
        n, names, index = circuit.n_qubits, circuit.names, circuit.params[d]
        gates = [rotation_matrices(name, theta[torch.as_tensor(index[:, s])]) for s, name in enumerate(names)]
        r = gates[0]
        for g in gates[1:]:
            r = g @ r  # (n, 2, 2), slot 0 applied first
        self.n, half = n, n // 2
        self.u_a, self.u_c = kron_all(r[:half]), kron_all(r[half:])
        self.dim_a, self.dim_c = self.u_a.shape[0], self.u_c.shape[0]
        self.source = None if circuit.sources[d] is None else torch.as_tensor(circuit.sources[d])
        # K[q, s] = W A_s W†, W = the rotations after slot s on qubit q
        self.k = torch.empty(n, len(names), 2, 2, dtype=torch.complex128)
        later = torch.eye(2, dtype=torch.complex128).expand(n, 2, 2)
        for s in reversed(range(len(names))):
            a = -0.5j * torch.tensor(PAULI[names[s]], dtype=torch.complex128)
            self.k[:, s] = later @ a @ later.mH
            later = later @ gates[s]
        self.index = torch.as_tensor(index)  # (n, slots) flat parameter indices

    def rotate(self, states: torch.Tensor, out: torch.Tensor | None = None, scratch: torch.Tensor | None = None,
               adjoint: bool = False) -> torch.Tensor:
        """R (or R†) applied to states (K, 2**n, N), into ``out`` if given (``scratch``, the
        same shape, holds the half-way product; ``out`` may be ``states`` itself)."""
        u_a, u_c = (self.u_a.mH, self.u_c.mH) if adjoint else (self.u_a, self.u_c)
        k, dim, batch = states.shape
        half = torch.matmul(u_a, states.view(k, self.dim_a, self.dim_c * batch),
                            out=None if scratch is None else scratch.view(k, self.dim_a, self.dim_c * batch))
        result = torch.matmul(u_c, half.view(k * self.dim_a, self.dim_c, batch),
                              out=None if out is None else out.view(k * self.dim_a, self.dim_c, batch))
        return result.view(k, dim, batch)

    def permute(self, states: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """The CNOT permutation of states (K, 2**n, N) (into ``out`` if given)."""
        if self.source is None:
            return states if out is None else out.copy_(states)
        return torch.index_select(states, 1, self.source, out=out) if out is not None \
            else states.index_select(1, self.source)

    def permute_back(self, states: torch.Tensor) -> torch.Tensor:
        if self.source is None:
            return states
        out = torch.empty_like(states)
        out[:, self.source] = states
        return out

    def generators(self, state: torch.Tensor, adjoint: bool = False, out: torch.Tensor | None = None) -> torch.Tensor:
        """K_i (or K_i†) applied to one state (2**n, N) for every parameter of the layer, in the
        order of ``self.index.ravel()`` (qubit-major, slots in gate order): (n·slots, 2**n, N)."""
        ops = self.k.mH if adjoint else self.k
        slots = self.k.shape[1]
        out = state.new_empty(self.n * slots, *state.shape) if out is None else out
        for q in range(self.n):
            for s in range(slots):
                out[q * slots + s] = on_qubit(ops[q, s], state, q, self.n)
        return out


def real_inner(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Re Σ conj(a_i)·b_j over every axis but the first: (I, ...) x (J, ...) -> (I, J) real."""
    size = 2 * b[0].numel()
    return torch.view_as_real(a).reshape(a.shape[0], size) @ torch.view_as_real(b).reshape(b.shape[0], size).T


def circuit_hessian_terms(circuit: Circuit, theta: torch.Tensor, x: torch.Tensor, weights: Callable):
    """(f (N,), J (N, P), S (P, P)) with S = Σ_n g_n ∇²f_n, g = ``weights(f)`` (N,), all float64.

    ``theta`` (P,) flat angles, ``x`` (N, 2**n) input amplitudes.
    """
    n, p = circuit.n_qubits, circuit.n_params
    theta = theta.detach().to(torch.float64)
    layers = [Layer(circuit, d, theta) for d in range(len(circuit.params))]
    z = torch.as_tensor(1 - 2 * basis_bits(n)[:, n - 1], dtype=torch.float64)[:, None]  # (2**n, 1)
    start = x.detach().T.to(torch.complex128).contiguous()[None]  # (1, 2**n, N)

    phi = start
    for layer in layers:
        phi = layer.permute(layer.rotate(phi))
    f = ((phi.real.square() + phi.imag.square()) * z).sum(1)[0]
    g = weights(f).detach().to(torch.float64)

    # λ = Σ_n g_n Z φ_n pulled back: at each layer, the point after its rotations
    lam, adjoint = (z * g) * phi, [None] * len(layers)
    for d in reversed(range(len(layers))):
        lam = layers[d].permute_back(lam)
        adjoint[d] = lam[0]
        lam = layers[d].rotate(lam, adjoint=True)

    second = torch.zeros(p, p, dtype=torch.float64)  # Re Σ_n g_n ⟨∂_i∂_j φ_n|Z φ_n⟩
    # the tangents ∂_i φ of the parameters of the layers so far, in creation order (``owners``),
    # in buffer[:alive]; spare: the other half of a ping-pong pair
    buffer, spare = (torch.empty(p, *start.shape[1:], dtype=torch.complex128) for _ in range(2))
    owners, alive, phi = torch.zeros(0, dtype=torch.long), 0, start
    for d, layer in enumerate(layers):
        phi = layer.rotate(phi)
        tangents = layer.rotate(buffer[:alive], out=buffer[:alive], scratch=spare[:alive]) if alive else buffer[:0]
        own = layer.index.reshape(-1)  # qubit-major, slots in gate order
        new = layer.generators(phi[0], out=buffer[alive:alive + len(own)])  # ∂_j of this layer's output
        pulled = layer.generators(adjoint[d], adjoint=True)  # K_j† λ
        earlier = real_inner(tangents, pulled)  # (earlier tangents, own)
        second[owners[:, None], own[None, :]] = earlier
        second[own[:, None], owners[None, :]] = earlier.T
        block = real_inner(new, pulled)  # [a, b] = the (a then b) mixed derivative
        slots = layer.k.shape[1]
        pos = torch.arange(len(own))
        later_same_qubit = (pos[:, None] > pos[None, :]) & (pos[:, None] // slots == pos[None, :] // slots)
        block = torch.where(later_same_qubit, block.T, block)  # s before t on one qubit: K_t K_s
        block.diagonal().fill_(-0.25 * float(real_inner(phi, adjoint[d][None])))  # K² = -1/4
        second[own[:, None], own[None, :]] = block
        alive += len(own)
        phi = layer.permute(phi)
        layer.permute(buffer[:alive], out=spare[:alive])
        buffer, spare = spare, buffer
        owners = torch.cat([owners, own])

    tangents, rank = buffer, torch.argsort(owners)  # rank: parameter -> row of ``tangents``
    jac = 2 * torch.einsum("pdnc,dnc->pn", torch.view_as_real(tangents), torch.view_as_real(z * phi[0]))  # (P, N)
    gram = real_inner(tangents, torch.mul(tangents, z * g, out=spare))  # Re Σ_n g_n ⟨∂_i φ_n|Z ∂_j φ_n⟩
    return f, jac[rank].T, 2 * (second + gram[rank[:, None], rank[None, :]])


def qnn_loss_hessian(ansatz_name: str, depth: int, n_qubits: int, theta: torch.Tensor, x: torch.Tensor,
                     loss_of_f: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """The exact Hessian (P, P), symmetrised, of θ -> loss_of_f(f(θ)) for the circuit's
    expectations f (N,) on inputs x (N, 2**n): Jᵀ ∇²ℓ J + Σ_n g_n ∇²f_n, with ∇ℓ and ∇²ℓ of
    ``loss_of_f`` by torch.func at f. NotImplementedError for an unsupported circuit."""
    circuit = compile_circuit(ansatz_name, depth, n_qubits)
    if theta.shape != (circuit.n_params,):
        raise ValueError(f"theta must have shape ({circuit.n_params},), got {tuple(theta.shape)}")
    f, jac, curvature = circuit_hessian_terms(circuit, theta, x, torch.func.grad(loss_of_f))
    hessian = jac.T @ torch.func.hessian(loss_of_f)(f) @ jac + curvature
    return (hessian + hessian.T) / 2
