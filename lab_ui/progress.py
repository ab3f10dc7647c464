"""Progress of background jobs on a page: bars with ETAs, a cancel button, live views.

While a page's jobs run, the page reruns itself every ``REFRESH_S`` (``refresh``, at the end
of the script), so progress, live curves and finished results appear as they come (controls
keep their values through those reruns: ``url_state``). A user's move never waits for the
pause between them: it ends as soon as Streamlit has a rerun request (``pause``). Each rerun
marks the page's jobs as watched: jobs of a page nobody looks at any more yield to the views in
front of users (``qml_core.runtime.jobs``).
"""
import copy
import os
import time
from collections.abc import Callable

import streamlit as st

from qml_core.data.measurements import MEASURING
from qml_core.runtime.eta import JobTiming, estimate
from qml_core.runtime.jobs import ACTIVE, Job, manager
from qml_core.runtime.rates import load, measured_seconds

REFRESH_S = 1.0  # seconds between reruns of a page whose jobs run
COUNT_REFRESH_S = 5.0  # ... of a page that only counts background jobs (the playground's grid fill)
FOLLOWING = "_progress_following"  # seconds to the next rerun: a job this run follows is active (else False)
PAUSE_SLICE_S = 0.05  # how often a pause looks for a user's rerun request
SHOWN = 4  # individual bars drawn for the running jobs; the rest are in the overall bar


def submit(requests: list[tuple[str, object, str]]) -> list[Job]:
    """The job for every (kind, spec, label) the page shows: cached results answer at once,
    the rest queue ahead of every background job."""
    jobs = manager()
    return [jobs.submit(kind, spec, label) for kind, spec, label in requests]


def prefetch(requests: list[tuple[str, object, str]]) -> None:
    """Compute the (kind, spec, label) requests the user may make next, most likely first, in
    the background: a move to one of them then answers from the cache or promotes its job."""
    manager().prefetch(requests)


def overall(jobs: list[Job]) -> str:
    """'k/n finished' with an ETA from the rates the jobs' own runs measured (``qml_core.runtime.eta``)."""
    finished = sum(j.state not in ACTIVE for j in jobs)
    measured = load()
    left = estimate([JobTiming(j.state, *((0, 0) if j.stage == MEASURING else (j.done, j.total)),  # states are no epochs
                               j.elapsed(), j.was_cached, j.kind, measured_seconds(j.kind, j.spec, measured))
                     for j in jobs])
    return f"{finished}/{len(jobs)} finished" + (f", {left.text()}" if left is not None else "")


def follow(jobs: list[Job], key: str, live: Callable[[list[Job]], None] | None = None) -> list[dict | None]:
    """Show failures and cancels (with a button to run them again), and while any job is
    active: progress, ETA, cancel and a live view. Returns each job's result (None while it
    is not done) as of the moment the bars were drawn, so that what a page draws from them
    agrees with the bars' counts: the jobs themselves change under the page as workers finish."""
    seen = snapshot(jobs)
    for job in seen:
        if job.state == "failed":
            st.error(f"{job.label} failed: {job.error}")
    if any(j.state == "cancelled" for j in seen):
        st.warning("Cancelled: nothing was stored for the cancelled runs.")
    stopped = [j for j in seen if j.state in ("failed", "cancelled")]
    if stopped and st.button(f"Run again ({len(stopped)} stopped)", key=f"restart-{key}"):
        for job in stopped:
            manager().submit(job.kind, job.spec, job.label, restart=True)
        st.rerun()
    if any(j.state in ACTIVE for j in seen):
        keep_refreshing()
        manager().watch(jobs)
        st.progress(sum(j.fraction for j in seen) / len(seen), text=overall(seen))
        for job in [j for j in seen if j.state == "running"][:SHOWN]:
            st.progress(job.fraction, text=job.status())
        if st.button("Cancel", key=f"cancel-{key}", type="secondary"):
            for job in jobs:
                manager().cancel(job)
        if live is not None:
            live(seen)
    return results(seen)


def any_active(requests: list[tuple[str, object]]) -> bool:
    """Whether any (kind, spec) of ``requests`` is queued or running as a job of this server
    (a prefetch, say, that a page counts without following it)."""
    jobs = manager()
    return any(job is not None and job.state in ACTIVE for job in (jobs.get(kind, spec) for kind, spec in requests))


def snapshot(jobs: list[Job]) -> list[Job]:
    """Copies of the jobs as they are now (the manager's thread updates the originals)."""
    return [copy.copy(job) for job in jobs]


def keep_refreshing(every_s: float = REFRESH_S) -> None:
    """Rerun the page within ``every_s`` like a page that follows jobs (``refresh``), also for
    jobs it shows without following them (prefetches it counts, which following would promote
    to the foreground). The shortest interval asked for in a run wins."""
    st.session_state[FOLLOWING] = min(every_s, st.session_state.get(FOLLOWING) or every_s)


def begin() -> None:
    """Start a run: no job followed yet (app.py calls this first)."""
    st.session_state[FOLLOWING] = False


def refresh() -> None:
    """Rerun the page REFRESH_S from now while a job it follows is active (app.py calls this
    once the page has drawn). The rerun comes at the end of the script, after every widget
    has registered, never from a timed fragment: a fragment's ``st.rerun()`` under load let
    a fragment run write into the next run's half-built page, which crashed the frontend
    into a white page ("Bad delta path index", seen by tests_browser/test_projector.py).
    A page must not ``st.stop()`` after ``follow``: Streamlit cannot rerun a stopped script
    (``ScriptRequests.request_rerun`` refuses), so the page would freeze while its jobs run and
    then lose them (``jobs.ABANDON_S``); tests/test_app.py checks every page's source for it.
    ``QML_LAB_PAGE_POLL=0`` turns it off (AppTests rerun the page themselves)."""
    interval = st.session_state.get(FOLLOWING)
    if interval and os.environ.get("QML_LAB_PAGE_POLL", "1") != "0":
        pause(interval)
        st.rerun()


def pause(seconds: float) -> None:
    """Sleep up to ``seconds`` in slices of ``PAUSE_SLICE_S``, each reading the session state:
    Streamlit checks there for a pending rerun request (a click, a slider move) and starts that
    run at once (by raising in this thread, as at any ``st`` call). A plain ``time.sleep`` made a
    user's move wait out the rest of the pause."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(min(PAUSE_SLICE_S, max(0.0, end - time.monotonic())))
        _ = FOLLOWING in st.session_state  # a yield point: a pending rerun interrupts here


def results(jobs: list[Job]) -> list[dict | None]:
    """Each job's result, or None while it is not done (``follow`` answers with these for the
    jobs as it drew them)."""
    return [j.result if j.state == "done" else None for j in jobs]
