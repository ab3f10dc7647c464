"""Is single precision (complex64 states) harmless to the paper's QNN results?

Trains the paper-preset QNN on MNIST and XXZ, label flipping, α ∈ {0, 0.3, 0.5}, 5 seeds
each (the sweep's seeds), once with complex64 and once with complex128 states, and compares
per (dataset, α) the mean train and validation accuracies: single precision passes where
|mean(single) − mean(double)| ≤ the seed spread (std over the 5 runs) of double, or ≤ 0.01
when that spread is smaller (a one-sample flip on 84 XXZ validation states is 0.012).

    python benchmarks/precision_check.py [--jobs 2] [--out benchmarks/results/precision.csv]

Runs go through the result cache, so a second call only reads.
"""
import argparse
import csv
import dataclasses
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from qml_core.experiments.sweep import run_sweep, sweep_specs  # noqa: E402
from qml_core.specs import preset  # noqa: E402

ALPHAS, RUNS, FLOOR = (0.0, 0.3, 0.5), 5, 0.01


def jobs(precision: str) -> list:
    bases = []
    for dataset in ("mnist", "xxz"):
        spec = preset("paper", dataset, "qnn")
        bases.append(spec.replace(model=dataclasses.replace(spec.model, precision=precision)))
    return sweep_specs(bases, ALPHAS, RUNS)


def compare(rows: dict[str, list[dict]]) -> list[dict]:
    """One line per (dataset, α, metric): both means, double's std, the difference, the verdict."""
    out = []
    for dataset in ("mnist", "xxz"):
        for alpha in ALPHAS:
            for metric in ("train_acc", "val_acc"):
                values = {p: [r[metric] for r in rows[p] if r["dataset"] == dataset and r["alpha"] == alpha]
                          for p in rows}
                spread = statistics.stdev(values["double"])
                diff = statistics.mean(values["single"]) - statistics.mean(values["double"])
                out.append({"dataset": dataset, "alpha": alpha, "metric": metric,
                            "double_mean": statistics.mean(values["double"]), "double_std": spread,
                            "single_mean": statistics.mean(values["single"]), "difference": diff,
                            "max_run_difference": max(abs(a - b) for a, b in zip(values["single"], values["double"])),
                            "within_spread": abs(diff) <= max(spread, FLOOR)})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("benchmarks/results/precision.csv"))
    args = parser.parse_args()
    rows, seconds = {}, {}
    for precision in ("single", "double"):
        start = time.perf_counter()
        rows[precision] = run_sweep(jobs(precision), n_jobs=args.jobs)
        seconds[precision] = time.perf_counter() - start
        print(f"{precision}: {len(rows[precision])} runs in {seconds[precision]:.0f} s wall, "
              f"{sum(r['seconds'] for r in rows[precision]):.0f} s of run time", flush=True)
    table = compare(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    for line in table:
        print(f"{line['dataset']:5} α={line['alpha']:.1f} {line['metric']:9} double {line['double_mean']:.3f} ± "
              f"{line['double_std']:.3f}  single {line['single_mean']:.3f}  diff {line['difference']:+.4f}  "
              f"{'ok' if line['within_spread'] else 'OUTSIDE the seed spread'}")
    passed = sum(line["within_spread"] for line in table)
    print(f"{passed}/{len(table)} within the seed spread")
    return 0 if passed == len(table) else 1


if __name__ == "__main__":
    sys.exit(main())
