"""Executors of the QNN circuit: a fused torch state-vector simulator and PennyLane devices.

Both take ``(weights (depth, n_qubits, k), x (batch, 2**n_qubits) unit-norm amplitudes)`` and
return <Z_{n-1}> per row, (batch,) float, differentiable by torch autograd.

The fused executor is compiled from the PennyLane circuit's recorded operations
(``circuits.recorded_operations``), not written a second time. It is fast because it never
applies one gate at a time: each layer's single-qubit gates are fused into one 2x2 matrix per
qubit, and the qubits are split into two halves A (most significant) and C, so that a layer's
product of rotations is U_A ⊗ U_C. The state lives in the layout (2**|A|, batch, 2**|C|), in
which U_A and U_C are large matrix products (BLAS); the layer's entangler is a diagonal phase
(IsingZZ ring, folded into the U_C product) or a basis permutation (CNOT ring). The kernels and
the hand-written adjoint backward are in ``statevector.py``. Two exact shortcuts: trailing
diagonal gates commute with the Z readout and are dropped, and gates outside the readout's
backward light cone are skipped (for the paper ansatz the cone grows by one qubit each side
per layer, so late layers touch few qubits; the cone's part of half A is its top qubits and
its part of half C its bottom ones, which keeps every product a plain matrix product).
``tests/test_executor.py`` proves values and gradients equal ``default.qubit``.

On a CUDA device the same program runs as the GPU path: each layer one dense unitary
(``dense.py``) where it fits, every call shape captured once as CUDA graphs (``graphs.py``),
because there the many small products are bound by their launches (``tests/test_dense.py``).
"""
import ctypes
import functools
import sys
from dataclasses import dataclass

import numpy as np
import torch

from qml_core.sim.circuits import make_qnode, recorded_operations, weight_shape
from qml_core.sim.dense import dense_expectation, fits_dense, layer_unitaries
from qml_core.sim.graphs import GraphedCalls
from qml_core.sim.statevector import AdjointEvolution, Expectation, Step, evolve, expectation, observable, readout
from qml_core.specs import EXECUTORS

SINGLE_QUBIT_GATES = ("RX", "RY")
LAYOUTS = ("auto", "factored", "dense")
PENNYLANE_DEVICES = EXECUTORS[1:]


