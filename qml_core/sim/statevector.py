"""State-vector kernels of the fused executor, in the layout (runs, dim_a, batch, dim_c).

The leading ``runs`` axis carries independent parameter sets (a batch of training runs of one
architecture, each with its own circuit and its own inputs); a single run is runs = 1. Every
product below is one batched matrix product over that axis, so R runs cost one call each.

A circuit here is a program of ``Step``s. Step d applies a unitary U (2**k_a square) to the
k_a most significant qubits of half A (skipped when k_a = 0); then, on the k_c least
significant qubits of half C, a matrix M[p] that depends on the state p of those k_a qubits
(M = U_C^T times the layer's diagonal phase: folding the phase in turns an elementwise pass
into part of one batched matrix product); then, optionally, a basis permutation. k_a and k_c
are below the half sizes when the executor prunes gates outside the readout's light cone.
The readout is Σ |amplitude|² r. Three implementations of the same program:

- ``simulate``: plain torch operations; autograd differentiates it to any order (Hessians).
- ``AdjointEvolution``: the same forward with a hand-written reverse pass (3 matrix products
  per layer and no autograd graph over the big states); first derivatives only, faster.
- ``observable`` + ``expectation``: the Heisenberg picture for the last layers. From a layer
  whose light cone leaves qubits out, the rest of the circuit is a small unitary V on the
  cone; O = V† R V is built once per call from the basis states of the cone, and each slice
  of the state over the qubits outside the cone contributes x† O x. One product with a small
  matrix then replaces the late layers' passes over the whole state.

Gradient convention (torch's, for complex inputs): G such that dL = Re Σ conj(G) dz.
"""
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Step:
    """One layer's shape: U on the top ``k_a`` qubits of A, M on the bottom ``k_c`` qubits
    of C, then the gather ``src`` (``inverse`` for the reverse pass) if it ends with a
    permutation."""
    k_a: int
    k_c: int
    src: torch.Tensor | None = None
    inverse: torch.Tensor | None = None


