"""TensorCircuit-NG + JAX reference implementation of one QNN training step (loss, gradient, Adam).

Why a baseline: it is the same circuit, loss and optimiser as ``qml_core``'s executor, written
the way TensorCircuit-NG is meant to be used (JAX backend, complex128, cotengra contraction paths,
``jax.vmap`` over the batch, ``jax.value_and_grad`` and ``jax.jit`` over the whole step), so the
speed benchmark compares against a strong, idiomatic third-party implementation.

Circuit (the spec): amplitude-encoded input state on ``L`` qubits (qubit 0 = most significant bit),
``D`` layers of RX, RY, RX on every qubit followed by an RZZ ring (i, (i+1) % L), gates as in
PennyLane (RX(t) = exp(-i t X/2), RZZ(t) = exp(-i t Z⊗Z/2)); output ``p = sigmoid(5 <Z_{L-1}>)``,
loss = mean binary cross-entropy, Adam(lr, betas 0.9/0.999, eps 1e-8) from optax.

Settings chosen, and why (timed at L=10, D=6, B=256 on the 2-core CPU box, float64):

* Layers are iterated with ``K.scan`` (``jax.lax.scan``), each layer a ``tc.Circuit(L, inputs=state)``
  returning ``c.state()``, the last state read out with ``expectation_ps``: TensorCircuit-NG's own
  "fast-compile" pattern (its TFIM VQE benchmark against MindQuantum uses it). It was also the
  faster one here: first step about 5 s and about 0.13 s per step, against 24-60 s and about
  0.27 s for one unrolled network per sample (``tc.Circuit(L, inputs=x)``, all 240 gates, then
  ``expectation_ps``; cotengra greedy+kahypar, minimize="flops"). Unrolled, XLA's compile time
  also depends wildly on the path: with the greedy path, or a write-minimising one, it took
  over 10 minutes.
* Contraction paths come from a ``cotengra.ReusableHyperOptimizer`` with ``minimize="combo"``
  (flops + 64 * write), methods greedy and kahypar (labels if kahypar is missing),
  ``max_repeats=64``, ``max_time=10`` s, serial (no process pool on 2 cores). The per-layer network
  is small (the input state plus ten two-qubit nodes once ``preprocessing=True`` folds the
  single-qubit gates into them), so the search takes about 0.5 s, once per jit, and 32 or 128
  repeats find the same path. Minimising writes matters: that path writes 2x fewer elements
  (log2 WRITE 12.2 vs 13.3) than the flops-optimal one, which is what the default ``greedy``
  contractor finds, and the step is about 2x faster with it.
"""

from __future__ import annotations

import functools
import importlib.util

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

import cotengra as ctg  # noqa: E402
import tensorcircuit as tc  # noqa: E402
from jax_adam import adam_step, as_f64, with_bce  # noqa: E402

K = tc.set_backend("jax")
tc.set_dtype("complex128")
_PATH_OPTIMIZER = ctg.ReusableHyperOptimizer(
    methods=("greedy", "kahypar") if importlib.util.find_spec("kahypar") else ("greedy", "labels"),
    minimize="combo",
    max_repeats=64,
    max_time=10,
    parallel=False,
    progbar=False,
)
tc.set_contractor("custom", optimizer=_PATH_OPTIMIZER, preprocessing=True)



@functools.lru_cache(maxsize=None)
def _functions(n_qubits: int, depth: int):
    """(jitted batched <Z_{L-1}>, batch loss, jitted value_and_grad of it) for one circuit shape."""

    def layer(state, layer_theta):
        c = tc.Circuit(n_qubits, inputs=state)
        for i in range(n_qubits):
            c.rx(i, theta=layer_theta[i, 0])
            c.ry(i, theta=layer_theta[i, 1])
            c.rx(i, theta=layer_theta[i, 2])
        for i in range(n_qubits):
            c.rzz(i, (i + 1) % n_qubits, theta=layer_theta[i, 3])
        return c.state()

    def expectation_one(theta, x):
        state = K.scan(layer, theta, K.cast(x, tc.dtypestr))
        c = tc.Circuit(n_qubits, inputs=state)
        return K.real(c.expectation_ps(z=[n_qubits - 1]))

    batched_expectation = jax.vmap(expectation_one, in_axes=(None, 0))

    return with_bce(batched_expectation)


def make_step(n_qubits: int = 10, depth: int = 6, lr: float = 0.005):
    """(init_state, step) of one Adam step on this circuit, see ``jax_adam.adam_step``."""
    _, loss, _ = _functions(n_qubits, depth)
    return adam_step(loss, lr)


