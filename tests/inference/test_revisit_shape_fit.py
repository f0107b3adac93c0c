"""The revisit curve's shape (``revisit_heterogeneity``, docs/model.md 5.6) in calibration:
fitted with ``followup_targeting`` where the history varies the customer visits, kept at its
prior where they are constant (docs/calibration.md section 2)."""

from __future__ import annotations


import numpy as np
import pytest

import okma_sim
from okma_sim import Distribution as D
from okma_sim.inference import fit_rep_month, history_from_simulation
from okma_sim.inference._features import rep_month_features
from okma_sim.inference._fit_rep_month import VISITS_VARY_CV, _visits_cv
from okma_sim.inference._laplace import laplace
from okma_sim.inference._likelihoods import ReachData
from okma_sim.inference._nested import nested_marginals
from okma_sim.inference._priors import Prior
from okma_sim.models.sales import PARAMETERS, WEEKS_PER_MONTH
from okma_sim.plan import Rule
from history_helpers import coverage_rows, coverage_summary, generator, recovery_priors

G = generator()
PRIORS = recovery_priors()
SHAPE_PRIOR = PARAMETERS["revisit_heterogeneity"].prior
PRIORS["revisit_heterogeneity"] = SHAPE_PRIOR
REACH = ("followup_targeting", "revisit_heterogeneity")
N_REPLICATIONS = 120
REPS, MONTHS = 10, 24
#: 3 follow-up visits a week (13 a month: x of about 0.3 on 40 customers) and 6 more for two
#: months for a rep whose revisit rate falls under 0.6 (x about 1): visits per customer span
#: the curve's bend. Multiples of 3 a week are whole visits a month, which the history
#: records exactly (it rounds each rep's visits; 2 a week, 8.67, would be written 9 and bias
#: the reach fit by the 4%)
VARIED = (Rule(id="more_visits", metric="revisit_rate", per_rep=True, below=0.6,
               response="shift_visits", visits_per_week=6.0, duration_months=2),)
ACTIONS = {**G.ACTIONS, "customer_visits_per_week": 3.0}


def _fits(plan, n: int, seed: int):
    res = okma_sim.simulate(plan, n_paths=n, seed=seed, record_reps=True, progress=False)
    hist = history_from_simulation(res)
    for path, h in hist.groupby("path", sort=True):
        yield res, int(path), h.drop(columns="path").reset_index(drop=True)


@pytest.mark.slow  # ~45 s: 120 fits
def test_revisit_shape_recovery_coverage():
    """Histories made by the model (one path = one replication), each with its own true
    parameters drawn from the priors the fit uses (the heterogeneity's is the model's default),
    and follow-up visits that vary between reps and months: the fitted 90% intervals of the
    heterogeneity and the targeting hold the truth in 80% to 97% of the replications, and the
    data narrow the heterogeneity's prior."""
    plan = G.build_plan(PRIORS, reps=REPS, months=MONTHS, rules=VARIED, actions=ACTIONS)
    rows = []
    for res, path, h in _fits(plan, N_REPLICATIONS, 20250614):
        assert _visits_cv(h) > VISITS_VARY_CV
        # whole visits a month: the history holds the visits the model used
        assert set(h["customer_visits"]) == {3 * WEEKS_PER_MONTH, 9 * WEEKS_PER_MONTH}
        rows += coverage_rows(fit_rep_month(h, plan), REACH, res.params.iloc[path])
    summary = coverage_summary(rows)
    for name in REACH:
        assert 0.80 <= summary.loc[name, "coverage"] <= 0.97, summary
        assert summary.loc[name, "fitted"] >= 0.9, summary
    prior_width = float(SHAPE_PRIOR.ppf(0.95) - SHAPE_PRIOR.ppf(0.05))
    assert summary.loc["revisit_heterogeneity", "width"] < 0.75 * prior_width, \
        (summary, prior_width)


