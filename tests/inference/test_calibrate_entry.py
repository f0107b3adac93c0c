"""``calibrate`` in process: the scenario it returns is the fit applied to the plan it was
given (the bundled case study by default), and an unknown history format is refused in one
line naming the option and the value."""

from __future__ import annotations

import pytest

import okma_sim
from okma_sim._core.errors import OkmaError
from okma_sim.inference import calibrate, fit_history, load_history
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
