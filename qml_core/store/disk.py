"""The result cache's storage: diskcache with the lab's value format, writable or read-only.

``SafeDisk`` is diskcache's serialisation without pickle (``codec.py``), with value folders
checked for links before a value file is written (``containment.inner_dir``) and value file
names checked before one is read or deleted. ``LabCache`` is a writable cache whose size is
kept under the lab's own limit (``limit.py``; diskcache's eviction, which trusts a row's
``size`` column, is off). ``ReadOnlyCache`` serves the entries of a cache this process cannot
write. ``open_store(directory)`` picks one of them, once per directory and process.
"""
import errno
import functools
import os
import pathlib
import sqlite3
import threading
import time

import diskcache

from qml_core.store.codec import MODE_LAB, UnreadableEntry, decode, encode
from qml_core.store.containment import (CacheError, LinkInCache, inner_dir, private_dirs, remove_value_file,
                                        value_path)
from qml_core.store.faults import (damaged, disk_full_reason, is_damage, notice_cannot_store, refuse_when_full,
                                   store_fault)
from qml_core.store.limit import enforce

CULL_OFF = dict(eviction_policy="none", cull_limit=0)  # the lab's own limit evicts (limit.py), diskcache never


class SafeDisk(diskcache.Disk):
    """diskcache's serialisation without pickle.

    Keys must be strings (stored as they are). Values: str, bytes, int and float are stored as
    diskcache stores them (raw, never pickled); anything else is ``encode``d (JSON plus .npy
    arrays) under MODE_LAB. Reading a pickled value or key raises UnreadableEntry instead of
    unpickling it. The two levels of subdirectories that hold value files are created 0o700.
    """

    def put(self, key):
        if type(key) is not str:
            raise TypeError(f"cache keys are strings, got {type(key).__name__}")
        return super().put(key)

    def get(self, key, raw):
        if not raw:
            raise UnreadableEntry("a pickled key")
        return super().get(key, raw)

    def store(self, value, read, key=diskcache.core.UNKNOWN):
        if read or type(value) in (str, bytes, int, float):
            return super().store(value, read, key)
        size, _, filename, db_value = super().store(encode(value), False, key)
        return size, MODE_LAB, filename, db_value

    def fetch(self, mode, filename, value, read):
        if filename is not None and value_path(self._directory, filename) is None:
            raise UnreadableEntry(f"its value file name {filename!r} points outside the cache")
        if mode == MODE_LAB:
            raw_mode = diskcache.core.MODE_BINARY if filename else diskcache.core.MODE_RAW
            return decode(super().fetch(raw_mode, filename, value, False))
        if mode == diskcache.core.MODE_PICKLE:
            raise UnreadableEntry("a pickled value")
        return super().fetch(mode, filename, value, read)

    def filename(self, key=diskcache.core.UNKNOWN, value=diskcache.core.UNKNOWN):
        """A new value file's name, its two folders created 0o700; ``LinkInCache`` if either
        is a link (the value would be written wherever it points)."""
        name, full_path = super().filename(key, value)
        with inner_dir(self._directory, *name.split("/")[:2]):
            pass
        return name, full_path

    def remove(self, file_path):
        """Delete a value file inside the cache and its emptied subfolders, nothing else
        (diskcache's own ``remove`` follows any stored name, then ``os.removedirs``)."""
        remove_value_file(self._directory, file_path)


class LabCache(diskcache.Cache):
    """A writable result cache (diskcache with ``SafeDisk``): each result stored is followed
    by the lab's size limit (``limit.enforce``); locks are not results."""
    writable = True

    def set(self, key, value, expire=None, read=False, tag=None, retry=False):
        stored = super().set(key, value, expire, read, tag, retry)
        if not key.startswith("lock:"):
            enforce(self, key)
        return stored


