"""Seconds per run measured on this machine, kept beside the result cache, and what a request
of many runs is expected to take from them (a page asks before it queues a big one).

The job manager records every run it computes (not cache hits) under a coarse shape: its kind,
its model class and dataset, and a QNN's device setting (``shape``). A run's expected time is
the mean measured for its shape; for a shape not measured yet, a prior: the mean of the same
run on the exact simulator (else of every shape measured, else ``FALLBACK_S``) times what its
device setting costs (``device_cost``: K noise trajectories cost about K exact runs). The runs
are shared among the workers.

A request asks first when it would queue more than ``BIG_REQUEST`` new runs or take more than
``BIG_SECONDS``: a link to two noisy QNN curves queued 60 runs, 3 h, without a word.

Example::

    record("train", spec, 8.4)
    seconds, measured, assumed = expected([("train", s) for s in specs], workers=2)
"""
import json
import os
import pathlib
import threading

from qml_core.specs import QNNModel
from qml_core.store.cache import cache_dir

RATES_FILE = "rates.json"
FALLBACK_S = 8.0  # s per run when nothing is measured yet: a paper MNIST QNN run (docs/performance.md)
BIG_REQUEST = 100  # runs: a request that would queue more asks first
BIG_SECONDS = 600.0  # expected seconds (10 min on the workers): a request that would take longer asks first
SHOTS_COST = 2.0  # a run with shots (fast gradient) in exact runs: measured 1.24x (MNIST), 1.98x (XXZ)
SHIFT_COST = 100.0  # ... with the parameter-shift gradient: an epoch measured 44x (XXZ) to 160x (MNIST)
_lock = threading.Lock()


def shape(kind: str, spec, device: bool = True) -> str:
    """What a run's time mostly depends on: "train:QNNModel:mnist" (the kind, the model class,
    the dataset; a spec without ``model`` / ``data`` contributes what it has), and unless
    ``device`` is False a QNN's device setting ("train:QNNModel:mnist-p0.01"; ``QNNModel.device_suffix``)."""
    model = getattr(spec, "model", None)
    data = getattr(spec, "data", None)
    device = model.device_suffix() if device and isinstance(model, QNNModel) else ""
    return ":".join([kind, type(model).__name__ if model is not None else type(spec).__name__,
                     getattr(data, "name", "") if data is not None else ""]) + device


def device_cost(spec) -> float:
    """The time of a run on its QNN's device setting in runs on the exact simulator, before any
    was measured (docs/device.md): K trajectories cost about K exact runs (measured 11-15x for
    K = 16), shots SHOTS_COST or, with the parameter-shift gradient, SHIFT_COST; 1 otherwise."""
    model = getattr(spec, "model", None)
    if not isinstance(model, QNNModel):
        return 1.0
    cost = float(model.trajectories) if model.depolarizing else 1.0
    if model.shots is not None:
        cost *= SHIFT_COST if model.shot_gradient == "parameter-shift" else SHOTS_COST
    return cost


def _path(directory: str | os.PathLike | None) -> pathlib.Path:
    return pathlib.Path(directory) if directory is not None else cache_dir()


def load(directory: str | os.PathLike | None = None) -> dict[str, list[float]]:
    """{shape: [runs measured, mean seconds]}; empty when nothing is recorded (or the file is unreadable)."""
    try:
        data = json.loads((_path(directory) / RATES_FILE).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, list) and len(v) == 2
            and all(isinstance(x, (int, float)) for x in v) and v[0] > 0 and v[1] >= 0}


def record(kind: str, spec, seconds: float, directory: str | os.PathLike | None = None) -> None:
    """Add one computed run's ``seconds`` to its shape's running mean (written atomically;
    a cache that cannot store just does not learn)."""
    if not seconds > 0:
        return
    path = _path(directory)
    with _lock:
        rates = load(path)
        n, mean = rates.get(shape(kind, spec), [0, 0.0])
        rates[shape(kind, spec)] = [n + 1, (mean * n + seconds) / (n + 1)]
        tmp = path / f".{RATES_FILE}.{os.getpid()}.tmp"
        try:
            tmp.write_text(json.dumps(rates))
            tmp.replace(path / RATES_FILE)
        except OSError:
            tmp.unlink(missing_ok=True)


def measured_seconds(kind: str, spec, rates: dict[str, list[float]]) -> float | None:
    """The mean seconds runs of this (kind, spec)'s shape took here, None if none was measured."""
    found = rates.get(shape(kind, spec))
    return found[1] if found else None


def run_seconds(kind: str, spec, rates: dict[str, list[float]], overall: float) -> tuple[float, bool]:
    """(seconds one run of this (kind, spec) should take, whether runs of its shape were measured):
    their mean, else the prior (the module docstring) from the same run on the exact simulator
    or from ``overall``."""
    found = rates.get(shape(kind, spec))
    if found:
        return found[1], True
    exact = rates.get(shape(kind, spec, device=False))
    return (exact[1] if exact else overall) * device_cost(spec), False


def expected(requests: list[tuple[str, object]], workers: int,
             rates: dict[str, list[float]] | None = None) -> tuple[float, int, int]:
    """(seconds the (kind, spec) ``requests`` should take on ``workers`` workers, runs measured
    on this machine that the estimate rests on, requests whose shape was never measured and
    that a prior stands in for)."""
    rates = load() if rates is None else rates
    measured = sum(n for n, _ in rates.values())
    overall = sum(n * mean for n, mean in rates.values()) / measured if measured else FALLBACK_S
    each = [run_seconds(kind, spec, rates, overall) for kind, spec in requests]
    return sum(seconds for seconds, _ in each) / max(1, workers), measured, sum(not known for _, known in each)


def is_big(runs: int, seconds: float) -> bool:
    """Whether a request of ``runs`` new runs expected to take ``seconds`` asks first."""
    return runs > BIG_REQUEST or seconds > BIG_SECONDS


def duration(seconds: float) -> str:
    """"45 s", "7 min", "1.5 h": a wait as a person reads it."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def big_request_text(runs: int, seconds: float, measured: int, assumed: int, workers: int) -> str:
    """The question a page asks before it queues a big request (``is_big``) of ``runs`` new runs."""
    basis = f"from {measured} run{'s' * (measured != 1)} measured on this machine" if measured else \
        f"no run measured on this machine yet: {FALLBACK_S:g} s an exact run assumed"
    if assumed:
        basis += (f"; {assumed} of a kind not measured here yet counted as exact runs times their device's cost, "
                  f"K trajectories as K runs")
    return (f"This view needs {runs} new run{'s' * (runs != 1)}, about {duration(seconds)} on {workers} worker"
            f"{'s' * (workers != 1)} ({basis}). Fewer models, α values or runs answer sooner.")
