"""Sweeps over α × runs × models × attacks, on parallel local workers, resumable via the cache."""
import os
from collections.abc import Callable, Iterable

from .specs import ExperimentSpec

ROW_FIELDS = ("dataset", "model", "attack", "alpha", "run", "seed", "train_acc", "val_acc",
              "forget_acc", "retain_acc", "train_loss", "val_loss", "seconds", "cached")


def run_seed(base_seed: int, alpha: float, run: int) -> int:
    """A distinct seed for every (α, run), so each draws a fresh poison set and a fresh
    initialisation (PROTOCOL §2), reproducibly."""
    return base_seed + 1000 * run + round(alpha * 100)


def sweep_specs(bases: Iterable[ExperimentSpec], alphas: Iterable[float], runs: int) -> list[tuple[int, ExperimentSpec]]:
    """(run index, spec) for every base spec (one per model × attack), α and run."""
    return [(run, base.replace(alpha=float(alpha), seed=run_seed(base.seed, float(alpha), run)))
            for base in bases for alpha in alphas for run in range(runs)]


def result_row(run: int, spec: ExperimentSpec, result: dict, was_cached: bool) -> dict:
    """One flat table row of a finished run."""
    row = {"dataset": spec.data.name, "model": spec.model.name, "attack": spec.attack, "alpha": spec.alpha,
           "run": run, "seed": spec.seed, "cached": was_cached}
    row.update({k: result[k] for k in ROW_FIELDS if k in result})
    return row


def _call(index: int, func: Callable, item, threads: int):
    import torch

    torch.set_num_threads(threads)
    return index, func(item)


def parallel_map(func: Callable, items: list, n_jobs: int = 1, on_done: Callable | None = None) -> list:
    """[func(item) for item in items] on ``n_jobs`` worker processes (joblib/loky), in item
    order; on_done(output) is called as each finishes (progress bars, live plots). ``func``
    must be a module-level function. Torch threads are shared out between the workers.
    """
    from joblib import Parallel, delayed

    threads = max(1, (os.cpu_count() or 1) // max(1, n_jobs))
    if n_jobs == 1:
        results = (_call(i, func, item, threads) for i, item in enumerate(items))
    else:
        parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
        results = parallel(delayed(_call)(i, func, item, threads) for i, item in enumerate(items))
    outputs = {}
    for i, output in results:
        outputs[i] = output
        if on_done is not None:
            on_done(output)
    return [outputs[i] for i in range(len(items))]


def train_row(job: tuple[int, ExperimentSpec]) -> dict:
    """Run (cached) one (run, spec) job of a sweep and return its table row."""
    from .experiment import run_experiment

    run, spec = job
    result, was_cached = run_experiment(spec)
    return result_row(run, spec, result, was_cached)


def run_sweep(jobs: list[tuple[int, ExperimentSpec]], n_jobs: int = 1,
              on_row: Callable[[dict], None] | None = None) -> list[dict]:
    """Run every (run, spec) job and return the rows in job order. Finished runs are in the
    cache, so an interrupted sweep resumes where it stopped."""
    return parallel_map(train_row, jobs, n_jobs, on_row)
