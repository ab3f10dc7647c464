"""Is it quantum, or is it capacity? The control models (issue 15): a catalogue of model
variants around the paper's QNN and MLP, their parameter counts, and the capacity table
(accuracy at one α and critical α over a grid, per variant) that says whether small or
regularised classical models keep the QNN's plateau under label flipping too.

Each variant is an ordinary ``ExperimentSpec`` (same cache, same sweep machinery), named by a
short id: ``qnn`` and ``mlp`` are the paper's models (protocol §3) under the chosen preset;
``qnn-dD`` a QNN of depth D (the catalogue lists four depths; any D up to ``MAX_DEPTH`` is
built when asked by id); ``qnn-noent`` the paper's QNN without its entangling gates (Bowles,
Ahmed & Schuld's first test of quantumness, ``sim/circuits.py``); ``mlp-AxB`` an MLP with those hidden sizes; ``mlp-wd`` /
``mlp-es`` the paper's MLP with weight decay / early stopping; ``logreg`` logistic regression
on the same input vector; ``matched`` a classical model with about as many trainable
parameters as the paper's QNN (``matched_hidden``). On XXZ the family "classical on
measurements" adds the paper's MLP and logistic regression reading what an experiment measures
of each state instead of its amplitudes (``measurements.py``): ``mlp-probabilities``,
``logreg-correlators``, ``mlp-shadows100`` (shadows from 100 snapshots) and so on; ids of that
form outside MEASURED_VIEWS are built when named (``measured_variant``: "logreg-shadows10000",
"mlp-shadow-correlators1000", the shadow correlators without the shot histogram), so the default
catalogue's run count stays; ``features`` puts every other classical variant on measured
features too.

Example::

    table, rows = run_capacity(variants("quick", "mnist"), alpha=0.3, alphas=[0.0, 0.3, 0.5], runs=1)
"""
import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from qml_core.specs import FEATURES, SNAPSHOT_FEATURES, ExperimentSpec, MLPModel, SpecError, Training, preset, require

QUANTUM_FAMILIES = ("QNN",)
MEASURED_FAMILY = "classical on measurements"
INGREDIENT_FAMILY = "QNN ingredient"
FAMILIES = ("QNN", "MLP", "regularised MLP", "logistic regression", "parameter-matched", MEASURED_FAMILY,
            INGREDIENT_FAMILY)
QUADRATIC_RANK = 4  # the rank of the quadratic-form control's M
MEASURED_VIEWS = (("probabilities", 0), ("correlators", 0), ("shadows", 100), ("shadows", 1000))  # (features, snapshots)
MLP_SIZES = ((1,), (4,), (16, 4))  # besides the paper's (64, 16)
WEIGHT_DECAY = 0.01  # L2 strength of mlp-wd (torch Adam's weight_decay)
EARLY_STOPPING, PATIENCE = 0.2, 10  # mlp-es: a fifth of the poisoned training set held out
MATCHED_PCA = 16  # inputs of the parameter-matched model: the top 16 principal components
MAX_DEPTH = 50  # QNNModel's bound: qnn-dD for any D up to this is built when asked by id
DEEP_DEPTHS = (20, 30, 40)  # deeper QNNs the phase page offers beside the catalogue (docs/reproduction.md's depth table)
PLATEAU_MARGIN = 0.10  # validation accuracy within this of the clean value: a plateau (protocol §6)
MEMORISES = 0.93  # train accuracy on the poisoned labels at or above this: it fits the flips (protocol §6)
LEARNS = 0.6  # clean validation accuracy below this: the model does not learn the task at all
TABLE_FIELDS = ("family", "variant", "n_params", "train_acc_mean", "train_acc_std", "val_acc_mean", "val_acc_std",
                "critical_alpha", "critical_alpha_low", "critical_alpha_high", "clean_val_acc", "alpha", "runs",
                "dataset", "attack", "label")


@dataclass(frozen=True)
class Variant:
    """One model variant: its family (one of FAMILIES), id, words for a legend, and its spec
    (α 0, the base seed; the sweep sets α and the per-run seed)."""
    family: str
    name: str
    label: str
    spec: ExperimentSpec

    @property
    def quantum(self) -> bool:
        return self.family in QUANTUM_FAMILIES


def hidden_name(hidden: tuple[int, ...]) -> str:
    return "mlp-" + "x".join(map(str, hidden))


