"""The lever ranges a fit records (``FitResult.observed``, written to
``[calibration.observed]``): the rows the fit used, in lever units; none from an opportunity
export."""

from __future__ import annotations

from pathlib import Path

import pytest

import okma_sim
from okma_sim.inference import fit_history, load_history
from okma_sim.plan import Calibration

ROOT = Path(__file__).resolve().parents[2]
HISTORY = ROOT / "data" / "sales_history.csv"
CRM = ROOT / "data" / "crm_sales_opportunities"


@pytest.fixture(scope="module")
def case():
    return okma_sim.load_plan(okma_sim.case_study_path()).replace(
        calibration=Calibration({"prospect_visits_per_week": (1.0, 2.0)}))


def test_the_ranges_cover_the_rows_through_the_cutoff(case):
    hist = load_history(HISTORY)
    through = "2025-01"  # every rep made 30 prospect and 39 customer visits, 6 h of training
    first = hist[hist["month"] <= through]
    assert first["prospect_visits"].nunique() == 1 and first["training_hours"].nunique() == 1
    fit = fit_history(hist, case, through=through)
    expected = {"prospect_visits_per_week": 30 * 12 / 52, "customer_visits_per_week": 39 * 12 / 52,
                "training_hours_per_month": 6.0}
    assert set(fit.observed) == set(expected)
    for lever, level in expected.items():
        assert fit.observed[lever] == pytest.approx((level, level), abs=1e-4), lever
    # the calibrated scenario's table is this fit's, not the plan's
    assert fit.to_plan(case).calibration == Calibration(dict(fit.observed))
    # the whole history reaches further
    full = fit_history(hist, case)
    assert full.observed["training_hours_per_month"] == (6.0, 14.0)
    assert "levels the history observed" in full.table()


def test_an_opportunity_export_records_no_lever(case):
    fit = fit_history(load_history(CRM, "opportunities"), case)
    assert fit.observed == {}
    assert fit.to_json_dict()["observed"] == {}
    # the plan's table came from another history: the calibrated scenario has none
    assert fit.to_plan(case).calibration is None
