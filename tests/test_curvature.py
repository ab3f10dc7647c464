"""The §5 curvature experiment: split, flat losses, trace ratios, collapsed runs."""
import numpy as np
import pytest
import torch

from qml_core.curvature import CurvatureSpec, flat_loss, stratified_split, trace_ratios
from qml_core.models import build_model
from qml_core.specs import SpecError


def test_stratified_split_keeps_class_proportions():
    y = np.repeat([0, 1], [250, 250])
    train, test = stratified_split(y, 0.3, seed=0)
    assert len(test) == 150 and np.sum(y[test] == 1) == 75
    assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == 500
    assert not np.array_equal(test, stratified_split(y, 0.3, seed=1)[1])


@pytest.mark.parametrize("model", ["qnn", "mlp"])
def test_flat_loss_matches_the_model(model):
    spec = CurvatureSpec(model=model)
    g = torch.Generator().manual_seed(0)
    x = torch.nn.functional.normalize(torch.rand(6, 1024, generator=g, dtype=torch.float64), dim=1)
    y = torch.tensor([0, 1, 0, 1, 1, 0])
    net = build_model(spec.model_spec, 1024, seed=0)
    loss_fn, theta = flat_loss(spec, net, x, y)
    expected = torch.nn.functional.binary_cross_entropy(net(x), y.double())
    assert torch.isclose(loss_fn(theta), expected)
    theta = theta.clone().requires_grad_()
    (g1,) = torch.autograd.grad(loss_fn(theta), theta, create_graph=True)
    (hv,) = torch.autograd.grad(g1.sum(), theta)  # second derivatives exist on both models
    assert hv.shape == theta.shape and torch.isfinite(hv).all()


def fake(trace, collapsed=False):
    return {"trace": trace, "collapsed": collapsed}


def test_trace_ratios_pair_seeds_and_report_collapsed_runs():
    results = {("mlp", 0.0, 0): fake(2.0), ("mlp", 0.0, 1): fake(4.0), ("mlp", 0.3, 0): fake(10.0),
               ("mlp", 0.3, 1): fake(0.0, collapsed=True)}
    (row,) = trace_ratios(results)
    assert row["ratios"] == [5.0] and row["ratio_mean"] == 5.0
    assert row["collapsed_seeds"] == [1] and row["collapsed_ratios"] == [0.0]


def test_spec_validation():
    with pytest.raises(SpecError, match="model must be 'qnn' or 'mlp'"):
        CurvatureSpec(model="cnn")
    with pytest.raises(SpecError, match="n_heldout must be an integer in 2..150"):
        CurvatureSpec(n_heldout=500)
