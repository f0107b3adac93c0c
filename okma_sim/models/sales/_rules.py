"""Management reviews: the plan's rules, tested at each review on the months since the last one,
start their responses (docs/model.md section 6).

A response starts after its delay and runs for its duration; one already pending or running is
not restarted. Hiring opens closed seats, a marketing push adds events for the whole team,
coaching, training and visit shifts run per seat. Money costs are charged when a rule fires;
coaching and training hours are priced as they are delivered and charged to the rule that
scheduled them at the next review.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from ._fast import sparse_where
from ._month import hiring_delay
from ._priors import RESPONSES
from ._state import SalesState

__all__ = ["charge_rule_hours", "init_rule_state", "rep_metric", "review", "rule_condition",
           "team_metric"]

# the per-seat responses and the state timers they run on
_SEAT_TIMERS = {"coaching": "coach", "training": "train", "shift_visits": "shift"}


def init_rule_state(st: SalesState, p: Mapping[str, np.ndarray]) -> None:
    """Fill in the rule bookkeeping a state built elsewhere may lack."""
    shape = st.seat.shape
    if st.coach_effect is None:
        # a state from before per-rule effects: coaching runs at the drawn effect
        st.coach_effect = np.broadcast_to(
            np.asarray(p["coaching_effect"], dtype=float)[:, None], shape).copy()
    if st.coach_rule is None:
        st.coach_rule = np.full(shape, -1, dtype=np.int16)
    if st.train_rule is None:
        st.train_rule = np.full(shape, -1, dtype=np.int16)
    for k in ("coach_h", "train_h", "filled", "prospect_visits", "customer_visits",
              "training_hours"):
        if k not in st.acc:
            st.acc[k] = np.zeros(shape)


def charge_rule_hours(plan, st: SalesState, diag: dict[str, float]) -> None:
    """Charge the coaching and training hours delivered since the last review to the rule
    that scheduled them (priced at ``team.hourly_cost``), then clear the counters.

    Between two reviews a seat's schedule was set by at most one rule (the last to fire on
    it), so this attribution is exact."""
    rules = plan.management.rules
    if not rules:
        return
    hourly = plan.team.hourly_cost
    for key, owner in (("coach_h", st.coach_rule), ("train_h", st.train_rule)):
        hours = st.acc.get(key)
        if not hours.any():  # init_rule_state made both arrays
            continue
        # whole hours sum exactly in any order: then a masked product's sum (fast) equals
        # the sum of the selected hours (a slow boolean index)
        exact = (hours.dtype == np.float64 and np.array_equal(hours, np.trunc(hours))
                 and float(np.abs(hours).max()) * hours.size < 2.0 ** 52)
        for r_i, r in enumerate(rules):
            mine = owner == r_i
            if not mine.any():
                continue  # a sum of nothing is 0.0, charged nothing
            h = float((hours * mine).sum() if exact else hours[mine].sum())
            if h:
                diag[f"rule:{r.id or f'rule{r_i}'}:cost"] += h * hourly
        st.acc[key] = np.zeros_like(hours)


def review(plan, st: SalesState, out: Mapping[str, np.ndarray], j: int,
           p: Mapping[str, np.ndarray], diag: dict[str, float],
           rule_cost: np.ndarray) -> np.ndarray:
    """Apply every management rule at a review; responses start after their delay.

    Returns ``rule_cost`` plus each path's money cost of the rules fired now (the hours
    they schedule are priced in the ``cost`` metric as they are delivered). The
    diagnostics ``rule:<id>:fired`` count firings (per rep for per-rep and rep-level
    responses, per path otherwise) and ``rule:<id>:cost`` sums money costs and the priced
    hours each rule delivered. ``out`` holds the metrics through month ``j``.
    """
    charge_rule_hours(plan, st, diag)
    filled = st.seat == 2
    hire_k = 0  # hiring rules count their firings in st.hires_done[:, hire_k]
    for r_i, r in enumerate(plan.management.rules):
        rid = r.id or f"rule{r_i}"
        cond = rule_condition(plan, r, st.acc, out, j, rule_cost, filled)
        if r.response == "hiring":
            fired, cost = _open_seats(st, r, cond, hire_k, p)
            hire_k += 1
        elif r.response == "marketing_push":
            fired, cost = _start_marketing(st, r, cond)
        else:
            fired, cost = _start_seat_response(st, r, r_i, cond, filled, p)
        diag[f"rule:{rid}:fired"] += float(fired.sum())
        diag[f"rule:{rid}:cost"] += float(cost.sum())
        rule_cost = rule_cost + cost
    return rule_cost


def rule_condition(plan, r, acc: Mapping[str, np.ndarray], out: Mapping[str, np.ndarray],
                   j: int, rule_cost: np.ndarray, filled: np.ndarray) -> np.ndarray:
    """Where rule ``r`` fires: its metric below ``below`` (or above ``above``), per seat
    (filled seats only) for a per-rep rule, else per path. A metric with no value (NaN)
    never fires a rule."""
    if r.per_rep:
        val = rep_metric(r.metric, acc)
    elif r.metric == "cost":
        # this month's cost row is written after the review: the priced hours so far
        val = out["training_hours"][:, j] * plan.team.hourly_cost + rule_cost
    else:
        val = team_metric(r.metric, acc, out, j)
    cond = (val < r.below) if r.below is not None else (val > r.above)
    cond &= np.isfinite(val)
    if r.per_rep:
        cond &= filled
    return cond


def _setting(r, key: str):
    """The rule's own ``key`` (hours, delay, cost...) or its response's default."""
    value = getattr(r, key)
    return RESPONSES[r.response][key] if value is None else value


def _open_seats(st: SalesState, r, cond: np.ndarray, hire_k: int,
                p: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Hiring: open up to ``reps`` closed seats on each path where the rule fires for the first
    time; they are filled after the rule's delay plus the hiring delay. Returns the firings
    and money cost per path."""
    if r.per_rep:
        cond = cond.any(1)
    cond = cond & ~st.hires_done[:, hire_k]
    wait = float(_setting(r, "delay_months"))
    k_reps = int(_setting(r, "reps"))
    closed = np.cumsum(st.seat == 0, axis=1)
    open_now = (st.seat == 0) & (closed <= k_reps) & cond[:, None]
    st.seat = np.where(open_now, 1, st.seat).astype(np.int8)
    st.vacancy_left = np.where(open_now, wait + hiring_delay(p)[:, None], st.vacancy_left)
    st.active = np.where(open_now, 0.0, st.active)
    st.hires_done[:, hire_k] |= cond
    fired = cond.astype(float)
    return fired, fired * _setting(r, "cost") * k_reps


