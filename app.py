"""Entry point of the Streamlit lab: registers the pages with st.navigation and runs one.

The sidebar's teacher mode hides the advanced controls on every page; like every control it
is kept in the URL.
"""
import logging

import streamlit as st

from lab_ui import cache_notices, charts, progress, url_state, warm
from qml_core.runtime.jobs import manager

st.set_page_config(page_title="QML poisoning & unlearning lab", page_icon="⚛️", layout="wide")
url_state.begin()
progress.begin()
manager()  # starts the job fork server in the background while the first page draws
PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/playground.py", title="Poisoning playground", icon=":material/science:"),
    st.Page("pages/phase.py", title="Phase diagram", icon=":material/trending_down:"),
    st.Page("pages/unlearning.py", title="Unlearning", icon=":material/cleaning_services:"),
    st.Page("pages/landscape.py", title="Loss landscape", icon=":material/landscape:"),
    st.Page("pages/data.py", title="Data explorer", icon=":material/search:"),
    st.Page("pages/summary.py", title="What the lab measured", icon=":material/summarize:"),
]
page = st.navigation(PAGES)
with st.sidebar:
    url_state.toggle("Teacher mode", "teacher", help="Hide the advanced controls (seeds, presets, executors, runs) and guide a lesson through the pages.")
    charts.format_control()
loading = warm.notice()
cache_notices.show()
try:
    page.run()
except Exception as exc:  # a bug in a view: one line and a way on, never Streamlit's exception box
    logging.getLogger("qml_lab").exception("the page %s failed", page.title)
    st.error(f"This view hit an internal error ({type(exc).__name__}: {exc}). Its runs go on and are kept; the "
             "page tries again as they finish, or change a control. Please report it (the server log has the details).")
finally:
    if loading is not None:
        loading.empty()
    warm.start()  # after the first page has drawn (a thread importing torch slows it): the next pages open at once
progress.refresh()
