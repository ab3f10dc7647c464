"""Sentences that state what the numbers on screen show, computed from those numbers.

Text is data too: a caption that states a finding is a function of the results it sits
beside (numbers in, sentence out), so that it says the opposite when the numbers do. Fixed
prose may explain how to read a figure; it never states what the figure shows.
"""
import math

from qml_core.reporting.figure_style import model_label

MEMORISES = 0.93  # train accuracy on the poisoned labels at or above this: it fits the flips (protocol §6)
TRACKS = 0.10  # train accuracy within this of 1 − α: it ignores the flipped labels (protocol §6)
CLEAR = 0.02  # validation accuracies closer than this are called level


def half_flipped_note(alpha: float, attack: str) -> str | None:
    """How to read α ≥ 0.5 under label flipping (an explanation, not a finding)."""
    if attack != "label-flip" or alpha < 0.5 - 1e-9:
        return None
    if abs(alpha - 0.5) < 1e-9:
        return ("At α = 0.5 half of each class carries the other class's label: the labels say nothing "
                "about the class, so validation accuracy near 0.5 is what any learner should get.")
    return (f"At α = {alpha:g} most labels are flipped: the poisoned labels describe the opposite rule, so a "
            "learner that follows them falls below 0.5 on clean labels.")


def fit_to_labels(train_acc: float, alpha: float, attack: str) -> str:
    """What a model's train accuracy (poisoned labels) says: it fits the flips, ignores them, or neither."""
    if attack != "label-flip" or alpha == 0:
        return f"fits {train_acc:.0%} of its training labels"
    if train_acc >= MEMORISES:
        return f"fits {train_acc:.0%} of the training labels, flipped ones included: it memorises them"
    if abs(train_acc - (1 - alpha)) <= TRACKS:
        return f"fits {train_acc:.0%} of the training labels, close to the 1 − α = {1 - alpha:.0%} that are true"
    return f"fits {train_acc:.0%} of the training labels"


def playground_finding(alpha: float, attack: str, results: dict[str, dict]) -> str:
    """One paragraph for the playground: validation accuracies compared, and how each model
    treats the poisoned labels. ``results``: model -> {"val_acc", "train_acc"}."""
    if set(results) != {"qnn", "mlp"}:
        return ""
    qnn, mlp = results["qnn"]["val_acc"], results["mlp"]["val_acc"]
    head = f"At α = {alpha:g} ({attack.replace('-', ' ')}), "
    if abs(qnn - mlp) < CLEAR:
        head += f"the QNN and the MLP are level on clean validation data ({qnn:.2f} and {mlp:.2f})."
    else:
        hi, lo = ("qnn", "mlp") if qnn > mlp else ("mlp", "qnn")
        head += (f"the {model_label(hi)} keeps {results[hi]['val_acc']:.2f} on clean validation data while the "
                 f"{model_label(lo)} gets {results[lo]['val_acc']:.2f}.")
    fits = [f"The {model_label(m)} {fit_to_labels(results[m]['train_acc'], alpha, attack)}." for m in ("qnn", "mlp")]
    return " ".join([head, *fits])


def plateau_end(curve: list[tuple[float, float]], margin: float = 0.05) -> float | None:
    """The largest α up to which validation accuracy stays within ``margin`` of its clean value
    (the first point of ``curve``, (α, mean accuracy) sorted by α); None if it leaves at once."""
    clean, end = curve[0][1], None
    for alpha, value in curve[1:]:
        if value < clean - margin:
            break
        end = alpha
    return end


def uncrossed_label(rows: list[dict], model: str, complete: bool) -> str:
    """The critical-α metric of a curve that does not cross halfway to chance: "none in the
    grid" once every run is in; while runs are missing, "none up to α = X", X the model's last
    computed α (the grid is not all there yet)."""
    if complete:
        return "none in the grid"
    return f"none up to α = {max(r['alpha'] for r in rows if r['model'] == model):g}"


