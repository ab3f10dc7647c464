"""What every remote backend shares: the job a cluster worker runs (its result and the cache
entries it touched travel back), storing those entries on the client, and the checks that every
node runs the client's code and can be reached.
"""
import contextlib
from collections.abc import Callable

from qml_core.runtime.cluster_watch import BackendError

CONNECT_TIMEOUT_S = 20


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


def remote_call(index: int, func: Callable, item):
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
