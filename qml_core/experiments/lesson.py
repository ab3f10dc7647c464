"""The prepared lesson: every run the teacher-mode lesson opens (``STEPS``, the views of
``lab_ui/lesson.py``), built by the same functions the pages use (``views.py``), so that
computing them ahead (``python -m qml_core prepare-lesson``) makes every step answer from the
cache; how much of it is ready; and the numbers its last step sums up, read from the cache.

The playground's whole α grid for both attacks at seed 0 is part of it: a class drags the slider.

Example::

    requests = lesson_requests("quick")          # [(step, kind, spec), ...], no duplicates
    ready, total = readiness(lesson_steps("quick"))["all"]
    numbers = lesson_numbers("quick")            # None where a view is not computed yet
"""
import importlib

from qml_core.experiments.capacity import capacity_table, variants
from qml_core.experiments.curvature import trace_ratios
from qml_core.experiments.phase import critical_alpha, phase_summary
from qml_core.experiments.sweep import result_row
from qml_core.experiments.unlearn import PAPER_METHODS
from qml_core.experiments.unlearn_summary import summary_table, unlearn_rows, unlearn_specs
from qml_core.experiments.control_curvature import curvature_rows, ratio_table
from qml_core.experiments.views import capacity_alphas, control_curvature_specs, landscape_specs, phase_alphas, phase_jobs, playground_grid, playground_specs
from qml_core.runtime.jobs import TASKS
from qml_core.store.cache import cached_count, lookup

STEPS = ("playground", "phase", "quantum", "unlearning", "landscape", "data", "summary")
DATASET, OPTIONS = "mnist", {"digits": (1, 9)}  # the lesson's data: the paper's MNIST pair
PHASE = dict(attack="label-flip", step=0.1, runs=3, seed=0, models=("qnn", "mlp"))  # the phase page in teacher mode
# "Is it quantum?": the phase page's capacity view with the control models, on a coarser α grid
QUANTUM = dict(attack="label-flip", step=0.2, runs=3, seed=0, at_alpha=0.3,  # where the QNN keeps its plateau
               models=("qnn", "qnn-d1", "mlp", "mlp-4", "logreg", "matched"))
UNLEARNING = dict(models=("qnn", "mlp", "logreg"), alpha=0.3, runs=3, seed=0)  # the unlearning page in teacher mode
# the landscape page's curvature of the controls, by default: the paper's models, a classical
# non-memoriser and the classical model with the QNN's function class (the quadratic form)
CONTROLS = ("qnn", "mlp", "logreg", "quadratic")
LANDSCAPE = dict(models=["mlp", "qnn"], alpha=0.3, model="mlp")  # the landscape page's default view


def _phase(preset_name: str, view: dict) -> list[tuple[int, object, str]]:
    catalogue = {v.name: v for v in variants(preset_name, DATASET, list(view["models"]), **OPTIONS)}
    alphas = capacity_alphas(view["step"]) if "at_alpha" in view else phase_alphas(view["step"])  # as the page's view
    return phase_jobs({m: catalogue[m].spec for m in view["models"]}, view["attack"], view["seed"], alphas, view["runs"])


def _unlearning(preset_name: str) -> list[tuple[str, int, object]]:
    """(model, run, spec) of the unlearning page's default view, with the model each spec unlearns."""
    return [(model, run, spec) for model in UNLEARNING["models"] for _, run, spec in
            unlearn_specs(preset_name, DATASET, model, [m for m in PAPER_METHODS if m != "retrain"], UNLEARNING["alpha"],
                          UNLEARNING["runs"], UNLEARNING["seed"], OPTIONS)]


def _controls(preset_name: str) -> list:
    """(id, α, run, spec) of the landscape page's default curvature of the controls."""
    return control_curvature_specs(preset_name, list(CONTROLS), LANDSCAPE["alpha"])


def _step_requests(preset_name: str) -> list[tuple[str, str, object]]:
    """(step, kind, spec) of every view the lesson opens, in the order a class meets them (each
    step's first view, then the rest of the playground's α grid); a run two steps share (the
    phase diagram's run 0 is the playground's label-flip grid) is listed under both."""
    default = playground_specs(preset_name, DATASET, OPTIONS, "label-flip", 0.3)
    grid = playground_grid(preset_name, DATASET, OPTIONS)
    unlearning = _unlearning(preset_name)
    curvature, views = landscape_specs(preset_name, LANDSCAPE["models"], LANDSCAPE["alpha"], LANDSCAPE["model"])
    ordered = ([("playground", "train", s) for s in default.values()]
               + [("phase", "train", spec) for _, spec, _ in _phase(preset_name, PHASE)]
               + [("quantum", "train", spec) for _, spec, _ in _phase(preset_name, QUANTUM)]
               + [("unlearning", "train", spec.poisoned) for _, _, spec in unlearning]
               + [("unlearning", "unlearn", spec) for _, _, spec in unlearning]
               + [("landscape", "curvature", s) for s in curvature] + [("landscape", "landscape", v) for v in views]
               + [("landscape", "control-curvature", spec) for *_, spec in _controls(preset_name)]
               + [("playground", "train", s) for s in grid])
    return _unique(ordered, lambda step, kind, spec: (step, kind, spec.key()))


