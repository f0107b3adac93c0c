"""Bad input to the newest options, through the real CLI in a subprocess: ``report --out /
--xlsx``, ``review --report``, ``target --joint --weights / --figure`` and ``sensitivity
--levers``. Each bad value exits 2 with one stderr line ``okma-sim: error: ...`` naming the
option or file and the value, no traceback, and nothing written or changed in the folder."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from cli_helpers import TOY, one_error_line, run_cli, run_ok, snapshot

import okma_sim

#: a fast run (the error cases fail before it starts)
SMALL = ("--paths", "200", "--seed", "1", "--no-progress")
#: standard errors allowed in a check against a closed form
Z = 4.0


def test_sensitivity_levers_with_an_empty_value_is_refused(tmp_path):
    """``--levers ""`` (e.g. an unset shell variable) names no lever: refused as ``solve
    --levers ""`` is, not read as the bare flag's "every lever"."""
    before = snapshot(tmp_path)
    proc = run_cli("sensitivity", "--levers", "", "--sobol-n", "0", "--paths", "50",
                   cwd=tmp_path)
    one_error_line(proc, "--levers", "at least one lever", "''")
    assert snapshot(tmp_path) == before


def test_sensitivity_levers_naming_a_lever_without_bounds(tmp_path):
    """A lever the model knows but the scenario gives no [levers.NAME] bounds: the line names
    the scenario, the option and the lever, and says what to add."""
    before = snapshot(tmp_path)
    proc = run_cli("sensitivity", "--levers", "new_reps,csat_surveys_per_year", "--sobol-n",
                   "0", "--paths", "50", cwd=tmp_path)
    one_error_line(proc, str(okma_sim.case_study_path()), "--levers", "no bounds",
                   "[levers.csat_surveys_per_year]", "'csat_surveys_per_year'")
    assert snapshot(tmp_path) == before


def test_sensitivity_levers_given_the_scenario_file_says_so(tmp_path):
    """``sensitivity --levers case.toml``: the optional value took the scenario file. The line
    says it is a scenario, not a lever, and how to write the command."""
    before = snapshot(tmp_path)
    proc = run_cli("sensitivity", "--levers", "case.toml", "--sobol-n", "0", "--paths", "50",
                   cwd=tmp_path)
    one_error_line(proc, "--levers", "is a scenario file, not a lever", "--levers=a,b",
                   "'case.toml'")
    assert snapshot(tmp_path) == before


def test_a_lever_in_capitals_is_suggested_in_its_own_spelling(tmp_path):
    """``--levers NEW_REPS``: matching ignores case, so the suggestion is 'new_reps' (an exact
    comparison of characters finds nothing close)."""
    proc = run_cli("sensitivity", "--levers", "NEW_REPS", "--sobol-n", "0", "--paths", "50",
                   cwd=tmp_path)
    one_error_line(proc, "--levers", "unknown lever", "did you mean 'new_reps'?",
                   "'NEW_REPS'")


# -- target --joint --weights: only their ratios count --------------------------------------

def _independent(n: int, seed: int = 11):
    """A hand-built result with two independent objectives of known laws: ``a`` (>=)
    standard normal, ``b`` (<=) uniform on (0, 1)."""
    import numpy as np
    import pandas as pd

    from okma_sim.plan import Objective, Plan
    from okma_sim.results import SimulationResult
    plan = Plan("two", "2027-01", 12, model="linear_toy",
                objectives=(Objective("a", "score", 0.0, aggregate="mean"),
                            Objective("b", "hit", 0.5, aggregate="mean", comparison="<=")))
    rng = np.random.default_rng(seed)
    values = {"a": rng.standard_normal(n), "b": rng.uniform(size=n)}
    return SimulationResult(plan=plan, model_name="linear_toy", n_paths=n, seed=seed,
                            sampler="mc", values=values, monthly={}, params=pd.DataFrame(),
                            diagnostics={}, warnings=[])


@pytest.mark.parametrize("weights", [{"a": 1e-3, "b": 1e-3}, {"a": 1e17, "b": 1e17},
                                     {"a": 2e-3, "b": 1e-3}, {"a": 2e20, "b": 1e20}])
