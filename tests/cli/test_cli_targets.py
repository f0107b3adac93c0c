"""`okma-sim target`, `solve`, `sensitivity` and `check --tolerance`: JSON contracts and bad
input, run through the real CLI in a subprocess."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from cli_helpers import TOY, one_error_line, run_cli, run_ok
import okma_sim

ENVELOPE = {"version", "scenario", "scenario_sha256", "paths", "seed", "warnings"}

def toy_text(low=0, high=5, cost=100.0, sampler="mc", extra="") -> str:
    return TOY.format(low=low, high=high, cost=cost, sampler=sampler, extra=extra)


@pytest.fixture
def toy(tmp_path) -> Path:
    p = tmp_path / "toy.toml"
    p.write_text(toy_text())
    return p


def ok_json(*args) -> dict:
    doc = json.loads(run_ok(*args).stdout)
    assert set(doc) >= ENVELOPE
    return doc


# -- JSON contracts -----------------------------------------------------------------------
def test_target_json_contract():
    doc = ok_json("target", "--confidence", "0.8", "--paths", "800", "--seed", "7", "--json",
                  "--curve", "revenue", "--points", "5", "--no-progress")
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    assert doc["confidence"] == 0.8 and doc["paths"] == 800 and doc["seed"] == 7
    assert [o["id"] for o in doc["objectives"]] == [o.id for o in plan.objectives]
    assert [k["id"] for k in doc["key_results"]] == [k.id for k in plan.key_results]
    for e in doc["objectives"]:
        assert set(e) >= {"id", "metric", "target", "probability", "stderr",
                          "achievable_target"}
    for e in doc["key_results"]:
        assert set(e) >= {"id", "objective", "metric", "target", "probability", "stderr",
                          "achievable_target"}
    for e in doc["objectives"] + doc["key_results"]:
        p = e["probability"]
        assert math.isclose(e["stderr"], math.sqrt(p * (1 - p) / 800))
        assert e["achievable_probability"] >= 0.8
    # the same numbers as the Python API
    res = okma_sim.simulate(plan, 800, seed=7, progress=False)
    from okma_sim.results import achievable_target
    assert doc["objectives"][0]["achievable_target"] == achievable_target(res, "revenue", 0.8)
    curve = doc["curves"]["revenue"]
    assert all(set(r) >= {"target", "probability", "stderr"} for r in curve)
    assert sum(r["current"] for r in curve) == 1


def test_solve_json_contract_and_out(toy, tmp_path):
    out = tmp_path / "solved.toml"
    doc = ok_json("solve", toy, "--confidence", "0.6", "--paths", "500", "--seed", "3",
                  "--max-evaluations", "30", "--json", "--out", out)
    assert set(doc) >= {"confidence", "feasible", "actions", "cost", "probability", "stderr",
                        "evaluations", "frontier"}
    assert doc["confidence"] == 0.6 and doc["feasible"] is True
    assert set(doc["actions"]) == {"effort"} and 0 <= doc["actions"]["effort"] <= 5
    assert doc["paths"] == 500 and doc["seed"] == 3
    assert isinstance(doc["evaluations"], int) and doc["evaluations"] > 0
    for f in doc["frontier"]:
        assert set(f) >= {"probability", "cost", "actions"}
        assert f["probability"] >= f["level"]
    assert math.isclose(doc["cost"], 100.0 * doc["actions"]["effort"])  # no hours metric
    # the verification is the fresh-seed run of the written scenario
    solved = okma_sim.load_plan(out)
    assert solved.actions["effort"] == doc["actions"]["effort"]
    res = okma_sim.simulate(solved, doc["verify_paths"], seed=doc["verify_seed"],
                            progress=False)
    assert res.all_met().probability == doc["probability"]
    assert doc["outputs"] == [str(out)]
    # never overwrite without --force
    before = out.read_bytes()
    proc = run_cli("solve", toy, "--paths", "100", "--max-evaluations", "5", "--out", out)
    assert proc.returncode == 2 and "--force" in proc.stderr
    assert out.read_bytes() == before


def test_solve_out_may_not_be_the_scenario(toy):
    before = toy.read_bytes()
    one_error_line(run_cli("solve", toy, "--out", toy, "--force", "--paths", "50"), str(toy),
                   "input scenario")
    assert toy.read_bytes() == before


def test_sensitivity_json_contract(toy, tmp_path):
    fig = tmp_path / "tornado.png"
    doc = ok_json("sensitivity", toy, "--paths", "500", "--seed", "2", "--sobol-n", "64",
                  "--json", "--figure", fig)
    assert set(doc) >= {"tornado", "sobol", "kr_importance"}
    assert [e["parameter"] for e in doc["tornado"]] in (["bias", "gain"], ["gain", "bias"])
    for e in doc["tornado"]:
        assert set(e) >= {"parameter", "low", "high", "p_low", "p_high", "swing"}
        assert math.isclose(e["swing"], e["p_high"] - e["p_low"])
    s = doc["sobol"]["score"]
    assert set(s) >= {"first", "total", "unexplained"}
    assert set(s["first"]) == set(s["total"]) == {"gain", "bias"}
    assert [(e["objective"], e["key_result"]) for e in doc["kr_importance"]] == [
        ("score", "hit"), ("score", "floor")]
    for e in doc["kr_importance"]:
        assert set(e) >= {"objective", "key_result", "difference", "stderr"}
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


BIAS_FIXED = '\n[parameters.bias]\ndist = "fixed"\nvalue = 0.0\n'


def test_sensitivity_with_one_uncertain_parameter(tmp_path):
    # bias fixed: Y = mean score = gain + Zbar, gain ~ N(1, 0.2), Zbar ~ N(0, 1/12) (the
    # monthly randomness), so V = 0.04 + 1/12, first(gain) = total(gain) = 0.04 / V (not 1:
    # the monthly randomness varies too) and unexplained = (1/12) / V
    scen = tmp_path / "one.toml"
    scen.write_text(toy_text(extra=BIAS_FIXED))
    doc = ok_json("sensitivity", scen, "--paths", "500", "--seed", "2", "--sobol-n", "1024",
                  "--json")
    assert [e["parameter"] for e in doc["tornado"]] == ["gain"]
    s = doc["sobol"]["score"]
    V = 0.04 + 1 / 12
    assert set(s["first"]) == set(s["total"]) == {"gain"}
    for kind, want in (("first", 0.04 / V), ("total", 0.04 / V)):
        se = s[f"{kind}_stderr"]["gain"]
        assert se > 0 and abs(s[kind]["gain"] - want) <= 4 * se, (kind, s[kind], se)
        # the 95% interval the table shows: estimate ± 1.96 SE, not clipped at 0
        assert s[f"{kind}_low"]["gain"] == pytest.approx(s[kind]["gain"] - 1.96 * se)
        assert s[f"{kind}_high"]["gain"] == pytest.approx(s[kind]["gain"] + 1.96 * se)
    assert abs(s["unexplained"] - (1 / 12) / V) <= 4 * s["unexplained_stderr"]


def test_sensitivity_with_no_uncertain_parameter(tmp_path):
    # every parameter fixed: an empty tornado (still drawn), no Sobol' indices (said), and the
    # KR importance of the monthly randomness
    scen = tmp_path / "none.toml"
    scen.write_text(toy_text(extra=BIAS_FIXED + '\n[parameters.gain]\ndist = "fixed"\n'
                                                'value = 1.0\n'))
    fig = tmp_path / "tornado.png"
    doc = ok_json("sensitivity", scen, "--paths", "300", "--sobol-n", "64", "--json",
                  "--figure", fig)
    assert doc["tornado"] == [] and doc["sobol"] == {}
    assert any("no uncertain parameter" in w for w in doc["warnings"])
    assert [e["key_result"] for e in doc["kr_importance"]] == ["hit", "floor"]
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("sampler", ["mc", "sobol"])
def test_check_tolerance_reports_the_paths_used(toy, sampler):
    doc = ok_json("check", toy, "--tolerance", "0.03", "--sampler", sampler, "--seed", "5",
                  "--json", "--no-progress")
    ad = doc["adaptive"]
    assert doc["paths"] == ad["stages"][-1] and ad["converged"]
    assert ad["half_width"] <= 0.03 and ad["tolerance"] == 0.03
    assert ad["stages"][0] in (1000, 1024)  # the default first batch
    p = doc["all_met"]["probability"]
    assert ad["interval"][0] <= p <= ad["interval"][1]
    assert doc["sampler"] == sampler


def test_check_shows_grading_and_text_target(toy):
    doc = ok_json("check", toy, "--paths", "300", "--seed", "1", "--json", "--no-progress")
    assert [g["id"] for g in doc["grading"]] == ["hit"]
    g = doc["grading"][0]
    assert g["label"] in ("committed", "stretch", "unrealistic")
    proc = run_cli("target", toy, "--paths", "300", "--seed", "1", "--no-progress")
    assert proc.returncode == 0 and "achievable" in proc.stdout


# -- bad input ------------------------------------------------------------------------------
CORR = '\n[correlations]\nparameters = ["gain", "bias"]\nmatrix = {m}\n'


@pytest.mark.parametrize("cmd,args,text,needles", [
    ("target", ["--confidence", "1.5"], None, ["--confidence", "1.5"]),
    ("solve", ["--confidence", "0"], None, ["--confidence", "'0'"]),
    ("solve", ["--levers", "effort,bogus"], None, ["--levers", "'bogus'"]),
    ("solve", [], dict(low=5, high=2), ["levers.effort.low", "5"]),
    ("target", [], dict(cost=-5.0), ["levers.effort.unit_cost", "-5"]),
    ("solve", [], dict(cost="100.0\nstep = 50"), ["levers.effort.step", "50"]),
    ("target", [], dict(extra=CORR.format(m="[[1.0, 0.5]]")),
     ["correlations.matrix", "1 rows"]),
    ("sensitivity", [], dict(extra=CORR.format(m="[[1.0, 1.5], [1.5, 1.0]]")),
     ["correlations.matrix[0][1]", "1.5"]),
    ("check", [], dict(extra=CORR.format(m="[[1.0, 0.5], [0.5, 0.9]]")),
     ["correlations.matrix[1][1]", "0.9"]),
    ("solve", ["--sampler", "halton"], None, ["--sampler", "halton"]),
    ("target", [], dict(sampler="halton"), ["simulation.sampler", "halton"]),
    ("check", ["--tolerance", "0"], None, ["--tolerance", "'0'"]),
    ("target", ["--max-paths", "100"], None, ["--max-paths", "100"]),
    ("sensitivity", ["--sobol-n", "100"], None, ["--sobol-n", "100"]),
    ("sensitivity", ["--parameters", "noise"], None, ["--parameters", "'noise'"]),
    ("sensitivity", ["--parameters", "gain,bias,gain"], None,
     ["--parameters", "twice", "'gain'"]),
    ("target", ["--curve", "nope"], None, ["--curve", "'nope'"]),
])
def test_bad_input(tmp_path, cmd, args, text, needles):
    scen = tmp_path / "scenario.toml"
    scen.write_text(toy_text(**(text or {})))
    out = tmp_path / "existing.toml"
    out.write_text("keep me")
    extra = ["--out", out, "--force"] if cmd == "solve" else []
    line = one_error_line(run_cli(cmd, scen, *args, *extra, "--paths", "50"), *needles)
    if text:  # errors in the file name the file
        assert str(scen) in line
    assert out.read_text() == "keep me"
