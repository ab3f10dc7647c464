"""Layer 0, the disk: the result cache (keys = spec hash + code version, locks with a heartbeat so
that no result is computed twice, a size limit measured on disk, no link followed inside it,
integrity checks) and result files written atomically. ``cache.py`` is the cache's API; its
concerns are in ``codec``, ``containment``, ``disk``, ``limit``, ``locks``, ``faults`` and
``quarantine``.

Imports from: nothing else in qml_core.
"""
