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


class Adam:
    """torch.optim.Adam's update (its single-tensor CPU path: betas (0.9, 0.999), eps 1e-8,
    ``weight_decay`` added to the gradient as torch does: an L2 term), step for step the same
    numbers, without torch.optim's cost: its first optimizer in a process imports
    torch._dynamo (1.5 s of a 6 s training run, measured)."""

    def __init__(self, params, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        self.params = [p for p in params if p.requires_grad]
        self.lr, (self.beta1, self.beta2), self.eps, self.steps = lr, betas, eps, 0
        self.weight_decay = weight_decay
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.steps += 1
        step_size = self.lr / (1 - self.beta1 ** self.steps)
        correction2_sqrt = (1 - self.beta2 ** self.steps) ** 0.5
        for p, m, v in zip(self.params, self.exp_avg, self.exp_avg_sq):
            if p.grad is None:
                continue
            grad = p.grad.add(p, alpha=self.weight_decay) if self.weight_decay else p.grad
            m.lerp_(grad, 1 - self.beta1)
            v.mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
            p.addcdiv_(m, (v.sqrt() / correction2_sqrt).add_(self.eps), value=-step_size)


def fit(model: torch.nn.Module, batch_loss: Callable[[torch.Tensor], torch.Tensor], n_samples: int,
        epochs: int, batch_size: int, lr: float, seed: int,
        on_epoch: Callable[[int, dict], None] | None = None,
        optimizer: Adam | torch.optim.Optimizer | None = None) -> None:
    """Train ``model`` with Adam for ``epochs`` passes over ``n_samples`` samples.

    batch_loss(idx) returns the scalar loss of the samples ``idx`` (a LongTensor); it closes
    over the data so that one loop serves plain training and every unlearning objective.
    on_epoch(epoch, stats) runs after each epoch with stats = {"loss": batch-weighted mean
    training loss, "seconds": time since the start}; it may raise ``Cancelled``.
    Raises TrainingDiverged as soon as a loss or a gradient is not finite.
    """
    report = None if on_epoch is None else (lambda epoch, stats: on_epoch(epoch, {**stats, "loss": stats["loss"][0]}))
    fit_runs(model, lambda idx: batch_loss(idx[0]).reshape(1), n_samples, epochs, batch_size, lr, [seed],
             report, optimizer)


def fit_runs(model: torch.nn.Module, batch_losses: Callable[[torch.Tensor], torch.Tensor], n_samples: int,
             epochs: int, batch_size: int, lr: float, seeds: list[int],
             on_epoch: Callable[[int, dict], None] | None = None,
             optimizer: Adam | torch.optim.Optimizer | None = None) -> dict[int, str]:
    """``fit`` for R = len(seeds) independent runs held in one model whose every parameter
    has a leading run axis (a stacked model; R = 1 also takes a plain model).

    Each run shuffles with its own seed, as it would alone: batch_losses(idx) gets idx (R, b),
    row r the samples of run r, and returns the (R,) losses; their sum is minimised, so each
    run's gradient is its own loss's and Adam, elementwise, updates each run as alone.
    on_epoch stats: {"loss": (R,) list of batch-weighted mean losses, "seconds"}; on_epoch
    returning True stops the training there (early stopping).
    A run whose loss or gradient stops being finite is dropped from the sum; returns
    {run: reason} for those. With R = 1 it raises TrainingDiverged instead.
    """
    optimizer = optimizer or Adam(model.parameters(), lr=lr)
    shufflers = [torch.Generator().manual_seed(seed) for seed in seeds]
    runs, failed = len(seeds), {}
    live = torch.ones(runs, dtype=torch.bool)
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        order = torch.stack([torch.randperm(n_samples, generator=g) for g in shufflers])
        total = torch.zeros(runs, dtype=torch.float64)
        for b, idx in enumerate(order.split(batch_size, dim=1)):
            optimizer.zero_grad()
            losses = batch_losses(idx)
            value = losses.detach().to(total.dtype).cpu()
            for run in torch.nonzero(live & ~torch.isfinite(value)).flatten().tolist():
                failed[run] = f"loss became {float(value[run])} at epoch {epoch}, batch {b + 1}"
            live &= torch.isfinite(value)
            if not live.any():
                break
            torch.where(live.to(losses.device), losses, 0.0).sum().backward()
            grads = [p.grad.reshape(runs, -1) for p in model.parameters() if p.grad is not None]
            finite = torch.stack([torch.isfinite(g).all(1) for g in grads]).all(0).cpu() if grads else live
            for run in torch.nonzero(live & ~finite).flatten().tolist():
                failed[run] = f"a gradient became non-finite at epoch {epoch}, batch {b + 1}"
            live &= finite
            if not live.any():
                break
            for g in grads:  # a dropped run gets zero gradients; its result is discarded
                g.masked_fill_(~live.to(g.device)[:, None], 0.0)
            optimizer.step()
            total += torch.where(live, value, 0.0) * idx.shape[1]
        if runs == 1 and failed:
            raise TrainingDiverged(failed[0])
        if not live.any():
            break
        if on_epoch is not None and on_epoch(epoch, {"loss": (total / n_samples).tolist(),
                                                     "seconds": time.perf_counter() - start}) is True:
            break
    return failed
