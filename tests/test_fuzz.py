"""Property-based tests: no spec field, preset argument or command line produces a traceback.

``benchmarks/fuzz_count.py`` runs the same checks on thousands of inputs and counts them.
"""
import pytest
from fuzz_inputs import (argv_inputs, check_argv, check_preset_input, check_spec_input, no_compute, preset_inputs,
                         spec_inputs)
from hypothesis import HealthCheck, given, settings

from qml_core import specs
from qml_core.cli.main import main
from qml_core.experiments.curvature import CurvatureSpec
from qml_core.experiments.unlearn import UnlearnSpec
from qml_core.specs import ExperimentSpec

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(spec_inputs())
def test_spec_fields_raise_only_spec_errors_naming_the_field(spec_input):
    assert check_spec_input(*spec_input) is None


@FAST
@given(preset_inputs())
def test_preset_raises_only_spec_errors_naming_the_argument(preset_input):
    assert check_preset_input(*preset_input) is None


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def test_command_lines_exit_cleanly(fuzz_dir):
    @FAST
    @given(argv_inputs(fuzz_dir))
    def exits_cleanly(argv):
        assert check_argv(argv) is None
    with no_compute(fuzz_dir):  # once around all examples: patching is slower than most examples
        exits_cleanly()


@pytest.mark.parametrize("argv,needle", [
    (["sweep", "--alphas", "0:1:0"], "--alphas"),  # ZeroDivisionError
    (["sweep", "--alphas", "1:0:0.1"], "--alphas"),  # an empty list, then IndexError writing no rows
    (["sweep", "--alphas", "0:1:1e-300"], "--alphas"),  # 1e300 values
    (["sweep", "--alphas", "0:inf:1"], "--alphas"),  # OverflowError
    (["sweep", "--runs", "100000000"], "runs"),
    (["sweep", "--jobs", "100000"], "jobs"),
    (["sweep", "--scheduler", "tcp://x:1"], "--scheduler"),  # after a progress bar was drawn
    (["sweep", "--out", "."], "--out"),
    (["train", "--device", "quantum"], "device"),  # RuntimeError from torch mid-run
    (["hessian", "--epochs", "0"], "epochs"),  # silently ignored
    (["unlearn-grid", "--epochs", "0"], "epochs"),  # silently ignored
    (["unlearn-grid", "--weights", "0:1:0.001"], "--weights"),
    (["train", "stray\nline\x1b[2J"], "stray\\nline\\x1b[2J"),  # two error lines, a terminal escape
])
def test_bad_values_found_by_fuzzing_are_one_line_naming_the_option(argv, needle, fuzz_dir, capsys):
    if "--out" not in argv and argv[0] != "train":
        argv = [*argv, "--out", str(fuzz_dir / "out.json")]
    with no_compute(fuzz_dir):
        assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and needle in err and len(err.split("\n")) == 1


@pytest.mark.parametrize("make,match", [
    (lambda: specs.preset("paper", "mnist", "qnn", colour=1), "colour is not a setting of dataset mnist"),  # TypeError
    (lambda: specs.preset("paper", "xxz", "qnn", digits=(1, 9)), "digits is not a setting of dataset xxz"),
    (lambda: specs.XXZData(spins=6.0), "spins must be one of"),  # accepted, a different cache key than 6
    (lambda: specs.MnistData(digits=(True, False)), "digits must be two integers"),  # accepted
    (lambda: specs.MLPModel(hidden=(True,)), "hidden must be"),  # accepted
    (lambda: UnlearnSpec(ExperimentSpec(), method=["scrub"]), "method must be one of"),  # TypeError: unhashable
    (lambda: CurvatureSpec(digits=b"19"), "digits must be two integers"),  # accepted, then no key (bytes)
    (lambda: CurvatureSpec(digits=(3, 3)), "digits must be two different digits"),  # accepted
    (lambda: ExperimentSpec(training=b""), "training must be a Training"),  # accepted, then no key
])
def test_spec_values_found_by_fuzzing_raise_spec_errors(make, match):
    with pytest.raises(specs.SpecError, match=match):
        make()
