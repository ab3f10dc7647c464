"""Budget-matched measurements on XXZ (issue 32, item 5): the paper's QNN measured with S shots
per output against the paper's MLP and logistic regression reading M = S classical-shadow
snapshots per state, on the shadow correlators alone (``shadow-correlators``) and, for contrast,
on ``shadows`` (the same correlators joined with an S-shot Z histogram); paper XXZ preset
(N = 12), label flipping, α ∈ {0, 0.3, 0.5}, 3 runs each seeded as a sweep seeds them (every
model sees the same poison sets).

Writes benchmarks/results/budget_matched_xxz.csv (one row per model, S and α: train accuracy on
the poisoned labels and clean validation accuracy, mean ± std over runs, runs, seconds per run)
and .md (the markdown table, the finding computed from it, wall time, machine load, threads).
Runs go through the cache, so an interrupted table resumes and a rerun reads finished runs.

    QML_LAB_CACHE=... QML_LAB_DATA=... python benchmarks/budget_matched.py --jobs 1
    python benchmarks/budget_matched.py --classical-budgets 100,1000 --jobs 2   # the QNN alone at S = 10 000
    python benchmarks/budget_matched.py --add --jobs 2   # only the models the CSV lacks, its other rows kept
"""
import argparse
import csv
import os
import pathlib
import time

import numpy as np

from qml_core.data.datasets import load_dataset
from qml_core.data.measurements import feature_width
from qml_core.experiments.capacity import MEMORISES, PLATEAU_MARGIN, capacity_jobs, capacity_table, variants
from qml_core.experiments.devices import device_variants
from qml_core.experiments.sweep import run_sweep

ALPHAS = (0.0, 0.3, 0.5)
SPINS = 12  # the paper XXZ preset's chain
BUDGETS = (100, 1000, 10_000)
KINDS = ("qnn-shots-{}", "logreg-shadow-correlators{}", "mlp-shadow-correlators{}", "logreg-shadows{}", "mlp-shadows{}")
FIELDS = ("model", "label", "family", "budget", "alpha", "n_params", "train_acc_mean", "train_acc_std",
          "val_acc_mean", "val_acc_std", "runs", "seconds_per_run")


def budget_variants(budgets, classical_budgets) -> list[tuple[int, object]]:
    """(S, variant) for every kind of KINDS at every budget S, in that order; the classical
    kinds only at the budgets of ``classical_budgets``."""
    qnn = {v.name: v for v in device_variants("paper", "xxz")}
    out = []
    for s in budgets:
        names = [kind.format(s) for kind in KINDS if kind.startswith("qnn") or s in classical_budgets]
        classical = {v.name: v for v in variants("paper", "xxz", [n for n in names if n not in qnn])}
        out += [(s, qnn[n] if n in qnn else classical[n]) for n in names]
    return out


def table_rows(chosen: list[tuple[int, object]], rows: list[dict]) -> list[dict]:
    """One row per (variant, α): ``capacity_table``'s means at that α, the budget and the mean
    seconds per run."""
    out = []
    for s, variant in chosen:
        mine = [r for r in rows if r["variant"] == variant.name]
        for alpha in ALPHAS:
            entry = capacity_table([variant], mine, alpha)[0]
            seconds = [r["seconds"] for r in mine if r["alpha"] == alpha]
            out.append({"model": variant.name, "label": variant.label, "family": variant.family, "budget": s,
                        "alpha": alpha, **{k: entry[k] for k in FIELDS if k in entry},
                        "seconds_per_run": round(float(np.mean(seconds)), 2)})
    return out


def read_table(path: pathlib.Path) -> list[dict]:
    """The CSV's rows with their numbers as numbers (empty if there is none)."""
    if not path.exists():
        return []
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    text = ("model", "label", "family")
    return [{k: v if k in text else (int(v) if k in ("budget", "runs", "n_params") else float(v)) for k, v in r.items()}
            for r in rows]


def merged(before: list[dict], table: list[dict]) -> list[dict]:
    """``before``'s rows of models not in ``table`` and ``table``'s, ordered by budget, then
    KINDS, then α (the order a full run writes)."""
    order = {v.name: i for i, (_, v) in enumerate(budget_variants(BUDGETS, BUDGETS))}
    new = {r["model"] for r in table}
    rows = [r for r in before if r["model"] not in new] + table
    return sorted(rows, key=lambda r: (order.get(r["model"], len(order)), r["alpha"]))


def cell(row: dict) -> str:
    return f"{row['val_acc_mean']:.3f} ± {row['val_acc_std']:.3f} ({row['train_acc_mean']:.2f})"


def markdown(table: list[dict]) -> str:
    """Validation accuracy mean ± std (train accuracy on the poisoned labels) per model and
    budget, one column per α, and the seconds per run."""
    lines = ["| model | S = M | " + " | ".join(f"α = {a:g}" for a in ALPHAS) + " | s / run |",
             "|---|---:|" + "---:|" * (len(ALPHAS) + 1)]
    for model in dict.fromkeys(r["model"] for r in table):
        mine = [r for r in table if r["model"] == model]
        lines.append(f"| {mine[0]['label']} | {mine[0]['budget']:,} | " + " | ".join(cell(r) for r in mine)
                     + f" | {np.mean([r['seconds_per_run'] for r in mine]):.1f} |")
    return "\n".join(lines)


