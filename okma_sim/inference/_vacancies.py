"""Seats vacant at the end of a history: which departures no newcomer replaced (the rule that
calibrate, which writes them to the roster, and the backtest, which starts its forecast from
them, share), and the roster entries of those seats."""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from okma_sim._core.calendar import month_text
from okma_sim.plan import Rep

from ._priors import prior_mean

__all__ = ["VACANT_PREFIX", "hiring_delay", "open_departures", "seat_book", "vacant_reps",
           "vacancy_warning"]

#: id of a vacant seat in a written roster: this prefix and the id of the rep who left it
VACANT_PREFIX = "vacant:"


def open_departures(span: pd.DataFrame, end: int,
                    at_most: int | None = None) -> list[tuple[str, int]]:
    """Reps who left before month ``end`` and whose seat no newcomer took, oldest departure
    first.

    Parameters
    ----------
    span : DataFrame
        Indexed by rep id, columns ``min`` and ``max``: the first and last month number each
        rep worked, in the history up to ``end``.
    end : int
        The history's last month number.
    at_most : int, optional
        Keep only this many, the most recent (a roster holds no more seats than the team
        ever had reps).

    Returns
    -------
    list of (rep_id, last month number)
        A rep whose last month is before ``end`` left. A newcomer (first month after the
        history's first) takes, in order of first month (then id), the seat of the earliest
        departure before their first month that nobody took yet: first in, first out, so the
        seats still open are those of the most recent departures.

    Examples
    --------
    >>> span = pd.DataFrame({"min": [0, 0, 0, 3], "max": [5, 1, 3, 5]},
    ...                     index=["a", "b", "c", "d"])
    >>> open_departures(span, 5)  # d took b's seat; c's is open
    [('c', 3)]
    """
    first = int(span["min"].min())
    leavers = span[span["max"] < end].sort_values("max", kind="stable")
    hires = span[span["min"] > first].sort_values("min", kind="stable")
    taken: set[str] = set()
    for h in hires.itertuples():
        seat = next((lv for lv in leavers.itertuples()
                     if lv.Index not in taken and lv.max < h.min), None)
        if seat is not None:
            taken.add(seat.Index)
    out = [(str(lv.Index), int(lv.max)) for lv in leavers.itertuples() if lv.Index not in taken]
    return out if at_most is None else out[max(0, len(out) - at_most):]


def hiring_delay(distribution: object) -> int:
    """Whole months a seat stays vacant: the hiring delay's mean, rounded as the model rounds
    each path's draw (half to even), at least 0.

    Examples
    --------
    >>> from okma_sim.params import Distribution
    >>> hiring_delay(Distribution("triangular", {"low": 1.0, "mode": 2.0, "high": 4.0}))
    2
    """
    return max(0, int(np.rint(prior_mean(distribution))))


def seat_book(book: float, months_vacant: int, churn_base: float) -> float:
    """The book of a seat vacant for ``months_vacant`` months, from the ``book`` its rep
    carried out of their last month: nobody visits those customers (the ``unserved``
    vacancy), so each month they churn at the no-visit hazard ``churn_base``; in whole
    customers, as the model's books.

    Examples
    --------
    >>> seat_book(40.0, 2, 0.05)
    36.0
    """
    return float(round(book * (1.0 - churn_base) ** months_vacant))


def vacant_reps(open_seats: list[tuple[str, int]], end: int, delay: int,
                books: Mapping[str, float]) -> tuple[Rep, ...]:
    """The roster entries of the open seats: id ``vacant:<rep who left>``, the book
    ``books[rep]``, no tenure or skill (the new rep is drawn), and ``vacant_months`` = the
    hiring delay less the months the seat has already stood vacant at ``end``, at least 0.

    Examples
    --------
    >>> vacant_reps([("c", 3)], 5, 3, {"c": 40.0})[0]
    Rep(id='vacant:c', tenure_months=None, customers=40.0, skill=None, vacant_months=1)
    """
    return tuple(Rep(id=f"{VACANT_PREFIX}{rep}", customers=float(books[rep]),
                     vacant_months=max(0, delay - (end - last))) for rep, last in open_seats)


def vacancy_warning(vacant: tuple[Rep, ...], open_seats: list[tuple[str, int]], end: int,
                    seats: int, delay: int) -> str:
    """What the roster keeps of the seats vacant at the end of the history.

    Examples
    --------
    >>> seats = [("c", 1)]
    >>> vacancy_warning(vacant_reps(seats, 5, 2, {"c": 40.0}), seats, 5, 4, 2)[:62]
    '1 seat(s) vacant in 1970-06 (the team had 4 reps at most) are '
    """
    each = ", ".join(f"{r.id} ({r.customers:g} customers, a new rep after "
                     f"{r.vacant_months} plan month{'s' * (r.vacant_months != 1)})"
                     for r in vacant)
    long = [f"{VACANT_PREFIX}{rep}" for rep, last in open_seats if end - last > delay]
    note = (f"; {', '.join(long)} stood vacant longer than the hiring delay ({delay} months): "
            "filled at the plan's start" if long else "")
    return (f"{len(vacant)} seat(s) vacant in {month_text(end)} (the team had {seats} reps at "
            f"most) are kept in the roster: {each}{note}")
