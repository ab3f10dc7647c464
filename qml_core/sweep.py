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


def _run_one(index: int, run: int, spec: ExperimentSpec, threads: int) -> tuple[int, dict]:
    import torch

    from .experiment import run_experiment

    torch.set_num_threads(threads)
    result, was_cached = run_experiment(spec)
    return index, result_row(run, spec, result, was_cached)


def run_sweep(jobs: list[tuple[int, ExperimentSpec]], n_jobs: int = 1,
              on_row: Callable[[dict], None] | None = None) -> list[dict]:
    """Run every (run, spec), ``n_jobs`` worker processes at a time (joblib/loky), and return
    the rows in job order. on_row(row) is called as each run finishes (progress bars, live
    plots). Finished runs are in the cache, so an interrupted sweep resumes where it stopped.
    """
    from joblib import Parallel, delayed

    threads = max(1, (os.cpu_count() or 1) // max(1, n_jobs))
    rows: dict[int, dict] = {}
    if n_jobs == 1:
        results = (_run_one(i, run, spec, threads) for i, (run, spec) in enumerate(jobs))
    else:
        parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
        results = parallel(delayed(_run_one)(i, run, spec, threads) for i, (run, spec) in enumerate(jobs))
    for i, row in results:
        rows[i] = row
        if on_row is not None:
            on_row(row)
    return [rows[i] for i in range(len(jobs))]
