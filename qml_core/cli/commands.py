"""The commands behind ``python -m qml_core``: each takes parsed arguments, runs qml_core and
prints or writes its results (the parser is in ``cli.py``)."""
import contextlib
import dataclasses
import math
import os
import pathlib
import sys
import time

from qml_core.specs import DEFAULT_SNAPSHOTS, SNAPSHOT_FEATURES, ExperimentSpec, SpecError, preset, require, require_int

UNLEARN_METHODS = ("retrain", "finetune", "scrub", "grad-ascent", "random-label", "salun", "l1-sparse")
DATA_FIELDS = ("digits", "n_train_per_class", "n_val", "spins", "n_grid", "window", "layout", "gauge", "data_seed",
               "val_fraction")
MODEL_FIELDS = ("depth", "ansatz", "executor", "precision", "shots", "shot_gradient", "depolarizing", "readout_error",
                "trajectories", "hidden", "pca", "setup", "features", "snapshots")
TRAINING_FIELDS = ("epochs", "batch_size", "lr", "weight_decay", "early_stopping", "patience")


def dataset_choice(args) -> tuple[str, dict]:
    """The dataset name and its preset options: ``--data-file`` stores the upload (once per
    command) and selects it by digest; otherwise --dataset, default mnist."""
    data_file = getattr(args, "data_file", None)
    dataset = args.dataset or ("upload" if data_file is not None else "mnist")
    if dataset != "upload":
        if data_file is not None:
            raise SpecError(f"--data-file applies to --dataset upload, not {dataset}")
        return dataset, {}
    if data_file is None:
        raise SpecError("--dataset upload needs --data-file PATH (a .csv or .npz)")
    if getattr(args, "digest", None) is None:
        from qml_core.data.upload import save_upload_file

        args.digest = save_upload_file(data_file)
    return dataset, {"digest": args.digest}


def build_spec(args, model: str, attack: str, alpha: float) -> ExperimentSpec:
    """The preset for (dataset, model) with every option given on the command line applied."""
    def given(names):
        return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}

    dataset, options = dataset_choice(args)
    spec = preset(args.preset, dataset, model, **options)
    data = {k: v for k, v in given(DATA_FIELDS).items() if hasattr(spec.data, k)}
    unknown = set(given(DATA_FIELDS)) - set(data)
    if unknown:
        raise SpecError(f"--{sorted(unknown)[0].replace('_', '-')} does not apply to dataset {dataset}")
    model_opts = {k: v for k, v in given(MODEL_FIELDS).items() if hasattr(spec.model, k)}
    if hasattr(spec.model, "features"):
        model_opts.update(feature_options(args))
    return spec.replace(data=dataclasses.replace(spec.data, **data),
                        model=dataclasses.replace(spec.model, **model_opts),
                        training=dataclasses.replace(spec.training, **given(TRAINING_FIELDS)),
                        attack=attack, alpha=alpha, seed=args.seed)


def feature_options(args) -> dict:
    """--features and --snapshots as MLPModel fields ({} when neither is given); shadow features
    without a count get DEFAULT_SNAPSHOTS."""
    features, snapshots = getattr(args, "features", None), getattr(args, "snapshots", None)
    if features is None and snapshots is None:
        return {}
    features = features or "amplitudes"
    if snapshots is None:
        snapshots = DEFAULT_SNAPSHOTS if features in SNAPSHOT_FEATURES else 0
    return {"features": features, "snapshots": snapshots}


def epoch_bar(enabled: bool, epochs: int):
    """A run's progress callback drawing tqdm bars on stderr: "train" per epoch, and "measure"
    per state while the run measures features of its own (feature-noise states); and a
    function that closes them (the callback is None when not ``enabled``)."""
    if not enabled:
        return None, lambda: None
    from tqdm import tqdm

    from qml_core.data.measurements import MEASURING

    bars = {"train": tqdm(desc="train", total=epochs, unit="epoch", file=sys.stderr)}

    def show(done: int, total: int, record: dict) -> None:
        if record.get("stage") == MEASURING:
            if "measure" not in bars:
                bars["measure"] = tqdm(desc="measure", total=total, unit="state", file=sys.stderr)
            elif done <= bars["measure"].n:  # the next set of states (the dataset's, then the run's own)
                bars["measure"].reset(total=total)
            bars["measure"].update(done - bars["measure"].n)
            return
        bars["train"].set_postfix(train_acc=f"{record['train_acc']:.3f}", val_acc=f"{record['val_acc']:.3f}", refresh=False)
        bars["train"].update(1)
    return show, lambda: [bar.close() for bar in bars.values()]


