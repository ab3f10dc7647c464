"""Unlearning after label flipping: every method against retraining from scratch (always run
as the reference), trajectories per epoch or wall time, the final table, the weight sweep."""
import streamlit as st

from lab_ui import charts, controls, downloads, entry, progress, url_state
from qml_core.plots import LABELS, metrics_table, unlearning_trajectories, weight_heatmap
from qml_core.specs import SpecError
from qml_core.unlearn import METHODS, PAPER_METHODS, unlearn_preset
from qml_core.unlearn_summary import summary_table, unlearn_rows, unlearn_specs, weight_grid, weight_grid_specs

METRICS = {"val_acc": "validation accuracy", "retain_acc": "retain accuracy",
           "forget_acc_true": "forget-set accuracy (true labels)", "forget_acc_poisoned": "forget-set accuracy (poisoned labels)"}

entry.through_app()
st.title("Unlearning")
st.caption("Remove the flipped labels' influence: fine-tuning and SCRUB start from the poisoned model, "
           "retraining starts from scratch on the clean retain set and is the reference.")
teacher = url_state.teacher_mode()
with st.sidebar:
    dataset, options = controls.dataset_controls()
    model = url_state.choice("model", "model", ["qnn", "mlp"], widget=st.radio, horizontal=True, format_func=LABELS.get)
    methods = url_state.choices("methods (retraining is always shown)", "methods", [m for m in METHODS if m != "retrain"],
                                [m for m in PAPER_METHODS if m != "retrain"])
    alpha = url_state.slider("poisoned fraction α", "alpha", 0.1, 0.5, 0.3, 0.1)
    x_axis = url_state.choice("x axis", "x_axis", ["epoch", "seconds"], widget=st.radio, horizontal=True,
                              format_func={"epoch": "epoch", "seconds": "wall time"}.get)
    metric = url_state.choice("metric", "metric", list(METRICS), format_func=METRICS.get)
    preset_name, runs, seed = controls.preset_control(teacher), 2, 0
    if not teacher:
        runs = url_state.number("runs per method", "runs", 1, 10, 2)
        seed = url_state.number("base seed", "seed", 0, 10_000, 0)
url_state.publish()

try:
    specs = unlearn_specs(preset_name, dataset, model, methods, float(alpha), int(runs), int(seed), options)
except SpecError as exc:
    st.error(str(exc))
    st.stop()
jobs = progress.submit([("unlearn", spec, f"{method} run {run}") for method, run, spec in specs])
progress.follow(jobs, "unlearning")
done = {(method, run): result for (method, run, _), result in zip(specs, progress.results(jobs)) if result is not None}
if done:
    trajectories = [{"method": m, "run": run, **r["trajectory"]} for (m, run), r in done.items()]
    charts.show(unlearning_trajectories(trajectories, metric, x_axis), "trajectories")
    rows = unlearn_rows(done)
    table = summary_table(rows)
    st.subheader("Final metrics (mean ± std over runs; retraining first)")
    charts.show(metrics_table(table), "table")
    downloads.buttons("unlearning", {"rows": rows, "summary": table, "trajectories": trajectories}, rows)
else:
    st.info("The first unlearning runs are training; the trajectories appear as they finish.")

st.divider()
st.subheader("Weight sweep")
sweep_method = url_state.choice("method", "sweep_method", ["scrub", "grad-ascent"], widget=st.radio, horizontal=True)
weights = [0.0, 0.3, 0.6, 0.9] if preset_name == "quick" else [round(0.1 * i, 1) for i in range(10)]
st.caption(f"Final validation accuracy over the forget weight w_fo{' and the retain KL weight w_kl' if sweep_method == 'scrub' else ''}"
           f", weights {weights}, run 0.")
run_sweep = url_state.toggle("run the weight sweep", "sweep")
url_state.publish()
if run_sweep:
    grid_specs = weight_grid_specs(unlearn_preset(preset_name, dataset, model, sweep_method, float(alpha), seed=int(seed), **options), weights)
    grid_jobs = progress.submit([("unlearn", s, f"w_kl={s.w_kl} w_fo={s.w_fo}") for s in grid_specs])
    progress.follow(grid_jobs, "sweep")
    grid_results = progress.results(grid_jobs)
    if all(r is not None for r in grid_results):
        grid = weight_grid(grid_specs, grid_results)
        charts.show(weight_heatmap(grid), "heatmap")
        downloads.buttons("weight-sweep", grid)
