"""Plain JAX state-vector reference of one QNN training step (loss, gradient, Adam): the second W1 baseline.

Independent of TensorCircuit-NG (``tc_jax_baseline.py``) and of ``qml_core`` (whose fused torch
executor uses the same layout, but with a hand-written adjoint backward; here autodiff does it).

Circuit (protocol §3): amplitude-encoded input on ``L`` qubits (qubit 0 = most significant bit),
``D`` layers of RX(θ0) RY(θ1) RX(θ2) on every qubit, then IsingZZ(θ3) on (i, (i+1) % L), gates as in
PennyLane (RX(t) = exp(-i t X/2), IsingZZ(t) = exp(-i t Z⊗Z/2)); ``p = sigmoid(5 <Z_{L-1}>)``,
loss = mean binary cross-entropy, Adam(lr, betas 0.9/0.999, eps 1e-8) from optax, complex128.

How a layer is applied, per sample (``jax.vmap`` over the batch):

* the three rotations of a qubit are fused into one 2x2 matrix ``U_q = RX(θ2) RY(θ1) RX(θ0)``;
* the qubits are split into a top half A (qubits 0..L//2-1) and a bottom half C (the rest); the
  state is a (2**|A|, 2**|C|) matrix ``psi`` (row = A's bits, column = C's bits), and the layer's
  rotations are ``U_A @ psi @ U_C^T`` with ``U_A = U_0 ⊗ … ⊗ U_{|A|-1}``, ``U_C`` likewise;
* the IsingZZ ring is diagonal: an elementwise product with ``exp(-i/2 Σ_i θ3_i z_i z_{i+1})``.

``U_A``, ``U_C`` and the phase depend on the weights only, so under ``vmap`` they are built once
per step. The whole step (value_and_grad + Adam) is one ``jax.jit``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

from jax_adam import adam_step, as_f64, with_bce  # noqa: E402


def _fused_rotations(layer_theta):
    """(L, 4) layer weights -> (L, 2, 2) complex128 matrices RX(θ2) @ RY(θ1) @ RX(θ0)."""
    def rx(t):
        c, s = jnp.cos(t / 2).astype(jnp.complex128), jnp.sin(t / 2).astype(jnp.complex128)
        return jnp.stack([jnp.stack([c, -1j * s], -1), jnp.stack([-1j * s, c], -1)], -2)

    def ry(t):
        c, s = jnp.cos(t / 2).astype(jnp.complex128), jnp.sin(t / 2).astype(jnp.complex128)
        return jnp.stack([jnp.stack([c, -s], -1), jnp.stack([s, c], -1)], -2)

    return rx(layer_theta[:, 2]) @ ry(layer_theta[:, 1]) @ rx(layer_theta[:, 0])


def _kron_all(mats):
    """Kronecker product of (k, 2, 2) matrices, the first one the most significant."""
    out = mats[0]
    for m in mats[1:]:
        out = jnp.kron(out, m)
    return out


@functools.lru_cache(maxsize=None)
def _functions(n_qubits: int, depth: int):
    """(jitted batched <Z_{L-1}>, batch loss, jitted value_and_grad of the loss) for one shape."""
    n_a = n_qubits // 2
    shape = (2**n_a, 2 ** (n_qubits - n_a))
    bits = (np.arange(2**n_qubits)[:, None] >> np.arange(n_qubits - 1, -1, -1)) & 1  # (2**L, L), qubit 0 = MSB
    z = 1.0 - 2.0 * bits
    zz = jnp.asarray(z * np.roll(z, -1, axis=1))  # (2**L, L): z_i z_{i+1 mod L}
    z_last = jnp.asarray(z[:, -1].reshape(shape))

    def layer_operators(theta):
        """Per layer: U_A (2**|A| square), U_C^T, and the ZZ-ring phase reshaped like psi."""
        u = jax.vmap(_fused_rotations)(theta)  # (D, L, 2, 2)
        u_a = jnp.stack([_kron_all(u[d, :n_a]) for d in range(depth)])
        u_c_t = jnp.stack([_kron_all(u[d, n_a:]).T for d in range(depth)])
        phase = jnp.exp(-0.5j * (zz @ theta[:, :, 3].T)).T.reshape(depth, *shape)
        return u_a, u_c_t, phase

    def expectation_one(ops, x):
        u_a, u_c_t, phase = ops
        psi = x.astype(jnp.complex128).reshape(shape)
        for d in range(depth):
            psi = (u_a[d] @ psi @ u_c_t[d]) * phase[d]
        return jnp.sum((psi.real**2 + psi.imag**2) * z_last)

    batched = jax.vmap(expectation_one, in_axes=(None, 0))

    def batched_expectation(theta, x):
        return batched(layer_operators(theta), x)

    return with_bce(batched_expectation)


def make_step(n_qubits: int = 10, depth: int = 6, lr: float = 0.005):
    """Same interface as ``tc_jax_baseline.make_step``: (init_state, step), see ``jax_adam.adam_step``."""
    _, loss, _ = _functions(n_qubits, depth)
    return adam_step(loss, lr)


def expectations(theta, x, n_qubits: int, depth: int) -> np.ndarray:
    """<Z_{L-1}> for every row of x, (B,) float64."""
    batched_expectation, _, _ = _functions(n_qubits, depth)
    return np.asarray(batched_expectation(as_f64(theta), as_f64(x)))


def loss_and_grad(theta, x, y, n_qubits: int, depth: int) -> tuple[float, np.ndarray]:
    """Loss and gradient (D, L, 4) without the Adam update."""
    _, _, value_and_grad = _functions(n_qubits, depth)
    value, grad = value_and_grad(as_f64(theta), as_f64(x), as_f64(y))
    return float(value), np.asarray(grad)


def torch_reference(executor_name: str, theta, x, y) -> tuple[float, np.ndarray]:
    """Loss and gradient from a ``qml_core`` executor ('fused' or a PennyLane device), float64,
    with the project's own loss: BCE of sigmoid(5 <Z_{L-1}>)."""
    import torch

    from qml_core.sim.executor import make_executor

    depth, n_qubits, _ = theta.shape
    executor = make_executor(executor_name, "paper", depth, n_qubits)
    w = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    p = torch.sigmoid(5.0 * executor(w, torch.tensor(x, dtype=torch.float64)))
    loss = torch.nn.functional.binary_cross_entropy(p, torch.tensor(y, dtype=torch.float64))
    loss.backward()
    return float(loss.detach()), w.grad.numpy().copy()


