"""Seconds per run measured on this machine, kept beside the result cache, and what a request
of many runs is expected to take from them (a page asks before it queues a big one).

The job manager records every run it computes (not cache hits) under a coarse shape: its kind,
its model class and dataset (``shape``). A request's expected time uses the mean measured for
each of its runs' shapes, else the mean over every shape measured, else ``FALLBACK_S``
(the paper MNIST QNN run of docs/performance.md), and shares the runs among the workers.

Example::

    record("train", spec, 8.4)
    seconds, measured = expected([("train", s) for s in specs], workers=2)
"""
import json
import os
import pathlib
import threading

from qml_core.store.cache import cache_dir

RATES_FILE = "rates.json"
FALLBACK_S = 8.0  # s per run when nothing is measured yet: a paper MNIST QNN run (docs/performance.md)
BIG_REQUEST = 100  # runs: a request that would queue more asks first
_lock = threading.Lock()


def shape(kind: str, spec) -> str:
    """What a run's time mostly depends on: "train:QNNModel:mnist" (the kind, the model class,
    the dataset; a spec without ``model`` / ``data`` contributes what it has)."""
    model = getattr(spec, "model", None)
    data = getattr(spec, "data", None)
    return ":".join([kind, type(model).__name__ if model is not None else type(spec).__name__,
                     getattr(data, "name", "") if data is not None else ""])


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


def expected(requests: list[tuple[str, object]], workers: int,
             rates: dict[str, list[float]] | None = None) -> tuple[float, int]:
    """(seconds the (kind, spec) ``requests`` should take on ``workers`` workers, runs the
    estimate rests on: 0 when nothing was measured and ``FALLBACK_S`` stood in)."""
    rates = load() if rates is None else rates
    measured = sum(n for n, _ in rates.values())
    overall = sum(n * mean for n, mean in rates.values()) / measured if measured else FALLBACK_S
    total = sum(rates.get(shape(kind, spec), [0, overall])[1] for kind, spec in requests)
    return total / max(1, workers), measured


def duration(seconds: float) -> str:
    """"45 s", "7 min", "1.5 h": a wait as a person reads it."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def big_request_text(runs: int, seconds: float, measured: int, workers: int) -> str:
    """The question a page asks before it queues ``runs`` (> BIG_REQUEST) new runs."""
    basis = (f"from {measured} run{'s' * (measured != 1)} measured on this machine" if measured
             else f"no run measured on this machine yet: {FALLBACK_S:g} s a run assumed")
    return (f"This view needs {runs} new runs, about {duration(seconds)} on {workers} worker"
            f"{'s' * (workers != 1)} ({basis}). Fewer models, α values or runs answer sooner.")
