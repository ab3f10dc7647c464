"""Run one experiment spec: load data, poison it, train the model, return plain results."""
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from qml_core.data.datasets import Dataset, load_dataset
from qml_core.data.encoding import classical_view
from qml_core.data.measurements import MEASURING, MeasureProgress
from qml_core.data.poison import Poisoned, poison
from qml_core.experiments.collapse import collapse_status
from qml_core.runtime.resources import check_resources
from qml_core.specs import ExperimentSpec, MLPModel, SpecError
from qml_core.store.cache import cached, cached_many, code_version
from qml_core.training.models import StackedMLP, build_model, stack_models
from qml_core.training.train import Adam, TrainingDiverged, accuracy, default_device, fit_runs

Progress = Callable[[int, int, dict], None]
HISTORY_FIELDS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds")


def model_inputs(spec: ExperimentSpec, x: np.ndarray, device) -> torch.Tensor:
    """Amplitudes for the QNN, the classical view ([Re, Im] if complex) for the MLP."""
    view = classical_view(x) if isinstance(spec.model, MLPModel) else x
    return torch.as_tensor(view, device=device)


KERAS_EPSILON = 1e-7  # Keras' backend epsilon: its Adam ε and its BCE's probability clip


def bce_per_run(p: torch.Tensor, y: torch.Tensor, clip: float = 0.0) -> torch.Tensor:
    """Mean binary cross-entropy of each run's row: p, y (R, n) -> (R,) (``bce`` per row).
    ``clip`` > 0: Keras' form, on probabilities clipped to [clip, 1 − clip] (a sample beyond
    the clip gives no gradient) instead of torch's log clamped at −100."""
    if clip:
        p, y = p.clamp(clip, 1.0 - clip), y.to(p.dtype)
        return -(y * torch.log(p) + (1.0 - y) * torch.log1p(-p)).mean(1)
    return torch.nn.functional.binary_cross_entropy(p, y.to(p.dtype), reduction="none").mean(1)


@dataclass(frozen=True)
class Prepared:
    """A spec's data, poisoned and as model inputs: x_* (n, width) tensors, y_* (n,) labels
    (training labels poisoned, validation clean); ``width`` is the model's input width."""
    data: Dataset
    poisoned: Poisoned
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    width: int