def phase_finding(summary: list[dict], critical: list[dict]) -> str:
    """The phase diagram in words: per model, the clean accuracy, how far its plateau reaches
    and its critical α; then which model holds up better at the α below 0.5 where they differ
    most (from α = 0.5 on the flipped labels are the majority: no longer a poison to resist)."""
    curves = {}
    for entry in summary:
        curves.setdefault(entry["model"], []).append((entry["alpha"], entry["val_acc_mean"]))
    if not curves:
        return ""
    crit = {c["model"]: c for c in critical}
    parts = []
    for model, curve in sorted(curves.items(), reverse=True):
        curve.sort()
        end = plateau_end(curve)
        reach = (f"stays within 0.05 of it up to α = {end:g}" if end is not None
                 else f"drops more than 0.05 already at α = {curve[1][0]:g}" if len(curve) > 1 else "")
        c = crit.get(model)
        where = (f", crosses halfway to chance at α ≈ {c['estimate']:.2f}" if c and math.isfinite(c["estimate"])
                 else f", does not cross halfway to chance up to α = {curve[-1][0]:g}" if c else "")
        parts.append(f"The {model_label(model)} starts at {curve[0][1]:.2f}, {reach}{where}.")
    if set(curves) == {"qnn", "mlp"}:  # the paper's comparison (the page may show other models)
        shared = sorted(set(a for a, _ in curves["qnn"]) & set(a for a, _ in curves["mlp"]))
        # from α = 0.5 on, most labels are flipped and "resisting" the poison stops meaning anything
        informative = [a for a in shared if a < 0.5 - 1e-9]
        if informative:
            values = {m: dict(curves[m]) for m in curves}
            alpha = max(informative, key=lambda a: abs(values["qnn"][a] - values["mlp"][a]))
            gap = values["qnn"][alpha] - values["mlp"][alpha]
            restricted = len(informative) < len(shared)
            if abs(gap) < CLEAR:
                parts.append("Below α = 0.5 the two curves are level within 0.02." if restricted
                             else "The two curves are level everywhere within 0.02.")
            else:
                hi, lo = ("qnn", "mlp") if gap > 0 else ("mlp", "qnn")
                lead = "Below α = 0.5 they" if restricted else "They"
                parts.append(f"{lead} differ most at α = {alpha:g}: {model_label(hi)} {values[hi][alpha]:.2f} against "
                             f"{model_label(lo)} {values[lo][alpha]:.2f}, so here the {model_label(hi)} resists poisoning better.")
    return " ".join(parts)


def factor(value: float) -> str:
    """A ratio as a class reads it: two significant digits, never in e-notation (230×, 8.4×, 0.45×)."""
    return f"{round(value, 1 - math.floor(math.log10(value))):,.0f}×" if value >= 10 else f"{value:.2g}×"


def trace_finding(ratios: list[dict]) -> str:
    """The trace-ratio bars in words: per model, the range of its mean ratio over α, called a
    sharpening (> 1.2), a flattening (< 0.8) or unchanged, and how many runs collapsed."""
    parts = []
    for model in dict.fromkeys(r["model"] for r in ratios):
        rows = [r for r in ratios if r["model"] == model and math.isfinite(r["ratio_mean"])]
        if not rows:
            continue
        low, high = min(r["ratio_mean"] for r in rows), max(r["ratio_mean"] for r in rows)
        verdict = ("poisoning sharpens its minimum" if low > 1.2 else "poisoning flattens its minimum" if high < 0.8
                   else "poisoning leaves its curvature about unchanged" if low >= 0.8 and high <= 1.2
                   else "the change in curvature depends on α")
        span = f"{factor(low)}" if math.isclose(low, high, rel_tol=0.05) else f"{factor(low)} to {factor(high)}"
        collapsed = sum(len(r.get("collapsed_ratios", [])) for r in ratios if r["model"] == model)
        note = f" ({collapsed} collapsed runs shown apart)" if collapsed else ""
        parts.append(f"{model_label(model)}: the Hessian trace is {span} its clean value, so {verdict}{note}.")
    return " ".join(parts)



MATCHES_RETRAIN = 0.01  # ends at or above retraining − this: it matches retraining (claims.CRITERIA.unlearn_slack)


def _final_accuracies(table: list[dict]) -> tuple[dict[str, float], float] | None:
    """({approximate method: mean final validation accuracy}, retraining's) from a
    ``summary_table``; None without retraining or without another method."""
    by_method = {e["method"]: e["val_acc_mean"] for e in table if "val_acc_mean" in e}
    reference = by_method.pop("retrain", None)
    if reference is None or not by_method:
        return None
    return by_method, reference


def _matches(value: float, reference: float) -> bool:
    return value >= reference - MATCHES_RETRAIN - 1e-12


