"""The visits' effect on repeat orders (``visit_order_effect``, docs/model.md 5.8) in
calibration: recovered where the history varies the customer visits, kept at its prior where
they are constant (docs/calibration.md section 2)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import okma_sim
from okma_sim import Distribution as D
from okma_sim.inference import fit_rep_month, history_from_simulation, load_history
from okma_sim.inference._fit_rep_month import VISITS_VARY_CV, _visits_cv
from okma_sim.models.sales import PARAMETERS
from okma_sim.plan import Rule
from history_helpers import ROOT, coverage_rows, coverage_summary, generator, recovery_priors

G = generator()
PRIORS = recovery_priors()
EFFECT_PRIOR = PARAMETERS["visit_order_effect"].prior
PRIORS["visit_order_effect"] = EFFECT_PRIOR
N_REPLICATIONS = 120
REPS, MONTHS = 10, 24
#: 2 follow-up visits a week reach about a third of 40 customers; a rep whose revisit rate
#: falls under 0.6 shifts 8 more a week from prospects for two months (about 80% reached)
VARIED = (Rule(id="more_visits", metric="revisit_rate", per_rep=True, below=0.6,
               response="shift_visits", visits_per_week=8.0, duration_months=2),)
VARIED_ACTIONS = {**G.ACTIONS, "customer_visits_per_week": 2.0}
REVENUE_BLOCK = ("visit_order_effect", "repeat_order_rate", "order_value")


def _histories(plan, n: int, seed: int):
    res = okma_sim.simulate(plan, n_paths=n, seed=seed, record_reps=True, progress=False)
    return res, history_from_simulation(res)


@pytest.mark.slow  # ~35 s: 120 fits
def test_visit_order_effect_recovery_coverage():
    """Histories made by the model (one path = one replication), each with its own true
    parameters drawn from the priors the fit uses, and follow-up visits that vary between
    reps and months: the fitted 90% intervals of the visit effect (and of the repeat-order
    rate and order value it is fitted with) hold the truth in 80% to 97% of the
    replications, and the data narrow the effect's prior."""
    plan = G.build_plan(PRIORS, reps=REPS, months=MONTHS, rules=VARIED, actions=VARIED_ACTIONS)
    res, hist = _histories(plan, N_REPLICATIONS, 20250613)
    rows = []
    for path, h in hist.groupby("path", sort=True):
        h = h.drop(columns="path").reset_index(drop=True)
        assert _visits_cv(h) > VISITS_VARY_CV
        rows += coverage_rows(fit_rep_month(h, plan), REVENUE_BLOCK, res.params.iloc[path])
    summary = coverage_summary(rows)
    for name in REVENUE_BLOCK:
        assert 0.80 <= summary.loc[name, "coverage"] <= 0.97, summary
    effect = summary.loc["visit_order_effect"]
    assert effect["fitted"] >= 0.9, summary
    prior_width = float(EFFECT_PRIOR.ppf(0.95) - EFFECT_PRIOR.ppf(0.05))
    assert effect["width"] < 0.75 * prior_width, (summary, prior_width)


def test_constant_visits_keep_the_visit_effect_prior():
    """Without the rule, every rep makes the plan's follow-up visits every month: the revisited
    share of a book then varies only with its size and chance, which cannot identify the
    effect. It keeps its prior (as a plan's prior, its distribution unchanged), and the
    repeat-order rate and order value are still fitted. The same design with visits that vary
    does fit it."""
    truth = {**{k: (float(v.ppf(0.5)) if isinstance(v, D) else v) for k, v in PRIORS.items()},
             "visit_order_effect": 0.5}
    flat_plan = G.build_plan(PRIORS, reps=REPS, months=MONTHS, rules=(),
                             actions=VARIED_ACTIONS)
    hist = history_from_simulation(okma_sim.simulate(
        G.build_plan(truth, reps=REPS, months=MONTHS, rules=(), actions=VARIED_ACTIONS),
        n_paths=1, seed=5, record_reps=True, progress=False)).drop(columns="path")
    assert _visits_cv(hist) == 0.0
    fit = fit_rep_month(hist, flat_plan)
    e = fit.entry("visit_order_effect")
    assert e.source == "prior" and e.distribution == EFFECT_PRIOR
    assert "customer visits do not vary" in e.note
    for name in ("repeat_order_rate", "order_value"):
        assert fit.entry(name).source == "fitted", name
    varied = history_from_simulation(okma_sim.simulate(
        G.build_plan(truth, reps=REPS, months=MONTHS, rules=VARIED, actions=VARIED_ACTIONS),
        n_paths=1, seed=5, record_reps=True, progress=False)).drop(columns="path")
    assert fit_rep_month(varied, flat_plan).entry("visit_order_effect").source == "fitted"


def test_visits_vary_in_the_bundled_history():
    # its rule shifts 2 visits a week to the reps whose revisit rate falls under 0.72: 39 or
    # 48 visits a month, a coefficient of variation of about 0.08
    hist = load_history(ROOT / "data" / "sales_history.csv")
    cv = hist.loc[hist["active_customers"] > 0, "customer_visits"].to_numpy(float)
    assert _visits_cv(hist) == pytest.approx(cv.std() / cv.mean())
    assert _visits_cv(hist) > VISITS_VARY_CV
    e = fit_rep_month(hist).entry("visit_order_effect")
    assert e.source == "fitted" and e.note == ""
    assert math.isfinite(e.estimate) and e.low90 < G.TRUE["visit_order_effect"] < e.high90
    assert np.isclose(_visits_cv(hist.assign(customer_visits=30)), 0.0)
