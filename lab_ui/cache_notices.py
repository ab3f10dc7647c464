"""One line on the page for each cache entry the lab found unreadable and set aside.

A job's worker process quarantines the entry and prints its warning on the server's stderr,
which nobody at the browser reads; ``show`` repeats each line quarantined since this browser
session began, as the CLI printed it (``qml_core.store.quarantine``).
"""
import time

import streamlit as st

from qml_core.store.cache import cache_dir
from qml_core.store.quarantine import quarantined_since

SINCE = "_cache_quarantine_since"


def show() -> None:
    """A warning line per entry quarantined since the session's first run."""
    since = st.session_state.setdefault(SINCE, time.time())
    for line in quarantined_since(cache_dir(), since):
        st.warning(line.removeprefix("warning: ").capitalize(), icon=":material/inventory_2:")
