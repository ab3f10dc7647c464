"""Sentences that state what the numbers on screen show, computed from those numbers.

Text is data too: a caption that states a finding is a function of the results it sits
beside (numbers in, sentence out), so that it says the opposite when the numbers do. Fixed
prose may explain how to read a figure; it never states what the figure shows.
"""
import math

from qml_core.experiments.capacity import capacity_finding
from qml_core.reporting.figure_style import METHOD_LABELS, model_label

MEMORISES = 0.93  # train accuracy on the poisoned labels at or above this: it fits the flips (protocol §6)
TRACKS = 0.10  # train accuracy within this of 1 − α: it ignores the flipped labels (protocol §6)
CLEAR = 0.02  # validation accuracies closer than this are called level
CHANCE = 0.5  # a binary task's chance accuracy


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


def device_words(device: dict | None) -> str:
    """A QNN's device fields in words: "100 shots per output", "depolarising noise p = 0.01";
    "" for the exact simulator."""
    device = device or {}
    parts = ([f"{device['shots']:,} shots per output"] if device.get("shots") else []) + (
        [f"depolarising noise p = {device['depolarizing']:g}"] if device.get("depolarizing") else [])
    return ", ".join(parts)


def device_cost(qnn: float, exact: float, words: str) -> str:
    """What a device setting costs the QNN at one α, from its validation accuracy and the exact
    simulator's: a drop, a gain or level (within CLEAR), said in words."""
    if abs(qnn - exact) < CLEAR:
        return f"On the exact simulator the QNN gets {exact:.2f} here: {words} leaves it level."
    return (f"On the exact simulator the QNN gets {exact:.2f} here: {words} "
            + (f"costs it {exact - qnn:.2f}." if qnn < exact else f"gives it {qnn - exact:.2f} more."))


def playground_finding(alpha: float, attack: str, results: dict[str, dict], device: dict | None = None,
                       exact_qnn: float | None = None) -> str:
    """One paragraph for the playground: validation accuracies compared, and how each model
    treats the poisoned labels. ``results``: model -> {"val_acc", "train_acc"}. With a QNN
    ``device`` (shots, noise) the QNN is named with it, and against ``exact_qnn`` (the exact
    simulator's validation accuracy at the same α, when known) the device's cost is said."""
    if set(results) != {"qnn", "mlp"}:
        return ""
    words = device_words(device)
    qnn, mlp = results["qnn"]["val_acc"], results["mlp"]["val_acc"]
    head = f"At α = {alpha:g} ({attack.replace('-', ' ')}{', nothing poisoned' if alpha == 0 else ''}), "
    name = (lambda m: f"QNN ({words})" if m == "qnn" else model_label(m)) if words else model_label
    if abs(qnn - mlp) < CLEAR:
        head += f"the {name('qnn')} and the MLP are level on clean validation data ({qnn:.2f} and {mlp:.2f})."
    elif max(qnn, mlp) < CHANCE:  # below chance neither resists: the higher one just follows the flips less
        head += (f"both models are below chance (0.5) on clean validation data, the {name('qnn')} at {qnn:.2f} and the "
                 f"MLP at {mlp:.2f}: they follow the flipped labels, and neither resists the poison.")
    else:
        hi, lo = ("qnn", "mlp") if qnn > mlp else ("mlp", "qnn")
        # nothing to resist at α = 0; a QNN on a device "keeps" nothing when it fell from the exact one's
        fell = hi == "qnn" and exact_qnn is not None and qnn < exact_qnn - CLEAR
        verb = "reaches" if alpha == 0 else "gets" if fell else "keeps"
        below = ", below chance (0.5)" if results[lo]["val_acc"] < CHANCE else ""
        head += (f"the {name(hi)} {verb} {results[hi]['val_acc']:.2f} on clean validation data while the "
                 f"{name(lo)} gets {results[lo]['val_acc']:.2f}{below}.")
    cost = [device_cost(qnn, exact_qnn, words)] if words and exact_qnn is not None else []
    fits = [f"The {name(m)} {fit_to_labels(results[m]['train_acc'], alpha, attack)}." for m in ("qnn", "mlp")]
    return " ".join([head, *cost, *fits])


