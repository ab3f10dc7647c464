"""The specs each page's view asks for, built in one place: the pages submit them as jobs and
``prepare-lesson`` computes them ahead (``lesson.py``), so both meet the same cache entries.

Example::

    specs = playground_specs("paper", "mnist", {"digits": (1, 9)}, "label-flip", 0.3)
    jobs = phase_jobs({"qnn": qnn_spec, "mlp": mlp_spec}, "label-flip", 0, phase_alphas(0.1), runs=3)
"""
import dataclasses

from qml_core.experiments.curvature import CurvatureSpec
from qml_core.experiments.landscape import LandscapeSpec
from qml_core.experiments.sweep import sweep_specs
from qml_core.specs import ATTACKS, ExperimentSpec, preset

PLAYGROUND_ALPHAS = (0.0, 0.9, 0.1)  # the playground's α slider: low, high, step
LANDSCAPE_POISONED = (0.2, 0.3, 0.4)
LANDSCAPE_SETTINGS = {"quick": dict(epochs=15, seeds=1, grid=21), "paper": dict(epochs=50, seeds=5, grid=41)}


def slider_alphas(low: float, high: float, step: float) -> list[float]:
    """Every α a slider from ``low`` to ``high`` in ``step``s can take, rounded as it gives them."""
    return [round(low + i * step, 4) for i in range(int(round((high - low) / step)) + 1)]


def playground_specs(preset_name: str, dataset: str, options: dict, attack: str, alpha: float, seed: int = 0,
                     executor: str = "fused", device: dict | None = None) -> dict[str, ExperimentSpec]:
    """{"qnn": spec, "mlp": spec} of the playground at ``alpha`` (rounded as ``prefetch.neighbours``
    rounds it); the QNN on ``executor`` with the ``device`` fields (shots, noise; none: exact)."""
    specs = {}
    for model in ("qnn", "mlp"):
        spec = preset(preset_name, dataset, model, **options).replace(attack=attack, alpha=round(float(alpha), 4),
                                                                      seed=int(seed))
        specs[model] = (spec.replace(model=dataclasses.replace(spec.model, executor=executor, **(device or {})))
                        if model == "qnn" else spec)
    return specs


def playground_grid(preset_name: str, dataset: str, options: dict, seed: int = 0,
                    executor: str = "fused", device: dict | None = None) -> list[ExperimentSpec]:
    """Every spec the playground's slider can ask for, both attacks, in slider order (α = 0,
    where nothing is poisoned, is one spec for both attacks: listed once)."""
    specs = [s for attack in ATTACKS for alpha in slider_alphas(*PLAYGROUND_ALPHAS)
             for s in playground_specs(preset_name, dataset, options, attack, alpha, seed, executor, device).values()]
    return list({s.key(): s for s in specs}.values())


def phase_alphas(step: float) -> list[float]:
    """The phase page's α grid for an α step: 0 to 0.9."""
    return [round(i * step, 4) for i in range(int(round(0.9 / step)) + 1)]


CAPACITY_ALPHA = 0.3  # the capacity view's "accuracy at α" by default: the plateau α of protocol §6


def capacity_alphas(step: float) -> list[float]:
    """The capacity view's α grid: the phase page's for ``step``, and 0.3 in every one (a step
    of 0.2 would otherwise offer 0, 0.2, 0.4 …, and open at α = 0, with nothing poisoned)."""
    return sorted(set(phase_alphas(step)) | {CAPACITY_ALPHA})


def phase_jobs(bases: dict[str, ExperimentSpec], attack: str, seed: int, alphas: list[float],
               runs: int) -> list[tuple[int, ExperimentSpec, str]]:
    """(run, spec, model) for every model's base spec (a capacity variant's), α and run; every α of
    run 0 first, so the diagram fills in across α."""
    chosen = {m: base.replace(attack=attack, seed=int(seed)) for m, base in bases.items()}
    return sorted(((run, spec, m) for m in chosen for run, spec in sweep_specs([chosen[m]], alphas, int(runs))),
                  key=lambda job: job[0])


def landscape_specs(preset_name: str, models: list[str], alpha: float, model: str,
                    directions: str = "random") -> tuple[list[CurvatureSpec], list[LandscapeSpec]]:
    """The loss-landscape page's runs: §5 curvature for ``models`` at α 0 and LANDSCAPE_POISONED
    over the preset's seeds, and the interpolation and 2-D slice of ``model`` at ``alpha``."""
    settings = LANDSCAPE_SETTINGS[preset_name]
    curvature = [CurvatureSpec(model=m, alpha=a, seed=s, epochs=settings["epochs"])
                 for m in models for a in (0.0, *LANDSCAPE_POISONED) for s in range(settings["seeds"])]
    views = [LandscapeSpec(model=model, alpha=float(alpha), epochs=settings["epochs"], kind="interpolate",
                           grid=settings["grid"]),
             LandscapeSpec(model=model, alpha=float(alpha), epochs=settings["epochs"], kind="slice2d",
                           directions=directions, grid=settings["grid"])]
    return curvature, views


CONTROL_MODELS = ("qnn", "mlp", "logreg", "matched", "mlp-es", "qnn-noent", "quadratic", "logreg-bounded")
CONTROL_RUNS = 3  # runs per (model, α) of the landscape page's curvature of the controls


def control_curvature_specs(preset_name: str, models: list[str], alpha: float, runs: int = CONTROL_RUNS) -> list:
    """The landscape page's curvature of the controls: (id, α, run, ``ControlCurvatureSpec``) of
    the held-out Hessian trace of each catalogue model on MNIST 1 vs 9, clean and at ``alpha``,
    trained at its own settings (the phase diagram's runs)."""
    from qml_core.experiments.capacity import variants
    from qml_core.experiments.control_curvature import curvature_jobs

    return curvature_jobs(variants(preset_name, "mnist", list(models), digits=(1, 9)), [float(alpha)], runs)
