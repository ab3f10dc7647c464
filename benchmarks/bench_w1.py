"""W1: one QNN Adam step at the MNIST paper setting (256 x 1024 amplitudes, depth 6, float64).

Times, in one process per thread count and on the same inputs: the project's fused executor,
PennyLane ``default.qubit`` (torch backprop) and two independent JAX baselines, both jit + vmap +
value_and_grad + optax Adam in complex128: TensorCircuit-NG (``tc_jax_baseline.py``, cotengra
contractor) and a plain state-vector simulation (``jax_sv_baseline.py``, fused rotations as two
Kronecker halves, IsingZZ ring as a diagonal phase). Each executor is reported as a ratio to the
faster of the two baselines (``ratio``) and to each of them (``ratio_to_tc_jax``,
``ratio_to_jax_sv``). Before timing, the JAX state-vector baseline's loss and gradient are
checked equal to the fused executor's (1e-10). Also, per thread count: the first-step latency
of the project's executor in a fresh process (imports, circuit compilation and the first step)
and the wall time of one full paper-preset MNIST QNN run (100 epochs, label flipping α = 0.3,
seed 0, uncached).

Threads: ``--threads 1 2`` runs the whole measurement once per count, each in a fresh worker
process (XLA sizes its CPU thread pool once, when the jax backend starts). Torch gets
``torch.set_num_threads(n)``; XLA gets ``PJRT_NPROC=n`` in the worker's environment, the
variable that sizes the XLA CPU client's intra-op ("XLAEigen") thread pool (xla/pjrt/utils.cc,
``DefaultThreadPoolSize``), plus ``--xla_cpu_multi_thread_eigen=false`` in ``XLA_FLAGS`` when
n = 1. That flag alone is not enough: it makes Eigen's matmuls single-threaded, but XLA still
splits elementwise fusions over the pool (measured: CPU time / wall time 1.9 on 2 cores with the
flag alone, 1.0 with ``PJRT_NPROC=1``); the often-quoted ``intra_op_parallelism_threads=1`` in
``XLA_FLAGS`` is not a flag and is ignored. Each entry records the XLAEigen threads the worker
actually had and every timing's CPU time / wall time.

    pip install -r benchmarks/requirements.txt
    python benchmarks/bench_w1.py [--repeats 20] [--threads 1 2] [--out benchmarks/results/w1.json]
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

from qml_core.sim.executor import make_executor  # noqa: E402

N_QUBITS, DEPTH, BATCH, LR = 10, 6, 256, 0.005

FIRST_STEP = """
import time; t0 = time.perf_counter()
import torch
torch.set_num_threads({threads})
from qml_core.training.models import build_model
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
    """First call, then the median and spread of ``repeats`` further calls (seconds), and the
    process CPU time per wall second over those calls (at most the thread count, if limited)."""
    start = time.perf_counter()
    step()
    first = time.perf_counter() - start
    times = []
    cpu_start = time.process_time()
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    cpu = time.process_time() - cpu_start
    return {"first_s": first, "median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "repeats": repeats, "cpu_s_per_wall_s": cpu / sum(times)}


def torch_step(executor_name: str, x, y, theta, device: str = "cpu", dtype=torch.float64, executor=None):
    """An Adam step of the QNN on a torch executor (fused or a PennyLane device, or the given
    ``executor``), its inputs on ``device`` (a CUDA step waits for the GPU before it returns)."""
    executor = executor or make_executor(executor_name, "paper", DEPTH, N_QUBITS, device=device, dtype=dtype)
    w = torch.tensor(theta, requires_grad=True, device=device)
    xt, yt = torch.tensor(x, device=device), torch.tensor(y, device=device)
    opt = torch.optim.Adam([w], lr=LR)

    def step():
        opt.zero_grad()
        p = torch.sigmoid(5.0 * executor(w, xt))
        torch.nn.functional.binary_cross_entropy(p, yt).backward()
        opt.step()
        if w.is_cuda:
            torch.cuda.synchronize()
    return step


def jax_step(module_name: str, x, y, theta):
    """An Adam step of a JAX baseline module (``tc_jax_baseline`` or ``jax_sv_baseline``, both
    ``make_step(n_qubits, depth, lr) -> (init_state, step)``), outputs blocked on."""
    import importlib

    import jax

    init_state, step_fn = importlib.import_module(module_name).make_step(N_QUBITS, DEPTH, LR)
    state = {"theta": theta, "opt": init_state(theta)}

    def step():
        loss, state["theta"], state["opt"] = step_fn(state["theta"], state["opt"], x, y)
        jax.block_until_ready((loss, state["theta"], state["opt"]))
    return step


BASELINES = {"tc_jax": "tc_jax_baseline", "jax_sv": "jax_sv_baseline"}
EXECUTORS = ("fused", "default.qubit", "tc_jax", "jax_sv")


def thread_env(threads: int) -> dict:
    """The environment of a worker limited to ``threads`` XLA CPU threads (see the docstring)."""
    env = dict(os.environ, PJRT_NPROC=str(threads))
    if threads == 1:
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()
    return env


def xla_pool_threads() -> int:
    """Threads of this process in XLA's CPU intra-op pool (named "tf_XLAEigen" on Linux)."""
    names = []
    for task in pathlib.Path("/proc/self/task").glob("*"):
        try:
            names.append((task / "comm").read_text().strip())
        except OSError:
            pass
    return sum("XLAEigen" in name for name in names)


def first_step_fresh_process(threads: int, repeats: int = 3) -> list[float]:
    """Imports + executor compilation + first Adam step, each time in a new Python process."""
    code = FIRST_STEP.format(threads=threads)
    return [float(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                                 check=True, env=thread_env(threads)).stdout.strip()) for _ in range(repeats)]


