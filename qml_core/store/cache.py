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
(a damaged value file, garbage bytes, a result that is not a dict, a value file name outside
the cache, a lock that names no holder) counts as a miss: it is moved aside to the cache's
``quarantine/`` folder with one warning line, and recomputed (``quarantine.py``). The cache never
reads, writes or deletes a file outside its own folder, whatever its database says.

Nothing read from the cache is ever unpickled: values are stored as JSON plus ``.npy`` arrays
(``SafeDisk``, read with ``allow_pickle=False``) and an entry in any other form (a pickle
planted by someone who could write the directory) is a miss. A cache directory that other
users can write, or that is not a directory, is refused with one line (``CacheError``).

Environment faults are named, never reported as bugs: a damaged ``cache.db`` or a path that
cannot hold a cache is a ``CacheError`` naming the path and the fix; a cache that cannot store
(a read-only disk or directory, a full disk) still serves the results it holds and says once,
on stderr, that new ones are not stored.
"""
import errno
import functools
import hashlib
import io
import json
import os
import pathlib
import socket
import sqlite3
import stat
import struct
import sys
import threading
import time
import uuid
from collections.abc import Callable

import diskcache
import numpy as np

from qml_core.store.quarantine import quarantine, remove_value_file, value_path

VERSION = "0.1.0"
LOCK_EXPIRE_S = 6 * 3600  # a lock whose holder cannot be checked (another host) frees itself after this
LOCK_POLL_S = 0.05  # how often a waiter looks at the lock and its holder


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


class CacheError(OSError):
    """A cache or data directory the lab cannot use; the message is one line naming the path
    and the fix (the CLI prints it as ``error: ...``, the app shows it)."""


FILE_KINDS = ((stat.S_ISREG, "a regular file"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
              (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"))


def check_private(path: pathlib.Path, setting: str) -> None:
    """Raise CacheError if the existing directory ``path`` could be changed by another user:
    writable by its group or by everyone, or owned by someone else. ``setting``: the
    environment variable that picks another directory (named in the fix)."""
    info = path.stat()
    if not stat.S_ISDIR(info.st_mode):
        kind = next((name for test, name in FILE_KINDS if test(info.st_mode)), "a special file")
        remove = "remove it or " if stat.S_ISREG(info.st_mode) else ""
        raise CacheError(f"{path} is {kind}, not a directory; {remove}set {setting} to a directory "
                         "(it is created if missing)")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise CacheError(f"{path} belongs to another user (uid {info.st_uid}), who could change what the lab reads; "
                         f"set {setting} to a directory of your own")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise CacheError(f"{path} is writable by other users (mode {stat.S_IMODE(info.st_mode):04o}); "
                         f"run chmod 700 {path} or set {setting} to a private directory")


def private_dirs(directory: str | os.PathLike, setting: str = "QML_LAB_CACHE") -> pathlib.Path:
    """Create ``directory`` and any missing parents with mode 0o700 (chmod after mkdir, so the
    umask cannot widen it), then check that it is private (``check_private``: CacheError
    otherwise). Directories that already exist are left as they are. An OSError on the way (a
    read-only disk, a parent that is a file) is a CacheError naming the path and ``setting``."""
    path = pathlib.Path(directory).expanduser().absolute()
    try:
        missing = [p for p in (path, *path.parents) if not p.exists() and not p.is_symlink()]
        for p in reversed(missing):
            try:
                p.mkdir(mode=0o700)
            except FileExistsError:  # another process made it first: it is theirs to set up
                continue
            os.chmod(p, 0o700)
        check_private(path, setting)
    except CacheError:
        raise
    except OSError as exc:
        raise CacheError(f"cannot create or use the directory {path}: {exc.strerror or exc}; "
                         f"set {setting} to a directory you can write") from None
    return path


class UnreadableEntry(Exception):
    """A cache value in a form other than the lab's own (a pickle, damaged bytes): a miss."""


MODE_LAB = 16  # the SQLite mode of a value in the lab's format (diskcache's own modes are 0..4)
MAGIC = b"qml-lab-value-v1\n"
TAG = "__qml_lab__"  # marks the JSON objects that stand for arrays, tuples and non-string-keyed dicts


