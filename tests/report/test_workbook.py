"""The report's Excel workbook, read back with openpyxl: the sheets the issue names, numbers
stored as numbers with % and currency formats, and values equal to the result's own."""

from __future__ import annotations

import io

import numpy as np
import openpyxl
import pytest

import okma_sim
from okma_sim.report import SHEETS, report_options, workbook_bytes


@pytest.fixture(scope="module")
def run():
    plan = okma_sim.load_plan(okma_sim.case_study_path())
    res = okma_sim.simulate(plan, 1200, seed=9, **report_options(plan))
    return res, openpyxl.load_workbook(io.BytesIO(workbook_bytes(res)))


def _table(ws):
    rows = list(ws.iter_rows())
    head = [c.value for c in rows[0]]
    return [{h: c for h, c in zip(head, r)} for r in rows[1:]]


def test_sheet_names_are_exact(run):
    _, wb = run
    assert wb.sheetnames == ["Summary", "Objectives and KRs", "Per rep", "Monthly bands",
                             "Assumptions"] == list(SHEETS)


def test_objectives_and_krs_are_the_results_numbers(run):
    res, wb = run
    rows = {r["id"].value: r for r in _table(wb["Objectives and KRs"])}
    assert list(rows) == [t.id for t in res.plan.targets]
    for t in res.plan.targets:
        r, e = rows[t.id], res.probability(t.id)
        assert isinstance(r["probability"].value, float)
        assert r["probability"].value == pytest.approx(e.probability, abs=1e-12)
        assert r["stderr"].value == pytest.approx(e.stderr, abs=1e-12)
        assert r["probability"].number_format == r["stderr"].number_format == "0.0%"
        assert r["target"].value == t.target
        q = res.quantiles(t.id)
        assert [r[k].value for k in ("p05", "p50", "p95")] == pytest.approx(list(q.values()))
    # growth and rates read in %, counts as numbers, revenue amounts in the currency
    assert rows["revenue"]["target"].number_format == "0.0%"
    assert rows["csat"]["p50"].number_format == "0.0%"
    assert rows["new_customers"]["target"].number_format == "#,##0.00"
    base = res.extra["anchor"]["figures"]["revenue"]
    amount = rows["revenue"]["target_amount"]
    assert amount.value == pytest.approx(base * 1.3) and amount.number_format == '#,##0 "CNY"'


def test_summary_holds_the_joint_probability_and_the_revenue_base(run):
    res, wb = run
    rows = [(r[0].value, r[1]) for r in wb["Summary"].iter_rows(min_row=2)]
    d = dict(rows[:4])
    assert d["Simulated runs"].value == 1200 and d["Seed"].value == 9
    cell = d["Chance all objectives are met"]
    assert cell.value == pytest.approx(res.all_met().probability) and cell.number_format == "0.0%"
    rev = dict(rows)["Last year's revenue"]
    assert rev.value == pytest.approx(27.81e6) and rev.number_format == '#,##0 "CNY"'


def test_per_rep_seats_add_up_to_the_team_revenue(run):
    """Each seat's median revenue is a median of its own book's revenue; the seats' revenue,
    path by path, adds up to the team's monthly revenue summed over the year."""
    res, wb = run
    rows = _table(wb["Per rep"])
    assert [r["rep"].value for r in rows] == list(res.plan.team.rep_ids)
    seat_totals = np.nansum(res.per_rep["revenue"], axis=2)  # (paths, seats)
    team = np.asarray(res.monthly["revenue"], dtype=float).sum(axis=1)
    np.testing.assert_allclose(seat_totals.sum(axis=1), team, rtol=1e-5)
    for j, r in enumerate(rows):
        assert r["revenue_p50"].value == pytest.approx(np.median(seat_totals[:, j]))
        assert r["revenue_p50"].number_format == '#,##0 "CNY"'
        assert r["revisit_rate"].number_format == "0.0%"
        assert 0 < r["revisit_rate"].value < 1


def test_monthly_bands_are_the_results_bands(run):
    res, wb = run
    rows = [r for r in _table(wb["Monthly bands"]) if r["metric"].value == "revenue_growth"]
    bands = res.bands("revenue_growth")
    assert [r["month"].value for r in rows] == list(bands.index)
    assert [r["p50"].value for r in rows] == pytest.approx(list(bands["p50"]))
    assert {r["p95"].number_format for r in rows} == {"0.0%"}
    revenue = [r for r in _table(wb["Monthly bands"]) if r["metric"].value == "revenue"]
    assert revenue[0]["p05"].number_format == '#,##0 "CNY"'
    # a month with no value (CSAT before the first survey) is an empty cell, not "nan"
    csat = [r for r in _table(wb["Monthly bands"]) if r["metric"].value == "csat"]
    assert csat[0]["p50"].value is None


def test_assumptions_list_every_parameter_with_its_source(run):
    res, wb = run
    rows = {r["parameter"].value: r for r in _table(wb["Assumptions"])}
    assert set(rows) == set(res.params.columns)
    assert rows["order_value"]["source"].value == "the scenario file"
    assert "Albers" in rows["visit_elasticity"]["source"].value
    beta = rows["training_retention"]  # beta(14, 6): mean 0.7
    assert beta["mean"].value == pytest.approx(0.7)
    from scipy import stats
    assert beta["p05"].value == pytest.approx(stats.beta(14, 6).ppf(0.05))
