"""``[calibration.observed]``: parsing, the SMART checks, the round trip, and the extrapolation
check (a lever level beyond the observed range by more than the margin)."""

from __future__ import annotations

import pytest

import okma_sim
from okma_sim._core.errors import PlanError
from okma_sim.models.sales import LEVERS, PARAMETERS
from okma_sim.plan import (EXTRAPOLATION_MARGIN, Calibration, check_plan, dumps_plan,
                           extrapolation, load_plan, loads_plan, plan_to_dict, save_plan)

OBSERVED = {"prospect_visits_per_week": (4.8462, 6.9231),
            "customer_visits_per_week": (9.0, 11.0769),
            "training_hours_per_month": (6.0, 14.0)}


@pytest.fixture(scope="module")
def case():
    return load_plan(okma_sim.case_study_path())


@pytest.fixture(scope="module")
def calibrated(case):
    return case.replace(calibration=Calibration(dict(OBSERVED)))


def _inside(plan):
    return plan.with_actions(prospect_visits_per_week=6, customer_visits_per_week=10,
                             training_hours_per_month=10)


def test_round_trip_keeps_the_observed_table(calibrated, tmp_path):
    path = save_plan(calibrated, tmp_path / "c.toml")
    text = path.read_text()
    assert "[calibration.observed]" in text
    again = load_plan(path)
    assert again == calibrated
    assert dict(again.calibration.observed) == OBSERVED
    # and again: writing what was read gives the same file
    assert dumps_plan(again) == text


def test_a_plan_without_the_table_writes_none(case):
    assert case.calibration is None
    assert "calibration" not in plan_to_dict(case)


def test_inside_the_range_nothing_extrapolates(calibrated):
    plan = _inside(calibrated)
    assert extrapolation(plan) == []
    assert not [w for w in check_plan(plan)[1] if "extrapolation" in w]


@pytest.mark.parametrize("lever", sorted(OBSERVED))
def test_the_margin_is_a_share_of_the_high_end(calibrated, lever):
    low, high = OBSERVED[lever]
    m = EXTRAPOLATION_MARGIN * high
    plan = _inside(calibrated)
    for level in (high + 0.99 * m, low - 0.99 * m, low, high):  # within the margin: quiet
        assert extrapolation(plan.with_actions(**{lever: level})) == [], level
    for level in (high + 1.01 * m, low - 1.01 * m):  # beyond it: one entry, this lever
        found = extrapolation(plan.with_actions(**{lever: level}))
        assert [e.to_dict() for e in found] == [{
            "lever": lever, "value": level, "observed_low": low, "observed_high": high,
            "parameters": list(LEVERS[lever].response_parameters)}]


def test_the_warning_names_lever_value_range_and_priors(calibrated):
    plan = _inside(calibrated).with_actions(customer_visits_per_week=5)
    (e,) = extrapolation(plan)
    msg = e.message()
    for part in ("customer_visits_per_week = 5", "9 to 11.08 visits/rep-week",
                 *LEVERS["customer_visits_per_week"].response_parameters):
        assert part in msg, (part, msg)
    # check_plan carries the same line among its warnings (validate prints them)
    assert msg in check_plan(plan)[1]
    # actions given apart from the plan are checked instead of the plan's, with a context
    (r,) = extrapolation(_inside(calibrated), {"prospect_visits_per_week": 9},
                         context="recommended")
    assert r.message().startswith("extrapolation: recommended prospect_visits_per_week = 9 ")


def test_a_lever_the_plan_leaves_out_is_checked_at_the_model_default(calibrated):
    actions = {k: v for k, v in _inside(calibrated).actions.items()
               if k != "customer_visits_per_week"}
    plan = calibrated.replace(actions=actions)  # the default, 8 a week, is below 9 - 0.55
    assert [e.value for e in extrapolation(plan)] == [LEVERS["customer_visits_per_week"].default]


def test_no_table_no_check(case):
    assert extrapolation(case.with_actions(prospect_visits_per_week=15)) == []
    empty = case.replace(calibration=Calibration({}))
    assert extrapolation(empty.with_actions(prospect_visits_per_week=15)) == []


def test_every_response_parameter_is_a_model_parameter():
    named = {k: v.response_parameters for k, v in LEVERS.items() if v.response_parameters}
    assert set(named) == set(OBSERVED)
    for lever, params in named.items():
        assert params and set(params) <= set(PARAMETERS), lever


# ---------------------------------------------------------------------------------------------
# bad input: one error naming the key path and the value
# ---------------------------------------------------------------------------------------------
def _with_table(plan, body: str) -> str:
    return dumps_plan(plan) + "\n[calibration.observed]\n" + body + "\n"


@pytest.mark.parametrize("body, key, value, words", [
    ("prospect_visits_per_week = [7, 5]", "calibration.observed.prospect_visits_per_week",
     "[7, 5]", "low must not exceed high"),
    ("prospect_visits_per_week = [-1, 5]", "calibration.observed.prospect_visits_per_week[0]",
     "-1", "must not be negative"),
    ("prospect_visits_per_week = [1, 2, 3]", "calibration.observed.prospect_visits_per_week",
     "[1, 2, 3]", "must be [low, high]"),
    ("prospect_visits_per_week = 5", "calibration.observed.prospect_visits_per_week", "5",
     "must be [low, high]"),
    ("prospect_visits_per_week = [1, 'a']", "calibration.observed.prospect_visits_per_week[1]",
     "a", "must be a number"),
    ("prospect_visit_per_week = [1, 2]", "calibration.observed.prospect_visit_per_week",
     "[1, 2]", "did you mean 'prospect_visits_per_week'"),
])
def test_a_malformed_table_is_one_error(case, body, key, value, words):
    with pytest.raises(PlanError) as exc:
        loads_plan(_with_table(case, body), "bad.toml")
    text = str(exc.value)
    for part in ("bad.toml", key, value, words):
        assert part in text, (part, text)


def test_calibration_takes_only_observed(case):
    text = dumps_plan(case) + "\n[calibration]\nobservd = {}\n"
    with pytest.raises(PlanError, match=r"calibration\.observd.*did you mean 'observed'"):
        loads_plan(text, "bad.toml")
