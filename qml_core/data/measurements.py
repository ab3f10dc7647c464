"""What an experiment can measure of a quantum state, as the classical models' input.

A classical learner given XXZ amplitude vectors reads information no experiment hands it
(and, with a random global phase, a phase that carries no physics). Here it gets what copies
of the state give instead (``specs.MLPModel.features``):

- ``probabilities``: |ψ_k|² over the computational basis, exact;
- ``correlators``: ⟨X_iX_j⟩, ⟨Y_iY_j⟩, ⟨Z_iZ_j⟩ for all pairs i < j, exact (3·n(n−1)/2 numbers,
  all XX pairs first, then YY, then ZZ, pairs in lexicographic order);
- ``shadows``: the same correlators estimated from M classical-shadow snapshots (each a random
  X, Y or Z basis per qubit, one shot; Huang, Kueng & Preskill, Nat. Phys. 16, 1050 (2020)),
  then the probabilities estimated from M further Z-basis shots;
- ``shadow-correlators``: the shadow correlator estimates alone, without the shot histogram (a
  state's histogram of few shots is a sparse vector a model can memorise). They come from the
  same snapshots as ``shadows``' (the same seeds), so they equal its first 3·n(n−1)/2 columns.

The estimators are unbiased: a snapshot's estimate of ⟨P_iP_j⟩ is 9·s_i·s_j when both qubits
were measured in basis P (s = ±1, the outcomes), else 0, so its variance is 9 − ⟨P_iP_j⟩²;
the shot frequencies are multinomial, variance p(1 − p)/M. Every estimate is seeded.

Features of a dataset's states are computed once and stored beside its XXZ states
(``xxz_features``). Qubit 0 is the most significant bit of the amplitude index.

Shadows of many snapshots take long (paper XXZ, 12 qubits: about 600 snapshots a second, so
100 000 snapshots of 166 states take hours): ``measure`` reports each state done to a
``progress(done, total)`` callback, and ``shadow_seconds`` says beforehand how long it should
take from a rate measured on this machine (``snapshot_rate``), so that a caller can ask first.
"""
import functools
import itertools
import pathlib
import time
from collections.abc import Callable

import numpy as np

from qml_core.specs import FEATURES, SNAPSHOT_FEATURES, XXZData

KINDS = FEATURES  # "amplitudes" is the state itself (``encoding.classical_view``), not computed here
MEASURED = KINDS[1:]
FEATURES_FORMAT = 1  # bump when a computation here changes, so stored features are recomputed
SHADOW_STREAM, SHOT_STREAM = 13, 14  # random streams of the snapshots' bases and outcomes, and of the Z shots
DATASET_SEED = 0  # a dataset's stored estimates come from this seed, in stream 0
NOISE_STREAM = 1  # a run's feature-noise states are measured with the run's seed in this stream
CHUNK = 256  # snapshots rotated at once (memory: CHUNK · 2**n complex numbers)
PAULIS = "XYZ"
# Rotations that turn a measurement of X, Y or Z into one in the computational basis: H, H S†, 1
ROTATIONS = np.array([[[1, 1], [1, -1]], [[1, -1j], [1, 1j]], [[np.sqrt(2), 0], [0, np.sqrt(2)]]]) / np.sqrt(2)


def pairs(n_qubits: int) -> list[tuple[int, int]]:
    """All qubit pairs (i, j), i < j, in lexicographic order."""
    return list(itertools.combinations(range(n_qubits), 2))


def feature_names(n_qubits: int, kind: str) -> list[str]:
    """Names of a feature vector's entries: 'X0X1', …, 'Z10Z11' for correlators, 'p(000…)' for
    probabilities (bit string, qubit 0 first)."""
    check_kind(kind)
    correlators = [f"{p}{i}{p}{j}" for p in PAULIS for i, j in pairs(n_qubits)]
    probabilities = [f"p({k:0{n_qubits}b})" for k in range(2 ** n_qubits)]
    return {"probabilities": probabilities, "correlators": correlators, "shadows": correlators + probabilities,
            "shadow-correlators": correlators}[kind]


