"""The §6 claims are decided by their criteria: synthetic results on either side of each."""
import numpy as np

from qml_core.experiments.claims import CRITERIA, Criteria, landscape_claims, poisoning_claims, unlearning_claims
from qml_core.experiments.phase import crossing

ALPHAS = [round(0.1 * i, 1) for i in range(10)]


def paper_like_rows(dataset="mnist", qnn_collapse=0.5, runs=3) -> list[dict]:
    """MLP: memorises, validation falls linearly; QNN: train ≈ 1 − α, plateau then collapse;
    feature noise harmless for both."""
    rng, rows = np.random.default_rng(0), []
    for run in range(runs):
        for a in ALPHAS:
            noise = rng.normal(0, 0.005)
            curves = {("mlp", "label-flip"): (1.0, 0.98 - a), ("qnn", "label-flip"): (1 - a, 0.95 if a < qnn_collapse else 0.05),
                      ("mlp", "feature-noise"): (1.0, 0.97), ("qnn", "feature-noise"): (0.95, 0.95)}
            for (model, attack), (train, val) in curves.items():
                rows.append(dict(dataset=dataset, model=model, attack=attack, alpha=a, run=run,
                                 train_acc=min(1.0, train + abs(noise) * (model == "qnn")), val_acc=val + noise))
    return rows


def verdicts(claims) -> dict[str, bool]:
    return {c.key: c.holds for c in claims}


def test_paper_like_results_satisfy_every_poisoning_claim():
    claims = poisoning_claims(paper_like_rows())
    assert verdicts(claims) == {"mlp-memorises": True, "mlp-linear-decay": True, "qnn-no-memorisation": True,
                                "qnn-plateau": True, "qnn-collapse": True, "feature-vs-label": True}
    assert all(c.measured and c.criterion for c in claims)


def test_a_late_collapse_and_a_non_memorising_mlp_fail():
    rows = paper_like_rows(qnn_collapse=0.8)
    for r in rows:
        if r["model"] == "mlp" and r["attack"] == "label-flip":
            r["train_acc"] = 1 - r["alpha"]
    got = verdicts(poisoning_claims(rows))
    assert not got["qnn-collapse"] and not got["mlp-memorises"] and got["qnn-plateau"]


def test_memorisation_threshold_is_protocol_0_93():
    rows = paper_like_rows()
    for r in rows:
        if r["model"] == "mlp" and r["attack"] == "label-flip":
            r["train_acc"] = 0.94 if r["alpha"] > 0 else 1.0
    assert verdicts(poisoning_claims(rows))["mlp-memorises"]
    for r in rows:
        if r["model"] == "mlp" and r["attack"] == "label-flip" and r["alpha"] == 0.4:
            r["train_acc"] = 0.92
    assert not verdicts(poisoning_claims(rows))["mlp-memorises"]


def test_plateau_needs_a_margin_over_the_mlp():
    """The XXZ failure mode: an MLP that does not memorise keeps the QNN's plateau, so the QNN
    is not 0.10 above it at α = 0.3; a QNN dip of 0.08 at α ≤ 0.3 is still a plateau."""
    rows = paper_like_rows()
    for r in rows:
        if r["model"] == "qnn" and r["attack"] == "label-flip" and r["alpha"] == 0.3:
            r["val_acc"] -= 0.08
    assert verdicts(poisoning_claims(rows))["qnn-plateau"]
    for r in rows:
        if r["model"] == "mlp" and r["attack"] == "label-flip" and r["alpha"] < 0.5:
            r["val_acc"] = 0.9
    got = poisoning_claims(rows)
    assert not verdicts(got)["qnn-plateau"]
    assert "difference" in got[3].measured[-1]


def test_collapse_must_be_steeper_than_the_mlp_and_cross_one_half():
    rows = paper_like_rows()
    for r in rows:  # an MLP that falls off a cliff at the same α as the QNN
        if r["model"] == "mlp" and r["attack"] == "label-flip":
            r["val_acc"] = 0.97 if r["alpha"] < 0.5 else 0.02
    assert not verdicts(poisoning_claims(rows))["qnn-collapse"]
    assert crossing(np.array([0.0, 0.3, 0.4]), np.array([0.9, 0.7, 0.3]), at=0.5) == 0.35
    assert np.isnan(crossing(np.array([0.0, 0.3]), np.array([0.45, 0.3]), at=0.5))


def test_claim_texts_state_their_rules():
    claims = {c.key: c for c in poisoning_claims(paper_like_rows())}
    assert str(CRITERIA.memorised) in claims["mlp-memorises"].claim
    assert str(CRITERIA.plateau_margin) in claims["qnn-plateau"].criterion
    assert f"[{CRITERIA.critical_range[0]}, {CRITERIA.critical_range[1]}]" in claims["qnn-collapse"].claim
    strict = poisoning_claims(paper_like_rows(), Criteria(memorised=0.999))[0]
    assert "0.999" in strict.criterion and strict.holds  # the synthetic MLP fits every label


def summary(values: dict[str, float]) -> list[dict]:
    return [{"method": m, "val_acc_mean": v, "val_acc_std": 0.01, "epochs_to_match": [0]} for m, v in values.items()]


