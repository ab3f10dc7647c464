"""The fused executor's dense layout: each layer one 2**n square unitary, the circuit a few large products.

The factored layout (``statevector.py``) applies a layer as two small products (U_A on half A,
M on half C) plus a permutation: few arithmetic operations, but on a GPU each of the hundreds of
small kernels of a training step costs more in its launch than in its arithmetic. Here the
layer's whole unitary W_d = P_d · diag(phase_d) · (U_0 ⊗ … ⊗ U_{n-1}) is built once per call,
for every layer and run at once, and the state goes through one (runs, batch, 2**n) ×
(runs, 2**n, 2**n) product per layer: some 2 × 4**n complex multiply-adds per amplitude
instead of 2 × (2**|A| + 2**|C|), but bound by arithmetic, which a GPU does well. Autograd
differentiates it (to any order): the reverse pass is two large products per layer.

The layers come from the factored program (``FusedExecutor.gate_factors``: the same gates, the
same noise insertions), so the two layouts compute the same circuit. W_d applies every qubit's
rotation where the factored layout skips those outside the readout's light cone: exact, since
such a gate commutes with the observable it meets (``tests/test_dense.py`` proves the values and
gradients equal ``default.qubit`` and the factored layout).
"""
import torch

DENSE_ELEMENTS = 2 ** 25  # the dense layout holds at most this many complex numbers of layer
# matrices per call (runs × depth × 4**n; 512 MiB in complex128, a few GiB with what autograd
# keeps): the W1 setting (one run, depth 6, 10 qubits: 6.3M) and a handful of stacked runs fit;
# a stacked sweep of 50 runs, or 12 qubits, stays factored (its arithmetic grows as 4**n).


def fits_dense(runs: int, depth: int, n_qubits: int) -> bool:
    """Whether the layer matrices of ``runs`` runs stay within ``DENSE_ELEMENTS``."""
    return runs * depth * 4 ** n_qubits <= DENSE_ELEMENTS


def layer_unitaries(u: torch.Tensor, phases: torch.Tensor, sources: list[torch.Tensor | None]) -> torch.Tensor:
    """W (runs, depth, 2**n, 2**n) = P_d · diag(phases[:, d]) · ⊗_q u[:, d, q].

    u: (runs, depth, n, 2, 2) each qubit's single-qubit product, qubit 0 most significant;
    phases: (runs, depth, 2**n) unit complex diagonal of the layer's entangling phase;
    sources[d]: the gather of a basis permutation after layer d (new = state[src]) or None.
    """
    w = u[:, :, 0]
    for q in range(1, u.shape[2]):  # one Kronecker product per qubit serves every layer and run
        factor = u[:, :, q]
        w = torch.einsum("...ab,...cd->...acbd", w, factor).reshape(*w.shape[:2], w.shape[-2] * 2, w.shape[-1] * 2)
    w = phases.unsqueeze(-1) * w
    if any(src is not None for src in sources):
        w = torch.stack([w[:, d] if src is None else w[:, d, src] for d, src in enumerate(sources)], 1)
    return w


def dense_expectation(w: torch.Tensor, x: torch.Tensor, readout: torch.Tensor) -> torch.Tensor:
    """Σ_i |(W_{D-1} ⋯ W_0 x)_i|² readout_i per run and row: w (runs, depth, N, N), x (runs,
    batch, N) real or complex, readout (N,) real -> (runs, batch) real."""
    state = x.to(w.dtype)
    for d in range(w.shape[1]):
        state = state @ w[:, d].mT
    return (state.real.square() + state.imag.square()) @ readout
