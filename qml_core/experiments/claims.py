"""The claims of protocol §6, each decided from measured results by an explicit criterion.

Every check is a pure function of plain result data (sweep rows, unlearning summaries, trace
ratios) returning ``Claim`` entries: the claim, the criterion in words, the measured numbers
(mean ± std over runs) and whether the criterion holds. ``CRITERIA`` below is the whole
decision rule (protocol §6 as written, calibrated so that the paper's own published curves pass);
nothing is decided by hand, and every claim's text quotes the numbers it is judged by.
"""
from dataclasses import dataclass, field

import numpy as np

from qml_core.experiments.phase import critical_alpha, phase_summary


@dataclass(frozen=True)
class Criteria:
    """The thresholds of protocol §6, in one place. Accuracies are means over the runs of each α."""
    memorised: float = 0.93              # MLP "memorises": train accuracy ≥ this at every α
    linear_alpha_max: float = 0.9        # the straight-line fit of the MLP's validation accuracy uses α ≤ this ...
    linear_r2: float = 0.90              # ... and must reach R² ≥ this ...
    linear_slope: float = -0.3           # ... with a slope ≤ this (accuracy per unit α)
    not_memorised: float = 0.10          # QNN "does not memorise": |train − (1 − α)| ≤ this ...
    not_memorised_alpha: float = 0.4     # ... for every α ≤ this
    plateau_drop: float = 0.10           # QNN plateau: validation ≥ clean − this ...
    plateau_alpha: float = 0.3           # ... for every α ≤ this, and at this α ...
    plateau_margin: float = 0.10         # ... at least this above the MLP's validation accuracy
    chance: float = 0.5                  # the critical α is where validation accuracy crosses this
    critical_range: tuple[float, float] = (0.35, 0.6)  # QNN collapse: critical α in here ...
    abrupt_slope: float = 2.5            # ... and a steepest drop between grid neighbours ≥ this per unit α,
                                         # steeper than the MLP's (a straight fall from 1 to 0 over [0, 1] is 1)
    feature_margin: float = 0.10         # feature noise: validation averaged over α ≥ label flip's + this
    unlearn_slack: float = 0.01          # QNN: the best approximate method ends ≥ retraining − this
    mlp_sharpening: float = 10.0         # MLP: median trace ratio poisoned/clean ≥ this at every poisoned α
    qnn_flat: float = 1.2                # QNN: mean trace ratio ≤ this at every poisoned α
    flat_band: tuple[float, float] = (0.8, 1.25)  # with controls: the QNN's median trace ratio stays in here ...
    sharpened: float = 1.25              # ... while classical models fitting no more flips exceed this
    fit_margin: float = 0.05             # "fits no more of the flipped labels": flip fit ≤ the QNN's + this


CRITERIA = Criteria()


@dataclass
class Claim:
    """One claim on one dataset: what the paper says, the rule applied, what was measured."""
    key: str
    section: str
    dataset: str
    claim: str
    criterion: str
    measured: list[str] = field(default_factory=list)
    holds: bool = False
    judged: bool = True  # False where the results lack what the criterion compares (a claim with controls)

    def as_dict(self) -> dict:
        return dict(key=self.key, section=self.section, dataset=self.dataset, claim=self.claim,
                    criterion=self.criterion, measured=self.measured, holds=bool(self.holds), judged=bool(self.judged))


def _pm(mean: float, std: float) -> str:
    return f"{mean:.3f} ± {std:.3f}"


def _curve(summary: list[dict], dataset: str, model: str, attack: str) -> list[dict]:
    return sorted((e for e in summary if (e["dataset"], e["model"], e["attack"]) == (dataset, model, attack)),
                  key=lambda e: e["alpha"])


def _steepest_drop(curve: list[dict]) -> float:
    """The largest decrease of the mean validation accuracy per unit α between grid neighbours."""
    alphas = np.array([e["alpha"] for e in curve])
    values = np.array([e["val_acc_mean"] for e in curve])
    return float(np.max(-np.diff(values) / np.diff(alphas))) if len(curve) > 1 else float("nan")


