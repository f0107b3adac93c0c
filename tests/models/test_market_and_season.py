"""New customers against their stated law (docs/model.md 5.2 and 5.9):

    new customers | parameters ~ NegativeBinomial(mean lam, variance lam + phi lam^2)
    lam = base_win_rate x skill x ramp x (1 + training uplift) x (1 + coaching_effect)
          x (visits / reference)^elasticity x season(month) x marketing multiplier

with phi = ``new_customer_dispersion`` (a gamma market shock with mean 1 and variance phi,
shared by a team's seats in a month), and the seasonal factor the product of the quarter-end
form, the month-of-quarter factors and the month-of-year factors, each set divided by its mean.

One rep of known skill, every parameter fixed, in February of a plan starting in January: the
rep is still ramping, has a training stock from January's hours, is coached (a rule that always
fires at January's review), visits prospects at 7 a week, with two marketing events a quarter,
in a month whose three seasonal factors are all different from 1. Every comparison uses 4
standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import okma_sim
from okma_sim.models import season_factors
from okma_sim.models.sales import PARAMETERS
from okma_sim._core.errors import PlanError
from okma_sim._core.numbers import MIN_MAGNITUDE
from okma_sim.params import Distribution, as_distribution
from okma_sim.plan import Management, Objective, Plan, Rep, Rule, Team

N_PATHS = 40_000
SEED = 20270211
Z = 4.0
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
MOQ = (0.7, 1.1, 1.2)
MOY = (1.0, 0.8, 1.1, 1.0, 1.0, 1.2, 0.9, 1.0, 1.0, 1.0, 1.0, 1.0)

VALUES = {k: float(v.prior.mean()) for k, v in PARAMETERS.items()}
# the laws below are the model's without its discrepancy (tests/models/test_discrepancy.py)
VALUES["discrepancy_scale"] = 0.0
VALUES.update(rep_attrition_annual=0.0, base_win_rate=1.5, visit_elasticity=0.4,
              training_effect=0.3, training_retention=0.6, coaching_effect=0.15,
              ramp_months=6.0, quarter_end_uplift=0.2, marketing_effect=0.1,
              new_customer_dispersion=0.25,
              **{f"season_q{i + 1}": v for i, v in enumerate(MOQ)},
              **{f"season_{m}": v for m, v in zip(MONTHS, MOY)})
SKILL, TENURE, PV_WEEK, TRAIN_H, EVENTS = 1.3, 2.0, 7.0, 4.0, 2.0


def plan_with(**values: float) -> Plan:
    params = {k: Distribution("fixed", {"value": v}) for k, v in {**VALUES, **values}.items()}
    coach = Rule(id="coach", metric="new_customers", per_rep=True, below=1e6,
                 response="coaching")
    return Plan(
        name="market shock", start_month="2027-01", horizon_months=3,
        objectives=(Objective(id="nc", metric="new_customers", target=1.0, aggregate="mean"),),
        team=Team(reps=(Rep(id="a", tenure_months=TENURE, skill=SKILL, customers=10.0),),
                  selling_hours_per_month=400.0),
        actions={"prospect_visits_per_week": PV_WEEK, "customer_visits_per_week": 1.0,
                 "training_hours_per_month": TRAIN_H, "marketing_events_per_quarter": EVENTS,
                 "csat_surveys_per_year": 0.0},
        parameters=params, management=Management(review_every_months=1, rules=(coach,)))


def february_rate(v=VALUES) -> float:
    """lam of the rep's February, by hand from docs/model.md."""
    ramp = min(1.0, (TENURE + 1 + 1) / v["ramp_months"])  # one month more tenure
    stock = (1 - v["training_retention"]) * TRAIN_H / 8.0  # January's hours, from 0
    uplift = v["training_effect"] * (1 - math.exp(-stock)) / (1 - math.exp(-1))
    visits = (PV_WEEK * 52 / 12) / (6 * 52 / 12)
    u = v["quarter_end_uplift"]
    season = (1 - u / 2) * (MOQ[1] / np.mean(MOQ)) * (MOY[1] / np.mean(MOY))
    marketing = 1 + v["marketing_effect"] * math.log2(1 + EVENTS)
    return (v["base_win_rate"] * SKILL * ramp * (1 + uplift) * (1 + v["coaching_effect"])
            * visits ** v["visit_elasticity"] * season * marketing)


@pytest.fixture(scope="module")
def february():
    plan = plan_with()
    assert okma_sim.check_plan(plan)[0] == []
    res = okma_sim.simulate(plan, n_paths=N_PATHS, seed=SEED,
                            keep_monthly=["new_customers", "coaching_hours", "headcount"],
                            progress=False)
    m = res.monthly
    # the premises: the rep is there, coached in February and not in January
    assert np.all(m["headcount"][:, :2] == 1)
    assert np.all(m["coaching_hours"][:, 0] == 0) and np.all(m["coaching_hours"][:, 1] > 0)
    return res.monthly["new_customers"][:, 1].astype(float)


def test_every_multiplier_is_in_play():
    v = VALUES
    assert min(TENURE + 2, v["ramp_months"]) < v["ramp_months"]  # still ramping
    assert MOQ[1] != np.mean(MOQ) and MOY[1] != np.mean(MOY) and v["quarter_end_uplift"] != 0
    assert v["new_customer_dispersion"] > 0 and SKILL != 1 and PV_WEEK != 6