def principal_components(x_train: torch.Tensor, x_val: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """x_train (n, d), x_val (m, d) -> their coordinates (n, k), (m, k) on the top-k principal
    axes of x_train (centred on its mean; each axis signed so that its largest entry is
    positive, whatever the LAPACK build). Uses the inputs only, never the labels."""
    n, d = x_train.shape
    limit = min(n - 1, d)
    if k > limit:
        raise SpecError(f"pca must be at most {limit} for this data (n_train - 1 = {n - 1}, "
                        f"input width {d}), got {k}")
    mean = x_train.mean(0)
    _, _, vh = torch.linalg.svd(x_train - mean, full_matrices=False)
    basis = vh[:k]
    signs = torch.sign(basis.gather(1, basis.abs().argmax(1, keepdim=True)))
    basis = (basis * signs).T
    return (x_train - mean) @ basis, (x_val - mean) @ basis


HOLDOUT_STREAM = 7  # the held-out slice's random stream, apart from the poison set's and the init's


def holdout_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(fit, held-out) sorted indices of n training samples: round(fraction · n) drawn
    uniformly at random (not stratified; labels as poisoned) from the run's seed."""
    k = round(fraction * n)
    if not 1 <= k < n:
        raise SpecError(f"early_stopping {fraction} leaves no held-out or no training sample of {n}")
    order = np.random.default_rng([seed, HOLDOUT_STREAM]).permutation(n)
    return np.sort(order[k:]), np.sort(order[:k])


def prepare(spec: ExperimentSpec, device, measuring: MeasureProgress | None = None) -> Prepared:
    """Load the spec's dataset, poison it with its seed and convert it for its model (an MLP
    with measured ``features`` reads those of the states, ``measurements.py``, reporting each
    state measured to ``measuring(done, total)``; with ``pca`` k, the top-k principal
    components of its poisoned training inputs)."""
    data = load_dataset(spec.data)
    poisoned = poison(data.x_train, data.y_train, spec.alpha, spec.attack, spec.seed)
    if isinstance(spec.model, MLPModel) and spec.model.features != "amplitudes":
        from qml_core.data.measurements import poisoned_features

        replaced = poisoned.forget if spec.attack == "feature-noise" else poisoned.forget[:0]
        f_train, f_val = poisoned_features(spec.data, spec.model.features, spec.model.snapshots, poisoned.x,
                                           replaced, spec.seed, measuring)
        x_train, x_val = torch.as_tensor(f_train, device=device), torch.as_tensor(f_val, device=device)
    else:
        x_train, x_val = model_inputs(spec, poisoned.x, device), model_inputs(spec, data.x_val, device)
    if isinstance(spec.model, MLPModel) and spec.model.pca:
        x_train, x_val = principal_components(x_train, x_val, spec.model.pca)
    return Prepared(data, poisoned, x_train, torch.as_tensor(poisoned.y, device=device),
                    x_val, torch.as_tensor(data.y_val, device=device), x_train.shape[1])


@contextlib.contextmanager
def flushed_subnormals():
    """Subnormal floats (below 1.2e-38 in single precision) flushed to zero inside the block.

    They are far below any accuracy that matters here, but each costs the CPU a slow path:
    flushing them cut a paper MNIST QNN run from 8.3 s to 6.1 s (same accuracies). The
    setting is process-wide, so it is switched back off after the block."""
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def same_architecture(specs: list[ExperimentSpec]) -> bool:
    """True when the specs differ at most in α and seed (data, model, training and attack
    equal), so that they can train as one stacked batch."""
    return len({spec.architecture_key() for spec in specs}) == 1


def train_experiments(specs: list[ExperimentSpec], progress: Progress | None = None, device=None) -> list:
    """Train R specs of one architecture (``same_architecture``) together, uncached: their
    models stacked on a run axis, each run with its own data, poison set, initialisation and
    shuffling, so that each result equals ``train_experiment`` of that spec alone (to float
    rounding). Returns, per spec, its result dict, or the TrainingDiverged that ended it.

    Results are plain data: ``history`` (a list per HISTORY_FIELDS, one entry per epoch: train
    loss and accuracy on the poisoned labels as the epoch's own steps saw them, i.e. from the
    forward pass of each mini-batch before its update, as Keras reports them; validation
    metrics on clean labels after the epoch), the final ``train_acc``/``val_acc``/
    ``train_loss``/``val_loss`` (all with the trained parameters), accuracy on the forget set
    (poisoned labels) and the retain set, ``forget`` indices, ``params`` (name -> array),
    ``n_params``, ``seconds`` (wall time of data + training; for R > 1 the batch's wall time
    / R), ``batch_runs`` (R), ``code_version``, and ``status`` ("ok", or "collapsed" for a run
    that ended finite without training) with its reason in ``collapse`` (``collapse.py``). With early stopping (``Training.early_stopping``)
    training uses the samples not held out (train metrics are on those; forget/retain on all),
    the parameters are those of the best held-out epoch, the history ends where the run
    stopped, and ``holdout`` (indices), ``holdout_acc`` and ``best_epoch`` are added.
    progress(epoch, epochs, records) is called
    after every epoch with one record per run, and while measured features are measured
    progress(states done, states, records) with records {"stage": MEASURING}. Raises ResourceError (a SpecError) when a run's
    memory estimate exceeds what the machine has.
    """
    if not specs or not same_architecture(specs):
        raise ValueError("train_experiments needs specs that differ only in alpha and seed")
    start = time.perf_counter()
    device = torch.device(device) if device is not None else default_device()
    for spec in specs:
        check_resources(spec, device)  # a run the machine cannot hold is refused before any work
    measuring = None if progress is None else (
        lambda done, total: progress(done, total, [{"stage": MEASURING}] * len(specs)))
    preps = [prepare(spec, device, measuring) for spec in specs]
    x_train, y_train = torch.stack([p.x_train for p in preps]), torch.stack([p.y_train for p in preps])
    x_val, y_val = preps[0].x_val.expand(len(specs), -1, -1), preps[0].y_val.expand(len(specs), -1)
    model = stack_models([build_model(spec.model, preps[0].width, spec.seed, device) for spec in specs])
    if isinstance(model, StackedMLP):  # skip input columns that are zero everywhere
        used = torch.nonzero((x_train != 0).any(1).any(0) | (x_val[0] != 0).any(0)).flatten()
        if len(used) < x_train.shape[2]:
            model.read_only(used)
            x_train, x_val = x_train[:, :, used], x_val[:, :, used]
    histories = [{name: [] for name in HISTORY_FIELDS} for _ in specs]
    seen = torch.zeros(y_train.shape, dtype=torch.float64, device=device)  # this epoch's outputs
    runs = torch.arange(len(specs), device=device)[:, None]
    t, n_runs = specs[0].training, len(specs)
    if t.early_stopping:  # each run trains on its fit indices and watches its held-out slice
        splits = [holdout_split(y_train.shape[1], t.early_stopping, spec.seed) for spec in specs]
        fit_idx = torch.stack([torch.as_tensor(f) for f, _ in splits]).to(device)
        hold_idx = torch.stack([torch.as_tensor(h) for _, h in splits]).to(device)
    else:
        fit_idx, hold_idx = torch.arange(y_train.shape[1], device=device).expand(n_runs, -1), None
    watch = dict(loss=[float("inf")] * n_runs, epoch=[0] * n_runs, params=[None] * n_runs, stop=[None] * n_runs)
    keras = isinstance(specs[0].model, MLPModel) and specs[0].model.setup == "keras"
    clip = KERAS_EPSILON if keras else 0.0

    def batch_losses(idx: torch.Tensor) -> torch.Tensor:
        rows = fit_idx[runs, idx.to(device)]
        p = model(x_train[runs, rows])
        seen[runs, rows] = p.detach().to(seen.dtype)
        return bce_per_run(p, y_train[runs, rows], clip)

    def early_stop(epoch: int) -> bool:
        """Keep each run's parameters of its lowest held-out loss; True once every run has
        gone ``patience`` epochs without improving (a run's later epochs are discarded)."""
        with torch.no_grad():
            hold_loss = bce_per_run(model(x_train[runs, hold_idx]), y_train[runs, hold_idx], clip).tolist()
        for r in range(n_runs):
            if watch["stop"][r] is not None:
                continue
            if hold_loss[r] < watch["loss"][r]:
                watch["loss"][r], watch["epoch"][r] = hold_loss[r], epoch
                watch["params"][r] = [param.detach()[r].clone() for param in model.parameters()]
            elif epoch - watch["epoch"][r] >= t.patience:
                watch["stop"][r] = epoch
        return all(stop is not None for stop in watch["stop"])

    def on_epoch(epoch: int, stats: dict) -> bool:
        with torch.no_grad():
            p_val = model(x_val)
        val_loss = bce_per_run(p_val, y_val, clip).tolist()
        records = [dict(epoch=epoch, train_loss=stats["loss"][r], train_acc=accuracy(seen[r][fit_idx[r]], y_train[r][fit_idx[r]]),
                        val_loss=val_loss[r], val_acc=accuracy(p_val[r], y_val[r]),
                        seconds=time.perf_counter() - start) for r in range(n_runs)]
        for history, record in zip(histories, records):
            for name in HISTORY_FIELDS:
                history[name].append(record[name])
        if progress is not None:
            progress(epoch, t.epochs, records)
        return hold_idx is not None and early_stop(epoch)

    optimizer = (Adam(model.parameters(), lr=t.lr, weight_decay=t.weight_decay, eps=KERAS_EPSILON if keras else 1e-8)
                 if t.weight_decay or keras else None)
    with flushed_subnormals():
        failed = fit_runs(model, batch_losses, fit_idx.shape[1], t.epochs, t.batch_size, t.lr,
                          [spec.seed for spec in specs], on_epoch, optimizer)
        with torch.no_grad():
            final_val = None
            if hold_idx is not None:  # back to each run's best epoch; its history ends where it stopped
                for r, best in enumerate(watch["params"]):
                    for param, value in zip(model.parameters(), best or []):
                        param[r] = value
                for r, stop in enumerate(watch["stop"]):
                    for name in HISTORY_FIELDS:
                        del histories[r][name][stop or t.epochs:]
                p_val = model(x_val)
                final_val = [(accuracy(p_val[r], y_val[r]), loss) for r, loss in enumerate(bce_per_run(p_val, y_val, clip).tolist())]
            p = model(x_train)
    seconds = (time.perf_counter() - start) / len(specs)
    n_params = sum(v.size for v in model.run_params(0).values())
    results = []
    for r, (prep, history) in enumerate(zip(preps, histories)):
        if r in failed:
            results.append(TrainingDiverged(failed[r]))
            continue
        forget, retain = torch.as_tensor(prep.poisoned.forget), torch.as_tensor(prep.poisoned.retain)
        fit = fit_idx[r]  # every training sample, or those not held out for early stopping
        val_acc, val_loss = final_val[r] if final_val else (history["val_acc"][-1], history["val_loss"][-1])
        extra = {} if hold_idx is None else {
            "holdout": hold_idx[r].cpu().numpy(), "best_epoch": watch["epoch"][r],
            "holdout_acc": accuracy(p[r][hold_idx[r]], y_train[r][hold_idx[r]])}
        results.append({
            **extra,
            "history": history,
            **collapse_status(p[r], history["train_loss"]),
            "train_acc": accuracy(p[r][fit], y_train[r][fit]), "val_acc": val_acc,
            "train_loss": float(bce_per_run(p[r][fit][None], y_train[r][fit][None], clip)[0]), "val_loss": val_loss,
            "forget_acc": accuracy(p[r][forget], y_train[r][forget]) if len(forget) else float("nan"),
            "retain_acc": accuracy(p[r][retain], y_train[r][retain]),
            "forget": prep.poisoned.forget,
            "params": model.run_params(r),
            "n_params": n_params,
            "seconds": seconds,
            "batch_runs": len(specs),
            "code_version": code_version(),
        })
    return results


def train_experiment(spec: ExperimentSpec, progress: Progress | None = None, device=None) -> dict:
    """Train the spec's model on its poisoned data, uncached (``train_experiments`` of one
    spec; the result is described there). progress(epoch, epochs, record) is called after
    every epoch. Raises TrainingDiverged as soon as a loss or gradient is not finite."""
    report = None if progress is None else (lambda epoch, epochs, records: progress(epoch, epochs, records[0]))
    return train_experiments([spec], report, device)[0]


def run_experiment(spec: ExperimentSpec, progress: Progress | None = None, device=None) -> tuple[dict, bool]:
    """The cached form of ``train_experiment``: (result, was_cached). An identical spec is
    read from the cache; any changed field is a new run."""
    return cached("train", spec, lambda: train_experiment(spec, progress, device))


def run_experiments(specs: list[ExperimentSpec], progress: Progress | None = None, device=None) -> list[tuple[dict, bool]]:
    """The cached form of ``train_experiments``: (result, was_cached) per spec. Cached specs
    are read; the missing ones this process can lock train as one batch and are stored each
    under the key its single run uses; a spec another process is computing is waited for, and
    a diverged one raises as ``run_experiment`` would."""
    done = cached_many("train", specs, lambda todo: train_experiments(todo, progress, device))
    return [hit if hit is not None else run_experiment(spec, device=device) for spec, hit in zip(specs, done)]
