"""Sweeps: row order and columns, per-row seeds, resuming a killed sweep, and bad input."""

from __future__ import annotations

import importlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from cli_helpers import one_error_line, run_cli as cli
import okma_sim
from okma_sim.analysis import row_seed, sweep, sweep_rows

CASE = okma_sim.case_study_path()
GRID = {"prospect_visits_per_week": [6, 8], "customer_visits_per_week": [9, 12]}


@pytest.fixture(scope="module")
def second_scenario(tmp_path_factory) -> Path:
    """The case study with another CSAT target: another file, another SHA-256."""
    text = CASE.read_text().replace("target = 0.90", "target = 0.85")
    assert text != CASE.read_text()
    p = tmp_path_factory.mktemp("scen") / "csat85.toml"
    p.write_text(text)
    return p


def test_rows_order_columns_and_numbers(second_scenario):
    df = sweep([CASE, second_scenario], GRID, n_paths=600, seed=5)
    plan = okma_sim.load_plan(CASE)
    objectives = [o.id for o in plan.objectives]
    assert list(df.columns) == (
        ["scenario", "scenario_sha256", "prospect_visits_per_week",
         "customer_visits_per_week", "seed", "paths", "plan_cost", "all_met",
         "all_met_stderr"]
        + [c for o in objectives for c in (o, f"{o}_stderr")])
    # scenarios in the order given, the last lever fastest
    assert list(df["scenario"]) == [str(CASE)] * 4 + [str(second_scenario)] * 4
    assert list(df["prospect_visits_per_week"]) == [6, 6, 8, 8] * 2
    assert list(df["customer_visits_per_week"]) == [9, 12, 9, 12] * 2
    assert (df["paths"] == 600).all()
    assert df["seed"].nunique() == 8
    # each row is exactly the run it names: its plan at its grid point, its paths and seed
    for i in (0, 5):
        r = df.iloc[i]
        p = okma_sim.load_plan(r["scenario"]).with_actions(
            prospect_visits_per_week=float(r["prospect_visits_per_week"]),
            customer_visits_per_week=float(r["customer_visits_per_week"]))
        res = okma_sim.simulate(p, n_paths=int(r["paths"]), seed=int(r["seed"]),
                                keep_monthly=("training_hours",))
        cost = okma_sim.analysis.action_cost(p, res)
        assert cost["hours_cost"] > 0 and r["plan_cost"] == pytest.approx(cost["total"])
        assert r["all_met"] == res.all_met().probability
        assert r["all_met_stderr"] == res.all_met().stderr
        for o in objectives:
            assert r[o] == res.probability(o).probability
            assert r[f"{o}_stderr"] == res.probability(o).stderr


def test_row_result_does_not_depend_on_other_rows():
    full = sweep([CASE], GRID, n_paths=400, seed=9)
    alone = sweep([CASE], {"prospect_visits_per_week": [8], "customer_visits_per_week": [12]},
                  n_paths=400, seed=9)
    pd.testing.assert_frame_equal(full.iloc[[3]].reset_index(drop=True), alone)
    # the seed is keyed on the scenario's SHA-256 and the grid values, not on the row's place
    sha = full["scenario_sha256"][3]
    assert full["seed"][3] == row_seed(9, sha, [("prospect_visits_per_week", 8.0),
                                                ("customer_visits_per_week", 12.0)])
    assert row_seed(10, sha, []) != row_seed(9, sha, [])


def test_common_random_numbers_share_draws_across_grid_points():
    rows = sweep_rows([CASE], GRID, seed=2, n_paths=100, common_random_numbers=True)
    assert len({r.seed for r in rows}) == 1


KILL_GRID = {"prospect_visits_per_week": [5, 6, 7, 8], "customer_visits_per_week": [9, 12]}


def _sweep_args(out: Path, *extra: str) -> list[str]:
    grid = [a for k, v in KILL_GRID.items() for a in ("--grid", f"{k}={','.join(map(str, v))}")]
    return [str(CASE), *grid, "--paths", "1500", "--seed", "4", "--no-progress",
            "--out", str(out), *extra]


