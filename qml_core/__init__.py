"""qml_core: data poisoning and machine unlearning in quantum versus classical ML.

A plain Python library (no UI imports): data (MNIST pairs, XXZ ground states), poisoning,
a PennyLane QNN on a fast proven executor, a torch MLP, one training loop, cached experiments
and sweeps, unlearning methods, Hessian spectra and loss landscapes. Heavy modules (torch,
PennyLane) load on first use of a name that needs them, so that ``python -m qml_core`` answers
cached requests quickly.

Layers, top to bottom; a subpackage imports only from the layers below it, as its docstring's
"Imports from:" line lists (tests/test_layering.py holds the code to those lines)::

    cli           python -m qml_core: the parser and its commands
    reporting     figures, captions, the reproduction and its HTML report
    experiments   experiment, sweep, unlearning, curvature, landscape, phase, claims, capacity
    runtime       background jobs, batch backends, memory, CPU load, ETA, prefetch, lifetime
    training      QNN and MLP modules, the Adam loop
    data | sim    datasets and poisoning | the PennyLane circuit, fused executor, kernels
    specs | store experiment specs | result cache, atomic output files

Example::

    from qml_core import preset, run_experiment
    result, cached = run_experiment(preset("quick", "mnist", "qnn").replace(alpha=0.3))
"""
import importlib

_EXPORTS = {
    "ExperimentSpec": "specs", "MnistData": "specs", "XXZData": "specs", "QNNModel": "specs",
    "MLPModel": "specs", "Training": "specs", "SpecError": "specs", "preset": "specs",
    "load_dataset": "data.datasets", "Dataset": "data.datasets", "poison": "data.poison", "Poisoned": "data.poison",
    "amplitude_encode": "data.encoding", "classical_view": "data.encoding",
    "make_qnode": "sim.circuits", "qnn_circuit": "sim.circuits", "FusedExecutor": "sim.executor",
    "make_executor": "sim.executor", "build_model": "training.models", "fit": "training.train",
    "TrainingDiverged": "training.train", "Cancelled": "training.train", "run_experiment": "experiments.experiment",
    "train_experiment": "experiments.experiment", "run_sweep": "experiments.sweep", "sweep_specs": "experiments.sweep",
    "open_cache": "store.cache", "code_version": "store.cache", "load_xxz": "data.xxz",
    "UnlearnSpec": "experiments.unlearn", "unlearn_preset": "experiments.unlearn", "run_unlearning": "experiments.unlearn", "METHODS": "experiments.unlearn",
    "unlearn_rows": "experiments.unlearn_summary", "summary_table": "experiments.unlearn_summary",
    "CurvatureSpec": "experiments.curvature", "run_curvature": "experiments.curvature", "trace_ratios": "experiments.curvature",
    "LandscapeSpec": "experiments.landscape", "run_landscape": "experiments.landscape",
    "exact_spectrum": "experiments.hessian", "lanczos": "experiments.hessian", "hutchinson_trace": "experiments.hessian", "slq_density": "experiments.hessian",
    "UploadData": "specs", "UploadError": "data.upload", "parse_upload": "data.upload", "save_upload": "data.upload",
    "ResourceError": "runtime.resources", "estimate_bytes": "runtime.resources", "check_resources": "runtime.resources",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'qml_core' has no attribute {name!r}")
