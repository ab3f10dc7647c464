"""The engine's modules imported once per server process, in the background, from its start.

A page's first visit after the server started imports torch and PennyLane through the engine
(measured: 3 s on an idle 2-core machine, 17 s while other work held both cores), and its
main area stayed empty until then: a blank page. ``notice`` shows one line in the main area
while a page still waits for them, so a page is never blank, and ``start`` imports them in a
thread once the first page has drawn (started earlier, the thread slows that first page: the
import holds the interpreter lock much of the time), so the next pages open at once.
"""
import importlib
import sys
import threading

import streamlit as st

ENGINE = ("torch", "pennylane", "qml_core.reporting.plots", "qml_core.experiments.explore",
          *(f"qml_core.experiments.{m}" for m in ("experiment", "curvature", "landscape", "unlearn", "unlearn_summary",
                                                  "capacity", "sweep")))
_started = threading.Event()


def start() -> None:
    """Import the engine in a daemon thread, once per process."""
    if not _started.is_set():
        _started.set()
        threading.Thread(target=lambda: [importlib.import_module(m) for m in ENGINE], daemon=True,
                         name="qml-lab-warm").start()


def ready() -> bool:
    return all(m in sys.modules for m in ENGINE)


def notice():
    """A placeholder line while the engine is still being imported (None once it is): the
    caller empties it when the page has drawn."""
    if ready():
        return None
    holder = st.empty()
    holder.caption("Loading the simulation engine (torch, PennyLane): the first page after the server "
                   "started takes a few seconds…")
    return holder
