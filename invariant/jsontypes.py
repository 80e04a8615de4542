"""Plain Python types for JSON: numpy scalars and arrays to numbers and lists."""
from __future__ import annotations

import math

import numpy as np


def plain(obj):
    """Dicts, lists, numpy arrays and scalars to plain Python; complex numbers to [re, im].

    Non-finite floats are kept (see :func:`jsonable` for JSON files)."""
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [plain(v) for v in obj.tolist()] if obj.ndim else plain(obj.item())
    if isinstance(obj, (complex, np.complexfloating)):
        return [float(obj.real), float(obj.imag)]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def jsonable(obj):
    """:func:`plain`, with non-finite floats as ``None`` (JSON has no NaN or Infinity)."""
    obj = plain(obj)
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