def test_killed_sweep_resumes_to_the_uninterrupted_csv(tmp_path):
    # the uninterrupted sweep (in-process, the same arguments)
    whole = tmp_path / "whole.csv"
    sweep([str(CASE)], KILL_GRID, n_paths=1500, seed=4, out=whole)
    n_rows = 8
    assert len(whole.read_text().splitlines()) == 1 + n_rows

    part = tmp_path / "part.csv"
    proc = subprocess.Popen([sys.executable, "-m", "okma_sim.cli", "sweep",
                             *_sweep_args(part)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if part.exists() and len(part.read_text().splitlines()) >= 1 + 2:
                break
            if proc.poll() is not None:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    done_before = len(part.read_text().splitlines()) - 1
    assert 2 <= done_before < n_rows, "the sweep was not interrupted midway"
    kept = part.read_text().splitlines()

    r = cli("sweep", *_sweep_args(part, "--resume"))
    assert r.returncode == 0, r.stderr
    assert part.read_bytes() == whole.read_bytes()
    # the finished rows were kept, not redone (same lines, in the same places)
    assert part.read_text().splitlines()[:len(kept)] == kept


def test_resume_of_a_finished_sweep_runs_nothing(tmp_path):
    out = tmp_path / "s.csv"
    sweep([CASE], {"training_hours_per_month": [4, 8]}, n_paths=300, out=out)
    before, mtime = out.read_bytes(), out.stat().st_mtime_ns
    ran = []
    sweep([CASE], {"training_hours_per_month": [4, 8]}, n_paths=300, out=out, resume=True,
          on_row=lambda i, fields: ran.append(i))
    assert ran == []
    assert out.read_bytes() == before and out.stat().st_mtime_ns == mtime


def test_unknown_lever_is_refused(tmp_path):
    out = tmp_path / "s.csv"
    r = cli("sweep", str(CASE), "--grid", "prospect_visists_per_week=5,6", "--out", str(out))
    one_error_line(r, "--grid", "prospect_visists_per_week", "unknown lever")
    assert not out.exists()


def test_existing_out_without_resume_or_force_is_refused(tmp_path):
    out = tmp_path / "s.csv"
    out.write_text("precious\n")
    r = cli("sweep", str(CASE), "--grid", "prospect_visits_per_week=5", "--paths", "100",
            "--out", str(out))
    one_error_line(r, str(out), "--resume", "--force")
    assert out.read_text() == "precious\n"
    # force replaces it
    sweep([CASE], {"prospect_visits_per_week": [5]}, n_paths=100, out=out, force=True)
    assert out.read_text().startswith("scenario,scenario_sha256,prospect_visits_per_week")


def test_resume_refuses_a_file_from_another_sweep(tmp_path):
    out = tmp_path / "s.csv"
    sweep([str(CASE)], {"prospect_visits_per_week": [5]}, n_paths=100, out=out)
    before = out.read_bytes()
    r = cli("sweep", str(CASE), "--grid", "prospect_visits_per_week=5", "--paths", "200",
            "--no-progress", "--out", str(out), "--resume")
    one_error_line(r, str(out), "--resume")
    assert out.read_bytes() == before


@pytest.mark.parametrize("grid, needle", [
    ("prospect_visits_per_week=5,abc", "abc"),
    ("prospect_visits_per_week=-3", "-3"),
    ("prospect_visits_per_week", "LEVER=V1,V2"),
    ("prospect_visits_per_week=5,,6", "must be numbers"),
    ("prospect_visits_per_week=inf", "finite"),
])
def test_bad_grid_values_are_refused(tmp_path, grid, needle):
    out = tmp_path / "s.csv"
    r = cli("sweep", str(CASE), "--grid", grid, "--out", str(out))
    one_error_line(r, "--grid", needle)
    assert not out.exists()


def test_sweep_python_api_matches_the_cli_file(tmp_path):
    cli_out, api_out = tmp_path / "cli.csv", tmp_path / "api.csv"
    r = cli("sweep", str(CASE), "--grid", "marketing_events_per_quarter=1,3", "--paths", "300",
            "--seed", "7", "--no-progress", "--out", str(cli_out))
    assert r.returncode == 0, r.stderr
    df = sweep([str(CASE)], {"marketing_events_per_quarter": [1, 3]}, n_paths=300, seed=7,
               out=api_out)
    # the same rows, seeds and numbers: the two files are byte for byte the same ...
    assert cli_out.read_bytes() == api_out.read_bytes()
    # ... and the file reads back as the frame the API returned
    back = pd.read_csv(cli_out)
    assert list(back.columns) == list(df.columns) and len(back) == 2
    pd.testing.assert_frame_equal(back, df, check_exact=True)


def test_prebuilt_rows_are_not_built_again(monkeypatch):
    grid = {"prospect_visits_per_week": [6, 8]}
    rows = sweep_rows([CASE], grid, seed=3, n_paths=200)
    ref = sweep([CASE], grid, n_paths=200, seed=3)
    sweep_module = importlib.import_module("okma_sim.analysis._sweep")

    def no_rebuild(*args, **kwargs):
        raise AssertionError("sweep() built its rows again")
    monkeypatch.setattr(sweep_module, "sweep_rows", no_rebuild)
    got = sweep([CASE], grid, n_paths=200, seed=3, rows=rows)
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    with pytest.raises(ValueError, match="rows"):
        sweep([CASE], {"customer_visits_per_week": [9, 12]}, n_paths=200, seed=3, rows=rows)
