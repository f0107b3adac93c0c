"""``okma-sim validate`` on the headcount and vacancy keys (in a subprocess): a scenario using
every new key passes, and a roster seat vacant for the whole horizon is a warning, not an
error. Bad values of each key are in test_bad_input.py."""

from __future__ import annotations

import copy
import json
import tomllib

import tomli_w

from cli_helpers import run_cli
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
