"""The poisoning phase diagram: accuracy vs α over runs, and the critical α with a bootstrap
interval (protocol §2, §6).

The critical α of a model is where its mean validation accuracy first falls below chance
(0.5), linearly interpolated between grid points (protocol §6: the collapse criterion is
calibrated on it). It is the lab's one definition: the app, the command line, the report and
the docs all use it. A curve that never falls below 0.5 inside the grid has no critical α
(NaN: "not reached", never a number). The interval resamples the runs at every α with
replacement (a percentile bootstrap).

Collapsed runs (``collapse.py``: a constant output or a frozen loss) are kept apart, as
protocol §5 asks: they enter no mean, spread or crossing, and every entry counts them in
``collapsed``.
"""
from collections import defaultdict

import numpy as np

from qml_core.experiments.collapse import is_collapsed

CHANCE = 0.5
GROUP_KEYS = ("dataset", "model", "attack")


def _groups(rows: list[dict], keys: tuple[str, ...]) -> dict[tuple, list[dict]]:
    groups = defaultdict(list)
    for row in rows:
        groups[tuple(row[k] for k in keys)].append(row)
    return groups


def phase_summary(rows: list[dict]) -> list[dict]:
    """One entry per (dataset, model, attack, α) of sweep rows: n runs that trained, the number
    that ``collapsed`` (not in the statistics), mean/std/min/max over the trained runs of the
    train accuracy (poisoned labels) and the validation accuracy (clean labels; NaN when every
    run collapsed), sorted."""
    out = []
    for (dataset, model, attack, alpha), group in sorted(_groups(rows, GROUP_KEYS + ("alpha",)).items()):
        trained = [r for r in group if not is_collapsed(r)]
        entry = dict(dataset=dataset, model=model, attack=attack, alpha=alpha, n=len(trained),
                     collapsed=len(group) - len(trained))
        for metric in ("train_acc", "val_acc"):
            values = np.array([r[metric] for r in trained], dtype=float)
            stats = (values.mean(), values.std(), values.min(), values.max()) if len(values) else (np.nan,) * 4
            entry.update({f"{metric}_{name}": float(v) for name, v in zip(("mean", "std", "min", "max"), stats)})
        out.append(entry)
    return out


def crossing(alphas: np.ndarray, accuracy: np.ndarray, at: float = CHANCE) -> float:
    """The first α where ``accuracy`` drops below the level ``at`` (chance, 0.5), interpolated
    linearly; NaN if it never does (or the clean model is at that level or below already)."""
    if accuracy[0] <= at:
        return float("nan")
    below = np.flatnonzero(accuracy < at)
    if len(below) == 0:
        return float("nan")
    i = below[0]
    a0, a1, y0, y1 = alphas[i - 1], alphas[i], accuracy[i - 1], accuracy[i]
    return float(a0 + (y0 - at) / (y0 - y1) * (a1 - a0))


def critical_alpha(rows: list[dict], n_boot: int = 1000, level: float = 0.9, seed: int = 0,
                   at: float = CHANCE) -> list[dict]:
    """Critical α of every (dataset, model, attack) in sweep rows, with a bootstrap interval.

    Returns entries with ``estimate`` (from the mean curve), ``low``/``high`` (the central
    ``level`` interval of the bootstrap estimates that crossed), ``crossed`` (the fraction of
    bootstrap curves that cross at all; 0 means no collapse inside the grid), ``collapsed``
    (collapsed runs, left out of the curve) and
    ``threshold`` (the accuracy level that defines the crossing: ``at``, chance)."""
    rng = np.random.default_rng(seed)
    collapsed = _groups([r for r in rows if is_collapsed(r)], GROUP_KEYS)
    out = []
    for (dataset, model, attack), group in sorted(_groups([r for r in rows if not is_collapsed(r)], GROUP_KEYS).items()):
        by_alpha = _groups(group, ("alpha",))
        alphas = np.array(sorted(a for (a,) in by_alpha))
        values = [np.array([r["val_acc"] for r in by_alpha[(a,)]], dtype=float) for a in alphas]
        mean_curve = np.array([v.mean() for v in values])
        boot = np.array([crossing(alphas, np.array([rng.choice(v, len(v)).mean() for v in values]), at)
                         for _ in range(n_boot)])
        crossed = boot[np.isfinite(boot)]
        tail = 100 * (1 - level) / 2
        low, high = (np.percentile(crossed, [tail, 100 - tail]) if len(crossed) else (np.nan, np.nan))
        out.append(dict(dataset=dataset, model=model, attack=attack, estimate=crossing(alphas, mean_curve, at),
                        low=float(low), high=float(high), crossed=len(crossed) / n_boot, level=level,
                        collapsed=len(collapsed.get((dataset, model, attack), [])),
                        threshold=float(at)))
    return out
