"""Background jobs: long computations in worker processes, with progress, an ETA and cancel.

A job is one cached computation (``kind`` + spec, e.g. ``train`` + an ExperimentSpec). The
``JobManager`` of a cache directory is shared by everything in the process (every page,
browser tab and user of one Streamlit server), so a spec asked for twice while it runs is one
job; across processes the cache lock makes it one computation. A finished job's result is in
the cache, so asking again answers at once.

Workers are forked from a fork server that has imported torch, PennyLane and the engine once,
so a job starts in milliseconds instead of seconds. Each job is its own process: cancelling
asks it to stop at its next progress report (nothing is stored) and terminates it if it does
not within ``CANCEL_GRACE_S``.
"""
import contextlib
import importlib
import multiprocessing
import os
import queue
import sys
import threading
import time
import types
from dataclasses import dataclass, field

from .cache import cache_dir, lookup

TASKS = {  # kind -> (module, cached function taking (spec) and returning (result, was_cached))
    "train": ("qml_core.experiment", "run_experiment"),
    "unlearn": ("qml_core.unlearn", "run_unlearning"),
    "curvature": ("qml_core.curvature", "run_curvature"),
    "landscape": ("qml_core.landscape", "run_landscape"),
}
WITH_PROGRESS = ("train", "unlearn")  # the kinds whose functions report per-epoch progress
# torch._dynamo: torch.optim imports it on the first optimizer's construction, 2.7 s a worker otherwise
PRELOAD = ["torch", "torch._dynamo", "pennylane",
           "qml_core.experiment", "qml_core.unlearn", "qml_core.curvature", "qml_core.landscape"]
CANCEL_GRACE_S = 5.0
WORKER_NICENESS = 10  # workers yield the CPU to the app's server, so pages answer during long runs
ACTIVE = ("queued", "running")


@dataclass
class Job:
    """The state of one job, updated by the manager's collector thread; read it, don't write it.

    ``state``: queued, running, done, failed or cancelled. ``done``/``total``: progress units
    (epochs); ``records``: every progress record so far (live curves)."""
    kind: str
    spec: object
    label: str = ""
    state: str = "queued"
    done: int = 0
    total: int = 0
    records: list = field(default_factory=list)
    result: dict | None = None
    was_cached: bool = False
    error: str = ""
    submitted: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    pid: int | None = None

    @property
    def key(self) -> str:
        return job_key(self.kind, self.spec)

    @property
    def fraction(self) -> float:
        if self.state == "done":
            return 1.0
        return self.done / self.total if self.total else 0.0

    def history(self) -> dict[str, list]:
        """The progress records so far as columns (a training result's ``history`` shape)."""
        return {name: [r[name] for r in self.records] for name in (self.records[0] if self.records else {})}

    def elapsed(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.time()) - self.started

    def eta(self) -> float | None:
        """Seconds left, extrapolated from the progress so far (None before the first report)."""
        if self.state != "running" or not self.done or not self.total:
            return None
        return self.elapsed() / self.done * (self.total - self.done)

    def status(self) -> str:
        """One line for a progress bar: what, how far, how long."""
        if self.state == "queued":
            return f"{self.label}: queued"
        if self.state == "running":
            eta = self.eta()
            step = f" {self.done}/{self.total}" if self.total else ""
            return f"{self.label}: running{step}, {self.elapsed():.0f} s" + (f", ETA {eta:.0f} s" if eta is not None else "")
        if self.state == "done":
            return f"{self.label}: " + ("from the cache" if self.was_cached else f"done in {self.elapsed():.1f} s")
        return f"{self.label}: {self.state}" + (f" ({self.error})" if self.error else "")


def job_key(kind: str, spec) -> str:
    return f"{kind}:{spec.key()}"


LAB_ENV = ("QML_LAB_DATA",)  # the parent's settings a worker needs besides the cache directory


def _work(job_id: str, kind: str, spec, env: dict, threads: int, events, cancel) -> None:
    """Worker process body: run the cached task, reporting progress and the outcome on ``events``.
    ``env``: the lab's environment variables as the parent has them now (the fork server's
    copy dates from its start)."""
    import torch

    from .train import Cancelled

    os.environ.update(env)
    os.nice(WORKER_NICENESS)
    torch.set_num_threads(threads)

    def progress(done: int, total: int, record: dict) -> None:
        if cancel.is_set():
            raise Cancelled("cancelled by the user")
        events.put(("progress", job_id, done, total, record))

    module, name = TASKS[kind]
    func = getattr(importlib.import_module(module), name)
    try:
        result, was_cached = func(spec, progress=progress) if kind in WITH_PROGRESS else func(spec)
        events.put(("done", job_id, result, was_cached))
    except Cancelled:
        events.put(("cancelled", job_id))
    except Exception as exc:  # reported to the page as one line; nothing is cached for it
        events.put(("failed", job_id, f"{type(exc).__name__}: {exc}"))


