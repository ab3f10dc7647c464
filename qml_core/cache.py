"""The on-disk result cache: key = kind + code version + hash(spec), one computation per key.

Location: ``$QML_LAB_CACHE`` if set, else ``~/.cache/qml_lab/results``. The code version is
the package version plus a hash of the package's source, so changed code never serves stale
results. A per-key lock makes concurrent requests for one spec (several processes, several
browser tabs) compute it once; the others wait and read the stored result.
"""
import functools
import hashlib
import os
import pathlib
from collections.abc import Callable

import diskcache

VERSION = "0.1.0"
LOCK_EXPIRE_S = 6 * 3600  # a lock left by a killed process frees itself after this


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """VERSION plus the first 12 hex digits of the SHA-256 of every qml_core source file."""
    digest = hashlib.sha256()
    for path in sorted(pathlib.Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return f"{VERSION}+{digest.hexdigest()[:12]}"


def cache_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("QML_LAB_CACHE") or pathlib.Path.home() / ".cache" / "qml_lab" / "results")


@functools.lru_cache(maxsize=4)
def _open(directory: str) -> diskcache.Cache:
    pathlib.Path(directory).mkdir(parents=True, exist_ok=True, mode=0o700)
    return diskcache.Cache(directory, size_limit=2 ** 33)


def open_cache() -> diskcache.Cache:
    """The cache at the configured location (opened once per process and location)."""
    return _open(str(cache_dir()))


def result_key(kind: str, spec) -> str:
    return f"{kind}:{code_version()}:{spec.key()}"


def lookup(kind: str, spec):
    """The stored result for (kind, spec), or None."""
    return open_cache().get(result_key(kind, spec))


def cached(kind: str, spec, compute: Callable[[], dict]) -> tuple[dict, bool]:
    """Return (result, was_cached): the stored result, or ``compute()`` stored under the key.

    Only a result that ``compute`` returned is stored: an exception (divergence, cancel)
    leaves nothing behind.
    """
    cache, key = open_cache(), result_key(kind, spec)
    hit = cache.get(key)
    if hit is not None:
        return hit, True
    with diskcache.Lock(cache, "lock:" + key, expire=LOCK_EXPIRE_S):
        hit = cache.get(key)
        if hit is not None:
            return hit, True
        result = compute()
        cache.set(key, result)
        return result, False
