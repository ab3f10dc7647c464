"""A page asks before it queues a big request (more than ``rates.BIG_REQUEST`` new runs): one
warning with the expected time from the rates measured on this machine, and a button. A
model box that selected every model at a keystroke once queued 360 runs (445 s) without a word."""
import streamlit as st

from qml_core.runtime.jobs import manager
from qml_core.runtime.rates import BIG_REQUEST, big_request_text, expected
from qml_core.store.cache import lookup

YES = "_big_request_yes"  # page key -> the number of new runs the user agreed to


def new_runs(requests: list[tuple[str, object, str]]) -> list[tuple[str, object]]:
    """The (kind, spec) of ``requests`` that neither a job nor the cache answers yet."""
    jobs = manager()
    return [(kind, spec) for kind, spec, _ in requests if jobs.get(kind, spec) is None and lookup(kind, spec) is None]


def confirmed(requests: list[tuple[str, object, str]], key: str) -> bool:
    """True when the page may submit ``requests``: at most BIG_REQUEST of them are new, or the
    user has just said yes; otherwise the question is on the page and the page shows nothing more."""
    if len(requests) <= BIG_REQUEST:
        return True
    pending = new_runs(requests)
    if len(pending) <= BIG_REQUEST:
        return True
    said_yes = st.session_state.setdefault(YES, {})
    if said_yes.pop(key, None) == len(pending):  # the button's answer, for exactly these runs
        return True
    workers = manager().max_workers
    seconds, measured = expected(pending, workers)
    st.warning(big_request_text(len(pending), seconds, measured, workers), icon=":material/hourglass_top:")
    return st.button(f"Run all {len(pending)}", key=f"big-request-{key}", type="primary",
                     on_click=lambda: said_yes.__setitem__(key, len(pending)))
