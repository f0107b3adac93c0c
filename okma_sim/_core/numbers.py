"""The range of numbers an input may hold: large enough for every realistic business (amounts
up to 1e12 in any currency, summed over years and reps), small enough that no sum, square or
product the models form can overflow a float, and no nonzero value so small it has no meaning
(a subnormal like 5e-324 turns into infinity when divided by)."""

from __future__ import annotations

import math

__all__ = ["MAX_MAGNITUDE", "MIN_MAGNITUDE", "magnitude_problem"]

#: the largest size of any number in a scenario or a data file (1e15: 1000 times 1e12)
MAX_MAGNITUDE = 1e15
#: the smallest size of a nonzero number (smaller ones are refused: write 0)
MIN_MAGNITUDE = 1e-12


def magnitude_problem(v: float | int) -> str | None:
    """Why ``v`` is out of range (not finite, too large or too small to mean anything), or
    None when it is fine.

    Examples
    --------
    >>> magnitude_problem(1e12) is None, magnitude_problem(0.0) is None
    (True, True)
    >>> magnitude_problem(1e308)
    'must be at most 1e+15 in size'
    >>> magnitude_problem(5e-324)
    'must be 0 or at least 1e-12 in size (a smaller number means nothing here)'
    """
    if isinstance(v, int):  # a TOML integer may be far beyond any float
        return None if abs(v) <= MAX_MAGNITUDE else f"must be at most {MAX_MAGNITUDE:g} in size"
    if not math.isfinite(v):
        return "must be a finite number"
    if abs(v) > MAX_MAGNITUDE:
        return f"must be at most {MAX_MAGNITUDE:g} in size"
    if v != 0 and abs(v) < MIN_MAGNITUDE:
        return f"must be 0 or at least {MIN_MAGNITUDE:g} in size (a smaller number means " \
               "nothing here)"
    return None
