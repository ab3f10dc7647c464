"""Layer 6, ``python -m qml_core``: the argument parser (``main``) and the commands it runs.

Imports from: specs, store, data, training, runtime, experiments, reporting.
"""
