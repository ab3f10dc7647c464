"""Every page runs through app.py, even when a shared link is a fresh server's first request.

Streamlit treats an app with a ``pages/`` folder as a v1 multipage app until its entry script
first calls ``st.navigation`` (which clears ``PagesManager.uses_pages_directory`` for the whole
server). Until then a request for ``/playground`` runs pages/playground.py on its own: file
names as navigation, no teacher mode. A page opened that way clears the flag itself, as
``st.navigation`` would, and reruns, so app.py runs and resolves the same URL.
"""
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def through_app() -> None:
    """Call first on every page: rerun via app.py if Streamlit ran this page on its own."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
