"""Label flipping and feature randomisation (protocol §2)."""
import numpy as np
import pytest

from qml_core.data.poison import poison, poison_count


@pytest.fixture
def balanced():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 8))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x, np.repeat([0, 1], 20)


def test_counts_round_to_even_in_the_protocol_direction():
    assert poison_count(500, 0.3, "label-flip") == 150
    assert poison_count(50, 0.1, "label-flip") == 4   # 5 rounded down
    assert poison_count(50, 0.1, "feature-noise") == 6  # 5 rounded up
    assert poison_count(500, 0.0, "label-flip") == 0


def test_label_flip_flips_exactly_the_forget_set_half_per_class(balanced):
    x, y = balanced
    p = poison(x, y, 0.5, "label-flip", seed=1)
    assert len(p.forget) == 20
    assert np.sum(y[p.forget] == 0) == np.sum(y[p.forget] == 1) == 10
    np.testing.assert_array_equal(p.y[p.forget], 1 - y[p.forget])
    np.testing.assert_array_equal(p.y[p.retain], y[p.retain])
    np.testing.assert_array_equal(p.x, x)
    assert sorted(np.concatenate([p.forget, p.retain])) == list(range(40))


def test_feature_noise_replaces_inputs_keeps_labels(balanced):
    x, y = balanced
    p = poison(x, y, 0.25, "feature-noise", seed=2)
    assert len(p.forget) == 10
    np.testing.assert_array_equal(p.y, y)
    np.testing.assert_allclose(np.linalg.norm(p.x[p.forget], axis=1), 1.0)
    assert not np.allclose(p.x[p.forget], x[p.forget])
    np.testing.assert_array_equal(p.x[p.retain], x[p.retain])


def test_complex_data_gets_complex_noise():
    x = np.ones((4, 4), dtype=complex) / 2
    p = poison(x, np.array([0, 0, 1, 1]), 0.5, "feature-noise", seed=0)
    assert np.abs(p.x[p.forget].imag).max() > 0


def test_seeded_and_fresh(balanced):
    x, y = balanced
    a, b = poison(x, y, 0.3, "label-flip", 5), poison(x, y, 0.3, "label-flip", 5)
    np.testing.assert_array_equal(a.forget, b.forget)
    assert not np.array_equal(a.forget, poison(x, y, 0.3, "label-flip", 6).forget)


def test_unknown_attack_is_named(balanced):
    with pytest.raises(ValueError, match="attack must be one of"):
        poison(*balanced, 0.1, "backdoor", 0)
