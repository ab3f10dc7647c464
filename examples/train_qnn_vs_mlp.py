"""Train the QNN and the MLP on label-flipped MNIST 1 vs 9 (quick preset) and plot both.

Both models see the same poisoned training set (the same seed draws it); the figure shows
loss and accuracy per epoch, training on the poisoned labels dashed, validation on the clean
labels solid. Usage::

    python examples/train_qnn_vs_mlp.py --alpha 0.3 --out qnn_vs_mlp.html
"""
import argparse
import pathlib
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))  # a checkout runs without installing

from qml_core import preset, run_experiment
from qml_core.reporting.plots import training_curves


def main(argv=None) -> pathlib.Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alpha", type=float, default=0.3, help="fraction of training labels flipped")
    parser.add_argument("--out", type=pathlib.Path, help="HTML file for the figure (default: a temporary directory)")
    args = parser.parse_args(argv)
    out = args.out or pathlib.Path(tempfile.mkdtemp()) / "qnn_vs_mlp.html"
    histories = {}
    for model in ("qnn", "mlp"):
        spec = preset("quick", "mnist", model).replace(attack="label-flip", alpha=args.alpha, seed=0)
        result, cached = run_experiment(spec)  # a second call answers from the cache
        histories[model] = result["history"]
        print(f"{model}: train accuracy {result['train_acc']:.3f} (poisoned labels), "
              f"validation {result['val_acc']:.3f} (clean labels){' [cached]' if cached else ''}")
    training_curves(histories, alpha=args.alpha).write_html(out)
    print(f"figure: {out}")
    return out


if __name__ == "__main__":
    main()
