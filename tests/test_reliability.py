"""Reliability (issue 16): atomic outputs, environment faults named in one line, a cache that
never unpickles, collapsed runs flagged and kept apart, SIGTERM handled and no orphaned workers,
and the small command-line cases (negative and repeated alphas, derived seeds, options that do
not apply, decimal-comma CSVs, --data-file naming something that is not a file).

Full-disk and read-only cases run on a real small tmpfs when the test may mount one (root in a
container that allows it); otherwise the fault is injected (ENOSPC through monkeypatch) or the
test is skipped, as each test's docstring says.
"""
import csv
import errno
import json
import math
import os
import pathlib
import pickle
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from probes import session_processes, stored_runs
from qml_core.cli.main import float_list, main
from qml_core.experiments.collapse import collapse_reason, collapsed_note
from qml_core.experiments.phase import critical_alpha, phase_summary
from qml_core.specs import ExperimentSpec
from qml_core.store import cache, codec, faults
from qml_core.store.disk import open_store

TRAIN = ["train", "--preset", "quick", "--model", "mlp", "--epochs", "1", "--n-train-per-class", "10", "--n-val", "20",
         "--hidden", "4", "--json"]
SWEEP_TINY = ["--preset", "quick", "--models", "mlp", "--n-train-per-class", "10", "--n-val", "20", "--hidden", "4",
              "--epochs", "2", "--runs", "1", "--jobs", "1", "--quiet"]


def mount_tmpfs(path: pathlib.Path, size: str) -> bool:
    """Mount a tmpfs of ``size`` at ``path``; False where this process may not mount."""
    path.mkdir(mode=0o700, exist_ok=True)
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
                              capture_output=True)
    except OSError:  # no mount command
        return False
    return done.returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    """A 512 kB tmpfs (a disk that fills up and can be made read-only), or None where mounting
    is not permitted."""
    disk = tmp_path / "disk"
    mounted = mount_tmpfs(disk, "512k")
    yield disk if mounted else None
    if mounted:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def fill(disk: pathlib.Path) -> None:
    """Write zeros to a file on ``disk`` until it is full."""
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)


def remount_read_only(disk: pathlib.Path) -> None:
    """Make ``disk`` read-only, after closing this process's connection to a cache on it (an open
    database keeps the mount busy)."""
    if pathlib.Path(os.environ["QML_LAB_CACHE"]).is_relative_to(disk):
        cache.open_cache().close()
        open_store.cache_clear()
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True, capture_output=True)


def err_lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


# --- atomic outputs ---------------------------------------------------------------------------

def test_a_full_disk_leaves_the_previous_output_intact(small_disk, tmp_path, monkeypatch, capsys):
    """On a real full tmpfs where one can be mounted, else with ENOSPC injected into the fsync of
    the new file (the point where a full disk surfaces on file systems that delay allocation)."""
    where = small_disk or tmp_path / "out"
    where.mkdir(exist_ok=True)
    out = where / "rows.csv"
    previous = "dataset,model\nmnist,mlp\n" * 20
    out.write_text(previous)
    if small_disk is not None:
        fill(small_disk)
    else:
        def no_space(fd):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        monkeypatch.setattr("qml_core.store.outputs.os.fsync", no_space)
    code = main(["sweep", *SWEEP_TINY, "--alphas", "0", "--out", str(out)])
    lines = err_lines(capsys)
    assert code == 1
    assert lines == [f"error: --out: cannot write {str(out)!r}: No space left on device (free some space or write "
                     "elsewhere); the previous file, if any, is left as it was"]
    assert out.read_text() == previous
    assert sorted(p.name for p in where.iterdir()) == sorted(["rows.csv", *(["filler"] if small_disk else [])])


def test_an_output_that_cannot_be_written_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    def no_work(*args, **kwargs):
        raise AssertionError("the sweep ran")
    monkeypatch.setattr("qml_core.experiments.sweep.run_sweep", no_work)
    read_only = tmp_path / "old.csv"
    read_only.write_text("kept\n")
    read_only.chmod(0o444)
    assert main(["sweep", *SWEEP_TINY, "--alphas", "0", "--out", str(read_only)]) == 1
    assert err_lines(capsys) == [f"error: --out {str(read_only)!r} is read-only; make it writable (chmod u+w) or "
                                 "choose another file"]
    assert main(["sweep", *SWEEP_TINY, "--alphas", "0", "--out", "/proc/rows.csv"]) == 1
    assert err_lines(capsys) == ["error: --out: cannot write in '/proc': No such file or directory (choose a directory "
                                 "that exists and can hold files)"]
    assert read_only.read_text() == "kept\n"