@functools.cache
def glibc():
    """The C library when it is glibc (Linux), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


@functools.cache
def keep_freed_memory() -> bool:
    """Let glibc reuse freed multi-MB blocks instead of unmapping them.

    By default glibc serves every allocation above 128 KiB with a fresh mmap and returns it to
    the OS on free, so each of the hundreds of state-sized tensors a training step creates
    page-faults its memory in again (about a quarter of the step time, measured). Raising the
    mmap threshold to 32 MiB (glibc's maximum) and the trim threshold to 1 GiB keeps freed
    blocks in the heap for reuse. Process-wide, harmless elsewhere; a no-op off glibc.
    """
    libc = glibc()
    m_trim_threshold, m_mmap_threshold = -1, -3
    return libc is not None and bool(libc.mallopt(m_mmap_threshold, 32 << 20) and libc.mallopt(m_trim_threshold, 1 << 30))


def release_freed_memory() -> bool:
    """Hand the heap's free blocks back to the OS (glibc's ``malloc_trim``); True if any went.

    ``keep_freed_memory`` keeps them for the next step, so after a big job (an exact Hessian)
    a worker process stays at its peak size. A pool that runs many jobs per worker (loky) takes
    that for a leak, replaces the worker, which imports torch again, and warns "A worker
    stopped while some jobs were given to the executor"; so its workers call this after each
    job. A no-op off glibc."""
    libc = glibc()
    return libc is not None and bool(libc.malloc_trim(0))


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


def entangler_kind(layer: Layer) -> str:
    """"phase" (IsingZZ gates only), "perm" (CNOTs only) or "none"."""
    names = {name for name, _, _ in layer.entangler}
    if len(names) > 1:
        raise UnsupportedCircuit(f"fused executor: cannot fuse an entangler mixing {sorted(names)}")
    return {"IsingZZ": "phase", "CNOT": "perm"}[names.pop()] if names else "none"


def readout_support(readout: np.ndarray, n_qubits: int) -> set[int]:
    """Qubits whose bit changes the diagonal readout (2**n,)."""
    idx = np.arange(2 ** n_qubits)
    return {q for q in range(n_qubits) if np.any(readout != readout[idx ^ (1 << (n_qubits - 1 - q))])}


def light_cone(layers: list[Layer], kinds: list[str], support: set[int]):
    """Backward light cone of the readout: per layer, the qubits whose single-qubit gates can
    change it, and the phase gates that can (as (i, j, parameter index)).

    Gates outside the cone commute with everything after them and with the readout, so they
    can be skipped exactly. Diagonal gates commute with one another, so a phase layer widens
    the cone by the partners of the qubits already in it; CNOTs are taken in reverse order.
    """
    cone, cones, kept = set(support), [None] * len(layers), [[] for _ in layers]
    for d in reversed(range(len(layers))):
        if kinds[d] == "phase":
            kept[d] = [(i, j, p) for _, (i, j), p in layers[d].entangler if i in cone or j in cone]
            cone.update(q for i, j, _ in kept[d] for q in (i, j))
        elif kinds[d] == "perm":
            for _, (control, target), _ in reversed(layers[d].entangler):
                if control in cone or target in cone:
                    cone.update((control, target))
        cones[d] = frozenset(cone)
    return cones, kept


def rotation(name: str, theta: torch.Tensor) -> torch.Tensor:
    """PennyLane's RX or RY matrix for a tensor of angles: (...,) -> (..., 2, 2) complex."""
    c, s = torch.cos(theta / 2), torch.sin(theta / 2)
    zero = torch.zeros_like(c)
    if name == "RX":
        real, imag = [[c, zero], [zero, c]], [[zero, -s], [-s, zero]]
    else:
        real, imag = [[c, -s], [s, c]], [[zero] * 2] * 2
    stack = lambda rows: torch.stack([torch.stack(r, -1) for r in rows], -2)  # noqa: E731
    return torch.complex(stack(real), stack(imag))


