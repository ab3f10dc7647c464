"""Real clusters on localhost, each node a process of its own as on a cluster of machines: a
``dask scheduler`` and two ``dask worker`` processes, a Ray head (``ray start --head``) and a
second Ray node (``ray start --address``). test_backends.py's in-process LocalCluster and
``ray.init`` share the client's import path, which hid issue 18: a scheduler that cannot import
qml_core failed with "Error during deserialization of the task graph".

The client is the CLI in a subprocess. Every process runs from a directory without qml_core
and imports it from a copy of the code on PYTHONPATH: the stand-in for ``pip install`` on each
node. A sweep through each cluster gives the local backend's rows; a node without qml_core, or
with another code version (the copy with one line added), stops the sweep with one line that
names the fix. Everything a test starts it stops, pass or fail: each process leads a process
group of its own, terminated and then killed when the test ends.
"""
import contextlib
import csv
import math
import os
import pathlib
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from probes import stored_runs

ROOT = pathlib.Path(__file__).resolve().parent.parent
SWEEP = ["sweep", "--preset", "quick", "--models", "qnn,mlp", "--alphas", "0,0.3", "--runs", "1", "--quiet"]
VOLATILE = {"seconds", "cached"}  # wall time, and whether the client found the run in its cache
START_TIMEOUT_S = 90  # a node on a busy 2-core machine: Ray's head takes 10-15 s
FIX = "install this client's code on every node"


def copy_code(directory: pathlib.Path) -> pathlib.Path:
    """qml_core copied into ``directory`` (data linked), as conftest.code_snapshot: the code
    version stays fixed while the working tree is edited."""
    shutil.copytree(ROOT / "qml_core", directory / "qml_core", ignore=shutil.ignore_patterns("__pycache__"))
    (directory / "data").symlink_to(ROOT / "data")
    return directory


@pytest.fixture(scope="module")
def code(tmp_path_factory) -> pathlib.Path:
    return copy_code(tmp_path_factory.mktemp("code"))


@pytest.fixture(scope="module")
def other_code(tmp_path_factory) -> pathlib.Path:
    """The same code with one comment line added: another code version (the cache key's)."""
    directory = copy_code(tmp_path_factory.mktemp("other_code"))
    with open(directory / "qml_core" / "__init__.py", "a") as f:
        f.write("# another version of the code\n")
    return directory


def environment(code_dir: pathlib.Path | None, cache_dir: pathlib.Path, **extra) -> dict:
    """This process's environment with qml_core importable from ``code_dir`` only (None: not
    at all, unless installed), its own result cache and one torch thread per process."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if code_dir is not None:
        env["PYTHONPATH"] = str(code_dir)
    return {**env, "QML_LAB_CACHE": str(cache_dir), "OMP_NUM_THREADS": "1", **extra}


def importable_without_path(tmp_path) -> bool:
    """Whether qml_core is installed here (then no process can be made to lack it)."""
    return subprocess.run([sys.executable, "-c", "import qml_core"], cwd=tmp_path,
                          env=environment(None, tmp_path), capture_output=True).returncode == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(procs: list[subprocess.Popen]) -> None:
    """SIGTERM to each process (Dask's and Ray's launchers then stop their children), and after
    15 s, or for anything of its group still there, SIGKILL to the whole group."""
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        wait_or_kill(proc)


def wait_or_kill(proc: subprocess.Popen) -> None:
    """Up to 15 s for the process, 5 s more for the rest of its group, then SIGKILL to the group."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(15)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.fixture
