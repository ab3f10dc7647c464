"""The one training loop (Adam, shuffled mini-batches) for every model and every loss."""
import time
from collections.abc import Callable

import torch


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the message says when."""


class Cancelled(RuntimeError):
    """Raised by a progress callback to stop a run; nothing is stored for it."""


def bce(p: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy of probabilities p against 0/1 targets y (log clamped at -100
    as torch does, so a saturated model gives a large finite loss)."""
    return torch.nn.functional.binary_cross_entropy(p, y.to(p.dtype))


def accuracy(p: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of (p >= 0.5) equal to y."""
    return float(((p >= 0.5).long() == y.long()).double().mean())


def default_device() -> torch.device:
    """CUDA when available, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def fit(model: torch.nn.Module, batch_loss: Callable[[torch.Tensor], torch.Tensor], n_samples: int,
        epochs: int, batch_size: int, lr: float, seed: int,
        on_epoch: Callable[[int, dict], None] | None = None,
        optimizer: torch.optim.Optimizer | None = None) -> None:
    """Train ``model`` with Adam for ``epochs`` passes over ``n_samples`` samples.

    batch_loss(idx) returns the scalar loss of the samples ``idx`` (a LongTensor); it closes
    over the data so that one loop serves plain training and every unlearning objective.
    on_epoch(epoch, stats) runs after each epoch with stats = {"loss": batch-weighted mean
    training loss, "seconds": time since the start}; it may raise ``Cancelled``.
    Raises TrainingDiverged as soon as a loss or a gradient is not finite.
    """
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    shuffler = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        order = torch.randperm(n_samples, generator=shuffler)
        total = 0.0
        for b, idx in enumerate(order.split(batch_size)):
            optimizer.zero_grad()
            loss = batch_loss(idx)
            if not torch.isfinite(loss):
                raise TrainingDiverged(f"loss became {float(loss.detach())} at epoch {epoch}, batch {b + 1}")
            loss.backward()
            if not all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None):
                raise TrainingDiverged(f"a gradient became non-finite at epoch {epoch}, batch {b + 1}")
            optimizer.step()
            total += float(loss.detach()) * len(idx)
        if on_epoch is not None:
            on_epoch(epoch, {"loss": total / n_samples, "seconds": time.perf_counter() - start})
