"""Moving unreadable entries of the result cache aside, into a folder of bounded size.

An entry that cannot be read back (a pickle, random or truncated bytes, a file name outside the
cache, a lock whose value names no holder) is moved to ``<cache>/quarantine/<id>/``: the row's
fields in ``entry.json``, its inline bytes in ``value.bin``, its value file (when it lies inside
the cache) as ``value.val``. Nothing there is ever read back as a value or unpickled. The row is
deleted, so the spec is computed again, and one warning line on stderr names the entry and the
folder; the app shows the same line (``quarantined_since``).

The folders are opened with no link followed (``containment.inner_dir``): a ``quarantine`` link
planted in the cache is refused, the entry is deleted without a copy, and the warning line names
the link. The quarantine keeps at most ``MAX_ENTRIES`` entries and ``MAX_BYTES``: older ones are
removed first, with one ``note:`` line, and the newest entry is always kept.
"""
import datetime
import hashlib
import json
import os
import pathlib
import shutil
import sqlite3
import sys
import time
import uuid

from qml_core.store.containment import LinkInCache, inner_dir, remove_value_file, value_path

QUARANTINE = "quarantine"
MAX_ENTRIES = 50  # entries the quarantine keeps
MAX_BYTES = 100 * 2 ** 20  # bytes the quarantine keeps (the newest entry is kept whatever its size)


def _row(db: sqlite3.Connection, key: str):
    return db.execute("SELECT rowid, mode, filename, value FROM Cache WHERE key = ? AND raw = 1", (key,)).fetchone()


def quarantine(directory: str | os.PathLike, key: str, reason: str) -> pathlib.Path | None:
    """Move the entry under ``key`` aside (see the module's docstring) and say so on stderr.
    Returns its quarantine folder; None if another process already moved or replaced it."""
    directory = pathlib.Path(directory)
    db = sqlite3.connect(directory / "cache.db", timeout=60, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        row = _row(db, key)
        if row is None:
            db.execute("ROLLBACK")
            return None
        rowid, mode, filename, value = row
        db.execute("DELETE FROM Cache WHERE rowid = ?", (rowid,))
        db.execute("COMMIT")
    finally:
        db.close()
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S.%f")
    name = f"{stamp}-{key.split(':', 1)[0]}-{hashlib.sha256(key.encode()).hexdigest()[:8]}-{uuid.uuid4().hex[:4]}"
    entry = {"key": key, "reason": reason, "mode": mode, "stored_file_name": filename, "value_file_moved": False,
             "time": time.time()}
    try:
        with inner_dir(directory, QUARANTINE, name) as fd:
            source = value_path(directory, filename)
            if source is not None and source.exists():
                os.replace(source, "value.val", dst_dir_fd=fd)
                remove_value_file(directory, filename)  # the file is gone: only its emptied folders go
                entry["value_file_moved"] = True
            if isinstance(value, (bytes, str)):
                _write(fd, "value.bin", value if isinstance(value, bytes) else value.encode())
            _write(fd, "entry.json", json.dumps(entry, indent=1).encode())
    except LinkInCache as exc:
        remove_value_file(directory, filename)
        print(warning_line(entry, None, refused=exc), file=sys.stderr, flush=True)
        return None
    folder = directory / QUARANTINE / name
    print(warning_line(entry, folder), file=sys.stderr, flush=True)
    prune(directory)
    return folder


def _write(folder_fd: int, name: str, data: bytes) -> None:
    """Write a new file ``name`` in the open folder ``folder_fd`` (never through a link)."""
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=folder_fd)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _bytes(folder: str) -> int:
    return sum(e.stat(follow_symlinks=False).st_size for e in os.scandir(folder) if e.is_file(follow_symlinks=False))


def prune(directory: str | os.PathLike) -> int:
    """Remove the oldest quarantined entries until at most ``MAX_ENTRIES`` and ``MAX_BYTES`` are
    kept (the newest always stays), with one note line on stderr; returns how many went."""
    root = pathlib.Path(directory, QUARANTINE)
    entries = sorted((e.name, _bytes(e.path)) for e in os.scandir(root) if e.is_dir(follow_symlinks=False))
    total, removed, freed = sum(size for _, size in entries), 0, 0
    for name, size in entries[:-1]:  # names begin with the UTC time, to the microsecond
        if len(entries) - removed <= MAX_ENTRIES and total - freed <= MAX_BYTES:
            break
        shutil.rmtree(root / name, ignore_errors=True)
        removed, freed = removed + 1, freed + size
    if removed:
        print(f"note: the quarantine {root} keeps at most {MAX_ENTRIES} entries and {MAX_BYTES / 2 ** 20:.0f} MiB; "
              f"removed the {removed} oldest ({freed / 2 ** 20:.1f} MiB)", file=sys.stderr, flush=True)
    return removed


def warning_line(entry: dict, folder: pathlib.Path | None, refused: LinkInCache | None = None) -> str:
    """The one line that names a quarantined entry: what it was, why, where it went (or, when
    the quarantine folder was ``refused``, that it was deleted and which link stopped it)."""
    kind = str(entry["key"]).split(":", 1)[0]
    what = "a lock" if kind == "lock" else f"a {kind} result"
    went = f"moved it aside to {folder}" if refused is None else f"deleted it without keeping a copy ({refused})"
    return f"warning: the result cache held {what} it cannot read ({entry['reason']}); {went} and computing it again"


def quarantined_since(directory: str | os.PathLike, since: float) -> list[str]:
    """The warning lines of the entries quarantined in the cache ``directory`` at or after
    ``since`` (a time.time() value), oldest first: for a page to show what a worker printed."""
    root = pathlib.Path(directory, QUARANTINE)
    found = []
    for path in root.glob("*/entry.json") if root.is_dir() and not root.is_symlink() else []:
        try:
            entry = json.loads(path.read_text())
            if float(entry["time"]) >= since:
                found.append((float(entry["time"]), warning_line(entry, path.parent)))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # an entry being written, or one someone edited: not ours to report
    return [line for _, line in sorted(found)]
