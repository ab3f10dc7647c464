"""How long a sweep takes to end, and with which line, when its cluster goes away mid-run.

Each scenario starts real processes on localhost (a ``dask scheduler`` and two ``dask worker``,
or a Ray head), runs a ``quick`` sweep through the CLI into a fresh cache, does something to the
cluster 20 s in, and prints the seconds from then to the CLI's exit, its exit code and its line.

    python benchmarks/lost_cluster.py                      # every scenario
    python benchmarks/lost_cluster.py --only workers-frozen
"""
import argparse
import contextlib
import os
import pathlib
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
SWEEP = ["sweep", "--preset", "quick", "--models", "qnn,mlp", "--alphas", "0:0.9:0.1", "--runs", "12", "--quiet",
         "--jobs", "2"]
DASK = {"scheduler-killed": ("scheduler",), "all-killed": ("scheduler", "w0", "w1"), "workers-killed": ("w0", "w1"),
        "workers-frozen": ("w0", "w1")}
SCENARIOS = (*DASK, "ray-head-killed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args: list[str], env: dict, log: pathlib.Path) -> subprocess.Popen:
    return subprocess.Popen(args, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)


def wait_for(path: pathlib.Path, needle: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while needle not in (path.read_text(errors="replace") if path.exists() else ""):
        if time.monotonic() > deadline:
            raise SystemExit(f"{path.name}: no {needle!r}")
        time.sleep(0.2)


def run(scenario: str, work: pathlib.Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "QML_LAB_CACHE": str(work / "cache")}
    procs: dict[str, subprocess.Popen] = {}
    try:
        if scenario in DASK:
            address = f"tcp://127.0.0.1:{free_port()}"
            procs["scheduler"] = start([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                        "--port", address.rsplit(":", 1)[1], "--no-dashboard"], env, work / "s.log")
            wait_for(work / "s.log", "Scheduler at:")
            for name in ("w0", "w1"):
                procs[name] = start([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                                     "--no-dashboard"], env, work / f"{name}.log")
                wait_for(work / f"{name}.log", "Registered to:")
            options = ["--backend", "dask", "--scheduler", address]
        else:
            address = f"127.0.0.1:{free_port()}"
            env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(16))
            procs["head"] = start([sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--port",
                                   address.rsplit(":", 1)[1], "--include-dashboard=false", "--node-ip-address",
                                   "127.0.0.1", "--num-cpus", "2", "--temp-dir", tempfile.mkdtemp(prefix="ray", dir="/tmp"),
                                   "--disable-usage-stats", "--block"], env, work / "head.log")
            wait_for(work / "head.log", "Ray runtime started")
            options = ["--backend", "ray", "--address", address]
        client = subprocess.Popen([sys.executable, "-m", "qml_core", *SWEEP, *options, "--out", str(work / "rows.csv")],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  start_new_session=True)
        time.sleep(20)
        if client.poll() is not None:
            return f"{scenario}: the sweep ended before the cluster was touched"
        stop = signal.SIGSTOP if scenario == "workers-frozen" else signal.SIGKILL
        for name in DASK.get(scenario, ("head",)):
            os.killpg(procs[name].pid, stop)
        touched = time.monotonic()
        _, err = client.communicate(timeout=300)
        return f"{scenario}: {time.monotonic() - touched:.1f} s, exit {client.returncode}: {err.strip()}"
    finally:
        for proc in procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGCONT)
                os.killpg(proc.pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=SCENARIOS, nargs="*", default=list(SCENARIOS))
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()[0]:.2f}")
    for scenario in args.only:
        with tempfile.TemporaryDirectory() as work:
            print(run(scenario, pathlib.Path(work)), flush=True)


if __name__ == "__main__":
    main()
