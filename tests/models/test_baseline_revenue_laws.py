"""A baseline stated as one annual revenue is spread over the months by the seasonal factors
at the means of the scenario's seasonal parameters (docs/model.md, baseline): the twelve
months of a year sum to the stated annual revenue, each month is proportional to its calendar
month's factor, and a longer horizon repeats the year."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import okma_sim
from okma_sim.models.sales import PARAMETERS, SalesTeamModel, season_factors



@pytest.mark.parametrize("start, horizon", [("2027-01", 12), ("2027-05", 24)])
def test_annual_baseline_is_spread_by_the_seasonal_factors(start, horizon):
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    annual = 12_000_000.0
    plan = plan.replace(start_month=start, horizon_months=horizon,
                        baseline=dataclasses.replace(plan.baseline, monthly_revenue=None,
                                                     annual_revenue=annual))
    got = SalesTeamModel().baseline_revenue(plan)
    assert got.shape == (horizon,)
    means = {k: float(plan.parameters.get(k, v.prior).mean()) for k, v in PARAMETERS.items()}
    fac = season_factors(means)
    assert not np.allclose(fac, 1.0)  # the check can see a wrong spread
    cal = plan.calendar_months()
    np.testing.assert_allclose(got[:12].sum(), annual, rtol=1e-12)
    np.testing.assert_allclose(got / fac[cal - 1], annual / fac.sum(), rtol=1e-12)
