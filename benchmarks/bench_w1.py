"""W1: one QNN Adam step at the MNIST paper setting (256 x 1024 amplitudes, depth 6, float64).

Times, in one process and on the same inputs: the project's fused executor, PennyLane
``default.qubit`` (torch backprop) and the TensorCircuit-NG + JAX baseline
(``tc_jax_baseline.py``, jit + vmap + value_and_grad, cotengra contractor), and reports each
as a ratio to the baseline. Also: the first-step latency of each (a fresh process for the
project's executor: imports, circuit compilation and the first step), and the wall time of one
full paper-preset MNIST QNN run (100 epochs, label flipping α = 0.3, seed 0, uncached).

    pip install -r benchmarks/requirements.txt
    python benchmarks/bench_w1.py [--repeats 20] [--out benchmarks/results/w1.json]
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

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from qml_core.executor import make_executor  # noqa: E402

N_QUBITS, DEPTH, BATCH, LR = 10, 6, 256, 0.005

FIRST_STEP = """
import time; t0 = time.perf_counter()
import torch
from qml_core.models import build_model
from qml_core.specs import QNNModel
x = torch.nn.functional.normalize(torch.rand(256, 1024, dtype=torch.float64), dim=1)
y = (torch.arange(256) % 2).double()
model = build_model(QNNModel(depth=6), 1024, seed=0)
opt = torch.optim.Adam(model.parameters(), lr=0.005)
loss = torch.nn.functional.binary_cross_entropy(model(x), y); loss.backward(); opt.step()
print(time.perf_counter() - t0)
"""


def inputs(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.random((BATCH, 2 ** N_QUBITS))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = (rng.random(BATCH) < 0.5).astype(np.float64)
    theta = 0.01 * rng.standard_normal((DEPTH, N_QUBITS, 4))
    return x, y, theta


def time_calls(step, repeats: int) -> dict:
    """First call, then the median and spread of ``repeats`` further calls (seconds)."""
    start = time.perf_counter()
    step()
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return {"first_s": first, "median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "repeats": repeats}


def torch_step(executor_name: str, x, y, theta):
    """An Adam step of the QNN on a torch executor (fused or a PennyLane device)."""
    executor = make_executor(executor_name, "paper", DEPTH, N_QUBITS)
    w = torch.tensor(theta, requires_grad=True)
    xt, yt = torch.tensor(x), torch.tensor(y)
    opt = torch.optim.Adam([w], lr=LR)

    def step():
        opt.zero_grad()
        p = torch.sigmoid(5.0 * executor(w, xt))
        torch.nn.functional.binary_cross_entropy(p, yt).backward()
        opt.step()
    return step


def tc_step(x, y, theta):
    """An Adam step of the TensorCircuit-NG + JAX baseline, outputs blocked on."""
    import tc_jax_baseline

    init_state, step_fn = tc_jax_baseline.make_step(N_QUBITS, DEPTH, LR)
    state = {"theta": theta, "opt": init_state(theta)}

    def step():
        loss, state["theta"], state["opt"] = step_fn(state["theta"], state["opt"], x, y)
        loss.block_until_ready()
    return step


def first_step_fresh_process(repeats: int = 3) -> list[float]:
    """Imports + executor compilation + first Adam step, each time in a new Python process."""
    return [float(subprocess.run([sys.executable, "-c", FIRST_STEP], cwd=ROOT, capture_output=True, text=True,
                                 check=True).stdout.strip()) for _ in range(repeats)]


def paper_run_seconds() -> dict:
    """One uncached paper-preset MNIST QNN run (label flip α = 0.3, seed 0)."""
    with tempfile.TemporaryDirectory() as cache:
        os.environ["QML_LAB_CACHE"] = cache
        from qml_core.experiment import train_experiment
        from qml_core.specs import preset

        start = time.perf_counter()
        result = train_experiment(preset("paper", "mnist", "qnn").replace(alpha=0.3, seed=0))
        return {"wall_s": time.perf_counter() - start, "train_acc": result["train_acc"], "val_acc": result["val_acc"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--pennylane-repeats", type=int, default=3)
    parser.add_argument("--skip-tc", action="store_true", help="leave out the TensorCircuit-NG baseline")
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "benchmarks" / "results" / "w1.json")
    args = parser.parse_args()
    x, y, theta = inputs()
    report = {"setting": {"n_qubits": N_QUBITS, "depth": DEPTH, "batch": BATCH, "dtype": "float64",
                          "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count()}}
    fresh = first_step_fresh_process()
    report["fused"] = time_calls(torch_step("fused", x, y, theta), args.repeats)
    report["fused"]["first_step_fresh_process_s"] = statistics.median(fresh)
    report["fused"]["first_step_fresh_process_all_s"] = fresh
    report["default.qubit"] = time_calls(torch_step("default.qubit", x, y, theta), args.pennylane_repeats)
    if not args.skip_tc:
        report["tc_jax"] = time_calls(tc_step(x, y, theta), args.repeats)
    base = "tc_jax" if "tc_jax" in report else "default.qubit"
    report["ratios_to"] = base
    for name in ("fused", "default.qubit", "tc_jax"):
        if name in report:
            report[name]["ratio"] = report[name]["median_s"] / report[base]["median_s"]
    report["paper_run"] = paper_run_seconds()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(f"{'executor':16s} {'median step':>12s} {'first call':>11s} {'ratio to ' + base:>18s}")
    for name in ("fused", "default.qubit", "tc_jax"):
        if name in report:
            r = report[name]
            print(f"{name:16s} {r['median_s'] * 1e3:10.1f}ms {r['first_s']:10.2f}s {r['ratio']:18.3f}")
    print(f"fused first step in a fresh process (imports + compile + step): {report['fused']['first_step_fresh_process_s']:.2f}s")
    p = report["paper_run"]
    print(f"paper-preset MNIST QNN run: {p['wall_s']:.1f}s (train_acc {p['train_acc']:.3f}, val_acc {p['val_acc']:.3f})")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