def measure_first(args, specs: list[ExperimentSpec]) -> None:
    """The classical shadows the runs of ``specs`` will measure: refused in one line when they
    should take more than ``rates.BIG_SECONDS`` and --yes was not given; else each dataset's
    states are measured now, with a "measure" bar (states, ETA) unless --quiet or --json."""
    from tqdm import tqdm

    from qml_core.experiments.measuring import check_shadow_time, measure_datasets, shadow_work

    work = shadow_work(specs)
    if not work:
        return
    check_shadow_time(work, args.yes)
    quiet = getattr(args, "quiet", False) or getattr(args, "json", False)
    bars = []

    def bar_for(item):
        bars.append(tqdm(desc=f"measure (M = {item.snapshots:,})", total=item.dataset_states, unit="state",
                         file=sys.stderr, disable=quiet))
        return lambda done, total: bars[-1].update(done - bars[-1].n)
    try:
        measure_datasets(work, bar_for)
    finally:
        for bar in bars:
            bar.close()


def check_model_options(args, specs: list[ExperimentSpec]) -> None:
    """Every model option given (--depth, --hidden, ...) must apply to one of the specs' models:
    a QNN has no hidden layers, an MLP no depth, and running something else than was asked
    without a word is worse than a one-line refusal."""
    for name in MODEL_FIELDS:
        if getattr(args, name, None) is not None and not any(hasattr(spec.model, name) for spec in specs):
            models = " or ".join(sorted({spec.model.name for spec in specs}))
            raise SpecError(f"--{name.replace('_', '-')} does not apply to --model {models}; leave it out "
                            "or choose a model that has it")


def summary(result: dict, was_cached: bool, answer_s: float) -> dict:
    """The JSON answer of ``train``: final metrics, status ("ok" or "collapsed", with the reason in
    ``collapse``), timings, whether it came from the cache."""
    keys = ("train_acc", "val_acc", "train_loss", "val_loss", "forget_acc", "retain_acc", "status", "collapse",
            "n_params", "code_version")
    out = {k: result[k] for k in keys}
    out.update(seconds=result["seconds"], cached=was_cached, answer_ms=round(1000 * answer_s, 2),
               history=result["history"])
    return out


def use_free_cores() -> None:
    """Torch threads for a computation in this process: the cores not busy elsewhere, unless
    OMP_NUM_THREADS says otherwise (``cpu_load.free_cores``)."""
    if "OMP_NUM_THREADS" not in os.environ:
        import torch

        from qml_core.runtime.cpu_load import free_cores

        torch.set_num_threads(free_cores())


def cmd_train(args) -> int:
    from qml_core.store.cache import lookup
    from qml_core.store.outputs import to_json

    spec = build_spec(args, args.model, args.attack, args.alpha)
    check_model_options(args, [spec])
    check_device(args.device)
    start = time.perf_counter()
    result, was_cached = lookup("train", spec), True
    if result is None:
        from qml_core.experiments.experiment import run_experiment
        from qml_core.runtime.resources import check_resources

        check_resources(spec, args.device)  # refuse before the progress bar appears
        measure_first(args, [spec])
        use_free_cores()
        show, close = epoch_bar(not args.json, spec.training.epochs)
        try:
            result, was_cached = run_experiment(spec, show, device=args.device)
        finally:
            close()
    out = summary(result, was_cached, time.perf_counter() - start)
    if args.json:
        print(to_json(out, indent=None))
    else:
        print(f"{spec.model.name} on {spec.data.name}, {spec.attack} alpha={spec.alpha}, seed {spec.seed}: "
              f"train_acc {out['train_acc']:.3f}, val_acc {out['val_acc']:.3f}, "
              f"{out['seconds']:.1f}s{' (cached)' if was_cached else ''}")
        if out["status"] != "ok":
            print(f"collapsed: {out['collapse']}; the run did not train (try a smaller --lr)")
    return 0


