"""Where batch jobs run: local worker processes (joblib/loky), a Dask distributed cluster or a
Ray cluster, behind one ``parallel_map``.

Every backend keeps the same contract: results in item order, ``on_done(output)`` called in
the calling process as each job finishes. Jobs compute through the cached functions, so
workers that share the filesystem write the shared cache. Remote workers also send back every
cached result their job produced or read, and the client stores the ones it does not have yet:
a cluster without a shared disk still leaves the run resumable on the client. dask and ray are
imported only when asked for.
"""
import contextlib
import os
from collections.abc import Callable

BACKENDS = ("local", "dask", "ray")
CONNECT_TIMEOUT_S = 20


class BackendError(RuntimeError):
    """A backend that cannot run (package missing, scheduler unreachable); one-line message."""


def _call(index: int, func: Callable, item, threads: int, owner: dict | None = None):
    """A local job: (index, func(item)) on ``threads`` torch threads. ``owner``: the process
    that started the worker (``lifetime.identity``); the worker ends if the owner dies."""
    import torch

    if owner is not None:
        from .lifetime import exit_with

        exit_with(owner)
    if threads > 1:  # cores another process keeps busy would make the threads wait for each other
        from .cpu_load import free_cores

        threads = min(threads, free_cores())
    torch.set_num_threads(threads)
    return index, func(item)


@contextlib.contextmanager
def recorded_results():
    """Record, in a dict key -> result, every result the process's cache hands out or stores
    inside the block (the cached functions read and write through ``open_cache()``)."""
    from .cache import open_cache

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
    from .cache import open_cache

    store, added = open_cache(), 0
    for key, value in entries.items():
        if key not in store:
            store.set(key, value)
            added += 1
    return added


def _worker_version() -> str:
    from .cache import code_version

    return code_version()


def check_version(remote: str) -> None:
    """Workers must run the client's code: the cache key carries the code version."""
    from .cache import code_version

    if remote != code_version():
        raise BackendError(f"the workers run qml_core {remote}, this client {code_version()}: "
                           "install the same code on the workers")


def _local(func: Callable, items: list, n_jobs: int):
    """(index, output) pairs as jobs finish, on n_jobs loky processes (or in this process)."""
    from joblib import Parallel, delayed

    threads = max(1, (os.cpu_count() or 1) // max(1, n_jobs))
    if n_jobs == 1:
        yield from (_call(i, func, item, threads) for i, item in enumerate(items))
        return
    from .lifetime import identity

    owner = identity()
    parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
    yield from parallel(delayed(_call)(i, func, item, threads, owner) for i, item in enumerate(items))


def _dask(func: Callable, items: list, n_jobs: int, address: str | None):
    """(index, output, entries) as jobs finish on a Dask cluster: the scheduler at ``address``,
    or a local cluster of n_jobs single-threaded worker processes."""
    try:
        from distributed import Client, LocalCluster, as_completed
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
        check_version(client.submit(_worker_version, pure=False).result())
        futures = [client.submit(_remote_call, i, func, item, pure=False) for i, item in enumerate(items)]
        for future in as_completed(futures):
            yield future.result()


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
        try:
            ray.init(address=address, **({} if address else {"num_cpus": n_jobs}),
                     include_dashboard=False, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise BackendError(f"cannot reach the Ray cluster at {address}: {str(exc).splitlines()[0]}") from None
    try:
        check_version(ray.get(ray.remote(_worker_version).remote()))
        remote = ray.remote(_remote_call)
        pending = [remote.remote(i, func, item) for i, item in enumerate(items)]
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            yield ray.get(ready[0])
    finally:
        if started:
            ray.shutdown()


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
