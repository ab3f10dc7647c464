"""The engine's modules imported once per server process, in the background, from its start.

A page's first visit after the server started imports torch and PennyLane through the engine
(measured: 3 s on an idle 2-core machine, 17 s while other work held both cores), and its
main area stayed empty until then: a blank page. ``notice`` shows one line in the main area
while a page still waits for them, so a page is never blank, and ``start`` imports them in a
thread once the first page has drawn (started earlier, the thread slows that first page: the
import holds the interpreter lock much of the time), so the next pages open at once.

Once imported, the engine's objects (some 300 000: torch, PennyLane, plotly) are frozen out of
the garbage collector (``gc.freeze``): Streamlit runs a full collection after every script run
(``runner.postScriptGC``), which scanned them all each time, 0.1 s on an idle machine and
0.4 s beside a browser, at every one-second rerun of a page that follows jobs.
"""
import gc
import importlib
import sys
import threading

import streamlit as st

ENGINE = ("torch", "pennylane", "qml_core.reporting.plots", "qml_core.experiments.explore",
          *(f"qml_core.experiments.{m}" for m in ("experiment", "curvature", "landscape", "unlearn", "unlearn_summary",
                                                  "capacity", "sweep")))
_started = threading.Event()


def _import_and_freeze() -> None:
    for module in ENGINE:
        importlib.import_module(module)
    gc.collect()  # the garbage of the imports goes first: frozen objects are never collected
    gc.freeze()


def start() -> None:
    """Import the engine in a daemon thread, once per process, then freeze it out of the GC."""
    if not _started.is_set():
        _started.set()
        threading.Thread(target=_import_and_freeze, daemon=True, name="qml-lab-warm").start()


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