def _val_at(curve: list[dict], alpha: float) -> float:
    """The mean validation accuracy at ``alpha``, interpolated linearly between grid points
    (the quick presets' grids skip some α)."""
    return float(np.interp(alpha, [e["alpha"] for e in curve], [e["val_acc_mean"] for e in curve]))


def poisoning_claims(rows: list[dict], criteria: Criteria = CRITERIA) -> list[Claim]:
    """The label-flipping and feature-randomisation claims, per dataset in the sweep rows."""
    k = criteria
    summary, critical = phase_summary(rows), critical_alpha(rows, at=k.chance)
    claims = []
    for dataset in sorted({r["dataset"] for r in rows}):
        mlp, qnn = _curve(summary, dataset, "mlp", "label-flip"), _curve(summary, dataset, "qnn", "label-flip")
        if mlp:
            c = Claim("mlp-memorises", "§6 poisoning", dataset,
                      f"Label flipping: the MLP memorises the poisoned labels (mean train accuracy ≥ {k.memorised} at every α).",
                      f"mean train accuracy on the poisoned labels ≥ {k.memorised} at every α")
            c.measured = [f"α={e['alpha']:.2f}: train {_pm(e['train_acc_mean'], e['train_acc_std'])}" for e in mlp]
            c.holds = min(e["train_acc_mean"] for e in mlp) >= k.memorised
            claims.append(c)
            fit = [e for e in mlp if e["alpha"] <= k.linear_alpha_max + 1e-9]
            alphas, values = np.array([e["alpha"] for e in fit]), np.array([e["val_acc_mean"] for e in fit])
            slope, intercept = np.polyfit(alphas, values, 1) if len(fit) > 1 else (float("nan"), float("nan"))
            r2 = 1 - np.sum((values - (slope * alphas + intercept)) ** 2) / max(np.sum((values - values.mean()) ** 2), 1e-12)
            c = Claim("mlp-linear-decay", "§6 poisoning", dataset,
                      f"Label flipping: the MLP's validation accuracy decays roughly linearly with α "
                      f"(straight-line fit: R² ≥ {k.linear_r2}, slope ≤ {k.linear_slope}).",
                      f"straight-line fit of mean validation accuracy vs α over α ∈ [0, {k.linear_alpha_max}]: "
                      f"R² ≥ {k.linear_r2} and slope ≤ {k.linear_slope} per unit α")
            c.measured = [f"slope {slope:.3f}, R² {r2:.3f}"] + [
                f"α={e['alpha']:.2f}: val {_pm(e['val_acc_mean'], e['val_acc_std'])}" for e in mlp]
            c.holds = bool(r2 >= k.linear_r2 and slope <= k.linear_slope)
            claims.append(c)
        if qnn:
            early = [e for e in qnn if e["alpha"] <= k.not_memorised_alpha + 1e-9]
            c = Claim("qnn-no-memorisation", "§6 poisoning", dataset,
                      f"Label flipping: the QNN does not memorise (mean train accuracy within {k.not_memorised} "
                      f"of 1 − α for α ≤ {k.not_memorised_alpha}).",
                      f"|mean train accuracy − (1 − α)| ≤ {k.not_memorised} at every α ≤ {k.not_memorised_alpha}")
            c.measured = [f"α={e['alpha']:.2f}: train {_pm(e['train_acc_mean'], e['train_acc_std'])} (1 − α = {1 - e['alpha']:.2f})"
                          for e in early]
            c.holds = max(abs(e["train_acc_mean"] - (1 - e["alpha"])) for e in early) <= k.not_memorised
            claims.append(c)
            clean = qnn[0]["val_acc_mean"]
            plateau = [e for e in qnn if e["alpha"] <= k.plateau_alpha + 1e-9]
            c = Claim("qnn-plateau", "§6 poisoning", dataset,
                      f"Label flipping: the QNN keeps a plateau of high validation accuracy (within {k.plateau_drop} "
                      f"of clean for α ≤ {k.plateau_alpha}, and at α = {k.plateau_alpha} at least {k.plateau_margin} above the MLP).",
                      f"mean validation accuracy ≥ its value at α={qnn[0]['alpha']:.2f} − {k.plateau_drop} at every α ≤ "
                      f"{k.plateau_alpha}, and at α = {k.plateau_alpha} (interpolated if off the grid) ≥ the MLP's + {k.plateau_margin}")
            c.measured = [f"α={e['alpha']:.2f}: val {_pm(e['val_acc_mean'], e['val_acc_std'])}" for e in plateau]
            c.holds = min(e["val_acc_mean"] for e in plateau) >= clean - k.plateau_drop
            if mlp:
                q, m = _val_at(qnn, k.plateau_alpha), _val_at(mlp, k.plateau_alpha)
                c.measured.append(f"α={k.plateau_alpha:.2f}: QNN {q:.3f} vs MLP {m:.3f} (difference {q - m:+.3f})")
                c.holds = bool(c.holds and q - m >= k.plateau_margin)
            else:
                c.measured.append("no MLP in these results: the comparison with the MLP is not judged")
            claims.append(c)
            crit = next(e for e in critical if (e["dataset"], e["model"], e["attack"]) == (dataset, "qnn", "label-flip"))
            steepest = _steepest_drop(qnn)
            lo, hi = k.critical_range
            c = Claim("qnn-collapse", "§6 poisoning", dataset,
                      f"Label flipping: the QNN collapses abruptly near α = 0.5 (critical α in [{lo}, {hi}], "
                      f"steepest drop ≥ {k.abrupt_slope} per unit α and steeper than the MLP's).",
                      f"critical α (mean validation accuracy crosses {k.chance}, interpolated; bootstrap over runs) "
                      f"in [{lo}, {hi}], and steepest drop of the mean curve between grid neighbours ≥ {k.abrupt_slope} "
                      "per unit α and steeper than the MLP's")
            c.measured = [f"critical α {crit['estimate']:.3f} ({100 * crit['level']:.0f}% interval {crit['low']:.3f}–{crit['high']:.3f}, "
                          f"{100 * crit['crossed']:.0f}% of bootstrap curves cross)", f"steepest drop {steepest:.2f} per unit α"]
            c.holds = bool(lo <= crit["estimate"] <= hi and steepest >= k.abrupt_slope)
            if mlp:
                c.measured.append(f"MLP for comparison: steepest drop {_steepest_drop(mlp):.2f} per unit α")
                c.holds = bool(c.holds and steepest > _steepest_drop(mlp))
            claims.append(c)
        models = sorted({r["model"] for r in rows if r["dataset"] == dataset})
        if {"label-flip", "feature-noise"} <= {r["attack"] for r in rows if r["dataset"] == dataset}:
            c = Claim("feature-vs-label", "§6 poisoning", dataset,
                      f"Both models withstand feature randomisation far better than label flipping "
                      f"(validation accuracy averaged over α at least {k.feature_margin} higher).",
                      f"for every model, mean validation accuracy averaged over the α grid is ≥ {k.feature_margin} "
                      "higher under feature randomisation than under label flipping")
            gaps = []
            for model in models:
                flip, noise = _curve(summary, dataset, model, "label-flip"), _curve(summary, dataset, model, "feature-noise")
                a, b = np.mean([e["val_acc_mean"] for e in noise]), np.mean([e["val_acc_mean"] for e in flip])
                gaps.append(a - b)
                c.measured.append(f"{model}: feature noise {a:.3f}, label flip {b:.3f} (difference {a - b:+.3f})")
            c.holds = min(gaps) >= k.feature_margin
            claims.append(c)
    return claims


