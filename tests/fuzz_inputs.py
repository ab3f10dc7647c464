"""Fuzzing the entry points: hypothesis strategies for spec fields, ``preset`` arguments and
command lines, and the checks each input must pass. Shared by ``tests/test_fuzz.py`` (a few
hundred examples per run) and ``benchmarks/fuzz_count.py`` (thousands, with a count).

A check returns None when the input was handled as promised, else a description of what
went wrong (a traceback, an error message that names no field, an exit code outside 0/1/2).
"""
import collections
import contextlib
import dataclasses
import io
import json
import os
import pathlib
import traceback
from unittest import mock

from hypothesis import strategies as st

from qml_core import specs
from qml_core.cli.main import main, make_parser
from qml_core.experiments.curvature import CurvatureSpec
from qml_core.experiments.landscape import KINDS, LandscapeSpec
from qml_core.experiments.unlearn import METHODS, UnlearnSpec
from qml_core.specs import ExperimentSpec, SpecError

GARBAGE = st.one_of(
    st.integers(), st.integers(min_value=-2 ** 80, max_value=2 ** 80), st.floats(), st.booleans(), st.none(),
    st.text(max_size=6), st.binary(max_size=4), st.tuples(st.integers(-2, 12), st.integers(-2, 12)),
    st.lists(st.integers(-2, 5000), max_size=7).map(tuple), st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1), st.sampled_from([float("nan"), float("inf"), -0.0]))
CHOICES = {"ansatz": specs.ANSATZE, "executor": specs.EXECUTORS, "attack": specs.ATTACKS, "kind": KINDS,
           "directions": ("random", "hessian"), "method": tuple(METHODS), "model": specs.MODELS,
           "digest": ("0123456789abcdef" * 4,)}
NESTED = {"data": [specs.MnistData(), specs.XXZData(), "mnist"], "model": [specs.QNNModel(), specs.MLPModel(), "qnn"],
          "training": [specs.Training(), specs.Training(3, 8, 0.1)], "poisoned": [ExperimentSpec()]}
SPEC_CLASSES = [specs.MnistData, specs.XXZData, specs.QNNModel, specs.MLPModel, specs.Training, ExperimentSpec,
                UnlearnSpec, CurvatureSpec, LandscapeSpec] + ([specs.UploadData] if hasattr(specs, "UploadData") else [])


def mostly(good: st.SearchStrategy, bad: st.SearchStrategy = GARBAGE, odds: int = 3) -> st.SearchStrategy:
    """``good`` ``odds`` times for each ``bad`` (a plain one_of would flatten ``bad``'s many
    branches and pick ``good`` rarely)."""
    return st.integers(0, odds).flatmap(lambda i: bad if i == 0 else good)


def plausible(name: str, default):
    """Values near the valid range of one field, so that validation passes often enough to
    reach the code after it."""
    if name in CHOICES:
        return st.sampled_from(CHOICES[name])
    if name in NESTED:
        return st.sampled_from(NESTED[name])
    if isinstance(default, bool):
        return st.booleans()
    if isinstance(default, int):
        return st.integers(-3, 3 * default + 10)
    if isinstance(default, float):
        return st.floats(-0.5, 3 * default + 1.0)
    if isinstance(default, tuple):
        return st.lists(st.integers(-1, 10), min_size=1, max_size=3).map(tuple)
    return st.just(default)


def field_values(fields: dict) -> st.SearchStrategy:
    """kwargs for a subset of ``fields`` (name -> default, or MISSING for a required field):
    each given field plausible or garbage; required fields always given."""
    def value(name, default):
        return mostly(plausible(name, default))
    required = {n: value(n, d) for n, d in fields.items() if d is dataclasses.MISSING}
    optional = {n: value(n, d) for n, d in fields.items() if d is not dataclasses.MISSING}
    return st.fixed_dictionaries(required, optional=optional)


def init_fields(cls) -> dict:
    out = {}
    for f in dataclasses.fields(cls):
        if f.init:
            out[f.name] = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
    return out


def spec_inputs() -> st.SearchStrategy:
    """(spec class, kwargs) for every spec class."""
    return st.one_of([field_values(init_fields(cls)).map(lambda kw, cls=cls: (cls, kw)) for cls in SPEC_CLASSES])


DATA_OPTIONS = {"digits": (1, 9), "n_train_per_class": 50, "n_val": 200, "spins": 6, "n_grid": 161, "window": 0.1,
                "digest": "", "val_fraction": 0.3, "colour": 0}


def preset_inputs() -> st.SearchStrategy:
    """(name, dataset, model, data options) for ``preset``."""
    return st.tuples(*(mostly(st.sampled_from(choices)) for choices in (specs.PRESETS, specs.DATASETS, specs.MODELS)),
                     field_values(DATA_OPTIONS))


def check_spec(make, fields) -> str | None:
    """``make()`` must build a spec whose key works, or raise SpecError naming one of ``fields``."""
    try:
        made = make()
        json.dumps(dataclasses.asdict(made))  # the canonical form that keys are hashed from
    except SpecError as exc:
        if not any(name in str(exc) for name in fields):
            return f"SpecError that names no field of {sorted(fields)}: {exc}"
        return None
    except Exception:  # noqa: BLE001 - anything else is the bug being looked for
        return f"{sorted(fields)}\n{traceback.format_exc()}"
    return None


def check_spec_input(cls, kwargs) -> str | None:
    return check_spec(lambda: cls(**kwargs), set(init_fields(cls)))


def check_preset_input(name, dataset, model, options) -> str | None:
    return check_spec(lambda: specs.preset(name, dataset, model, **options),
                      {"preset", "dataset", "model", *options})


# --- command lines -----------------------------------------------------------------------

