"""Effort and capacity (docs/model.md section 5): what each rep plans to do in a month, what
fits in the selling hours, and the customer visits each book receives.

A filled seat plans coaching and training hours (the plan's and the running responses'),
customer visits, covering visits (``team.vacancy = "shared"``: the vacant seats' customers and
a ramping rep's shortfall, split evenly over the filled seats) and prospect visits. When they
exceed the selling hours, the rep executes them in this priority, each as far as the hours
left allow: coaching, training, own customer visits, covering visits, prospect visits. Coaching
and training are booked sessions; the existing book is protected before new business is
sought. What was executed is what counts and what is paid.

A book receives its rep's customer visits times the rep's ramp (a new rep does not yet know the
customers), plus, when shared, its share of the covering visits; a vacant seat's book gets
only those.
"""

from __future__ import annotations

import numpy as np

from ._priors import WEEKS_PER_MONTH
from ._state import SalesState

__all__ = ["effort", "visit_plan"]

#: planned hours above the selling hours by more than this count as a capped rep-month
CAPPED_TOLERANCE_HOURS = 0.01
#: diagnostics summed as whole multiples of 1/16384 (of an hour or a visit) per path and
#: month: integers sum exactly in any order (below 2^53: 5e11 hours), so they merge alike
#: whatever the chunk size
_UNIT = 16384.0


