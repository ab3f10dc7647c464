"""The depth table of the quantum controls (issue 32, docs/reproduction.md "Quantum controls"):
can a QNN of the paper's kind memorise the flipped labels at all, and does its plateau survive
when it can? And does the QNN without entanglers keep the plateau?

For each dataset, the paper preset's QNN at growing depths (``qnn-dD``) and ``qnn-noent``, each
trained at α = 0.3 (label flipping) and α = 0 (the clean validation value), 3 runs each, seeded
as ``sweep`` seeds them (``capacity.run_capacity``: cached, resumable, one job at a time). Per
model one CSV row: depth, parameters, fit of the flipped labels (``forget_acc``: accuracy on the
poisoned samples w.r.t. their poisoned labels), train and validation accuracy at α = 0.3 (mean
and std over runs), the clean validation accuracy, seconds per run (training time as the run
recorded it, also for a cached run), the wall time of the row and the machine load before and
after it. Rows go cheapest first (estimated from the dataset's deepest row so far: its seconds per
run, scaled by depth) and the CSVs are rewritten after each, so that ``--until`` (a UTC deadline)
stops with what is done; a row whose estimate would pass it is left out and says so. A row that
comes wholly from the cache leaves the CSV's row of the run that computed it (its wall time and
load) in place.

    QML_LAB_CACHE=/tmp/cache python benchmarks/qnn_depth_table.py --until 22:05
    python benchmarks/qnn_depth_table.py --markdown      # the CSVs as docs/reproduction.md's tables

Every depth is run while the deadline allows (the issue asks for depths until the fit of the
flipped labels rises, or 40; the table reports the whole series).
"""
import argparse
import csv
import datetime
import math
import os
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
import numpy as np  # noqa: E402
import torch  # noqa: E402

from qml_core.experiments.capacity import n_params, run_capacity, variants  # noqa: E402

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
DEPTHS = {"mnist": (6, 10, 20, 40), "xxz": (4, 8, 16, 40)}
ALPHA, CLEAN, RUNS = 0.3, 0.0, 3
FIELDS = ("dataset", "variant", "ansatz", "depth", "n_params", "fit_flipped_mean", "fit_flipped_std", "train_acc_mean",
          "train_acc_std", "val_acc_mean", "val_acc_std", "clean_val_acc", "seconds_per_run", "wall_s", "runs",
          "computed", "load_before", "load_after", "torch_threads")


def load() -> float:
    return float(pathlib.Path("/proc/loadavg").read_text().split()[0])


def schedule(datasets: list[str], depths: list[int] | None = None) -> list[tuple[str, str]]:
    """(dataset, variant id) for every row: the control, then the depths (``depths``, else DEPTHS)."""
    return [(d, name) for d in datasets for name in ("qnn-noent", *(f"qnn-d{k}" for k in depths or DEPTHS[d]))]


def mean_std(values) -> tuple[float, float]:
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std())


def depth_row(dataset: str, name: str) -> dict:
    """Train (or read from the cache) one model at α = 0.3 and 0, 3 runs each; its table row."""
    variant = variants("paper", dataset, [name])[0]
    before, start = load(), time.perf_counter()
    table, rows = run_capacity([variant], alpha=ALPHA, alphas=[CLEAN], runs=RUNS, n_jobs=1)
    wall, entry = time.perf_counter() - start, table[0]
    poisoned = [r for r in rows if math.isclose(r["alpha"], ALPHA)]
    fit = mean_std([r["forget_acc"] for r in poisoned])
    return dict(dataset=dataset, variant=name, ansatz=variant.spec.model.ansatz, depth=variant.spec.model.depth,
                n_params=n_params(variant.spec), fit_flipped_mean=fit[0], fit_flipped_std=fit[1],
                train_acc_mean=entry["train_acc_mean"], train_acc_std=entry["train_acc_std"],
                val_acc_mean=entry["val_acc_mean"], val_acc_std=entry["val_acc_std"],
                clean_val_acc=entry["clean_val_acc"], seconds_per_run=mean_std([r["seconds"] for r in rows])[0],
                wall_s=wall, runs=len(poisoned), computed=sum(not r["cached"] for r in rows), load_before=before,
                load_after=load(), torch_threads=torch.get_num_threads())


def id_depth(name: str) -> int:
    """qnn-dD -> D; the control (qnn-noent) -> 0, so that it goes first."""
    return int(name[5:]) if name.startswith("qnn-d") else 0


def estimate(done: list[dict], dataset: str, name: str) -> float:
    """Seconds the row will take: the dataset's deepest row so far, scaled by depth (0 if none)."""
    rows = [r for r in done if r["dataset"] == dataset and r["ansatz"] == "paper"]
    if not rows or not name.startswith("qnn-d"):
        return 0.0
    last = max(rows, key=lambda r: r["depth"])
    return last["seconds_per_run"] * 2 * RUNS * id_depth(name) / last["depth"]


def write(done: list[dict], dataset: str) -> pathlib.Path:
    """The dataset's rows into its CSV, keeping the CSV's own row where a new one was all cached."""
    path = RESULTS / f"qnn_depth_{dataset}.csv"
    kept = {}
    if path.exists():
        with path.open() as f:
            kept = {r["variant"]: r for r in csv.DictReader(f)}
    for r in done:
        if r["dataset"] == dataset and (r["computed"] or r["variant"] not in kept):
            kept[r["variant"]] = r
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(sorted(kept.values(), key=lambda r: (r["ansatz"], int(r["depth"]))))
    return path