def test_new_customers_are_gamma_poisson(february):
    lam, phi = february_rate(), VALUES["new_customer_dispersion"]
    law = stats.nbinom(1 / phi, 1 / (1 + phi * lam))
    assert law.mean() == pytest.approx(lam) and law.var() == pytest.approx(lam + phi * lam ** 2)
    x = february
    n = x.size
    assert abs(x.mean() - lam) < Z * math.sqrt(law.var() / n)
    # the sample variance's SE from the law's fourth central moment
    mu4 = law.expect(lambda k: (k - lam) ** 4)
    se_var = math.sqrt((mu4 - law.var() ** 2) / n)
    assert abs(x.var(ddof=1) - law.var()) < Z * se_var, (x.var(), law.var(), se_var)
    # and the whole pmf, count by count
    for k in range(0, 9):
        p = law.pmf(k)
        got = np.mean(x == k)
        assert abs(got - p) < Z * math.sqrt(p * (1 - p) / n), (k, got, p)


def test_poisson_is_the_limit(february):
    # phi -> 0: the variance falls to the mean (the same code, no branch for phi > 0)
    lam = february_rate()
    for phi in (0.0, 1e-9):
        res = okma_sim.simulate(plan_with(new_customer_dispersion=phi), n_paths=N_PATHS,
                                seed=SEED, keep_monthly=["new_customers"], progress=False)
        x = res.monthly["new_customers"][:, 1].astype(float)
        law = stats.poisson(lam)
        for k in range(0, 7):
            p = law.pmf(k)
            assert abs(np.mean(x == k) - p) < Z * math.sqrt(p * (1 - p) / x.size), (phi, k)
    # and the shocked run is wider than Poisson (by phi lam^2 = 0.63, about 20 of its SEs)
    assert february.var() > lam + 0.5 * VALUES["new_customer_dispersion"] * lam ** 2


def test_a_vanishing_dispersion_is_the_poisson_limit_exactly():
    # down to the smallest dispersion a scenario may hold: no infinite shape, no shock off by
    # orders of magnitude (at 1e-300 numpy's gamma draw times the dispersion was 5e-24, not 1)
    runs = [okma_sim.simulate(plan_with(new_customer_dispersion=phi), n_paths=2000, seed=5,
                              keep_monthly=["new_customers"], progress=False)
            .monthly["new_customers"] for phi in (0.0, MIN_MAGNITUDE)]
    assert np.array_equal(runs[0], runs[1])
    # smaller ones (1e-300, a subnormal) mean nothing: refused, naming the key
    for phi in (1e-300, 5e-324):
        with pytest.raises(PlanError, match=r"parameters\.new_customer_dispersion.*1e-12"):
            as_distribution(phi, "parameters.new_customer_dispersion")


def test_more_prospect_visits_never_win_fewer_under_the_shock():
    # common random numbers: the shock does not depend on the lever, the count is an inverse
    # CDF of one uniform at a rising rate
    runs = [okma_sim.simulate(plan_with().with_actions(prospect_visits_per_week=v),
                              n_paths=5000, seed=3, keep_monthly=["new_customers"],
                              progress=False).monthly["new_customers"] for v in (4.0, 7.0, 10.0)]
    assert np.all(np.diff(np.stack(runs), axis=0) >= 0)
    assert (runs[2] > runs[0]).mean() > 0.3


def test_the_seasonal_factors_by_hand():
    f = season_factors({"quarter_end_uplift": 0.2,
                        **{f"season_q{i + 1}": v for i, v in enumerate(MOQ)},
                        **{f"season_{m}": v for m, v in zip(MONTHS, MOY)}})
    qe = np.array([0.9, 0.9, 1.2] * 4)
    expect = qe * np.tile(np.array(MOQ) / np.mean(MOQ), 4) * np.array(MOY) / np.mean(MOY)
    assert f == pytest.approx(expect, rel=1e-12)
    # each form has mean 1 over a year; neutral factors leave the quarter-end form bit-exact
    assert season_factors({"season_q1": 2.0, "season_q2": 1.0, "season_q3": 3.0}).mean() == \
        pytest.approx(1.0)
    neutral = season_factors({"quarter_end_uplift": 0.15, "season_q1": 1.0, "season_q2": 1.0,
                              "season_q3": 1.0})
    assert np.array_equal(neutral, season_factors({"quarter_end_uplift": 0.15}))
    # per path: one row of twelve factors for each parameter value
    assert season_factors({"quarter_end_uplift": np.array([0.0, 0.3])}).shape == (2, 12)


def test_three_level_quarter_cycle_in_the_simulated_counts():
    # no shock, no quarter-end form, no training or marketing, a fully ramped rep without
    # coaching: a month's mean is the base rate x its month-of-quarter factor / their mean
    v = dict(new_customer_dispersion=0.0, quarter_end_uplift=0.0, ramp_months=1.0,
             **{f"season_{m}": 1.0 for m in MONTHS})
    plan = plan_with(**v).with_actions(training_hours_per_month=0.0,
                                       marketing_events_per_quarter=0.0)
    plan = plan.replace(management=Management(review_every_months=0, rules=()))
    res = okma_sim.simulate(plan, n_paths=N_PATHS, seed=SEED, keep_monthly=["new_customers"],
                            progress=False)
    base = VALUES["base_win_rate"] * SKILL * ((PV_WEEK / 6) ** VALUES["visit_elasticity"])
    for j in range(3):
        lam = base * MOQ[j] / np.mean(MOQ)
        x = res.monthly["new_customers"][:, j]
        assert abs(x.mean() - lam) < Z * math.sqrt(lam / x.size), (j, x.mean(), lam)
    # the three levels differ by far more than their SE: 0.7 vs 1.2 of the mean
    means = res.monthly["new_customers"].mean(0)
    assert means[0] < 0.7 * means[2]