def _pack(value, arrays: list):
    """``value`` as JSON-ready data, its numpy arrays appended to ``arrays`` (referenced by index)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        if array.dtype.hasobject:
            raise TypeError("the result cache stores numeric arrays, not object arrays")
        arrays.append(array)
        return {TAG: "scalar" if isinstance(value, np.generic) else "array", "index": len(arrays) - 1}
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, list):
        return [_pack(v, arrays) for v in value]
    if isinstance(value, tuple):
        return {TAG: "tuple", "items": [_pack(v, arrays) for v in value]}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and TAG not in value:
            return {k: _pack(v, arrays) for k, v in value.items()}
        return {TAG: "dict", "items": [[_pack(k, arrays), _pack(v, arrays)] for k, v in value.items()]}
    raise TypeError(f"the result cache stores plain data and numpy arrays, not {type(value).__name__}")


def _unpack(data, arrays: list):
    """The inverse of ``_pack``."""
    if isinstance(data, list):
        return [_unpack(v, arrays) for v in data]
    if not isinstance(data, dict):
        return data
    kind = data.get(TAG)
    if kind is None:
        return {k: _unpack(v, arrays) for k, v in data.items()}
    if kind in ("array", "scalar"):
        array = arrays[data["index"]]
        return array[()] if kind == "scalar" else array
    if kind == "tuple":
        return tuple(_unpack(v, arrays) for v in data["items"])
    if kind == "dict":
        return {_hashable(_unpack(k, arrays)): _unpack(v, arrays) for k, v in data["items"]}
    raise UnreadableEntry(f"unknown tag {kind!r}")


def _hashable(key):
    if isinstance(key, np.ndarray) or isinstance(key, (list, dict)):
        raise UnreadableEntry("a dict key that is not hashable")
    return key


def encode(value) -> bytes:
    """MAGIC, the JSON length (8 bytes, little-endian), the JSON of ``_pack(value)``, then each
    array as an .npy record (np.save with allow_pickle=False)."""
    arrays = []
    text = json.dumps({"value": _pack(value, arrays), "arrays": len(arrays)}, separators=(",", ":")).encode()
    out = io.BytesIO()
    out.write(MAGIC + struct.pack("<Q", len(text)) + text)
    for array in arrays:
        np.save(out, array, allow_pickle=False)
    return out.getvalue()


def decode(blob: bytes):
    """The value ``encode`` stored; UnreadableEntry for anything else. Never unpickles."""
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 8:
        raise UnreadableEntry("not a value in the lab's format")
    (length,) = struct.unpack_from("<Q", blob, len(MAGIC))
    start = len(MAGIC) + 8
    try:
        head = json.loads(blob[start:start + length])
        stream = io.BytesIO(blob[start + length:])
        arrays = [np.lib.format.read_array(stream, allow_pickle=False) for _ in range(int(head["arrays"]))]
    except (ValueError, KeyError, TypeError, OSError, EOFError) as exc:
        raise UnreadableEntry(f"damaged value: {exc}") from None
    if stream.read(1):
        raise UnreadableEntry("trailing bytes after the arrays")
    try:
        return _unpack(head["value"], arrays)
    except (IndexError, KeyError, TypeError) as exc:
        raise UnreadableEntry(f"damaged value: {exc}") from None


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
        name, full_path = super().filename(key, value)
        private_dirs(os.path.dirname(full_path))
        return name, full_path

    def remove(self, file_path):
        """Delete a value file inside the cache and its emptied subfolders, nothing else
        (diskcache's own ``remove`` follows any stored name, then ``os.removedirs``)."""
        remove_value_file(self._directory, file_path)


class LabCache(diskcache.Cache):
    """A writable result cache (diskcache with ``SafeDisk``)."""
    writable = True


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


NOTICE_ENV = "QML_LAB_CACHE_NOTICE"  # the cache directory whose "cannot store" notice was shown


def notice_cannot_store(directory: str, reason: str) -> None:
    """Say on stderr, once per directory for this process and the workers it starts later
    (they inherit the environment), that results are not being stored and why."""
    if os.environ.get(NOTICE_ENV) == directory:
        return
    os.environ[NOTICE_ENV] = directory
    fix = "free some space" if disk_full_reason(reason) else "make it writable"
    print(f"notice: cannot store results in the result cache {directory}: {reason}; the results it holds are "
          f"still used ({fix}, or set QML_LAB_CACHE to another directory, to keep new ones)", file=sys.stderr)


def damaged(directory: str, exc: Exception) -> CacheError:
    """The CacheError for an SQLite file that is not a sound database."""
    path = pathlib.Path(directory, "cache.db")
    return CacheError(f"the result cache database {path} is damaged ({exc}); delete it (stored results are lost "
                      "and recomputed) or set QML_LAB_CACHE to another directory")


def disk_full_reason(reason: str) -> bool:
    """Whether a ``store_fault`` reason is a full disk: the lab then computes without storing,
    even before the cache holds anything (a read-only place with nothing in it is an error)."""
    return reason == "the disk is full"


def disk_full(directory: str) -> bool:
    """True when the file system of ``directory`` has no block left for this user."""
    try:
        return os.statvfs(directory).f_bavail == 0
    except OSError:
        return False


def store_fault(exc: Exception, directory: str) -> str | None:
    """Why storing in the cache ``directory`` failed, if ``exc`` is the environment's doing (a
    full or read-only disk, an unwritable directory); None for anything else. SQLite reports a
    full disk as "disk I/O error" when it cannot even extend its shared-memory file."""
    if isinstance(exc, (sqlite3.OperationalError, OSError)) and disk_full(directory):
        return "the disk is full"
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc)
        if "disk is full" in text:
            return "the disk is full"
        if "readonly" in text or "read-only" in text:
            return "it is read-only"
        return None
    if isinstance(exc, OSError) and not isinstance(exc, CacheError):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return "the disk is full"
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return f"it is read-only ({exc.strerror})"
    return None


