"""The device's cost, each as a ratio to the exact run in the same process (paper MNIST and XXZ
QNN, α = 0.3, seed 0, one torch thread, uncached):

- evaluation with shots: a validation pass with 1 000 shots against the exact pass (goal ≤ 1.2×);
- training with the fast shot estimator: a whole paper run with 1 000 shots (goal ≤ 2×);
- K = 16 depolarising trajectories: training with p = 0.01 (goal ≤ 20×), over the first
  ``--traj-epochs`` epochs beside the exact run's same epochs (an epoch costs the same all
  through a run), its whole-run seconds extrapolated from the ratio.

Timings alternate exact and device runs and keep the medians; the machine's load average is
recorded with them (the machine may be shared).

    python benchmarks/bench_device.py --out benchmarks/results/device_speed.json
    python benchmarks/bench_device.py --repeats 1 --traj-epochs 0 --out benchmarks/results/device_speed_whole.json
"""
import argparse
import dataclasses
import json
import os
import pathlib
import statistics
import time

import torch

from qml_core.experiments.experiment import prepare, train_experiment
from qml_core.specs import preset
from qml_core.training.models import build_model


def with_device(spec, **fields):
    return spec.replace(model=dataclasses.replace(spec.model, **fields))


def with_epochs(spec, epochs: int):
    return spec.replace(training=dataclasses.replace(spec.training, epochs=epochs))


def run_seconds(spec) -> float:
    start = time.perf_counter()
    train_experiment(spec, device="cpu")
    return time.perf_counter() - start


def eval_seconds(spec, x_val: torch.Tensor, reps: int) -> float:
    """Median seconds of one validation pass of a fresh model of ``spec``."""
    model = build_model(spec.model, x_val.shape[1], spec.seed, "cpu")
    times = []
    with torch.no_grad():
        for _ in range(reps):
            start = time.perf_counter()
            model(x_val)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def alternate(exact, device, repeats: int) -> tuple[float, float]:
    """Medians of ``exact()`` and ``device()`` called in turn."""
    pairs = [(exact(), device()) for _ in range(repeats)]
    return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)


def measure(dataset: str, repeats: int, traj_epochs: int) -> dict:
    spec = preset("paper", dataset, "qnn").replace(alpha=0.3)
    x_val = prepare(spec, "cpu").x_val
    shots = with_device(spec, shots=1000)
    out = {"load_before": os.getloadavg()}
    e_exact, e_shots = alternate(lambda: eval_seconds(spec, x_val, 5), lambda: eval_seconds(shots, x_val, 5), repeats)
    out["evaluation"] = {"exact_s": e_exact, "shots_1000_s": e_shots, "ratio": e_shots / e_exact, "goal": 1.2}
    t_exact, t_fast = alternate(lambda: run_seconds(spec), lambda: run_seconds(shots), repeats)
    out["training_fast_shots"] = {"exact_run_s": t_exact, "shots_1000_run_s": t_fast, "ratio": t_fast / t_exact, "goal": 2.0}
    short = with_epochs(spec, traj_epochs) if traj_epochs else spec  # 0: the whole run
    noisy = with_device(short, depolarizing=0.01, trajectories=16)
    k_exact, k_noisy = alternate(lambda: run_seconds(short), lambda: run_seconds(noisy), repeats)
    ratio = k_noisy / k_exact
    out["trajectories_16"] = {"epochs": traj_epochs or spec.training.epochs, "exact_s": k_exact, "k16_s": k_noisy, "ratio": ratio,
                              "whole_run_s_extrapolated": ratio * t_exact, "goal": 20.0}
    out["load_after"] = os.getloadavg()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="mnist,xxz")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--traj-epochs", type=int, default=5, help="0: whole runs")
    parser.add_argument("--out", type=pathlib.Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = {"cpu_count": os.cpu_count(), "torch_threads": 1}
    for dataset in args.datasets.split(","):
        prepare(preset("paper", dataset, "qnn"), "cpu")  # data built and read once, outside the timings
        results[dataset] = measure(dataset, args.repeats, args.traj_epochs)
        print(dataset, json.dumps(results[dataset], indent=1), flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
