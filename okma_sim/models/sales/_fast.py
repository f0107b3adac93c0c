"""Speed shortcuts of the monthly step, each bit-identical to the plain numpy it replaces.

The model's equations are in ``_month.py``; this module holds what only makes them faster:
responses no rule of the plan can start are switched off for the whole run, masked copies are
products while that is exact, and sparse updates of (paths, seats) arrays assign only the seats
that change. Every shortcut drops only terms that are exactly ``+ 0.0`` or ``* 1.0``, or copies
values ``np.where`` would copy, so results do not change by a bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ._state import SalesState

__all__ = ["Masker", "Shortcuts", "count_down_vacancies", "find_shortcuts", "is_plain",
           "sparse_where"]


def is_plain(a: np.ndarray) -> bool:
    """Whether ``a`` is float64, finite and >= +0.0 (no -0.0): then ``a * mask`` equals
    ``np.where(mask, a, 0.0)`` bit for bit (x * 1 = x, x * 0 = +0.0)."""
    return a.dtype == np.float64 and bool(((a >= 0) & (a < math.inf)).all()) \
        and not np.signbit(a).any()


class Masker:
    """``masker(mask)`` = ``np.where(mask, st.<name>, 0.0)``: a product while the array is
    plain (checked again whenever the state holds a new array), else ``np.where``."""

    def __init__(self, st: SalesState, name: str) -> None:
        self.st, self.name, self.seen, self.ok = st, name, None, False

    def __call__(self, mask: np.ndarray) -> np.ndarray:
        a = getattr(self.st, self.name)
        if a is not self.seen:
            self.seen, self.ok = a, is_plain(a) and a.shape == mask.shape
        return a * mask if self.ok else np.where(mask, a, 0.0)


def sparse_where(cond: np.ndarray, value, old: np.ndarray, cast=None,
                 idx: np.ndarray | None = None) -> np.ndarray:
    """``np.where(cond, value, old)`` (then ``.astype(cast)``), bit for bit, faster for a sparse
    ``cond`` over (paths, seats): a copy of ``old`` with the ``cond`` seats assigned (``old``
    itself when none is). ``value``: a number, or float64 per path (paths, 1) or per seat.
    Other dtypes and shapes take ``np.where``. ``idx``: ``np.flatnonzero(cond)`` if known."""
    want = np.dtype(np.float64 if cast is None else cast)
    arr = isinstance(value, np.ndarray)
    if (old.dtype != want or old.ndim != 2 or old.shape != cond.shape
            or (arr and (value.dtype != np.float64 or value.ndim != 2
                         or value.shape not in (cond.shape, (cond.shape[0], 1))))
            or (not arr and not (isinstance(value, (float, int)) and not isinstance(value, bool)
                                 and (cast is None or -128 <= value < 128)))):
        new = np.where(cond, value, old)
        return new if cast is None else new.astype(cast)
    if idx is None:
        idx = np.flatnonzero(cond)
    if not idx.size:
        return old
    new = old.copy()
    flat = new.reshape(-1)
    if not arr:
        flat[idx] = value
    elif value.shape[1] == 1:
        flat[idx] = value[idx // cond.shape[1], 0]
    else:
        flat[idx] = value.reshape(-1)[idx]
    return new


def count_down_vacancies(st: SalesState) -> None:
    """``st.vacancy_left -= 1`` on vacant seats (``np.where(seat == 1, v - 1, v)``), touching
    only those seats: few are vacant in any month."""
    was_vacant = st.seat == 1
    if st.vacancy_left.dtype == np.float64 and st.vacancy_left.shape == st.seat.shape:
        vac = np.flatnonzero(was_vacant)
        if vac.size:
            st.vacancy_left = st.vacancy_left.copy()
            st.vacancy_left.reshape(-1)[vac] -= 1
    else:
        st.vacancy_left = np.where(was_vacant, st.vacancy_left - 1, st.vacancy_left)


@dataclass
class Shortcuts:
    """Which parts of the monthly step a run may skip, and what it can compute once.

    A response timer no rule of the plan can start, and whose arrays are all +0.0, stays so
    for the whole run (ticks and departures keep +0.0): its response is off in every month,
    so its masks, ``np.where``'s and ticks are skipped.
    """

    idle: frozenset[str]  # timers ("coach", "train", "shift", "mkt") that stay off
    coach_idle: bool  # no coaching: its multiplier is exactly 1 (needs a finite effect)
    train_idle: bool
    mkt_idle: bool
    shift_idle: bool
    # with no shift in any month, the effort before capping is the same every month:
    # (prospect visits, customer visits, visit hours)
    idle_visits: tuple[np.ndarray, ...] | None
    coach_hours_on: Masker  # the coaching hours of the seats coached now
    train_extra_on: Masker  # the extra training hours of the seats trained now
    # tenure + 1.0 where filled equals tenure + f_filled when no tenure is -0.0 or NaN
    # (x + 0.0 is then x); the update and refills (+0.0) keep it so
    tenure_plain: bool


def _all_plus_zero(*arrays: np.ndarray) -> bool:
    return all(x.dtype == np.float64 and not x.any() and not np.signbit(x).any()
               for x in arrays)


def find_shortcuts(st: SalesState, rules: Sequence, every: int,
                   visits: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]
                   ) -> Shortcuts:
    """The shortcuts a run from state ``st`` under ``rules`` (reviewed every ``every``
    months) may take. ``visits(shift)``: the month's visit plan under a visit shift."""
    started = {r.response for r in rules} if every > 0 else set()
    idle = frozenset(
        t for t, resp, arrs in (
            ("coach", "coaching", (st.coach_wait, st.coach_left)),
            ("train", "training", (st.train_wait, st.train_left)),
            ("shift", "shift_visits", (st.shift_wait, st.shift_left)),
            ("mkt", "marketing_push", (st.mkt_wait, st.mkt_left, st.mkt_events)))
        if resp not in started and _all_plus_zero(*arrs))
    idle_visits = None
    if "shift" in idle:
        pv, cv, visit_h = visits(np.zeros(st.seat.shape))  # a month without shifts
        idle_visits = (pv, cv, visit_h)
    tenure_plain = st.tenure.dtype == np.float64 and not (
        np.isnan(st.tenure).any() or np.signbit(st.tenure[st.tenure == 0]).any())
    return Shortcuts(
        idle=idle,
        # coach_mult = 1 + 0 * effect is exactly 1 only for a finite effect
        coach_idle="coach" in idle and bool(np.isfinite(st.coach_effect).all()),
        train_idle="train" in idle, mkt_idle="mkt" in idle, shift_idle="shift" in idle,
        idle_visits=idle_visits,
        coach_hours_on=Masker(st, "coach_hours"), train_extra_on=Masker(st, "train_extra"),
        tenure_plain=tenure_plain)