def _is_damage(exc: Exception) -> bool:
    return isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError) or \
        any(text in str(exc) for text in ("malformed", "not a database", "file is encrypted"))


@functools.lru_cache(maxsize=4)
def _open(directory: str) -> LabCache | ReadOnlyCache:
    """The cache in ``directory``: writable if this process can write it, else read-only (if it
    holds a database) with a notice. CacheError for a directory that cannot serve as a cache."""
    path = private_dirs(directory)
    db = path / "cache.db"
    if db.exists() and not db.is_file():
        raise CacheError(f"{db} is not a regular file; remove it or set QML_LAB_CACHE to another directory")
    readonly = not os.access(path, os.W_OK) or bool(os.statvfs(path).f_flag & os.ST_RDONLY) or \
        (db.exists() and not os.access(db, os.W_OK))
    if not readonly:
        try:
            return LabCache(directory, disk=SafeDisk, size_limit=2 ** 33)
        except sqlite3.DatabaseError as exc:
            if _is_damage(exc):
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
    store = ReadOnlyCache(directory, reason)
    notice_cannot_store(directory, reason)
    return store


def open_cache() -> LabCache | ReadOnlyCache:
    """The cache at the configured location (opened once per process and location)."""
    return _open(str(cache_dir()))


def result_key(kind: str, spec) -> str:
    return f"{kind}:{code_version()}:{spec.key()}"


def _read(cache: LabCache | ReadOnlyCache, key: str) -> dict | None:
    """The stored result under ``key``; None for a miss or an unreadable entry (deleted if the
    cache is writable). A damaged database raises CacheError."""
    try:
        hit = cache.get(key, retry=True)
    except sqlite3.DatabaseError as exc:
        if _is_damage(exc):
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
    stopped it (a full or read-only disk: ``store_fault``). A damaged database is a CacheError."""
    try:
        write()
    except (sqlite3.Error, OSError) as exc:
        if _is_damage(exc):
            raise damaged(str(cache.directory), exc) from None
        reason = store_fault(exc, str(cache.directory))
        if reason is None:
            raise
        notice_cannot_store(str(cache.directory), reason)
        return False
    return True


def lookup(kind: str, spec) -> dict | None:
    """The stored result for (kind, spec), or None (also for an unreadable entry)."""
    return _read(open_cache(), result_key(kind, spec))


def cached_count(requests: list[tuple[str, object]]) -> int:
    """How many of the (kind, spec) ``requests`` the cache holds (a count, nothing computed)."""
    return sum(lookup(kind, spec) is not None for kind, spec in requests)


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


def is_holder(value) -> bool:
    """Whether ``value`` is a lock holder as ``_holder`` writes it."""
    return isinstance(value, dict) and isinstance(value.get("host"), str) and type(value.get("pid")) is int \
        and isinstance(value.get("token"), str)


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
        """Take the lock if it is free or its holder died; False if a live holder has it. A
        lock entry that names no holder (planted or damaged bytes) is quarantined, then taken."""
        while not self.cache.add(self.key, self.me, expire=self.expire, retry=True):
            try:
                holder = self.cache.get(self.key, retry=True)
            except UnreadableEntry as exc:
                _set_aside(self.cache, self.key, str(exc))
                continue
            if holder is None:  # released between the add and the get
                continue
            if not is_holder(holder):
                _set_aside(self.cache, self.key, f"a {type(holder).__name__} that names no lock holder")
                continue
            if not holder_is_dead(holder):
                return False
            with self.cache.transact(retry=True):
                if self.cache.get(self.key) == holder:  # nobody broke it and re-took it meanwhile
                    self.cache.delete(self.key)
        return True

    def release(self) -> None:
        with self.cache.transact(retry=True):
            try:
                mine = self.cache.get(self.key) == self.me
            except UnreadableEntry:  # replaced by something unreadable: the next taker sets it aside
                return
            if mine:
                self.cache.delete(self.key)

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()


def cached(kind: str, spec, compute: Callable[[], dict]) -> tuple[dict, bool]:
    """Return (result, was_cached): the stored result, or ``compute()`` stored under the key.

    Only a dict that ``compute`` returned is stored: an exception (divergence, cancel) leaves
    nothing behind, and the lock is released for the next request to try again. A cache that
    cannot store (read-only, full: see ``notice_cannot_store``) still answers from what it
    holds; a miss is then computed here without a lock and not stored.
    """
    cache, key = open_cache(), result_key(kind, spec)
    hit = _read(cache, key)
    if hit is not None:
        return hit, True
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


def _take(cache: LabCache, lock: "KeyLock") -> bool:
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
