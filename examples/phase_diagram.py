"""A small poisoning sweep (quick preset, MNIST 1 vs 9, label flipping) and its phase diagram.

Every (model, α, run) is one cached training run; the summary gives validation mean ± std
per α and each model's critical α (where the mean validation accuracy crosses chance, 0.5),
with a bootstrap interval. Usage::

    python examples/phase_diagram.py --alphas 0,0.2,0.4,0.6 --runs 2 --out phase.html
"""
import argparse
import pathlib
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))  # a checkout runs without installing

from qml_core import preset, run_sweep, sweep_specs
from qml_core.experiments.phase import critical_alpha, phase_summary
from qml_core.reporting.plots import phase_diagram


def main(argv=None) -> pathlib.Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alphas", default="0,0.2,0.4,0.6", help="comma-separated poison fractions")
    parser.add_argument("--runs", type=int, default=2, help="runs (poison set + initialisation) per α")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument("--out", type=pathlib.Path, help="HTML file for the figure (default: a temporary directory)")
    args = parser.parse_args(argv)
    out = args.out or pathlib.Path(tempfile.mkdtemp()) / "phase_diagram.html"
    alphas = [float(a) for a in args.alphas.split(",")]
    bases = [preset("quick", "mnist", model).replace(attack="label-flip") for model in ("qnn", "mlp")]
    rows = run_sweep(sweep_specs(bases, alphas, args.runs), n_jobs=args.jobs)
    summary = phase_summary(rows)
    critical = critical_alpha(rows)
    for entry in summary:
        print(f"{entry['model']} α = {entry['alpha']:.1f}: validation {entry['val_acc_mean']:.3f} ± {entry['val_acc_std']:.3f}")
    for entry in critical:
        print(f"{entry['model']}: critical α {entry['estimate']:.2f}")
    phase_diagram(summary, critical).write_html(out)
    print(f"figure: {out}")
    return out


if __name__ == "__main__":
    main()
