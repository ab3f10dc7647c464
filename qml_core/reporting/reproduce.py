"""Reproduce the paper (protocol §2–5) on MNIST and XXZ in one call: the poisoning sweep, the
unlearning comparison and the curvature/landscape experiment, then the §6 claims decided from
the measurements. Every run goes through the cached functions, so a second call is fast and
an interrupted one resumes.

    from qml_core.reporting.reproduce import reproduce
    results = reproduce("quick", "all", n_jobs=2)   # plain data: rows, summaries, claims, timings
"""
import time
from collections.abc import Callable
from dataclasses import dataclass

from qml_core.runtime.backends import parallel_map
from qml_core.specs import ATTACKS, MODELS, preset

GROUPS = ("poisoning", "unlearning", "landscape", "controls", "fair", "claims-controls", "device")
ALL_GROUPS = GROUPS[:-1]  # "all": the paper's figures and the controls; the device table is asked for by name
DATASETS = ("xxz", "mnist")  # the paper's two; the slowest first, so the workers finish together
UNLEARN_ALPHA = 0.3  # protocol §4


@dataclass(frozen=True)
class Plan:
    """What a reproduction runs. ``alphas``/``runs``: the §2 sweep; ``unlearn_runs``: runs per
    unlearning method; ``curvature_*``: the §5 runs (seeds 0..runs-1, clean added to the α);
    ``landscape_grid``: points per axis of the 2-D slices and the interpolations."""
    preset: str
    alphas: tuple[float, ...]
    runs: int
    unlearn_runs: int
    curvature_alphas: tuple[float, ...]
    curvature_runs: int
    curvature_epochs: int
    landscape_grid: int
    controls_alphas: tuple[float, ...] = (0.0, 0.3, 0.5)  # issue 15: the capacity controls' grid
    controls_runs: int = 1
    fair_alphas: tuple[float, ...] = (0.0, 0.3, 0.5)  # the fair baselines' grid (XXZ, with the controls' runs)
    device_alphas: tuple[float, ...] = (0.0, 0.3, 0.5)  # the device table's grid, both datasets
    device_runs: int = 1
    device_trajectories: int = 4  # per output in the depolarising cells
    claims_runs: int = 3  # claims 2 and 3 against the controls: runs per model (and per α for the curvature)


PLANS = {
    "paper": Plan("paper", tuple(round(0.1 * i, 1) for i in range(10)), 5, 5, (0.2, 0.3, 0.4), 5, 50, 41,
                  (0.0, 0.2, 0.3, 0.4, 0.5, 0.6), 3),
    # a coarse α grid (dense around the expected collapse), 2 runs, one short §5 seed
    "quick": Plan("quick", (0.0, 0.2, 0.4, 0.5, 0.6, 0.8), 2, 2, (0.3,), 1, 10, 11, claims_runs=1),
}
CONTROLS_ALPHA = 0.3  # the α of the capacity table's accuracy columns (the plateau's end in the paper)


def poisoning_jobs(plan: Plan) -> list:
    """(run, spec) sweep jobs, both datasets, models and attacks."""
    from qml_core.experiments.sweep import sweep_specs

    bases = [preset(plan.preset, dataset, model).replace(attack=attack)
             for dataset in DATASETS for model in MODELS for attack in ATTACKS]
    return sweep_specs(bases, plan.alphas, plan.runs)


def unlearning_jobs(plan: Plan) -> list:
    """(dataset, model, method, run, spec) for the paper's four methods, run r with seed r (the
    specs of ``python -m qml_core unlearn``, so both share the cache)."""
    from qml_core.experiments.unlearn import PAPER_METHODS
    from qml_core.experiments.unlearn_summary import unlearn_specs

    return [(dataset, model, method, run, spec) for dataset in DATASETS for model in MODELS
            for method, run, spec in unlearn_specs(plan.preset, dataset, model, list(PAPER_METHODS), UNLEARN_ALPHA,
                                                   plan.unlearn_runs)]


def curvature_jobs(plan: Plan) -> list:
    """§5 runs, clean and poisoned, every seed; the QNN (the slower run: its training) first."""
    from qml_core.experiments.curvature import CurvatureSpec

    return [CurvatureSpec(model=model, alpha=alpha, seed=seed, epochs=plan.curvature_epochs)
            for model in MODELS for alpha in (0.0, *plan.curvature_alphas) for seed in range(plan.curvature_runs)]


def landscape_jobs(plan: Plan) -> list:
    """Per model, around the seed-0 solution at α = 0.3 (or the plan's first α): the clean →
    poisoned interpolation and a 2-D slice along random directions."""
    from qml_core.experiments.landscape import LandscapeSpec

    alpha = UNLEARN_ALPHA if UNLEARN_ALPHA in plan.curvature_alphas else plan.curvature_alphas[0]
    return [LandscapeSpec(model=model, alpha=alpha, seed=0, epochs=plan.curvature_epochs, kind=kind, grid=plan.landscape_grid)
            for model in MODELS for kind in ("interpolate", "slice2d")]


