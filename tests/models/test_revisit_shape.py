"""The revisit curve's shape (docs/model.md 5.6):

    reach = 1 - (1 + eta t x) ** (-1 / eta),   x = visits / max(customers, 1),
    t = followup_targeting x coaching,  eta = revisit_heterogeneity,

with the exponential curve 1 - exp(-t x) as its limit at eta = 0.

- the curve itself: its closed form, its exponential limit (a limit, not a branch: tiny eta
  lands next to it), and never falling as visits rise;
- the model's mean revisited customers against Binomial(active, reach) in the months of a
  one-rep plan with every parameter fixed, at a heterogeneity well away from 0 and at 0;
- at eta = 0 the model draws exactly what it drew with the exponential curve;
- common random numbers: more customer visits never revisit fewer customers on a path.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import okma_sim
import okma_sim.models.sales._month as month_step
from okma_sim.models import revisit_hazard, revisit_reach
from okma_sim.models.sales import PARAMETERS, WEEKS_PER_MONTH
from okma_sim.params import Distribution
from okma_sim.plan import Management, Objective, Plan, Team

N_PATHS = 20_000
SEED = 20270606
Z = 4.0
CUSTOMERS = 40.0
VISITS = 6.0  # a week: 26 a month, x = 0.65 at 40 customers

VALUES = {k: float(v.prior.mean()) for k, v in PARAMETERS.items()}
# the laws below are the model's without its discrepancy (tests/models/test_discrepancy.py)
VALUES["discrepancy_scale"] = 0.0
VALUES.update(skill_cv=0.0, rep_attrition_annual=0.0, followup_targeting=1.5,
              churn_base=0.05)
KEEP = ["active_customers", "revisited_customers", "customer_visits", "headcount"]


def plan_with(eta: float, visits_per_week: float = VISITS) -> Plan:
    params = {k: Distribution("fixed", {"value": v})
              for k, v in {**VALUES, "revisit_heterogeneity": eta}.items()}
    return Plan(
        name="revisit shape", start_month="2027-01", horizon_months=3,
        objectives=(Objective(id="nc", metric="new_customers", target=1.0, aggregate="mean"),),
        team=Team(reps=1, tenure_months=240.0, customers_per_rep=CUSTOMERS,
                  selling_hours_per_month=160.0),
        actions={"prospect_visits_per_week": 6.0, "customer_visits_per_week": visits_per_week,
                 "training_hours_per_month": 0.0, "marketing_events_per_quarter": 0.0,
                 "csat_surveys_per_year": 0.0},
        parameters=params, management=Management(rules=()))


def closed_form(t, x, eta):
    return 1.0 - np.exp(-t * x) if eta == 0 else 1.0 - (1.0 + eta * t * x) ** (-1.0 / eta)


# ---------------------------------------------------------------------------------------------
# the curve
# ---------------------------------------------------------------------------------------------
def test_the_curve_is_the_gamma_poisson_share_with_the_exponential_as_its_limit():
    x = np.linspace(0.0, 4.0, 401)
    for eta in (0.05, 0.3, 1.0, 2.0, 10.0):
        np.testing.assert_allclose(revisit_reach(1.5, x, eta), closed_form(1.5, x, eta),
                                   rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(revisit_hazard(1.5, x, eta),
                                   -np.log1p(-closed_form(1.5, x, eta)), rtol=1e-9, atol=1e-15)
    # eta = 0 is the exponential curve (the form the model used before the shape existed)
    np.testing.assert_array_equal(revisit_reach(1.5, x, 0.0), -np.expm1(-1.5 * x))
    np.testing.assert_allclose(revisit_reach(1.5, x, 0.0), 1.0 - np.exp(-1.5 * x),
                               rtol=1e-14, atol=1e-16)
    # the limit, not a branch: heterogeneity 1e-9 is within about eta (t x)^2 / 2 of it
    for tiny in (1e-9, 1e-300):
        d = np.abs(revisit_reach(1.5, x, tiny) - revisit_reach(1.5, x, 0.0))
        assert d.max() < max(tiny, 1e-15) * 20, (tiny, d.max())
    # the shape slows reach at every visit level, more the larger eta, with the same slope at 0
    r = np.array([revisit_reach(1.5, x, e) for e in (0.0, 0.3, 1.0, 3.0)])
    assert np.all(np.diff(r[:, 1:], axis=0) < 0)
    slope0 = [float(revisit_reach(1.5, 1e-8, e)) / 1e-8 for e in (0.0, 0.3, 3.0)]
    np.testing.assert_allclose(slope0, 1.5, rtol=1e-6)


def test_the_curve_never_falls_as_visits_rise():
    x = np.concatenate([np.linspace(0.0, 3.0, 30_001), np.geomspace(3.0, 1e6, 2000)])
    for eta in (0.0, 1e-12, 0.01, 0.26, 1.0, 5.0, 20.0):
        r = revisit_reach(1.5, x, eta)
        assert np.all(np.diff(r) >= 0), eta
        assert r[0] == 0.0 and r[-1] <= 1.0
    # broadcasting as the model uses it: paths x seats, a column of parameters per path
    t, eta = np.array([[1.2], [1.8]]), np.array([[0.0], [0.7]])
    xs = np.array([[0.5, 1.0, 2.0]])
    np.testing.assert_allclose(revisit_reach(t, xs, eta),
                               [closed_form(1.2, xs[0], 0.0), closed_form(1.8, xs[0], 0.7)],
                               rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# the model's draws
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def runs():
    return {eta: okma_sim.simulate(plan_with(eta), n_paths=N_PATHS, seed=SEED, keep_monthly=KEEP,
                                   progress=False)
            for eta in (0.0, 1.5)}


@pytest.mark.parametrize("eta", [0.0, 1.5])
@pytest.mark.parametrize("month", [0, 1, 2])
def test_revisited_customers_follow_the_curve(runs, eta, month):
    """Given each path's recorded book and visits (one rep, fully ramped, no coaching), the
    mean revisited customers are those of Binomial(active, reach(t, visits / active, eta))
    (the draw is its continuity-corrected normal approximation, whose mean error at these
    book sizes and reaches is under 0.001: docs/model.md section 2)."""
    m = runs[eta].monthly
    assert np.all(m["headcount"][:, month] == 1)
    A = m["active_customers"][:, month].astype(float)
    v = m["customer_visits"][:, month].astype(float)
    assert np.allclose(v, VISITS * WEEKS_PER_MONTH, rtol=1e-3)  # no month is capped
    if month == 0:
        assert np.all(A == CUSTOMERS)
    else:
        assert A.std() > 1  # later books differ between paths: the law holds given each
    q = revisit_reach(VALUES["followup_targeting"], v / np.maximum(A, 1.0), eta)
    k = m["revisited_customers"][:, month].astype(float)
    mu, var = A * q, A * q * (1 - q)
    d = k - mu
    assert abs(d.mean()) < Z * math.sqrt(var.mean() / k.size), (d.mean(), mu.mean())
    # and the curve's shape is visible: the exponential curve is far off at eta = 1.5
    if eta > 0:
        q0 = revisit_reach(VALUES["followup_targeting"], v / np.maximum(A, 1.0), 0.0)
        assert (A * q0).mean() - k.mean() > 20 * math.sqrt(var.mean() / k.size)


def test_at_eta_zero_the_model_draws_what_the_exponential_curve_drew(monkeypatch):
    """The same seed with the curve replaced by the exponential one (as the model computed it
    before the shape existed, 1 - exp(-t x), the heterogeneity ignored): every revisited
    count is the same."""
    plan = plan_with(0.0)
    keep = ["revisited_customers", "revenue", "churned_customers"]
    now = okma_sim.simulate(plan, n_paths=2000, seed=SEED, keep_monthly=keep, progress=False)
    shaped = okma_sim.simulate(plan_with(1.5), n_paths=2000, seed=SEED, keep_monthly=keep,
                               progress=False)
    calls = []

    def exponential(t, x, eta):
        calls.append(1)
        return 1.0 - np.exp(-t * x)
    monkeypatch.setattr(month_step, "revisit_reach", exponential)
    old = okma_sim.simulate(plan, n_paths=2000, seed=SEED, keep_monthly=keep, progress=False)
    assert len(calls) >= 3  # the model's monthly step used the replacement
    for name in keep:
        np.testing.assert_array_equal(now.monthly[name], old.monthly[name])
    # the comparison can fail: the model at eta = 1.5 does not draw the exponential's counts
    assert (shaped.monthly["revisited_customers"] < old.monthly["revisited_customers"]).mean() \
        > 0.9


# ---------------------------------------------------------------------------------------------
# common random numbers
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("eta", [0.0, 0.3, 3.0, None])
def test_more_customer_visits_never_fewer_revisits_on_a_path(eta):
    """The case study without rules (nothing feeds back into reach) and with vacant books
    unserved (no covering visits to cap): no rep-month is capped, and under one seed each
    path's revisited customers never fall as the visits rise, at every heterogeneity (None:
    drawn from its prior)."""
    case = okma_sim.load_plan(okma_sim.case_study_path())
    plan = case.replace(team=dataclasses.replace(case.team, vacancy="unserved",
                                                 new_rep_book="none"),
                        management=Management(rules=()))
    if eta is not None:
        plan = plan.with_parameters(revisit_heterogeneity=eta)
    runs = [okma_sim.simulate(plan.with_actions(customer_visits_per_week=v), n_paths=1000,
                              seed=7, keep_monthly=["revisited_customers"], progress=False)
            for v in (2, 3, 5, 8, 12)]
    for r in runs:
        assert r.capacity()["share_rep_months_capped"] == 0
    for lo, hi in zip(runs, runs[1:]):
        assert np.all(hi.monthly["revisited_customers"] >= lo.monthly["revisited_customers"])
        assert np.any(hi.monthly["revisited_customers"] > lo.monthly["revisited_customers"])
