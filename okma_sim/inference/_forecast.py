"""Forecasting the months after a backtest's cutoff: parameters drawn from the fit, the model
stepped month by month through the recorded roster with the recorded levers, and the team
metrics it is scored on (forecast, actual and the naive baseline's)."""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import qmc

from okma_sim._core.calendar import month_numbers
from okma_sim._core.errors import OkmaError
from okma_sim.engine import iman_conover
from okma_sim.io import opportunities_to_panel
from okma_sim.models import REFERENCE_TRAINING_HOURS, WEEKS_PER_MONTH
from okma_sim.plan import Objective, Plan, Rep

from ._features import crm_effort, rep_month_features
from ._fit_result import FitResult
from ._priors import frozen, is_fixed
from ._vacancies import open_departures, seat_book

#: team totals per month the forecast and the actuals are compared on
_TOTALS = ("revenue", "new", "active", "revisited", "responses", "satisfied")
#: the model's per-rep outputs the totals sum
_PER_REP = ("revenue", "new_customers", "active_customers", "revisited_customers",
            "csat_responses", "csat_satisfied")


def draw_params(fit: FitResult, n: int, rng: np.random.Generator,
                pinned: Mapping[str, float], sampler: str = "mc") -> dict[str, np.ndarray]:
    """``n`` draws of every parameter from the fitted distributions, with their rank
    correlations (``pinned`` parameters held at a value)."""
    dists = fit.parameters
    names = list(dists)
    if sampler == "lhs":
        u = qmc.LatinHypercube(len(names), seed=rng).random(n)
    elif sampler == "sobol":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # n need not be a power of 2
            u = qmc.Sobol(len(names), scramble=True, seed=rng).random(n)
    elif sampler == "mc":
        u = rng.random((n, len(names)))
    else:
        raise OkmaError("unknown sampler; use mc, lhs or sobol", key="--sampler", value=sampler)
    u = np.clip(u, 1e-12, 1 - 1e-12)
    corr = fit.correlations
    if corr is not None and n >= 3:
        idx = [names.index(c) for c in corr.parameters]
        u[:, idx] = iman_conover(u[:, idx], np.array(corr.matrix, dtype=float))
    out = {}
    for i, name in enumerate(names):
        if name in pinned:
            out[name] = np.full(n, float(pinned[name]))
        elif is_fixed(dists[name]):
            out[name] = np.full(n, float(dists[name].args["value"]))
        else:
            out[name] = np.asarray(frozen(dists[name]).ppf(u[:, i]), dtype=float)
    return out


# --------------------------------------------------------------------------------------------
# stepping the model through the recorded roster
# --------------------------------------------------------------------------------------------
@dataclass
class Seat:
    """A seat of the forecast team and who holds it."""

    rep: str | None
    book: float
    tenure: float = 0.0
    stock: float = 0.0
    skill: float | None = None
    state: int = 2  # 2 filled, 1 vacant, 0 closed (an extra seat not used yet)
    vacated: int = 0  # month the seat fell vacant (FIFO for new hires)


