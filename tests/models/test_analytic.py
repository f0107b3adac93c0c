"""Analytic cross-checks of the sales-team model against its stated laws.

With every uncertain parameter fixed, one rep, no skill spread, no attrition and no management
rules, a month's outcomes follow closed forms:

* new customers in month m ~ Poisson(lambda_m), with
  ``lambda = base_win_rate * skill * ramp * (1 + uplift) * coach * (pv / REF) ** elasticity
  * season * marketing``;
* in a survey month, given the responses ``n`` and the realised revisit share ``rr``,
  satisfied ~ Binomial(n, s) with
  ``s = expit(logit(csat_base) + csat_coverage_effect * (rr - 0.8)
  + csat_training_effect * min(stock, 3))``;
* a scheduled survey is completed with probability ``survey_completion`` (and counts when it
  got at least one response).

The test months are chosen so that training (stock > 0), seasonality (!= 1) and visits
(!= the reference 6 a week) are all non-neutral. Every comparison uses 4 standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

import okma_sim
from okma_sim.models.sales import PARAMETERS
from okma_sim.params import Distribution
from okma_sim.plan import Management, Objective, Plan, Team

N_PATHS = 20_000
SEED = 20270101
Z = 4.0

# fixed values, chosen away from every neutral point (all inside each parameter's bounds)
VALUES = {k: float(v.prior.mean()) for k, v in PARAMETERS.items()}
# the laws below are the model's without its discrepancy (tests/models/test_discrepancy.py)
VALUES["discrepancy_scale"] = 0.0
VALUES.update(
    skill_cv=0.0,  # skill = 1 exactly
    rep_attrition_annual=0.0,  # the one rep stays all horizon
    base_win_rate=0.9,
    visit_elasticity=0.4,
    training_effect=0.3,
    training_retention=0.6,
    quarter_end_uplift=0.2,
    marketing_effect=0.08,
    csat_base=0.8,
    csat_coverage_effect=1.5,
    csat_training_effect=0.4,
    survey_completion=0.7,
    survey_response_rate=0.5,
)
ACTIONS = {
    "prospect_visits_per_week": 9.0,  # reference is 6
    "customer_visits_per_week": 5.0,
    "training_hours_per_month": 10.0,
    "marketing_events_per_quarter": 3.0,
    "csat_surveys_per_year": 4.0,  # March, June, September, December
}
WEEKS_PER_MONTH = 52.0 / 12.0
REF_VISITS = 6.0 * WEEKS_PER_MONTH
REF_TRAINING_HOURS = 8.0
REF_REVISIT = 0.8
START = "2027-01"
HORIZON = 6
KEEP = ["new_customers", "csat_responses", "csat_satisfied", "revisited_customers",
        "active_customers", "surveys_done", "prospect_visits", "headcount"]


def analytic_plan() -> Plan:
    params = {k: Distribution("fixed", {"value": v}) for k, v in VALUES.items()}
    return Plan(
        name="analytic", start_month=START, horizon_months=HORIZON,
        objectives=(Objective(id="nc", metric="new_customers", target=1.0, aggregate="mean"),),
        team=Team(reps=1, tenure_months=240.0, customers_per_rep=40.0,
                  selling_hours_per_month=120.0),
        actions=dict(ACTIONS), parameters=params, management=Management(rules=()))


@pytest.fixture(scope="module")
def result():
    plan = analytic_plan()
    errors, _ = okma_sim.check_plan(plan)
    assert errors == []
    return okma_sim.simulate(plan, n_paths=N_PATHS, seed=SEED, keep_monthly=KEEP)


def training_stock(month_index: int) -> float:
    """Stock at the start of a month: s_0 = 0, s_{m+1} = r s_m + (1 - r) hours / 8."""
    r = VALUES["training_retention"]
    s = 0.0
    for _ in range(month_index):
        s = r * s + (1 - r) * ACTIONS["training_hours_per_month"] / REF_TRAINING_HOURS
    return s


def calendar_month(month_index: int) -> int:
    return (int(START[5:]) - 1 + month_index) % 12 + 1


def season(month_index: int) -> float:
    u = VALUES["quarter_end_uplift"]
    return 1 + u if calendar_month(month_index) % 3 == 0 else 1 - u / 2


def expected_lambda(month_index: int) -> float:
    v = VALUES
    stock = training_stock(month_index)
    uplift = v["training_effect"] * (1 - math.exp(-stock)) / (1 - math.exp(-1))
    pv = ACTIONS["prospect_visits_per_week"] * WEEKS_PER_MONTH
    marketing = 1 + v["marketing_effect"] * math.log2(1 + ACTIONS["marketing_events_per_quarter"])
    skill, ramp, coach = 1.0, 1.0, 1.0
    return (v["base_win_rate"] * skill * ramp * (1 + uplift) * coach
            * (pv / REF_VISITS) ** v["visit_elasticity"] * season(month_index) * marketing)


def test_setup_is_non_neutral(result):
    # the rep is in post every month and works the planned visits (no capacity cap)
    assert np.all(result.monthly["headcount"] == 1)
    assert np.allclose(result.monthly["prospect_visits"],
                       ACTIONS["prospect_visits_per_week"] * WEEKS_PER_MONTH, rtol=1e-6)
    assert not any("capacity" in w for w in result.warnings)
    for m in (3, 5):
        assert training_stock(m) > 0.5
    assert season(3) != 1 and season(5) != 1 and season(3) != season(5)


@pytest.mark.parametrize("month_index", [3, 5])  # April (1 - u/2) and June (1 + u)
def test_new_customers_poisson_tails(result, month_index):
    lam = expected_lambda(month_index)
    n = result.monthly["new_customers"][:, month_index].astype(float)
    assert np.all(n == np.round(n)) and n.min() >= 0
    for k in range(1, 7):
        p = float(stats.poisson.sf(k - 1, lam))
        se = math.sqrt(p * (1 - p) / n.size)
        got = float(np.mean(n >= k))
        assert abs(got - p) <= Z * se + 1e-12, (k, got, p, se)
    # and the mean: Var(N) = lambda
    assert abs(n.mean() - lam) <= Z * math.sqrt(lam / n.size)


def test_new_customers_law_can_fail(result):
    # the check above resolves a 3% change in lambda: 4 SE is well below that gap
    lam = expected_lambda(5)
    n = result.monthly["new_customers"][:, 5].astype(float)
    wrong = float(stats.poisson.sf(1, lam * 1.03))
    se = math.sqrt(wrong * (1 - wrong) / n.size)
    assert abs(np.mean(n >= 2) - wrong) > Z * se or abs(n.mean() - 1.03 * lam) > Z * math.sqrt(
        lam / n.size)


def satisfaction_probability(rr: np.ndarray, month_index: int) -> np.ndarray:
    v = VALUES
    stock = training_stock(month_index)
    return special.expit(special.logit(v["csat_base"])
                         + v["csat_coverage_effect"] * (rr - REF_REVISIT)
                         + v["csat_training_effect"] * min(stock, 3.0))


@pytest.mark.parametrize("month_index", [5])  # June: a survey month, a quarter end
def test_csat_binomial_given_responses(result, month_index):
    mon = result.monthly
    resp = mon["csat_responses"][:, month_index].astype(np.int64)
    sat = mon["csat_satisfied"][:, month_index].astype(np.int64)
    active = mon["active_customers"][:, month_index].astype(float)
    revisited = mon["revisited_customers"][:, month_index].astype(float)
    done = resp > 0
    assert done.sum() > 0.5 * N_PATHS
    rr = revisited[done] / active[done]
    assert 0.1 < rr.mean() < 0.95  # follow-ups are non-neutral and vary
    s = satisfaction_probability(rr, month_index)
    n, x = resp[done], sat[done]
    assert np.all((0 <= x) & (x <= n))
    # mean of satisfied / n against sum n s (conditional on n and rr): exact binomial variance
    diff = float(x.sum() - (n * s).sum())
    se = math.sqrt(float((n * s * (1 - s)).sum()))
    assert abs(diff) <= Z * se, (diff, se)
    # tail probabilities P(X >= k | n, s) per path, for k around the centre of the law
    centre = np.median(n * s)
    for k in (int(centre) - 4, int(centre) - 2, int(centre), int(centre) + 2, int(centre) + 4):
        p = stats.binom.sf(k - 1, n, s)
        got = float(np.sum(x >= k))
        se = math.sqrt(float(np.sum(p * (1 - p))))
        assert abs(got - p.sum()) <= Z * se, (k, got, p.sum(), se)
    # a wrong satisfaction law (csat_base 0.8 -> 0.83) is rejected by the same test
    s_wrong = special.expit(special.logit(s) + special.logit(0.83) - special.logit(0.8))
    diff_w = float(x.sum() - (n * s_wrong).sum())
    assert abs(diff_w) > Z * math.sqrt(float((n * s_wrong * (1 - s_wrong)).sum()))


def test_csat_metric_is_the_survey_share():
    # csat in a survey month is satisfied / responses (one rep: the team total is the rep's)
    plan = analytic_plan()
    res = okma_sim.simulate(plan.replace(objectives=(
        Objective(id="c", metric="csat", target=0.9, aggregate="final"),)),
        n_paths=2000, seed=SEED, keep_monthly=["csat", "csat_responses", "csat_satisfied"])
    resp = res.monthly["csat_responses"][:, 5]
    ok = resp > 0
    np.testing.assert_allclose(res.monthly["csat"][ok, 5],
                               res.monthly["csat_satisfied"][ok, 5] / resp[ok], rtol=1e-6)


@pytest.mark.parametrize("month_index", [2, 5])  # March and June: the survey months
def test_survey_completion_frequency(result, month_index):
    mon = result.monthly
    done = mon["surveys_done"][:, month_index].astype(float)
    active = mon["active_customers"][:, month_index].astype(float)
    # completed, and at least one of the active customers answered
    p = VALUES["survey_completion"] * (1 - (1 - VALUES["survey_response_rate"]) ** active)
    se = math.sqrt(float(np.sum(p * (1 - p))))
    assert abs(done.sum() - p.sum()) <= Z * se, (done.sum(), p.sum(), se)
    # no survey in the other months of the quarter
    other = month_index - 1
    assert np.all(mon["surveys_done"][:, other] == 0)
    assert np.all(mon["csat_responses"][:, other] == 0)


def test_order_value_cv_zero_is_the_gamma_limit():
    # c = 0 lies in order_value_cv's documented range [0, 10]: every order is worth
    # order_value exactly, so a month's revenue is its order count times the value (here 1)
    plan = analytic_plan()

    def run(cv):
        params = dict(plan.parameters, order_value=Distribution("fixed", {"value": 1.0}),
                      order_value_cv=Distribution("fixed", {"value": cv}))
        p = plan.replace(parameters=params)
        assert okma_sim.check_plan(p)[0] == []
        return okma_sim.simulate(p, n_paths=4000, seed=SEED,
                                 keep_monthly=["revenue", "new_customers"])

    exact, gamma = run(0.0), run(0.8)
    rev = np.asarray(exact.monthly["revenue"], dtype=float)
    assert np.isfinite(rev).all()
    assert np.array_equal(rev, np.rint(rev))  # whole orders
    # each new customer places a first order; kept customers order again
    assert np.all(rev >= exact.monthly["new_customers"]) and rev.sum() > 0
    # same seed, same order counts: the gamma values (c = 0.8) have that revenue as their mean
    d = np.asarray(gamma.monthly["revenue"], dtype=float).sum(1) - rev.sum(1)
    se = d.std(ddof=1) / math.sqrt(d.size)
    assert se > 0 and abs(d.mean()) <= Z * se, (d.mean(), se)