def write_report(path: pathlib.Path, rows: list[dict], **sections) -> None:
    """A .json report ({"rows": rows, **sections}) or, for .csv, the rows alone (atomically)."""
    from qml_core.store.outputs import to_json, write_atomic, write_rows

    if path.suffix != ".json":
        write_rows(rows, path)
        return
    write_atomic(path, to_json({"rows": rows, **sections}))


def cmd_sweep(args) -> int:
    from qml_core.experiments.sweep import check_seeds, run_sweep, sweep_specs
    from qml_core.store.outputs import write_rows

    check_output(args)
    bases = [build_spec(args, model, attack, 0.0) for model in args.models for attack in args.attacks]
    check_model_options(args, bases)
    for alpha in args.alphas:
        bases[0].replace(alpha=alpha)  # validates every alpha before any work starts
    check_seeds(args.seed, args.alphas, args.runs)
    jobs = sweep_specs(bases, args.alphas, args.runs)
    if getattr(args, "backend", "local") == "local":  # workers on this machine share its memory
        from qml_core.runtime.resources import check_resources

        for base in bases:
            check_resources(base, copies=min(args.jobs, len(jobs)))
    measure_first(args, [spec for _, spec in jobs])
    with run_bar(len(jobs), "sweep", args.quiet) as advance:
        rows = run_sweep(jobs, args.jobs, advance, *backend_options(args))
    write_rows(rows, args.out)
    fresh = sum(not r["cached"] for r in rows)
    print(f"{len(rows)} runs ({fresh} computed, {len(rows) - fresh} from the cache) -> {args.out}")
    collapsed = [r for r in rows if r.get("status") == "collapsed"]
    if collapsed:
        print(f"{len(collapsed)} collapsed (status column; kept apart in the statistics), e.g. {collapsed[0]['model']} "
              f"alpha={collapsed[0]['alpha']} seed {collapsed[0]['seed']}: {collapsed[0]['collapse']}")
    return 0


def cmd_capacity(args) -> int:
    """One row per model variant: accuracy at --alpha and critical α over --alphas."""
    from qml_core.experiments.capacity import capacity_jobs, run_capacity, runnable, variants

    check_output(args)
    dataset, options = unlearn_data(args)
    chosen, left_out = runnable(variants(args.preset, dataset, args.variants, **feature_options(args), **options))
    for line in left_out:
        print(f"note: {line}", file=sys.stderr)
    if not chosen:
        raise SpecError("none of the chosen variants can run on this data")
    for alpha in (args.alpha, *args.alphas):
        chosen[0].spec.replace(alpha=alpha)  # every α validated before any work starts
    total = len(chosen) * len({*args.alphas, args.alpha}) * args.runs
    if getattr(args, "backend", "local") == "local":
        from qml_core.runtime.resources import check_resources

        for variant in chosen:
            check_resources(variant.spec, copies=min(args.jobs, total))
    grid = sorted({float(a) for a in args.alphas} | {float(args.alpha)})
    measure_first(args, [spec for _, _, spec in capacity_jobs(chosen, grid, args.runs, args.attack, args.seed)])
    with run_bar(total, "capacity", args.quiet) as advance:
        table, rows = run_capacity(chosen, args.alpha, args.alphas, args.runs, args.jobs, *backend_options(args),
                                   attack=args.attack, seed=args.seed, on_row=advance)
    write_report(args.out, table, runs=rows)
    for e in table:
        print(f"{e['variant']:20s} {e['n_params']:>8,} params  val_acc {e['val_acc_mean']:.3f} ± {e['val_acc_std']:.3f}  "
              f"train_acc {e['train_acc_mean']:.3f}  critical α (crosses 0.5) "
              + (f"{e['critical_alpha']:.2f}" if math.isfinite(e["critical_alpha"]) else "not reached"))
    fresh = sum(not r["cached"] for r in rows)
    print(f"{len(rows)} runs ({fresh} computed, {len(rows) - fresh} from the cache) -> {args.out}")
    return 0


