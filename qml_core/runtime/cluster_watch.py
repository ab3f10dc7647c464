"""Noticing, within a bounded time, that a Dask or Ray cluster went away in the middle of a run.

Left to themselves the schedulers' clients cancel every job with an exception the lab reported as
an internal error (Dask: ``FutureCancelledError ... scheduler-connection-lost``), wait for ever for
a worker that will never come (Dask with all workers gone), or let Ray's core worker end the
process after 60 s with "Failed to connect to GCS" and no line of the lab's. The backends wait for
results in short polls instead, and between polls check that the cluster still answers: the
scheduler's reply and its workers' heartbeats (Dask), a TCP connection to the head (Ray). A
cluster that stops answering raises ``ClusterLost``, one line the CLI completes with the runs
that finished (they are in the cache) and the command that resumes.
"""
import contextlib
import logging
import socket
import time

POLL_S = 2.0  # how long one wait for a result lasts before the cluster is checked
SILENT_S = 20.0  # no worker heartbeat for this long: the cluster is lost (Dask beats about once a second)
HEAD_GONE_S = 10.0  # the Ray head refusing connections this long (Ray itself gives up after 60 s)


class BackendError(RuntimeError):
    """A backend that cannot run (package missing, scheduler unreachable); one-line message."""


class ClusterLost(BackendError):
    """The cluster stopped answering mid-run. ``where``: the backend and its address;
    ``progress``: (finished, total) runs, filled in by the caller that counts them."""

    def __init__(self, where: str, why: str):
        super().__init__(f"lost {where} ({why})")
        self.where, self.why, self.progress = where, why, None

    def __reduce__(self):  # it travels from the Ray driver's process
        return type(self), (self.where, self.why)


class Heartbeats:
    """Whether any worker has been heard from lately: each worker's ``last-seen`` value (the
    scheduler's clock) is compared with the one before, and the time of a change is taken on
    this machine's clock, so clocks that differ between machines do not matter."""

    def __init__(self, silent_s: float = SILENT_S):
        self.silent_s, self.seen, self.heard = silent_s, {}, time.monotonic()

    def answered(self) -> None:
        """A job's result came back: some worker is alive now."""
        self.heard = time.monotonic()

    def silent(self, workers: dict) -> bool:
        """Record the workers' ``last-seen`` values; True when none changed for silent_s."""
        now = time.monotonic()
        seen = {name: info.get("last-seen") for name, info in workers.items()}
        if any(self.seen.get(name) != value for name, value in seen.items()):
            self.heard = now
        self.seen = seen
        return now - self.heard > self.silent_s


@contextlib.contextmanager
def quiet_logger(prefix: str):
    """Silence a library's loggers (``prefix`` and every logger below it) inside the block:
    Dask's client logs a traceback at ERROR when it loses its scheduler, and the lab's line
    says it once. After ClusterLost they stay silent: the client's reconnecting thread logs
    its own failure later, when the lab's line is already out."""
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
               if name == prefix or name.startswith(prefix + ".")] + [logging.getLogger(prefix)]
    before = [logger.disabled for logger in loggers]
    for logger in loggers:
        logger.disabled = True
    lost = False
    try:
        yield
    except ClusterLost:
        lost = True
        raise
    finally:
        if not lost:
            for logger, disabled in zip(loggers, before):
                logger.disabled = disabled


def dask_results(client, address: str, futures: list, silent_s: float = SILENT_S):
    """The results of ``futures`` as they finish; ClusterLost when the scheduler at ``address``
    drops the client or stops answering, or no worker has answered for ``silent_s``."""
    from distributed import wait
    from distributed.client import CancelledError

    where = f"the Dask scheduler at {address}"
    beats, pending = Heartbeats(silent_s), futures
    while pending:
        try:
            done, pending = wait(pending, timeout=POLL_S, return_when="FIRST_COMPLETED")
            for future in done:
                yield future.result()
        except TimeoutError:
            done = ()
        except CancelledError as exc:  # one job's or several jobs' (wait)
            raise ClusterLost(where, cancel_reason(exc)) from None
        if done:
            beats.answered()
            continue
        try:
            info = client.sync(client.scheduler.identity, n_workers=-1, callback_timeout=silent_s / 3)
        except Exception as exc:  # any failure to answer (closed comm, timeout) means the same here
            raise ClusterLost(where, f"it does not answer: {type(exc).__name__}") from None
        if beats.silent(info.get("workers", {})):
            alive = len(info.get("workers", {}))
            raise ClusterLost(where, f"none of its {alive} workers has answered for {silent_s:.0f} s" if alive
                              else f"it has had no workers for {silent_s:.0f} s")


def cancel_reason(exc: BaseException) -> str:
    """Dask's reason for cancelling jobs (e.g. scheduler-connection-lost), from the exception
    of one job (``reason``) or of several (``error_groups``: the first group's)."""
    groups = getattr(exc, "error_groups", None)
    reason = getattr(groups[0], "reason", None) if groups else getattr(exc, "reason", None)
    return reason or "its jobs were cancelled"


def ray_where(address: str | None) -> str:
    """How a line names a Ray cluster: its address, or this machine for a local Ray."""
    return f"the Ray cluster at {address or 'this machine'}"


def head_answers(host: str, port: int) -> bool:
    """Whether a TCP connection to the Ray head's GCS port opens."""
    try:
        socket.create_connection((host, port), timeout=POLL_S).close()
    except OSError:
        return False
    return True


def ray_results(ray, refs: list, address: str | None, gone_s: float = HEAD_GONE_S):
    """The results of ``refs`` as they finish; ClusterLost when the head at ``address`` refuses
    connections for ``gone_s`` or a job is lost with its node or worker. ``address`` None: a
    local Ray started by this process (nothing to watch but lost jobs)."""
    from ray import exceptions

    lost_job = (exceptions.WorkerCrashedError, exceptions.NodeDiedError, exceptions.ObjectLostError,
                exceptions.RaySystemError, exceptions.GetTimeoutError)
    where = ray_where(address)
    head = None
    if address not in (None, "auto"):
        host, _, port = address.rpartition(":")
        head = (host.split("://")[-1], int(port))
    pending, refused_since = refs, None
    while pending:
        ready, pending = ray.wait(pending, num_returns=1, timeout=POLL_S)
        for ref in ready:
            try:
                yield ray.get(ref)
            except lost_job as exc:
                raise ClusterLost(where, f"a job was lost: {type(exc).__name__}") from None
        if ready or head is None:
            continue
        if head_answers(*head):
            refused_since = None
        elif refused_since is None:
            refused_since = time.monotonic()
        elif time.monotonic() - refused_since > gone_s:
            raise ClusterLost(where, f"its head has refused connections for {gone_s:.0f} s")
