"""The resource guard: memory estimates that follow the code, and a refusal before any work
when a run would not fit (the available memory is monkeypatched, so results do not depend on
the machine)."""
import pytest

from qml_core.cli.main import main
from qml_core.experiments import experiment
from qml_core.runtime import resources
from qml_core.runtime.resources import ResourceError, check_resources, estimate_bytes, estimate_parts
from qml_core.specs import MLPModel, MnistData, QNNModel, SpecError, Training, preset

GB = 2 ** 30
HUGE_DATA = MnistData(n_train_per_class=5000, n_val=2000)


@pytest.fixture
def memory(monkeypatch):
    """Set the memory the guard sees: memory(bytes)."""
    def set_available(n: int) -> None:
        monkeypatch.setattr(resources, "available_bytes", lambda device=None: n)
    return set_available


def test_normal_specs_pass(memory, tiny_qnn_spec, tiny_mlp_spec):
    memory(2 * GB)
    for spec in (tiny_qnn_spec, tiny_mlp_spec, preset("paper", "mnist", "qnn"), preset("paper", "mnist", "mlp")):
        assert 0 < check_resources(spec) < 1 * GB


def test_huge_qnn_is_refused_with_estimate_and_available(memory):
    spec = preset("paper", "mnist", "qnn").replace(data=HUGE_DATA, model=QNNModel(depth=50))
    memory(8 * GB)
    assert estimate_parts(spec)["states"] > 15 * GB  # 10000 samples x 1024 amplitudes x 104 states x 16 B
    with pytest.raises(ResourceError, match=r"needs about 1\d\.\d\d GB .*mostly the QNN's state vectors.* "
                                            r"but 8\.00 GB is available") as info:
        check_resources(spec)
    assert isinstance(info.value, SpecError) and "\n" not in str(info.value)


def test_huge_mlp_and_parallel_copies_are_refused(memory):
    memory(4 * GB)
    wide = preset("paper", "mnist", "mlp").replace(model=MLPModel(hidden=(4096,) * 6))
    with pytest.raises(ResourceError, match="mostly the MLP's weights and optimiser state"):
        check_resources(wide)
    spec = preset("paper", "mnist", "qnn")
    one = check_resources(spec)
    with pytest.raises(ResourceError, match="for 16 parallel runs .*or fewer jobs"):
        check_resources(spec, copies=16)
    assert one * 16 > 0.8 * 4 * GB


def test_estimate_follows_the_executor():
    base = preset("paper", "mnist", "qnn").replace(training=Training(1, 64, 0.01))
    deep = base.replace(model=QNNModel(depth=12))
    assert estimate_parts(deep)["states"] > 1.7 * estimate_parts(base)["states"]  # two saved states per layer
    pennylane = base.replace(model=QNNModel(depth=6, executor="default.qubit"))
    assert estimate_parts(pennylane)["states"] > estimate_parts(base)["states"]  # backprop keeps every gate's state
    xxz = preset("paper", "xxz", "qnn")
    assert estimate_parts(xxz)["data"] > 80 * 4096 * 8  # 12-spin states are 4096 amplitudes wide


def test_training_is_refused_before_any_data_is_loaded(memory, monkeypatch, tiny_qnn_spec):
    memory(1 << 20)

    def no_loading(*args, **kwargs):
        raise AssertionError("data was loaded before the resource check")
    monkeypatch.setattr(experiment, "load_dataset", no_loading)
    with pytest.raises(ResourceError, match="but 0.00 GB is available"):
        experiment.run_experiment(tiny_qnn_spec)


def test_cli_refuses_in_one_line(memory, capsys):
    memory(1 << 20)
    assert main(["train", "--model", "mlp", "--hidden", "4", "--n-train-per-class", "8", "--n-val", "16",
                 "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: this run needs about")


def test_available_memory_is_read_from_the_system():
    have = resources.available_bytes()
    assert isinstance(have, int) and have > 64 * 2 ** 20
    assert estimate_bytes(preset("quick", "mnist", "qnn")) < estimate_bytes(preset("paper", "mnist", "qnn"))
