"""Number formatting for the report: estimates always with their uncertainties."""
from __future__ import annotations

import math


def finite(x) -> bool:
    """Whether ``x`` is a real, finite number."""
    try:
        return x is not None and not isinstance(x, bool) and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def num(x, digits: int = 4) -> str:
    """``x`` with ``digits`` significant digits; "—" for a missing or non-finite value."""
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}".replace(",", " ") if abs(x) >= 10000 else str(x)
    if not finite(x):
        return "—" if x is None else str(x) if isinstance(x, str) else "—"
    return f"{float(x):.{digits}g}"


def count(x) -> str:
    """A count or effective sample size: integer digits from 100 on."""
    if not finite(x):
        return "—"
    x = float(x)
    return f"{x:,.0f}".replace(",", " ") if abs(x) >= 100 else f"{x:.3g}"


def pm(x, se, digits: int = 4) -> str:
    """``x ± se``: ``se`` to two significant digits and ``x`` to the same last decimal
    (``digits`` significant digits at most); ``x`` alone when ``se`` is missing or 0."""
    if not finite(se) or float(se) == 0 or not finite(x):
        return num(x, digits)
    x, se = float(x), abs(float(se))
    last = math.floor(math.log10(se)) - 1  # decimal exponent of se's second digit
    if -6 <= last <= 0 and (x == 0 or math.floor(math.log10(abs(x))) - last < 8):
        dec = -last
        return f"{x:.{dec}f} ± {se:.{dec}f}"
    return f"{x:.{digits}g} ± {se:.2g}"


def interval(iv, digits: int = 4) -> str:
    """``[lo, hi]``; "—" when missing."""
    if not iv or len(iv) != 2 or not all(finite(v) for v in iv):
        return "—"
    return f"[{num(iv[0], digits)}, {num(iv[1], digits)}]"


def seconds(x) -> str:
    """A duration in s, min or h."""
    if not finite(x):
        return "—"
    x = float(x)
    if x < 120:
        return f"{x:.3g} s"
    if x < 7200:
        return f"{x / 60:.3g} min"
    return f"{x / 3600:.3g} h"


def greek(name: str) -> str:
    """Coordinate names with the mathematics' letters: ``theta[0]`` → ``θ[0]``."""
    for a, b in (("theta", "θ"), ("omega", "ω"), ("psi", "ψ")):
        name = name.replace(a, b)
    return name