def _start_marketing(st: SalesState, r, cond: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A marketing push: extra events for the team on each path where the rule fires and no
    push is pending or running. Returns the firings and money cost per path."""
    if r.per_rep:
        cond = cond.any(1)
    cond = cond & ~((st.mkt_wait > 0) | (st.mkt_left > 0))  # not restarted
    st.mkt_wait = np.where(cond, float(_setting(r, "delay_months")), st.mkt_wait)
    st.mkt_left = np.where(cond, float(_setting(r, "duration_months")), st.mkt_left)
    st.mkt_events = np.where(cond, float(_setting(r, "events")), st.mkt_events)
    fired = cond.astype(float)
    return fired, fired * _setting(r, "cost")


def _start_seat_response(st: SalesState, r, r_i: int, cond: np.ndarray, filled: np.ndarray,
                         p: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Coaching, training or a visit shift on each filled seat where the rule fires (every
    filled seat of the path for a team rule). Returns the firings (reps per path) and money
    cost per path."""
    if not r.per_rep:
        cond = np.broadcast_to(cond[:, None], st.seat.shape) & filled
    # a response already pending or running is not restarted: re-firing it at every review
    # would push its start back forever when delay >= cadence
    timer = _SEAT_TIMERS[r.response]
    busy = (getattr(st, f"{timer}_wait") > 0) | (getattr(st, f"{timer}_left") > 0)
    cond = cond & ~busy
    idx = np.flatnonzero(cond)
    wait = float(_setting(r, "delay_months"))
    dur = float(_setting(r, "duration_months"))
    setattr(st, f"{timer}_wait", sparse_where(cond, wait, getattr(st, f"{timer}_wait"), idx=idx))
    setattr(st, f"{timer}_left", sparse_where(cond, dur, getattr(st, f"{timer}_left"), idx=idx))
    if r.response == "coaching":
        st.coach_hours = sparse_where(cond, float(_setting(r, "hours_per_month")),
                                      st.coach_hours, idx=idx)
        # the rule's own effect, when given, replaces the coaching_effect prior
        eff = (np.asarray(p["coaching_effect"], dtype=float)[:, None]
               if r.effect is None else float(r.effect))
        st.coach_effect = sparse_where(cond, eff, st.coach_effect, idx=idx)
        st.coach_rule = sparse_where(cond, r_i, st.coach_rule, np.int16, idx)
    elif r.response == "training":
        st.train_extra = sparse_where(cond, float(_setting(r, "hours_per_month")),
                                      st.train_extra, idx=idx)
        st.train_rule = sparse_where(cond, r_i, st.train_rule, np.int16, idx)
    else:
        st.shift_amount = sparse_where(cond, float(_setting(r, "visits_per_week")),
                                       st.shift_amount, idx=idx)
    # counts as floats: exact (the @ sums whole numbers)
    fired = cond.astype(float) @ np.ones(cond.shape[1])
    return fired, fired * _setting(r, "cost")


def rep_metric(metric: str, acc: Mapping[str, np.ndarray]) -> np.ndarray:
    """A rep's monthly average since the last review, over the months the rep worked
    (NaN for a seat nobody filled; such seats never trigger a rule)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        if metric == "revisit_rate":
            return np.where(acc["active"] > 0, acc["revisited"] / acc["active"], np.nan)
        key = {"new_customers": "new", "churned_customers": "churned",
               "active_customers": "active", "revisited_customers": "revisited"
               }.get(metric, metric)
        if key in acc and key != "months":
            # months worked ("filled" is always there: init_rule_state adds it)
            return acc[key] / np.where(acc["filled"] > 0, acc["filled"], np.nan)
    raise ValueError(f"metric {metric!r} has no per-rep value")


def team_metric(metric: str, acc: Mapping[str, np.ndarray], out: Mapping[str, np.ndarray],
                j: int) -> np.ndarray:
    """The team's value of ``metric`` at a review: the monthly average since the last review
    for totals (the pooled rate for the revisit rate), the latest value otherwise."""
    if metric == "revisit_rate":
        a = acc["active"].sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(a > 0, acc["revisited"].sum(1) / a, np.nan)
    if metric in ("new_customers", "revenue", "churned_customers", "revisited_customers",
                  "active_customers", "prospect_visits", "customer_visits",
                  "training_hours"):
        key = {"new_customers": "new", "churned_customers": "churned",
               "revisited_customers": "revisited", "active_customers": "active"
               }.get(metric, metric)
        return acc[key].sum(1) / np.maximum(acc["months"], 1.0)
    return out[metric][:, j]  # levels and rates: the latest value