def plateau_end(curve: list[tuple[float, float]], margin: float = 0.05) -> float | None:
    """The largest α up to which validation accuracy stays within ``margin`` of its clean value
    (the first point of ``curve``, (α, mean accuracy) sorted by α); None if it leaves at once."""
    clean, end = curve[0][1], None
    for alpha, value in curve[1:]:
        if value < clean - margin:
            break
        end = alpha
    return end


NOT_REACHED = "not reached"  # a critical α the curve never gets to inside the grid: never a number


PLATEAU_KEPT = 0.05  # a curve within this of its own start keeps its plateau (as phase_finding says it)


def plateau_note(summary: list[dict], model: str, margin: float = PLATEAU_KEPT) -> str:
    """Whether one curve of the phase diagram keeps its plateau, measured from its own start
    (its validation accuracy at the smallest α), for the line beside its critical α: a curve
    that starts lower (a QNN on 100 shots, a model on measured features) is judged against its
    own start, and its start is said, so a later critical α cannot hide a lower plateau."""
    curve = sorted((e["alpha"], e["val_acc_mean"]) for e in summary if e["model"] == model and math.isfinite(e["val_acc_mean"]))
    if not curve:
        return ""
    start = f"starts at {curve[0][1]:.2f}"
    if len(curve) == 1:
        return start
    end = plateau_end(curve, margin)
    if end is None:
        alpha, value = curve[1]
        return f"{start}; no plateau: {curve[0][1] - value:.2f} lower already at α = {alpha:g}"
    return f"{start}; keeps its plateau (within {margin:.2f} of that start) up to α = {end:g}"


def uncrossed_label(rows: list[dict], model: str, complete: bool) -> str:
    """The critical-α metric of a curve that does not fall below chance (0.5): "not reached"
    once every run is in; while runs are missing, "not reached up to α = X", X the model's last
    computed α (the grid is not all there yet)."""
    if complete:
        return NOT_REACHED
    return f"{NOT_REACHED} up to α = {max(r['alpha'] for r in rows if r['model'] == model):g}"


def runs_note(rows: list[dict], model: str, complete: bool) -> str:
    """How many runs a model's critical α rests on: its own rows, not every model's ("30 runs",
    "12 runs so far" while runs are missing)."""
    return f"{sum(r['model'] == model for r in rows)} runs{'' if complete else ' so far'}"


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
        clauses = [f"starts at {curve[0][1]:.2f}"]
        if len(curve) > 1:  # with α = 0 alone there is no plateau and no crossing to speak of yet
            clauses.append(f"stays within 0.05 of it up to α = {end:g}" if end is not None
                           else f"drops more than 0.05 already at α = {curve[1][0]:g}")
            c = crit.get(model)
            if c and math.isfinite(c["estimate"]):
                clauses.append(f"falls below chance (0.5) at α ≈ {c['estimate']:.2f}, its critical α")
            elif c:
                clauses.append(f"stays above chance (0.5) up to α = {curve[-1][0]:g}: critical α {NOT_REACHED}")
        parts.append(f"The {model_label(model)} {', '.join(clauses)}.")
    if set(curves) == {"qnn", "mlp"}:  # the paper's comparison (the page may show other models)
        shared = sorted(set(a for a, _ in curves["qnn"]) & set(a for a, _ in curves["mlp"]))
        # at α = 0 nothing is poisoned; from α = 0.5 on most labels are flipped: "resisting" the
        # poison means something only in between
        informative = [a for a in shared if 1e-9 < a < 0.5 - 1e-9]
        if informative:
            values = {m: dict(curves[m]) for m in curves}
            alpha = max(informative, key=lambda a: abs(values["qnn"][a] - values["mlp"][a]))
            gap = values["qnn"][alpha] - values["mlp"][alpha]
            restricted = any(a >= 0.5 - 1e-9 for a in shared)
            if abs(gap) < CLEAR:
                parts.append("Below α = 0.5 the two curves are level within 0.02." if restricted
                             else "The two curves are level everywhere within 0.02.")
            else:
                hi, lo = ("qnn", "mlp") if gap > 0 else ("mlp", "qnn")
                lead = "Below α = 0.5 they" if restricted else "They"
                verdict = (f"so here the {model_label(hi)} resists poisoning better" if values[hi][alpha] >= CHANCE
                           else "both below chance (0.5): neither resists")
                parts.append(f"{lead} differ most at α = {alpha:g}: {model_label(hi)} {values[hi][alpha]:.2f} against "
                             f"{model_label(lo)} {values[lo][alpha]:.2f}, {verdict}.")
    return " ".join(parts)


