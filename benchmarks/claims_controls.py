"""Claims 2 and 3 against every control, on one dataset: the unlearning table (fit of the
flipped labels, gap to retraining before and after fine-tuning, SCRUB and gradient ascent) and
the curvature table (median held-out trace ratio poisoned/clean at α = 0.2 / 0.3 / 0.4), with
both verdicts computed, the wall time, the machine's load and the commit.

    python benchmarks/claims_controls.py --dataset mnist --runs 3 --jobs 2 --out-dir benchmarks/results
    python benchmarks/claims_controls.py --dataset xxz --models qnn,mlp,logreg,mlp-correlators --runs 3
    python benchmarks/claims_controls.py --dataset mnist --markdown   # docs/reproduction.md's tables, from the JSON

Writes unlearn_controls_<dataset>.csv, curvature_controls_<dataset>.csv and
claims_controls_<dataset>.json (verdicts, both tables, timings, load) under --out-dir; the
lesson's last step and the README quote that JSON.
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import time

from qml_core.experiments.claim_controls import (CURVATURE_ALPHAS, CURVATURE_FIELDS, MODELS, UNLEARN_FIELDS, control_claims,
                                                 run_claim_controls)
from qml_core.runtime.backends import parallel_map
from qml_core.store.outputs import to_json, write_atomic, write_rows


METHODS = ("finetune", "scrub", "grad-ascent")


def ratio_error(rows: list[dict], variant: str, alpha: float) -> float:
    """The median over runs of the trace ratio's relative standard error (Hutchinson's error of
    both traces, propagated); 0 for exact traces."""
    clean = {r["run"]: r for r in rows if r["variant"] == variant and r["alpha"] == 0}
    errors = [((r["trace_err"] / r["trace"]) ** 2 + (clean[r["run"]]["trace_err"] / clean[r["run"]]["trace"]) ** 2) ** 0.5
              for r in rows if r["variant"] == variant and r["alpha"] == alpha and r["run"] in clean
              and r["trace"] and clean[r["run"]]["trace"]]
    return statistics.median(errors) if errors else 0.0


def markdown(report: dict, dataset: str, preset: str) -> str:
    """The unlearning table and the trace-ratio table of ``report`` (this script's JSON), as
    docs/reproduction.md prints them; an estimated ratio carries its relative standard error."""
    from qml_core.experiments.capacity import variants

    labels = {v.name: v.label for v in variants(preset, dataset, report["models"])}
    lines = ["| model | fit of flipped labels | retraining's final val. | gap before | fine-tune | SCRUB | gradient ascent |",
             "|---|---|---|---|---|---|---|"]
    for model in report["models"]:
        mine = {r["method"]: r for r in report["unlearning_table"] if r["model"] == model}
        first = mine[METHODS[0]]
        lines.append(f"| {labels[model]} | {first['flip_fit_mean']:.2f} | {mine['retrain']['val_acc_mean']:.3f} | "
                     f"{first['gap_start_mean']:+.3f} | " + " | ".join(f"{mine[m]['gap_end_mean']:+.3f}" for m in METHODS) + " |")
    alphas = sorted({r["alpha"] for r in report["ratios"]})
    lines += ["", "| model | " + " | ".join(f"α = {a:g}" for a in alphas) + " | fit of flipped labels ("
              + " / ".join(f"{a:g}" for a in alphas) + ") |", "|---|" + "---|" * (len(alphas) + 1)]
    for model in report["models"]:
        mine = {r["alpha"]: r for r in report["ratios"] if r["variant"] == model}
        cells = []
        for a in alphas:
            ratio = mine[a]["ratio_median"]  # NaN (null in the JSON) where no run has a ratio
            if ratio is None or ratio != ratio:
                cells.append("—")
                continue
            error = ratio_error(report["curvature_rows"], model, a)
            cells.append((f"{ratio:,.0f}" if ratio >= 100 else f"{ratio:.3g}") + (f" (± {error:.1%})" if error else ""))
        lines.append(f"| {labels[model]} | " + " | ".join(cells) + " | "
                     + " / ".join(f"{mine[a]['flip_fit_mean']:.2f}" for a in alphas) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(MODELS), default="mnist")
    parser.add_argument("--preset", choices=("paper", "quick"), default="paper")
    parser.add_argument("--models", help="comma-separated catalogue ids (default: the dataset's control set)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out-dir", type=pathlib.Path, default=pathlib.Path("benchmarks/results"))
    parser.add_argument("--markdown", action="store_true", help="print the stored JSON's tables as markdown; run nothing")
    args = parser.parse_args()
    if args.markdown:
        report = json.loads((args.out_dir / f"claims_controls_{args.dataset}.json").read_text())
        print(markdown(report, args.dataset, report["preset"]))
        return
    models = args.models.split(",") if args.models else list(MODELS[args.dataset])
    load_before, start = os.getloadavg(), time.perf_counter()
    stages = {}

    def mapper(func, items, stage):
        began = time.perf_counter()
        print(f"{stage}: {len(items)} jobs", flush=True)
        out = parallel_map(func, items, args.jobs)
        stages[stage] = round(time.perf_counter() - began, 1)
        return out

    out = run_claim_controls(args.preset, args.dataset, models, args.runs, CURVATURE_ALPHAS, mapper)
    claims = control_claims(out)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    write_rows([{k: r[k] for k in UNLEARN_FIELDS} for r in out["unlearning_table"]],
               args.out_dir / f"unlearn_controls_{args.dataset}.csv")
    write_rows([{k: r[k] for k in CURVATURE_FIELDS} for r in out["curvature"]["ratios"]],
               args.out_dir / f"curvature_controls_{args.dataset}.csv")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    report = {"claims": [c.as_dict() for c in claims], "wall_s": round(time.perf_counter() - start, 1), "stages_s": stages,
              "load_before": load_before, "load_after": os.getloadavg(), "jobs": args.jobs, "runs": args.runs,
              "models": models, "preset": args.preset, "commit": commit,
              "quantum": out["quantum"], "unlearning_table": out["unlearning_table"],
              "ratios": out["curvature"]["ratios"], "curvature_rows": out["curvature"]["rows"]}
    write_atomic(args.out_dir / f"claims_controls_{args.dataset}.json", to_json(report))
    for c in claims:
        print(f"{c.key} ({args.dataset}): {'holds' if c.holds else 'does not hold'}")
        for line in c.measured:
            print("   ", line)
    print(f"wall {report['wall_s']} s, load {load_before} -> {report['load_after']}")


if __name__ == "__main__":
    main()
