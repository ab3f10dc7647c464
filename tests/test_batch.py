"""Runs trained together on a run axis equal the same runs trained one by one, and land in
the cache under the keys the single runs use."""
import numpy as np
import pytest

from qml_core.experiments.experiment import run_experiment, run_experiments, train_experiment, train_experiments
from qml_core.specs import ExperimentSpec, MLPModel, QNNModel, Training, XXZData
from qml_core.store import cache, locks
from qml_core.training.train import TrainingDiverged

XXZ_TINY = XXZData(spins=6, n_grid=41)


def variants(base: ExperimentSpec) -> list[ExperimentSpec]:
    """Three runs of one architecture: different α, seeds and so poison sets and shuffles."""
    return [base.replace(alpha=a, seed=s) for a, s in ((0.0, 1), (0.2, 7), (0.4, 12))]


def assert_same_result(batched: dict, single: dict, tol: float) -> None:
    for name in ("train_acc", "val_acc", "forget_acc", "retain_acc"):
        assert batched[name] == pytest.approx(single[name], nan_ok=True, abs=1e-12)
    for name in ("train_loss", "val_loss"):
        assert batched[name] == pytest.approx(single[name], abs=tol)
    for name in ("train_loss", "val_loss", "train_acc", "val_acc"):
        np.testing.assert_allclose(batched["history"][name], single["history"][name], atol=tol)
    assert batched["params"].keys() == single["params"].keys()
    for name, value in single["params"].items():
        np.testing.assert_allclose(batched["params"][name], value, atol=tol)
    np.testing.assert_array_equal(batched["forget"], single["forget"])
    assert batched["n_params"] == single["n_params"]


@pytest.mark.parametrize("make", [
    lambda q, m: q,                                                             # MNIST QNN, layered
    lambda q, m: m,                                                             # MNIST MLP
    lambda q, m: q.replace(data=XXZ_TINY, model=QNNModel(depth=2)),             # XXZ QNN, observable mode
    lambda q, m: m.replace(data=XXZ_TINY, attack="feature-noise"),              # XXZ MLP, noisy inputs
    lambda q, m: q.replace(model=QNNModel(depth=1, precision="single")),        # complex64 states
    lambda q, m: m.replace(model=MLPModel(hidden=(), readout="bounded")),       # bounded readout control
    lambda q, m: m.replace(model=MLPModel(hidden=(), quadratic=2)),             # quadratic-form control
])
def test_a_batch_equals_its_runs_one_by_one(make, tiny_qnn_spec, tiny_mlp_spec):
    specs = variants(make(tiny_qnn_spec, tiny_mlp_spec))
    batched = train_experiments(specs)
    tol = 1e-5 if specs[0].model.name == "qnn" and specs[0].model.precision == "single" else 1e-9
    for spec, result in zip(specs, batched):
        assert result["batch_runs"] == 3
        assert_same_result(result, train_experiment(spec), tol)
    first, second = (np.concatenate([v.ravel() for v in r["params"].values()]) for r in batched[:2])
    assert np.abs(first - second).max() > 1e-3  # the runs really differ


def test_batched_runs_are_cached_under_the_single_run_keys(tiny_mlp_spec):
    specs = variants(tiny_mlp_spec)
    first = run_experiments(specs[:2])
    assert [was_cached for _, was_cached in first] == [False, False]
    assert cache.lookup("train", specs[0]) is not None
    single, was_cached = run_experiment(specs[1])
    assert was_cached and single["val_acc"] == first[1][0]["val_acc"]
    again = run_experiments(specs)  # two hits, one new run
    assert [was_cached for _, was_cached in again] == [True, True, False]


def test_a_spec_locked_elsewhere_is_left_to_its_holder(tiny_mlp_spec):
    """cached_many skips a key whose lock a live process holds; nothing is computed for it."""
    specs = variants(tiny_mlp_spec)
    lock = locks.KeyLock(cache.open_cache(), cache.result_key("train", specs[1]))
    assert lock.try_acquire()
    computed = []
    try:
        out = cache.cached_many("train", specs, lambda todo: computed.extend(todo) or train_experiments(todo))
    finally:
        lock.release()
    assert computed == [specs[0], specs[2]] and out[1] is None and out[0][1] is False


def test_a_diverged_run_leaves_the_others_intact(tiny_mlp_spec):
    """One run with a huge learning rate's loss blown up to inf: it alone fails, the others
    equal their single runs."""
    import qml_core.experiments.experiment as experiment

    specs = variants(tiny_mlp_spec)
    original = experiment.bce_per_run

    def poisoned_loss(p, y, clip=0.0):
        loss = original(p, y, clip)
        return loss + loss.new_tensor([0.0, float("inf"), 0.0] if len(loss) == 3 else [0.0])

    experiment.bce_per_run = poisoned_loss
    try:
        results = train_experiments(specs)
    finally:
        experiment.bce_per_run = original
    assert isinstance(results[1], TrainingDiverged) and "loss became inf at epoch 1, batch 1" in str(results[1])
    for r in (0, 2):
        assert_same_result(results[r], train_experiment(specs[r]), 1e-9)