def markdown(dataset: str) -> str:
    """The dataset's CSV as a markdown table (numbers as written there, rounded)."""
    with (RESULTS / f"qnn_depth_{dataset}.csv").open() as f:
        rows = list(csv.DictReader(f))
    pm = lambda r, k: f"{float(r[k + '_mean']):.3f} ± {float(r[k + '_std']):.3f}"  # noqa: E731
    lines = ["| model | depth | parameters | fit of flipped labels | train acc (poisoned) | validation acc | "
             "clean validation | s / run | load |", "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['variant']} | {r['depth']} | {int(r['n_params']):,} | {pm(r, 'fit_flipped')} | {pm(r, 'train_acc')} | "
              f"{pm(r, 'val_acc')} | {float(r['clean_val_acc']):.3f} | {float(r['seconds_per_run']):.1f} | "
              f"{float(r['load_before']):.1f}–{float(r['load_after']):.1f} |" for r in rows]
    return "\n".join(lines)


def readout_bloch(dataset: str) -> str:
    """What the QNN without entanglers can read (``sim/circuits.py``): the readout qubit's Bloch
    vector r of every state of the preset's dataset (training and validation), in words."""
    from qml_core.data.datasets import load_dataset
    from qml_core.specs import preset

    data = load_dataset(preset("paper", dataset, "qnn").data)
    x, y = np.concatenate([data.x_train, data.x_val]), np.concatenate([data.y_train, data.y_val])
    pairs = x.reshape(len(x), -1, 2)  # the readout qubit is the least significant bit
    coherence = (np.conj(pairs[:, :, 0]) * pairs[:, :, 1]).sum(1)
    r = {"x": 2 * coherence.real, "y": 2 * coherence.imag, "z": (np.abs(pairs) ** 2 @ [1.0, -1.0]).sum(1)}
    means = "; ".join(f"r_{k} {v[y == 0].mean():.3g} ± {v[y == 0].std():.3g} (label 0), {v[y == 1].mean():.3g} ± "
                      f"{v[y == 1].std():.3g} (label 1)" for k, v in r.items())
    largest = max(np.abs(v).max() for v in r.values())
    if largest < 1e-9:
        return f"{dataset}, {len(x)} states: max |r_k| = {largest:.3g}, zero to rounding; {means}"
    # the best any readout direction m can do: accuracy of sign(m·r) over unit m (r_y = 0 for real data)
    angles = np.linspace(0, 2 * np.pi, 3601)
    best = max(((np.cos(t) * r["x"] + np.sin(t) * r["z"] > 0) == (y == 1)).mean() for t in angles)
    share = (r["x"] > np.abs(r["z"])).mean()
    return (f"{dataset}, {len(x)} states: max |r_k| = {largest:.3g}; {means}; r_x > |r_z| for {share:.1%} of "
            f"them; best accuracy of sign(m·r) over directions m in the x-z plane {best:.3f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--until", help="UTC deadline HH:MM: rows estimated to end later are left out")
    parser.add_argument("--datasets", default="mnist,xxz")
    parser.add_argument("--depths", type=lambda text: [int(k) for k in text.split(",")],
                        help="comma-separated depths instead of each dataset's DEPTHS (e.g. the deepest first)")
    parser.add_argument("--markdown", action="store_true", help="print the CSVs as markdown tables; train nothing")
    args = parser.parse_args(argv)
    datasets = args.datasets.split(",")
    if args.markdown:
        print("\n\n".join(f"{markdown(d)}\n\nreadout qubit's Bloch vector: {readout_bloch(d)}" for d in datasets))
        return 0
    deadline = None
    if args.until:
        now = datetime.datetime.now(datetime.timezone.utc)
        h, m = map(int, args.until.split(":"))
        deadline = now.replace(hour=h, minute=m, second=0, microsecond=0)
    print(f"QML_LAB_CACHE={os.environ.get('QML_LAB_CACHE')} torch threads {torch.get_num_threads()}", flush=True)
    done, todo = [], schedule(datasets, args.depths)
    while todo:
        need, _, dataset, name = min((estimate(done, d, n), id_depth(n), d, n) for d, n in todo)
        todo.remove((dataset, name))
        left = math.inf if deadline is None else (deadline - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
        if need > left:
            print(f"left out {dataset} {name}: about {need:.0f} s needed, {left:.0f} s to the deadline", flush=True)
            continue
        row = depth_row(dataset, name)
        done.append(row)
        path = write(done, dataset)
        print(f"{dataset} {name}: fit {row['fit_flipped_mean']:.3f} ± {row['fit_flipped_std']:.3f}, val "
              f"{row['val_acc_mean']:.3f} ± {row['val_acc_std']:.3f}, clean {row['clean_val_acc']:.3f}, "
              f"{row['seconds_per_run']:.1f} s/run, wall {row['wall_s']:.0f} s, load {row['load_before']:.1f} -> "
              f"{row['load_after']:.1f} ({path.name})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
