"""The W1 baseline: the paper QNN's training step in TensorCircuit-NG + JAX (the stack of the
paper's own code), written as that library intends it to be used.

jit over the whole step, vmap over the batch, value_and_grad, complex128/float64, and the
cotengra contractor (a ReusableHyperOptimizer: its search result is reused for every call of
the same contraction; max_repeats=64 with a 60 s search cap keeps the first compile bounded
on 2 cores while still finding good paths for a 10-qubit, depth-6 network). Gates follow
PennyLane's conventions (RX(t) = exp(-i t X/2), RZZ(t) = exp(-i t Z⊗Z/2)), qubit 0 most
significant, readout <Z_{n-1}>, p = sigmoid(5<Z>), mean BCE, Adam (optax).
"""
import cotengra
import jax
import jax.numpy as jnp
import numpy as np
import optax
import tensorcircuit as tc

jax.config.update("jax_enable_x64", True)
tc.set_backend("jax")
tc.set_dtype("complex128")
tc.set_contractor("custom", optimizer=cotengra.ReusableHyperOptimizer(
    methods=["greedy", "kahypar"], parallel=False, minimize="flops", max_time=60, max_repeats=64, progbar=False),
    preprocessing=True)


def expectation(theta, x, n_qubits: int, depth: int):
    """<Z_{n-1}> of one input state x (2**n,) after the ansatz with weights theta (depth, n, 4)."""
    c = tc.Circuit(n_qubits, inputs=x.astype(jnp.complex128))
    for d in range(depth):
        for i in range(n_qubits):
            c.rx(i, theta=theta[d, i, 0])
            c.ry(i, theta=theta[d, i, 1])
            c.rx(i, theta=theta[d, i, 2])
        for i in range(n_qubits):
            c.rzz(i, (i + 1) % n_qubits, theta=theta[d, i, 3])
    return jnp.real(c.expectation_ps(z=[n_qubits - 1]))


def _loss(theta, x, y, n_qubits, depth):
    z = jax.vmap(expectation, in_axes=(None, 0, None, None))(theta, x, n_qubits, depth)
    p = jnp.clip(jax.nn.sigmoid(5.0 * z), 1e-12, 1 - 1e-12)
    return -jnp.mean(y * jnp.log(p) + (1 - y) * jnp.log(1 - p))


def make_step(n_qubits: int = 10, depth: int = 6, lr: float = 0.005):
    """(init_state, step): init_state(theta) -> Adam state; step(theta, opt_state, x, y) ->
    (loss, theta, opt_state), jitted as one function. x: (B, 2**n) float64; y: (B,) float64."""
    optimizer = optax.adam(lr)

    @jax.jit
    def step(theta, opt_state, x, y):
        loss, grad = jax.value_and_grad(_loss)(theta, x, y, n_qubits, depth)
        updates, opt_state = optimizer.update(grad, opt_state, theta)
        return loss, optax.apply_updates(theta, updates), opt_state

    return (lambda theta: optimizer.init(jnp.asarray(theta))), step


def expectations(theta, x, n_qubits: int, depth: int) -> np.ndarray:
    """<Z_{n-1}> for every row of x, (B,) float64."""
    fn = jax.vmap(expectation, in_axes=(None, 0, None, None))
    return np.asarray(fn(jnp.asarray(theta), jnp.asarray(x), n_qubits, depth))


def loss_and_grad(theta, x, y, n_qubits: int, depth: int) -> tuple[float, np.ndarray]:
    """Mean BCE and its gradient (depth, n, 4), without an optimiser step."""
    loss, grad = jax.value_and_grad(_loss)(jnp.asarray(theta), jnp.asarray(x), jnp.asarray(y), n_qubits, depth)
    return float(loss), np.asarray(grad)
