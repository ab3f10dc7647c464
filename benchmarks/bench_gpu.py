"""The batched training paths on a CUDA GPU: proved equal to the CPU's, then timed.

Run on a machine whose torch sees a GPU (issue 12, item 5). In one process, in this order:

1. ``equality``: a short stacked training (quick MNIST QNN and MLP, 3 runs at α 0 / 0.3 / 0.5,
   label flipping) on the CPU and on the GPU; the largest difference of any run's per-epoch
   losses and accuracies and of its final parameters (must be float rounding, ≤ 1e-6).
2. ``w1``: the W1 step (one QNN Adam step, 256 x 1024 amplitudes, depth 6, complex128) of the
   fused executor on the GPU, and of the plain JAX state-vector baseline
   (``jax_sv_baseline.py``) on the same GPU with its inputs already there; also the fused step
   in complex64. Ratio = fused / JAX.
3. ``paper_runs``: one uncached paper-preset MNIST run of each model (label flip α = 0.3,
   seed 0) on the GPU, as ``python -m qml_core train`` would train it.
4. ``phase``: the paper MNIST label-flip phase diagram (10 α × 5 runs × QNN and MLP) from an
   empty cache through ``run_sweep`` (on a GPU every fused architecture is one stacked batch,
   ``sweep.batched_jobs``): wall time and the mean validation accuracy per model and α.

    python benchmarks/bench_gpu.py [--out benchmarks/results/gpu.json] [--repeats 20]
"""
import argparse
import dataclasses
import json
import os
import pathlib
import platform
import sys
import tempfile
import time

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

os.environ.setdefault("QML_LAB_CACHE", tempfile.mkdtemp(prefix="qml-gpu-cache-"))

from bench_phase import ALPHAS
from bench_phase import specs as phase_specs  # noqa: E402
from bench_w1 import DEPTH, N_QUBITS, inputs, time_calls, torch_step  # noqa: E402

from qml_core.experiments.experiment import train_experiment, train_experiments  # noqa: E402
from qml_core.experiments.sweep import run_sweep  # noqa: E402
from qml_core.specs import preset  # noqa: E402


def largest_differences(cpu: dict, gpu: dict) -> dict:
    """Max |cpu - gpu| of a result's per-epoch losses (first epoch, all epochs), its final
    parameters, and how many epochs' accuracies differ at all."""
    losses = [np.abs(np.subtract(cpu["history"][k], gpu["history"][k])) for k in ("train_loss", "val_loss")]
    return {"loss_epoch_1": float(max(d[0] for d in losses)), "loss_all_epochs": float(max(d.max() for d in losses)),
            "params": float(max(np.max(np.abs(cpu["params"][k] - gpu["params"][k])) for k in cpu["params"])),
            # an accuracy is a count / n: summed in another order it can differ in its last bit
            "epochs_with_other_accuracy": int(sum(np.any([abs(cpu["history"][k][e] - gpu["history"][k][e]) > 1e-9
                                                          for k in ("train_acc", "val_acc")])
                                                  for e in range(len(cpu["history"]["epoch"]))))}


def equality() -> dict:
    """Complex128 QNN and float64 MLP must agree to float rounding; the complex64 QNN is
    reported too (rounding in single precision compounds over a training run)."""
    out = {}
    for name, model, precision in (("qnn_complex128", "qnn", "double"), ("qnn_complex64", "qnn", "single"),
                                   ("mlp", "mlp", None)):
        base = preset("quick", "mnist", model)
        if precision:
            base = base.replace(model=dataclasses.replace(base.model, precision=precision))
        specs = [base.replace(alpha=a, seed=s, attack="label-flip") for a, s in ((0.0, 1), (0.3, 2), (0.5, 3))]
        cpu, gpu = train_experiments(specs, device="cpu"), train_experiments(specs, device="cuda")
        diffs = [largest_differences(c, g) for c, g in zip(cpu, gpu)]
        out[name] = {"runs": len(specs), "epochs": specs[0].training.epochs,
                     **{k: max(d[k] for d in diffs) for k in diffs[0]}}
    return out