def keeps_plateau(mine: dict[float, dict]) -> bool:
    """Validation accuracy at α = 0.3 within PLATEAU_MARGIN of the model's own α = 0 value."""
    return mine[0.3]["val_acc_mean"] >= mine[0.0]["val_acc_mean"] - PLATEAU_MARGIN


def finding(table: list[dict], n_train: int) -> str:
    """Per budget, which models keep the α = 0.3 plateau (validation within PLATEAU_MARGIN of
    their clean value) and how many classical ones fit the flipped labels (train accuracy at
    α = 0.3 ≥ MEMORISES), computed from the table; and the correlator estimates' width beside
    the ``n_train`` training states."""
    parts = []
    for s in dict.fromkeys(r["budget"] for r in table):
        models = {}
        for r in (r for r in table if r["budget"] == s):
            models.setdefault(r["label"], {})[r["alpha"]] = r
        keep = [label for label, mine in models.items() if keeps_plateau(mine)]
        lose = [f"{label} ({mine[0.0]['val_acc_mean']:.2f} → {mine[0.3]['val_acc_mean']:.2f}, train "
                f"{mine[0.3]['train_acc_mean']:.2f})" for label, mine in models.items() if not keeps_plateau(mine)]
        classical = [mine for mine in models.values() if mine[0.3]["family"] != "QNN"]
        fit = sum(mine[0.3]["train_acc_mean"] >= MEMORISES for mine in classical)
        parts.append(f"S = M = {s:,}: " + (f"keep the α = 0.3 plateau (within {PLATEAU_MARGIN:.2f} of α = 0): "
                                           + ", ".join(keep) if keep else "no model keeps the α = 0.3 plateau")
                     + ("; fall further: " + ", ".join(lose) if lose else "")
                     + "." + (f" {fit} of {len(classical)} classical models fit at least {MEMORISES:.0%} of the "
                              "poisoned training labels at α = 0.3." if classical else ""))
    width = feature_width(SPINS, "shadow-correlators")
    parts.append(f"The correlator estimates have {width} entries for {n_train} training states"
                 + (": with estimation noise in every entry the states are almost surely in general position, so "
                    "even logistic regression can separate any labelling of them." if width >= n_train else "."))
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", default=",".join(map(str, BUDGETS)), help="S = M values, comma-separated")
    parser.add_argument("--classical-budgets", help="the classical models only at these S, comma-separated "
                                                    "(default: every --budgets; measuring M = 10 000 snapshots of "
                                                    "the 166 states costs about 14 CPU minutes)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--add", action="store_true",
                        help="run only the models whose rows --out lacks, and keep its other rows (measured before)")
    parser.add_argument("--out", type=pathlib.Path,
                        default=pathlib.Path(__file__).parent / "results" / "budget_matched_xxz.csv")
    args = parser.parse_args()
    budgets = [int(s) for s in args.budgets.split(",")]
    classical = [int(s) for s in args.classical_budgets.split(",")] if args.classical_budgets else budgets
    chosen = budget_variants(budgets, classical)
    before = read_table(args.out) if args.add else []
    chosen = [(s, v) for s, v in chosen if v.name not in {r["model"] for r in before}]
    if not chosen:
        parser.exit(0, f"{args.out} already holds every model asked for\n")
    jobs = capacity_jobs([v for _, v in chosen], list(ALPHAS), args.runs)
    load_before, start = os.getloadavg(), time.perf_counter()
    rows = run_sweep([(run, spec) for _, run, spec in jobs], n_jobs=args.jobs,
                     on_row=lambda row: print(f"{time.perf_counter() - start:7.0f} s  {row['model']}  α {row['alpha']}  "
                                              f"val {row['val_acc']:.3f}  {row['seconds']:.1f} s", flush=True))
    wall, load_after = time.perf_counter() - start, os.getloadavg()
    rows = [{"variant": name, **row} for (name, _, _), row in zip(jobs, rows)]
    table = merged(before, table_rows(chosen, rows))
    with args.out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(table)
    cached = sum(bool(r["cached"]) for r in rows)
    text = "\n\n".join([
        markdown(table), finding(table, len(load_dataset(chosen[0][1].spec.data).x_train)),
        ("rows of " + ", ".join(dict.fromkeys(r["label"] for r in before if r["model"] not in {v.name for _, v in chosen}))
         + " as measured before (their own run's figures); then " if before else "")
        + f"{len(rows)} runs ({cached} from the cache) in {wall:.0f} s wall with --jobs {args.jobs}; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after (2 shared cores); OMP_NUM_THREADS="
        f"{os.environ.get('OMP_NUM_THREADS', 'unset')}"
        + "".join(f"; classical models not run at S = M = {s:,}" for s in BUDGETS
                  if not any(r["budget"] == s and r["family"] != "QNN" for r in table))])
    args.out.with_suffix(".md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
