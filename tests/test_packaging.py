"""The installable package (pyproject.toml, setup.py): metadata that agrees with the
requirements files and the cache's VERSION, and a wheel that holds every module, the MNIST copy
and the ``qml-lab`` command."""
import importlib
import pathlib
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile

import pytest

from qml_core.data import mnist
from qml_core.store import cache

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def requirement_lines(name: str) -> list[str]:
    """The pins of a requirements file, without comments and ``-r`` includes."""
    lines = (line.split("#")[0].strip() for line in (ROOT / name).read_text().splitlines())
    return [line for line in lines if line and not line.startswith("-r")]


def test_version_is_the_cache_version():
    assert PROJECT["version"] == cache.VERSION


def test_dependencies_are_the_requirements_files():
    assert PROJECT["dependencies"] == requirement_lines("requirements.txt")
    extras = PROJECT["optional-dependencies"]
    cluster = [r for r in requirement_lines("requirements-dev.txt") if re.match(r"(dask|ray)\b", r)]
    assert extras["cluster"] == cluster
    assert sorted(extras["dev"]) == sorted([*set(requirement_lines("requirements-dev.txt")) - set(cluster),
                                            "qml-lab[cluster]"])


def test_the_command_is_a_function_of_the_package():
    module, _, name = PROJECT["scripts"]["qml-lab"].partition(":")
    assert callable(getattr(importlib.import_module(module), name))


def test_a_checkout_finds_the_shipped_mnist():
    assert mnist.shipped_mnist() == ROOT / "data" / "mnist.npz" and mnist.MNIST_FILE.exists()


def test_wheel_holds_every_module_the_mnist_copy_and_the_command(tmp_path):
    """Built from a copy of the sources (the build leaves build/ and *.egg-info where it runs),
    offline: with the setuptools installed here, as pyproject.toml's build-system asks."""
    pytest.importorskip("setuptools", minversion="77")
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "qml_core", source / "qml_core", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "data", source / "data")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path / "dist"), str(source)], check=True, capture_output=True, timeout=300)
    [wheel] = (tmp_path / "dist").glob("qml_lab-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "qml_core").rglob("*.py") if "__pycache__" not in p.parts}
    assert modules <= names and "qml_core/_data/mnist.npz" in names
    [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    assert f"qml-lab = {PROJECT['scripts']['qml-lab']}" in zipfile.ZipFile(wheel).read(entry_points).decode()