def cmd_prepare_lesson(args) -> int:
    """Compute every run the teacher-mode lesson opens (resumable: what is cached is skipped)."""
    from qml_core.experiments.lesson import lesson_requests, readiness, run_request
    from qml_core.store.cache import lookup
    from qml_core.store.faults import stop_when_full

    start = time.perf_counter()
    requests = lesson_requests(args.preset)
    with stop_when_full():  # a cache on a full disk stops the preparation before it computes
        pending = [(kind, spec) for _, kind, spec in requests if lookup(kind, spec) is None]
    print(f"lesson ({args.preset}): {len(requests)} runs, {len(requests) - len(pending)} already in the cache")
    from_cache = map_with_bar(run_request, pending, args, "lesson", queue_eta(pending, args.jobs))
    ready, total = readiness(requests)["all"]
    wall = time.perf_counter() - start
    computed = from_cache.count(False)
    others = f", {len(pending) - computed} computed by another process" if computed < len(pending) else ""
    print(f"{ready}/{total} runs of the lesson ready ({computed} computed now{others}); wall time {wall:.0f} s "
          f"({wall / 60:.1f} min)")
    return 0 if ready == total else 1


def backend_options(args) -> tuple[str, str | None]:
    """(backend, address) from --backend and --scheduler (dask) / --address (ray)."""
    backend = getattr(args, "backend", "local")
    scheduler, address = getattr(args, "scheduler", None), getattr(args, "address", None)
    if scheduler is not None and backend != "dask":
        raise SpecError("--scheduler applies to --backend dask")
    if address is not None and backend != "ray":
        raise SpecError("--address applies to --backend ray")
    return backend, scheduler if backend == "dask" else address


def queue_eta(requests: list[tuple[str, object]], workers: int):
    """A ``QueueEta`` for (kind, spec) requests: each run weighed by the seconds runs of its
    shape took on this machine (``rates.json``), unmeasured shapes by the mean of the measured
    ones (or ``FALLBACK_S``)."""
    from qml_core.runtime.eta import QueueEta
    from qml_core.runtime.rates import FALLBACK_S, load, measured_seconds

    rates = load()
    known = [measured_seconds(kind, spec, rates) for kind, spec in requests]
    measured = [s for s in known if s is not None]
    fallback = sum(measured) / len(measured) if measured else FALLBACK_S
    return QueueEta([fallback if s is None else s for s in known], workers)


def map_with_bar(func, items: list, args, desc: str, eta=None) -> list:
    """``backends.parallel_map`` on ``args.jobs`` workers of the chosen backend with a tqdm bar
    on stderr (unless --quiet), its ETA from ``eta`` (a ``QueueEta``) when given."""
    from qml_core.runtime.backends import parallel_map

    with run_bar(len(items), desc, args.quiet, eta) as advance:
        return parallel_map(func, items, args.jobs, advance, *backend_options(args))


@contextlib.contextmanager
def run_bar(total: int, desc: str, quiet: bool, eta=None):
    """``advance()``, to call as each of ``total`` runs finishes: it moves a tqdm bar on
    stderr (none if ``quiet``). Inside the block a full disk stops the batch at the first
    result it cannot store (``faults.stop_when_full``). A cluster lost or a disk full inside
    the block learns how many runs had finished (``progress``)."""
    from tqdm import tqdm

    from qml_core.runtime.backends import ClusterLost
    from qml_core.runtime.rates import duration
    from qml_core.store.faults import DiskFull, stop_when_full

    finished = 0

    def advance(*_) -> None:
        nonlocal finished
        finished += 1
        if eta is not None:
            bar.set_postfix_str(f"ETA {duration(eta.seconds_left(finished, time.perf_counter() - start))}", refresh=False)
        bar.update(1)
    # with a queue ETA the bar shows it in place of tqdm's own (a moving average of recent rates)
    layout = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]" if eta is not None else None
    start = time.perf_counter()
    first = f"ETA {duration(eta.seconds_left(0, 0.0))}" if eta is not None else None
    with tqdm(total=total, desc=desc, unit="run", file=sys.stderr, disable=quiet, bar_format=layout,
              postfix=first) as bar, stop_when_full():
        try:
            yield advance
        except (ClusterLost, DiskFull) as exc:
            exc.progress = (finished, total)
            raise



