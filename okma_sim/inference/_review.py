"""Mid-period review: re-forecast a plan from the actuals so far.

Given the rep-month actuals of the first ``T`` months, :func:`review`

1. checks them against the plan (months from ``start_month`` on, no gaps, in order, within the
   horizon; reps known to the roster unless ``team.allow_new_hires``);
2. rebuilds the model's state at the start of month ``T + 1``: seats, tenure, customers, the
   training stock, the management rules' running responses (replayed on the actuals with the
   model's own review code), year-to-date revenue, the last CSAT and the quarters surveyed;
3. updates the parameter uncertainty with the year-to-date data by importance sampling (below)
   and reports the effective sample size (ESS), warning when it collapses;
4. simulates only the remaining months, with the observed months prepended before the KR and
   objective aggregates are taken, and sets the importance weights on the result;
5. compares every P(met) with the plan-time P (the plan simulated from scratch with the same
   seed and paths), lists the KRs and objectives at risk and the reps behind a KR's pace, and
   searches for the cheapest lever change that restores P(all objectives met).

When the actuals cover the whole horizon there is nothing to simulate: the observed verdicts
are reported (probability 1 or 0, standard error 0).

The update (docs/management.md states it in full)
--------------------------------------------------
The target is the posterior of the parameters and the reps' skills given the actuals, with the
model's own likelihood of the observed counts given the recorded efforts, one term per kind of
data (:data:`LIKELIHOOD_TERMS`): new customers (Poisson per rep-month), revisited customers
(the model's normal-approximated binomial), churned customers (Poisson, capped at the book),
revenue (per team-month, a normal approximation of the gamma-Poisson compound), CSAT responses
(binomial), survey completion and response (Bernoulli, binomial) and rep departures
(Bernoulli).

Importance sampling starts from the engine's own prior draws (same seed, sampler and
correlations as any run). Plain reweighting of those draws collapses with a dozen reps' data
(about 1% of the paths left on the case study), because several terms are sharp. Two exact
devices keep it healthy:

- **Skills are integrated out.** Given the parameters, a rep's new-customer likelihood in the
  skill s is ``s^N exp(-s A)``; its integral over the lognormal skill prior is taken by
  adaptive Gauss-Hermite quadrature, and the rep's skill on the path is then drawn from its
  posterior on a grid by inverse CDF.
- **Local parameters are refined.** A parameter that enters one term only, and is neither
  pinned nor rank-correlated in the plan, gets ``candidates`` (K) prior draws per path (the
  engine's and K - 1 more); the path keeps one with probability proportional to its likelihood
  and is weighted by the mean likelihood of the K (random-weight importance sampling: properly
  weighted for any K, Liu 2001, section 2.5). With ``candidates=1`` this is plain reweighting.

The parameters shared by several terms (``training_retention``, ``coaching_effect``,
``quarter_end_uplift``) are plainly reweighted; ``hiring_delay_months`` has no data and keeps
its prior. ``result.params`` shows the draws used.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

from okma_sim._core.errors import DataError, OkmaError
from okma_sim.results import aggregate
from okma_sim._core.seeds import normalize_seed
from okma_sim.engine import resolve_parameters
from okma_sim.plan import KeyResult, Plan
from okma_sim.results import Estimate, SimulationResult

__all__ = ["LIKELIHOOD_TERMS", "Actuals", "ReviewResult", "flag_reps", "load_actuals",
           "observed_metrics", "observed_state", "review"]

#: spawn-key slot of the review's own draws (candidates, skills), apart from the engine's
_REVIEW_KEY = 2**31 - 2
#: the data terms of the likelihood (``review(..., likelihood=...)`` may pick some)
LIKELIHOOD_TERMS = ("new_customers", "revisited_customers", "churned_customers", "revenue",
                    "csat", "surveys", "attrition")
#: parameters that enter one term only: refined by K candidates
_LOCAL = {
    "new_customers": ("base_win_rate", "visit_elasticity", "skill_cv", "training_effect",
                      "ramp_months", "marketing_effect"),
    "revisited_customers": ("followup_targeting",),
    "churned_customers": ("churn_base", "churn_revisit_effect"),
    "revenue": ("repeat_order_rate", "order_value", "order_value_cv"),
    "csat": ("csat_base", "csat_coverage_effect", "csat_training_effect"),
    "surveys": ("survey_completion", "survey_response_rate"),
    "attrition": ("rep_attrition_annual",),
}
#: skill grid (standard-normal scale) for integrating and drawing rep skills
_Z = np.linspace(-6.0, 6.0, 121)
_LOG_PHI = -0.5 * _Z**2 - 0.5 * math.log(2 * math.pi)
_DZ = float(_Z[1] - _Z[0])
#: adaptive Gauss-Hermite nodes for a rep's skill integral (the integrand is log-concave)
_GH_X, _GH_W = np.polynomial.hermite.hermgauss(10)
#: elements per chunk of the (paths, candidates, seats, months) arrays
_CHUNK = 2_000_000


# --------------------------------------------------------------------------------------------
# actuals
# --------------------------------------------------------------------------------------------
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


def _scan_rows(path: str) -> list[tuple[int, str, str]]:
    """(physical line, month, rep_id) of each data row, in file order."""
    out = []
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = None
        for rec in reader:
            if not rec or all(not c.strip() for c in rec):
                continue
            if header is None:
                header = [c.strip() for c in rec]
                im, ir = header.index("month"), header.index("rep_id")
                continue
            out.append((reader.line_num, rec[im].strip(), rec[ir].strip()))
    return out


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

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> act = load_actuals(okma_sim.data_path("case_study_actuals.csv"), plan)
    >>> act.months[0], act.T
    ('2027-01', 5)
    """
    from okma_sim.io import load_rep_month
    from okma_sim.models import get_model

    model = get_model(plan.model) if model is None else model
    src = os.fspath(path)
    df = load_rep_month(src)
    rows = _scan_rows(src)
    months = plan.months()
    idx = {m: i for i, m in enumerate(months)}

    def bad(msg: str, line: int, column: str, value: Any) -> DataError:
        return DataError(msg, file=src, key=f"line {line}, column {column}", value=value)

    prev = None
    for line, m, _ in rows:
        if m < plan.start_month:
            raise bad(f"month is before the scenario's start_month {plan.start_month}", line,
                      "month", m)
        if m not in idx:
            raise bad(f"month is beyond the scenario's horizon ({months[0]} to "
                      f"{months[-1]})", line, "month", m)
        if prev is not None and m < prev:
            raise bad(f"rows are out of order: this month comes after {prev} on an earlier "
                      "line (sort the file by month)", line, "month", m)
        prev = m
    seen = sorted({m for _, m, _ in rows})
    T = idx[seen[-1]] + 1
    for i in range(T):
        if months[i] not in seen:
            later = next((ln, m) for ln, m, _ in rows if m > months[i])
            what = (f"the actuals must start at the scenario's start_month {months[0]}"
                    if i == 0 else f"a gap: no rows for {months[i]}")
            raise bad(f"{what}; this row is for {later[1]}", later[0], "month", later[1])
    line_of = {}
    for line, m, r in rows:
        line_of.setdefault(r, line)

    team = plan.team
    R = team.n_reps
    S0 = model.n_seats(plan)
    first = df.groupby("rep_id", sort=False)["month"].min()
    # roster: named reps, or (anonymous roster) the reps of the first month, by id
    if isinstance(team.reps, int):
        m0 = sorted(df.loc[df["month"] == months[0], "rep_id"].unique())
        roster = m0[:R]
        tenure = {r: float(team.tenure_months) for r in roster}
        skill = {}
    else:
        roster = [r.id for r in team.reps]
        tenure = {r.id: float(r.tenure_months) for r in team.reps}
        skill = {r.id: r.skill for r in team.reps if r.skill is not None}
    newcomers = sorted((r for r in first.index if r not in set(roster)),
                       key=lambda r: (first[r], r))
    if newcomers and not team.allow_new_hires:
        r = min(newcomers, key=lambda r: line_of[r])
        why = (f"more reps in {months[0]} than team.reps = {R}" if isinstance(team.reps, int)
               and first[r] == months[0] else "a rep the scenario's roster does not know")
        raise bad(f"{why}, and team.allow_new_hires is false", line_of[r], "rep_id", r)

    worked_months = {r: sorted(idx[m] for m in g) for r, g in df.groupby("rep_id")["month"]}
    reps: list[str] = []
    seat_of: dict[str, int] = {}
    seat_free = []       # month from which each seat is free
    occupant = []        # per seat: list of (rep index, first, last)
    assigned = []
    for s, r in enumerate(roster):
        seat_of[r] = s
    for s in range(max(R, len(roster))):
        r = roster[s] if s < len(roster) else None
        wm = worked_months.get(r, [])
        occupant.append([])
        if r is not None and wm:
            reps.append(r)
            occupant[s].append((len(reps) - 1, wm[0], wm[-1]))
        seat_free.append(wm[-1] + 1 if wm else 0)
        assigned.append(True)
    for s in range(len(occupant), S0):
        occupant.append([])
        seat_free.append(0)
        assigned.append(False)
    for r in newcomers:
        wm = worked_months[r]
        tenure[r] = 0.0
        free = [s for s in range(R) if seat_free[s] <= wm[0]]
        if free:
            s = min(free, key=lambda s: (seat_free[s], s))
        else:
            hire = [s for s in range(R, len(occupant)) if not assigned[s]]
            if hire:
                s = hire[0]
            else:
                s = len(occupant)
                occupant.append([])
                seat_free.append(0)
                assigned.append(False)
        reps.append(r)
        seat_of[r] = s
        occupant[s].append((len(reps) - 1, wm[0], wm[-1]))
        seat_free[s] = wm[-1] + 1
        assigned[s] = True

    S = len(occupant)
    occ = np.full((S, T), -1, dtype=int)
    for s, lst in enumerate(occupant):
        for ri, a, b in lst:
            occ[s, a:b + 1] = ri
    cols = {c: np.zeros((S, T)) for c in ("prospect_visits", "customer_visits",
                                           "new_customers", "active_customers",
                                           "revisited_customers", "churned_customers",
                                           "revenue", "training_hours", "csat_responses",
                                           "csat_satisfied")}
    worked = np.zeros((S, T), dtype=bool)
    si = df["rep_id"].map(seat_of).to_numpy()
    ti = df["month"].map(idx).to_numpy()
    worked[si, ti] = True
    for c in cols:
        cols[c][si, ti] = df[c].to_numpy(dtype=float)
    tenure0 = np.array([tenure[r] for r in reps]) if reps else np.zeros(0)
    known = np.array([float(skill[r]) if r in skill else np.nan for r in reps])
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
    # departures: a rep worked a month and not the next (the last month is not yet known)
    dep = exp = 0
    for r, wm in worked_months.items():
        for t in wm:
            if t < T - 1:
                exp += 1
                dep += (t + 1) not in wm
    return Actuals(source=src, frame=df, months=months[:T], seat_of=seat_of, occupant=occ,
                   reps=reps, rep_tenure0=tenure0, rep_known_skill=known, worked=worked,
                   cols=cols, tenure_start=tstart, new_occupant=new_occ,
                   assigned=np.array(assigned), n_seats=S, departures=dep, exposure=exp)


