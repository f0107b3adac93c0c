"""Repeat orders of visited and unvisited customers against their stated law (docs/model.md 5.8):

    repeat orders ~ Poisson(season x base x (kept + visit_order_effect x min(revisited, kept))),
    base = repeat_order_rate / (1 + 0.8 x visit_order_effect),   kept = active - churned

so a kept customer nobody revisited orders at ``base`` and a revisited one at
``base x (1 + visit_order_effect)``.

One rep, every parameter fixed, orders worth ``order_value`` exactly (``order_value_cv = 0``:
revenue = orders x order_value), so a month's repeat orders are revenue / order_value minus
the new customers. The law is checked given each path's recorded counts, in a quarter-end
month (March) and an ordinary one (April), with and without follow-up visits. Every
comparison uses 4 standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import okma_sim
from okma_sim.models.sales import PARAMETERS
from okma_sim.params import Distribution
from okma_sim.plan import Management, Objective, Plan, Team

N_PATHS = 20_000
SEED = 20270303
Z = 4.0

VALUES = {k: float(v.prior.mean()) for k, v in PARAMETERS.items()}
# the laws below are the model's without its discrepancy (tests/models/test_discrepancy.py)
VALUES["discrepancy_scale"] = 0.0
VALUES.update(skill_cv=0.0, rep_attrition_annual=0.0, order_value_cv=0.0, order_value=1000.0,
              repeat_order_rate=0.5, visit_order_effect=0.6, quarter_end_uplift=0.2,
              churn_base=0.08, base_win_rate=0.9)
KEEP = ["revenue", "new_customers", "active_customers", "revisited_customers",
        "churned_customers", "headcount"]
MONTHS = {0: 1.0 + 0.2, 1: 1.0 - 0.2 / 2}  # March (quarter end), April: season factors


def plan_with(visits_per_week: float) -> Plan:
    params = {k: Distribution("fixed", {"value": v}) for k, v in VALUES.items()}
    return Plan(
        name="visit orders", start_month="2027-03", horizon_months=2,
        objectives=(Objective(id="nc", metric="new_customers", target=1.0, aggregate="mean"),),
        team=Team(reps=1, tenure_months=240.0, customers_per_rep=40.0,
                  selling_hours_per_month=160.0),
        actions={"prospect_visits_per_week": 6.0, "customer_visits_per_week": visits_per_week,
                 "training_hours_per_month": 0.0, "marketing_events_per_quarter": 0.0,
                 "csat_surveys_per_year": 0.0},
        parameters=params, management=Management(rules=()))


@pytest.fixture(scope="module")
def runs():
    out = {}
    for v in (0.0, 6.0):
        plan = plan_with(v)
        assert okma_sim.check_plan(plan)[0] == []
        out[v] = okma_sim.simulate(plan, n_paths=N_PATHS, seed=SEED, keep_monthly=KEEP,
                                   progress=False)
    return out


def counts(res, month: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(repeat orders, kept customers, revisited kept customers) of each path in ``month``."""
    m = res.monthly
    assert np.all(m["headcount"][:, month] == 1)
    orders = m["revenue"][:, month] / VALUES["order_value"] - m["new_customers"][:, month]
    assert np.allclose(orders, np.rint(orders)) and orders.min() >= 0
    kept = m["active_customers"][:, month] - m["churned_customers"][:, month]
    return np.rint(orders), kept, np.minimum(m["revisited_customers"][:, month], kept)


def base_rate(month: int) -> float:
    """Repeat orders per kept customer-month of a customer nobody revisited."""
    return MONTHS[month] * VALUES["repeat_order_rate"] / (1 + 0.8 * VALUES["visit_order_effect"])


def law_mean(kept: np.ndarray, rk: np.ndarray, month: int) -> np.ndarray:
    return base_rate(month) * (kept + VALUES["visit_order_effect"] * rk)


@pytest.mark.parametrize("visits", [0.0, 6.0])
@pytest.mark.parametrize("month", [0, 1])
def test_repeat_orders_follow_the_law(runs, visits, month):
    x, kept, rk = counts(runs[visits], month)
    mu = law_mean(kept, rk, month)
    if visits == 0:
        assert np.all(rk == 0)  # nobody is revisited: every kept customer at the base rate
    else:
        assert rk.mean() > 0.6 * kept.mean()  # most kept customers were revisited
    # mean: E[x - mu] = 0, with Var(x | mu) = mu
    d = x - mu
    assert abs(d.mean()) < Z * math.sqrt(mu.mean() / x.size), (d.mean(), mu.mean())
    # Poisson dispersion: E[(x - mu)^2 - mu] = 0
    e = d ** 2 - mu
    assert abs(e.mean()) < Z * e.std(ddof=1) / math.sqrt(x.size)
    # tails: P(x <= k) against the mixture of the paths' Poisson laws
    for k in np.percentile(x, [10, 50, 90]).astype(int):
        p = stats.poisson.cdf(k, mu)
        hit = (x <= k).astype(float)
        se = math.sqrt(max(p.mean() * (1 - p.mean()), 1e-4) / x.size)
        assert abs(hit.mean() - p.mean()) < Z * se, (k, hit.mean(), p.mean())


@pytest.mark.parametrize("month", [0, 1])
def test_visited_and_unvisited_customers_order_at_their_rates(runs, month):
    """Per kept customer: the unvisited order at the base rate (the run without visits); the
    revisited, at the base rate x (1 + effect): their orders are what is left after the
    unvisited customers' share in the run with visits."""
    base = base_rate(month)
    x0, kept0, _ = counts(runs[0.0], month)
    rate0 = x0.sum() / kept0.sum()
    assert abs(rate0 - base) < Z * math.sqrt(x0.sum()) / kept0.sum()
    x1, kept1, rk1 = counts(runs[6.0], month)
    rate1 = (x1.sum() - base * (kept1 - rk1).sum()) / rk1.sum()
    want = base * (1 + VALUES["visit_order_effect"])
    se = math.sqrt(x1.sum()) / rk1.sum()
    assert abs(rate1 - want) < Z * se, (rate1, want, se)
    # the law can fail: a visited customer's rate is not the unvisited one's
    assert rate1 - base > 10 * se
