"""The likely next views of the playground: α one step either way within the slider, the other attack."""
from qml_core.runtime.prefetch import likely_next, neighbours


def test_neighbours_are_one_alpha_step_either_way_then_the_other_attack(tiny_qnn_spec):
    spec = tiny_qnn_spec.replace(alpha=0.2, attack="label-flip")
    found = neighbours(spec)
    assert [(s.alpha, s.attack) for s in found] == [(0.3, "label-flip"), (0.1, "label-flip"), (0.2, "feature-noise")]
    assert all(s.replace(alpha=0.2, attack="label-flip") == spec for s in found)  # nothing else changed
    assert neighbours(spec)[0].key() == spec.replace(alpha=0.3).key()  # 0.2 + 0.1 rounded, the slider's 0.3


def test_neighbours_stay_within_the_slider(tiny_qnn_spec):
    assert [s.alpha for s in neighbours(tiny_qnn_spec.replace(alpha=0.0))] == [0.1, 0.0]
    assert [s.alpha for s in neighbours(tiny_qnn_spec.replace(alpha=0.9))] == [0.8, 0.9]
    assert [s.alpha for s in neighbours(tiny_qnn_spec.replace(alpha=0.4), step=0.2, high=0.5)] == [0.2, 0.4]


def test_likely_next_keeps_each_next_views_specs_together(tiny_qnn_spec, tiny_mlp_spec):
    qnn, mlp = (s.replace(alpha=0.5, attack="feature-noise") for s in (tiny_qnn_spec, tiny_mlp_spec))
    found = likely_next([qnn, mlp])
    assert [(s.model.name, s.alpha, s.attack) for s in found] == [
        ("qnn", 0.6, "feature-noise"), ("mlp", 0.6, "feature-noise"),
        ("qnn", 0.4, "feature-noise"), ("mlp", 0.4, "feature-noise"),
        ("qnn", 0.5, "label-flip"), ("mlp", 0.5, "label-flip")]
