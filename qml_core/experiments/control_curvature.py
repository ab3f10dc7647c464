"""Curvature for every catalogue model (issue "all three claims", item 2): the Hessian of the
mean BCE over held-out validation samples (clean labels) at a trained run's parameters, for any
``capacity`` variant on MNIST or XXZ, trained at its own settings (the same cached runs as the
phase diagram and the capacity table).

Protocol §5 measures curvature for one MLP (8, 2) and one CNOT-ring QNN in a setting of its own
(``curvature.py``); this module asks the same question of every control, so that "poisoning
sharpens the MLP's minimum, not the QNN's" can be judged against classical models that do not
memorise either. Every trace is exact but two: a QNN's by the parameter-shift rule
(``circuit_trace``; up to ``SHIFT_PARAMS`` angles), an MLP's whole spectrum where its Hessian is small enough to form
(``EXACT_DIM``, through ``curvature.mlp_subspace``: an MLP sees its first layer only through
W1 x_n) and its trace from per-sample gradients beyond that (``network_trace``); the
quadratic-form control and the deepest QNNs get Hutchinson's estimate, its standard error
stated in every row.

Example::

    spec = ControlCurvatureSpec(run=variants("paper", "mnist", ["logreg"])[0].spec.replace(alpha=0.3))
    result, cached = run_control_curvature(spec)   # result["trace"], result["trace_err"], ...
"""
import time
from dataclasses import dataclass

import numpy as np
import torch

from qml_core.experiments.collapse import COLLAPSED
from qml_core.experiments.curvature import flatten, unflatten
from qml_core.experiments.experiment import prepare, run_experiment
from qml_core.experiments.unlearn import load_trained
from qml_core.specs import ExperimentSpec, Keyed, require, require_int
from qml_core.store.cache import cached, code_version
from qml_core.training.models import MLP
from qml_core.training.train import bce

EXACT_DIM = 1024  # a Hessian (or its MLP subspace) up to this dimension is formed and diagonalised
# a QNN with up to this many angles gets the exact parameter-shift trace; beyond, Hessian-vector
# products (the dense Hessian up to EXACT_DIM, Hutchinson's estimate past it): 3P shifted
# circuits of depth L cost P·L, at depth 40 on MNIST (1 600 angles) 52 s for 10 held-out
# samples, about 8.7 min for a measurement's 100, against 0.57 s a Hutchinson probe
SHIFT_PARAMS = 400
# Hutchinson probes a measurement: at depth 40 on MNIST one probe's spread is about 0.8× the
# trace, so 256 probes give some 5 % a trace (the quick preset's smoke runs take QUICK_PROBES)
PROBES, QUICK_PROBES = 256, 16
RESULT_FIELDS = ("trace", "trace_err", "method", "max", "dim", "n_params", "train_acc", "val_acc", "flip_fit",
                 "collapsed", "seconds")


@dataclass(frozen=True)
class ControlCurvatureSpec(Keyed):
    """One curvature measurement: the trained ``run`` (any catalogue spec at its α and seed),
    the Hessian over ``n_heldout`` validation samples drawn with the run's seed, and the number
    of Hutchinson ``probes`` where the Hessian is too large to form."""
    run: ExperimentSpec
    n_heldout: int = 100
    probes: int = PROBES

    def __post_init__(self):
        require(isinstance(self.run, ExperimentSpec), "run must be an ExperimentSpec")
        require(not getattr(self.run.model, "on_device", False),
                "curvature is measured on the exact simulator: leave shots, depolarizing and readout_error unset")
        require_int("n_heldout", self.n_heldout, 2, 2000)
        require_int("probes", self.probes, 2, 10_000)


def heldout_rows(n_val: int, n: int, seed: int) -> np.ndarray:
    """``n`` validation rows drawn without replacement with ``seed`` (all of them if fewer)."""
    return np.sort(np.random.default_rng(seed).choice(n_val, min(n, n_val), replace=False))


def loss_function(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor):
    """The mean BCE on (x, y) of a classical model as a function of its flat parameter vector
    (model order, ``curvature.flatten``), twice differentiable."""
    return lambda theta: bce(torch.func.functional_call(model, unflatten(model, theta), (x,)), y)


