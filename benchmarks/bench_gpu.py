"""The QNN's GPU path (issue 34): proved equal to the CPU's, then timed, in one process.

Run on a machine whose torch sees a GPU; ``--quick`` runs every section at small sizes on the
CPU as well (a check of the script, not a measurement). In this order, each section written to
``--out`` as it finishes (so a time-out keeps what was measured):

1. ``executor``: the fused executor on the device, in each layout (factored, dense) eager and as
   CUDA graphs, and as "auto" chooses (a CUDA device: dense + graphs), against the factored
   layout on the CPU and PennyLane ``default.qubit`` (complex128): <Z> and gradients of both
   ansätze at a few sizes, each called on two input batches in turn (a graph replays into
   static buffers: the second call must not disturb the first's result); complex64 too.
2. ``equality``: a short stacked training (quick MNIST QNN and MLP, 3 runs at α 0 / 0.3 / 0.5;
   then a QNN with shots and one with depolarising trajectories) on the CPU and on the device:
   the largest difference of any run's per-epoch losses and of its final parameters.
3. ``w1``: the W1 step (one QNN Adam step, 256 × 1024 amplitudes, depth 6) in each layout,
   eager and graphed, complex128 and complex64, and of the plain JAX state vector
   (``jax_sv_baseline.py``) on the same device with its inputs already there; ratio = step /
   JAX step, for the path "auto" takes.
4. ``paper_runs``: after a warm-up run (quick preset), one uncached paper MNIST run of each
   model (label flip α = 0.3, seed 0) on the device, as ``python -m qml_core train`` trains it.
5. ``phase``: the paper MNIST label-flip phase diagram (10 α × 5 runs × QNN and MLP) from an
   empty cache through ``run_sweep``: wall time and the mean validation accuracy per model and α.
6. ``prepare_lesson``: ``python -m qml_core prepare-lesson --preset paper`` from an empty
   result cache, in a child process (its wall time, its last line).

    python benchmarks/bench_gpu.py --out benchmarks/results/gpu.json          # on a GPU
    python benchmarks/bench_gpu.py --quick --out /tmp/gpu_quick.json          # anywhere, seconds to minutes
"""
import argparse
import dataclasses
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

os.environ.setdefault("QML_LAB_CACHE", tempfile.mkdtemp(prefix="qml-gpu-cache-"))

from bench_phase import ALPHAS  # noqa: E402
from bench_phase import specs as phase_specs  # noqa: E402
from bench_w1 import DEPTH, N_QUBITS, inputs, time_calls, torch_step  # noqa: E402

from qml_core.experiments.experiment import train_experiment, train_experiments  # noqa: E402
from qml_core.experiments.sweep import run_sweep  # noqa: E402
from qml_core.sim.circuits import weight_shape  # noqa: E402
from qml_core.sim.executor import FusedExecutor, make_executor  # noqa: E402
from qml_core.specs import preset  # noqa: E402
from qml_core.store import cache  # noqa: E402

PATHS = {"factored": ("factored", False), "factored_graphs": ("factored", True),
         "dense": ("dense", False), "dense_graphs": ("dense", True), "auto": ("auto", "auto")}


def paths(device: torch.device) -> dict:
    """The executor options to measure: graphs only where there is a CUDA device."""
    return {name: options for name, options in PATHS.items() if device.type == "cuda" or options[1] is not True}


def fresh_cache() -> str:
    """Point the result cache at a new empty directory (for this process and its children)."""
    os.environ["QML_LAB_CACHE"] = tempfile.mkdtemp(prefix="qml-gpu-cache-")
    cache._open.cache_clear()
    return os.environ["QML_LAB_CACHE"]


def value_and_grad(executor, w0: torch.Tensor, x: torch.Tensor):
    w = w0.clone().requires_grad_()
    z = executor(w, x)
    (grad,) = torch.autograd.grad((torch.linspace(-1, 2, z.numel(), dtype=z.dtype, device=z.device) * z).sum(), w)
    return z.detach().cpu(), grad.cpu()


