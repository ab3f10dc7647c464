"""XXZ spin-chain ground states on a Δ grid: the quantum dataset of protocol §1, cached on disk."""
import functools
import os
import pathlib
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, fields

import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from qml_core.store.cache import private_dirs

ALLOWED_SPINS = (6, 8, 10, 12)
MIN_GAP = 1e-8  # E1 - E0 below this: the ground state is not unique and its label is ambiguous
EXACT_TOL = 1e-12  # |Δ - 1| below this is the critical point itself, which has no label
EDGE_TOL = 1e-9  # grid points on the window edge (|Δ - 1| = window up to rounding) stay in training
TIE_RTOL = 1e-8  # amplitudes this close to the largest count as tied (translation symmetry ties them exactly)
CACHE_FORMAT = 1  # bump when the computation changes, so old cache files are not served
LAYOUTS = ("grid", "windows")
GAUGES = ("fixed", "sign", "phase")
# The "windows" layout (protocol §1, as the authors' loader implies): one grid of 294 points on
# [0, 3] (spacing 0.0102), two contiguous windows of 83 points, one per phase, 9 points left out
# between them around Δ = 1; in each window validation on the even offsets (42), training on the
# odd ones (41). Windows: Δ 0.102…0.942 (label 0) and 1.044…1.884 (label 1).
WINDOWS_GRID = (0.0, 3.0, 294)
WINDOWS = ((10, 93), (102, 185))  # [start, stop) grid indices of each phase's window
GAUGE_STREAM = 11  # the random signs' or phases' stream, apart from every run's


@dataclass(frozen=True)
class XXZDataset:
    """Ground states of the periodic XXZ chain on the labelled points of a Δ grid on [0, 2].

    G points (the grid minus Δ = 1). ``states``: (G, 2**n_spins) float64, unit norm,
    gauge-fixed (largest-magnitude amplitude positive), qubit 0 = most significant bit.
    ``labels``: (G,) int64, 0 for Δ < 1 (XY phase), 1 for Δ > 1 (Néel). ``energies``, ``gaps``
    (E1 - E0 in the Sz = 0 sector), ``zz`` = <Z_0 Z_1>, ``xx`` = <X_0 X_1>: (G,) float64.
    ``train_mask`` (even grid indices outside the window around Δ = 1) and ``val_mask``
    (odd grid indices): (G,) bool; even points inside the window are in neither.
    """
    n_spins: int
    deltas: np.ndarray
    states: np.ndarray
    labels: np.ndarray
    energies: np.ndarray
    gaps: np.ndarray
    zz: np.ndarray
    xx: np.ndarray
    train_mask: np.ndarray
    val_mask: np.ndarray


def check_spins(n_spins) -> int:
    """Validate the chain length: even (odd N frustrates the Néel phase) and 6..12."""
    if isinstance(n_spins, bool) or not isinstance(n_spins, (int, np.integer)) or n_spins not in ALLOWED_SPINS:
        raise ValueError(f"n_spins must be one of {ALLOWED_SPINS} (even, 6..12), got {n_spins!r}")
    return int(n_spins)


def _chain_terms(n_spins: int, basis: np.ndarray) -> tuple[scipy.sparse.csr_matrix, np.ndarray]:
    """The two parts of H(Δ) = hop + Δ·diag(zz) restricted to the sorted basis-state indices
    ``basis`` (which must be closed under the hopping, e.g. all states or one Sz sector).

    hop = Σ_i (X_i X_{i+1} + Y_i Y_{i+1}): (d, d) csr, 2 between states that differ by swapping
    an antiparallel neighbouring pair; zz = Σ_i z_i z_{i+1}: (d,) diagonal, z = +1 for bit 0.
    Spin i is bit n_spins - 1 - i of the index (qubit 0 most significant).
    """
    rows, cols, zz = [], [], np.zeros(len(basis))
    for i in range(n_spins):
        mask = (1 << (n_spins - 1 - i)) | (1 << (n_spins - 1 - (i + 1) % n_spins))
        pair = basis & mask
        antiparallel = (pair != 0) & (pair != mask)
        zz += np.where(antiparallel, -1.0, 1.0)
        rows.append(np.flatnonzero(antiparallel))
        cols.append(np.searchsorted(basis, basis[antiparallel] ^ mask))
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    hop = scipy.sparse.csr_matrix((np.full(len(rows), 2.0), (rows, cols)), shape=(len(basis), len(basis)))
    return hop, zz


