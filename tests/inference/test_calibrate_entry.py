"""``calibrate`` in process: the scenario it returns is the fit applied to the plan it was
given (the bundled case study by default), and an unknown history format is refused in one
line naming the option and the value."""

from __future__ import annotations

import pytest

import okma_sim
from okma_sim._core.errors import OkmaError
from okma_sim.inference import calibrate, fit_history, load_history
from okma_sim.params import Distribution
from okma_sim.plan import dumps_plan

HISTORY = okma_sim.data_path("sales_history.csv")


def test_the_calibrated_scenario_is_the_fit_applied_to_the_case_study():
    plan, fit = calibrate(HISTORY)
    case = okma_sim.load_plan(okma_sim.case_study_path())
    assert dumps_plan(plan) == dumps_plan(fit.to_plan(case))
    assert fit.format == "rep-month"


def test_an_unknown_format_names_the_option_and_the_value():
    with pytest.raises(OkmaError) as err:
        fit_history(load_history(HISTORY), okma_sim.load_plan(okma_sim.case_study_path()),
                    "crm-v2")
    e = err.value
    assert "unknown history format; use one of rep-month, opportunities" in str(e)
    assert (e.key, e.value) == ("--format", "crm-v2")


@pytest.mark.parametrize("fmt", ["rep-month", "opportunities"])
def test_the_model_passed_supplies_the_priors_of_either_format(fmt):
    """``fit_history(..., model=m)`` fits model ``m`` whatever the format: a prior the
    history does not inform (the ramp months) comes out as ``m``'s, not the default
    model's."""
    model = okma_sim.SalesTeamModel()
    ramp = Distribution("pert", {"low": 1.0, "mode": 2.0, "high": 3.0})
    model.parameters = {**model.parameters, "ramp_months": ramp}
    assert okma_sim.SalesTeamModel().parameters["ramp_months"] != ramp
    path = HISTORY if fmt == "rep-month" else okma_sim.data_path("crm_sales_opportunities")
    fit = fit_history(load_history(path, fmt), okma_sim.load_plan(okma_sim.case_study_path()),
                      fmt, model=model)
    assert fit.entry("ramp_months").source == "prior"
    assert fit.parameters["ramp_months"] == ramp