def unlearning_claims(summaries: dict[tuple[str, str], list[dict]], criteria: Criteria = CRITERIA) -> list[Claim]:
    """summaries: (dataset, model) -> ``unlearn_summary.summary_table``. MLP: every approximate
    method ends below retraining; QNN: the best approximate method ends at or above retraining
    − ``criteria.unlearn_slack``."""
    k = criteria
    claims = []
    for (dataset, model), table in sorted(summaries.items()):
        by_method = {e["method"]: e for e in table}
        reference = by_method["retrain"]["val_acc_mean"]
        methods = [m for m in by_method if m != "retrain"]
        if model == "mlp":
            c = Claim("mlp-unlearning-lags", "§6 unlearning", dataset,
                      "For the MLP every approximate method ends below retraining (final validation accuracy).",
                      "every approximate method's final validation accuracy (mean over runs) < retraining's")
            c.holds = all(by_method[m]["val_acc_mean"] < reference for m in methods)
        else:
            c = Claim("qnn-unlearning-matches", "§6 unlearning", dataset,
                      f"For the QNN the best approximate method matches or beats retraining within the same epochs "
                      f"(final validation accuracy ≥ retraining's − {k.unlearn_slack}).",
                      f"the best approximate method's final validation accuracy (mean over runs) ≥ retraining's − {k.unlearn_slack}")
            c.holds = bool(methods) and max(by_method[m]["val_acc_mean"] for m in methods) >= reference - k.unlearn_slack
        c.measured = [f"{m}: val {_pm(by_method[m]['val_acc_mean'], by_method[m]['val_acc_std'])}"
                      + (f", epochs to match retrain {by_method[m]['epochs_to_match']}" if m != "retrain" else "")
                      for m in ["retrain", *methods]]
        claims.append(c)
    return claims


