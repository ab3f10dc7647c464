"""The result cache's API: key = kind + code version + hash(spec), one computation per key.

Location: ``$QML_LAB_CACHE`` if set, else ``~/.cache/qml_lab/results``; every directory the lab
creates on the way is private to the user (0o700, whatever the umask). The code version is the
package version plus a hash of the package's source, so changed code never serves stale
results. ``cached(kind, spec, compute)`` returns the stored result or computes and stores it; a
per-key lock (``locks.py``) makes concurrent requests for one spec (several processes, several
browser tabs) compute it once, and the others wait and read the stored result.

The cache's concerns live beside this module: the value format (``codec.py``: JSON plus
``.npy``, never a pickle), staying inside its folder (``containment.py``: private directories, no
link followed, value file names checked), the storage (``disk.py``: diskcache, writable or
read-only), its size limit (``limit.py``), locks with a heartbeat (``locks.py``), environment
faults (``faults.py``) and unreadable entries moved aside (``quarantine.py``).

Integrity: only a dict that ``compute`` returned is stored (an exception stores nothing), and
diskcache commits each entry in one SQLite transaction after its value file is written, so a
killed process leaves no half-written entry. An entry that cannot be read back all the same
counts as a miss: it is moved aside with one warning line and recomputed. A cache that cannot
store (a read-only or full disk, a link inside it) still serves the results it holds and says
once, on stderr, that new ones are not stored; inside a batch (``faults.stop_when_full``) a full
disk stops the batch instead.
"""
import functools
import hashlib
import os
import pathlib
import sqlite3
from collections.abc import Callable

from qml_core.store.codec import UnreadableEntry
from qml_core.store.containment import CacheError, private_dirs
from qml_core.store.disk import LabCache, ReadOnlyCache, open_store
from qml_core.store.faults import damaged, is_damage, notice_cannot_store, refuse_when_full, store_fault
from qml_core.store.limit import size_limit
from qml_core.store.locks import KeyLock, stale_after
from qml_core.store.quarantine import quarantine

__all__ = ["VERSION", "CacheError", "cache_dir", "cached", "cached_count", "cached_many", "code_version", "lookup",
           "open_cache", "private_dirs", "result_key"]

VERSION = "0.1.0"


PRESENTATION = ("reporting", "cli")  # subpackages that read results and never make them


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """VERSION plus the first 12 hex digits of the SHA-256 of every qml_core source file a result
    can depend on, in every subpackage (each file's path inside the package is hashed with its
    text). The presentation subpackages (``PRESENTATION``: figures, captions, the command line)
    are left out: no layer that computes imports them (their "Imports from:" lines, checked by
    tests/test_layering.py), and a fixed caption must not throw away a prepared lesson."""
    digest = hashlib.sha256()
    package = pathlib.Path(__file__).parent.parent
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        if relative.parts[0] not in PRESENTATION:
            digest.update(relative.as_posix().encode() + path.read_bytes())
    return f"{VERSION}+{digest.hexdigest()[:12]}"


def cache_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("QML_LAB_CACHE") or pathlib.Path.home() / ".cache" / "qml_lab" / "results")


def open_cache() -> LabCache | ReadOnlyCache:
    """The cache at the configured location (opened once per process and location). The
    cache's settings (``$QML_LAB_CACHE_LIMIT``, ``$QML_LAB_LOCK_STALE_S``) are checked here, so
    a bad value is one line before any work."""
    size_limit()
    stale_after()
    return open_store(str(cache_dir()))


def result_key(kind: str, spec) -> str:
    return f"{kind}:{code_version()}:{spec.key()}"


def _read(cache: LabCache | ReadOnlyCache, key: str) -> dict | None:
    """The stored result under ``key``; None for a miss or an unreadable entry (deleted if the
    cache is writable). A damaged database raises CacheError."""
    try:
        hit = cache.get(key, retry=True)
    except sqlite3.DatabaseError as exc:
        if is_damage(exc):
            raise damaged(str(cache.directory), exc) from None
        raise
    except UnreadableEntry as exc:
        hit = exc
    if isinstance(hit, dict):
        return hit
    if hit is not None or key in cache:  # None with a row: its value file is gone
        reason = str(hit) if isinstance(hit, UnreadableEntry) else \
            "its value file is missing" if hit is None else f"a {type(hit).__name__}, not a result"
        _set_aside(cache, key, reason)
    return None


