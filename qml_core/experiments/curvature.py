"""The loss-curvature experiment of protocol §5: train on (poisoned) MNIST, then the Hessian of
the mean BCE over held-out samples at the trained parameters."""
import time
from dataclasses import dataclass

import numpy as np
import torch

from qml_core.data.mnist import load_mnist_pair
from qml_core.data.poison import poison
from qml_core.experiments.collapse import COLLAPSE_STD
from qml_core.sim.executor import FusedExecutor
from qml_core.specs import Keyed, MLPModel, QNNModel, require, require_digits, require_float, require_int
from qml_core.store.cache import cached, code_version
from qml_core.training.models import build_model
from qml_core.training.train import accuracy, bce, fit


@dataclass(frozen=True)
class CurvatureSpec(Keyed):
    """One §5 run: MNIST pair, 250 per class split 70/30 (stratified, seeded), label flipping
    at ``alpha`` on the 70 %, a model (``qnn``: depth-5 RX-RY-CNOT-ring; ``mlp``: hidden
    (8, 2)) trained 50 epochs with batch 32, lr 0.01; Hessian over ``n_heldout`` samples."""
    model: str = "mlp"
    alpha: float = 0.0
    seed: int = 0
    digits: tuple[int, int] = (1, 9)
    epochs: int = 50
    batch_size: int = 32
    lr: float = 0.01
    n_heldout: int = 100

    def __post_init__(self):
        require(self.model in ("qnn", "mlp"), f"model must be 'qnn' or 'mlp', got {self.model!r}")
        require_float("alpha", self.alpha, 0.0, 1.0, high_open=True)
        require_int("seed", self.seed, 0, 2 ** 31 - 1)
        require_digits(self.digits)
        require_int("epochs", self.epochs, 1, 10_000)
        require_int("batch_size", self.batch_size, 1, 100_000)
        require_float("lr", self.lr, 1e-7, 10.0)
        require_int("n_heldout", self.n_heldout, 2, 150)

    @property
    def model_spec(self) -> QNNModel | MLPModel:
        return QNNModel(depth=5, ansatz="cnot-ring") if self.model == "qnn" else MLPModel(hidden=(8, 2))


