"""Loss landscapes around trained solutions: 1-D interpolation between two solutions and 1-D
/ 2-D slices along random or top-Hessian directions (loss-landscape, Li et al. 2018)."""
import time
from dataclasses import dataclass

import numpy as np
import torch

from qml_core.experiments.curvature import (CurvatureSpec, flat_loss, heldout_hessian_qnn, heldout_loss, mlp_subspace,
                                            run_solution, split_data, unflatten_mlp)
from qml_core.specs import Keyed, require, require_float, require_int
from qml_core.store.cache import cached, code_version
from qml_core.training.models import build_model

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


def canonical_sign(v: torch.Tensor) -> torch.Tensor:
    """``v`` or ``-v``, whichever has its largest-magnitude component positive (an eigenvector's
    sign is arbitrary; fixing it makes a slice along it the same whichever solver found it)."""
    return v if v[int(v.abs().argmax())] >= 0 else -v


def top_eigenvectors(hessian: torch.Tensor, k: int = 2) -> list[torch.Tensor]:
    """The k eigenvectors of the largest eigenvalues of a (P, P) Hessian, unit norm, largest
    first, signs by ``canonical_sign``. Implicitly restarted Lanczos (ARPACK) on the dense
    matrix: a full eigendecomposition of the MLP's 8k x 8k Hessian takes minutes, k vectors
    take a second."""
    from scipy.sparse.linalg import eigsh

    matrix = hessian.detach().cpu().numpy()
    if matrix.shape[0] <= k + 1:
        values, vectors = np.linalg.eigh(matrix)
    else:
        values, vectors = eigsh(matrix, k=k, which="LA", v0=np.ones(matrix.shape[0]))
    order = np.argsort(values)[::-1][:k]
    return [canonical_sign(torch.as_tensor(vectors[:, i], dtype=hessian.dtype)) for i in order]


def subspace_top_eigenvectors(loss_fn, theta: torch.Tensor, subspace, k: int = 2) -> list[torch.Tensor]:
    """``top_eigenvectors`` of the Hessian whose range lies in ``subspace`` (a
    ``hessian.Subspace`` E), from the small Eᵀ H E: H = E (Eᵀ H E) Eᵀ, so H's eigenvectors of
    nonzero eigenvalue are E times those of Eᵀ H E. Unless fewer than k of those are positive:
    then H's null space ties with them and the dense Hessian decides, as before."""
    from qml_core.experiments.hessian import exact_hessian, subspace_hessian

    values, vectors = np.linalg.eigh(subspace_hessian(loss_fn, theta, subspace).numpy())
    if subspace.dim < k or not values[-k] > 0:
        return top_eigenvectors(exact_hessian(loss_fn, theta), k)
    return [canonical_sign(subspace.embed(torch.as_tensor(vectors[:, -1 - i]))) for i in range(k)]


def hessian_directions(base: CurvatureSpec, theta: torch.Tensor, k: int = 2) -> list[torch.Tensor]:
    """``top_eigenvectors`` of the held-out loss Hessian of the §5 run ``base`` at ``theta``,
    without autograd's dense P x P Hessian: the QNN's from ``curvature.heldout_hessian_qnn``,
    the MLP's by ``subspace_top_eigenvectors`` on ``curvature.mlp_subspace`` (829 x 829)."""
    _, _, x, y = split_data(base)
    if base.model == "qnn":
        return top_eigenvectors(heldout_hessian_qnn(base, x, y, theta), k)
    model = build_model(base.model_spec, x.shape[1], base.seed)
    return subspace_top_eigenvectors(flat_loss(base, model, x, y)[0], theta, mlp_subspace(model, x), k)


def evaluate(loss_fn, points: torch.Tensor) -> np.ndarray:
    """The loss at every row of ``points`` (n, P), without gradients."""
    with torch.no_grad():
        return np.array([float(loss_fn(p)) for p in points])


def interpolation(loss_fn, theta_a: torch.Tensor, theta_b: torch.Tensor, n: int = 41, extend: float = 0.25) -> dict:
    """Loss along (1 - t)·a + t·b (a: clean, b: poisoned): ``n`` points from t = 0 to t = 1,
    so both solutions are on the grid, and the same step continued ``extend`` beyond each."""
    step = 1.0 / (n - 1)
    pad = int(round(extend / step))
    t = step * np.arange(-pad, n + pad)
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


@dataclass(frozen=True)
class LandscapeSpec(Keyed):
    """A landscape around §5 solutions: ``interpolate`` (clean → poisoned at ``alpha``), or a
    ``slice1d``/``slice2d`` around the poisoned solution along ``random`` directions
    (filter-normalised for the MLP, unit-RMS angles for the QNN) or the top Hessian
    eigenvectors (``hessian``); ``grid`` points per axis, ``span`` in direction units."""
    model: str = "mlp"
    alpha: float = 0.3
    seed: int = 0
    epochs: int = 50
    kind: str = "slice2d"
    directions: str = "random"
    span: float = 1.0
    grid: int = 41

    def __post_init__(self):
        require(self.kind in KINDS, f"kind must be one of {KINDS}, got {self.kind!r}")
        require(self.directions in ("random", "hessian"), f"directions must be 'random' or 'hessian', got {self.directions!r}")
        require_float("span", self.span, 1e-6, 100.0)
        require_int("grid", self.grid, 3, 401)
        self.base  # validates model, alpha, seed, epochs

    @property
    def base(self) -> CurvatureSpec:
        """The §5 run whose solution this landscape surrounds."""
        return CurvatureSpec(model=self.model, alpha=self.alpha, seed=self.seed, epochs=self.epochs)


KINDS = ("interpolate", "slice1d", "slice2d")


def landscape_experiment(spec: LandscapeSpec) -> dict:
    """Evaluate the landscape ``spec`` describes on the held-out loss of its §5 run."""
    start = time.perf_counter()
    base = spec.base
    poisoned, _ = run_solution(base)
    loss_fn, theta = heldout_loss(base, poisoned["params"])
    if spec.kind == "interpolate":
        clean, _ = run_solution(base.replace(alpha=0.0))
        out = interpolation(loss_fn, torch.as_tensor(clean["params"]), theta, n=spec.grid)
    else:
        g = torch.Generator().manual_seed(spec.seed)
        if spec.directions == "hessian":
            d1, d2 = hessian_directions(base, theta)
        elif spec.model == "qnn":
            d1, d2 = angle_direction(theta.numel(), g), angle_direction(theta.numel(), g)
        else:
            parts = [torch.as_tensor(p) for p in unflatten_mlp(base, theta)]
            d1, d2 = filter_normalised(parts, g), filter_normalised(parts, g)
        out = slice_2d(loss_fn, theta, d1, d2, spec.span, spec.grid) if spec.kind == "slice2d" \
            else slice_1d(loss_fn, theta, d1, spec.span, spec.grid)
    return {**out, "kind": spec.kind, "center_loss": float(loss_fn(theta).detach()),
            "seconds": time.perf_counter() - start, "code_version": code_version()}


def run_landscape(spec: LandscapeSpec) -> tuple[dict, bool]:
    """Cached ``landscape_experiment``: (result, was_cached)."""
    return cached("landscape", spec, lambda: landscape_experiment(spec))
