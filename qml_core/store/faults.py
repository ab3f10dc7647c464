"""What the environment does to the result cache, named instead of reported as a bug.

A damaged ``cache.db`` is a ``CacheError`` naming the path and the fix (``damaged``). A store
that the environment refuses (a full or read-only disk, an unwritable directory, a link inside
the cache: ``store_fault``) leaves a cache that still serves the results it holds, and says once,
on stderr, that new ones are not stored (``notice_cannot_store``).

A batch of runs (a sweep, ``prepare-lesson``) exists to fill the cache, so inside
``stop_when_full()`` a full disk is no notice but ``DiskFull``: the batch stops at the first
result it cannot store, and the command says in one line that the disk is full, where, and how
many runs are kept. The setting travels to the batch's worker processes in the environment.
"""
import contextlib
import errno
import os
import pathlib
import sqlite3
import sys

from qml_core.store.containment import CacheError, LinkInCache

NOTICE_ENV = "QML_LAB_CACHE_NOTICE"  # the cache directory and reason whose "cannot store" notice was shown
STOP_ENV = "QML_LAB_STOP_WHEN_FULL"  # set (to "1") while a batch runs: a full disk stops it
FULL = "the disk is full"


class DiskFull(CacheError):
    """The result cache cannot store a result because its disk is full, inside a batch. The
    batch sets ``progress`` (runs finished, runs) for the command's closing line."""
    progress: tuple[int, int] | None = None

    def __init__(self, directory: str):
        super().__init__(f"{FULL}: the result cache {directory} cannot store another result (free some space, or "
                         "set QML_LAB_CACHE to a directory on another disk)")
        self.directory = directory

    def __reduce__(self):  # a worker's DiskFull reaches the batch's process as itself
        return DiskFull, (self.directory,)


@contextlib.contextmanager
def stop_when_full():
    """Inside the block, in this process and the workers it starts, a result that cannot be
    stored because the disk is full raises ``DiskFull`` instead of a notice."""
    before = os.environ.get(STOP_ENV)
    os.environ[STOP_ENV] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ[STOP_ENV]
        else:
            os.environ[STOP_ENV] = before


def refuse_when_full(directory: str, reason: str) -> None:
    """Raise ``DiskFull`` if ``reason`` (a ``store_fault``) is a full disk inside ``stop_when_full``."""
    if reason == FULL and os.environ.get(STOP_ENV) == "1":
        raise DiskFull(directory)


def notice_cannot_store(directory: str, reason: str) -> None:
    """Say on stderr, once per directory and reason for this process and the workers it starts
    later (they inherit the environment), that results are not being stored and why."""
    shown = f"{directory}: {'a link' if 'is a link' in reason else reason}"  # one line for any number of links
    if os.environ.get(NOTICE_ENV) == shown:
        return
    os.environ[NOTICE_ENV] = shown
    fix = "free some space" if reason == FULL else "remove the link" if "is a link" in reason else "make it writable"
    print(f"notice: cannot store results in the result cache {directory}: {reason}; the results it holds are "
          f"still used ({fix}, or set QML_LAB_CACHE to another directory, to keep new ones)", file=sys.stderr)


def damaged(directory: str, exc: Exception) -> CacheError:
    """The CacheError for an SQLite file that is not a sound database."""
    path = pathlib.Path(directory, "cache.db")
    return CacheError(f"the result cache database {path} is damaged ({exc}); delete it (stored results are lost "
                      "and recomputed) or set QML_LAB_CACHE to another directory")


def is_damage(exc: Exception) -> bool:
    """Whether ``exc`` says the SQLite file is not a sound database."""
    return isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError) or \
        any(text in str(exc) for text in ("malformed", "not a database", "file is encrypted"))


def disk_full_reason(reason: str) -> bool:
    """Whether a ``store_fault`` reason is a full disk: the lab then computes without storing,
    even before the cache holds anything (a read-only place with nothing in it is an error)."""
    return reason == FULL


def disk_full(directory: str) -> bool:
    """True when the file system of ``directory`` has no block left for this user."""
    try:
        return os.statvfs(directory).f_bavail == 0
    except OSError:
        return False


def store_fault(exc: Exception, directory: str) -> str | None:
    """Why storing in the cache ``directory`` failed, if ``exc`` is the environment's doing (a
    full or read-only disk, an unwritable directory, a link inside the cache); None for anything
    else. SQLite reports a full disk as "disk I/O error" when it cannot even extend its
    shared-memory file."""
    if isinstance(exc, LinkInCache):
        return str(exc)
    if isinstance(exc, (sqlite3.OperationalError, OSError)) and disk_full(directory):
        return FULL
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc)
        if "disk is full" in text:
            return FULL
        if "readonly" in text or "read-only" in text:
            return "it is read-only"
        return None
    if isinstance(exc, OSError) and not isinstance(exc, CacheError):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return FULL
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return f"it is read-only ({exc.strerror})"
    return None