def landscape_claims(ratios: list[dict], dataset: str = "mnist", criteria: Criteria = CRITERIA) -> list[Claim]:
    """``curvature.trace_ratios`` rows: the MLP's median ratio ≥ ``criteria.mlp_sharpening`` at
    every poisoned α, the QNN's mean ratio ≤ ``criteria.qnn_flat`` at every poisoned α (collapsed
    runs listed, not counted; an α without a measurable ratio fails)."""
    k = criteria
    claims = []
    for model in sorted({r["model"] for r in ratios}):
        rows = [r for r in ratios if r["model"] == model]
        if model == "mlp":
            c = Claim("mlp-sharpens", "§6 landscape", dataset,
                      f"Poisoning sharpens the MLP's minimum (median trace ratio poisoned/clean ≥ {k.mlp_sharpening:g}).",
                      f"median trace ratio poisoned/clean over seeds ≥ {k.mlp_sharpening:g} at every poisoned α "
                      "(collapsed runs reported apart)")
            c.holds = all(r["ratios"] and np.median(r["ratios"]) >= k.mlp_sharpening for r in rows)
        else:
            c = Claim("qnn-flat", "§6 landscape", dataset,
                      f"Poisoning does not sharpen the QNN's minimum (mean trace ratio ≤ {k.qnn_flat}).",
                      f"mean trace ratio poisoned/clean ≤ {k.qnn_flat} at every poisoned α")
            c.holds = all(r["ratios"] and r["ratio_mean"] <= k.qnn_flat for r in rows)
        c.measured = [f"α={r['alpha']:.2f}: ratio {_pm(r['ratio_mean'], r['ratio_std'])} (median {np.median(r['ratios']):.3f}, "
                      f"{len(r['ratios'])} seeds; collapsed seeds {r['collapsed_seeds'] or 'none'})" if r["ratios"] else
                      f"α={r['alpha']:.2f}: no seed without a collapsed run (collapsed seeds {r['collapsed_seeds']})"
                      for r in rows]
        claims.append(c)
    return claims


