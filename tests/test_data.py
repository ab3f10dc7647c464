"""MNIST split, amplitude encoding and the shipped data file."""
import hashlib
import subprocess
import sys

import numpy as np
import pytest

from qml_core.data.encoding import amplitude_encode, classical_view, n_qubits_for
from qml_core.data.mnist import MNIST_FILE, mnist_arrays, load_mnist_pair


def test_paper_split_follows_the_protocol():
    x_train, y_train, x_val, y_val, images = load_mnist_pair((1, 9))
    raw = mnist_arrays()
    assert x_train.shape == (500, 1024) and x_val.shape == (1000, 1024)
    assert list(y_train[:250]) == [0] * 250 and list(y_train[250:]) == [1] * 250
    first_ones = np.flatnonzero(raw["train_labels"] == 1)[:250]
    np.testing.assert_array_equal(images[:250], raw["train_images"][first_ones])
    test_19 = np.flatnonzero(np.isin(raw["test_labels"], (1, 9)))[:1000]
    np.testing.assert_array_equal(y_val, (raw["test_labels"][test_19] == 9).astype(int))
    np.testing.assert_allclose(np.linalg.norm(x_train, axis=1), 1.0, atol=1e-12)
    assert np.all(x_train[:, 784:] == 0)
    pixels = raw["train_images"][first_ones[0]].reshape(-1) / 255.0
    np.testing.assert_allclose(x_train[0, :784], pixels / np.linalg.norm(pixels))


def test_any_digit_pair_and_size():
    x_train, y_train, x_val, y_val, _ = load_mnist_pair((3, 8), n_train_per_class=10, n_val=30)
    assert x_train.shape == (20, 1024) and y_train.sum() == 10 and len(y_val) == 30
    with pytest.raises(ValueError, match="two different digits"):
        load_mnist_pair((3, 3))
    with pytest.raises(ValueError, match="two integers in 0..9"):
        load_mnist_pair((3, 12))


def test_shipped_file_matches_the_published_idx_files():
    """The .npz holds exactly the four IDX arrays: rebuilding their IDX bytes gives the
    published SHA-256 of each file."""
    from scripts.build_mnist import SHA256

    raw = mnist_arrays()
    for name, key, magic in [("train-images-idx3-ubyte", "train_images", 0x0803),
                             ("train-labels-idx1-ubyte", "train_labels", 0x0801),
                             ("t10k-images-idx3-ubyte", "test_images", 0x0803),
                             ("t10k-labels-idx1-ubyte", "test_labels", 0x0801)]:
        arr = raw[key]
        header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in arr.shape)
        assert hashlib.sha256(header + arr.tobytes()).hexdigest() == SHA256[name]


def test_build_script_rejects_a_wrong_file(tmp_path):
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (tmp_path / name).write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07")
    out = subprocess.run([sys.executable, "scripts/build_mnist.py", str(tmp_path), "--out", str(tmp_path / "m.npz")],
                         capture_output=True, text=True)
    assert out.returncode != 0 and "does not match" in out.stderr
    assert MNIST_FILE.exists()


def test_amplitude_encoding_pads_and_normalises():
    out = amplitude_encode(np.array([[3.0, 4.0, 0.0], [1.0, 1.0, 1.0]]))
    assert out.shape == (2, 4)
    np.testing.assert_allclose(out[0], [0.6, 0.8, 0.0, 0.0])
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0)
    with pytest.raises(ValueError, match="row of zeros"):
        amplitude_encode(np.zeros((1, 4)))
    assert n_qubits_for(1024) == 10
    with pytest.raises(ValueError, match="power of two"):
        n_qubits_for(12)


def test_classical_view_splits_complex_states():
    states = np.array([[1 + 2j, 3 - 1j]])
    np.testing.assert_array_equal(classical_view(states), [[1.0, 3.0, 2.0, -1.0]])
    real = np.array([[0.6, 0.8]])
    np.testing.assert_array_equal(classical_view(real), real)