def test_only_one_architecture_per_batch(tiny_mlp_spec):
    with pytest.raises(ValueError, match="differ only in alpha and seed"):
        train_experiments([tiny_mlp_spec, tiny_mlp_spec.replace(model=MLPModel(hidden=(4,)))])
    with pytest.raises(ValueError, match="differ only in alpha and seed"):
        train_experiments([tiny_mlp_spec, tiny_mlp_spec.replace(training=Training(2, 8, 0.01))])


@pytest.mark.parametrize("dataset", ["mnist", "xxz"])
def test_training_equals_the_plain_loop_on_the_plain_model(dataset, tiny_mlp_spec, tiny_qnn_spec):
    """The reference: the unstacked model trained by ``fit`` on the prepared data gives the
    parameters and final accuracies of ``train_experiment`` (whose MLP skips the input columns
    that are zero everywhere: XXZ states have 20 of 64 amplitudes non-zero at N = 6)."""
    import torch

    from qml_core.experiments.experiment import prepare
    from qml_core.training.models import build_model
    from qml_core.training.train import accuracy, bce, fit

    for spec in (tiny_mlp_spec, tiny_qnn_spec):
        if dataset == "xxz":
            spec = spec.replace(data=XXZ_TINY, alpha=0.2)
        prep = prepare(spec, "cpu")
        model = build_model(spec.model, prep.width, spec.seed)
        t = spec.training
        fit(model, lambda idx: bce(model(prep.x_train[idx]), prep.y_train[idx]), len(prep.y_train), t.epochs,
            t.batch_size, t.lr, spec.seed)
        result = train_experiment(spec)
        for name, value in model.state_dict().items():
            np.testing.assert_allclose(result["params"][name], value.numpy(), atol=1e-9)
        with torch.no_grad():
            assert result["val_acc"] == accuracy(model(prep.x_val), prep.y_val)
        assert result["n_params"] == sum(p.numel() for p in model.parameters())
        if dataset == "xxz" and spec.model.name == "mlp":
            assert int((prep.x_train != 0).any(0).sum()) < prep.width  # the skipped columns exist


def test_sweep_batches_are_one_architecture_and_run_each_run_zero_first(tiny_mlp_spec, tiny_qnn_spec):
    from qml_core.experiments.sweep import batched_jobs, sweep_specs

    pennylane = tiny_qnn_spec.replace(model=QNNModel(depth=1, executor="default.qubit"))
    big_steps = tiny_qnn_spec.replace(training=Training(2, 256, 0.05))  # 256 x 1024 amplitudes: compute-bound
    jobs = sweep_specs([tiny_qnn_spec, tiny_mlp_spec, pennylane, big_steps], [0.0, 0.2, 0.4], runs=2)
    batches = batched_jobs(jobs)
    assert sorted(i for batch in batches for i, _ in batch) == list(range(len(jobs)))
    for batch in batches:
        specs = [spec for _, (_, spec) in batch]
        assert len({run for _, (run, _) in batch}) == 1
        assert len({s.replace(alpha=0.0, seed=0).key() for s in specs}) == 1
        alone = specs[0].model == pennylane.model or specs[0].training == big_steps.training
        assert len(batch) == (1 if alone else 3)  # PennyLane devices and big QNN steps run one by one
    runs = [batch[0][1][0] for batch in batches]
    assert runs == sorted(runs) and len(batches) == 2 * (2 + 3 + 3)


def test_on_a_gpu_every_fused_architecture_is_one_batch(tiny_mlp_spec, tiny_qnn_spec):
    from qml_core.experiments.sweep import batched_jobs, sweep_specs

    pennylane = tiny_qnn_spec.replace(model=QNNModel(depth=1, executor="default.qubit"))
    big_steps = tiny_qnn_spec.replace(training=Training(2, 256, 0.05))
    jobs = sweep_specs([tiny_qnn_spec, tiny_mlp_spec, pennylane, big_steps], [0.0, 0.2, 0.4], runs=2)
    batches = batched_jobs(jobs, on_gpu=True)
    assert sorted(i for batch in batches for i, _ in batch) == list(range(len(jobs)))
    sizes = sorted(len(batch) for batch in batches)
    assert sizes == [1] * 6 + [6, 6, 6]  # PennyLane alone; every α and run of each fused/MLP model at once


def test_the_stacked_layers_reverse_pass_equals_autograds():
    """StackedLinear's hand-written gradients (the weight's taken as g^T h in its own layout)
    equal autograd's of the plain batched product, for the input, the weights and the biases."""
    import torch

    from qml_core.training.models import StackedLinear

    gen = torch.Generator().manual_seed(3)
    h, w, b, g = (torch.randn(*shape, generator=gen, dtype=torch.float64) for shape in
                  ((2, 5, 7), (2, 3, 7), (2, 3), (2, 5, 3)))
    grads = []
    for layer in (StackedLinear.apply, lambda h, w, b: torch.baddbmm(b.unsqueeze(1), h, w.mT)):
        inputs = [t.clone().requires_grad_() for t in (h, w, b)]
        (layer(*inputs) * g).sum().backward()
        grads.append([t.grad for t in inputs])
    for mine, reference in zip(*grads):
        torch.testing.assert_close(mine, reference, rtol=1e-12, atol=1e-12)
    assert grads[0][1].is_contiguous()  # the weight gradient lands in the weight's layout