def _unique(requests: list[tuple[str, str, object]], key) -> list[tuple[str, str, object]]:
    seen, out = set(), []
    for request in requests:
        if key(*request) not in seen:
            seen.add(key(*request))
            out.append(request)
    return out


def lesson_requests(preset_name: str = "paper") -> list[tuple[str, str, object]]:
    """(step, kind, spec) of every run the lesson opens, in the order a class meets them, each
    (kind, spec) once, under the first step that opens it (what ``prepare-lesson`` computes)."""
    return _unique(_step_requests(preset_name), lambda step, kind, spec: (kind, spec.key()))


def lesson_steps(preset_name: str = "paper") -> list[tuple[str, str, object]]:
    """(step, kind, spec) of every step's own runs, a run two steps share under both: what
    ``readiness`` counts per step, so that a step's bar says what its page says (the playground's
    "38 of 38 runs" of its grid, where the phase diagram holds 18 of them too)."""
    return _step_requests(preset_name)


def readiness(requests: list[tuple[str, str, object]]) -> dict[str, tuple[int, int]]:
    """step -> (runs in the cache, runs) for ``lesson_steps``' (or ``lesson_requests``')
    output; "all" for the whole, each (kind, spec) counted once however many steps open it."""
    steps = {step: [(kind, spec) for s, kind, spec in requests if s == step] for step, _, _ in requests}
    out = {step: (cached_count(runs), len(runs)) for step, runs in steps.items()}
    unique = list({(kind, spec.key()): (kind, spec) for _, kind, spec in requests}.values())
    out["all"] = (cached_count(unique), len(unique))
    return out


def run_request(request: tuple[str, object]) -> bool:
    """Compute one (kind, spec) through its cached task (``jobs.TASKS``); True if it came
    from the cache. Module level, so a worker process can run it."""
    module, function = TASKS[request[0]]
    return getattr(importlib.import_module(module), function)(request[1])[1]


def _results(requests: list[tuple[str, object]]) -> list[dict] | None:
    found = [lookup(kind, spec) for kind, spec in requests]
    return None if any(r is None for r in found) else found


def lesson_numbers(preset_name: str = "paper") -> dict:
    """What the lesson's last step sums up, from the cache only (nothing is computed): the
    phase diagram's summary and critical α, the capacity table, the unlearning summary tables
    per model and the trace ratios; each None until all of its runs are in the cache."""
    out = {}
    jobs = _phase(preset_name, PHASE)
    found = _results([("train", spec) for _, spec, _ in jobs])
    rows = None if found is None else [{**result_row(run, spec, r, True), "model": m}
                                       for (run, spec, m), r in zip(jobs, found)]
    out["phase"] = None if rows is None else {"summary": phase_summary(rows), "critical": critical_alpha(rows)}
    jobs = _phase(preset_name, QUANTUM)
    found = _results([("train", spec) for _, spec, _ in jobs])
    if found is None:
        out["capacity"] = None
    else:
        rows = [{**result_row(run, spec, r, True), "variant": m} for (run, spec, m), r in zip(jobs, found)]
        chosen = variants(preset_name, DATASET, list(QUANTUM["models"]), **OPTIONS)
        out["capacity"] = capacity_table(chosen, rows, QUANTUM["at_alpha"])
    unlearning = _unlearning(preset_name)
    found = _results([("unlearn", spec) for _, _, spec in unlearning])
    if found is None:
        out["unlearning"] = None
    else:
        by_model: dict[str, dict] = {}
        for (model, run, spec), result in zip(unlearning, found):
            by_model.setdefault(model, {})[(spec.method, run)] = result
        out["unlearning"] = {m: summary_table(unlearn_rows(r)) for m, r in by_model.items()}
    curvature, _ = landscape_specs(preset_name, LANDSCAPE["models"], LANDSCAPE["alpha"], LANDSCAPE["model"])
    found = _results([("curvature", s) for s in curvature])
    out["curvature"] = None if found is None else trace_ratios(
        {(s.model, s.alpha, s.seed): r for s, r in zip(curvature, found)})
    controls = _controls(preset_name)
    found = _results([("control-curvature", spec) for *_, spec in controls])
    out["controls_curvature"] = None if found is None else ratio_table(curvature_rows(controls, found))
    return out
