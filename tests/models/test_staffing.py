"""Headcount, vacancies and capacity against their stated laws (docs/model.md 5.1, 5.4, 5.12).

Every uncertain parameter is fixed, skill is exactly 1 and nobody leaves, so each month's
counts follow closed forms given the state: a vacant book's churn and repeat orders follow the
no-visit law, a new rep starts after the hiring delay at 1/ramp_months of full productivity,
and capacity executes coaching, training, customer visits, covering visits and prospect
visits in that order. Random checks use 4 standard errors.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import okma_sim
from okma_sim.models import revisit_reach
from okma_sim.models.sales import PARAMETERS, SalesTeamModel
from okma_sim.plan import Management, Objective, Plan, Rep, Team

N = 20_000
SEED = 20270301
Z = 4.0
W = 52.0 / 12.0

VALUES = {k: float(v.prior.mean()) for k, v in PARAMETERS.items()}
# the laws below are the model's without its discrepancy (tests/models/test_discrepancy.py)
VALUES["discrepancy_scale"] = 0.0
VALUES.update(skill_cv=0.0, rep_attrition_annual=0.0, order_value_cv=0.0, churn_base=0.05,
              hiring_delay_months=2.0, ramp_months=4.0, base_win_rate=1.2,
              repeat_order_rate=0.5, quarter_end_uplift=0.2, followup_targeting=1.5)
ACTIONS = {"prospect_visits_per_week": 6.0, "customer_visits_per_week": 5.0,
           "training_hours_per_month": 0.0, "marketing_events_per_quarter": 0.0,
           "csat_surveys_per_year": 0.0}


def make_plan(team: Team, horizon: int = 6, **actions) -> Plan:
    return Plan(name="staffing", start_month="2027-01", horizon_months=horizon,
                objectives=(Objective(id="nc", metric="new_customers", target=1.0,
                                      aggregate="mean"),),
                team=team, actions={**ACTIONS, **actions}, management=Management(rules=()))


def run(plan: Plan, n: int = N, seed: int = SEED, **values):
    params = {k: np.full(n, v) for k, v in {**VALUES, **values}.items()}
    return SalesTeamModel().simulate(plan, params, np.random.default_rng(seed),
                                     record_reps=True)


def curve(x: np.ndarray) -> np.ndarray:
    """Reach at ``x`` visits per customer (docs/model.md 5.6), the curve's parameters at
    their values here."""
    return revisit_reach(VALUES["followup_targeting"], x, VALUES["revisit_heterogeneity"])


def within(x: np.ndarray, expected: np.ndarray | float, z: float = Z) -> None:
    """The mean of ``x - expected`` is 0 within ``z`` standard errors."""
    d = np.asarray(x, float) - expected
    se = d.std(ddof=1) / math.sqrt(d.size)
    assert abs(d.mean()) <= z * max(se, 1e-12), f"mean {d.mean():.4g}, SE {se:.3g}"


# -- a vacant roster seat under "unserved" ------------------------------------------------------
@pytest.fixture(scope="module")
def vacant_run():
    team = Team(reps=(Rep("a", tenure_months=240, customers=40),
                      Rep("v", customers=200, vacant_months=2)),
                selling_hours_per_month=200.0)
    return run(make_plan(team))


def test_vacant_seat_gets_no_visits_for_two_months(vacant_run):
    r = vacant_run.per_rep
    for k in ("filled", "customer_visits", "revisited_customers", "new_customers"):
        assert np.all(r[k][:, 1, :2] == 0), k
    assert np.all(r["filled"][:, 1, 2:] == 1)  # a new rep arrives in month 2
    assert np.all(r["active_customers"][:, 1, 0] == 200)  # the seat keeps its book
    assert r["revisited_customers"][:, 0, :2].mean() > 10  # the filled seat is served


@pytest.mark.parametrize("month", [0, 1])
def test_vacant_book_churns_and_orders_at_the_no_visit_law(vacant_run, month):
    r = vacant_run.per_rep
    A = r["active_customers"][:, 1, month]
    churned = r["churned_customers"][:, 1, month]
    cb = VALUES["churn_base"]  # nobody revisits: the hazard is churn_base
    within(churned, A * cb)
    if month == 0:  # A = 200 on every path: Poisson(10), variance = mean
        lam = 200 * cb
        var_se = math.sqrt((lam + 2 * lam ** 2) / churned.size)
        assert abs(churned.var(ddof=1) - lam) < Z * var_se
    # repeat orders of the kept customers (order_value_cv = 0: revenue = orders x value)
    orders = r["revenue"][:, 1, month] / VALUES["order_value"]
    season = 1 - VALUES["quarter_end_uplift"] / 2  # January, February
    # nobody revisited: the base rate, repeat_order_rate / (1 + 0.8 x visit_order_effect)
    base = VALUES["repeat_order_rate"] / (1 + 0.8 * VALUES["visit_order_effect"])
    within(orders, (A - churned) * base * season)


def test_new_rep_book_gets_the_ramp_share_of_the_visits(vacant_run):
    r = vacant_run.per_rep
    A = r["active_customers"][:, 1, 2]
    cv = ACTIONS["customer_visits_per_week"] * W
    reach = curve(cv / VALUES["ramp_months"] / np.maximum(A, 1))
    within(r["revisited_customers"][:, 1, 2], A * reach)
    # the ramp matters: the full visits would reach far more
    full = A * curve(cv / np.maximum(A, 1))
    assert r["revisited_customers"][:, 1, 2].mean() < 0.5 * full.mean()


# -- new reps: delay and ramp ---------------------------------------------------------------
def expected_new(month: int, tenure: int) -> float:
    v = VALUES
    cm = month % 12 + 1
    season = 1 + v["quarter_end_uplift"] if cm % 3 == 0 else 1 - v["quarter_end_uplift"] / 2
    ramp = min(1.0, (tenure + 1) / v["ramp_months"])
    pv = ACTIONS["prospect_visits_per_week"] * W
    return v["base_win_rate"] * ramp * (pv / (6 * W)) ** v["visit_elasticity"] * season


@pytest.fixture(scope="module")
def hired_run():
    team = Team(reps=2, tenure_months=240, customers_per_rep=30,
                new_reps_month="2027-02")
    return run(make_plan(team, horizon=8, new_reps=2))


def test_new_reps_open_wait_the_delay_then_ramp(hired_run):
    r = hired_run.per_rep
    new = r["filled"][:, 2:, :]
    # open in February (month 1), vacant for the 2-month delay, filled from April (month 3)
    assert np.all(new[:, :, :3] == 0) and np.all(new[:, :, 3:] == 1)
    assert np.all(r["active_customers"][:, 2:, 3] == 0)  # new_rep_book = "none"
    for month in (3, 4, 5):
        within(r["new_customers"][:, 2:, month].mean(axis=1), expected_new(month, month - 3))
    # payroll: 5 months each of the 8-month horizon
    assert hired_run.diagnostics["new_rep_months"] == 2 * 5 * N
    assert hired_run.diagnostics["new_rep_months_nominal"] == 2 * 12 * N


def test_a_zero_delay_fills_the_new_seat_in_its_month():
    team = Team(reps=1, tenure_months=240, customers_per_rep=30, new_reps_month="2027-03")
    out = run(make_plan(team, new_reps=1), n=200, hiring_delay_months=0.0)
    f = out.per_rep["filled"][:, 1, :]
    assert np.all(f[:, :2] == 0) and np.all(f[:, 2:] == 1)


def test_a_new_rep_takes_an_even_share_of_the_books():
    team = Team(reps=3, tenure_months=240, customers_per_rep=30, new_rep_book="share")
    out = run(make_plan(team, new_reps=1), n=200, hiring_delay_months=0.0)
    A0 = out.per_rep["active_customers"][:, :, 0]
    # 4 staffed seats: each of the 3 books hands over floor(30 / 4) = 7
    assert np.all(A0 == np.array([23, 23, 23, 21]))
    # two new reps of one month get the same share: 5 staffed seats, floor(30 / 5) = 6 each
    two = run(make_plan(team, new_reps=2), n=200, hiring_delay_months=0.0)
    assert np.all(two.per_rep["active_customers"][:, :, 0] == np.array([18, 18, 18, 18, 18]))


# -- capacity by priority ---------------------------------------------------------------------
def test_capacity_executes_by_priority():
    # planned: 10 h training + 5 x W customer visits (1 h) + 10 x W prospect visits (2 h)
    team = Team(reps=1, tenure_months=240, customers_per_rep=40, selling_hours_per_month=60)
    plan = make_plan(team, prospect_visits_per_week=10.0, training_hours_per_month=10.0)
    res = okma_sim.simulate(plan.replace(parameters={
        k: okma_sim.Distribution("fixed", {"value": v}) for k, v in VALUES.items()}),
        n_paths=500, seed=1, keep_monthly="all")
    m = res.monthly
    np.testing.assert_allclose(m["training_hours"], 10.0)
    np.testing.assert_allclose(m["customer_visits"], 5 * W)
    np.testing.assert_allclose(m["prospect_visits"], (60 - 10 - 5 * W) / 2)
    cap = res.capacity()
    assert cap["hours_available"] == 60
    assert cap["hours_planned"] == pytest.approx(10 + 5 * W + 20 * W, abs=1e-3)
    assert cap["hours_executed"] == pytest.approx(60, abs=1e-3)
    assert cap["share_rep_months_capped"] == 1.0
    assert any(w.startswith("capacity capped in 100.0%") for w in res.warnings)


def test_training_beyond_the_hours_is_cut_too():
    team = Team(reps=1, tenure_months=240, customers_per_rep=40, selling_hours_per_month=8)
    out = run(make_plan(team, training_hours_per_month=10.0), n=50)
    r = out.per_rep
    np.testing.assert_allclose(r["training_hours"], 8.0)
    assert np.all(r["customer_visits"] == 0) and np.all(r["prospect_visits"] == 0)
    assert out.diagnostics["hours_executed"] == pytest.approx(8 * 6 * 50)


def test_a_hair_over_the_hours_is_not_counted_as_capped():
    planned = 6 * W * 2 + 5 * W  # prospect and customer visits, no training
    # the plan exceeds the selling hours by 0.005 h: cut to fit, but not a capped rep-month
    team = Team(reps=1, tenure_months=240, customers_per_rep=40,
                selling_hours_per_month=planned - 0.005)
    out = run(make_plan(team), n=50)
    d = out.diagnostics
    assert d["hours_planned"] > d["hours_available"]  # the plan is over, by a hair
    assert d["capacity_capped_rep_months"] == 0
    # diagnostics are summed in whole 1/16384 h per path and month
    assert d["hours_executed"] <= d["hours_available"] + 6 * 50 / 16384
    # 0.02 h over is past the 0.01 h tolerance: every rep-month counts as capped
    team2 = dataclasses.replace(team, selling_hours_per_month=planned - 0.02)
    assert run(make_plan(team2), n=50).diagnostics["capacity_capped_rep_months"] == 6 * 50


def test_shared_vacancy_covers_the_vacant_book_out_of_the_others_hours():
    team = Team(reps=(Rep("a", tenure_months=240, customers=40),
                      Rep("b", tenure_months=240, customers=40),
                      Rep("v", customers=60, vacant_months=3)),
                selling_hours_per_month=200.0, vacancy="shared")
    out = run(make_plan(team))
    r = out.per_rep
    cv = ACTIONS["customer_visits_per_week"] * W
    # each filled rep makes their own visits plus half the vacant seat's; the per-rep
    # history records the visits to the rep's own book (whole visits), the team metric all
    assert np.all(r["customer_visits"][:, :2, 0] == np.rint(cv))
    np.testing.assert_allclose(out.metrics["customer_visits"][:, 0], 3 * cv)
    # over the 6 months: 2 reps' own visits (12 cv), the vacant book's (3 cv), then the new
    # rep's own (3 cv) and the cover of their ramp shortfall, 1 - t/4 for tenure t = 0, 1, 2
    assert out.diagnostics["customer_visits_executed"] == pytest.approx(
        N * cv * (12 + 3 + 3 + 0.75 + 0.5 + 0.25), rel=1e-9)
    A = r["active_customers"][:, 2, 0]
    within(r["revisited_customers"][:, 2, 0], A * curve(cv / A))
    # with too few hours the cover comes after a rep's own visits, before prospecting
    tight = run(make_plan(dataclasses.replace(team, selling_hours_per_month=6 * W * 2 + cv)),
                n=200)
    rt = tight.per_rep
    assert np.all(rt["customer_visits"][:, :2, 0] == np.rint(cv))
    np.testing.assert_allclose(tight.metrics["customer_visits"][:, 0], 3 * cv)
    assert np.all(rt["prospect_visits"][:, :2, 0] == np.rint((6 * W * 2 - cv / 2) / 2))


# -- attrition ----------------------------------------------------------------------------------
def test_reps_leave_at_the_monthly_hazard_of_the_annual_rate():
    """docs/model.md: a rep leaves in any month with hazard h = 1 - (1 - a)^(1/12), so that a
    share ``a`` leaves within a year. Month over month, the share of seats never yet vacated
    falls by the factor 1 - h (whichever month the first departure shows in); the pooled
    estimate of h is within 4 binomial SE of the closed form."""
    a = 0.3
    team = Team(reps=tuple(Rep(f"r{i}", tenure_months=60, customers=50) for i in range(5)),
                selling_hours_per_month=200.0)
    filled = run(make_plan(team, horizon=12), rep_attrition_annual=a).per_rep["filled"]
    never_left = np.cumprod(filled == 1, axis=2).sum(axis=(0, 1)).astype(float)  # per month
    at_risk, left = never_left[:-1].sum(), (never_left[:-1] - never_left[1:]).sum()
    h = 1.0 - (1.0 - a) ** (1.0 / 12.0)
    se = math.sqrt(h * (1.0 - h) / at_risk)
    assert abs(left / at_risk - h) <= Z * se, (left / at_risk, h, se)