def visit_plan(run, shift: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Planned prospect and customer visits per seat when ``shift`` visits a month move from
    prospects to customers, and the hours they take."""
    pv = np.maximum(run.pv_plan - shift, 0.0)
    cv = np.maximum(run.cv_plan + shift, 0.0)
    return pv, cv, pv * run.hpv + cv * run.hcv


def _training_and_coaching(run, st: SalesState, m) -> None:
    """Sets ``m.coach_on``, ``m.coach_h``, ``m.train_extra``, ``m.th``: coaching hours of the
    seats coached now, and the planned training hours plus those of running training
    responses."""
    fast = run.fast
    if fast.coach_idle:
        m.coach_on, m.coach_h = None, 0.0  # x - 0.0, x + 0.0 as with a zero array
    else:
        m.coach_on = (st.coach_wait <= 0) & (st.coach_left > 0) & m.filled
        m.coach_h = fast.coach_hours_on(m.coach_on)
    if fast.train_idle:
        m.th = (run.th_plan + 0.0) * m.f_filled
    else:
        m.train_extra = fast.train_extra_on((st.train_wait <= 0) & (st.train_left > 0)
                                            & m.filled)
        m.th = (run.th_plan + m.train_extra) * m.f_filled


def _cover_plan(run, st: SalesState, m, cv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Under ``vacancy = "shared"``: the covering visits each book needs (a vacant seat's
    planned customer visits, a ramping rep's shortfall; seats with customers only) and the
    covering visits each filled seat plans (the total split evenly over the filled seats)."""
    has_book = st.active > 0
    need = np.where(m.filled, cv * (1.0 - m.ramp), np.where(st.seat == 1, cv, 0.0)) * has_book
    n_filled = m.filled.sum(axis=1)
    per_rep = np.divide(need.sum(axis=1), n_filled, out=np.zeros(run.n), where=n_filled > 0)
    return need, per_rep[:, None] * m.f_filled


def _execute(run, m, pv: np.ndarray, cv: np.ndarray, cover: np.ndarray | float,
             capped: np.ndarray) -> tuple[np.ndarray, ...]:
    """What fits in the selling hours on the ``capped`` seats, by priority: coaching,
    training, customer visits, covering visits, prospect visits. Returns coaching hours,
    training hours, customer, covering and prospect visits executed."""
    left = np.full(capped.shape, float(run.cap_hours))

    def take(hours_each: float, wanted):
        # as many units as the hours left allow (all when a unit takes no time)
        if hours_each <= 0:
            return wanted
        got = np.minimum(wanted, left / hours_each)
        left[...] = np.maximum(left - got * hours_each, 0.0)
        return got

    coach = m.coach_h if np.isscalar(m.coach_h) else np.where(capped, take(1.0, m.coach_h),
                                                               m.coach_h)
    th = np.where(capped, take(1.0, m.th), m.th)
    cv_x = np.where(capped, take(run.hcv, cv), cv)
    cover_x = cover if np.isscalar(cover) else np.where(capped, take(run.hcv, cover), cover)
    pv_x = np.where(capped, take(run.hpv, pv), pv)
    return coach, th, cv_x, cover_x, pv_x


def _planned_visits(run, st: SalesState) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The month's planned prospect and customer visits per seat (any seat) and their hours."""
    if run.fast.shift_idle:
        return run.fast.idle_visits
    shift_on = (st.shift_wait <= 0) & (st.shift_left > 0)
    return visit_plan(run, np.where(shift_on, st.shift_amount, 0.0) * WEEKS_PER_MONTH)


def effort(run, st: SalesState, m, diag: dict[str, float]) -> None:
    """Sets the month's hours and visits: ``m.th``, ``m.coach_h`` (executed), ``m.pv`` and
    ``m.cv`` (visits made by each seat's rep, covering visits included), ``m.ramp`` and
    ``m.book_visits`` (the customer visits each seat's book receives). Empty seats make no
    visits."""
    pv, cv, visit_h = _planned_visits(run, st)
    _training_and_coaching(run, st, m)
    m.ramp = np.minimum(1.0, (st.tenure + 1.0) / run.ramp_den)
    need, cover = _cover_plan(run, st, m, cv) if run.shared else (None, 0.0)
    planned = m.th + m.coach_h + visit_h + cover * run.hcv
    over = (planned > run.cap_hours + 1e-9) & m.filled
    pv_f, cv_f, th_planned = pv * m.f_filled, cv * m.f_filled, m.th
    if over.any():
        coach, th, cv_x, cover_x, pv_x = _execute(run, m, pv_f, cv_f, cover, over)
        executed = th + coach + cv_x * run.hcv + cover_x * run.hcv + pv_x * run.hpv
        m.coach_h, m.th, m.pv, own = coach, th, pv_x, cv_x
    else:  # everything fits: executed as planned (x * 1.0 == x: no capping work)
        m.pv, own, cover_x, executed = pv_f, cv_f, cover, planned * m.f_filled
    m.cv_own = own
    m.cv = own if not run.shared else own + cover_x
    m.book_visits = own * m.ramp
    if run.shared:
        # the covering visits made reach the books that needed them, in proportion
        total_need = need.sum(axis=1, keepdims=True)
        made = cover_x.sum(axis=1, keepdims=True)  # cover_x is 0 on unfilled seats
        m.book_visits = m.book_visits + np.divide(need * made, total_need,
                                                  out=np.zeros_like(need),
                                                  where=total_need > 0)
    _count(run, m, diag, planned, executed, over, (pv_f, cv_f + cover * m.f_filled, th_planned))
    # x * 1.0 == x: no coaching multiplies by a scalar 1.0 (no array work)
    m.coach_mult = 1.0 if run.fast.coach_idle else 1.0 + m.coach_on * st.coach_effect


def _count(run, m, diag: dict[str, float], planned: np.ndarray, executed: np.ndarray,
           over: np.ndarray, wanted: tuple[np.ndarray, ...]) -> None:
    """Add the month's filled rep-months, hours and visits (planned and executed) to the
    diagnostics."""
    f = m.f_filled
    n_filled = float(np.count_nonzero(m.filled))
    diag["rep_months"] += n_filled
    capped = over & (planned > run.cap_hours + CAPPED_TOLERANCE_HOURS)
    diag["capacity_capped_rep_months"] += float(np.count_nonzero(capped))
    diag["hours_available"] += n_filled * float(run.cap_hours)
    pairs = (("hours", planned * f, executed), ("prospect_visits", wanted[0], m.pv),
             ("customer_visits", wanted[1], m.cv), ("training_hours", wanted[2], m.th))
    any_over = bool(over.any())
    for key, want, done in pairs:
        w = _exact_sum(want)
        diag[f"{key}_planned"] += w
        # nothing capped: executed as planned (the same sum, not computed twice)
        diag[f"{key}_executed"] += _exact_sum(done) if any_over else w
    if run.k_new:
        diag["new_rep_months"] += float(np.count_nonzero(m.filled[:, run.S - run.k_new:]))


def _exact_sum(a) -> float:
    """Sum of ``a`` in whole 1/16384 units per path (exact in any order of paths)."""
    a = np.asarray(a, dtype=float)
    if a.ndim == 2:
        a = a.sum(axis=1)
    return float(np.rint(a * _UNIT).sum()) / _UNIT
