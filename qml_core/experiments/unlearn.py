"""Machine unlearning after poisoning: the paper's four methods (protocol §4) and three that
the unlearning literature standardises on, behind one signature.

A method is a function ``objective(ctx) -> (n_samples, batch_loss)`` plus whether it starts
from a fresh initialisation; ``fit`` (the one training loop) runs it. Adding a method is one
function and one line in ``METHODS``. Every run records a trajectory at the start of every
epoch and after the last one, and ends with forgetting metrics (membership-inference AUC,
predictions for agreement with retraining).
"""
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from qml_core.data.poison import poison
from qml_core.experiments.experiment import Prepared, model_inputs, prepare, run_experiment
from qml_core.specs import ExperimentSpec, Keyed, MLPModel, Training, preset, require, require_float, require_int
from qml_core.store.cache import cached, code_version
from qml_core.training.models import build_model
from qml_core.training.train import accuracy, bce, default_device, fit

TRAJECTORY_FIELDS = ("epoch", "val_acc", "retain_acc", "forget_acc_true", "forget_acc_poisoned",
                     "objective", "retain_loss", "val_loss", "seconds")
EPS = 1e-7


@dataclass(frozen=True)
class UnlearnSpec(Keyed):
    """One unlearning run: the poisoned training it starts from, the method, its settings.

    batch_size 0 means one full-batch step per epoch. w_kl, w_fo: SCRUB / gradient-ascent
    weights; l1: the ℓ1 coefficient of l1-sparse; saliency: the fraction of weights SalUn
    lets move. The run's randomness (fresh initialisation, shuffling, random labels) follows
    the poisoned spec's seed.
    """
    poisoned: ExperimentSpec
    method: str = "finetune"
    epochs: int = 50
    batch_size: int = 256
    lr: float = 0.005
    w_kl: float = 0.0
    w_fo: float = 0.2
    l1: float = 5e-4
    saliency: float = 0.5

    def __post_init__(self):
        require(isinstance(self.poisoned, ExperimentSpec), "poisoned must be an ExperimentSpec")
        require(self.method in tuple(METHODS), f"method must be one of {tuple(METHODS)}, got {self.method!r}")
        require_int("epochs", self.epochs, 1, 10_000)
        require_int("batch_size", self.batch_size, 0, 100_000)
        require_float("lr", self.lr, 1e-7, 10.0)
        for name in ("w_kl", "w_fo"):
            require_float(name, getattr(self, name), 0.0, 10.0)
        require_float("l1", self.l1, 0.0, 1.0)
        require_float("saliency", self.saliency, 0.01, 1.0)


@dataclass
class Context:
    """What an objective needs: the student being trained, the frozen teacher (the poisoned
    model), all training inputs x, the poisoned labels y, retain/forget indices, the spec and
    a seeded generator."""
    student: torch.nn.Module
    teacher: torch.nn.Module
    x: torch.Tensor
    y: torch.Tensor
    retain: torch.Tensor
    forget: torch.Tensor
    spec: UnlearnSpec
    generator: torch.Generator


