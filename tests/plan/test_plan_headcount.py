"""The headcount and vacancy keys of a plan: ``[team] new_reps_month``, ``new_rep_book``,
``vacancy``, ``[[team.reps]] vacant_months`` and the whole-number lever ``new_reps``.

Parsing (types, allowed values, defaults), the SMART checks against the model (whole levels,
bounds and steps; the month inside the horizon; a seat vacant all plan long), the TOML round
trip, and the bundled case study with its ``new_reps`` lever.
"""

from __future__ import annotations

import copy
import dataclasses
import tomllib
from types import SimpleNamespace

import pytest
import tomli_w

import okma_sim
from okma_sim._core.errors import PlanError
from okma_sim.models import get_model
from okma_sim.plan import (NEW_REP_BOOKS, VACANCY_MODES, Lever, Rep, check_plan, dumps_plan,
                           load_plan, loads_plan, plan_from_dict)

CASE = tomllib.loads(okma_sim.case_study_path().read_text(encoding="utf-8"))
# the case study states its staffing rules; the tests start from the keys' defaults
for _key in ("vacancy", "new_rep_book"):
    CASE["team"].pop(_key)
FILE = "plan.toml"


def doc(**team) -> dict:
    """The case study's document with some ``[team]`` keys set."""
    d = copy.deepcopy(CASE)
    d["team"].update(team)
    return d


def roster(*vacant_months) -> list[dict]:
    """A roster of filled seats ``a``, ``b`` and one vacant seat per value given."""
    seats = [{"id": "a"}, {"id": "b", "customers": 25}]
    return seats + [{"id": f"v{i}", "customers": 20, "vacant_months": v}
                    for i, v in enumerate(vacant_months)]


def parse_error(d: dict) -> str:
    with pytest.raises(PlanError) as info:
        plan_from_dict(d, FILE)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"{FILE}: ")
    return msg


def smart_errors(d: dict) -> list[str]:
    errors, _ = check_plan(plan_from_dict(d, FILE))
    return [str(e) for e in errors]


# -- parsing ---------------------------------------------------------------------------------
def test_defaults_when_the_keys_are_absent():
    team = plan_from_dict(CASE).team
    assert (team.new_reps_month, team.new_rep_book, team.vacancy) == (None, "none", "unserved")
    reps = plan_from_dict({**doc(), "team": {**CASE["team"], "reps": roster()}}).team.reps
    assert [r.vacant_months for r in reps] == [None, None]


@pytest.mark.parametrize("book", NEW_REP_BOOKS)
@pytest.mark.parametrize("vacancy", VACANCY_MODES)
def test_team_keys_are_read(book, vacancy):
    team = plan_from_dict(doc(new_reps_month="2027-04", new_rep_book=book,
                              vacancy=vacancy)).team
    assert (team.new_reps_month, team.new_rep_book, team.vacancy) == ("2027-04", book, vacancy)


def test_vacant_months_are_read_as_whole_numbers():
    reps = plan_from_dict(doc(reps=roster(0, 3, 5.0))).team.reps
    assert [r.vacant_months for r in reps] == [None, None, 0, 3, 5]
    assert isinstance(reps[-1].vacant_months, int)  # 5.0 in the file is the integer 5
    assert reps[2] == Rep(id="v0", customers=20, vacant_months=0)


@pytest.mark.parametrize("team,expected", [
    ({"new_reps_month": "2027-13"}, ["team.new_reps_month", "YYYY-MM", "'2027-13'"]),
    ({"new_reps_month": "April"}, ["team.new_reps_month", "YYYY-MM", "'April'"]),
    ({"new_reps_month": 202704}, ["team.new_reps_month", "must be a string", "202704"]),
    ({"new_rep_book": "shares"}, ["team.new_rep_book", "did you mean 'share'?", "'shares'"]),
    ({"new_rep_book": "empty"}, ["team.new_rep_book", "allowed: none, share", "'empty'"]),
    ({"new_rep_book": True}, ["team.new_rep_book", "must be a string", "True"]),
    ({"vacancy": "share"}, ["team.vacancy", "did you mean 'shared'?", "'share'"]),
    ({"vacancy": "nobody"}, ["team.vacancy", "allowed: unserved, shared", "'nobody'"]),
    ({"reps": roster(1.5)}, ["team.reps[2].vacant_months", "whole number", "1.5"]),
    ({"reps": roster(-1)}, ["team.reps[2].vacant_months", "must not be negative", "-1"]),
    ({"reps": roster("2")}, ["team.reps[2].vacant_months", "must be an integer", "'2'"]),
    ({"reps": roster(float("inf"))}, ["team.reps[2].vacant_months", "finite", "inf"]),
])
def test_bad_values_name_the_key_and_the_value(team, expected):
    msg = parse_error(doc(**team))
    for part in expected:
        assert part in msg, (part, msg)


