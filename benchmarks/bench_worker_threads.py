"""Two jobs on two cores: is the torch thread count the lab gives each worker the fastest one?

Submits two paper MNIST QNN runs (label flipping, α = 0.3, seeds 0 and 1) to the app's job
manager at once, from an empty cache, three ways: with the threads per worker the manager
chooses (``jobs.worker_threads``), forced to 1, and forced to 2 (the forced variants replace
``worker_threads`` in this process, where the manager computes it). Reports, per way and
repeat, the wall time until both runs are done, each run's own training time and the threads
its worker reported. The ways alternate within each repeat, so machine drift hits them alike;
an untimed first pair starts the manager's fork server.

    python benchmarks/bench_worker_threads.py [--repeats 2] [--out benchmarks/results/worker_threads.json]
"""
import argparse
import json
import os
import pathlib
import statistics
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

WAYS = ("lab's choice", 1, 2)


def run_pair(way) -> dict:
    """Both runs through the job manager with threads per worker ``way``; their timings."""
    from qml_core.runtime import jobs
    from qml_core.specs import preset

    chosen = jobs.worker_threads
    if way != WAYS[0]:
        jobs.worker_threads = lambda cpus, running, others=0.0: way
    os.environ["QML_LAB_CACHE"] = tempfile.mkdtemp(prefix="worker-threads-")
    try:
        base = preset("paper", "mnist", "qnn").replace(attack="label-flip", alpha=0.3)
        start = time.perf_counter()
        submitted = [jobs.manager().submit("train", base.replace(seed=seed), f"seed {seed}") for seed in (0, 1)]
        threads = set()
        while any(job.state in ("queued", "running") for job in submitted):
            jobs.manager().watch(submitted)
            threads.update(job.threads for job in submitted if job.threads)
            time.sleep(0.05)
        wall = time.perf_counter() - start
    finally:
        jobs.worker_threads = chosen
    failed = [f"{job.label}: {job.state} {job.error}" for job in submitted if job.state != "done"]
    if failed:
        raise RuntimeError("; ".join(failed))
    return {"threads": sorted(threads), "wall_s": wall, "run_s": [job.result["seconds"] for job in submitted],
            "val_acc": [job.result["val_acc"] for job in submitted]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("benchmarks/results/worker_threads.json"))
    args = parser.parse_args()
    report = {"load_before": os.getloadavg(), "cpu_count": os.cpu_count(), "runs": []}
    run_pair(WAYS[0])  # untimed: the first jobs also start the manager's fork server (imports, data)
    for repeat in range(args.repeats):
        for way in WAYS:
            row = {"way": str(way), "repeat": repeat, **run_pair(way)}
            report["runs"].append(row)
            print(f"{row['way']:>12}: threads {row['threads']}, both done in {row['wall_s']:.1f} s "
                  f"(runs {', '.join(f'{s:.1f}' for s in row['run_s'])} s)", flush=True)
    report["median_wall_s"] = {str(way): statistics.median(r["wall_s"] for r in report["runs"] if r["way"] == str(way))
                               for way in WAYS}
    report["load_after"] = os.getloadavg()
    print("median wall:", ", ".join(f"{way} {s:.1f} s" for way, s in report["median_wall_s"].items()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
