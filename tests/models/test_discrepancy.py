"""The model discrepancy (docs/model.md 5.13): a persistent multiplier with mean 1 of
acquisition and of repeat orders, per path and month,

    z_1 = e_1,  z_t = rho z_(t-1) + sqrt(1 - rho^2) e_t,  delta_t = exp(s z_t - s^2 / 2).

Its laws are checked end to end on counts whose conditional law is Poisson given delta: with
N_t | delta ~ Poisson(lam delta_t), independent across months given delta,

    E N_t = lam,  Var N_t = lam + lam^2 (exp(s^2) - 1),
    Cov(N_t, N_(t+k)) = lam^2 (exp(s^2 rho^k) - 1),

exactly (lognormal moments), so the multiplier's mean of 1, its variance and its AR(1)
autocorrelation are all tested (4 standard errors). At scale 0 it changes nothing: the model
draws bit for bit what it drew before the discrepancy existed.
"""

from __future__ import annotations

import dataclasses
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import okma_sim
from okma_sim.engine import draw_parameters
from okma_sim.models.sales import PARAMETERS, SalesTeamModel
from okma_sim.params import Distribution
from okma_sim.plan import Management, Objective, Plan, Team

from history_helpers import ROOT, generator

N_PATHS = 40_000
SEED = 20270513
Z = 4.0
S, RHO = 0.3, 0.7
MONTHS = 6


def _plan(**values: float) -> Plan:
    """One rep at full ramp and skill 1, no training, season, marketing, market shock, churn
    or attrition: new customers ~ Poisson(base_win_rate x delta_acq) and repeat orders ~
    Poisson(customers x repeat_order_rate x delta_ord), every order worth order_value."""
    v = {k: float(p.prior.mean()) for k, p in PARAMETERS.items()}
    v.update(skill_cv=0.0, rep_attrition_annual=0.0, training_effect=0.0,
             quarter_end_uplift=0.0, marketing_effect=0.0, new_customer_dispersion=0.0,
             churn_base=0.0, visit_order_effect=0.0, order_value=1.0, order_value_cv=0.0,
             discrepancy_scale=S, discrepancy_persistence=RHO)
    v.update(values)
    return Plan(
        name="discrepancy", start_month="2027-01", horizon_months=MONTHS,
        objectives=(Objective(id="nc", metric="new_customers", target=1.0, aggregate="mean"),),
        team=Team(reps=1, tenure_months=240.0, customers_per_rep=40.0,
                  selling_hours_per_month=400.0),
        actions={"prospect_visits_per_week": 6.0, "customer_visits_per_week": 2.0,
                 "training_hours_per_month": 0.0, "marketing_events_per_quarter": 0.0,
                 "csat_surveys_per_year": 0.0},
        parameters={k: Distribution("fixed", {"value": x}) for k, x in v.items()},
        management=Management(rules=()))


def _monthly(plan: Plan, metric: str) -> np.ndarray:
    res = okma_sim.simulate(plan, n_paths=N_PATHS, seed=SEED, keep_monthly=[metric],
                            progress=False)
    return np.asarray(res.monthly[metric], dtype=float)


def _check_moments(x: np.ndarray, lam: float) -> None:
    """Mean, variance and the lag-1..3 covariances of a (paths, months) Poisson-given-delta
    count against their closed forms."""
    n = x.shape[0]
    for t in range(x.shape[1]):
        se = math.sqrt((lam + lam ** 2 * math.expm1(S ** 2)) / n)
        assert abs(x[:, t].mean() - lam) < Z * se, (t, x[:, t].mean(), lam)
    c = x - lam  # centred on the exact mean
    var = lam + lam ** 2 * math.expm1(S ** 2)
    v = c[:, 1] ** 2
    assert abs(v.mean() - var) < Z * v.std() / math.sqrt(n), (v.mean(), var)
    for k in (1, 2, 3):
        prod = (c[:, :-k] * c[:, k:])[:, 1]  # months 2 and 2 + k: one product a path
        cov = lam ** 2 * math.expm1(S ** 2 * RHO ** k)
        assert abs(prod.mean() - cov) < Z * prod.std() / math.sqrt(n), (k, prod.mean(), cov)
    # the lag-1 covariance is far from what an independent shock would give (0)
    assert lam ** 2 * math.expm1(S ** 2 * RHO) > 8 * (c[:, 1] * c[:, 2]).std() / math.sqrt(n)


def test_acquisition_multiplier_has_mean_1_and_ar1_autocorrelation():
    x = _monthly(_plan(base_win_rate=5.0), "new_customers")
    _check_moments(x, 5.0)


def test_repeat_order_multiplier_has_mean_1_and_ar1_autocorrelation():
    # no new customers and no churn: the book stays at 40, revenue = repeat orders
    x = _monthly(_plan(base_win_rate=0.0, repeat_order_rate=0.25), "revenue")
    _check_moments(x, 40 * 0.25)