# --- environment faults: one line naming the path and the fix -----------------------------------

def run_train(capsys, cache_dir, *extra) -> tuple[int, list[str], str]:
    os.environ["QML_LAB_CACHE"] = str(cache_dir)  # monkeypatched per test by the conftest fixture
    os.environ.pop(faults.NOTICE_ENV, None)
    open_store.cache_clear()
    code = main([*TRAIN, *extra])
    captured = capsys.readouterr()
    return code, [line for line in captured.err.splitlines() if line.strip()], captured.out


def test_a_cache_path_that_is_a_file_or_a_device_is_named(tmp_path, capsys):
    regular = tmp_path / "afile"
    regular.write_text("x")
    code, lines, _ = run_train(capsys, regular)
    assert (code, lines) == (1, [f"error: {regular} is a regular file, not a directory; remove it or set QML_LAB_CACHE "
                                 "to a directory (it is created if missing)"])
    code, lines, _ = run_train(capsys, "/dev/null")
    assert (code, lines) == (1, ["error: /dev/null is a character device, not a directory; set QML_LAB_CACHE to a "
                                 "directory (it is created if missing)"])


def test_a_cache_directory_that_cannot_be_created_is_named(capsys):
    code, lines, _ = run_train(capsys, "/proc/qml-lab-cache")
    assert (code, lines) == (1, ["error: cannot create or use the directory /proc/qml-lab-cache: No such file or "
                                 "directory; set QML_LAB_CACHE to a directory you can write"])


def test_an_empty_unwritable_cache_directory_is_named(small_disk, capsys):
    """Needs a read-only tmpfs (root would pass any permission check): skipped where none can be mounted."""
    if small_disk is None:
        pytest.skip("cannot mount a tmpfs here")
    (small_disk / "cache").mkdir(mode=0o700)
    remount_read_only(small_disk)
    code, lines, _ = run_train(capsys, small_disk / "cache")
    assert (code, lines) == (1, [f"error: the result cache directory {small_disk / 'cache'} cannot be written (it is "
                                 "read-only (Read-only file system)) and holds no results; make it writable or set "
                                 "QML_LAB_CACHE to a writable directory"])


def test_a_read_only_populated_cache_serves_hits_and_says_once_it_cannot_store(small_disk, capsys):
    """A real read-only tmpfs; skipped where none can be mounted."""
    if small_disk is None:
        pytest.skip("cannot mount a tmpfs here")
    directory = small_disk / "cache"
    assert run_train(capsys, directory)[0] == 0
    remount_read_only(small_disk)
    code, lines, out = run_train(capsys, directory)
    notice = (f"notice: cannot store results in the result cache {directory}: it is read-only (Read-only file "
              "system); the results it holds are still used (make it writable, or set QML_LAB_CACHE to another "
              "directory, to keep new ones)")
    assert (code, lines) == (0, [notice])
    assert '"cached": true' in out
    code, lines, out = run_train(capsys, directory, "--seed", "5")  # a miss: computed, not stored
    assert (code, lines) == (0, [notice])
    assert '"cached": false' in out


def test_a_full_disk_still_serves_hits_and_computes_without_storing(small_disk, tmp_path, monkeypatch, capsys):
    """On a real full tmpfs where one can be mounted, else with SQLite's 'database or disk is full'
    injected into every write of the cache."""
    directory = (small_disk or tmp_path) / "cache"
    assert run_train(capsys, directory)[0] == 0
    if small_disk is not None:
        fill(small_disk)
    else:
        def full(*args, **kwargs):
            raise sqlite3.OperationalError("database or disk is full")
        for name in ("set", "add", "delete"):
            monkeypatch.setattr(cache.LabCache, name, full)
    code, lines, out = run_train(capsys, directory)
    assert code == 0 and '"cached": true' in out
    code, lines, out = run_train(capsys, directory, "--seed", "5")
    assert code == 0 and '"cached": false' in out
    assert lines == [f"notice: cannot store results in the result cache {directory}: the disk is full; the results it "
                     "holds are still used (free some space, or set QML_LAB_CACHE to another directory, to keep new "
                     "ones)"]


