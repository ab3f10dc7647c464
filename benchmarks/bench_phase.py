"""The paper MNIST label-flip phase diagram (10 α × 5 runs × QNN and MLP) from an empty cache,
timed two ways on this machine, one after the other:

- ``sweep``: the CLI's path, ``run_sweep`` with ``--jobs 2`` (stacked batches, one per model
  and run index, run 0 first);
- ``app``: the phase page's path, the JobManager (one worker process per spec, two at a time,
  every α of run 0 first), driven directly rather than through a browser.

For each: the wall time until every run is done, and until the first complete curve (run 0 of
every α, both models) is. Each uses a fresh cache directory.

    python benchmarks/bench_phase.py [--runs 5] [--out benchmarks/results/phase.json]
"""
import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

ALPHAS = [round(0.1 * i, 1) for i in range(10)]


def specs(runs: int, preset_name: str = "paper", alphas: list[float] = ALPHAS) -> list:
    from qml_core.experiments.sweep import sweep_specs
    from qml_core.specs import preset

    bases = [preset(preset_name, "mnist", model).replace(attack="label-flip") for model in ("qnn", "mlp")]
    return sorted(sweep_specs(bases, alphas, runs), key=lambda job: job[0])  # every α of run 0 first, as the page


def time_sweep(runs: int) -> dict:
    from qml_core.experiments.sweep import run_sweep

    start, run0_done = time.perf_counter(), []

    def on_row(row):
        if row["run"] == 0:
            run0_done.append(time.perf_counter() - start)
    rows = run_sweep(specs(runs), n_jobs=2, on_row=on_row)
    return {"runs": len(rows), "total_s": time.perf_counter() - start, "first_curve_s": max(run0_done),
            "computed": sum(not r["cached"] for r in rows)}


def time_app(runs: int) -> dict:
    from qml_core.runtime.jobs import manager

    jobs = specs(runs)
    start, done_at = time.perf_counter(), {}
    submitted = [manager().submit("train", spec, f"{spec.model.name} α={spec.alpha} run {run}") for run, spec in jobs]
    while len(done_at) < len(submitted):
        manager().watch(submitted)  # as the open page does on every refresh; unwatched jobs are dropped
        for i, job in enumerate(submitted):
            if i not in done_at and job.state not in ("queued", "running"):
                if job.state != "done":
                    raise RuntimeError(f"{job.label}: {job.state} {job.error}")
                done_at[i] = time.perf_counter() - start
        time.sleep(0.05)
    first_curve = max(done_at[i] for i, (run, _) in enumerate(jobs) if run == 0)
    return {"runs": len(submitted), "total_s": time.perf_counter() - start, "first_curve_s": first_curve,
            "computed": sum(not j.was_cached for j in submitted)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=("sweep", "app"))
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("benchmarks/results/phase.json"))
    args = parser.parse_args()
    report = {"load_before": os.getloadavg(), "cpu_count": os.cpu_count()}
    for name, timer in (("sweep", time_sweep), ("app", time_app)):
        if args.only not in (None, name):
            continue
        os.environ["QML_LAB_CACHE"] = tempfile.mkdtemp(prefix=f"phase-{name}-")
        report[name] = timer(args.runs)
        print(f"{name}: {report[name]['runs']} runs ({report[name]['computed']} computed) in "
              f"{report[name]['total_s']:.0f} s; first complete curve at {report[name]['first_curve_s']:.0f} s", flush=True)
    report["load_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
