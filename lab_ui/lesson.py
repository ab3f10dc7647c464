"""Teacher mode as a guided lesson: a "what to look at" panel on each page and links to the
previous and next page of the sequence (playground → phase diagram → unlearning → landscape →
data), which keep teacher mode on.

The text says how to read a figure and what to compare, never what the figure will show: the
findings are computed from the numbers on screen (``qml_core.reporting.captions``)."""
import streamlit as st

from lab_ui import url_state

ORDER = ["playground", "phase", "unlearning", "landscape", "data"]
TITLES = {"playground": "Poisoning playground", "phase": "Phase diagram", "unlearning": "Unlearning",
          "landscape": "Loss landscape", "data": "Data explorer"}
ICONS = {"playground": ":material/science:", "phase": ":material/trending_down:",
         "unlearning": ":material/cleaning_services:", "landscape": ":material/landscape:", "data": ":material/search:"}

LESSON = {
    "playground": [
        "Compare each model's **train accuracy** (dashed; measured on the poisoned labels) with the "
        "**1 − α** line: a model on that line ignores the flipped labels, a model near 1.0 has fitted them, flips included.",
        "**Validation accuracy** (solid) is measured on clean labels: it is the cost of the poison. "
        "Read it against the dotted **chance** line at 0.5.",
        "Set **α = 0.5**: half of each class then carries the other class's label, so the labels carry no "
        "information about the class, and no learner can be expected to beat chance on clean data.",
        "The poisoned samples below the curves show exactly what was changed in the training set.",
    ],
    "phase": [
        "Each solid line is a model's validation accuracy (clean labels), averaged over runs; "
        "the shaded band is ± one standard deviation between runs.",
        "Find where each curve crosses the **halfway line** between its clean accuracy and chance (0.5): that α is "
        "the model's **critical α**, the dotted vertical line, its bootstrap interval shaded.",
        "Before the crossing, compare the shapes: a flat plateau that ends abruptly and a steady slope from "
        "α = 0 are two different ways of taking the poison.",
        "The dashed train-accuracy curves against the **1 − α** line show, α by α, whether a model fits the "
        "flipped labels or ignores them.",
    ],
    "unlearning": [
        "**Retraining** from scratch on the clean retain set (dashed black) is the reference: a method "
        "succeeds when it ends where retraining ends, in fewer epochs.",
        "For each model, find the method whose curve **ends closest to retraining**, and read in the table how "
        "many epochs it needs to match retraining.",
        "Compare the **QNN panel with the MLP panel** (one shared y axis): does a method that works for one "
        "model work as well for the other?",
        "Switch the metric to forget-set accuracy on the **poisoned labels**: it shows whether a model still "
        "reproduces the flipped labels after unlearning.",
    ],
    "landscape": [
        "The **trace** of the Hessian (the sum of its eigenvalues) measures how sharply the loss curves up around "
        "the minimum a model found. The **trace ratio** divides the trace after poisoned training by the trace "
        "after clean training: above 1 the poisoned minimum is sharper, about 1 unchanged, below 1 flatter.",
        "Compare the two models' ratios on the log axis (each gridline step is a factor, not a difference), "
        "and in the spectrum where each model's clean and poisoned densities lie.",
        "In the 2-D slice the **★** marks the trained solution, which need not sit at the lowest point of the "
        "map (**◆**): the map is the held-out loss measured with **clean** labels, while the solution was fitted "
        "to the **poisoned** ones. See how far apart the two are.",
        "On the clean → poisoned line, look for a bump (a barrier) between the two solutions, or a smooth slope.",
    ],
    "data": [
        "The **XXZ chain**: spins in a ring, each coupled to its neighbours, Δ setting the strength of the "
        "z coupling against the x and y ones. For **Δ < 1** the ground state is in the **XY phase** (label 0), "
        "correlated in the x–y plane (⟨X₀X₁⟩); for **Δ > 1** it is in the **Néel phase** (label 1), "
        "neighbouring spins ordered opposite along z (⟨Z₀Z₁⟩).",
        "Look at how the gap and the two correlations change as Δ crosses 1, and where the training points "
        "(large filled circles) sit: the points nearest Δ = 1 are left out of training.",
        "**MNIST**: each 28×28 image becomes the amplitudes of a 10-qubit state (784 pixels padded to 1024); "
        "the MLP gets the same vector, so both models see identical inputs.",
    ],
}


def _link_params() -> dict:
    """What a lesson link carries: teacher mode, and the quick preset when the lesson uses it."""
    params = {"teacher": "1"}
    if st.session_state.get("preset") == "quick":
        params["preset"] = "quick"
    return params


def panel(page: str) -> None:
    """In teacher mode, the page's "what to look at" panel (step k of 5); nothing otherwise."""
    if not url_state.teacher_mode():
        return
    with st.container(border=True):
        st.markdown(f"**:material/school: Lesson, step {ORDER.index(page) + 1} of {len(ORDER)}: what to look at**")
        st.markdown("\n".join(f"- {line}" for line in LESSON[page]))


def navigation(page: str) -> None:
    """In teacher mode, links to the previous and the next page of the lesson (teacher=1 kept)."""
    if not url_state.teacher_mode():
        return
    i = ORDER.index(page)
    left, right = st.columns(2)
    if i > 0:
        before = ORDER[i - 1]
        left.page_link(f"pages/{before}.py", label=f"← Previous: {TITLES[before]}", query_params=_link_params())
    if i + 1 < len(ORDER):
        after = ORDER[i + 1]
        right.page_link(f"pages/{after}.py", label=f"Next: {TITLES[after]} →", query_params=_link_params())
    else:
        right.page_link(f"pages/{ORDER[0]}.py", label=f"End of the lesson. Start again: {TITLES[ORDER[0]]} ↺",
                        query_params=_link_params())


def start() -> None:
    """In teacher mode, the home page's way into the lesson: what it is and a link to step 1."""
    if not url_state.teacher_mode():
        return
    with st.container(border=True):
        st.markdown(f"**:material/school: A lesson in {len(ORDER)} steps**: " + " → ".join(TITLES[p] for p in ORDER)
                    + ". Each page opens with what to look at and links to the next.")
        st.page_link(f"pages/{ORDER[0]}.py", label=f"Start the lesson: {TITLES[ORDER[0]]} →", icon=ICONS[ORDER[0]],
                     query_params=_link_params())