def bernoulli_kl(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Mean KL(p ‖ q) of Bernoulli outputs, both outcomes counted (our choice, protocol §4)."""
    p, q = p.clamp(EPS, 1 - EPS), q.clamp(EPS, 1 - EPS)
    return (p * (p / q).log() + (1 - p) * ((1 - p) / (1 - q)).log()).mean()


def retain_ce(ctx: Context):
    """Cross-entropy on the retain set (retrain and fine-tune)."""
    def loss(idx):
        rows = ctx.retain[idx]
        return bce(ctx.student(ctx.x[rows]), ctx.y[rows])
    return len(ctx.retain), loss


def scrub(ctx: Context):
    """CE(retain) + w_kl·KL(teacher‖student on retain) − w_fo·KL(teacher‖student on forget)."""
    with torch.no_grad():
        teacher_p = ctx.teacher(ctx.x)

    def loss(idx):
        rows = ctx.retain[idx]
        p = ctx.student(ctx.x[rows])  # once for both retain terms
        total = bce(p, ctx.y[rows])
        if ctx.spec.w_kl:
            total = total + ctx.spec.w_kl * bernoulli_kl(teacher_p[rows], p)
        if ctx.spec.w_fo and len(ctx.forget):  # nothing poisoned (α = 0): no forget term, not a mean over nothing
            total = total - ctx.spec.w_fo * bernoulli_kl(teacher_p[ctx.forget], ctx.student(ctx.x[ctx.forget]))
        return total
    return len(ctx.retain), loss


def grad_ascent(ctx: Context):
    """CE(retain) − w_fo·CE(forget set, poisoned labels); CE(retain) alone when nothing was
    poisoned (α = 0: the mean over an empty forget set is NaN, and the run diverged)."""
    _, ce = retain_ce(ctx)
    if not len(ctx.forget):
        return len(ctx.retain), ce
    return len(ctx.retain), lambda idx: ce(idx) - ctx.spec.w_fo * bce(ctx.student(ctx.x[ctx.forget]), ctx.y[ctx.forget])


def random_label(ctx: Context):
    """Relabel the forget set at random, then fine-tune on retain + relabelled forget."""
    rows = torch.cat([ctx.retain, ctx.forget])
    labels = torch.cat([ctx.y[ctx.retain], torch.randint(0, 2, (len(ctx.forget),), generator=ctx.generator)])
    return len(rows), lambda idx: bce(ctx.student(ctx.x[rows[idx]]), labels[idx])


def salun(ctx: Context):
    """SalUn: random labels, but only the weights most salient for the forget loss move (the
    top ``saliency`` fraction by |∂CE(forget)/∂w| over all weights; exactly that many, since
    many weights of a padded MNIST input have zero gradient and a threshold would tie)."""
    params = list(ctx.student.parameters())
    grads = torch.autograd.grad(bce(ctx.student(ctx.x[ctx.forget]), ctx.y[ctx.forget]), params)
    flat = torch.cat([g.abs().flatten() for g in grads])
    keep = torch.zeros_like(flat)
    keep[torch.topk(flat, math.ceil(ctx.spec.saliency * len(flat))).indices] = 1.0
    for p, mask in zip(params, keep.split([p.numel() for p in params])):
        p.register_hook(lambda grad, mask=mask.view_as(p): grad * mask)
    return random_label(ctx)


def l1_sparse(ctx: Context):
    """ℓ1-sparse fine-tuning: CE(retain) + l1·Σ|w|."""
    _, ce = retain_ce(ctx)
    return len(ctx.retain), lambda idx: ce(idx) + ctx.spec.l1 * sum(p.abs().sum() for p in ctx.student.parameters())


@dataclass(frozen=True)
class Method:
    objective: Callable[[Context], tuple[int, Callable]]
    fresh_start: bool = False


METHODS = {
    "retrain": Method(retain_ce, fresh_start=True),
    "finetune": Method(retain_ce),
    "scrub": Method(scrub),
    "grad-ascent": Method(grad_ascent),
    "random-label": Method(random_label),
    "salun": Method(salun),
    "l1-sparse": Method(l1_sparse),
}
PAPER_METHODS = ("retrain", "finetune", "scrub", "grad-ascent")


def poisoned_base(name: str, dataset: str, model: str, **data_options) -> ExperimentSpec:
    """The poisoned model's spec before α and seed: ``qnn`` and ``mlp`` as protocol §4 trains
    them (its MLP is (16, 4) on MNIST at the paper preset), any other capacity-catalogue id
    (``logreg``, ``matched``, ``mlp-es``, ``qnn-d10``, ``logreg-correlators``…) as the catalogue
    trains it, so that unlearning starts from the same runs as the phase diagram's controls."""
    if model in ("qnn", "mlp"):
        base = preset(name, dataset, model, **data_options)
        if model == "mlp" and name == "paper":
            mnist = dataset == "mnist"
            hidden, training = ((16, 4), Training(100, 128, 0.01)) if mnist else ((64, 16), Training(400, 32, 0.01))
            base = base.replace(model=MLPModel(hidden=hidden), training=training)
        return base
    from qml_core.experiments.capacity import variants

    return variants(name, dataset, [model], **data_options)[0].spec


def unlearn_preset(name: str, dataset: str, model: str, method: str = "finetune", alpha: float = 0.3,
                   seed: int = 0, **data_options) -> UnlearnSpec:
    """protocol §4 (``paper``) or a seconds-long demo (``quick``): label flipping at α, the
    poisoned model's training (``poisoned_base``: §4's for ``qnn`` and ``mlp``, the catalogue's
    for any other model id) and the unlearning optimiser of that section (a quantum model
    unlearns as the QNN, a classical one as the MLP); ``data_options`` as for ``preset``
    (digit pair, chain length, upload digest)."""
    base = poisoned_base(name, dataset, model, **data_options).replace(attack="label-flip", alpha=alpha, seed=seed)
    paper, mnist = name == "paper", dataset == "mnist"
    if base.model.name == "qnn":
        settings = dict(batch_size=256, lr=0.005) if paper else dict(batch_size=32, lr=0.02)
    else:
        settings = dict(batch_size=0, lr=0.001 if (mnist and paper) else 0.01)
    return UnlearnSpec(poisoned=base, method=method, epochs=50 if paper else 10, **settings)


def load_trained(spec: ExperimentSpec, params: dict, width: int, device) -> torch.nn.Module:
    """A model of ``spec`` with the stored parameters, frozen."""
    model = build_model(spec.model, width, spec.seed, device)
    model.load_state_dict({k: torch.as_tensor(v, device=device) for k, v in params.items()})
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def per_sample_bce(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        p = model(x).clamp(EPS, 1 - EPS)
    y = y.to(p.dtype)
    return (-(y * p.log() + (1 - y) * (1 - p).log())).cpu().numpy()


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(score of a positive > score of a negative), ties counting half (Mann–Whitney); NaN
    when either side is empty (nothing poisoned: no members to tell apart)."""
    pos, neg = np.asarray(positive)[:, None], np.asarray(negative)[None, :]
    if not pos.size or not neg.size:
        return math.nan
    return float(np.mean((pos > neg) + 0.5 * (pos == neg)))


def membership_auc(model: torch.nn.Module, prep: Prepared, spec: ExperimentSpec, device) -> float:
    """Loss-threshold membership-inference attack on the forget set.

    Members: the forget set with its poisoned labels. Non-members: held-out validation data
    poisoned by the same attack (never seen). Score: −loss. 0.5 = the attacker cannot tell;
    near 1 = the model still remembers the forget set.
    """
    val = prep.data
    held = poison(val.x_val, val.y_val, min(0.9, len(prep.poisoned.forget) / len(val.y_val)), spec.attack, spec.seed + 1)
    members = per_sample_bce(model, prep.x_train[prep.poisoned.forget], prep.y_train[prep.poisoned.forget])
    # label flipping leaves the inputs as they are: the model's own view of them (principal
    # components, measured features) is prep.x_val's; randomised features are new inputs
    inputs = prep.x_val[held.forget] if spec.attack == "label-flip" else model_inputs(spec, held.x[held.forget], device)
    outsiders = per_sample_bce(model, inputs, torch.as_tensor(held.y[held.forget], device=device))
    return auc(-members, -outsiders)


def unlearn_experiment(spec: UnlearnSpec, progress=None, device=None) -> dict:
    """Run one unlearning method from the (cached) poisoned model, uncached.

    Returns plain data: ``trajectory`` (a list per TRAJECTORY_FIELDS; entry 0 is the start;
    ``objective`` is the method's own loss averaged over the epoch's batches),
    ``poisoned_val_acc`` and ``flip_fit`` (the poisoned model's validation accuracy and its
    accuracy on the flipped samples w.r.t. the flipped labels: how much there is to unlearn),
    the final values of those fields, ``mia_auc``, ``val_pred`` and ``forget_pred`` (0/1
    predictions, for agreement with retraining), ``seconds`` (the unlearning alone, trajectory
    evaluations included), ``code_version``.
    """
    device = torch.device(device) if device is not None else default_device()
    base = spec.poisoned
    trained, _ = run_experiment(base, device=device)
    prep = prepare(base, device)
    teacher = load_trained(base, trained["params"], prep.width, device)
    student = build_model(base.model, prep.width, base.seed + 7919, device) if METHODS[spec.method].fresh_start \
        else load_trained(base, trained["params"], prep.width, device).requires_grad_(True)
    forget = torch.as_tensor(prep.poisoned.forget, device=device)
    retain = torch.as_tensor(prep.poisoned.retain, device=device)
    true_forget = torch.as_tensor(prep.data.y_train[prep.poisoned.forget], device=device)
    ctx = Context(student, teacher, prep.x_train, prep.y_train, retain, forget, spec,
                  torch.Generator().manual_seed(base.seed))
    n_samples, batch_loss = METHODS[spec.method].objective(ctx)
    trajectory = {name: [] for name in TRAJECTORY_FIELDS}
    start = time.perf_counter()  # the unlearning itself, not the (cached) poisoned training

    latest = {}  # the last recorded predictions, reused for the final agreement metrics

    def record(epoch: int, stats: dict) -> None:
        with torch.no_grad():
            p_train, p_val = student(prep.x_train), student(prep.x_val)
        latest.update(train=p_train, val=p_val)
        values = dict(epoch=epoch, val_acc=accuracy(p_val, prep.y_val),
                      retain_acc=accuracy(p_train[retain], prep.y_train[retain]),
                      forget_acc_true=accuracy(p_train[forget], true_forget),
                      forget_acc_poisoned=accuracy(p_train[forget], prep.y_train[forget]),
                      objective=stats["loss"],
                      retain_loss=float(bce(p_train[retain], prep.y_train[retain])),
                      val_loss=float(bce(p_val, prep.y_val)), seconds=time.perf_counter() - start)
        for name in TRAJECTORY_FIELDS:
            trajectory[name].append(values[name])
        if progress is not None:
            progress(epoch, spec.epochs, values)

    with torch.no_grad():  # the poisoned model: how much of the poison there is to unlearn
        poisoned_val = accuracy(teacher(prep.x_val), prep.y_val)
        flip_fit = accuracy(teacher(prep.x_train[forget]), prep.y_train[forget]) if len(forget) else math.nan
    record(0, {"loss": float("nan")})  # the starting model; no objective evaluated yet
    fit(student, batch_loss, n_samples, spec.epochs, spec.batch_size or n_samples, spec.lr, base.seed, record)
    val_pred = (latest["val"] >= 0.5).long().cpu().numpy()
    forget_pred = (latest["train"][forget] >= 0.5).long().cpu().numpy()
    result = {name: trajectory[name][-1] for name in TRAJECTORY_FIELDS}
    result.update(trajectory=trajectory, mia_auc=membership_auc(student, prep, base, device), val_pred=val_pred,
                  poisoned_val_acc=poisoned_val, flip_fit=flip_fit,
                  forget_pred=forget_pred, seconds=time.perf_counter() - start, code_version=code_version())
    return result


def run_unlearning(spec: UnlearnSpec, progress=None, device=None) -> tuple[dict, bool]:
    """The cached form of ``unlearn_experiment``: (result, was_cached)."""
    return cached("unlearn", spec, lambda: unlearn_experiment(spec, progress, device))


def unlearn_result(spec):
    """Worker: one cached unlearning run (module level, so joblib can send it)."""
    return run_unlearning(spec)[0]