def full_cache(small_disk, tmp_path, monkeypatch) -> pathlib.Path:
    """A result cache that can take no more: on a real full tmpfs where one can be mounted (the
    cache opened before the disk filled), else with ENOSPC injected into every store."""
    directory = (small_disk or tmp_path) / "cache"
    os.environ["QML_LAB_CACHE"] = str(directory)  # monkeypatched per test by the conftest fixture
    cache.open_cache().set("probe", 1)
    if small_disk is not None:
        fill(small_disk)
    else:
        def full(*args, **kwargs):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        monkeypatch.setattr(cache.LabCache, "set", full)
    return directory


def test_a_batch_stops_at_the_first_result_a_full_disk_cannot_store(small_disk, tmp_path, monkeypatch):
    """Three misses inside a batch: the first is computed, its store fails, and DiskFull stops
    the batch there, naming the disk and the cache; nothing else is computed."""
    directory = full_cache(small_disk, tmp_path, monkeypatch)
    computed = []
    with faults.stop_when_full(), pytest.raises(faults.DiskFull) as raised:
        for seed in range(3):
            cache.cached("train", ExperimentSpec(seed=seed), lambda: computed.append(seed) or {"params": np.zeros(70_000)})
    assert computed == ([] if small_disk else [0])  # a real full disk cannot even take the lock: nothing computed
    assert str(raised.value) == (f"the disk is full: the result cache {directory} cannot store another result (free "
                                 "some space, or set QML_LAB_CACHE to a directory on another disk)")


def test_a_sweep_on_a_full_disk_stops_in_one_line_with_what_is_kept(small_disk, tmp_path, monkeypatch, capsys):
    """The sweep's cache is on a full disk: exit 1 before any run, and one line saying the disk
    is full, where, what is kept and how to resume; no row file is written."""
    directory = full_cache(small_disk, tmp_path, monkeypatch)
    open_store.cache_clear()  # the sweep opens the full cache itself
    out = tmp_path / "rows.csv"
    code = main(["sweep", *SWEEP_TINY, "--alphas", "0,0.2", "--out", str(out)])
    lines = err_lines(capsys)
    assert code == 1 and len(lines) == 1 and not out.exists()
    assert lines[0].startswith(f"error: the disk is full: the result cache {directory} cannot store another result (")
    assert ": the runs that finished are cached; run the same command again to resume: " in lines[0]


def test_a_cache_db_that_is_not_a_database_is_named(tmp_path, capsys):
    directory = tmp_path / "cache"
    directory.mkdir(mode=0o700)
    (directory / "cache.db").write_bytes(np.random.default_rng(0).bytes(8192))
    code, lines, _ = run_train(capsys, directory)
    assert (code, lines) == (1, [f"error: the result cache database {directory / 'cache.db'} is damaged (file is not a "
                                 "database); delete it (stored results are lost and recomputed) or set QML_LAB_CACHE "
                                 "to another directory"])


def test_a_malformed_cache_db_is_named(tmp_path, capsys):
    directory = tmp_path / "cache"
    store = open_store(str(directory))
    for i in range(400):  # enough rows for the table to span many pages
        store.set(f"train:filler:{i}", {"val_acc": float(i), "note": "x" * 200})
    store.close()
    open_store.cache_clear()
    db = directory / "cache.db"
    blob = bytearray(db.read_bytes())
    page = int.from_bytes(blob[16:18], "big")
    blob[2 * page:len(blob) - page] = np.random.default_rng(1).bytes(len(blob) - 3 * page)  # keep header and schema
    db.write_bytes(bytes(blob))
    code, lines, _ = run_train(capsys, directory)
    assert code == 1 and len(lines) == 1
    assert lines[0].startswith(f"error: the result cache database {db} is damaged (")
    assert lines[0].endswith("delete it (stored results are lost and recomputed) or set QML_LAB_CACHE to another "
                             "directory")
    assert "internal error" not in lines[0]