def factor(value: float) -> str:
    """A ratio as a class reads it: two significant digits, never in e-notation (230×, 8.4×, 0.45×)."""
    return f"{round(value, 1 - math.floor(math.log10(value))):,.0f}×" if value >= 10 else f"{value:.2g}×"


def trace_finding(ratios: list[dict]) -> str:
    """The trace-ratio bars in words: per model, the range over α of its median ratio over seeds
    (robust: one seed's ratio of 2000 would pull a mean), called a sharpening (> 1.2), a
    flattening (< 0.8) or unchanged, and how many runs collapsed."""
    parts = []
    for model in dict.fromkeys(r["model"] for r in ratios):
        rows = [r for r in ratios if r["model"] == model and math.isfinite(r["ratio_median"])]
        if not rows:
            continue
        low, high = min(r["ratio_median"] for r in rows), max(r["ratio_median"] for r in rows)
        verdict = ("poisoning sharpens its minimum" if low > 1.2 else "poisoning flattens its minimum" if high < 0.8
                   else "poisoning leaves its curvature about unchanged" if low >= 0.8 and high <= 1.2
                   else "the change in curvature depends on α")
        span = f"{factor(low)}" if math.isclose(low, high, rel_tol=0.05) else f"{factor(low)} to {factor(high)}"
        collapsed = sum(len(r.get("collapsed_ratios", [])) for r in ratios if r["model"] == model)
        note = f" ({collapsed} collapsed runs shown apart)" if collapsed else ""
        parts.append(f"{model_label(model)}: the Hessian trace is {span} its clean value (median over seeds), "
                     f"so {verdict}{note}.")
    return " ".join(parts)


def curvature_control_finding(ratios: list[dict]) -> str:
    """Claim 3 beside its controls, in words (``claims.flatness_control_claim`` on
    ``control_curvature.ratio_table`` rows): each model's median trace ratio and fit of the
    flipped labels, then whether the QNN alone stays flat among models that fit no more of them."""
    from qml_core.experiments.claims import CRITERIA, flatness_control_claim

    quantum = {r["variant"] for r in ratios if r["variant"].startswith("qnn")}
    if not any(r["variant"] == "qnn" for r in ratios):
        return ""
    claim = flatness_control_claim("", ratios, quantum)
    lo, hi = CRITERIA.flat_band
    told = "; ".join(f"{model_label(r['variant'])} at α = {r['alpha']:g}: {factor(r['ratio_median'])} its clean trace, "
                     f"having fitted {r['flip_fit_mean']:.2f} of the flipped labels"
                     for r in ratios if math.isfinite(r["ratio_median"]))
    qnn = [r for r in ratios if r["variant"] == "qnn"]
    flat = all(lo <= r["ratio_median"] <= hi for r in qnn)
    if claim.holds:
        verdict = ("Only the QNN stays flat among models that fit no more of the flipped labels: here the flat "
                   "curvature is specific to it.")
    elif not claim.judged:
        verdict = "No classical model here fitted as little of the flipped labels as the QNN, so this view cannot say whether its flatness is quantum."
    elif flat:
        verdict = ("A classical model that fitted no more of the flipped labels stays about as flat as the QNN: "
                   "the flat curvature is not specific to the quantum model here.")
    else:
        verdict = f"The QNN's own ratio leaves [{lo}, {hi}]: poisoning changes its curvature too."
    return f"{told[0].upper()}{told[1:]}. {verdict}"


