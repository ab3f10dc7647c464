"""MNIST digit-pair datasets in the protocol's exact order, from the copy shipped in data/."""
import functools
import pathlib
from importlib import resources

import numpy as np

from qml_core.data.encoding import amplitude_encode


def shipped_mnist() -> pathlib.Path:
    """The shipped MNIST copy: inside an installed package (qml_core/_data/mnist.npz, mapped
    there from data/ by setup.py), else a checkout's data/mnist.npz beside qml_core."""
    package = pathlib.Path(str(resources.files("qml_core")))
    installed = package / "_data" / "mnist.npz"
    return installed if installed.exists() else package.parent / "data" / "mnist.npz"


MNIST_FILE = shipped_mnist()
N_TRAIN_AVAILABLE = 60_000


@functools.lru_cache(maxsize=1)
def mnist_arrays() -> dict[str, np.ndarray]:
    """Every array of the shipped copy, decompressed once per process (0.4 s). The jobs' fork
    server loads them before it forks workers (``runtime/worker_warmup.py``), so that each job
    of a phase diagram does not decompress them again."""
    with np.load(MNIST_FILE, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def check_digits(digits: tuple[int, int]) -> tuple[int, int]:
    """Validate a digit pair: two different digits in 0..9 (label 0 = first, label 1 = second)."""
    if len(digits) != 2 or any(not isinstance(d, (int, np.integer)) or not 0 <= d <= 9 for d in digits):
        raise ValueError(f"digits must be two integers in 0..9, got {digits!r}")
    if digits[0] == digits[1]:
        raise ValueError(f"digits must be two different digits, got {digits[0]} and {digits[1]}")
    return int(digits[0]), int(digits[1])


def load_mnist_pair(digits=(1, 9), n_train_per_class: int = 250, n_val: int = 1000):
    """The protocol's binary MNIST task for a digit pair.

    Training: the first ``n_train_per_class`` images of each digit from the train split, class 0
    block first, then class 1. Validation: the first ``n_val`` test-split images whose digit is
    one of the pair, in file order. Features: pixels / 255, flattened, L2-normalised, zero-padded
    to 1024 amplitudes (10 qubits).

    Returns (x_train (2n, 1024) float64, y_train (2n,) int64, x_val (n_val, 1024), y_val,
    images_train (2n, 28, 28) uint8) — the raw images are kept for display.
    """
    a, b = check_digits(tuple(digits))
    raw = mnist_arrays()
    blocks = []
    for digit in (a, b):
        idx = np.flatnonzero(raw["train_labels"] == digit)[:n_train_per_class]
        if len(idx) < n_train_per_class:
            raise ValueError(f"n_train_per_class: digit {digit} has only {len(idx)} training images")
        blocks.append(idx)
    train_idx = np.concatenate(blocks)
    test_idx = np.flatnonzero(np.isin(raw["test_labels"], (a, b)))[:n_val]
    if len(test_idx) < n_val:
        raise ValueError(f"n_val: digits {a} and {b} have only {len(test_idx)} test images")

    def features(images):
        return amplitude_encode(images.reshape(len(images), -1).astype(np.float64) / 255.0)

    y_train = (raw["train_labels"][train_idx] == b).astype(np.int64)
    y_val = (raw["test_labels"][test_idx] == b).astype(np.int64)
    images = raw["train_images"][train_idx]
    return features(images), y_train, features(raw["test_images"][test_idx]), y_val, images
