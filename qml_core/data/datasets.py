"""Turn a data spec into training and validation arrays (amplitude-encoded)."""
from dataclasses import dataclass

import numpy as np

from qml_core.data.encoding import amplitude_encode
from qml_core.data.mnist import load_mnist_pair
from qml_core.specs import MnistData, UploadData, XXZData

SPLIT_SEED = 0  # the train/validation split of an upload is a property of the data, not of a run's seed


@dataclass(frozen=True)
class Dataset:
    """x_*: (n, 2**n_qubits) unit-norm amplitudes (float64, or complex128 for complex data);
    y_*: (n,) int64 labels 0/1; ``images`` (n_train, 28, 28) uint8 for MNIST, else None."""
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    images: np.ndarray | None = None

    @property
    def width(self) -> int:
        return self.x_train.shape[1]


def stratified_split(y: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, validation) indices, sorted, with round(val_fraction * n_c) of each class n_c
    in validation (at least one, and at least one left for training)."""
    rng = np.random.default_rng(seed)
    val = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        k = min(max(1, round(val_fraction * len(members))), len(members) - 1)
        val.append(rng.choice(members, size=k, replace=False))
    val = np.sort(np.concatenate(val))
    return np.setdiff1d(np.arange(len(y)), val), val


def load_upload_dataset(data: UploadData) -> Dataset:
    """A stored upload, split (stratified, fixed seed) and amplitude-encoded: each row scaled
    by its largest magnitude (same direction, no overflow in the norm), L2-normalised and
    zero-padded to a power of two of at least 4 (2 qubits)."""
    from qml_core.data.upload import load_upload

    x, y, _ = load_upload(data.digest)
    x = amplitude_encode(x / np.abs(x).max(axis=1, keepdims=True), min_width=4)
    train, val = stratified_split(y, data.val_fraction, SPLIT_SEED)
    return Dataset(x[train], y[train], x[val], y[val])


def load_dataset(data: MnistData | XXZData | UploadData) -> Dataset:
    """Build the dataset that ``data`` describes (MNIST from the shipped copy; XXZ ground
    states from the on-disk cache, computed on first use; an upload from its stored arrays)."""
    if isinstance(data, MnistData):
        x_train, y_train, x_val, y_val, images = load_mnist_pair(data.digits, data.n_train_per_class, data.n_val)
        return Dataset(x_train, y_train, x_val, y_val, images)
    if isinstance(data, UploadData):
        return load_upload_dataset(data)
    from qml_core.data.xxz import load_xxz, regauge  # scipy's eigensolver is imported only when XXZ data is needed

    xxz = load_xxz(n_spins=data.spins, n_grid=data.n_grid, window=data.window, layout=data.layout)
    states = regauge(np.asarray(xxz.states), data.gauge, data.data_seed)
    return Dataset(states[xxz.train_mask], xxz.labels[xxz.train_mask].astype(np.int64),
                   states[xxz.val_mask], xxz.labels[xxz.val_mask].astype(np.int64))