def simulate_window(plan: Plan, seats: list[Seat], roster: Sequence[set[str]],
                    levers: Sequence[Mapping[str, float]], params: Mapping[str, np.ndarray],
                    start_month: str, seed: int, model: Any,
                    new_rep_info: Mapping[str, float] | None = None,
                    by_rep: dict[str, dict[str, np.ndarray]] | None = None
                    ) -> dict[str, np.ndarray]:
    """Step the model month by month through a recorded roster; returns per-month arrays
    (paths, months) of team totals over the reps who worked: revenue, new, active,
    revisited, responses, satisfied.

    ``by_rep``, when given, is filled with the same totals of each rep's own seat in the
    months they worked (``rep -> {total: (paths, months)}``, NaN in the other months): the
    forecast of that rep, as the seat standing for them simulates it."""
    K = len(levers)
    n = len(next(iter(params.values())))
    base = _window_plan(plan, seats, levers, start_month)
    ss = np.random.SeedSequence(seed)
    children = ss.spawn(K + 1)
    st = model.initial_state(base, params, n, np.random.default_rng(children[0]))
    cvk = np.asarray(params["skill_cv"], dtype=float)
    s2 = np.log1p(cvk * cvk)
    st.seat[:] = np.array([s.state for s in seats], dtype=np.int8)[None, :]
    st.vacancy_left[:] = 1e9  # the recorded roster decides who works: the model never refills
    st.train_stock[:] = np.array([s.stock for s in seats])[None, :]
    seat_of = {s.rep: i for i, s in enumerate(seats) if s.rep is not None}
    out = {k: np.zeros((n, K)) for k in _TOTALS}
    z_rng = np.random.default_rng(children[0].spawn(1)[0])
    for g in range(K):
        _leave(seats, seat_of, roster[g], g, st)
        for rep in sorted(roster[g]):
            i = _seat_for(seats, seat_of, rep, roster[g:], st)
            if i is None:
                continue
            # a new rep: their tenure, no training stock, a skill drawn from the fitted spread
            st.tenure[:, i] = float((new_rep_info or {}).get(rep, 0.0))
            st.train_stock[:, i] = 0.0
            st.skill[:, i] = np.exp(-s2 / 2 + np.sqrt(s2) * z_rng.standard_normal(n))
        st.vacancy_left[:] = 1e9
        plan_g = base.replace(horizon_months=g + 1, actions=dict(levers[g]))
        res = model.simulate(plan_g, params, np.random.default_rng(children[g + 1]),
                             initial_state=st, record_reps=True)
        pr = res.per_rep
        f = pr["filled"][:, :, 0]
        for k, c in zip(_TOTALS, _PER_REP):
            out[k][:, g] = (pr[c][:, :, 0] * f).sum(1)
        if by_rep is not None:
            _record_reps(by_rep, pr, seat_of, roster[g], g, n, K)
        st = res.state
    return out


def _record_reps(by_rep: dict[str, dict[str, np.ndarray]], pr: Mapping[str, np.ndarray],
                 seat_of: Mapping[str, int], working: set[str], g: int, n: int,
                 K: int) -> None:
    """Month ``g``'s totals of each working rep's seat into ``by_rep``."""
    for rep in working:
        i = seat_of[rep]
        rec = by_rep.setdefault(rep, {k: np.full((n, K), np.nan) for k in _TOTALS})
        f = pr["filled"][:, i, 0]
        for k, c in zip(_TOTALS, _PER_REP):
            rec[k][:, g] = pr[c][:, i, 0] * f


def _window_plan(plan: Plan, seats: Sequence[Seat], levers: Sequence[Mapping[str, float]],
                 start_month: str) -> Plan:
    """The plan the window is stepped with: one rep per seat, no capacity cap."""
    reps = tuple(Rep(id=f"seat{i}", tenure_months=float(s.tenure), customers=float(s.book),
                     skill=s.skill) for i, s in enumerate(seats))
    # the recorded visits were made: no capacity cap
    team = dataclasses.replace(plan.team, reps=reps, selling_hours_per_month=1e6)
    return Plan(name="backtest", start_month=start_month, horizon_months=len(levers),
                objectives=(Objective(id="revenue", metric="revenue", aggregate="mean",
                                      target=0.0),),
                team=team, actions=dict(levers[0]), currency=plan.currency)


def _leave(seats: list[Seat], seat_of: dict[str, int], working: set[str], g: int,
           st: Any) -> None:
    """Who left: their seat falls vacant (kept for them if they come back)."""
    for rep, i in list(seat_of.items()):
        if rep not in working and seats[i].state == 2:
            seats[i].state = 1
            seats[i].vacated = g
            st.seat[:, i] = 1


def _seat_for(seats: list[Seat], seat_of: dict[str, int], rep: str,
              coming: Sequence[set[str]], st: Any) -> int | None:
    """Seat ``rep`` for the month: back in their own seat (None), or a new rep in the seat
    vacated longest ago whose rep does not come back (its index)."""
    if rep in seat_of:
        i = seat_of[rep]
        if seats[i].state != 2:
            seats[i].state = 2
            st.seat[:, i] = 2
        return None
    future = set().union(*coming)
    free = [i for i, s in enumerate(seats) if s.state == 1
            and (s.rep is None or s.rep not in future)]
    closed = [i for i, s in enumerate(seats) if s.state == 0]
    if free:
        i = min(free, key=lambda k: seats[k].vacated)
    elif closed:
        i = closed[0]
    else:  # pragma: no cover - seats are allocated for every new rep
        return None
    if seats[i].rep in seat_of:
        del seat_of[seats[i].rep]
    seats[i].rep, seats[i].state = rep, 2
    seat_of[rep] = i
    st.seat[:, i] = 2
    return i


