"""Backends: the same sweep rows locally, on a local 2-worker Dask cluster and on a local 2-CPU
Ray; remote results stored in the client's cache; one-line errors."""
import math
import os

import pytest

from qml_core.cli.main import main
from qml_core.experiments.sweep import run_sweep, sweep_specs
from qml_core.runtime import backends
from qml_core.runtime.backends import BackendError, parallel_map
from qml_core.store import cache, disk

VOLATILE = {"seconds", "cached"}  # wall time, and whether this process found it in its cache


def tiny_jobs(tiny_qnn_spec, tiny_mlp_spec):
    return sweep_specs([tiny_qnn_spec, tiny_mlp_spec], [0.0, 0.5], runs=2)


def same_rows(a: list[dict], b: list[dict]) -> bool:
    """Equal rows apart from VOLATILE fields; floats to 1e-9 (torch thread counts differ), NaN
    (no forget set at α = 0) equal to NaN."""
    def close(x, y):
        if isinstance(x, float) and isinstance(y, float):
            return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12) or (math.isnan(x) and math.isnan(y))
        return x == y
    return len(a) == len(b) and all(
        r.keys() == s.keys() and all(close(r[k], s[k]) for k in r if k not in VOLATILE) for r, s in zip(a, b))


def use_cache(monkeypatch, path) -> None:
    monkeypatch.setenv("QML_LAB_CACHE", str(path))
    disk.open_store.cache_clear()


def test_local_map_keeps_item_order_and_reports_each():
    done = []
    assert parallel_map(abs, [-3, 1, -2], n_jobs=2, on_done=done.append) == [3, 1, 2]
    assert sorted(done) == [1, 2, 3]


def test_unknown_backend_is_an_error():
    with pytest.raises(BackendError, match="backend must be one of"):
        parallel_map(abs, [1], backend="spark")


def remote_sweep_matches_local(monkeypatch, tmp_path, jobs, backend, address) -> None:
    """The workers (started with QML_LAB_CACHE = tmp_path/workers) write their own cache; the
    client stores what it lacks in its cache; a local recomputation in a third, empty cache
    gives the same rows."""
    use_cache(monkeypatch, tmp_path / "client")
    done = []
    remote = run_sweep(jobs, 2, done.append, backend, address)
    assert len(done) == len(jobs) and all(not r["cached"] for r in remote)
    assert all(cache.lookup("train", spec) is not None for _, spec in jobs)  # resumable on the client
    use_cache(monkeypatch, tmp_path / "local")
    local = run_sweep(jobs, 1)
    assert all(not r["cached"] for r in local)
    assert same_rows(remote, local)


def test_dask_local_cluster_gives_the_local_rows(monkeypatch, tmp_path, tiny_qnn_spec, tiny_mlp_spec):
    distributed = pytest.importorskip("distributed")
    use_cache(monkeypatch, tmp_path / "workers")  # the worker processes inherit the environment
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote_sweep_matches_local(monkeypatch, tmp_path, tiny_jobs(tiny_qnn_spec, tiny_mlp_spec), "dask",
                                   cluster.scheduler_address)


def test_ray_local_gives_the_local_rows(monkeypatch, tmp_path, tiny_qnn_spec, tiny_mlp_spec):
    ray = pytest.importorskip("ray")
    use_cache(monkeypatch, tmp_path / "workers")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote_sweep_matches_local(monkeypatch, tmp_path, tiny_jobs(tiny_qnn_spec, tiny_mlp_spec), "ray", None)
    finally:
        ray.shutdown()


@pytest.mark.parametrize("package,options,needle", [
    ("distributed", ["--backend", "dask", "--scheduler", "tcp://127.0.0.1:9"], "cannot reach the Dask scheduler at tcp://127.0.0.1:9"),
    ("ray", ["--backend", "ray", "--address", "127.0.0.1:9"], "cannot reach the Ray cluster at 127.0.0.1:9"),
])
def test_unreachable_cluster_is_one_line(package, options, needle, monkeypatch, capsys):
    pytest.importorskip(package)
    monkeypatch.setattr(backends, "CONNECT_TIMEOUT_S", 2)
    code = main(["sweep", "--preset", "quick", "--alphas", "0", "--runs", "1", "--out", "x.csv", "--quiet", *options])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and needle in err[0]


def test_scheduler_needs_the_dask_backend(capsys):
    assert main(["sweep", "--out", "x.csv", "--scheduler", "tcp://h:8786"]) == 2
    assert "--scheduler applies to --backend dask" in capsys.readouterr().err


def test_a_worker_hands_its_freed_heap_back_after_a_job():
    """Freed blocks kept for reuse (``keep_freed_memory``) would leave a worker at its peak
    size after a big job, which loky takes for a leak (it replaces the worker and warns);
    ``release_freed_memory``, run after every local job, returns them to the OS."""
    import subprocess
    import sys

    script = ("import os, torch\n"
              "from qml_core.sim.executor import keep_freed_memory, release_freed_memory\n"
              "rss = lambda: int(open('/proc/self/statm').read().split()[1]) * os.sysconf('SC_PAGE_SIZE') >> 20\n"
              "assert keep_freed_memory()\n"
              "blocks = [torch.ones(4 << 20) for _ in range(40)]\n"  # 40 x 16 MiB, below the mmap threshold
              "del blocks\n"
              "kept = rss()\n"
              "assert release_freed_memory()\n"
              "print(kept, rss())\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    kept, released = map(int, out.stdout.split())
    assert kept - released > 500, (kept, released)  # MiB


def test_omp_num_threads_caps_the_threads_of_each_local_worker(monkeypatch):
    """A fixed thread count gives the same single-precision numbers on every backend and load."""
    from qml_core.runtime.backends import threads_per_worker

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert threads_per_worker(1) == max(1, os.cpu_count() or 1)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert threads_per_worker(1) == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "not a number")
    assert threads_per_worker(1) == max(1, os.cpu_count() or 1)
