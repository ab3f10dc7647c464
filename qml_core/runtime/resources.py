"""Memory estimate of a training run, and the guard that refuses a run the machine cannot hold.

The estimate follows what the code allocates (see ``executor.py`` and ``statevector.py``):

- data: the amplitude vectors (train + validation, float64) in a few copies (encoded,
  poisoned, as tensors), plus the MNIST file or the raw upload;
- QNN, fused executor: its adjoint forward keeps two (batch, 2**L) complex128 states per
  layer for the backward pass, even under ``no_grad``, and the per-epoch evaluation runs the
  whole training and validation set as one batch; plus the fused layer matrices;
- QNN on a PennyLane device: backpropagation keeps one state per gate;
- QNN with depolarising noise: training keeps the saved states of each of its K trajectories
  until the step's backward pass (``trajectory_bytes``, fitted to measured peaks); evaluation
  runs a few trajectories at a time without a graph, about one exact evaluation's memory;
- MLP: weights with their gradients and Adam moments, and the activations.

No new dependency: the available memory is MemAvailable from /proc/meminfo, capped by the
cgroup limit (containers), or the free memory of the CUDA device the run will use.
"""
import functools
import os
import pathlib

from qml_core.specs import ExperimentSpec, MLPModel, MnistData, QNNModel, SpecError, UploadData, XXZData

SAFETY = 0.8  # refuse a run estimated above this fraction of the available memory
REAL, COMPLEX = 8, 16  # bytes per float64 / complex128 value
DATA_COPIES = 3  # encoded arrays, the poisoned copy, the tensors (separate copies on a GPU)
MNIST_FILE_BYTES = 70_000 * (28 * 28 + 1)  # the whole uint8 MNIST set, loaded once
GATES_PER_QUBIT = {"paper": 4, "cnot-ring": 3, "paper-noent": 3}  # per layer: RX RY RX + IsingZZ, RX RY + CNOT, RX RY RX
STATES_PER_GATE = 4  # PennyLane + torch backprop: the gate's output and its reshaped/transposed copies
WEIGHT_COPIES = 6  # parameters, gradients, Adam's two moments, the early-stopping checkpoint, a spare product output
OVERHEAD = 64 * 2 ** 20  # allocator slack, compiled circuits, thread buffers (measured 30..60 MiB)
# One noise trajectory of a training step keeps, per sample, two states per Schrödinger layer
# (its input and the layer's product) and TRAJECTORY_STATES more (the input's copy in the
# executor's layout, the tail's slices, O x and the output), plus its fused layer matrices
# and TRAJECTORY_OVERHEAD (autograd nodes, its drawn Paulis). Measured per trajectory (the
# run's peak resident memory, K = 16..300, docs/device.md): quick MNIST 3.3 MiB (modelled 4.5),
# paper MNIST 17.9 MiB (21.7), paper XXZ 5.9 MiB (6.5), quick XXZ 0.44 MiB (0.67).
TRAJECTORY_STATES = 4
TRAJECTORY_OVERHEAD = 2 ** 19
# part -> (what it is, what makes it smaller)
PARTS = {"data": ("the dataset", "fewer samples"), "overhead": ("fixed overhead", "a smaller run"),
         "states": ("the QNN's state vectors", "fewer samples, qubits or layers"),
         "matrices": ("the QNN's fused layer matrices", "fewer qubits or layers"),
         "trajectories": ("the noise trajectories' saved states", "fewer trajectories (--trajectories)"),
         "weights": ("the MLP's weights and optimiser state", "fewer hidden units"),
         "activations": ("the MLP's activations", "fewer samples or hidden units")}


class ResourceError(SpecError):
    """A run whose memory estimate exceeds what the machine has; nothing was started."""


def data_shape(data) -> tuple[int, int, int, int]:
    """(n_train, n_val, width of the amplitude vectors, extra bytes of raw data) that a data
    spec produces, without loading it (upper bounds where the split is not known yet)."""
    if isinstance(data, MnistData):
        return 2 * data.n_train_per_class, data.n_val, 1024, MNIST_FILE_BYTES
    if isinstance(data, XXZData):
        half = data.n_grid // 2 + 1 if data.layout == "grid" else 84  # windows: 82 training, 84 validation
        points = (data.n_grid if data.layout == "grid" else 166) * (2 if data.gauge == "phase" else 1)  # complex: twice the bytes
        return half, half, 2 ** data.spins, points * 2 ** data.spins * REAL
    if isinstance(data, UploadData):
        from qml_core.data.upload import upload_shape

        rows, features = upload_shape(data.digest)
        width = max(4, 1 << (features - 1).bit_length())
        n_val = round(rows * data.val_fraction) + 1  # stratified rounding moves at most one per class
        return rows - n_val + 2, n_val, width, 2 * rows * features * REAL
    raise SpecError(f"no memory estimate for data {type(data).__name__}")