def test_an_unknown_roster_key_still_suggests():
    seats = roster()
    seats[1]["vacant_month"] = 2
    msg = parse_error(doc(reps=seats))
    assert "team.reps[1].vacant_month" in msg and "did you mean 'vacant_months'?" in msg


# -- SMART checks ----------------------------------------------------------------------------
@pytest.mark.parametrize("start,horizon,month,ok", [
    ("2027-01", 12, "2027-01", True),   # the first plan month
    ("2027-01", 12, "2027-12", True),   # the last
    ("2027-01", 12, "2028-01", False),  # one past the last
    ("2027-01", 12, "2026-12", False),  # one before the first
    ("2027-11", 3, "2028-01", True),    # across a year end
    ("2027-11", 3, "2028-02", False),
    ("2027-05", 1, "2027-05", True),
])
def test_new_reps_month_lies_within_the_horizon(start, horizon, month, ok):
    d = doc(new_reps_month=month)
    d["start_month"], d["horizon_months"] = start, horizon
    d["baseline"] = {"annual_revenue": 1e6}  # any length of horizon
    errors = smart_errors(d)
    if ok:
        assert errors == []
    else:
        assert len(errors) == 1
        assert errors[0].startswith(f"{FILE}: team.new_reps_month: must lie within the plan's "
                                    f"horizon ({start} to ")
        assert f"(got '{month}')" in errors[0]


@pytest.mark.parametrize("level,ok", [(0, True), (2, True), (2.0, True), (50, True),
                                      (1.5, False), (0.25, False)])
def test_new_reps_level_is_a_whole_number(level, ok):
    d = doc()
    d["actions"]["new_reps"] = level
    errors = smart_errors(d)
    assert errors == ([] if ok else [f"{FILE}: actions.new_reps: must be a whole number "
                                     f"(new_reps takes whole levels) (got {level})"])


def test_new_reps_level_outside_the_model_bounds():
    d = doc()
    d["actions"]["new_reps"] = 51
    assert smart_errors(d) == [f"{FILE}: actions.new_reps: must lie in [0, 50] (got 51)"]


@pytest.mark.parametrize("table,bad", [
    ({"low": 0, "high": 6, "step": 1}, None),
    ({"low": 1.0, "high": 4.0, "step": 2.0}, None),
    ({"low": 0, "high": 6}, None),  # no step: fine
    ({"low": 0.5, "high": 6}, ("low", 0.5)),
    ({"low": 0, "high": 6.5}, ("high", 6.5)),
    ({"low": 0, "high": 6, "step": 0.5}, ("step", 0.5)),
    ({"low": 0, "high": 6, "step": 1.5}, ("step", 1.5)),
])
def test_new_reps_lever_bounds_and_step_are_whole(table, bad):
    d = doc()
    d["levers"]["new_reps"] = table
    errors = smart_errors(d)
    if bad is None:
        assert errors == []
        return
    key, value = bad
    assert len(errors) == 1
    assert errors[0].startswith(f"{FILE}: levers.new_reps.{key}: must be a whole number")
    assert errors[0].endswith(f"(got {value})")


def test_other_levers_keep_fractional_levels_and_steps():
    d = doc()
    d["actions"]["prospect_visits_per_week"] = 7.5
    d["levers"]["prospect_visits_per_week"]["step"] = 0.5
    d["levers"]["prospect_visits_per_week"]["low"] = 2.5
    assert smart_errors(d) == []


