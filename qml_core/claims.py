"""The claims of PROTOCOL §6, each decided from measured results by an explicit criterion.

Every check is a pure function of plain result data (sweep rows, unlearning summaries, trace
ratios) returning ``Claim`` entries: the claim, the criterion in words, the measured numbers
(mean ± std over runs) and whether the criterion holds. The thresholds below are the whole
decision rule; nothing is decided by hand.
"""
from dataclasses import dataclass, field

import numpy as np

from .phase import critical_alpha, phase_summary
from .unlearn_summary import SLACK

MEMORISED = 0.98          # "fits every label": mean train accuracy at least this at every α
LINEAR_R2 = 0.90          # "decays roughly linearly": R² of a straight-line fit at least this ...
LINEAR_SLOPE = -0.3       # ... with a slope at most this (accuracy per unit α)
NOT_MEMORISED = 0.10      # "train accuracy ≈ 1 − α": within this of 1 − α on the plateau
PLATEAU_ALPHA = 0.4       # the plateau is every grid α up to this
PLATEAU_DROP = 0.05       # "keeps a plateau": validation accuracy within this of its clean value
CRITICAL_RANGE = (0.4, 0.6)  # "collapses near α = 0.5": the critical α (phase.critical_alpha) in here
ABRUPT_SLOPE = 3.0        # "abruptly": steepest drop of the mean curve at least this per unit α (a
                          # straight decline from 1 to 0 over α ∈ [0, 1] has slope 1)
FEATURE_MARGIN = 0.10     # "far better": validation accuracy averaged over α at least this higher
FAR_FROM_ONE = 2.0        # trace ratio "far above 1": >= this; "near 1": within a factor of this


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

    def as_dict(self) -> dict:
        return dict(key=self.key, section=self.section, dataset=self.dataset, claim=self.claim,
                    criterion=self.criterion, measured=self.measured, holds=bool(self.holds))


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


def poisoning_claims(rows: list[dict]) -> list[Claim]:
    """The label-flipping and feature-randomisation claims, per dataset in the sweep rows."""
    summary, critical = phase_summary(rows), critical_alpha(rows)
    claims = []
    for dataset in sorted({r["dataset"] for r in rows}):
        mlp, qnn = _curve(summary, dataset, "mlp", "label-flip"), _curve(summary, dataset, "qnn", "label-flip")
        if mlp:
            c = Claim("mlp-memorises", "§6 poisoning", dataset, "Label flipping: the MLP fits every label (train accuracy 1.0).",
                      f"mean train accuracy on the poisoned labels ≥ {MEMORISED} at every α")
            c.measured = [f"α={e['alpha']:.2f}: train {_pm(e['train_acc_mean'], e['train_acc_std'])}" for e in mlp]
            c.holds = min(e["train_acc_mean"] for e in mlp) >= MEMORISED
            claims.append(c)
            alphas, values = np.array([e["alpha"] for e in mlp]), np.array([e["val_acc_mean"] for e in mlp])
            slope, intercept = np.polyfit(alphas, values, 1)
            r2 = 1 - np.sum((values - (slope * alphas + intercept)) ** 2) / max(np.sum((values - values.mean()) ** 2), 1e-12)
            c = Claim("mlp-linear-decay", "§6 poisoning", dataset,
                      "Label flipping: the MLP's validation accuracy decays roughly linearly with α.",
                      f"straight-line fit of mean validation accuracy vs α: R² ≥ {LINEAR_R2} and slope ≤ {LINEAR_SLOPE}")
            c.measured = [f"slope {slope:.3f}, R² {r2:.3f}"] + [
                f"α={e['alpha']:.2f}: val {_pm(e['val_acc_mean'], e['val_acc_std'])}" for e in mlp]
            c.holds = bool(r2 >= LINEAR_R2 and slope <= LINEAR_SLOPE)
            claims.append(c)
        if qnn:
            plateau = [e for e in qnn if e["alpha"] <= PLATEAU_ALPHA + 1e-9]
            c = Claim("qnn-no-memorisation", "§6 poisoning", dataset,
                      "Label flipping: the QNN does not memorise (train accuracy ≈ 1 − α).",
                      f"|mean train accuracy − (1 − α)| ≤ {NOT_MEMORISED} at every α ≤ {PLATEAU_ALPHA}")
            c.measured = [f"α={e['alpha']:.2f}: train {_pm(e['train_acc_mean'], e['train_acc_std'])} (1 − α = {1 - e['alpha']:.2f})"
                          for e in plateau]
            c.holds = max(abs(e["train_acc_mean"] - (1 - e["alpha"])) for e in plateau) <= NOT_MEMORISED
            claims.append(c)
            clean = qnn[0]["val_acc_mean"]
            c = Claim("qnn-plateau", "§6 poisoning", dataset,
                      "Label flipping: the QNN keeps a plateau of high validation accuracy.",
                      f"mean validation accuracy within {PLATEAU_DROP} of its value at α={qnn[0]['alpha']:.2f} at every α ≤ {PLATEAU_ALPHA}")
            c.measured = [f"α={e['alpha']:.2f}: val {_pm(e['val_acc_mean'], e['val_acc_std'])}" for e in plateau]
            c.holds = min(e["val_acc_mean"] for e in plateau) >= clean - PLATEAU_DROP
            claims.append(c)
            crit = next(e for e in critical if (e["dataset"], e["model"], e["attack"]) == (dataset, "qnn", "label-flip"))
            steepest = _steepest_drop(qnn)
            c = Claim("qnn-collapse", "§6 poisoning", dataset,
                      "Label flipping: the QNN collapses abruptly near α = 0.5 (a phase-transition-like critical point).",
                      f"critical α (mean validation accuracy crosses the midpoint of clean and chance; bootstrap "
                      f"over runs) in [{CRITICAL_RANGE[0]}, {CRITICAL_RANGE[1]}] and steepest drop of the mean curve "
                      f"≥ {ABRUPT_SLOPE} per unit α")
            c.measured = [f"critical α {crit['estimate']:.3f} ({100 * crit['level']:.0f}% interval {crit['low']:.3f}–{crit['high']:.3f}, "
                          f"{100 * crit['crossed']:.0f}% of bootstrap curves cross)", f"steepest drop {steepest:.2f} per unit α"]
            if mlp:
                c.measured.append(f"MLP for comparison: steepest drop {_steepest_drop(mlp):.2f} per unit α")
            c.holds = bool(CRITICAL_RANGE[0] <= crit["estimate"] <= CRITICAL_RANGE[1] and steepest >= ABRUPT_SLOPE)
            claims.append(c)
        models = sorted({r["model"] for r in rows if r["dataset"] == dataset})
        if {"label-flip", "feature-noise"} <= {r["attack"] for r in rows if r["dataset"] == dataset}:
            c = Claim("feature-vs-label", "§6 poisoning", dataset,
                      "Both models withstand feature randomisation far better than label flipping.",
                      f"for every model, mean validation accuracy averaged over the α grid is ≥ {FEATURE_MARGIN} "
                      "higher under feature randomisation than under label flipping")
            gaps = []
            for model in models:
                flip, noise = _curve(summary, dataset, model, "label-flip"), _curve(summary, dataset, model, "feature-noise")
                a, b = np.mean([e["val_acc_mean"] for e in noise]), np.mean([e["val_acc_mean"] for e in flip])
                gaps.append(a - b)
                c.measured.append(f"{model}: feature noise {a:.3f}, label flip {b:.3f} (difference {a - b:+.3f})")
            c.holds = min(gaps) >= FEATURE_MARGIN
            claims.append(c)
    return claims


