"""Keeping the result cache inside its own folder: private directories, no link followed inside
the cache's tree, and value file names checked before they are used.

Privacy: every directory the lab creates is 0o700 whatever the umask, and a cache directory
that another user could change is refused (``check_private``).

Links: the cache's own root may be a link (``$QML_LAB_CACHE`` is the user's choice), but no
folder *inside* it is followed. Before the cache writes into a folder of its tree (a value
file's ``ab/cd/`` folders, ``quarantine/``), ``inner_dir`` opens each step with ``O_NOFOLLOW``
from the root down and refuses a link with ``LinkInCache``, one line naming the link and where
it points. A link planted there (``quarantine`` -> a user's folder) can therefore never make the
lab chmod or write outside the cache.

Value file names: diskcache joins the file name a row stores to the cache directory and reads,
writes or deletes that path, then removes its emptied parent folders (``os.removedirs``). A row
planted with an absolute name or ``../..`` would make it delete a user's file and folders.
``value_path`` accepts only the names diskcache itself makes (``ab/cd/<28 hex>.val``) whose real
path lies inside the cache; ``remove_value_file`` deletes such a file and then at most its two
own subfolders, never the cache directory or anything above it.
"""
import contextlib
import os
import pathlib
import re
import stat

VALUE_NAME = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{28}\.val")  # diskcache's Disk.filename
FILE_KINDS = ((stat.S_ISREG, "a regular file"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
              (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"))


class CacheError(OSError):
    """A cache or data directory the lab cannot use; the message is one line naming the path
    and the fix (the CLI prints it as ``error: ...``, the app shows it)."""


class LinkInCache(CacheError):
    """A link inside the cache's tree where the cache was about to write: refused, never followed."""

    def __init__(self, link: pathlib.Path, root: pathlib.Path):
        try:
            target = os.readlink(link)
        except OSError:
            target = "?"
        super().__init__(f"{link} is a link (to {target}) inside the result cache {root}, and the lab writes "
                         "through no link inside its cache")
        self.link, self.root = link, root

    def __reduce__(self):
        return LinkInCache, (self.link, self.root)


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


@contextlib.contextmanager
def inner_dir(root: str | os.PathLike, *parts: str):
    """An open file descriptor of the folder ``root/parts...`` (for ``dir_fd=`` calls), each
    missing step created 0o700. No step below ``root`` is followed if it is a link:
    ``LinkInCache`` names it instead (O_NOFOLLOW, so a link swapped in after a check is refused
    too). The descriptor is closed when the block ends."""
    root = pathlib.Path(root)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for depth, part in enumerate(parts, 1):
            try:
                os.mkdir(part, 0o700, dir_fd=fd)
                created = True
            except FileExistsError:
                created = False
            try:
                child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except OSError:
                step = root.joinpath(*parts[:depth])
                if step.is_symlink():
                    raise LinkInCache(step, root) from None
                raise
            os.close(fd)
            fd = child
            if created:
                os.fchmod(fd, 0o700)  # the umask cannot widen it
        yield fd
    finally:
        os.close(fd)


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