def executor_equality(device: torch.device, quick: bool) -> dict:
    """Largest |difference| of <Z> and of the gradient, per executor path and dtype, to the CPU
    factored layout (complex128), and of that to default.qubit (small sizes only)."""
    sizes = [("paper", 4, 3), ("cnot-ring", 5, 2), ("paper", 6, 2)] + ([] if quick else [("paper", 10, 6), ("cnot-ring", 10, 5)])
    out = {}
    for ansatz, n, depth in sizes:
        g = torch.Generator().manual_seed(n)
        w = torch.randn(weight_shape(ansatz, depth, n), generator=g, dtype=torch.float64)
        xs = [torch.nn.functional.normalize(torch.randn(7, 2 ** n, generator=g, dtype=torch.float64), dim=1) for _ in range(2)]
        ref = [value_and_grad(FusedExecutor(ansatz, depth, n), w, x) for x in xs]
        row = {}
        if n <= 6:
            pl = value_and_grad(make_executor("default.qubit", ansatz, depth, n), w, xs[0])
            row["cpu_vs_default_qubit"] = max(float((a - b).abs().max()) for a, b in zip(ref[0], pl))
        for name, (layout, graphs) in paths(device).items():
            for dtype in (torch.float64, torch.float32):
                ex = FusedExecutor(ansatz, depth, n, device=device, dtype=dtype, layout=layout, graphs=graphs)
                wd = w.to(device)
                got = [value_and_grad(ex, wd, x.to(device)) for x in xs + xs]  # the second pair replays
                row[f"{name}_{dtype}".replace("torch.", "")] = max(float((a - b).abs().max())
                                                                   for pair, r in zip(got, ref + ref) for a, b in zip(pair, r))
        out[f"{ansatz}_{n}q_depth{depth}"] = row
    worst = {kind: max(v for row in out.values() for k, v in row.items() if k.endswith(kind)) for kind in ("float64", "float32")}
    return {"max_abs_diff": out, "worst_complex128": worst["float64"], "worst_complex64": worst["float32"],
            "complex128_within_1e-10": worst["float64"] <= 1e-10, "complex64_within_1e-5": worst["float32"] <= 1e-5}


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


def equality(device: torch.device, quick: bool) -> dict:
    """Complex128 QNN and float64 MLP trained on the CPU and on the device; the complex64 QNN,
    shots and trajectories are reported too (rounding in single precision, and a shot drawn
    at a probability that rounding moved, compound over a run)."""
    out = {}
    variants = (("qnn_complex128", "qnn", {"precision": "double"}), ("qnn_complex64", "qnn", {"precision": "single"}),
                ("mlp", "mlp", {}), ("qnn_shots_fast", "qnn", {"shots": 1000}),
                ("qnn_depolarizing", "qnn", {"depolarizing": 0.01, "trajectories": 4}))
    for name, model, fields in variants:
        base = preset("quick", "mnist", model)
        base = base.replace(model=dataclasses.replace(base.model, **fields))
        if quick or name in ("qnn_shots_fast", "qnn_depolarizing"):  # a device run's steps cost more: 3 epochs
            base = base.replace(training=dataclasses.replace(base.training, epochs=3))
        specs = [base.replace(alpha=a, seed=s, attack="label-flip") for a, s in ((0.0, 1), (0.3, 2), (0.5, 3))]
        cpu, dev = train_experiments(specs, device="cpu"), train_experiments(specs, device=device)
        diffs = [largest_differences(c, g) for c, g in zip(cpu, dev)]
        out[name] = {"runs": len(specs), "epochs": specs[0].training.epochs, **{k: max(d[k] for d in diffs) for k in diffs[0]}}
    return out


def kernels_per_step(device: torch.device) -> dict:
    """CUDA kernels launched by one eager complex128 W1 step, per layout (a graphed step
    launches its graphs instead)."""
    from torch.profiler import ProfilerActivity, profile

    x, y, theta = inputs()
    out = {}
    for layout in ("factored", "dense"):
        ex = FusedExecutor("paper", DEPTH, N_QUBITS, device=device, layout=layout, graphs=False)
        step = torch_step("fused", x, y, theta, device, executor=ex)
        step()
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            step()
        out[layout] = sum(e.count for e in prof.key_averages() if e.device_type == torch.autograd.DeviceType.CUDA)
    return {"cuda_kernels": out}


def jax_step_seconds(x, y, theta, repeats: int) -> dict:
    """The plain JAX state-vector W1 step, timed on JAX's default device (inputs already there)."""
    import jax
    import jax_sv_baseline

    init_state, step_fn = jax_sv_baseline.make_step(N_QUBITS, DEPTH, 0.005)
    xd, yd = jax.device_put(np.asarray(x)), jax.device_put(np.asarray(y))
    state = {"theta": jax.device_put(np.asarray(theta))}
    state["opt"] = init_state(state["theta"])

    def step():
        loss, state["theta"], state["opt"] = step_fn(state["theta"], state["opt"], xd, yd)
        jax.block_until_ready((loss, state["theta"], state["opt"]))
    return {**time_calls(step, repeats), "jax_device": str(jax.devices()[0])}


