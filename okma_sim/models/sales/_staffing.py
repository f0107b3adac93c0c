"""Staffing between months (docs/model.md section 5): departures, vacant seats refilled after
the hiring delay, and the seats of the ``new_reps`` lever opened at ``team.new_reps_month``,
each new rep taking a share of the books when ``team.new_rep_book = "share"``."""

from __future__ import annotations

import numpy as np

from ._fast import count_down_vacancies, sparse_where
from ._state import SalesState

__all__ = ["departures", "open_new_seats", "refills", "rep_skill"]


def rep_skill(cv: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Skill of a new rep: lognormal with mean 1 and coefficient of variation ``cv``, from
    standard normals ``z``."""
    s2 = np.log1p(cv * cv)
    return np.exp(-s2 / 2 + np.sqrt(s2) * z)


def departures(run, st: SalesState, m, stream, diag: dict[str, float]) -> None:
    """Attrition at the end of the month: a leaver's seat falls vacant for the hiring delay
    and its running responses end; vacant seats count down. The seat keeps its book."""
    leave = (stream.random((run.n, run.S)) < run.h_att[:, None]) & m.filled
    diag["departures"] += float(np.count_nonzero(leave))
    count_down_vacancies(st)
    gone = np.flatnonzero(leave)
    st.vacancy_left = sparse_where(leave, run.hire_delay[:, None], st.vacancy_left, idx=gone)
    st.seat = sparse_where(leave, 1, st.seat, np.int8, gone)
    for t in ("coach", "train", "shift"):
        if t not in run.fast.idle:  # an idle timer is +0.0 already
            setattr(st, f"{t}_left", sparse_where(leave, 0.0, getattr(st, f"{t}_left"),
                                                  idx=gone))


def refills(run, st: SalesState, stream, diag: dict[str, float]) -> None:
    """A vacant seat whose delay is over is filled by a new rep: tenure 0, no training stock,
    a fresh skill (a delay of 0 refills a seat in the month it fell vacant)."""
    z_new = stream.standard_normal((run.n, run.S))  # drawn every month: streams stay aligned
    refill = (st.seat == 1) & (st.vacancy_left <= 0)
    if refill.any():
        hired = np.flatnonzero(refill)
        st.skill = sparse_where(refill, rep_skill(run.col["skill_cv"], z_new), st.skill,
                                idx=hired)
        _fill(run, st, refill, hired)
        diag["hires"] += float(np.count_nonzero(refill))


def open_new_seats(run, st: SalesState, diag: dict[str, float]) -> None:
    """The ``new_reps`` lever's seats open (at the start of ``team.new_reps_month``): vacant
    for the hiring delay, filled at once when it is 0 (with the skill drawn at the start)."""
    opening = st.seat == 3
    if not opening.any():
        return
    st.seat = np.where(opening, 1, st.seat).astype(np.int8)
    st.vacancy_left = np.where(opening, run.hire_delay[:, None], st.vacancy_left)
    now = opening & (st.vacancy_left <= 0)
    if now.any():
        _fill(run, st, now, np.flatnonzero(now))
        diag["hires"] += float(np.count_nonzero(now))


def _fill(run, st: SalesState, fill: np.ndarray, idx: np.ndarray) -> None:
    """Seats ``fill`` get a new rep (tenure 0, no training stock); a new rep's seat filled
    for the first time takes its share of the books."""
    st.tenure = sparse_where(fill, 0.0, st.tenure, idx=idx)
    st.seat = sparse_where(fill, 2, st.seat, np.int8, idx)
    st.train_stock = sparse_where(fill, 0.0, st.train_stock, idx=idx)
    if st.fresh is None:
        return
    first = fill & st.fresh
    if first.any():
        if run.share_books:
            _share_books(st, first)
        st.fresh = st.fresh & ~fill


def _share_books(st: SalesState, first: np.ndarray) -> None:
    """The seats filled for the first time now share the books evenly: every other staffed
    seat (vacant or filled) hands each of them ``floor(customers / k)``, ``k`` counting the
    staffed seats including the new ones, from its book as it stood before (so two new reps
    of one month get the same share)."""
    rows = first.any(axis=1)
    A = st.active[rows]
    new = first[rows]
    staffed = (st.seat[rows] == 1) | (st.seat[rows] == 2)  # the new seats are filled now
    k = staffed.sum(axis=1, keepdims=True)
    give = np.floor(A / k) * (staffed & ~new)
    A = A - give * new.sum(axis=1, keepdims=True) + give.sum(axis=1, keepdims=True) * new
    st.active = st.active.copy()
    st.active[rows] = A
