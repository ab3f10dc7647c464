"""Run one experiment spec: load data, poison it, train the model, return plain results."""
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .cache import cached, cached_many, code_version
from .datasets import Dataset, load_dataset
from .encoding import classical_view
from .models import StackedMLP, build_model, stack_models
from .poison import Poisoned, poison
from .resources import check_resources
from .specs import ExperimentSpec, MLPModel
from .train import TrainingDiverged, accuracy, bce, default_device, fit_runs

Progress = Callable[[int, int, dict], None]
HISTORY_FIELDS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds")


def model_inputs(spec: ExperimentSpec, x: np.ndarray, device) -> torch.Tensor:
    """Amplitudes for the QNN, the classical view ([Re, Im] if complex) for the MLP."""
    view = classical_view(x) if isinstance(spec.model, MLPModel) else x
    return torch.as_tensor(view, device=device)


def bce_per_run(p: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy of each run's row: p, y (R, n) -> (R,) (``bce`` per row)."""
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


def prepare(spec: ExperimentSpec, device) -> Prepared:
    """Load the spec's dataset, poison it with its seed and convert it for its model."""
    data = load_dataset(spec.data)
    poisoned = poison(data.x_train, data.y_train, spec.alpha, spec.attack, spec.seed)
    x_train = model_inputs(spec, poisoned.x, device)
    return Prepared(data, poisoned, x_train, torch.as_tensor(poisoned.y, device=device),
                    model_inputs(spec, data.x_val, device), torch.as_tensor(data.y_val, device=device),
                    x_train.shape[1])


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
    / R), ``batch_runs`` (R) and ``code_version``. progress(epoch, epochs, records) is called
    after every epoch with one record per run. Raises ResourceError (a SpecError) when a run's
    memory estimate exceeds what the machine has.
    """
    if not specs or not same_architecture(specs):
        raise ValueError("train_experiments needs specs that differ only in alpha and seed")
    start = time.perf_counter()
    device = torch.device(device) if device is not None else default_device()
    for spec in specs:
        check_resources(spec, device)  # a run the machine cannot hold is refused before any work
    preps = [prepare(spec, device) for spec in specs]
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

    def batch_losses(idx: torch.Tensor) -> torch.Tensor:
        idx = idx.to(device)
        p = model(x_train[runs, idx])
        seen[runs, idx] = p.detach().to(seen.dtype)
        return bce_per_run(p, y_train[runs, idx])

    def on_epoch(epoch: int, stats: dict) -> None:
        with torch.no_grad():
            p_val = model(x_val)
        val_loss = bce_per_run(p_val, y_val).tolist()
        records = [dict(epoch=epoch, train_loss=stats["loss"][r], train_acc=accuracy(seen[r], y_train[r]),
                        val_loss=val_loss[r], val_acc=accuracy(p_val[r], y_val[r]),
                        seconds=time.perf_counter() - start) for r in range(len(specs))]
        for history, record in zip(histories, records):
            for name in HISTORY_FIELDS:
                history[name].append(record[name])
        if progress is not None:
            progress(epoch, specs[0].training.epochs, records)

    t = specs[0].training
    with flushed_subnormals():
        failed = fit_runs(model, batch_losses, y_train.shape[1], t.epochs, t.batch_size, t.lr,
                          [spec.seed for spec in specs], on_epoch)
        with torch.no_grad():
            p = model(x_train)
    seconds = (time.perf_counter() - start) / len(specs)
    n_params = sum(v.size for v in model.run_params(0).values())
    results = []
    for r, (prep, history) in enumerate(zip(preps, histories)):
        if r in failed:
            results.append(TrainingDiverged(failed[r]))
            continue
        forget, retain = torch.as_tensor(prep.poisoned.forget), torch.as_tensor(prep.poisoned.retain)
        results.append({
            "history": history,
            "train_acc": accuracy(p[r], y_train[r]), "val_acc": history["val_acc"][-1],
            "train_loss": float(bce(p[r], y_train[r])), "val_loss": history["val_loss"][-1],
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
