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
    it has run, and whether its result came from the cache (then it measured nothing)."""
    state: str
    done: int
    total: int
    seconds: float
    cached: bool = False


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


def estimate(jobs: list[JobTiming]) -> Estimate | None:
    """The time left for the active (queued or running) jobs, or None before any job has
    measured a rate (or when none is active)."""
    rates = [job.seconds / (job.done if job.total else 1) for job in jobs if not job.cached and job.seconds > 0
             and ((job.state == "running" and job.total and job.done) or job.state == "done")]
    active = [job for job in jobs if job.state in ("queued", "running")]
    if not rates or not active:
        return None
    known = [job.total for job in jobs if job.total]
    typical = statistics.median(known) if known else 1
    rate = statistics.median(rates)

    def left(job: JobTiming) -> float:
        if job.total:
            return job.total - job.done
        if job.state == "queued":
            return typical if known else 1
        return max(0.0, 1 - job.seconds / rate) if not known else typical  # a run without progress reports

    parallel = max(1, sum(job.state == "running" for job in active))
    return Estimate(sum(left(job) for job in active) * rate / parallel, rate, "epoch" if known else "run", len(rates), parallel)