def spawn(tmp_path):
    """start(name, args, env) -> Popen: ``python -m args`` in a process group of its own, output
    in tmp_path/name.log; all stopped at teardown. ``start.procs``: name -> Popen."""
    started = []

    def start(name: str, args: list[str], env: dict) -> subprocess.Popen:
        log = open(tmp_path / f"{name}.log", "wb")
        proc = subprocess.Popen([sys.executable, "-m", *args], cwd=tmp_path, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        started.append((name, proc, log))
        start.procs[name] = proc
        return proc

    start.procs = {}
    yield start
    stop([proc for _, proc, _ in reversed(started)])
    for _, _, log in started:
        log.close()


def wait_for_log(path: pathlib.Path, needle: str, proc: subprocess.Popen) -> None:
    """Until ``needle`` appears in the log at ``path``; fails with the log's tail if the process
    exits first or START_TIMEOUT_S passes."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        text = path.read_text(errors="replace") if path.exists() else ""
        if needle in text:
            return
        if proc.poll() is not None:
            break
        time.sleep(0.25)
    pytest.fail(f"{path.name}: no {needle!r} (exit {proc.poll()}):\n{text[-2000:]}")


def cli(tmp_path, name: str, options: list[str], env: dict) -> subprocess.CompletedProcess:
    """The sweep through the CLI (``python -m qml_core``) from tmp_path, rows to tmp_path/name.csv."""
    return subprocess.run([sys.executable, "-m", "qml_core", *SWEEP, "--out", str(tmp_path / f"{name}.csv"), *options],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def read_rows(path: pathlib.Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def same_rows(a: list[dict], b: list[dict]) -> bool:
    """Equal rows apart from VOLATILE columns; numbers to 1e-9 relative, nan equal to nan."""
    def close(x: str, y: str) -> bool:
        try:
            fx, fy = float(x), float(y)
        except ValueError:
            return x == y
        return math.isclose(fx, fy, rel_tol=1e-9, abs_tol=1e-12) or (math.isnan(fx) and math.isnan(fy))
    return len(a) == len(b) and all(
        r.keys() == s.keys() and all(close(r[k], s[k]) for k in r if k not in VOLATILE) for r, s in zip(a, b))


@pytest.fixture(scope="module")
def local_rows(code, tmp_path_factory) -> list[dict]:
    """The sweep on the local backend, one process, in a cache of its own."""
    directory = tmp_path_factory.mktemp("local")
    done = cli(directory, "local", ["--backend", "local", "--jobs", "1"], environment(code, directory / "cache"))
    assert done.returncode == 0, done.stderr
    return read_rows(directory / "local.csv")


def one_error_line(done: subprocess.CompletedProcess) -> str:
    """The CLI failed (exit 1) with exactly one line on stderr; that line."""
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    return lines[0]


# --- Dask: `dask scheduler` and `dask worker` processes -------------------------------------

@pytest.fixture
def dask_cluster(spawn, tmp_path):
    """start(scheduler_code, worker_codes) -> "tcp://127.0.0.1:PORT": a scheduler importing
    qml_core from scheduler_code (None: not at all) and one single-threaded worker process per
    entry of worker_codes, all registered before it returns."""
    pytest.importorskip("distributed")

    def start(scheduler_code, worker_codes) -> str:
        address = f"tcp://127.0.0.1:{free_port()}"
        scheduler = spawn("scheduler", ["dask", "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                                        "--no-dashboard"], environment(scheduler_code, tmp_path / "workers"))
        wait_for_log(tmp_path / "scheduler.log", "Scheduler at:", scheduler)
        for i, worker_code in enumerate(worker_codes):
            worker = spawn(f"worker{i}", ["dask", "worker", address, "--nthreads", "1", "--name", f"w{i}",
                                          "--no-dashboard"], environment(worker_code, tmp_path / "workers"))
            wait_for_log(tmp_path / f"worker{i}.log", "Registered to:", worker)
        return address

    return start


def test_dask_scheduler_and_two_workers_give_the_local_rows(dask_cluster, code, local_rows, tmp_path):
    address = dask_cluster(code, [code, code])
    done = cli(tmp_path, "dask", ["--backend", "dask", "--scheduler", address], environment(code, tmp_path / "client"))
    assert done.returncode == 0, done.stderr
    rows = read_rows(tmp_path / "dask.csv")
    assert all(r["cached"] == "False" for r in rows) and same_rows(rows, local_rows)
    again = cli(tmp_path, "again", ["--backend", "local"], environment(code, tmp_path / "client"))
    assert all(r["cached"] == "True" for r in read_rows(tmp_path / "again.csv")), again.stderr  # stored on the client


def test_dask_worker_with_another_code_version_is_one_line(dask_cluster, code, other_code, tmp_path):
    address = dask_cluster(code, [code, other_code])
    line = one_error_line(cli(tmp_path, "dask", ["--backend", "dask", "--scheduler", address],
                              environment(code, tmp_path / "client")))
    assert re.match(r"error: the Dask worker tcp://127\.0\.0\.1:\d+ runs qml_core \S+, this client \S+: ", line), line
    assert FIX in line


def test_dask_scheduler_without_qml_core_is_one_line(dask_cluster, code, tmp_path):
    if importable_without_path(tmp_path):
        pytest.skip("qml_core is installed here: every process can import it")
    address = dask_cluster(None, [code])
    line = one_error_line(cli(tmp_path, "dask", ["--backend", "dask", "--scheduler", address],
                              environment(code, tmp_path / "client")))
    assert line.startswith(f"error: the Dask scheduler at {address} cannot import qml_core "
                           "(ModuleNotFoundError: No module named 'qml_core'): "), line
    assert FIX in line


def test_dask_scheduler_without_workers_is_one_line(dask_cluster, monkeypatch):
    """In this process (to shorten the wait): the scheduler imports the checkout's qml_core, as
    this process does. Without a worker the jobs would wait for ever."""
    from qml_core.runtime import backends

    address = dask_cluster(ROOT, [])
    monkeypatch.setattr(backends, "CONNECT_TIMEOUT_S", 2)
    with pytest.raises(backends.BackendError, match=f"^the Dask scheduler at {address} has no workers after 2 s: "
                                                    f"start some with: dask worker {address} --nthreads 1$"):
        backends.parallel_map(abs, [-1], backend="dask", address=address)


# --- Ray: `ray start --head` and `ray start --address` processes ----------------------------

@pytest.fixture
def ray_cluster(spawn, tmp_path):
    """start(node_codes) -> (address, token): a head node, then one more node per further
    entry, each with one CPU and importing qml_core from its entry. ``token``: environment
    variables with the cluster's fresh auth token (Ray 2.60 requires one), for the client too.
    Ray's temp dirs are removed at teardown."""
    pytest.importorskip("ray")
    token = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16)}
    temp_dirs = []

    def start(node_codes) -> tuple[str, dict[str, str]]:
        address = f"127.0.0.1:{free_port()}"
        for i, node_code in enumerate(node_codes):
            temp_dirs.append(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # short: Ray's socket paths
            where = ["--head", "--port", address.rsplit(":", 1)[1], "--include-dashboard=false"] if i == 0 else [
                "--address", address]
            node = spawn(f"node{i}", ["ray.scripts.scripts", "start", *where, "--node-ip-address", "127.0.0.1",
                                      "--num-cpus", "1", "--object-store-memory", str(10 ** 8), "--temp-dir",
                                      temp_dirs[-1], "--disable-usage-stats", "--block"],
                         environment(node_code, tmp_path / "workers", **token))
            wait_for_log(tmp_path / f"node{i}.log", "Ray runtime started", node)
        return address, token

    yield start
    for directory in temp_dirs:  # after spawn's teardown: fixtures finalise in reverse order
        shutil.rmtree(directory, ignore_errors=True)


def test_ray_head_and_second_node_give_the_local_rows(ray_cluster, code, local_rows, tmp_path):
    address, token = ray_cluster([code, code])
    done = cli(tmp_path, "ray", ["--backend", "ray", "--address", address], environment(code, tmp_path / "client", **token))
    assert done.returncode == 0, done.stderr
    rows = read_rows(tmp_path / "ray.csv")
    assert all(r["cached"] == "False" for r in rows) and same_rows(rows, local_rows)


def test_ray_node_with_another_code_version_is_one_line(ray_cluster, code, other_code, tmp_path):
    address, token = ray_cluster([other_code])
    line = one_error_line(cli(tmp_path, "ray", ["--backend", "ray", "--address", address],
                              environment(code, tmp_path / "client", **token)))
    assert re.match(r"error: the Ray node \S+ \(\w+\) runs qml_core \S+, this client \S+: ", line), line
    assert FIX in line


# --- a cluster lost mid-sweep: one line within LOST_WITHIN_S, the rerun resumes from the cache --

LONG_SWEEP = ["sweep", "--preset", "quick", "--models", "qnn,mlp", "--alphas", "0:0.9:0.1", "--runs", "3", "--quiet"]
LOST_WITHIN_S = 30


def start_long_sweep(tmp_path, options: list[str], env: dict) -> subprocess.Popen:
    """The long sweep through the CLI, started and left running, once it has stored a run."""
    client = subprocess.Popen([sys.executable, "-m", "qml_core", *LONG_SWEEP, "--out", str(tmp_path / "long.csv"),
                               *options], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT_S
    while stored_runs(pathlib.Path(env["QML_LAB_CACHE"])) == 0:
        assert client.poll() is None, client.communicate()
        assert time.monotonic() < deadline, "no run finished"
        time.sleep(0.2)
    return client


def lost_line(client: subprocess.Popen, killed_at: float) -> tuple[str, float]:
    """The client's one error line (exit 1) and the seconds from ``killed_at`` to its exit."""
    try:
        _, err = client.communicate(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(client.pid, signal.SIGKILL)
    lines = err.strip().splitlines()
    assert client.returncode == 1 and len(lines) == 1, err
    return lines[0], time.monotonic() - killed_at


def assert_resumes(tmp_path, line: str, code: pathlib.Path, cache_dir: pathlib.Path) -> None:
    """The line counts N of M finished runs; the same sweep on the local backend then takes at
    least those N from the cache and completes."""
    finished, total = map(int, re.search(r": (\d+) of (\d+) runs finished and are cached; ", line).groups())
    assert 1 <= finished < total == 2 * 10 * 3
    done = subprocess.run([sys.executable, "-m", "qml_core", *LONG_SWEEP, "--out", str(tmp_path / "resumed.csv"),
                           "--backend", "local", "--jobs", "2"], cwd=tmp_path, env=environment(code, cache_dir),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    cached = int(re.search(r"(\d+) from the cache", done.stdout).group(1))
    assert cached >= finished and len(read_rows(tmp_path / "resumed.csv")) == total


def test_a_dask_cluster_killed_mid_sweep_ends_in_one_line_and_the_rerun_resumes(dask_cluster, spawn, code, tmp_path):
    address = dask_cluster(code, [code])
    cache_dir = tmp_path / "client"
    client = start_long_sweep(tmp_path, ["--backend", "dask", "--scheduler", address, "--jobs", "1"],
                              environment(code, cache_dir))
    for name in ("worker0", "scheduler"):  # each process group, as a machine that goes down
        os.killpg(spawn.procs[name].pid, signal.SIGKILL)
    line, seconds = lost_line(client, time.monotonic())
    assert seconds < LOST_WITHIN_S
    assert line.startswith(f"error: lost the Dask scheduler at {address} (")
    assert "run the same command again to resume: python -m qml_core sweep " in line
    assert_resumes(tmp_path, line, code, cache_dir)


def test_a_ray_head_killed_mid_sweep_ends_in_one_line_and_the_rerun_resumes(ray_cluster, spawn, code, tmp_path):
    address, token = ray_cluster([code])
    cache_dir = tmp_path / "client"
    client = start_long_sweep(tmp_path, ["--backend", "ray", "--address", address, "--jobs", "1"],
                              environment(code, cache_dir, **token))
    os.killpg(spawn.procs["node0"].pid, signal.SIGKILL)
    line, seconds = lost_line(client, time.monotonic())
    assert seconds < LOST_WITHIN_S
    assert line.startswith(f"error: lost the Ray cluster at {address} (its head has refused connections"), line
    assert_resumes(tmp_path, line, code, cache_dir)


@pytest.mark.parametrize("backend", ["dask", "ray"])
def test_sigterm_on_a_cluster_backend_is_the_labs_line_and_exit_143(backend, dask_cluster, ray_cluster, code, tmp_path):
    cache_dir = tmp_path / "client"
    if backend == "dask":
        options, token = ["--scheduler", dask_cluster(code, [code])], {}
    else:
        address, token = ray_cluster([code])
        options = ["--address", address]
    client = start_long_sweep(tmp_path, ["--backend", backend, *options, "--jobs", "1"],
                              environment(code, cache_dir, **token))
    client.send_signal(signal.SIGTERM)
    _, err = client.communicate(timeout=60)
    assert client.returncode == 143, err
    assert err.strip().splitlines() == ["terminated (SIGTERM): finished runs are in the cache; "
                                        "run the same command again to resume"]
    assert stored_runs(cache_dir) >= 1