def test_directories_other_users_can_write_are_refused(tmp_path, monkeypatch, capsys):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    code, lines, _ = run_train(capsys, shared)
    assert (code, lines) == (1, [f"error: {shared} is writable by other users (mode 0777); run chmod 700 {shared} or "
                                 "set QML_LAB_CACHE to a private directory"])
    from qml_core.data.xxz import load_xxz

    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o775)
    monkeypatch.setenv("QML_LAB_DATA", str(data))
    with pytest.raises(cache.CacheError, match=f"{data} is writable by other users .* set QML_LAB_DATA"):
        load_xxz(6, n_grid=9)
    assert list(data.iterdir()) == []  # refused before anything was read or written


def test_value_subdirectories_are_private(tmp_path):
    old = os.umask(0o022)
    try:
        store = open_store(str(tmp_path / "cache"))
        store.set("train:big", {"params": np.zeros(20_000)})  # large enough for a value file
    finally:
        os.umask(old)
    subdirs = [p for p in (tmp_path / "cache").rglob("*") if p.is_dir()]
    assert subdirs and all(p.stat().st_mode & 0o777 == 0o700 for p in subdirs)


# --- the cache never unpickles -----------------------------------------------------------------

class Payload:
    """Unpickling this creates the file ``path``: a stand-in for any code a pickle can run."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


def test_a_planted_pickle_payload_never_runs(tmp_path):
    armed = tmp_path / "proof.txt"
    pickle.loads(pickle.dumps(Payload(armed)))  # the payload is live: plain unpickling runs it
    assert armed.exists()
    marker = tmp_path / "ran.txt"
    payload = pickle.dumps(Payload(marker))
    small, large = ExperimentSpec(seed=1), ExperimentSpec(seed=2)
    cache.cached("train", small, lambda: {"val_acc": 0.5})
    cache.cached("train", large, lambda: {"val_acc": 0.5, "params": np.zeros(20_000)})
    db = cache.cache_dir() / "cache.db"
    with sqlite3.connect(db) as con:
        con.execute("UPDATE Cache SET mode = 4, value = ? WHERE key = ?", (payload, cache.result_key("train", small)))
        (filename,) = con.execute("SELECT filename FROM Cache WHERE key = ?",
                                  (cache.result_key("train", large),)).fetchone()
        con.execute("UPDATE Cache SET mode = 4 WHERE key = ?", (cache.result_key("train", large),))
        con.execute("INSERT INTO Cache (key, raw, store_time, mode, value) VALUES (?, 0, 0, 1, 1)", (payload,))
    (cache.cache_dir() / filename).write_bytes(payload)
    assert cache.lookup("train", small) is None and cache.lookup("train", large) is None
    with pytest.raises(codec.UnreadableEntry):
        list(cache.open_cache().iterkeys())  # the row with a pickled key
    assert not marker.exists()
    assert cache.cached("train", small, lambda: {"val_acc": 0.9}) == ({"val_acc": 0.9}, False)  # recomputed
    assert not marker.exists()


def test_results_round_trip_as_json_and_npy():
    value = {"history": {"loss": [0.5, float("nan"), float("inf")]}, "params": {"w": np.arange(6.0).reshape(2, 3)},
             "forget": np.array([1, 5], dtype=np.int64), "scalar": np.float32(1.5), "digits": (1, 9),
             "by_run": {3: "x"}, "none": None, "flag": True, "big": 2 ** 70}
    back = codec.decode(codec.encode(value))
    assert back["history"]["loss"][0] == 0.5 and math.isnan(back["history"]["loss"][1])
    assert back["params"]["w"].shape == (2, 3) and np.array_equal(back["params"]["w"], value["params"]["w"])
    assert back["forget"].dtype == np.int64 and back["scalar"].dtype == np.float32
    assert back["digits"] == (1, 9) and back["by_run"] == {3: "x"}
    assert (back["none"], back["flag"], back["big"]) == (None, True, 2 ** 70)
    with pytest.raises(TypeError, match="object arrays"):
        codec.encode({"bad": np.array([object()])})
    with pytest.raises(codec.UnreadableEntry):
        codec.decode(codec.encode(value)[:-10])


# --- collapsed runs ----------------------------------------------------------------------------

def test_collapse_reasons():
    assert collapse_reason(np.full(40, 0.73), [0.7, 0.69]).startswith("constant output (0.73")
    assert collapse_reason(np.linspace(0, 1, 40), [13.2, 15.0, 15.0, 15.0]).startswith("training loss frozen at 15")
    assert collapse_reason(np.linspace(0, 1, 40), [0.5, 0.01, 0.01, 0.01]) == ""  # converged, not collapsed
    assert collapse_reason(np.linspace(0, 1, 40), [0.9, 0.8, 0.75, 0.72]) == ""  # still training


def test_a_collapsed_run_is_flagged_in_the_sweep_rows(tmp_path, capsys):
    out = tmp_path / "rows.csv"
    assert main(["sweep", *SWEEP_TINY, "--epochs", "6", "--batch-size", "32", "--n-train-per-class", "50",
                 "--hidden", "64,16", "--lr", "10", "--alphas", "0", "--out", str(out)]) == 0
    (row,) = list(csv.DictReader(out.open()))
    assert row["status"] == "collapsed" and row["collapse"]
    assert "1 collapsed (status column; kept apart in the statistics)" in capsys.readouterr().out


def test_statistics_keep_collapsed_runs_apart():
    def row(alpha, seed, val, status="ok"):
        return dict(dataset="mnist", model="mlp", attack="label-flip", alpha=alpha, seed=seed, train_acc=val,
                    val_acc=val, status=status, collapse="constant output (0 for every input)" if status != "ok" else "")
    trained = [row(a, s, v) for a, v in ((0.0, 0.95), (0.2, 0.9), (0.4, 0.6), (0.6, 0.3)) for s in (1, 2)]  # crosses 0.5
    dead = [row(0.0, 3, 0.5, "collapsed"), row(0.2, 3, 0.5, "collapsed")]
    summary = phase_summary(trained + dead)
    clean = next(e for e in summary if e["alpha"] == 0.0)
    assert (clean["n"], clean["collapsed"], clean["val_acc_mean"]) == (2, 1, 0.95)
    with_dead, without = critical_alpha(trained + dead, n_boot=50), critical_alpha(trained, n_boot=50)
    assert with_dead[0]["estimate"] == without[0]["estimate"] and with_dead[0]["collapsed"] == 2
    note = collapsed_note(trained + dead)
    assert note.startswith("2 of 10 runs collapsed and are left out of the means and the critical α (e.g. mlp at "
                           "α = 0.00, seed 3): constant output")
    from qml_core.reporting.figure_style import model_label

    assert "(e.g. MLP at α = 0.00" in collapsed_note(trained + dead, model_label)  # the page names models in words


# --- SIGTERM and orphans -----------------------------------------------------------------------

# 4 runs x 4 alphas: 4 stacked batches (one per run) on 2 workers, so a second wave is still
# running when the first has stored its results
SWEEP_PAR = ["sweep", "--models", "mlp", "--preset", "quick", "--n-train-per-class", "10", "--n-val", "20",
             "--hidden", "8", "--epochs", "8", "--batch-size", "5", "--alphas", "0:0.6:0.2", "--runs", "4", "--quiet"]
N_RUNS = 16


def start_sweep(code, cache_dir, out, jobs: int = 2):
    env = {**os.environ, "QML_LAB_CACHE": str(cache_dir), "PYTHONPATH": str(code)}
    return subprocess.Popen([sys.executable, "-m", "qml_core", *SWEEP_PAR, "--jobs", str(jobs), "--out", str(out)],
                            cwd=code, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def alive_in_session(sid: int) -> list[int]:
    """Live (not zombie) processes of session ``sid``."""
    return [pid for pid, state in session_processes(sid).items() if state not in "ZX"]


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def rows_of(path) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in ("cached", "seconds")} for row in csv.DictReader(path.open())]


def test_sigterm_mid_sweep_leaves_no_process_and_the_resumed_sweep_gives_the_same_rows(tmp_path, code_snapshot):
    victim = start_sweep(code_snapshot, tmp_path / "killed", tmp_path / "resumed.csv")
    assert wait_for(lambda: stored_runs(tmp_path / "killed") >= 4 or victim.poll() is not None, 120)
    assert victim.poll() is None, "the sweep ended before it could be stopped"
    os.kill(victim.pid, signal.SIGTERM)  # the parent alone, as a service manager would
    _, err = victim.communicate(timeout=60)
    assert victim.returncode == 143
    assert err.strip().splitlines()[-1] == ("terminated (SIGTERM): finished runs are in the cache; run the same command "
                                            "again to resume")
    assert wait_for(lambda: not alive_in_session(victim.pid), 10), alive_in_session(victim.pid)
    finished = stored_runs(tmp_path / "killed")
    resumed = start_sweep(code_snapshot, tmp_path / "killed", tmp_path / "resumed.csv")
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert 4 <= finished < N_RUNS
    assert f"{N_RUNS} runs ({N_RUNS - finished} computed, {finished} from the cache)" in out
    fresh = start_sweep(code_snapshot, tmp_path / "fresh", tmp_path / "fresh.csv", jobs=1)  # uninterrupted reference
    _, err = fresh.communicate(timeout=300)
    assert fresh.returncode == 0, err
    assert rows_of(tmp_path / "resumed.csv") == rows_of(tmp_path / "fresh.csv")


def test_resources_left_by_killed_workers_are_removed_without_a_line_after_the_cli(tmp_path):
    """A sweep stopped mid-run ends with the CLI's one line, even when loky's resource tracker
    (which outlives the sweep) has to clean up after the workers it lost."""
    leaked = tmp_path / "left_by_a_killed_worker"
    leaked.mkdir()
    script = ("import sys; from qml_core.runtime.backends import parallel_map; "
              "from joblib.externals.loky.backend import resource_tracker; "
              "parallel_map(abs, [-1, 2], n_jobs=2); resource_tracker.register(sys.argv[1], 'folder')")
    done = subprocess.run([sys.executable, "-c", script, str(leaked)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(pathlib.Path(__file__).parents[1])})
    assert done.returncode == 0, done.stderr
    assert wait_for(lambda: not leaked.exists(), 20), "the tracker did not remove the leaked folder"
    assert done.stderr == ""


def test_workers_do_not_outlive_a_killed_parent(tmp_path, code_snapshot):
    victim = start_sweep(code_snapshot, tmp_path / "cache", tmp_path / "rows.csv")
    assert wait_for(lambda: stored_runs(tmp_path / "cache") >= 1 or victim.poll() is not None, 120)
    assert victim.poll() is None and len(alive_in_session(victim.pid)) > 1  # the parent and its workers
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    assert wait_for(lambda: not alive_in_session(victim.pid), 10), alive_in_session(victim.pid)


def zombies_in_session(sid: int) -> set[int]:
    """Defunct (exited, not reaped) processes of session ``sid``."""
    return {pid for pid, state in session_processes(sid).items() if state == "Z"}


def test_a_local_sweep_reaps_its_workers_as_they_finish(tmp_path, code_snapshot):
    """Sampled every 50 ms while a 2-worker sweep runs: no child stays defunct for a second
    (between a worker's exit and its reaping a child is briefly a zombie)."""
    victim = start_sweep(code_snapshot, tmp_path / "cache", tmp_path / "rows.csv")
    first_seen: dict[int, float] = {}
    while victim.poll() is None:
        now = time.monotonic()
        for pid in zombies_in_session(victim.pid):
            first_seen.setdefault(pid, now)
        lingering = {pid: now - t for pid, t in first_seen.items() if pid in zombies_in_session(victim.pid)}
        assert all(age < 1.0 for age in lingering.values()), lingering
        time.sleep(0.05)
    _, err = victim.communicate()
    assert victim.returncode == 0, err


# --- strict JSON -------------------------------------------------------------------------------

def strict_json(text: str):
    """json.loads that refuses NaN and Infinity, as JSON.parse and every strict parser do."""
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=refuse)


