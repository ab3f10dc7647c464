"""Worker processes that never outlive the process they work for.

A sweep's workers (joblib/loky) and the app's job workers (forked by a fork server) are
separate processes: if their owner dies (SIGKILL, a crash, SIGTERM to the parent alone) they
would go on computing for nobody, holding cores and cache locks. ``exit_with(owner)`` starts a
daemon thread in the worker that ends it as soon as the owner is gone: exited, a zombie, or its
pid reused by another process (compared by start time, as the cache's lock holders are). A
thread rather than PR_SET_PDEATHSIG: that signal follows the *thread* that forked the worker,
which for loky can be a helper thread that ends while the parent lives on, and it does not
reach the app's workers, whose parent is the fork server, not the app.
"""
import os
import socket
import threading
import time

from qml_core.store.locks import holder_is_dead, process_state

POLL_S = 0.25  # how often a worker looks at its owner
EXIT_ORPHANED = 70  # the status of a worker ended because its owner died (EX_SOFTWARE)
_watching: set[int] = set()
_lock = threading.Lock()


def identity() -> dict:
    """This process as ``locks.holder_is_dead`` knows a process: host, pid and start time; an
    owner passes it to the workers it starts."""
    state = process_state(os.getpid())
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": state and state[1]}


def exit_with(owner: dict) -> None:
    """End this process (``os._exit(EXIT_ORPHANED)``) as soon as ``owner`` (an ``identity``) is
    gone; idempotent per owner, a no-op when the owner is this process itself."""
    if owner["pid"] == os.getpid():
        return
    with _lock:
        if owner["pid"] in _watching:
            return
        _watching.add(owner["pid"])

    def watch() -> None:
        while not holder_is_dead(owner):
            time.sleep(POLL_S)
        os._exit(EXIT_ORPHANED)

    threading.Thread(target=watch, daemon=True, name="qml-lab-owner-watch").start()