def unlearning_claims(summaries: dict[tuple[str, str], list[dict]]) -> list[Claim]:
    """summaries: (dataset, model) -> ``unlearn_summary.summary_table``. MLP: every approximate
    method ends below retraining; QNN: fine-tune and SCRUB end at or above it (slack SLACK)."""
    claims = []
    for (dataset, model), table in sorted(summaries.items()):
        by_method = {e["method"]: e for e in table}
        reference = by_method["retrain"]["val_acc_mean"]
        if model == "mlp":
            methods = [m for m in by_method if m != "retrain"]
            c = Claim("mlp-unlearning-lags", "§6 unlearning", dataset,
                      "For the MLP every approximate method lags behind retraining.",
                      f"every method's final validation accuracy (mean over runs) < retraining's − {SLACK}")
            c.holds = all(by_method[m]["val_acc_mean"] < reference - SLACK for m in methods)
        else:
            methods = [m for m in ("finetune", "scrub") if m in by_method]
            c = Claim("qnn-unlearning-matches", "§6 unlearning", dataset,
                      "For the QNN, fine-tune and SCRUB from the poisoned model match or beat retraining within the same epochs.",
                      f"fine-tune's and SCRUB's final validation accuracy (mean over runs) ≥ retraining's − {SLACK}")
            c.holds = all(by_method[m]["val_acc_mean"] >= reference - SLACK for m in methods)
        c.measured = [f"{m}: val {_pm(by_method[m]['val_acc_mean'], by_method[m]['val_acc_std'])}"
                      + (f", epochs to match retrain {by_method[m]['epochs_to_match']}" if m != "retrain" else "")
                      for m in ["retrain", *methods]]
        claims.append(c)
    return claims


def landscape_claims(ratios: list[dict], dataset: str = "mnist") -> list[Claim]:
    """``curvature.trace_ratios`` rows: the MLP's ratio ≥ FAR_FROM_ONE at every α, the QNN's
    within a factor FAR_FROM_ONE of 1 at every α (collapsed runs listed, not counted)."""
    claims = []
    for model in sorted({r["model"] for r in ratios}):
        rows = [r for r in ratios if r["model"] == model]
        if model == "mlp":
            c = Claim("mlp-sharpens", "§6 landscape", dataset, "Poisoning sharpens the MLP's minimum (trace ratio far above 1).",
                      f"mean trace ratio poisoned/clean ≥ {FAR_FROM_ONE} at every poisoned α")
            c.holds = all(r["ratio_mean"] >= FAR_FROM_ONE for r in rows)
        else:
            c = Claim("qnn-flat", "§6 landscape", dataset, "The QNN's curvature barely changes under poisoning (ratio near 1).",
                      f"mean trace ratio within a factor {FAR_FROM_ONE} of 1 at every poisoned α")
            c.holds = all(1 / FAR_FROM_ONE <= r["ratio_mean"] <= FAR_FROM_ONE for r in rows)
        c.measured = [f"α={r['alpha']:.2f}: ratio {_pm(r['ratio_mean'], r['ratio_std'])} (median {np.median(r['ratios']):.3f}, "
                      f"{len(r['ratios'])} seeds; collapsed seeds {r['collapsed_seeds'] or 'none'})" if r["ratios"] else
                      f"α={r['alpha']:.2f}: no seed without a collapsed run (collapsed seeds {r['collapsed_seeds']})"
                      for r in rows]
        claims.append(c)
    return claims
