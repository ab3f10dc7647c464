"""The Unlearning page's default view through the app's job manager: with and without its
poisoned models queued first.

Submits what the page submits at its defaults (paper preset, MNIST, QNN and MLP, 2 runs, the
paper's three methods besides retraining) to the job manager, from an empty cache, two ways:
``page`` queues the poisoned models as train jobs first, then the unlearning runs (what the
page does); ``runs only`` queues the unlearning runs alone, run by run (what it did before:
each run computes its poisoned model itself, under the cache's lock). Reports the wall time
until the last job is done. The ways alternate (``--repeats`` rounds of ``runs only``,
``page``, ``page``, ``runs only``) so that machine drift hits them alike; each repeat runs
in a fresh process with its own empty cache, after the fork server has started.

    python benchmarks/bench_unlearning_page.py [--repeats 1] [--out benchmarks/results/unlearning_page.json]
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
WAYS = ("runs only", "page")


def one(way: str) -> float:
    """Seconds until every job of the default view is done (in this process)."""
    sys.path.insert(0, str(ROOT))
    from qml_core.experiments.unlearn import PAPER_METHODS
    from qml_core.experiments.unlearn_summary import unlearn_specs
    from qml_core.runtime import jobs
    from qml_core.runtime.jobs import ACTIVE

    manager = jobs.manager()
    time.sleep(8)  # the fork server imports torch and the engine once, before any job
    methods = [m for m in PAPER_METHODS if m != "retrain"]
    specs = sorted(((model, method, run, spec) for model in ("qnn", "mlp")
                    for method, run, spec in unlearn_specs("paper", "mnist", model, methods, 0.3, 2)),
                   key=lambda job: job[2])
    start = time.perf_counter()
    bases = list(dict.fromkeys(spec.poisoned for *_, spec in specs)) if way == "page" else []
    submitted = [manager.submit("train", base, "poisoned model") for base in bases]
    submitted += [manager.submit("unlearn", spec, f"{model} {method} {run}") for model, method, run, spec in specs]
    while any(job.state in ACTIVE for job in submitted):
        manager.watch(submitted)
        time.sleep(0.2)
    assert all(job.state == "done" for job in submitted), [job.error for job in submitted if job.error]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--out", type=pathlib.Path)
    parser.add_argument("--one", choices=WAYS, help=argparse.SUPPRESS)  # a single timing, in a child process
    args = parser.parse_args()
    if args.one:
        print(one(args.one))
        return
    seconds = {way: [] for way in WAYS}
    for _ in range(args.repeats):
        for way in (*WAYS, *reversed(WAYS)):
            env = {**os.environ, "QML_LAB_CACHE": tempfile.mkdtemp(prefix="unlearning-page-")}
            out = subprocess.run([sys.executable, __file__, "--one", way], env=env, capture_output=True, text=True,
                                 check=True)
            seconds[way].append(round(float(out.stdout.split()[-1]), 1))
            print(f"{way:<10} {seconds[way][-1]:6.1f} s", flush=True)
    summary = {way: statistics.median(values) for way, values in seconds.items()}
    print("median: " + ", ".join(f"{way} {s:.1f} s" for way, s in summary.items()))
    if args.out:
        args.out.write_text(json.dumps(dict(seconds=seconds, median=summary), indent=1))


if __name__ == "__main__":
    main()
