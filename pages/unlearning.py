"""Unlearning after label flipping: every method against retraining from scratch (always run
as the reference), for the QNN and the MLP side by side (the paper's comparison): trajectories
per epoch or wall time, the final table per model with a caption computed from it, the weight
sweep."""
import streamlit as st

from lab_ui import entry

entry.through_app()  # before the engine's imports: a fresh server's first request reruns through app.py at once
from lab_ui import big_request, charts, controls, downloads, lesson, progress, url_state  # noqa: E402
from qml_core.experiments.lesson import UNLEARNING  # noqa: E402
from qml_core.experiments.unlearn import METHODS, PAPER_METHODS, unlearn_preset  # noqa: E402
from qml_core.experiments.unlearn_summary import summary_table, unlearn_rows, unlearn_specs, weight_grid, weight_grid_specs  # noqa: E402
from qml_core.reporting.captions import reference_note, unlearning_control_finding, unlearning_finding  # noqa: E402
from qml_core.reporting.figure_style import model_label  # noqa: E402
from qml_core.reporting.plots import METHOD_LABELS, metrics_table, unlearning_comparison, weight_heatmap  # noqa: E402
from qml_core.specs import SpecError  # noqa: E402

METRICS = {"val_acc": "validation accuracy", "retain_acc": "retain accuracy",
           "forget_acc_true": "forget-set accuracy (true labels)", "forget_acc_poisoned": "forget-set accuracy (poisoned labels)"}
# the paper's two, then controls that fit as little of the flipped labels as the QNN (and the
# QNN without entanglers): is easy unlearning quantum, or just little to unlearn? Shown by default:
# the paper's two and logistic regression, the smallest classical model that does not memorise
MODELS = ["qnn", "mlp", "logreg", "matched", "mlp-es", "qnn-noent"]
DEFAULT = ["qnn", "mlp", "logreg"]
METRIC_NOTES = ("**Retain accuracy**: accuracy on the training samples that were not poisoned. **Forget accuracy**: "
                "on the poisoned ones, against their true or their flipped labels. **MIA AUC**: how well a "
                "membership-inference attack tells the forget set from data the model never saw, from their losses "
                "(0.5: it cannot, the poison is forgotten; 1: it always can). **Agreement with retrain**: the share of "
                "validation samples on which a method predicts what retraining predicts.")
st.title("Unlearning")
st.caption("Remove the flipped labels' influence: every method but retraining starts from the poisoned model ("
           + ", ".join(METHOD_LABELS[m] for m in METHODS if m != "retrain")
           + "); retraining starts from scratch on the clean retain set and is the reference.")
teacher = url_state.teacher_mode()
lesson.panel("unlearning")
lesson.navigation("unlearning")
with st.sidebar:
    dataset, options = controls.dataset_controls()
    legacy = st.query_params.get("model")  # a link from before the side-by-side view names one model
    kept = st.session_state.get("models")
    if kept and not set(kept) <= set(MODELS):  # the phase page's "models" may hold capacity variants
        st.session_state["models"] = [m for m in kept if m in MODELS] or DEFAULT
    chosen = url_state.choices("models", "models", MODELS, [legacy] if legacy in MODELS else DEFAULT, format_func=model_label)
    methods = url_state.choices("methods (retraining is always shown)", "methods", [m for m in METHODS if m != "retrain"],
                                [m for m in PAPER_METHODS if m != "retrain"], format_func=METHOD_LABELS.get)
    alpha = url_state.slider("poisoned fraction α", "alpha", 0.1, 0.5, 0.3, 0.1)
    x_axis = url_state.choice("x axis", "x_axis", ["epoch", "seconds"], widget=st.radio, horizontal=True,
                              format_func={"epoch": "epoch", "seconds": "wall time"}.get)
    metric = url_state.choice("metric", "metric", list(METRICS), format_func=METRICS.get)
    preset_name, runs, seed = controls.preset_control(teacher), UNLEARNING["runs"], 0  # the report's 3 runs
    if not teacher:
        runs = url_state.number("runs per method", "runs", 1, 10, UNLEARNING["runs"])
        seed = url_state.number("base seed", "seed", 0, 10_000, 0)
url_state.publish()

models = [m for m in MODELS if m in chosen]  # QNN on the left, as in the paper
if not models:
    st.info("Choose at least one model (QNN, MLP, or a control) in the sidebar.")
    st.stop()
