"""Fair baselines on quantum data: the catalogue, the claim and the statement in words, each
decided from table numbers (tested with numbers that say one thing and the opposite)."""
import pytest

from qml_core.experiments.capacity import MEASURED_FAMILY
from qml_core.experiments.fair import fair_claim, fair_finding, fair_variants


def entry(variant: str, family: str, val: float, train: float = 0.7, std: float = 0.01) -> dict:
    return dict(variant=variant, family=family, label=variant, val_acc_mean=val, val_acc_std=std,
                train_acc_mean=train, alpha=0.3, n_params=100, critical_alpha=float("nan"), clean_val_acc=1.0)


def table(best_measured: float, measured_train: float = 0.7) -> list[dict]:
    return [entry("qnn", "QNN", 1.0), entry("mlp", "MLP", 0.75, train=0.93),
            entry("mlp-correlators", MEASURED_FAMILY, best_measured, train=measured_train),
            entry("logreg-probabilities", MEASURED_FAMILY, best_measured - 0.2)]


def test_the_fair_catalogue_is_the_paper_models_and_the_measured_family():
    names = [v.name for v in fair_variants("quick", spins=6)]
    assert names[:3] == ["qnn", "mlp", "logreg"] and len(names) == 3 + 8
    assert all(v.spec.model.features != "amplitudes" for v in fair_variants("quick", spins=6)[3:])


@pytest.mark.parametrize("best,holds", [(0.85, True), (0.90, True), (0.95, False), (1.0, False)])
def test_claim_holds_only_with_a_lead_of_a_tenth(best, holds):
    claim = fair_claim(table(best))
    assert claim.holds is holds and claim.dataset == "xxz"
    assert f"difference {1.0 - best:+.3f}" in claim.measured[-1] and "mlp-correlators" in claim.measured[1]


def test_claim_fails_without_a_measured_model():
    claim = fair_claim(table(0.8)[:2])
    assert claim.holds is False and "no QNN or no classical-on-measurements entry" in claim.measured[0]


def test_finding_says_what_the_numbers_say():
    leads = fair_finding(table(0.8))
    assert "leads it by 0.200" in leads and "survives" in leads and "mlp-correlators" in leads
    assert "MLP on amplitudes (0.250)" not in leads
    close = fair_finding(table(0.95))
    assert "only 0.050" in close and "survives" not in close and "MLP on amplitudes (0.250) comes from" in close
    beaten = fair_finding(table(1.0, measured_train=0.95))
    assert "matches or beats the QNN" in beaten and "1 of the measured models fits" in beaten
    no_lead = table(1.0)
    no_lead[1] = entry("mlp", "MLP", 0.98)  # the amplitude MLP keeps the plateau too: nothing to explain
    assert "MLP on amplitudes (" not in fair_finding(no_lead)
    assert fair_finding([]) == ""