@contextlib.contextmanager
def _bare_main():
    """Hide the ``__main__`` module while a worker starts.

    Streamlit installs the page script as ``__main__``, and a multiprocessing child re-runs
    its parent's main module on start: every worker would run app.py. A bare module with no
    file and no spec makes the child skip that step."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


class JobManager:
    """Runs jobs on at most ``max_workers`` worker processes at a time, one job per (kind, spec)."""

    def __init__(self, directory: str, max_workers: int | None = None):
        self.directory = directory
        self.max_workers = max_workers or max(1, os.cpu_count() or 1)
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(PRELOAD)
        self._events = self._ctx.Queue()
        self._jobs: dict[str, Job] = {}
        self._procs: dict[str, tuple] = {}  # job key -> (process, cancel event, cancel time)
        self._lock = threading.RLock()
        threading.Thread(target=self._collect, daemon=True, name="qml-lab-jobs").start()
        threading.Thread(target=warm_up, daemon=True, name="qml-lab-forkserver").start()

    def submit(self, kind: str, spec, label: str = "", restart: bool = False) -> Job:
        """The job for (kind, spec): the running or finished one if there is one, a cache hit
        answered at once, else a new queued job. A cancelled or failed job is returned as it
        is (a page that reruns must not undo a cancel) unless ``restart``."""
        if kind not in TASKS:
            raise ValueError(f"job kind must be one of {tuple(TASKS)}, got {kind!r}")
        key = job_key(kind, spec)
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and (job.state in ACTIVE or job.state == "done" or not restart):
                return job
            job = Job(kind, spec, label or kind)
            hit = lookup(kind, spec)
            if hit is not None:
                job.state, job.result, job.was_cached = "done", hit, True
                job.started = job.finished = time.time()
            self._jobs[key] = job
            self._schedule()
            return job

    def get(self, kind: str, spec) -> Job | None:
        return self._jobs.get(job_key(kind, spec))

    def cancel(self, job: Job) -> None:
        """Stop a queued job now, a running one at its next progress report (or by force)."""
        with self._lock:
            if job.state == "queued":
                job.state, job.finished = "cancelled", time.time()
            elif job.key in self._procs:
                process, event, _ = self._procs[job.key]
                event.set()
                self._procs[job.key] = (process, event, time.time())

    def running(self) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs.values() if j.state in ACTIVE]

    def _schedule(self) -> None:
        threads = max(1, (os.cpu_count() or 1) // self.max_workers)
        for job in self._jobs.values():
            if len(self._procs) >= self.max_workers:
                return
            if job.state == "queued":
                cancel = self._ctx.Event()
                process = self._ctx.Process(target=_work, daemon=True, args=(
                    job.key, job.kind, job.spec, self._worker_env(), threads, self._events, cancel))
                try:
                    with _bare_main():
                        process.start()
                except OSError as exc:  # no fork server (interpreter shutting down), no memory for a process
                    job.state, job.finished, job.error = "failed", time.time(), f"could not start a worker: {exc}"
                    continue
                job.state, job.started, job.pid = "running", time.time(), process.pid
                self._procs[job.key] = (process, cancel, None)

    def _worker_env(self) -> dict:
        return {"QML_LAB_CACHE": self.directory, **{k: os.environ[k] for k in LAB_ENV if k in os.environ}}

    def _finish(self, key: str, state: str, **fields) -> None:
        job = self._jobs.get(key)
        if job is not None and job.state in ACTIVE:
            job.state, job.finished = state, time.time()
            for name, value in fields.items():
                setattr(job, name, value)
        self._procs.pop(key, None)
        self._schedule()

    def _collect(self) -> None:
        """Apply worker events to the jobs; notice workers that died or ignore a cancel."""
        while True:
            try:
                event = self._events.get(timeout=0.2)
            except queue.Empty:
                event = None
            with self._lock:
                if event is not None:
                    self._apply(event)
                self._reap()

    def _apply(self, event: tuple) -> None:
        kind, key = event[0], event[1]
        job = self._jobs.get(key)
        if kind == "progress" and job is not None:
            job.done, job.total = event[2], event[3]
            job.records.append(event[4])
        elif kind == "done":
            self._finish(key, "done", result=event[2], was_cached=event[3])
        elif kind == "failed":
            self._finish(key, "failed", error=event[2])
        elif kind == "cancelled":
            self._finish(key, "cancelled")

    def _reap(self) -> None:
        for key, (process, _, cancelled_at) in list(self._procs.items()):
            if cancelled_at is not None and time.time() - cancelled_at > CANCEL_GRACE_S and process.is_alive():
                process.kill()
                process.join(1)
                self._finish(key, "cancelled")
            elif not process.is_alive() and self._events.empty():
                process.join(0)
                self._finish(key, "failed", error=f"worker exited with code {process.exitcode}")


def warm_up() -> None:
    """Start the fork server (it imports torch and the engine, a few seconds) ahead of the first job."""
    from multiprocessing import forkserver

    forkserver.ensure_running()


_managers: dict[str, JobManager] = {}
_managers_lock = threading.Lock()


def manager() -> JobManager:
    """The process-wide manager of the configured cache directory."""
    directory = str(cache_dir())
    with _managers_lock:
        if directory not in _managers:
            _managers[directory] = JobManager(directory)
        return _managers[directory]