def unlearn_jobs(args) -> list:
    """(method, run, spec) for every requested method (retrain always, as the reference) and run."""
    from qml_core.experiments.unlearn_summary import unlearn_specs

    overrides = {k: getattr(args, k) for k in ("epochs", "lr", "w_kl", "w_fo") if getattr(args, k) is not None}
    check_run_seeds(args.seed, args.runs)
    dataset, options = unlearn_data(args)
    return unlearn_specs(args.preset, dataset, args.model, args.methods, args.alpha, args.runs, args.seed, options,
                         **overrides)


def unlearn_data(args) -> tuple[str, dict]:
    """Dataset and preset options of the unlearning commands: an upload, a digit pair, a chain length."""
    dataset, options = dataset_choice(args)
    given = ("digits", "spins", "layout", "gauge", "data_seed")
    return dataset, {**options, **{k: getattr(args, k) for k in given if getattr(args, k, None) is not None}}


def cmd_unlearn(args) -> int:
    from qml_core.experiments.sweep import train_rows
    from qml_core.experiments.unlearn import unlearn_result
    from qml_core.experiments.unlearn_summary import poisoned_batches, summary_table, unlearn_rows

    check_output(args)
    jobs = unlearn_jobs(args)
    map_with_bar(train_rows, poisoned_batches([spec for _, _, spec in jobs]), args, "poisoned models")
    results = map_with_bar(unlearn_result, [spec for _, _, spec in jobs], args, "unlearn")
    by_key = {(m, run): r for (m, run, _), r in zip(jobs, results)}
    rows = unlearn_rows(by_key)
    table = summary_table(rows)
    write_report(args.out, rows, summary=table,
                 trajectories=[{"method": m, "run": run, **r["trajectory"]} for (m, run), r in by_key.items()])
    for entry in table:
        print(f"{entry['method']:13s} val_acc {entry['val_acc_mean']:.3f} ± {entry['val_acc_std']:.3f}  "
              f"forget(poisoned) {entry['forget_acc_poisoned_mean']:.3f}  MIA AUC {entry['mia_auc_mean']:.3f}  "
              f"epochs-to-match {entry.get('epochs_to_match')}  gap to retrain {entry['gap_start_mean']:+.3f} -> "
              f"{entry['gap_end_mean']:+.3f}")
    print(f"the poisoned model fitted {table[0]['flip_fit_mean']:.3f} of the flipped labels (how much there was to unlearn)")
    print(f"-> {args.out}")
    return 0


