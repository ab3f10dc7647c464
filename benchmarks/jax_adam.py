"""The Adam step both JAX baselines time: value_and_grad of their loss and optax's Adam (the
betas and eps of torch.optim.Adam), one ``jax.jit`` call per step, float64 throughout."""
from __future__ import annotations

import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", True)

import optax  # noqa: E402

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


def as_f64(a) -> jax.Array:
    return jnp.asarray(a, dtype=jnp.float64)


def adam_step(loss, lr: float):
    """(init_state, step) for ``loss(theta, x, y)``: init_state(theta (D, L, 4)) -> optax state,
    step(theta, opt_state, x, y) -> (loss, theta_new, opt_state_new). x: (B, 2**L); y: (B,)."""
    optimizer = optax.adam(lr, b1=ADAM_BETAS[0], b2=ADAM_BETAS[1], eps=ADAM_EPS)

    def init_state(theta):
        return optimizer.init(as_f64(theta))

    @jax.jit
    def _step(theta, opt_state, x, y):
        value, grad = jax.value_and_grad(loss)(theta, x, y)
        updates, opt_state = optimizer.update(grad, opt_state, theta)
        return value, optax.apply_updates(theta, updates), opt_state

    def step(theta, opt_state, x, y):
        return _step(as_f64(theta), opt_state, as_f64(x), as_f64(y))

    return init_state, step


def with_bce(batched_expectation):
    """(jitted expectation, loss, jitted value_and_grad of the loss) for a circuit's batched
    <Z> function: the loss is the BCE of p = sigmoid(5 <Z>) against 0/1 labels y."""
    def loss(theta, x, y):
        logits = 5.0 * batched_expectation(theta, x)
        # log p = log sigmoid(s), log(1 - p) = log sigmoid(-s): the BCE of p = sigmoid(s), stably
        return -jnp.mean(y * jax.nn.log_sigmoid(logits) + (1.0 - y) * jax.nn.log_sigmoid(-logits))

    return jax.jit(batched_expectation), loss, jax.jit(jax.value_and_grad(loss))
