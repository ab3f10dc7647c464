"""Which XXZ construction lets the MLP memorise flipped labels while the QNN keeps its plateau?

A controlled experiment (issue 14, protocol §1): the paper preset on XXZ, label flipping,
α ∈ {0, 0.2, 0.3, 0.4, 0.6} × 3 runs, MLP and QNN, one factor changed at a time from the lab's
construction (``baseline``: real states with a fixed sign gauge, Δ grid of 161 points on [0, 2],
torch numerics for the MLP), then combinations:

    phase    a random global phase e^{iφ} per state (complex; the MLP sees [Re, Im])
    sign     a random ± per state (real)
    windows  protocol §1's Δ windows (41 + 42 states per phase from a 294-point grid)
    keras    the MLP trained with Keras' numerics (Adam ε = 1e-7, BCE on clipped probabilities)

Writes a CSV (variant, model, alpha, runs, train/val accuracy mean and std) and a markdown
table with each variant's verdict: the MLP memorises (mean train ≥ 0.93 at every α), the QNN
keeps its plateau (mean validation ≥ clean − 0.10 for α ≤ 0.3) and is ≥ 0.10 above the MLP at
α = 0.3 (the criteria of protocol §6).

    nice -n 5 python benchmarks/xxz_factors.py [--jobs 2] [--runs 3] [--variants baseline,phase,...]
    python benchmarks/xxz_factors.py --preset quick --spins 6 --runs 1 --alphas 0,0.3 --out /tmp/x.csv  # smoke test

Every run goes through the result cache (stacked per architecture and run index, as ``sweep``),
so an interrupted call resumes and a second call only reads.
"""
import argparse
import csv
import dataclasses
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from qml_core.experiments.claims import CRITERIA  # noqa: E402
from qml_core.experiments.sweep import run_sweep, sweep_specs  # noqa: E402
from qml_core.specs import ExperimentSpec, preset  # noqa: E402

ALPHAS = (0.0, 0.2, 0.3, 0.4, 0.6)
# variant -> (XXZData changes, MLPModel changes); the QNN takes the data changes only
VARIANTS = {
    "baseline": ({}, {}),
    "phase": ({"gauge": "phase"}, {}),
    "sign": ({"gauge": "sign"}, {}),
    "windows": ({"layout": "windows"}, {}),
    "keras": ({}, {"setup": "keras"}),
    "phase+windows": ({"gauge": "phase", "layout": "windows"}, {}),
    "sign+windows": ({"gauge": "sign", "layout": "windows"}, {}),
    "phase+windows+keras": ({"gauge": "phase", "layout": "windows"}, {"setup": "keras"}),
}
FIELDS = ("variant", "model", "alpha", "runs", "train_acc_mean", "train_acc_std", "val_acc_mean", "val_acc_std")


def variant_spec(preset_name: str, model: str, variant: str, spins: int | None) -> ExperimentSpec:
    """The label-flip base spec of one (variant, model); ``spins`` overrides the preset's N."""
    data_changes, mlp_changes = VARIANTS[variant]
    base = preset(preset_name, "xxz", model, **({"spins": spins} if spins else {}))
    base = base.replace(data=dataclasses.replace(base.data, **data_changes), attack="label-flip")
    if model == "mlp":
        base = base.replace(model=dataclasses.replace(base.model, **mlp_changes))
    return base


def summarise(rows: list[dict], labels: list[tuple[str, str]]) -> list[dict]:
    """Mean and std over runs per (variant, model, α); ``labels`` names each row's (variant, model)."""
    groups: dict[tuple, list[dict]] = {}
    for (variant, model), row in zip(labels, rows):
        groups.setdefault((variant, model, row["alpha"]), []).append(row)
    out = []
    for (variant, model, alpha), group in groups.items():
        entry = {"variant": variant, "model": model, "alpha": alpha, "runs": len(group)}
        for metric in ("train_acc", "val_acc"):
            values = [r[metric] for r in group]
            entry[f"{metric}_mean"] = statistics.mean(values)
            entry[f"{metric}_std"] = statistics.pstdev(values)
        out.append(entry)
    return out