MATCHES_RETRAIN = 0.01  # ends at or above retraining − this: it matches retraining (claims.CRITERIA.unlearn_slack)
# Which way is better on each unlearning metric: higher accuracy on clean labels, lower accuracy on
# the poisoned labels of the forget set (the flips unlearnt); anything else should sit near retraining.
HIGHER_BETTER = ("val_acc", "retain_acc", "forget_acc_true")
LOWER_BETTER = ("forget_acc_poisoned",)
METRIC_WORDS = {"val_acc": "validation accuracy", "retain_acc": "retain accuracy",
                "forget_acc_true": "forget-set accuracy on the true labels",
                "forget_acc_poisoned": "forget-set accuracy on the poisoned labels", "mia_auc": "membership-inference AUC"}


def _final_values(table: list[dict], metric: str) -> tuple[dict[str, float], float] | None:
    """({approximate method: mean final ``metric``}, retraining's) from a ``summary_table``;
    None without retraining or without another method."""
    by_method = {e["method"]: e[f"{metric}_mean"] for e in table if f"{metric}_mean" in e}
    reference = by_method.pop("retrain", None)
    if reference is None or not by_method:
        return None
    return by_method, reference


def _shortfall(value: float, reference: float, metric: str) -> float:
    """How far ``value`` is on the wrong side of retraining (0 on the right side or level)."""
    if metric in HIGHER_BETTER:
        return max(0.0, reference - value)
    if metric in LOWER_BETTER:
        return max(0.0, value - reference)
    return abs(value - reference)


def _matches(value: float, reference: float, metric: str = "val_acc") -> bool:
    return _shortfall(value, reference, metric) <= MATCHES_RETRAIN + 1e-12


def _matched_from_the_start(table: list[dict]) -> bool:
    """Every approximate method matches retraining's validation accuracy at epoch 0, before any
    unlearning (``summary_table``'s per-run epochs-to-match all 0)."""
    counts = [e.get("epochs_to_match") for e in table if e["method"] != "retrain"]
    return bool(counts) and all(c and all(v == 0 for v in c) for c in counts)


def _model_finding(model: str, table: list[dict], metric: str, names: dict[str, str]) -> tuple[str, float] | None:
    """One model's sentence: the method that ends closest to retraining on ``metric`` (the
    lesson's question), whether it matches, and a better one when that one does not; and the
    model's shortfall (its best method's distance on the wrong side of retraining)."""
    found = _final_values(table, metric)
    if found is None:
        return None
    by_method, reference = found
    closest = min(by_method, key=lambda m: (abs(by_method[m] - reference), _shortfall(by_method[m], reference, metric)))
    best = min(by_method, key=lambda m: (_shortfall(by_method[m], reference, metric), abs(by_method[m] - reference)))
    value, gap = by_method[closest], by_method[closest] - reference
    side = "level with" if abs(gap) < 0.0005 else f"{abs(gap):.3f} {'above' if gap > 0 else 'below'}"
    name = model_label(model)
    text = f"{name[0].upper()}{name[1:]}: {names.get(closest, closest)} ends closest to retraining, {value:.3f} against {reference:.3f} ({side} retraining)"
    if metric in HIGHER_BETTER + LOWER_BETTER:
        text += (", so it does at least as well as retraining" if _shortfall(value, reference, metric) == 0
                 else f", so it matches retraining (no more than {MATCHES_RETRAIN:g} worse)" if _matches(value, reference, metric)
                 else f", more than {MATCHES_RETRAIN:g} worse than retraining")
    if not _matches(value, reference, metric) and _matches(by_method[best], reference, metric):
        text += (f"; {names.get(best, best)} ends at {by_method[best]:.3f}, which matches retraining "
                 f"(no more than {MATCHES_RETRAIN:g} worse)")
    return text + ".", _shortfall(by_method[best], reference, metric)


