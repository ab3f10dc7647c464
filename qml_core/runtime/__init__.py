"""Layer 3, where and when work runs: background job processes (progress, cancel, priorities),
the local/Dask/Ray batch backends, memory estimates, CPU load, ETAs, prefetch guesses and the
process lifetime (signals, identity).

``jobs`` runs experiments by name (``jobs.TASKS`` names their modules, imported in the worker),
so this layer starts higher-layer work without importing it.

Imports from: specs, store, data, sim, training.
"""
