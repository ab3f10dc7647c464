"""Landing page: what the lab is and what the paper found."""
import streamlit as st

from lab_ui import controls, entry, lesson, prepare, url_state

entry.through_app()
st.title("Data poisoning and unlearning: quantum vs classical ML")
teacher = url_state.teacher_mode()
lesson_preset = controls.preset_control(teacher=True) if teacher else None  # paper unless a link says quick
url_state.publish()  # the sidebar's controls (teacher mode, figure downloads) in the URL
lesson.start()
if teacher:
    prepare.panel(lesson_preset)
st.markdown(
    """
This lab reproduces and extends Chen & Zhang, *Superior resilience to poisoning and amenability
to unlearning in quantum machine learning*, Nat. Commun. **17**, 3716 (2026).

**What the paper reports**: claims this lab tests; each page says what its own measurements show.
- Under label flipping a classical network (MLP) memorises every label and its validation
  accuracy decays roughly linearly with the poisoned fraction α; a quantum neural network (QNN)
  does not memorise, keeps a plateau of high accuracy and collapses abruptly near α = 0.5.
- After poisoning, fine-tuning the QNN on the clean data matches retraining from scratch;
  the MLP lags behind.
- Poisoning sharpens the MLP's loss minimum, while the QNN's curvature barely changes.

Everything here runs headless too: `python -m qml_core --help`. Long runs work in the background
with a progress bar and a cancel button; results are cached, so a second look is instant; the URL
holds every control, so a link reproduces the view. *Teacher mode* (sidebar) hides the advanced
controls and makes the pages a guided lesson: each says what to look at and links to the next.
"""
)
st.page_link("pages/playground.py", label="Poisoning playground: drag α, watch both models train", icon=":material/science:")
st.page_link("pages/phase.py", label="Phase diagram: accuracy vs α over runs, the critical α", icon=":material/trending_down:")
st.page_link("pages/unlearning.py", label="Unlearning: every method against retraining, QNN and MLP side by side", icon=":material/cleaning_services:")
st.page_link("pages/landscape.py", label="Loss landscape: Hessian spectra, trace ratios, 2-D slices", icon=":material/landscape:")
st.page_link("pages/data.py", label="Data explorer: MNIST pairs and the XXZ chain", icon=":material/search:")
st.page_link("pages/summary.py", label="What the lab measured: the lesson's findings, for and against the paper",
             icon=":material/summarize:")
