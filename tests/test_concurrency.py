"""Several processes asking for one spec compute it once; a lock left by a killed process does
not block the others, and one whose holder fell silent (another host, a frozen process) is
taken over with one line naming the holder; two preparers of a lesson count their own runs."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

from qml_core.specs import ExperimentSpec
from qml_core.store import cache, locks

SPEC = "ExperimentSpec(seed=5)"
ASK = f"""
import json, os, sys, time
from qml_core.store import cache
from qml_core.specs import ExperimentSpec
log, start = sys.argv[1], float(sys.argv[2])

def compute():
    with open(log, "a") as f:
        f.write(f"{{os.getpid()}}\\n")
    time.sleep(1.0)  # long enough for every other process to arrive while this one computes
    return {{"val_acc": 0.8125, "computed_by": os.getpid()}}

while time.time() < start:
    time.sleep(0.005)
result, was_cached = cache.cached("train", {SPEC}, compute)
print(json.dumps({{"result": result, "was_cached": was_cached}}))
"""
HOLD = """
import sys
from qml_core.store import cache, locks
lock = locks.KeyLock(cache.open_cache(), sys.argv[1])
lock.acquire()
print("locked", flush=True)
import time; time.sleep(120)
"""


def python(code_dir, script: str, *args) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(code_dir)}  # QML_LAB_CACHE: the test's private cache
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)], cwd=code_dir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_four_processes_asking_for_one_spec_compute_it_once(code_snapshot, tmp_path):
    log = tmp_path / "computations.log"
    start = time.time() + 2.0  # every process is up and waiting by then
    procs = [python(code_snapshot, ASK, log, start) for _ in range(4)]
    answers = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        answers.append(json.loads(out))
    assert len(log.read_text().split()) == 1  # one computation
    assert [a["was_cached"] for a in answers].count(False) == 1
    assert all(a["result"] == answers[0]["result"] for a in answers)  # four identical results


def test_a_lock_is_waited_for_while_its_holder_lives_and_broken_when_it_is_killed(code_snapshot):
    holder = python(code_snapshot, HOLD, cache.result_key("train", ExperimentSpec(seed=5)))
    assert holder.stdout.readline().strip() == "locked", holder.stderr.read()
    answer = []
    asking = threading.Thread(target=lambda: answer.append(
        cache.cached("train", ExperimentSpec(seed=5), lambda: {"val_acc": 1.0})))
    asking.start()
    asking.join(timeout=1.0)
    assert asking.is_alive() and not answer  # waits for the live holder
    holder.send_signal(signal.SIGKILL)  # not reaped yet: a zombie is a dead holder too
    asking.join(timeout=10)
    assert answer == [({"val_acc": 1.0}, False)]
    holder.wait()


WAIT = """
import json
from qml_core.store import cache
from qml_core.specs import ExperimentSpec
print(json.dumps(cache.cached("train", ExperimentSpec(seed=5), lambda: {"val_acc": 0.5})), flush=True)
"""


def test_a_lock_of_another_host_without_heartbeat_is_taken_over_naming_its_holder(code_snapshot, monkeypatch):
    """A lock file planted as a node of a shared cache leaves it (host node-gone, last beat now):
    the waiter says whom it waits for, then takes the lock over once the beat is 1 s old."""
    monkeypatch.setenv("QML_LAB_LOCK_STALE_S", "1")
    since = time.time() - 3600
    cache.open_cache().set("lock:" + cache.result_key("train", ExperimentSpec(seed=5)),
                           {"host": "node-gone", "pid": 4242, "started": 7, "token": "f" * 32, "since": since,
                            "beat": time.time()})
    start = time.monotonic()
    out, err = python(code_snapshot, WAIT).communicate(timeout=30)
    assert json.loads(out) == [{"val_acc": 0.5}, False] and time.monotonic() - start >= 1.0
    clock = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(since))
    holder = f"held by pid 4242 on host node-gone since {clock}"
    waiting, took = err.splitlines()
    assert waiting.startswith("waiting: the lock on a train result (key …") and holder in waiting
    assert took.startswith("warning: took over the lock on a train result") and holder in took
    assert re.search(r"no heartbeat for \d+ s \(its host is gone or the process is frozen; QML_LAB_LOCK_STALE_S = 1\)$",
                     took)


def test_a_frozen_holder_is_waited_for_while_it_beats_and_taken_over_when_stopped(code_snapshot, monkeypatch):
    """A real holder on this host beats every 1/6 s: a waiter still waits after 2 s (twice the
    stale time). Frozen with SIGSTOP, its lock is taken over within about a second, naming it."""
    monkeypatch.setenv("QML_LAB_LOCK_STALE_S", "1")
    holder = python(code_snapshot, HOLD, cache.result_key("train", ExperimentSpec(seed=5)))
    try:
        assert holder.stdout.readline().strip() == "locked", holder.stderr.read()
        waiter = python(code_snapshot, WAIT)
        time.sleep(2.0)
        assert waiter.poll() is None  # the holder lives and beats
        holder.send_signal(signal.SIGSTOP)
        out, err = waiter.communicate(timeout=60)  # a loaded machine starts the waiter slowly (15 s was too short)
        assert json.loads(out) == [{"val_acc": 0.5}, False]
        took = err.splitlines()[-1]
        assert took.startswith("warning: took over the lock on a train result")
        assert f"held by pid {holder.pid} on host {socket.gethostname()} since " in took
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()


HOLD_THEN_STORE = """
import sys, time
from qml_core.store import cache, locks
store, key = cache.open_cache(), sys.argv[1]
lock = locks.KeyLock(store, key)
lock.acquire()
print("locked", flush=True)
time.sleep(1.5)
store.set(key, {"val_acc": 0.5, "computed_by": "the other preparer"})
lock.release()
"""


def test_a_preparer_counts_what_another_process_computed_as_theirs(tiny_mlp_spec, code_snapshot, monkeypatch, capsys):
    """Two runs of a lesson; another process holds the first's lock and stores it: this
    preparer waits, computes only the second, and says so."""
    from qml_core.cli.main import main

    theirs, mine = tiny_mlp_spec, tiny_mlp_spec.replace(seed=4)
    monkeypatch.setattr("qml_core.experiments.lesson.lesson_requests",
                        lambda preset: [("phase", "train", theirs), ("phase", "train", mine)])
    holder = python(code_snapshot, HOLD_THEN_STORE, cache.result_key("train", theirs))
    assert holder.stdout.readline().strip() == "locked", holder.stderr.read()
    assert main(["prepare-lesson", "--preset", "quick", "--jobs", "1", "--quiet"]) == 0
    assert holder.wait(timeout=10) == 0
    out = capsys.readouterr().out
    assert "lesson (quick): 2 runs, 0 already in the cache" in out
    assert "2/2 runs of the lesson ready (1 computed now, 1 computed by another process)" in out
    assert cache.lookup("train", theirs)["computed_by"] == "the other preparer"


def test_holder_checks():
    me = locks.new_holder()
    assert not locks.holder_is_dead(me)
    assert locks.holder_is_dead({**me, "started": me["started"] + 1})  # our pid, reused by another process
    assert not locks.holder_is_dead({**me, "host": socket.gethostname() + "-elsewhere"})  # its heartbeat decides
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    assert locks.holder_is_dead({**me, "pid": int(finished.stdout), "started": None})
