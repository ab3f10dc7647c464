"""The Ray backend, with its driver in a child process of its own.

Ray's core worker lives inside the process that calls ``ray.init`` and ends that process at once
when the node's raylet dies ("Shutting down the core worker because the local raylet failed"), or
after 60 s without the head ("Failed to connect to GCS"), so a lost head could end the CLI with
exit 1 and no line of the lab's. ``results`` therefore runs the driver (``in_process``) in a
spawned child: the child stores each job's cache entries on this machine and sends the results
through a pipe; when the child ends without finishing, the parent raises ``ClusterLost``. The
child's output is discarded (Ray's own warnings), its errors come through the pipe. A process
already connected to Ray (a notebook that called ``ray.init``) keeps its connection: the jobs
then run through it in this process.
"""
import contextlib
import logging
import multiprocessing
import os
import pickle
import signal
import threading
from collections.abc import Callable

from qml_core.runtime.cluster_watch import POLL_S, BackendError, ClusterLost, ray_results, ray_where
from qml_core.runtime.remote import check_reachable, check_version, remote_call, store_missing, version_probe


def results(func: Callable, items: list, n_jobs: int, address: str | None):
    """(index, output) as jobs finish on Ray, each job's cache entries stored here first: the
    cluster at ``address``, the one this process is connected to, or a local one with n_jobs CPUs."""
    try:
        import ray
    except ImportError:
        raise BackendError("the ray backend needs ray: pip install 'ray[default]'") from None
    if ray.is_initialized():
        for index, output, entries in in_process(func, items, n_jobs, address):
            store_missing(entries)
            yield index, output
        return
    context = multiprocessing.get_context("spawn")  # not fork: this process may hold torch's threads
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=drive, args=(send, func, items, n_jobs, address), name="qml-lab-ray-driver",
                            daemon=True)
    child.start()
    send.close()
    try:
        while child.is_alive() or receive.poll(0):
            if not receive.poll(POLL_S):
                continue
            try:
                kind, payload = receive.recv()
            except EOFError:
                break
            if kind == "done":
                return
            if kind == "error":
                raise payload
            yield payload
        child.join(POLL_S)
        raise ClusterLost(ray_where(address), f"Ray ended the driver process, exit code {child.exitcode}")
    finally:
        if child.is_alive():
            child.terminate()
            child.join(10)
        if child.is_alive():
            child.kill()


def drive(send, func: Callable, items: list, n_jobs: int, address: str | None) -> None:
    """The child: run the jobs through ``in_process``, store their cache entries, send each
    (index, output), then "done"; or the error that stopped it. Ctrl-C reaches the parent,
    which stops this process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.dup2(quiet, 2)
    try:
        for index, output, entries in in_process(func, items, n_jobs, address):
            store_missing(entries)
            send.send(("result", (index, output)))
        send.send(("done", None))
    except BaseException as exc:  # every way out is reported, as the parent would have raised it
        send.send(("error", sendable(exc)))


def sendable(exc: BaseException) -> BaseException:
    """``exc`` if it pickles (the parent raises it as it is), else a BackendError saying it."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return BackendError(f"the Ray driver failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    return exc


def in_process(func: Callable, items: list, n_jobs: int, address: str | None):
    """(index, output, entries) as jobs finish on Ray, driven from this process."""
    import ray

    started = not ray.is_initialized()
    if started:
        if address not in (None, "auto"):
            check_reachable(address, "Ray cluster")
        os.environ.setdefault("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", "1")  # else it prints "*** SIGTERM received"
        with keep_sigterm_handler():  # ray.init replaces it with sys.exit(15)
            try:
                ray.init(address=address, **({} if address else {"num_cpus": n_jobs}), include_dashboard=False,
                         log_to_driver=False, logging_level=logging.WARNING)  # errors stay one line: no INFO lines
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise BackendError(f"cannot reach the Ray cluster at {address}: {str(exc).splitlines()[0]}") from None
    lost = False
    try:
        check_ray_nodes(ray)
        remote = ray.remote(remote_call)
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
