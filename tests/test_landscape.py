"""Landscape slices and directions."""
import numpy as np
import pytest
import torch

from qml_core.experiments.landscape import (angle_direction, filter_normalised, interpolation, slice_1d, slice_2d,
                                            top_eigenvectors)


def quadratic(theta):
    return 0.5 * (theta ** 2 * torch.arange(1.0, theta.numel() + 1, dtype=theta.dtype)).sum()


def test_interpolation_passes_through_both_solutions():
    a, b = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    out = interpolation(quadratic, a, b, n=9, extend=0.5)
    t = np.array(out["t"])
    assert out["loss"][int(np.argmin(abs(t)))] == pytest.approx(0.0)
    assert out["loss"][int(np.argmin(abs(t - 1)))] == pytest.approx(float(quadratic(b)))


def test_slices_are_centred_on_the_solution():
    theta = torch.tensor([0.3, -0.2], dtype=torch.float64)
    d1, d2 = torch.tensor([1.0, 0.0], dtype=torch.float64), torch.tensor([0.0, 1.0], dtype=torch.float64)
    grid = np.array(slice_2d(quadratic, theta, d1, d2, span=1.0, n=5)["loss"])
    assert grid.shape == (5, 5) and grid[2, 2] == pytest.approx(float(quadratic(theta)))
    assert grid[2, 4] == pytest.approx(float(quadratic(theta + d1)))  # [b][a]: a moves along columns
    line = slice_1d(quadratic, theta, d2, span=2.0, n=5)
    assert line["a"] == [-2.0, -1.0, 0.0, 1.0, 2.0] and line["loss"][4] == pytest.approx(float(quadratic(theta + 2 * d2)))


def test_directions():
    g = torch.Generator().manual_seed(0)
    weight, bias = torch.randn(4, 6, dtype=torch.float64), torch.randn(4, dtype=torch.float64)
    d = filter_normalised([weight, bias], g)
    rows = d[:24].view(4, 6)
    torch.testing.assert_close(rows.norm(dim=1), weight.norm(dim=1))
    assert torch.all(d[24:] == 0)
    q = angle_direction(240, g)
    assert float(q.square().mean().sqrt()) == pytest.approx(1.0)
    v1, v2 = top_eigenvectors(torch.diag(torch.tensor([1.0, 5.0, 3.0], dtype=torch.float64)))
    assert abs(float(v1[1])) == pytest.approx(1.0) and abs(float(v2[2])) == pytest.approx(1.0)
    diag = torch.diag(torch.arange(1.0, 11.0, dtype=torch.float64))  # the ARPACK branch
    w1, w2 = top_eigenvectors(diag)
    assert abs(float(w1[9])) == pytest.approx(1.0) and abs(float(w2[8])) == pytest.approx(1.0)


@pytest.mark.parametrize("model,kind", [("mlp", "slice2d"), ("mlp", "interpolate"), ("qnn", "slice1d")])
def test_landscape_command_around_a_trained_solution(private_cache, tmp_path, model, kind, capsys):
    import json

    from qml_core.cli.main import main

    out = tmp_path / "land.json"
    assert main(["landscape", "--model", model, "--epochs", "1", "--kind", kind, "--grid", "5", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    loss = np.array(result["loss"])
    assert loss.shape == {"slice2d": (5, 5), "slice1d": (5,), "interpolate": (7,)}[kind] and np.all(np.isfinite(loss))
    if kind == "slice2d":
        assert loss[2, 2] == pytest.approx(result["center_loss"])
    elif kind == "slice1d":
        assert loss[2] == pytest.approx(result["center_loss"])
    assert main(["landscape", "--model", model, "--epochs", "1", "--kind", kind, "--grid", "5", "--out", str(out)]) == 0
    assert "(cached)" in capsys.readouterr().out


def test_interpolation_grid_holds_both_endpoints_exactly():
    t = interpolation(quadratic, torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64), n=41)["t"]
    assert len(t) == 61 and 0.0 in t and t[50] == pytest.approx(1.0) and t[0] == pytest.approx(-0.25)


def test_slice_along_the_top_hessian_eigenvector_has_its_curvature(private_cache):
    """Along the top Hessian eigenvector, the second difference of the loss is the top
    eigenvalue (h small)."""
    from qml_core.experiments.curvature import heldout_loss, run_solution
    from qml_core.experiments.hessian import lanczos
    from qml_core.experiments.landscape import LandscapeSpec, run_landscape

    spec = LandscapeSpec(model="mlp", epochs=3, kind="slice1d", directions="hessian", span=1e-3, grid=3)
    result, _ = run_landscape(spec)
    low, mid, high = result["loss"]
    curvature = (low + high - 2 * mid) / 1e-3 ** 2
    solution, _ = run_solution(spec.base)
    (top,) = lanczos(*heldout_loss(spec.base, solution["params"]), k=1)
    assert curvature == pytest.approx(top, rel=1e-3)


def test_subspace_top_eigenvectors_equal_the_dense_ones():
    """The (8, 2) MLP on 5 inputs of width 16: E times the top eigenvectors of Eᵀ H E are the
    dense Hessian's, signs fixed the same way; with fewer than k positive eigenvalues in the
    subspace, the dense route answers."""
    from qml_core.experiments.curvature import CurvatureSpec, flat_loss, mlp_subspace
    from qml_core.experiments.hessian import Subspace, exact_hessian
    from qml_core.experiments.landscape import subspace_top_eigenvectors
    from qml_core.training.models import build_model

    spec, g = CurvatureSpec(model="mlp"), torch.Generator().manual_seed(4)
    x = torch.nn.functional.normalize(torch.rand(5, 16, generator=g, dtype=torch.float64), dim=1)
    net = build_model(spec.model_spec, 16, seed=0)
    loss_fn, theta = flat_loss(spec, net, x, torch.tensor([0, 1, 1, 0, 1]))
    theta = theta + 0.3 * torch.randn(theta.shape, generator=g, dtype=torch.float64)
    dense = exact_hessian(loss_fn, theta)
    assert torch.linalg.eigvalsh(dense)[-2] > 1e-3
    for fast, reference in zip(subspace_top_eigenvectors(loss_fn, theta, mlp_subspace(net, x)), top_eigenvectors(dense)):
        torch.testing.assert_close(fast, reference, rtol=0, atol=1e-10)

    a = torch.randn(2, 6, generator=g, dtype=torch.float64)  # H = -2 AᵀA: its top eigenvalues are 0
    basis = torch.linalg.qr(a.T, mode="reduced").Q
    concave = lambda t: -((a @ t) ** 2).sum()  # noqa: E731
    v1, v2 = subspace_top_eigenvectors(concave, torch.zeros(6, dtype=torch.float64), Subspace(lambda z: basis @ z, 2))
    torch.testing.assert_close(a @ v1, torch.zeros(2, dtype=torch.float64), rtol=0, atol=1e-10)
    torch.testing.assert_close(a @ v2, torch.zeros(2, dtype=torch.float64), rtol=0, atol=1e-10)


def test_top_eigenvectors_have_canonical_signs():
    v1, v2 = top_eigenvectors(torch.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=torch.float64))
    assert v1.tolist() == [1.0, 0.0] and v2.tolist() == [0.0, 1.0]
    q = torch.linalg.qr(torch.randn(12, 12, generator=torch.Generator().manual_seed(0), dtype=torch.float64)).Q
    for v in top_eigenvectors(q @ torch.diag(torch.arange(12.0, dtype=torch.float64)) @ q.T, k=3):
        assert v[int(v.abs().argmax())] > 0
