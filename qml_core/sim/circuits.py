"""The QNN circuits, defined once as PennyLane quantum functions.

Three ansätze, each a stack of ``depth`` layers on ``n_qubits`` wires whose parameters have
shape (depth, n_qubits, k):

- ``paper`` (protocol §3): RX(θ0) RY(θ1) RX(θ2) on every qubit, then IsingZZ(θ3) on
  (i, i+1 mod n), k = 4;
- ``cnot-ring`` (§5): RX(θ0) RY(θ1) on every qubit, then CNOT(i, i+1 mod n) for i = 0..n-1, k = 2;
- ``paper-noent``: the paper's layer without its IsingZZ ring, k = 3. The first test of
  "quantumness" of Bowles, Ahmed & Schuld (2024): the same model with its entangling gates
  removed. The circuit is then a product of single-qubit unitaries V_0 ⊗ … ⊗ V_{n-1}, so
  <Z_{n-1}> = tr(ρ_{n-1} V_{n-1}† Z V_{n-1}) depends on the input only through the readout
  qubit's reduced state ρ_{n-1} (amplitude-encoded inputs are entangled; the circuit cannot
  use that), and on the parameters only through the readout qubit's rotations: every other
  qubit's parameters have exactly zero gradient (tests/test_executor.py). Whatever the depth,
  <Z_{n-1}> = m·r: r the readout qubit's Bloch vector, r_k = ⟨x|1 ⊗ σ_k|x⟩ (three quadratic
  forms of the amplitudes; r_y = 0 for real ones), and m the unit vector of V_{n-1}† Z V_{n-1},
  two effective parameters.

The input is the initial state (amplitude encoding) and the readout is <Z_{n-1}>. Qubit 0 is
the most significant bit of the amplitude index. Every other executor (``executor.py``) is
compiled from the operations these functions record, and tested equal to ``default.qubit``.
"""
import numpy as np
import pennylane as qml

from qml_core.specs import ANSATZE

PARAMS_PER_QUBIT = {"paper": 4, "cnot-ring": 2, "paper-noent": 3}


def rotations_layer(weights, wires) -> None:
    """The paper's rotations alone (``paper-noent``), RX RY RX on every qubit. weights: (n_qubits, ≥3)."""
    for i, w in enumerate(wires):
        qml.RX(weights[i, 0], wires=w)
        qml.RY(weights[i, 1], wires=w)
        qml.RX(weights[i, 2], wires=w)


def paper_layer(weights, wires) -> None:
    """weights: (n_qubits, 4)."""
    rotations_layer(weights, wires)
    n = len(wires)
    for i in range(n):
        qml.IsingZZ(weights[i, 3], wires=[wires[i], wires[(i + 1) % n]])


def cnot_ring_layer(weights, wires) -> None:
    """weights: (n_qubits, 2)."""
    for i, w in enumerate(wires):
        qml.RX(weights[i, 0], wires=w)
        qml.RY(weights[i, 1], wires=w)
    n = len(wires)
    for i in range(n):
        qml.CNOT(wires=[wires[i], wires[(i + 1) % n]])


LAYERS = {"paper": paper_layer, "cnot-ring": cnot_ring_layer, "paper-noent": rotations_layer}


def ansatz(weights, ansatz_name: str = "paper") -> None:
    """The trainable part of the circuit. weights: (depth, n_qubits, k)."""
    wires = list(range(weights.shape[1]))
    for layer_weights in weights:
        LAYERS[ansatz_name](layer_weights, wires)


def qnn_circuit(x, weights, ansatz_name: str = "paper"):
    """The whole QNN: state preparation from x ((batch,) 2**n amplitudes, unit norm), the
    ansatz, and the readout <Z_{n-1}>."""
    n_qubits = weights.shape[1]
    qml.StatePrep(x, wires=range(n_qubits), normalize=False, validate_norm=False)
    ansatz(weights, ansatz_name)
    return qml.expval(qml.PauliZ(n_qubits - 1))


def weight_shape(ansatz_name: str, depth: int, n_qubits: int) -> tuple[int, int, int]:
    """Parameter shape of an ansatz."""
    if ansatz_name not in PARAMS_PER_QUBIT:
        raise ValueError(f"ansatz must be one of {ANSATZE}, got {ansatz_name!r}")
    return depth, n_qubits, PARAMS_PER_QUBIT[ansatz_name]


def make_qnode(device_name: str, n_qubits: int, ansatz_name: str = "paper", interface: str = "torch"):
    """A QNode of ``qnn_circuit`` on a PennyLane device (``default.qubit``, ``lightning.qubit``…).

    Example::

        node = make_qnode("default.qubit", 2)
        node(np.array([1.0, 0, 0, 0]), np.zeros((1, 2, 4)))   # -> <Z_1> = 1.0
    """
    device = qml.device(device_name, wires=n_qubits)
    diff_method = "backprop" if device_name == "default.qubit" else "best"
    circuit = lambda x, weights: qnn_circuit(x, weights, ansatz_name)  # noqa: E731
    return qml.QNode(circuit, device, interface=interface, diff_method=diff_method)


def noisy_qnn_circuit(x, weights, ansatz_name: str = "paper", depolarizing: float = 0.0, readout_error: float = 0.0):
    """``qnn_circuit`` on a noisy device (for ``default.mixed``): a DepolarizingChannel(p) on
    each wire of every ansatz gate, after it, and a BitFlip(q) on the readout qubit before the
    measurement (a symmetric readout error). The state preparation is ideal."""
    n_qubits = weights.shape[1]
    qml.StatePrep(x, wires=range(n_qubits), normalize=False, validate_norm=False)
    for op in qml.tape.make_qscript(ansatz)(weights, ansatz_name).operations:
        qml.apply(op)
        for wire in op.wires:
            qml.DepolarizingChannel(depolarizing, wires=wire)
    qml.BitFlip(readout_error, wires=n_qubits - 1)
    return qml.expval(qml.PauliZ(n_qubits - 1))


def recorded_operations(ansatz_name: str, depth: int, n_qubits: int):
    """The ansatz's gates in order, with each parameter replaced by its index into the
    flattened weight vector: a list of (gate name, wires tuple, parameter index or None).

    Recording the PennyLane function with index-valued weights is how the fast executor learns
    the circuit without a second definition of it.
    """
    shape = weight_shape(ansatz_name, depth, n_qubits)
    index_weights = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    tape = qml.tape.make_qscript(ansatz)(index_weights, ansatz_name)
    ops = []
    for op in tape.operations:
        param = int(op.parameters[0]) if op.parameters else None
        ops.append((op.name, tuple(int(w) for w in op.wires), param))
    return ops