class ReadOnlyCache:
    """The entries of a result cache this process cannot write (a read-only disk or directory,
    a full disk): read through SQLite in read-only mode with ``SafeDisk`` decoding. It serves
    ``get`` and ``in`` like diskcache; ``set`` and ``delete`` store nothing (``set`` says so
    once, ``notice_cannot_store``); callers check ``writable`` and take no locks."""
    writable = False

    def __init__(self, directory: str, reason: str):
        self.directory, self.reason = directory, reason
        self._disk = SafeDisk(directory, min_file_size=2 ** 15)
        self._lock = threading.Lock()
        path = pathlib.Path(directory, "cache.db")
        self._db = None  # a full disk that could not even create the database: it serves nothing
        for options in ("mode=ro", "immutable=1") if path.exists() else ():  # immutable: WAL on a read-only disk
            db = sqlite3.connect(f"{path.as_uri()}?{options}", uri=True, check_same_thread=False)
            try:
                db.execute("SELECT count(*) FROM Cache").fetchone()
            except sqlite3.OperationalError:
                db.close()
                continue
            except sqlite3.DatabaseError as exc:
                db.close()
                raise damaged(directory, exc) from None
            self._db = db
            break
        else:
            if not disk_full_reason(reason):
                raise CacheError(f"cannot read the result cache {path} ({reason}); "
                                 "set QML_LAB_CACHE to a writable directory")

    def _row(self, key: str):
        if self._db is None:
            return None
        with self._lock:
            try:
                return self._db.execute("SELECT mode, filename, value FROM Cache WHERE key = ? AND raw = 1 "
                                        "AND (expire_time IS NULL OR expire_time > ?)", (key, time.time())).fetchone()
            except sqlite3.DatabaseError as exc:
                raise damaged(self.directory, exc) from None

    def get(self, key: str, default=None, retry: bool = False):
        row = self._row(key)
        if row is None:
            return default
        try:
            return self._disk.fetch(*row, False)
        except OSError:
            return default

    def __contains__(self, key: str) -> bool:
        return self._row(key) is not None

    def set(self, key: str, value, retry: bool = False) -> bool:
        notice_cannot_store(self.directory, self.reason)
        return False

    def delete(self, key: str, retry: bool = False) -> bool:
        return False


@functools.lru_cache(maxsize=4)
def open_store(directory: str) -> LabCache | ReadOnlyCache:
    """The cache in ``directory``: writable if this process can write it, else read-only (if it
    holds a database) with a notice (``DiskFull`` instead for a full disk inside a batch).
    CacheError for a directory that cannot serve as a cache."""
    path = private_dirs(directory)
    db = path / "cache.db"
    if db.is_symlink():
        raise CacheError(f"{LinkInCache(db, path)}; remove the link or set QML_LAB_CACHE to another directory")
    if db.exists() and not db.is_file():
        raise CacheError(f"{db} is not a regular file; remove it or set QML_LAB_CACHE to another directory")
    readonly = not os.access(path, os.W_OK) or bool(os.statvfs(path).f_flag & os.ST_RDONLY) or \
        (db.exists() and not os.access(db, os.W_OK))
    if not readonly:
        try:
            return LabCache(directory, disk=SafeDisk, **CULL_OFF)
        except sqlite3.DatabaseError as exc:
            if is_damage(exc):
                raise damaged(directory, exc) from None
            reason = store_fault(exc, directory)
            if reason is None or not db.exists():
                raise CacheError(f"cannot open the result cache {db} ({exc}); "
                                 "set QML_LAB_CACHE to a writable directory") from None
    else:
        reason = f"it is read-only ({os.strerror(errno.EROFS if os.statvfs(path).f_flag & os.ST_RDONLY else errno.EACCES)})"
    if not db.exists() and not disk_full_reason(reason):
        raise CacheError(f"the result cache directory {path} cannot be written ({reason}) and holds no results; "
                         "make it writable or set QML_LAB_CACHE to a writable directory")
    refuse_when_full(directory, reason)
    store = ReadOnlyCache(directory, reason)
    notice_cannot_store(directory, reason)
    return store