def sizes(hidden: tuple[int, ...]) -> str:
    """(64, 16) -> "(64, 16)", (4,) -> "(4)"."""
    return "(" + ", ".join(map(str, hidden)) + ")"


def qnn_depths(paper_depth: int) -> list[int]:
    """The QNN depths of the catalogue: 1, about half, the preset's, about twice (at most 10)."""
    return sorted({1, max(2, paper_depth // 2), paper_depth, min(10, 2 * paper_depth)})


def qnn_depth_variant(qnn: ExperimentSpec, depth: int) -> Variant:
    return Variant("QNN", f"qnn-d{depth}", f"QNN, depth {depth}", qnn.replace(model=dataclasses.replace(qnn.model, depth=depth)))


def noent_variant(qnn: ExperimentSpec) -> Variant:
    """The paper's QNN with its IsingZZ ring removed (ansatz ``paper-noent``), family "QNN"."""
    return Variant("QNN", "qnn-noent", f"QNN without entanglers, depth {qnn.model.depth}",
                   qnn.replace(model=dataclasses.replace(qnn.model, ansatz="paper-noent")))


def asked_depths(qnn: ExperimentSpec, names: list[str] | None, listed: list[Variant]) -> list[Variant]:
    """QNNs of the depths asked by id (``qnn-dD``, 1 ≤ D ≤ MAX_DEPTH) that the catalogue does
    not list, e.g. the depth table's qnn-d40; none when no ids are asked."""
    known = {v.name for v in listed}
    depths = [int(n[5:]) for n in names or () if n not in known and n.startswith("qnn-d") and n[5:].isdigit()]
    return [qnn_depth_variant(qnn, d) for d in dict.fromkeys(depths) if 1 <= d <= MAX_DEPTH]


def deeper_qnns(preset_name: str, dataset: str, **data_options) -> list[Variant]:
    """The QNNs of DEEP_DEPTHS (beyond the catalogue's), for a page that offers them by name."""
    qnn = preset(preset_name, dataset, "qnn", **data_options)
    return [qnn_depth_variant(qnn, d) for d in DEEP_DEPTHS]


def model_width(spec: ExperimentSpec) -> int:
    """The input width the spec's model sees: amplitudes (QNN) or the classical view (MLP:
    [Re, Im] for complex states, or its measured features; ``pca`` components when set).
    Loads the dataset."""
    from qml_core.data.datasets import load_dataset
    from qml_core.data.encoding import classical_view
    from qml_core.data.measurements import feature_width

    if isinstance(spec.model, MLPModel) and spec.model.pca:
        return spec.model.pca
    if isinstance(spec.model, MLPModel) and spec.model.features != "amplitudes":
        return feature_width(spec.data.spins, spec.model.features)
    x = load_dataset(spec.data).x_train[:1]
    return x.shape[1] if spec.model.name == "qnn" else classical_view(x).shape[1]


def n_params(spec: ExperimentSpec) -> int:
    """Trainable parameters of the spec's model (what a run's ``n_params`` reports)."""
    from qml_core.sim.circuits import weight_shape

    width = model_width(spec)
    if spec.model.name == "qnn":
        return math.prod(weight_shape(spec.model.ansatz, spec.model.depth, width.bit_length() - 1))
    if spec.model.quadratic:
        return (width + 1) * spec.model.quadratic
    sizes = (width, *spec.model.hidden, 1)
    return sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))


def matched_hidden(target: int, inputs: int = MATCHED_PCA) -> int:
    """The hidden width h of an MLP inputs → h → 1 (h·(inputs + 2) + 1 parameters) whose count
    is closest to ``target`` (the smaller h on a tie). A classical model cannot read all 1024
    (MNIST) or 8192 (XXZ) inputs with a QNN's 240 or 192 parameters (logistic regression alone
    has width + 1), so the matched model reads a fixed projection, the top principal
    components, and spends its parameters on one hidden layer."""
    require(target >= inputs + 3, f"a QNN of {target} parameters is too small to match with {inputs} inputs")
    low = max(1, (target - 1) // (inputs + 2))
    return min((low, low + 1), key=lambda h: (abs(h * (inputs + 2) + 1 - target), h))


def measured_name(kind: str, features: str, snapshots: int) -> str:
    """("mlp", "shadows", 100) -> "mlp-shadows100", ("logreg", "correlators", 0) -> "logreg-correlators"."""
    return f"{kind}-{features}{snapshots or ''}"


def measured_label(features: str, snapshots: int) -> str:
    """("shadows", 100) -> "shadows, M = 100"; ("correlators", 0) -> "correlators"."""
    return f"{features}, M = {snapshots:,}" if snapshots else features


def split_view(view: str) -> tuple[str, int] | None:
    """A measured view's id as (features, snapshots): "correlators" -> ("correlators", 0),
    "shadow-correlators100" -> ("shadow-correlators", 100); None for anything else (amplitudes,
    a count missing, a count where none applies)."""
    features = view.rstrip("0123456789")
    count = view[len(features):]
    if features not in FEATURES[1:] or (features in SNAPSHOT_FEATURES) != bool(count) or count.startswith("0"):
        return None
    return features, int(count or 0)


def measured_variant(mlp: ExperimentSpec, name: str) -> Variant | None:
    """The variant of the family "classical on measurements" with id ``name`` (``measured_name``:
    "mlp-correlators", "logreg-shadow-correlators100", any snapshot count) for an XXZ preset's
    MLP spec; None for an id of another form. A snapshot count out of range raises SpecError."""
    kind, _, view = name.partition("-")
    parts = split_view(view)
    if kind not in ("mlp", "logreg") or parts is None:
        return None
    features, snapshots = parts
    hidden, words = (mlp.model.hidden, f"MLP {sizes(mlp.model.hidden)}") if kind == "mlp" else ((), "logistic regression")
    model = MLPModel(hidden=hidden, features=features, snapshots=snapshots)
    return Variant(MEASURED_FAMILY, name, f"{words} on {measured_label(features, snapshots)}", mlp.replace(model=model))


def measured_variants(mlp: ExperimentSpec) -> list[Variant]:
    """The family "classical on measurements" for an XXZ preset: its MLP and logistic
    regression on every MEASURED_VIEWS."""
    return [measured_variant(mlp, measured_name(kind, features, snapshots))
            for features, snapshots in MEASURED_VIEWS for kind in ("mlp", "logreg")]


def on_features(variant: Variant, features: str, snapshots: int) -> Variant:
    """A classical variant reading measured ``features`` instead of amplitudes (its id and label
    say so); a QNN variant or one already on measurements as it is."""
    if variant.quantum or variant.family == MEASURED_FAMILY or features == "amplitudes":
        return variant
    model = dataclasses.replace(variant.spec.model, features=features, snapshots=snapshots)
    return Variant(variant.family, f"{variant.name}@{features}{snapshots or ''}",
                   f"{variant.label} on {measured_label(features, snapshots)}", variant.spec.replace(model=model))


def ingredient_variants(mlp: ExperimentSpec) -> list[Variant]:
    """Classical controls that each take one ingredient of the QNN, to find what makes its
    curvature differ (issue "all three claims", item 4). Every amplitude model already reads
    the QNN's unit-norm inputs (amplitude encoding, ``encoding.amplitude_encode``), so that
    ingredient is shared; ``logreg-bounded`` adds the QNN's bounded readout sigmoid(5·tanh z)
    to logistic regression; ``quadratic`` is the QNN's function class, sigmoid(5·xᵀMx) with
    M of rank ``QUADRATIC_RANK`` and eigenvalues in [−1, 1] (``MLPModel.quadratic``). Not in
    the default catalogue: asked for by id."""
    return [Variant(INGREDIENT_FAMILY, "logreg-bounded", "logistic regression, bounded readout",
                    mlp.replace(model=MLPModel(hidden=(), readout="bounded"))),
            Variant(INGREDIENT_FAMILY, "quadratic", f"quadratic form xᵀMx, rank {QUADRATIC_RANK}",
                    mlp.replace(model=MLPModel(hidden=(), quadratic=QUADRATIC_RANK)))]


def variants(preset_name: str, dataset: str, names: list[str] | None = None, features: str = "amplitudes",
             snapshots: int = 0, **data_options) -> list[Variant]:
    """The catalogue for a preset and dataset (``names``: a subset of ids, in catalogue order;
    an unknown id raises SpecError listing the known ones). ``features`` other than amplitudes
    (XXZ only) puts every classical variant outside the measured family on those features
    (``on_features``: ids "mlp@correlators", "logreg@shadows100"). On XXZ ``names`` may also
    hold measured ids outside MEASURED_VIEWS (``measured_variant``), kept after the catalogue's."""
    qnn, mlp = preset(preset_name, dataset, "qnn", **data_options), preset(preset_name, dataset, "mlp", **data_options)
    mlp.replace(model=MLPModel(features=features, snapshots=snapshots))  # bad features or data raise here
    paper_hidden, t = mlp.model.hidden, mlp.training
    out = [Variant("QNN", "qnn", f"QNN, depth {qnn.model.depth} (paper)", qnn)]
    out += [qnn_depth_variant(qnn, d) for d in qnn_depths(qnn.model.depth) if d != qnn.model.depth]
    out.append(noent_variant(qnn))
    out.append(Variant("MLP", "mlp", f"MLP {sizes(paper_hidden)} (paper)", mlp))
    out += [Variant("MLP", hidden_name(h), f"MLP {sizes(h)}", mlp.replace(model=MLPModel(hidden=h)))
            for h in MLP_SIZES if h != paper_hidden]
    out.append(Variant("regularised MLP", "mlp-wd", f"MLP {sizes(paper_hidden)}, weight decay {WEIGHT_DECAY:g}",
                       mlp.replace(training=Training(t.epochs, t.batch_size, t.lr, weight_decay=WEIGHT_DECAY))))
    out.append(Variant("regularised MLP", "mlp-es", f"MLP {sizes(paper_hidden)}, early stopping",
                       mlp.replace(training=Training(t.epochs, t.batch_size, t.lr, early_stopping=EARLY_STOPPING,
                                                     patience=PATIENCE))))
    out.append(Variant("logistic regression", "logreg", "logistic regression", mlp.replace(model=MLPModel(hidden=()))))
    target = n_params(qnn)
    h = matched_hidden(target)
    out.append(Variant("parameter-matched", "matched", f"PCA-{MATCHED_PCA} → {h} → 1, matched to the QNN's {target} parameters",
                       mlp.replace(model=MLPModel(hidden=(h,), pca=MATCHED_PCA))))
    out = [on_features(v, features, snapshots) for v in out]
    if dataset == "xxz":
        out += measured_variants(mlp)
    out += asked_depths(qnn, names, out)
    if names is None:
        return out
    out += [on_features(v, features, snapshots) for v in ingredient_variants(mlp)]
    known = [v.name for v in out]
    if dataset == "xxz":
        out += [v for v in (measured_variant(mlp, n) for n in dict.fromkeys(names) if n not in known) if v]
    unknown = [n for n in names if n not in {v.name for v in out}]
    require(not unknown, f"variant {unknown[0] if unknown else ''!r} is not in the catalogue (variants: {', '.join(known)})")
    return [v for v in out if v.name in names]


def runnable(chosen: list[Variant]) -> tuple[list[Variant], list[str]]:
    """The variants the dataset can take, and for each one left out a line saying why (a
    parameter-matched model reads more principal components than a small upload has inputs).
    Only models that read principal components are checked: the others take any data."""
    from qml_core.experiments.experiment import prepare

    kept, left_out = [], []
    for variant in chosen:
        if getattr(variant.spec.model, "pca", 0):
            try:
                prepare(variant.spec.replace(alpha=0.0), "cpu")
            except SpecError as exc:
                left_out.append(f"left out {variant.name} ({variant.label}): {exc}")
                continue
        kept.append(variant)
    return kept, left_out


def capacity_jobs(chosen: list[Variant], alphas: list[float], runs: int, attack: str = "label-flip",
                  seed: int = 0) -> list[tuple[str, int, ExperimentSpec]]:
    """(variant id, run, spec) for every variant, α and run, seeded as ``sweep`` seeds them
    (``sweep.run_seed``: every variant sees the same poison set for a given (α, run))."""
    from qml_core.experiments.sweep import sweep_specs

    out = []
    for variant in chosen:
        base = variant.spec.replace(attack=attack, seed=seed)
        for alpha in alphas:
            base.replace(alpha=alpha)  # an invalid α raises before any work
        out += [(variant.name, run, spec) for run, spec in sweep_specs([base], alphas, runs)]
    return out


def _mean_std(values) -> tuple[float, float]:
    values = np.asarray(values, dtype=float)
    return (float(values.mean()), float(values.std())) if len(values) else (math.nan, math.nan)


def capacity_table(chosen: list[Variant], rows: list[dict], alpha: float) -> list[dict]:
    """One entry per variant from sweep rows tagged with ``variant``: mean ± std (over runs) of
    train (poisoned labels) and validation (clean labels) accuracy at ``alpha``, the critical α
    over all α of the rows (``phase.critical_alpha``: where the mean crosses chance, 0.5, with
    its bootstrap interval), the clean validation accuracy (smallest α), ``n_params``."""
    from qml_core.experiments.phase import critical_alpha

    table = []
    for variant in chosen:
        mine = [r for r in rows if r["variant"] == variant.name]
        at = [r for r in mine if math.isclose(r["alpha"], alpha, abs_tol=1e-9)]
        crit = critical_alpha([{**r, "model": variant.name} for r in mine]) if mine else []
        low = min((r["alpha"] for r in mine), default=math.nan)
        clean = _mean_std([r["val_acc"] for r in mine if r["alpha"] == low])[0]
        train, val = _mean_std([r["train_acc"] for r in at]), _mean_std([r["val_acc"] for r in at])
        c = crit[0] if crit else {"estimate": math.nan, "low": math.nan, "high": math.nan}
        table.append(dict(family=variant.family, variant=variant.name, n_params=n_params(variant.spec),
                          train_acc_mean=train[0], train_acc_std=train[1], val_acc_mean=val[0], val_acc_std=val[1],
                          critical_alpha=c["estimate"], critical_alpha_low=c["low"], critical_alpha_high=c["high"],
                          clean_val_acc=clean, alpha=alpha, runs=len(at), dataset=variant.spec.data.name,
                          attack=mine[0]["attack"] if mine else "label-flip", label=variant.label))
    return table


def run_capacity(chosen: list[Variant], alpha: float, alphas: list[float], runs: int, n_jobs: int = 1,
                 backend: str = "local", address: str | None = None, attack: str = "label-flip", seed: int = 0,
                 on_row: Callable[[dict], None] | None = None) -> tuple[list[dict], list[dict]]:
    """Train (cached, resumable: ``sweep.run_sweep``) every variant at every α of ``alphas``
    and ``alpha`` × ``runs``; returns (capacity table, per-run rows tagged with ``variant``)."""
    from qml_core.experiments.sweep import run_sweep

    grid = sorted({float(a) for a in alphas} | {float(alpha)})
    jobs = capacity_jobs(chosen, grid, runs, attack, seed)
    if not jobs:
        raise SpecError("no variants chosen")
    rows = run_sweep([(run, spec) for _, run, spec in jobs], n_jobs, on_row, backend, address)
    rows = [{"variant": name, **row} for (name, _, _), row in zip(jobs, rows)]
    return capacity_table(chosen, rows, alpha), rows


def _name(entry: dict) -> str:
    """A table entry's model in words (its catalogue label; the id only for a table without one)."""
    return entry.get("label") or entry["variant"]


def _listing(entries: list[dict]) -> str:
    """"QNN, depth 6 (paper) with 240 parameters, logistic regression with 1,025 parameters": a
    label may hold parentheses of its own, so the count never goes into a second pair."""
    return ", ".join(f"{_name(e)} with {e['n_params']:,} parameters" for e in entries)


def plateau_keepers(entries: list[dict], margin: float = PLATEAU_MARGIN) -> tuple[list[dict], list[dict], list[dict]]:
    """(every entry that keeps validation accuracy within ``margin`` of its clean value, the
    quantum ones, the classical ones), each by parameter count."""
    keep = sorted((e for e in entries if e["val_acc_mean"] >= e["clean_val_acc"] - margin), key=lambda e: e["n_params"])
    return (keep, [e for e in keep if e["family"] in QUANTUM_FAMILIES],
            [e for e in keep if e["family"] not in QUANTUM_FAMILIES])


def capacity_finding(table: list[dict], margin: float = PLATEAU_MARGIN) -> str:
    """The capacity table in words, computed from its numbers: which variants keep a plateau at
    the table's α (validation accuracy within ``margin`` of their clean value) and which do not,
    and what that says about the QNN's resilience being quantum or a matter of capacity."""
    finite = [e for e in table if math.isfinite(e["val_acc_mean"]) and math.isfinite(e["clean_val_acc"])]
    entries = [e for e in finite if e["clean_val_acc"] >= LEARNS]  # a flat line at chance is no plateau
    unable = sorted((e for e in finite if e not in entries), key=lambda e: e["n_params"])
    note = (f" ({_listing(unable)} stay{'s' if len(unable) == 1 else ''} below {LEARNS:.2f} even on clean "
            "labels and {} left out.)".format("is" if len(unable) == 1 else "are")) if unable else ""
    if not entries:
        return note.strip(" ()") if unable else ""
    alpha = entries[0]["alpha"]
    keep, quantum, classical = plateau_keepers(entries, margin)
    lose = sorted((e for e in entries if e not in keep), key=lambda e: e["n_params"])
    parts = [f"At α = {alpha:g}, {len(keep)} of {len(entries)} models keep{'s' * (len(keep) == 1)} validation accuracy "
             f"within {margin:.2f} of {'its' if len(keep) == 1 else 'their'} clean value"
             + (f": {_listing(keep)}." if keep else ".")]
    if lose:
        parts.append(f"Falling further: {_listing(lose)}.")
        memorise = [e for e in lose if e.get("train_acc_mean", 0.0) >= MEMORISES]
        if memorise:
            parts.append("Of those, " + ", ".join(f"{_name(e)} fits {e['train_acc_mean']:.0%}" for e in memorise)
                         + " of the poisoned training labels: it memorises the flips.")
    if note:
        parts.append(note.strip())
    if classical and quantum:
        which = (f"{_name(classical[0])}, {classical[0]['n_params']:,} parameters" if len(classical) == 1 else
                 f"the smallest with {classical[0]['n_params']:,}, the largest with {classical[-1]['n_params']:,} parameters")
        parts.append(f"Classical models keep the plateau too ({which}), so at this α the plateau is not "
                     "specific to the quantum model.")
    elif classical:
        parts.append("Only classical models keep the plateau here.")
    elif quantum:
        n_classical = sum(e["family"] not in QUANTUM_FAMILIES for e in entries)
        who = "Only the QNNs keep" if len(quantum) > 1 else "Only the QNN keeps"
        others = ("" if n_classical == 0 else ": the one classical model does not" if n_classical == 1
                  else f": none of the {n_classical} classical models does")
        parts.append(f"{who} the plateau here{others}.")
    crit = [e for e in entries if math.isfinite(e["critical_alpha"])]
    if crit:
        q = [e for e in crit if e["family"] in QUANTUM_FAMILIES]
        c = [e for e in crit if e["family"] not in QUANTUM_FAMILIES]
        span = lambda es: (f"{min(e['critical_alpha'] for e in es):.2f}–{max(e['critical_alpha'] for e in es):.2f}"
                           if len(es) > 1 else f"{es[0]['critical_alpha']:.2f}")
        spans = ([f"QNNs {span(q)}"] if q else []) + ([f"classical models {span(c)}"] if c else [])
        parts.append(f"Critical α (mean accuracy crosses 0.5): {', '.join(spans)}.")
    parts += qnn_against_matched(entries)
    return " ".join(parts)


def qnn_against_matched(entries: list[dict]) -> list[str]:
    """One sentence comparing the paper's QNN with the classical model of as many parameters
    (ids ``qnn`` and ``matched``), from the table's numbers; none when either is missing."""
    by_id = {e["variant"]: e for e in entries}
    if not {"qnn", "matched"} <= set(by_id):
        return []
    q, m = by_id["qnn"], by_id["matched"]
    crit = lambda e: f"{e['critical_alpha']:.2f}" if math.isfinite(e["critical_alpha"]) else "not reached"
    closer = abs(q["val_acc_mean"] - m["val_acc_mean"]) <= q["val_acc_std"] + m["val_acc_std"]
    return [f"The QNN keeps {q['val_acc_mean']:.3f} ± {q['val_acc_std']:.3f} at α = {q['alpha']:g} against "
            f"{m['val_acc_mean']:.3f} ± {m['val_acc_std']:.3f} for the classical model of as many parameters "
            f"({m['n_params']:,} against {q['n_params']:,}; critical α {crit(q)} and {crit(m)}): "
            + ("within one spread of each other." if closer else
               f"the {'QNN' if q['val_acc_mean'] > m['val_acc_mean'] else 'classical model'} is ahead by more than "
               "their spreads.")]