@pytest.mark.filterwarnings("error::RuntimeWarning")  # no mean over an empty forget set either
def test_every_json_output_is_strict_json(tmp_path, capsys):
    """At α = 0 the forget set is empty: its accuracy is missing (null), never a bare NaN."""
    tiny = ["--preset", "quick", "--n-train-per-class", "8", "--n-val", "16", "--epochs", "2", "--batch-size", "8"]
    assert main(["train", "--model", "mlp", "--hidden", "4", "--alpha", "0", *tiny, "--json"]) == 0
    answer = strict_json(capsys.readouterr().out)
    assert answer["forget_acc"] is None
    assert main(["sweep", "--models", "mlp", "--hidden", "4", "--alphas", "0,0.5", "--runs", "1", "--jobs", "1",
                 "--quiet", *tiny, "--out", str(tmp_path / "sweep.json")]) == 0
    rows = strict_json((tmp_path / "sweep.json").read_text())
    assert rows[0]["forget_acc"] is None and 0 <= rows[1]["forget_acc"] <= 1
    assert main(["capacity", "--preset", "quick", "--variants", "mlp,logreg", "--alphas", "0,0.5", "--alpha", "0",
                 "--runs", "1", "--jobs", "1", "--quiet", "--out", str(tmp_path / "capacity.json")]) == 0
    assert len(strict_json((tmp_path / "capacity.json").read_text())["rows"]) == 2
    assert main(["unlearn", "--model", "mlp", "--preset", "quick", "--alpha", "0", "--runs", "1", "--methods",
                 "finetune", "--epochs", "2", "--jobs", "1", "--quiet", "--out", str(tmp_path / "unlearn.json")]) == 0
    report = strict_json((tmp_path / "unlearn.json").read_text())
    assert report["rows"][0]["forget_acc_poisoned"] is None and report["summary"][0]["mia_auc_mean"] is None
    for command in (["unlearn-grid", "--method", "grad-ascent", "--weights", "0,0.5", "--model", "mlp", "--preset",
                     "quick", "--alpha", "0", "--epochs", "2", "--jobs", "1", "--quiet"],
                    ["hessian", "--models", "mlp", "--alphas", "0.2", "--runs", "1", "--epochs", "2", "--jobs", "1",
                     "--quiet"],
                    ["landscape", "--model", "mlp", "--alpha", "0", "--epochs", "2", "--kind", "slice1d", "--grid", "5"]):
        assert main([*command, "--out", str(tmp_path / f"{command[0]}.json")]) == 0
        assert strict_json((tmp_path / f"{command[0]}.json").read_text())


