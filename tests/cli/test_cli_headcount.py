"""``okma-sim validate`` on the headcount and vacancy keys (in a subprocess): a scenario using
every new key passes, and a roster seat vacant for the whole horizon is a warning, not an
error. Bad values of each key are in test_bad_input.py."""

from __future__ import annotations

import copy
import csv
import json
import math
import tomllib

import pytest
import tomli_w

from cli_helpers import TOY, one_error_line, run_cli, run_ok
import okma_sim

CASE = tomllib.loads(okma_sim.case_study_path().read_text(encoding="utf-8"))


def scenario(tmp_path, vacant_months: int):
    doc = copy.deepcopy(CASE)
    doc["actions"]["new_reps"] = 2
    doc["team"].update(new_reps_month="2027-04", new_rep_book="share", vacancy="shared",
                       reps=[{"id": "chen", "customers": 30},
                             {"id": "wu", "customers": 22},
                             {"id": "open_seat", "customers": 25,
                              "vacant_months": vacant_months}])
    path = tmp_path / "headcount.toml"
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    return path


def test_validate_accepts_every_new_key(tmp_path):
    path = scenario(tmp_path, vacant_months=3)
    proc = run_cli("validate", path, "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc == {"scenario": str(path), "ok": True, "errors": [], "warnings": []}


def test_validate_warns_on_a_seat_vacant_all_plan_long(tmp_path):
    path = scenario(tmp_path, vacant_months=12)
    proc = run_cli("validate", path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.splitlines() == [
        "warning: team.reps[2].vacant_months = 12 (rep 'open_seat') is not less than "
        "horizon_months = 12: the seat stays vacant for the whole plan "
        "(team.vacancy = 'shared')",
        f"{path}: ok"]


# -- the new_reps lever through every command (the bundled case study, small runs) ----------

PATHS = 1000
SEED = 20270101
#: check's capacity object
CAPACITY = {"hours_available", "hours_planned", "hours_executed", "share_rep_months_capped"}
#: hours are summed over paths in 1/16384 h units: a mean can exceed its bound by rounding
HOURS_TOL = 1e-3
#: [levers.new_reps] unit_cost of the case study: a rep-year at 150/h x 120 h x 12
REP_YEAR = 216_000.0


def case(tmp_path, name: str, objectives=(), **actions):
    """The case study with some actions changed (and objectives added), written to a file."""
    doc = copy.deepcopy(CASE)
    doc["actions"].update(actions)
    doc["objectives"] += list(objectives)
    path = tmp_path / f"{name}.toml"
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    return path


def ok_json(*args) -> dict:
    return json.loads(run_ok(*args, "--json", "--no-progress").stdout)


def ok_text(*args) -> str:
    return run_ok(*args, "--no-progress").stdout


def kr(doc: dict, kid: str) -> dict:
    return next(k for k in doc["key_results"] if k["id"] == kid)


def apart(a: dict, b: dict, sigmas: float = 4.0) -> float:
    """How far P(b) lies above P(a), in combined standard errors (independent-run bound)."""
    gap = b["probability"] - a["probability"]
    return gap / math.hypot(a["stderr"], b["stderr"]) - sigmas


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("headcount")


@pytest.fixture(scope="module")
def checks(folder):
    """``check --json`` of the case study with 0, 2 and 3 new reps (same seed and paths)."""
    out = {}
    for n in (0, 2, 3):
        path = case(folder, f"new_reps_{n}", new_reps=n)
        out[n] = (path, ok_json("check", path, "--paths", PATHS, "--seed", SEED))
    return out


def test_check_reports_the_hours_and_more_reps_win_more_customers(checks):
    (_, none), (path, three) = checks[0], checks[3]
    for doc in (none, three):
        cap = doc["capacity"]
        assert set(cap) == CAPACITY
        assert cap["hours_available"] == pytest.approx(120.0, abs=1e-9)
        assert 0.0 <= cap["share_rep_months_capped"] <= 1.0
        assert cap["hours_executed"] <= cap["hours_available"] + HOURS_TOL
        assert cap["hours_executed"] <= cap["hours_planned"] + HOURS_TOL
        # the case study's visits (7 + 5 a week) and training fit in 120 h
        assert cap["share_rep_months_capped"] == 0.0
        assert cap["hours_executed"] == pytest.approx(cap["hours_planned"], abs=HOURS_TOL)
    diag = three["diagnostics"]
    # three seats open in the first month; each is filled after the hiring delay
    assert diag["new_rep_months_nominal"] == 3 * 12 * PATHS
    assert 0 < diag["new_rep_months"] < diag["new_rep_months_nominal"]
    assert none["diagnostics"]["new_rep_months"] == 0
    # more reps, more new customers: the KR's probability and its median
    a, b = kr(none, "new_customers"), kr(three, "new_customers")
    assert apart(a, b) > 0, (a, b)
    assert b["quantiles"]["p50"] > a["quantiles"]["p50"]
    assert three["all_met"]["probability"] > none["all_met"]["probability"]
    # the table says the same in words
    cap = three["capacity"]
    text = ok_text("check", path, "--paths", PATHS, "--seed", SEED)
    line = next(t for t in text.splitlines() if t.startswith("hours per rep and month"))
    assert line == (f"hours per rep and month: 120 available, {cap['hours_planned']:.0f} "
                    f"planned, {cap['hours_executed']:.0f} worked; the plan fits the reps' "
                    "hours")
    assert "capacity capped" not in text


def test_check_of_a_plan_over_its_hours(folder):
    path = case(folder, "over_hours", new_reps=3, prospect_visits_per_week=15,
                customer_visits_per_week=20)
    doc = ok_json("check", path, "--paths", PATHS, "--seed", SEED)
    cap = doc["capacity"]
    assert set(cap) == CAPACITY
    # 15 x 2 h + 20 x 1 h a week is about 217 h a month, well over 120 h
    assert cap["share_rep_months_capped"] > 0.5
    assert cap["hours_planned"] > 200
    assert cap["hours_executed"] <= 120.0 + HOURS_TOL
    assert cap["hours_executed"] == pytest.approx(120.0, rel=0.01)
    assert any(w.startswith("capacity capped in") for w in doc["warnings"])
    text = ok_text("check", path, "--paths", PATHS, "--seed", SEED)
    share = f"{cap['share_rep_months_capped']:.1%}"
    assert (f"{cap['hours_planned']:.0f} planned, 120 worked; the plan asks for more hours "
            f"than a rep has in {share} of rep-months (what does not fit is dropped)") in text
    assert (f"warning: capacity capped in {share} of rep-months: the planned visits, training "
            "and coaching exceed 120 selling hours") in text


def test_check_of_a_model_without_hours_has_no_capacity(tmp_path):
    path = tmp_path / "toy.toml"
    path.write_text(TOY.format(low=0, high=5, cost=100, sampler="mc", extra=""),
                    encoding="utf-8")
    doc = ok_json("check", path)
    assert "capacity" in doc and doc["capacity"] is None
    assert 0 < doc["objectives"][0]["probability"] < 1
    assert "hours per rep" not in ok_text("check", path)


def whole(v) -> bool:
    return float(v).is_integer()


def test_solve_takes_whole_reps_and_reports_the_hours(checks, folder):
    # +10% revenue: anchored to its baseline year, the case study's +30% is beyond the levers
    doc = copy.deepcopy(CASE)
    doc["objectives"][0]["target"] = 0.10
    path = folder / "plus10.toml"
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    doc = ok_json("solve", path, "--levers", "new_reps,customer_visits_per_week", "--confidence",
                  "0.3", "--paths", PATHS, "--verify-paths", 2000, "--max-evaluations", 30)
    assert doc["levers"] == ["new_reps", "customer_visits_per_week"]
    assert doc["feasible"] is True and doc["binding"] == []
    points = [doc["actions"], *(f["actions"] for f in doc["frontier"])]
    assert len(points) > 3
    for a in points:
        # written as a whole number (1, not 1.0), so `solve --out` writes new_reps = 1
        assert isinstance(a["new_reps"], int) and 0 <= a["new_reps"] <= 6, a
        assert 2 <= a["customer_visits_per_week"] <= 20
    cap = doc["capacity"]
    assert set(cap) == CAPACITY
    assert cap["hours_available"] == pytest.approx(120.0, abs=1e-9)
    assert cap["hours_executed"] <= cap["hours_available"] + HOURS_TOL
    # a plan over its hours in more than 5% of rep-months is never the answer
    assert 0.0 <= cap["share_rep_months_capped"] <= 0.05
    for f in doc["frontier"]:
        assert 0.0 <= f["share_rep_months_capped"] <= 0.05, f
    # more (fewer) customer visits a week than the case study's 5 plan more (fewer) hours
    base = checks[0][1]["capacity"]["hours_planned"]
    more = doc["actions"]["customer_visits_per_week"] - 5
    assert more != 0 and (cap["hours_planned"] - base) * more > 0, (cap, base)


def test_solve_says_what_binds_when_nothing_reaches_the_confidence():
    doc = ok_json("solve", "--levers", "new_reps", "--confidence", "0.95", "--paths", 500,
                  "--verify-paths", 1000, "--max-evaluations", 20)
    assert doc["feasible"] is False
    assert doc["probability"] + 4 * doc["stderr"] < 0.95
    # the best setting hires the most reps the bounds allow
    assert doc["actions"] == {"new_reps": 6}
    assert set(doc["capacity"]) == CAPACITY
    binding = doc["binding"]
    assert binding and all(b["constraint"] in {"hours", "bounds", "noise"} for b in binding)
    bounds = next(b for b in binding if b["constraint"] == "bounds")
    assert "new_reps at its upper bound 6" in bounds["detail"]
    assert any("no setting within the lever bounds reached" in w for w in doc["warnings"])


def test_target_with_new_reps_is_more_ambitious(checks):
    docs = {n: ok_json("target", checks[n][0], "--confidence", "0.8", "--paths", PATHS,
                       "--seed", SEED) for n in (0, 2)}
    none, two = kr(docs[0], "new_customers"), kr(docs[2], "new_customers")
    assert apart(none, two) > 0, (none, two)
    # the target reachable with 80% confidence rises with the reps (same seed: the same draws
    # of the parameters; about 0.8 new customers a month more)
    assert two["achievable_target"] > none["achievable_target"] + 0.3, (none, two)
    for d in (none, two):
        assert d["achievable_probability"] >= 0.8


#: an objective on the new customers, so that sweep rows (objectives only) carry it
WINS = {"id": "wins", "statement": "Win 10 new customers a month", "metric": "new_customers",
        "aggregate": "mean", "target": 10}


def test_sweep_over_whole_reps(folder):
    path = case(folder, "sweep", objectives=[WINS])
    out = folder / "sweep.csv"
    proc = run_cli("sweep", path, "--grid", "new_reps=0,2,4", "--paths", PATHS,
                   "--common-random-numbers", "--out", out, "--no-progress")
    assert proc.returncode == 0, proc.stderr
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    # whole levels are written as whole numbers
    assert [r["new_reps"] for r in rows] == ["0", "2", "4"]
    wins = [float(r["wins"]) for r in rows]
    se = [float(r["wins_stderr"]) for r in rows]
    # the same draws at every grid point (common random numbers): the gaps are far above the
    # independent-run error bound
    for i in (0, 1):
        assert wins[i + 1] - wins[i] > 3 * math.hypot(se[i], se[i + 1]), wins
    revenue = [float(r["revenue"]) for r in rows]
    assert revenue[0] < revenue[1] < revenue[2], revenue
    printed = [line.split() for line in proc.stdout.splitlines()[1:4]]
    assert [cells[1] for cells in printed] == ["0", "2", "4"]


def test_sweep_refuses_a_fraction_of_a_rep(folder):
    out = folder / "half.csv"
    proc = run_cli("sweep", okma_sim.case_study_path(), "--grid", "new_reps=0,1.5",
                   "--paths", 100, "--out", out, "--no-progress")
    one_error_line(proc, "actions.new_reps", "--grid", "whole number", "1.5")
    assert not out.exists()


def test_compare_new_reps_against_none(checks):
    (base, _), (two, check_two) = checks[0], checks[2]
    doc = ok_json("compare", base, two, "--paths", PATHS, "--seed", SEED)
    first, second = doc["scenarios"]
    assert [first["scenario"], second["scenario"]] == [str(base), str(two)]
    # the same run as check's (same seed and paths)
    assert second["all_met"] == check_two["all_met"]
    # two reps raise P(all) by about 2 points: judged on a bigger paired run (at 1,000 paths
    # the difference is under 3 of its SEs)
    big = ok_json("compare", base, two, "--paths", 8 * PATHS, "--seed", SEED)
    d = big["scenarios"][1]["difference_vs_first"]
    assert d["probability"] > 3 * d["stderr"] > 0, d
    a, b = kr(first, "new_customers"), kr(second, "new_customers")
    assert b["probability"] > a["probability"] + 0.05, (a, b)
    # two reps cost a rep-year each for the months they were on payroll
    diag = check_two["diagnostics"]
    payroll = diag["new_rep_months"] / diag["new_rep_months_nominal"]
    assert 0.5 < payroll < 1
    extra = second["cost_breakdown"]["levers"] - first["cost_breakdown"]["levers"]
    assert extra == pytest.approx(2 * REP_YEAR * payroll, rel=1e-9)
    text = ok_text("compare", base, two, "--paths", 8 * PATHS, "--seed", SEED)
    # a difference of two chances, in percentage points
    assert f"{100 * d['probability']:+.1f} ± {100 * d['stderr']:.1f} points" in text


def test_sensitivity_with_new_reps(checks):
    (_, none), (two, check_two) = checks[0], checks[2]
    doc = ok_json("sensitivity", two, "--paths", PATHS, "--seed", SEED, "--sobol-n", 0,
                  "--parameters", "hiring_delay_months,ramp_months")
    assert doc["paths"] == PATHS and doc["sobol_n"] == 0 and doc["sobol"] == {}
    # its base run is check's run of the same scenario
    assert doc["all_met"] == check_two["all_met"]
    assert [t["parameter"] for t in doc["tornado"]] in (
        ["hiring_delay_months", "ramp_months"], ["ramp_months", "hiring_delay_months"])
    for t in doc["tornado"]:
        assert t["low"] < t["high"] and 0 <= t["p_low"] <= 1 and 0 <= t["p_high"] <= 1
    imp = next(r for r in doc["kr_importance"] if r["key_result"] == "new_customers")
    assert imp["p_kr"] == pytest.approx(kr(check_two, "new_customers")["probability"])
    assert imp["p_kr"] > kr(none, "new_customers")["probability"]
