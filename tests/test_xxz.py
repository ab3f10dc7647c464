"""XXZ ground states: physics against independent references, the grid, the disk cache."""
import functools

import numpy as np
import pytest

from qml_core.data import xxz

PAULI = {"I": np.eye(2), "X": np.array([[0.0, 1.0], [1.0, 0.0]]),
         "Y": np.array([[0.0, -1j], [1j, 0.0]]), "Z": np.diag([1.0, -1.0])}


def pauli_string(n: int, ops: dict[int, str]) -> np.ndarray:
    """Dense (2**n, 2**n) product of single-site Paulis, qubit 0 the leftmost Kronecker factor."""
    return functools.reduce(np.kron, [PAULI[ops.get(i, "I")] for i in range(n)])


def dense_xxz(n: int, delta: float) -> np.ndarray:
    """The Hamiltonian written out term by term from Kronecker products."""
    return sum(pauli_string(n, {i: p, (i + 1) % n: p}) * (delta if p == "Z" else 1.0)
               for i in range(n) for p in "XYZ")


def free_fermion_energy(n: int) -> float:
    """Exact Δ = 0 ground energy: N/2 Jordan-Wigner fermions with ε(k) = 4 cos k, periodic
    momenta for an odd particle number, antiperiodic for an even one."""
    k = 2 * np.pi * (np.arange(n) + (0.0 if (n // 2) % 2 else 0.5)) / n
    return float(np.sort(4 * np.cos(k))[: n // 2].sum())


@pytest.fixture(scope="module")
def data6(tmp_path_factory):
    return xxz.load_xxz(6, cache_dir=tmp_path_factory.mktemp("xxz"))


def test_hamiltonian_matches_pauli_products():
    for delta in (0.0, 0.7, 1.6):
        np.testing.assert_allclose(xxz.xxz_hamiltonian(6, delta).toarray(), dense_xxz(6, delta), atol=1e-14)


@pytest.mark.parametrize("delta", [0.0, 0.45, 1.0, 1.3, 2.0])
def test_sector_ground_energy_is_the_full_space_minimum(delta):
    energy, gap, _ = xxz.ground_state(6, delta)
    assert energy == pytest.approx(np.linalg.eigvalsh(dense_xxz(6, delta).real)[0], abs=1e-10)
    assert gap > xxz.MIN_GAP


@pytest.mark.parametrize("n_spins,delta", [(6, 0.3), (6, 1.7), (8, 0.9), (8, 1.2)])
def test_state_is_a_gauge_fixed_unit_eigenvector(n_spins, delta):
    energy, _, psi = xxz.ground_state(n_spins, delta)
    assert psi.shape == (2 ** n_spins,) and psi.dtype == np.float64
    assert np.linalg.norm(xxz.xxz_hamiltonian(n_spins, delta) @ psi - energy * psi) < 1e-8
    assert np.linalg.norm(psi) == pytest.approx(1.0, abs=1e-12)
    largest = np.flatnonzero(np.abs(psi) >= np.abs(psi).max() * (1 - 1e-8))
    assert psi[largest[0]] > 0  # for N = 6 the two Néel amplitudes tie with opposite signs
    up = np.array([bin(i).count("1") for i in range(2 ** n_spins)])
    assert np.all(psi[up != n_spins // 2] == 0)  # total Sz = 0


@pytest.mark.parametrize("n_spins", [6, 12])
def test_xy_point_matches_free_fermions(n_spins):
    assert xxz.ground_state(n_spins, 0.0)[0] == pytest.approx(free_fermion_energy(n_spins), abs=1e-9)


def test_correlations_against_operators_and_limits():
    for delta in (0.0, 0.6, 1.0, 1.8):
        energy, _, psi = xxz.ground_state(6, delta)
        zz, xx = xxz.correlations(6, psi)
        assert zz == pytest.approx(psi @ pauli_string(6, {0: "Z", 1: "Z"}) @ psi, abs=1e-12)
        assert xx == pytest.approx(psi @ pauli_string(6, {0: "X", 1: "X"}) @ psi, abs=1e-12)
        assert energy == pytest.approx(6 * (2 * xx + delta * zz), abs=1e-10)  # translation and U(1) symmetry
        assert -1 <= zz < 0 and -1 <= xx < 0  # antiferromagnetic on both axes
    zz, xx = xxz.correlations(6, xxz.ground_state(6, 1.0)[2])
    assert zz == pytest.approx(xx, abs=1e-10)  # Heisenberg point: SU(2) symmetric
    zz, xx = xxz.correlations(8, xxz.ground_state(8, 50.0)[2])
    assert zz < -0.99 and abs(xx) < 0.05  # deep Néel: classical antiparallel neighbours


def test_gauge_fix_breaks_rounding_ties_at_the_first_index():
    state = np.array([0.1, -0.5, 0.5 * (1 + 1e-14), 0.3])  # index 2 is largest by rounding only
    np.testing.assert_array_equal(xxz.gauge_fix(state), -state)


def test_grid_labels_and_masks(data6):
    d = data6
    assert d.n_spins == 6 and d.states.shape == (160, 64) and d.states.dtype == np.float64
    assert not np.any(np.abs(d.deltas - 1) < 1e-12)
    np.testing.assert_array_equal(d.labels, (d.deltas > 1).astype(np.int64))
    assert d.labels.dtype == np.int64 and d.train_mask.dtype == bool and d.val_mask.dtype == bool
    inside = np.abs(d.deltas - 1) < 0.1 - 1e-9
    assert not np.any(d.train_mask & inside) and np.all(d.val_mask[inside] | ~d.train_mask[inside])
    assert np.all((d.train_mask ^ d.val_mask)[~inside])  # outside the window: exactly one of the two
    grid_index = np.rint(d.deltas / 0.0125).astype(int)
    assert np.all(grid_index[d.train_mask] % 2 == 0) and np.all(grid_index[d.val_mask] % 2 == 1)
    assert d.val_mask.sum() == 80 and d.train_mask.sum() == 74  # 81 even points - Δ = 1 - 6 in the window
    assert d.labels[d.train_mask].sum() == 37  # balanced
    assert {0.9, 1.1} <= set(np.round(d.deltas[d.train_mask], 10))  # window edges are symmetric
    np.testing.assert_allclose(np.linalg.norm(d.states, axis=1), 1.0, atol=1e-12)
    assert np.all(d.gaps > xxz.MIN_GAP) and np.all(np.diff(d.deltas) > 0)


def test_gauge_is_continuous_along_the_grid(data6):
    """Neighbouring Δ give nearly the same state, not its negative (what the gauge is for)."""
    assert np.min(np.sum(data6.states[1:] * data6.states[:-1], axis=1)) > 0.99


def test_grid_and_window_are_parameters(tmp_path):
    d = xxz.load_xxz(6, n_grid=21, window=0.25, cache_dir=tmp_path)
    np.testing.assert_allclose(d.deltas, np.delete(np.linspace(0, 2, 21), 10))
    np.testing.assert_allclose(d.deltas[d.train_mask], [0, 0.2, 0.4, 0.6, 1.4, 1.6, 1.8, 2.0])
    np.testing.assert_allclose(d.deltas[d.val_mask], np.arange(0.1, 2, 0.2))


@pytest.mark.parametrize("n_spins", [4, 7, 14, 8.0, True])
def test_invalid_n_spins(n_spins, tmp_path):
    with pytest.raises(ValueError, match=r"n_spins must be one of \(6, 8, 10, 12\)"):
        xxz.load_xxz(n_spins, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="n_spins"):
        xxz.ground_state(n_spins, 0.5)


@pytest.mark.parametrize("options,match", [({"n_grid": 1}, "n_grid"), ({"window": -0.1}, "window")])
def test_invalid_grid(options, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        xxz.load_xxz(6, cache_dir=tmp_path, **options)


def test_degenerate_ground_state_is_an_error(monkeypatch):
    monkeypatch.setattr(xxz, "MIN_GAP", 1e3)
    with pytest.raises(RuntimeError, match="not unique for n_spins=6, delta=0.5"):
        xxz.ground_state(6, 0.5)


def assert_same(a: xxz.XXZDataset, b: xxz.XXZDataset):
    assert a.n_spins == b.n_spins
    for name in ("deltas", "states", "labels", "energies", "gaps", "zz", "xx", "train_mask", "val_mask"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert getattr(a, name).dtype == getattr(b, name).dtype


def never(*args):
    raise AssertionError("recomputed a cached dataset")


def test_second_call_reads_the_cache(tmp_path, monkeypatch):
    first = xxz.load_xxz(6, n_grid=41, cache_dir=tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["xxz-v1-n6-grid41-window0.1.npz"]  # no temp files left
    monkeypatch.setattr(xxz, "ground_state", never)
    assert_same(xxz.load_xxz(6, n_grid=41, cache_dir=tmp_path), first)
    with pytest.raises(AssertionError, match="recomputed"):
        xxz.load_xxz(6, n_grid=41, window=0.2, cache_dir=tmp_path)  # another option, another file


def test_default_location_is_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("QML_LAB_DATA", str(tmp_path / "data"))
    xxz.load_xxz(6, n_grid=9)
    assert (tmp_path / "data" / "xxz-v1-n6-grid9-window0.1.npz").is_file()


@pytest.mark.parametrize("damage", [lambda b: b"not a zip file", lambda b: b[: len(b) // 2], lambda b: b""])
def test_corrupt_cache_file_is_recomputed(tmp_path, monkeypatch, damage):
    first = xxz.load_xxz(6, n_grid=41, cache_dir=tmp_path)
    path = xxz.cache_file(tmp_path, 6, 41, 0.1)
    path.write_bytes(damage(path.read_bytes()))
    assert_same(xxz.load_xxz(6, n_grid=41, cache_dir=tmp_path), first)
    monkeypatch.setattr(xxz, "ground_state", never)
    assert_same(xxz.load_xxz(6, n_grid=41, cache_dir=tmp_path), first)  # and stored again, intact


def test_windows_layout_is_the_authors_split(tmp_path):
    """protocol §1: two windows of one 294-point grid, 41 training + 42 validation states per
    phase, alternating, 9 grid points left out at the transition."""
    deltas, train, val = xxz.windows_grid()
    assert (len(deltas), train.sum(), val.sum()) == (166, 82, 84)
    assert (train & (deltas < 1)).sum() == 41 and (val & (deltas < 1)).sum() == 42 and not np.any(train & val)
    step = 3.0 / 293
    np.testing.assert_allclose(np.diff(deltas[deltas < 1]), step)
    np.testing.assert_allclose(np.diff(deltas[deltas > 1]), step)
    gap = deltas[deltas > 1].min() - deltas[deltas < 1].max()
    assert np.isclose(gap, 10 * step)  # 9 points left out
    assert 0.09 < deltas.min() < 0.11 and 1.87 < deltas.max() < 1.9
    d = xxz.load_xxz(6, layout="windows", cache_dir=tmp_path)
    np.testing.assert_array_equal(d.deltas, deltas)
    np.testing.assert_array_equal(d.train_mask, train)
    assert "windows294" in xxz.cache_file(tmp_path, 6, 161, 0.1, "windows").name
    with pytest.raises(ValueError, match="layout must be one of"):
        xxz.load_xxz(6, layout="spiral", cache_dir=tmp_path)


def test_random_gauges_are_reproducible_and_physically_the_same(data6):
    states = data6.states[:20]
    assert xxz.regauge(states, "fixed", 0) is states
    signs = xxz.regauge(states, "sign", 0)
    ratio = np.sum(signs * states, axis=1)
    np.testing.assert_allclose(np.abs(ratio), 1.0)
    assert {-1.0, 1.0} <= set(np.round(ratio, 12))
    phased = xxz.regauge(states, "phase", 3)
    assert phased.dtype == np.complex128
    np.testing.assert_array_equal(phased, xxz.regauge(states, "phase", 3))
    assert not np.allclose(phased, xxz.regauge(states, "phase", 4))
    np.testing.assert_allclose(np.abs(phased), np.abs(states), atol=1e-15)  # same probabilities
    overlaps = np.sum(np.conj(phased) * states, axis=1)  # e^{-iφ}: unit modulus, spread round the circle
    np.testing.assert_allclose(np.abs(overlaps), 1.0)
    assert np.ptp(np.angle(overlaps)) > 3
    with pytest.raises(ValueError, match="gauge must be one of"):
        xxz.regauge(states, "random", 0)
