"""Amplitude-encoding preprocessing shared by the quantum and the classical model."""
import numpy as np


def amplitude_encode(features: np.ndarray, min_width: int = 2) -> np.ndarray:
    """L2-normalise each row and zero-pad it to the next power of two.

    features: (n, d) real or complex. Returns (n, max(2**ceil(log2 d), min_width)) of the same
    kind, every row of unit norm, so that it is a valid initial state of log2(width) qubits
    (``min_width`` a power of two; 4 gives the fused executor its minimum of 2 qubits). A row
    of zeros has no direction and is rejected.
    """
    features = np.asarray(features)
    if features.ndim != 2 or features.shape[1] < 2:
        raise ValueError(f"features must be a 2-D array with at least 2 columns, got shape {features.shape}")
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError("features: a row of zeros cannot be amplitude-encoded")
    width = max(1 << int(np.ceil(np.log2(features.shape[1]))), min_width)
    dtype = np.complex128 if np.iscomplexobj(features) else np.float64
    out = np.zeros((features.shape[0], width), dtype=dtype)
    out[:, : features.shape[1]] = features / norms
    return out


def classical_view(states: np.ndarray) -> np.ndarray:
    """The MLP's input for amplitude-encoded states: real states as they are, complex ones as
    [Re, Im] concatenated, (n, 2 * width) float64."""
    if np.iscomplexobj(states):
        return np.concatenate([states.real, states.imag], axis=1)
    return np.asarray(states, dtype=np.float64)


def n_qubits_for(width: int) -> int:
    """Qubits needed for an amplitude vector of this width (a power of two)."""
    n = int(width).bit_length() - 1
    if width < 2 or 1 << n != width:
        raise ValueError(f"amplitude width must be a power of two >= 2, got {width}")
    return n
