"""How many cores processes other than the lab's workers keep busy, read from ``/proc`` (Linux).

The job manager gives its workers only the cores nobody else uses. A niced worker with two
torch threads next to a busy process waits at every parallel region for whichever thread was
descheduled: measured on the 2-core machine under a load of ~5, 15 epochs of the paper MNIST
QNN took 3.3-3.7 s with one thread and 11-26 s with two. Where ``/proc`` is missing the
estimate is 0 (the workers then share out every core).
"""
import os
import time

SAMPLE_S = 1.0  # shortest interval between samples: the estimate is the average over it
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _busy_ticks() -> int:
    """Ticks all cores spent busy since boot (user, nice, system, irq, softirq, steal)."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return user + nice + system + irq + softirq + steal


def _process_ticks(pid: int) -> int:
    """User + system ticks of one process (all its threads); 0 once it has exited."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


class OtherLoad:
    """Busy cores outside a set of processes, averaged over the last ``SAMPLE_S`` or more.

    Example::

        load = OtherLoad()
        load.sample(worker_pids)  # starts the first interval, returns 0.0
        time.sleep(1)
        load.sample(worker_pids)  # cores busy outside the workers meanwhile, e.g. 0.4
    """

    def __init__(self):
        self.cores = 0.0
        self._last: tuple[float, int, dict[int, int]] | None = None

    def sample(self, pids: list[int]) -> float:
        """Busy cores outside ``pids`` since the previous sample (the last estimate while less
        than ``SAMPLE_S`` has passed). A pid new since then counts all its ticks (it started
        within the interval); ticks of one that exited meanwhile count as others' until the
        next sample."""
        now = time.monotonic()
        if self._last is not None and now - self._last[0] < SAMPLE_S:
            return self.cores
        try:
            busy = _busy_ticks()
        except (OSError, ValueError):
            return self.cores
        ours = {pid: _process_ticks(pid) for pid in pids}
        if self._last is not None:
            then, busy_then, ours_then = self._last
            ticks = busy - busy_then - sum(t - ours_then.get(pid, 0) for pid, t in ours.items())
            self.cores = max(0.0, ticks / CLOCK_TICKS / (now - then))
        self._last = (now, busy, ours)
        return self.cores


def busy_elsewhere(seconds: float = 0.2) -> float:
    """Cores that processes other than this one keep busy, averaged over ``seconds`` (a
    blocking sample); 0.0 where ``/proc`` is missing."""
    try:
        busy, ours = _busy_ticks(), _process_ticks(os.getpid())
        start = time.monotonic()
        time.sleep(seconds)
        ticks = _busy_ticks() - busy - (_process_ticks(os.getpid()) - ours)
        return max(0.0, ticks / CLOCK_TICKS / (time.monotonic() - start))
    except (OSError, ValueError):
        return 0.0


_last_free: tuple[float, int] | None = None  # (when, free cores) of the last measurement
FREE_CORES_TTL_S = 5.0  # a measurement serves the calls within this many seconds


def free_cores() -> int:
    """The cores this process may use without fighting others for them (at least 1): torch
    threads beyond that wait for each other at every parallel region (a paper XXZ QNN run took
    79 s with 2 threads next to a busy process, 10 s with 1; 6.2 s with 2 on the idle machine).
    Measured over 0.2 s, then reused for ``FREE_CORES_TTL_S`` (a sweep of cached runs asks
    once per run)."""
    global _last_free
    now = time.monotonic()
    if _last_free is None or now - _last_free[0] > FREE_CORES_TTL_S:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        _last_free = (now, max(1, min(cpus, int(cpus - busy_elsewhere() + 0.5))))
    return _last_free[1]