def test_joint_weights_far_from_1_give_the_closed_form_of_their_ratios(weights):
    """Independent objectives: P(all) = q_a q_b with q_i = u ** w_i, so objective i alone is
    met with probability C ** (w_i / sum w), whatever the weights' scale (0.001 each once gave
    the least ambitious targets, in 91-99% of runs instead of C: the bisection could not
    resolve u = C ** 500)."""
    from scipy import stats

    from okma_sim.analysis import joint_level
    n, c = 200_000, 0.8
    res = _independent(n)
    _, targets = joint_level(res, c, weights)
    s = sum(weights.values())
    q = {k: c ** (v / s) for k, v in weights.items()}
    true = {"a": 1 - stats.norm.cdf(targets["a"]), "b": targets["b"]}  # P(a >= t), P(b <= t)
    # u solves P-hat(u) = C (SE sqrt(C(1-C)/n)); each q_i moves with it by w_i / sum w
    se = math.sqrt(c * (1 - c) / n)
    for k, qk in q.items():
        assert abs(true[k] - qk) < Z * (math.sqrt(qk * (1 - qk) / n) + se), (k, true)
    met = (res.values["a"] >= targets["a"]) & (res.values["b"] <= targets["b"])
    assert c <= met.mean() <= c + 3 / n


@pytest.fixture(scope="module")
def joint_default():
    """``target --joint --json`` on the case study with the default weights (1 each)."""
    proc = run_ok("target", "--joint", "--json", *SMALL)
    return json.loads(proc.stdout)


def test_joint_weights_of_0_001_each_are_the_default_weights(joint_default):
    """Equal weights of any size are the same ratios as the default: the same targets, and so
    the same check on the same fresh runs."""
    proc = run_ok("target", "--joint", "--json", "--weights", "revenue=0.001,csat=0.001",
                  *SMALL)
    doc = json.loads(proc.stdout)
    assert doc["targets"] == joint_default["targets"]
    assert doc["probability"] == joint_default["probability"]
    assert doc["weights"] == {"revenue": 0.001, "csat": 0.001}


# -- output paths of report, review --report and target --joint --figure ---------------------

def _folder(tmp_path):
    """A user's folder: the case study, a one-objective toy scenario, the actuals, a subfolder
    with a file in it and a plain file."""
    tmp_path.joinpath("case.toml").write_bytes(okma_sim.case_study_path().read_bytes())
    tmp_path.joinpath("toy.toml").write_text(TOY.format(low=0.0, high=3.0, cost=100.0,
                                                        sampler="mc", extra=""))
    tmp_path.joinpath("actuals.csv").write_bytes(
        okma_sim.data_path("case_study_actuals.csv").read_bytes())
    tmp_path.joinpath("sub").mkdir()
    tmp_path.joinpath("sub", "notes.txt").write_text("keep me")
    tmp_path.joinpath("afile").write_text("keep me")


REVIEW = ("review", "case.toml", "--actuals", "actuals.csv", "--no-recommend")