def w1(device: torch.device, repeats: int) -> dict:
    x, y, theta = inputs()
    out = {}
    for name, (layout, graphs) in paths(device).items():
        for dtype, suffix in ((torch.float64, "complex128"), (torch.float32, "complex64")):
            ex = FusedExecutor("paper", DEPTH, N_QUBITS, device=device, dtype=dtype, layout=layout, graphs=graphs)
            out[f"{name}_{suffix}"] = time_calls(torch_step("fused", x, y, theta, device, dtype, executor=ex), repeats)
    auto = FusedExecutor("paper", DEPTH, N_QUBITS, device=device)
    out["auto_takes"] = {"dense": auto.dense(1), "graphs": auto.graphed is not None}
    try:
        out["jax_sv"] = jax_step_seconds(x, y, theta, repeats)
        for suffix in ("complex128", "complex64"):
            out[f"ratio_auto_{suffix}"] = out[f"auto_{suffix}"]["median_s"] / out["jax_sv"]["median_s"]
    except Exception as error:  # the JAX baseline is optional
        out["jax_sv_error"] = f"{type(error).__name__}: {error}"
    return out


def paper_runs(device: torch.device, quick: bool) -> dict:
    name = "quick" if quick else "paper"
    warm = {}
    for model in ("qnn", "mlp"):  # CUDA context, cuBLAS handles, the MNIST arrays: loaded once per process
        start = time.perf_counter()
        train_experiment(preset("quick", "mnist", model).replace(alpha=0.1, seed=1), device=device)
        warm[model] = time.perf_counter() - start
    out = {"preset": name, "warm_up_s": warm}
    for model in ("qnn", "mlp"):
        start = time.perf_counter()
        result = train_experiment(preset(name, "mnist", model).replace(alpha=0.3, seed=0), device=device)
        out[model] = {"wall_s": time.perf_counter() - start, "seconds": result["seconds"],
                      "train_acc": result["train_acc"], "val_acc": result["val_acc"]}
    return out


def phase(quick: bool) -> dict:
    runs, name, alphas = (1, "quick", [0.0, 0.5]) if quick else (5, "paper", ALPHAS)
    fresh_cache()
    start = time.perf_counter()
    rows = run_sweep(phase_specs(runs, name, alphas), n_jobs=1)
    total = time.perf_counter() - start
    means = {model: {str(a): float(np.mean([r["val_acc"] for r in rows if r["model"] == model and r["alpha"] == a]))
                     for a in alphas} for model in ("qnn", "mlp")}
    return {"preset": name, "alphas": len(alphas), "runs_per_alpha": runs, "runs": len(rows),
            "computed": sum(not r["cached"] for r in rows), "total_s": total, "val_acc_mean": means}


def prepare_lesson(quick: bool, timeout: float) -> dict:
    name = "quick" if quick else "paper"
    env = dict(os.environ, QML_LAB_CACHE=fresh_cache())
    start = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-m", "qml_core", "prepare-lesson", "--preset", name, "--quiet"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        rc, last = done.returncode, (done.stdout.strip().splitlines() or [done.stderr.strip()])[-1]
    except subprocess.TimeoutExpired:
        rc, last = None, f"stopped after {timeout:.0f} s"
    return {"preset": name, "wall_s": time.perf_counter() - start, "rc": rc, "last_line": last}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "benchmarks" / "results" / "gpu.json")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="small sizes, on the CPU where there is no GPU")
    parser.add_argument("--lesson-timeout", type=float, default=420.0, help="seconds given to prepare-lesson")
    parser.add_argument("--only", nargs="+", help="measure only these sections")
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.type != "cuda" and not args.quick:
        print("error: torch sees no CUDA device here; run this on a GPU machine (or pass --quick)", file=sys.stderr)
        return 2
    repeats = min(args.repeats, 3) if args.quick else args.repeats
    report = {"device": torch.cuda.get_device_name(0) if device.type == "cuda" else platform.processor() or "cpu",
              "quick": args.quick, "torch": torch.__version__, "python": platform.python_version(),
              "cpu_threads": torch.get_num_threads(), "loadavg_start": os.getloadavg()}
    sections = (("executor", lambda: executor_equality(device, args.quick)), ("equality", lambda: equality(device, args.quick)),
                ("kernels", lambda: kernels_per_step(device)), ("w1", lambda: w1(device, repeats)),
                ("paper_runs", lambda: paper_runs(device, args.quick)), ("phase", lambda: phase(args.quick)),
                ("prepare_lesson", lambda: prepare_lesson(args.quick, args.lesson_timeout)))
    for name, measure in sections:
        if (args.only and name not in args.only) or (name == "kernels" and device.type != "cuda"):
            continue
        start = time.perf_counter()
        report[name] = measure()
        report[name]["section_s"] = time.perf_counter() - start
        report["loadavg_end"] = os.getloadavg()
        print(name, json.dumps(report[name], indent=1), flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1))  # partial results survive a time-out
    return 0


if __name__ == "__main__":
    sys.exit(main())
