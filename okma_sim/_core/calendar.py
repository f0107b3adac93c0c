"""Calendar months: the one month pattern and all month arithmetic.

Month numbers are ``Period[M]`` ordinals (months since 1970-01): consecutive months differ by
1 and ``number % 12`` is the calendar month minus 1.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = ["MONTH_PATTERN", "MONTH_RE", "calendar_month", "month_ordinal", "month_number",
           "month_text", "month_numbers", "month_range", "is_month"]

#: a calendar month as written in scenarios, histories and the CLI: ``YYYY-MM``
MONTH_PATTERN = r"[12]\d{3}-(?:0[1-9]|1[0-2])"
MONTH_RE = re.compile(MONTH_PATTERN)


def is_month(text: object) -> bool:
    """True if ``text`` is a ``YYYY-MM`` month.

    Examples
    --------
    >>> is_month("2027-01"), is_month("2027-13"), is_month(202701)
    (True, False, False)
    """
    return isinstance(text, str) and MONTH_RE.fullmatch(text) is not None


def month_number(month: str) -> int:
    """The month number of ``YYYY-MM``.

    Examples
    --------
    >>> month_number("1970-02"), month_number("2027-01") % 12
    (1, 0)
    """
    return int(pd.Period(month, freq="M").ordinal)


def month_text(number: int) -> str:
    """``YYYY-MM`` of a month number (the inverse of :func:`month_number`).

    Examples
    --------
    >>> month_text(month_number("2026-12") + 1)
    '2027-01'
    """
    year, month0 = divmod(int(number), 12)
    return f"{1970 + year:04d}-{month0 + 1:02d}"


def month_range(start: str, n: int) -> list[str]:
    """``n`` consecutive months from ``start``.

    Examples
    --------
    >>> month_range("2027-11", 3)
    ['2027-11', '2027-12', '2028-01']
    """
    first = month_number(start)
    return [month_text(first + k) for k in range(int(n))]


def month_ordinal(dates: pd.Series) -> np.ndarray:
    """Month numbers of non-missing dates."""
    dates = pd.to_datetime(dates)
    return ((dates.dt.year - 1970) * 12 + dates.dt.month - 1).to_numpy(dtype=np.int64)


def month_numbers(frame: pd.DataFrame) -> np.ndarray:
    """Month numbers of a history's or panel's rows: its ``period`` column (the loaders'),
    else its ``month`` text."""
    period = frame.get("period")
    if period is not None and isinstance(period.dtype, pd.PeriodDtype):
        return period.array.asi8.copy()
    return pd.PeriodIndex(frame["month"].astype(str), freq="M").asi8


def calendar_month(numbers) -> np.ndarray:
    """Month of year (1..12) of month numbers (the ``Period[M]`` ordinals of
    :func:`month_number`).

    Examples
    --------
    >>> calendar_month([month_number("2027-01"), month_number("2027-12")]).tolist()
    [1, 12]
    """
    return np.asarray(numbers, dtype=np.int64) % 12 + 1
