"""The data controls several pages share (dataset, digit pair or chain length, preset)."""
import streamlit as st

from lab_ui import url_state
from qml_core.data.upload import UploadError, upload_shape

DATASET_NAMES = {"mnist": "MNIST digits", "xxz": "XXZ ground states", "upload": "your uploaded data"}
HEX = set("0123456789abcdef")


def stored_upload(digest: str) -> bool:
    """Whether ``digest`` (64 hex digits) names an upload stored on this machine."""
    if len(digest) != 64 or not set(digest) <= HEX:
        return False
    try:
        upload_shape(digest)
    except UploadError:
        return False
    return True


def upload_digest() -> str:
    """The digest of this session's upload ("" if none), kept in the URL like every control
    (a digest names stored arrays; it is never a path). A link naming an upload this machine
    does not have gets a notice and no upload."""
    return url_state.seed("upload", "", lambda v: v == "" or stored_upload(v),
                          "the digest of an upload made on this machine's Data explorer")


def dataset_controls(spins: int = 6) -> tuple[str, dict]:
    """(dataset, data options for ``preset``) from the sidebar: a digit pair, a chain length
    (``spins`` by default), or the digest of an upload (offered once one was made on the Data
    explorer page)."""
    digest = upload_digest()
    names = [n for n in DATASET_NAMES if n != "upload" or digest]
    dataset = url_state.choice("dataset", "dataset", names, format_func=DATASET_NAMES.get)
    if dataset == "upload":  # upload_digest checked that this machine has it
        st.caption(f"upload {digest[:12]}…")
        return dataset, {"digest": digest}
    if dataset == "mnist":
        first, second = st.columns(2)
        with first:
            digit_a = url_state.number("digit of label 0", "digit_a", 0, 9, 1)
        with second:
            digit_b = url_state.number("digit of label 1", "digit_b", 0, 9, 9)
        return dataset, {"digits": (int(digit_a), int(digit_b))}
    return dataset, {"spins": url_state.choice("spins N", "spins", [6, 8, 10, 12], spins, widget=st.select_slider)}


PRESET_LABELS = {"paper": "paper (the paper's settings)", "quick": "quick (fast preview)"}


def preset_control(teacher: bool, help_text: str = "paper: the settings of the paper's experiments, what its figures show; "
                                                   "quick: less data and fewer epochs, a fast preview") -> str:
    """paper (the default everywhere: the faithful view) or quick (a fast preview). Teacher mode
    hides the choice; a link's ``preset`` still applies there, paper without one."""
    if teacher:
        return url_state.seed("preset", "paper", lambda v: v in PRESET_LABELS, "paper or quick")
    return url_state.choice("preset", "preset", list(PRESET_LABELS), widget=st.radio, horizontal=True,
                            format_func=PRESET_LABELS.get, help=help_text)


SHOT_CHOICES = ["exact", "10000", "1000", "100"]
NOISE_CHOICES = ["0", "0.001", "0.01"]


def device_controls() -> dict:
    """The QNN's device (docs/device.md): shots per output and a depolarising noise level, as
    ``QNNModel`` fields (empty for the exact simulator, whose runs keep their cache keys)."""
    shots = url_state.choice("QNN device: shots per output", "shots", SHOT_CHOICES,
                             help="exact: expectation values; S: every output (training and evaluation) "
                                  "from S measurements of the readout qubit")
    noise = url_state.choice("QNN device: depolarising noise p", "noise", NOISE_CHOICES,
                             help="a depolarising channel of strength p on each qubit after every gate "
                                  "(16 Monte-Carlo trajectories per output; slower)")
    fields = {} if shots == "exact" else {"shots": int(shots)}
    return fields | ({"depolarizing": float(noise)} if float(noise) else {})