def unlearning_finding(tables: dict[str, list[dict]], method_names: dict[str, str] | None = None) -> str:
    """The unlearning comparison in words. tables: model -> ``unlearn_summary.summary_table``
    (final validation accuracy, mean over runs). Per model: which method ends closest to
    retraining, by how much and whether it ends at or above retraining − 0.01, and the best
    method when that one ends higher and matches where the closest does not; when every method
    ends above retraining, that and the best. With both models: which of them has a method that
    matches retraining, compared with the paper (the QNN's matches, the MLP's lags), said
    plainly when the numbers disagree with it."""
    names = method_names or {}
    shortfall, parts = {}, []
    for model, table in tables.items():
        found = _final_accuracies(table)
        if found is None:
            continue
        by_method, reference = found
        closest = min(by_method, key=lambda m: (abs(by_method[m] - reference), -by_method[m]))
        best = max(by_method, key=by_method.get)
        value, gap = by_method[closest], by_method[closest] - reference
        shortfall[model] = max(0.0, reference - by_method[best])
        side = "level with" if abs(gap) < 0.0005 else f"{abs(gap):.3f} {'above' if gap > 0 else 'below'}"
        verdict = f"{'at or above' if _matches(value, reference) else 'short of'} retraining − {MATCHES_RETRAIN:g}"
        if all(v - reference >= 0.0005 for v in by_method.values()):  # "closest" would name the weakest
            text = (f"{model_label(model)}: every method ends above retraining ({reference:.3f}); the best, "
                    f"{names.get(best, best)}, at {by_method[best]:.3f} ({by_method[best] - reference:.3f} above)")
        else:
            text = (f"{model_label(model)}: {names.get(closest, closest)} ends closest to retraining, "
                    f"{value:.3f} against {reference:.3f} ({side} retraining), {verdict}")
        if not _matches(value, reference) and _matches(by_method[best], reference):
            text += f"; {names.get(best, best)} ends higher, at {by_method[best]:.3f}, at or above it"
        parts.append(text + ".")
    if {"qnn", "mlp"} <= set(shortfall):
        qnn, mlp = (shortfall[m] <= MATCHES_RETRAIN + 1e-12 for m in ("qnn", "mlp"))
        if qnn and not mlp:
            parts.append(f"Only the QNN has a method that matches retraining, as the paper reports "
                         f"(the MLP's best ends {shortfall['mlp']:.3f} below retraining).")
        elif mlp and not qnn:
            parts.append(f"Only the MLP has a method that matches retraining (the QNN's best ends {shortfall['qnn']:.3f} "
                         "below retraining): unlike the paper, where the QNN's approximate unlearning matches retraining "
                         "and the MLP's lags.")
        elif qnn and mlp:
            parts.append("Both models have a method that matches retraining; the paper reports the MLP's lagging.")
        else:
            parts.append(f"Neither model has a method that matches retraining (the best ends {shortfall['qnn']:.3f} below "
                         f"it for the QNN, {shortfall['mlp']:.3f} for the MLP); the paper reports the QNN's matching.")
    return " ".join(parts)


def device_finding(summary: list[dict], alpha: float = 0.3, margin: float = 0.05) -> str | None:
    """Does the QNN's resilience survive a device? From ``devices.device_summary`` entries: at
    ``alpha`` (the plateau of PROTOCOL §6), each device setting's mean validation accuracy
    against the exact QNN's; a setting keeps the resilience when it is within ``margin`` of
    it. None without the exact QNN at that α."""
    at = {e["device"]: e["val_acc_mean"] for e in summary if abs(e["alpha"] - alpha) < 1e-9}
    if "exact" not in at or len(at) < 2:
        return None
    exact = at.pop("exact")
    kept = [f"{name} ({value:.2f})" for name, value in at.items() if value >= exact - margin]
    lost = [f"{name} ({value:.2f})" for name, value in at.items() if value < exact - margin]
    parts = [f"At α = {alpha:g} the exact QNN keeps {exact:.2f} validation accuracy."]
    if kept:
        parts.append(f"Within {margin:.2f} of it, the resilience survives: {', '.join(kept)}.")
    if lost:
        parts.append(f"More than {margin:.2f} below it, it does not: {', '.join(lost)}.")
    return " ".join(parts)