class ReachedCompute(BaseException):
    """Raised by the stand-ins of the expensive entry points: the command line passed every
    check and would now compute. A BaseException, so that ``main`` does not turn it into an
    error line."""


REACHED = collections.Counter()  # compute entry point -> how many command lines got that far


def stand_in(target: str):
    def reached(*args, **kwargs):
        REACHED[target.rsplit(".", 1)[1]] += 1
        raise ReachedCompute
    return reached


COMPUTE_ENTRY_POINTS = ["qml_core.experiments.experiment.run_experiment", "qml_core.experiments.sweep.run_sweep",
                        "qml_core.cli.commands.map_with_bar", "qml_core.experiments.landscape.run_landscape",
                        "qml_core.reporting.reproduce.reproduce"]


@contextlib.contextmanager
def no_compute(directory: pathlib.Path):
    """Every compute entry point replaced by ``ReachedCompute``; cache and data in ``directory``."""
    with contextlib.ExitStack() as stack:
        for target in COMPUTE_ENTRY_POINTS:
            stack.enter_context(mock.patch(target, stand_in(target)))
        stack.enter_context(mock.patch.dict(os.environ, {"QML_LAB_CACHE": str(directory / "cache"),
                                                         "QML_LAB_DATA": str(directory / "data")}))
        yield


def subcommands() -> dict:
    """subcommand -> its argparse actions (taken from the real parser, so new options are fuzzed too)."""
    sub = next(a for a in make_parser()._actions if a.choices and isinstance(a.choices, dict))
    return {name: [a for a in parser._actions if a.option_strings and a.dest != "help"]
            for name, parser in sub.choices.items()}


NUMBER_TEXT = st.one_of(st.integers(-3, 12).map(str), st.integers().map(str), st.integers(-2 ** 80, 2 ** 80).map(str),
                        st.floats().map(repr), st.sampled_from(["nan", "inf", "-inf", "1e400", "0.0", "1e-300", "", " "]))
JUNK = st.text(max_size=6)
LISTS = {"models": specs.MODELS, "attacks": specs.ATTACKS, "methods": tuple(METHODS)}


def option_values(action, directory: pathlib.Path) -> st.SearchStrategy:
    """Text for one option: mostly a plausible value for its type or choices, else junk."""
    dest = action.dest
    if action.choices:
        good = st.sampled_from([str(c) for c in action.choices])
    elif dest in LISTS:
        good = st.lists(st.sampled_from(LISTS[dest] + ("",)), min_size=1, max_size=3).map(",".join)
    elif dest in ("alphas", "weights"):
        numbers = st.floats(-0.2, 1.2).map(lambda v: f"{v:.2f}")
        good = st.one_of(st.lists(numbers, min_size=1, max_size=4).map(",".join),
                         st.tuples(NUMBER_TEXT, NUMBER_TEXT, NUMBER_TEXT).map(":".join))
    elif dest in ("digits", "hidden"):
        good = st.lists(st.integers(-1, 12).map(str), min_size=0, max_size=3).map(",".join)
    elif dest in ("out", "data_file"):
        names = mostly(st.sampled_from(["r.csv", "a/b.json"]), st.sampled_from(["", "..", "r.npz", "r.txt", "a/.csv"]))
        return names.map(lambda name: str(directory / "out" / name))
    elif action.type is int:
        good = st.integers(-1, max(20, 2 * (action.default or 0))).map(str)
    elif action.type is float:
        good = st.floats(-0.1, 1.1).map(lambda v: f"{v:.3g}")
    else:
        good = JUNK
    return mostly(good, st.one_of(JUNK, NUMBER_TEXT), odds=7)


def argv_inputs(directory: pathlib.Path) -> st.SearchStrategy:
    """A subcommand, then some of its real options (each with a fuzzed value), maybe a stray token."""
    def for_command(name, actions):
        def option(action):
            if action.nargs == 0:
                return st.just([action.option_strings[-1]])
            return option_values(action, directory).map(lambda v: [action.option_strings[-1], v])
        options = st.lists(st.sampled_from(actions), max_size=6, unique_by=lambda a: a.dest).flatmap(
            lambda chosen: st.tuples(*[option(a) for a in chosen]))
        stray = mostly(st.just([]), st.lists(st.one_of(JUNK, st.sampled_from(["--", "-x", "--jobs"])), max_size=1), 7)
        out = option_values(next(a for a in actions if a.dest == "out"), directory) if any(
            a.dest == "out" for a in actions) else st.none()
        return st.tuples(options, out, stray).map(
            lambda t: [name, *[tok for pair in t[0] for tok in pair], *(["--out", t[1]] if t[1] else []), *t[2]])
    return st.one_of([for_command(n, acts) for n, acts in subcommands().items()])


def check_argv(argv: list[str]) -> str | None:
    """``main(argv)`` with compute stubbed out: exit 0/1/2 (or the compute stand-in reached),
    never an escaping exception, and status 2 comes with exactly one ``error:`` line."""
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except ReachedCompute:
        return None
    except SystemExit as exc:  # argparse's own exit (only --help prints and exits 0)
        code = exc.code
    except BaseException:  # noqa: BLE001 - the traceback the fuzzer looks for
        return f"{argv!r}\n{traceback.format_exc()}"
    lines = err.getvalue().strip().split("\n")  # not splitlines(): a value may hold \v or \x1c
    if code not in (0, 1, 2):
        return f"{argv!r}: exit code {code!r}"
    if "Traceback" in err.getvalue() or any("internal error" in line for line in lines):
        return f"{argv!r}: {err.getvalue()}"
    if code == 2 and (len(lines) != 1 or not lines[0].startswith("error: ")):
        return f"{argv!r}: exit 2 without one error line: {err.getvalue()!r}"
    return None