def xxz_hamiltonian(n_spins: int, delta: float) -> scipy.sparse.csr_matrix:
    """H(Δ) = Σ_i (X_i X_{i+1} + Y_i Y_{i+1} + Δ Z_i Z_{i+1}), periodic, on the full
    (2**n_spins, 2**n_spins) space; real symmetric. Meant for tests and small chains.

    >>> xxz_hamiltonian(6, 1.0).shape
    (64, 64)
    """
    n_spins = check_spins(n_spins)
    hop, zz = _chain_terms(n_spins, np.arange(2 ** n_spins))
    return (hop + scipy.sparse.diags(float(delta) * zz)).tocsr()


@functools.lru_cache(maxsize=len(ALLOWED_SPINS))
def _sector(n_spins: int) -> tuple[np.ndarray, scipy.sparse.csr_matrix, np.ndarray]:
    """(basis, hop, zz) of the total-Sz = 0 sector: the C(N, N/2) indices with N/2 bits set,
    ascending, and the Hamiltonian parts there. Built once per N, then reused."""
    everything = np.arange(2 ** n_spins)
    basis = everything[np.bitwise_count(everything) == n_spins // 2]
    hop, zz = _chain_terms(n_spins, basis)
    basis.setflags(write=False)
    zz.setflags(write=False)
    return basis, hop, zz


def gauge_fix(state: np.ndarray) -> np.ndarray:
    """``state`` times the sign of its largest-magnitude amplitude, so that amplitude is
    positive and the classical model never sees ψ and -ψ as different data. Ties (amplitudes
    within TIE_RTOL of the largest, which symmetry makes equal) go to the first index, so the
    choice does not depend on rounding noise. state: (d,) real; returns a new (d,) array."""
    magnitude = np.abs(state)
    first = np.argmax(magnitude >= magnitude.max() * (1.0 - TIE_RTOL))
    return state * np.sign(state[first])


def _lowest_two(h: scipy.sparse.csr_matrix) -> tuple[float, float, np.ndarray]:
    """(E0, E1, ground-state vector (d,)) of a real symmetric sparse matrix by Lanczos (eigsh).
    The start vector comes from a fixed seed: the solver's own random start would make
    results vary at rounding level between runs."""
    v0 = np.random.default_rng(0).standard_normal(h.shape[0])
    values, vectors = scipy.sparse.linalg.eigsh(h, k=2, which="SA", v0=v0)
    order = np.argsort(values)
    return float(values[order[0]]), float(values[order[1]]), vectors[:, order[0]]


def ground_state(n_spins: int, delta: float) -> tuple[float, float, np.ndarray]:
    """(E0, E1 - E0, ψ) of H(Δ): exact diagonalisation in the Sz = 0 sector, where the ground
    state of an even chain lies, embedded into the full space. ψ: (2**n_spins,) float64, unit
    norm, gauge-fixed (see ``gauge_fix``). The gap is taken within the sector.

    Raises RuntimeError if E1 - E0 <= MIN_GAP (no unique ground state to label).

    >>> energy, gap, psi = ground_state(6, 0.0)
    >>> round(energy, 10), psi.shape
    (-8.0, (64,))
    """
    n_spins = check_spins(n_spins)
    basis, hop, zz = _sector(n_spins)
    e0, e1, vector = _lowest_two((hop + scipy.sparse.diags(float(delta) * zz)).tocsr())
    if e1 - e0 <= MIN_GAP:
        raise RuntimeError(f"XXZ ground state not unique for n_spins={n_spins}, delta={delta}: "
                           f"E1 - E0 = {e1 - e0:.3g} <= {MIN_GAP}")
    state = np.zeros(2 ** n_spins)
    state[basis] = vector / np.linalg.norm(vector)
    return e0, e1 - e0, gauge_fix(state)


def correlations(n_spins: int, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(<Z_0 Z_1>, <X_0 X_1>) of real states (..., 2**n_spins) on the first bond; shapes (...,).
    By translation invariance these are the same on every bond, so E0 = N (2 xx + Δ zz)."""
    index = np.arange(2 ** n_spins)
    mask = (1 << (n_spins - 1)) | (1 << (n_spins - 2))  # qubits 0 and 1
    pair = index & mask
    z0z1 = np.where((pair != 0) & (pair != mask), -1.0, 1.0)
    zz = np.sum(states ** 2 * z0z1, axis=-1)
    xx = np.sum(states * states[..., index ^ mask], axis=-1)
    return zz, xx


def delta_grid(n_grid: int, window: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(deltas, train_mask, val_mask) of the labelled grid points: ``n_grid`` points evenly on
    [0, 2] without Δ = 1; training at even grid indices with |Δ - 1| >= window, validation at
    every odd grid index. Shapes (G,)."""
    if isinstance(n_grid, bool) or not isinstance(n_grid, (int, np.integer)) or n_grid < 2:
        raise ValueError(f"n_grid must be an integer >= 2, got {n_grid!r}")
    if not window >= 0:
        raise ValueError(f"window must be a number >= 0, got {window!r}")
    deltas = np.linspace(0.0, 2.0, n_grid)
    index = np.arange(n_grid)
    distance = np.abs(deltas - 1.0)
    keep = distance >= EXACT_TOL
    train = (index % 2 == 0) & (distance >= window - EDGE_TOL)
    return deltas[keep], train[keep], (index % 2 == 1)[keep]


def windows_grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(deltas, train_mask, val_mask) of the "windows" layout (WINDOWS_GRID, WINDOWS): the
    166 points of the two windows, 82 training and 84 validation. Shapes (166,)."""
    deltas = np.linspace(*WINDOWS_GRID)
    index = np.concatenate([np.arange(start, stop) for start, stop in WINDOWS])
    offset = np.concatenate([np.arange(stop - start) for start, stop in WINDOWS])
    return deltas[index], offset % 2 == 1, offset % 2 == 0


def layout_grid(layout: str, n_grid: int, window: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The labelled points of a layout: ``delta_grid(n_grid, window)`` for "grid",
    ``windows_grid()`` for "windows" (which has its own fixed grid)."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    return delta_grid(n_grid, window) if layout == "grid" else windows_grid()


def regauge(states: np.ndarray, gauge: str, seed: int) -> np.ndarray:
    """Ground states (G, d) in another, equally valid representation: ``fixed`` returns them
    as they are (real, largest amplitude positive); ``sign`` multiplies each by a random ±1,
    ``phase`` by a random e^{iφ}, φ uniform on [0, 2π) (complex128: what an eigensolver in complex
    arithmetic returns). One draw per state in grid order from ``seed``, so a dataset is
    reproducible. The QNN cannot tell these apart (⟨Z⟩ ignores a global phase); a classical
    model sees ψ and -ψ, or e^{iφ}ψ as [Re, Im], as different inputs."""
    if gauge not in GAUGES:
        raise ValueError(f"gauge must be one of {GAUGES}, got {gauge!r}")
    if gauge == "fixed":
        return states
    rng = np.random.default_rng([seed, GAUGE_STREAM])
    if gauge == "sign":
        return states * rng.choice([-1.0, 1.0], size=len(states))[:, None]
    return states * np.exp(1j * rng.uniform(0.0, 2 * np.pi, size=len(states)))[:, None]


def _compute(n_spins: int, n_grid: int, window: float, layout: str = "grid") -> XXZDataset:
    """Diagonalise H(Δ) at every labelled point of the layout (seconds for N = 12)."""
    deltas, train_mask, val_mask = layout_grid(layout, n_grid, window)
    energies, gaps, states = zip(*(ground_state(n_spins, d) for d in deltas))  # n_grid >= 2: never empty
    states = np.array(states, dtype=np.float64)
    zz, xx = correlations(n_spins, states)
    return XXZDataset(n_spins, deltas, states, (deltas > 1.0).astype(np.int64),
                      np.array(energies, dtype=np.float64), np.array(gaps, dtype=np.float64),
                      zz, xx, train_mask, val_mask)


def default_cache_dir() -> pathlib.Path:
    """``$QML_LAB_DATA`` if set, else ``~/.cache/qml_lab/data``."""
    return pathlib.Path(os.environ.get("QML_LAB_DATA") or pathlib.Path.home() / ".cache" / "qml_lab" / "data")


def cache_file(directory: pathlib.Path, n_spins: int, n_grid: int, window: float, layout: str = "grid") -> pathlib.Path:
    """The file that holds one dataset; its name encodes every option (window exactly, via repr)."""
    if layout == "windows":
        start, stop, points = WINDOWS_GRID
        bounds = "-".join(str(i) for window_ in WINDOWS for i in window_)
        return directory / f"xxz-v{CACHE_FORMAT}-n{n_spins}-windows{points}-{start!r}-{stop!r}-{bounds}.npz"
    return directory / f"xxz-v{CACHE_FORMAT}-n{n_spins}-grid{n_grid}-window{float(window)!r}.npz"


def read_arrays(path: pathlib.Path, names: tuple[str, ...]) -> dict[str, np.ndarray] | None:
    """The arrays ``names`` stored in the .npz at ``path``, or None if it is missing or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as f:
            return {name: f[name] for name in names}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error):
        return None


def _read(path: pathlib.Path, n_spins: int) -> XXZDataset | None:
    """The dataset stored at ``path``, or None if it is missing, unreadable or inconsistent."""
    arrays = read_arrays(path, tuple(field.name for field in fields(XXZDataset)))
    if arrays is None:
        return None
    stored_spins = int(arrays.pop("n_spins"))
    if stored_spins != n_spins or arrays["states"].shape != (len(arrays["deltas"]), 2 ** n_spins):
        return None
    return XXZDataset(n_spins=n_spins, **arrays)


def write_arrays(path: pathlib.Path, arrays: dict[str, np.ndarray]) -> None:
    """Store ``arrays`` as a compressed .npz atomically: a temporary file in the same directory,
    then os.replace, so a killed process leaves either no file or a complete one (and two
    processes computing the same data leave one of their two equal files). Directories it
    creates are private."""
    private_dirs(path.parent, "QML_LAB_DATA")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _write(path: pathlib.Path, data: XXZDataset) -> None:
    """Store ``data`` atomically (``write_arrays``)."""
    write_arrays(path, {field.name: getattr(data, field.name) for field in fields(XXZDataset)})


def load_xxz(n_spins: int = 8, n_grid: int = 161, window: float = 0.1,
             cache_dir: str | os.PathLike | None = None, layout: str = "grid") -> XXZDataset:
    """The XXZ dataset for an N-spin chain, read from the cache or computed and stored there.

    n_spins: 6, 8, 10 or 12 (states have 2**n_spins amplitudes). layout "grid": n_grid points
    on Δ ∈ [0, 2] (161: step 0.0125), |Δ - 1| below ``window`` left out of training; layout
    "windows": protocol §1's two windows (``windows_grid``; n_grid and window unused). cache_dir:
    where the .npz lives (default: ``default_cache_dir()``); a file that fails to load is recomputed.

    >>> data = load_xxz(6, n_grid=21)
    >>> data.states.shape, int(data.train_mask.sum()), int(data.val_mask.sum())
    ((20, 64), 10, 10)
    """
    n_spins = check_spins(n_spins)
    layout_grid(layout, n_grid, window)  # validate before touching the disk
    path = cache_file(pathlib.Path(cache_dir) if cache_dir is not None else default_cache_dir(),
                      n_spins, n_grid, window, layout)
    private_dirs(path.parent, "QML_LAB_DATA")  # a directory others can write is refused before it is read
    data = _read(path, n_spins)
    if data is None:
        data = _compute(n_spins, n_grid, window, layout)
        _write(path, data)
    return data
