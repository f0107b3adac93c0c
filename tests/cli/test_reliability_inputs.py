"""Issue 16: bad inputs of every class get one line naming the input and where in it, exit 2,
no traceback, and the folder unchanged: extreme numbers, pipes and devices, deep nesting,
impossible history values, a scenario whose model a command cannot use. Each runs the real
CLI in a subprocess."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import okma_sim
from cli_helpers import TOY, one_error_line, run_cli, snapshot

CASE = okma_sim.case_study_path().read_text(encoding="utf-8")
HISTORY = okma_sim.data_path("sales_history.csv").read_text(encoding="utf-8")
ACTUALS = okma_sim.data_path("case_study_actuals.csv").read_text(encoding="utf-8")


def _refused(folder: Path, *args: object, parts: tuple[str, ...]) -> str:
    """Run the CLI in ``folder``: one error line holding ``parts``, the folder unchanged."""
    before = snapshot(folder)
    proc = run_cli(*args, cwd=folder, timeout=120)
    line = one_error_line(proc, *parts)
    assert snapshot(folder) == before
    return line


def _no_warnings(proc) -> None:
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not re.search(r"\w*Warning: ", proc.stderr), proc.stderr


# --------------------------------------------------------------------------------------------
# extreme numbers
# --------------------------------------------------------------------------------------------
EXTREME = [
    # (what the case study's text becomes, the key path the error names)
    (("target = 0.30", "target = 1e308"), "objectives[0].target"),
    (("target = 10\n", "target = 5e-324\n"), "key_results[0].target"),
    (("hourly_cost = 150.0", "hourly_cost = 99999999999999999999999"), "team.hourly_cost"),
    (("reps = 12", "reps = 1e300"), "team.reps"),
]


@pytest.mark.parametrize("edit,key", EXTREME, ids=[k for _, k in EXTREME])
def test_extreme_numbers_refused_naming_the_key(tmp_path, edit, key):
    assert edit[0] in CASE
    (tmp_path / "s.toml").write_text(CASE.replace(edit[0], edit[1], 1))
    for cmd in (("validate",), ("check", "--paths", 200, "--no-progress")):
        _refused(tmp_path, cmd[0], "s.toml", *cmd[1:], parts=("s.toml", key))


def test_a_lognormal_too_wide_to_draw_is_refused(tmp_path):
    """validate used to pass a lognormal with a huge sigma, and check overflowed on it."""
    old = 'median = 21_000.0\nsigma = 0.1'
    assert old in CASE
    (tmp_path / "s.toml").write_text(CASE.replace(old, 'median = 21_000.0\nsigma = 50'))
    for cmd in (("validate",), ("check", "--paths", 200, "--no-progress")):
        line = _refused(tmp_path, cmd[0], "s.toml", *cmd[1:],
                        parts=("s.toml", "parameters.order_value.sigma", "too wide"))
        assert "1e+15" in line


def test_a_billion_scale_business_runs_without_warnings(tmp_path):
    """Amounts near 1e12 a year (a baseline of 8e10 a month, costs of 1e6 an hour) pass
    validation and run without a RuntimeWarning."""
    text = re.sub(r"monthly_revenue = \[[^\]]*\]", "monthly_revenue = [" +
                  ", ".join(["8e10"] * 12) + "]", CASE, flags=re.S)
    text = text.replace("hourly_cost = 150.0", "hourly_cost = 1e6")
    (tmp_path / "s.toml").write_text(text)
    proc = run_cli("check", "s.toml", "--paths", 200, "--seed", 1, "--no-progress",
                   cwd=tmp_path, timeout=300)
    _no_warnings(proc)


# --------------------------------------------------------------------------------------------
# pipes, devices, deep nesting
# --------------------------------------------------------------------------------------------
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
def test_a_named_pipe_is_refused_without_waiting(tmp_path):
    os.mkfifo(tmp_path / "s.toml")
    os.mkfifo(tmp_path / "a.csv")
    (tmp_path / "case.toml").write_text(CASE)
    _refused(tmp_path, "validate", "s.toml", parts=("s.toml", "not a regular file",
                                                    "named pipe"))
    _refused(tmp_path, "review", "case.toml", "--actuals", "a.csv", "--paths", 200,
             "--no-progress", parts=("a.csv", "not a regular file", "named pipe"))


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_dev_zero_is_refused_without_reading_it(tmp_path):
    _refused(tmp_path, "check", "/dev/zero", "--paths", 200, "--no-progress",
             parts=("/dev/zero", "not a regular file", "character device"))
    _refused(tmp_path, "calibrate", "/dev/zero", "--out", "fit.toml",
             parts=("/dev/zero", "not a regular file"))


@pytest.mark.parametrize("value", ["[" * 5000 + "1" + "]" * 5000,
                                   "{a = " * 5000 + "1" + "}" * 5000])
def test_deep_nesting_is_refused_with_its_line(tmp_path, value):
    (tmp_path / "s.toml").write_text(CASE.replace('currency = "CNY"', f"currency = {value}"))
    line_no = CASE[:CASE.index('currency = "CNY"')].count("\n") + 1
    _refused(tmp_path, "validate", "s.toml",
             parts=("s.toml", f"line {line_no}", "nested deeper than 32 levels"))


def test_a_long_dotted_table_name_is_refused(tmp_path):
    (tmp_path / "s.toml").write_text(CASE + "\n[" + ".".join(["a"] * 100_000) + "]\nx = 1\n")
    _refused(tmp_path, "validate", "s.toml", parts=("s.toml", "nested deeper"))


# --------------------------------------------------------------------------------------------
# history values and the model a command needs
# --------------------------------------------------------------------------------------------
def _history_with(row: int, column: str, value: str) -> str:
    lines = HISTORY.splitlines()
    header = lines[0].split(",")
    cells = lines[row].split(",")
    cells[header.index(column)] = value
    lines[row] = ",".join(cells)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("column,value", [("revenue", "1e13"), ("customer_visits", "1e14"),
                                          ("revenue", "1e-300")])
def test_calibrate_and_backtest_name_the_history_line_and_column(tmp_path, column, value):
    """A finite but absurd cell is refused at its line and column, not reported in the
    scenario calibrate was about to write."""
    (tmp_path / "h.csv").write_text(_history_with(4, column, value))
    parts = ("h.csv", "line 5", f"column {column}")
    _refused(tmp_path, "calibrate", "h.csv", "--out", "fit.toml", parts=parts)
    _refused(tmp_path, "backtest", "h.csv", "--cutoff", "2026-06", "--paths", 200,
             "--no-progress", parts=parts)


def test_calibrate_names_the_history_month_behind_an_impossible_baseline(tmp_path):
    """No revenue at all in the first of the last 12 months: the fitted baseline could not
    measure growth; the error names the history's column and month, not the scenario."""
    lines = HISTORY.splitlines()
    header = lines[0].split(",")
    for i, line in enumerate(lines[1:], 1):
        cells = line.split(",")
        if cells[0] == "2026-01":
            cells[header.index("revenue")] = "0"
            lines[i] = ",".join(cells)
    (tmp_path / "h.csv").write_text("\n".join(lines) + "\n")
    _refused(tmp_path, "calibrate", "h.csv", "--out", "fit.toml",
             parts=("h.csv", "column revenue, month 2026-01", "must be positive"))


def test_commands_that_need_the_sales_team_model_say_so(tmp_path):
    (tmp_path / "toy.toml").write_text(TOY.format(low=0, high=2, cost=1, sampler="mc",
                                                  extra=""))
    (tmp_path / "h.csv").write_text(HISTORY)
    (tmp_path / "a.csv").write_text(ACTUALS)
    _refused(tmp_path, "review", "toy.toml", "--actuals", "a.csv", "--paths", 200,
             "--no-progress", parts=("toy.toml", "model", "sales-team model"))
    for cmd in ("calibrate", "backtest"):
        extra = ("--out", "fit.toml") if cmd == "calibrate" else ("--cutoff", "2026-06")
        _refused(tmp_path, cmd, "h.csv", "--plan", "toy.toml", *extra,
                 parts=("toy.toml", "model", "sales-team model"))
