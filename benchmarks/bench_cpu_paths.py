"""The CPU before and after the GPU path (issue 34), in one process: nothing may get slower.

"before" is ``qml_core`` as of a git ref (default ``main``), extracted into a temporary folder
and imported as ``qml_core_before``; "after" is this checkout's ``qml_core``. Both run in this
process, on the same inputs, their calls interleaved (before, after, dense, before, ...) so that
a change in the machine's load hits every path alike:

- ``w1``: one QNN Adam step at the W1 setting (256 × 1024 amplitudes, depth 6), complex128 and
  complex64: before and after (what "auto" takes on the CPU), interleaved; then the dense
  layout forced (the GPU's layout, to show why the CPU does not take it; a few calls, each
  some seconds); and the torch operations one step dispatches, before and after (counted by
  torch's profiler: the same count means the same kernels, whatever the load does to the times);
- ``paper_run``: one uncached paper-preset MNIST QNN run (label flip α = 0.3, seed 0), before
  and after, alternately, ``--runs`` times each.

The report records the load average, torch's threads and the OMP/MKL variables; it is
written after each section.

    python benchmarks/bench_cpu_paths.py [--base main] [--repeats 5] [--runs 2] [--out benchmarks/results/cpu_paths.json]
"""
import argparse
import importlib
import json
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_w1 import DEPTH, N_QUBITS, inputs, torch_step  # noqa: E402

BEFORE = "qml_core_before"


def import_before(ref: str):
    """``qml_core`` at ``ref`` as the package ``qml_core_before`` (its own imports renamed, the
    MNIST copy where an installed package keeps it)."""
    folder = pathlib.Path(tempfile.mkdtemp(prefix="qml-before-"))
    archive = subprocess.run(["git", "archive", ref, "qml_core"], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    package = folder / BEFORE
    (folder / "qml_core").rename(package)
    for source in package.rglob("*.py"):
        source.write_text(re.sub(r"\bqml_core\b", BEFORE, source.read_text()))
    (package / "_data").mkdir(exist_ok=True)
    shutil.copy(ROOT / "data" / "mnist.npz", package / "_data" / "mnist.npz")
    sys.path.insert(0, str(folder))
    return folder


def interleaved(steps: dict, repeats: int) -> dict:
    """Median and min wall seconds of each step, and its median CPU seconds (this process's,
    all threads: the work done, less moved by other processes' load than the wall time), its
    calls interleaved round by round (one untimed call each first)."""
    for step in steps.values():
        step()
    times = {name: [] for name in steps}
    cpu = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start, cpu_start = time.perf_counter(), time.process_time()
            step()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - cpu_start)
    return {name: {"median_s": statistics.median(t), "min_s": min(t), "cpu_median_s": statistics.median(cpu[name]),
                   "repeats": repeats} for name, t in times.items()}


def ops_per_call(step) -> int:
    """Torch operations one call of ``step`` dispatches."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    return sum(event.count for event in prof.key_averages())


def w1(repeats: int, dense_repeats: int = 2) -> dict:
    before = importlib.import_module(f"{BEFORE}.sim.executor")
    from qml_core.sim.executor import FusedExecutor

    x, y, theta = inputs()
    out = {}
    for dtype, suffix in ((torch.float64, "complex128"), (torch.float32, "complex64")):
        executors = {"before": before.FusedExecutor("paper", DEPTH, N_QUBITS, dtype=dtype),
                     "after": FusedExecutor("paper", DEPTH, N_QUBITS, dtype=dtype)}
        steps = {name: torch_step("fused", x, y, theta, dtype=dtype, executor=ex) for name, ex in executors.items()}
        out[suffix] = interleaved(steps, repeats)
        out[suffix]["ops_per_step"] = {name: ops_per_call(step) for name, step in steps.items()}
        dense = FusedExecutor("paper", DEPTH, N_QUBITS, dtype=dtype, layout="dense")
        out[suffix].update(interleaved({"dense": torch_step("fused", x, y, theta, dtype=dtype, executor=dense)}, dense_repeats))
        for kind in ("median_s", "min_s", "cpu_median_s"):
            out[suffix][f"after_over_before_{kind}"] = out[suffix]["after"][kind] / out[suffix]["before"][kind]
        out[suffix]["dense_over_after"] = out[suffix]["dense"]["median_s"] / out[suffix]["after"]["median_s"]
    return out


def paper_run(runs: int) -> dict:
    modules = {"before": importlib.import_module(f"{BEFORE}.experiments.experiment"),
               "after": importlib.import_module("qml_core.experiments.experiment")}
    specs = {"before": importlib.import_module(f"{BEFORE}.specs"), "after": importlib.import_module("qml_core.specs")}
    seconds, cpu, accuracy = {name: [] for name in modules}, {name: [] for name in modules}, {}
    for _ in range(runs):
        for name, module in modules.items():
            spec = specs[name].preset("paper", "mnist", "qnn").replace(alpha=0.3, seed=0)
            start, cpu_start = time.perf_counter(), time.process_time()
            result = module.train_experiment(spec)
            seconds[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - cpu_start)
            accuracy[name] = (result["train_acc"], result["val_acc"])
    out = {name: {"wall_s": s, "median_s": statistics.median(s), "cpu_s": cpu[name], "cpu_median_s": statistics.median(cpu[name]),
                  "train_val_acc": accuracy[name]} for name, s in seconds.items()}
    for kind in ("median_s", "cpu_median_s"):
        out[f"after_over_before_{kind}"] = out["after"][kind] / out["before"][kind]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="main", help="git ref of the 'before' code")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--only", nargs="+", choices=("w1", "paper_run"), help="measure only these sections")
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "benchmarks" / "results" / "cpu_paths.json")
    args = parser.parse_args()
    os.environ.setdefault("QML_LAB_CACHE", tempfile.mkdtemp(prefix="qml-cpu-paths-"))
    base = subprocess.run(["git", "rev-parse", "--short", args.base], cwd=ROOT, capture_output=True, text=True, check=True)
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
    folder = import_before(args.base)
    report = {"before": base.stdout.strip(), "after": head.stdout.strip() + " (and the working tree)",
              "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
              "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")},
              "loadavg_start": os.getloadavg()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    try:
        for name, measure in (("w1", lambda: w1(args.repeats)), ("paper_run", lambda: paper_run(args.runs))):
            if args.only and name not in args.only:
                continue
            report[name] = measure()
            report[f"loadavg_after_{name}"] = os.getloadavg()
            print(name, json.dumps(report[name], indent=1), flush=True)
            args.out.write_text(json.dumps(report, indent=1))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
