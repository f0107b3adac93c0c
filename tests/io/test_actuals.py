"""load_actuals locates its own errors (months against the plan, unknown reps) as the rep-month
loader locates a bad cell: the physical line a row starts on, blank lines and every line of a
quoted cell counted. (tests/cli/test_cli_review.py covers plain files through the CLI.)"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

import pytest

import okma_sim
from okma_sim._core.errors import DataError
from okma_sim.io import load_actuals, load_rep_month

ACTUALS = okma_sim.data_path("case_study_actuals.csv")
HEADER, *DATA = ACTUALS.read_text(encoding="utf-8").splitlines()
#: the data row whose ``note`` cell spans two lines
MULTILINE = 7


def awkward_file(path: Path, edits: dict[int, Callable[[list[str]], None]]) -> dict[int, int]:
    """The shipped actuals with two blank lines before the header, a blank line before data
    row 2 and a ``note`` column whose cell on data row ``MULTILINE`` spans two lines; each
    ``edits[i]`` changes data row i's fields in place. Returns the physical line each data
    row starts on (counted here by hand, as an editor numbers them)."""
    out = ["", "", HEADER + ",note"]
    start = {}
    for i, text in enumerate(DATA):
        if i == 2:
            out.append("")
        fields = text.split(",")
        if i in edits:
            edits[i](fields)
        # lines so far, plus the second line of the multi-line cell once it is behind
        start[i] = len(out) + (i > MULTILINE) + 1
        out.append(",".join(fields) + (',"spans\ntwo lines"' if i == MULTILINE else ","))
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return start


def set_field(k: int, value: str) -> Callable[[list[str]], None]:
    def edit(fields: list[str]) -> None:
        fields[k] = value
    return edit


def test_the_awkward_file_loads_like_the_shipped_one(case, tmp_path):
    awkward_file(tmp_path / "ok.csv", {})
    act, ref = load_actuals(tmp_path / "ok.csv", case), load_actuals(ACTUALS, case)
    assert act.months == ref.months and act.reps == ref.reps
    for k, v in ref.cols.items():
        assert (act.cols[k] == v).all(), k


def test_a_month_error_on_a_multiline_row_names_the_line_it_starts_on(case, tmp_path):
    path = tmp_path / "early.csv"
    start = awkward_file(path, {MULTILINE: set_field(0, "2026-12")})
    with pytest.raises(DataError) as info:
        load_actuals(path, case)
    assert f"line {start[MULTILINE]}, column month" in str(info.value), str(info.value)
    assert "start_month" in str(info.value)

    # the rep-month loader names the same line for a bad cell of that row
    bad = tmp_path / "cell.csv"
    assert awkward_file(bad, {MULTILINE: set_field(2, "-1")}) == start
    with pytest.raises(DataError) as info:
        load_rep_month(bad)
    assert f"line {start[MULTILINE]}, column prospect_visits" in str(info.value)


def test_an_unknown_rep_after_a_multiline_row_is_located(case, tmp_path):
    no_hires = case.replace(team=dataclasses.replace(case.team, allow_new_hires=False))
    row = 20  # a 2027-02 row, after the multi-line cell
    path = tmp_path / "zed.csv"
    start = awkward_file(path, {row: set_field(1, "zed")})
    with pytest.raises(DataError) as info:
        load_actuals(path, no_hires)
    text = str(info.value)
    assert f"line {start[row]}, column rep_id" in text and "'zed'" in text, text