def cmd_unlearn_grid(args) -> int:
    """Final validation accuracy over the SCRUB (w_kl x w_fo) or gradient-ascent (w_fo) grid,
    averaged over runs."""
    import numpy as np

    from qml_core.experiments.unlearn import unlearn_preset, unlearn_result
    from qml_core.experiments.unlearn_summary import weight_grid, weight_grid_specs
    from qml_core.store.outputs import to_json, write_atomic, write_rows

    check_output(args)
    check_run_seeds(args.seed, args.runs)
    dataset, options = unlearn_data(args)
    grids = []
    for run in range(args.runs):
        base = unlearn_preset(args.preset, dataset, args.model, args.method, args.alpha, seed=args.seed + run, **options)
        specs = weight_grid_specs(base.replace(**({"epochs": args.epochs} if args.epochs is not None else {})),
                                  args.weights)
        results = map_with_bar(unlearn_result, specs, args, f"grid run {run}")
        grids.append(weight_grid(specs, results))
    grid = dict(grids[0], val_acc=np.mean([g["val_acc"] for g in grids], axis=0).tolist(),
                val_acc_std=np.std([g["val_acc"] for g in grids], axis=0).tolist(), runs=args.runs)
    if args.out.suffix == ".json":
        write_atomic(args.out, to_json(grid))
    else:
        write_rows([{"w_kl": a, "w_fo": b, "val_acc": grid["val_acc"][i][j], "val_acc_std": grid["val_acc_std"][i][j]}
                    for i, a in enumerate(grid["w_kl"]) for j, b in enumerate(grid["w_fo"])], args.out)
    best = np.unravel_index(np.nanargmax(grid["val_acc"]), np.shape(grid["val_acc"]))
    print(f"{args.method}: best val_acc {grid['val_acc'][best[0]][best[1]]:.3f} at w_kl={grid['w_kl'][best[0]]}, "
          f"w_fo={grid['w_fo'][best[1]]} -> {args.out}")
    return 0


def cmd_hessian(args) -> int:
    """protocol §5: Hessian spectra after clean and poisoned training, and the trace ratios;
    with ``--setting catalogue``, the held-out Hessian trace of any catalogue model instead."""
    from qml_core.experiments.curvature import CurvatureSpec, curvature_result, hessian_tables

    check_output(args)
    if args.setting == "catalogue":
        return catalogue_hessian(args)
    other = [m for m in args.models if m not in ("qnn", "mlp")]
    if other or args.dataset != "mnist":
        raise SpecError(f"the protocol setting (§5) measures qnn and mlp on mnist; for {other[0] if other else args.dataset} "
                        "add --setting catalogue")
    alphas = sorted({0.0, *args.alphas})
    jobs = [CurvatureSpec(model=m, alpha=a, seed=s, **({"epochs": args.epochs} if args.epochs is not None else {}))
            for m in args.models for a in alphas for s in range(args.runs)]
    tables = hessian_tables(jobs, map_with_bar(curvature_result, jobs, args, "hessian"))
    ratios = tables["trace_ratios"]
    write_report(args.out, tables["rows"], trace_ratios=ratios, spectra=tables["spectra"])
    for r in ratios:
        print(f"{r['model']} alpha={r['alpha']}: trace ratio median {r['ratio_median']:.3f} "
              f"(quartiles {r['ratio_q25']:.3f}–{r['ratio_q75']:.3f}) over {len(r['ratios'])} seeds; "
              f"collapsed seeds {r['collapsed_seeds']}")
    print(f"-> {args.out}")
    return 0


def catalogue_hessian(args) -> int:
    """The held-out Hessian trace of every chosen catalogue model at clean and poisoned α, and
    the median trace ratio per α (``control_curvature``)."""
    from qml_core.experiments.capacity import variants
    from qml_core.experiments.control_curvature import control_curvature_result, curvature_jobs, curvature_rows, ratio_table

    require_int("--runs", args.runs, 1, 1000)
    jobs = curvature_jobs(variants(args.preset, args.dataset, args.models), args.alphas, args.runs)
    rows = curvature_rows(jobs, map_with_bar(control_curvature_result, [spec for *_, spec in jobs], args, "hessian"))
    ratios = ratio_table(rows)
    write_report(args.out, rows, trace_ratios=ratios)
    for r in ratios:
        print(f"{r['variant']} alpha={r['alpha']}: median trace ratio {r['ratio_median']:.3f} over {len(r['ratios'])} runs "
              f"(flipped labels fitted {r['flip_fit_mean']:.2f}); collapsed runs {r['collapsed_runs'] or 'none'}")
    print(f"-> {args.out}")
    return 0