def unlearning_finding(tables: dict[str, list[dict]], method_names: dict[str, str] | None = None,
                       metric: str = "val_acc") -> str:
    """The unlearning comparison in words, on the ``metric`` the page shows. tables: model ->
    ``unlearn_summary.summary_table`` (final metrics, mean over runs). Per model: which method
    ends closest to retraining, by how much, whether it matches (within 0.01 of retraining, or
    better: higher accuracy on clean labels, lower on the poisoned ones), and a method that does
    when the closest does not. With both models: which of them has a method that matches
    retraining, compared with the paper (the QNN's matches, the MLP's lags), said plainly when
    the numbers disagree with it, and when a model's poisoned starting point already matched
    retraining (then unlearning had nothing to do)."""
    names = method_names or {}
    shortfall, parts = {}, []
    for model, table in tables.items():
        found = _model_finding(model, table, metric, names)
        if found is not None:
            parts.append(found[0])
            shortfall[model] = found[1]
    words = METRIC_WORDS.get(metric, metric)
    if {"qnn", "mlp"} <= set(shortfall):
        qnn, mlp = (shortfall[m] <= MATCHES_RETRAIN + 1e-12 for m in ("qnn", "mlp"))
        if qnn and not mlp:
            parts.append(f"Of the QNN and the MLP, only the QNN has a method that matches retraining on {words}, as the paper reports "
                         f"(the MLP's best is {shortfall['mlp']:.3f} off).")
        elif mlp and not qnn:
            parts.append(f"Of the QNN and the MLP, only the MLP has a method that matches retraining on {words} (the QNN's best is "
                         f"{shortfall['qnn']:.3f} off): unlike the paper, where the QNN's approximate unlearning matches "
                         "retraining and the MLP's lags.")
        elif qnn and mlp:
            parts.append(f"Both models have a method that matches retraining on {words}; the paper reports the MLP's lagging.")
        else:
            parts.append(f"Neither model has a method that matches retraining on {words} (the best is {shortfall['qnn']:.3f} "
                         f"off for the QNN, {shortfall['mlp']:.3f} for the MLP); the paper reports the QNN's matching.")
    if metric == "val_acc" and parts:
        already = [model_label(m) for m, t in tables.items() if m in shortfall and _matched_from_the_start(t)]
        if already:
            parts.append(f"The poisoned {' and the '.join(already)} already matched retraining's validation accuracy "
                         "before any unlearning (every method at 0 epochs to match): there, unlearning had nothing to repair.")
    return " ".join(parts)


def unlearning_control_finding(tables: dict[str, list[dict]]) -> str:
    """Claim 2 beside its controls, in words (``claims.unlearning_standing``): what each model
    had to unlearn and where its best method ended, then whether the QNN's matching retraining
    is shared by a classical model that fitted no more of the flipped labels. Empty without the
    QNN and a classical model, or without the fits (tables from before they were recorded)."""
    from qml_core.experiments.claims import unlearning_standing

    usable = {m: t for m, t in tables.items() if all("flip_fit_mean" in e and "gap_end_mean" in e for e in t)}
    quantum = {m for m in usable if m.startswith("qnn")}
    if "qnn" not in usable or not set(usable) - quantum:
        return ""
    standing = unlearning_standing(usable, quantum)
    fits, best, matches, peers = (standing[key] for key in ("fits", "best", "matches", "peers"))
    told = "; ".join(f"{model_label(m)} fitted {fits[m]:.2f} of the flipped labels, its best method ends "
                     f"{best[m]:+.3f} from retraining" for m in best)
    if not peers:
        verdict = ("No classical model here fitted as little of the flipped labels as the QNN, so this view cannot "
                   "say whether its unlearning is quantum.")
    elif not matches["qnn"]:
        verdict = "The QNN's best method does not match retraining here."
    elif any(matches[m] for m in peers):
        verdict = (f"{' and '.join(model_label(m) for m in peers)} fitted no more of them and "
                   f"match{'es' if len(peers) == 1 else ''} retraining too: the QNN's easy unlearning comes with having "
                   "little to unlearn, not with being quantum.")
    else:
        verdict = ("Among models that fitted no more of the flipped labels, only the QNN matches retraining: here "
                   "easy unlearning is specific to it.")
    return f"How much there was to unlearn: {told}. {verdict[0].upper()}{verdict[1:]}"


RISING = 0.005  # validation accuracy up by more than this over the last tenth of the epochs: still learning


