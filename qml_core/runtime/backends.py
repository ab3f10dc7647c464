"""Where batch jobs run: local worker processes (joblib/loky), a Dask distributed cluster or a
Ray cluster, behind one ``parallel_map``.

Every backend keeps the same contract: results in item order, ``on_done(output)`` called in
the calling process as each job finishes. Jobs compute through the cached functions, so
workers that share the filesystem write the shared cache. Remote workers also send back every
cached result their job produced or read, and the client stores the ones it does not have yet:
a cluster without a shared disk still leaves the run resumable on the client. Before any job,
the scheduler and every worker or node report their code version (``version_probe``): one that
cannot import qml_core or runs other code stops the run with one line naming the fix. dask and
ray are imported only when asked for.
"""
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable

from qml_core.runtime.cluster_watch import BackendError, ClusterLost, dask_results, quiet_logger, ray_results

__all__ = ["BACKENDS", "BackendError", "ClusterLost", "parallel_map"]

BACKENDS = ("local", "dask", "ray")
CONNECT_TIMEOUT_S = 20
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


@contextlib.contextmanager
def recorded_results():
    """Record, in a dict key -> result, every result the process's cache hands out or stores
    inside the block (the cached functions read and write through ``open_cache()``)."""
    from qml_core.store.cache import open_cache

    store, entries = open_cache(), {}
    get, put = store.get, store.set

    def recording_get(key, *args, **kwargs):
        value = get(key, *args, **kwargs)
        if value is not None and not key.startswith("lock:"):
            entries[key] = value
        return value

    def recording_set(key, value, *args, **kwargs):
        entries[key] = value
        return put(key, value, *args, **kwargs)

    store.get, store.set = recording_get, recording_set  # instance attributes shadow the methods
    try:
        yield entries
    finally:
        del store.get, store.set


def _remote_call(index: int, func: Callable, item):
    """A job on a cluster worker: (index, output, cache entries the job produced or read).
    Torch threads follow the worker's environment (both schedulers set OMP_NUM_THREADS)."""
    with recorded_results() as entries:
        output = func(item)
    return index, output, entries


def store_missing(entries: dict) -> int:
    """Store in the local cache every entry it lacks; return how many were new."""
    from qml_core.store.cache import open_cache

    store, added = open_cache(), 0
    for key, value in entries.items():
        if key not in store:
            store.set(key, value)
            added += 1
    return added


INSTALL_FIX = ("install this client's code on every node (pip install '.[cluster]' in the same checkout, or "
               "the same wheel) and restart the cluster's processes; docs/cluster.md")


def version_probe() -> Callable[[], tuple[str | None, str | None]]:
    """A function a scheduler or worker can run even without qml_core: (its code version,
    None), or (None, why ``import qml_core`` failed). Defined inside this function so that
    cloudpickle ships it by value; a module-level function travels by name, and unpickling it
    imports qml_core: Dask's scheduler then fails with "Error during deserialization of the
    task graph" and nothing says which node lacks what."""
    def probe():
        try:
            from qml_core.store.cache import code_version
        except Exception as exc:  # any failure to import is this node's answer, reported by the client
            return None, f"{type(exc).__name__}: {exc}"
        return code_version(), None
    return probe


def check_version(node: str, answer: tuple[str | None, str | None]) -> None:
    """Every node must import the client's code: the cache key carries the code version, and
    the scheduler and workers unpickle the jobs (functions travel by name). ``answer``: what
    ``version_probe()`` returned on ``node`` (e.g. "the Dask worker tcp://10.0.0.7:40123")."""
    from qml_core.store.cache import code_version

    remote, missing = answer
    if missing is not None:
        raise BackendError(f"{node} cannot import qml_core ({missing}): {INSTALL_FIX}")
    if remote != code_version():
        raise BackendError(f"{node} runs qml_core {remote}, this client {code_version()}: {INSTALL_FIX}")


def _local(func: Callable, items: list, n_jobs: int):
    """(index, output) pairs as jobs finish, on n_jobs loky processes (or in this process)."""
    from joblib import Parallel, delayed

    threads = max(1, (os.cpu_count() or 1) // max(1, n_jobs))
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
            futures = [client.submit(_remote_call, i, func, item, pure=False) for i, item in enumerate(items)]
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


def check_reachable(address: str, what: str) -> None:
    """Raise BackendError unless a TCP connection to ``address`` ("host:port", optionally
    "scheme://host:port") opens within CONNECT_TIMEOUT_S: Ray itself retries for minutes."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=CONNECT_TIMEOUT_S).close()
    except (OSError, ValueError, TypeError) as exc:
        raise BackendError(f"cannot reach the {what} at {address}: {exc}") from None


def _ray(func: Callable, items: list, n_jobs: int, address: str | None):
    """(index, output, entries) as jobs finish on Ray: the cluster at ``address``, the one this
    process is already connected to, or a local one with n_jobs CPUs."""
    try:
        import ray
    except ImportError:
        raise BackendError("the ray backend needs ray: pip install 'ray[default]'") from None
    started = not ray.is_initialized()
    if started:
        if address not in (None, "auto"):
            check_reachable(address, "Ray cluster")
        os.environ.setdefault("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", "1")  # else it prints "*** SIGTERM received"
        with keep_sigterm_handler():  # ray.init replaces it with sys.exit(15): no line of the lab's
            try:
                ray.init(address=address, **({} if address else {"num_cpus": n_jobs}), include_dashboard=False,
                         log_to_driver=False, logging_level=logging.WARNING)  # errors stay one line: no INFO lines
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise BackendError(f"cannot reach the Ray cluster at {address}: {str(exc).splitlines()[0]}") from None
    lost = False
    try:
        check_ray_nodes(ray)
        remote = ray.remote(_remote_call)
        yield from ray_results(ray, [remote.remote(i, func, item) for i, item in enumerate(items)], address)
    except ClusterLost:
        lost = True  # ray.shutdown would wait for the lost head
        raise
    finally:
        if started and not lost:
            ray.shutdown()


@contextlib.contextmanager
def keep_sigterm_handler():
    """Put back, after the block, the SIGTERM handler in force before it (in the main thread)."""
    main = threading.current_thread() is threading.main_thread()
    handler = signal.getsignal(signal.SIGTERM) if main else None
    try:
        yield
    finally:
        if main and handler is not None:
            signal.signal(signal.SIGTERM, handler)


def check_ray_nodes(ray) -> None:
    """Run ``version_probe()`` once on every live node of the Ray cluster (pinned there), and
    check its answer: Ray has no central scheduler that unpickles jobs, but each node's workers do."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    probe = ray.remote(num_cpus=0)(version_probe())
    nodes = [node for node in ray.nodes() if node["Alive"]]
    answers = ray.get([probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False))
                       .remote() for node in nodes])
    for node, answer in zip(nodes, answers):
        check_version(f"the Ray node {node['NodeManagerAddress']} ({node['NodeID'][:8]})", answer)


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
        results = _stored((_dask if backend == "dask" else _ray)(func, items, n_jobs, address))
    outputs = {}
    for i, output in results:
        outputs[i] = output
        if on_done is not None:
            on_done(output)
    return [outputs[i] for i in range(len(items))]
