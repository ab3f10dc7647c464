"""Unlearning runs compared with retraining: per-run rows, the final-metrics table and the
weight-sweep grids (pure functions of plain results)."""
import math

import numpy as np

from qml_core.experiments.unlearn import UnlearnSpec, unlearn_preset

ROW_METRICS = ("val_acc", "retain_acc", "forget_acc_true", "forget_acc_poisoned", "mia_auc", "seconds",
               "flip_fit", "poisoned_val_acc")
GAPS = ("gap_start", "gap_end")  # validation accuracy minus retraining's final: the poisoned model's, the method's
SLACK = 0.01


def unlearn_specs(preset_name: str, dataset: str, model: str, methods: list[str], alpha: float, runs: int,
                  seed: int = 0, data_options: dict | None = None, **overrides) -> list[tuple[str, int, UnlearnSpec]]:
    """(method, run, spec) for retraining (always: it is the reference) and every requested
    method, for runs 0..runs-1 (run r uses seed + r); ``data_options`` as for ``preset``,
    ``overrides`` set UnlearnSpec fields."""
    return [(m, run, unlearn_preset(preset_name, dataset, model, m, alpha, seed=seed + run, **(data_options or {}))
             .replace(**overrides))
            for run in range(runs) for m in dict.fromkeys(["retrain", *methods])]


def poisoned_batches(specs: list[UnlearnSpec]) -> list:
    """The distinct poisoned trainings that ``specs`` start from, as ``sweep.train_rows``
    batches (stacked where their architecture allows). Trained before the unlearning runs,
    side by side, they are cache hits for them; otherwise the runs of one seed meet on their
    base's lock two at a time, and one worker waits while the other trains it."""
    from qml_core.experiments.sweep import batched_jobs

    return batched_jobs([(0, base) for base in dict.fromkeys(spec.poisoned for spec in specs)])


def epochs_to_match(val_acc: list[float], target: float, slack: float = SLACK) -> int | None:
    """The first epoch (0 = the starting model) whose validation accuracy reaches
    ``target - slack``; None when it never does."""
    return next((epoch for epoch, acc in enumerate(val_acc) if acc >= target - slack), None)


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    """The share of equal predictions; NaN for none (nothing poisoned: an empty forget set)."""
    return float(np.mean(a == b)) if len(a) else math.nan


def unlearn_rows(results: dict[tuple[str, int], dict]) -> list[dict]:
    """One row per (method, run): final metrics, epochs-to-match, prediction agreement with the
    retrained model of the same run (validation and forget set), and how far from retraining
    the run started and ended (``GAPS``: the poisoned model's validation accuracy, then the
    method's final one, minus retraining's final; ``flip_fit`` says how much of the poison the
    poisoned model had fitted, i.e. how much there was to unlearn)."""
    rows = []
    for (method, run), result in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        row = {"method": method, "run": run, **{k: result[k] for k in ROW_METRICS}}
        reference = results.get(("retrain", run))
        if reference is not None:
            match = epochs_to_match(result["trajectory"]["val_acc"], reference["val_acc"])
            row.update(epochs_to_match="never" if match is None else match,
                       gap_start=result["poisoned_val_acc"] - reference["val_acc"],
                       gap_end=result["val_acc"] - reference["val_acc"],
                       agreement_val=agreement(result["val_pred"], reference["val_pred"]),
                       agreement_forget=agreement(result["forget_pred"], reference["forget_pred"]))
        rows.append(row)
    return rows


def summary_table(rows: list[dict]) -> list[dict]:
    """Per method: mean and std over runs of every metric; epochs-to-match as a list (one entry
    per run, "never" where retraining's accuracy is never reached) and as numbers: mean and std
    over the runs that match, and the count of runs that never do. A run whose retraining has
    not finished yet (a page shows results as they come) has no epochs-to-match; the lists
    cover the runs that have one."""
    table = []
    methods = sorted(dict.fromkeys(r["method"] for r in rows), key=lambda m: m != "retrain")  # reference first
    for method in methods:
        mine = [r for r in rows if r["method"] == method]
        entry = {"method": method, "runs": len(mine)}
        for key in ROW_METRICS + ("agreement_val", "agreement_forget") + GAPS:
            values = [r[key] for r in mine if key in r]
            if values:
                entry[f"{key}_mean"], entry[f"{key}_std"] = float(np.mean(values)), float(np.std(values))
        compared = [r["epochs_to_match"] for r in mine if "epochs_to_match" in r]
        if compared:
            entry["epochs_to_match"] = compared
            matched = [v for v in compared if not isinstance(v, str)]
            if matched:
                entry["epochs_to_match_mean"], entry["epochs_to_match_std"] = float(np.mean(matched)), float(np.std(matched))
            entry["epochs_to_match_never"] = len(compared) - len(matched)
        table.append(entry)
    return table


def weight_grid_specs(base: UnlearnSpec, weights: list[float]) -> list[UnlearnSpec]:
    """SCRUB: every (w_kl, w_fo) pair; gradient ascent: every w_fo (w_kl unused)."""
    if base.method == "scrub":
        return [base.replace(w_kl=a, w_fo=b) for a in weights for b in weights]
    if base.method == "grad-ascent":
        return [base.replace(w_fo=b) for b in weights]
    raise ValueError(f"weight sweeps exist for scrub and grad-ascent, not {base.method!r}")


def weight_grid(specs: list[UnlearnSpec], results: list[dict]) -> dict:
    """Final validation accuracy on the (w_kl, w_fo) grid: rows w_kl, columns w_fo (one row
    for gradient ascent)."""
    w_kl = sorted({s.w_kl for s in specs}) if specs[0].method == "scrub" else [0.0]
    w_fo = sorted({s.w_fo for s in specs})
    grid = np.full((len(w_kl), len(w_fo)), np.nan)
    for spec, result in zip(specs, results):
        grid[w_kl.index(spec.w_kl if spec.method == "scrub" else 0.0), w_fo.index(spec.w_fo)] = result["val_acc"]
    return {"method": specs[0].method, "w_kl": w_kl, "w_fo": w_fo, "val_acc": grid.tolist()}