def feature_width(n_qubits: int, kind: str) -> int:
    """Length of a feature vector of ``kind`` for ``n_qubits`` qubits."""
    return len(feature_names(n_qubits, kind))


def check_kind(kind: str) -> None:
    if kind not in MEASURED:
        raise ValueError(f"measured features must be one of {MEASURED}, got {kind!r}")


def _qubits(states: np.ndarray) -> int:
    n = states.shape[-1].bit_length() - 1
    if states.ndim != 2 or 1 << n != states.shape[-1] or n < 2:
        raise ValueError(f"states must be (G, 2**n) with n >= 2 qubits, got shape {states.shape}")
    return n


def _z_signs(n_qubits: int) -> np.ndarray:
    """(n, 2**n): z_q(k) = +1 if qubit q of basis state k is 0, else −1."""
    k = np.arange(2 ** n_qubits)
    return 1 - 2 * ((k[None, :] >> (n_qubits - 1 - np.arange(n_qubits))[:, None]) & 1)


def exact_probabilities(states: np.ndarray) -> np.ndarray:
    """|ψ_k|² of states (G, d), each normalised: (G, d) float64."""
    p = np.abs(states) ** 2
    return p / p.sum(axis=1, keepdims=True)


def exact_correlators(states: np.ndarray) -> np.ndarray:
    """⟨X_iX_j⟩, ⟨Y_iY_j⟩, ⟨Z_iZ_j⟩ of normalised states (G, 2**n), real or complex:
    (G, 3·n(n−1)/2) float64, ordered as ``feature_names``. X_iX_j maps k to k ⊕ m (m: bits i
    and j), Y_iY_j is −z_i z_j times that, Z_iZ_j is z_i z_j on the diagonal."""
    n = _qubits(states)
    z = _z_signs(n)
    k = np.arange(2 ** n)
    p = np.abs(states) ** 2
    xx, yy, zz = [], [], []
    for i, j in pairs(n):
        flip = k ^ ((1 << (n - 1 - i)) | (1 << (n - 1 - j)))
        overlap = np.conj(states) * states[:, flip]
        xx.append(overlap.real.sum(1))
        yy.append(-(overlap.real * z[i] * z[j]).sum(1))
        zz.append(p @ (z[i] * z[j]))
    return np.stack(xx + yy + zz, axis=1).astype(np.float64)


