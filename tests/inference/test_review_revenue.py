"""The review's update conditioned on revenue alone, against an independent computation of
the revenue term (docs/model.md 5.8 and the term's stated normal law): team revenue of a month
~ Normal(value x orders, value^2 (orders cv^2 + repeat)), orders = new customers + repeat
orders, repeat = rate / (1 + effect x 0.8) x season x (kept + effect x revisited kept).

With one candidate per path the weights are the prior draws' normalised likelihoods, exactly;
with the default candidates only the revenue term's own parameters are refined.
"""

from __future__ import annotations

import numpy as np
import pytest

import okma_sim
from okma_sim.engine import draw_parameters
from okma_sim.inference import LIKELIHOOD_TERMS, review
from okma_sim.inference._review_replay import observed_state
from okma_sim.io import load_actuals

ACTUALS = okma_sim.data_path("case_study_actuals.csv")
REVENUE_PARAMS = ("repeat_order_rate", "visit_order_effect", "order_value", "order_value_cv")


@pytest.fixture(scope="module")
def setup():
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    act = load_actuals(ACTUALS, plan)
    return plan, act, draw_parameters(plan, 600, 1)


def _revenue_loglik(plan, act, par) -> np.ndarray:
    g = {k: par[k].to_numpy()[:, None] for k in (*REVENUE_PARAMS, "quarter_end_uplift")}
    cm = np.asarray(plan.calendar_months()[:act.T])[None, :]
    u = g["quarter_end_uplift"]
    season = np.where(cm % 3 == 0, 1 + u, 1 - u / 2)  # quarter ends up, other months down
    w = act.worked
    kept = act.cols["active_customers"] - act.cols["churned_customers"]
    keep = (kept * w).sum(0)
    rk = (np.minimum(act.cols["revisited_customers"], kept) * w).sum(0)
    new = (act.cols["new_customers"] * w).sum(0)
    revenue = (act.cols["revenue"] * w).sum(0)
    e = g["visit_order_effect"]
    rep = g["repeat_order_rate"] / (1 + e * 0.8) * season * (keep + e * rk)
    orders = new + rep
    mu = g["order_value"] * orders
    var = g["order_value"] ** 2 * (orders * g["order_value_cv"] ** 2 + rep)
    return (-0.5 * (revenue - mu) ** 2 / var - 0.5 * np.log(2 * np.pi * var)).sum(1)


def test_revenue_alone_reweights_by_the_revenue_likelihood(setup):
    plan, act, prior = setup
    st, par, w, info = observed_state(plan, act, prior, seed=1, likelihood=("revenue",),
                                      candidates=1)
    # plain reweighting: the draws are the prior's
    np.testing.assert_array_equal(par.to_numpy(), prior.to_numpy())
    ll = _revenue_loglik(plan, act, par)
    want = np.exp(ll - ll.max())
    want /= want.sum()
    np.testing.assert_allclose(w, want, rtol=1e-9, atol=1e-15)
    assert info["ess"] == pytest.approx(1.0 / np.sum(want ** 2), rel=1e-9)
    # the revenue says something: equal likelihoods would leave all 600 draws equally
    # weighted (ESS = 600); half of that is a round margin, and over seeds 1-6 the ESS stays
    # at 112-144, far from it
    assert info["ess"] < 0.5 * len(prior)


def test_revenue_alone_refines_only_the_revenue_parameters(setup):
    plan, act, prior = setup
    st, par, w, info = observed_state(plan, act, prior, seed=1, likelihood=("revenue",))
    assert np.isclose(w.sum(), 1.0) and np.all(w >= 0)
    changed = {name for name in prior.columns
               if not np.array_equal(par[name].to_numpy(), prior[name].to_numpy())}
    assert changed and changed <= set(REVENUE_PARAMS), changed
    # the refined draws fit the revenue better than the prior ones, path by path: the mean
    # paired gain in log-likelihood is more than 4 of its standard errors (unweighted on both
    # sides: a likelihood weighting would raise the mean log-likelihood by itself)
    gain = _revenue_loglik(plan, act, par) - _revenue_loglik(plan, act, prior)
    assert gain.mean() > 4 * gain.std(ddof=1) / np.sqrt(gain.size), gain.mean()


def test_review_on_revenue_alone_differs_from_all_terms(setup):
    plan, _, _ = setup
    assert "revenue" in LIKELIHOOD_TERMS
    rev = review(plan, ACTUALS, n_paths=600, seed=2, likelihood=("revenue",), candidates=1,
                 recommend=False)
    ll = _revenue_loglik(plan, load_actuals(ACTUALS, plan), draw_parameters(plan, 600, 2))
    want = np.exp(ll - ll.max())
    assert rev.ess == pytest.approx(want.sum() ** 2 / np.sum(want ** 2), rel=1e-9)
