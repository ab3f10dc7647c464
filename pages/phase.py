"""Phase diagram: accuracy vs α over runs for any chosen models (the paper's QNN and MLP by
default, or any capacity variant), with the critical α of each and its bootstrap interval; the
"capacity" view plots accuracy at one α and critical α against parameter count. Both fill in
as runs finish."""
import math

import streamlit as st

from lab_ui import entry

entry.through_app()  # before the engine's imports: a fresh server's first request reruns through app.py at once
from lab_ui import big_request, charts, controls, downloads, lesson, progress, url_state  # noqa: E402
from qml_core.experiments.capacity import capacity_finding, capacity_table, deeper_qnns, variants  # noqa: E402
from qml_core.experiments.collapse import collapsed_note  # noqa: E402
from qml_core.experiments.devices import device_variants  # noqa: E402
from qml_core.experiments.phase import critical_alpha, phase_summary  # noqa: E402
from qml_core.experiments.sweep import result_row  # noqa: E402
from qml_core.experiments.views import CAPACITY_ALPHA, capacity_alphas, phase_alphas, phase_jobs  # noqa: E402
from qml_core.reporting.captions import phase_finding, plateau_note, runs_note, uncrossed_label  # noqa: E402
from qml_core.reporting.figure_style import model_label  # noqa: E402
from qml_core.reporting.plots import capacity_plot, capacity_rows, human_table, phase_diagram  # noqa: E402
from qml_core.specs import SpecError  # noqa: E402

METRICS_PER_ROW = 4
st.title("Phase diagram")
st.caption("Validation accuracy (clean labels) against the poisoned fraction α, mean ± std over runs; a model's "
           "critical α is where its mean validation accuracy crosses the dotted chance line at 0.5 (interpolated; "
           "protocol §6). Under each critical α: where the curve starts and how far it keeps that plateau.")
teacher = url_state.teacher_mode()
lesson.panel("phase")
lesson.navigation("phase")
with st.sidebar:
    dataset, options = controls.dataset_controls()
    attack = url_state.choice("attack", "attack", ["label-flip", "feature-noise"], widget=st.radio, horizontal=True)
    step = url_state.choice("α step", "alpha_step", [0.1, 0.05, 0.2], widget=st.radio, horizontal=True)
    preset_name, runs, seed = controls.preset_control(teacher), 3, 0
    if not teacher:
        runs = url_state.number("runs per α", "runs", 1, 10, 3)
        seed = url_state.number("base seed", "seed", 0, 10_000, 0)
    alphas = phase_alphas(step)
    try:
        catalogue = {v.name: v for v in variants(preset_name, dataset, **options) + deeper_qnns(preset_name, dataset, **options)
                     + device_variants(preset_name, dataset, **options)}
    except SpecError as exc:
        st.error(str(exc))
        st.stop()
    models = url_state.choices("models", "models", list(catalogue), ["qnn", "mlp"], format_func=model_label,
                               help="the paper's QNN and MLP, or any control model: QNN depths (up to 40), the QNN "
                                    "without entanglers, MLP sizes, "
                                    "regularised MLPs, logistic regression, a parameter-matched MLP, on XXZ "
                                    "classical models on measurements (probabilities, correlators, shadows), or the "
                                    "QNN on a device (finite shots, depolarising noise), drawn side by side")
    view = url_state.choice("view", "view", ["phase diagram", "capacity"], widget=st.radio, horizontal=True,
                            help="capacity: accuracy at one α and critical α against the number of parameters")
    at_alpha = None
    if view == "capacity":  # 0.3, the playground's and protocol §6's plateau α, on every α step's grid
        alphas = capacity_alphas(step)
        at_alpha = url_state.choice("accuracy at α", "at_alpha", alphas, CAPACITY_ALPHA, widget=st.select_slider)
url_state.publish()

if not models:
    st.info("Choose at least one model in the sidebar.")
    st.stop()
try:
    jobs_list = phase_jobs({m: catalogue[m].spec for m in models}, attack, int(seed), alphas, int(runs))
except SpecError as exc:
    st.error(str(exc))
    st.stop()

requests = [("train", spec, f"{model_label(m)} α={spec.alpha} run {run}") for run, spec, m in jobs_list]
if not big_request.confirmed(requests, "phase"):
    st.stop()  # before any job: nothing to follow yet
jobs = progress.submit(requests)
finished = progress.follow(jobs, "phase")
rows = [{**result_row(run, spec, result, job.was_cached), "model": m, "variant": m}
        for (run, spec, m), job, result in zip(jobs_list, jobs, finished) if result is not None]


def show_capacity(rows: list[dict]) -> None:
    table = capacity_table([catalogue[m] for m in models], rows, at_alpha)
    finding = capacity_finding(table)
    if finding:
        st.info(finding)
    charts.show(capacity_plot(table), "capacity")
    st.dataframe(capacity_rows(table), hide_index=True)
    downloads.buttons("capacity", {"rows": rows, "capacity": table}, table)


def show_phase_diagram(rows: list[dict]) -> None:
    summary = phase_summary(rows)
    critical = critical_alpha(rows)
    st.info(phase_finding(summary, critical))
    if collapsed_note(rows):
        st.warning(collapsed_note(rows, model_label))
    charts.show(phase_diagram(summary, critical), "phase")
    complete = len(rows) == len(jobs)
    columns = [col for i in range(0, len(critical), METRICS_PER_ROW)
               for col in st.columns(METRICS_PER_ROW)]  # rows of four: 12 in one row read "log… 0… ML…"
    for col, crit in zip(columns, critical):
        label, runs = model_label(crit["model"]), runs_note(rows, crit["model"], complete)
        plateau = plateau_note(summary, crit["model"])  # from the curve's own start: a lower start is said
        if crit["crossed"] == 0 or not math.isfinite(crit["estimate"]):
            col.metric(f"{label} critical α", uncrossed_label(rows, crit["model"], complete))
            col.caption(f"stays above {crit['threshold']:g} ({runs}); {plateau}")
        else:  # every column gets its caption: a rerun that changes the columns leaves no stale one behind
            col.metric(f"{label} critical α", f"{crit['estimate']:.2f}",
                       help=f"{crit['level']:.0%} bootstrap interval {crit['low']:.2f}–{crit['high']:.2f}; "
                            f"accuracy threshold {crit['threshold']:g}; {crit['crossed']:.0%} of resamples cross")
            col.caption(f"{crit['level']:.0%} interval {crit['low']:.2f}–{crit['high']:.2f} ({runs}); {plateau}")
    # the columns a class reads (dataset and attack are in the sidebar; min / max are in the download)
    shown = ["model", "alpha", "n", "val_acc_mean", "val_acc_std", "train_acc_mean", "train_acc_std"]
    collapsed = ["collapsed"] if any(e["collapsed"] for e in summary) else []
    named = [{**e, "model": model_label(e["model"])} for e in summary]  # "logistic regression", never "logreg"
    st.dataframe(human_table(named, shown + collapsed, spread=True), hide_index=True)
    downloads.buttons("phase", {"rows": rows, "summary": summary, "critical_alpha": critical}, rows)


# no st.stop() from here on: a stopped script cannot rerun, and the page reruns itself while its jobs run
if not rows:
    st.info("The first runs are training; the diagram appears as they finish.")
elif view == "capacity":
    show_capacity(rows)
else:
    show_phase_diagram(rows)
