"""Where batch jobs run: local worker processes (joblib/loky), a Dask distributed cluster or a
Ray cluster, behind one ``parallel_map``.

Every backend keeps the same contract: results in item order, ``on_done(output)`` called in
the calling process as each job finishes. Jobs compute through the cached functions, so
workers that share the filesystem write the shared cache. Remote workers also send back every
cached result their job produced or read, and the client stores the ones it does not have yet:
a cluster without a shared disk still leaves the run resumable on the client. Before any job,
the scheduler and every worker or node report their code version (``version_probe``): one that
cannot import qml_core or runs other code stops the run with one line naming the fix. dask and
ray are imported only when asked for. What the remote backends share is in ``remote.py``, Ray's
driver process in ``ray_driver.py``, the watch for a lost cluster in ``cluster_watch.py``.
"""
import contextlib
import os
import sys
from collections.abc import Callable

from qml_core.runtime import ray_driver
from qml_core.runtime.cluster_watch import BackendError, ClusterLost, dask_results, quiet_logger
from qml_core.runtime.remote import (CONNECT_TIMEOUT_S, INSTALL_FIX, check_version, remote_call, store_missing,
                                     version_probe)

__all__ = ["BACKENDS", "BackendError", "ClusterLost", "parallel_map"]

BACKENDS = ("local", "dask", "ray")
# loky's resource tracker outlives a sweep stopped mid-run (Ctrl-C, SIGTERM) and then removes the
# semaphores and memmap folder of the workers that were killed, warning about each on the shared
# stderr, after the CLI's closing line. It takes its warning filters from sys.warnoptions.
QUIET_TRACKER = "ignore:resource_tracker:UserWarning"


def _call(index: int, func: Callable, item, threads: int, owner: dict | None = None):
    """A local job: (index, func(item)) on ``threads`` torch threads. ``owner``: the process
    that started the worker (``lifetime.identity``); the worker ends if the owner dies."""
    import torch

    from qml_core.sim.executor import release_freed_memory

    if owner is not None:
        from qml_core.runtime.lifetime import exit_with

        exit_with(owner)
    if threads > 1:  # cores another process keeps busy would make the threads wait for each other
        from qml_core.runtime.cpu_load import free_cores

        threads = min(threads, free_cores())
    torch.set_num_threads(threads)
    try:
        return index, func(item)
    finally:
        release_freed_memory()  # loky would take the freed heap a big job leaves for a leak


def threads_per_worker(n_jobs: int) -> int:
    """Torch threads for each of ``n_jobs`` local workers: the cores shared out, at most
    OMP_NUM_THREADS when the user set it (as Dask's and Ray's workers honour it). The thread
    count changes a single-precision run's rounding, so a user who fixes it gets the same
    numbers on every backend and at every load."""
    threads = max(1, (os.cpu_count() or 1) // max(1, n_jobs))
    try:
        return max(1, min(threads, int(os.environ["OMP_NUM_THREADS"])))
    except (KeyError, ValueError):
        return threads


def _local(func: Callable, items: list, n_jobs: int):
    """(index, output) pairs as jobs finish, on n_jobs loky processes (or in this process)."""
    from joblib import Parallel, delayed

    threads = threads_per_worker(n_jobs)
    if n_jobs == 1:
        yield from (_call(i, func, item, threads) for i, item in enumerate(items))
        return
    from qml_core.runtime.lifetime import identity

    owner = identity()
    if QUIET_TRACKER not in sys.warnoptions:  # before loky starts its tracker
        sys.warnoptions.append(QUIET_TRACKER)
    parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
    yield from parallel(delayed(_call)(i, func, item, threads, owner) for i, item in enumerate(items))


def _dask(func: Callable, items: list, n_jobs: int, address: str | None):
    """(index, output, entries) as jobs finish on a Dask cluster: the scheduler at ``address``,
    or a local cluster of n_jobs single-threaded worker processes."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise BackendError("the dask backend needs dask.distributed: pip install 'dask[distributed]'") from None
    with contextlib.ExitStack() as stack:
        if address is None:
            cluster = stack.enter_context(LocalCluster(n_workers=n_jobs, threads_per_worker=1, processes=True,
                                                       dashboard_address=None))
            address = cluster.scheduler_address
        try:
            client = stack.enter_context(Client(address, timeout=f"{CONNECT_TIMEOUT_S}s"))
        except (OSError, TimeoutError) as exc:
            raise BackendError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        probe = version_probe()
        check_version(f"the Dask scheduler at {address}", client.run_on_scheduler(probe))
        try:  # without workers the jobs would wait for ever
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
        except TimeoutError:
            raise BackendError(f"the Dask scheduler at {address} has no workers after {CONNECT_TIMEOUT_S} s: "
                               f"start some with: dask worker {address} --nthreads 1") from None
        for worker, answer in sorted(client.run(probe).items()):
            check_version(f"the Dask worker {worker}", answer)
        try:
            futures = [client.submit(remote_call, i, func, item, pure=False) for i, item in enumerate(items)]
            with quiet_logger("distributed"):  # a lost scheduler is the lab's one line, not a logged traceback
                yield from dask_results(client, address, futures)
        except ClusterLost:
            stack.pop_all()  # closing a client whose scheduler is gone waits for it; the process ends soon
            raise
        except RuntimeError as exc:  # a node that joined after the check, without qml_core
            if "deserializ" not in str(exc):
                raise
            raise BackendError(f"the Dask scheduler or a worker at {address} cannot unpickle a job "
                               f"({str(exc).splitlines()[0]}): {INSTALL_FIX}") from None


def _stored(results):
    """(index, output) of remote results, each job's cache entries stored locally first."""
    for index, output, entries in results:
        store_missing(entries)
        yield index, output


def parallel_map(func: Callable, items: list, n_jobs: int = 1, on_done: Callable | None = None,
                 backend: str = "local", address: str | None = None) -> list:
    """[func(item) for item in items], in item order, on ``backend``; on_done(output) is called
    as each finishes (progress bars, live plots). ``func`` must be a module-level function.

    local: ``n_jobs`` worker processes, torch threads shared out between them. dask: the
    scheduler at ``address`` (e.g. ``tcp://10.0.0.5:8786``), or a local cluster of ``n_jobs``
    workers when None. ray: the cluster at ``address`` (e.g. ``10.0.0.5:6379``), or a local
    one with ``n_jobs`` CPUs. Remote results are also stored in this process's cache.

    >>> parallel_map(abs, [-1, 2, -3])
    [1, 2, 3]
    """
    if backend not in BACKENDS:
        raise BackendError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "local":
        results = _local(func, items, n_jobs)
    else:
        results = _stored(_dask(func, items, n_jobs, address)) if backend == "dask" else \
            ray_driver.results(func, items, n_jobs, address)
    outputs = {}
    for i, output in results:
        outputs[i] = output
        if on_done is not None:
            on_done(output)
    return [outputs[i] for i in range(len(items))]