def test_integer_flag_drives_the_check():
    # the check reads LeverInfo.integer, not the lever's name: flag another lever
    sales = get_model("sales_team")
    levers = {**sales.levers, "prospect_visits_per_week": dataclasses.replace(
        sales.levers["prospect_visits_per_week"], integer=True)}
    model = SimpleNamespace(metrics=sales.metrics, parameters=sales.parameters,
                            parameter_bounds=sales.parameter_bounds,
                            responses=sales.responses, levers=levers)
    d = doc()
    d["actions"]["prospect_visits_per_week"] = 7.5
    d["levers"]["prospect_visits_per_week"]["step"] = 0.5
    errors, _ = check_plan(plan_from_dict(d, FILE), model)
    assert [e.key for e in errors] == ["actions.prospect_visits_per_week",
                                       "levers.prospect_visits_per_week.step"]


def test_a_seat_vacant_all_plan_long_is_a_warning():
    plan = plan_from_dict(doc(reps=roster(11, 12, 30)), FILE)
    errors, warnings = check_plan(plan)
    assert errors == []
    assert len(warnings) == 2  # 11 < 12 fills within the plan; 12 and 30 do not
    assert warnings[0].startswith("team.reps[3].vacant_months = 12 (rep 'v1') is not less "
                                  "than horizon_months = 12")
    assert warnings[1].startswith("team.reps[4].vacant_months = 30 (rep 'v2')")
    assert "team.vacancy = 'unserved'" in warnings[0]


def test_first_error_is_raised_by_loads_plan_with_the_file():
    d = doc(new_reps_month="2030-01")
    with pytest.raises(PlanError) as info:
        loads_plan(tomli_w.dumps(d), FILE)
    assert str(info.value) == (f"{FILE}: team.new_reps_month: must lie within the plan's "
                               "horizon (2027-01 to 2027-12) (got '2030-01')")


# -- the TOML round trip ---------------------------------------------------------------------
def test_round_trip_of_the_new_keys(tmp_path):
    plan = plan_from_dict(doc(reps=roster(0, 4), new_reps_month="2027-06", new_rep_book="share",
                              vacancy="shared"))
    text = dumps_plan(plan)
    for line in ('new_reps_month = "2027-06"', 'new_rep_book = "share"', 'vacancy = "shared"',
                 "vacant_months = 0", "vacant_months = 4"):
        assert line in text
    assert loads_plan(text) == plan
    out = okma_sim.save_plan(plan, tmp_path / "p.toml")
    assert load_plan(out) == plan


def test_round_trip_writes_no_new_reps_month_or_vacant_months_when_absent():
    plan = plan_from_dict(doc(reps=roster()))
    text = dumps_plan(plan)
    # None is omitted; the writer's convention is to write every other default
    assert "new_reps_month" not in text and "vacant_months" not in text
    assert 'new_rep_book = "none"' in text and 'vacancy = "unserved"' in text
    assert loads_plan(text) == plan


# -- the case study --------------------------------------------------------------------------
def test_case_study_has_the_new_reps_lever():
    plan = load_plan(okma_sim.case_study_path())
    assert plan.actions["new_reps"] == 0
    team = plan.team
    # the assumed cost: a rep-year of selling hours at the hourly cost
    assert team.hourly_cost * team.selling_hours_per_month * 12 == 216_000
    assert plan.levers["new_reps"] == Lever(low=0, high=6, unit_cost=216_000.0, step=1)
    assert check_plan(plan) == ([], [])


def test_case_study_comment_states_the_cost_assumption():
    text = okma_sim.case_study_path().read_text(encoding="utf-8")
    block = text.split("[levers.new_reps]", 1)[1].split("\n\n", 1)[0]
    assert "Assumption" in block and "150 x 120 x 12 = 216,000" in block


@pytest.mark.parametrize("name", ["case_study.toml", "cautious.toml", "understaffed.toml",
                                  "policy_no_reviews.toml", "policy_quarterly.toml",
                                  "policy_monthly_coaching.toml"])
def test_bundled_scenarios_load_without_errors(name):
    plan = load_plan(okma_sim.data_path("scenarios", name))
    errors, _ = check_plan(plan)
    assert errors == []
    # the case study and its variants cover vacant books and share them with new reps; the
    # understaffed team keeps the defaults
    expected = ("unserved", "none") if name == "understaffed.toml" else ("shared", "share")
    assert (plan.team.vacancy, plan.team.new_rep_book) == expected
