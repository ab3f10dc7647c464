"""The cache's size limit is measured on disk, never read from a row: a planted ``size`` evicts
nothing, a cache over its documented limit evicts the oldest results and says so in one line."""
import sqlite3

from probes import run_python
from qml_core.store import cache

STORE = """
import sys
import numpy as np
from qml_core.specs import ExperimentSpec
from qml_core.store import cache
for seed in range(int(sys.argv[1]), int(sys.argv[2])):
    cache.cached("train", ExperimentSpec(seed=seed), lambda: {"val_acc": 0.5, "params": np.zeros(70_000)})
"""


def stored_seeds() -> list[int]:
    from qml_core.specs import ExperimentSpec

    return [seed for seed in range(40) if cache.lookup("train", ExperimentSpec(seed=seed)) is not None]


def test_a_planted_row_size_evicts_nothing():
    """A real row planted with size = 2**40 (diskcache's own limit would evict about 10
    results per store): twenty results stored after it by a real process all stay, silently."""
    assert run_python(STORE, 0, 5).returncode == 0
    with sqlite3.connect(cache.cache_dir() / "cache.db") as db:
        assert db.execute("UPDATE Cache SET size = ? WHERE rowid = (SELECT min(rowid) FROM Cache)",
                          (2 ** 40,)).rowcount == 1
    done = run_python(STORE, 5, 25)
    assert done.returncode == 0 and done.stderr == ""
    assert stored_seeds() == list(range(25))


def test_a_cache_over_its_limit_evicts_the_oldest_and_says_so():
    """Twelve 560 kB results under a 4 MiB limit (QML_LAB_CACHE_LIMIT): the oldest go, down to
    90 % of the limit, with one line naming how many and the limit; the newest stay."""
    done = run_python(STORE, 0, 12, QML_LAB_CACHE_LIMIT="4M")
    assert done.returncode == 0
    lines = done.stderr.splitlines()
    evicted = [int(line.split("evicted ")[1].split()[0]) for line in lines]
    assert lines and all(line.startswith(f"warning: the result cache {cache.cache_dir()} took ") and
                         "over its limit of 4.00 MiB (QML_LAB_CACHE_LIMIT); evicted" in line for line in lines)
    kept = stored_seeds()
    assert kept == list(range(12 - len(kept), 12)) and sum(evicted) == 12 - len(kept)  # the oldest went
    assert 4 <= len(kept) <= 6  # 4 MiB * 0.9 / 560 kB = 6.7 results, the SQLite pages apart


def test_a_bad_limit_is_one_line_before_any_work(monkeypatch, capsys):
    from qml_core.cli.main import main

    monkeypatch.setenv("QML_LAB_CACHE_LIMIT", "lots")
    assert main(["train", "--preset", "quick", "--model", "mlp", "--json"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: QML_LAB_CACHE_LIMIT must be a size above 0 such as 500M or 8G (bytes without a unit), got 'lots'"]
    assert not (cache.cache_dir() / "cache.db").exists()  # nothing opened, nothing computed
