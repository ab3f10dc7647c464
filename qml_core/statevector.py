"""State-vector kernels of the fused executor, in the layout (dim_a, batch, dim_c).

A circuit here is a ``Program`` of layers. Layer d applies U_A (optional) to half A, then a
matrix M[d, a] to half C for each basis state a of half A (M = U_C^T times the layer's
diagonal phase, which depends on a: folding the phase into M turns a separate elementwise pass
into part of one batched matrix product), then optionally a basis permutation. The readout is
Σ |amplitude|² r. Two implementations of the same program:

- ``simulate``: plain torch operations; autograd differentiates it to any order (Hessians).
- ``AdjointSimulation``: the same forward with a hand-written reverse pass (3 matrix products
  per layer and no autograd graph over the big states); first derivatives only, faster.

Gradient convention (torch's, for complex inputs): G such that dL = Re Σ conj(G) dz.
"""
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Step:
    """One layer: apply U_A?, then M, then the gather ``src`` (its inverse for the reverse
    pass) when the layer ends with a basis permutation."""
    apply_a: bool
    src: torch.Tensor | None = None
    inverse: torch.Tensor | None = None


def apply_perm(state: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """new[a, b, c] = state at basis index[(a, c)], batch b kept."""
    da, batch, dc = state.shape
    flat = state.permute(0, 2, 1).reshape(da * dc, batch)[index]
    return flat.reshape(da, dc, batch).permute(0, 2, 1).contiguous()


def layer(state: torch.Tensor, u_a: torch.Tensor, m: torch.Tensor, step: Step):
    """One layer's forward; returns (new state, T1 = the state after U_A)."""
    da, batch, dc = state.shape
    t1 = (u_a @ state.reshape(da, batch * dc)).reshape(da, batch, dc) if step.apply_a else state
    t2 = torch.bmm(t1, m)
    return (apply_perm(t2, step.src) if step.src is not None else t2), t1


def readout(state: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Σ_{a,c} |state[a, b, c]|² r[a, c] for every batch entry b: (batch,) real."""
    return ((state.real.square() + state.imag.square()) * r.unsqueeze(1)).sum((0, 2))


def simulate(state, u_a, m, program, r):
    """Run ``program`` with torch ops (differentiable to any order).

    state: (da, batch, dc) complex; u_a: (D, da, da); m: (D, da, dc, dc); r: (da, dc) real.
    Returns (batch,).
    """
    for d, step in enumerate(program):
        state = layer(state, u_a[d], m[d], step)[0]
    return readout(state, r)


class AdjointSimulation(torch.autograd.Function):
    """``simulate`` with a hand-written reverse pass (see the module docstring)."""

    @staticmethod
    def forward(ctx, state, u_a, m, program, r):
        saved = []
        for d, step in enumerate(program):
            new, t1 = layer(state, u_a[d], m[d], step)
            saved.append((state if step.apply_a else None, t1))
            state = new
        ctx.program, ctx.saved = program, saved
        ctx.save_for_backward(u_a, m, r, state)
        return readout(state, r)

    @staticmethod
    def backward(ctx, grad_out):
        if torch.is_grad_enabled():  # autograd enables grad mode here only for create_graph=True
            raise RuntimeError("the adjoint executor gives first derivatives only; "
                               "use FusedExecutor(..., backward='autograd') for Hessians")
        u_a, m, r, final = ctx.saved_tensors
        da, batch, dc = final.shape
        g_a, g_m = torch.zeros_like(u_a), torch.zeros_like(m)
        lam = final * (2 * grad_out).view(1, batch, 1) * r.unsqueeze(1)  # dL/d conj(final state)
        for d in reversed(range(len(ctx.program))):
            step, (s_in, t1) = ctx.program[d], ctx.saved[d]
            if step.src is not None:
                lam = apply_perm(lam, step.inverse)
            g_m[d] = torch.bmm(t1.mH, lam)
            if d == 0 and not step.apply_a:
                break
            lam = torch.bmm(lam, m[d].mH).reshape(da, batch * dc)
            if step.apply_a:
                g_a[d] = lam @ s_in.reshape(da, batch * dc).mH
                if d > 0:
                    lam = u_a[d].mH @ lam
            lam = lam.reshape(da, batch, dc)
        ctx.saved = None
        return None, g_a, g_m, None, None
