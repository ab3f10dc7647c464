"""Teacher mode as a guided lesson: a "what to look at" panel on each page and links to the
previous and next step of the sequence (playground → phase diagram → is it quantum? →
unlearning → landscape → data → what the lab measured), which keep teacher mode on. The
phase page holds two steps (its phase diagram, then its capacity view with control models).

The text says how to read a figure and what to compare, never what the figure will show: the
findings are computed from the numbers on screen (``qml_core.reporting.captions``)."""
import streamlit as st

from lab_ui import url_state
from qml_core.experiments.lesson import CONTROLS, PHASE, QUANTUM, STEPS, UNLEARNING

ORDER = list(STEPS)
PAGES = {"playground": "playground", "phase": "phase", "quantum": "phase", "unlearning": "unlearning",
         "landscape": "landscape", "data": "data", "summary": "summary"}
TITLES = {"playground": "Poisoning playground", "phase": "Phase diagram", "quantum": "Is it quantum?",
          "unlearning": "Unlearning", "landscape": "Loss landscape", "data": "Data explorer",
          "summary": "What the lab measured"}
ICONS = {"playground": ":material/science:", "phase": ":material/trending_down:", "quantum": ":material/compare:",
         "unlearning": ":material/cleaning_services:", "landscape": ":material/landscape:", "data": ":material/search:",
         "summary": ":material/summarize:"}
# What a step's link sets, whatever the session kept: the phase page shows two steps, and pages
# share keys ("models", "view") whose kept values would otherwise win over the link.
STEP_STATE = {
    "phase": {"view": "phase diagram", "models": list(PHASE["models"]), "alpha_step": PHASE["step"],
              "attack": PHASE["attack"], "dataset": "mnist"},
    "quantum": {"view": "capacity", "models": list(QUANTUM["models"]), "alpha_step": QUANTUM["step"],
                "at_alpha": QUANTUM["at_alpha"], "attack": QUANTUM["attack"], "dataset": "mnist"},
    "unlearning": {"models": list(UNLEARNING["models"]), "dataset": "mnist"},
    "landscape": {"models": ["mlp", "qnn"], "controls": list(CONTROLS)},
    "data": {"dataset": "xxz", "spins": 12, "xxz_gauge": "phase"},  # the paper's chain and its states
}
ARRIVED = "lesson"  # the query parameter a lesson link carries: the step it leads to

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
        "Find where each validation curve crosses the dotted **chance line at 0.5**: that α is the model's "
        "**critical α**, the dotted vertical line, its bootstrap interval shaded.",
        "Before the crossing, compare the shapes: a flat plateau that ends abruptly and a steady slope from "
        "α = 0 are two different ways of taking the poison.",
        "The dashed train-accuracy curves against the **1 − α** line show, α by α, whether a model fits the "
        "flipped labels or ignores them.",
    ],
    "quantum": [
        "The same poisoning, now for **control models**: QNNs of other depths, smaller MLPs, logistic regression and "
        "a classical model with as many parameters as the QNN. Left: validation accuracy at one α against the number "
        "of parameters; right: each model's critical α.",
        "A model **keeps the plateau** when its accuracy at that α stays close to its clean accuracy. Look for "
        "classical models that do: if some do, the plateau is a matter of the model's size or training, not of "
        "it being quantum.",
        "The caption above the figure counts, from these numbers, which models keep the plateau and which fall.",
    ],
    "unlearning": [
        "**Retraining** from scratch on the clean retain set (dashed black) is the reference: a method "
        "succeeds when it ends where retraining ends, in fewer epochs.",
        "For each model, find the method whose curve **ends closest to retraining**, and read in the table how "
        "many epochs it needs to match retraining.",
        "Compare the **QNN, MLP and logistic regression** panels (one shared y axis; logistic regression is a "
        "classical model too small to memorise single samples). The caption says how much of the flipped labels "
        "each poisoned model had fitted: is easy unlearning quantum, or just little to unlearn?",
        "Switch the metric to forget-set accuracy on the **poisoned labels**: it shows whether a model still "
        "reproduces the flipped labels after unlearning.",
    ],
    "landscape": [
        "This step's models are protocol §5's smaller ones (an MLP (8, 2), a 5-layer QNN with a CNOT ring), so "
        "that the full Hessian can be computed. The **trace** of the Hessian (the sum of its eigenvalues) measures how sharply the loss curves up around "
        "the minimum a model found. The **trace ratio** divides the trace after poisoned training by the trace "
        "after clean training: above 1 the poisoned minimum is sharper, about 1 unchanged, below 1 flatter.",
        "Compare the two models' ratios on the log axis (each gridline step is a factor, not a difference). At "
        "the bottom, **the controls**: the same ratio for the QNN, the MLP, logistic regression and a classical "
        "quadratic form (the QNN's function class) at their own settings. Does a classical model that fits as few "
        "flipped labels as the QNN keep its minimum as flat?",
        "In the 2-D slice the **★** marks the trained solution, which need not sit at the lowest point of the "
        "map (**◇**): the map is the held-out loss measured with **clean** labels, while the solution was fitted "
        "to the **poisoned** ones. See how far apart the two are. **Direction 1 / 2** are two random directions "
        "in parameter space (the caption above the map says how they are scaled).",
        "On the clean → poisoned line, look for a bump (a barrier) between the two solutions, or a smooth slope.",
    ],
    "summary": [
        "**What this lesson showed**: each paragraph is the caption of one step, computed again from the same runs.",
        "**The paper's claims**: the lab's verdict on each of its three claims, on MNIST and on XXZ, twice: **as the "
        "paper states it** (against the memorising MLP) and **with the controls** (classical models that fit no more "
        "of the flipped labels). These come from the lab's full measurement, the README's numbers; the table and "
        "the expander below show what each verdict is judged by.",
    ],
    "data": [
        "The **XXZ chain**: spins in a ring, each coupled to its neighbours, Δ setting the strength of the "
        "z coupling against the x and y ones. For **Δ < 1** the ground state is in the **XY phase** (label 0), "
        "correlated in the x–y plane (⟨X₀X₁⟩); for **Δ > 1** it is in the **Néel phase** (label 1), "
        "neighbouring spins ordered opposite along z (⟨Z₀Z₁⟩).",
        "Look at how the gap and the two correlations change as Δ crosses 1, and where the training points "
        "(blue dots) sit between the validation points (orange triangles): the points nearest Δ = 1 (grey "
        "crosses) are left out of training.",
        "The page opens at the paper's chain of **N = 12** spins, each state with a **random global phase**, as "
        "the paper's data hold them: invisible to the QNN, but part of what a classical network reads.",
        "**What about quantum data?** Switch *what a measurement gives* to the correlators: that is what a classical "
        "model can be handed of a quantum state. The phase page's capacity view on XXZ, with the models "
        "*on correlators* and *on probabilities*, shows whether such models keep the QNN's plateau.",
    ],
}
MNIST_LINES = [  # the data step's panel when the page shows MNIST
    "**MNIST**: each 28×28 image becomes the amplitudes of a 10-qubit state (784 pixels padded to 1024); "
    "the MLP gets the same vector, so both models see identical inputs.",
    "Look at the digits as the models get them, and switch the dataset to the **XXZ chain** (sidebar): quantum "
    "states, where a classical network only sees what a measurement gives.",
]


