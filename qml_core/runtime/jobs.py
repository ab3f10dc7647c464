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

Priorities: the view in front of a user comes first. A job is ``FOREGROUND`` (a page shows
it) or ``BACKGROUND`` (a prefetch of a likely next view, or a page's job that nobody has
watched for ``WATCH_GRACE_S``). The highest-priority queued job starts first; among
background jobs, the newest prefetch batch (guesses from the view a user looks at now) goes
before older batches and unwatched pages' jobs; ties go by submission order. A foreground
job that finds every worker busy with background jobs pre-empts the most recently started
of them: it is cancelled (nothing is stored) and queued again at background priority, so
its result still lands in the cache once the machine is free. Unwatched jobs are first
demoted: a browser throttles the timers of a hidden tab (to one a minute after five minutes
hidden, in Chrome), so a user who only switched tabs must not come back to cancelled runs. A
page's job nobody has watched for ``ABANDON_S`` is cancelled (its finished runs are in the
cache); asked for again, it simply starts again.

Torch threads follow the load: every worker sets ``torch.set_num_threads`` at each progress
report to a shared value the manager keeps at (cores not busy elsewhere) // (running jobs)
(``worker_threads``; "elsewhere" is measured by ``cpu_load``), so two jobs on two cores run
one thread each, a job left alone on an idle machine takes every core, and a machine busy
with other work gets one thread per job: oversubscribed threads of a niced worker wait at
every parallel region for the one that was descheduled. Kinds without progress reports keep
their start value.
"""
import contextlib
import importlib
import itertools
import multiprocessing
import os
import pathlib
import queue
import sys
import threading
import time
import types
from dataclasses import dataclass, field

from qml_core.data.measurements import MEASURING
from qml_core.runtime.cpu_load import OtherLoad
from qml_core.runtime.lifetime import exit_with, identity
from qml_core.runtime.rates import record
from qml_core.store.cache import cache_dir, lookup

TASKS = {  # kind -> (module, cached function taking (spec) and returning (result, was_cached))
    "train": ("qml_core.experiments.experiment", "run_experiment"),
    "unlearn": ("qml_core.experiments.unlearn", "run_unlearning"),
    "curvature": ("qml_core.experiments.curvature", "run_curvature"),
    "control-curvature": ("qml_core.experiments.control_curvature", "run_control_curvature"),
    "landscape": ("qml_core.experiments.landscape", "run_landscape"),
}
WITH_PROGRESS = ("train", "unlearn")  # the kinds whose functions report per-epoch progress
# torch._dynamo: torch.func (the Hessians) imports it on first use, 2.7 s a worker otherwise
PRELOAD = ["torch", "torch._dynamo", "pennylane", *(module for module, _ in TASKS.values()),
           "qml_core.runtime.worker_warmup"]
CANCEL_GRACE_S = 5.0
WORKER_NICENESS = 10  # workers yield the CPU to the app's server, so pages answer during long runs
ACTIVE = ("queued", "running")
BACKGROUND, FOREGROUND = 0, 1  # job priorities: prefetches and unwatched pages' jobs; the views being looked at
WATCH_GRACE_S = 30.0  # a foreground job nobody has watched for this long drops to BACKGROUND
ABANDON_S = 180.0  # a page's job nobody has watched for this long is cancelled


@dataclass
class Job:
    """The state of one job, updated by the manager's collector thread; read it, don't write it.

    ``state``: queued, running, done, failed or cancelled. ``done``/``total``: progress units
    of its ``stage`` (epochs; states while a run's features are measured, ``MEASURING``,
    since ``stage_started``); ``records``: every epoch's record so far (live curves). ``priority``:
    FOREGROUND or BACKGROUND; ``batch``: its prefetch batch (0: a page asked for it; newer
    batches go first); ``order``: submission number (the tie-break); ``watched``: when a page
    last showed it; ``threads``: torch threads its worker used at its last report."""
    kind: str
    spec: object
    label: str = ""
    priority: int = FOREGROUND
    batch: int = 0
    order: int = 0
    watched: float = field(default_factory=time.time)
    threads: int = 0
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
    abandoned: bool = False  # cancelled because no page watched it (``ABANDON_S``), not by a user
    stage: str = ""
    stage_started: float | None = None

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
        """Seconds left in the current stage, extrapolated from its progress so far (None
        before its first report)."""
        if self.state != "running" or not self.done or not self.total:
            return None
        return (time.time() - (self.stage_started or self.started)) / self.done * (self.total - self.done)

    def status(self) -> str:
        """One line for a progress bar: what, how far, how long."""
        if self.state == "queued":
            return f"{self.label}: queued"
        if self.state == "running":
            eta = self.eta()
            step = f" {self.done}/{self.total}" if self.total else ""
            doing = "measuring states" if self.stage == MEASURING else "running"
            return f"{self.label}: {doing}{step}, {self.elapsed():.0f} s" + (f", ETA {eta:.0f} s" if eta is not None else "")
        if self.state == "done":
            return f"{self.label}: " + ("from the cache" if self.was_cached else f"done in {self.elapsed():.1f} s")
        return f"{self.label}: {self.state}" + (f" ({self.error})" if self.error else "")


def job_key(kind: str, spec) -> str:
    return f"{kind}:{spec.key()}"


LAB_ENV = ("QML_LAB_DATA",)  # the parent's settings a worker needs besides the cache directory


def worker_threads(cpus: int, running: int, others: float = 0.0) -> int:
    """Torch threads for each of ``running`` jobs on ``cpus`` cores while other processes
    keep ``others`` cores busy: the free cores (``others`` rounded) shared out, at least one."""
    return max(1, (cpus - round(others)) // max(1, running))


def _work(job_id: str, kind: str, spec, env: dict, threads, events, cancel, owner: dict) -> None:
    """Worker process body: run the cached task, reporting progress and the outcome on ``events``.
    ``env``: the lab's environment variables as the parent has them now (the fork server's
    copy dates from its start); ``threads``: the shared value of torch threads per worker,
    applied at the start and at each progress report; ``owner``: the manager's process
    (``lifetime.identity``), whose death ends the worker."""
    import torch

    from qml_core.training.train import Cancelled

    exit_with(owner)  # the app's process: a worker never outlives it (its parent is the fork server)
    os.environ.update(env)
    os.nice(WORKER_NICENESS)
    torch.set_num_threads(threads.value)

    def progress(done: int, total: int, record: dict) -> None:
        if cancel.is_set():
            raise Cancelled("cancelled by the user")
        wanted = threads.value
        if wanted != torch.get_num_threads():
            torch.set_num_threads(wanted)
        events.put(("progress", job_id, done, total, record, wanted))

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


@dataclass
class _Worker:
    """A started worker process as the manager tracks it."""
    process: object
    cancel: object  # a multiprocessing Event: the worker stops at its next progress report
    cancelled_at: float | None = None
    preempted: bool = False  # stopping to make room for a foreground job: queued again once it has


class JobManager:
    """Runs jobs on at most ``max_workers`` worker processes at a time, one job per (kind, spec),
    the highest priority first."""

    def __init__(self, directory: str, max_workers: int | None = None):
        self.directory = directory
        self.cpus = max(1, os.cpu_count() or 1)
        self.max_workers = max_workers or self.cpus
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(PRELOAD)
        engine_on_python_path()
        self._events = self._ctx.Queue()
        self._threads = self._ctx.Value("i", self.cpus, lock=False)  # torch threads per worker, read by the workers
        self._load = OtherLoad()
        self._jobs: dict[str, Job] = {}
        self._workers: dict[str, _Worker] = {}  # job key -> its worker
        self._order = itertools.count()  # submission order
        self._batches = itertools.count(1)  # prefetch batches; 0: a page's own jobs
        self._lock = threading.RLock()
        threading.Thread(target=self._collect, daemon=True, name="qml-lab-jobs").start()
        threading.Thread(target=warm_up, daemon=True, name="qml-lab-forkserver").start()

    def submit(self, kind: str, spec, label: str = "", restart: bool = False, priority: int = FOREGROUND) -> Job:
        """The job for (kind, spec): the running or finished one if there is one, a cache hit
        answered at once, else a new queued job. A cancelled or failed job is returned as it
        is (a page that reruns must not undo a cancel) unless ``restart``.

        ``priority``: FOREGROUND for what a page shows (this also marks the job watched),
        BACKGROUND for a prefetch (``prefetch`` queues several). Asking at FOREGROUND for an
        active background job promotes it (it takes ``label``): it is computed once."""
        with self._lock:
            job = self._add(kind, spec, label, restart, priority, next(self._batches) if priority == BACKGROUND else 0)
            self._schedule()
            return job

    def prefetch(self, requests: list[tuple[str, object, str]]) -> list[Job]:
        """Queue a view's likely next (kind, spec, label) requests at BACKGROUND priority, in
        this order and ahead of older prefetches: the newest view's guesses are the likeliest
        (older ones still run once nothing newer waits). A queued one asked for again moves
        into this batch, at its place in ``requests``."""
        with self._lock:
            batch = next(self._batches)
            jobs = [self._add(kind, spec, label, False, BACKGROUND, batch) for kind, spec, label in requests]
            self._schedule()
            return jobs

    def get(self, kind: str, spec) -> Job | None:
        return self._jobs.get(job_key(kind, spec))

    def watch(self, jobs: list[Job]) -> None:
        """Mark jobs as on screen now (a page's progress panel calls this at every refresh):
        they keep, or get back, FOREGROUND priority."""
        with self._lock:
            if self._watch(jobs):
                self._schedule()

    def cancel(self, job: Job) -> None:
        """Stop a queued job now, a running one at its next progress report (or by force)."""
        with self._lock:
            if job.state == "queued":
                job.state, job.finished = "cancelled", time.time()
            elif job.key in self._workers:
                worker = self._workers[job.key]
                worker.cancel.set()
                worker.cancelled_at = worker.cancelled_at or time.time()
                worker.preempted = False  # the user's cancel wins over a pre-emption's re-queue

    def running(self) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs.values() if j.state in ACTIVE]

    def _add(self, kind: str, spec, label: str, restart: bool, priority: int, batch: int) -> Job:
        """``submit`` without scheduling: the existing job (promoted, or moved to ``batch``) or a new one."""
        if kind not in TASKS:
            raise ValueError(f"job kind must be one of {tuple(TASKS)}, got {kind!r}")
        key = job_key(kind, spec)
        job = self._jobs.get(key)
        if job is not None and (job.state in ACTIVE or job.state == "done" or not (restart or job.abandoned)):
            if job.state in ACTIVE and priority == FOREGROUND:
                if job.priority < FOREGROUND and label:
                    job.label = label
                job.batch = 0
                self._watch([job])
            elif job.state in ACTIVE and job.priority == BACKGROUND:  # a current guess again, in this batch's order
                job.batch, job.order = batch, next(self._order)
            return job
        job = Job(kind, spec, label or kind, priority=priority, order=next(self._order), batch=batch)
        hit = lookup(kind, spec)
        if hit is not None:
            job.state, job.result, job.was_cached = "done", hit, True
            job.started = job.finished = time.time()
        self._jobs[key] = job
        return job

    def _watch(self, jobs: list[Job]) -> bool:
        """Mark active jobs watched now and FOREGROUND; True if one was promoted."""
        promoted = False
        for job in jobs:
            if job.state in ACTIVE:
                job.watched = time.time()
                promoted = promoted or job.priority < FOREGROUND
                job.priority = FOREGROUND
        return promoted

    def _demote_unwatched(self) -> None:
        """Foreground jobs no page has shown for WATCH_GRACE_S drop to BACKGROUND; a page's
        jobs (not prefetches) no page has shown for ABANDON_S are cancelled."""
        for job in [j for j in self._jobs.values()
                    if j.state in ACTIVE and j.batch == 0 and j.watched < time.time() - ABANDON_S]:
            job.abandoned, job.error = True, f"nobody watched it for {ABANDON_S:.0f} s"
            self.cancel(job)
        stale = time.time() - WATCH_GRACE_S
        demoted = [j for j in self._jobs.values()
                   if j.state in ACTIVE and j.priority == FOREGROUND and j.watched < stale]
        for job in demoted:
            job.priority = BACKGROUND
        if demoted:
            self._schedule()

    def _schedule(self) -> None:
        """Start the best queued jobs while a worker is free, or can be freed by pre-empting a
        running job of lower priority; background jobs only while no foreground job runs
        (measured in the browser: a fresh paper α took 19.8 s with prefetches beside it)."""
        while (job := self._next_queued()) is not None:
            if job.priority == BACKGROUND and self._foreground_running():
                return  # a prefetch uses idle cores only: it would slow the view being waited for
            if sum(not w.preempted for w in self._workers.values()) >= self.max_workers:
                victim = self._victim(job.priority)
                if victim is None:
                    return
                worker = self._workers[victim.key]
                worker.cancel.set()
                worker.cancelled_at, worker.preempted = time.time(), True
            self._start(job)

    def _foreground_running(self) -> bool:
        return any(self._jobs[key].priority == FOREGROUND for key, w in self._workers.items() if not w.preempted)

    def _next_queued(self) -> Job | None:
        """The queued job of the highest priority; among background jobs the newest prefetch
        batch first; then the earliest submitted."""
        queued = (j for j in self._jobs.values() if j.state == "queued")
        return min(queued, key=lambda j: (-j.priority, -j.batch, j.order), default=None)

    def _victim(self, priority: int) -> Job | None:
        """The running job to pre-empt for one of ``priority``: the lowest priority below it,
        the latest started among those (it has the least work to lose)."""
        running = [self._jobs[key] for key, w in self._workers.items() if not w.preempted]
        lower = [j for j in running if j.priority < priority]
        return min(lower, key=lambda j: (j.priority, -(j.started or 0.0)), default=None)

    def _share_threads(self, starting: int = 0) -> None:
        """Set the workers' thread count for the running workers and ``starting`` more."""
        others = self._load.sample([w.process.pid for w in self._workers.values()])
        self._threads.value = worker_threads(self.cpus, len(self._workers) + starting, others)

    def _start(self, job: Job) -> None:
        self._share_threads(starting=1)
        cancel = self._ctx.Event()
        process = self._ctx.Process(target=_work, daemon=True, args=(
            job.key, job.kind, job.spec, self._worker_env(), self._threads, self._events, cancel, identity()))
        try:
            with _bare_main():
                process.start()
        except OSError as exc:  # no fork server (interpreter shutting down), no memory for a process
            job.state, job.finished, job.error = "failed", time.time(), f"could not start a worker: {exc}"
            self._share_threads()
            return
        job.state, job.started, job.pid = "running", time.time(), process.pid
        self._workers[job.key] = _Worker(process, cancel)

    def _worker_env(self) -> dict:
        return {"QML_LAB_CACHE": self.directory, **{k: os.environ[k] for k in LAB_ENV if k in os.environ}}

    def _finish(self, key: str, state: str, **fields) -> None:
        """A worker ended: record the outcome, or queue a pre-empted job again from scratch."""
        worker = self._workers.pop(key, None)
        job = self._jobs.get(key)
        if job is not None and job.state in ACTIVE:
            if state == "cancelled" and worker is not None and worker.preempted:
                job.state, job.started, job.pid, job.done, job.total, job.records = "queued", None, None, 0, 0, []
            else:  # the state last: a page that reads "done" (without the lock) finds the result there
                for name, value in fields.items():
                    setattr(job, name, value)
                job.finished = time.time()
                job.state = state
                if state == "done" and not job.was_cached:  # what a big request's estimate quotes (rates.py)
                    record(job.kind, job.spec, job.elapsed(), self.directory)
        self._share_threads()
        self._schedule()

    def _collect(self) -> None:
        """Apply worker events to the jobs; notice workers that died or ignore a cancel,
        foreground jobs nobody watches any more, and changes in the load."""
        while True:
            try:
                event = self._events.get(timeout=0.2)
            except queue.Empty:
                event = None
            with self._lock:
                if event is not None:
                    self._apply(event)
                self._reap()
                self._demote_unwatched()
                self._share_threads()

    def _apply(self, event: tuple) -> None:
        kind, key = event[0], event[1]
        job = self._jobs.get(key)
        if kind == "progress" and job is not None and job.state == "running":
            job.done, job.total, job.threads = event[2], event[3], event[5]
            stage = event[4].get("stage", "training")
            if stage != job.stage:
                job.stage, job.stage_started = stage, time.time()
            if stage != MEASURING:
                job.records.append(event[4])
        elif kind == "done":
            self._finish(key, "done", result=event[2], was_cached=event[3])
        elif kind == "failed":
            self._finish(key, "failed", error=event[2])
        elif kind == "cancelled":
            self._finish(key, "cancelled")

    def _reap(self) -> None:
        for key, worker in list(self._workers.items()):
            process, cancelled_at = worker.process, worker.cancelled_at
            if cancelled_at is not None and time.time() - cancelled_at > CANCEL_GRACE_S and process.is_alive():
                process.kill()
                process.join(1)
                self._finish(key, "cancelled")
            elif not process.is_alive() and self._events.empty():
                process.join(0)
                self._finish(key, "failed", error=f"worker exited with code {process.exitcode}")


def engine_on_python_path() -> None:
    """Put the directory that holds ``qml_core`` on PYTHONPATH, for the fork server to come.

    Before Python 3.13 the fork server ignores its parent's sys.path: it imports its preload
    from its own path only, and skips silently what it cannot import. A lab started from
    another directory than the checkout (``streamlit run ~/lab/app.py``) would preload torch
    and PennyLane but not the engine, and every job would import the engine and decompress
    MNIST itself (a paper MNIST MLP job from /tmp: 1.2-1.5 s before, 1.0-1.2 s after)."""
    root = str(pathlib.Path(__file__).resolve().parents[2])
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if root not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([root, *paths])


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
