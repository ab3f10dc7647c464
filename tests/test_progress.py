"""The pause between a page's reruns (lab_ui/progress.py): it ends at a user's rerun request,
and the shortest interval a run asks for wins."""
import pytest

from lab_ui import progress


class RerunRequested(Exception):
    """What Streamlit raises in the script thread at a yield point when a rerun is pending."""


class SessionState(dict):
    """A session state whose reads are Streamlit's yield points: the ``pending``-th raises."""

    def __init__(self, pending: int):
        super().__init__()
        self.reads, self.pending = 0, pending

    def __contains__(self, key):
        self.reads += 1
        if self.reads == self.pending:
            raise RerunRequested
        return super().__contains__(key)


def test_a_pause_ends_at_the_first_yield_point_after_a_rerun_request(monkeypatch):
    state = SessionState(pending=3)
    monkeypatch.setattr(progress.st, "session_state", state)
    with pytest.raises(RerunRequested):
        progress.pause(600)  # a plain sleep would sit here for ten minutes
    assert state.reads == 3


def test_a_pause_without_a_request_lasts_its_length_in_slices(monkeypatch):
    state = SessionState(pending=0)
    monkeypatch.setattr(progress.st, "session_state", state)
    progress.pause(4 * progress.PAUSE_SLICE_S)
    assert state.reads >= 4


def test_the_shortest_refresh_interval_asked_for_in_a_run_wins(monkeypatch):
    monkeypatch.setattr(progress.st, "session_state", {})
    progress.begin()
    progress.keep_refreshing(progress.COUNT_REFRESH_S)
    assert progress.st.session_state[progress.FOLLOWING] == progress.COUNT_REFRESH_S
    progress.keep_refreshing()
    progress.keep_refreshing(progress.COUNT_REFRESH_S)
    assert progress.st.session_state[progress.FOLLOWING] == progress.REFRESH_S
