"""Spec validation, hashing and presets."""
import dataclasses

import pytest

from qml_core.specs import ExperimentSpec, MLPModel, MnistData, QNNModel, SpecError, Training, XXZData, preset


@pytest.mark.parametrize("make,match", [
    (lambda: ExperimentSpec(alpha=1.2), r"alpha must be a number in \[0.0, 1.0\)"),
    (lambda: ExperimentSpec(attack="backdoor"), "attack must be one of"),
    (lambda: ExperimentSpec(seed=-1), "seed must be an integer"),
    (lambda: MnistData(digits=(3, 3)), "digits must be two different digits"),
    (lambda: MnistData(digits=(3, 10)), "digits must be two integers in 0..9"),
    (lambda: MnistData(n_val=0), "n_val must be an integer in 1..2000"),
    (lambda: XXZData(spins=30), r"spins must be one of \(6, 8, 10, 12\)"),
    (lambda: XXZData(spins=7), "spins must be one of"),
    (lambda: QNNModel(depth=0), "depth must be an integer in 1..50"),
    (lambda: QNNModel(ansatz="hea"), "ansatz must be one of"),
    (lambda: QNNModel(executor="qiskit"), "executor must be one of"),
    (lambda: MLPModel(hidden=(0,)), "hidden must be"),
    (lambda: Training(epochs=0), "epochs must be an integer in 1..10000"),
    (lambda: Training(lr=0.0), "lr must be a number"),
    (lambda: Training(batch_size=True), "batch_size must be an integer"),
])
def test_invalid_values_name_the_field(make, match):
    with pytest.raises(SpecError, match=match):
        make()


def test_specs_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        ExperimentSpec().alpha = 0.5


def test_key_is_stable_and_sensitive_to_every_field():
    base = preset("paper", "mnist", "qnn")
    assert base.key() == preset("paper", "mnist", "qnn").key()
    variants = [base.replace(alpha=0.1), base.replace(seed=1), base.replace(alpha=0.1, attack="feature-noise"),
                base.replace(data=MnistData(digits=(1, 7))), base.replace(model=QNNModel(depth=5)),
                base.replace(model=QNNModel(executor="default.qubit")),
                base.replace(training=Training(epochs=99, batch_size=256, lr=0.005)),
                preset("paper", "mnist", "mlp")]
    keys = {v.key() for v in variants} | {base.key()}
    assert len(keys) == len(variants) + 1


def test_a_clean_run_has_one_key_for_both_attacks_but_they_never_train_stacked():
    """At α = 0 nothing is poisoned: the attack is left out of the key (computed once), not
    out of the spec, and not out of the architecture (feature noise can widen an MLP's input)."""
    clean = preset("paper", "xxz", "mlp")
    noise = clean.replace(attack="feature-noise")
    assert noise.key() == clean.key() and noise.attack == "feature-noise" and noise.spec_dict() != clean.spec_dict()
    assert noise.architecture_key() != clean.architecture_key()
    assert noise.replace(alpha=0.1).key() != clean.replace(alpha=0.1).key()


def test_paper_preset_follows_the_protocol_table():
    qnn, mlp = preset("paper", "mnist", "qnn"), preset("paper", "mnist", "mlp")
    assert (qnn.model.depth, qnn.training) == (6, Training(100, 256, 0.005))
    assert (mlp.model.hidden, mlp.training) == ((64, 16), Training(100, 256, 0.005))
    xq, xm = preset("paper", "xxz", "qnn"), preset("paper", "xxz", "mlp")
    assert xq.data.spins == 12 and (xq.model.depth, xq.training) == (4, Training(200, 32, 0.03))
    assert xm.training == Training(400, 32, 0.01)
    assert qnn.data == MnistData((1, 9), 250, 1000)


def test_preset_rejects_unknown_names():
    with pytest.raises(SpecError, match="dataset must be one of"):
        preset("paper", "cifar")
    with pytest.raises(SpecError, match="preset must be one of"):
        preset("slow")