def plateau_control_claim(dataset: str, *tables: list[dict], qnn: str = "qnn", criteria: Criteria = CRITERIA) -> Claim:
    """Claim 1 with its controls, from capacity tables at one α (``capacity.capacity_table``
    rows: every variant's validation accuracy there and its clean value; a variant in several
    tables counts once, from the first): holds when the QNN keeps its plateau (validation ≥
    clean − ``plateau_drop``) and no classical model that learns the task (clean ≥
    ``capacity.LEARNS``) keeps it too."""
    from qml_core.experiments.capacity import LEARNS, QUANTUM_FAMILIES, plateau_keepers

    k = criteria
    first = {}
    for entry in (e for t in tables for e in t):
        first.setdefault(entry["variant"], entry)
    table = list(first.values())
    alpha = table[0]["alpha"] if table else k.plateau_alpha
    c = Claim("plateau-quantum", "§6 poisoning, with controls", dataset,
              f"At α = {alpha:g} the QNN keeps its plateau and no classical model that learns the task does.",
              f"the QNN's mean validation accuracy ≥ its clean value − {k.plateau_drop:g}, and that of every classical "
              f"model whose clean validation accuracy is ≥ {LEARNS:g} below its clean value − {k.plateau_drop:g}")
    learners = [e for e in table if np.isfinite(e["val_acc_mean"]) and e["clean_val_acc"] >= LEARNS]
    mine = next((e for e in learners if e["variant"] == qnn), None)
    if mine is None:
        c.measured = ["no QNN that learns the task in this table"]
        c.judged = False
        return c
    _, _, classical = plateau_keepers(learners, k.plateau_drop)
    words = lambda e: f"{e['variant']} {e['val_acc_mean']:.3f} (clean {e['clean_val_acc']:.3f})"  # noqa: E731
    keeps = mine["val_acc_mean"] >= mine["clean_val_acc"] - k.plateau_drop
    others = [e for e in learners if e["family"] not in QUANTUM_FAMILIES and e not in classical]
    c.measured = [f"QNN {words(mine)}: {'keeps' if keeps else 'loses'} its plateau",
                  "classical models that keep it too: " + (", ".join(map(words, classical)) or "none"),
                  "classical models that lose it: " + (", ".join(map(words, others)) or "none")]
    c.holds = bool(keeps and not classical)
    return c


def _comparable(fits: dict[str, float], quantum: set[str], qnn: str, margin: float) -> list[str]:
    """The classical ids whose fit of the flipped labels is at most the QNN's + ``margin``."""
    return sorted(m for m, fit in fits.items() if m not in quantum and fit <= fits[qnn] + margin)


def unlearning_standing(summaries: dict[str, list[dict]], quantum: set[str], qnn: str = "qnn",
                        criteria: Criteria = CRITERIA) -> dict:
    """What claim 2 with controls is judged on, per model id (``summaries``: id ->
    ``unlearn_summary.summary_table``): ``fits`` (the poisoned model's fit of the flipped
    labels), ``best`` (the best approximate method's final gap to retraining), ``matches``
    (best ≥ −``unlearn_slack``), ``start`` (the poisoned model's gap) and ``peers`` (the
    classical ids that fitted no more flips than the QNN + ``fit_margin``; empty without a QNN)."""
    approximate = {m: [e for e in table if e["method"] != "retrain"] for m, table in summaries.items()}
    approximate = {m: es for m, es in approximate.items() if es}
    fits = {m: float(np.mean([e["flip_fit_mean"] for e in es])) for m, es in approximate.items()}
    best = {m: max(e["gap_end_mean"] for e in es) for m, es in approximate.items()}
    return {"fits": fits, "best": best, "start": {m: es[0]["gap_start_mean"] for m, es in approximate.items()},
            "matches": {m: gap >= -criteria.unlearn_slack for m, gap in best.items()},
            "peers": _comparable(fits, quantum, qnn, criteria.fit_margin) if qnn in fits else []}