@pytest.mark.parametrize("args, parts", [
    # report: a folder, a name ending in '/', a folder part that is a file, the input
    (("report", "case.toml", "--out", "sub"), ["--out", "sub", "names a folder"]),
    (("report", "case.toml", "--out", "new/"), ["--out", "new/", "names a folder"]),
    (("report", "case.toml", "--out", "r.html", "--xlsx", "afile/r.xlsx"),
     ["--xlsx", "afile/r.xlsx", "folder part names a file"]),
    (("report", "case.toml", "--out", "r.html", "--xlsx", "case.toml", "--force"),
     ["--xlsx", "case.toml", "names the input scenario"]),
    # review --report: the actuals (the second input), a missing folder
    ((*REVIEW, "--report", "actuals.csv", "--force"),
     ["--report", "actuals.csv", "names the input --actuals"]),
    ((*REVIEW, "--report", "no/r.html"), ["--report", "no/r.html", "folder does not exist"]),
    # target --joint --figure: the input, a missing folder, a scenario with one objective
    (("target", "case.toml", "--joint", "--figure", "case.toml", "--force"),
     ["--figure", "case.toml", "names the input scenario"]),
    (("target", "case.toml", "--joint", "--figure", "no/f.png"),
     ["--figure", "no/f.png", "folder does not exist"]),
    (("target", "toy.toml", "--joint", "--figure", "f.png"),
     ["--figure", "'f.png'", "needs two objectives"]),
])
def test_a_bad_output_path_is_refused_and_nothing_changes(tmp_path, args, parts):
    """Refused before the run, in one line naming the option and the path; the folder is as
    it was (no output, no temporary file, the inputs untouched)."""
    _folder(tmp_path)
    before = snapshot(tmp_path)
    one_error_line(run_cli(*args, *SMALL, cwd=tmp_path), *parts)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("args, option", [
    (("report", "--out", "ro/r.html"), "--out"),
    (("report", "--out", "r.html", "--xlsx", "ro/r.xlsx"), "--xlsx"),
    ((*REVIEW, "--report", "ro/r.html"), "--report"),
    (("target", "case.toml", "--joint", "--figure", "ro/f.png"), "--figure"),
])
def test_an_output_in_a_folder_without_write_permission_is_refused_before_the_run(
        tmp_path, monkeypatch, capsys, args, option):
    """(In-process, with the folder's permission faked: root may write anywhere, so mode
    bits cannot stand in for it.) One line naming the option; nothing simulated or written."""
    import os

    import okma_sim.analysis
    import okma_sim.inference
    from okma_sim.cli import common
    from okma_sim.cli import main
    _folder(tmp_path)
    (tmp_path / "ro").mkdir()
    monkeypatch.chdir(tmp_path)
    real = os.access
    ro = (tmp_path / "ro").resolve()
    monkeypatch.setattr(common.os, "access", lambda p, mode, **k: (
        False if Path(p).resolve() == ro and mode & os.W_OK else real(p, mode, **k)))
    for module, name in ((okma_sim, "simulate"), (okma_sim.inference, "review"),
                         (okma_sim.analysis, "joint_targets")):
        monkeypatch.setattr(module, name, lambda *a, **k: pytest.fail("it ran"))
    before = snapshot(tmp_path)
    code = main([*args, *SMALL])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert err.startswith("okma-sim: error: ro/") and \
        f"{option}: no permission to write in this folder" in err
    assert snapshot(tmp_path) == before


# -- the report of the linear toy model, and a full disk under report --force ----------------

@pytest.fixture(scope="module")
def toy_report(tmp_path_factory):
    """``report`` of the linear toy model (no reps, no hours) with --xlsx and --json."""
    folder = tmp_path_factory.mktemp("toy_report")
    folder.joinpath("toy.toml").write_text(TOY.format(low=0.0, high=3.0, cost=100.0,
                                                      sampler="mc", extra=""))
    proc = run_ok("report", "toy.toml", "--out", "r.html", "--xlsx", "r.xlsx", "--json",
                  *SMALL, cwd=folder)
    return folder, json.loads(proc.stdout)


def test_the_report_of_the_linear_toy_model(toy_report):
    """Both files and nothing else; the chance all objectives are met is the library's for the
    same scenario, paths and seed, and the page says it."""
    import openpyxl
    folder, doc = toy_report
    assert doc["outputs"] == ["r.html", "r.xlsx"]
    assert sorted(p.name for p in folder.iterdir()) == ["r.html", "r.xlsx", "toy.toml"]
    res = okma_sim.simulate(okma_sim.load_plan(folder / "toy.toml"), 200, seed=1,
                            progress=False)
    a = res.all_met()
    assert doc["all_met"] == {"probability": a.probability, "stderr": a.stderr}
    page = (folder / "r.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert f"All objectives together: {a.probability:.0%} chance" in page
    assert openpyxl.load_workbook(folder / "r.xlsx").sheetnames[0] == "Summary"


def test_a_full_disk_under_report_force_keeps_the_old_files(toy_report, tmp_path):
    """A write that fails (the file-size limit stands for a full disk: the page, ~240 kB, does
    not fit under 50 kB) is one line naming the file; both old files are as they were and no
    temporary file is left."""
    import os
    import resource
    import signal
    import subprocess
    import sys
    folder, _ = toy_report
    for name in ("toy.toml", "r.html", "r.xlsx"):
        tmp_path.joinpath(name).write_bytes(folder.joinpath(name).read_bytes())
    before = snapshot(tmp_path)

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (50_000, 50_000))

    proc = subprocess.run([sys.executable, "-m", "okma_sim.cli", "report", "toy.toml", "--out",
                           "r.html", "--xlsx", "r.xlsx", "--force", *SMALL],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600,
                          preexec_fn=limit, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    one_error_line(proc, "r.html", "cannot write", "File too large")
    assert snapshot(tmp_path) == before
