"""How much of two cores the paper MNIST QNN's validation pass can use, split four ways.

The pass is the fused executor's forward over the 1000 MNIST validation images (complex64,
the paper circuit: depth 6, 10 qubits), the one every epoch of a paper run makes. Timed,
interleaved within each repeat so that machine drift hits every way alike:

- ``1 thread``: the whole pass on one torch thread (the baseline);
- ``2 threads``: the whole pass on torch's two intra-op threads;
- ``2 streams``: two Python threads at one torch thread each, one half of the images each
  (data-parallel lanes; torch releases the GIL inside its kernels);
- ``pieces of N``: one thread, the images N at a time, so that a piece's state (N × 8 KB)
  stays in a core's L2 through the layers.

Reports per way the median milliseconds per pass and the rate in GFLOP/s (the pass's complex
products counted by ``torch.utils.flop_counter``, ×4 for complex), and the speed-up of
each way over ``1 thread``. For reference, the same for one large complex64 product
(1024 × 1024 by 1024 × 1024, compute-bound) on one and on two threads: what the cores give
where memory is not the limit.

    python benchmarks/bench_core_scaling.py [--repeats 5] [--out benchmarks/results/core_scaling.json]
"""
import argparse
import json
import pathlib
import statistics
import sys
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

PIECES = (250, 125, 64, 32)


def setup():
    """The executor, trained-size weights and the validation images (1000, 1024) float32."""
    import torch

    from qml_core.data.datasets import load_dataset
    from qml_core.sim.executor import FusedExecutor
    from qml_core.specs import preset

    spec = preset("paper", "mnist", "qnn")
    executor = FusedExecutor("paper", spec.model.depth, 10, dtype=torch.float32)
    weights = 0.01 * torch.randn(executor.shape, generator=torch.Generator().manual_seed(0))
    images = torch.as_tensor(load_dataset(spec.data).x_val, dtype=torch.float32)
    return executor, weights, images


def pass_flops(executor, weights, images) -> float:
    """Real floating-point operations of one pass (complex products ×4)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        executor(weights, images)
    return 4.0 * counter.get_total_flops()


def ways(executor, weights, images) -> dict:
    """Name -> a function that runs one whole pass that way."""
    import torch

    def whole(threads):
        def run():
            torch.set_num_threads(threads)
            executor(weights, images)
        return run

    def streams():
        torch.set_num_threads(1)
        halves = images.chunk(2)
        lanes = [threading.Thread(target=executor, args=(weights, half)) for half in halves]
        for lane in lanes:
            lane.start()
        for lane in lanes:
            lane.join()

    def pieces(size):
        def run():
            torch.set_num_threads(1)
            for piece in images.split(size):
                executor(weights, piece)
        return run

    return {"1 thread": whole(1), "2 threads": whole(2), "2 streams": streams,
            **{f"pieces of {size}": pieces(size) for size in PIECES}}


def reference_rates(repeats: int) -> dict:
    """GFLOP/s of a large complex64 product on 1 and 2 threads (median of ``repeats``)."""
    import torch

    a, b = (torch.randn(1024, 1024, dtype=torch.complex64) for _ in range(2))
    rates = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        a @ b
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            samples.append(8 * 1024 ** 3 / (time.perf_counter() - start) / 1e9)
        rates[threads] = round(statistics.median(samples), 1)
    return rates


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--passes", type=int, default=10, help="passes per timing")
    parser.add_argument("--out", type=pathlib.Path)
    args = parser.parse_args()
    executor, weights, images = setup()
    flops = pass_flops(executor, weights, images)
    runs = ways(executor, weights, images)
    times = {name: [] for name in runs}
    with torch.no_grad():
        for name, run in runs.items():  # warm-up: first calls allocate
            run()
        for _ in range(args.repeats):
            for name, run in runs.items():
                start = time.perf_counter()
                for _ in range(args.passes):
                    run()
                times[name].append(1e3 * (time.perf_counter() - start) / args.passes)
    base = statistics.median(times["1 thread"])
    table = []
    print(f"one pass: {flops / 1e9:.2f} GFLOP; median of {args.repeats} timings of {args.passes} passes")
    for name, values in times.items():
        ms = statistics.median(values)
        table.append(dict(way=name, ms=round(ms, 2), gflops=round(flops / ms / 1e6, 1), speedup=round(base / ms, 2),
                          all_ms=[round(v, 2) for v in values]))
        print(f"{name:<14} {ms:7.2f} ms  {flops / ms / 1e6:6.1f} GFLOP/s  ×{base / ms:.2f}  ({', '.join(f'{v:.1f}' for v in values)})")
    reference = reference_rates(args.repeats)
    print(f"large complex64 product: {reference[1]} GFLOP/s on 1 thread, {reference[2]} on 2 "
          f"(×{reference[2] / reference[1]:.2f})")
    if args.out:
        args.out.write_text(json.dumps(dict(pass_gflop=flops / 1e9, repeats=args.repeats, passes=args.passes,
                                            ways=table, large_product_gflops=reference), indent=1))


if __name__ == "__main__":
    main()