try:
    specs = sorted(((model, method, run, spec) for model in models for method, run, spec in
                    unlearn_specs(preset_name, dataset, model, methods, float(alpha), int(runs), int(seed), options)),
                   key=lambda job: job[2])  # run 0 of both models first, so both panels fill in
except SpecError as exc:
    st.error(str(exc))
    st.stop()
# the poisoned models first: every method of a run starts from its run's, and unlearning jobs that
# met on one of them would leave a worker idle while the other trained it (default view: 41-43 s
# -> 33-37 s to the last result, benchmarks/bench_unlearning_page.py)
bases = {spec.poisoned: f"{model_label(model)} poisoned model, run {run}" for model, _, run, spec in specs}
requests = ([("train", base, label) for base, label in bases.items()]
            + [("unlearn", spec, f"{model_label(model)} {method} run {run}") for model, method, run, spec in specs])
if not big_request.confirmed(requests, "unlearning"):
    st.stop()  # before any job: nothing to follow yet
jobs = progress.submit(requests)
finished = progress.follow(jobs, "unlearning")[len(bases):]
done: dict[str, dict] = {}
for (model, method, run, _), result in zip(specs, finished):
    if result is not None:
        done.setdefault(model, {})[(method, run)] = result
if done:
    trajectories = {m: [{"method": meth, "run": run, **r["trajectory"]} for (meth, run), r in done[m].items()]
                    for m in models if m in done}
    charts.show(unlearning_comparison(trajectories, metric, x_axis), "trajectories")
    rows = {m: unlearn_rows(done[m]) for m in trajectories}
    tables = {m: summary_table(rows[m]) for m in rows}
    finished = [m for m in tables if sum(job[0] == m for job in specs) == len(done[m])]
    finding = unlearning_finding({m: tables[m] for m in finished}, METHOD_LABELS, metric)
    controls = unlearning_control_finding({m: tables[m] for m in finished})
    if finding or controls:
        st.info(" ".join(part for part in (finding, controls) if part))
    under_trained = reference_note({m: trajectories[m] for m in finished})
    if under_trained:
        st.warning(under_trained)
    st.subheader("Final metrics (mean ± std over runs; retraining first)")
    st.caption(METRIC_NOTES)
    for model, table in tables.items():
        st.markdown(f"**{model_label(model)}**" + ("" if model in finished else " (runs still training)"))
        charts.show(metrics_table(table), f"table-{model}")
    flat = [{"model": m, **row} for m in rows for row in rows[m]]
    downloads.buttons("unlearning", {"rows": flat, "summary": tables, "trajectories": trajectories}, flat)
else:
    st.info("The first unlearning runs are training; the trajectories appear as they finish.")

st.divider()
st.subheader("Weight sweep")
sweep_method = url_state.choice("method", "sweep_method", ["scrub", "grad-ascent"], widget=st.radio, horizontal=True)
weights = [0.0, 0.3, 0.6, 0.9] if preset_name == "quick" else [round(0.1 * i, 1) for i in range(10)]
st.caption(f"Final validation accuracy over the forget weight w_fo (how strongly the method pushes away from what "
           f"the poisoned model learnt on the forget set){' and the retain KL weight w_kl (how strongly it keeps the poisoned model’s answers on the retain set)' if sweep_method == 'scrub' else ''}"
           f", weights {', '.join(f'{w:g}' for w in weights)}, run 0.")
run_sweep = url_state.toggle("run the weight sweep", "sweep")
url_state.publish()
if run_sweep:
    grid_specs = {m: weight_grid_specs(unlearn_preset(preset_name, dataset, m, sweep_method, float(alpha), seed=int(seed),
                                                      **options), weights) for m in models}
    grid_jobs = progress.submit([("unlearn", s, f"{model_label(m)} w_kl={s.w_kl} w_fo={s.w_fo}")
                                 for m in models for s in grid_specs[m]])
    grid_results = iter(progress.follow(grid_jobs, "sweep"))
    for column, model in zip(st.columns(len(models)), models):
        results = [next(grid_results) for _ in grid_specs[model]]
        with column:
            st.markdown(f"**{model_label(model)}**")
            if all(r is not None for r in results):
                grid = weight_grid(grid_specs[model], results)
                charts.show(weight_heatmap(grid), f"heatmap-{model}")
                downloads.buttons(f"weight-sweep-{model}", grid)
