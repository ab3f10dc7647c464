"""Layer 0, the disk: the result cache (keys = spec hash + code version, locks so that no
result is computed twice, integrity checks) and result files written atomically.

Imports from: nothing else in qml_core.
"""
