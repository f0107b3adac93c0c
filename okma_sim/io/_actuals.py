"""Mid-period actuals: the rep-month CSV of the months done so far, checked against a plan and
laid out by seat and month for the review (:func:`okma_sim.inference.review`).

The rep-month schema is :func:`load_rep_month`'s; on top of it the actuals must start at the
plan's ``start_month``, have no gap, be in month order and stay within the horizon, and name
only reps the roster knows unless ``team.allow_new_hires``. Each error names the file, the
physical line and column, and the bad value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from okma_sim._core.errors import DataError, PlanError
from okma_sim.models import get_model
from okma_sim.plan import Plan

from ._history import _read_rep_month

__all__ = ["Actuals", "load_actuals"]

#: rep-month columns laid out as (seats, months) arrays
_COLUMNS = ("prospect_visits", "customer_visits", "new_customers", "active_customers",
            "revisited_customers", "churned_customers", "revenue", "training_hours",
            "csat_responses", "csat_satisfied")


@dataclass
class Actuals:
    """Validated actuals laid out by seat and month (a seat is a rep position of the model).

    Arrays are (seats, months observed); a cell is 0 where the seat was not worked.
    """

    source: str
    frame: pd.DataFrame
    months: list[str]
    seat_of: dict[str, int]          # rep_id -> seat
    occupant: np.ndarray             # (S, T) index into reps, -1 vacant
    reps: list[str]                  # occupants, in index order
    rep_tenure0: np.ndarray          # tenure of each occupant when first seen
    rep_known_skill: np.ndarray      # known skill multiplier, NaN when drawn
    worked: np.ndarray
    cols: dict[str, np.ndarray]      # rep-month columns, (S, T)
    tenure_start: np.ndarray         # (S, T): occupant's tenure at the start of the month
    new_occupant: np.ndarray         # (S, T): a new occupant starts this month
    assigned: np.ndarray             # (S,): the seat had an occupant (or is a roster seat)
    n_seats: int
    departures: int
    exposure: int

    @property
    def T(self) -> int:
        return len(self.months)


@dataclass
class _Seats:
    """Who sat where: reps in index order and, per seat, its occupants (rep index, first and
    last month worked)."""

    reps: list[str]
    seat_of: dict[str, int]
    occupants: list[list[tuple[int, int, int]]]
    assigned: list[bool]


def load_actuals(path: str | os.PathLike, plan: Plan, *, model: Any = None) -> Actuals:
    """Read rep-month actuals and check them against a plan.

    Parameters
    ----------
    path : path-like
        A rep-month CSV (docs/calibration.md, section 1) for the months done so far.
    plan : Plan
    model : SalesTeamModel, optional

    Returns
    -------
    Actuals

    Raises
    ------
    DataError
        With the file, the line and column, and the bad value: the rep-month schema's errors
        (:func:`okma_sim.io.load_rep_month`), a month before ``start_month`` or beyond
        the horizon, actuals not starting at ``start_month``, a month with no rows (a gap),
        rows out of month order, or a rep the roster does not know when
        ``team.allow_new_hires`` is false.
    PlanError
        The plan's model is not the sales-team model (no reps or seats).

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> act = load_actuals(okma_sim.data_path("case_study_actuals.csv"), plan)
    >>> act.months[0], act.T
    ('2027-01', 5)
    """
    model = get_model(plan.model) if model is None else model
    if not hasattr(model, "n_seats"):  # actuals are rows of reps in the sales team's seats
        raise PlanError("reading actuals needs the sales-team model (model = 'sales_team'), "
                        "whose reps and seats the actuals record; this scenario's model has "
                        "neither", file=plan.source, key="model", value=plan.model)
    src = os.fspath(path)
    df, table = _read_rep_month(src)
    # (physical line, month, rep_id) of each data row, in file order
    rows = list(zip(table.lines.tolist(), table.data["month"], table.data["rep_id"]))
    months = plan.months()
    idx = {m: i for i, m in enumerate(months)}
    T = _check_months(src, rows, plan, months, idx)
    roster, tenure, skill = _roster(plan, df, months)
    newcomers = _newcomers(src, rows, plan, df, months, roster)
    worked_months = {r: sorted(idx[m] for m in g) for r, g in df.groupby("rep_id")["month"]}
    seats = _assign_seats(roster, newcomers, worked_months, plan.team.n_reps,
                          model.n_seats(plan), tenure)
    S = len(seats.occupants)
    occ = _occupancy(seats, T)
    worked, cols = _layout(df, seats.seat_of, idx, S, T)
    tenure0 = np.array([tenure[r] for r in seats.reps]) if seats.reps else np.zeros(0)
    known = np.array([float(skill[r]) if r in skill else np.nan for r in seats.reps])
    tstart, new_occ = _tenure_by_month(occ, worked, tenure0)
    dep, exp = _departures(worked_months, T)
    return Actuals(source=src, frame=df, months=months[:T], seat_of=seats.seat_of,
                   occupant=occ, reps=seats.reps, rep_tenure0=tenure0, rep_known_skill=known,
                   worked=worked, cols=cols, tenure_start=tstart, new_occupant=new_occ,
                   assigned=np.array(seats.assigned), n_seats=S, departures=dep, exposure=exp)


def _bad(src: str, msg: str, line: int, column: str, value: Any) -> DataError:
    return DataError(msg, file=src, key=f"line {line}, column {column}", value=value)


def _check_months(src: str, rows: list[tuple[int, str, str]], plan: Plan, months: list[str],
                  idx: dict[str, int]) -> int:
    """The number of months observed, after checking the rows' months: within the horizon,
    in order, from ``start_month`` on and without a gap."""
    prev = None
    for line, m, _ in rows:
        if m < plan.start_month:
            raise _bad(src, f"month is before the scenario's start_month {plan.start_month}",
                       line, "month", m)
        if m not in idx:
            raise _bad(src, f"month is beyond the scenario's horizon ({months[0]} to "
                       f"{months[-1]})", line, "month", m)
        if prev is not None and m < prev:
            raise _bad(src, f"rows are out of order: this month comes after {prev} on an "
                       "earlier line (sort the file by month)", line, "month", m)
        prev = m
    seen = sorted({m for _, m, _ in rows})
    T = idx[seen[-1]] + 1
    for i in range(T):
        if months[i] not in seen:
            later = next((ln, m) for ln, m, _ in rows if m > months[i])
            what = (f"the actuals must start at the scenario's start_month {months[0]}"
                    if i == 0 else f"a gap: no rows for {months[i]}")
            raise _bad(src, f"{what}; this row is for {later[1]}", later[0], "month", later[1])
    return T


def _roster(plan: Plan, df: pd.DataFrame, months: list[str]):
    """The roster's rep ids (named reps and vacant seats, or for an anonymous roster the reps
    of the first month, by id), their tenures (the team's when a rep gives none; 0 for a
    vacant seat, whose rep is new) and their known skills."""
    team = plan.team
    if isinstance(team.reps, int):
        m0 = sorted(df.loc[df["month"] == months[0], "rep_id"].unique())
        roster = m0[:team.n_reps]
        tenure = {r: float(team.tenure_months) for r in roster}
        skill = {}
    else:
        roster = [r.id for r in team.reps]
        tenure = {r.id: 0.0 if r.vacant_months is not None else float(
            team.tenure_months if r.tenure_months is None else r.tenure_months)
            for r in team.reps}
        skill = {r.id: r.skill for r in team.reps if r.skill is not None}
    return roster, tenure, skill


def _newcomers(src: str, rows: list[tuple[int, str, str]], plan: Plan, df: pd.DataFrame,
               months: list[str], roster: list[str]) -> list[str]:
    """Reps the roster does not know, by first month then id; an error unless
    ``team.allow_new_hires``."""
    team = plan.team
    first = df.groupby("rep_id", sort=False)["month"].min()
    newcomers = sorted((r for r in first.index if r not in set(roster)),
                       key=lambda r: (first[r], r))
    if newcomers and not team.allow_new_hires:
        line_of = {}
        for line, m, r in rows:
            line_of.setdefault(r, line)
        r = min(newcomers, key=lambda r: line_of[r])
        why = (f"more reps in {months[0]} than team.reps = {team.n_reps}"
               if isinstance(team.reps, int) and first[r] == months[0]
               else "a rep the scenario's roster does not know")
        raise _bad(src, f"{why}, and team.allow_new_hires is false", line_of[r], "rep_id", r)
    return newcomers


def _assign_seats(roster: list[str], newcomers: list[str], worked_months: dict[str, list[int]],
                  R: int, S0: int, tenure: dict[str, float]) -> _Seats:
    """Roster reps keep their seats; a newcomer (tenure 0, set in ``tenure``) takes the
    roster seat free longest, else a hiring seat, else a new seat."""
    seats = _Seats(reps=[], seat_of={}, occupants=[], assigned=[])
    seat_free = []       # month from which each seat is free
    for s, r in enumerate(roster):
        seats.seat_of[r] = s
    for s in range(max(R, len(roster))):
        r = roster[s] if s < len(roster) else None
        wm = worked_months.get(r, [])
        seats.occupants.append([])
        if r is not None and wm:
            seats.reps.append(r)
            seats.occupants[s].append((len(seats.reps) - 1, wm[0], wm[-1]))
        seat_free.append(wm[-1] + 1 if wm else 0)
        seats.assigned.append(True)
    for s in range(len(seats.occupants), S0):
        seats.occupants.append([])
        seat_free.append(0)
        seats.assigned.append(False)
    for r in newcomers:
        wm = worked_months[r]
        tenure[r] = 0.0
        s = _newcomer_seat(seats, seat_free, R, wm[0])
        seats.reps.append(r)
        seats.seat_of[r] = s
        seats.occupants[s].append((len(seats.reps) - 1, wm[0], wm[-1]))
        seat_free[s] = wm[-1] + 1
        seats.assigned[s] = True
    return seats


def _newcomer_seat(seats: _Seats, seat_free: list[int], R: int, start: int) -> int:
    """The seat of a newcomer starting in month ``start`` (a new seat is appended)."""
    free = [s for s in range(R) if seat_free[s] <= start]
    if free:
        return min(free, key=lambda s: (seat_free[s], s))
    hire = [s for s in range(R, len(seats.occupants)) if not seats.assigned[s]]
    if hire:
        return hire[0]
    seats.occupants.append([])
    seat_free.append(0)
    seats.assigned.append(False)
    return len(seats.occupants) - 1


def _occupancy(seats: _Seats, T: int) -> np.ndarray:
    """(S, T) index of each seat's occupant per month, -1 when vacant."""
    occ = np.full((len(seats.occupants), T), -1, dtype=int)
    for s, lst in enumerate(seats.occupants):
        for ri, a, b in lst:
            occ[s, a:b + 1] = ri
    return occ


