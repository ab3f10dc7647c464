"""Run one experiment spec: load data, poison it, train the model, return plain results."""
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .cache import cached, code_version
from .datasets import Dataset, load_dataset
from .encoding import classical_view
from .models import build_model
from .poison import Poisoned, poison
from .resources import check_resources
from .specs import ExperimentSpec, MLPModel
from .train import accuracy, bce, default_device, fit

Progress = Callable[[int, int, dict], None]
HISTORY_FIELDS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds")


def model_inputs(spec: ExperimentSpec, x: np.ndarray, device) -> torch.Tensor:
    """Amplitudes for the QNN, the classical view ([Re, Im] if complex) for the MLP."""
    view = classical_view(x) if isinstance(spec.model, MLPModel) else x
    return torch.as_tensor(view, device=device)


def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(mean BCE, accuracy) of the model on a whole set, without gradients."""
    with torch.no_grad():
        p = model(x)
    return float(bce(p, y)), accuracy(p, y)


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


def train_experiment(spec: ExperimentSpec, progress: Progress | None = None, device=None) -> dict:
    """Train the spec's model on its poisoned data, uncached.

    Returns plain data: ``history`` (a list per HISTORY_FIELDS, one entry per epoch: train
    metrics on the poisoned labels, validation metrics on clean labels), the final
    ``train_acc``/``val_acc``/``train_loss``/``val_loss``, accuracy on the forget set
    (poisoned labels) and the retain set, ``forget`` indices, ``params`` (name -> array),
    ``n_params``, ``seconds`` (wall time of data + training) and ``code_version``.
    progress(epoch, epochs, record) is called after every epoch. Raises ResourceError (a
    SpecError) when the run's memory estimate exceeds what the machine has.
    """
    start = time.perf_counter()
    device = torch.device(device) if device is not None else default_device()
    check_resources(spec, device)  # a run the machine cannot hold is refused before any work
    prep = prepare(spec, device)
    x_train, y_train, x_val, y_val = prep.x_train, prep.y_train, prep.x_val, prep.y_val
    model = build_model(spec.model, prep.width, spec.seed, device)
    history = {name: [] for name in HISTORY_FIELDS}

    def on_epoch(epoch: int, stats: dict) -> None:
        train_loss, train_acc = evaluate(model, x_train, y_train)
        val_loss, val_acc = evaluate(model, x_val, y_val)
        record = dict(epoch=epoch, train_loss=train_loss, train_acc=train_acc, val_loss=val_loss,
                      val_acc=val_acc, seconds=time.perf_counter() - start)
        for name in HISTORY_FIELDS:
            history[name].append(record[name])
        if progress is not None:
            progress(epoch, spec.training.epochs, record)

    t = spec.training
    fit(model, lambda idx: bce(model(x_train[idx]), y_train[idx]), len(y_train), t.epochs, t.batch_size,
        t.lr, spec.seed, on_epoch)
    with torch.no_grad():
        p = model(x_train)
    forget, retain = torch.as_tensor(prep.poisoned.forget), torch.as_tensor(prep.poisoned.retain)
    return {
        "history": history,
        "train_acc": history["train_acc"][-1], "val_acc": history["val_acc"][-1],
        "train_loss": history["train_loss"][-1], "val_loss": history["val_loss"][-1],
        "forget_acc": accuracy(p[forget], y_train[forget]) if len(forget) else float("nan"),
        "retain_acc": accuracy(p[retain], y_train[retain]),
        "forget": prep.poisoned.forget,
        "params": {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()},
        "n_params": sum(p.numel() for p in model.parameters()),
        "seconds": time.perf_counter() - start,
        "code_version": code_version(),
    }


def run_experiment(spec: ExperimentSpec, progress: Progress | None = None, device=None) -> tuple[dict, bool]:
    """The cached form of ``train_experiment``: (result, was_cached). An identical spec is
    read from the cache; any changed field is a new run."""
    return cached("train", spec, lambda: train_experiment(spec, progress, device))
