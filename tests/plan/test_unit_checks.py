"""validate catches unit mistakes, in real CLI subprocesses: a growth target of 30 typed for
+30% is a warning (exit 0) that names the key path and the id and says what was probably
meant, and every simulating command repeats it; a share target above 1 (a rate metric, or a
share of months) is an error (exit 2, one line with the file and the key path)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import okma_sim
from okma_sim.plan import check_plan, loads_plan, unit_warnings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_helpers import one_error_line, run_cli  # noqa: E402

CASE = okma_sim.case_study_path()
TEXT = CASE.read_text()
WARNING = ("objectives[0].target = 30 (objective 'revenue'): a growth target above 1 asks for "
           "+3000%; did you mean 0.30 (+30%)?")


def _write(tmp_path: Path, name: str, old: str, new: str) -> Path:
    assert TEXT.count(old) == 1, old
    p = tmp_path / name
    p.write_text(TEXT.replace(old, new))
    return p


@pytest.fixture(scope="module")
def growth30(tmp_path_factory) -> Path:
    return _write(tmp_path_factory.mktemp("units"), "growth30.toml",
                  'target = 0.30\nowner = "Head of sales"',
                  'target = 30\nowner = "Head of sales"')


def test_plan_level_warning_only_above_one():
    plan = okma_sim.load_plan(CASE)
    assert unit_warnings(plan) == []
    assert check_plan(plan) == ([], [])
    big = loads_plan(TEXT.replace('target = 0.30\nowner', 'target = 2.5\nowner'))
    (w,) = unit_warnings(big)
    assert "target = 2.5" in w and "did you mean 0.025 (+2.5%)?" in w
    assert w in check_plan(big)[1]


def test_validate_warns_and_exits_0(growth30):
    proc = run_cli("validate", growth30)
    assert proc.returncode == 0, proc.stderr
    assert f"warning: {WARNING}" in proc.stdout.splitlines()
    assert proc.stdout.splitlines()[-1] == f"{growth30}: ok"
    doc = json.loads(run_cli("validate", growth30, "--json").stdout)
    assert doc["ok"] is True and doc["errors"] == []
    assert WARNING in doc["warnings"]


def test_check_repeats_the_warning(growth30):
    doc = json.loads(run_cli("check", growth30, "--paths", "200", "--seed", "1",
                             "--no-progress", "--json").stdout)
    assert doc["warnings"].count(WARNING) == 1
    # +3000% is out of reach: the warning explains P = 0
    assert doc["objectives"][0]["probability"] == 0.0
    text = run_cli("check", growth30, "--paths", "200", "--seed", "1", "--no-progress")
    assert text.returncode == 0
    assert text.stdout.splitlines().count(f"warning: {WARNING}") == 1


def test_solve_and_compare_repeat_the_warning(growth30):
    proc = run_cli("solve", growth30, "--paths", "200", "--seed", "1", "--max-evaluations",
                   "2", "--verify-paths", "200", "--no-progress", "--json")
    assert proc.returncode == 0, proc.stderr
    assert WARNING in json.loads(proc.stdout)["warnings"]
    proc = run_cli("compare", growth30, CASE, "--paths", "200", "--seed", "1", "--json")
    assert proc.returncode == 0, proc.stderr
    assert any(WARNING in w for w in json.loads(proc.stdout)["warnings"])


@pytest.mark.parametrize("old, new, key, meant", [
    ("target = 0.80\nbaseline = 0.70", "target = 80\nbaseline = 0.70",
     "key_results[1].target", "did you mean 0.80 (80%)?"),
    ('target = 0.90\nowner = "Head of customer success"',
     'target = 90\nowner = "Head of customer success"',
     "objectives[1].target", "did you mean 0.90 (90%)?"),
    ('aggregate = "mean"\ntarget = 0.80\nbaseline = 0.70',
     'aggregate = "share_of_months"\nthreshold = 0.8\ntarget = 75\nbaseline = 0.70',
     "key_results[1].target", "did you mean 0.75 (75%)?"),
])
def test_share_target_above_one_is_an_error(tmp_path, old, new, key, meant):
    p = _write(tmp_path, "share.toml", old, new)
    one_error_line(run_cli("validate", p), str(p), key, meant)
    one_error_line(run_cli("check", p, "--paths", "100"), str(p), key, meant)
