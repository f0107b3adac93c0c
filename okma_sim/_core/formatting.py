"""The one number formatter for text shown to people (tables, messages, chart labels).

Files keep their own exact forms (a sweep CSV writes round-tripping numbers); this is for
reading at a glance.
"""

from __future__ import annotations

import math

__all__ = ["format_number", "format_share"]


def format_number(x: float | None, *, digits: int = 3) -> str:
    """A number for people: ``36.15M``, ``12.3k``, ``250``, ``0.302``; ``nan`` when missing.

    Millions get two decimals, tens of thousands one, whole numbers and anything of 100 or
    more none, and smaller numbers ``digits`` decimals.

    Examples
    --------
    >>> format_number(36_150_000), format_number(12_345), format_number(7.0)
    ('36.15M', '12.3k', '7')
    >>> format_number(0.30215), format_number(None), format_number(8.7e20)
    ('0.302', 'nan', '8.7e+20')
    """
    if x is None:
        return "nan"
    x = float(x)
    if not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    ax = abs(x)
    if ax >= 1e12:  # beyond any sales figure: say so in scientific form, not 20 digits of M
        return f"{x:.3g}"
    if ax >= 1e6:
        return f"{x / 1e6:.2f}M"
    if ax >= 1e4:
        return f"{x / 1e3:.1f}k"
    if ax >= 100 or x.is_integer():
        return f"{x:.0f}"
    return f"{x:.{digits}f}"


def format_share(x: float) -> str:
    """A share in [0, 1] as a percentage with one decimal, never rounding a positive share
    down to "0.0%" (a reader would take it for none).

    Examples
    --------
    >>> format_share(0.0), format_share(0.00001), format_share(0.0394), format_share(1.0)
    ('0.0%', '<0.1%', '3.9%', '100.0%')
    """
    if 0 < x < 0.0005:
        return "<0.1%"
    return f"{x:.1%}"
