"""A page asks before it queues a big request (more than ``rates.BIG_REQUEST`` new runs, or more
than ``rates.BIG_SECONDS`` expected): one warning with the expected time from the rates measured
on this machine, and a button. A model box that selected every model at a keystroke once queued
360 runs (445 s) without a word; a link to two noisy QNN curves, 60 runs of about 3 h."""
import streamlit as st

from qml_core.runtime.jobs import manager
from qml_core.runtime.rates import big_request_text, expected, is_big, load
from qml_core.store.cache import lookup

YES = "_big_request_yes"  # page key -> the number of new runs the user agreed to


def new_runs(requests: list[tuple[str, object, str]]) -> list[tuple[str, object]]:
    """The (kind, spec) of ``requests`` that neither a job nor the cache answers yet."""
    jobs = manager()
    return [(kind, spec) for kind, spec, _ in requests if jobs.get(kind, spec) is None and lookup(kind, spec) is None]


def confirmed(requests: list[tuple[str, object, str]], key: str) -> bool:
    """True when the page may submit ``requests``: the new ones among them are not a big request
    (``rates.is_big``: by count or by expected time), or the user has just said yes; otherwise
    the question is on the page and the page shows nothing more."""
    workers, rates = manager().max_workers, load()
    if not is_big(len(requests), expected([(kind, spec) for kind, spec, _ in requests], workers, rates)[0]):
        return True  # nothing to look up: the new runs are fewer still
    pending = new_runs(requests)
    seconds, measured, assumed = expected(pending, workers, rates)
    if not is_big(len(pending), seconds):
        return True
    said_yes = st.session_state.setdefault(YES, {})
    if said_yes.pop(key, None) == len(pending):  # the button's answer, for exactly these runs
        return True
    st.warning(big_request_text(len(pending), seconds, measured, assumed, workers), icon=":material/hourglass_top:")
    return st.button(f"Run all {len(pending)}", key=f"big-request-{key}", type="primary",
                     on_click=lambda: said_yes.__setitem__(key, len(pending)))