# --------------------------------------------------------------------------------------------
# what the history records at and after the cutoff
# --------------------------------------------------------------------------------------------
def rep_month_setup(hist: pd.DataFrame, fit: FitResult, plan: Plan, cutoff: int,
                    horizon: int) -> tuple[list[Seat], list[set[str]], list[dict], dict]:
    """Seats at the cutoff (filled by the cutoff month's reps, plus seats left vacant by
    earlier leavers nobody replaced yet), the recorded roster and levers of each forecast
    month, and each newcomer's tenure at their first month."""
    pl = fit.plugins
    feats = rep_month_features(hist, retention=pl.get("training_retention", 0.7),
                               ramp_full=1.0, start_tenure=plan.team.tenure_months)
    train = feats[feats["ym"] <= cutoff]
    at_cut = train[train["ym"] == cutoff]
    seats = _filled_seats(at_cut, fit) + _open_seats(train, fit, cutoff)
    future = feats[(feats["ym"] > cutoff) & (feats["ym"] <= cutoff + horizon)]
    roster = [set(future.loc[future["ym"] == cutoff + 1 + g, "rep_id"]) for g in range(horizon)]
    known = {s.rep for s in seats if s.rep is not None}
    newcomers = set().union(*roster) - known
    seats += [Seat(rep=None, book=0.0, state=0) for _ in newcomers]
    levers = []
    last = at_cut if len(at_cut) else train
    for g in range(horizon):
        rows = future[future["ym"] == cutoff + 1 + g]
        src = rows if len(rows) else last  # a month nobody worked: levels do not matter
        levers.append({
            "prospect_visits_per_week": float(src["prospect_visits"].mean()) / WEEKS_PER_MONTH,
            "customer_visits_per_week": float(src["customer_visits"].mean()) / WEEKS_PER_MONTH,
            "training_hours_per_month": float(src["training_hours"].mean()),
            "marketing_events_per_quarter": pl.get("marketing_events_per_quarter", 0.0),
            "csat_surveys_per_year": pl.get("csat_surveys_per_year", 4.0)})
        if len(rows):
            last = rows
    # a newcomer's tenure at their first month (0 unless the file says otherwise)
    info = {}
    for rep in newcomers:
        first = future[future["rep_id"] == rep].sort_values("ym").iloc[0]
        info[rep] = float(first["tenure"]) if bool(first["new_rep"]) else 0.0
    return seats, roster, levers, info


def _filled_seats(at_cut: pd.DataFrame, fit: FitResult) -> list[Seat]:
    """The seats of the cutoff month's reps: their book, tenure, training stock and shrunk
    skill at the start of the next month."""
    r = fit.plugins.get("training_retention", 0.7)
    skills = dict(zip(fit.skills["rep_id"], fit.skills["shrunk"])) if len(fit.skills) else {}
    return [Seat(rep=row.rep_id,
                 book=float(row.active_customers - row.churned_customers + row.new_customers),
                 tenure=float(row.tenure + 1),
                 stock=float(r * row.stock + (1 - r) * row.training_hours
                             / REFERENCE_TRAINING_HOURS),
                 skill=float(skills[row.rep_id]) if row.rep_id in skills else None)
            for row in at_cut.itertuples()]


def _open_seats(train: pd.DataFrame, fit: FitResult, cutoff: int) -> list[Seat]:
    """Seats of earlier leavers nobody has taken yet (calibrate's rule: FIFO match of hires to
    leavers), their book churned at the fitted no-visit rate for the months since."""
    cb = fit.entry("churn_base").estimate
    span = train.groupby("rep_id")["ym"].agg(["min", "max"])
    last_rows = train.sort_values("ym").groupby("rep_id").tail(1).set_index("rep_id")
    seats = []
    for rep, last in open_departures(span, cutoff):
        row = last_rows.loc[rep]
        months_vacant = cutoff - last
        book = float(row.active_customers - row.churned_customers + row.new_customers)
        seats.append(Seat(rep=None, book=seat_book(book, months_vacant, cb), state=1,
                          vacated=-months_vacant))
    return seats


def actual_rep_month(hist: pd.DataFrame, months: Sequence[int]) -> dict[str, np.ndarray]:
    """The team totals the history records for ``months`` (month numbers)."""
    # not _fit_rep_month._team_monthly: its groupby sums round revenue differently in the last
    # bit, which would change the backtest's published numbers
    ym = month_numbers(hist)
    out = {k: np.zeros(len(months)) for k in _TOTALS}
    for g, m in enumerate(months):
        rows = hist[ym == m]
        out["revenue"][g] = rows["revenue"].sum()
        out["new"][g] = rows["new_customers"].sum()
        out["active"][g] = rows["active_customers"].sum()
        out["revisited"][g] = rows["revisited_customers"].sum()
        out["responses"][g] = rows["csat_responses"].sum()
        out["satisfied"][g] = rows["csat_satisfied"].sum()
    return out


