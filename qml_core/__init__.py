"""qml_core: data poisoning and machine unlearning in quantum versus classical ML.

A plain Python library (no UI imports): data (MNIST pairs, XXZ ground states), poisoning,
a PennyLane QNN on a fast proven executor (exact, or a device's shots and noise), a torch MLP, one training loop, cached experiments
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

_NAMES = {  # module -> the names ``from qml_core import name`` loads from it
    "specs": ("ExperimentSpec", "MnistData", "XXZData", "QNNModel", "MLPModel",
              "Training", "SpecError", "preset", "UploadData"),
    "data.datasets": ("load_dataset", "Dataset"),
    "data.poison": ("poison", "Poisoned"),
    "data.encoding": ("amplitude_encode", "classical_view"),
    "sim.circuits": ("make_qnode", "qnn_circuit"),
    "sim.executor": ("FusedExecutor", "make_executor"),
    "sim.device": ("QNNDevice",),
    "experiments.devices": ("device_variants", "device_summary"),
    "training.models": ("build_model",),
    "training.train": ("fit", "TrainingDiverged", "Cancelled"),
    "experiments.experiment": ("run_experiment", "train_experiment"),
    "experiments.sweep": ("run_sweep", "sweep_specs"),
    "store.cache": ("open_cache", "code_version"),
    "data.xxz": ("load_xxz",),
    "data.measurements": ("measure", "xxz_features"),
    "experiments.fair": ("fair_variants", "fair_claim", "fair_finding"),
    "experiments.unlearn": ("UnlearnSpec", "unlearn_preset", "run_unlearning", "METHODS"),
    "experiments.unlearn_summary": ("unlearn_rows", "summary_table"),
    "experiments.curvature": ("CurvatureSpec", "run_curvature", "trace_ratios"),
    "experiments.landscape": ("LandscapeSpec", "run_landscape"),
    "experiments.hessian": ("exact_spectrum", "lanczos", "hutchinson_trace", "slq_density"),
    "data.upload": ("UploadError", "parse_upload", "save_upload"),
    "runtime.resources": ("ResourceError", "estimate_bytes", "check_resources"),
}
_EXPORTS = {name: module for module, names in _NAMES.items() for name in names}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'qml_core' has no attribute {name!r}")
