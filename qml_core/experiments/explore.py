"""What the pages show besides results: poisoned samples, the QNN circuit, dataset overviews.

Plain data out (arrays, lists, strings), figures are built by ``plots``.
"""
import numpy as np

from qml_core.data.datasets import load_dataset
from qml_core.data.poison import poison
from qml_core.specs import SNAPSHOT_FEATURES, ExperimentSpec, MnistData, QNNModel, XXZData

MNIST_SIDE = 28
ESTIMATES = {"shadows": ("correlators", "probabilities"), "shadow-correlators": ("correlators",)}  # exact features each estimates
ALIKE = 0.9  # neighbouring states "look alike" to a model above this similarity


def class_names(data) -> tuple[str, str]:
    """Display names of labels 0 and 1."""
    if isinstance(data, MnistData):
        return str(data.digits[0]), str(data.digits[1])
    if isinstance(data, XXZData):
        return "XY (Δ<1)", "Néel (Δ>1)"
    return "0", "1"


def poisoned_examples(spec: ExperimentSpec, n: int = 8) -> dict:
    """Up to ``n`` poisoned training samples of a spec, as the model sees them.

    ``images`` (k, 28, 28) for MNIST: the original digit for label flipping, the noise that
    replaced it for feature randomisation (its first 784 amplitudes, rescaled to [0, 1]);
    None for other data. ``true``/``shown``: the clean and the training label names;
    ``count``: how many samples the attack poisoned in all."""
    data = load_dataset(spec.data)
    poisoned = poison(data.x_train, data.y_train, spec.alpha, spec.attack, spec.seed)
    forget, clean = poisoned.forget, data.y_train[poisoned.forget]
    chosen = np.concatenate([forget[clean == 0][:n // 2], forget[clean == 1][:n - n // 2]])
    names = class_names(spec.data)
    images = None
    if data.images is not None:
        if spec.attack == "label-flip":
            images = data.images[chosen].astype(float) / 255.0
        else:
            pixels = np.abs(poisoned.x[chosen, :MNIST_SIDE ** 2]).reshape(-1, MNIST_SIDE, MNIST_SIDE)
            images = pixels / np.maximum(pixels.max(axis=(1, 2), keepdims=True), 1e-12)
    return {"images": images, "true": [names[y] for y in data.y_train[chosen]],
            "shown": [names[y] for y in poisoned.y[chosen]], "count": len(poisoned.forget),
            "n_train": len(data.y_train)}


def circuit_text(model: QNNModel, n_qubits: int) -> str:
    """The QNN drawn by PennyLane (``qml.draw``) from its one definition in ``circuits``."""
    import pennylane as qml

    from qml_core.sim.circuits import make_qnode, weight_shape

    node = make_qnode("default.qubit", n_qubits, model.ansatz, interface="numpy")
    state = np.zeros(2 ** n_qubits)
    state[0] = 1.0
    weights = np.zeros(weight_shape(model.ansatz, model.depth, n_qubits))
    return qml.draw(node, decimals=None, max_length=200)(state, weights)


def mnist_samples(digits: tuple[int, int], per_class: int = 8) -> dict:
    """``per_class`` training images of each digit: images (2·per_class, 28, 28) in [0, 1], labels."""
    data = load_dataset(MnistData(digits=digits, n_train_per_class=per_class, n_val=1))
    return {"images": data.images.astype(float) / 255.0, "labels": [str(digits[y]) for y in data.y_train]}


def xxz_overview(spins: int, n_grid: int = 161, layout: str = "grid", gauge: str = "fixed", data_seed: int = 0) -> dict:
    """Energy gap and nearest-neighbour correlations ⟨Z0Z1⟩, ⟨X0X1⟩ against Δ, with each
    point's role (train / validation / excluded window), for the points of ``layout``.

    How the states are represented (``gauge``, ``xxz.regauge``) changes nothing physical but
    what a classical model sees: ``mlp_similarity`` is the cosine similarity of neighbouring
    points' MLP inputs ([Re, Im] for complex states), ``qnn_overlap`` their |⟨ψ|ψ'⟩|, which no
    gauge changes (one entry per neighbouring pair, in Δ order); ``mlp_alike``/``qnn_alike``:
    the share of pairs above ALIKE, i.e. neighbours the model sees as nearly the same input."""
    from qml_core.data.encoding import classical_view
    from qml_core.data.xxz import load_xxz, regauge

    xxz = load_xxz(n_spins=spins, n_grid=n_grid, window=XXZData().window, layout=layout)
    role = np.where(xxz.train_mask, "train", np.where(xxz.val_mask, "validation", "window"))
    states = regauge(xxz.states, gauge, data_seed)
    view = classical_view(states)
    similarity = np.sum(view[1:] * view[:-1], axis=1) / (np.linalg.norm(view[1:], axis=1) * np.linalg.norm(view[:-1], axis=1))
    overlap = np.abs(np.sum(np.conj(states[1:]) * states[:-1], axis=1))
    return {"spins": spins, "delta": xxz.deltas.tolist(), "gap": xxz.gaps.tolist(), "zz": xxz.zz.tolist(),
            "xx": xxz.xx.tolist(), "label": xxz.labels.tolist(), "role": role.tolist(),
            "mlp_similarity": similarity.tolist(), "qnn_overlap": overlap.tolist(),
            "mlp_alike": float(np.mean(similarity > ALIKE)), "qnn_alike": float(np.mean(overlap > ALIKE))}


EQUAL_DIGITS = 9  # features whose exact values agree to this many decimals at every Δ are one curve


def equal_groups(exact: np.ndarray) -> list[list[int]]:
    """Feature columns of ``exact`` (G points × F features) that are equal at every point, each
    group listed by column index, in column order. The periodic chain is symmetric under
    translation and reflection (⟨Z0Z1⟩ = ⟨Z1Z2⟩ = …) and under spin flip (a basis state and its
    complement are equally likely), so most features come in groups of equal curves."""
    _, inverse = np.unique(np.round(exact.T, EQUAL_DIGITS), axis=0, return_inverse=True)
    groups: dict[int, list[int]] = {}
    for column, group in enumerate(np.ravel(inverse)):
        groups.setdefault(int(group), []).append(column)
    return sorted(groups.values())


def xxz_features_view(spins: int, kind: str, snapshots: int = 0, n_grid: int = 161, layout: str = "grid",
                      top: int = 6) -> dict:
    """What a measurement gives of the XXZ states against Δ (``measurements.py``): the ``top``
    distinct features of ``kind`` that vary most over Δ, features equal at every Δ by the
    chain's symmetry drawn once (``equal``: how many each curve stands for; ``distinct``: how
    many different curves there are), their exact values (``exact``: one list per feature, in
    Δ order) and, for ``shadows`` and ``shadow-correlators``, the estimates from ``snapshots``
    copies of the group's first feature (``measured``; None for the exact kinds); ``width``:
    the whole vector's length."""
    from qml_core.data.measurements import feature_names, xxz_features

    data = XXZData(spins=spins, n_grid=n_grid, layout=layout)
    values, deltas = xxz_features(data, kind, snapshots)
    estimated = kind in SNAPSHOT_FEATURES
    exact = values if not estimated else np.concatenate(
        [xxz_features(data, k)[0] for k in ESTIMATES[kind]], axis=1)
    groups = equal_groups(exact)
    spread = exact.std(axis=0)
    chosen = sorted(groups, key=lambda g: -spread[g[0]])[:top]
    order = [g[0] for g in chosen]
    names = feature_names(spins, kind)
    return {"spins": spins, "kind": kind, "snapshots": snapshots, "delta": deltas.tolist(), "width": values.shape[1],
            "names": [names[i] for i in order], "equal": [len(g) for g in chosen], "distinct": len(groups),
            "exact": exact[:, order].T.tolist(),
            "measured": values[:, order].T.tolist() if estimated else None}


def upload_overview(digest: str) -> dict:
    """A stored upload at a glance: size, classes and their counts, qubits after encoding,
    and its first two principal components (the scatter the data page draws)."""
    from qml_core.data.upload import load_upload

    x, y, classes = load_upload(digest)
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred[:2000], full_matrices=False)
    pcs = centred @ vt[:2].T if len(vt) >= 2 else np.column_stack([centred[:, 0], np.zeros(len(x))])
    return {"n": len(x), "features": x.shape[1], "classes": list(classes), "counts": np.bincount(y, minlength=2).tolist(),
            "qubits": max(2, int(np.ceil(np.log2(x.shape[1])))), "pc1": pcs[:, 0].tolist(), "pc2": pcs[:, 1].tolist(),
            "label": y.tolist()}
