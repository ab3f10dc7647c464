"""Cache integrity: damaged entries are recomputed, failures are never stored, a sweep killed
with SIGKILL resumes without losing or recomputing a finished run."""
import csv
import os
import pathlib
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from probes import stored_runs
from qml_core.specs import ExperimentSpec
from qml_core.store import cache, disk
from qml_core.training.train import Cancelled, TrainingDiverged

SPEC = ExperimentSpec(seed=11)
SMALL = {"val_acc": 0.5}  # encoded (JSON + .npy) inline in the SQLite row
LARGE = {"val_acc": 0.75, "params": np.arange(20_000.0)}  # encoded to a value file


def stored_row(key: str) -> tuple[str | None, bytes | None]:
    """(value file name, inline value bytes) of the diskcache row under ``key``."""
    with sqlite3.connect(cache.cache_dir() / "cache.db") as db:
        return db.execute("SELECT filename, value FROM Cache WHERE key = ?", (key,)).fetchone()


def set_inline_value(key: str, blob: bytes) -> None:
    with sqlite3.connect(cache.cache_dir() / "cache.db") as db:
        db.execute("UPDATE Cache SET value = ? WHERE key = ?", (blob, key))


def damage_garbage_inline(key):
    set_inline_value(key, b"\x80\x05garbage, not a pickle")


def damage_truncated_inline(key):
    set_inline_value(key, stored_row(key)[1][:20])


def damage_truncated_file(key):
    path = cache.cache_dir() / stored_row(key)[0]
    path.write_bytes(path.read_bytes()[:1000])


def damage_garbage_file(key):
    (cache.cache_dir() / stored_row(key)[0]).write_bytes(os.urandom(5000))


def damage_missing_file(key):
    (cache.cache_dir() / stored_row(key)[0]).unlink()


def damage_not_a_dict(key):
    cache.open_cache().set(key, [1, 2, 3])


def damage_unknown_class(key):
    """A pickle (never unpickled: any value not in the lab's format is a miss) naming a module
    that does not exist."""
    set_inline_value(key, b"cno_such_module\nResult\n.")  # protocol 0: the global no_such_module.Result


@pytest.mark.parametrize("value,damage", [
    (SMALL, damage_garbage_inline), (SMALL, damage_truncated_inline), (SMALL, damage_unknown_class),
    (SMALL, damage_not_a_dict), (LARGE, damage_truncated_file), (LARGE, damage_garbage_file),
    (LARGE, damage_missing_file),
])
def test_unreadable_entry_is_a_miss_and_is_recomputed(value, damage):
    result, was_cached = cache.cached("train", SPEC, lambda: value)
    assert not was_cached
    key = cache.result_key("train", SPEC)
    damage(key)
    assert cache.lookup("train", SPEC) is None
    assert key not in cache.open_cache()  # the bad entry is gone
    fresh = {"val_acc": 0.9}
    assert cache.cached("train", SPEC, lambda: fresh) == (fresh, False)
    assert cache.cached("train", SPEC, lambda: pytest.fail("recomputed")) == (fresh, True)


@pytest.mark.parametrize("error", [TrainingDiverged("loss is nan at epoch 3"), Cancelled("stopped"),
                                   RuntimeError("out of memory"), KeyboardInterrupt()])
def test_a_failed_run_is_never_stored(error):
    def compute():
        raise error
    with pytest.raises(type(error)):
        cache.cached("train", SPEC, compute)
    assert cache.lookup("train", SPEC) is None
    assert [k for k in cache.open_cache().iterkeys()] == []  # no result, and the lock is released
    assert cache.cached("train", SPEC, lambda: {"val_acc": 1.0}) == ({"val_acc": 1.0}, False)


def test_a_result_that_is_not_a_dict_is_refused():
    with pytest.raises(TypeError, match="must return a dict"):
        cache.cached("train", SPEC, lambda: None)
    assert cache.lookup("train", SPEC) is None


def test_a_cancelled_training_run_is_not_stored(tiny_mlp_spec):
    from qml_core.experiments.experiment import run_experiment

    def cancel(epoch, epochs, record):
        raise Cancelled("user pressed stop")
    with pytest.raises(Cancelled):
        run_experiment(tiny_mlp_spec, progress=cancel)
    assert cache.lookup("train", tiny_mlp_spec) is None


SWEEP = ["sweep", "--models", "mlp", "--preset", "quick", "--n-train-per-class", "10", "--n-val", "20",
         "--hidden", "8", "--epochs", "5", "--batch-size", "5", "--alphas", "0:0.6:0.2", "--runs", "4",
         "--jobs", "1", "--quiet"]
N_RUNS = 4 * 4


def start_sweep(code, cache_dir, out):
    env = {**os.environ, "QML_LAB_CACHE": str(cache_dir), "PYTHONPATH": str(code)}
    return subprocess.Popen([sys.executable, "-m", "qml_core", *SWEEP, "--out", str(out)], cwd=code, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def read_rows(path) -> list[dict]:
    """Rows without what legitimately differs between a resumed and a fresh sweep."""
    return [{k: v for k, v in row.items() if k not in ("cached", "seconds")} for row in csv.DictReader(path.open())]


def test_sweep_killed_with_sigkill_resumes_without_recomputing(tmp_path, code_snapshot):
    killed_cache, fresh_cache = tmp_path / "killed", tmp_path / "fresh"
    fresh = start_sweep(code_snapshot, fresh_cache, tmp_path / "fresh.csv")  # the uninterrupted reference
    victim = start_sweep(code_snapshot, killed_cache, tmp_path / "resumed.csv")
    deadline = time.monotonic() + 60
    while stored_runs(killed_cache) < 3 and victim.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert victim.poll() is None, "the sweep ended before it could be killed"
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    finished = stored_runs(killed_cache)
    assert 3 <= finished < N_RUNS

    store = disk.open_store(str(killed_cache))
    for key in store.iterkeys():  # every stored entry reads back as a complete result
        if key.startswith("train:"):
            assert isinstance(store.get(key), dict) and "val_acc" in store[key]
    disk.open_store.cache_clear()

    resumed = start_sweep(code_snapshot, killed_cache, tmp_path / "resumed.csv")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert f"{N_RUNS} runs ({N_RUNS - finished} computed, {finished} from the cache)" in out
    out, err = fresh.communicate(timeout=120)
    assert fresh.returncode == 0, err
    assert read_rows(tmp_path / "resumed.csv") == read_rows(tmp_path / "fresh.csv")


def test_the_code_version_covers_every_file_that_computes_and_no_presentation_file(tmp_path):
    """A results key must change with any change to the code that computes results, wherever the
    file sits; a figure's or a caption's change keeps every cached result."""
    package = tmp_path / "qml_core"
    shutil.copytree(pathlib.Path(cache.__file__).parents[1], package,
                    ignore=shutil.ignore_patterns("__pycache__"))

    def version() -> str:
        return subprocess.run([sys.executable, "-c", "from qml_core.store.cache import code_version; print(code_version())"],
                              cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip()

    before = version()
    assert before == cache.code_version()
    for presentation in ("reporting/plots.py", "cli/main.py"):
        with open(package / presentation, "a") as f:
            f.write("\n# a figure's or a command's change\n")
    assert version() == before
    with open(package / "sim" / "statevector.py", "a") as f:
        f.write("\n# a change deep in a subpackage\n")
    assert version() != before
