"""Claims 2 and 3 against the controls (issue "all three claims"): unlearning and curvature
for the paper's models beside classical models that fit as little of the flipped labels, and
the quantum controls, on one dataset. Plain data in, plain data out; ``claims`` judges it.

A model that never fitted the flipped labels has little to unlearn, and a classical model
that does not memorise may still sharpen; so each row carries how much of the poison the
poisoned model fitted (``flip_fit``), and the verdicts compare the QNN only with classical
models that fit no more of it.

Example::

    out = run_claim_controls("quick", "mnist", ["qnn", "mlp", "logreg"], runs=1, alphas=(0.3,), mapper=mapper)
"""
from collections.abc import Callable

from qml_core.experiments.unlearn import PAPER_METHODS

UNLEARN_ALPHA = 0.3  # protocol §4
CURVATURE_ALPHAS = (0.2, 0.3, 0.4)  # protocol §5
# the paper's models, the classical controls that do not memorise, the quantum controls (no
# entanglers; the deepest QNN) and, on MNIST, the QNN's ingredients one at a time. The deepest
# QNN is depth 40 on MNIST; on XXZ depth 8, the deepest whose curvature two cores measure: at
# depth 40 a Hessian-vector product of the 12-qubit circuit takes 3.9 s and Hutchinson's
# estimate spreads 1.7× the trace a probe, some 1 200 probes (1.3 h) a measurement for 5 %
MODELS = {"mnist": ("qnn", "mlp", "logreg", "matched", "mlp-es", "qnn-noent", "qnn-d40", "quadratic", "logreg-bounded"),
          "xxz": ("qnn", "mlp", "logreg", "matched", "mlp-es", "qnn-noent", "qnn-d8", "mlp-correlators", "logreg-correlators")}
UNLEARN_FIELDS = ("model", "method", "runs", "flip_fit_mean", "poisoned_val_acc_mean", "val_acc_mean", "val_acc_std",
                  "gap_start_mean", "gap_end_mean", "dataset")
CURVATURE_FIELDS = ("variant", "alpha", "ratio_median", "ratios", "flip_fit_mean", "val_acc_mean", "estimated",
                    "collapsed_runs", "dataset")


def run_unlearning_controls(preset_name: str, dataset: str, models: list[str], runs: int, mapper: Callable) -> dict:
    """Per model id: the unlearning summary (``unlearn_summary.summary_table``: retraining and
    the paper's three approximate methods at α = 0.3, ``runs`` runs) and its per-run rows."""
    from qml_core.experiments.sweep import train_rows
    from qml_core.experiments.unlearn import unlearn_result
    from qml_core.experiments.unlearn_summary import poisoned_batches, summary_table, unlearn_rows, unlearn_specs

    jobs = [(model, *job) for model in models
            for job in unlearn_specs(preset_name, dataset, model, list(PAPER_METHODS), UNLEARN_ALPHA, runs)]
    mapper(train_rows, poisoned_batches([spec for *_, spec in jobs]), f"poisoned models {dataset}")
    results = mapper(unlearn_result, [spec for *_, spec in jobs], f"unlearning {dataset}")
    out = {}
    for model in models:
        mine = {(method, run): r for (m, method, run, _), r in zip(jobs, results) if m == model}
        rows = unlearn_rows(mine)
        out[model] = {"rows": rows, "summary": summary_table(rows)}
    return out


def unlearning_table(dataset: str, controls: dict) -> list[dict]:
    """One row per (model, method): ``UNLEARN_FIELDS`` (gaps: validation accuracy minus
    retraining's final, of the poisoned model and after unlearning)."""
    return [{**{k: entry.get(k) for k in UNLEARN_FIELDS}, "model": model, "dataset": dataset}
            for model, result in controls.items() for entry in result["summary"]]


def run_curvature_controls(preset_name: str, dataset: str, models: list[str], alphas, runs: int,
                           mapper: Callable) -> dict:
    """The held-out Hessian trace of every model at clean and poisoned α (``control_curvature``):
    ``rows`` (one per measurement) and ``ratios`` (``control_curvature.ratio_table``)."""
    from qml_core.experiments.capacity import variants
    from qml_core.experiments.control_curvature import (PROBES, QUICK_PROBES, control_curvature_result, curvature_jobs,
                                                        curvature_rows, ratio_table)

    jobs = curvature_jobs(variants(preset_name, dataset, list(models)), alphas, runs,
                          probes=QUICK_PROBES if preset_name == "quick" else PROBES)
    rows = curvature_rows(jobs, mapper(control_curvature_result, [spec for *_, spec in jobs], f"curvature {dataset}"))
    return {"rows": rows, "ratios": [{**r, "dataset": dataset} for r in ratio_table(rows)]}


def quantum_ids(preset_name: str, dataset: str, models) -> set[str]:
    """The ids among ``models`` whose catalogue variant is a quantum model."""
    from qml_core.experiments.capacity import variants

    return {v.name for v in variants(preset_name, dataset, list(models)) if v.quantum}


def control_claims(out: dict) -> list:
    """Claims 2 and 3 judged with the controls (``claims.unlearning_control_claim``,
    ``claims.flatness_control_claim``) on one dataset's ``run_claim_controls`` output: what the
    report, the benchmark and the lesson's last step each state."""
    from qml_core.experiments.claims import flatness_control_claim, unlearning_control_claim

    quantum = set(out["quantum"])
    return [unlearning_control_claim(out["dataset"], {m: r["summary"] for m, r in out["unlearning"].items()}, quantum),
            flatness_control_claim(out["dataset"], out["curvature"]["ratios"], quantum)]


def run_claim_controls(preset_name: str, dataset: str, models, runs: int, alphas, mapper: Callable) -> dict:
    """Both tables for one dataset, and which ids are quantum (for the verdicts)."""
    unlearning = run_unlearning_controls(preset_name, dataset, list(models), runs, mapper)
    curvature = run_curvature_controls(preset_name, dataset, list(models), alphas, runs, mapper)
    return {"dataset": dataset, "unlearning": unlearning, "unlearning_table": unlearning_table(dataset, unlearning),
            "curvature": curvature, "quantum": sorted(quantum_ids(preset_name, dataset, models))}