def paper_run_seconds() -> dict:
    """One uncached paper-preset MNIST QNN run (label flip α = 0.3, seed 0)."""
    with tempfile.TemporaryDirectory() as cache:
        os.environ["QML_LAB_CACHE"] = cache
        from qml_core.experiments.experiment import train_experiment
        from qml_core.specs import preset

        start = time.perf_counter()
        result = train_experiment(preset("paper", "mnist", "qnn").replace(alpha=0.3, seed=0))
        return {"wall_s": time.perf_counter() - start, "train_acc": result["train_acc"], "val_acc": result["val_acc"]}


def step_flops(batch: int = BATCH) -> float:
    """Real flops of one fused training step (forward + adjoint backward), from its program:
    per state-by-state layer and amplitude, forward U (2**k_a) and M (2**k_c) complex
    multiply-adds; backward the gradients of M (2**k_c) and U (2**k_a) and the adjoint state
    through M^H (2**k_c, not at a first layer without U) and U^H (2**k_a, not at the first
    layer); then the Heisenberg tail on a cone of c qubits, O x and the gradient of O (2**c
    each; the state's gradient 2 g O x reuses O x); 8 real flops each."""
    executor = make_executor("fused", "paper", DEPTH, N_QUBITS)
    program, split = executor.program, executor.split
    macs = 0
    for d, step in enumerate(program[:split]):
        u, m = (2 ** step.k_a if step.k_a else 0), 2 ** step.k_c
        macs += u + m + m + u + (m if d > 0 or step.k_a else 0) + (u if d > 0 else 0)
    if split < len(program):
        macs += 2 * 2 ** (program[split].k_a + program[split].k_c)
    return 8.0 * macs * batch * 2 ** N_QUBITS