def observed_metrics(plan: Plan, act: Actuals) -> dict[str, np.ndarray]:
    """The team's monthly metrics over the observed months, by the formulas of docs/model.md.

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> act = load_actuals(okma_sim.data_path("case_study_actuals.csv"), plan)
    >>> obs = observed_metrics(plan, act)
    >>> obs["new_customers"].shape
    (5,)
    """
    from okma_sim.models import SalesTeamModel

    c = {k: v.sum(0) for k, v in act.cols.items()}
    T = act.T
    base = SalesTeamModel().baseline_revenue(plan)
    out: dict[str, np.ndarray] = {}
    for k in ("revenue", "new_customers", "active_customers", "revisited_customers",
              "churned_customers", "csat_responses", "csat_satisfied", "prospect_visits",
              "customer_visits", "training_hours"):
        out[k] = c[k].astype(float)
    out["cumulative_revenue"] = np.cumsum(c["revenue"])
    with np.errstate(invalid="ignore", divide="ignore"):
        out["revenue_growth"] = out["cumulative_revenue"] / np.cumsum(base[:T]) - 1.0
        out["revisit_rate"] = np.where(c["active_customers"] > 0,
                                       c["revisited_customers"] / c["active_customers"], np.nan)
    got = c["csat_responses"] > 0
    csat = np.full(T, np.nan)
    last = np.nan
    for t in range(T):
        if got[t]:
            last = c["csat_satisfied"][t] / c["csat_responses"][t]
        csat[t] = last
    out["csat"] = csat
    out["surveys_done"] = got.astype(float)
    q = _quarter_of(plan)[:T]
    out["quarters_surveyed"] = np.array([len(set(q[:t + 1][got[:t + 1]])) for t in range(T)],
                                        dtype=float)
    out["headcount"] = act.worked.sum(0).astype(float)
    return out