def _set_aside(cache: LabCache | ReadOnlyCache, key: str, reason: str) -> None:
    """Quarantine the unreadable entry under ``key`` if the cache can be written (a read-only
    cache only misses it)."""
    if cache.writable:
        _try_store(cache, lambda: quarantine(cache.directory, key, reason))


def _try_store(cache: LabCache | ReadOnlyCache, write: Callable[[], object]) -> bool:
    """Run ``write`` (a set, add or delete); False, after a one-time notice, if the environment
    stopped it (a full or read-only disk, a link inside the cache: ``store_fault``). A damaged
    database is a CacheError; a full disk inside a batch is ``faults.DiskFull``."""
    try:
        write()
    except (sqlite3.Error, OSError) as exc:
        if is_damage(exc):
            raise damaged(str(cache.directory), exc) from None
        reason = store_fault(exc, str(cache.directory))
        if reason is None:
            raise
        refuse_when_full(str(cache.directory), reason)
        notice_cannot_store(str(cache.directory), reason)
        return False
    return True


def lookup(kind: str, spec) -> dict | None:
    """The stored result for (kind, spec), or None (also for an unreadable entry)."""
    return _read(open_cache(), result_key(kind, spec))


def cached_count(requests: list[tuple[str, object]]) -> int:
    """How many of the (kind, spec) ``requests`` the cache holds (a count, nothing computed)."""
    return sum(lookup(kind, spec) is not None for kind, spec in requests)


def cached(kind: str, spec, compute: Callable[[], dict]) -> tuple[dict, bool]:
    """Return (result, was_cached): the stored result, or ``compute()`` stored under the key.

    Only a dict that ``compute`` returned is stored: an exception (divergence, cancel) leaves
    nothing behind, and the lock is released for the next request to try again. A cache that
    cannot store (read-only, full, a link inside it: see ``notice_cannot_store``) still answers
    from what it holds; a miss is then computed here without a lock and not stored. Inside a
    batch (``faults.stop_when_full``) a full disk raises ``faults.DiskFull`` instead.
    """
    cache, key = open_cache(), result_key(kind, spec)
    hit = _read(cache, key)
    if hit is not None:
        return hit, True
    if not cache.writable:
        refuse_when_full(cache.directory, cache.reason)
    lock = KeyLock(cache, key) if cache.writable else None
    if lock is not None and not _try_store(cache, lock.acquire):
        lock = None  # the disk cannot take the lock either: compute without storing
    try:
        if lock is not None:
            hit = _read(cache, key)
            if hit is not None:
                return hit, True
        result = compute()
        if not isinstance(result, dict):
            raise TypeError(f"a {kind} computation must return a dict, got {type(result).__name__}")
        if lock is not None:  # else the cache cannot store, as its notice said
            _try_store(cache, lambda: cache.set(key, result, retry=True))
        return result, False
    finally:
        if lock is not None:
            _try_store(cache, lock.release)


def _take(cache: LabCache, lock: KeyLock) -> bool:
    """``lock.try_acquire()``; False also when the environment refuses the write (noticed)."""
    taken = False

    def attempt():
        nonlocal taken
        taken = lock.try_acquire()
    return _try_store(cache, attempt) and taken


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
            if hit is None and not cache.writable:  # every missing spec is computed here, nothing stored
                refuse_when_full(cache.directory, cache.reason)
                todo.append(i)
                continue
            if hit is None:
                lock = KeyLock(cache, key)
                if _take(cache, lock):
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
                    if cache.writable:
                        _try_store(cache, lambda: cache.set(result_key(kind, specs[i]), result, retry=True))
                    out[i] = (result, False)
    finally:
        for lock in locks:
            _try_store(cache, lock.release)
    return out
