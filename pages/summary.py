"""What the lab measured: the lesson's last step. Each view's caption again, computed from the
runs the lesson opened (read from the cache, nothing computed here), then where the measurements
agree with the paper and where they do not."""
import streamlit as st

from lab_ui import entry

entry.through_app()  # before the engine's imports: a fresh server's first request reruns through app.py at once
from lab_ui import controls, lesson, url_state  # noqa: E402
from qml_core.experiments.lesson import lesson_numbers  # noqa: E402
from qml_core.reporting.captions import lesson_summary  # noqa: E402

STEP_OF = {"phase": "Phase diagram", "capacity": "Is it quantum?", "unlearning": "Unlearning", "curvature": "Loss landscape",
           "controls_curvature": "Loss landscape (the controls)"}
st.title("What the lab measured")
teacher = url_state.teacher_mode()
lesson.panel("summary")
lesson.navigation("summary")
with st.sidebar:
    preset_name = controls.preset_control(teacher)
url_state.publish()

# reading every run of the lesson from the cache takes seconds (about 4 s): say that more is coming
with st.spinner("Computing the findings from the lesson's runs…"):
    numbers = lesson_numbers(preset_name)
missing = [STEP_OF[k] for k, v in numbers.items() if v is None]
if missing:
    st.info(f"Not all computed yet ({', '.join(missing)}): open those steps, or prepare the lesson on the home page "
            "(or `python -m qml_core prepare-lesson`); this page then sums them up.")
for paragraph in lesson_summary(numbers):
    st.markdown(paragraph)
