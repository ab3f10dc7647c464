"""Data poisoning attacks of the protocol (§2): label flipping and feature randomisation."""
from dataclasses import dataclass

import numpy as np

from qml_core.specs import ATTACKS


@dataclass(frozen=True)
class Poisoned:
    """A poisoned training set. ``forget`` are the poisoned indices, ``retain`` the rest."""
    x: np.ndarray
    y: np.ndarray
    forget: np.ndarray
    retain: np.ndarray


def poison_count(n: int, alpha: float, attack: str) -> int:
    """⌊αn⌋ rounded to even: down for label flipping, up for feature randomisation (§2)."""
    k = int(np.floor(alpha * n + 1e-9))
    if attack == "label-flip":
        return k - k % 2
    return k + k % 2


def choose_poisoned(y: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``count`` indices, half from each class, without replacement; sorted."""
    half = count // 2
    picks = []
    for label in (0, 1):
        members = np.flatnonzero(y == label)
        if half > len(members):
            raise ValueError(f"alpha too large: class {label} has {len(members)} samples, {half} requested")
        picks.append(rng.choice(members, size=half, replace=False))
    return np.sort(np.concatenate(picks)).astype(np.int64)


def poison(x: np.ndarray, y: np.ndarray, alpha: float, attack: str, seed: int) -> Poisoned:
    """Poison a fraction ``alpha`` of (x, y) with ``attack``, seeded.

    label-flip: flip 0↔1 on the chosen samples. feature-noise: replace their inputs by
    N(0, 0.1²) noise (complex noise for complex data), L2-normalised; labels unchanged.
    x: (n, width) amplitude-encoded; y: (n,) int 0/1. Inputs are not modified.
    """
    if attack not in ATTACKS:
        raise ValueError(f"attack must be one of {ATTACKS}, got {attack!r}")
    rng = np.random.default_rng(seed)
    forget = choose_poisoned(y, poison_count(len(y), alpha, attack), rng)
    x_out, y_out = x.copy(), y.copy()
    if attack == "label-flip":
        y_out[forget] = 1 - y_out[forget]
    else:
        noise = rng.normal(0.0, 0.1, size=(len(forget), x.shape[1]))
        if np.iscomplexobj(x):
            noise = noise + 1j * rng.normal(0.0, 0.1, size=noise.shape)
        x_out[forget] = noise / np.linalg.norm(noise, axis=1, keepdims=True)
    retain = np.setdiff1d(np.arange(len(y)), forget)
    return Poisoned(x_out, y_out, forget, retain)
