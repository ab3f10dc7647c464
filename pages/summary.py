"""What the lab measured: the lesson's last step. Each view's caption again, computed from the
runs the lesson opened (read from the cache, nothing computed here); then the lab's verdict on
each of the paper's three claims, on both datasets, as the paper states it and with the
controls, read from the lab's full measurement (the numbers the README and the report quote)."""
import streamlit as st

from lab_ui import entry

entry.through_app()  # before the engine's imports: a fresh server's first request reruns through app.py at once
from lab_ui import controls, lesson, url_state  # noqa: E402
from qml_core.experiments.lesson import lesson_numbers  # noqa: E402
from qml_core.reporting.captions import claims_finding, lesson_summary  # noqa: E402
from qml_core.reporting.measured import claim_table, measured_claims, sources_note, verdict_grid  # noqa: E402

STEP_OF = {"phase": "Phase diagram", "capacity": "Is it quantum?", "unlearning": "Unlearning", "curvature": "Loss landscape",
           "controls_curvature": "Loss landscape (the controls)"}
st.title("What the lab measured")
teacher = url_state.teacher_mode()
lesson.panel("summary")
lesson.navigation("summary")
with st.sidebar:
    preset_name = controls.preset_control(teacher)
url_state.publish()

st.subheader("What this lesson showed")
# reading every run of the lesson from the cache takes seconds (about 4 s): say that more is coming
with st.spinner("Computing the findings from the lesson's runs…"):
    numbers = lesson_numbers(preset_name)
missing = [STEP_OF[k] for k, v in numbers.items() if v is None]
if missing:
    st.info(f"Not all computed yet ({', '.join(missing)}): open those steps, or prepare the lesson on the home page "
            "(or `python -m qml_core prepare-lesson`); this page then sums them up.")
for paragraph in lesson_summary(numbers):
    st.markdown(paragraph)

st.subheader("The paper's claims, as the lab measured them")
found = measured_claims()
if found is None:
    st.info("The lab's own measurement (benchmarks/results in its repository) is not in this installation; "
            "`python -m qml_core reproduce --preset paper --figures all` measures every claim here.")
else:
    rows = claim_table(found)
    st.caption(sources_note(found))
    for paragraph in claims_finding(rows):
        st.markdown(paragraph)
    st.dataframe(verdict_grid(rows), hide_index=True)
    with st.expander("What each verdict is judged by"):
        for r in rows:
            if r["measured"]:
                st.markdown(f"**{r['title']}, {r['how']}, {r['name']}: {r['verdict']}.** {r['statement']}\n\n"
                            + "\n".join(f"- {line}" for line in r["measured"]))
