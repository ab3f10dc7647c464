"""Wall time per figure of a reproduction, from its ``results.json``.

    python benchmarks/figure_times.py results/paper [--json benchmarks/results/reproduce_paper.json]

The report times each group (poisoning, unlearning, landscape) as a whole, because the runs of
a group share the workers. Every run also records its own ``seconds``, so each figure's
compute is the sum over the runs it shows (core-seconds); its share of the group's wall time
is the group's wall time split in proportion to that compute. Figures drawn from the same runs
(an unlearning trajectory and its final-metrics bars) are one row. Runs read from the cache
count with the seconds they took when computed.
"""
import argparse
import json
import pathlib

NAMES = {"mnist": "MNIST", "xxz": "XXZ", "label-flip": "label flipping", "feature-noise": "feature randomisation"}


def figure_compute(results: dict) -> list[tuple[str, str, int, float]]:
    """(group, figure, runs, core-seconds) per figure of the report, in report order."""
    rows = []
    sweep = results.get("poisoning", {}).get("rows", [])
    for dataset, attack in dict.fromkeys((r["dataset"], r["attack"]) for r in sweep):
        runs = [r for r in sweep if (r["dataset"], r["attack"]) == (dataset, attack)]
        rows.append(("poisoning", f"{NAMES[dataset]}, {NAMES[attack]}: accuracy vs α (both models)",
                     len(runs), sum(r["seconds"] for r in runs)))
    for key, entry in results.get("unlearning", {}).items():
        dataset, model = key.split("/")
        rows.append(("unlearning", f"{NAMES[dataset]}, {model.upper()}: trajectories + final metrics",
                     len(entry["rows"]), sum(r["seconds"] for r in entry["rows"])))
    controls = results.get("controls", {}).get("rows", [])
    for dataset in dict.fromkeys(r["dataset"] for r in controls):
        runs = [r for r in controls if r["dataset"] == dataset]
        rows.append(("controls", f"{NAMES[dataset]}: capacity controls", len(runs), sum(r["seconds"] for r in runs)))
    fair = results.get("fair", {}).get("rows", [])
    if fair:
        rows.append(("fair", f"{NAMES['xxz']}: fair baselines (classical models on measurements)", len(fair),
                     sum(r["seconds"] for r in fair)))
    for dataset, out in results.get("claims-controls", {}).items():
        runs = [r for model in out["unlearning"].values() for r in model["rows"]] + out["curvature"]["rows"]
        rows.append(("claims-controls", f"{NAMES[dataset]}: unlearning and curvature against the controls", len(runs),
                     sum(r["seconds"] for r in runs)))
    land = results.get("landscape", {})
    hessians = land.get("rows", [])
    if hessians:
        rows.append(("landscape", "Hessian spectra + trace ratios (exact spectrum per run)",
                     len(hessians), sum(r["seconds"] for r in hessians)))
    for entry in land.get("landscapes", []):
        spec = entry["spec"]
        rows.append(("landscape", f"{spec['model'].upper()}: {entry['kind']} (α={spec['alpha']})", 1, entry["seconds"]))
    return rows


def figure_times(results: dict) -> list[dict]:
    """Per figure: group, figure, runs, compute (core-s) and its share of the group's wall time (s)."""
    rows = figure_compute(results)
    totals = {}
    for group, _, _, seconds in rows:
        totals[group] = totals.get(group, 0.0) + seconds
    wall = results["timings"]
    return [dict(group=group, figure=figure, runs=runs, compute_s=round(seconds, 1),
                 wall_s=round(wall[group] * seconds / totals[group], 1) if totals[group] else 0.0)
            for group, figure, runs, seconds in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=pathlib.Path, help="a reproduction's --out directory")
    parser.add_argument("--json", type=pathlib.Path, help="also write the table and the group wall times here")
    args = parser.parse_args()
    results = json.loads((args.out / "results.json").read_text())
    table = figure_times(results)
    print(f"{'group':<11} {'runs':>4} {'compute s':>9} {'wall s':>7}  figure")
    for row in table:
        print(f"{row['group']:<11} {row['runs']:>4} {row['compute_s']:>9.0f} {row['wall_s']:>7.0f}  {row['figure']}")
    timings = results["timings"]
    print("groups: " + ", ".join(f"{g} {s:.0f} s" for g, s in timings.items()) + f"; total {sum(timings.values()):.0f} s"
          f" ({results['preset']} preset, --jobs {results['n_jobs']}, {results['backend']} backend)")
    if args.json:
        claims = results["claims"]
        args.json.write_text(json.dumps(dict(
            preset=results["preset"], n_jobs=results["n_jobs"], code_version=results["code_version"],
            group_wall_s=timings, total_wall_s=sum(timings.values()), figures=table,
            claims_holding=f"{sum(c['holds'] for c in claims)} of {len(claims)}", claims=claims), indent=1))


if __name__ == "__main__":
    main()
