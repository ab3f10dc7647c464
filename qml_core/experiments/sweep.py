"""Sweeps over α × runs × models × attacks, on parallel workers, resumable via the cache."""
import re
from collections.abc import Callable, Iterable

from qml_core.runtime.backends import parallel_map
from qml_core.specs import ExperimentSpec, QNNModel, SpecError

ROW_FIELDS = ("dataset", "model", "attack", "alpha", "run", "seed", "train_acc", "val_acc",
              "forget_acc", "retain_acc", "train_loss", "val_loss", "status", "collapse", "seconds", "cached")


def run_seed(base_seed: int, alpha: float, run: int) -> int:
    """A distinct seed for every (α, run), so each draws a fresh poison set and a fresh
    initialisation (protocol §2), reproducibly."""
    return base_seed + 1000 * run + round(alpha * 100)


MAX_SEED = 2 ** 31 - 1  # ExperimentSpec's largest seed


def check_seeds(base_seed: int, alphas: Iterable[float], runs: int) -> None:
    """Refuse a base seed whose derived seeds (``run_seed``) would pass MAX_SEED, naming the seed
    the user gave and the largest that works, instead of a derived seed they never typed."""
    top = max(round(float(alpha) * 100) for alpha in alphas) + 1000 * (runs - 1)
    if base_seed + top > MAX_SEED:
        raise SpecError(f"--seed {base_seed} is too large for --runs {runs}: run r at alpha a uses seed + 1000*r + "
                        f"round(100*a), which must stay <= {MAX_SEED}; use --seed <= {MAX_SEED - top}")


def sweep_specs(bases: Iterable[ExperimentSpec], alphas: Iterable[float], runs: int) -> list[tuple[int, ExperimentSpec]]:
    """(run index, spec) for every base spec (one per model × attack), α and run."""
    return [(run, base.replace(alpha=float(alpha), seed=run_seed(base.seed, float(alpha), run)))
            for base in bases for alpha in alphas for run in range(runs)]


def model_id(spec: ExperimentSpec) -> str:
    """A row's model: "qnn" or "mlp"; for a QNN on a device its setting too ("qnn-shots-100",
    ``QNNModel.device_suffix``), for a classical model on measured XXZ features the features
    ("mlp-correlators", "mlp-shadows100"), so that a table or a phase diagram of several keeps
    them apart."""
    features = getattr(spec.model, "features", "amplitudes")
    if features == "amplitudes":
        return spec.model.name + (spec.model.device_suffix() if isinstance(spec.model, QNNModel) else "")
    return f"{spec.model.name}-{features}{spec.model.snapshots or ''}"


# a QNN model id's device setting, in the order QNNModel.device_suffix writes it
DEVICE_ID = re.compile(r"qnn(?:-p(?P<depolarizing>[0-9.]+(?:e-\d+)?))?(?:-shots-(?P<shots>\d+))?"
                       r"(?:-readout(?P<readout_error>[0-9.]+(?:e-\d+)?))?(?:-k(?P<trajectories>\d+))?(?P<shift>-shift)?")


def device_setting(model: str) -> dict | None:
    """The QNNModel fields a model id with a device suffix names ({"shots": 100},
    {"depolarizing": 0.01, "trajectories": 4}), None for any other id (the exact "qnn" too)."""
    found = DEVICE_ID.fullmatch(model)
    if found is None or model == "qnn":
        return None
    fields = {name: (int(v) if name in ("shots", "trajectories") else float(v))
              for name, v in found.groupdict().items() if v is not None and name != "shift"}
    return {**fields, "shot_gradient": "parameter-shift"} if found["shift"] else fields


def result_row(run: int, spec: ExperimentSpec, result: dict, was_cached: bool) -> dict:
    """One flat table row of a finished run."""
    row = {"dataset": spec.data.name, "model": model_id(spec), "attack": spec.attack, "alpha": spec.alpha,
           "run": run, "seed": spec.seed, "cached": was_cached}
    row.update({k: result[k] for k in ROW_FIELDS if k in result})
    return row


