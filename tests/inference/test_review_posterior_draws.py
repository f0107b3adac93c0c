"""The review's posterior draws: a rank-correlated parameter is reweighted as the engine drew
it, never replaced by a fresh prior candidate (which would break the rank correlation), while
an uncorrelated parameter local to a term is refined."""

from __future__ import annotations

import numpy as np
import pytest

import okma_sim
from okma_sim.engine import draw_parameters
from okma_sim.plan._model import Correlations
from okma_sim.inference import load_actuals, observed_state

ACTUALS = okma_sim.data_path("case_study_actuals.csv")


def test_correlated_parameters_are_kept_as_drawn():
    case = okma_sim.load_plan(okma_sim.case_study_path())
    plan = case.replace(correlations=Correlations(
        parameters=("churn_base", "churn_revisit_effect"),
        matrix=((1.0, -0.5), (-0.5, 1.0))))
    act = load_actuals(ACTUALS, plan)
    prior = draw_parameters(plan, 60, 7)
    _, post, _, _ = observed_state(plan, act, prior, seed=7, candidates=8)
    for k in ("churn_base", "churn_revisit_effect"):
        np.testing.assert_array_equal(post[k].to_numpy(), prior[k].to_numpy())
    # the positive control: the CSAT term.s own parameter is redrawn on some paths
    assert (post["csat_base"].to_numpy() != prior["csat_base"].to_numpy()).any()