def test_a_capacity_table_on_a_small_upload_leaves_out_what_it_cannot_take(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("QML_LAB_DATA", str(tmp_path / "data"))
    x = np.random.default_rng(0).normal(size=(60, 4))
    np.savez(tmp_path / "small.npz", x=x, y=(x[:, 0] > 0).astype(int))
    assert main(["capacity", "--data-file", str(tmp_path / "small.npz"), "--preset", "quick", "--variants",
                 "logreg,matched", "--alphas", "0,0.5", "--alpha", "0", "--runs", "1", "--jobs", "1", "--quiet",
                 "--out", str(tmp_path / "capacity.csv")]) == 0
    assert err_lines(capsys) == ["note: left out matched (PCA-16 → 2 → 1, matched to the QNN's 32 parameters): pca must "
                                 "be at most 4 for this data (n_train - 1 = 41, input width 4), got 16"]
    assert [row["variant"] for row in csv.DictReader((tmp_path / "capacity.csv").open())] == ["logreg"]


def test_a_fresh_cache_on_a_nearly_full_disk_computes_without_storing(small_disk, tmp_path, monkeypatch, capsys):
    """On a real tmpfs left with about 160 kB (less than a new SQLite database with its WAL
    takes) where one can be mounted, else with SQLite's 'disk is full' on creating the cache."""
    if small_disk is not None:
        fd = os.open(small_disk / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize > 160 * 1024:
                os.write(fd, b"\0" * 4096)
        finally:
            os.close(fd)
    else:
        def full(*args, **kwargs):
            raise sqlite3.OperationalError("database or disk is full")
        monkeypatch.setattr(cache.LabCache, "__init__", full)
    code, lines, out = run_train(capsys, (small_disk or tmp_path) / "cache")
    assert code == 0 and '"cached": false' in out
    assert lines == [f"notice: cannot store results in the result cache {(small_disk or tmp_path) / 'cache'}: the disk is full; the "
                     "results it holds are still used (free some space, or set QML_LAB_CACHE to another directory, to "
                     "keep new ones)"]


# --- the smaller command-line cases ------------------------------------------------------------

def test_the_usage_names_the_program_the_user_ran(tmp_path):
    """The installed script says qml-lab, ``python -m qml_core`` says that."""
    script = tmp_path / "qml-lab"
    script.write_text(f"#!{sys.executable}\nimport sys\nfrom qml_core.cli.main import main\nsys.exit(main())\n")
    script.chmod(0o755)
    env = {**os.environ, "PYTHONPATH": str(pathlib.Path(__file__).parents[1])}
    for command, usage in (([str(script)], "usage: qml-lab "), ([sys.executable, "-m", "qml_core"],
                                                                "usage: python -m qml_core ")):
        done = subprocess.run([*command, "--help"], capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 0 and done.stdout.startswith(usage), done.stdout[:200]

def test_repeated_negative_zero_and_subnormal_alphas_are_one_value():
    assert float_list("0,0,-0.0,5e-324,0.1,0.1") == [0.0, 0.1]
    specs = [ExperimentSpec(alpha=a) for a in (0.0, -0.0, 5e-324, 0)]
    assert {s.key() for s in specs} == {ExperimentSpec().key()}
    assert [repr(s.alpha) for s in specs] == ["0.0"] * 4


@pytest.mark.parametrize("args,line", [
    (["sweep", "--alphas", "-0.1,0.2"], "error: alpha must be a number in [0.0, 1.0), got -0.1"),
    (["train", "--alpha", "-inf"], "error: alpha must be a number in [0.0, 1.0), got -inf"),
    (["sweep", "--alphas", "0.1", "--seed", "2147483647", "--runs", "2"],
     "error: --seed 2147483647 is too large for --runs 2: run r at alpha a uses seed + 1000*r + round(100*a), which "
     "must stay <= 2147483647; use --seed <= 2147482637"),
    (["unlearn", "--seed", "2147483647", "--runs", "2"],
     "error: --seed 2147483647 is too large for --runs 2: run r uses seed + r, which must stay <= 2147483647; "
     "use --seed <= 2147483646"),
    (["train", "--model", "qnn", "--hidden", "4"],
     "error: --hidden does not apply to --model qnn; leave it out or choose a model that has it"),
    (["sweep", "--models", "mlp", "--depth", "3"],
     "error: --depth does not apply to --model mlp; leave it out or choose a model that has it"),
    (["sweep", "--alphas", "0:0.999:0.001"], "error: argument --alphas: expected 1 to 201 values, got '0:0.999:0.001': "
                                             "1000 values"),
])
def test_small_cases_get_their_own_line(args, line, tmp_path, capsys):
    out = ["--out", str(tmp_path / "rows.csv")] if args[0] in ("sweep", "unlearn") else []
    assert main([*args, *out]) == 2
    assert err_lines(capsys) == [line]


def test_data_file_cases_get_their_own_line(tmp_path, capsys):
    decimal = tmp_path / "european.csv"
    decimal.write_text("f1;f2;label\n0,5;1,2;a\n0,7;1,1;b\n")
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    loop = tmp_path / "loop.csv"
    loop.symlink_to(loop)
    cases = {decimal: "error: the CSV uses decimal commas ('0,5'); save it with decimal points (e.g. 0.5), or replace "
                      "',' by '.' in the numbers",
             fifo: f"error: --data-file {str(fifo)!r} is a FIFO (named pipe); name a .csv or .npz file",
             tmp_path: f"error: --data-file {str(tmp_path)!r} is a directory; name a .csv or .npz file",
             loop: f"error: --data-file {str(loop)!r}: a symbolic link loop (too many levels of links); name a .csv "
                   "or .npz file"}
    for path, line in cases.items():
        assert main(["train", "--preset", "quick", "--data-file", str(path)]) == 2
        assert err_lines(capsys) == [line]
