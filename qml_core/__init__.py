"""qml_core: data poisoning and machine unlearning in quantum versus classical ML.

A plain Python library (no UI imports): data (MNIST pairs, XXZ ground states), poisoning,
a PennyLane QNN on a fast proven executor, a torch MLP, one training loop, cached experiments
and sweeps, unlearning methods, Hessian spectra and loss landscapes. Heavy modules (torch, PennyLane) load on first use of a name that needs them, so
that ``python -m qml_core`` answers cached requests quickly.

Example::

    from qml_core import preset, run_experiment
    result, cached = run_experiment(preset("quick", "mnist", "qnn").replace(alpha=0.3))
"""
import importlib

_EXPORTS = {
    "ExperimentSpec": "specs", "MnistData": "specs", "XXZData": "specs", "QNNModel": "specs",
    "MLPModel": "specs", "Training": "specs", "SpecError": "specs", "preset": "specs",
    "load_dataset": "datasets", "Dataset": "datasets", "poison": "poison", "Poisoned": "poison",
    "amplitude_encode": "encoding", "classical_view": "encoding",
    "make_qnode": "circuits", "qnn_circuit": "circuits", "FusedExecutor": "executor",
    "make_executor": "executor", "build_model": "models", "fit": "train",
    "TrainingDiverged": "train", "Cancelled": "train", "run_experiment": "experiment",
    "train_experiment": "experiment", "run_sweep": "sweep", "sweep_specs": "sweep",
    "open_cache": "cache", "code_version": "cache", "load_xxz": "xxz",
    "UnlearnSpec": "unlearn", "unlearn_preset": "unlearn", "run_unlearning": "unlearn", "METHODS": "unlearn",
    "unlearn_rows": "unlearn_summary", "summary_table": "unlearn_summary",
    "CurvatureSpec": "curvature", "run_curvature": "curvature", "trace_ratios": "curvature",
    "LandscapeSpec": "landscape", "run_landscape": "landscape",
    "exact_spectrum": "hessian", "lanczos": "hessian", "hutchinson_trace": "hessian", "slq_density": "hessian",
    "UploadData": "specs", "UploadError": "upload", "parse_upload": "upload", "save_upload": "upload",
    "ResourceError": "resources", "estimate_bytes": "resources", "check_resources": "resources",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'qml_core' has no attribute {name!r}")