def matmul_rate(repeats: int = 50) -> float:
    """Measured complex128 product rate (flop/s) at the first layer's shape, (32 x 32) @ (32 x 256*32)."""
    dim = 2 ** (N_QUBITS // 2)
    a = torch.randn(dim, dim, dtype=torch.complex128)
    b = torch.randn(dim, BATCH * 2 ** (N_QUBITS - N_QUBITS // 2), dtype=torch.complex128)
    for _ in range(5):
        a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 8.0 * dim * dim * b.shape[1] * repeats / (time.perf_counter() - start)


def add_ratios(entry: dict) -> None:
    """``ratio``: to the faster JAX baseline present (default.qubit if none); plus to each."""
    present = [name for name in BASELINES if name in entry]
    base = min(present, key=lambda name: entry[name]["median_s"]) if present else "default.qubit"
    entry["ratios_to"] = base
    for name in EXECUTORS:
        if name in entry:
            entry[name]["ratio"] = entry[name]["median_s"] / entry[base]["median_s"]
            for other in present:
                entry[name][f"ratio_to_{other}"] = entry[name]["median_s"] / entry[other]["median_s"]


def worker(args) -> dict:
    """Everything measured at one thread count (this process was started with thread_env)."""
    threads = args.worker_threads
    torch.set_num_threads(threads)
    x, y, theta = inputs()
    entry = {"threads": {"torch": torch.get_num_threads(), "PJRT_NPROC": os.environ.get("PJRT_NPROC"),
                         "XLA_FLAGS": os.environ.get("XLA_FLAGS", "")}}
    fresh = first_step_fresh_process(threads)
    entry["fused"] = time_calls(torch_step("fused", x, y, theta), args.repeats)
    entry["fused"]["first_step_fresh_process_s"] = statistics.median(fresh)
    entry["fused"]["first_step_fresh_process_all_s"] = fresh
    flops, rate = step_flops(), matmul_rate()
    entry["fused"]["bound"] = {"step_gflop": flops / 1e9, "matmul_gflop_per_s": rate / 1e9, "bound_s": flops / rate,
                               "median_over_bound": entry["fused"]["median_s"] / (flops / rate)}
    entry["default.qubit"] = time_calls(torch_step("default.qubit", x, y, theta), args.pennylane_repeats)
    if not args.skip_tc:
        entry["tc_jax"] = time_calls(jax_step(BASELINES["tc_jax"], x, y, theta), args.repeats)
    if not args.skip_jax_sv:
        import jax_sv_baseline

        # the baseline must compute what the project computes before its time means anything
        check = jax_sv_baseline.check_against("fused", N_QUBITS, DEPTH, batch=64, tol=1e-10)
        entry["jax_sv"] = time_calls(jax_step(BASELINES["jax_sv"], x, y, theta), args.repeats)
        entry["jax_sv"]["check_against_fused"] = check
    entry["threads"]["xla_eigen_pool_threads"] = xla_pool_threads()
    add_ratios(entry)
    if not args.skip_paper_run:
        entry["paper_run"] = paper_run_seconds()
    return entry


def print_entry(threads: int, entry: dict) -> None:
    base = entry["ratios_to"]
    others = [name for name in BASELINES if f"ratio_to_{name}" in entry[base]]
    t = entry["threads"]
    print(f"\n--threads {threads}: torch {t['torch']} threads, XLA pool {t['xla_eigen_pool_threads']} threads "
          f"(PJRT_NPROC={t['PJRT_NPROC']}, XLA_FLAGS={t['XLA_FLAGS']!r})")
    header = f"{'executor':14s} {'median step':>12s} {'first call':>11s} {'cpu/wall':>9s} {'ratio to ' + base:>16s}"
    print(header + "".join(f" {'to ' + name:>10s}" for name in others))
    for name in EXECUTORS:
        if name in entry:
            r = entry[name]
            print(f"{name:14s} {r['median_s'] * 1e3:10.1f}ms {r['first_s']:10.2f}s {r['cpu_s_per_wall_s']:9.2f} "
                  f"{r['ratio']:16.3f}" + "".join(f" {r['ratio_to_' + other]:10.3f}" for other in others))
    if "jax_sv" in entry:
        c = entry["jax_sv"]["check_against_fused"]
        print(f"jax_sv vs fused (L={c['n_qubits']}, D={c['depth']}, B={c['batch']}, random weights): "
              f"|d loss| = {c['abs_diff_loss']:.1e}, max|d grad| = {c['max_abs_diff_grad']:.1e}")
    b = entry["fused"]["bound"]
    print(f"fused bound: {b['step_gflop']:.2f} GFLOP per step / {b['matmul_gflop_per_s']:.1f} GFLOP/s measured "
          f"complex128 product rate = {b['bound_s'] * 1e3:.1f} ms; the median step is {b['median_over_bound']:.2f}x that")
    print(f"fused first step in a fresh process (imports + compile + step): "
          f"{entry['fused']['first_step_fresh_process_s']:.2f}s")
    if "paper_run" in entry:
        p = entry["paper_run"]
        print(f"paper-preset MNIST QNN run: {p['wall_s']:.1f}s (train_acc {p['train_acc']:.3f}, "
              f"val_acc {p['val_acc']:.3f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--pennylane-repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[torch.get_num_threads()],
                        help="torch and XLA CPU thread counts, one full measurement each (default: torch's default)")
    parser.add_argument("--skip-tc", action="store_true", help="leave out the TensorCircuit-NG baseline")
    parser.add_argument("--skip-jax-sv", action="store_true", help="leave out the plain JAX state-vector baseline")
    parser.add_argument("--skip-paper-run", action="store_true", help="leave out the full paper-preset QNN run")
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "benchmarks" / "results" / "w1.json")
    parser.add_argument("--worker-threads", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=pathlib.Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker_threads is not None:
        args.worker_out.write_text(json.dumps(worker(args)))
        return

    report = {"setting": {"n_qubits": N_QUBITS, "depth": DEPTH, "batch": BATCH, "dtype": "float64",
                          "cpu_count": os.cpu_count(), "threads": args.threads},
              "by_threads": {}}
    passed = ["--" + name.replace("_", "-") for name in ("skip_tc", "skip_jax_sv", "skip_paper_run")
              if getattr(args, name)]
    for threads in args.threads:
        with tempfile.TemporaryDirectory() as tmp:
            out = pathlib.Path(tmp) / "entry.json"
            subprocess.run([sys.executable, __file__, "--worker-threads", str(threads), "--worker-out", str(out),
                            "--repeats", str(args.repeats), "--pennylane-repeats", str(args.pennylane_repeats),
                            *passed], cwd=ROOT, env=thread_env(threads), check=True)
            report["by_threads"][str(threads)] = json.loads(out.read_text())
        print_entry(threads, report["by_threads"][str(threads)])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
