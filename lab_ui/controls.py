"""The data controls several pages share (dataset, digit pair or chain length, preset)."""
import streamlit as st

from lab_ui import url_state

DATASET_NAMES = {"mnist": "MNIST digits", "xxz": "XXZ ground states"}


def dataset_controls() -> tuple[str, dict]:
    """(dataset, data options for ``preset``) from the sidebar: a digit pair or a chain length."""
    dataset = url_state.choice("dataset", "dataset", list(DATASET_NAMES), format_func=DATASET_NAMES.get)
    if dataset == "mnist":
        first, second = st.columns(2)
        with first:
            digit_a = url_state.number("digit 0", "digit_a", 0, 9, 1)
        with second:
            digit_b = url_state.number("digit 1", "digit_b", 0, 9, 9)
        return dataset, {"digits": (int(digit_a), int(digit_b))}
    return dataset, {"spins": url_state.choice("spins N", "spins", [6, 8, 10, 12], 6, widget=st.select_slider)}


def preset_control(teacher: bool) -> str:
    """quick (seconds) or paper (PROTOCOL settings); teachers always get quick."""
    if teacher:
        return "quick"
    return url_state.choice("preset", "preset", ["quick", "paper"], widget=st.radio, horizontal=True,
                            help="quick: seconds per run; paper: the PROTOCOL's settings (minutes)")