def _quarter_of(plan: Plan) -> np.ndarray:
    start_m = int(plan.start_month.split("-")[1])
    return ((start_m - 1 + np.arange(plan.horizon_months)) // 3) - (start_m - 1) // 3


# --------------------------------------------------------------------------------------------
# replay of the management rules and the observed state
# --------------------------------------------------------------------------------------------
@dataclass
class _Replay:
    state: Any                  # SalesState at the start of month T
    coach_on: np.ndarray        # (n, S, T)
    coach_eff: np.ndarray       # (n, S, T)
    mkt_events: np.ndarray      # (n, T): extra events of a running push (0 otherwise)
    rule_money: np.ndarray      # (n, T): money cost of rules fired at each review
    coach_hours: np.ndarray     # (T,): coaching hours the rules delivered (mean over paths)
    fired: dict[str, float]     # per path, over the observed months


def _blank_state(plan: Plan, model: Any, n: int, S: int, p: Mapping[str, np.ndarray]):
    from okma_sim.models import SalesState

    n_q = (plan.horizon_months + 2) // 3 + 1
    n_hire = sum(r.response == "hiring" for r in plan.management.rules)
    z = lambda: np.zeros((n, S))  # noqa: E731
    st = SalesState(
        month_index=0, seat=np.zeros((n, S), dtype=np.int8), vacancy_left=z(), tenure=z(),
        skill=np.ones((n, S)), active=z(), train_stock=z(), coach_wait=z(), coach_left=z(),
        coach_hours=z(), train_wait=z(), train_left=z(), train_extra=z(), shift_wait=z(),
        shift_left=z(), shift_amount=z(), mkt_wait=np.zeros(n), mkt_left=np.zeros(n),
        mkt_events=np.zeros(n), hires_done=np.zeros((n, max(n_hire, 1)), dtype=bool),
        cum_revenue=np.zeros(n), last_csat=np.full(n, np.nan),
        quarters_done=np.zeros((n, n_q), dtype=bool),
        acc={k: z() for k in ("revisited", "active", "new", "revenue", "churned")}
        | {"months": np.zeros(n)})
    st.coach_effect = z()
    model._init_rule_state(st, p)
    return st


def _replay(plan: Plan, model: Any, act: Actuals, obs: Mapping[str, np.ndarray],
            p: Mapping[str, np.ndarray]) -> _Replay:
    """Step through the observed months with the observed values, applying the plan's rules
    at each review with the model's own review code (vectorised over paths: only the
    coaching effect and the hiring delay differ between paths)."""
    n = len(next(iter(p.values())))
    S, T = act.n_seats, act.T
    st = _blank_state(plan, model, n, S, p)
    cols = act.cols
    every = plan.management.review_every_months
    rules = plan.management.rules
    diag = {f"rule:{r.id or f'rule{i}'}:{k}": 0.0 for i, r in enumerate(rules)
            for k in ("fired", "cost")}
    coach_on_h = np.zeros((n, S, T), dtype=bool)
    coach_eff_h = np.zeros((n, S, T))
    mkt_h = np.zeros((n, T))
    money = np.zeros((n, T))
    coach_h = np.zeros(T)
    hire_delay = np.maximum(0.0, np.rint(p["hiring_delay_months"]))
    for g in range(T):
        w = act.worked[:, g]
        had = (act.occupant[:, :g + 1] >= 0).any(1) | (act.assigned & (np.arange(S) <
                                                                          plan.team.n_reps))
        st.seat = np.where(w, 2, np.where(had, 1, st.seat)).astype(np.int8)
        filled = st.seat == 2
        coach_on = (st.coach_wait <= 0) & (st.coach_left > 0) & filled
        train_on = (st.train_wait <= 0) & (st.train_left > 0) & filled
        coach_on_h[:, :, g] = coach_on
        coach_h[g] = float(np.where(coach_on, st.coach_hours, 0.0).sum(1).mean())
        coach_eff_h[:, :, g] = st.coach_effect
        mkt_now = (st.mkt_wait <= 0) & (st.mkt_left > 0)
        mkt_h[:, g] = np.where(mkt_now, st.mkt_events, 0.0)
        wf = w.astype(float)
        for a, c in (("revisited", "revisited_customers"), ("active", "active_customers"),
                     ("new", "new_customers"), ("revenue", "revenue"),
                     ("churned", "churned_customers"), ("prospect_visits", "prospect_visits"),
                     ("customer_visits", "customer_visits"),
                     ("training_hours", "training_hours")):
            st.acc[a] = st.acc[a] + cols[c][:, g] * wf
        st.acc["months"] += 1.0
        st.acc["filled"] = st.acc["filled"] + wf
        st.acc["coach_h"] = st.acc["coach_h"] + np.where(coach_on, st.coach_hours, 0.0)
        st.acc["train_h"] = st.acc["train_h"] + np.where(train_on, st.train_extra, 0.0) * wf
        st.tick_timers()  # timers tick after the month they covered, as in the model
        # a departure (or a change of occupant) ends the seat's running responses
        if g < T - 1:
            leave = w & ((act.occupant[:, g + 1] != act.occupant[:, g]) | ~act.worked[:, g + 1])
        else:
            leave = np.zeros(S, dtype=bool)
        for name in ("coach_left", "train_left", "shift_left"):
            setattr(st, name, np.where(leave, 0.0, getattr(st, name)))
        vac = st.seat == 1
        st.vacancy_left = np.where(vac, st.vacancy_left - 1, st.vacancy_left)
        if every > 0 and rules and (g + 1) % every == 0:
            out = {k: np.broadcast_to(v[:g + 1], (n, g + 1)) for k, v in obs.items()}
            for k in model.metrics:  # not observable: such a team rule never fires
                out.setdefault(k, np.full((n, g + 1), np.nan))
            out["cost"] = np.broadcast_to(obs["training_hours"][:g + 1]
                                          * plan.team.hourly_cost, (n, g + 1))
            money[:, g] = model._review(plan, st, out, g, p, None, diag, np.zeros(n))
            for k in st.acc:
                st.acc[k] = np.zeros_like(st.acc[k])
    # the state at the start of month T + 1 ------------------------------------------------
    last = act.worked[:, T - 1]
    had = act.assigned | (act.occupant >= 0).any(1)
    last_worked = np.array([np.flatnonzero(act.worked[s])[-1] if act.worked[s].any() else -1
                            for s in range(S)])
    left = had & ~last
    vac_left = np.maximum(hire_delay[:, None] - (T - 1 - last_worked)[None, :], 1.0)
    st.seat = np.where(last, 2, np.where(left, 1, st.seat)).astype(np.int8)
    st.vacancy_left = np.where(left, vac_left, np.where(st.seat == 1,
                                                        np.maximum(st.vacancy_left, 1.0),
                                                        st.vacancy_left))
    for name in ("coach_left", "train_left", "shift_left"):
        setattr(st, name, np.where(last, getattr(st, name), 0.0))
    fired = {k[5:-6]: v / n for k, v in diag.items() if k.endswith(":fired")}
    return _Replay(state=st, coach_on=coach_on_h, coach_eff=coach_eff_h, mkt_events=mkt_h,
                   rule_money=money, coach_hours=coach_h, fired=fired)


def _stock(act: Actuals, retention: np.ndarray) -> np.ndarray:
    """Training stock at the start of each observed month, and after the last: (n, S, T+1)."""
    from okma_sim.models import REFERENCE_TRAINING_HOURS
    n = retention.shape[0]
    S, T = act.n_seats, act.T
    out = np.zeros((n, S, T + 1))
    ret = retention[:, None]
    cur = np.zeros((n, S))
    for t in range(T):
        cur = np.where(act.new_occupant[:, t], 0.0, cur)  # a new rep starts untrained
        out[:, :, t] = cur
        cur = ret * cur + (1.0 - ret) * act.cols["training_hours"][:, t] / \
            REFERENCE_TRAINING_HOURS
    out[:, :, T] = cur
    return out


# --------------------------------------------------------------------------------------------
# likelihood terms: each returns the log-likelihood, shape (paths, candidates)
# --------------------------------------------------------------------------------------------
def _cells(mask: np.ndarray, *arrays: np.ndarray) -> list[np.ndarray]:
    """The masked cells of (seats, months) arrays, flattened; path arrays (m, S, T) become
    (m, 1, cells) to broadcast against candidates (m, K, 1)."""
    idx = np.flatnonzero(mask.ravel())
    out = []
    for a in arrays:
        a = np.asarray(a)
        out.append(a.reshape(a.shape[0], 1, -1)[:, :, idx] if a.ndim == 3 else a.ravel()[idx])
    return out


def _diff_ndtr(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Phi(hi) - Phi(lo), computed on the side of the mean that keeps precision."""
    # above the mean Phi(hi) - Phi(lo) = Phi(-lo) - Phi(-hi): swap the arguments there, so
    # only two ndtr calls run (not both branches of a where)
    upper = lo > 0
    return special.ndtr(np.where(upper, -lo, hi)) - special.ndtr(np.where(upper, -hi, lo))


def _ll_revisited(act: Actuals, ft: np.ndarray, cm: np.ndarray) -> np.ndarray:
    """The model's revisit draw is ``ceil(mu + z sd - 1/2)`` clipped to [0, active], so
    P(k) = Phi((k + 1/2 - mu) / sd) - Phi((k - 1/2 - mu) / sd), open at 0 and at active.

    ``ft`` (m, K, 1) candidates, ``cm`` (m, S, T) the coaching multiplier of each path."""
    A = act.cols["active_customers"]
    mask = act.worked & (A > 0)
    A, k, cv, cm = _cells(mask, A, act.cols["revisited_customers"],
                          act.cols["customer_visits"], cm)
    reach = 1.0 - np.exp(-ft * cm * (cv / np.maximum(A, 1.0)))
    mu = A * reach
    sd = np.sqrt(np.maximum(mu * (1.0 - reach), 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        hi = np.where(k >= A, np.inf, (k + 0.5 - mu) / sd)
        lo = np.where(k <= 0, -np.inf, (k - 0.5 - mu) / sd)
        pr = _diff_ndtr(hi, lo)
    # a degenerate binomial (reach 0 or 1) has one outcome
    point = np.clip(np.ceil(mu - 0.5), 0, A)
    pr = np.where(sd > 0, pr, (k == point).astype(float))
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(pr), -700.0).sum(-1)


def _ll_churned(act: Actuals, cb: np.ndarray, cre: np.ndarray) -> np.ndarray:
    """Churned ~ Poisson(active x churn_base x (1 - churn_revisit_effect x revisit rate)),
    capped at the book (churning everyone has the Poisson's upper tail). Uses the sufficient
    statistics of the Poisson part, so its cost does not grow with the seats."""
    A = act.cols["active_customers"]
    mask = act.worked & (A > 0)
    A, k, rv = _cells(mask, A, act.cols["churned_customers"], act.cols["revisited_customers"])
    rr = rv / A
    cap = k >= A
    # sum over cells of k log(lam) - lam (lgamma(k + 1) is the same on every path)
    pos = (k > 0) & ~cap
    ll = np.log(np.maximum(cb, 1e-300))[..., 0] * k[pos].sum() \
        + (k[pos] * np.log(np.maximum(1.0 - cre * rr[pos], 1e-300))).sum(-1) \
        - cb[..., 0] * (A[~cap].sum() - cre[..., 0] * (A * rr)[~cap].sum())
    if cap.any():
        lam = np.maximum(A[cap] * np.clip(cb * (1.0 - cre * rr[cap]), 0.0, 1.0), 1e-300)
        ll = ll + np.log(np.maximum(special.pdtrc(k[cap] - 1.0, lam), 1e-300)).sum(-1)
    return ll


def _binom_logpmf(k, n, q):
    # q clipped off 0 and 1: a probability at the edge would make the observed counts
    # impossible on that path (-inf) rather than merely unlikely
    return stats.binom.logpmf(k, n, np.clip(q, 1e-12, 1 - 1e-12))


def _ll_csat(act: Actuals, cb, cce, cte, stock) -> np.ndarray:
    """Satisfied ~ Binomial(responses, expit(logit csat_base + coverage x (rr - 0.8) +
    training x min(stock, 3))) per rep-month surveyed; ``stock`` (m, S, T)."""
    from okma_sim.models import REFERENCE_REVISIT_RATE
    A = act.cols["active_customers"]
    mask = act.worked & (act.cols["csat_responses"] > 0)
    A, rv, resp, sat, stock = _cells(mask, A, act.cols["revisited_customers"],
                                     act.cols["csat_responses"], act.cols["csat_satisfied"],
                                     stock)
    with np.errstate(invalid="ignore", divide="ignore"):
        rr = np.where(A > 0, rv / A, 0.0)
    logit = (special.logit(np.clip(cb, 1e-9, 1 - 1e-9)) + cce * (rr - REFERENCE_REVISIT_RATE)
             + cte * np.minimum(stock, 3.0))
    return _binom_logpmf(sat, resp, special.expit(logit)).sum(-1)


def _ll_surveys(plan: Plan, act: Actuals, completion, rate) -> np.ndarray:
    """Each scheduled survey month completes with ``survey_completion``; in a month with a
    survey each rep's responses ~ Binomial(active customers, ``survey_response_rate``)."""
    from okma_sim.models import SalesTeamModel, survey_month
    per_year = SalesTeamModel().lever(plan, "csat_surveys_per_year")
    cal = plan.calendar_months()[:act.T]
    A = act.cols["active_customers"]
    resp = act.cols["csat_responses"]
    done = resp.sum(0) > 0
    sched = np.array([survey_month(int(c), per_year) for c in cal])
    c = np.clip(completion, 1e-12, 1 - 1e-12)[..., 0]
    ll = np.log(c) * (sched & done).sum() + np.log1p(-c) * (sched & ~done).sum()
    mask = act.worked & (A > 0) & done[None, :]
    A, resp = _cells(mask, A, resp)
    return ll + _binom_logpmf(np.minimum(resp, A), A, rate).sum(-1)


def _ll_attrition(act: Actuals, annual) -> np.ndarray:
    """A rep-month followed by an observed month ends in a departure with the monthly hazard
    ``1 - (1 - annual)^(1/12)``."""
    h = 1.0 - (1.0 - np.clip(annual, 0.0, 1.0 - 1e-12)) ** (1.0 / 12.0)
    h = np.clip(h, 1e-12, 1 - 1e-12)[..., 0]
    return act.departures * np.log(h) + (act.exposure - act.departures) * np.log1p(-h)


def _ll_revenue(plan: Plan, act: Actuals, rate, value, vcv, season) -> np.ndarray:
    """Team revenue per month ~ Normal: orders = new + Poisson(repeat), each order's value
    has mean ``value`` and CV ``vcv`` (the model's gamma), so the mean is value x (new + rep)
    and the variance value^2 x ((new + rep) vcv^2 + rep)."""
    w = act.worked
    keep = ((act.cols["active_customers"] - act.cols["churned_customers"]) * w).sum(0)
    new = (act.cols["new_customers"] * w).sum(0)
    rev = (act.cols["revenue"] * w).sum(0)
    rep = rate * season * keep  # (..., T)
    orders = new + rep
    mu = value * orders
    var = value**2 * (orders * vcv**2 + rep)
    ok = orders > 0
    var = np.where(ok, np.maximum(var, 1e-12), 1.0)
    ll = np.where(ok, -0.5 * (rev - mu) ** 2 / var - 0.5 * np.log(2 * np.pi * var), 0.0)
    return ll.sum(-1)


def _log_skill_integral(N: np.ndarray, A: np.ndarray, sig: np.ndarray) -> np.ndarray:
    """log E[s^N exp(-s A)] for s lognormal with mean 1 and log-sd ``sig``.

    In z = (log s + sig^2 / 2) / sig the integrand exp(f(z)) with
    f = -z^2/2 + N log s - A s is log-concave; Newton finds its mode and adaptive
    Gauss-Hermite (10 nodes, scaled by the curvature there) integrates it.

    Examples
    --------
    >>> v = _log_skill_integral(np.array([0.0]), np.array([0.0]), np.array([0.3]))
    >>> abs(float(v[0])) < 1e-9
    True
    """
    N, A, sig = np.broadcast_arrays(np.asarray(N, float), np.asarray(A, float),
                                    np.asarray(sig, float))
    z = np.zeros(N.shape)
    for _ in range(30):
        e = A * np.exp(-sig * sig / 2 + sig * z)
        g = -z + N * sig - sig * e
        h = -1.0 - sig * sig * e
        step = g / h
        z = z - step
        if np.all(np.abs(step) < 1e-10):
            break
    e = A * np.exp(-sig * sig / 2 + sig * z)
    sd = 1.0 / np.sqrt(1.0 + sig * sig * e)
    zz = z[..., None] + math.sqrt(2.0) * sd[..., None] * _GH_X
    ls = -sig[..., None] ** 2 / 2 + sig[..., None] * zz
    f = -0.5 * zz**2 + N[..., None] * ls - A[..., None] * np.exp(ls) + _GH_X**2
    mx = f.max(-1, keepdims=True)
    return (mx[..., 0] + np.log(np.sum(_GH_W * np.exp(f - mx), -1))
            + np.log(math.sqrt(2.0) * sd) - 0.5 * math.log(2 * math.pi))


# --------------------------------------------------------------------------------------------
# the posterior: weights, refined parameters and skills
# --------------------------------------------------------------------------------------------
@dataclass
class _Posterior:
    params: pd.DataFrame
    log_weights: np.ndarray
    skill: np.ndarray           # (n, S) for the seats' current occupants (prior elsewhere)
    ess: float
    terms: dict[str, float]     # ESS of each term's weights alone
    stock: np.ndarray           # (n, S, T+1) training stock (training_retention is not refined)


def _ess(logw: np.ndarray) -> float:
    w = np.exp(logw - np.max(logw))
    return float(w.sum() ** 2 / np.sum(w * w))


def _select(ll: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index of the candidate kept on each path, with probability proportional to exp(ll)."""
    pr = np.exp(ll - ll.max(1, keepdims=True))
    c = np.cumsum(pr, 1)
    return np.minimum((c < (u * c[:, -1])[:, None]).sum(1), ll.shape[1] - 1)


def _posterior(plan: Plan, model: Any, act: Actuals, rep: _Replay, params: pd.DataFrame,
               rng: np.random.Generator, terms: Sequence[str], candidates: int,
               pinned: Mapping[str, float]) -> _Posterior:
    from okma_sim.models import REFERENCE_PROSPECT_VISITS, season_factor
    n = len(params)
    S, T = act.n_seats, act.T
    dists = resolve_parameters(plan, model)
    correlated = set(plan.correlations.parameters) if plan.correlations else set()
    P = {k: params[k].to_numpy(dtype=float).copy() for k in params.columns}
    logw = np.zeros(n)
    term_ess: dict[str, float] = {}
    cal = plan.calendar_months()[:T]
    stock = _stock(act, P["training_retention"])
    cm = 1.0 + rep.coach_on * rep.coach_eff  # (n, S, T)
    season = season_factor(cal[None, :], P["quarter_end_uplift"][:, None])  # (n, T)

    def refine(term: str, ll_fn, width: int = S * T) -> None:
        """K prior candidates of the term's local parameters; keep one, weight by the mean.
        ``width``: elements of the term's arrays per path and candidate (for chunking)."""
        names = [k for k in _LOCAL[term] if k in dists and k not in pinned
                 and k not in correlated and not (getattr(dists[k], "dist", "") == "fixed")]
        K = candidates if names else 1
        ll = np.empty((n, K))
        cand = {k: dists[k].ppf(np.clip(rng.random((n, K)), 1e-12, 1 - 1e-12))
                for k in names}
        for k in names:
            # the engine's own draw is one of the candidates (K = 1: plain reweighting)
            cand[k][:, 0] = P[k]
        chunk = max(1, _CHUNK // max(1, K * width))
        for a in range(0, n, chunk):
            b = min(n, a + chunk)
            get = {k: (cand[k][a:b] if k in cand else np.broadcast_to(P[k][a:b, None],
                                                                       (b - a, K)))
                   for k in _LOCAL[term] if k in P}
            ll[a:b] = ll_fn(slice(a, b), get)
        ll = np.where(np.isfinite(ll), ll, -np.inf)
        mx = ll.max(1)
        if not np.isfinite(mx).any():
            raise OkmaError(f"the actuals are impossible under the model for every path "
                            f"(likelihood term {term!r})", file=act.source)
        mxs = np.where(np.isfinite(mx), mx, 0.0)
        lw = mxs + np.log(np.exp(ll - mxs[:, None]).sum(1) / K)
        lw = np.where(np.isfinite(mx), lw, -np.inf)
        if K > 1:
            ok = np.isfinite(mx)
            pick = np.zeros(n, dtype=int)
            pick[ok] = _select(ll[ok], rng.random(int(ok.sum())))
            for k in names:
                P[k] = cand[k][np.arange(n), pick]
        else:
            rng.random(n)  # keep the stream's use independent of K
        term_ess[term] = _ess(lw)
        nonlocal logw
        logw = logw + lw

    x3 = lambda v: v[:, :, None]  # noqa: E731  (paths, K) -> (paths, K, 1)
    if "revisited_customers" in terms:
        refine("revisited_customers",
               lambda sl, g: _ll_revisited(act, x3(g["followup_targeting"]), cm[sl]))
    if "churned_customers" in terms:
        refine("churned_customers",
               lambda sl, g: _ll_churned(act, x3(g["churn_base"]),
                                         x3(g["churn_revisit_effect"])))
    if "revenue" in terms:
        refine("revenue",
               lambda sl, g: _ll_revenue(plan, act, g["repeat_order_rate"][:, :, None],
                                         g["order_value"][:, :, None],
                                         g["order_value_cv"][:, :, None],
                                         season[sl][:, None, :]))
    if "csat" in terms:
        refine("csat",
               lambda sl, g: _ll_csat(act, x3(g["csat_base"]), x3(g["csat_coverage_effect"]),
                                      x3(g["csat_training_effect"]), stock[sl, :, :T]))
    if "surveys" in terms:
        refine("surveys",
               lambda sl, g: _ll_surveys(plan, act, x3(g["survey_completion"]),
                                         x3(g["survey_response_rate"])))
    if "attrition" in terms:
        refine("attrition", lambda sl, g: _ll_attrition(act, x3(g["rep_attrition_annual"])))

    # -- new customers: each rep's skill integrated out on a grid ---------------------------
    from okma_sim.models import SalesTeamModel
    mkt_plan = SalesTeamModel().lever(plan, "marketing_events_per_quarter")
    nrep = len(act.reps)
    sig0 = np.sqrt(np.log1p(P["skill_cv"] ** 2))
    skill_rep = np.exp(-sig0[:, None] ** 2 / 2 + sig0[:, None]
                       * rng.standard_normal((n, max(nrep, 1))))[:, :nrep]
    u_skill = rng.random((n, max(nrep, 1)))[:, :nrep]
    known = act.rep_known_skill
    kk = np.isfinite(known)
    if "new_customers" in terms and nrep:
        pv = act.cols["prospect_visits"]
        newc = act.cols["new_customers"]
        mask = act.worked & (pv > 0)  # months without visits: nothing the model can explain
        occ = np.where(mask, act.occupant, -1).ravel()
        ind = np.zeros((S * T, nrep))
        ind[np.flatnonzero(occ >= 0), occ[occ >= 0]] = 1.0
        N = ind.T @ newc.ravel()  # each rep's new customers
        sat_norm = 1.0 - math.exp(-1.0)
        vis_base = np.where(pv > 0, pv / REFERENCE_PROSPECT_VISITS, 1.0)
        log_fact = special.gammaln(newc + 1.0)

        def acq_parts(sl, g):
            """Each rep's summed rate A and sum of n log(rate) - log n! over its months, for
            candidates (m, K): shapes (m, K, reps)."""
            m_, K_ = g["base_win_rate"].shape
            x = lambda v: v[:, :, None, None]  # noqa: E731
            ramp = np.minimum(1.0, (act.tenure_start + 1.0) / np.maximum(x(g["ramp_months"]),
                                                                          1e-9))
            up = 1.0 + x(g["training_effect"]) * (1.0 - np.exp(-stock[sl, None, :, :T])) / \
                sat_norm
            mkt = 1.0 + x(g["marketing_effect"])[..., 0] * np.log2(
                1.0 + mkt_plan + rep.mkt_events[sl, None, :])  # (m, K, T)
            rate = (x(g["base_win_rate"]) * ramp * up * cm[sl, None] * vis_base **
                    x(g["visit_elasticity"]) * season[sl, None, None, :] * mkt[:, :, None, :])
            rate = np.where(mask, np.maximum(rate, 1e-300), 0.0).reshape(m_, K_, -1)
            A = rate @ ind
            const = np.where(mask.ravel(), newc.ravel() * np.log(np.maximum(rate, 1e-300))
                             - log_fact.ravel(), 0.0) @ ind
            return A, const

        def skill_grid(A, sig):
            """log of prior x skill^N exp(-skill A) on the grid: (m, K, reps, grid)."""
            ls = -sig[:, :, None, None] ** 2 / 2 + sig[:, :, None, None] * _Z
            return _LOG_PHI + N[:, None] * ls - A[..., None] * np.exp(ls)

        def ll_new(sl, g):
            A, const = acq_parts(sl, g)
            sig = np.sqrt(np.log1p(g["skill_cv"] ** 2))
            marg = _log_skill_integral(N, A, sig[:, :, None])
            if kk.any():  # a rep of known skill: no integral
                marg[:, :, kk] = N[kk] * np.log(known[kk]) - A[:, :, kk] * known[kk]
            return (const + marg).sum(-1)

        refine("new_customers", ll_new, width=nrep * (len(_GH_X) + 8) + S * T)
        # each rep's skill on each path: inverse CDF of its grid posterior
        chunk = max(1, _CHUNK // (nrep * len(_Z) + S * T))
        for a in range(0, n, chunk):
            b = min(n, a + chunk)
            sl = slice(a, b)
            g = {k: P[k][sl, None] for k in _LOCAL["new_customers"]}
            A, _ = acq_parts(sl, g)
            sig = np.sqrt(np.log1p(g["skill_cv"] ** 2))
            lg = skill_grid(A, sig)[:, 0]  # (m, reps, grid)
            dens = np.exp(lg - lg.max(-1, keepdims=True))
            cdf = np.cumsum(dens, -1)
            cdf /= cdf[..., -1:]
            u = u_skill[sl]
            i = (cdf < u[..., None]).sum(-1).clip(0, len(_Z) - 1)
            i0 = np.maximum(i - 1, 0)
            c0 = np.where(i > 0, np.take_along_axis(cdf, i0[..., None], -1)[..., 0], 0.0)
            c1 = np.take_along_axis(cdf, i[..., None], -1)[..., 0]
            frac = np.clip((u - c0) / np.maximum(c1 - c0, 1e-300), 0.0, 1.0)
            z = np.where(i > 0, _Z[i0] + frac * _DZ, _Z[0])
            skill_rep[sl] = np.exp(-sig ** 2 / 2 + sig * z)
    if np.isfinite(act.rep_known_skill).any():
        kk = np.isfinite(act.rep_known_skill)
        skill_rep[:, kk] = act.rep_known_skill[kk][None, :]
    # skills of the seats' current occupants (others: prior draws, used by nobody)
    s2 = np.log1p(P["skill_cv"] ** 2)[:, None]
    skill = np.exp(-s2 / 2 + np.sqrt(s2) * rng.standard_normal((n, S)))
    cur = act.occupant[:, T - 1]
    for s in range(S):
        if cur[s] >= 0:
            skill[:, s] = skill_rep[:, cur[s]]
    if not np.isfinite(logw).any():
        raise OkmaError("the actuals are impossible under the model for every path",
                        file=act.source)
    out = params.copy()
    for k in out.columns:
        out[k] = P[k]
    return _Posterior(params=out, log_weights=logw, skill=skill, ess=_ess(logw),
                      terms=term_ess, stock=stock)


def observed_state(plan: Plan, act: Actuals, params: pd.DataFrame, *, model: Any = None,
                   seed: Any = None, likelihood: Sequence[str] = LIKELIHOOD_TERMS,
                   candidates: int = 16, pinned: Mapping[str, float] | None = None):
    """The model state at the start of the first unobserved month, for every path, with the
    posterior parameter draws and importance weights.

    Parameters
    ----------
    plan : Plan
    act : Actuals
        From :func:`load_actuals`.
    params : DataFrame
        The engine's prior draws, one row per path (:func:`okma_sim.engine.draw_parameters`).
    seed : int
        Seeds the review's own draws (candidates and skills).
    likelihood : sequence of str
        The :data:`LIKELIHOOD_TERMS` to condition on (default: all).
    candidates : int
        K prior candidates per path for parameters local to one term (1: plain reweighting).

    Returns
    -------
    (state, params, weights, info) : SalesState, DataFrame, ndarray, dict
        ``weights`` sum to 1; ``info`` holds ``ess``, ``ess_by_term``, ``rules_fired`` and the
        observed months' ``rule_money`` (per month, mean over paths).

    Examples
    --------
    >>> import okma_sim
    >>> from okma_sim.engine import draw_parameters
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> act = load_actuals(okma_sim.data_path("case_study_actuals.csv"), plan)
    >>> st, par, w, info = observed_state(plan, act, draw_parameters(plan, 500, 1), seed=1)
    >>> st.month_index, round(float(w.sum()), 6)
    (5, 1.0)
    """
    from okma_sim.models import get_model
    model = get_model(plan.model) if model is None else model
    unknown = set(likelihood) - set(LIKELIHOOD_TERMS)
    if unknown:
        raise ValueError(f"'likelihood' terms must be among {LIKELIHOOD_TERMS}, got "
                         f"{sorted(unknown)}")
    if isinstance(candidates, bool) or not isinstance(candidates, (int, np.integer)) or \
            candidates < 1:
        raise ValueError(f"'candidates' must be a positive int, got {candidates!r}")
    seed_int = normalize_seed(seed)
    rng = np.random.default_rng(np.random.SeedSequence(seed_int, spawn_key=(_REVIEW_KEY,)))
    obs = observed_metrics(plan, act)
    p0 = {k: params[k].to_numpy(dtype=float) for k in params.columns}
    rep = _replay(plan, model, act, obs, p0)
    post = _posterior(plan, model, act, rep, params, rng, likelihood, int(candidates),
                      dict(pinned or {}))
    st = rep.state
    P = {k: post.params[k].to_numpy(dtype=float) for k in post.params.columns}
    S, T = act.n_seats, act.T
    cols = act.cols
    # customers at the start of the next month; a vacant seat keeps its last known book
    book = cols["active_customers"] - cols["churned_customers"] + cols["new_customers"]
    active = np.zeros(S)
    R = plan.team.n_reps
    for s in range(S):
        wk = np.flatnonzero(act.worked[s])
        if wk.size:
            active[s] = book[s, wk[-1]]
        elif s < R:
            reps = plan.team.reps
            active[s] = round(plan.team.customers_per_rep if isinstance(reps, int) or
                              reps[s].customers is None else reps[s].customers)
    n = len(params)
    st.active = np.broadcast_to(active, (n, S)).copy()
    tenure = act.tenure_start[:, T - 1] + act.worked[:, T - 1]
    st.tenure = np.broadcast_to(tenure, (n, S)).copy()
    st.skill = post.skill
    st.train_stock = post.stock[:, :, T]
    # a running coaching without the rule's own effect uses the path's refined draw
    st.coach_effect = np.where(st.coach_rule >= 0, st.coach_effect, P["coaching_effect"][:,
                                                                                        None])
    st.cum_revenue = np.full(n, cols["revenue"].sum())
    st.last_csat = np.full(n, obs["csat"][-1])
    q = _quarter_of(plan)
    got = obs["surveys_done"] > 0
    for t in range(T):
        if got[t]:
            st.quarters_done[:, q[t]] = True
    for k in ("coach_h", "train_h"):  # hours of the observed months are not re-charged
        st.acc[k] = np.zeros_like(st.acc[k])
    st.month_index = T
    lw = post.log_weights
    w = np.exp(lw - lw.max())
    w = w / w.sum()
    info = {"ess": post.ess, "ess_by_term": post.terms, "rules_fired": rep.fired,
            "rule_money": rep.rule_money.mean(0), "coaching_hours": rep.coach_hours}
    return st, post.params, w, info


# --------------------------------------------------------------------------------------------
# per-rep pace
# --------------------------------------------------------------------------------------------
_REP_TOTALS = ("new_customers", "active_customers", "revisited_customers", "churned_customers",
               "revenue", "prospect_visits", "customer_visits", "training_hours")
_REP_RATES = {"revisit_rate": ("revisited_customers", "active_customers"),
              "csat": ("csat_satisfied", "csat_responses")}


def flag_reps(plan: Plan, act: Actuals) -> pd.DataFrame:
    """Reps behind the pace of a key result over the observed months.

    A KR on a team total (new customers, revenue, visits, ...) sets a per-rep pace of its
    monthly target divided by the planned number of reps (``team.reps``); with
    ``aggregate = "sum"`` the monthly target is the target over the horizon months, with
    ``share_of_months`` it is the threshold. A rep's value is the rep's monthly mean over the
    months worked. A KR on a rate (revisit rate, CSAT) sets the pace at its target (or
    threshold), and a rep's value is the rep's own ratio (revisited / active customers,
    satisfied / responses). A rep is behind when the value is below the pace (above it for
    ``comparison = "<="``). KRs on levels (growth, quarters surveyed, headcount) have no per-rep
    pace.

    Returns
    -------
    DataFrame
        rep_id, key_result, metric, value, target (the pace), months.

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> act = load_actuals(okma_sim.data_path("case_study_actuals.csv"), plan)
    >>> list(flag_reps(plan, act).columns)
    ['rep_id', 'key_result', 'metric', 'value', 'target', 'months']
    """
    df = act.frame
    rows = []
    R = plan.team.n_reps
    H = plan.horizon_months
    g = df.groupby("rep_id", sort=True)
    months = g.size()
    for k in plan.key_results:
        level = k.threshold if k.aggregate == "share_of_months" else k.target
        if k.metric in _REP_TOTALS:
            per_month = level / H if k.aggregate == "sum" else level
            pace = per_month / R
            value = g[k.metric].sum() / months
        elif k.metric in _REP_RATES:
            num, den = _REP_RATES[k.metric]
            d = g[den].sum()
            value = (g[num].sum() / d.where(d > 0)).dropna()
            pace = level
        else:
            continue
        for rep_id, v in value.items():
            behind = v < pace if k.comparison == ">=" else v > pace
            if behind:
                rows.append({"rep_id": rep_id, "key_result": k.id, "metric": k.metric,
                             "value": float(v), "target": float(pace),
                             "months": int(months[rep_id])})
    return pd.DataFrame(rows, columns=["rep_id", "key_result", "metric", "value", "target",
                                       "months"])


# --------------------------------------------------------------------------------------------
# the review
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReviewResult:
    """A mid-period review. Build it with :func:`review`.

    Attributes
    ----------
    plan : Plan
    months_observed : int
    observed : dict of metric -> ndarray (months observed,)
        The team's observed monthly metrics.
    to_date : dict of id -> float
        Each objective's and KR's aggregate over the observed months only.
    result : SimulationResult or None
        The re-forecast: observed months followed by simulated ones, weighted by the
        importance weights (None when the actuals cover the horizon).
    plan_result : SimulationResult or None
        The plan simulated from scratch with the same seed and paths (plan-time P).
    ess : float or None
        Effective sample size of the importance weights, ``(sum w)^2 / sum w^2``.
    ess_by_term : dict
        The ESS each likelihood term's weights alone would give (which data are sharp).
    at_risk : list of str
        Objectives and KRs whose probability is below ``risk_threshold`` or fell by more
        than ``risk_drop`` since plan time.
    reps_flagged : DataFrame
        :func:`flag_reps`.
    recommendation : dict or None
        The cheapest lever change found that restores P(all objectives met) (see
        :func:`review`).
    warnings : list of str
    """

    plan: Plan
    months_observed: int
    observed: Mapping[str, np.ndarray]
    to_date: Mapping[str, float]
    result: SimulationResult | None
    plan_result: SimulationResult | None
    ess: float | None
    ess_by_term: Mapping[str, float]
    at_risk: list[str]
    reps_flagged: pd.DataFrame
    recommendation: Mapping[str, Any] | None
    warnings: list[str]
    risk_threshold: float
    risk_drop: float
    n_paths: int
    seed: int
    rules_fired: Mapping[str, float] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Whether the actuals cover the whole horizon (verdicts observed, nothing simulated)."""
        return self.result is None

    def met(self, id: str) -> bool | None:
        """The observed verdict at full horizon (None before)."""
        if not self.complete:
            return None
        return bool(self.plan.target(id).met(np.array([self.to_date[id]]))[0])

    def probability(self, id: str) -> Estimate:
        """P(met) given the actuals (1 or 0 with stderr 0 at full horizon)."""
        if self.complete:
            return Estimate(float(self.met(id)), 0.0, 1)
        return self.result.probability(id)

    def plan_probability(self, id: str) -> Estimate | None:
        return None if self.plan_result is None else self.plan_result.probability(id)

    def all_met(self) -> Estimate:
        if self.complete:
            return Estimate(float(all(self.met(o.id) for o in self.plan.objectives)), 0.0, 1)
        return self.result.all_met()

    def probabilities(self) -> pd.DataFrame:
        """One row per objective and KR: probability and stderr now, at plan time, the change,
        the value to date, and whether it is at risk."""
        rows = []
        for t in self.plan.targets:
            e = self.probability(t.id)
            p0 = self.plan_probability(t.id)
            rows.append({"id": t.id, "kind": "key_result" if isinstance(t, KeyResult)
                         else "objective", "metric": t.metric, "target": t.target,
                         "to_date": self.to_date.get(t.id, math.nan),
                         "probability": e.probability, "stderr": e.stderr,
                         "plan_probability": None if p0 is None else p0.probability,
                         "plan_stderr": None if p0 is None else p0.stderr,
                         "change": None if p0 is None else e.probability - p0.probability,
                         "at_risk": t.id in self.at_risk})
        return pd.DataFrame(rows)

    def to_json_dict(self) -> dict[str, Any]:
        """The ``review --json`` document (without the common CLI keys)."""
        def entry(t) -> dict[str, Any]:
            e = self.probability(t.id)
            p0 = self.plan_probability(t.id)
            d = {"id": t.id, "probability": e.probability,
                 "plan_probability": None if p0 is None else p0.probability,
                 "stderr": e.stderr, "plan_stderr": None if p0 is None else p0.stderr,
                 "metric": t.metric, "target": t.target, "to_date": self.to_date.get(t.id)}
            if self.complete:
                d["met"] = self.met(t.id)
            return d

        a = self.all_met()
        p0 = None if self.plan_result is None else self.plan_result.all_met()
        return {
            "months_observed": self.months_observed,
            "complete": self.complete,
            "objectives": [entry(o) for o in self.plan.objectives],
            "key_results": [entry(k) for k in self.plan.key_results],
            "all_met": {**a.to_dict(), "plan_probability": None if p0 is None
                        else p0.probability, "plan_stderr": None if p0 is None else p0.stderr},
            "at_risk": list(self.at_risk),
            "risk_threshold": self.risk_threshold,
            "risk_drop": self.risk_drop,
            "reps_flagged": self.reps_flagged.to_dict(orient="records"),
            "recommendation": None if self.recommendation is None else dict(
                self.recommendation),
            "effective_sample_size": self.ess,
            "effective_sample_size_by_term": dict(self.ess_by_term),
            "rules_fired_observed": dict(self.rules_fired),
        }

    def table(self) -> str:
        """A readable review."""
        cur = self.plan.currency
        T, H = self.months_observed, self.plan.horizon_months
        head = (f"{self.plan.name}: review after {T} of {H} months")
        lines = [head + (" (complete: observed verdicts)" if self.complete else
                         f", {self.n_paths:,} paths, seed {self.seed}"), ""]
        df = self.probabilities()
        if self.complete:
            for _, r in df.iterrows():
                tag = "O " if r["kind"] == "objective" else "KR"
                lines.append(f"{tag} {r['id']:<22} {r['to_date']:>12.4g}  target "
                             f"{r['target']:<8g} {'met' if self.met(r['id']) else 'MISSED'}")
        else:
            h = (f"   {'id':<22}{'to date':>11}  {'plan P':>15}  {'P now':>15}  "
                 f"{'change':>7}")
            lines += [h, "-" * len(h)]
            for _, r in df.iterrows():
                tag = "O " if r["kind"] == "objective" else "KR"
                risk = "  AT RISK" if r["at_risk"] else ""
                lines.append(f"{tag} {r['id']:<22}{r['to_date']:>11.4g}  "
                             f"{r['plan_probability']:>7.3f} ± {r['plan_stderr']:.3f}  "
                             f"{r['probability']:>7.3f} ± {r['stderr']:.3f}  "
                             f"{r['change']:>+7.3f}{risk}")
            a, a0 = self.all_met(), self.plan_result.all_met()
            lines.append("-" * len(h))
            lines.append(f"P(all objectives met): plan {a0} -> now {a}")
            lines.append(f"effective sample size of the update: {self.ess:,.0f} of "
                         f"{self.n_paths:,} paths")
        if len(self.reps_flagged):
            lines += ["", "reps behind a KR's pace (monthly value vs per-rep pace):"]
            for _, r in self.reps_flagged.iterrows():
                lines.append(f"  {r['rep_id']:<10} {r['key_result']:<18} "
                             f"{r['value']:>9.3g} vs {r['target']:.3g}")
        rec = self.recommendation
        if rec is not None:
            lines.append("")
            if not rec["actions"]:
                lines.append(f"recommendation: no change needed ({rec.get('note', '')})")
            else:
                ch = ", ".join(f"{k} {rec['from'][k]:g} -> {v:g}"
                               for k, v in rec["actions"].items())
                ok = "restores" if rec["reached"] else "does not reach"
                lines.append(f"recommendation: {ch} for the remaining months "
                             f"(+{rec['cost']:,.0f} {cur}); P(all objectives met) = "
                             f"{rec['probability']:.3f} ± {rec['stderr']:.3f}, {ok} the goal "
                             f"{rec['goal']:.3f}")
        for w in self.warnings:
            lines.append(f"warning: {w}")
        return "\n".join(lines)


def _risk(plan: Plan, probs: Mapping[str, float], plan_probs: Mapping[str, float | None],
          threshold: float, drop: float) -> list[str]:
    out = []
    for t in plan.targets:
        p, p0 = probs[t.id], plan_probs.get(t.id)
        if p < threshold or (p0 is not None and p0 - p > drop):
            out.append(t.id)
    return out


def _check_unit(x: Any, name: str, *, open_low: bool = False) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.floating)) or \
            not math.isfinite(x) or not 0 <= x <= 1 or (open_low and x == 0):
        raise ValueError(f"'{name}' must be a number in [0, 1], got {x!r}")
    return float(x)


def review(plan: Plan, actuals: str | os.PathLike | Actuals, *, n_paths: int | None = None,
           seed: Any = None, model: Any = None, sampler: str | None = None,
           risk_threshold: float = 0.5, risk_drop: float = 0.15,
           confidence: float | None = None, recommend: bool = True,
           search_paths: int = 2048, max_steps: int = 16,
           likelihood: Sequence[str] = LIKELIHOOD_TERMS, candidates: int = 16,
           executor: Any = None, progress: bool | None = None) -> ReviewResult:
    """Re-forecast a plan from the actuals of the months done so far.

    Parameters
    ----------
    plan : Plan
    actuals : path-like or Actuals
        The rep-month CSV of the months done (from ``start_month``, no gaps).
    n_paths, seed, sampler, executor, progress :
        As in :func:`okma_sim.simulate` (defaults: the plan's ``[simulation]``). The plan-time
        run, the re-forecast and the recommendation search share the seed (common random
        numbers).
    risk_threshold : float
        A KR or objective is at risk when its probability is below this ...
    risk_drop : float
        ... or fell by more than this since plan time.
    confidence : float, optional
        The goal of the recommendation: P(all objectives met) >= confidence. Default: the
        plan-time P(all objectives met).
    recommend : bool
        Search for a lever change (the slow part).
    search_paths, max_steps : int
        Paths per search evaluation, and the most steps of the search.
    likelihood : sequence of str
        The data to condition on (:data:`LIKELIHOOD_TERMS`).
    candidates : int
        Prior candidates per path for parameters local to one likelihood term (module
        docstring); 1 gives plain importance reweighting of the engine's draws.

    Returns
    -------
    ReviewResult

    Notes
    -----
    **Recommendation.** ``okma_sim.analysis.solve_actions`` cannot resume from an observed
    state, so the search is a greedy one over the plan's ``[levers]`` (their bounds and unit
    costs), under common random numbers (the resumed state, the posterior draws, the weights
    and the seed are shared by every evaluation):

    1. on the first ``search_paths`` paths, from the current actions, each step moves one lever
       up or down by its ``step`` (default: 1, 2, 2.5 or 5 times a power of ten near an eighth
       of its range), choosing the move with the largest gain in P(all objectives met) per
       unit of extra cost (a move that gains and costs nothing first), until P reaches the
       goal or no move gains;
    2. once there, it steps down whatever saves most while P stays at the goal;
    3. the result is re-simulated on all paths; if it falls short there, steps 1-2 go on with
       all paths. At most ``max_steps`` steps in all: a search cut short by that budget says
       so (``steps``, ``out_of_steps``, the note and a warning), since it may have stopped
       short of the goal or of a cheaper change.

    The ``probability`` reported is the re-forecast at the recommended actions on all paths.
    Its ``cost`` is the extra cost over the remaining months: each lever's ``unit_cost`` (the
    cost of one unit of level over the horizon) x the change x the share of the horizon left,
    plus the change in the expected ``cost`` metric (priced training and coaching hours, rule
    costs).

    Examples
    --------
    >>> import okma_sim
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> rv = review(plan, okma_sim.data_path("case_study_actuals.csv"), n_paths=2000, seed=1,
    ...             recommend=False)
    >>> rv.months_observed, 0 <= rv.all_met().probability <= 1
    (5, True)
    """
    from okma_sim.engine import simulate
    from okma_sim.models import get_model

    if not isinstance(plan, Plan):
        raise TypeError(f"'plan' must be a Plan, got {type(plan).__name__}")
    model = get_model(plan.model) if model is None else model
    if getattr(model, "name", None) != "sales_team":
        raise OkmaError("the mid-period review needs the sales-team model (its state and "
                        "likelihood are the sales model's)", key="model",
                        value=getattr(model, "name", type(model).__name__))
    risk_threshold = _check_unit(risk_threshold, "risk_threshold")
    risk_drop = _check_unit(risk_drop, "risk_drop")
    if confidence is not None:
        confidence = _check_unit(confidence, "confidence", open_low=True)
    act = actuals if isinstance(actuals, Actuals) else load_actuals(actuals, plan, model=model)
    obs = observed_metrics(plan, act)
    T, H = act.T, plan.horizon_months
    to_date = {}
    for t in plan.targets:
        if t.metric in obs:
            to_date[t.id] = float(aggregate(obs[t.metric][None, :], t.aggregate, t.threshold,
                                            t.comparison)[0])
        else:
            to_date[t.id] = math.nan
    flags = flag_reps(plan, act)
    warn: list[str] = []
    missing = sorted({t.metric for t in plan.targets if t.metric not in obs})
    if missing:
        warn.append(f"metric(s) {', '.join(missing)} cannot be computed from the actuals: "
                    "their aggregates cover the simulated months only")
    skipped = int(((act.cols["prospect_visits"] == 0) & act.worked
                   & (act.cols["new_customers"] > 0)).sum())
    if skipped:
        warn.append(f"{skipped} rep-months won customers without prospect visits; the model "
                    "cannot explain them, so they were left out of the update")
    if n_paths is None:
        n_paths = plan.simulation.paths or 10_000
    seed_int = normalize_seed(plan.simulation.seed if seed is None else seed)

    if T >= H:
        probs = {t.id: float(plan.target(t.id).met(np.array([to_date[t.id]]))[0])
                 for t in plan.targets}
        at_risk = _risk(plan, probs, {}, risk_threshold, risk_drop)
        return ReviewResult(plan=plan, months_observed=T, observed=obs, to_date=to_date,
                            result=None, plan_result=None, ess=None, ess_by_term={},
                            at_risk=at_risk, reps_flagged=flags, recommendation=None,
                            warnings=warn, risk_threshold=risk_threshold, risk_drop=risk_drop,
                            n_paths=0, seed=seed_int)

    kw = dict(n_paths=int(n_paths), seed=seed_int, model=model, sampler=sampler,
              executor=executor, progress=progress)
    plan_res = simulate(plan, **kw)
    # plan_res.params are the engine's prior draws for this seed (the update's starting point)
    st, post, w, info = observed_state(plan, act, plan_res.params, model=model, seed=seed_int,
                                       likelihood=likelihood, candidates=candidates)
    ess = float(info["ess"])
    if ess < max(200.0, 0.01 * n_paths):
        warn.append(f"the importance weights collapsed: effective sample size {ess:,.0f} of "
                    f"{n_paths:,} paths; the re-forecast rests on few parameter draws (run "
                    "more paths, or check the actuals against the plan)")
    observed = {k: v for k, v in obs.items() if k in model.metrics}
    observed["cost"] = obs["training_hours"] * plan.team.hourly_cost + info["rule_money"]
    if "coaching_hours" in model.metrics:
        observed["coaching_hours"] = info["coaching_hours"]
    keep = tuple(dict.fromkeys([t.metric for t in plan.targets] + ["revenue", "cost"]))
    pvals = {k: post[k].to_numpy() for k in post.columns}
    res = simulate(plan, initial_state=st, observed=observed, parameter_values=pvals,
                   keep_monthly=keep, **kw)
    res = dataclasses.replace(res, weights=w, warnings=list(res.warnings) + warn,
                              extra={**res.extra, "ess": ess, "months_observed": T})
    warn = list(res.warnings)
    probs = {t.id: res.probability(t.id).probability for t in plan.targets}
    plan_probs = {t.id: plan_res.probability(t.id).probability for t in plan.targets}
    at_risk = _risk(plan, probs, plan_probs, risk_threshold, risk_drop)
    rec = None
    if recommend:
        goal = plan_res.all_met().probability if confidence is None else confidence
        rec = _recommend(plan, model, st, pvals, w, observed, keep, goal, res, kw,
                         int(search_paths), int(max_steps), T, warn)
    return ReviewResult(plan=plan, months_observed=T, observed=obs, to_date=to_date,
                        result=res, plan_result=plan_res, ess=ess,
                        ess_by_term=info["ess_by_term"], at_risk=at_risk, reps_flagged=flags,
                        recommendation=rec, warnings=warn, n_paths=int(n_paths),
                        seed=seed_int, risk_threshold=risk_threshold, risk_drop=risk_drop,
                        rules_fired=info["rules_fired"])


def _recommend(plan: Plan, model: Any, st: Any, pvals: Mapping[str, np.ndarray],
               w: np.ndarray, observed: Mapping[str, np.ndarray], keep: tuple[str, ...],
               goal: float, res: SimulationResult, kw: Mapping[str, Any], search_paths: int,
               max_steps: int, T: int, warn: list[str]) -> dict[str, Any]:
    """Greedy lever search under common random numbers (see :func:`review`)."""
    from okma_sim.engine import simulate
    from okma_sim.analysis import operating_cost
    from okma_sim.analysis import lever_level

    H = plan.horizon_months
    share_left = (H - T) / H
    levers = {k: lv for k, lv in plan.levers.items() if k in getattr(model, "levers", {})}
    now = res.all_met()
    ops_now = operating_cost(res)  # res carries the weights w

    def answer(actions, est, cost, reached, note="", steps=0, out_of_steps=False):
        return {"actions": {k: float(v) for k, v in actions.items()},
                "from": {k: lever_level(plan, model, k) for k in actions},
                "probability": est.probability, "stderr": est.stderr, "cost": float(cost),
                "goal": float(goal), "reached": bool(reached), "note": note,
                "steps": int(steps), "out_of_steps": bool(out_of_steps),
                "method": "greedy lever search under common random numbers"}

    if now.probability >= goal:
        return answer({}, now, 0.0, True, "P(all objectives met) already meets the goal")
    if not levers:
        return answer({}, now, 0.0, False, "the scenario has no [levers] to search")
    n = int(kw["n_paths"])
    full = {"state": st, "pvals": pvals, "w": w, "m": n}
    m = min(search_paths, n)
    sub = {"state": st.select(np.arange(m)), "pvals": {k: v[:m] for k, v in pvals.items()},
           "w": w[:m] / max(w[:m].sum(), 1e-300), "m": m}
    if not w[:m].sum() > 0:
        sub = full
    cache: dict[tuple, tuple[Estimate, float]] = {}

    def evaluate(levels: Mapping[str, float], on: Mapping[str, Any]) -> tuple[Estimate, float]:
        key = (on["m"],) + tuple(round(levels[k], 9) for k in levers)
        if key not in cache:
            r = simulate(plan.with_actions(**levels), initial_state=on["state"],
                         observed=observed, parameter_values=on["pvals"], keep_monthly=keep,
                         **{**kw, "n_paths": on["m"], "progress": False})
            r = dataclasses.replace(r, weights=on["w"])
            cache[key] = (r.all_met(), operating_cost(r))
        return cache[key]

    def lever_cost(levels):
        return sum(lv.unit_cost * (levels[k] - lever_level(plan, model, k)) * share_left
                   for k, lv in levers.items())

    def moves(levels):
        for k, lv in levers.items():
            step = lv.step or _nice_step((lv.high - lv.low) / 8.0)
            if step <= 0:
                continue
            if levels[k] < lv.high - 1e-9:
                yield {**levels, k: min(lv.high, levels[k] + step)}
            if levels[k] > lv.low + 1e-9:
                yield {**levels, k: max(lv.low, levels[k] - step)}

    def total(levels, ops):
        return lever_cost(levels) + ops

    steps = 0

    def search(cur, on):
        nonlocal steps
        e_cur, ops_cur = evaluate(cur, on)
        # phase 1: raise P(all met) to the goal, best gain per unit of cost first
        while e_cur.probability < goal and steps < max_steps:
            best = None
            for trial in moves(cur):
                e, ops = evaluate(trial, on)
                gain = e.probability - e_cur.probability
                if gain <= 0:
                    continue
                dcost = total(trial, ops) - total(cur, ops_cur)
                score = (math.inf, gain) if dcost <= 0 else (gain / dcost, gain)
                if best is None or score > best[0]:
                    best = (score, trial, e, ops)
            if best is None:
                break
            _, cur, e_cur, ops_cur = best
            steps += 1
        # phase 2: once there, step down what costs most while P stays at the goal
        while e_cur.probability >= goal and steps < max_steps:
            best = None
            for trial in moves(cur):
                e, ops = evaluate(trial, on)
                saving = total(cur, ops_cur) - total(trial, ops)
                if e.probability >= goal and saving > 0 and (best is None or saving > best[0]):
                    best = (saving, trial, e, ops)
            if best is None:
                break
            _, cur, e_cur, ops_cur = best
            steps += 1
        return cur

    cur = search({k: lever_level(plan, model, k) for k in levers}, sub)
    reached_sub = evaluate(cur, sub)[0].probability >= goal
    est, ops = evaluate(cur, full)
    note = f"{steps} search steps on {m:,} paths, verified on all {n:,}"
    if est.probability < goal and reached_sub and sub is not full and steps < max_steps:
        # the subset's estimate was optimistic: go on from there on all paths
        cur = search(cur, full)
        est, ops = evaluate(cur, full)
        note = f"{steps} search steps, on {m:,} paths and then on all {n:,}"
    # Every loop of the search tests the budget before its own stopping rule, so a search
    # that used up max_steps was cut short: it would have taken another step.
    out_of_steps = steps >= max_steps
    stopped = (f"the search stopped after {steps} step{'' if steps == 1 else 's'} "
               f"(max_steps = {max_steps})")
    changed = {k: v for k, v in cur.items() if abs(v - lever_level(plan, model, k)) > 1e-12}
    if not changed:
        if out_of_steps:
            warn.append(f"{stopped} without a lever change; P(all objectives met) stays at "
                        f"{now.probability:.3f}, short of the goal {goal:.3f}")
            return answer({}, now, 0.0, False, stopped, steps, True)
        return answer({}, now, 0.0, False, "no lever step within the bounds raises "
                                           "P(all objectives met)", steps)
    cost = lever_cost(cur) + ops - ops_now
    reached = est.probability >= goal
    if out_of_steps:
        note = f"{note}; {stopped}"
        if reached:
            warn.append(f"{stopped}: the change found restores P(all objectives met) to "
                        f"{goal:.3f}, but a longer search may find a cheaper one")
        else:
            warn.append(f"{stopped} before P(all objectives met) reached {goal:.3f}; the "
                        f"best found so far reaches {est.probability:.3f}, and a longer "
                        "search may do better (it is not shown that the levers cannot "
                        "restore it)")
    elif not reached:
        warn.append(f"no lever change within the [levers] bounds found restores P(all "
                    f"objectives met) to {goal:.3f}; the best found reaches "
                    f"{est.probability:.3f}")
    return answer(changed, est, cost, reached, note, steps, out_of_steps)


def _nice_step(raw: float) -> float:
    """The 1, 2, 2.5 or 5 times a power of ten nearest to ``raw`` (steps people can act on)."""
    if raw <= 0 or not math.isfinite(raw):
        return 0.0
    e = 10.0 ** math.floor(math.log10(raw))
    return min((m * e for m in (1.0, 2.0, 2.5, 5.0, 10.0)), key=lambda x: abs(x - raw))