def test_nested_marginals_match_a_full_grid_integration():
    """The fit's marginals of the pair (a grid over the heterogeneity, the targeting normal
    given it) against a brute-force 2-D grid integration of the same posterior, on a history
    whose visits vary: quantiles within 2% of the marginal's 90% width, correlation within
    0.02. The Laplace fit's own line marginals are off by more (that is why the grid)."""
    plan = G.build_plan(PRIORS, reps=REPS, months=MONTHS, rules=VARIED, actions=ACTIONS)
    _, _, h = next(_fits(plan, 1, 11))
    f = rep_month_features(h, retention=0.7, ramp_full=8, start_tenure=24)
    rc = f[f["ramped"] & (f["active_customers"] > 0)]
    data = ReachData(A=rc["active_customers"].to_numpy(float),
                     cv=rc["customer_visits"].to_numpy(float),
                     r=rc["revisited_customers"].to_numpy(float))
    bounds = {n: PARAMETERS[n].bounds for n in REACH}
    pri = [Prior.of(n, PRIORS[n], bounds[n]) for n in REACH]
    lap = laplace(pri, data.loglik, {})
    nest = nested_marginals(lap, data.loglik, {}, outer=1)
    # the full grid, wide around the nested marginals, on the fitting scale
    axes = [np.linspace(nest.q[i, 0] - 4 * (nest.q[i, 2] - nest.q[i, 0]),
                        nest.q[i, 2] + 4 * (nest.q[i, 2] - nest.q[i, 0]), 500) for i in (0, 1)]
    U, V = np.meshgrid(*axes, indexing="ij")
    th = {REACH[0]: pri[0].scale.theta(U.ravel()), REACH[1]: pri[1].scale.theta(V.ravel())}
    # the priors as the fit uses them (a vague one where the data dominate)
    lp = data.loglik(th) + pri[0].derivs(U.ravel(), bool(lap.vague[0]))[0] \
        + pri[1].derivs(V.ravel(), bool(lap.vague[1]))[0]
    w = np.exp(lp - lp.max()).reshape(U.shape)
    w /= w.sum()
    assert w[0].sum() + w[-1].sum() + w[:, 0].sum() + w[:, -1].sum() < 1e-6  # the grid holds it
    for i, marg in ((0, w.sum(1)), (1, w.sum(0))):
        want = np.interp([0.05, 0.5, 0.95], np.cumsum(marg) - marg / 2, axes[i])
        width = want[2] - want[0]
        np.testing.assert_allclose(nest.q[i], want, atol=0.02 * width)
    mu = [float((w * U).sum()), float((w * V).sum())]
    c = np.cov(np.stack([U.ravel(), V.ravel()]), aweights=w.ravel())
    r_full = c[0, 1] / np.sqrt(c[0, 0] * c[1, 1])
    r_nest = nest.cov[0, 1] / np.sqrt(nest.cov[0, 0] * nest.cov[1, 1])
    assert abs(r_nest - r_full) < 0.02, (r_nest, r_full, mu)
    # the Laplace fit's straight line misses the heterogeneity's lower tail
    width = nest.q[1, 2] - nest.q[1, 0]
    assert abs(lap.q[1, 0] - nest.q[1, 0]) > 0.05 * width, (lap.q, nest.q)


def test_constant_visits_keep_the_shape_prior():
    """Without the rule every rep makes the plan's follow-up visits every month: visits per
    customer then vary only with the book size, which cannot identify the curve's shape. The
    heterogeneity keeps its prior (as the plan's prior, unchanged, with the note), the
    targeting is still fitted, and their posterior correlation goes to the scenario. The same
    design with visits that vary fits the heterogeneity."""
    truth = {**{k: (float(v.ppf(0.5)) if isinstance(v, D) else v) for k, v in PRIORS.items()},
             "revisit_heterogeneity": 0.5}
    prior_plan = G.build_plan(PRIORS, reps=REPS, months=MONTHS, rules=(), actions=ACTIONS)
    flat = history_from_simulation(okma_sim.simulate(
        G.build_plan(truth, reps=REPS, months=MONTHS, rules=(), actions=ACTIONS),
        n_paths=1, seed=5, record_reps=True, progress=False)).drop(columns="path")
    assert _visits_cv(flat) == 0.0
    fit = fit_rep_month(flat, prior_plan)
    e = fit.entry("revisit_heterogeneity")
    assert e.source == "prior" and e.distribution == SHAPE_PRIOR and e.rows_used == 0
    assert "customer visits do not vary" in e.note and f"{VISITS_VARY_CV:g} needed" in e.note
    t = fit.entry("followup_targeting")
    assert t.source == "fitted" and t.rows_used > 0
    names = fit.correlations.parameters
    r = fit.correlations.matrix[names.index("followup_targeting")][
        names.index("revisit_heterogeneity")]
    # more heterogeneity needs more targeting for the same reach at the history's visits
    assert r > 0.5
    varied = history_from_simulation(okma_sim.simulate(
        G.build_plan(truth, reps=REPS, months=MONTHS, rules=VARIED, actions=ACTIONS),
        n_paths=1, seed=5, record_reps=True, progress=False)).drop(columns="path")
    assert _visits_cv(varied) > VISITS_VARY_CV
    e = fit_rep_month(varied, prior_plan).entry("revisit_heterogeneity")
    assert e.source == "fitted" and "do not vary" not in e.note
    assert e.distribution.ppf(0.0005) < 0.5 < e.distribution.ppf(0.9995)


def test_a_fixed_heterogeneity_fits_the_targeting_alone():
    # a plan that fixes the shape (here at the exponential curve, 0) leaves one parameter
    hist = history_from_simulation(okma_sim.simulate(
        G.build_plan({**G.TRUE, "revisit_heterogeneity": 0.0}, reps=REPS, months=MONTHS,
                     rules=VARIED, actions=ACTIONS),
        n_paths=1, seed=3, record_reps=True, progress=False)).drop(columns="path")
    plan = G.build_plan({**PRIORS, "revisit_heterogeneity": 0.0}, reps=REPS, months=MONTHS,
                        rules=VARIED, actions=ACTIONS)
    fit = fit_rep_month(hist, plan)
    assert fit.entry("revisit_heterogeneity").source == "prior"
    assert fit.entry("revisit_heterogeneity").estimate == 0.0
    t = fit.entry("followup_targeting")
    assert t.source == "fitted" and t.high90 - t.low90 < 0.5
    # one history: its central 99.9% interval holds the truth
    assert t.distribution.ppf(0.0005) < G.TRUE["followup_targeting"] < \
        t.distribution.ppf(0.9995)
