"""The prepared lesson: the runs it opens are the pages' own, prepare-lesson computes them once
(resumable), and the last step's numbers come from the cache only."""
from qml_core.cli.main import main
from qml_core.experiments import lesson
from qml_core.experiments.views import playground_specs
from qml_core.specs import preset


def test_the_lesson_holds_the_playground_grid_and_each_step_s_view_once():
    requests = lesson.lesson_requests("quick")
    keys = [(kind, spec.key()) for _, kind, spec in requests]
    assert len(keys) == len(set(keys))
    steps = {step for step, _, _ in requests}
    assert steps == {"playground", "phase", "quantum", "unlearning", "landscape"}
    grid = {s.key() for attack in ("label-flip", "feature-noise") for alpha in [i / 10 for i in range(10)]
            for s in playground_specs("quick", "mnist", {"digits": (1, 9)}, attack, alpha).values()}
    assert len(grid) == 38 and grid <= {key for kind, key in keys if kind == "train"}  # α = 0 is one run for both attacks
    first = requests[0][2]  # what the lesson opens first: the playground at α = 0.3
    assert first.alpha == 0.3 and first.attack == "label-flip"


def test_each_step_s_readiness_counts_its_page_s_runs_and_all_counts_each_run_once(private_cache):
    steps = lesson.lesson_steps("quick")
    counts = lesson.readiness(steps)
    assert counts["playground"] == (0, 38)  # what the playground says: its slider grid, runs the phase step shares too
    assert counts["all"] == (0, len(lesson.lesson_requests("quick"))) and counts["all"][1] < len(steps)


def test_prepare_lesson_computes_each_run_once_and_resumes(monkeypatch, capsys, private_cache):
    tiny = [("playground", "train", preset("quick", "mnist", "mlp").replace(alpha=a)) for a in (0.0, 0.3)]
    monkeypatch.setattr(lesson, "lesson_requests", lambda name: tiny)
    assert main(["prepare-lesson", "--preset", "quick", "--jobs", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "lesson (quick): 2 runs, 0 already in the cache" in out and "2/2 runs of the lesson ready (2 computed now); wall time" in out
    assert lesson.readiness(tiny) == {"playground": (2, 2), "all": (2, 2)}
    assert main(["prepare-lesson", "--preset", "quick", "--jobs", "1", "--quiet"]) == 0
    assert "2 already in the cache" in capsys.readouterr().out and "(0 computed now)" not in out


def test_the_summary_numbers_wait_for_their_runs(private_cache):
    numbers = lesson.lesson_numbers("quick")
    assert numbers == {"phase": None, "capacity": None, "unlearning": None, "curvature": None, "controls_curvature": None}