def opportunity_setup(opps: pd.DataFrame, fit: FitResult, plan: Plan, cutoff: int,
                      horizon: int, by: str
                      ) -> tuple[list[Seat], list[set[str]], list[dict], dict[str, np.ndarray]]:
    """An opportunity export's seats at the cutoff, recorded roster and effort of each
    forecast month, and the actual revenue and wins."""
    panel = opportunities_to_panel(opps, by=by)
    panel["ym"] = month_numbers(panel)
    skills = dict(zip(fit.skills["rep_id"], fit.skills["shrunk"])) if len(fit.skills) else {}
    at_cut = sorted(panel.loc[panel["ym"] == cutoff, "rep_id"])
    seats = [Seat(rep=r, book=0.0, tenure=float(plan.team.tenure_months),
                  skill=float(skills[r]) if r in skills else None) for r in at_cut]
    fut = panel[(panel["ym"] > cutoff) & (panel["ym"] <= cutoff + horizon)]
    roster = [set(fut.loc[fut["ym"] == cutoff + 1 + g, "rep_id"]) for g in range(horizon)]
    newcomers = set().union(*roster) - set(at_cut)
    seats += [Seat(rep=None, book=0.0, state=0) for _ in newcomers]
    pl = fit.plugins
    effort = crm_effort(panel)
    levers, actual = [], {k: np.zeros(horizon) for k in ("revenue", "new")}
    for g in range(horizon):
        rows = fut[fut["ym"] == cutoff + 1 + g]
        levers.append({"prospect_visits_per_week": float(effort.get(cutoff + 1 + g, 0.0))
                       / WEEKS_PER_MONTH,
                       "customer_visits_per_week": 0.0, "training_hours_per_month": 0.0,
                       "marketing_events_per_quarter": pl.get("marketing_events_per_quarter",
                                                              0.0),
                       "csat_surveys_per_year": 0.0})
        actual["revenue"][g] = rows["revenue"].sum()
        actual["new"][g] = rows["won"].sum()
    return seats, roster, levers, actual


# --------------------------------------------------------------------------------------------
# team metrics
# --------------------------------------------------------------------------------------------
def metric_series(t: Mapping[str, np.ndarray], fmt: str) -> dict[str, np.ndarray]:
    """Team metrics from team totals (works on (months,) and (paths, months) arrays)."""
    with np.errstate(all="ignore"):
        m = {"revenue": np.asarray(t["revenue"], dtype=float),
             "wins" if fmt == "opportunities" else "new_customers":
                 np.asarray(t["new"], dtype=float)}
        if fmt == "rep-month":
            a = np.asarray(t["active"], dtype=float)
            m["revisit_rate"] = np.where(a > 0, t["revisited"] / np.where(a > 0, a, 1), np.nan)
            r = np.asarray(t["responses"], dtype=float)
            m["csat"] = np.where(r > 0, t["satisfied"] / np.where(r > 0, r, 1), np.nan)
    return m


def rep_totals(history: pd.DataFrame, fmt: str, by: str) -> pd.DataFrame:
    """Each rep's (or group's, per ``by`` for an opportunity export) totals per month: columns
    ``ym`` (month number), ``rep_id`` and the totals the forecast simulates (an export has only
    ``revenue`` and ``new``, its wins)."""
    if fmt == "opportunities":
        t = opportunities_to_panel(history, by=by).rename(columns={"won": "new"})
        cols = ["revenue", "new"]
    else:
        t = history.rename(columns=dict(zip(_PER_REP, _TOTALS)))
        cols = list(_TOTALS)
    out = t[["rep_id", *cols]].copy()
    out.insert(0, "ym", month_numbers(t))
    return out.sort_values(["ym", "rep_id"]).reset_index(drop=True)


def trailing(monthly: pd.DataFrame, metric: str) -> np.ndarray:
    """The naive baseline's ensemble: the metric's last (up to 12) fitted months."""
    col = {"new_customers": "new_customers", "wins": "new_customers"}.get(metric, metric)
    if col not in monthly.columns:
        return np.array([])
    v = monthly[col].to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    return v[-12:]
