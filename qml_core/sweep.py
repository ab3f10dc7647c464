"""Sweeps over α × runs × models × attacks, on parallel workers, resumable via the cache."""
from collections.abc import Callable, Iterable

from .backends import parallel_map
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


def train_row(job: tuple[int, ExperimentSpec]) -> dict:
    """Run (cached) one (run, spec) job of a sweep and return its table row."""
    from .experiment import run_experiment

    run, spec = job
    result, was_cached = run_experiment(spec)
    return result_row(run, spec, result, was_cached)


def run_sweep(jobs: list[tuple[int, ExperimentSpec]], n_jobs: int = 1,
              on_row: Callable[[dict], None] | None = None, backend: str = "local",
              address: str | None = None) -> list[dict]:
    """Run every (run, spec) job and return the rows in job order. Finished runs are in the
    cache, so an interrupted sweep resumes where it stopped. backend/address: see
    ``backends.parallel_map``."""
    return parallel_map(train_row, jobs, n_jobs, on_row, backend, address)
