"""`okma-sim target --joint` and `okma-sim sensitivity --levers`: JSON contracts, the numbers of
the Python API, and bad input, run through the real CLI in a subprocess."""

from __future__ import annotations

import json
import subprocess

import pytest

from cli_helpers import one_error_line, run_cli, run_ok
import okma_sim
from okma_sim.analysis import joint_targets, lever_effects

ENVELOPE = {"version", "scenario", "scenario_sha256", "paths", "seed", "warnings"}
JOINT = {"confidence", "targets", "probability", "stderr", "per_objective", "weights",
         "verify_seed", "verify_paths"}
TORNADO = {"parameter", "low", "high", "p_low", "p_high", "swing", "stderr_low", "stderr_high",
           "swing_stderr", "median"}


def ok(*args) -> subprocess.CompletedProcess:
    return run_ok(*args)


def test_target_joint_json_contract_and_the_api_s_numbers(tmp_path):
    fig = tmp_path / "joint.png"
    proc = ok("target", "--joint", "--confidence", "0.7", "--weights", "revenue=2,csat=1",
              "--paths", "600", "--seed", "4", "--figure", fig, "--json", "--no-progress")
    doc = json.loads(proc.stdout)
    # the common keys, the joint fields, the levers-outside-history report and the outputs
    assert set(doc) == ENVELOPE | JOINT | {"extrapolation", "outputs"}
    assert doc["paths"] == 600 and doc["seed"] == 4 and doc["confidence"] == 0.7
    assert doc["weights"] == {"revenue": 2.0, "csat": 1.0}
    assert doc["outputs"] == [str(fig)] and fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    jt = joint_targets(plan, confidence=0.7, weights={"revenue": 2}, n_paths=600, seed=4,
                       progress=False)
    assert doc["targets"] == jt.targets
    assert doc["probability"] == jt.probability and doc["stderr"] == jt.stderr
    assert doc["per_objective"] == jt.per_objective
    assert doc["verify_seed"] == jt.verify_seed and doc["verify_paths"] == 600
    # the figure is never overwritten without --force
    again = run_cli("target", "--joint", "--paths", "100", "--seed", "1", "--figure", fig)
    one_error_line(again, "--figure", str(fig))


def test_target_joint_text_speaks_plainly():
    proc = ok("target", "--joint", "--paths", "400", "--seed", "2", "--no-progress")
    doc = json.loads(ok("target", "--joint", "--paths", "400", "--seed", "2", "--json").stdout)
    assert "hold together in" in proc.stdout and "simulated runs" in proc.stdout
    # each joint target stated as check states targets, with the JSON's own values
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    from okma_sim.results import target_label
    together = " and ".join(target_label(plan.with_targets({i: v}).target(i), plan)
                            for i, v in doc["targets"].items())
    assert f"  {together} hold together in" in proc.stdout


def test_target_without_joint_keeps_its_json_exactly():
    doc = json.loads(ok("target", "--paths", "300", "--seed", "1", "--json",
                        "--no-progress").stdout)
    assert set(doc) == ENVELOPE | {"confidence", "objectives", "key_results", "all_met",
                                   "sampler", "extrapolation"}
    entry = {"id", "metric", "aggregate", "comparison", "target", "probability", "stderr",
             "achievable_target", "achievable_probability", "achievable_stderr"}
    assert all(set(e) == entry for e in doc["objectives"])
    assert all(set(e) == entry | {"objective"} for e in doc["key_results"])


@pytest.mark.parametrize("weights, shown", [
    ("rev=2", "'rev'"),                      # no such objective
    ("revenue=0", "'revenue=0'"),            # not positive
    ("revenue=-1", "'revenue=-1'"),
    ("revenue", "'revenue'"),                # no '='
    ("revenue=two", "'revenue=two'"),        # not a number
    ("revenue=nan", "'revenue=nan'"),
    ("revenue=2,,csat=1", "''"),             # an empty pair
    ("revenue=2,revenue=3", "'revenue'"),    # twice
])
def test_bad_weights_give_one_error_line_naming_the_flag(weights, shown):
    proc = run_cli("target", "--joint", "--weights", weights, "--paths", "100")
    one_error_line(proc, "--weights", shown)


@pytest.mark.parametrize("args, flag", [
    (("--weights", "revenue=2"), "--weights"),             # needs --joint
    (("--figure", "x.png"), "--figure"),                   # needs --joint
    (("--joint", "--curve", "revenue"), "--curve"),        # not with --joint
    (("--joint", "--tolerance", "0.01"), "--tolerance"),
])
def test_options_that_need_or_exclude_joint(args, flag, tmp_path):
    proc = run_cli("target", *args, "--paths", "100", cwd=tmp_path)
    one_error_line(proc, flag)
    assert not (tmp_path / "x.png").exists()


def test_sensitivity_levers_json_contract():
    proc = ok("sensitivity", "--levers", "--paths", "200", "--seed", "3", "--sobol-n", "0",
              "--parameters", "csat_base", "--json", "--no-progress")
    doc = json.loads(proc.stdout)
    assert set(doc) >= ENVELOPE | {"tornado", "sobol", "kr_importance", "levers"}
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    # bare --levers: every lever with bounds, new_reps included
    assert {e["lever"] for e in doc["levers"]} == set(plan.levers)
    for e in doc["levers"]:
        assert set(e) == TORNADO | {"lever", "cost_low", "cost_high", "objectives"}
        assert set(e["objectives"]) == {"revenue", "csat"}
        assert set(e["objectives"]["revenue"]) == {"p_low", "p_high", "stderr_low",
                                                   "stderr_high", "swing", "swing_stderr"}
    # the same numbers as the Python API (one seed for every run)
    le = lever_effects(plan, n_paths=200, seed=3, progress=False)
    assert doc["levers"] == json.loads(json.dumps(le.to_dict()))


def test_sensitivity_named_levers_and_their_table():
    proc = ok("sensitivity", "--levers", "new_reps,marketing_events_per_quarter", "--paths",
              "150", "--seed", "3", "--sobol-n", "0", "--parameters", "csat_base",
              "--no-progress")
    out = proc.stdout
    assert "What each lever changes" in out and "cost a year" in out and "CNY" in out
    assert "reps hired on top of the roster" in out and "marketing events" in out
    assert "training received" not in out


@pytest.mark.parametrize("value, shown", [("new_repz", "'new_repz'"), (",", "','"),
                                          ("new_reps,new_reps", "'new_reps'")])
def test_sensitivity_bad_levers_give_one_error_line(value, shown):
    proc = run_cli("sensitivity", "--levers", value, "--sobol-n", "0", "--paths", "50")
    one_error_line(proc, "--levers", shown)


def test_sensitivity_levers_on_a_scenario_without_lever_bounds(tmp_path):
    # checked before anything runs: the file and what it lacks
    path = tmp_path / "nolevers.toml"
    path.write_text('schema_version = 1\nname = "Toy"\nstart_month = "2027-01"\n'
                    'horizon_months = 12\nmodel = "linear_toy"\n\n[[objectives]]\n'
                    'id = "score"\nmetric = "score"\naggregate = "mean"\ntarget = 1.2\n')
    proc = run_cli("sensitivity", path, "--levers", "--sobol-n", "0", "--paths", "50")
    one_error_line(proc, str(path), "no lever has bounds")