def kron(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Batched Kronecker product, a most significant: (..., p, p), (..., q, q) -> (..., pq, pq)."""
    out = torch.einsum("...ab,...cd->...acbd", a, b)
    return out.reshape(*out.shape[:-4], out.shape[-4] * b.shape[-2], out.shape[-2] * b.shape[-1])


def kron_prefixes(u: torch.Tensor, reverse: bool = False) -> list[torch.Tensor]:
    """Kronecker products of the first j factors along axis -3 (the last j if ``reverse``), for
    j = 1..k, first factor most significant: (..., k, 2, 2) -> [(..., 2**j, 2**j) for j]. One
    product per j serves every layer at once, where a chain per layer would cost k - 1 each."""
    k = u.shape[-3]
    order = range(k - 1, -1, -1) if reverse else range(k)
    out = []
    for j in order:
        factor = u[..., j, :, :]
        out.append(factor if not out else (kron(factor, out[-1]) if reverse else kron(out[-1], factor)))
    return out


class FusedExecutor:
    """Fast exact simulator of a recorded ansatz (see the module docstring).

    ``dtype`` float64 (complex128 states, the reference) or float32 (complex64, about twice
    as fast; the parameters and the output stay in the caller's dtype). ``split``: how many
    compiled layers run in the Schrödinger picture (state by state, layer by layer) before the
    rest of the circuit is taken in the Heisenberg picture on that layer's light cone (an
    observable O = V† Z V on the cone, x† O x per slice of the state); "layered" is split =
    every compiled layer (no Heisenberg tail), "observable" split = 0, "auto" (default) the
    split ``choose_split`` finds cheapest. Circuits with CNOT layers run layered. A compiled
    layer ends at an entangler, so a circuit without any (``paper-noent``) compiles to one
    layer whose rotations are each qubit's whole product, and only the readout qubit's is in
    its light cone.

    Call with weights ``shape`` and x (batch, 2**n) for one run, or with a leading run axis,
    weights (runs, *shape) and x (runs, batch, 2**n), for independent runs in one pass.

    ``layout``: "factored" (the kernels of ``statevector.py``), "dense" (each layer one 2**n
    square unitary, ``dense.py``: a few large products, for a GPU) or "auto" (default): dense
    on a CUDA device where the call's layer matrices fit ``dense.DENSE_ELEMENTS``, factored
    otherwise (on the CPU the factored layout is faster: docs/performance.md). ``graphs``: run
    each call shape as CUDA graphs captured once (``graphs.GraphedCalls``), so that a step's
    kernels are replayed without a launch each (first derivatives only); "auto" (default) on a
    CUDA device with the adjoint backward.

    Example::

        ex = FusedExecutor("paper", depth=2, n_qubits=4)
        z = ex(torch.zeros(2, 4, 4, dtype=torch.float64), torch.eye(16, dtype=torch.float64)[:3])
    """

    def __init__(self, ansatz_name: str, depth: int, n_qubits: int, device=None, dtype=torch.float64,
                 backward: str = "adjoint", split: int | str = "auto", layout: str = "auto",
                 graphs: bool | str = "auto"):
        if n_qubits < 2:
            raise UnsupportedCircuit("fused executor: needs at least 2 qubits")
        self.shape = weight_shape(ansatz_name, depth, n_qubits)
        if backward not in ("adjoint", "autograd"):
            raise ValueError(f"backward must be 'adjoint' or 'autograd', got {backward!r}")
        if dtype not in (torch.float64, torch.float32):
            raise ValueError(f"dtype must be torch.float64 or torch.float32, got {dtype}")
        self.n_qubits, self.device, self.dtype, self.backward = n_qubits, torch.device(device or "cpu"), dtype, backward
        self.cdtype = torch.complex128 if dtype == torch.float64 else torch.complex64
        self.n_a = n_qubits // 2
        self.dim_a, self.dim_c = 2 ** self.n_a, 2 ** (n_qubits - self.n_a)
        self.layers = split_layers(recorded_operations(ansatz_name, depth, n_qubits), n_qubits)
        self._compile()
        n_layers = len(self.program)
        named = {"auto": choose_split(self.program, n_qubits), "layered": n_layers, "observable": 0}
        self.split = named.get(split, split) if isinstance(split, str) else split
        if not is_int_in(self.split, 0, n_layers):
            raise ValueError(f"split must be 'auto', 'layered', 'observable' or 0..{n_layers}, got {split!r}")
        if self.split < n_layers and any(step.src is not None for step in self.program[self.split:]):
            raise UnsupportedCircuit("fused executor: a Heisenberg tail needs layers without CNOTs")
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
        self.layout = layout
        cuda = self.device.type == "cuda"
        if graphs not in (True, False, "auto") or (graphs is True and not cuda):
            raise ValueError(f"graphs must be 'auto', False, or True on a CUDA device, got {graphs!r} on {self.device}")
        # a graph's reverse pass is differentiable once: the autograd backward (Hessians) runs eager
        self.graphed = GraphedCalls() if (graphs is True or (graphs == "auto" and cuda and backward == "adjoint")) else None
        if self.device.type == "cpu":
            keep_freed_memory()

    def _tensor(self, array, dtype=None):
        return torch.as_tensor(array, device=self.device, dtype=dtype)

    def _compile(self) -> None:
        """Precompute the program: per layer, the reach of its gates inside the readout's
        light cone, the parameter indices and ZZ sign patterns of its kept phase gates, the
        gathers of its CNOT permutation, and the readout after the trailing gates."""
        n, first = self.n_qubits, self.layers[0]
        if any(layer.single_names != first.single_names for layer in self.layers):
            raise UnsupportedCircuit("fused executor: every layer needs the same single-qubit gates")
        self.single_index = self._tensor(np.stack([layer.single_params for layer in self.layers]))
        kinds = [entangler_kind(layer) for layer in self.layers]
        sources = [cnot_source(layer.entangler, n) if kind == "perm" else None
                   for layer, kind in zip(self.layers, kinds)]
        spins = 1 - 2 * basis_bits(n)
        readout = spins[:, n - 1].astype(np.float64)
        if kinds[-1] == "perm":  # <Z> after a permutation = a permuted diagonal readout before it
            moved = np.empty_like(readout)
            moved[sources[-1]] = readout
            readout = moved
        kinds[-1] = "none"  # a trailing phase commutes with the diagonal readout
        cones, kept = light_cone(self.layers, kinds, readout_support(readout, n))
        n_zz = max(1, max(len(pairs) for pairs in kept))
        phase_index = np.zeros((len(self.layers), n_zz), dtype=np.int64)
        phase_position = np.zeros((len(self.layers), n_zz), dtype=np.int64)  # the kept gate's place in its layer
        zz_signs = np.zeros((len(self.layers), n_zz, 2 ** n))
        for d, pairs in enumerate(kept):
            places = {param: k for k, (_, _, param) in enumerate(self.layers[d].entangler)}
            for k, (i, j, param) in enumerate(pairs):
                phase_index[d, k], zz_signs[d, k] = param, spins[:, i] * spins[:, j]
                phase_position[d, k] = places[param]
        self.phase_position = self._tensor(phase_position)
        self.kept_counts = tuple(len(pairs) for pairs in kept)
        self.program = tuple(
            Step(k_a=max((q + 1 for q in cone if q < self.n_a), default=0),
                 k_c=n - min((q for q in cone if q >= self.n_a), default=n),
                 src=None if kind != "perm" else self._tensor(src),
                 inverse=None if kind != "perm" else self._tensor(np.argsort(src)))
            for cone, kind, src in zip(cones, kinds, sources))
        self.phase_index, self.zz_signs = self._tensor(phase_index), self._tensor(zz_signs, self.dtype)
        self.readout = self._tensor(readout.reshape(self.dim_a, self.dim_c), self.dtype)

    def gate_factors(self, weights: torch.Tensor, paulis=None):
        """The layers' gates for weights (runs, *shape): u (runs, depth, n_qubits, 2, 2), each
        qubit's single-qubit product per layer, and zz (runs, depth, n_zz), the angles of the
        kept phase gates. ``paulis`` (``device.Trajectories``, one per run) inserts a Pauli
        after each single-qubit gate, the Paulis the layer before left at its end, and the sign
        flips of the phase gates those Paulis were pushed through."""
        runs = weights.shape[0]
        flat = weights.reshape(runs, -1)
        u = None
        for g in self.slot_gates(flat, paulis):
            u = g if u is None else g @ u
        zz = flat[:, self.phase_index]
        if paulis is not None:
            u = u @ paulis.before_layer.to(u.device, u.dtype)
            zz = zz * torch.gather(paulis.zz_sign.to(zz.device), 2, self.phase_position.expand(runs, -1, -1)).to(zz.dtype)
        return u, zz

    def slot_gates(self, flat: torch.Tensor, paulis=None, rotations_only: bool = False) -> list[torch.Tensor]:
        """Each single-qubit slot's gate (runs, depth, n_qubits, 2, 2) for flat weights (runs,
        n_params), in the order they act; with ``paulis``, each followed by its Pauli (unless
        ``rotations_only``)."""
        theta = flat[:, self.single_index]  # (runs, depth, n_qubits, n_slots)
        gates = []
        for slot, name in enumerate(self.layers[0].single_names):
            g = rotation(name, theta[..., slot])
            if paulis is not None and not rotations_only:
                g = paulis.after_single[..., slot, :, :].to(g.device, g.dtype) @ g
            gates.append(g)
        return gates

    def layer_matrices(self, weights: torch.Tensor, paulis=None):
        """Per layer, for weights (runs, *shape): U on its top k_a qubits of A (runs, 2**k_a,
        2**k_a; None if k_a = 0), and M (runs, 2**k_a, 2**k_c, 2**k_c) = U_C^T on its bottom
        k_c qubits of C times the phase, per state of the k_a (``paulis``: see ``gate_factors``)."""
        return self.assemble(*self.gate_factors(weights, paulis))

    def phases(self, zz: torch.Tensor) -> torch.Tensor:
        """The diagonal of each layer's kept phase gates, (runs, depth, 2**n) unit complex, for
        their angles zz (runs, depth, n_zz)."""
        angles = -0.5 * torch.einsum("rdk,dkn->rdn", zz, self.zz_signs)
        return torch.polar(torch.ones_like(angles), angles)

    def dense(self, runs: int) -> bool:
        """Whether a call with ``runs`` runs takes the dense layout."""
        if self.layout == "auto":
            return self.device.type == "cuda" and fits_dense(runs, len(self.program), self.n_qubits)
        return self.layout == "dense"

    def assemble(self, u: torch.Tensor, zz: torch.Tensor):
        """``layer_matrices`` from the ``gate_factors``."""
        runs, phases = u.shape[0], self.phases(zz)
        us, ms = [], []
        one = torch.ones(runs, 1, 1, dtype=u.dtype, device=u.device)
        top = kron_prefixes(u[:, :, :max(step.k_a for step in self.program)])  # top[j - 1]: qubits 0..j-1
        k_max = max(step.k_c for step in self.program)
        bottom = kron_prefixes(u[:, :, self.n_qubits - k_max:], reverse=True)  # bottom[j - 1]: the last j qubits
        for d, step in enumerate(self.program):
            us.append(top[step.k_a - 1][:, d] if step.k_a else None)
            k_c = bottom[step.k_c - 1][:, d] if step.k_c else one
            phase = phases[:, d].reshape(runs, 2 ** step.k_a, self.dim_a >> step.k_a, self.dim_c >> step.k_c, 2 ** step.k_c)
            ms.append(k_c.mT.unsqueeze(1) * phase[:, :, 0, 0, :].unsqueeze(2))
        return us, ms

    def __call__(self, weights: torch.Tensor, x: torch.Tensor, paulis=None) -> torch.Tensor:
        """<Z_{n-1}> per row; ``paulis`` (one ``device.Trajectories`` per run) runs each run as
        that noise trajectory (the caller applies its readout sign)."""
        single = tuple(weights.shape) == self.shape
        if not single and tuple(weights.shape[1:]) != self.shape:
            raise ValueError(f"weights must have shape {self.shape} (or (runs, *{self.shape})), got {tuple(weights.shape)}")
        width = 2 ** self.n_qubits
        if x.shape[-1:] != (width,) or x.ndim != (2 if single else 3) or (not single and x.shape[0] != weights.shape[0]):
            expected = f"(batch, {width})" if single else f"({weights.shape[0]}, batch, {width})"
            raise ValueError(f"x must have shape {expected}, got {tuple(x.shape)}")
        w, x = (weights[None], x[None]) if single else (weights, x)
        graphed = self.graphed is not None and paulis is None
        z = self.graphed(self._evaluate, w, x) if graphed else self._evaluate(w, x, paulis)
        return self._output(z, weights.dtype, single)

    def _evaluate(self, w: torch.Tensor, x: torch.Tensor, paulis=None) -> torch.Tensor:
        """<Z> (runs, batch) for weights (runs, *shape) and x (runs, batch, 2**n)."""
        if self.dense(w.shape[0]):
            u, zz = self.gate_factors(w.to(self.dtype), paulis)
            unitaries = layer_unitaries(u, self.phases(zz), [step.src for step in self.program])
            return dense_expectation(unitaries, x, self.readout.reshape(-1))
        us, ms = self.layer_matrices(w.to(self.dtype), paulis)
        state = x.reshape(*x.shape[:2], self.dim_a, self.dim_c)  # (runs, batch, a, c), as the tail reads it
        if self.split:
            head, k = self.program[:self.split], self.split
            state = state.transpose(1, 2).to(self.cdtype, memory_format=torch.contiguous_format)  # (runs, a, batch, c), one pass
            if self.backward == "adjoint" and torch.is_grad_enabled() and (w.requires_grad or x.requires_grad):
                state = AdjointEvolution.apply(state, head, *us[:k], *ms[:k])
            else:  # autograd for higher derivatives; without gradients, nothing needs saving
                state = evolve(state, head, us[:k], ms[:k])
            if k == len(self.program):
                return readout(state, self.readout)
            state = state.transpose(1, 2)
        else:  # real inputs: x† O x needs only Re O
            state = state.to(self.cdtype if x.is_complex() else self.dtype)
        return self._tail(us, ms, state)

    @staticmethod
    def _output(z: torch.Tensor, dtype, single: bool) -> torch.Tensor:
        z = z.to(dtype)
        return z[0] if single else z

    def _tail(self, us, ms, state: torch.Tensor) -> torch.Tensor:
        """<Z> from O = V† Z V, V the layers from ``split`` on, on that layer's light cone (its
        top k_a qubits of A, bottom k_c of C); state (runs, batch, dim_a, dim_c) -> (runs, batch)."""
        k, step = self.split, self.program[self.split]
        spare_a, spare_c = self.dim_a >> step.k_a, self.dim_c >> step.k_c
        r = self.readout.reshape(2 ** step.k_a, spare_a, spare_c, 2 ** step.k_c)[:, 0, 0, :]
        o = observable(self.program[k:], r, us[k:], ms[k:], step.k_a, step.k_c)
        runs, batch = state.shape[:2]
        slices = state.reshape(runs, batch, 2 ** step.k_a, spare_a, spare_c, 2 ** step.k_c).permute(0, 1, 3, 4, 2, 5)
        if self.backward == "adjoint":
            return Expectation.apply(o, slices)
        return expectation(o, slices)


def is_int_in(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


PASS_COST = 12  # a pass over the state (a product with a tiny matrix, a copy) costs about as much
# as this many complex multiply-adds per amplitude. Fitted to the step and validation times of
# every split of the paper's MNIST (depth 6, 10 qubits) and XXZ (depth 4, 12 qubits) circuits,
# complex64, one thread: split 3 and 1 are fastest (MNIST step 20.5 ms, validation pass over
# 1000 images 28.3 ms, against 21.7 and 30.6 ms at split 4; XXZ step 6.7 ms, validation
# 4.9 ms, against 7.1 and 5.7 ms at split 2). A value of 4, a pass as a cache-warm copy costs
# in isolation, chose 4 and 2: in a step each pass meets the state cold.


def choose_split(program, n_qubits: int, batch: int = 256) -> int:
    """The number of Schrödinger layers whose training step costs least (see ``FusedExecutor``).

    Per amplitude of a sample, in complex multiply-adds: a Schrödinger layer costs 3 ×
    (2**k_a + 2**k_c) for its forward and adjoint products plus 6 passes; a Heisenberg tail
    from a layer with a cone of c qubits costs 3 × 2**c (x† O x, the gradients of x and O)
    plus 4 passes, and building O, 3 × Σ(2**k_a + 2**k_c) × 4**c over the tail's layers,
    shared by the ``batch`` samples of a step. CNOT layers stay in the Schrödinger picture.
    """
    depth, best = len(program), (float("inf"), len(program))
    for split in range(depth + 1):
        tail = program[split:]
        if any(step.src is not None for step in tail):
            continue
        head_cost = sum(3 * (2 ** s.k_a + 2 ** s.k_c) + 6 * PASS_COST for s in program[:split])
        if tail:
            cone = tail[0].k_a + tail[0].k_c
            build = 3 * sum(2 ** s.k_a + 2 ** s.k_c for s in tail) * 4 ** cone / (batch * 2 ** n_qubits)
            head_cost += 3 * 2 ** cone + 4 * PASS_COST + build
        best = min(best, (head_cost, split))
    return best[1]


class PennyLaneExecutor:
    """The same circuit on a PennyLane device, torch interface (the reference, and a choice)."""

    def __init__(self, device_name: str, ansatz_name: str, depth: int, n_qubits: int):
        self.shape = weight_shape(ansatz_name, depth, n_qubits)
        self.qnode = make_qnode(device_name, n_qubits, ansatz_name)

    def __call__(self, weights: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.qnode(x, weights)


def make_executor(name: str, ansatz_name: str, depth: int, n_qubits: int, device=None, dtype=torch.float64):
    """Executor by name: 'fused' (default, fastest; ``dtype`` float32 runs it in complex64)
    or a PennyLane device name (always double precision)."""
    if name == "fused":
        return FusedExecutor(ansatz_name, depth, n_qubits, device=device, dtype=dtype)
    if name in PENNYLANE_DEVICES:
        return PennyLaneExecutor(name, ansatz_name, depth, n_qubits)
    raise ValueError(f"executor must be one of {EXECUTORS}, got {name!r}")