def verdict(table: list[dict], variant: str) -> dict:
    """protocol §6 on one variant's curves: MLP memorises, QNN plateau, QNN above the MLP at α = 0.3."""
    def curve(model):
        return {e["alpha"]: e for e in table if (e["variant"], e["model"]) == (variant, model)}
    mlp, qnn = curve("mlp"), curve("qnn")
    k = CRITERIA
    out = {"mlp_min_train": min(e["train_acc_mean"] for e in mlp.values()) if mlp else float("nan")}
    out["mlp_memorises"] = out["mlp_min_train"] >= k.memorised
    if qnn:
        clean = qnn[min(qnn)]["val_acc_mean"]
        out["qnn_plateau"] = all(e["val_acc_mean"] >= clean - k.plateau_drop for a, e in qnn.items() if a <= k.plateau_alpha + 1e-9)
    if mlp and qnn and k.plateau_alpha in mlp and k.plateau_alpha in qnn:
        out["margin_at_0.3"] = qnn[k.plateau_alpha]["val_acc_mean"] - mlp[k.plateau_alpha]["val_acc_mean"]
    return out


def markdown(table: list[dict], variants: list[str]) -> str:
    alphas = sorted({e["alpha"] for e in table})
    head = "| variant | model | " + " | ".join(f"α = {a:g}" for a in alphas) + " |"
    lines = ["Train accuracy (poisoned labels) / validation accuracy (clean labels), mean ± std over runs.", "",
             head, "|" + "---|" * (len(alphas) + 2)]
    for variant in variants:
        for model in ("mlp", "qnn"):
            cells = {e["alpha"]: e for e in table if (e["variant"], e["model"]) == (variant, model)}
            if cells:
                lines.append(f"| {variant} | {model.upper()} | " + " | ".join(
                    f"{cells[a]['train_acc_mean']:.3f}±{cells[a]['train_acc_std']:.3f} / "
                    f"{cells[a]['val_acc_mean']:.3f}±{cells[a]['val_acc_std']:.3f}" if a in cells else "" for a in alphas) + " |")
    lines += ["", "| variant | MLP min train | MLP memorises (≥ 0.93) | QNN plateau (α ≤ 0.3) | QNN − MLP validation at α = 0.3 |",
              "|---|---|---|---|---|"]
    for variant in variants:
        v = verdict(table, variant)
        lines.append(f"| {variant} | {v['mlp_min_train']:.3f} | {'yes' if v['mlp_memorises'] else 'no'} | "
                     f"{'yes' if v.get('qnn_plateau') else 'no'} | {v.get('margin_at_0.3', float('nan')):+.3f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=lambda t: t.split(","), default=list(VARIANTS))
    parser.add_argument("--models", type=lambda t: t.split(","), default=["mlp", "qnn"])
    parser.add_argument("--alphas", type=lambda t: [float(a) for a in t.split(",")], default=list(ALPHAS))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--preset", default="paper")
    parser.add_argument("--spins", type=int, help="chain length (default: the preset's, 12 for paper)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("benchmarks/results/xxz_factors.csv"))
    args = parser.parse_args()
    unknown = sorted(set(args.variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variant {unknown[0]} (known: {', '.join(VARIANTS)})")
    jobs, labels = [], []
    for variant in args.variants:
        for model in args.models:
            for job in sweep_specs([variant_spec(args.preset, model, variant, args.spins)], args.alphas, args.runs):
                jobs.append(job)
                labels.append((variant, model))
    start, done = time.perf_counter(), [0]

    def progress(row):
        done[0] += 1
        print(f"\r{done[0]}/{len(jobs)} runs, {time.perf_counter() - start:.0f} s", end="", file=sys.stderr, flush=True)

    rows = run_sweep(jobs, args.jobs, progress)
    print(file=sys.stderr)
    table = summarise(rows, labels)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(table)
    text = markdown(table, args.variants)
    args.out.with_suffix(".md").write_text(
        f"# XXZ construction factors ({args.preset} preset, N = {variant_spec(args.preset, 'qnn', 'baseline', args.spins).data.spins}, "
        f"label flipping, {args.runs} runs)\n\n`{' '.join(sys.argv)}`: {len(rows)} runs "
        f"({sum(not r['cached'] for r in rows)} computed) in {time.perf_counter() - start:.0f} s.\n\n" + text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
