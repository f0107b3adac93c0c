"""The revisit-rate anchor inverts the revisit curve (docs/model.md 11, _reach.py): for a
model whose baseline-year revisit rate IS the curve at fixed visits per customer,
``revisit_reach(t, x, eta)``, the rescaled ``followup_targeting`` brings exactly the stated rate
at the same visits, for every heterogeneity ``eta`` including its limit 0; a path whose
baseline year revisited nobody keeps a finite, positive targeting.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import okma_sim
from okma_sim.models import revisit_reach
from okma_sim.models.sales import LEVERS, anchor_figures
from okma_sim.models.sales._anchor import anchor_parameters

X = np.array([0.3, 0.8, 1.5, 3.0, 0.3, 0.8, 1.5, 3.0, 0.0, 0.0])  # visits per customer
ETA = np.array([0.0, 0.0, 0.0, 0.0, 0.5, 1.0, 2.0, 4.0, 0.0, 1.0])


class CurveModel:
    """A stand-in model: each path's revisit rate is the curve at its visits ``X``."""

    levers = LEVERS

    def simulate(self, plan, p, rng):
        n, months = len(X), plan.horizon_months
        rr = revisit_reach(p["followup_targeting"], X, p["revisit_heterogeneity"])
        metrics = {"revisit_rate": np.repeat(np.asarray(rr, float)[:, None], months, 1),
                   "new_customers": np.full((n, months), 5.0),
                   "revenue": np.full((n, months), 1e6)}
        return type("Out", (), {"metrics": metrics})()


@pytest.fixture(scope="module")
def anchored():
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    plan = plan.replace(simulation=dataclasses.replace(plan.simulation, anchor=True))
    stated = anchor_figures(plan)["revisit_rate"]
    p0 = {"followup_targeting": np.full(len(X), 1.2), "revisit_heterogeneity": ETA.copy(),
          "base_win_rate": np.ones(len(X)), "order_value": np.ones(len(X))}
    p = anchor_parameters(CurveModel(), plan, p0, np.random.SeedSequence(1))
    return stated, p


def test_anchored_targeting_brings_the_stated_revisit_rate(anchored):
    """revisit_reach(t_anchored, x, eta) = stated on every path that revisited anyone, for
    eta = 0 (the exponential limit) and eta > 0."""
    stated, p = anchored
    live = X > 0
    got = revisit_reach(p["followup_targeting"][live], X[live], ETA[live])
    np.testing.assert_allclose(got, stated, rtol=1e-9)


def test_a_path_that_revisited_nobody_keeps_a_finite_targeting(anchored):
    _, p = anchored
    t = p["followup_targeting"][X == 0]
    assert np.all(np.isfinite(t)) and np.all(t > 0)