def test_every_public_name_resolves():
    import qml_core

    assert all(getattr(qml_core, name) is not None for name in qml_core.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        qml_core.nothing  # noqa: B018


def test_xxz_representation_and_mlp_setup_options():
    """New options validate, change the key when set, and leave the default specs' keys as they were."""
    base = preset("quick", "xxz", "mlp").replace(data=XXZData(spins=12))  # the lab's own construction
    assert "gauge" not in base.spec_dict()["data"] and "setup" not in base.spec_dict()["model"]
    paper = preset("paper", "xxz", "mlp").data
    assert (paper.layout, paper.gauge, paper.spins) == ("windows", "phase", 12)  # the authors' construction
    keys = {base.key(), base.replace(data=XXZData(spins=12, gauge="phase")).key(),
            base.replace(data=XXZData(spins=12, gauge="phase", data_seed=1)).key(),
            base.replace(data=XXZData(spins=12, gauge="sign")).key(),
            base.replace(data=XXZData(spins=12, layout="windows")).key(),
            base.replace(model=MLPModel(setup="keras")).key()}
    assert len(keys) == 6
    for make, match in [(lambda: XXZData(gauge="complex"), "gauge must be one of"),
                        (lambda: XXZData(layout="random"), "layout must be one of"),
                        (lambda: XXZData(layout="windows", n_grid=101), "n_grid and window apply only to layout grid"),
                        (lambda: XXZData(data_seed=3), "data_seed applies only to a random gauge"),
                        (lambda: MLPModel(setup="jax"), "setup must be one of")]:
        with pytest.raises(SpecError, match=match):
            make()


# Keys of the presets at α = 0.3 before MLPModel had ``features`` (commit 58f2776)
KEYS_BEFORE_FEATURES = {
    ("xxz", "paper"): "3988e0c21b236fce7832c5229c9286ed95670efbfc92d339188a699e0df36a18",
    ("xxz", "quick"): "8787daeb2bbd2592fa84b9eefe498af1b7dcd5b92ba01c381e23f372da424e38",
    ("mnist", "paper"): "d741ac0bfa4193bbb3cb44ea6a03fbeeba44a8c565f1378f1331d24bfbefe1ec",
    ("mnist", "quick"): "d10c5fb44d8db76bad0c95557d0541cbf511101cb17522129907f3e753eaea62",
}


@pytest.mark.parametrize("dataset,name", sorted(KEYS_BEFORE_FEATURES))
def test_amplitude_features_keep_the_keys_of_before(dataset, name):
    spec = preset(name, dataset, "mlp").replace(alpha=0.3)
    explicit = spec.replace(model=dataclasses.replace(spec.model, features="amplitudes", snapshots=0))
    assert spec.key() == explicit.key() == KEYS_BEFORE_FEATURES[dataset, name]
    measured = spec.replace(model=dataclasses.replace(spec.model, features="correlators")) if dataset == "xxz" else None
    assert measured is None or measured.key() != spec.key()


@pytest.mark.parametrize("model,data,message", [
    (dict(features="photos"), "xxz", "features must be one of"),
    (dict(features="shadows"), "xxz", r"snapshots must be an integer in 1\.\.100000, got 0"),
    (dict(features="shadows", snapshots=0), "xxz", r"snapshots must be an integer in 1\.\.100000, got 0"),
    (dict(features="correlators", snapshots=10), "xxz", "snapshots applies only to features shadows and shadow-correlators"),
    (dict(features="shadow-correlators"), "xxz", r"snapshots must be an integer in 1\.\.100000, got 0"),
    (dict(features="shadow-correlators", snapshots=100_001), "xxz", r"snapshots must be an integer in 1\.\.100000"),
    (dict(features="shadow-correlators", snapshots=100), "mnist", "features shadow-correlators applies only to dataset xxz"),
    (dict(features="shadows", snapshots=100), "mnist", "features shadows applies only to dataset xxz"),
    (dict(features="probabilities"), "mnist", "features probabilities applies only to dataset xxz"),
])
def test_bad_features_name_the_field(model, data, message):
    spec = preset("quick", data, "mlp")
    with pytest.raises(SpecError, match=message):
        spec.replace(model=MLPModel(**model))