def network_trace(model: MLP, x: torch.Tensor, y: torch.Tensor) -> float:
    """The exact trace of an MLP's loss Hessian without forming it: trace H = mean_n ℓ''(z_n)
    ‖∇_θ z_n‖², z_n the logit of sample n and ℓ(z) = BCE of its readout. A ReLU network's
    logit is linear in each single weight (each weight enters one product, ReLU is piecewise
    linear), so ∇²z_n has a zero diagonal and its term drops out of the trace: N per-sample
    gradients instead of one Hessian-vector product per parameter (tests/test_control_curvature.py
    checks it against the dense Hessian)."""
    from qml_core.training.models import readout

    params = {name.removeprefix("net."): p.detach() for name, p in model.named_parameters()}

    def logit(values: dict, row: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(model.net, values, (row[None],))[0, 0]

    def sample_loss(z: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        return bce(readout(z, model.bounded)[None], label[None])

    grads = torch.func.vmap(torch.func.grad(logit), in_dims=(None, 0))(params, x)
    norms = sum(g.reshape(len(x), -1).pow(2).sum(1) for g in grads.values())
    z = torch.func.vmap(logit, in_dims=(None, 0))(params, x)
    curvature = torch.func.vmap(torch.func.grad(torch.func.grad(sample_loss)))(z, y.to(z.dtype))
    return float((curvature * norms).mean())


def circuit_trace(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, chunk: int = 48) -> float:
    """The exact trace of a QNN's loss Hessian by the parameter-shift rule, without forming it.

    Every parameter is the angle of a Pauli rotation (RX, RY, IsingZZ), so along one angle
    f(θ) = A + B cos(θ − φ): ∂f = (f(θ + π/2) − f(θ − π/2))/2 and ∂²f = (f(θ + π) − f(θ))/2,
    exactly. Then trace H = mean_n Σ_i ℓ''(f_n)(∂_i f_n)² + ℓ'(f_n) ∂²_i f_n, ℓ(f) = BCE of
    sigmoid(5f): 3P circuit evaluations (complex128, the fused executor's run axis, ``chunk``
    shifted circuits at a time) instead of P Hessian-vector products through autograd."""
    from qml_core.sim.executor import FusedExecutor

    weights = model.weights.detach().to(torch.float64)
    executor = FusedExecutor(model.spec.ansatz, *weights.shape[:2], dtype=torch.float64)
    flat, n = weights.reshape(-1), weights.numel()
    shifts = torch.tensor([np.pi / 2, -np.pi / 2, np.pi], dtype=torch.float64)
    moved = flat.repeat(3 * n, 1)
    moved[torch.arange(3 * n), torch.arange(n).repeat(3)] += shifts.repeat_interleave(n)
    with torch.no_grad():
        f0 = executor(weights, x)
        f = torch.cat([executor(part.view(-1, *weights.shape), x.expand(len(part), -1, -1))
                       for part in moved.split(chunk)]).view(3, n, -1)
    first, second = (f[0] - f[1]) / 2, (f[2] - f0) / 2

    def sample_loss(value: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        return bce(torch.sigmoid(5.0 * value)[None], label[None])

    slope = torch.func.vmap(torch.func.grad(sample_loss))(f0, y.to(f0.dtype))
    bend = torch.func.vmap(torch.func.grad(torch.func.grad(sample_loss)))(f0, y.to(f0.dtype))
    return float((bend * first.pow(2) + slope * second).sum(0).mean())


def twice_differentiable(model: torch.nn.Module) -> torch.nn.Module:
    """The QNN in float64 on a fused executor that autograd differentiates twice (the training
    executor's adjoint gives first derivatives only), for Hessian-vector products."""
    from qml_core.sim.executor import FusedExecutor

    model = model.to(torch.float64)
    model.executor = FusedExecutor(model.spec.ansatz, *model.weights.shape[:2], dtype=torch.float64, backward="autograd")
    return model


def hessian_trace(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, probes: int, seed: int) -> dict:
    """{"trace", "trace_err" (0 when exact), "method", "max", "eigenvalues" (all, or the top
    ``TOP_K``), "dim"} of the loss Hessian at the model's parameters."""
    from qml_core.experiments.curvature import mlp_subspace
    from qml_core.experiments.hessian import exact_spectrum, hutchinson_trace

    theta = flatten(model).to(torch.float64)
    if hasattr(model, "executor") and theta.numel() <= SHIFT_PARAMS:
        return {"trace": circuit_trace(model, x, y), "trace_err": 0.0, "method": "exact trace (parameter shift)",
                "max": float("nan"), "eigenvalues": np.zeros(0), "dim": theta.numel()}
    if hasattr(model, "executor"):
        model = twice_differentiable(model)
    loss_fn = loss_function(model, x, y)
    subspace = mlp_subspace(model, x) if isinstance(model, MLP) else None
    dim = subspace.dim if subspace is not None else theta.numel()
    if dim <= EXACT_DIM:
        spectrum = exact_spectrum(loss_fn, theta, subspace)
        return {"trace": spectrum["trace"], "trace_err": 0.0, "method": "exact spectrum", "max": spectrum["max"],
                "eigenvalues": spectrum["eigenvalues"], "dim": dim}
    if subspace is not None:
        return {"trace": network_trace(model, x, y), "trace_err": 0.0, "method": "exact trace (per-sample gradients)",
                "max": float("nan"), "eigenvalues": np.zeros(0), "dim": dim}
    estimate = hutchinson_trace(loss_fn, theta, probes, seed)
    return {"trace": estimate["trace"], "trace_err": estimate["std_err"], "method": f"Hutchinson, {probes} probes",
            "max": float("nan"), "eigenvalues": np.zeros(0), "dim": dim}


def control_curvature_experiment(spec: ControlCurvatureSpec) -> dict:
    """Train (cached) the run, then measure its held-out Hessian: ``RESULT_FIELDS`` plus
    ``eigenvalues``. ``flip_fit`` is the run's accuracy on its flipped samples w.r.t. the
    flipped labels (how much of the poison it fitted; NaN when clean)."""
    start = time.perf_counter()
    run = spec.run
    trained, _ = run_experiment(run, device="cpu")
    prep = prepare(run, "cpu")
    rows = torch.as_tensor(heldout_rows(len(prep.y_val), spec.n_heldout, run.seed))
    model = load_trained(run, trained["params"], prep.width, "cpu")
    x = prep.x_val[rows]  # complex states (a random-phase gauge) stay complex: the QNN reads their phases
    curvature = hessian_trace(model, x.to(torch.complex128 if x.is_complex() else torch.float64), prep.y_val[rows],
                              spec.probes, run.seed)
    return {**curvature, "n_params": int(flatten(model).numel()), "train_acc": trained["train_acc"],
            "val_acc": trained["val_acc"], "flip_fit": trained["forget_acc"], "collapsed": trained["status"] == COLLAPSED,
            "seconds": time.perf_counter() - start, "code_version": code_version()}


def run_control_curvature(spec: ControlCurvatureSpec) -> tuple[dict, bool]:
    """Cached ``control_curvature_experiment``: (result, was_cached)."""
    return cached("control-curvature", spec, lambda: control_curvature_experiment(spec))


def control_curvature_result(spec: ControlCurvatureSpec) -> dict:
    """Worker: one cached measurement (module level, so joblib can send it)."""
    return run_control_curvature(spec)[0]


def curvature_jobs(chosen: list, alphas: list[float], runs: int, seed: int = 0,
                   probes: int = PROBES) -> list[tuple[str, float, int, ControlCurvatureSpec]]:
    """(variant id, α, run, spec) for every variant, α (clean added) and run, seeded as the
    sweeps seed them (``sweep.run_seed``: every variant sees the same poison set), with
    ``probes`` Hutchinson probes where a trace is estimated."""
    from qml_core.experiments.sweep import run_seed

    grid = sorted({0.0, *map(float, alphas)})
    return [(v.name, a, r, ControlCurvatureSpec(run=v.spec.replace(attack="label-flip", alpha=a, seed=run_seed(seed, a, r)),
                                                probes=probes))
            for v in chosen for a in grid for r in range(runs)]


def curvature_rows(jobs: list, results: list[dict]) -> list[dict]:
    """One plain row per measurement: variant, α, run and ``RESULT_FIELDS``."""
    return [{"variant": name, "alpha": a, "run": r, **{k: res[k] for k in RESULT_FIELDS}}
            for (name, a, r, _), res in zip(jobs, results)]


def ratio_table(rows: list[dict]) -> list[dict]:
    """Per (variant, α > 0), in the shape of ``curvature.trace_ratios`` (``model`` is the variant,
    so the same bars draw both): the trace ratio poisoned/clean of each run (paired by run index;
    each (α, run) has its own seed, as in the sweeps), their median and quartiles (the one statistic the lab quotes: a mean is
    pulled by one seed), the runs' mean fit of the flipped labels, and collapsed runs listed apart."""
    out = []
    for name, alpha in sorted({(r["variant"], r["alpha"]) for r in rows if r["alpha"] > 0}):
        clean = {r["run"]: r for r in rows if r["variant"] == name and r["alpha"] == 0}
        mine = [r for r in rows if (r["variant"], r["alpha"]) == (name, alpha) and r["run"] in clean]
        kept = [r for r in mine if not (r["collapsed"] or clean[r["run"]]["collapsed"])]
        ratio = lambda r: r["trace"] / clean[r["run"]]["trace"] if clean[r["run"]]["trace"] != 0 else float("nan")
        ratios = [ratio(r) for r in kept if clean[r["run"]]["trace"] != 0]
        q25, median, q75 = np.percentile(ratios, [25, 50, 75]) if ratios else (float("nan"),) * 3
        out.append({"variant": name, "model": name, "alpha": alpha, "ratio_median": float(median),
                    "ratio_q25": float(q25), "ratio_q75": float(q75), "ratios": ratios,
                    "collapsed_ratios": [ratio(r) for r in mine if r not in kept], "flip_fit_mean": float(np.mean([r["flip_fit"] for r in mine])) if mine else float("nan"),
                    "val_acc_mean": float(np.mean([r["val_acc"] for r in mine])) if mine else float("nan"),
                    "estimated": any(r["trace_err"] > 0 for r in mine),
                    "collapsed_runs": [r["run"] for r in mine if r not in kept]})
    return out
