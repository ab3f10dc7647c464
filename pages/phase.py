"""Phase diagram: accuracy vs α over runs for both models, with the critical α of each and
its bootstrap interval; the diagram fills in as runs finish."""
import streamlit as st

from lab_ui import charts, controls, downloads, entry, progress, url_state
from qml_core.captions import phase_finding
from qml_core.phase import critical_alpha, phase_summary
from qml_core.plots import LABELS, human_table, phase_diagram
from qml_core.specs import SpecError, preset
from qml_core.sweep import result_row, sweep_specs

entry.through_app()
st.title("Phase diagram")
st.caption("Validation accuracy (clean labels) against the poisoned fraction α, mean ± std over runs; the critical "
           "α is where a model's mean accuracy falls halfway from its clean value to chance (0.5).")
teacher = url_state.teacher_mode()
with st.sidebar:
    dataset, options = controls.dataset_controls()
    attack = url_state.choice("attack", "attack", ["label-flip", "feature-noise"], widget=st.radio, horizontal=True)
    step = url_state.choice("α step", "alpha_step", [0.1, 0.05, 0.2], widget=st.radio, horizontal=True)
    preset_name, runs, seed = controls.preset_control(teacher), 3, 0
    if not teacher:
        runs = url_state.number("runs per α", "runs", 1, 10, 3)
        seed = url_state.number("base seed", "seed", 0, 10_000, 0)
url_state.publish()

alphas = [round(i * step, 4) for i in range(int(round(0.9 / step)) + 1)]
try:
    bases = [preset(preset_name, dataset, m, **options).replace(attack=attack, seed=int(seed)) for m in ("qnn", "mlp")]
    jobs_list = sorted(sweep_specs(bases, alphas, int(runs)), key=lambda job: job[0])  # every α of run 0 first
except SpecError as exc:
    st.error(str(exc))
    st.stop()

jobs = progress.submit([("train", spec, f"{LABELS[spec.model.name]} α={spec.alpha} run {run}") for run, spec in jobs_list])
progress.follow(jobs, "phase")
rows = [result_row(run, spec, result, job.was_cached)
        for (run, spec), job, result in zip(jobs_list, jobs, progress.results(jobs)) if result is not None]
if not rows:
    st.info("The first runs are training; the diagram appears as they finish.")
    st.stop()

summary = phase_summary(rows)
critical = critical_alpha(rows)
st.info(phase_finding(summary, critical))
charts.show(phase_diagram(summary, critical), "phase")
cols = st.columns(len(critical))
for col, crit in zip(cols, critical):
    label = LABELS[crit["model"]]
    if crit["crossed"] == 0:
        col.metric(f"{label} critical α", "none in the grid")
    else:
        col.metric(f"{label} critical α", f"{crit['estimate']:.2f}",
                   help=f"{crit['level']:.0%} bootstrap interval {crit['low']:.2f}–{crit['high']:.2f}; "
                        f"accuracy threshold {crit['threshold']:.3f}; {crit['crossed']:.0%} of resamples cross")
        col.caption(f"{crit['level']:.0%} interval {crit['low']:.2f}–{crit['high']:.2f} ({len(rows)} runs so far)")
st.dataframe(human_table(summary), hide_index=True)
downloads.buttons("phase", {"rows": rows, "summary": summary, "critical_alpha": critical}, rows)
