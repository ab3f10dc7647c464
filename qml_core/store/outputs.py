"""Result files written atomically, and checked writable before any work starts.

A results file is never rewritten in place: the new content goes to a temporary file in the
same directory, is flushed and fsynced, and replaces the old file with one ``os.replace``. On a
full disk or any other failure the temporary file is removed and the previous file is left
exactly as it was. ``check_writable`` tries the same steps on an empty temporary file, so an
output that cannot be written (a read-only file, a path under /proc, a read-only disk) is
refused in one line before a sweep spends an hour computing what it cannot save.
"""
import csv
import errno
import io
import json
import math
import os
import pathlib
import stat
import tempfile


class OutputError(OSError):
    """An output file that cannot be written; the message names the path and what to do."""


FIXES = {  # errno -> what the user can do about it
    errno.ENOSPC: "free some space or write elsewhere",
    errno.EDQUOT: "free some space or write elsewhere",
    errno.EROFS: "the file system is read-only; write elsewhere",
    errno.EACCES: "choose a directory you can write to",
    errno.EPERM: "choose a directory you can write to",
    errno.ENOENT: "choose a directory that exists and can hold files",
}


def describe(exc: OSError) -> str:
    """``strerror (the fix)`` of an OSError, e.g. 'No space left on device (free some space ...)'."""
    reason = exc.strerror or str(exc)
    fix = FIXES.get(exc.errno)
    return f"{reason} ({fix})" if fix else reason


def _temporary(path: pathlib.Path) -> tuple[int, str]:
    """An open (fd, name) of a new temporary file beside ``path``, with the mode ``path`` has (or
    would get from the umask), so that the renamed file looks like one written in place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.fchmod(fd, mode)
    return fd, tmp


def write_atomic(path: str | os.PathLike, data: str | bytes, flag: str = "--out") -> None:
    """Replace ``path`` with ``data`` (str: UTF-8) atomically: a reader, a crash or a full disk
    sees either the old file or the complete new one. Raises OutputError naming ``flag`` and
    the path; the previous file is then untouched."""
    path = pathlib.Path(path)
    blob = data.encode() if isinstance(data, str) else data
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _temporary(path)
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise OutputError(f"{flag}: cannot write {str(path)!r}: {describe(exc)}; "
                          "the previous file, if any, is left as it was") from None
    finally:
        if tmp is not None:
            pathlib.Path(tmp).unlink(missing_ok=True)


def check_writable(path: str | os.PathLike, flag: str = "--out") -> None:
    """Raise OutputError unless ``write_atomic(path, ...)`` can succeed as far as can be told
    without data: the directory exists or can be created and takes a new file, and an existing
    ``path`` is a regular file that is not read-only (checked by its mode bits too, since root
    passes every access check)."""
    path = pathlib.Path(path)
    if path.is_dir():
        raise OutputError(f"{flag} {str(path)!r} is a directory; name a file")
    if path.exists() or path.is_symlink():
        try:
            info = path.stat()
        except OSError as exc:
            raise OutputError(f"{flag}: cannot use {str(path)!r}: {describe(exc)}") from None
        if not stat.S_ISREG(info.st_mode):
            raise OutputError(f"{flag} {str(path)!r} is not a regular file; name a .csv or .json file")
        if not info.st_mode & 0o222 or not os.access(path, os.W_OK):
            raise OutputError(f"{flag} {str(path)!r} is read-only; make it writable (chmod u+w) or choose another file")
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _temporary(path)
        os.close(fd)
    except OSError as exc:
        raise OutputError(f"{flag}: cannot write in {str(path.parent)!r}: {describe(exc)}") from None
    finally:
        if tmp is not None:
            pathlib.Path(tmp).unlink(missing_ok=True)


def check_writable_dir(directory: str | os.PathLike, flag: str = "--out") -> None:
    """``check_writable`` for a directory of outputs (``reproduce --out DIR``)."""
    directory = pathlib.Path(directory)
    if directory.exists() and not directory.is_dir():
        raise OutputError(f"{flag} {str(directory)!r} is not a directory; name a directory for the report")
    check_writable(directory / "report.html", flag)


def json_ready(value):
    """``value`` with every NaN or infinite number as None and numpy values as plain ones
    (arrays as lists): what strict JSON can hold (a missing number is ``null``)."""
    if isinstance(value, dict):
        return {key if isinstance(key, str) else str(key): json_ready(v) for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # numpy arrays and scalars
        return json_ready(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_json(value, indent: int | None = 1) -> str:
    """Strict JSON of ``value`` (``json_ready``): JSON.parse and every strict parser read it."""
    return json.dumps(json_ready(value), indent=indent, allow_nan=False, default=str)


def write_rows(rows: list[dict], path: pathlib.Path) -> None:
    """CSV or JSON by the file's extension, written atomically (``write_atomic``)."""
    if path.suffix == ".json":
        write_atomic(path, to_json(rows))
        return
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(path, text.getvalue())