def unlearning_control_claim(dataset: str, summaries: dict[str, list[dict]], quantum: set[str], qnn: str = "qnn",
                             criteria: Criteria = CRITERIA) -> Claim:
    """Claim 2 with its controls (``unlearning_standing``). A model "matches" when its best
    approximate method ends at or above retraining − ``unlearn_slack``. Holds when the QNN
    matches and no classical model that fitted no more of the flipped labels does (there must
    be one)."""
    k = criteria
    c = Claim("unlearning-quantum", "§6 unlearning, with controls", dataset,
              "Approximate unlearning matches retraining for the QNN and not for classical models that fit no more "
              "of the flipped labels.",
              f"the QNN's best approximate method ends ≥ retraining − {k.unlearn_slack} (final validation accuracy, "
              f"mean over runs), and that of every classical model whose fit of the flipped labels is ≤ the QNN's + "
              f"{k.fit_margin} ends below it")
    standing = unlearning_standing(summaries, quantum, qnn, criteria)
    fits, best, matches, peers = (standing[key] for key in ("fits", "best", "matches", "peers"))
    if qnn not in best:
        c.measured = ["no QNN unlearning in these results"]
        return c
    c.measured = [f"{m}: fits {fits[m]:.2f} of the flipped labels; best method ends {best[m]:+.3f} from retraining "
                  f"(started {standing['start'][m]:+.3f}): {'matches' if matches[m] else 'does not match'}"
                  for m in sorted(best, key=lambda m: (m != qnn, m not in quantum, m))]
    if not peers:
        c.measured.append("no classical model fits as little of the flipped labels: not judged")
        c.judged = False
    c.holds = bool(matches[qnn] and peers and not any(matches[m] for m in peers))
    return c


def flatness_control_claim(dataset: str, ratios: list[dict], quantum: set[str], qnn: str = "qnn",
                           criteria: Criteria = CRITERIA) -> Claim:
    """Claim 3 with its controls. ``ratios``: ``control_curvature.ratio_table`` rows (median trace
    ratio poisoned/clean per model and α, with the mean fit of the flipped labels). Holds when
    the QNN's median ratio lies in ``flat_band`` at every α and every classical model that fits
    no more of the flipped labels (at that α) exceeds ``sharpened`` at every α."""
    k = criteria
    lo, hi = k.flat_band
    c = Claim("flatness-quantum", "§6 landscape, with controls", dataset,
              f"Poisoning leaves the QNN's held-out curvature flat (median trace ratio in [{lo}, {hi}]) while classical "
              f"models that fit no more of the flipped labels sharpen (ratio above {k.sharpened}).",
              f"at every poisoned α: the QNN's median trace ratio poisoned/clean in [{lo}, {hi}], and that of every "
              f"classical model whose fit of the flipped labels is ≤ the QNN's + {k.fit_margin} above {k.sharpened}")
    alphas = sorted({r["alpha"] for r in ratios if r["variant"] == qnn})
    if not alphas:
        c.measured = ["no QNN curvature in these results"]
        return c
    holds, judged = True, False
    for alpha in alphas:
        at = {r["variant"]: r for r in ratios if r["alpha"] == alpha}
        peers = _comparable({m: r["flip_fit_mean"] for m, r in at.items()}, quantum, qnn, k.fit_margin)
        q = at[qnn]["ratio_median"]
        flat = lo <= q <= hi
        sharp = [m for m in peers if at[m]["ratio_median"] > k.sharpened]
        judged = judged or bool(peers)
        holds = holds and flat and bool(peers) and len(sharp) == len(peers)
        c.measured.append(f"α={alpha:.2f}: QNN {q:.2f} ({'flat' if flat else 'outside the band'}); classical models fitting "
                          f"no more flips: " + (", ".join(f"{m} {at[m]['ratio_median']:.2f}" for m in peers) or "none")
                          + "; others: " + (", ".join(f"{m} {r['ratio_median']:.2f}" for m, r in sorted(at.items())
                                                      if m != qnn and m not in peers) or "none"))
    if not judged:
        c.measured.append("no classical model fits as little of the flipped labels: not judged")
        c.judged = False
    c.holds = bool(holds)
    return c
