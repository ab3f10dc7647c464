"""Loss landscapes around trained solutions: 1-D interpolation between two solutions and 1-D
/ 2-D slices along random or top-Hessian directions (loss-landscape, Li et al. 2018)."""
import numpy as np
import torch

QNN_ANGLE_SCALE = 1.0  # a QNN direction has unit RMS angle per parameter (radians); spans multiply it


def filter_normalised(theta_parts: list[torch.Tensor], generator: torch.Generator) -> torch.Tensor:
    """A random direction for an MLP, flat: per weight matrix, each row (filter) of a Gaussian
    draw rescaled to the norm of the same row of the solution; biases left at zero."""
    parts = []
    for p in theta_parts:
        if p.ndim < 2:
            parts.append(torch.zeros_like(p).reshape(-1))
            continue
        d = torch.randn(p.shape, generator=generator, dtype=p.dtype)
        d = d * (p.norm(dim=1, keepdim=True) / d.norm(dim=1, keepdim=True).clamp_min(1e-12))
        parts.append(d.reshape(-1))
    return torch.cat(parts)


def angle_direction(n_params: int, generator: torch.Generator) -> torch.Tensor:
    """A random direction in a QNN's angle space: Gaussian, rescaled to RMS QNN_ANGLE_SCALE rad."""
    d = torch.randn(n_params, generator=generator, dtype=torch.float64)
    return d * (QNN_ANGLE_SCALE * n_params ** 0.5 / d.norm())


def top_eigenvectors(hessian: torch.Tensor, k: int = 2) -> list[torch.Tensor]:
    """The k eigenvectors of the largest eigenvalues of a (P, P) Hessian, unit norm."""
    _, vectors = torch.linalg.eigh(hessian)
    return [vectors[:, -i] for i in range(1, k + 1)]


def evaluate(loss_fn, points: torch.Tensor) -> np.ndarray:
    """The loss at every row of ``points`` (n, P), without gradients."""
    with torch.no_grad():
        return np.array([float(loss_fn(p)) for p in points])


def interpolation(loss_fn, theta_a: torch.Tensor, theta_b: torch.Tensor, n: int = 41, extend: float = 0.25) -> dict:
    """Loss along (1 - t)·a + t·b for t on [-extend, 1 + extend] (a: clean, b: poisoned)."""
    t = np.linspace(-extend, 1 + extend, n)
    points = torch.stack([(1 - s) * theta_a + s * theta_b for s in t])
    return {"t": t.tolist(), "loss": evaluate(loss_fn, points).tolist()}


def slice_2d(loss_fn, theta: torch.Tensor, d1: torch.Tensor, d2: torch.Tensor, span: float = 1.0, n: int = 41) -> dict:
    """Loss on the plane θ + a·d1 + b·d2, a and b on [-span, span] with n points each;
    ``loss`` is (n, n) indexed [b][a]."""
    axis = np.linspace(-span, span, n)
    a, b = np.meshgrid(axis, axis)
    coords = torch.as_tensor(np.stack([a.ravel(), b.ravel()], axis=1), dtype=theta.dtype)
    points = theta + coords[:, :1] * d1 + coords[:, 1:] * d2
    return {"a": axis.tolist(), "b": axis.tolist(), "loss": evaluate(loss_fn, points).reshape(n, n).tolist()}


def slice_1d(loss_fn, theta: torch.Tensor, d: torch.Tensor, span: float = 1.0, n: int = 41) -> dict:
    """Loss along θ + a·d, a on [-span, span]."""
    axis = np.linspace(-span, span, n)
    points = theta + torch.as_tensor(axis, dtype=theta.dtype)[:, None] * d
    return {"a": axis.tolist(), "loss": evaluate(loss_fn, points).tolist()}
