"""Turn a data spec into training and validation arrays (amplitude-encoded)."""
from dataclasses import dataclass

import numpy as np

from .mnist import load_mnist_pair
from .specs import MnistData, XXZData


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


def load_dataset(data: MnistData | XXZData) -> Dataset:
    """Build the dataset that ``data`` describes (MNIST from the shipped copy; XXZ ground
    states from the on-disk cache, computed on first use)."""
    if isinstance(data, MnistData):
        x_train, y_train, x_val, y_val, images = load_mnist_pair(data.digits, data.n_train_per_class, data.n_val)
        return Dataset(x_train, y_train, x_val, y_val, images)
    from .xxz import load_xxz  # scipy's eigensolver is imported only when XXZ data is needed

    xxz = load_xxz(n_spins=data.spins, n_grid=data.n_grid, window=data.window)
    states = np.asarray(xxz.states)
    return Dataset(states[xxz.train_mask], xxz.labels[xxz.train_mask].astype(np.int64),
                   states[xxz.val_mask], xxz.labels[xxz.val_mask].astype(np.int64))
