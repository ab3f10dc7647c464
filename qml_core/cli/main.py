"""Command line parser: ``python -m qml_core train|sweep|capacity|unlearn|unlearn-grid|hessian|reproduce|landscape``
(everything the app can do, headless; the commands themselves are in ``commands.py``).

User errors (a bad value, an unknown name) print one line ``error: ...`` and exit with 2;
a run that diverges, or an environment fault (an unusable cache, an output that cannot be
written), prints its reason and exits with 1. Ctrl-C and SIGTERM stop a command with one line
(exit 130 / 143; finished runs stay in the cache). Never a traceback: anything unexpected
prints one ``error: internal error ...`` line and exits with 1 (``QML_LAB_DEBUG=1`` re-raises it).
"""
import argparse
import math
import os
import pathlib
import re
import shlex
import signal
import sys
import threading

from qml_core.cli.commands import (UNLEARN_METHODS, cmd_capacity, cmd_hessian, cmd_landscape, cmd_prepare_lesson,
                                   cmd_reproduce, cmd_sweep, cmd_train, cmd_unlearn, cmd_unlearn_grid)
from qml_core.reporting.reproduce import GROUPS
from qml_core.runtime.backends import BACKENDS
from qml_core.specs import (ATTACKS, DATASETS, DEFAULT_SNAPSHOTS, FEATURES, MLP_SETUPS, MODELS, PRESETS,
                            SHOT_GRADIENTS, XXZ_GAUGES, XXZ_LAYOUTS, SpecError, zero_if_tiny)


class UsageError(Exception):
    """A bad command line; the message is printed as one line."""


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad command line as one line instead of usage + message."""

    def error(self, message):
        raise UsageError(message)


def int_tuple(text: str) -> tuple[int, ...]:
    if text.strip().lower() in ("", "none"):  # --hidden none: no hidden layer (logistic regression)
        return ()
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


MAX_VALUES = 201  # a longer list or range of alphas / weights is a typo, not a sweep


def float_list(text: str) -> list[float]:
    """'0,0.1,0.5' or a range 'start:stop:step' (stop included): 1..MAX_VALUES finite numbers."""
    try:
        if ":" in text:
            start, stop, step = (float(v) for v in text.split(":"))
            steps = (stop - start) / step if step else math.nan
            if steps > MAX_VALUES and math.isfinite(steps):
                raise argparse.ArgumentTypeError(f"expected 1 to {MAX_VALUES} values, got {text!r}: "
                                                 f"{int(round(steps)) + 1} values")
            if not -1e-9 <= steps <= MAX_VALUES:  # also NaN: a zero or infinite step, infinite ends
                raise ValueError
            values = [round(start + i * step, 10) for i in range(int(round(steps)) + 1)]
        else:
            values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers 'a,b,c' or 'start:stop:step' (a nonzero step from start "
                                         f"towards stop), got {text!r}") from None
    if len(values) > MAX_VALUES or not all(map(math.isfinite, values)):
        raise argparse.ArgumentTypeError(f"expected 1 to {MAX_VALUES} finite numbers, got {text!r}")
    return list(dict.fromkeys(map(zero_if_tiny, values)))  # -0.0 and subnormals as 0.0; a repeated value once


NEGATIVE_VALUE = re.compile(r"-(\d|\.\d|inf|nan)", re.IGNORECASE)


def attach_negative_values(argv: list[str]) -> list[str]:
    """argparse reads a token that starts with '-' as an option unless it is one plain negative
    number ('-0.5'), so '--alphas -0.1,0.2' and '--alpha -inf' failed with "expected one
    argument". A negative-number-like value is attached to the option before it
    ('--alphas=-0.1,0.2'), and validation names what is wrong with it."""
    out = []
    for token in argv:
        if out and out[-1].startswith("--") and "=" not in out[-1] and NEGATIVE_VALUE.match(token):
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by every command that builds experiment specs."""
    parser.add_argument("--dataset", choices=DATASETS, help="mnist (default), xxz, or upload (implied by --data-file)")
    parser.add_argument("--data-file", type=pathlib.Path, metavar="PATH",
                        help="your own data: .csv (features, then a label column) or .npz (arrays x, y); "
                             "two classes, 2..4096 features, at most 20 MB")
    parser.add_argument("--val-fraction", type=float, help="--data-file: stratified validation share, 0.1..0.5 (default 0.3)")
    parser.add_argument("--preset", choices=PRESETS, default="paper")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--digits", type=int_tuple, help="MNIST digit pair, e.g. 1,9")
    parser.add_argument("--n-train-per-class", type=int)
    parser.add_argument("--n-val", type=int)
    parser.add_argument("--spins", type=int, help="XXZ chain length (6, 8, 10, 12)")
    parser.add_argument("--n-grid", type=int, help="XXZ Δ grid points on [0, 2]")
    parser.add_argument("--window", type=float, help="XXZ: |Δ-1| below this is left out of training")
    add_xxz_representation(parser)
    parser.add_argument("--depth", type=int)
    parser.add_argument("--ansatz", help="QNN ansatz: paper, cnot-ring or paper-noent (paper without its entangling gates)")
    parser.add_argument("--executor", help="QNN executor: fused, default.qubit, lightning.qubit")
    parser.add_argument("--precision", help="fused QNN executor's states: single (complex64, the presets' "
                                            "choice) or double (complex128)")
    add_device_arguments(parser)
    parser.add_argument("--hidden", type=int_tuple, help="MLP hidden sizes, e.g. 64,16; none: logistic regression")
    parser.add_argument("--pca", type=int, help="MLP: read the top-k principal components of the training inputs "
                                                "(0: the whole input vector)")
    add_feature_arguments(parser)
    parser.add_argument("--setup", choices=MLP_SETUPS, help="MLP numerics: torch (Adam ε 1e-8, BCE log clamped) or "
                                                         "keras (the authors': Adam ε 1e-7, BCE on probabilities clipped at 1e-7)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--weight-decay", type=float, help="L2 strength (torch Adam's weight_decay), default 0")
    parser.add_argument("--early-stopping", type=float, help="hold out this fraction (0.05..0.5) of the poisoned "
                                                             "training set, keep the best held-out epoch")
    parser.add_argument("--patience", type=int, help="--early-stopping: epochs without improvement before stopping (10)")


