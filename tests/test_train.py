"""The shared training loop and the two models."""
import pytest
import torch

from qml_core.specs import MLPModel, QNNModel
from qml_core.training.models import build_model
from qml_core.training.train import Cancelled, TrainingDiverged, accuracy, bce, fit


def toy_problem(n=32, width=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, width, generator=g, dtype=torch.float64)
    x = x / x.norm(dim=1, keepdim=True)
    y = (x[:, 0] > 0).long()
    return x, y


def test_fit_reduces_the_loss_and_calls_back_every_epoch():
    x, y = toy_problem()
    model = build_model(MLPModel(hidden=(8,)), 16, seed=0)
    seen = []
    before = float(bce(model(x), y).detach())
    fit(model, lambda idx: bce(model(x[idx]), y[idx]), len(y), epochs=30, batch_size=8, lr=0.02, seed=0,
        on_epoch=lambda e, stats: seen.append((e, stats["loss"])))
    assert [e for e, _ in seen] == list(range(1, 31))
    assert float(bce(model(x), y).detach()) < 0.5 * before
    assert accuracy(model(x), y) > 0.9


def test_same_seed_same_model():
    x, y = toy_problem()
    params = []
    for _ in range(2):
        model = build_model(QNNModel(depth=1), 16, seed=4)
        fit(model, lambda idx: bce(model(x[idx]), y[idx]), len(y), 2, 8, 0.05, seed=4)
        params.append(model.weights.detach().clone())
    torch.testing.assert_close(params[0], params[1], rtol=0, atol=0)


def test_qnn_initialisation_is_small_and_seeded():
    a = build_model(QNNModel(depth=6), 1024, seed=0).weights.detach()
    b = build_model(QNNModel(depth=6), 1024, seed=1).weights
    assert a.shape == (6, 10, 4) and 0.005 < float(a.std()) < 0.015
    assert not torch.equal(a, b)


def test_nan_loss_fails_with_a_reason():
    x, y = toy_problem()
    model = build_model(MLPModel(hidden=(4,)), 16, seed=0)
    with pytest.raises(TrainingDiverged, match="loss became nan at epoch 1, batch 1"):
        fit(model, lambda idx: bce(model(x[idx]), y[idx]) * float("nan"), len(y), 2, 8, 0.01, 0)


def test_infinite_gradient_fails_with_a_reason():
    x, y = toy_problem()
    model = build_model(MLPModel(hidden=(4,)), 16, seed=0)
    with pytest.raises(TrainingDiverged, match="gradient became non-finite"):  # d sqrt(u)/du at u = 0
        fit(model, lambda idx: torch.sqrt(model.net[0].weight.sum() * 0), len(y), 1, 8, 0.01, 0)


def test_a_callback_can_cancel():
    x, y = toy_problem()
    model = build_model(MLPModel(hidden=(4,)), 16, seed=0)

    def stop(epoch, stats):
        if epoch == 2:
            raise Cancelled("stop")
    with pytest.raises(Cancelled):
        fit(model, lambda idx: bce(model(x[idx]), y[idx]), len(y), 5, 8, 0.01, 0, on_epoch=stop)


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_adam_takes_torch_adams_steps_exactly(weight_decay):
    """The lab's Adam gives the parameters torch.optim.Adam(fused=True) gives, bit for bit."""
    from qml_core.training.train import Adam

    x, y = toy_problem()
    params = []
    for make in (lambda p: Adam(p, lr=0.05, weight_decay=weight_decay, eps=1e-7),
                 lambda p: torch.optim.Adam(p, lr=0.05, weight_decay=weight_decay, eps=1e-7, fused=True)):
        model = build_model(MLPModel(hidden=(8,)), 16, seed=2)
        optimizer = make(model.parameters())
        for step in range(25):
            optimizer.zero_grad()
            bce(model(x), y).backward()
            optimizer.step()
        params.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(params[0], params[1])
    assert not torch.equal(params[0], torch.cat([p.flatten() for p in build_model(MLPModel(hidden=(8,)), 16, seed=2).parameters()]).detach())