def cmd_landscape(args) -> int:
    """A 1-D interpolation or a 1-D/2-D slice of the held-out loss around a §5 solution."""
    from qml_core.experiments.landscape import LandscapeSpec, run_landscape
    from qml_core.store.outputs import check_writable, to_json, write_atomic
    if args.out.suffix != ".json":
        raise SpecError(f"--out must end in .json, got {args.out.name!r}")
    spec = LandscapeSpec(model=args.model, alpha=args.alpha, seed=args.seed, epochs=args.epochs, kind=args.kind,
                         directions=args.directions, span=args.span, grid=args.grid)
    check_writable(args.out)
    result, was_cached = run_landscape(spec)
    write_atomic(args.out, to_json({"spec": spec.spec_dict(), **result}))
    print(f"{spec.kind} of {spec.model} (alpha={spec.alpha}, seed {spec.seed}), {spec.grid} points per axis: "
          f"centre loss {result['center_loss']:.4f}, {result['seconds']:.1f}s{' (cached)' if was_cached else ''} -> {args.out}")
    return 0


def cmd_reproduce(args) -> int:
    """protocol §2–5 on MNIST and XXZ, the §6 claims decided, DIR/report.html and raw data."""
    from tqdm import tqdm

    from qml_core.reporting.report import write_outputs
    from qml_core.reporting.reproduce import reproduce
    from qml_core.store.outputs import check_writable_dir

    if args.jobs < 1:
        raise SpecError(f"jobs must be an integer >= 1, got {args.jobs}")
    backend, address = backend_options(args)
    check_writable_dir(args.out)
    bar = None

    def on_start(stage: str, n_jobs: int) -> None:
        nonlocal bar
        if bar is not None:
            bar.close()
        bar = tqdm(total=n_jobs, desc=stage, unit="run", file=sys.stderr, disable=args.quiet)

    try:
        results = reproduce(args.preset, args.figures, args.jobs, backend, address, on_start, lambda _: bar.update(1))
    finally:
        if bar is not None:
            bar.close()
    write_outputs(results, args.out)
    for group, seconds in results["timings"].items():
        print(f"{group}: {seconds:.1f} s")
    for claim in results["claims"]:
        print(f"[{'holds' if claim['holds'] else 'does not hold'}] {claim['dataset']}: {claim['claim']}")
    print(f"-> {args.out / 'report.html'}")
    return 0


MAX_RUNS, MAX_JOBS = 1000, 64


def check_output(args) -> None:
    """Validate the options every batch command shares, before any work starts."""
    if args.out.suffix not in (".csv", ".json"):
        raise SpecError(f"--out must end in .csv or .json, got {args.out.name!r}")
    if args.out.is_dir():
        raise SpecError(f"--out {str(args.out)!r} is a directory; name a .csv or .json file")
    from qml_core.store.outputs import check_writable

    check_writable(args.out)
    require_int("runs", args.runs, 1, MAX_RUNS)
    require_int("jobs", args.jobs, 1, MAX_JOBS)
    backend_options(args)  # --scheduler / --address match --backend, before a progress bar is drawn
    from qml_core.store.cache import open_cache
    from qml_core.store.faults import stop_when_full

    with stop_when_full():  # a cache on a full disk stops the batch now, before a run is computed
        open_cache()  # an unusable cache (CacheError) is named now, a read-only one noticed once


def check_run_seeds(seed: int, runs: int) -> None:
    """Run r of the unlearning commands uses seed + r: the last must still be a valid seed, and
    the message names the seed the user typed, not a derived one."""
    from qml_core.experiments.sweep import MAX_SEED

    require(seed + runs - 1 <= MAX_SEED, f"--seed {seed} is too large for --runs {runs}: run r uses seed + r, "
                                         f"which must stay <= {MAX_SEED}; use --seed <= {MAX_SEED - runs + 1}")


def check_device(name: str | None) -> None:
    """--device must be the CPU or a CUDA device this machine has (torch would fail mid-run)."""
    if name is None:
        return
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, ValueError, TypeError):
        device = None
    cuda = torch.cuda.is_available() and device is not None and device.type == "cuda" \
        and (device.index or 0) < torch.cuda.device_count()
    require(device is not None and (device.type == "cpu" or cuda),
            f"device must be cpu or an available CUDA device (cuda, cuda:N), got {name!r}"
            + ("" if torch.cuda.is_available() else "; this machine has no CUDA device"))