def add_feature_arguments(parser: argparse.ArgumentParser) -> None:
    """What a classical model reads of an XXZ state (``specs.MLPModel.features``)."""
    parser.add_argument("--features", choices=FEATURES,
                        help="XXZ, classical models: amplitudes ([Re, Im], default), probabilities or correlators "
                             "(exact), shadows (both estimated from --snapshots copies), shadow-correlators (the "
                             "correlators alone, estimated from --snapshots copies)")
    parser.add_argument("--snapshots", type=int, help=f"--features shadows / shadow-correlators: classical-shadow "
                                                      f"snapshots (and, for shadows, Z shots) per state "
                                                      f"(default {DEFAULT_SNAPSHOTS})")
    parser.add_argument("--yes", action="store_true", help="--features shadows / shadow-correlators: measure however long "
                                                           "it takes (without it, shadows expected to take over 10 minutes "
                                                           "are refused with their time)")


def add_device_arguments(parser: argparse.ArgumentParser) -> None:
    """The QNN's device: shots and noise (docs/device.md); unset, the exact simulator."""
    parser.add_argument("--shots", type=int, help="QNN: measure every output with this many shots, in training and "
                                                  "evaluation (unset: exact expectation values)")
    parser.add_argument("--shot-gradient", choices=SHOT_GRADIENTS, help="--shots: the training gradient, fast (exact "
                        "gradient plus noise of the parameter-shift estimate's mean and variance; default) or "
                        "parameter-shift (S shots per shifted circuit; slow)")
    parser.add_argument("--depolarizing", type=float, help="QNN: depolarising channel of strength p on each qubit "
                                                           "after every gate, 0..1 (Monte-Carlo trajectories)")
    parser.add_argument("--readout-error", type=float, help="QNN: the measured bit flips with probability q, 0..0.5")
    parser.add_argument("--trajectories", type=int, help="--depolarizing: noise trajectories per output (default 16)")


