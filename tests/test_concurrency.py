"""Several processes asking for one spec compute it once; a lock left by a killed process does
not block the others."""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from qml_core.specs import ExperimentSpec
from qml_core.store import cache

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
from qml_core.store import cache
lock = cache.KeyLock(cache.open_cache(), sys.argv[1])
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


def test_holder_checks():
    me = cache._holder()
    assert not cache.holder_is_dead(me)
    assert cache.holder_is_dead({**me, "started": me["started"] + 1})  # our pid, reused by another process
    assert not cache.holder_is_dead({**me, "host": socket.gethostname() + "-elsewhere"})  # cannot check: expiry
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    assert cache.holder_is_dead({**me, "pid": int(finished.stdout), "started": None})
