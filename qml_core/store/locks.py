"""One computation per cache key: a lock, shared by every process that opens the same cache,
that names its holder and carries a heartbeat.

The lock is an entry ``lock:<key>`` added atomically (like ``diskcache.Lock``) whose value names
the holder: host, pid, the process's start time, a token, when it took the lock (``since``)
and its heartbeat (``beat``). While the holder computes, a thread of its own refreshes ``beat``
every ``stale_after() / 6`` seconds. A waiter

- breaks at once a lock whose holder ran on this host and is gone (killed, crashed, its pid
  reused), silently: nothing was lost but the holder;
- takes over a lock whose heartbeat is older than ``stale_after()`` (60 s, ``$QML_LAB_LOCK_STALE_S``):
  its holder is frozen (SIGSTOP, a hung machine) or ran on a host that is gone (a dead cluster
  node on a shared cache). One ``warning:`` line names the holder, since when it held the lock
  and how long it has been silent. A beat the waiter's own clock sees unchanged for that long
  counts too, so a skewed or planted clock cannot hold a lock for ever;
- says in one line, once it has waited ``stale_after() / 6`` seconds, who holds what since when.

A frozen holder that wakes after a take-over finds the lock no longer its own: its heartbeat
stops and its release leaves the new holder's lock alone (tokens are compared).
"""
import datetime
import os
import pathlib
import socket
import sys
import threading
import time
import uuid

import diskcache

from qml_core.store.codec import UnreadableEntry
from qml_core.store.containment import CacheError
from qml_core.store.quarantine import quarantine

LOCK_POLL_S = 0.05  # how often a waiter looks at the lock and its holder
STALE_ENV = "QML_LAB_LOCK_STALE_S"
STALE_S = 60.0  # a lock whose heartbeat is older than this is taken over


def stale_after() -> float:
    """Seconds without a heartbeat after which a lock is taken over: ``$QML_LAB_LOCK_STALE_S``
    (a number > 0), else ``STALE_S``. CacheError, one line, for another value."""
    text = os.environ.get(STALE_ENV)
    if not text:
        return STALE_S
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise CacheError(f"{STALE_ENV} must be a number of seconds above 0 (default {STALE_S:g}), got {text!r}")
    return seconds


def process_state(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks) of a live process from /proc, else None."""
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # the command name may hold spaces and ')'
    return fields[0], int(fields[19])


def new_holder() -> dict:
    """Who takes a lock: host, pid and the process's start time (a reused pid is not us), a
    token, and when (``since``, ``beat``: time.time())."""
    state = process_state(os.getpid())
    now = time.time()
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": state and state[1],
            "token": uuid.uuid4().hex, "since": now, "beat": now}


def is_holder(value) -> bool:
    """Whether ``value`` is a lock holder as ``new_holder`` writes it."""
    return isinstance(value, dict) and isinstance(value.get("host"), str) and type(value.get("pid")) is int \
        and isinstance(value.get("token"), str) and all(type(value.get(k)) in (int, float) for k in ("since", "beat"))


def holder_is_dead(holder) -> bool:
    """True when the lock holder ran on this host and its process is gone: exited, killed (a
    zombie counts as gone) or replaced by another process with the same pid."""
    if not isinstance(holder, dict) or holder.get("host") != socket.gethostname():
        return False
    if os.path.isdir("/proc/self"):
        state = process_state(holder["pid"])
        return state is None or state[0] in "ZX" or (holder.get("started") not in (None, state[1]))
    try:
        os.kill(holder["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def _clock(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def describe(lock_key: str, holder: dict) -> str:
    """"the lock on a train result (key …3f2a) held by pid 812 on host node-7 since 2026-12-07 20:41:03 UTC"."""
    kind = lock_key.removeprefix("lock:").split(":", 1)[0]
    return (f"the lock on a {kind} result (key …{lock_key[-8:]}) held by pid {holder['pid']} on host "
            f"{holder['host']} since {_clock(holder['since'])}")


class KeyLock:
    """A lock on one key of a writable cache (see the module's docstring)."""

    def __init__(self, cache: diskcache.Cache, key: str):
        self.cache, self.key = cache, "lock:" + key
        self.me = new_holder()
        self._stop = threading.Event()
        self._seen = None  # (token, beat, monotonic time first seen) of the holder last looked at

    def acquire(self) -> None:
        waited_from, said = time.monotonic(), None
        while not self.try_acquire():
            holder = self._seen and self._seen[3]
            if holder and said != holder["token"] and time.monotonic() - waited_from >= stale_after() / 6:
                said = holder["token"]
                print(f"waiting: {describe(self.key, holder)}, last heartbeat {time.time() - holder['beat']:.0f} s ago "
                      f"(taken over after {stale_after():g} s without one)", file=sys.stderr, flush=True)
            time.sleep(LOCK_POLL_S)

    def try_acquire(self) -> bool:
        """Take the lock if it is free, its holder died or fell silent; False if a live holder
        has it. A lock entry that names no holder (planted or damaged bytes) is quarantined,
        then taken. A lock taken starts its heartbeat."""
        now = time.time()
        self.me = {**self.me, "since": now, "beat": now}
        while not self.cache.add(self.key, self.me, retry=True):
            try:
                holder = self.cache.get(self.key, retry=True)
            except UnreadableEntry as exc:
                quarantine(self.cache.directory, self.key, str(exc))
                continue
            if holder is None:  # released between the add and the get
                continue
            if not is_holder(holder):
                quarantine(self.cache.directory, self.key, f"a {type(holder).__name__} that names no lock holder")
                continue
            silent = self._silent_for(holder)
            if not holder_is_dead(holder) and silent <= stale_after():
                return False
            with self.cache.transact(retry=True):
                if self.cache.get(self.key) != holder:  # it beat, or someone broke it and re-took it meanwhile
                    continue
                self.cache.delete(self.key)
            if not holder_is_dead(holder):
                print(f"warning: took over {describe(self.key, holder)}: no heartbeat for {silent:.0f} s (its host "
                      f"is gone or the process is frozen; {STALE_ENV} = {stale_after():g})", file=sys.stderr, flush=True)
        self._stop.clear()
        threading.Thread(target=self._heartbeat, daemon=True, name="qml-lab-lock-heartbeat").start()
        return True

    def _silent_for(self, holder: dict) -> float:
        """Seconds without a heartbeat: by the holder's clock, or by this process's own clock
        while the beat it reads stays the same, whichever is longer."""
        now = time.monotonic()
        if self._seen is None or self._seen[:2] != (holder["token"], holder["beat"]):
            self._seen = (holder["token"], holder["beat"], now, holder)
        return max(time.time() - holder["beat"], now - self._seen[2])

    def _heartbeat(self) -> None:
        """Refresh ``beat`` while the lock is this process's own; a beat the disk refuses is skipped."""
        while not self._stop.wait(stale_after() / 6):
            try:
                with self.cache.transact(retry=True):
                    current = self.cache.get(self.key)
                    if not isinstance(current, dict) or current.get("token") != self.me["token"]:
                        return  # taken over while this process was frozen
                    self.me = {**self.me, "beat": time.time()}
                    self.cache.set(self.key, self.me)
            except Exception:  # noqa: BLE001 - a full disk or a busy database: the next beat tries again
                continue

    def release(self) -> None:
        self._stop.set()
        with self.cache.transact(retry=True):
            try:
                current = self.cache.get(self.key)
            except UnreadableEntry:  # replaced by something unreadable: the next taker sets it aside
                return
            if isinstance(current, dict) and current.get("token") == self.me["token"]:
                self.cache.delete(self.key)

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()
