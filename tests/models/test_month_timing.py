"""Timing inside the model's month: which month's training stock and which months' coaching
act on a month, checked month by month where the stock is far from saturated.

One rep, every parameter fixed, no visits elasticity, season, marketing or discrepancy: new
customers in month j are Poisson(base_win_rate (1 + uplift_j) coach_j), with the training
stock starting at 0 and built by the hours of the months *before* j (docs/model.md, the
training stock), and coaching running in months m + 1 + delay_months .. of a review at the end
of month m. A one-month shift of either moves some month's rate by 20% or more, against a
standard error under 1%.
"""

from __future__ import annotations

import math

import numpy as np

import okma_sim
from okma_sim.models.sales import PARAMETERS
from okma_sim.params import Distribution
from okma_sim.plan import Management, Objective, Plan, Rule, Team

N = 4000
Z = 4.0
MONTHS = 8
BASE = 4.0
RETENTION = 0.5
EFFECT = 1.0
HOURS = 8.0  # the reference training hours: the stock tends to 1


def _plan(training_effect: float, rules=()) -> Plan:
    values = {k: float(v.prior.mean()) for k, v in PARAMETERS.items()}
    values.update(discrepancy_scale=0.0, skill_cv=0.0, rep_attrition_annual=0.0,
                  base_win_rate=BASE, visit_elasticity=0.0, training_effect=training_effect,
                  training_retention=RETENTION, quarter_end_uplift=0.0, marketing_effect=0.0,
                  coaching_effect=0.5)
    params = {k: Distribution("fixed", {"value": v}) for k, v in values.items()}
    actions = {"prospect_visits_per_week": 6.0, "customer_visits_per_week": 3.0,
               "training_hours_per_month": HOURS, "marketing_events_per_quarter": 0.0,
               "csat_surveys_per_year": 0.0}
    return Plan(name="timing", start_month="2027-01", horizon_months=MONTHS,
                objectives=(Objective(id="nc", metric="new_customers", target=1.0,
                                      aggregate="mean"),),
                team=Team(reps=1, tenure_months=240.0, customers_per_rep=40.0,
                          selling_hours_per_month=160.0),
                actions=actions, parameters=params, management=Management(rules=tuple(rules)))


def _monthly_new(plan) -> np.ndarray:
    assert okma_sim.check_plan(plan)[0] == []
    res = okma_sim.simulate(plan, n_paths=N, seed=8, keep_monthly=["new_customers",
                                                                  "headcount"])
    assert np.all(res.monthly["headcount"] == 1)
    return res.monthly["new_customers"].astype(float)


def _assert_rates(new: np.ndarray, lam: list[float]) -> None:
    for j, lj in enumerate(lam):
        got = new[:, j].mean()
        assert abs(got - lj) <= Z * math.sqrt(lj / N), (j, got, lj)


def test_training_stock_of_the_months_before_acts_on_this_month():
    stock, lam = 0.0, []
    for _ in range(MONTHS):
        uplift = EFFECT * (1 - math.exp(-stock)) / (1 - math.exp(-1))
        lam.append(BASE * (1 + uplift))
        stock = RETENTION * stock + (1 - RETENTION) * HOURS / 8.0
    assert lam[0] == BASE and lam[1] / lam[0] > 1.5  # far from saturated in the first months
    _assert_rates(_monthly_new(_plan(EFFECT)), lam)


def test_coaching_runs_from_the_month_after_the_review_plus_its_delay():
    # a team rule that fires at every review it may (new customers above -1): reviewed at the
    # end of month 0, coached in months 2 and 3 (delay 1, duration 2). Pending or running, it
    # does not fire again; its last month done, the review at the end of month 3 fires again:
    # months 5 and 6; the one at the end of month 6 would start month 8, past the horizon
    rule = Rule(metric="new_customers", response="coaching", above=-1.0, hours_per_month=0.0,
                delay_months=1, duration_months=2, effect=EFFECT)
    coached = [0, 0, 1, 1, 0, 1, 1, 0]
    _assert_rates(_monthly_new(_plan(0.0, [rule])), [BASE * (1 + EFFECT * c) for c in coached])