def expectations(theta: np.ndarray, x: np.ndarray, n_qubits: int, depth: int) -> np.ndarray:
    """<Z_{L-1}> for every row of x, (B,) float64 (not jitted is fine) — used to prove the circuit matches."""
    batched_expectation, _, _ = _functions(n_qubits, depth)
    return np.asarray(batched_expectation(as_f64(theta), as_f64(x)))


def loss_and_grad(theta, x, y, n_qubits, depth) -> tuple[float, np.ndarray]:
    """Loss and gradient (D,L,4) without the Adam update — used to prove equality."""
    _, _, value_and_grad = _functions(n_qubits, depth)
    value, grad = value_and_grad(as_f64(theta), as_f64(x), as_f64(y))
    return float(value), np.asarray(grad)


def _pennylane_reference(theta: np.ndarray, x: np.ndarray, y: np.ndarray, n_qubits: int, depth: int):
    """(<Z_{L-1}> per row, loss, gradient) from PennyLane default.qubit with torch backprop."""
    import pennylane as qml
    import torch

    dev = qml.device("default.qubit", wires=n_qubits)

    @qml.qnode(dev, interface="torch", diff_method="backprop")
    def circuit(weights, features):
        qml.AmplitudeEmbedding(features, wires=range(n_qubits))
        for d in range(depth):
            for i in range(n_qubits):
                qml.RX(weights[d, i, 0], wires=i)
                qml.RY(weights[d, i, 1], wires=i)
                qml.RX(weights[d, i, 2], wires=i)
            for i in range(n_qubits):
                qml.IsingZZ(weights[d, i, 3], wires=[i, (i + 1) % n_qubits])
        return qml.expval(qml.PauliZ(n_qubits - 1))

    weights = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    z = circuit(weights, torch.tensor(x, dtype=torch.float64))
    p = torch.sigmoid(5.0 * z)
    loss = torch.nn.functional.binary_cross_entropy(p, torch.tensor(y, dtype=torch.float64))
    loss.backward()
    return z.detach().numpy(), float(loss.detach()), weights.grad.numpy()


def _random_batch(rng: np.random.Generator, batch: int, n_qubits: int):
    x = rng.normal(size=(batch, 2**n_qubits))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = rng.integers(0, 2, size=batch).astype(np.float64)
    return x, y


def _self_check() -> None:
    import time

    rng = np.random.default_rng(1234)
    n_qubits, depth, batch = 4, 2, 5
    x, y = _random_batch(rng, batch, n_qubits)
    theta = rng.normal(0.0, 0.5, size=(depth, n_qubits, 4))
    z_ref, loss_ref, grad_ref = _pennylane_reference(theta, x, y, n_qubits, depth)
    z = expectations(theta, x, n_qubits, depth)
    loss, grad = loss_and_grad(theta, x, y, n_qubits, depth)
    dz = float(np.max(np.abs(z - z_ref)))
    dloss = abs(loss - loss_ref)
    dgrad = float(np.max(np.abs(grad - grad_ref)))
    print(f"vs PennyLane default.qubit (L={n_qubits}, D={depth}, B={batch}): "
          f"max|d<Z>| = {dz:.2e}, |d loss| = {dloss:.2e}, max|d grad| = {dgrad:.2e}")
    assert max(dz, dloss, dgrad) < 1e-10, "TensorCircuit-NG baseline disagrees with PennyLane"

    n_qubits, depth, batch, repeats = 10, 6, 256, 10
    x, y = _random_batch(rng, batch, n_qubits)
    theta = rng.normal(0.0, 0.01, size=(depth, n_qubits, 4))
    init_state, step = make_step(n_qubits, depth)
    opt_state = init_state(theta)
    start = time.perf_counter()
    loss, theta, opt_state = step(theta, opt_state, x, y)
    jax.block_until_ready((loss, theta, opt_state))
    compile_s = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        loss, theta, opt_state = step(theta, opt_state, x, y)
        jax.block_until_ready((loss, theta, opt_state))
        times.append(time.perf_counter() - start)
    print(f"L={n_qubits}, D={depth}, B={batch}: first call (path search + compile + run) {compile_s:.2f} s, "
          f"steady-state step median {np.median(times):.4f} s over {repeats} "
          f"(min {min(times):.4f}, max {max(times):.4f}); loss {float(loss):.6f}")


if __name__ == "__main__":
    _self_check()
