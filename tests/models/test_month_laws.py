"""Laws of one month's draws given the state (docs/model.md 5): capacity executes by priority
with each visit taking its own hours, a one-customer book's revisit share is its revisited
count, and an order's value is gamma with mean ``order_value`` and coefficient of variation
``order_value_cv``. Every uncertain parameter is fixed (tests/models/test_staffing.py);
random checks use 4 standard errors with fixed seeds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from okma_sim.plan import Rep, Team

from test_staffing import W, make_plan, run, within

Z = 4.0


@pytest.mark.parametrize("hours, hcv, hpv", [(40.0, 1.5, 2.5), (30.0, 0.5, 3.0),
                                             (25.0, 2.0, 0.75)])
def test_capped_month_executes_by_priority_at_each_visits_hours(hours, hcv, hpv):
    """Selling hours cut the month in the order training, customer visits, prospect visits,
    each visit taking its own hours: executed visits = min(planned, hours left / hours each),
    summed exactly in the diagnostics."""
    team = Team(reps=(Rep("a", tenure_months=240, customers=40),
                      Rep("b", tenure_months=240, customers=40)),
                selling_hours_per_month=hours, hours_per_customer_visit=hcv,
                hours_per_prospect_visit=hpv)
    n, months = 50, 3
    res = run(make_plan(team, horizon=months, training_hours_per_month=3.0), n=n,
              rep_attrition_annual=0.0)
    left = hours - 3.0
    cv = min(5.0 * W, left / hcv)
    left = max(left - cv * hcv, 0.0)
    pv = min(6.0 * W, left / hpv)
    d = res.diagnostics
    rep_months = n * 2 * months
    assert d["rep_months"] == rep_months
    unit = n * months / 16384.0  # each path-month's sum is rounded to 1/16384
    assert d["customer_visits_executed"] == pytest.approx(cv * rep_months, rel=0, abs=unit)
    assert d["prospect_visits_executed"] == pytest.approx(pv * rep_months, rel=0, abs=unit)
    assert d["hours_executed"] == pytest.approx(hours * rep_months, rel=0, abs=unit)


def test_one_customer_books_churn_at_the_hazard_of_their_revisit():
    """A seat with one active customer has revisit share = revisited (0 or 1); its churn is
    min(1, Poisson(churn_base (1 - churn_revisit_effect x share))): P(churn) = 1 - exp(-h).
    With 5 visits a week to one customer it is revisited; with none it is not."""
    team = Team(reps=tuple(Rep(f"r{i}", tenure_months=240, customers=1) for i in range(4)),
                selling_hours_per_month=500.0)
    cb, eff = 0.3, 0.8
    for rev, visits in ((0.0, 0.0), (1.0, 5.0)):
        res = run(make_plan(team, horizon=3, customer_visits_per_week=visits), n=2000, seed=7,
                  rep_attrition_annual=0.0, base_win_rate=0.0, churn_base=cb,
                  churn_revisit_effect=eff)
        r = res.per_rep
        sel = (r["active_customers"] == 1) & (r["revisited_customers"] == rev)
        assert sel.sum() > 500
        p = 1.0 - math.exp(-cb * (1.0 - eff * rev))
        within(r["churned_customers"][sel], p)


@pytest.mark.parametrize("cv", [0.5, 2.0])
def test_order_values_are_gamma_with_the_stated_cv(cv):
    """Under one seed the orders are those of a run at cv 0 (revenue / order_value there), and
    given k orders the revenue is gamma with mean k v and variance k v^2 cv^2."""
    team = Team(reps=(Rep("a", tenure_months=240, customers=60),
                      Rep("b", tenure_months=240, customers=60)),
                selling_hours_per_month=500.0)
    plan = make_plan(team, horizon=4)
    v = 1000.0
    exact = run(plan, n=4000, seed=3, order_value=v, order_value_cv=0.0).per_rep["revenue"]
    rev = run(plan, n=4000, seed=3, order_value=v, order_value_cv=cv).per_rep["revenue"]
    k = exact / v
    np.testing.assert_allclose(k, np.round(k), atol=1e-9)  # whole orders
    assert k.mean() > 5
    within(rev, exact)  # mean k v
    within((rev - exact) ** 2, k * v * v * cv * cv)  # variance k v^2 cv^2
