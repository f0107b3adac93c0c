"""The observed months: the team's metrics from the actuals, a replay of the management rules
on them, and the model state at the start of the first unobserved month.

The replay steps through the observed months with the observed values, applying the plan's
rules at each review with the model's own review code (vectorised over paths: only the
coaching effect and the hiring delay differ between paths). :func:`observed_state` adds the
parameter update (``_review_posterior``) and sets the resumed state from both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from okma_sim._core.calendar import month_number
from okma_sim._core.seeds import normalize_seed
from okma_sim.io import Actuals
from okma_sim.models import SalesState, SalesTeamModel, get_model
from okma_sim.plan import Plan

from ._review_likelihood import LIKELIHOOD_TERMS
from ._review_posterior import _posterior, _Posterior

__all__ = ["observed_metrics", "observed_state"]

#: spawn-key slot of the review's own draws (candidates, skills), apart from the engine's
_REVIEW_KEY = 2**31 - 2
#: (state accumulator, actuals column) pairs the rules' reviews read
_ACCUMULATED = (("revisited", "revisited_customers"), ("active", "active_customers"),
                ("new", "new_customers"), ("revenue", "revenue"),
                ("churned", "churned_customers"), ("prospect_visits", "prospect_visits"),
                ("customer_visits", "customer_visits"), ("training_hours", "training_hours"))
#: a seat's running responses, ended when its occupant leaves
_RUNNING = ("coach_left", "train_left", "shift_left")


def observed_metrics(plan: Plan, act: Actuals) -> dict[str, np.ndarray]:
    """The team's monthly metrics over the observed months, by the formulas of docs/model.md.

    Examples
    --------
    >>> import okma_sim
    >>> from okma_sim.io import load_actuals
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> act = load_actuals(okma_sim.data_path("case_study_actuals.csv"), plan)
    >>> obs = observed_metrics(plan, act)
    >>> obs["new_customers"].shape
    (5,)
    """
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
    """The quarter (0 the first, counted from the start month's quarter) of each month."""
    start = month_number(plan.start_month) % 12  # the calendar month - 1
    return ((start + np.arange(plan.horizon_months)) // 3) - start // 3


# --------------------------------------------------------------------------------------------
# replay of the management rules
# --------------------------------------------------------------------------------------------
@dataclass
class _Replay:
    state: Any                  # SalesState at the start of month T
    coach_on: np.ndarray        # (n, S, T)
    coach_eff: np.ndarray       # (n, S, T)
    mkt_events: np.ndarray      # (n, T): extra events of a running push (0 otherwise)
    rule_money: np.ndarray      # (n, T): money cost of rules fired at each review
    coach_hours: np.ndarray     # (T,): coaching hours the rules delivered (mean over paths)
    fired: dict[str, float] = field(default_factory=dict)  # per path, over the months


def _blank_state(plan: Plan, model: Any, n: int, S: int, p: Mapping[str, np.ndarray]):
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
    model.init_rule_state(st, p)
    return st


def _replay(plan: Plan, model: Any, act: Actuals, obs: Mapping[str, np.ndarray],
            p: Mapping[str, np.ndarray]) -> _Replay:
    """Step through the observed months with the observed values, applying the plan's rules
    at each review with the model's own review code."""
    n = len(next(iter(p.values())))
    S, T = act.n_seats, act.T
    rep = _Replay(state=_blank_state(plan, model, n, S, p),
                  coach_on=np.zeros((n, S, T), dtype=bool), coach_eff=np.zeros((n, S, T)),
                  mkt_events=np.zeros((n, T)), rule_money=np.zeros((n, T)),
                  coach_hours=np.zeros(T))
    every = plan.management.review_every_months
    rules = plan.management.rules
    diag = {f"rule:{r.id or f'rule{i}'}:{k}": 0.0 for i, r in enumerate(rules)
            for k in ("fired", "cost")}
    for g in range(T):
        _work_month(plan, act, rep, g)
        _close_month(act, rep.state, g)
        if every > 0 and rules and (g + 1) % every == 0:
            rep.rule_money[:, g] = _review_rules(plan, model, rep.state, obs, g, p, diag)
    _next_month_seats(plan, act, rep.state, p["hiring_delay_months"])
    _new_rep_seats(plan, model, act, rep.state, p["hiring_delay_months"])
    rep.fired = {k[5:-6]: v / n for k, v in diag.items() if k.endswith(":fired")}
    return rep


def _work_month(plan: Plan, act: Actuals, rep: _Replay, g: int) -> None:
    """Month ``g`` as observed: the seats' status, the responses running in it (recorded in
    ``rep``) and the accumulators the next review reads."""
    st = rep.state
    S = act.n_seats
    w = act.worked[:, g]
    had = (act.occupant[:, :g + 1] >= 0).any(1) | (act.assigned & (np.arange(S) <
                                                                      plan.team.n_reps))
    st.seat = np.where(w, 2, np.where(had, 1, st.seat)).astype(np.int8)
    filled = st.seat == 2
    coach_on = (st.coach_wait <= 0) & (st.coach_left > 0) & filled
    train_on = (st.train_wait <= 0) & (st.train_left > 0) & filled
    rep.coach_on[:, :, g] = coach_on
    rep.coach_hours[g] = float(np.where(coach_on, st.coach_hours, 0.0).sum(1).mean())
    rep.coach_eff[:, :, g] = st.coach_effect
    mkt_now = (st.mkt_wait <= 0) & (st.mkt_left > 0)
    rep.mkt_events[:, g] = np.where(mkt_now, st.mkt_events, 0.0)
    wf = w.astype(float)
    for a, c in _ACCUMULATED:
        st.acc[a] = st.acc[a] + act.cols[c][:, g] * wf
    st.acc["months"] += 1.0
    st.acc["filled"] = st.acc["filled"] + wf
    st.acc["coach_h"] = st.acc["coach_h"] + np.where(coach_on, st.coach_hours, 0.0)
    st.acc["train_h"] = st.acc["train_h"] + np.where(train_on, st.train_extra, 0.0) * wf


def _close_month(act: Actuals, st: SalesState, g: int) -> None:
    """After month ``g``: timers tick, a departure (or a change of occupant) ends the seat's
    running responses, and vacancies count down."""
    S, T = act.n_seats, act.T
    w = act.worked[:, g]
    st.tick_timers()  # timers tick after the month they covered, as in the model
    if g < T - 1:
        leave = w & ((act.occupant[:, g + 1] != act.occupant[:, g]) | ~act.worked[:, g + 1])
    else:
        leave = np.zeros(S, dtype=bool)
    for name in _RUNNING:
        setattr(st, name, np.where(leave, 0.0, getattr(st, name)))
    vac = st.seat == 1
    st.vacancy_left = np.where(vac, st.vacancy_left - 1, st.vacancy_left)


def _review_rules(plan: Plan, model: Any, st: SalesState, obs: Mapping[str, np.ndarray],
                  g: int, p: Mapping[str, np.ndarray], diag: dict[str, float]) -> np.ndarray:
    """The model's review after month ``g`` on the observed metrics so far; the money cost of
    the rules fired, per path. The accumulators start again."""
    n = st.seat.shape[0]
    out = {k: np.broadcast_to(v[:g + 1], (n, g + 1)) for k, v in obs.items()}
    for k in model.metrics:  # not observable: such a team rule never fires
        out.setdefault(k, np.full((n, g + 1), np.nan))
    out["cost"] = np.broadcast_to(obs["training_hours"][:g + 1] * plan.team.hourly_cost,
                                  (n, g + 1))
    money = model.apply_rules(plan, st, out, g, p, diag, np.zeros(n))
    for k in st.acc:
        st.acc[k] = np.zeros_like(st.acc[k])
    return money


def _next_month_seats(plan: Plan, act: Actuals, st: SalesState,
                      hiring_delay: np.ndarray) -> None:
    """The seats at the start of month T + 1: worked last month, or vacant since a departure
    (the vacancy ends after the path's hiring delay) or since the plan's start (a roster's
    vacant seat nobody took: after its ``vacant_months``), at least one month on."""
    S, T = act.n_seats, act.T
    hire_delay = np.maximum(0.0, np.rint(hiring_delay))
    last = act.worked[:, T - 1]
    had = act.assigned | (act.occupant >= 0).any(1)
    last_worked = np.array([np.flatnonzero(act.worked[s])[-1] if act.worked[s].any() else -1
                            for s in range(S)])
    left = had & ~last
    vac_left = np.maximum(hire_delay[:, None] - (T - 1 - last_worked)[None, :], 1.0)
    reps = plan.team.reps
    for s, rep in enumerate(() if isinstance(reps, int) else reps):
        if rep.vacant_months is not None and last_worked[s] < 0:
            vac_left[:, s] = max(rep.vacant_months - T, 1)
    st.seat = np.where(last, 2, np.where(left, 1, st.seat)).astype(np.int8)
    st.vacancy_left = np.where(left, vac_left, np.where(st.seat == 1,
                                                        np.maximum(st.vacancy_left, 1.0),
                                                        st.vacancy_left))
    for name in _RUNNING:
        setattr(st, name, np.where(last, getattr(st, name), 0.0))


def _new_rep_seats(plan: Plan, model: Any, act: Actuals, st: SalesState,
                   hiring_delay: np.ndarray) -> None:
    """The seats of the ``new_reps`` lever (the model's last seats) that nobody has worked
    yet: still planned (code 3, opened by the model in their month) when that month is after
    the actuals, else vacant for what is left of the path's hiring delay, at least one month.
    They take their share of the books when first filled (``fresh``)."""
    k = model.n_new_reps(plan) if hasattr(model, "n_new_reps") else 0
    S, T = act.n_seats, act.T
    if k <= 0 or S < k:
        return
    seats = np.arange(S - k, S)
    idle = seats[~act.worked[seats].any(axis=1)]
    if not idle.size:
        return
    opened = month_number(plan.team.new_reps_month or plan.start_month) \
        - month_number(plan.start_month)
    if st.fresh is None:
        st.fresh = np.zeros(st.seat.shape, dtype=bool)
    st.fresh[:, idle] = True
    if opened > T - 1:
        st.seat[:, idle] = 3
        return
    wait = np.maximum(np.maximum(0.0, np.rint(hiring_delay)) - (T - opened), 1.0)
    st.seat[:, idle] = 1
    st.vacancy_left[:, idle] = wait[:, None]


# --------------------------------------------------------------------------------------------
# the observed state
# --------------------------------------------------------------------------------------------
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
    >>> from okma_sim.io import load_actuals
    >>> plan = okma_sim.load_plan(okma_sim.case_study_path())
    >>> act = load_actuals(okma_sim.data_path("case_study_actuals.csv"), plan)
    >>> st, par, w, info = observed_state(plan, act, draw_parameters(plan, 500, 1), seed=1)
    >>> st.month_index, round(float(w.sum()), 6)
    (5, 1.0)
    """
    model = get_model(plan.model) if model is None else model
    _check_update_options(likelihood, candidates)
    seed_int = normalize_seed(seed)
    rng = np.random.default_rng(np.random.SeedSequence(seed_int, spawn_key=(_REVIEW_KEY,)))
    obs = observed_metrics(plan, act)
    p0 = {k: params[k].to_numpy(dtype=float) for k in params.columns}
    rep = _replay(plan, model, act, obs, p0)
    post = _posterior(plan, model, act, params, rng, likelihood, int(candidates),
                      dict(pinned or {}), cm=1.0 + rep.coach_on * rep.coach_eff,
                      mkt_events=rep.mkt_events)
    st = _resume(plan, act, rep.state, post, obs)
    lw = post.log_weights
    w = np.exp(lw - lw.max())
    w = w / w.sum()
    info = {"ess": post.ess, "ess_by_term": post.terms, "rules_fired": rep.fired,
            "rule_money": rep.rule_money.mean(0), "coaching_hours": rep.coach_hours}
    return st, post.params, w, info


def _check_update_options(likelihood: Sequence[str], candidates: Any) -> None:
    unknown = set(likelihood) - set(LIKELIHOOD_TERMS)
    if unknown:
        raise ValueError(f"'likelihood' terms must be among {LIKELIHOOD_TERMS}, got "
                         f"{sorted(unknown)}")
    if isinstance(candidates, bool) or not isinstance(candidates, (int, np.integer)) or \
            candidates < 1:
        raise ValueError(f"'candidates' must be a positive int, got {candidates!r}")


def _resume(plan: Plan, act: Actuals, st: SalesState, post: _Posterior,
            obs: Mapping[str, np.ndarray]) -> SalesState:
    """The replayed state completed for month T + 1: books, tenures, the posterior skills and
    coaching effects, the training stock, revenue so far, the last CSAT and the quarters
    surveyed."""
    n = len(post.params)
    S, T = act.n_seats, act.T
    coaching = post.params["coaching_effect"].to_numpy(dtype=float)
    st.active = _next_books(plan, act, post.params["churn_base"].to_numpy(dtype=float))
    tenure = act.tenure_start[:, T - 1] + act.worked[:, T - 1]
    st.tenure = np.broadcast_to(tenure, (n, S)).copy()
    st.skill = post.skill
    st.train_stock = post.stock[:, :, T]
    # a running coaching without the rule's own effect uses the path's refined draw
    st.coach_effect = np.where(st.coach_rule >= 0, st.coach_effect, coaching[:, None])
    st.cum_revenue = np.full(n, act.cols["revenue"].sum())
    st.last_csat = np.full(n, obs["csat"][-1])
    q = _quarter_of(plan)
    got = obs["surveys_done"] > 0
    for t in range(T):
        if got[t]:
            st.quarters_done[:, q[t]] = True
    for k in ("coach_h", "train_h"):  # hours of the observed months are not re-charged
        st.acc[k] = np.zeros_like(st.acc[k])
    st.month_index = T
    return st


def _next_books(plan: Plan, act: Actuals, churn_base: np.ndarray) -> np.ndarray:
    """Each seat's customers at the start of the next month, per path: a worked seat's book;
    a vacant seat keeps its last known book (a roster seat never worked: its planned
    customers), which nobody visited since, so it churned at the path's no-visit rate
    ``churn_base`` for each month it stood vacant (in expectation, in whole customers: as
    calibrate and the backtest carry a vacant book)."""
    cols = act.cols
    book = cols["active_customers"] - cols["churned_customers"] + cols["new_customers"]
    active = np.zeros(act.n_seats)
    vacant_for = np.zeros(act.n_seats)
    R = plan.team.n_reps
    for s in range(act.n_seats):
        wk = np.flatnonzero(act.worked[s])
        if wk.size:
            active[s] = book[s, wk[-1]]
            vacant_for[s] = act.T - 1 - wk[-1]
        elif s < R:
            reps = plan.team.reps
            active[s] = round(plan.team.customers_per_rep if isinstance(reps, int) or
                              reps[s].customers is None else reps[s].customers)
            vacant_for[s] = act.T
    kept = (1.0 - np.asarray(churn_base, dtype=float)[:, None]) ** vacant_for[None, :]
    return np.rint(active[None, :] * kept)
