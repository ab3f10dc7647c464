"""Every control's value lives in the URL, so a link reproduces the view.

A control is seeded once per session from its query parameter (an invalid or out-of-range
value falls back to the default, silently: a stale link still opens), and ``publish`` writes
every control drawn in this run back to the URL.
"""
import streamlit as st

KEYS = "_url_keys"


def begin() -> None:
    """Start a run: forget the controls of the previous run (app.py calls this first)."""
    st.session_state[KEYS] = []


def _parse(raw: str, default):
    if isinstance(default, bool):
        return raw in ("1", "true", "True")
    if isinstance(default, (tuple, list)):
        return type(default)(_parse(part, default[0]) for part in raw.split(",") if part) if default else ()
    return type(default)(raw)


def _format(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (tuple, list)):
        return ",".join(_format(v) for v in value)
    return str(value)


def seed(key: str, default, valid=lambda value: True):
    """Put the URL's value of ``key`` (or ``default``) in session state before its widget is
    drawn, and register the key for ``publish``. Returns the value."""
    if key not in st.session_state:
        value = default
        raw = st.query_params.get(key)
        if raw is not None:
            try:
                parsed = _parse(raw, default)
                value = parsed if valid(parsed) else default
            except (ValueError, TypeError, IndexError):
                value = default
        st.session_state[key] = value
    st.session_state.setdefault(KEYS, []).append(key)
    return st.session_state[key]


def publish() -> None:
    """Write every control registered in this run to the URL (only if something changed)."""
    wanted = {k: _format(st.session_state[k]) for k in st.session_state.get(KEYS, []) if k in st.session_state}
    if wanted != st.query_params.to_dict():
        st.query_params.from_dict(wanted)


def slider(label: str, key: str, low: float, high: float, default: float, step: float, **kwargs):
    seed(key, default, lambda v: low <= v <= high)
    return st.slider(label, low, high, step=step, key=key, **kwargs)


def number(label: str, key: str, low: int, high: int, default: int, **kwargs):
    seed(key, default, lambda v: low <= v <= high)
    return st.number_input(label, low, high, step=1, key=key, **kwargs)


def choice(label: str, key: str, options: list, default=None, widget=st.selectbox, **kwargs):
    """A selectbox (or radio / select_slider, via ``widget``) whose value is one of ``options``."""
    seed(key, options[0] if default is None else default, lambda v: v in options)
    return widget(label, options, key=key, **kwargs)


def choices(label: str, key: str, options: list, default: list, **kwargs) -> list:
    """A multiselect whose values are among ``options``."""
    seed(key, list(default), lambda v: all(item in options for item in v))
    return st.multiselect(label, options, key=key, **kwargs)


def toggle(label: str, key: str, default: bool = False, **kwargs) -> bool:
    seed(key, default)
    return st.toggle(label, key=key, **kwargs)


def teacher_mode() -> bool:
    """True when the teacher has hidden the advanced controls (the toggle lives in app.py)."""
    return bool(st.session_state.get("teacher", False))
