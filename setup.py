"""Build glue that pyproject.toml cannot express: the checkout's data/mnist.npz ships inside the
installed package as qml_core/_data/mnist.npz (qml_core.data.mnist looks there first), so the repo
keeps data/ at its root. Packages are discovered: qml_core and every subpackage."""
from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["qml_core", "qml_core.*"]), "qml_core._data"],
    package_dir={"qml_core._data": "data"},
    package_data={"qml_core._data": ["mnist.npz"]},
)
