"""The home page's view of the prepared lesson: how much of it is in the cache (in all, and a
bar per step), and a button that computes the rest in the background (prefetches: the views on
screen still come first, and leaving the page does not stop them)."""
import streamlit as st

from lab_ui import charts, progress
from lab_ui.lesson import TITLES
from qml_core.experiments.lesson import lesson_requests, lesson_steps, readiness
from qml_core.reporting.plots import readiness_bars
from qml_core.runtime.jobs import ACTIVE, manager


def panel(preset_name: str) -> None:
    """Readiness of the lesson at ``preset_name`` (per step and in all) and, until it is all
    there, a button that prepares it; while it is being prepared, progress and an ETA."""
    requests = lesson_requests(preset_name)
    counts = readiness(lesson_steps(preset_name))  # each step's bar counts its page's runs, shared ones too
    ready, total = counts["all"]
    jobs = [j for j in (manager().get(kind, spec) for _, kind, spec in requests) if j is not None]
    with st.container(border=True):
        st.markdown(f"**:material/inventory: Prepared lesson ({preset_name})**: {ready} of {total} runs ready.")
        charts.show(readiness_bars(counts, TITLES), "lesson-readiness")
        # the same elements in the same places while preparing as before it (a bar for the
        # caption, a disabled button for the button): the page reruns every second until the
        # lesson is ready, and an element a rerun no longer draws stays on screen, faded, until
        # a run ends without a rerun (seen: "Prepare the lesson" still there while preparing)
        if any(j.state in ACTIVE for j in jobs):
            st.progress(ready / total, text=f"preparing: {progress.overall(jobs)}")
            st.button("Preparing the lesson…", key="prepare-lesson", icon=":material/hourglass_top:", disabled=True)
            progress.keep_refreshing()
        elif ready < total:
            st.caption("Preparing computes every view the lesson opens, so that each answers at once in class "
                       "(also: `python -m qml_core prepare-lesson`).")
            if st.button("Prepare the lesson", key="prepare-lesson", icon=":material/play_arrow:"):
                manager().prefetch([(kind, spec, f"lesson: {step}") for step, kind, spec in requests])
                st.rerun()