SMALL_STEP = 2 ** 17  # amplitudes a QNN training step holds below which the step is mostly per-call overhead


def batchable(spec: ExperimentSpec, on_gpu: bool = False) -> bool:
    """Whether runs of this spec's architecture gain from training stacked: MLPs, and fused
    QNNs whose steps are small (XXZ N = 12: 32 states of 4096 amplitudes), where stacking
    shares the per-call overhead. MNIST's QNN steps (256 x 1024) are compute-bound on a CPU:
    stacked, ten 10-second runs would make one 100-second batch and leave a core idle at the
    end of a sweep (measured: 323 s against 261 s run by run). On a GPU every fused step is
    small, so every fused QNN stacks. PennyLane devices run one at a time."""
    if spec.model.name == "mlp":
        return True
    if on_gpu:
        return spec.model.executor == "fused"
    amplitudes = {"mnist": 1024, "xxz": 2 ** getattr(spec.data, "spins", 0)}.get(spec.data.name)
    return spec.model.executor == "fused" and amplitudes is not None and spec.training.batch_size * amplitudes <= SMALL_STEP


def batched_jobs(jobs: list[tuple[int, ExperimentSpec]],
                 on_gpu: bool | None = None) -> list[list[tuple[int, tuple[int, ExperimentSpec]]]]:
    """The jobs, each with its index, grouped into batches that train as one stacked
    computation: on a CPU one batch per architecture and run index (every α of run r of one
    model and attack), run 0's batches first: each finished batch completes a curve, and the
    first complete phase diagram (one run per α, every model) comes before the second run.
    On a GPU (``on_gpu``; default: torch sees CUDA) one batch per architecture: a GPU step
    costs about the same for 1 run as for 50, so the whole grid trains in the time of one run."""
    if on_gpu is None:
        from qml_core.training.train import default_device

        on_gpu = default_device().type == "cuda"
    groups: dict[tuple, list] = {}
    for index, (run, spec) in enumerate(jobs):
        if not batchable(spec, on_gpu):
            key = ("single", index)
        else:
            key = (spec.architecture_key(),) if on_gpu else (spec.architecture_key(), run)
        groups.setdefault(key, []).append((index, (run, spec)))
    return sorted(groups.values(), key=lambda batch: batch[0][1][0])  # stable: by run, then first appearance


def train_rows(batch: list[tuple[int, tuple[int, ExperimentSpec]]]) -> list[tuple[int, dict]]:
    """Run (cached) one batch of sweep jobs together; (job index, table row) per job."""
    from qml_core.experiments.experiment import run_experiments

    outcomes = run_experiments([spec for _, (_, spec) in batch])
    return [(index, result_row(run, spec, result, was_cached))
            for (index, (run, spec)), (result, was_cached) in zip(batch, outcomes)]


def in_job_order(outputs: list[list[tuple[int, dict]]]) -> list[dict]:
    """The rows of ``train_rows`` outputs, in the order of the jobs they came from."""
    return [row for _, row in sorted((pair for output in outputs for pair in output), key=lambda pair: pair[0])]


def run_sweep(jobs: list[tuple[int, ExperimentSpec]], n_jobs: int = 1,
              on_row: Callable[[dict], None] | None = None, backend: str = "local",
              address: str | None = None) -> list[dict]:
    """Run every (run, spec) job, stacked in ``batched_jobs`` batches, and return the rows in
    job order; on_row(row) is called for each as its batch finishes. Finished runs are in the
    cache, so an interrupted sweep resumes where it stopped. backend/address: see
    ``backends.parallel_map``."""
    def done(output):
        for _, row in output:
            on_row(row)

    outputs = parallel_map(train_rows, batched_jobs(jobs), n_jobs, done if on_row else None, backend, address)
    return in_job_order(outputs)