def _layout(df: pd.DataFrame, seat_of: dict[str, int], idx: dict[str, int], S: int,
            T: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The months each seat was worked and the rep-month columns, as (S, T) arrays."""
    cols = {c: np.zeros((S, T)) for c in _COLUMNS}
    worked = np.zeros((S, T), dtype=bool)
    si = df["rep_id"].map(seat_of).to_numpy()
    ti = df["month"].map(idx).to_numpy()
    worked[si, ti] = True
    for c in cols:
        cols[c][si, ti] = df[c].to_numpy(dtype=float)
    return worked, cols


def _tenure_by_month(occ: np.ndarray, worked: np.ndarray,
                     tenure0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each occupant's tenure at the start of each month, and where a new occupant starts."""
    S, T = occ.shape
    tstart = np.zeros((S, T))
    new_occ = np.zeros((S, T), dtype=bool)
    for s in range(S):
        cur, t_in = -1, 0.0
        for t in range(T):
            o = occ[s, t]
            if o >= 0 and o != cur:
                # a new rep in the seat starts untrained (stock 0, as the model refills)
                new_occ[s, t] = cur >= 0 or t > 0
                cur, t_in = o, tenure0[o]
            tstart[s, t] = t_in
            if worked[s, t]:
                t_in += 1.0
    return tstart, new_occ


def _departures(worked_months: dict[str, list[int]], T: int) -> tuple[int, int]:
    """Departures and exposure: a rep worked a month and not the next (the last month's
    outcome is not yet known)."""
    dep = exp = 0
    for r, wm in worked_months.items():
        for t in wm:
            if t < T - 1:
                exp += 1
                dep += (t + 1) not in wm
    return dep, exp
