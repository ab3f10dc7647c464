"""Curvature kernels against exact Hessians: a known quadratic and a tiny torch MLP."""
import numpy as np
import pytest
import torch

from qml_core.experiments.hessian import (Subspace, _hvp_operator, density_on_grid, exact_hessian, exact_spectrum,
                                          hutchinson_trace, hvp, lanczos, slq_density, spectrum_of, subspace_hessian)

P_QUAD = 30


@pytest.fixture(scope="module")
def quadratic():
    """A random symmetric indefinite A (30, 30), the loss 0.5·θᵀAθ and a point θ."""
    g = torch.Generator().manual_seed(0)
    m = torch.randn(P_QUAD, P_QUAD, generator=g, dtype=torch.float64)
    a = (m + m.T) / 2
    return a, (lambda theta: 0.5 * theta @ a @ theta), torch.randn(P_QUAD, generator=g, dtype=torch.float64)


def flat_mlp_loss(seed: int = 0):
    """BCE of a 6 → 5 tanh → 1 sigmoid torch MLP on 40 random samples, as a loss of the flat
    parameter vector (split into the module's named parameters, evaluated by functional_call),
    and the module's initial flat parameters (41,)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(40, 6, generator=g, dtype=torch.float64)
    y = torch.randint(0, 2, (40,), generator=g).double()
    torch_seed = int(torch.randint(0, 2 ** 31, (1,), generator=g))
    with torch.random.fork_rng():
        torch.manual_seed(torch_seed)
        net = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1),
                                  torch.nn.Sigmoid()).double()
    names, shapes = zip(*[(name, p.shape) for name, p in net.named_parameters()])
    sizes = [s.numel() for s in shapes]

    def loss_fn(theta):
        params = {n: t.reshape(s) for n, t, s in zip(names, torch.split(theta, sizes), shapes)}
        return torch.nn.functional.binary_cross_entropy(torch.func.functional_call(net, params, (x,))[:, 0], y)
    theta = torch.cat([p.detach().reshape(-1) for p in net.parameters()])
    return loss_fn, theta


@pytest.fixture(scope="module")
def mlp():
    """The MLP loss, its parameters and its exact Hessian, spectrum and moments trace(Hᵖ)/P."""
    loss_fn, theta = flat_mlp_loss()
    hessian = exact_hessian(loss_fn, theta).numpy()
    eigenvalues = np.linalg.eigvalsh(hessian)
    moments = {p: float(np.mean(eigenvalues ** p)) for p in (1, 2, 4)}
    return loss_fn, theta, hessian, eigenvalues, moments


def test_quadratic_hessian_hvp_and_spectrum(quadratic):
    a, loss_fn, theta = quadratic
    v = torch.randn(P_QUAD, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    torch.testing.assert_close(exact_hessian(loss_fn, theta), a, rtol=0, atol=1e-12)
    torch.testing.assert_close(hvp(loss_fn, theta, v), a @ v, rtol=0, atol=1e-12)
    spectrum = exact_spectrum(loss_fn, theta)
    expected = np.linalg.eigvalsh(a.numpy())
    np.testing.assert_allclose(spectrum["eigenvalues"], expected, atol=1e-10)
    assert spectrum["trace"] == pytest.approx(float(a.trace()), abs=1e-10)
    assert (spectrum["min"], spectrum["max"]) == pytest.approx((expected[0], expected[-1]), abs=1e-10)


def column_hessian(loss_fn, theta):
    """The reference: one double-backward HVP per column, symmetrised (the original route)."""
    op = _hvp_operator(loss_fn, theta)
    hessian = torch.stack([op(e) for e in torch.eye(theta.numel(), dtype=theta.dtype)])
    return (hessian + hessian.T) / 2


def test_exact_hessian_equals_the_column_by_column_one(mlp):
    loss_fn, theta, hessian, _, _ = mlp
    np.testing.assert_allclose(hessian, column_hessian(loss_fn, theta).numpy(), rtol=0, atol=1e-12)


def test_subspace_spectrum_equals_the_dense_one():
    """loss(θ) = g(Aθ): the Hessian Aᵀ∇²g A lives in the row span of A (k = 7 of P = 40);
    on an orthonormal basis of it, E M Eᵀ is the full Hessian and the spectrum is M's plus zeros."""
    gen = torch.Generator().manual_seed(3)
    a = torch.randn(7, 40, generator=gen, dtype=torch.float64)
    w = torch.randn(7, generator=gen, dtype=torch.float64)
    loss_fn = lambda t: (torch.tanh(a @ t) ** 2 * w).sum() + torch.cos(a @ t).prod()  # noqa: E731
    theta = torch.randn(40, generator=gen, dtype=torch.float64)
    basis = torch.linalg.qr(a.T, mode="reduced").Q  # (40, 7)
    subspace = Subspace(lambda z: basis @ z, 7)
    small = subspace_hessian(loss_fn, theta, subspace)
    reference = column_hessian(loss_fn, theta)
    torch.testing.assert_close(basis @ small @ basis.T, reference, rtol=0, atol=1e-10)
    spectrum, dense = exact_spectrum(loss_fn, theta, subspace), exact_spectrum(loss_fn, theta)
    assert spectrum["eigenvalues"].shape == (40,) and np.count_nonzero(spectrum["eigenvalues"]) == 7
    np.testing.assert_allclose(spectrum["eigenvalues"], dense["eigenvalues"], rtol=0, atol=1e-10)
    for key in ("trace", "max", "min"):
        assert spectrum[key] == pytest.approx(dense[key], rel=1e-10, abs=1e-12)