def qnn_bytes(model: QNNModel, width: int, train_batch: int, eval_batch: int) -> dict[str, int]:
    """State vectors and layer matrices of a QNN on ``width`` = 2**L amplitudes."""
    n_qubits, depth = width.bit_length() - 1, model.depth
    state = width * COMPLEX
    if model.executor == "default.qubit":  # torch backprop through every gate; no graph when evaluating
        states = max(train_batch * (depth * n_qubits * GATES_PER_QUBIT[model.ansatz] * STATES_PER_GATE + 4),
                     eval_batch * 4)
        return {"states": states * state, "matrices": 0}
    # fused adjoint (lightning is counted the same, conservatively): two saved states per layer
    # plus the input, the layer's outputs and the backward's adjoint state and temporaries
    # (with noise, the same for one trajectory: evaluation runs a few at a time, without a graph)
    states = max(train_batch * (2 * depth + 7), eval_batch * (2 * depth + 4))
    n_a = n_qubits // 2
    per_layer = (2 ** n_a * 4 ** (n_qubits - n_a) + 4 ** n_a) * COMPLEX * 3  # U_A, M; kron chains; gradients
    zz_signs = depth * n_qubits * width * REAL
    parts = {"states": states * state, "matrices": depth * per_layer + zz_signs}
    if model.depolarizing:
        parts["trajectories"] = model.trajectories * trajectory_bytes(model, width, train_batch)
    return parts


@functools.cache
def circuit_layout(ansatz: str, depth: int, n_qubits: int) -> tuple[int, tuple[tuple[int, int], ...]]:
    """(Schrödinger layers, (k_a, k_c) of every layer's light cone) of the fused executor."""
    from qml_core.sim.executor import FusedExecutor

    executor = FusedExecutor(ansatz, depth, n_qubits)
    return executor.split, tuple((step.k_a, step.k_c) for step in executor.program)


def trajectory_bytes(model: QNNModel, width: int, train_batch: int) -> int:
    """Bytes one depolarising trajectory of a training step keeps until the backward pass (see
    TRAJECTORY_STATES), at the executor's precision; K trajectories keep K times this."""
    split, cones = circuit_layout(model.ansatz, model.depth, width.bit_length() - 1)
    amplitude = COMPLEX if model.precision == "double" else COMPLEX // 2
    states = train_batch * width * (2 * split + TRAJECTORY_STATES)
    matrices = 3 * sum(2 ** k_a * 4 ** k_c for k_a, k_c in cones)  # M per layer, its kron chain, its gradient
    return (states + matrices) * amplitude + TRAJECTORY_OVERHEAD


def mlp_bytes(model: MLPModel, width: int, train_batch: int, eval_batch: int) -> dict[str, int]:
    """Weights (with gradients, Adam's two moments and its temporaries) and activations of an MLP."""
    sizes = (width, *model.hidden, 1)
    params = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    units = sum(sizes[1:])
    return {"weights": WEIGHT_COPIES * params * REAL,
            "activations": max(3 * train_batch * units, 2 * eval_batch * units) * REAL}


def estimate_parts(spec: ExperimentSpec) -> dict[str, int]:
    """Peak memory of training ``spec``, in bytes, by part (see the module docstring)."""
    n_train, n_val, width, raw = data_shape(spec.data)
    parts = {"data": DATA_COPIES * (n_train + n_val) * width * REAL + raw, "overhead": OVERHEAD}
    train_batch, eval_batch = min(spec.training.batch_size, n_train), max(n_train, n_val)
    if isinstance(spec.model, QNNModel):
        parts.update(qnn_bytes(spec.model, width, train_batch, eval_batch))
    else:
        parts.update(mlp_bytes(spec.model, width, train_batch, eval_batch))
    return parts


def estimate_bytes(spec: ExperimentSpec) -> int:
    """Estimated peak memory of training ``spec``, in bytes.

    >>> from qml_core.specs import preset
    >>> round(estimate_bytes(preset("paper", "mnist", "qnn")) / 2**20)  # MiB; measured peak 384
    411
    """
    return sum(estimate_parts(spec).values())


def read_int(path: str) -> int | None:
    try:
        return int(pathlib.Path(path).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def available_bytes(device=None) -> int:
    """Memory a new run can use now: the CUDA device's free memory for a CUDA device, else
    MemAvailable (or free physical pages) capped by the cgroup v2 limit minus its usage."""
    if device is not None and str(device).startswith("cuda"):
        import torch

        return int(torch.cuda.mem_get_info(torch.device(device))[0])
    try:
        with open("/proc/meminfo") as f:
            have = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError, IndexError):
        have = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    limit, used = read_int("/sys/fs/cgroup/memory.max"), read_int("/sys/fs/cgroup/memory.current")
    if limit is not None and used is not None:
        have = min(have, max(0, limit - used))
    return have


def gigabytes(n: int) -> str:
    return f"{n / 2 ** 30:.2f} GB"


def check_resources(spec: ExperimentSpec, device=None, copies: int = 1) -> int:
    """Refuse (ResourceError) a run, or ``copies`` runs in parallel, whose estimated memory
    exceeds SAFETY × the available memory; otherwise return the estimate in bytes."""
    parts = estimate_parts(spec)
    need, have = copies * sum(parts.values()), available_bytes(device)
    if need > SAFETY * have:
        what, smaller = PARTS[max(parts, key=parts.get)]
        runs = f" for {copies} parallel runs" if copies > 1 else ""
        raise ResourceError(
            f"this run needs about {gigabytes(need)} of memory{runs} (mostly {what}) but "
            f"{gigabytes(have)} is available and at most {SAFETY:.0%} of it may be used; "
            f"use {smaller}{', or fewer jobs' if copies > 1 else ''}")
    return need