def test_the_two_series_are_independent():
    """Acquisition and repeat orders each have their own series: on a path, a month's new
    customers and the following month's repeat orders are uncorrelated (4 SE)."""
    plan = _plan(base_win_rate=5.0, repeat_order_rate=0.25)
    res = okma_sim.simulate(plan, n_paths=N_PATHS, seed=SEED,
                            keep_monthly=["new_customers", "revenue"], progress=False)
    new = np.asarray(res.monthly["new_customers"], dtype=float)[:, 0]
    # month 1's revenue: 40 customers' repeat orders plus the month's new customers' first
    rep = np.asarray(res.monthly["revenue"], dtype=float)[:, 0] - new
    r = np.corrcoef(new, rep)[0, 1]
    assert abs(r) < Z / math.sqrt(N_PATHS), r


@pytest.fixture(scope="module")
def case_study():
    return okma_sim.load_plan(okma_sim.case_study_path())


def test_scale_0_draws_what_the_model_drew_without_it(case_study):
    """At scale 0 every stream draws what it drew before the discrepancy existed: the model
    run on the case study's parameters with the discrepancy's parameters absent (the model
    before it) and with the scale at 0 gives bit-identical metrics and per-seat history."""
    model = SalesTeamModel()
    P = draw_parameters(case_study, 3000, 11)
    assert (P["discrepancy_scale"] > 0).all()  # the prior is on by default
    without = {k: P[k].to_numpy() for k in P.columns if not k.startswith("discrepancy")}
    zero = dict(without, discrepancy_scale=np.zeros(len(P)),
                discrepancy_persistence=P["discrepancy_persistence"].to_numpy())
    a = model.simulate(case_study, without, np.random.default_rng(5), record_reps=True)
    b = model.simulate(case_study, zero, np.random.default_rng(5), record_reps=True)
    for k in a.metrics:
        np.testing.assert_array_equal(a.metrics[k], b.metrics[k], err_msg=k)
    for k in a.per_rep:
        np.testing.assert_array_equal(a.per_rep[k], b.per_rep[k], err_msg=k)
    assert b.state.discrepancy is None  # nothing drawn
    on = model.simulate(case_study, {k: P[k].to_numpy() for k in P.columns},
                        np.random.default_rng(5))
    assert not np.array_equal(on.metrics["revenue"], a.metrics["revenue"])


def test_scale_0_regenerates_the_bundled_history_bit_for_bit():
    """data/sales_history.csv was written by the model before the discrepancy existed; its
    generator, at scale 0, writes the same bytes (the engine's pinned parameters and every
    stream of the model unchanged)."""
    hist = generator().generate()
    assert hist.to_csv(index=False) == (ROOT / "data" / "sales_history.csv").read_text()


def test_pinned_to_0_in_the_plan_turns_it_off(case_study):
    """A scenario turns the discrepancy off with dist = "fixed", value = 0 in [parameters]:
    the run equals one with the engine's pin at 0 (same parameter draws), and its
    multipliers are 1 (the revenue equals the model's without the discrepancy)."""
    off = case_study.with_parameters(discrepancy_scale=0.0)
    a = okma_sim.simulate(off, n_paths=2000, seed=4, keep_monthly=["revenue"], progress=False)
    b = okma_sim.simulate(case_study, n_paths=2000, seed=4, keep_monthly=["revenue"],
                          pinned={"discrepancy_scale": 0.0}, progress=False)
    on = okma_sim.simulate(case_study, n_paths=2000, seed=4, keep_monthly=["revenue"],
                           progress=False)
    np.testing.assert_array_equal(a.monthly["revenue"], b.monthly["revenue"])
    assert (a.params["discrepancy_scale"] == 0).all()
    assert not np.array_equal(a.monthly["revenue"], on.monthly["revenue"])


def test_a_resumed_run_continues_the_series():
    """A run resumed from month 3's state continues each path's AR(1) series: over many
    paths, month 3 and month 4 new customers keep the lag-1 covariance of one run."""
    plan = _plan(base_win_rate=5.0)
    model = SalesTeamModel()
    n = N_PATHS
    p = {k: np.full(n, float(d.args["value"])) for k, d in plan.parameters.items()}
    first = model.simulate(dataclasses.replace(plan, horizon_months=3), p,
                           np.random.default_rng(1))
    st = first.state
    assert st.discrepancy is not None and st.discrepancy.shape == (n, 2)
    rest = model.simulate(plan, p, np.random.default_rng(2), initial_state=st)
    x3 = first.metrics["new_customers"][:, -1]
    x4 = rest.metrics["new_customers"][:, 0]
    prod = (x3 - 5.0) * (x4 - 5.0)
    cov = 25.0 * math.expm1(S ** 2 * RHO)
    assert abs(prod.mean() - cov) < Z * prod.std() / math.sqrt(n), (prod.mean(), cov)


def test_chunking_and_workers_do_not_change_results_with_the_discrepancy_on(case_study):
    plan = case_study.with_parameters(discrepancy_scale=0.3)
    ref = okma_sim.simulate(plan, n_paths=5000, seed=9, keep_monthly=["revenue"],
                            progress=False)
    with ThreadPoolExecutor(max_workers=2) as ex:
        other = okma_sim.simulate(plan, n_paths=5000, seed=9, chunk_size=1000, executor=ex,
                                  keep_monthly=["revenue"], progress=False)
    np.testing.assert_array_equal(ref.monthly["revenue"], other.monthly["revenue"])
    for k in ref.values:
        np.testing.assert_array_equal(ref.values[k], other.values[k])
