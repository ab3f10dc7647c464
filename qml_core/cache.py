"""The on-disk result cache: key = kind + code version + hash(spec), one computation per key.

Location: ``$QML_LAB_CACHE`` if set, else ``~/.cache/qml_lab/results``; every directory the lab
creates on the way is private to the user (0o700, whatever the umask). The code version is the
package version plus a hash of the package's source, so changed code never serves stale
results. A per-key lock makes concurrent requests for one spec (several processes, several
browser tabs) compute it once; the others wait and read the stored result. A lock whose holder
died (SIGKILL, a crash) is broken as soon as a waiter sees that the holder's process is gone.

Integrity: only a dict that ``compute`` returned is stored (an exception stores nothing), and
diskcache commits each entry in one SQLite transaction after its value file is written, so a
killed process leaves no half-written entry. An entry that cannot be read back all the same
(a damaged value file, garbage bytes, a result that is not a dict) counts as a miss: it is
deleted and recomputed.
"""
import functools
import hashlib
import os
import pathlib
import socket
import time
import uuid
from collections.abc import Callable

import diskcache

VERSION = "0.1.0"
LOCK_EXPIRE_S = 6 * 3600  # a lock whose holder cannot be checked (another host) frees itself after this
LOCK_POLL_S = 0.05  # how often a waiter looks at the lock and its holder


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """VERSION plus the first 12 hex digits of the SHA-256 of every qml_core source file."""
    digest = hashlib.sha256()
    for path in sorted(pathlib.Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return f"{VERSION}+{digest.hexdigest()[:12]}"


def cache_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("QML_LAB_CACHE") or pathlib.Path.home() / ".cache" / "qml_lab" / "results")


def private_dirs(directory: str | os.PathLike) -> pathlib.Path:
    """Create ``directory`` and any missing parents with mode 0o700 (chmod after mkdir, so the
    umask cannot widen it). Directories that already exist are left as they are."""
    path = pathlib.Path(directory).expanduser().absolute()
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for p in reversed(missing):
        try:
            p.mkdir(mode=0o700)
        except FileExistsError:  # another process made it first: it is theirs to set up
            continue
        os.chmod(p, 0o700)
    return path


@functools.lru_cache(maxsize=4)
def _open(directory: str) -> diskcache.Cache:
    private_dirs(directory)
    return diskcache.Cache(directory, size_limit=2 ** 33)


def open_cache() -> diskcache.Cache:
    """The cache at the configured location (opened once per process and location)."""
    return _open(str(cache_dir()))


def result_key(kind: str, spec) -> str:
    return f"{kind}:{code_version()}:{spec.key()}"


def _read(cache: diskcache.Cache, key: str) -> dict | None:
    """The stored result under ``key``; None for a miss or an unreadable entry (deleted)."""
    try:
        hit = cache.get(key, retry=True)
    except Exception:  # noqa: BLE001 - unpickling damaged bytes raises almost anything
        hit = "unreadable"
    if isinstance(hit, dict):
        return hit
    if hit is not None or key in cache:  # None with a row: its value file is gone
        cache.delete(key, retry=True)
    return None


def lookup(kind: str, spec) -> dict | None:
    """The stored result for (kind, spec), or None (also for an unreadable entry)."""
    return _read(open_cache(), result_key(kind, spec))


def _process_state(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks) of a live process from /proc, else None."""
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # the command name may hold spaces and ')'
    return fields[0], int(fields[19])


def _holder() -> dict:
    """Who takes a lock: host, pid and the process's start time (a reused pid is not us)."""
    state = _process_state(os.getpid())
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": state and state[1],
            "token": uuid.uuid4().hex}


def holder_is_dead(holder) -> bool:
    """True when the lock holder ran on this host and its process is gone: exited, killed (a
    zombie counts as gone) or replaced by another process with the same pid."""
    if not isinstance(holder, dict) or holder.get("host") != socket.gethostname():
        return False
    if os.path.isdir("/proc/self"):
        state = _process_state(holder["pid"])
        return state is None or state[0] in "ZX" or (holder.get("started") not in (None, state[1]))
    try:
        os.kill(holder["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


class KeyLock:
    """A lock on one cache key, shared by every process that opens the same cache.

    Like ``diskcache.Lock`` (an atomic ``add`` of the lock key), but the value names the holder,
    so a waiter breaks a lock whose holder died instead of waiting for ``LOCK_EXPIRE_S``.
    """

    def __init__(self, cache: diskcache.Cache, key: str, expire: float = LOCK_EXPIRE_S):
        self.cache, self.key, self.expire = cache, "lock:" + key, expire
        self.me = _holder()

    def acquire(self) -> None:
        while not self.try_acquire():
            time.sleep(LOCK_POLL_S)

    def try_acquire(self) -> bool:
        """Take the lock if it is free or its holder died; False if a live holder has it."""
        while not self.cache.add(self.key, self.me, expire=self.expire, retry=True):
            holder = self.cache.get(self.key, retry=True)
            if holder is None:  # released between the add and the get
                continue
            if not holder_is_dead(holder):
                return False
            with self.cache.transact(retry=True):
                if self.cache.get(self.key) == holder:  # nobody broke it and re-took it meanwhile
                    self.cache.delete(self.key)
        return True

    def release(self) -> None:
        with self.cache.transact(retry=True):
            if self.cache.get(self.key) == self.me:
                self.cache.delete(self.key)

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()


def cached(kind: str, spec, compute: Callable[[], dict]) -> tuple[dict, bool]:
    """Return (result, was_cached): the stored result, or ``compute()`` stored under the key.

    Only a dict that ``compute`` returned is stored: an exception (divergence, cancel) leaves
    nothing behind, and the lock is released for the next request to try again.
    """
    cache, key = open_cache(), result_key(kind, spec)
    hit = _read(cache, key)
    if hit is not None:
        return hit, True
    with KeyLock(cache, key):
        hit = _read(cache, key)
        if hit is not None:
            return hit, True
        result = compute()
        if not isinstance(result, dict):
            raise TypeError(f"a {kind} computation must return a dict, got {type(result).__name__}")
        cache.set(key, result, retry=True)
        return result, False


def cached_many(kind: str, specs: list, compute_many: Callable[[list], list]) -> list[tuple[dict, bool] | None]:
    """``cached`` for specs computed together: (result, was_cached) per spec, or None.

    Stored results are read. The missing specs whose key lock this process can take at once
    go to ``compute_many`` in one call, which returns per spec a dict (stored) or an exception
    (nothing stored). None marks a spec locked by another process or whose computation failed:
    the caller passes it to ``cached`` alone, which waits for the other process or fails as a
    single computation would.
    """
    cache, out = open_cache(), [None] * len(specs)
    locks, todo = [], []
    try:
        for i, spec in enumerate(specs):
            key = result_key(kind, spec)
            hit = _read(cache, key)
            if hit is None:
                lock = KeyLock(cache, key)
                if lock.try_acquire():
                    locks.append(lock)
                    hit = _read(cache, key)  # finished between the read and the lock
                    if hit is None:
                        todo.append(i)
                        continue
            if hit is not None:
                out[i] = (hit, True)
        if todo:
            for i, result in zip(todo, compute_many([specs[i] for i in todo])):
                if isinstance(result, dict):
                    cache.set(result_key(kind, specs[i]), result, retry=True)
                    out[i] = (result, False)
    finally:
        for lock in locks:
            lock.release()
    return out
