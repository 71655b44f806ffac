"""The one way gitops-ml writes a number for people: the terminal, lineage, the drift text,
the model card and the report tables all call :func:`number`.

Two styles, because two kinds of place need them: prose and plain text read best with a few
significant digits (``0.9805``, ``1.235e+05``); table columns line up with fixed decimals, and
switch to scientific notation only outside ``[0.001, 10⁶)``. Either way a missing value is
``—`` (never ``None``), a boolean is yes/no (never ``True``), NaN and infinities are spelled
out, and ``signed`` marks gains with ``+``.
"""

from __future__ import annotations

import math

MISSING = "—"


def number(value: object, *, digits: int = 4, fixed: bool = False, signed: bool = False,
           missing: str = MISSING) -> str:
    """``value`` as text: ``digits`` significant digits, or (``fixed``) ``digits`` decimals
    with thousands separators on integers. Anything that is not a number is ``str(value)``."""
    if value is None:
        return missing
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        if fixed:
            return f"{value:,}"
        return f"{value:+d}" if signed else str(value)
    if not isinstance(value, float):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if not fixed:
        return f"{value:+.{digits}g}" if signed else f"{value:.{digits}g}"
    sign = "+" if signed and value > 0 else ""
    if value == 0 or 1e-3 <= abs(value) < 1e6:
        return f"{sign}{value:.{digits}f}"
    return f"{sign}{value:.{max(digits - 2, 1)}e}"