def shadow_snapshots(state: np.ndarray, snapshots: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``snapshots`` classical-shadow snapshots of one normalised state (2**n,): a uniformly
    random Pauli basis per qubit, then one computational-basis shot of the rotated state.
    Returns (bases (M, n) in {0, 1, 2} for X, Y, Z; outcomes (M, n) ±1, the eigenvalue seen)."""
    n = _qubits(state[None])
    d = 2 ** n
    bases = rng.integers(0, 3, size=(snapshots, n))
    outcomes = np.empty((snapshots, n), dtype=np.int8)
    for start in range(0, snapshots, CHUNK):
        b = bases[start:start + CHUNK]
        psi = np.broadcast_to(np.asarray(state, dtype=np.complex128), (len(b), d))
        for q in range(n):
            u = ROTATIONS[b[:, q]][:, None, :, :, None]  # (m, 1, 2, 2, 1)
            v = psi.reshape(len(b), 2 ** q, 1, 2, 2 ** (n - q - 1))
            psi = (u[:, :, :, 0] * v[:, :, :, 0] + u[:, :, :, 1] * v[:, :, :, 1]).reshape(len(b), d)
        cum = np.cumsum(np.abs(psi) ** 2, axis=1)
        draw = rng.random(len(b))[:, None] * cum[:, -1:]
        index = np.minimum((cum < draw).sum(1), d - 1)
        outcomes[start:start + CHUNK] = 1 - 2 * ((index[:, None] >> (n - 1 - np.arange(n))) & 1)
    return bases, outcomes


def snapshot_estimates(bases: np.ndarray, outcomes: np.ndarray) -> np.ndarray:
    """Each snapshot's estimate of every ⟨P_iP_j⟩ (ordered as ``feature_names``): 9·s_i·s_j
    where both qubits were measured in P, 0 elsewhere. Snapshots (M, n) -> (M, 3·n(n−1)/2)."""
    i, j = np.array(pairs(bases.shape[1])).T
    out = []
    for pauli in range(3):
        hit = np.where(bases == pauli, outcomes, 0).astype(np.float64)  # s_q where qubit q was measured in P
        out.append(9.0 * hit[:, i] * hit[:, j])
    return np.concatenate(out, axis=1)


def shadow_correlators(bases: np.ndarray, outcomes: np.ndarray) -> np.ndarray:
    """The shadow estimate of every ⟨P_iP_j⟩: the mean of ``snapshot_estimates`` over the
    snapshots, (3·n(n−1)/2,) float64."""
    return snapshot_estimates(bases, outcomes).mean(axis=0)


def shot_probabilities(state: np.ndarray, shots: int, rng: np.random.Generator) -> np.ndarray:
    """Frequencies of ``shots`` computational-basis measurements of one state (d,): (d,) float64."""
    p = exact_probabilities(np.asarray(state)[None])[0]
    return rng.multinomial(shots, p) / shots


MeasureProgress = Callable[[int, int], None]  # (states measured, states to measure)
MEASURING = "measuring"  # a training progress record's "stage" while the run's features are measured


def measure(states: np.ndarray, kind: str, snapshots: int = 0, seed: int = DATASET_SEED, stream: int = 0,
            progress: MeasureProgress | None = None) -> np.ndarray:
    """Features of ``kind`` for states (G, 2**n): (G, ``feature_width``) float64. ``shadows``
    uses ``snapshots`` snapshots and as many Z shots per state, drawn from (seed, stream, row
    index), so a row's estimate does not depend on which other rows are measured with it;
    ``shadow-correlators`` the same snapshots and no shots; ``progress(done, G)`` is called after
    each state (an exception it raises stops the work)."""
    check_kind(kind)
    _qubits(states)
    if kind == "probabilities":
        return exact_probabilities(states)
    if kind == "correlators":
        return exact_correlators(states)
    if not (isinstance(snapshots, (int, np.integer)) and snapshots >= 1):
        raise ValueError(f"snapshots must be a positive integer for {kind}, got {snapshots!r}")
    rows = []
    for index, state in enumerate(states):
        snaps = shadow_snapshots(state, snapshots, np.random.default_rng([seed, stream, SHADOW_STREAM, index]))
        row = [shadow_correlators(*snaps)]
        if kind == "shadows":
            row.append(shot_probabilities(state, snapshots, np.random.default_rng([seed, stream, SHOT_STREAM, index])))
        rows.append(np.concatenate(row))
        if progress is not None:
            progress(index + 1, len(states))
    return np.array(rows)


CALIBRATION_SNAPSHOTS = 2 * CHUNK  # snapshots timed to measure the rate (0.9 s at 12 qubits, loaded machine)


@functools.cache
def snapshot_rate(n_qubits: int) -> float:
    """Snapshots per second that ``shadow_snapshots`` takes of an n-qubit state on this machine
    now (timed once per process on a random state; the rate does not depend on the state)."""
    rng = np.random.default_rng(0)
    state = rng.normal(size=2 ** n_qubits) + 1j * rng.normal(size=2 ** n_qubits)
    start = time.perf_counter()
    shadow_snapshots(state / np.linalg.norm(state), CALIBRATION_SNAPSHOTS, rng)
    return CALIBRATION_SNAPSHOTS / max(time.perf_counter() - start, 1e-9)


def shadow_seconds(states: int, n_qubits: int, snapshots: int) -> float:
    """Seconds ``measure`` should take for shadows of ``snapshots`` of each of ``states``
    n-qubit states (the Z shots cost little beside them)."""
    return states * snapshots / snapshot_rate(n_qubits)


def features_file(data: XXZData, kind: str, snapshots: int, directory: pathlib.Path | None = None) -> pathlib.Path:
    """Where a dataset's features are stored: beside its states, named by kind and snapshots."""
    from qml_core.data.xxz import cache_file, default_cache_dir

    states = cache_file(directory or default_cache_dir(), data.spins, data.n_grid, data.window, data.layout)
    tag = f"{kind}{snapshots}" if kind in SNAPSHOT_FEATURES else kind
    return states.with_name(f"{states.stem}-{tag}-f{FEATURES_FORMAT}.npz")


def stored_features(data: XXZData, kind: str, snapshots: int = 0) -> np.ndarray | None:
    """The dataset's stored features of ``kind`` (``xxz_features``), None until measured."""
    from qml_core.data.xxz import load_xxz, read_arrays

    xxz = load_xxz(n_spins=data.spins, n_grid=data.n_grid, window=data.window, layout=data.layout)
    stored = read_arrays(features_file(data, kind, snapshots), ("features",))
    if stored is not None and stored["features"].shape == (len(xxz.deltas), feature_width(data.spins, kind)):
        return stored["features"]
    return None


def xxz_features(data: XXZData, kind: str, snapshots: int = 0,
                 progress: MeasureProgress | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(features (G, w), deltas (G,)) of the dataset's states in grid order (the order of
    ``xxz.load_xxz``'s arrays and masks), read from beside the states or measured (with
    ``progress``, see ``measure``) and stored there; ``shadow-correlators`` are read from the
    stored ``shadows`` of as many snapshots when there are some. The gauge does not matter:
    every feature is blind to a state's global phase."""
    from qml_core.data.xxz import load_xxz, write_arrays

    xxz = load_xxz(n_spins=data.spins, n_grid=data.n_grid, window=data.window, layout=data.layout)
    stored = stored_features(data, kind, snapshots)
    if stored is not None:
        return stored, xxz.deltas
    features = _from_shadows(data, snapshots) if kind == "shadow-correlators" else None
    if features is None:
        features = measure(np.asarray(xxz.states), kind, snapshots, progress=progress)
    write_arrays(features_file(data, kind, snapshots), {"features": features})
    return features, xxz.deltas


def _from_shadows(data: XXZData, snapshots: int) -> np.ndarray | None:
    """The dataset's ``shadow-correlators``, read from its stored ``shadows`` of as many
    snapshots (the same snapshots: their first columns) instead of measured again; None when
    those are not stored."""
    stored = stored_features(data, "shadows", snapshots)
    return None if stored is None else stored[:, :feature_width(data.spins, "shadow-correlators")]


def split_features(data: XXZData, kind: str, snapshots: int = 0,
                   progress: MeasureProgress | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(training (n, w), validation (m, w)) features of the dataset, in the rows and order of
    ``datasets.load_dataset``'s x_train and x_val (``progress``: see ``measure``)."""
    from qml_core.data.xxz import load_xxz

    features, _ = xxz_features(data, kind, snapshots, progress)
    xxz = load_xxz(n_spins=data.spins, n_grid=data.n_grid, window=data.window, layout=data.layout)
    return features[xxz.train_mask], features[xxz.val_mask]


def poisoned_features(data: XXZData, kind: str, snapshots: int, x: np.ndarray, replaced: np.ndarray,
                      seed: int, progress: MeasureProgress | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``split_features`` of a run's poisoned training set: rows ``replaced`` (feature noise)
    hold other states, ``x[replaced]``, measured afresh with the run's seed; the others are the
    dataset's stored features (label flipping leaves every state as it is). ``progress``: see
    ``measure`` (the dataset's states first, then the replaced rows)."""
    train, val = split_features(data, kind, snapshots, progress)
    if len(replaced):
        train = train.copy()
        train[replaced] = measure(x[replaced], kind, snapshots, seed, NOISE_STREAM, progress)
    return train, val
