"""The §6 claims are decided by their criteria: synthetic results on either side of each."""
import numpy as np

from qml_core.claims import landscape_claims, poisoning_claims, unlearning_claims

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


def summary(values: dict[str, float]) -> list[dict]:
    return [{"method": m, "val_acc_mean": v, "val_acc_std": 0.01, "epochs_to_match": [0]} for m, v in values.items()]


def test_unlearning_claims_compare_with_retraining():
    good = unlearning_claims({("mnist", "mlp"): summary({"retrain": 0.98, "finetune": 0.9, "scrub": 0.93, "grad-ascent": 0.92}),
                              ("mnist", "qnn"): summary({"retrain": 0.91, "finetune": 0.96, "scrub": 0.905, "grad-ascent": 0.8})})
    assert verdicts(good) == {"mlp-unlearning-lags": True, "qnn-unlearning-matches": True}
    bad = unlearning_claims({("xxz", "mlp"): summary({"retrain": 0.9, "finetune": 0.95}),
                             ("xxz", "qnn"): summary({"retrain": 0.95, "finetune": 0.96, "scrub": 0.9})})
    assert verdicts(bad) == {"mlp-unlearning-lags": False, "qnn-unlearning-matches": False}


def test_landscape_claims_use_the_trace_ratios():
    def row(model, alpha, ratios, collapsed=()):
        return dict(model=model, alpha=alpha, ratio_mean=float(np.mean(ratios)) if ratios else float("nan"),
                    ratio_std=float(np.std(ratios)) if ratios else float("nan"), ratios=ratios,
                    collapsed_seeds=list(collapsed), collapsed_ratios=[])
    claims = landscape_claims([row("mlp", 0.2, [30.0, 200.0]), row("mlp", 0.4, [], collapsed=[0, 1]),
                               row("qnn", 0.2, [0.97, 1.01]), row("qnn", 0.4, [0.9, 1.1])])
    assert verdicts(claims) == {"mlp-sharpens": False, "qnn-flat": True}  # no measurable ratio at α=0.4
    assert "collapsed seeds [0, 1]" in " ".join(claims[0].measured)