def landscape_result(spec):
    """Worker: one cached landscape (module level, so every backend can send it)."""
    from qml_core.experiments.landscape import run_landscape

    return run_landscape(spec)[0]


Mapper = Callable[[Callable, list, str], list]


def run_poisoning(plan: Plan, mapper: Mapper) -> dict:
    """§2–3: sweep rows, the phase summary and the critical α per (dataset, model, attack)."""
    from qml_core.experiments.phase import critical_alpha, phase_summary
    from qml_core.experiments.sweep import batched_jobs, in_job_order, train_rows

    rows = in_job_order(mapper(train_rows, batched_jobs(poisoning_jobs(plan)), "poisoning"))
    return {"rows": rows, "summary": phase_summary(rows), "critical": critical_alpha(rows)}


def run_unlearning(plan: Plan, mapper: Mapper) -> dict:
    """§4: per (dataset, model), the per-run rows, the summary table and the trajectories."""
    from qml_core.experiments.sweep import train_rows
    from qml_core.experiments.unlearn import unlearn_result
    from qml_core.experiments.unlearn_summary import poisoned_batches, summary_table, unlearn_rows

    jobs = unlearning_jobs(plan)
    mapper(train_rows, poisoned_batches([job[-1] for job in jobs]), "poisoned models")
    results = mapper(unlearn_result, [job[-1] for job in jobs], "unlearning")
    out = {}
    for dataset, model in dict.fromkeys((d, m) for d, m, *_ in jobs):
        mine = {(method, run): r for (d, m, method, run, _), r in zip(jobs, results) if (d, m) == (dataset, model)}
        rows = unlearn_rows(mine)
        out[f"{dataset}/{model}"] = {
            "dataset": dataset, "model": model, "rows": rows, "summary": summary_table(rows),
            "trajectories": [{"method": method, "run": run, **r["trajectory"]} for (method, run), r in mine.items()]}
    return out


def run_landscape(plan: Plan, mapper: Mapper) -> dict:
    """§5: Hessian rows and spectra, trace ratios, and the landscapes around the solutions."""
    from qml_core.experiments.curvature import curvature_result, hessian_tables

    jobs = curvature_jobs(plan)
    tables = hessian_tables(jobs, mapper(curvature_result, jobs, "hessian"))
    specs = landscape_jobs(plan)
    landscapes = [{"spec": s.spec_dict(), **r} for s, r in zip(specs, mapper(landscape_result, specs, "landscape"))]
    return {**tables, "landscapes": landscapes}


def capacity_tables(chosen: dict[str, list], alphas: tuple[float, ...], runs: int, mapper: Mapper, stage: str) -> dict:
    """Train the chosen variants per dataset over ``alphas`` and CONTROLS_ALPHA, ``runs`` runs
    each, and tabulate them (``capacity.capacity_table``): the per-run rows (tagged with their
    variant), the α of the accuracy columns and one table per dataset."""
    from qml_core.experiments.capacity import capacity_jobs, capacity_table
    from qml_core.experiments.sweep import batched_jobs, in_job_order, train_rows

    grid = sorted({*alphas, CONTROLS_ALPHA})
    tagged = [(dataset, *job) for dataset, mine in chosen.items() for job in capacity_jobs(mine, grid, runs)]
    rows = in_job_order(mapper(train_rows, batched_jobs([(run, spec) for _, _, run, spec in tagged]), stage))
    rows = [{"variant": name, **row} for (_, name, _, _), row in zip(tagged, rows)]
    tables = {dataset: capacity_table(mine, [r for r in rows if r["dataset"] == dataset], CONTROLS_ALPHA)
              for dataset, mine in chosen.items()}
    return {"rows": rows, "alpha": CONTROLS_ALPHA, "tables": tables}


def run_controls(plan: Plan, mapper: Mapper) -> dict:
    """Issue 15, is it quantum or capacity: per dataset the capacity table (``capacity``: QNN
    depths, MLP sizes, regularised, logistic and parameter-matched models) at α = 0.3 under
    label flipping, its statement in words, and the per-run rows. The models on measured XXZ
    features are the "fair" group's."""
    from qml_core.experiments.capacity import MEASURED_FAMILY, capacity_finding, variants

    chosen = {dataset: [v for v in variants(plan.preset, dataset) if v.family != MEASURED_FAMILY] for dataset in DATASETS}
    out = capacity_tables(chosen, plan.controls_alphas, plan.controls_runs, mapper, "controls")
    out["findings"] = {dataset: capacity_finding(table) for dataset, table in out["tables"].items()}
    return out