def reference_note(trajectories: dict[str, list[dict]]) -> str | None:
    """Whether retraining, the unlearning reference, had converged: per model, its mean
    validation accuracy over runs at the last epoch against a tenth of the epochs earlier (at
    least one). A reference still rising by more than RISING is under-trained, and a method
    "above retraining" is then above an unfinished run: said with the numbers. None when every
    reference has levelled off. ``trajectories``: model -> trajectories (``method``,
    ``epoch``, ``val_acc`` lists)."""
    rising = []
    for model, runs in trajectories.items():
        curves = [t["val_acc"] for t in runs if t["method"] == "retrain"]
        if not curves or len({len(c) for c in curves}) != 1 or len(curves[0]) < 2:
            continue
        mean = [sum(values) / len(values) for values in zip(*curves)]
        back = max(1, (len(mean) - 1) // 10)
        gain = mean[-1] - mean[-1 - back]
        if gain > RISING:
            epochs = runs[0]["epoch"]
            rising.append(f"the {model_label(model)}'s rose {gain:.3f} over its last {back} epoch{'s' * (back > 1)} "
                          f"(to {mean[-1]:.3f} at epoch {epochs[-1]})")
    if not rising:
        return None
    return ("Retraining, the reference, is still rising at its last epoch: " + "; ".join(rising)
            + f". It is under-trained (still gaining more than {RISING:g}), so a method that ends above it beats an "
            "unfinished run, not a converged one.")


def device_finding(summary: list[dict], alpha: float = 0.3, margin: float = 0.05) -> str | None:
    """Does the QNN's resilience survive a device? From ``devices.device_summary`` entries: at
    ``alpha`` (the plateau of protocol §6), each device setting's mean validation accuracy
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


def _verdicts(rows: list[dict]) -> str:
    """One judgement ("as the paper states it" or "with the controls") of one claim across the
    datasets, from ``measured.claim_table`` rows: per dataset its verdict, and for a claim of
    several parts how many hold and which do not."""
    from qml_core.reporting.measured import PART_LABELS

    said = []
    for name in dict.fromkeys(r["name"] for r in rows):
        these = [r for r in rows if r["name"] == name and r["verdict"] != "not measured"]
        failing = [r for r in these if r["verdict"] != "holds"]
        if not these:
            said.append(f"not measured on {name}")
        elif len(these) == 1:
            said.append(f"{these[0]['verdict']} on {name}")
        elif not failing:
            said.append(f"holds on {name} ({'both' if len(these) == 2 else f'all {len(these)}'} parts)")
        else:
            said.append(f"on {name} {len(these) - len(failing)} of {len(these)} parts hold, not "
                        + ", ".join(f"“{PART_LABELS[r['key']]}” ({r['verdict']})" for r in failing))
    return "; ".join(said)


def claims_finding(rows: list[dict]) -> list[str]:
    """The lab's verdict on each of the paper's three claims, on both datasets, as the paper
    states it and with the controls: one paragraph per claim, every verdict read from
    ``rows`` (``measured.claim_table``, the README's and the report's measurement)."""
    out = []
    for number in dict.fromkeys(r["number"] for r in rows):
        mine = [r for r in rows if r["number"] == number]
        judgements = [f"{how.capitalize()}: {_verdicts([r for r in mine if r['how'] == how])}."
                      for how in dict.fromkeys(r["how"] for r in mine)]
        out.append(f"**Claim {number}, {mine[0]['title'].lower()}.** " + " ".join(judgements))
    return out


def lesson_summary(numbers: dict) -> list[str]:
    """The lesson's last step: one paragraph per view the lesson computed (its own caption).
    ``numbers``: ``lesson.lesson_numbers``; parts still None are left out. The verdicts on the
    paper's claims follow from the lab's full measurement (``claims_finding``), not from these
    few runs."""
    parts = []
    if numbers.get("phase"):
        parts.append("**Poisoning.** " + phase_finding(numbers["phase"]["summary"], numbers["phase"]["critical"]))
    if numbers.get("capacity"):
        parts.append("**Is it quantum?** " + capacity_finding(numbers["capacity"]))
    if numbers.get("unlearning"):
        parts.append("**Unlearning.** " + " ".join(filter(None, (unlearning_finding(numbers["unlearning"], METHOD_LABELS),
                                                                 unlearning_control_finding(numbers["unlearning"])))))
    if numbers.get("curvature"):
        parts.append("**Curvature.** " + trace_finding(numbers["curvature"]))
    if numbers.get("controls_curvature"):
        parts.append("**Curvature of the controls.** " + curvature_control_finding(numbers["controls_curvature"]))
    return parts