def _link_params(step: str) -> dict:
    """What a lesson link carries: teacher mode, the step it leads to, and the quick preset
    when the lesson uses it."""
    params = {"teacher": "1", ARRIVED: step}
    if st.session_state.get("preset") == "quick":
        params["preset"] = "quick"
    return params


def arrive() -> None:
    """On a lesson link, set the controls its step needs (``STEP_STATE``) before the page draws
    them; the parameter is dropped from the URL at the page's next ``publish``."""
    step = st.query_params.get(ARRIVED)
    if step in STEP_STATE and st.session_state.get("_lesson_arrived") != (step, st.query_params.get("teacher")):
        st.session_state["_lesson_arrived"] = (step, st.query_params.get("teacher"))
        st.session_state.update(STEP_STATE[step])
        st.session_state.setdefault(url_state.VALUES, {}).update(STEP_STATE[step])
    elif step is None:
        st.session_state.pop("_lesson_arrived", None)


def step_of(page: str) -> str:
    """The lesson step a page shows now: the phase page is "Is it quantum?" in its capacity view."""
    view = st.session_state.get("view") or st.query_params.get("view")
    return "quantum" if page == "phase" and view == "capacity" else page


def lines(step: str) -> list[str]:
    """The step's "what to look at" lines; the data step's follow the dataset on screen."""
    dataset = st.session_state.get("dataset") or st.query_params.get("dataset") or "mnist"
    return MNIST_LINES if step == "data" and dataset != "xxz" else LESSON[step]


def panel(page: str) -> None:
    """In teacher mode, the page's "what to look at" panel (step k of n), at the top of the
    sidebar: in the main area it pushed each step's view below the fold of a 720-px projector.
    Nothing otherwise."""
    if not url_state.teacher_mode():
        return
    arrive()
    step = step_of(page)
    with st.sidebar, st.container(border=True):
        st.markdown(f"**:material/school: Lesson, step {ORDER.index(step) + 1} of {len(ORDER)}: what to look at**")
        st.markdown("\n".join(f"- {line}" for line in lines(step)))


def _link(column, step: str, label: str) -> None:
    column.page_link(f"pages/{PAGES[step]}.py", label=label, query_params=_link_params(step))


def navigation(page: str) -> None:
    """In teacher mode, links to the previous and the next step of the lesson (teacher=1 kept)."""
    if not url_state.teacher_mode():
        return
    i = ORDER.index(step_of(page))
    left, right = st.columns(2)
    if i > 0:
        _link(left, ORDER[i - 1], f"← Previous: {TITLES[ORDER[i - 1]]}")
    if i + 1 < len(ORDER):
        _link(right, ORDER[i + 1], f"Next: {TITLES[ORDER[i + 1]]} →")
    else:
        _link(right, ORDER[0], f"End of the lesson. Start again: {TITLES[ORDER[0]]} ↺")


def start() -> None:
    """In teacher mode, the home page's way into the lesson: what it is and a link to step 1."""
    if not url_state.teacher_mode():
        return
    with st.container(border=True):
        st.markdown(f"**:material/school: A lesson in {len(ORDER)} steps**: " + " → ".join(TITLES[p] for p in ORDER)
                    + ". Each page opens with what to look at and links to the next.")
        st.page_link(f"pages/{ORDER[0]}.py", label=f"Start the lesson: {TITLES[ORDER[0]]} →", icon=ICONS[ORDER[0]],
                     query_params=_link_params(ORDER[0]))