def kernels_per_step() -> dict:
    """CUDA kernels launched, and CPU time spent, by one fused complex128 W1 step."""
    from torch.profiler import ProfilerActivity, profile

    x, y, theta = inputs()
    step = torch_step("fused", x, y, theta, "cuda")
    step()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        step()
    events = prof.key_averages()
    kernels = sum(e.count for e in events if e.device_type == torch.autograd.DeviceType.CUDA)
    top = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:12]
    return {"cuda_kernels": kernels, "top_cpu_ops": [(e.key, e.count, round(e.self_cpu_time_total)) for e in top]}


def w1(repeats: int) -> dict:
    x, y, theta = inputs()
    out = {"fused_complex128": time_calls(torch_step("fused", x, y, theta, "cuda"), repeats),
           "fused_complex64": time_calls(torch_step("fused", x, y, theta, "cuda", torch.float32), repeats)}
    try:
        import jax
        import jax_sv_baseline

        init_state, step_fn = jax_sv_baseline.make_step(N_QUBITS, DEPTH, 0.005)
        xd, yd = jax.device_put(np.asarray(x)), jax.device_put(np.asarray(y))
        state = {"theta": jax.device_put(np.asarray(theta))}
        state["opt"] = init_state(state["theta"])

        def step():
            loss, state["theta"], state["opt"] = step_fn(state["theta"], state["opt"], xd, yd)
            jax.block_until_ready((loss, state["theta"], state["opt"]))
        out["jax_sv"] = time_calls(step, repeats)
        out["jax_sv"]["jax_device"] = str(jax.devices()[0])
        out["ratio_complex128"] = out["fused_complex128"]["median_s"] / out["jax_sv"]["median_s"]
        out["ratio_complex64"] = out["fused_complex64"]["median_s"] / out["jax_sv"]["median_s"]
    except Exception as error:  # the JAX baseline is optional on the GPU machine
        out["jax_sv_error"] = f"{type(error).__name__}: {error}"
    return out


def paper_runs() -> dict:
    out = {}
    for model in ("qnn", "mlp"):
        start = time.perf_counter()
        result = train_experiment(preset("paper", "mnist", model).replace(alpha=0.3, seed=0), device="cuda")
        out[model] = {"wall_s": time.perf_counter() - start, "seconds": result["seconds"],
                      "train_acc": result["train_acc"], "val_acc": result["val_acc"]}
    return out


def phase(runs: int = 5) -> dict:
    start = time.perf_counter()
    rows = run_sweep(phase_specs(runs), n_jobs=1)
    total = time.perf_counter() - start
    means = {model: {str(a): float(np.mean([r["val_acc"] for r in rows if r["model"] == model and r["alpha"] == a]))
                     for a in ALPHAS} for model in ("qnn", "mlp")}
    return {"runs": len(rows), "computed": sum(not r["cached"] for r in rows), "total_s": total, "val_acc_mean": means}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "benchmarks" / "results" / "gpu.json")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--only", nargs="+", help="measure only these sections")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("error: torch sees no CUDA device here; run this on a GPU machine", file=sys.stderr)
        return 2
    report = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "python": platform.python_version(),
              "cpu_threads": torch.get_num_threads()}
    for name, measure in (("equality", equality), ("kernels", kernels_per_step), ("w1", lambda: w1(args.repeats)),
                          ("paper_runs", paper_runs), ("phase", phase)):
        if args.only and name not in args.only:
            continue
        start = time.perf_counter()
        report[name] = measure()
        report[name]["section_s"] = time.perf_counter() - start
        print(name, json.dumps(report[name], indent=1), flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1))  # partial results survive a time-out
    return 0


if __name__ == "__main__":
    sys.exit(main())