def apply_perm(state: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """new[r, a, b, c] = state[r] at basis index[(a, c)], run r and batch b kept."""
    runs, da, batch, dc = state.shape
    flat = state.permute(0, 1, 3, 2).reshape(runs, da * dc, batch)[:, index]
    return flat.reshape(runs, da, dc, batch).permute(0, 1, 3, 2).contiguous()


def rows(state: torch.Tensor, k_a: int) -> torch.Tensor:
    """(runs, 2**k_a, rest) view of the state for U's product."""
    return state.reshape(state.shape[0], 2 ** k_a, -1)


def blocks(state: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """(runs, p, rest, q) view of the state for M's (runs, p, q, q) batched product."""
    return state.reshape(state.shape[0], m.shape[1], -1, m.shape[2])


def layer(state: torch.Tensor, u: torch.Tensor | None, m: torch.Tensor, step: Step):
    """One layer's forward; returns (new state, T1 = the state after U)."""
    t1 = torch.matmul(u, rows(state, step.k_a)).reshape(state.shape) if step.k_a else state
    t2 = torch.matmul(blocks(t1, m), m).reshape(state.shape)
    return (apply_perm(t2, step.src) if step.src is not None else t2), t1


def readout(state: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Σ_{a,c} |state[run, a, b, c]|² r[a, c] for every run and batch entry: (runs, batch) real."""
    return ((state.real.square() + state.imag.square()) * r[:, None, :]).sum((1, 3))


def evolve(state, program, us, ms):
    """The state after every step of ``program`` (plain torch ops)."""
    for step, u, m in zip(program, us, ms):
        state = layer(state, u, m, step)[0]
    return state


def simulate(state, program, r, us, ms):
    """Run ``program`` with torch ops (differentiable to any order).

    state: (runs, da, batch, dc) complex; r: (da, dc) real; us[d]: (runs, 2**k_a, 2**k_a) or
    None; ms[d]: (runs, 2**k_a, 2**k_c, 2**k_c). Returns (runs, batch).
    """
    return readout(evolve(state, program, us, ms), r)


def observable(program, r, us, ms, k_a: int, k_c: int) -> torch.Tensor:
    """O = V† diag(r) V on the light cone of the first step (its top k_a qubits of A and
    bottom k_c of C, 2**(k_a + k_c) = d states, index a * 2**k_c + c): (runs, d, d).

    r: the readout on the cone, (2**k_a, 2**k_c). Every step must stay inside the cone and
    have no permutation. V's columns are the cone's basis states run through the program
    (with the autograd ops of ``evolve``: these states are small).
    """
    runs, dim = ms[0].shape[0], 2 ** (k_a + k_c)
    basis = torch.eye(dim, dtype=ms[0].dtype, device=ms[0].device).reshape(dim, 2 ** k_a, 2 ** k_c)
    final = evolve(basis.permute(1, 0, 2).expand(runs, -1, -1, -1), program, us, ms)
    v = final.permute(0, 1, 3, 2).reshape(runs, dim, dim)  # v[run, (a, c), input basis state]
    return v.mH @ (r.reshape(-1, 1).to(v.dtype) * v)


def expectation(o: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Σ Re x† O x per run and sample, over the slices of x (runs, batch, *slices, d_a, d_c),
    real or complex, any strides (a permuted view of the state; the last two axes are the
    cone's parts of halves A and C), for O (runs, d_a·d_c, d_a·d_c) Hermitian: (runs, batch)
    real. One (runs, batch·slices, d) product; plain torch ops (autograd differentiates it to
    any order)."""
    return row_sums(*observed(o, x), x.shape[1])


def observed(o: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """x as rows (runs, batch·slices, d) and O applied to each: the one product of the tail
    (x† O x needs only Re O for real x)."""
    flat = x.reshape(x.shape[0], -1, x.shape[-2] * x.shape[-1])
    return flat, flat @ (o.mT if x.is_complex() else o.real.mT)


def row_sums(flat: torch.Tensor, y: torch.Tensor, batch: int) -> torch.Tensor:
    """Σ Re conj(flat) y over each sample's rows: (runs, batch) real."""
    pairs = (torch.view_as_real(flat) * torch.view_as_real(y)) if flat.is_complex() else flat * y
    return pairs.reshape(flat.shape[0], batch, -1).sum(-1)


def refuse_second_derivatives() -> None:
    """Called first in a hand-written reverse pass: autograd enables grad mode there only for
    create_graph=True, a second derivative these passes cannot give."""
    if torch.is_grad_enabled():
        raise RuntimeError("the adjoint executor gives first derivatives only; "
                           "use FusedExecutor(..., backward='autograd') for Hessians")


class Expectation(torch.autograd.Function):
    """``expectation`` with a hand-written reverse pass (first derivatives only), from the
    forward's own products: the gradient of x is 2 g O x (O Hermitian), written straight into
    x's strides so that the state's layout needs no copy on the way back, and that of O is
    Σ g x x†, one small product. Call as ``Expectation.apply(o, x)``."""

    @staticmethod
    def forward(ctx, o, x):
        flat, y = observed(o, x)
        ctx.save_for_backward(flat, y)
        ctx.x_shape, ctx.x_stride, ctx.o_dtype = x.shape, x.stride(), o.dtype
        return row_sums(flat, y, x.shape[1])

    @staticmethod
    def backward(ctx, g):
        refuse_second_derivatives()
        flat, y = ctx.saved_tensors
        g = g.to(flat.real.dtype)
        runs, batch = g.shape
        grad_o = grad_x = None
        if ctx.needs_input_grad[0]:  # Σ g x x† = conj((g conj(x))ᵀ x): transposes only, no conjugate copy of x
            weight = g[:, :, None].expand(runs, batch, flat.shape[1] // batch).reshape(runs, -1, 1)
            grad_o = ((weight * flat.conj()).mT @ flat).conj_physical().to(ctx.o_dtype)
        if ctx.needs_input_grad[1]:
            grad_x = torch.empty_strided(ctx.x_shape, ctx.x_stride, dtype=y.dtype, device=y.device)
            torch.mul(y.reshape(ctx.x_shape), 2 * g.reshape(runs, batch, *[1] * (len(ctx.x_shape) - 2)), out=grad_x)
        return grad_o, grad_x


class AdjointEvolution(torch.autograd.Function):
    """``evolve`` with a hand-written reverse pass (3 matrix products per layer and no autograd
    graph over the big states; first derivatives only); call as
    ``AdjointEvolution.apply(state, program, *us, *ms)``. Returns the final state; its reverse
    pass takes the gradient with respect to that state, so any differentiable readout (the
    diagonal ``readout``, or ``expectation`` on a Heisenberg tail) can follow it."""

    @staticmethod
    def forward(ctx, state, program, *matrices):
        us, ms = matrices[:len(program)], matrices[len(program):]
        saved = []
        for step, u, m in zip(program, us, ms):
            new, t1 = layer(state, u, m, step)
            saved.append((state if step.k_a else None, t1))
            state = new
        ctx.program, ctx.saved, ctx.us, ctx.ms = program, saved, us, ms
        return state

    @staticmethod
    def backward(ctx, lam):
        refuse_second_derivatives()
        n, shape = len(ctx.program), lam.shape
        g_u, g_m = [None] * n, [None] * n
        # The pass carries mu = conj(lam): then every product takes plain transposes, which BLAS
        # reads in place, where the conjugate transposes of lam's pass would first be copied.
        mu = lam.conj_physical()
        for d in reversed(range(n)):
            step, (s_in, t1), u, m = ctx.program[d], ctx.saved[d], ctx.us[d], ctx.ms[d]
            if step.src is not None:
                mu = apply_perm(mu, step.inverse)
            g_m[d] = torch.matmul(blocks(t1, m).mT, blocks(mu, m)).conj_physical()
            if d == 0 and not step.k_a:
                break
            mu = torch.matmul(blocks(mu, m), m.mT).reshape(shape)
            if step.k_a:
                mu_rows = rows(mu, step.k_a)
                g_u[d] = (mu_rows @ rows(s_in, step.k_a).mT).conj_physical()
                if d > 0:
                    mu = (u.mT @ mu_rows).reshape(shape)
        ctx.saved = ctx.us = ctx.ms = None
        return (None, None, *g_u, *g_m)