def stratified_split(y: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) indices, each class split in the same proportion, seeded."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        cut = int(round(test_fraction * len(members)))
        test.append(members[:cut])
        train.append(members[cut:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def flatten(model: torch.nn.Module) -> torch.Tensor:
    """The model's parameters as one flat vector (model order), detached."""
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def unflatten(model: torch.nn.Module, theta: torch.Tensor) -> dict[str, torch.Tensor]:
    """The inverse of ``flatten``: name -> view of ``theta`` shaped like that parameter."""
    named = list(model.named_parameters())
    parts = theta.split([p.numel() for _, p in named])
    return {name: part.view(p.shape) for (name, p), part in zip(named, parts)}


def flat_loss(spec: CurvatureSpec, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor):
    """(loss_fn, theta): the mean BCE as a function of one flat parameter vector, twice
    differentiable (the QNN runs on the fused executor's autograd path for this)."""
    if spec.model == "qnn":
        shape = model.weights.shape
        executor = FusedExecutor("cnot-ring", shape[0], shape[1], backward="autograd")
        return (lambda theta: bce(torch.sigmoid(5.0 * executor(theta.view(shape), x)), y)), flatten(model)
    return (lambda theta: bce(torch.func.functional_call(model, unflatten(model, theta), (x,)), y)), flatten(model)


def split_data(spec: CurvatureSpec):
    """(x, y) poisoned training tensors and (x_test, y_test) held-out tensors of a §5 run."""
    x_all, y_all, _, _, _ = load_mnist_pair(spec.digits, 250, n_val=1)
    train, test = stratified_split(y_all, 0.3, spec.seed)
    poisoned = poison(x_all[train], y_all[train], spec.alpha, "label-flip", spec.seed)
    heldout = np.random.default_rng(spec.seed).choice(test, spec.n_heldout, replace=False)
    return (torch.as_tensor(poisoned.x), torch.as_tensor(poisoned.y),
            torch.as_tensor(x_all[heldout]), torch.as_tensor(y_all[heldout]))


def heldout_loss(spec: CurvatureSpec, flat_params: np.ndarray):
    """(loss_fn, theta) of the held-out BCE at stored flat parameters of a §5 run."""
    _, _, x_test, y_test = split_data(spec)
    model = build_model(spec.model_spec, x_test.shape[1], spec.seed)
    loss_fn, theta = flat_loss(spec, model, x_test, y_test)
    return loss_fn, torch.as_tensor(flat_params, dtype=theta.dtype).clone()


def unflatten_mlp(spec: CurvatureSpec, theta: torch.Tensor) -> list[torch.Tensor]:
    """The MLP's parameter tensors (model order) from a flat vector."""
    return list(unflatten(build_model(spec.model_spec, 1024, spec.seed), theta).values())


def train_solution(spec: CurvatureSpec) -> dict:
    """Train the spec's model on its poisoned split: ``params`` (flat), ``train_acc``
    (poisoned labels), ``test_acc`` (held-out), ``collapsed`` (constant output), ``seconds``."""
    start = time.perf_counter()
    x, y, x_test, y_test = split_data(spec)
    model = build_model(spec.model_spec, x.shape[1], spec.seed)
    fit(model, lambda idx: bce(model(x[idx]), y[idx]), len(y), spec.epochs, spec.batch_size, spec.lr, spec.seed)
    with torch.no_grad():
        p_train, p_test = model(x), model(x_test)
    params = flatten(model).numpy()
    return {"params": params, "n_params": params.size, "train_acc": accuracy(p_train, y),
            "test_acc": accuracy(p_test, y_test), "collapsed": bool(p_test.std() < COLLAPSE_STD),
            "seconds": time.perf_counter() - start, "code_version": code_version()}


def run_solution(spec: CurvatureSpec) -> tuple[dict, bool]:
    """Cached ``train_solution``."""
    return cached("solution", spec, lambda: train_solution(spec))


def mlp_subspace(model: torch.nn.Module, x: torch.Tensor):
    """The ``hessian.Subspace`` holding the loss Hessian of an MLP (``models.MLP``: its first
    parameter is the weight of a Linear layer applied to the input) on inputs ``x`` (n, d).

    The first layer's weight W1 (h, d) enters the loss only through W1 x_k for the n rows x_k,
    so a move of W1 orthogonal to span{x_k} (per row) changes nothing, to every order: with U
    (d, r) an orthonormal basis of that span (r = min(n, d), QR of xᵀ), E z = (vec(D Uᵀ), rest)
    for z = (D (h, r) flattened, the other parameters) is an isometry whose range holds every
    row and column of H. For the (8, 2) MLP on 100 images: dim 8·100 + 29 = 829 of P = 8221.
    """
    from qml_core.experiments.hessian import Subspace

    first = next(model.parameters())
    if first.ndim != 2 or first.shape[1] != x.shape[1]:
        raise ValueError(f"the model's first parameter must be the input layer's weight (h, {x.shape[1]}), "
                         f"got shape {tuple(first.shape)}")
    hidden = first.shape[0]
    basis = torch.linalg.qr(x.detach().to(first.dtype).T, mode="reduced").Q  # (d, r), orthonormal columns
    rank = basis.shape[1]
    n_first, n_rest = first.numel(), sum(p.numel() for p in model.parameters()) - first.numel()

    def embed(z: torch.Tensor) -> torch.Tensor:
        return torch.cat([(z[:hidden * rank].view(hidden, rank) @ basis.T).reshape(n_first), z[hidden * rank:]])
    return Subspace(embed, hidden * rank + n_rest)


def heldout_hessian_qnn(spec: CurvatureSpec, x: torch.Tensor, y: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """The exact held-out loss Hessian of a §5 QNN (P, P), by ``qnn_hessian`` (the circuit's own
    second-order adjoint, about 20x faster than autograd through the executor); the generic
    ``hessian.exact_hessian`` of ``flat_loss`` for a circuit that module does not support."""
    from qml_core.experiments.hessian import exact_hessian
    from qml_core.sim.qnn_hessian import qnn_loss_hessian

    model_spec = spec.model_spec
    try:
        return qnn_loss_hessian(model_spec.ansatz, model_spec.depth, x.shape[1].bit_length() - 1, theta, x,
                                lambda f: bce(torch.sigmoid(5.0 * f), y))
    except NotImplementedError:
        model = build_model(model_spec, x.shape[1], spec.seed)
        return exact_hessian(flat_loss(spec, model, x, y)[0], theta)


def heldout_spectrum(spec: CurvatureSpec, flat_params: np.ndarray) -> dict:
    """The exact Hessian spectrum (``hessian.exact_spectrum``'s dict) of the held-out loss at
    stored flat parameters: for the MLP through ``mlp_subspace`` (829 x 829 instead of 8221 x
    8221, the same eigenvalues), for the QNN from ``heldout_hessian_qnn``; both equal the
    plain dense autograd Hessian's up to rounding (tests/test_curvature.py)."""
    from qml_core.experiments.hessian import exact_spectrum, spectrum_of

    _, _, x_test, y_test = split_data(spec)
    theta = torch.as_tensor(flat_params, dtype=torch.float64).clone()
    if spec.model == "qnn":
        return spectrum_of(torch.linalg.eigvalsh(heldout_hessian_qnn(spec, x_test, y_test, theta)).numpy())
    model = build_model(spec.model_spec, x_test.shape[1], spec.seed)
    loss_fn, _ = flat_loss(spec, model, x_test, y_test)
    return exact_spectrum(loss_fn, theta, mlp_subspace(model, x_test))


def curvature_experiment(spec: CurvatureSpec) -> dict:
    """The trained solution plus the exact Hessian spectrum of the held-out loss there:
    ``eigenvalues`` (ascending), ``trace``, ``max``, ``min`` and the solution's fields."""
    start = time.perf_counter()
    solution, _ = run_solution(spec)
    spectrum = heldout_spectrum(spec, solution["params"])
    return {**solution, **spectrum, "seconds": time.perf_counter() - start}


def run_curvature(spec: CurvatureSpec) -> tuple[dict, bool]:
    """Cached ``curvature_experiment``: (result, was_cached)."""
    return cached("curvature", spec, lambda: curvature_experiment(spec))


def trace_ratios(results: dict[tuple[str, float, int], dict]) -> list[dict]:
    """Per (model, α > 0): trace(poisoned)/trace(clean) of the same seed: the median over seeds
    with its interquartile range (``ratio_median``, ``ratio_q25``, ``ratio_q75``: what pages,
    captions and docs quote, since one seed's ratio of 2000 pulls a mean of five far off),
    mean ± std too, with the collapsed runs counted and listed (never dropped silently: a ratio
    involving a collapsed run is reported separately)."""
    rows = []
    for model, alpha in sorted({(m, a) for m, a, _ in results if a > 0}):
        seeds = sorted(s for m, a, s in results if (m, a) == (model, alpha) and (m, 0.0, s) in results)
        ratios, collapsed = [], []
        for seed in seeds:
            run, clean = results[(model, alpha, seed)], results[(model, 0.0, seed)]
            ratio = run["trace"] / clean["trace"] if clean["trace"] != 0 else float("nan")
            (collapsed if run["collapsed"] or clean["collapsed"] else ratios).append((seed, ratio))
        values = np.array([r for _, r in ratios])
        q25, median, q75 = (float(v) for v in np.percentile(values, [25, 50, 75])) if len(values) else (float("nan"),) * 3
        rows.append({"model": model, "alpha": alpha, "ratio_median": median, "ratio_q25": q25, "ratio_q75": q75,
                     "ratio_mean": float(values.mean()) if len(values) else float("nan"),
                     "ratio_std": float(values.std()) if len(values) else float("nan"),
                     "ratios": [r for _, r in ratios], "collapsed_seeds": [s for s, _ in collapsed],
                     "collapsed_ratios": [r for _, r in collapsed]})
    return rows


HESSIAN_ROW_FIELDS = ("trace", "max", "min", "collapsed", "train_acc", "test_acc", "n_params", "seconds")


def hessian_tables(specs: list[CurvatureSpec], results: list[dict]) -> dict:
    """Plain tables of finished §5 runs: ``rows`` (one per run, HESSIAN_ROW_FIELDS),
    ``trace_ratios`` (``trace_ratios``) and ``spectra`` (eigenvalues per run, as lists)."""
    def keys(spec):
        return {"model": spec.model, "alpha": spec.alpha, "seed": spec.seed}
    return {"rows": [{**keys(s), **{k: r[k] for k in HESSIAN_ROW_FIELDS}} for s, r in zip(specs, results)],
            "trace_ratios": trace_ratios({(s.model, s.alpha, s.seed): r for s, r in zip(specs, results)}),
            "spectra": [{**keys(s), "eigenvalues": np.asarray(r["eigenvalues"]).tolist()} for s, r in zip(specs, results)]}


def curvature_result(spec):
    """Worker: one cached §5 curvature run (module level, so joblib can send it)."""
    return run_curvature(spec)[0]