def run_fair(plan: Plan, mapper: Mapper) -> dict:
    """Fair baselines on quantum data: the XXZ capacity table of the paper's QNN and MLP and of
    classical models on measurement data (``fair.fair_variants``), its statement in words."""
    from qml_core.experiments.fair import fair_finding, fair_variants

    out = capacity_tables({"xxz": fair_variants(plan.preset)}, plan.fair_alphas, plan.controls_runs, mapper, "fair")
    out["finding"] = fair_finding(out["tables"]["xxz"])
    return out


def run_device(plan: Plan, mapper: Mapper) -> list[dict]:
    """Does the resilience survive a device? The preset's QNN on MNIST and XXZ with finite
    shots and depolarising noise (``devices.TABLE_SETTINGS``): one row per run, as
    ``benchmarks/device_table.py`` writes them; the report's section computes its finding."""
    from qml_core.experiments.devices import table_jobs, table_rows
    from qml_core.experiments.sweep import batched_jobs, in_job_order, train_rows

    rows = []
    for dataset in ("mnist", "xxz"):
        jobs = table_jobs(plan.preset, dataset, plan.device_alphas, plan.device_runs, plan.device_trajectories)
        outputs = mapper(train_rows, batched_jobs([(run, spec) for _, run, spec in jobs]), f"device {dataset}")
        rows += table_rows(dataset, jobs, in_job_order(outputs))
    return rows


def run_claims_controls(plan: Plan, mapper: Mapper) -> dict:
    """Claims 2 and 3 against the controls, per dataset (``claim_controls``): the unlearning
    table (fit of the flipped labels, gaps to retraining before and after) and the curvature
    table (median held-out trace ratio per model and α) of the paper's models, the classical
    models that do not memorise and the quantum controls."""
    from qml_core.experiments.claim_controls import MODELS, run_claim_controls

    return {dataset: run_claim_controls(plan.preset, dataset, MODELS[dataset], plan.claims_runs, plan.curvature_alphas,
                                        mapper) for dataset in DATASETS}


RUNNERS = {"poisoning": run_poisoning, "unlearning": run_unlearning, "landscape": run_landscape, "controls": run_controls,
           "fair": run_fair, "claims-controls": run_claims_controls, "device": run_device}


def evaluate_claims(results: dict) -> list[dict]:
    """The §6 claims for every group present in ``results``."""
    from qml_core.experiments.claims import landscape_claims, poisoning_claims, unlearning_claims

    claims = []
    if "poisoning" in results:
        claims += poisoning_claims(results["poisoning"]["rows"])
    if "unlearning" in results:
        claims += unlearning_claims({(v["dataset"], v["model"]): v["summary"] for v in results["unlearning"].values()})
    if "landscape" in results:
        claims += landscape_claims(results["landscape"]["trace_ratios"])
    if "fair" in results:
        from qml_core.experiments.fair import fair_claim

        claims.append(fair_claim(results["fair"]["tables"]["xxz"]))
    if "controls" in results:
        from qml_core.experiments.claims import plateau_control_claim

        measured = results.get("fair", {}).get("tables", {})  # on XXZ, the models on measured features join
        for dataset, table in results["controls"]["tables"].items():
            claims.append(plateau_control_claim(dataset, table, measured.get(dataset, [])))
    for out in results.get("claims-controls", {}).values():
        from qml_core.experiments.claim_controls import control_claims

        claims += control_claims(out)
    return [c.as_dict() for c in claims]


def reproduce(preset_name: str = "quick", figures: str = "all", n_jobs: int = 1, backend: str = "local",
              address: str | None = None, on_start: Callable[[str, int], None] | None = None,
              on_done: Callable | None = None) -> dict:
    """Run the groups ``figures`` names (``all``: ALL_GROUPS, or one of GROUPS) with the preset's plan.

    Returns plain data: one entry per group (see ``run_*``), ``claims`` (``claims.Claim`` as
    dicts), ``timings`` (wall seconds per group), ``plan``. on_start(stage, n_jobs) and
    on_done(output) report progress (one call per finished job)."""
    from qml_core.store.cache import code_version

    plan = PLANS[preset_name]
    groups = ALL_GROUPS if figures == "all" else (figures,)

    def mapper(func, items, stage):
        if on_start is not None:
            on_start(stage, len(items))
        return parallel_map(func, items, n_jobs, on_done, backend, address)

    results, timings = {}, {}
    for group in groups:
        start = time.perf_counter()
        results[group] = RUNNERS[group](plan, mapper)
        timings[group] = time.perf_counter() - start
    return {**results, "claims": evaluate_claims(results), "timings": timings, "plan": plan.__dict__,
            "preset": preset_name, "backend": backend, "n_jobs": n_jobs, "code_version": code_version()}
