"""The result cache's size limit, measured on the disk, never read from the database.

diskcache's own limit adds up each row's ``size`` column, which anyone who can write
``cache.db`` can set: one row planted with ``size = 2**40`` made it evict about 19 results at
every store, silently. The lab turns diskcache's eviction off (``eviction_policy="none"``) and
keeps its own: after each result stored, ``enforce`` measures what the cache takes on disk
(the pages ``cache.db`` uses, its journal, and every value file found in the ``ab/cd/``
folders, links not followed) and, over ``size_limit()``, deletes the results stored longest ago
down to 90 % of the limit, never the one just stored nor a lock, with one ``warning:`` line
saying how many it evicted and the limit.

The limit is ``$QML_LAB_CACHE_LIMIT`` (bytes, or with a unit: ``500M``, ``8G``), 8 GiB by default.
"""
import os
import pathlib
import re
import sqlite3
import sys

from qml_core.store.containment import CacheError, value_path

LIMIT_ENV = "QML_LAB_CACHE_LIMIT"
DEFAULT_LIMIT = 8 * 2 ** 30
AFTER_EVICTION = 0.9  # evicting down to 90 % of the limit leaves room, so the next stores do not evict one each
UNITS = {"": 1, "K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30, "T": 2 ** 40}
SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", re.IGNORECASE)
JOURNALS = ("cache.db-wal", "cache.db-shm")


def size_limit() -> int:
    """Bytes the cache may take: ``$QML_LAB_CACHE_LIMIT`` (a whole number of bytes, or a number
    with K, M, G or T, powers of 1024), else ``DEFAULT_LIMIT``. CacheError, one line, for a value
    that is no size."""
    text = os.environ.get(LIMIT_ENV)
    if not text:
        return DEFAULT_LIMIT
    match = SIZE.fullmatch(text)
    if match is None or float(match[1]) <= 0:
        raise CacheError(f"{LIMIT_ENV} must be a size above 0 such as 500M or 8G (bytes without a unit), got {text!r}")
    return int(float(match[1]) * UNITS[match[2].upper()])


def _size(path: pathlib.Path | str) -> int:
    try:
        return os.lstat(path).st_size
    except OSError:
        return 0


def disk_bytes(directory: str | os.PathLike, db: sqlite3.Connection) -> int:
    """What the cache in ``directory`` takes on disk: the pages its database ``db`` uses (free
    pages are reused, the file never shrinks), its journal files, and every value file in its
    two levels of value folders (links are neither followed nor counted)."""
    root = pathlib.Path(directory)
    pages, free, page = (db.execute(f"PRAGMA {name}").fetchone()[0] for name in ("page_count", "freelist_count",
                                                                                  "page_size"))
    total = (pages - free) * page + sum(_size(root / name) for name in JOURNALS)
    for first in os.scandir(root):
        if len(first.name) != 2 or not first.is_dir(follow_symlinks=False):
            continue
        for second in os.scandir(first.path):
            if second.is_dir(follow_symlinks=False):
                total += sum(entry.stat(follow_symlinks=False).st_size for entry in os.scandir(second.path)
                             if entry.is_file(follow_symlinks=False))
    return total


def _mib(n: int) -> str:
    return f"{n / 2 ** 20:.2f} MiB"


def enforce(cache, kept: str) -> int:
    """Evict the results stored longest ago, once the cache in ``cache.directory`` takes more
    than ``size_limit()`` on disk, until it takes no more than 90 % of it, never ``kept`` (the
    result just stored) nor a lock; one warning line on stderr if any went. Returns how many
    were evicted."""
    limit = size_limit()
    db = sqlite3.connect(pathlib.Path(cache.directory, "cache.db"), timeout=60)
    try:
        used = disk_bytes(cache.directory, db)
        if used <= limit:
            return 0
        rows = db.execute("SELECT key, filename, length(value) FROM Cache WHERE raw = 1 AND key != ? "
                          "AND key NOT LIKE 'lock:%' ORDER BY store_time, rowid", (kept,)).fetchall()
    finally:
        db.close()
    evicted, left = 0, used
    for key, filename, inline in rows:
        if left <= AFTER_EVICTION * limit:
            break
        path = value_path(cache.directory, filename)
        freed = (_size(path) if path is not None else 0) + (inline or 0)
        if cache.delete(key, retry=True):
            evicted += 1
            left -= freed
    if evicted:
        print(f"warning: the result cache {cache.directory} took {_mib(used)} on disk, over its limit of "
              f"{_mib(limit)} ({LIMIT_ENV}); evicted {evicted} result{'s' * (evicted != 1)}, the least recently "
              "stored first (they are computed again when asked for)", file=sys.stderr, flush=True)
    return evicted
