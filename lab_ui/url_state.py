"""Every control's value lives in the URL, so a link reproduces the view, and survives every
rerun of the session.

A control is seeded once per session from its query parameter; a value the control cannot
take falls back to the default with a one-line notice naming the parameter and what it
allows. ``publish`` writes every control drawn in this run back to the URL.

Why the values are also kept apart (``VALUES``): Streamlit forgets the state of a widget it
did not see in a run, and a run can miss widgets, e.g. one interrupted by a rerun (a page
reruns itself while its jobs run: ``progress.refresh``; streamlit issues #10805, #11266). A widget drawn next without its state shows its
minimum or first option, which ``publish`` would then write to the URL: the user's choices
lost. So every run sets each control's state explicitly before its widget is drawn (the
"interrupt the widget clean-up" pattern of Streamlit's docs) from the widget's current value,
else from ``VALUES`` (a plain session-state entry, which Streamlit never cleans up), else from
the URL, else the default.
"""
import streamlit as st

KEYS = "_url_keys"
VALUES = "_url_values"  # key -> the value the control had when last published
NOTICES = "_url_notices"  # key -> (fallback value, one-line notice) for refused link values
SHOWN = "_url_notices_shown"  # the notices shown in this run (a page may publish twice)


def begin() -> None:
    """Start a run: forget the controls of the previous run (app.py calls this first)."""
    st.session_state[KEYS] = []
    st.session_state[SHOWN] = set()


def _parse(raw: str, default):
    if isinstance(default, bool):
        if raw not in ("0", "1", "true", "false", "True", "False"):
            raise ValueError(raw)
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


def _from_link(key: str, default, valid, allowed: str):
    """The link's value of ``key`` if the control can take it; else the default, and a notice."""
    raw = st.query_params.get(key)
    if raw is None:
        return default
    try:
        parsed = _parse(raw, default)
        if valid(parsed) and (parsed or not isinstance(default, (tuple, list))):  # a link names at least one
            return parsed
    except (ValueError, TypeError, IndexError):
        pass
    shown = raw if len(raw) <= 40 else raw[:37] + "..."
    st.session_state.setdefault(NOTICES, {})[key] = (
        default, f"The link's {key}={shown!r} is not allowed here ({allowed}); showing {key}={_format(default)}.")
    return default


def seed(key: str, default, valid=lambda value: True, allowed: str = "see the control"):
    """Set ``key``'s state for this run before its widget is drawn (see the module docstring)
    and register the key for ``publish``. ``valid`` says whether a value is one this control
    can take (pages share keys such as ``alpha`` with other ranges: a value kept from another
    page that this control cannot take is dropped); ``allowed`` says in words which are.
    Returns the value."""
    def usable(value) -> bool:
        try:
            return bool(valid(value))
        except (TypeError, ValueError):
            return False

    kept = st.session_state.get(VALUES, {})
    if key in st.session_state and usable(st.session_state[key]):
        value = st.session_state[key]
    elif key in kept and usable(kept[key]):
        value = kept[key]
    else:
        value = _from_link(key, default, valid, allowed)
    st.session_state[key] = value
    st.session_state.setdefault(KEYS, []).append(key)
    return value


def publish() -> None:
    """Show the notices of refused link values (until the control is changed), remember every
    control registered in this run, and write them to the URL (only if something changed)."""
    registered = [k for k in st.session_state.get(KEYS, []) if k in st.session_state]
    notices, shown = st.session_state.get(NOTICES, {}), st.session_state.setdefault(SHOWN, set())
    for key in registered:
        if key in notices:
            fallback, text = notices[key]
            if st.session_state[key] != fallback:
                del notices[key]
            elif key not in shown:
                st.warning(text, icon=":material/link_off:")
                shown.add(key)
    st.session_state.setdefault(VALUES, {}).update({k: st.session_state[k] for k in registered})
    wanted = {k: _format(st.session_state[k]) for k in registered}
    if wanted != st.query_params.to_dict():
        st.query_params.from_dict(wanted)


def slider(label: str, key: str, low: float, high: float, default: float, step: float, **kwargs):
    seed(key, default, lambda v: low <= v <= high, f"a number from {low:g} to {high:g}")
    return st.slider(label, low, high, step=step, key=key, **kwargs)


def number(label: str, key: str, low: int, high: int, default: int, **kwargs):
    seed(key, default, lambda v: low <= v <= high, f"a whole number from {low} to {high}")
    return st.number_input(label, low, high, step=1, key=key, **kwargs)


def choice(label: str, key: str, options: list, default=None, widget=st.selectbox, **kwargs):
    """A selectbox (or radio / select_slider, via ``widget``) whose value is one of ``options``."""
    seed(key, options[0] if default is None else default, lambda v: v in options,
         "one of " + ", ".join(_format(o) for o in options))
    return widget(label, options, key=key, **kwargs)


def choices(label: str, key: str, options: list, default: list, **kwargs) -> list:
    """A multiselect whose values are among ``options`` (a link must name at least one), with a
    filter that matches typed text as a substring and no bulk "Select all" / "Select N matches"
    entry: Streamlit puts that entry first and highlights it, so Enter after typing a model's
    name selected every match ("MLP (1)" also matches "MLP (16, 4)"), and Enter with nothing
    typed (yet) selected every option: all 12 models, 360 runs, on the phase page."""
    seed(key, list(default), lambda v: all(item in options for item in v),
         "one or more of " + ", ".join(_format(o) for o in options) + ", comma-separated")
    return st.multiselect(label, options, key=key, **{"select_all": False, "filter_mode": "contains", **kwargs})


def toggle(label: str, key: str, default: bool = False, **kwargs) -> bool:
    seed(key, default, allowed="1 or 0")
    return st.toggle(label, key=key, **kwargs)


def teacher_mode() -> bool:
    """True when the teacher has hidden the advanced controls (the toggle lives in app.py)."""
    return bool(st.session_state.get("teacher", False))
