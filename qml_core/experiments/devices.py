"""The QNN on chosen device settings as phase-diagram variants (curves beside the exact QNN),
and the per-setting summary that the report's device section and its finding read."""
import dataclasses

import numpy as np

from qml_core.experiments.capacity import Variant
from qml_core.specs import preset

# id -> (QNNModel fields, words for a legend); the ids are what a phase-diagram link names
DEVICE_SETTINGS = {
    "qnn-shots-10000": ({"shots": 10_000}, "QNN, 10 000 shots"),
    "qnn-shots-1000": ({"shots": 1000}, "QNN, 1 000 shots"),
    "qnn-shots-100": ({"shots": 100}, "QNN, 100 shots"),
    "qnn-p0.001": ({"depolarizing": 0.001}, "QNN, depolarising p = 0.001"),
    "qnn-p0.01": ({"depolarizing": 0.01}, "QNN, depolarising p = 0.01"),
    "qnn-p0.01-shots-1000": ({"depolarizing": 0.01, "shots": 1000}, "QNN, p = 0.01 and 1 000 shots"),
}


def device_variants(preset_name: str, dataset: str, **data_options) -> list[Variant]:
    """The paper's QNN on each of DEVICE_SETTINGS (family "QNN": they are quantum models)."""
    qnn = preset(preset_name, dataset, "qnn", **data_options)
    return [Variant("QNN", name, label, qnn.replace(model=dataclasses.replace(qnn.model, **fields)))
            for name, (fields, label) in DEVICE_SETTINGS.items()]


# the device table's cells: (shots or None for exact, depolarising p); docs/device.md shows its means
TABLE_SETTINGS = ((None, 0.0), (10_000, 0.0), (1000, 0.0), (100, 0.0), (None, 0.001), (1000, 0.001), (None, 0.01),
                  (1000, 0.01))


def table_jobs(preset_name: str, dataset: str, alphas, runs: int, trajectories: int) -> list[tuple]:
    """((shots, p), run, spec) for every cell of the device table: the preset's QNN on each of
    TABLE_SETTINGS at each α and run (seeded as a sweep seeds them); ``trajectories`` per
    output in the noisy cells."""
    from qml_core.experiments.sweep import sweep_specs

    base = preset(preset_name, dataset, "qnn")
    jobs = []
    for shots, p in TABLE_SETTINGS:
        model = dataclasses.replace(base.model, shots=shots, depolarizing=p,
                                    trajectories=trajectories if p else base.model.trajectories)
        jobs += [((shots, p), run, spec) for run, spec in sweep_specs([base.replace(model=model)], alphas, runs)]
    return jobs


def table_rows(dataset: str, jobs: list[tuple], rows: list[dict]) -> list[dict]:
    """The device table's rows (what ``device_summary`` reads) from ``table_jobs`` and the sweep
    rows of their runs, in the same order."""
    return [{"dataset": dataset, "shots": shots or "exact", "depolarizing": p,
             "trajectories": spec.model.trajectories if p else "", "alpha": spec.alpha, "run": run, "seed": spec.seed,
             **{k: row[k] for k in ("train_acc", "val_acc", "status", "cached")}, "seconds": round(row["seconds"], 2)}
            for ((shots, p), run, spec), row in zip(jobs, rows)]


def setting_name(shots, depolarizing: float) -> str:
    """A row's device in words: "exact", "1000 shots", "p = 0.01", "p = 0.01, 1000 shots"."""
    parts = ([f"p = {depolarizing:g}"] if depolarizing else []) + ([f"{shots} shots"] if shots not in (None, "", "exact") else [])
    return ", ".join(parts) or "exact"


def device_summary(rows: list[dict]) -> list[dict]:
    """Mean validation and train accuracy per (device, α) of rows with ``shots`` ("exact" or S)
    and ``depolarizing`` (as ``benchmarks/device_table.py`` writes them), in first-seen order."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((setting_name(row["shots"], float(row["depolarizing"])), float(row["alpha"])), []).append(row)
    return [{"device": device, "alpha": alpha, "runs": len(group),
             "val_acc_mean": float(np.mean([float(r["val_acc"]) for r in group])),
             "train_acc_mean": float(np.mean([float(r["train_acc"]) for r in group]))}
            for (device, alpha), group in groups.items()]
