"""How long a set of jobs has left, from what its own runs have measured.

Extrapolating the elapsed time by the fraction done counts the time queued jobs spent
waiting as if it were work, so such an ETA climbs while a queue drains (issue 13: "9/10
finished, ETA 116 s" rising to 124 s, done after 86 s). Here the rate is measured per unit
of work (an epoch for jobs that report epochs, a whole job otherwise) on the jobs that have
run, and the units still to do are shared among the jobs running side by side.
"""
import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class JobTiming:
    """What the estimate needs of one job: ``state`` (queued, running, done, ...), units
    ``done`` of ``total`` (0: the kind reports no progress, the job is one unit), seconds
    it has run, whether its result came from the cache (then it measured nothing), its
    ``kind`` (jobs of different kinds run at different rates) and ``expected``: the seconds a
    run like it took on this machine before (``rates.py``), None when never measured."""
    state: str
    done: int
    total: int
    seconds: float
    cached: bool = False
    kind: str = ""
    expected: float | None = None


@dataclass(frozen=True)
class Estimate:
    """``seconds`` left, from ``rate`` seconds per ``unit`` (epoch or run) measured on
    ``measured`` jobs, with ``parallel`` jobs running at once."""
    seconds: float
    rate: float
    unit: str
    measured: int
    parallel: int

    def text(self) -> str:
        return (f"ETA {self.seconds:.0f} s ({self.rate:.2g} s per {self.unit} measured on {self.measured} "
                f"run{'s' * (self.measured != 1)}, {self.parallel} running)")


STILL_RUNNING = 0.1  # a run past its expected length still has this share of it left (never "ETA 0 s")


def estimate(jobs: list[JobTiming]) -> Estimate | None:
    """The time left for the active (queued or running) jobs, or None before any job has
    measured a rate (or when none is active).

    Rates are per kind: a landscape page's two slow views queued behind forty quick curvature
    runs were estimated at the curvature runs' rate ("ETA 7 s" at 95 s, done at 124 s). A kind
    not measured in this set takes its ``expected`` time, else the slowest measured kind's."""
    measured = [job for job in jobs if not job.cached and job.seconds > 0
                and ((job.state == "running" and job.total and job.done) or job.state == "done")]
    active = [job for job in jobs if job.state in ("queued", "running")]
    if not measured or not active:
        return None
    per_unit: dict[tuple[str, bool], list[float]] = {}
    for job in measured:
        per_unit.setdefault((job.kind, bool(job.total)), []).append(job.seconds / (job.done if job.total else 1))
    rates = {key: statistics.median(values) for key, values in per_unit.items()}
    lengths = {kind: statistics.median([j.total for j in jobs if j.kind == kind and j.total])
               for kind in {j.kind for j in jobs if j.total}}

    def whole_run(kind: str) -> float | None:
        if (kind, True) in rates and kind in lengths:
            return rates[(kind, True)] * lengths[kind]
        return rates.get((kind, False))
    slowest = max(v for v in (whole_run(kind) for kind, _ in rates) if v is not None) if any(
        whole_run(kind) is not None for kind, _ in rates) else max(rates.values())

    def left(job: JobTiming) -> float:
        if job.total and (job.kind, True) in rates:
            return (job.total - job.done) * rates[(job.kind, True)]
        run = whole_run(job.kind) or job.expected or slowest
        return run if job.state == "queued" else max(run - job.seconds, STILL_RUNNING * run)

    parallel = max(1, sum(job.state == "running" for job in active))
    main_kind = statistics.mode([job.kind for job in active])
    key = (main_kind, True) if (main_kind, True) in rates else (main_kind, False) if (main_kind, False) in rates \
        else next(iter(rates))
    return Estimate(sum(left(job) for job in active) / parallel, rates[key], "epoch" if key[1] else "run",
                    len(measured), parallel)


PRIOR_RUNS = 5  # the seconds per run measured on this machine before count as this many runs of evidence


class QueueEta:
    """The time left for a queue of runs worked off by ``workers`` processes, for a command's
    progress bar (``prepare-lesson``): each run's ``expected`` seconds (``rates.py``: what a
    run of its shape took here before) weigh the queue, and one factor, wall seconds per
    expected second, is learnt from all the runs done so far, started at 1/workers and worth
    PRIOR_RUNS runs. A bar's own ETA (tqdm's moving average of the last few runs' rates) swung
    between 37 and 72 min in one preparation (issue 33): quick playground runs and slow
    landscape runs alternate in the queue, and a moving average of recent rates follows each
    kind in turn. The queue's runs are taken to finish in their order (workers take them so)."""

    def __init__(self, expected: list[float], workers: int):
        self.workers = max(1, workers)
        self.done_work = [0.0]
        for seconds in expected:
            self.done_work.append(self.done_work[-1] + seconds)
        self.prior = PRIOR_RUNS * self.done_work[-1] / max(1, len(expected))  # expected seconds of PRIOR_RUNS runs

    def seconds_left(self, done: int, elapsed: float) -> float:
        """Seconds left after ``done`` runs finished in ``elapsed`` wall seconds."""
        done = min(max(0, done), len(self.done_work) - 1)
        finished, total = self.done_work[done], self.done_work[-1]
        per_expected = (self.prior / self.workers + elapsed) / (self.prior + finished) if self.prior + finished else 0.0
        return per_expected * (total - finished)