def test_unlearning_claims_compare_with_retraining():
    good = unlearning_claims({("mnist", "mlp"): summary({"retrain": 0.98, "finetune": 0.9, "scrub": 0.975, "grad-ascent": 0.92}),
                              ("mnist", "qnn"): summary({"retrain": 0.91, "finetune": 0.901, "scrub": 0.85, "grad-ascent": 0.8})})
    assert verdicts(good) == {"mlp-unlearning-lags": True, "qnn-unlearning-matches": True}  # the best QNN method within 0.01
    bad = unlearning_claims({("xxz", "mlp"): summary({"retrain": 0.9, "finetune": 0.9}),
                             ("xxz", "qnn"): summary({"retrain": 0.95, "finetune": 0.939, "scrub": 0.9})})
    assert verdicts(bad) == {"mlp-unlearning-lags": False, "qnn-unlearning-matches": False}


def test_landscape_claims_use_the_trace_ratios():
    def row(model, alpha, ratios, collapsed=()):
        return dict(model=model, alpha=alpha, ratio_mean=float(np.mean(ratios)) if ratios else float("nan"),
                    ratio_std=float(np.std(ratios)) if ratios else float("nan"), ratios=ratios,
                    collapsed_seeds=list(collapsed), collapsed_ratios=[])
    claims = landscape_claims([row("mlp", 0.2, [30.0, 200.0]), row("mlp", 0.4, [], collapsed=[0, 1]),
                               row("qnn", 0.2, [0.97, 1.01]), row("qnn", 0.4, [0.4, 0.5])])
    assert verdicts(claims) == {"mlp-sharpens": False, "qnn-flat": True}  # no measurable ratio at α=0.4; a falling QNN trace is flat
    assert "collapsed seeds [0, 1]" in " ".join(claims[0].measured)
    median = landscape_claims([row("mlp", 0.2, [5.0, 11.0, 900.0]), row("mlp", 0.3, [12.0, 15.0]),
                               row("qnn", 0.2, [1.1, 1.4])])  # mean 305 but median 11; QNN mean 1.25
    assert verdicts(median) == {"mlp-sharpens": True, "qnn-flat": False}
    assert verdicts(landscape_claims([row("mlp", 0.2, [5.0, 9.0, 900.0])])) == {"mlp-sharpens": False}


def _summary(flip_fit: float, gaps: dict[str, float]) -> list[dict]:
    """A hand-made unlearning summary: retraining and approximate methods ending ``gaps`` from it."""
    return [{"method": "retrain", "flip_fit_mean": flip_fit, "gap_start_mean": -0.1, "gap_end_mean": 0.0}] + [
        {"method": m, "flip_fit_mean": flip_fit, "gap_start_mean": -0.1, "gap_end_mean": g} for m, g in gaps.items()]


def test_unlearning_with_controls_holds_only_when_no_comparable_classical_model_matches():
    from qml_core.experiments.claims import unlearning_control_claim

    quantum = {"qnn"}
    base = {"qnn": _summary(0.05, {"finetune": 0.02}), "mlp": _summary(1.0, {"finetune": -0.2})}
    holds = unlearning_control_claim("mnist", {**base, "logreg": _summary(0.04, {"finetune": -0.05})}, quantum)
    assert holds.holds and any("logreg" in line and "does not match" in line for line in holds.measured)
    fails = unlearning_control_claim("mnist", {**base, "logreg": _summary(0.04, {"finetune": 0.0})}, quantum)
    assert not fails.holds  # a classical model that fitted as little matches too: not quantum
    alone = unlearning_control_claim("mnist", base, quantum)  # only a memorising MLP to compare with
    assert not alone.holds and "not judged" in alone.measured[-1]
    lagging = unlearning_control_claim("mnist", {**base, "qnn": _summary(0.05, {"finetune": -0.03}),
                                                 "logreg": _summary(0.04, {"finetune": -0.05})}, quantum)
    assert not lagging.holds


def _ratios(entries: dict[str, tuple[float, float]], alphas=(0.2, 0.3)) -> list[dict]:
    return [{"variant": m, "alpha": a, "ratio_median": r, "flip_fit_mean": f} for a in alphas for m, (r, f) in entries.items()]


def test_flatness_with_controls_needs_a_flat_qnn_and_sharpening_peers():
    from qml_core.experiments.claims import flatness_control_claim

    quantum = {"qnn", "qnn-d10"}
    holds = flatness_control_claim("xxz", _ratios({"qnn": (1.0, 0.05), "logreg": (2.0, 0.05), "mlp": (50.0, 1.0),
                                                   "qnn-d10": (3.0, 0.05)}), quantum)
    assert holds.holds
    assert not flatness_control_claim("xxz", _ratios({"qnn": (1.0, 0.05), "logreg": (1.1, 0.05)}), quantum).holds
    assert not flatness_control_claim("xxz", _ratios({"qnn": (1.3, 0.05), "logreg": (2.0, 0.05)}), quantum).holds
    assert not flatness_control_claim("xxz", _ratios({"qnn": (0.7, 0.05), "logreg": (2.0, 0.05)}), quantum).holds
    memoriser_only = flatness_control_claim("xxz", _ratios({"qnn": (1.0, 0.05), "mlp": (50.0, 1.0)}), quantum)
    assert not memoriser_only.holds and "not judged" in memoriser_only.measured[-1]
