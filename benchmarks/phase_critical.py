"""Critical α and the mean curves of sweep results, from the CSV or JSON files of
``python -m qml_core sweep``: what the phase page shows, headless, for several sweeps at once.

    python benchmarks/phase_critical.py a.csv b.csv [--json benchmarks/results/phase_xxz_measured.json]

Per (dataset, model, attack): the critical α, where the mean validation accuracy crosses
chance (0.5, protocol §6), with its 90 % bootstrap interval (``phase.critical_alpha``, the
lab's one definition), and the mean validation accuracy per α.
"""
import argparse
import csv
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from qml_core.experiments.phase import critical_alpha, phase_summary  # noqa: E402

NUMBERS = ("alpha", "val_acc", "train_acc")


def read_rows(path: pathlib.Path) -> list[dict]:
    """Sweep rows from a .csv (numbers parsed) or a .json ({"rows": [...]}) file."""
    if path.suffix == ".json":
        return json.loads(path.read_text())["rows"]
    with path.open() as f:
        return [{**row, **{k: float(row[k]) for k in NUMBERS}} for row in csv.DictReader(f)]


def critical_table(rows: list[dict]) -> list[dict]:
    """One entry per (dataset, model, attack): the critical α and the mean validation curve."""
    summary = phase_summary(rows)
    out = []
    for c in critical_alpha(rows):
        key = (c["dataset"], c["model"], c["attack"])
        curve = [e for e in summary if (e["dataset"], e["model"], e["attack"]) == key]
        out.append({"dataset": key[0], "model": key[1], "attack": key[2], "critical_alpha": c["estimate"],
                    "low": c["low"], "high": c["high"], "threshold": c["threshold"],
                    "runs": max(e["n"] + e["collapsed"] for e in curve), "collapsed": c["collapsed"],
                    "val_acc": {f"{e['alpha']:g}": round(e["val_acc_mean"], 4) for e in curve}})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=pathlib.Path)
    parser.add_argument("--json", type=pathlib.Path, help="also write the table here")
    args = parser.parse_args()
    table = critical_table([row for path in args.files for row in read_rows(path)])
    for e in table:
        print(f"{e['dataset']} {e['model']:<18} {e['attack']:<12} critical α {e['critical_alpha']:.3f} "
              f"(90 % {e['low']:.3f}–{e['high']:.3f}, threshold {e['threshold']:.3f}); {e['runs']} runs/α")
        print("    val_acc " + "  ".join(f"{a}: {v:.3f}" for a, v in e["val_acc"].items()))
    if args.json:
        args.json.write_text(json.dumps({"files": [str(p) for p in args.files], "critical": table}, indent=1))


if __name__ == "__main__":
    main()