def add_xxz_representation(parser: argparse.ArgumentParser) -> None:
    """How the XXZ states are laid out on the Δ axis and represented (``specs.XXZData``)."""
    parser.add_argument("--layout", choices=XXZ_LAYOUTS, help="XXZ Δ points: grid (--n-grid on [0, 2], --window) or "
                                                           "windows (the authors' two windows, 41 + 42 states per phase)")
    parser.add_argument("--gauge", choices=XXZ_GAUGES, help="XXZ states: fixed sign, a random sign per state, or a random "
                                                         "global phase per state (complex; the MLP sees [Re, Im])")
    parser.add_argument("--data-seed", type=int, help="XXZ --gauge sign/phase: the seed of the random signs or phases")


def add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the jobs of a batch command run (``backends.parallel_map``)."""
    parser.add_argument("--backend", choices=BACKENDS, default="local",
                        help="local worker processes, a Dask cluster or a Ray cluster")
    parser.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (default: a local cluster)")
    parser.add_argument("--address", help="Ray cluster address, e.g. 10.0.0.5:6379 (default: a local Ray)")


def add_grid_arguments(parser: argparse.ArgumentParser, runs: int, out_help: str) -> None:
    """The options every α-grid batch command shares: runs, workers, output, progress, backend."""
    parser.add_argument("--runs", type=int, default=runs)
    parser.add_argument("--jobs", type=int, default=2, help="parallel worker processes")
    parser.add_argument("--out", type=pathlib.Path, required=True, help=out_help)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_backend_arguments(parser)


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """The data options of the unlearning commands (their training follows protocol §4)."""
    parser.add_argument("--dataset", choices=DATASETS, help="mnist (default), xxz, or upload (implied by --data-file)")
    parser.add_argument("--data-file", type=pathlib.Path, metavar="PATH", help="your own data (.csv or .npz), as for train")
    parser.add_argument("--digits", type=int_tuple, help="MNIST digit pair, e.g. 1,9")
    parser.add_argument("--spins", type=int, help="XXZ chain length (6, 8, 10, 12)")
    add_xxz_representation(parser)


CATALOGUE_MODEL_HELP = ("qnn, mlp (protocol §4's models) or any capacity-catalogue id: logreg, matched, mlp-es, "
                        "qnn-d10, logreg-correlators, ... (python -m qml_core capacity --help lists them)")
CURVATURE_SETTINGS = ("protocol", "catalogue")


def names(allowed):
    """Parse 'a,b' into a list, each checked against ``allowed``."""
    def parse(text: str) -> list[str]:
        items = text.split(",")
        for item in items:
            if item not in allowed:
                raise argparse.ArgumentTypeError(f"{item!r} is not one of {', '.join(allowed)}")
        return items
    return parse


def program() -> str:
    """How the user started the CLI: ``qml-lab`` (the installed script) or ``python -m qml_core``."""
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return "python -m qml_core" if name in ("", "-c", "__main__.py", "-m") else name


def make_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog=program(), description=__doc__.splitlines()[0],
                           epilog="\"protocol §N\" names section N of docs/protocol.md, the experimental protocol.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    train = sub.add_parser("train", help="train one model on (poisoned) data")
    add_spec_arguments(train)
    train.add_argument("--model", choices=MODELS, default="qnn")
    train.add_argument("--attack", choices=ATTACKS, default="label-flip")
    train.add_argument("--alpha", type=float, default=0.0)
    train.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
    train.add_argument("--json", action="store_true", help="print the result as JSON")
    train.set_defaults(func=cmd_train)
    sweep = sub.add_parser("sweep", help="α grid × runs × models × attacks, in parallel")
    add_spec_arguments(sweep)
    sweep.add_argument("--models", type=names(MODELS), default=list(MODELS))
    sweep.add_argument("--attacks", type=names(ATTACKS), default=["label-flip"])
    sweep.add_argument("--alphas", type=float_list, default=float_list("0:0.9:0.1"))
    add_grid_arguments(sweep, 5, "results file, .csv or .json")
    sweep.set_defaults(func=cmd_sweep)
    capacity = sub.add_parser("capacity", help="is it quantum or capacity? accuracy at α and critical α of "
                                               "QNN depths, MLP sizes, regularised, logistic and parameter-matched "
                                               "models, and (XXZ) classical models on measurements")
    add_data_arguments(capacity)
    capacity.add_argument("--preset", choices=PRESETS, default="paper")
    capacity.add_argument("--attack", choices=ATTACKS, default="label-flip")
    capacity.add_argument("--alpha", type=float, default=0.3, help="the α of the accuracy columns")
    capacity.add_argument("--alphas", type=float_list, default=float_list("0:0.9:0.1"), help="grid for the critical α")
    capacity.add_argument("--variants", type=lambda text: text.split(","),
                          help="comma-separated variant ids (default: the whole catalogue; see qml_core/experiments/capacity.py)")
    capacity.add_argument("--seed", type=int, default=0)
    add_feature_arguments(capacity)
    add_grid_arguments(capacity, 3, ".csv (the table) or .json (table and runs)")
    capacity.set_defaults(func=cmd_capacity)
    unlearn = sub.add_parser("unlearn", help="unlearning methods after label flipping, compared with retraining")
    add_data_arguments(unlearn)
    unlearn.add_argument("--model", default="qnn", help=CATALOGUE_MODEL_HELP)
    unlearn.add_argument("--preset", choices=PRESETS, default="paper")
    unlearn.add_argument("--alpha", type=float, default=0.3)
    unlearn.add_argument("--methods", type=names(UNLEARN_METHODS), default=["retrain", "finetune", "scrub", "grad-ascent"])
    unlearn.add_argument("--runs", type=int, default=5)
    unlearn.add_argument("--seed", type=int, default=0, help="run r uses seed + r")
    unlearn.add_argument("--epochs", type=int)
    unlearn.add_argument("--lr", type=float)
    unlearn.add_argument("--w-kl", type=float)
    unlearn.add_argument("--w-fo", type=float)
    unlearn.add_argument("--jobs", type=int, default=2)
    unlearn.add_argument("--out", type=pathlib.Path, required=True, help=".csv (rows) or .json (rows, summary, trajectories)")
    unlearn.add_argument("--quiet", action="store_true")
    add_backend_arguments(unlearn)
    unlearn.set_defaults(func=cmd_unlearn)
    grid = sub.add_parser("unlearn-grid", help="SCRUB / gradient-ascent weight sweep: final validation accuracy grid")
    grid.add_argument("--method", choices=["scrub", "grad-ascent"], default="scrub")
    grid.add_argument("--weights", type=float_list, default=float_list("0:0.9:0.1"))
    add_data_arguments(grid)
    for name, kwargs in [("--model", dict(default="qnn", help=CATALOGUE_MODEL_HELP)),
                         ("--preset", dict(choices=PRESETS, default="paper")), ("--alpha", dict(type=float, default=0.3)),
                         ("--runs", dict(type=int, default=1)), ("--seed", dict(type=int, default=0)),
                         ("--epochs", dict(type=int)), ("--jobs", dict(type=int, default=2)),
                         ("--out", dict(type=pathlib.Path, required=True))]:
        grid.add_argument(name, **kwargs)
    grid.add_argument("--quiet", action="store_true")
    add_backend_arguments(grid)
    grid.set_defaults(func=cmd_unlearn_grid)
    hessian = sub.add_parser("hessian", help="protocol §5: Hessian spectra and trace ratios poisoned/clean")
    hessian.add_argument("--setting", choices=CURVATURE_SETTINGS, default="protocol",
                         help="protocol: §5's MLP (8, 2) and CNOT-ring QNN on MNIST; catalogue: any capacity-catalogue "
                              "model on mnist or xxz, trained at its own settings (the phase diagram's runs)")
    hessian.add_argument("--models", type=lambda text: text.split(","), default=list(MODELS),
                         help="qnn,mlp (protocol) or catalogue ids, e.g. qnn,mlp,logreg,matched,mlp-es")
    hessian.add_argument("--dataset", choices=("mnist", "xxz"), default="mnist", help="catalogue setting only")
    hessian.add_argument("--preset", choices=PRESETS, default="paper", help="catalogue setting only")
    hessian.add_argument("--alphas", type=float_list, default=[0.2, 0.3, 0.4], help="poisoned fractions (clean is added)")
    hessian.add_argument("--runs", type=int, default=5, help="seeds 0..runs-1")
    hessian.add_argument("--epochs", type=int)
    hessian.add_argument("--jobs", type=int, default=2)
    hessian.add_argument("--out", type=pathlib.Path, required=True)
    hessian.add_argument("--quiet", action="store_true")
    add_backend_arguments(hessian)
    hessian.set_defaults(func=cmd_hessian)
    repro = sub.add_parser("reproduce", help="protocol §2-5 on MNIST and XXZ: an HTML report with every figure and §6 claim")
    repro.add_argument("--figures", choices=("all", *GROUPS), default="all",
                       help="all: every group but device; device: the QNN with finite shots and depolarising noise on "
                            "both datasets (docs/device.md)")
    repro.add_argument("--preset", choices=PRESETS, default="paper")
    repro.add_argument("--out", type=pathlib.Path, required=True, help="directory for report.html and the raw CSV/JSON")
    repro.add_argument("--jobs", type=int, default=2)
    repro.add_argument("--quiet", action="store_true")
    add_backend_arguments(repro)
    repro.set_defaults(func=cmd_reproduce)
    prep = sub.add_parser("prepare-lesson", help="compute every view the teacher-mode lesson opens, ahead of a class "
                                                 "(resumable; docs/teaching.md)")
    prep.add_argument("--preset", choices=PRESETS, default="paper")
    prep.add_argument("--jobs", type=int, default=2, help="parallel worker processes")
    prep.add_argument("--quiet", action="store_true", help="no progress bar")
    prep.set_defaults(func=cmd_prepare_lesson)
    land = sub.add_parser("landscape", help="loss landscape around a §5 solution (interpolation, 1-D or 2-D slice)")
    land.add_argument("--model", choices=MODELS, default="mlp")
    land.add_argument("--alpha", type=float, default=0.3)
    land.add_argument("--seed", type=int, default=0)
    land.add_argument("--epochs", type=int, default=50)
    land.add_argument("--kind", choices=["interpolate", "slice1d", "slice2d"], default="slice2d")
    land.add_argument("--directions", choices=["random", "hessian"], default="random")
    land.add_argument("--span", type=float, default=1.0)
    land.add_argument("--grid", type=int, default=41)
    land.add_argument("--out", type=pathlib.Path, required=True, help="results file (.json)")
    land.set_defaults(func=cmd_landscape)
    return parser


def error_line(message) -> str:
    """``error: message`` as one line: control characters that a value may carry (a newline, a
    terminal escape) are shown escaped."""
    return "error: " + "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(message))


class Terminated(KeyboardInterrupt):
    """SIGTERM: a command stops as it does on Ctrl-C (finished runs stay in the cache, local
    workers are stopped), instead of dying silently."""


def on_sigterm(signum, frame):
    raise Terminated()


def resume_line(exc, argv: list[str]) -> str:
    """The line for a cluster lost or a disk full mid-run: where, why, how many runs are safe,
    how to resume."""
    done = (f"{exc.progress[0]} of {exc.progress[1]} runs finished and are cached" if exc.progress
            else "the runs that finished are cached")
    return f"{exc}: {done}; run the same command again to resume: {program()} {shlex.join(argv)}"


def main(argv=None) -> int:
    handler = signal.signal(signal.SIGTERM, on_sigterm) if threading.current_thread() is threading.main_thread() else None
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = make_parser().parse_args(attach_negative_values(argv))
        return args.func(args)
    except (UsageError, SpecError) as exc:
        print(error_line(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        what = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
        print(f"{what}: finished runs are in the cache; run the same command again to resume", file=sys.stderr)
        return 128 + (signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)
    except Exception as exc:  # a failed run (divergence, bad data, a file that cannot be written): one line
        from qml_core.runtime.backends import BackendError, ClusterLost
        from qml_core.store.faults import DiskFull
        from qml_core.training.train import TrainingDiverged

        if isinstance(exc, (ClusterLost, DiskFull)):
            print(error_line(resume_line(exc, argv)), file=sys.stderr)
            return 1
        if isinstance(exc, (TrainingDiverged, ValueError, BackendError, OSError)):
            print(error_line(exc), file=sys.stderr)
            return 1
        if os.environ.get("QML_LAB_DEBUG"):
            raise
        print(error_line(f"internal error, please report it: {type(exc).__name__}: {exc} "
                         "(QML_LAB_DEBUG=1 shows the traceback)"), file=sys.stderr)
        return 1
    finally:
        if handler is not None:
            signal.signal(signal.SIGTERM, handler)
