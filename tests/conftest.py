"""Shared fixtures: a private result cache per test and tiny experiment specs."""
import pathlib
import shutil

import pytest

from qml_core.specs import ExperimentSpec, MLPModel, MnistData, QNNModel, Training
from qml_core.store import cache, disk


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Every test gets an empty cache directory of its own. App pages do not rerun themselves
    while jobs run (AppTest follows reruns inside one run; ``settle`` reruns instead)."""
    monkeypatch.setenv("QML_LAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("QML_LAB_PAGE_POLL", "0")
    disk.open_store.cache_clear()
    yield tmp_path / "cache"
    disk.open_store.cache_clear()


TINY_DATA = MnistData(digits=(1, 9), n_train_per_class=12, n_val=20)


@pytest.fixture
def tiny_qnn_spec() -> ExperimentSpec:
    """A QNN run of well under a second: 24 MNIST samples, depth 1, 2 epochs."""
    return ExperimentSpec(data=TINY_DATA, model=QNNModel(depth=1), training=Training(2, 8, 0.05),
                          attack="label-flip", alpha=0.5, seed=3)


@pytest.fixture
def tiny_mlp_spec() -> ExperimentSpec:
    return ExperimentSpec(data=TINY_DATA, model=MLPModel(hidden=(8,)), training=Training(3, 8, 0.01),
                          attack="label-flip", alpha=0.5, seed=3)


@pytest.fixture
def code_snapshot(tmp_path):
    """A copy of qml_core (data linked) for subprocesses to run from: the code version, part of
    every cache key, then stays the same in all of them even while the tree is being edited."""
    root = pathlib.Path(__file__).resolve().parent.parent
    shutil.copytree(root / "qml_core", tmp_path / "code" / "qml_core", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "code" / "data").symlink_to(root / "data")
    return tmp_path / "code"
