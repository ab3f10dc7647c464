"""Keeping the result cache inside its own folder, and moving unreadable entries aside.

Containment: diskcache joins the file name a row stores to the cache directory and reads,
writes or deletes that path, then removes its emptied parent folders (``os.removedirs``). A row
planted with an absolute name or ``../..`` would make it delete a user's file and folders.
``value_path`` accepts only the names diskcache itself makes (``ab/cd/<28 hex>.val``) whose real
path lies inside the cache; ``remove_value_file`` deletes such a file and then at most its two
own subfolders, never the cache directory or anything above it.

Quarantine: an entry that cannot be read back (a pickle, random or truncated bytes, a file name
outside the cache, a lock whose value names no holder) is moved to ``<cache>/quarantine/<id>/``:
the row's fields in ``entry.json``, its inline bytes in ``value.bin``, its value file (when it
lies inside the cache) as ``value.val``. Nothing there is ever read back as a value or
unpickled. The row is deleted, so the spec is computed again, and one warning line on stderr
names the entry and the folder; the app shows the same line (``quarantined_since``).
"""
import datetime
import hashlib
import json
import os
import pathlib
import re
import sqlite3
import sys
import time
import uuid

QUARANTINE = "quarantine"
VALUE_NAME = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{28}\.val")  # diskcache's Disk.filename


def value_path(directory: str | os.PathLike, filename) -> pathlib.Path | None:
    """The value file ``filename`` of the cache in ``directory``, if it is a name diskcache
    makes and its real path (links followed) lies inside the cache; else None."""
    if not isinstance(filename, str) or not VALUE_NAME.fullmatch(filename):
        return None
    root = pathlib.Path(os.path.realpath(directory))
    path = pathlib.Path(os.path.realpath(root / filename))
    return path if path.parent.parent.parent == root else None


def remove_value_file(directory: str | os.PathLike, filename) -> None:
    """Delete the value file ``filename`` and then its two subfolders if they are empty; a
    name ``value_path`` refuses is left alone. Errors are ignored, as diskcache does (two
    processes may delete the same file)."""
    path = value_path(directory, filename)
    if path is None:
        return
    for step in (lambda: path.unlink(missing_ok=True), path.parent.rmdir, path.parent.parent.rmdir):
        try:
            step()
        except OSError:
            return


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
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    name = f"{stamp}-{key.split(':', 1)[0]}-{hashlib.sha256(key.encode()).hexdigest()[:8]}-{uuid.uuid4().hex[:4]}"
    folder = directory / QUARANTINE / name
    for path in (folder.parent, folder):  # private, as every folder of the cache (whatever the umask)
        path.mkdir(mode=0o700, exist_ok=True)
        os.chmod(path, 0o700)
    source = value_path(directory, filename)
    moved = False
    if source is not None and source.exists():
        os.replace(source, folder / "value.val")
        remove_value_file(directory, filename)  # the file is gone: only its emptied folders go
        moved = True
    if isinstance(value, (bytes, str)):
        (folder / "value.bin").write_bytes(value if isinstance(value, bytes) else value.encode())
    entry = {"key": key, "reason": reason, "mode": mode, "stored_file_name": filename, "value_file_moved": moved,
             "time": time.time()}
    (folder / "entry.json").write_text(json.dumps(entry, indent=1))
    print(warning_line(entry, folder), file=sys.stderr, flush=True)
    return folder


def warning_line(entry: dict, folder: pathlib.Path) -> str:
    """The one line that names a quarantined entry: what it was, why, where it went."""
    kind = str(entry["key"]).split(":", 1)[0]
    what = "a lock" if kind == "lock" else f"a {kind} result"
    return (f"warning: the result cache held {what} it cannot read ({entry['reason']}); moved it aside to "
            f"{folder} and computing it again")


def quarantined_since(directory: str | os.PathLike, since: float) -> list[str]:
    """The warning lines of the entries quarantined in the cache ``directory`` at or after
    ``since`` (a time.time() value), oldest first: for a page to show what a worker printed."""
    root = pathlib.Path(directory, QUARANTINE)
    found = []
    for path in root.glob("*/entry.json") if root.is_dir() else []:
        try:
            entry = json.loads(path.read_text())
            if float(entry["time"]) >= since:
                found.append((float(entry["time"]), warning_line(entry, path.parent)))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # an entry being written, or one someone edited: not ours to report
    return [line for _, line in sorted(found)]