def check_against(executor_name: str = "fused", n_qubits: int = 10, depth: int = 6, batch: int = 32,
                  seed: int = 0, scale: float = 0.5, tol: float = 1e-10) -> dict:
    """Loss and gradient of this baseline vs a ``qml_core`` executor on random unit-norm inputs,
    random labels and N(0, scale²) weights; raises AssertionError beyond ``tol``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, 2**n_qubits))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = rng.integers(0, 2, size=batch).astype(np.float64)
    theta = rng.normal(0.0, scale, size=(depth, n_qubits, 4))
    loss_ref, grad_ref = torch_reference(executor_name, theta, x, y)
    loss, grad = loss_and_grad(theta, x, y, n_qubits, depth)
    result = {"against": executor_name, "n_qubits": n_qubits, "depth": depth, "batch": batch,
              "loss": loss, "abs_diff_loss": abs(loss - loss_ref),
              "max_abs_diff_grad": float(np.max(np.abs(grad - grad_ref))),
              "max_abs_grad": float(np.max(np.abs(grad_ref)))}
    assert result["abs_diff_loss"] < tol and result["max_abs_diff_grad"] < tol, \
        f"JAX state-vector baseline disagrees with {executor_name}: {result}"
    return result


if __name__ == "__main__":
    import pathlib
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))  # qml_core
    print(check_against("fused", 10, 6))
    print(check_against("default.qubit", 4, 3, batch=5))
