"""What tests read from outside a running CLI: finished runs in a cache database, and the
processes of a session, both without disturbing the process under test; and a fresh Python
process on this checkout, for the cache's tests on real processes."""
import os
import pathlib
import sqlite3
import subprocess
import sys


def stored_runs(cache_dir: pathlib.Path) -> int:
    """Training results in the cache at ``cache_dir``, read-only; 0 before its table exists."""
    try:
        with sqlite3.connect(f"file:{cache_dir / 'cache.db'}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT count(*) FROM Cache WHERE key LIKE 'train:%'").fetchone()[0]
    except sqlite3.OperationalError:  # no database or no table yet
        return 0


def session_processes(sid: int) -> dict[int, str]:
    """pid -> state letter (R, S, Z, ...) of every process of session ``sid``, from /proc."""
    found = {}
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:
            found[int(stat.parent.name)] = fields[0]
    return found


ROOT = pathlib.Path(__file__).resolve().parent.parent


def run_python(script: str, *args, timeout: float = 30, **env) -> subprocess.CompletedProcess:
    """Run ``script`` in a fresh Python process on this checkout (the test's QML_LAB_CACHE and
    ``env`` added to the environment); stdout and stderr as text."""
    return subprocess.run([sys.executable, "-c", script, *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT), **env})