def test_spectrum_of_pads_the_null_space_with_zeros():
    out = spectrum_of(np.array([2.0, -1.0]), 4)
    assert out["eigenvalues"].tolist() == [-1.0, 0.0, 0.0, 2.0]
    assert (out["trace"], out["max"], out["min"]) == (1.0, 2.0, -1.0)
    assert spectrum_of(np.array([1.0, 3.0]))["eigenvalues"].tolist() == [1.0, 3.0]


def test_linear_loss_has_zero_hessian():
    theta = torch.ones(4, dtype=torch.float64)
    loss_fn = lambda t: t.sum() * 3.0  # noqa: E731
    assert torch.equal(exact_hessian(loss_fn, theta), torch.zeros(4, 4, dtype=torch.float64))


def test_lanczos_restarts_on_repeated_eigenvalues():
    """A triple top eigenvalue makes the Krylov space invariant early; the restart finds all copies."""
    eigenvalues = torch.tensor([3.0, 3.0, 3.0, 1.0, -2.0, -2.0, 0.5, 0.0], dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(8, 8, generator=torch.Generator().manual_seed(2), dtype=torch.float64))
    a = q @ torch.diag(eigenvalues) @ q.T
    top = lanczos(lambda t: 0.5 * t @ a @ t, torch.zeros(8, dtype=torch.float64), k=4, n_iter=8)
    np.testing.assert_allclose(top, [3.0, 3.0, 3.0, 1.0], atol=1e-10)


def test_lanczos_matches_exact_top_eigenvalues(mlp):
    loss_fn, theta, _, eigenvalues, _ = mlp
    exact_top = eigenvalues[::-1][:3]
    top1 = lanczos(loss_fn, theta, k=1)
    assert top1.shape == (1,) and abs(top1[0] - exact_top[0]) <= 0.01 * abs(exact_top[0])
    top3 = lanczos(loss_fn, theta, k=3, seed=5)
    assert np.all(np.diff(top3) <= 0)
    np.testing.assert_allclose(top3, exact_top, rtol=1e-6)


def test_hutchinson_interval_contains_exact_trace(mlp):
    loss_fn, theta, hessian, eigenvalues, _ = mlp
    result = hutchinson_trace(loss_fn, theta, n_samples=200, seed=0)
    low, high = result["ci95"]
    assert result["n_samples"] == 200 and low < eigenvalues.sum() < high
    # Var(zᵀHz) = 2·Σ_{i≠j} H_ij² for Rademacher z: the reported spread must be of that size.
    expected_std_err = np.sqrt(2 * (np.sum(hessian ** 2) - np.sum(np.diag(hessian) ** 2)) / 200)
    assert 0.7 < result["std_err"] / expected_std_err < 1.3
    assert hutchinson_trace(loss_fn, theta, n_samples=200, seed=0) == result


def test_slq_is_exact_when_the_krylov_space_is_full(quadratic):
    """With n_iter = P every probe's nodes are the whole spectrum."""
    a, loss_fn, theta = quadratic
    density = slq_density(loss_fn, theta, n_probes=3, n_iter=P_QUAD, seed=1)
    assert density["nodes"].shape == density["weights"].shape == (3, P_QUAD)
    np.testing.assert_allclose(density["nodes"], np.tile(np.linalg.eigvalsh(a.numpy()), (3, 1)), atol=1e-9)
    np.testing.assert_allclose(density["weights"].sum(axis=1), 1.0, atol=1e-12)


def test_slq_moments_match_exact_traces(mlp):
    """E[Σ w·λᵖ] = trace(Hᵖ)/P for p = 1, 2 (the quadrature is exact for p < 2·n_iter). The
    probes are uniform on the sphere, where Var(uᵀBu) = 2/(P+2)·(tr(B²)/P − (tr(B)/P)²); the
    tolerance is 4 standard errors of the mean of n_probes such terms."""
    loss_fn, theta, _, _, moments = mlp
    size, n_probes = theta.numel(), 60
    density = slq_density(loss_fn, theta, n_probes=n_probes, n_iter=20, seed=0)
    weights, nodes = density["weights"], density["nodes"]
    assert nodes.shape == weights.shape == (n_probes, 20) and np.all(weights >= 0)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-12)
    for p, var_term in ((1, moments[2] - moments[1] ** 2), (2, moments[4] - moments[2] ** 2)):
        std_err = np.sqrt(2 / (size + 2) * var_term / n_probes)
        assert abs(np.mean(np.sum(weights * nodes ** p, axis=1)) - moments[p]) < 4 * std_err


def test_density_on_grid_integrates_to_one(mlp):
    loss_fn, theta, _, eigenvalues, _ = mlp
    density = slq_density(loss_fn, theta, n_probes=4, n_iter=20, seed=3)
    sigma = 0.01
    grid = np.linspace(eigenvalues[0] - 10 * sigma, eigenvalues[-1] + 10 * sigma, 2001)
    values = density_on_grid(density, grid, sigma)
    assert values.shape == grid.shape and np.all(values >= 0)
    assert np.sum(values) * (grid[1] - grid[0]) == pytest.approx(1.0, abs=1e-3)


def test_bad_inputs_raise(quadratic):
    _, loss_fn, theta = quadratic
    for k in (P_QUAD + 1, 0):
        with pytest.raises(ValueError, match=r"\bk\b"):
            lanczos(loss_fn, theta, k=k)
    with pytest.raises(ValueError, match="n_iter"):
        lanczos(loss_fn, theta, k=5, n_iter=3)
    with pytest.raises(ValueError, match=r"\bv\b"):
        hvp(loss_fn, theta, torch.ones(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="theta"):
        exact_hessian(loss_fn, theta.reshape(5, 6))
    with pytest.raises(ValueError, match="sigma"):
        density_on_grid({"nodes": np.zeros((1, 1)), "weights": np.ones((1, 1))}, np.zeros(3), 0.0)
