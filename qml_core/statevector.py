"""State-vector kernels of the fused executor, in the layout (dim_a, batch, dim_c).

A circuit here is a program of ``Step``s. Step d applies a unitary U (2**k_a square) to the
k_a most significant qubits of half A (skipped when k_a = 0); then, on the k_c least
significant qubits of half C, a matrix M[p] that depends on the state p of those k_a qubits
(M = U_C^T times the layer's diagonal phase: folding the phase in turns an elementwise pass
into part of one batched matrix product); then, optionally, a basis permutation. k_a and k_c
are below the half sizes when the executor prunes gates outside the readout's light cone.
The readout is Σ |amplitude|² r. Two implementations of the same program:

- ``simulate``: plain torch operations; autograd differentiates it to any order (Hessians).
- ``AdjointSimulation``: the same forward with a hand-written reverse pass (3 matrix products
  per layer and no autograd graph over the big states); first derivatives only, faster.

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
    """new[a, b, c] = state at basis index[(a, c)], batch b kept."""
    da, batch, dc = state.shape
    flat = state.permute(0, 2, 1).reshape(da * dc, batch)[index]
    return flat.reshape(da, dc, batch).permute(0, 2, 1).contiguous()


def blocks(state: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """View (p, rest, q) of the state for M's (p, q, q) batched product."""
    return state.reshape(m.shape[0], -1, m.shape[1])


def layer(state: torch.Tensor, u: torch.Tensor | None, m: torch.Tensor, step: Step):
    """One layer's forward; returns (new state, T1 = the state after U)."""
    t1 = (u @ state.reshape(u.shape[0], -1)).reshape(state.shape) if step.k_a else state
    t2 = torch.bmm(blocks(t1, m), m).reshape(state.shape)
    return (apply_perm(t2, step.src) if step.src is not None else t2), t1


def readout(state: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Σ_{a,c} |state[a, b, c]|² r[a, c] for every batch entry b: (batch,) real."""
    return ((state.real.square() + state.imag.square()) * r.unsqueeze(1)).sum((0, 2))


def simulate(state, program, r, us, ms):
    """Run ``program`` with torch ops (differentiable to any order).

    state: (da, batch, dc) complex; r: (da, dc) real; us[d]: (2**k_a, 2**k_a) or None;
    ms[d]: (2**k_a, 2**k_c, 2**k_c). Returns (batch,).
    """
    for step, u, m in zip(program, us, ms):
        state = layer(state, u, m, step)[0]
    return readout(state, r)


class AdjointSimulation(torch.autograd.Function):
    """``simulate`` with a hand-written reverse pass; call as
    ``AdjointSimulation.apply(state, program, r, *us, *ms)``."""

    @staticmethod
    def forward(ctx, state, program, r, *matrices):
        us, ms = matrices[:len(program)], matrices[len(program):]
        saved = []
        for step, u, m in zip(program, us, ms):
            new, t1 = layer(state, u, m, step)
            saved.append((state if step.k_a else None, t1))
            state = new
        ctx.program, ctx.saved, ctx.us, ctx.ms = program, saved, us, ms
        ctx.save_for_backward(r, state)
        return readout(state, r)

    @staticmethod
    def backward(ctx, grad_out):
        if torch.is_grad_enabled():  # autograd enables grad mode here only for create_graph=True
            raise RuntimeError("the adjoint executor gives first derivatives only; "
                               "use FusedExecutor(..., backward='autograd') for Hessians")
        r, final = ctx.saved_tensors
        n = len(ctx.program)
        g_u, g_m = [None] * n, [None] * n
        lam = final * (2 * grad_out).view(1, -1, 1) * r.unsqueeze(1)  # dL/d conj(final state)
        for d in reversed(range(n)):
            step, (s_in, t1), u, m = ctx.program[d], ctx.saved[d], ctx.us[d], ctx.ms[d]
            if step.src is not None:
                lam = apply_perm(lam, step.inverse)
            g_m[d] = torch.bmm(blocks(t1, m).mH, blocks(lam, m))
            if d == 0 and not step.k_a:
                break
            lam = torch.bmm(blocks(lam, m), m.mH).reshape(final.shape)
            if step.k_a:
                lam_rows = lam.reshape(u.shape[0], -1)
                g_u[d] = lam_rows @ s_in.reshape(u.shape[0], -1).mH
                if d > 0:
                    lam = (u.mH @ lam_rows).reshape(final.shape)
        ctx.saved = ctx.us = ctx.ms = None
        return (None, None, None, *g_u, *g_m)
