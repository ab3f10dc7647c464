"""The QNN's accuracies on a device: paper settings, α ∈ {0, 0.3, 0.5}, shots {exact, 10 000,
1 000, 100} without noise, and depolarising p ∈ {0.001, 0.01} with exact or 1 000 shots.

Writes benchmarks/results/device_<dataset>.csv (one row per run) and .html (the report's
section "Does the resilience survive a device?", its statement computed from the rows), and
prints the means per cell as a markdown table (docs/device.md shows it). Runs go through the cache and the sweep's
workers, as ``python -m qml_core sweep`` does, so an interrupted table resumes.

    QML_LAB_CACHE=... python benchmarks/device_table.py --dataset mnist --jobs 2 --trajectories 2
    python benchmarks/device_table.py --dataset mnist --render   # the .html and markdown from the .csv
"""
import argparse
import csv
import pathlib
import time

import numpy as np

from qml_core.experiments.devices import TABLE_SETTINGS, table_jobs, table_rows
from qml_core.experiments.sweep import run_sweep
from qml_core.reporting.report import device_section

ALPHAS = (0.0, 0.3, 0.5)
FIELDS = ("dataset", "shots", "depolarizing", "trajectories", "alpha", "run", "seed", "train_acc", "val_acc",
          "status", "seconds", "cached")


def markdown(rows: list[dict]) -> str:
    """Mean validation / train accuracy per (setting, α), one line per setting."""
    lines = ["| shots | p | " + " | ".join(f"α = {a} val / train" for a in ALPHAS) + " |",
             "|---|---|" + "---|" * len(ALPHAS)]
    for shots, p in TABLE_SETTINGS:
        cells = []
        for alpha in ALPHAS:
            group = [r for r in rows if r["shots"] == (shots or "exact") and r["depolarizing"] == p and r["alpha"] == alpha]
            cells.append(f"{np.mean([r['val_acc'] for r in group]):.3f} / {np.mean([r['train_acc'] for r in group]):.3f}")
        lines.append(f"| {shots or 'exact'} | {p} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=("mnist", "xxz"), required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--trajectories", type=int, default=4, help="per output, in the depolarising cells")
    parser.add_argument("--out", type=pathlib.Path)
    parser.add_argument("--render", action="store_true", help="run nothing: read the table's .csv, write its .html "
                                                                 "section and print the markdown")
    args = parser.parse_args()
    out = args.out or pathlib.Path(__file__).parent / "results" / f"device_{args.dataset}.csv"
    if args.render:
        with out.open() as handle:
            rows = [{**r, "shots": r["shots"] if r["shots"] == "exact" else int(r["shots"]),
                     "depolarizing": float(r["depolarizing"]), "alpha": float(r["alpha"]),
                     "val_acc": float(r["val_acc"]), "train_acc": float(r["train_acc"])} for r in csv.DictReader(handle)]
        out.with_suffix(".html").write_text(device_section(rows) + "\n")
        print(markdown(rows))
        return
    jobs = table_jobs("paper", args.dataset, ALPHAS, args.runs, args.trajectories)
    start = time.perf_counter()
    results = run_sweep([(run, spec) for _, run, spec in jobs], n_jobs=args.jobs,
                        on_row=lambda row: print(f"{time.perf_counter() - start:7.0f} s  {row['alpha']}  "
                                                 f"val {row['val_acc']:.3f}", flush=True))
    rows = table_rows(args.dataset, jobs, results)
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    out.with_suffix(".html").write_text(device_section(rows) + "\n")  # the report's section, its finding from these rows
    print(markdown(rows))
    print(f"{len(rows)} runs in {time.perf_counter() - start:.0f} s -> {out}")


if __name__ == "__main__":
    main()
