"""The lab's value format: results as JSON plus ``.npy`` arrays, never a pickle.

``encode`` turns a result (dicts, lists, tuples, numbers, strings, numpy arrays and scalars) into
bytes; ``decode`` turns them back, reading arrays with ``allow_pickle=False``, and raises
``UnreadableEntry`` for anything else (damaged bytes, a planted pickle): reading the cache never
runs code.
"""
import io
import json
import struct

import numpy as np


class UnreadableEntry(Exception):
    """A cache value in a form other than the lab's own (a pickle, damaged bytes): a miss."""


MODE_LAB = 16  # the SQLite mode of a value in the lab's format (diskcache's own modes are 0..4)
MAGIC = b"qml-lab-value-v1\n"
TAG = "__qml_lab__"  # marks the JSON objects that stand for arrays, tuples and non-string-keyed dicts


def _pack(value, arrays: list):
    """``value`` as JSON-ready data, its numpy arrays appended to ``arrays`` (referenced by index)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        if array.dtype.hasobject:
            raise TypeError("the result cache stores numeric arrays, not object arrays")
        arrays.append(array)
        return {TAG: "scalar" if isinstance(value, np.generic) else "array", "index": len(arrays) - 1}
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, list):
        return [_pack(v, arrays) for v in value]
    if isinstance(value, tuple):
        return {TAG: "tuple", "items": [_pack(v, arrays) for v in value]}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and TAG not in value:
            return {k: _pack(v, arrays) for k, v in value.items()}
        return {TAG: "dict", "items": [[_pack(k, arrays), _pack(v, arrays)] for k, v in value.items()]}
    raise TypeError(f"the result cache stores plain data and numpy arrays, not {type(value).__name__}")


def _unpack(data, arrays: list):
    """The inverse of ``_pack``."""
    if isinstance(data, list):
        return [_unpack(v, arrays) for v in data]
    if not isinstance(data, dict):
        return data
    kind = data.get(TAG)
    if kind is None:
        return {k: _unpack(v, arrays) for k, v in data.items()}
    if kind in ("array", "scalar"):
        array = arrays[data["index"]]
        return array[()] if kind == "scalar" else array
    if kind == "tuple":
        return tuple(_unpack(v, arrays) for v in data["items"])
    if kind == "dict":
        return {_hashable(_unpack(k, arrays)): _unpack(v, arrays) for k, v in data["items"]}
    raise UnreadableEntry(f"unknown tag {kind!r}")


def _hashable(key):
    if isinstance(key, np.ndarray) or isinstance(key, (list, dict)):
        raise UnreadableEntry("a dict key that is not hashable")
    return key


def encode(value) -> bytes:
    """MAGIC, the JSON length (8 bytes, little-endian), the JSON of ``_pack(value)``, then each
    array as an .npy record (np.save with allow_pickle=False)."""
    arrays = []
    text = json.dumps({"value": _pack(value, arrays), "arrays": len(arrays)}, separators=(",", ":")).encode()
    out = io.BytesIO()
    out.write(MAGIC + struct.pack("<Q", len(text)) + text)
    for array in arrays:
        np.save(out, array, allow_pickle=False)
    return out.getvalue()


def decode(blob: bytes):
    """The value ``encode`` stored; UnreadableEntry for anything else. Never unpickles."""
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 8:
        raise UnreadableEntry("not a value in the lab's format")
    (length,) = struct.unpack_from("<Q", blob, len(MAGIC))
    start = len(MAGIC) + 8
    try:
        head = json.loads(blob[start:start + length])
        stream = io.BytesIO(blob[start + length:])
        arrays = [np.lib.format.read_array(stream, allow_pickle=False) for _ in range(int(head["arrays"]))]
    except (ValueError, KeyError, TypeError, OSError, EOFError) as exc:
        raise UnreadableEntry(f"damaged value: {exc}") from None
    if stream.read(1):
        raise UnreadableEntry("trailing bytes after the arrays")
    try:
        return _unpack(head["value"], arrays)
    except (IndexError, KeyError, TypeError) as exc:
        raise UnreadableEntry(f"damaged value: {exc}") from None
