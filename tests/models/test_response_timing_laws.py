"""Management responses follow their documented schedule (docs/model.md 6, "Timing"), month by
month: a review at the end of month m starts a response in month ``m + 1 + delay_months``; it
lasts ``duration_months`` months; while it is pending or running the rule does not fire again
for that rep. A hiring rule's seats stay empty for ``max(1, delay + round(hiring_delay))``
months (6, "Hiring details"). Every parameter is fixed (tests/models/test_staffing.py), nobody
leaves and the hours never bind, so each seat's training hours and prospect visits are
deterministic and the schedule is computed here independently of the model.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from okma_sim.models.sales._state import SalesState
from okma_sim.plan import Management, Rep, Rule, Team

from test_staffing import VALUES, W, make_plan, run

N = 40
H = 12
TEAM = Team(reps=(Rep("a", tenure_months=240, customers=40),
                  Rep("b", tenure_months=240, customers=40)),
            selling_hours_per_month=10_000.0)


def schedule(every: int, delay: int, duration: int, horizon: int = H) -> np.ndarray:
    """1.0 in the months a response of an always-firing rule is on, per the documented law."""
    on = np.zeros(horizon)
    last = -1  # the last month of the latest response (it is pending or running before)
    fired = 0
    for m in range(horizon):
        if (m + 1) % every == 0 and m >= last:
            start = m + 1 + delay
            on[start:start + duration] = 1.0
            last = start + duration - 1
            fired += 1
    return on, fired


def plan_with(rule: Rule, every: int, horizon: int = H, team: Team = TEAM, **actions):
    p = make_plan(team, horizon=horizon, training_hours_per_month=3.0, **actions)
    return p.replace(management=Management(review_every_months=every, rules=(rule,)))


CASES = [(1, 0, 2), (1, 2, 3), (3, 0, 2), (2, 1, 1), (4, 0, 3), (1, 1, 1)]


@pytest.mark.parametrize("every, delay, duration", CASES)
def test_training_rule_adds_its_hours_in_exactly_the_scheduled_months(every, delay, duration):
    """Training hours of each seat = planned + the rule's hours in the scheduled months only,
    and the rule fires once per scheduled start for each rep."""
    rule = Rule(metric="new_customers", response="training", below=1e9, per_rep=True,
                id="t", hours_per_month=8.0, delay_months=delay, duration_months=duration)
    res = run(plan_with(rule, every), n=N, rep_attrition_annual=0.0)
    on, fired = schedule(every, delay, duration)
    want = 3.0 + 8.0 * on
    th = res.per_rep["training_hours"]
    np.testing.assert_allclose(th, np.broadcast_to(want, th.shape), rtol=0, atol=1e-9)
    assert res.diagnostics["rule:t:fired"] == N * 2 * fired


@pytest.mark.parametrize("every, delay, duration", CASES)
def test_visit_shift_moves_prospect_visits_in_exactly_the_scheduled_months(every, delay,
                                                                           duration):
    """Each seat's prospect visits are the plan's 6 a week less the 2 shifted in the scheduled
    months (the history records whole visits), the plan's in every other month."""
    rule = Rule(metric="new_customers", response="shift_visits", below=1e9, per_rep=True,
                id="s", visits_per_week=2.0, delay_months=delay, duration_months=duration)
    res = run(plan_with(rule, every), n=N, rep_attrition_annual=0.0)
    on, fired = schedule(every, delay, duration)
    pv = res.per_rep["prospect_visits"]
    shifted = np.abs(pv - 4.0 * W) < 1.0
    assert np.all(shifted | (np.abs(pv - 6.0 * W) < 1.0))
    np.testing.assert_array_equal(shifted, np.broadcast_to(on == 1.0, pv.shape))
    assert res.diagnostics["rule:s:fired"] == N * 2 * fired


@pytest.mark.parametrize("delay, hiring_delay", [(0, 0.0), (0, 2.0), (2, 1.0), (1, 3.0)])
def test_hiring_rule_seats_stay_empty_for_the_documented_months(delay, hiring_delay):
    """A hiring rule firing at the end of month 0 opens a seat that is empty for
    max(1, delay + round(hiring_delay)) months, then filled for good."""
    rule = Rule(metric="new_customers", response="hiring", below=1e9, id="h", reps=1,
                delay_months=delay)
    res = run(plan_with(rule, 1, horizon=8), n=N, rep_attrition_annual=0.0,
              hiring_delay_months=hiring_delay)
    filled = res.per_rep["filled"]
    assert filled.shape[1] == 3
    empty = max(1, delay + round(hiring_delay))
    want = np.zeros(8)
    want[1 + empty:] = 1.0
    np.testing.assert_array_equal(filled[:, 2, :], np.broadcast_to(want, (N, 8)))
    np.testing.assert_array_equal(filled[:, :2, :], 1.0)


def _state(wait: float, left: float) -> SalesState:
    z = np.zeros((1, 1))
    kw = {f.name: z.copy() for f in dataclasses.fields(SalesState)
          if f.name not in ("month_index", "acc") and f.default is dataclasses.MISSING}
    kw["month_index"] = 0
    for t in ("coach", "train", "shift", "mkt"):
        kw[f"{t}_wait"], kw[f"{t}_left"] = np.full((1, 1), wait), np.full((1, 1), left)
    kw["mkt_events"] = np.full((1, 1), 2.0)
    return SalesState(**kw)


@pytest.mark.parametrize("wait, left", [(0, 1), (0, 3), (2, 2), (1, 1), (3, 1)])
def test_timers_count_down_wait_then_duration(wait, left):
    """Ticking month by month, every response timer (coaching, training, visit shift,
    marketing) is on (wait <= 0 and left > 0) in exactly ticks wait .. wait + left - 1, and a
    marketing push's events stay while it is pending or running, then drop to 0."""
    st = _state(float(wait), float(left))
    want_on = [wait <= i < wait + left for i in range(8)]
    for t in ("coach", "train", "shift", "mkt"):
        s = _state(float(wait), float(left))
        on = []
        for _ in range(8):
            on.append(bool((getattr(s, f"{t}_wait")[0, 0] <= 0)
                           & (getattr(s, f"{t}_left")[0, 0] > 0)))
            if t == "mkt":
                assert s.mkt_events[0, 0] == (2.0 if on[-1] or s.mkt_wait[0, 0] > 0 else 0.0)
            s.tick_timers()
        assert on == want_on, t
    assert st.mkt_events[0, 0] == 2.0


def test_a_resumed_run_without_reviews_charges_a_finished_training_nothing():
    """Training a rule ran before a resumed block (its seats still record the rule) is charged
    only for hours delivered: with no reviews in the resumed block none is, so its cost is 0."""
    from okma_sim.models.sales import SalesTeamModel
    rule = Rule(metric="new_customers", response="training", below=1e9, per_rep=True,
                id="t", hours_per_month=8.0, duration_months=1)
    first = plan_with(rule, 3, horizon=5)  # fires at the end of month 2, trains in month 3
    res = run(first, n=N, rep_attrition_annual=0.0)
    assert res.diagnostics["rule:t:cost"] == N * 2 * 8.0 * first.team.hourly_cost
    st = res.state
    assert (st.train_rule == 0).all() and not st.train_left.any()
    later = plan_with(rule, 0, horizon=8)
    params = {k: np.full(N, v) for k, v in {**VALUES, "rep_attrition_annual": 0.0}.items()}
    again = SalesTeamModel().simulate(later, params, np.random.default_rng(2),
                                      initial_state=st)
    assert again.diagnostics["rule:t:cost"] == 0.0
